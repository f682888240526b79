//! Marks and feedback back to students: entered one at a time (the marking
//! table, a student's history page, the API) or from a CSV, with the late
//! policy applied to the attempt that counts and the rule kept with the
//! mark; released to students now or at a set time; exported for the
//! registry. Every mark given, changed and released is on the audit log.

use chrono::{DateTime, Utc};
use sea_orm::EntityTrait;
use serde::Serialize;

use super::Scope;
use super::exports::{self, Attempts, Export};
use super::lines::{records, refuse_if_any};
use crate::App;
use crate::domain::marks::{self, Points};
use crate::domain::zone::format_local;
use crate::error::{Error, Result};
use crate::models::marking::{MarkShown, StudentRow};
use crate::models::{assignment, audit, mark, user};
use crate::policy::Act;

/// Feedback longer than this is refused (a page of comments, not a thesis).
pub const MAX_FEEDBACK: usize = 20_000;

/// A mark as a marker typed it.
#[derive(Debug, Clone)]
pub struct Typed<'a> {
    /// The student as the table names them: username, or candidate number.
    pub student: &'a str,
    pub mark: &'a str,
    /// None: the feedback there is stays (an empty text clears it).
    pub feedback: Option<&'a str>,
}

/// What a mark came to, for the one who gave it.
#[derive(Debug, Clone, Serialize)]
pub struct Given {
    pub student: String,
    pub raw: Points,
    pub final_mark: Points,
    pub late_rule: String,
}

/// The student the table names `student` (username, candidate number or
/// the label shown).
pub(super) fn find_row<'r>(rows: &'r [StudentRow], student: &str) -> Option<&'r StudentRow> {
    let student = student.trim();
    // Spreadsheets change case: usernames and candidate numbers are
    // matched without regard to it.
    let same = |known: Option<&str>| known.is_some_and(|k| k.eq_ignore_ascii_case(student));
    rows.iter().find(|r| {
        same(Some(&r.label)) || same(r.username.as_deref()) || same(r.candidate.as_deref())
    })
}

/// Checks a typed mark against its row; what to save, or what is wrong.
fn check(
    scope: &Scope,
    row: &StudentRow,
    typed: &Typed<'_>,
) -> std::result::Result<mark::Given, String> {
    let raw =
        Points::parse(typed.mark).and_then(|raw| marks::check(raw, scope.assignment.max_mark()))?;
    if typed
        .feedback
        .is_some_and(|f| f.chars().count() > MAX_FEEDBACK)
    {
        return Err(format!(
            "the feedback is longer than {MAX_FEEDBACK} characters"
        ));
    }
    // The attempt that counts: the latest (nothing handed in: no penalty).
    let (submission_id, working_days) = row
        .latest
        .as_ref()
        .map(|a| (Some(a.judged.submission_id), a.judged.working_days_late))
        .unwrap_or((None, 0));
    let assignment = &scope.assignment;
    let penalised = marks::penalise(
        raw,
        assignment.mark_scale(),
        &assignment.late_policy(),
        working_days,
    );
    Ok(mark::Given {
        assignment_id: scope.assignment.id,
        student_id: row.student_id,
        submission_id,
        raw,
        final_mark: penalised.final_mark,
        late_rule: penalised.rule,
        feedback: typed.feedback.map(|f| f.trim().to_string()),
        marker_id: scope.user.id,
        released: false,
    })
}

/// A mark as the audit log keeps it: raw, final, and the feedback's length
/// and hash (so a change of feedback alone shows, without copying it).
fn recorded(row: &mark::Model) -> String {
    use sha2::Digest;
    let digest = hex::encode(sha2::Sha256::digest(row.feedback.as_bytes()));
    format!(
        "{} (final {}); feedback {} characters, sha256 {}",
        row.raw(),
        row.final_points(),
        row.feedback.chars().count(),
        &digest[..12]
    )
}

async fn save_all(
    app: &App,
    scope: &Scope,
    given: Vec<(String, mark::Given)>,
) -> Result<Vec<Given>> {
    let now = app.clock.now();
    let txn = crate::db::begin_write(&app.db).await?;
    // Read under the write lock: a release committed since the request
    // began must flag these changes to the students.
    let released = assignment::Entity::find_by_id(scope.assignment.id)
        .one(&txn)
        .await?
        .is_some_and(|a| a.marks_released(now));
    let mut done = Vec::new();
    for (label, mut one) in given {
        one.released = released;
        let mark::Saved {
            row: saved,
            before,
            changed,
        } = mark::save(&txn, one, now).await?;
        if changed {
            let entry = audit::Entry {
                actor_id: Some(scope.user.id),
                action: if before.is_some() {
                    "mark_changed"
                } else {
                    "mark_entered"
                },
                course_id: Some(scope.course.id),
                assignment_id: Some(scope.assignment.id),
                student_id: Some(saved.student_id),
                before: before.as_ref().map(recorded),
                after: Some(recorded(&saved)),
                details: format!("{label}: late rule {}", saved.late_rule),
            };
            audit::record(&txn, now, entry).await?;
        }
        done.push(Given {
            student: label,
            raw: saved.raw(),
            final_mark: saved.final_points(),
            late_rule: saved.late_rule,
        });
    }
    txn.commit().await?;
    Ok(done)
}

/// Gives (or changes) one student's mark and feedback.
pub async fn enter(app: &App, scope: &Scope, typed: Typed<'_>) -> Result<Given> {
    scope.require(Act::Mark)?;
    let table = exports::table(app, scope, Attempts::Latest).await?;
    let row = find_row(&table.rows, typed.student).ok_or_else(|| {
        Error::not_found(format!(
            "student {} on this assignment",
            typed.student.trim()
        ))
    })?;
    let given =
        check(scope, row, &typed).map_err(|e| Error::invalid(format!("{}: {e}", row.label)))?;
    let mut done = save_all(app, scope, vec![(row.label.clone(), given)]).await?;
    Ok(done.remove(0))
}

/// Takes a student's mark away (given to the wrong student, say), on the
/// record. Once the marks are released the student has seen it: it can be
/// changed then, not removed.
pub async fn remove(app: &App, scope: &Scope, student: &str) -> Result<String> {
    scope.require(Act::Mark)?;
    let table = exports::table(app, scope, Attempts::Latest).await?;
    let row = find_row(&table.rows, student).ok_or_else(|| {
        Error::not_found(format!("student {} on this assignment", student.trim()))
    })?;
    let now = app.clock.now();
    let txn = crate::db::begin_write(&app.db).await?;
    let released = assignment::Entity::find_by_id(scope.assignment.id)
        .one(&txn)
        .await?
        .is_some_and(|a| a.marks_released(now));
    if released {
        return Err(Error::Conflict(format!(
            "The marks are released and {} has seen this one: change it rather than remove it.",
            row.label
        )));
    }
    let given = mark::of_student(&txn, scope.assignment.id, row.student_id)
        .await?
        .ok_or_else(|| Error::not_found(format!("a mark for {}", row.label)))?;
    mark::Entity::delete_by_id(given.id).exec(&txn).await?;
    let entry = audit::Entry {
        actor_id: Some(scope.user.id),
        action: "mark_removed",
        course_id: Some(scope.course.id),
        assignment_id: Some(scope.assignment.id),
        student_id: Some(row.student_id),
        before: Some(recorded(&given)),
        details: row.label.clone(),
        ..Default::default()
    };
    audit::record(&txn, now, entry).await?;
    txn.commit().await?;
    Ok(row.label.clone())
}

/// Every student's mark, as staff see them (the marking table's rows).
pub async fn list(app: &App, scope: &Scope) -> Result<Vec<Listed>> {
    let table = exports::table(app, scope, Attempts::Latest).await?;
    Ok(table
        .rows
        .into_iter()
        .map(|row| Listed {
            student: row.label,
            status: row.status,
            mark: row.mark,
        })
        .collect())
}

/// One row of the marks list.
#[derive(Debug, Clone, Serialize)]
pub struct Listed {
    pub student: String,
    pub status: &'static str,
    pub mark: Option<MarkShown>,
}

/// Several marks at once, all or nothing: each item is named by where it
/// came from ("line 3", "item 2") in the problems, and every problem is named.
pub async fn enter_many(
    app: &App,
    scope: &Scope,
    items: &[(String, Typed<'_>)],
) -> Result<Vec<Given>> {
    scope.require(Act::Mark)?;
    let table = exports::table(app, scope, Attempts::Latest).await?;
    let mut problems = Vec::new();
    let mut given = Vec::new();
    let mut seen = std::collections::HashMap::new();
    for (place, typed) in items {
        let Some(row) = find_row(&table.rows, typed.student) else {
            problems.push(format!(
                "{place}: no student {} on this assignment",
                typed.student.trim()
            ));
            continue;
        };
        if let Some(first) = seen.insert(row.student_id, place.clone()) {
            problems.push(format!("{place}: {} is already on {first}", row.label));
            continue;
        }
        match check(scope, row, typed) {
            Ok(one) => given.push((row.label.clone(), one)),
            Err(e) => problems.push(format!("{place}: {e}")),
        }
    }
    if items.is_empty() {
        problems.push("there are no marks in it".to_string());
    }
    refuse_if_any(problems)?;
    save_all(app, scope, given).await
}

/// Marks from a CSV (`student,mark,feedback`; student is a username or a
/// candidate number): all or nothing, naming every bad line.
pub async fn import_csv(app: &App, scope: &Scope, text: &str) -> Result<Vec<Given>> {
    scope.require(Act::Mark)?;
    let lines = records(text, &["student", "mark", "feedback"])?;
    let items: Vec<(String, Typed<'_>)> = lines
        .iter()
        .map(|(line, fields)| {
            // An empty feedback column leaves the feedback as it is.
            let feedback = Some(fields[2].as_str()).filter(|f| !f.is_empty());
            let typed = Typed {
                student: &fields[0],
                mark: &fields[1],
                feedback,
            };
            (format!("line {line}"), typed)
        })
        .collect();
    enter_many(app, scope, &items).await
}

/// Releases the marks to students: now (`at` none) or at a time to come
/// (a wall-clock time in the course's zone, or RFC 3339). Marks students
/// have seen stay released: a release that has happened cannot be moved.
pub async fn release(app: &App, scope: &Scope, at: Option<&str>) -> Result<assignment::Model> {
    scope.require(Act::Mark)?;
    let now = app.clock.now();
    let zone = scope.course.zone();
    let at: DateTime<Utc> = match at.map(str::trim) {
        None => now,
        Some("") => {
            return Err(Error::invalid(
                "Choose a date and time to release the marks at, or release them now.",
            ));
        }
        Some(text) => crate::domain::zone::parse_instant(text, zone)
            .map_err(|e| Error::invalid(format!("the release time: {e}")))?,
    };
    let txn = crate::db::begin_write(&app.db).await?;
    // Read again under the write lock: another marker may just have released.
    let current = assignment::Entity::find_by_id(scope.assignment.id)
        .one(&txn)
        .await?
        .ok_or_else(|| Error::not_found("assignment"))?;
    if let Some(done) = current.marks_released_at.filter(|t| *t <= now) {
        return Err(Error::Conflict(format!(
            "The marks were released on {}: students have seen them, and they stay released.",
            format_local(done, zone)
        )));
    }
    let before = current.marks_released_at;
    let released = assignment::set_marks_release(&txn, scope.assignment.id, Some(at)).await?;
    let entry = audit::Entry {
        actor_id: Some(scope.user.id),
        action: "marks_released",
        course_id: Some(scope.course.id),
        assignment_id: Some(scope.assignment.id),
        before: before.map(|b| format_local(b, zone)),
        after: Some(format_local(at, zone)),
        details: if at <= now {
            "marks released to students".to_string()
        } else {
            format!("marks to be released at {}", format_local(at, zone))
        },
        ..Default::default()
    };
    audit::record(&txn, now, entry).await?;
    txn.commit().await?;
    Ok(released)
}

/// A student's own mark, once released.
#[derive(Debug, Clone, Serialize)]
pub struct Own {
    #[serde(flatten)]
    pub mark: MarkShown,
    pub max_mark: Points,
    pub passed: Option<bool>,
}

/// The caller's own mark and feedback, if the marks are released.
pub async fn own(app: &App, scope: &Scope) -> Result<Option<Own>> {
    if !scope.assignment.marks_released(app.clock.now()) {
        return Ok(None);
    }
    let Some(row) = mark::of_student(&app.db, scope.assignment.id, scope.user.id).await? else {
        return Ok(None);
    };
    let shown = MarkShown::new(&row, scope.course.zone());
    let passed = scope
        .assignment
        .pass_mark
        .map(|pass| row.final_mark >= pass);
    Ok(Some(Own {
        mark: shown,
        max_mark: scope.assignment.max_mark(),
        passed,
    }))
}

/// The marks for the registry: username, name, raw, penalty, final,
/// status, marker, marked at (anonymous assignments before release: the
/// candidate number only, to staff other than administrators).
pub async fn registry_csv(app: &App, scope: &Scope) -> Result<Export<Vec<u8>>> {
    let table = exports::table(app, scope, Attempts::Latest).await?;
    let marker_ids: Vec<i32> = table
        .rows
        .iter()
        .filter_map(|r| r.mark.as_ref().and_then(|m| m.marker_id))
        .collect();
    let markers = user::usernames(&app.db, &marker_ids).await?;
    let mut out = csv::Writer::from_writer(Vec::new());
    let header = [
        "student",
        "name",
        "candidate",
        "raw",
        "penalty",
        "final",
        "pass",
        "status",
        "marker",
        "marked_at",
    ];
    out.write_record(header).map_err(Error::internal)?;
    for row in &table.rows {
        let mark = row.mark.as_ref();
        let passed = match (mark, scope.assignment.pass_mark) {
            (Some(m), Some(pass)) => (m.final_mark.0 >= pass).to_string(),
            _ => String::new(),
        };
        let fields = [
            row.username.clone().unwrap_or_else(|| row.label.clone()),
            row.name.clone().unwrap_or_default(),
            row.candidate.clone().unwrap_or_default(),
            mark.map(|m| m.raw.shown()).unwrap_or_default(),
            mark.map(|m| m.late_rule.clone()).unwrap_or_default(),
            mark.map(|m| m.final_mark.shown()).unwrap_or_default(),
            passed,
            row.status.to_string(),
            mark.and_then(|m| m.marker_id)
                .and_then(|id| markers.get(&id).cloned())
                .unwrap_or_default(),
            mark.map(|m| m.marked_at.to_rfc3339()).unwrap_or_default(),
        ];
        // Formulas defused, as in every CSV handin writes.
        let line: Vec<String> = fields.iter().map(|f| exports::cell(f)).collect();
        out.write_record(&line).map_err(Error::internal)?;
    }
    let body = out.into_inner().map_err(Error::internal)?;
    let entry = audit::Entry {
        actor_id: Some(scope.user.id),
        action: "bulk_download",
        course_id: Some(scope.course.id),
        assignment_id: Some(scope.assignment.id),
        details: "marks.csv".to_string(),
        ..Default::default()
    };
    audit::record(&app.db, app.clock.now(), entry).await?;
    Ok(Export {
        name: format!("{}-{}-marks.csv", scope.course.code, scope.assignment.slug),
        body,
    })
}
