//! Feedback files: what markers return to students with their marks (a
//! marked-up report, a spreadsheet of tests passed), one file at a time
//! from a student's history page or many from a feedback zip laid out like
//! the all-submissions zip. Students see their own once the marks are
//! released; every change is on the audit log.

use std::io;

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::Serialize;

use super::exports::{self, Attempts};
use super::marks::find_row;
use super::{Scope, keep_recorded};
use crate::App;
use crate::db::begin_write;
use crate::domain::bundle::{self, BundleLimits};
use crate::domain::{feedback, names, readable};
use crate::error::{Error, Result};
use crate::models::feedback_file::{self, Kept};
use crate::models::marking::StudentRow;
use crate::models::{audit, mark};
use crate::policy::Act;
use crate::storage::{Received, Shelf, Unpacking};

/// The largest feedback file.
pub const FILE_LIMIT: u64 = 50 * 1024 * 1024;
/// The largest feedback zip: room for the all-submissions zip of a large
/// course sent back with feedback added (its bundles are left out).
pub const ZIP_LIMIT: u64 = 2 * 1024 * 1024 * 1024;

/// A feedback file as a page or the API lists it.
#[derive(Debug, Clone, Serialize)]
pub struct Shown {
    pub id: i32,
    pub name: String,
    pub size: String,
    pub sha256: String,
}

impl From<feedback_file::Model> for Shown {
    fn from(row: feedback_file::Model) -> Self {
        Shown {
            id: row.id,
            name: row.name,
            size: readable::bytes(u64::try_from(row.size).unwrap_or_default()),
            sha256: row.sha256,
        }
    }
}

/// Refuses unless the person in scope marks here and the assignment returns files.
fn require_files(scope: &Scope) -> Result<()> {
    scope.require(Act::Mark)?;
    if !scope.assignment.feedback_files {
        return Err(Error::invalid(
            "This assignment does not use feedback files: an administrator can turn them on in its settings.",
        ));
    }
    Ok(())
}

/// The student the marking table names `label`.
async fn student(app: &App, scope: &Scope, label: &str) -> Result<StudentRow> {
    let table = exports::table(app, scope, Attempts::All).await?;
    find_row(&table.rows, label)
        .cloned()
        .ok_or_else(|| Error::not_found(format!("student {} on this assignment", label.trim())))
}

/// A student's files (a row of the marking table), as staff see them.
pub async fn of_student(app: &App, scope: &Scope, row: &StudentRow) -> Result<Vec<Shown>> {
    scope.require(Act::Mark)?;
    let files = feedback_file::of_student(&app.db, scope.assignment.id, row.student_id).await?;
    Ok(files.into_iter().map(Shown::from).collect())
}

/// The caller's own files, once the marks are released.
pub async fn own(app: &App, scope: &Scope) -> Result<Vec<Shown>> {
    if !scope.assignment.marks_released(app.clock.now()) {
        return Ok(Vec::new());
    }
    let files = feedback_file::of_student(&app.db, scope.assignment.id, scope.user.id).await?;
    Ok(files.into_iter().map(Shown::from).collect())
}

/// Records files for one student and puts it on the record, in the caller's
/// transaction; a student who has seen released marks sees this as a change.
/// Returns the stored files no row names any more.
async fn record(
    db: &impl sea_orm::ConnectionTrait,
    scope: &Scope,
    (student_id, label): (i32, &str),
    files: Vec<Kept>,
    replace_all: bool,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<String>> {
    let added: Vec<String> = files.iter().map(described).collect();
    let replaced = feedback_file::record(
        db,
        scope.assignment.id,
        student_id,
        files,
        replace_all,
        scope.user.id,
        now,
    )
    .await?;
    mark::flag_if_released(db, scope.assignment.id, student_id, now).await?;
    let gone: Vec<String> = replaced
        .iter()
        .map(|old| format!("{} (sha256 {})", old.name, &old.sha256[..12]))
        .collect();
    let entry = audit::Entry {
        actor_id: Some(scope.user.id),
        action: "feedback_files_added",
        course_id: Some(scope.course.id),
        assignment_id: Some(scope.assignment.id),
        student_id: Some(student_id),
        before: (!gone.is_empty()).then(|| gone.join(", ")),
        after: Some(added.join(", ")),
        details: if replace_all {
            format!("{label}: from a feedback zip, replacing every earlier file")
        } else {
            label.to_string()
        },
    };
    audit::record(db, now, entry).await?;
    Ok(replaced.into_iter().map(|old| old.stored_path).collect())
}

/// A file as the audit log names it: its name and the start of its hash.
fn described(file: &Kept) -> String {
    format!("{} (sha256 {})", file.name, &file.sha256[..12])
}

/// The name a marker's file is kept under: its last part, checked as a
/// bundle's entries are.
fn file_name(sent: &str) -> Result<String> {
    let name = sent.rsplit(['/', '\\']).next().unwrap_or("").trim();
    let name = if name.is_empty() { "feedback" } else { name };
    names::check(name)
        .map_err(|why| Error::invalid(format!("The file name {}: {why}.", names::shown(name))))?;
    Ok(name.to_string())
}

/// Adds one file for the student the table names `label` (replacing a
/// file of the same name). Returns the name it is kept under.
pub async fn add(
    app: &App,
    scope: &Scope,
    label: &str,
    sent_name: &str,
    received: Received,
) -> Result<String> {
    require_files(scope)?;
    let row = student(app, scope, label).await?;
    let name = file_name(sent_name)?;
    if received.size == 0 {
        return Err(Error::invalid(
            "The file is empty. Nothing was changed; please choose the file again.",
        ));
    }
    let (size, sha256) = (received.size, received.sha256.clone());
    let now = app.clock.now();
    let kept_name = name.clone();
    let replaced = keep_recorded(app, received, Shelf::Feedback, |stored_path| async move {
        let file = Kept {
            name: kept_name,
            stored_path,
            size,
            sha256,
        };
        let txn = begin_write(&app.db).await?;
        let student = (row.student_id, row.label.as_str());
        let replaced = record(&txn, scope, student, vec![file], false, now).await?;
        txn.commit().await?;
        Ok(replaced)
    })
    .await?;
    for old in replaced {
        app.uploads.discard(&old).await;
    }
    Ok(name)
}

/// Removes one of the student's files (`id`), on the record.
pub async fn remove(app: &App, scope: &Scope, label: &str, id: i32) -> Result<String> {
    scope.require(Act::Mark)?;
    let row = student(app, scope, label).await?;
    let now = app.clock.now();
    let txn = begin_write(&app.db).await?;
    let file = feedback_file::Entity::find_by_id(id)
        .filter(feedback_file::Column::AssignmentId.eq(scope.assignment.id))
        .filter(feedback_file::Column::StudentId.eq(row.student_id))
        .one(&txn)
        .await?
        .ok_or_else(|| Error::not_found("feedback file"))?;
    feedback_file::Entity::delete_by_id(file.id)
        .exec(&txn)
        .await?;
    mark::flag_if_released(&txn, scope.assignment.id, row.student_id, now).await?;
    let entry = audit::Entry {
        actor_id: Some(scope.user.id),
        action: "feedback_file_removed",
        course_id: Some(scope.course.id),
        assignment_id: Some(scope.assignment.id),
        student_id: Some(row.student_id),
        before: Some(format!("{} (sha256 {})", file.name, &file.sha256[..12])),
        details: row.label.clone(),
        ..Default::default()
    };
    audit::record(&txn, now, entry).await?;
    txn.commit().await?;
    app.uploads.discard(&file.stored_path).await;
    Ok(file.name)
}

/// What a feedback zip did.
#[derive(Debug, Clone, Serialize)]
pub struct Returned {
    pub students: usize,
    pub files: usize,
    /// Files left out: the students' own bundles, the manifest, clutter
    /// such as `.DS_Store`.
    pub left_out: usize,
}

/// A file of a feedback zip that goes back to a student: its index in the
/// zip, its name inside the student's folder, its size as declared.
struct Chosen {
    index: usize,
    name: String,
    size: u64,
}

/// One file of a feedback zip, as listed before anything is unpacked.
struct Listed {
    path: String,
    size: u64,
    /// The zip crate can unpack it (stored or deflated).
    readable: bool,
}

/// Lists a zip's files after the checks every bundle gets (safe names, no
/// links, bounded sizes, no tampering), reading only its directory.
fn list(
    mut reader: Box<dyn crate::storage::ReadSeek>,
) -> std::result::Result<Vec<(usize, Listed)>, String> {
    let limits = BundleLimits {
        max_unpacked_bytes: 2 * ZIP_LIMIT,
        ..BundleLimits::default()
    };
    bundle::inspect(&mut reader, limits, &[]).map_err(|e| e.to_string())?;
    let mut archive = zip::ZipArchive::new(reader).map_err(|e| e.to_string())?;
    let mut files = Vec::new();
    for index in 0..archive.len() {
        let entry = archive.by_index_raw(index).map_err(|e| e.to_string())?;
        if entry.is_dir() {
            continue;
        }
        files.push((
            index,
            Listed {
                path: bundle::entry_name(entry.name_raw()),
                size: entry.size(),
                readable: matches!(
                    entry.compression(),
                    zip::CompressionMethod::Stored | zip::CompressionMethod::Deflated
                ),
            },
        ));
    }
    Ok(files)
}

/// Returns the files in a feedback zip to students: one folder per student,
/// named as in the all-submissions zip (username, or candidate number), and
/// whatever is in a folder replaces that student's files. All or nothing:
/// every bad file or folder is named, and then nothing changes.
pub async fn import_zip(app: &App, scope: &Scope, zip: Received) -> Result<Returned> {
    require_files(scope)?;
    let table = exports::table(app, scope, Attempts::All).await?;
    let files = app
        .uploads
        .inspect(&zip, list)
        .await?
        .map_err(|why| Error::invalid(format!("The feedback zip cannot be used: {why}")))?;
    let paths: Vec<String> = files.iter().map(|(_, f)| f.path.clone()).collect();
    let layout = feedback::sort(&paths, |folder| find_row(&table.rows, folder).is_some());
    let mut problems = layout.problems;
    let mut left_out = layout.left_out;
    let mut returned: Vec<(&StudentRow, Vec<Chosen>)> = Vec::new();
    for (folder, entries) in layout.folders {
        let Some(row) = find_row(&table.rows, &folder) else {
            continue;
        };
        if returned.iter().any(|(r, _)| r.student_id == row.student_id) {
            problems.push(format!(
                "folder {folder}: {} has another folder too",
                row.label
            ));
            continue;
        }
        let mut chosen = Vec::new();
        for (at, name) in entries {
            let listed = &files[at].1;
            // A bundle the student handed in, as the all-submissions zip
            // names it, is theirs already: it is not feedback. Nor is an
            // empty file (refused one at a time too).
            if row.attempts.iter().any(|a| a.download_name == name) || listed.size == 0 {
                left_out += 1;
            } else if !listed.readable {
                problems.push(format!(
                    "{}: compressed in a way handin cannot read; please zip it again (deflate)",
                    listed.path
                ));
            } else if listed.size > FILE_LIMIT {
                problems.push(format!(
                    "{}: larger than {}",
                    listed.path,
                    readable::bytes(FILE_LIMIT)
                ));
            } else {
                chosen.push(Chosen {
                    index: files[at].0,
                    name,
                    size: listed.size,
                });
            }
        }
        if !chosen.is_empty() {
            returned.push((row, chosen));
        }
    }
    if returned.is_empty() && problems.is_empty() {
        problems.push(
            "there are no feedback files in it (one folder per student, named as in the \
             all-submissions zip)"
                .to_string(),
        );
    }
    super::lines::refuse_if_any(problems)?;
    let wanted: Vec<(usize, u64)> = returned
        .iter()
        .flat_map(|(_, chosen)| chosen.iter().map(|c| (c.index, c.size)))
        .collect();
    let unpacked = app.uploads.unpack(&zip, &wanted).await.map_err(|e| match e {
        Unpacking::LargerThanDeclared => Error::invalid(
            "The feedback zip cannot be used: a file in it unpacks to more than its directory says.",
        ),
        Unpacking::Zip(e) => Error::invalid(format!(
            "The feedback zip cannot be used: it could not be unpacked ({e})."
        )),
        Unpacking::Store(e) => Error::from(e),
    })?;
    drop(zip);
    let kept = keep_all(app, unpacked).await?;
    let file_count = kept.len();
    let mut kept = kept.into_iter();
    let mut per_student = Vec::new();
    for (row, chosen) in &returned {
        let files: Vec<Kept> = chosen
            .iter()
            .zip(kept.by_ref())
            .map(|(chosen, file)| Kept {
                name: chosen.name.clone(),
                ..file
            })
            .collect();
        per_student.push(((row.student_id, row.label.as_str()), files));
    }
    let all_stored: Vec<String> = per_student
        .iter()
        .flat_map(|(_, files)| files.iter().map(|f| f.stored_path.clone()))
        .collect();
    let now = app.clock.now();
    let recorded = async {
        let txn = begin_write(&app.db).await?;
        let mut replaced = Vec::new();
        for (student, files) in per_student {
            replaced.extend(record(&txn, scope, student, files, true, now).await?);
        }
        txn.commit().await?;
        Ok::<_, Error>(replaced)
    }
    .await;
    match recorded {
        Ok(replaced) => {
            for old in replaced {
                app.uploads.discard(&old).await;
            }
        }
        Err(error) => {
            // As `keep_recorded` does: a failed COMMIT may have gone through.
            if let Some(first) = all_stored.first()
                && let Ok(false) = super::is_named(app, first).await
            {
                for stored in &all_stored {
                    app.uploads.discard(stored).await;
                }
            }
            return Err(error);
        }
    }
    Ok(Returned {
        students: returned.len(),
        files: file_count,
        left_out,
    })
}

/// Keeps every unpacked file on the feedback shelf; if one cannot be kept,
/// those kept already are removed again.
async fn keep_all(app: &App, unpacked: Vec<Received>) -> Result<Vec<Kept>> {
    let mut kept = Vec::with_capacity(unpacked.len());
    for received in unpacked {
        let (size, sha256) = (received.size, received.sha256.clone());
        match app.uploads.keep(received, Shelf::Feedback).await {
            Ok(stored_path) => kept.push(Kept {
                name: String::new(),
                stored_path,
                size,
                sha256,
            }),
            Err(e) => {
                for file in &kept {
                    app.uploads.discard(&file.stored_path).await;
                }
                return Err(Error::from(io::Error::other(format!(
                    "could not keep a feedback file: {e}"
                ))));
            }
        }
    }
    Ok(kept)
}
