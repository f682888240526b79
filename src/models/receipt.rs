//! The receipt: everything a student needs to prove what they handed in and
//! when, judged against their deadline as it stands now.

use chrono::SecondsFormat;
use sea_orm::entity::prelude::*;
use serde::Serialize;

use super::{assignment, course, extension, submission, user};
use crate::domain::deadline::{format_local, format_local_precise};

#[derive(Debug, Clone, Serialize)]
pub struct Receipt {
    pub id: i32,
    pub course: String,
    pub course_title: String,
    pub assignment: String,
    pub assignment_title: String,
    pub student: String,
    pub student_name: String,
    pub attempt: i32,
    /// RFC 3339 in UTC, to the millisecond.
    pub received_at: String,
    pub received_local: String,
    pub upload_started_at: String,
    pub sha256: String,
    pub size: u64,
    pub size_text: String,
    pub original_name: String,
    pub files: Vec<String>,
    /// `on_time`, `late` or `extension`.
    pub status: &'static str,
    pub status_text: String,
    pub late_by_seconds: i64,
    pub working_days_late: u32,
    /// What the late policy does: "1 working day late: mark × 0.9".
    pub penalty: Option<String>,
    /// The mark is multiplied by this: "1", "0.9", "0".
    pub mark_multiplier: String,
    /// RFC 3339 with the course zone's offset.
    pub effective_deadline: String,
    pub effective_deadline_local: String,
    pub time_zone: String,
    #[serde(skip)]
    pub anonymous: bool,
    #[serde(skip)]
    pub course_id: i32,
    #[serde(skip)]
    pub student_id: i32,
}

impl Receipt {
    pub fn build(
        submission: &submission::Model,
        assignment: &assignment::Model,
        course: &course::Model,
        student: &user::Model,
        extension: Option<DateTimeUtc>,
    ) -> Receipt {
        let zone = course.zone();
        let rule = assignment.rule(course, extension);
        let standing = rule.judge(submission.received_at);
        let effective = rule.effective_deadline();
        Receipt {
            id: submission.id,
            course: course.code.clone(),
            course_title: course.title.clone(),
            assignment: assignment.slug.clone(),
            assignment_title: assignment.title.clone(),
            student: student.username.clone(),
            student_name: student.display_name.clone(),
            attempt: submission.attempt,
            received_at: submission
                .received_at
                .to_rfc3339_opts(SecondsFormat::Millis, true),
            received_local: format_local_precise(submission.received_at, zone),
            upload_started_at: submission
                .upload_started_at
                .to_rfc3339_opts(SecondsFormat::Millis, true),
            sha256: submission.sha256.clone(),
            size: submission.size.max(0) as u64,
            size_text: crate::domain::duration::bytes(submission.size.max(0) as u64),
            original_name: submission.original_name.clone(),
            files: submission.entries().into_iter().map(|e| e.path).collect(),
            status: standing.code(),
            status_text: standing.describe(zone),
            late_by_seconds: standing.late_by_seconds(),
            working_days_late: standing.working_days_late(),
            penalty: assignment
                .late_policy()
                .describe(standing.working_days_late()),
            mark_multiplier: assignment
                .late_policy()
                .multiplier(standing.working_days_late()),
            effective_deadline: effective.with_timezone(&zone).to_rfc3339(),
            effective_deadline_local: format_local(effective, zone),
            time_zone: course.time_zone.clone(),
            anonymous: assignment.anonymous,
            course_id: course.id,
            student_id: student.id,
        }
    }

    /// Replaces who handed in by their candidate number, for markers under
    /// anonymous marking. The file name as sent goes too: it often holds a name.
    pub fn anonymise(mut self, candidate: String) -> Receipt {
        self.student = candidate;
        self.student_name = String::new();
        self.original_name = "(hidden: anonymous marking)".to_string();
        self
    }

    /// Loads a submission's receipt with everything it is judged against.
    pub async fn load(db: &impl ConnectionTrait, id: i32) -> Result<Option<Receipt>, DbErr> {
        let Some(submission) = submission::Entity::find_by_id(id).one(db).await? else {
            return Ok(None);
        };
        let assignment = assignment::Entity::find_by_id(submission.assignment_id)
            .one(db)
            .await?;
        let student = user::Entity::find_by_id(submission.student_id)
            .one(db)
            .await?;
        let (Some(assignment), Some(student)) = (assignment, student) else {
            return Ok(None);
        };
        let Some(course) = course::Entity::find_by_id(assignment.course_id)
            .one(db)
            .await?
        else {
            return Ok(None);
        };
        let extension = extension::until_for(db, assignment.id, student.id).await?;
        Ok(Some(Receipt::build(
            &submission,
            &assignment,
            &course,
            &student,
            extension,
        )))
    }
}
