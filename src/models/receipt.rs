//! The receipt: everything a student needs to prove what they handed in and
//! when, judged against their deadline as it stands now.

use chrono::SecondsFormat;
use serde::Serialize;

use super::{assignment, course, submission, user};
use crate::domain::bundle;
use crate::domain::deadline::{DeadlineRule, Standing};
use crate::domain::readable;
use crate::domain::zone::{format_local, format_local_precise};

/// One attempt judged against its student's deadline as it stands now:
/// what the receipt and the marker's table both show of it.
#[derive(Debug, Clone, Serialize)]
pub struct Judged {
    pub submission_id: i32,
    pub attempt: i32,
    /// RFC 3339 in UTC, to the millisecond.
    pub received_at: String,
    pub received_local: String,
    pub sha256: String,
    pub size: u64,
    pub size_text: String,
    /// `on_time`, `late` or `extension`.
    pub status: &'static str,
    pub status_text: String,
    pub late_by_seconds: i64,
    pub working_days_late: u32,
    /// What the late policy does: "1 working day late: mark × 0.9".
    pub penalty: Option<String>,
    /// The mark is multiplied by this: "1", "0.9", "0".
    pub mark_multiplier: String,
    /// The declaration the student ticked with this attempt, as it read then.
    pub declaration: Option<String>,
}

/// Who reads a status: the student ("within your extension") or staff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    Student,
    Staff,
}

impl Judged {
    pub fn new(
        submission: &submission::Summary,
        assignment: &assignment::Model,
        rule: &DeadlineRule,
        reader: Reader,
    ) -> Judged {
        let zone = rule.zone;
        let standing: Standing = rule.judge(submission.received_at);
        let policy = assignment.late_policy();
        let size = submission.size.max(0) as u64;
        Judged {
            submission_id: submission.id,
            attempt: submission.attempt,
            received_at: submission
                .received_at
                .to_rfc3339_opts(SecondsFormat::Millis, true),
            received_local: format_local_precise(submission.received_at, zone),
            sha256: submission.sha256.clone(),
            size,
            size_text: readable::bytes(size),
            status: standing.code(),
            status_text: match reader {
                Reader::Student => standing.describe(zone),
                Reader::Staff => standing.describe_for_staff(zone),
            },
            late_by_seconds: standing.late_by_seconds(),
            working_days_late: standing.working_days_late(),
            penalty: policy.describe(standing.working_days_late()),
            mark_multiplier: policy.multiplier(standing.working_days_late()),
            declaration: submission.declaration.clone(),
        }
    }
}

/// What staff under anonymous marking see instead of a file name a student chose.
pub const HIDDEN: &str = "(hidden: anonymous marking)";

#[derive(Debug, Clone, Serialize)]
pub struct Receipt {
    pub id: i32,
    pub course: String,
    pub course_title: String,
    pub assignment: String,
    pub assignment_title: String,
    pub student: String,
    pub student_name: String,
    #[serde(flatten)]
    pub judged: Judged,
    pub upload_started_at: String,
    pub original_name: String,
    pub files: Vec<String>,
    /// The folder the required files were found in, when the student zipped
    /// the folder that holds their work.
    pub required_found_inside: Option<String>,
    /// RFC 3339 with the course zone's offset.
    pub effective_deadline: String,
    pub effective_deadline_local: String,
    pub time_zone: String,
}

impl Receipt {
    pub fn build(
        submission: &submission::Model,
        assignment: &assignment::Model,
        course: &course::Model,
        student: &user::Model,
        rule: &DeadlineRule,
    ) -> Receipt {
        let zone = course.zone();
        let effective = rule.effective_deadline();
        let entries = submission.entries();
        Receipt {
            id: submission.id,
            course: course.code.clone(),
            course_title: course.title.clone(),
            assignment: assignment.slug.clone(),
            assignment_title: assignment.title.clone(),
            student: student.username.clone(),
            student_name: student.display_name.clone(),
            judged: Judged::new(&submission.into(), assignment, rule, Reader::Student),
            upload_started_at: submission
                .upload_started_at
                .to_rfc3339_opts(SecondsFormat::Millis, true),
            original_name: submission.original_name.clone(),
            required_found_inside: bundle::matched_inside(&entries, assignment.required_files())
                .map(str::to_string),
            files: entries.into_iter().map(|e| e.path).collect(),
            effective_deadline: effective.with_timezone(&zone).to_rfc3339(),
            effective_deadline_local: format_local(effective, zone),
            time_zone: course.zone_name().to_string(),
        }
    }

    /// Replaces who handed in by their candidate number, for markers under
    /// anonymous marking. The file name as sent goes too: it often holds a name.
    pub fn anonymise(mut self, candidate: String) -> Receipt {
        self.student = candidate;
        self.student_name = String::new();
        self.original_name = HIDDEN.to_string();
        self
    }
}
