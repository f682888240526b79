//! `handin verify`: re-hash every stored bundle and compare it with the
//! database, so "the server holds exactly what I sent" stays checkable.
//! The outcome is written on each submission; the marker's page flags
//! failures.

use std::collections::HashMap;

use sea_orm::ActiveValue::{Set, Unchanged};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::App;
use crate::error::Result;
use crate::models::{assignment, course, feedback_file, submission, user};

/// A stored bundle that is not what the database says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub submission_id: i32,
    pub course: String,
    pub assignment: String,
    pub student: String,
    pub attempt: i32,
    pub what: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} {} attempt {} (submission {}): {}",
            self.course, self.assignment, self.student, self.attempt, self.submission_id, self.what
        )
    }
}

#[derive(Debug, Default)]
pub struct Report {
    pub checked: usize,
    pub bytes: u64,
    pub problems: Vec<Problem>,
    /// Feedback files checked, and what is wrong with any (one line each).
    pub feedback_checked: usize,
    pub feedback_problems: Vec<String>,
}

/// What is wrong with a stored file, compared with its row; `None` if nothing.
async fn compare(app: &App, stored: &str, expected: &str, expected_size: u64) -> Option<String> {
    match app.uploads.digest(stored).await {
        Ok(Some((actual, size))) if actual == expected && size == expected_size => None,
        Ok(Some((actual, size))) => Some(format!(
            "the stored file has changed (SHA-256 {actual}, {size} bytes; recorded {expected}, {expected_size} bytes)"
        )),
        Ok(None) => Some("the stored file is missing".into()),
        Err(e) => Some(format!("the stored file cannot be read: {e}")),
    }
}

/// Checks every submission; `progress(done, total, bytes)` is called after each.
pub async fn verify_all(app: &App, mut progress: impl FnMut(usize, usize, u64)) -> Result<Report> {
    let db = &app.db;
    let submissions = submission::Entity::find()
        .order_by_asc(submission::Column::Id)
        .into_partial_model::<submission::Summary>()
        .all(db)
        .await?;
    let assignments: HashMap<i32, assignment::Model> = assignment::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    let courses: HashMap<i32, course::Model> = course::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let users: HashMap<i32, String> = user::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.username))
        .collect();
    let total = submissions.len();
    let mut report = Report::default();
    for row in submissions {
        let expected = row.sha256.clone();
        let expected_size = row.size.max(0) as u64;
        let outcome = compare(app, &row.stored_path, &expected, expected_size).await;
        report.checked += 1;
        report.bytes += expected_size;
        if let Some(what) = &outcome {
            let assignment = assignments.get(&row.assignment_id);
            report.problems.push(Problem {
                submission_id: row.id,
                course: assignment
                    .and_then(|a| courses.get(&a.course_id))
                    .map(|c| c.code.clone())
                    .unwrap_or_default(),
                assignment: assignment.map(|a| a.slug.clone()).unwrap_or_default(),
                student: users.get(&row.student_id).cloned().unwrap_or_default(),
                attempt: row.attempt,
                what: what.clone(),
            });
        }
        let checked = submission::ActiveModel {
            id: Unchanged(row.id),
            verified_at: Set(Some(app.clock.now())),
            verify_error: Set(outcome),
            ..Default::default()
        };
        checked.update(db).await?;
        progress(report.checked, total, report.bytes);
    }
    // Feedback files: what students were given back must stay what it was.
    // Page by id, not by offset: files replaced meanwhile shift no page.
    let mut after = 0;
    loop {
        let files = feedback_file::Entity::find()
            .filter(feedback_file::Column::Id.gt(after))
            .order_by_asc(feedback_file::Column::Id)
            .limit(500)
            .all(db)
            .await?;
        let Some(last) = files.last() else {
            break;
        };
        after = last.id;
        for file in files {
            let size = u64::try_from(file.size).unwrap_or_default();
            report.feedback_checked += 1;
            if let Some(what) = compare(app, &file.stored_path, &file.sha256, size).await {
                let assignment = assignments.get(&file.assignment_id);
                report.feedback_problems.push(format!(
                    "{} {} {} feedback file {} (id {}): {what}",
                    assignment
                        .and_then(|a| courses.get(&a.course_id))
                        .map(|c| c.code.as_str())
                        .unwrap_or_default(),
                    assignment.map(|a| a.slug.as_str()).unwrap_or_default(),
                    users
                        .get(&file.student_id)
                        .map(String::as_str)
                        .unwrap_or_default(),
                    file.name,
                    file.id
                ));
            }
        }
    }
    Ok(report)
}
