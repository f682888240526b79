//! The marker's view of an assignment: one row per enrolled student, also
//! those who submitted nothing, judged now against each one's deadline.
//!
//! Built from the same few queries (enrolments, users, submissions,
//! extensions, marks, closure days), however many students there are.

use std::collections::{BTreeSet, HashMap};

use sea_orm::entity::prelude::*;
use sea_orm::{QueryFilter, QueryOrder};
use serde::Serialize;

use super::enrolment::{self, EnrolledAs};
use super::receipt::{Judged, Reader};
use super::{assignment, course, extension, mark, submission, user};
use crate::domain::deadline::Counts;
use crate::domain::marks::{self, Points};
use crate::domain::zone::format_local;

/// Keeps a submission only if it is its student's latest for its
/// assignment (the same SQL on SQLite and PostgreSQL; the subquery is one
/// search of the submissions' (assignment, student, attempt) index).
const LATEST_OF_EACH: &str = "\"submissions\".\"attempt\" = (SELECT MAX(\"newer\".\"attempt\") \
     FROM \"submissions\" AS \"newer\" \
     WHERE \"newer\".\"assignment_id\" = \"submissions\".\"assignment_id\" \
     AND \"newer\".\"student_id\" = \"submissions\".\"student_id\")";

/// One attempt as markers see it.
#[derive(Debug, Clone, Serialize)]
pub struct AttemptRow {
    #[serde(flatten)]
    pub judged: Judged,
    /// What the last `handin verify` found wrong with the stored file.
    pub verify_error: Option<String>,
    /// The bundle's name in downloads: `COMP6248-labs-ab1g23-attempt2.zip`.
    pub download_name: String,
    #[serde(skip)]
    pub stored_path: String,
    #[serde(skip)]
    pub received_instant: DateTimeUtc,
}

/// A student's mark as staff see it.
#[derive(Debug, Clone, Serialize)]
pub struct MarkShown {
    pub raw: Points,
    pub final_mark: Points,
    /// "none", or the late policy as it was applied.
    pub late_rule: String,
    pub feedback: String,
    pub marked_at_local: String,
    #[serde(skip)]
    pub marker_id: Option<i32>,
    #[serde(skip)]
    pub marked_at: DateTimeUtc,
    pub changed_after_release: bool,
    /// Why the mark may no longer fit the work (a newer attempt, a penalty
    /// that an extension or a moved deadline changed): for staff.
    pub outdated: Option<String>,
}

impl MarkShown {
    pub fn new(row: &mark::Model, zone: chrono_tz::Tz) -> MarkShown {
        MarkShown {
            raw: row.raw(),
            final_mark: row.final_points(),
            late_rule: row.late_rule.clone(),
            feedback: row.feedback.clone(),
            marked_at_local: format_local(row.marked_at, zone),
            marker_id: row.marker_id,
            marked_at: row.marked_at,
            changed_after_release: row.changed_after_release,
            outdated: None,
        }
    }

    /// Compares the mark with the work as it stands now: the attempt that
    /// counts, and the penalty it would have today.
    pub fn checked(
        mut self,
        row: &mark::Model,
        latest: Option<&Judged>,
        assignment: &assignment::Model,
    ) -> Self {
        let latest_id = latest.map(|j| j.submission_id);
        if row.submission_id != latest_id {
            self.outdated = Some(match latest {
                Some(j) => format!(
                    "given for another attempt; the one that counts is attempt {}",
                    j.attempt
                ),
                None => "given for an attempt that is no longer there".to_string(),
            });
            return self;
        }
        let days = latest.map(|j| j.working_days_late).unwrap_or(0);
        let policy = assignment.late_policy();
        let today = marks::penalise(row.raw(), assignment.mark_scale(), &policy, days).rule;
        if today != row.late_rule {
            self.outdated = Some(format!(
                "the late penalty would now be {today}: save the mark again to apply it"
            ));
        }
        self
    }
}

/// One student as markers see them.
#[derive(Debug, Clone, Serialize)]
pub struct StudentRow {
    #[serde(skip)]
    pub student_id: i32,
    /// What names the student here: their username, or their candidate
    /// number under anonymous marking.
    pub label: String,
    /// `None` under anonymous marking.
    pub username: Option<String>,
    pub name: Option<String>,
    /// Shown to administrators always, and to markers under anonymous marking.
    pub candidate: Option<String>,
    /// `not_submitted`, `on_time`, `late` or `extension`, of the latest attempt.
    pub status: &'static str,
    pub status_text: String,
    pub extension_until: Option<String>,
    pub extension_until_local: Option<String>,
    pub attempt_count: usize,
    /// The attempt that counts (the latest, or the latest on time, as the
    /// assignment says): the table, marks and download-all use it.
    pub latest: Option<AttemptRow>,
    /// Every attempt, newest first.
    pub attempts: Vec<AttemptRow>,
    pub mark: Option<MarkShown>,
}

/// The whole table, with how it is to be shown.
pub struct Table {
    pub anonymous: bool,
    pub rows: Vec<StudentRow>,
}

/// How students are named in the table (decided by `crate::policy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Naming {
    /// By candidate number only: no username, no name.
    pub hides_names: bool,
    /// With a candidate number column.
    pub shows_candidates: bool,
}

pub fn download_name(
    course: &course::Model,
    assignment: &assignment::Model,
    label: &str,
    attempt: i32,
) -> String {
    format!(
        "{}-{}-{label}-attempt{attempt}.zip",
        course.code, assignment.slug
    )
}

/// The marking table; with `every_attempt`, each row lists all of its
/// student's attempts, else only the latest is judged (`attempts` stays
/// empty): the page and the usual exports show no more, and judging is
/// most of the page's work.
pub async fn load(
    db: &impl ConnectionTrait,
    course: &course::Model,
    assignment: &assignment::Model,
    naming: Naming,
    every_attempt: bool,
) -> Result<Table, DbErr> {
    let anonymous = naming.hides_names;
    let enrolments = enrolment::Entity::find()
        .filter(enrolment::Column::CourseId.eq(course.id))
        .all(db)
        .await?;
    // Where the latest attempt counts and no other is listed, only the
    // latest are read: at three attempts each, a third of the rows, and
    // reading rows is most of the table's time (BENCHMARKS.md).
    let latest_only = !every_attempt && assignment.counts() == Counts::Latest;
    let mut submissions =
        submission::Entity::find().filter(submission::Column::AssignmentId.eq(assignment.id));
    if latest_only {
        submissions = submissions.filter(Expr::cust(LATEST_OF_EACH));
    }
    // Never the file lists: the table shows none, and they can be large.
    let submissions = submissions
        .order_by_desc(submission::Column::Attempt)
        .into_partial_model::<submission::Summary>()
        .all(db)
        .await?;
    let extensions: HashMap<i32, DateTimeUtc> = extension::Entity::find()
        .filter(extension::Column::AssignmentId.eq(assignment.id))
        .all(db)
        .await?
        .into_iter()
        .map(|e| (e.student_id, e.until))
        .collect();
    let university_closed = super::closure_day::university(db).await?;
    let mut marks = mark::of_assignment(db, assignment.id).await?;
    // Every enrolled student, and anyone who handed in and has since left:
    // their work must not vanish from the table.
    let mut student_ids: BTreeSet<i32> = enrolments
        .iter()
        .filter(|e| e.role == EnrolledAs::Student)
        .map(|e| e.user_id)
        .collect();
    student_ids.extend(submissions.iter().map(|s| s.student_id));
    let users = user::named(db, student_ids.iter().copied()).await?;
    let candidates: HashMap<i32, String> = enrolments
        .into_iter()
        .map(|e| (e.user_id, e.candidate_number))
        .collect();
    let mut by_student: HashMap<i32, Vec<submission::Summary>> = HashMap::new();
    for s in submissions {
        by_student.entry(s.student_id).or_default().push(s);
    }
    let zone = course.zone();
    let mut rows: Vec<StudentRow> = student_ids
        .into_iter()
        .filter_map(|id| {
            let student = users.get(&id)?;
            let candidate = candidates
                .get(&id)
                .cloned()
                .unwrap_or_else(|| enrolment::unenrolled_label(id));
            let label = if anonymous {
                candidate.clone()
            } else {
                student.username.clone()
            };
            let until = extensions.get(&id).copied();
            let rule = assignment.rule(course, until, &university_closed);
            // Newest first: without every attempt, only as many are judged
            // as it takes to find the one that counts (usually the latest).
            let summaries = by_student.remove(&id).unwrap_or_default();
            // A student's attempts are numbered 1, 2, 3 … with no gap and
            // none ever removed (`submission::record`), so the latest one's
            // number is how many there are.
            let attempt_count = match summaries.first() {
                Some(latest) if latest_only => latest.attempt.max(0) as usize,
                _ => summaries.len(),
            };
            let mut judged_rows = summaries.into_iter().map(|s| AttemptRow {
                judged: Judged::new(&s, assignment, &rule, Reader::Staff),
                download_name: download_name(course, assignment, &label, s.attempt),
                verify_error: s.verify_error,
                stored_path: s.stored_path,
                received_instant: s.received_at,
            });
            let mut attempts: Vec<AttemptRow> = Vec::new();
            let counted = assignment.counts().pick(std::iter::from_fn(|| {
                let row = judged_rows.next()?;
                let late = row.judged.status == "late";
                attempts.push(row);
                Some(late)
            }));
            let latest = counted.map(|index| attempts[index].clone());
            if every_attempt {
                attempts.extend(judged_rows);
            } else {
                attempts.clear();
            }
            let effective_extension = until.filter(|_| rule.has_extension());
            let mark = marks.remove(&id).map(|m| {
                MarkShown::new(&m, zone).checked(&m, latest.as_ref().map(|a| &a.judged), assignment)
            });
            Some(StudentRow {
                student_id: id,
                mark,
                username: (!anonymous).then(|| student.username.clone()),
                name: (!anonymous).then(|| student.display_name.clone()),
                candidate: naming.shows_candidates.then_some(candidate),
                label,
                status: latest
                    .as_ref()
                    .map(|a| a.judged.status)
                    .unwrap_or("not_submitted"),
                status_text: latest
                    .as_ref()
                    .map(|a| a.judged.status_text.clone())
                    .unwrap_or_else(|| "not submitted".into()),
                extension_until: effective_extension.map(|t| t.with_timezone(&zone).to_rfc3339()),
                extension_until_local: effective_extension.map(|t| format_local(t, zone)),
                attempt_count,
                latest,
                attempts,
            })
        })
        .collect();
    // Ordered by what is shown: under anonymous marking, user ids (often in
    // roster, so alphabetical, order) would give names away.
    rows.sort_by(|a, b| a.label.cmp(&b.label));
    Ok(Table { anonymous, rows })
}

/// Which rows to show, and in what order.
#[derive(Debug, Default, Clone)]
pub struct View {
    pub status: Option<String>,
    pub sort: Option<String>,
    pub descending: bool,
}

pub const STATUSES: [&str; 4] = ["on_time", "late", "extension", "not_submitted"];

pub const SORT_KEYS: [&str; 7] = [
    "student", "name", "attempt", "received", "status", "size", "attempts",
];

/// Statuses in the order of what they mean, best first: on time, within an
/// extension, late (the latest last), nothing handed in.
fn status_rank(status: &str) -> u8 {
    match status {
        "on_time" => 0,
        "extension" => 1,
        "late" => 2,
        _ => 3,
    }
}

impl Table {
    pub fn apply(&mut self, view: &View) {
        if let Some(status) = view.status.as_deref().filter(|s| !s.is_empty()) {
            self.rows.retain(|r| r.status == status);
        }
        let key = view.sort.as_deref().unwrap_or("student");
        let latest = |r: &StudentRow| r.latest.clone();
        match key {
            "name" => self
                .rows
                .sort_by(|a, b| a.name.cmp(&b.name).then(a.label.cmp(&b.label))),
            "attempt" => self
                .rows
                .sort_by_key(|r| latest(r).map(|a| a.judged.attempt)),
            "received" => self
                .rows
                .sort_by_key(|r| latest(r).map(|a| a.received_instant)),
            "status" => self.rows.sort_by_key(|r| {
                (
                    status_rank(r.status),
                    latest(r).map(|a| a.judged.late_by_seconds),
                )
            }),
            "size" => self.rows.sort_by_key(|r| latest(r).map(|a| a.judged.size)),
            "attempts" => self.rows.sort_by_key(|r| r.attempt_count),
            _ => self.rows.sort_by(|a, b| a.label.cmp(&b.label)),
        }
        if view.descending {
            self.rows.reverse();
        }
    }

    /// Counts per status, for the filter buttons.
    pub fn counts(&self) -> HashMap<&'static str, usize> {
        let mut counts = HashMap::new();
        for row in &self.rows {
            *counts.entry(row.status).or_insert(0) += 1;
        }
        counts
    }
}
