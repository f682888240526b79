//! A student's work found by id (a receipt, a bundle, a request's
//! evidence): each is shown to its author and to those the policy allows,
//! and to anyone else it does not exist (404, never 403: an id must not
//! tell whether someone else's work is there).

use sea_orm::EntityTrait;

use crate::App;
use crate::domain::{bundle, preview, readable};
use crate::error::{Error, Result};
use crate::models::access;
use crate::models::receipt::Receipt;
use crate::models::{
    assignment, closure_day, course, enrolment, extension, feedback_file, marking, requests,
    submission, user,
};
use crate::policy::{self, Act};

/// The assignment a piece of work belongs to, found for someone allowed to
/// see it.
struct Found {
    course: course::Model,
    assignment: assignment::Model,
    /// Whether the caller sees the author by candidate number only.
    hides_author: bool,
}

async fn find(
    app: &App,
    who: &user::Model,
    assignment_id: i32,
    author_id: i32,
    act: impl Fn(bool) -> Act,
    what: &str,
) -> Result<Found> {
    let hidden = || Error::not_found(what);
    let assignment = assignment::Entity::find_by_id(assignment_id)
        .one(&app.db)
        .await?
        .ok_or_else(hidden)?;
    let course = course::Entity::find_by_id(assignment.course_id)
        .one(&app.db)
        .await?
        .ok_or_else(hidden)?;
    let own = author_id == who.id;
    let role = access::role_in(&app.db, who, course.id).await?;
    if !policy::allows(role, act(own), &course) {
        return Err(hidden());
    }
    Ok(Found {
        hides_author: !own
            && role.is_some_and(|r| policy::hides_names(r, &assignment, app.clock.now())),
        course,
        assignment,
    })
}

/// A submission, for its author and whoever marks its course.
async fn submission(app: &App, who: &user::Model, id: i32) -> Result<(submission::Model, Found)> {
    let row = submission::Entity::find_by_id(id)
        .one(&app.db)
        .await?
        .ok_or_else(|| Error::not_found("submission"))?;
    let see = |own| Act::SeeWork { own };
    let found = find(
        app,
        who,
        row.assignment_id,
        row.student_id,
        see,
        "submission",
    )
    .await?;
    Ok((row, found))
}

/// A submission's receipt, anonymised for markers under anonymous marking.
pub async fn receipt(app: &App, who: &user::Model, id: i32) -> Result<Receipt> {
    let (row, found) = submission(app, who, id).await?;
    let student = user::Entity::find_by_id(row.student_id)
        .one(&app.db)
        .await?
        .ok_or_else(|| Error::not_found("submission"))?;
    let until = extension::until_for(&app.db, row.assignment_id, row.student_id).await?;
    let closed = closure_day::university(&app.db).await?;
    let rule = found.assignment.rule(&found.course, until, &closed);
    let receipt = Receipt::build(&row, &found.assignment, &found.course, &student, &rule);
    if found.hides_author {
        let candidate = enrolment::candidate_of(&app.db, found.course.id, row.student_id).await?;
        return Ok(receipt.anonymise(candidate));
    }
    Ok(receipt)
}

/// A submission the caller may see with its author's name (its signed
/// receipt names the student): course code, assignment slug, attempt.
/// Where the caller sees authors by candidate number only, there is none.
pub async fn named_attempt(app: &App, who: &user::Model, id: i32) -> Result<(String, String, i32)> {
    let (row, found) = submission(app, who, id).await?;
    if found.hides_author {
        return Err(Error::not_found("submission"));
    }
    Ok((found.course.code, found.assignment.slug, row.attempt))
}

/// A stored file to send, under the name the server chose for it.
pub struct StoredFile {
    /// The stored name, in the uploads store.
    pub stored: String,
    pub name: String,
    /// Hex SHA-256, for bundles.
    pub sha256: Option<String>,
}

/// Who handed a submission in, as the reader may see them: their username,
/// or their candidate number under anonymous marking.
async fn author_label(app: &App, row: &submission::Model, found: &Found) -> Result<String> {
    if found.hides_author {
        return Ok(enrolment::candidate_of(&app.db, found.course.id, row.student_id).await?);
    }
    Ok(user::Entity::find_by_id(row.student_id)
        .one(&app.db)
        .await?
        .map(|u| u.username)
        .unwrap_or_else(|| enrolment::unenrolled_label(row.student_id)))
}

/// A submission's bundle, named `COURSE-slug-LABEL-attemptN.zip`.
pub async fn bundle(app: &App, who: &user::Model, id: i32) -> Result<StoredFile> {
    let (row, found) = submission(app, who, id).await?;
    let label = author_label(app, &row, &found).await?;
    Ok(StoredFile {
        stored: row.stored_path,
        name: marking::download_name(&found.course, &found.assignment, &label, row.attempt),
        sha256: Some(row.sha256),
    })
}

/// An extension request's evidence: for its author and whoever may decide it.
pub async fn evidence(app: &App, who: &user::Model, id: i32) -> Result<StoredFile> {
    let row = requests::Entity::find_by_id(id)
        .one(&app.db)
        .await?
        .ok_or_else(|| Error::not_found("request"))?;
    find(
        app,
        who,
        row.assignment_id,
        row.student_id,
        |own| Act::SeeEvidence { own },
        "request",
    )
    .await?;
    let path = row
        .evidence_path
        .ok_or_else(|| Error::not_found("evidence"))?;
    Ok(StoredFile {
        stored: path,
        name: format!("evidence-{id}"),
        sha256: None,
    })
}

/// One file inside a bundle, as the contents page lists it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Listed {
    /// Its place in the bundle's file list (the preview's address).
    pub index: usize,
    pub path: String,
    pub size: String,
    pub kind: preview::Kind,
}

/// What is inside a bundle, without downloading it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Contents {
    pub submission_id: i32,
    pub attempt: i32,
    pub course: String,
    pub assignment: String,
    pub assignment_title: String,
    /// The student as the reader may see them (candidate number under
    /// anonymous marking).
    pub student: String,
    pub files: Vec<Listed>,
}

/// A bundle's file list: for its author and whoever marks its course.
pub async fn contents(app: &App, who: &user::Model, id: i32) -> Result<Contents> {
    let (row, found) = submission(app, who, id).await?;
    let student = author_label(app, &row, &found).await?;
    let files = row
        .entries()
        .into_iter()
        .enumerate()
        .map(|(index, entry)| Listed {
            index,
            kind: preview::kind_of(&entry.path),
            size: readable::bytes(entry.size),
            path: entry.path,
        })
        .collect();
    Ok(Contents {
        submission_id: row.id,
        attempt: row.attempt,
        course: found.course.code,
        assignment: found.assignment.slug,
        assignment_title: found.assignment.title,
        student,
        files,
    })
}

/// A file of a bundle, shown.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(tag = "as", rename_all = "snake_case")]
pub enum Shown {
    Text {
        text: String,
        cut: bool,
    },
    Notebook {
        cells: Vec<preview::Cell>,
    },
    /// Why it is not shown (a binary file, too large, unreadable).
    Not {
        why: String,
    },
}

/// One file of a bundle (`index` in its file list), shown as text or as a
/// notebook, read out of the stored bundle (never more than a preview's
/// worth); for the bundle's author and whoever marks its course.
pub async fn preview(
    app: &App,
    who: &user::Model,
    id: i32,
    index: usize,
) -> Result<(Contents, Listed, Shown)> {
    let contents = contents(app, who, id).await?;
    let file = contents
        .files
        .get(index)
        .cloned()
        .ok_or_else(|| Error::not_found("file"))?;
    let row = submission::Entity::find_by_id(id)
        .one(&app.db)
        .await?
        .ok_or_else(|| Error::not_found("submission"))?;
    let size = row.entries().get(index).map(|e| e.size).unwrap_or_default();
    let limit = match file.kind {
        preview::Kind::Other => {
            let why = "This kind of file is not shown here: download the bundle to open it.";
            return Ok((contents, file, Shown::Not { why: why.into() }));
        }
        preview::Kind::Notebook if size > preview::NOTEBOOK_BYTES => {
            let why = format!(
                "This notebook is larger than {}: download the bundle to open it.",
                readable::bytes(preview::NOTEBOOK_BYTES)
            );
            return Ok((contents, file, Shown::Not { why }));
        }
        preview::Kind::Notebook => preview::NOTEBOOK_BYTES,
        preview::Kind::Text => preview::PREVIEW_BYTES,
    };
    let path = file.path.clone();
    let bytes = app
        .uploads
        .read_kept(&row.stored_path, row.size.max(0) as u64, move |reader| {
            read_entry(reader, &path, limit)
        })
        .await?;
    let shown = match (bytes, file.kind) {
        (Err(why), _) => Shown::Not { why },
        (Ok(bytes), preview::Kind::Notebook) => {
            match preview::notebook(&String::from_utf8_lossy(&bytes)) {
                Ok(cells) => Shown::Notebook { cells },
                Err(why) => Shown::Not {
                    why: format!("The notebook cannot be shown: {why}."),
                },
            }
        }
        (Ok(bytes), _) => {
            let (text, cut) = preview::text(&bytes, size);
            Shown::Text { text, cut }
        }
    };
    Ok((contents, file, shown))
}

/// At most `limit` bytes of the entry named `path` (as handin reads names).
fn read_entry(
    reader: Box<dyn crate::storage::ReadSeek>,
    path: &str,
    limit: u64,
) -> std::result::Result<Vec<u8>, String> {
    use std::io::Read;
    let unreadable = |e: &dyn std::fmt::Display| format!("The file cannot be read ({e}).");
    let mut archive = zip::ZipArchive::new(reader).map_err(|e| unreadable(&e))?;
    let index = (0..archive.len())
        .find(|&i| {
            archive
                .by_index_raw(i)
                .is_ok_and(|e| !e.is_dir() && bundle::entry_name(e.name_raw()) == path)
        })
        .ok_or_else(|| "The file is not in the stored bundle.".to_string())?;
    let entry = archive.by_index(index).map_err(|e| unreadable(&e))?;
    let mut bytes = Vec::new();
    entry
        .take(limit)
        .read_to_end(&mut bytes)
        .map_err(|e| unreadable(&e))?;
    Ok(bytes)
}

/// A feedback file: for the student it was returned to, once the marks are
/// released, and for whoever marks the course.
pub async fn feedback_file(app: &App, who: &user::Model, id: i32) -> Result<StoredFile> {
    let hidden = || Error::not_found("feedback file");
    let row = feedback_file::Entity::find_by_id(id)
        .one(&app.db)
        .await?
        .ok_or_else(hidden)?;
    let see = |own| {
        if own {
            Act::SeeWork { own: true }
        } else {
            Act::Mark
        }
    };
    let found = find(
        app,
        who,
        row.assignment_id,
        row.student_id,
        see,
        "feedback file",
    )
    .await?;
    let own = row.student_id == who.id;
    if own && !found.assignment.marks_released(app.clock.now()) {
        return Err(hidden());
    }
    Ok(StoredFile {
        stored: row.stored_path,
        name: format!(
            "{}-{}-feedback-{}",
            found.course.code,
            found.assignment.slug,
            plain_name(&row.name)
        ),
        sha256: Some(row.sha256),
    })
}

/// A marker's file name as a download may carry it without quoting: ASCII
/// letters, digits, dots, dashes and underscores; anything else becomes `_`.
fn plain_name(name: &str) -> String {
    let last = name.rsplit('/').next().unwrap_or(name);
    let plain: String = last
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    plain.trim_start_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::plain_name;

    #[test]
    fn download_names_are_plain() {
        assert_eq!(plain_name("marked/Rückmeldung 1.pdf"), "R_ckmeldung_1.pdf");
        assert_eq!(plain_name("\"quoted\";.html"), "_quoted__.html");
        assert_eq!(plain_name("..hidden"), "hidden");
    }
}
