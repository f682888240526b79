//! Reading the audit log: filtered by course, assignment, student and
//! action, as a page or a CSV.

use super::exports::cell;
use crate::App;
use crate::error::{Error, Result};
use crate::models::{assignment, audit, course, user};

/// What the administrator filters by, as typed (blank means any).
#[derive(Debug, Default)]
pub struct Query<'a> {
    pub course: Option<&'a str>,
    pub assignment: Option<&'a str>,
    pub student: Option<&'a str>,
    pub action: Option<&'a str>,
}

fn given(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

/// The entries that match, newest first, at most `limit`.
pub async fn search(app: &App, query: &Query<'_>, limit: u64) -> Result<Vec<audit::Shown>> {
    let mut filter = audit::Filter::default();
    if let Some(code) = given(query.course) {
        let course = course::find_by_code(&app.db, code)
            .await?
            .ok_or_else(|| Error::not_found("course"))?;
        filter.course_id = Some(course.id);
        if let Some(slug) = given(query.assignment) {
            let found = assignment::find_by_codes(&app.db, code, slug).await?;
            filter.assignment_id = Some(found.ok_or_else(|| Error::not_found("assignment"))?.1.id);
        }
    }
    if let Some(username) = given(query.student) {
        let found = user::find_by_username(&app.db, username).await?;
        filter.student_id = Some(found.ok_or_else(|| Error::not_found("user"))?.id);
    }
    filter.action = given(query.action).map(str::to_string);
    Ok(audit::search(&app.db, &filter, limit).await?)
}

/// Entries as CSV.
pub fn csv(entries: &[audit::Shown]) -> Result<Vec<u8>> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record([
            "at",
            "actor",
            "action",
            "course",
            "assignment",
            "student",
            "before",
            "after",
            "details",
        ])
        .map_err(Error::internal)?;
    for e in entries {
        // Reasons are typed by students: defuse anything a spreadsheet would run.
        let record = [
            &e.at,
            &e.actor,
            &e.action,
            &e.course,
            &e.assignment,
            &e.student,
            &e.before,
            &e.after,
            &e.details,
        ];
        writer
            .write_record(record.map(|field| cell(field)))
            .map_err(Error::internal)?;
    }
    writer.into_inner().map_err(Error::internal)
}
