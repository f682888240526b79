//! What staff take away: the marker's table as CSV (for the marks
//! spreadsheet, and as the all-submissions zip's manifest), every bundle as
//! one zip, and the audit log as CSV. Every bulk download is on the record.

use super::Scope;
use crate::App;
use crate::archive;
use crate::error::{Error, Result};
use crate::models::audit;
use crate::models::marking::{self, AttemptRow, StudentRow, Table};
use crate::policy::Act;

const HEADER: [&str; 13] = [
    "student",
    "name",
    "attempt",
    "received_utc",
    "received_local",
    "sha256",
    "size",
    "status",
    "late_seconds",
    "working_days_late",
    "mark_multiplier",
    "extension_until",
    "declaration",
];

/// Where a bundle sits inside the all-submissions zip: one folder per student.
pub fn path_in_zip(row: &StudentRow, attempt: &AttemptRow) -> String {
    format!("{}/{}", row.label, attempt.download_name)
}

/// A spreadsheet must not run what a student typed: cells that would start
/// a formula are prefixed with an apostrophe.
pub fn cell(text: &str) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_string(),
    }
}

/// One line per student (latest attempt), or per attempt with `all_attempts`;
/// students with nothing handed in get a line with status `not_submitted`.
/// With `with_paths`, a last column says where each bundle is in the zip.
pub fn csv(rows: &[StudentRow], all_attempts: bool, with_paths: bool) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<&str> = HEADER.to_vec();
    if with_paths {
        header.push("path");
    }
    // Writing to a Vec cannot fail.
    let _ = writer.write_record(&header);
    for row in rows {
        let attempts: Vec<&AttemptRow> = if all_attempts {
            row.attempts.iter().collect()
        } else {
            row.latest.iter().collect()
        };
        let who = [cell(&row.label), cell(row.name.as_deref().unwrap_or(""))];
        let until = row.extension_until.clone().unwrap_or_default();
        if attempts.is_empty() {
            let mut record: Vec<String> = who.to_vec();
            record
                .extend(["", "", "", "", "", row.status, "", "", "", &until, ""].map(String::from));
            if with_paths {
                record.push(String::new());
            }
            let _ = writer.write_record(&record);
        }
        for attempt in attempts {
            let mut record: Vec<String> = who.to_vec();
            record.extend([
                attempt.judged.attempt.to_string(),
                attempt.judged.received_at.clone(),
                attempt.judged.received_local.clone(),
                attempt.judged.sha256.clone(),
                attempt.judged.size.to_string(),
                attempt.judged.status.to_string(),
                attempt.judged.late_by_seconds.to_string(),
                attempt.judged.working_days_late.to_string(),
                attempt.judged.mark_multiplier.clone(),
                until.clone(),
                cell(attempt.judged.declaration.as_deref().unwrap_or("")),
            ]);
            if with_paths {
                record.push(path_in_zip(row, attempt));
            }
            let _ = writer.write_record(&record);
        }
    }
    writer.into_inner().unwrap_or_default()
}

/// The latest attempt of each student, or every attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempts {
    Latest,
    All,
}

impl Attempts {
    /// `?attempts=latest` (the default) or `?attempts=all`.
    pub fn parse(text: Option<&str>) -> Result<Attempts> {
        match text {
            None | Some("latest") => Ok(Attempts::Latest),
            Some("all") => Ok(Attempts::All),
            Some(other) => Err(Error::Malformed(format!(
                "attempts must be 'latest' or 'all', not '{other}'"
            ))),
        }
    }
}

/// The marker's table of the assignment in scope.
pub async fn table(app: &App, scope: &Scope, attempts: Attempts) -> Result<Table> {
    scope.require(Act::Mark)?;
    let (course, assignment) = (&scope.course, &scope.assignment);
    let every = attempts == Attempts::All;
    Ok(marking::load(&app.db, course, assignment, scope.naming(), every).await?)
}

fn file_stem(scope: &Scope) -> String {
    format!("{}-{}", scope.course.code, scope.assignment.slug)
}

async fn record_download(app: &App, scope: &Scope, what: String) -> Result<()> {
    let entry = audit::Entry {
        actor_id: Some(scope.user.id),
        action: "bulk_download",
        course_id: Some(scope.course.id),
        assignment_id: Some(scope.assignment.id),
        details: what,
        ..Default::default()
    };
    Ok(audit::record(&app.db, app.clock.now(), entry).await?)
}

/// A file to send: its name and its bytes.
pub struct Export<B> {
    pub name: String,
    pub body: B,
}

/// The table as CSV, on the record.
pub async fn table_csv(app: &App, scope: &Scope, attempts: Attempts) -> Result<Export<Vec<u8>>> {
    let table = table(app, scope, attempts).await?;
    record_download(app, scope, "submissions.csv".to_string()).await?;
    Ok(Export {
        name: format!("{}-submissions.csv", file_stem(scope)),
        body: csv(&table.rows, attempts == Attempts::All, false),
    })
}

/// Every bundle as one zip with a manifest, streamed as it is built; on the record.
pub async fn all_bundles(
    app: &App,
    scope: &Scope,
    attempts: Attempts,
) -> Result<Export<rocket::tokio::sync::mpsc::Receiver<Vec<u8>>>> {
    let all = attempts == Attempts::All;
    let table = table(app, scope, attempts).await?;
    let manifest = csv(&table.rows, all, true);
    let zone = scope.course.zone();
    let made = app.clock.now().with_timezone(&zone).naive_local();
    let items: Vec<archive::Item> = table
        .rows
        .iter()
        .flat_map(|row| {
            let chosen: Vec<&AttemptRow> = if all {
                row.attempts.iter().collect()
            } else {
                row.latest.iter().collect()
            };
            chosen.into_iter().map(move |attempt| (row, attempt))
        })
        .map(|(row, attempt)| archive::Item {
            path_in_zip: path_in_zip(row, attempt),
            stored: attempt.stored_path.clone(),
            size: attempt.judged.size,
            received_local: attempt.received_instant.with_timezone(&zone).naive_local(),
        })
        .collect();
    let (which, suffix) = if all {
        ("every attempt", "-all-attempts")
    } else {
        ("the attempts that count", "")
    };
    record_download(app, scope, format!("submissions.zip ({which})")).await?;
    Ok(Export {
        name: format!("{}-submissions{suffix}.zip", file_stem(scope)),
        body: archive::stream(app.uploads.clone(), manifest, made, items),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_defused() {
        assert_eq!(cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(cell("-1"), "'-1");
        assert_eq!(cell("Ada Lovelace"), "Ada Lovelace");
    }
}
