//! Each assignment as a person sees it: its deadline in local time, the time
//! left, and (for a student) their effective deadline and status, judged now.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::{QueryFilter, QueryOrder};
use serde::Serialize;

use super::access::{self, CourseRole};
use super::{assignment, audit, course, extension, submission, user};
use crate::domain::deadline::Counts;
use crate::domain::readable;
use crate::domain::zone::format_local;

#[derive(Debug, Clone, Serialize)]
pub struct AssignmentView {
    #[serde(skip)]
    pub assignment_id: i32,
    pub course: String,
    pub course_title: String,
    pub slug: String,
    pub title: String,
    pub time_zone: String,
    /// RFC 3339 with the course zone's offset.
    pub due: String,
    pub due_local: String,
    pub opens: Option<String>,
    pub hard_close: Option<String>,
    pub hard_close_local: Option<String>,
    pub grace_seconds: i64,
    pub max_bundle_bytes: u64,
    pub max_bundle_text: String,
    pub required_files: Vec<String>,
    /// A path each required pattern matches, to show what is wanted.
    pub required_examples: Vec<String>,
    /// `student`, `marker` or `admin`: how the caller sees this course.
    pub role: CourseRole,
    /// The caller's own deadline (students only).
    pub effective_deadline: Option<String>,
    pub effective_deadline_local: Option<String>,
    pub has_extension: bool,
    /// `not_submitted`, `on_time`, `late` or `extension` (students only).
    pub status: Option<&'static str>,
    pub status_text: Option<String>,
    pub late_by_seconds: Option<i64>,
    pub latest_attempt: Option<i32>,
    pub latest_submission_id: Option<i32>,
    /// "2 h 13 min left", then "late by 1 d 2 h" (a student with nothing
    /// handed in) or "deadline passed 1 d 2 h ago", against the caller's deadline.
    pub time_left: String,
    pub deadline_passed: bool,
    /// Whether the caller could hand in now (students only).
    pub accepting_uploads: bool,
    /// The student's attempt that counts, when it is not late: a late
    /// attempt would take its place, and the form asks first.
    pub counting_on_time: Option<i32>,
    /// Whether an attempt now would be late and take that one's place.
    pub late_would_replace: bool,
    /// Which attempt counts: `latest` or `latest_on_time`.
    pub counts: &'static str,
    /// The same, as a student reads it.
    pub counts_text: &'static str,
    /// The statement students tick before uploading, if the assignment has one.
    pub declaration: Option<String>,
    /// "The deadline moved on … from … to …", for a move in the last
    /// [`MOVES_SHOWN_FOR`] days.
    pub moved: Option<String>,
}

/// How long a moved deadline is pointed out on the dashboard and page.
pub const MOVES_SHOWN_FOR: i64 = 14;

/// How a moved deadline reads.
pub fn describe_move(moved: &audit::Moved, zone: chrono_tz::Tz) -> String {
    format!(
        "The deadline was moved on {} from {} to {}.",
        format_local(moved.at, zone),
        format_local(moved.from, zone),
        format_local(moved.to, zone)
    )
}

/// The latest recent move of each assignment's deadline.
pub async fn recent_moves(
    db: &impl ConnectionTrait,
    assignment_ids: &[i32],
    now: DateTime<Utc>,
) -> Result<HashMap<i32, audit::Moved>, DbErr> {
    let since = now - chrono::Duration::days(MOVES_SHOWN_FOR);
    audit::deadline_moves(db, assignment_ids, since).await
}

/// A student at one assignment: their extension, and their attempts
/// (received times and numbers), newest first.
pub type StudentState = (Option<DateTimeUtc>, Vec<submission::Summary>);

/// One assignment as seen by `role`; `student_state` is the student's
/// extension and attempts, when the caller is that student.
pub fn build(
    course: &course::Model,
    assignment: &assignment::Model,
    role: CourseRole,
    (student_state, university_closed): (Option<StudentState>, &[chrono::NaiveDate]),
    now: DateTime<Utc>,
) -> AssignmentView {
    let zone = course.zone();
    let is_student = student_state.is_some();
    let (extension, attempts) = student_state.unwrap_or_default();
    let rule = assignment.rule(course, extension, university_closed);
    // The attempt that counts (the latest, or the latest on time).
    let counts = assignment.counts();
    let counted = counts.pick(
        attempts
            .iter()
            .map(|a| rule.judge(a.received_at).code() == "late"),
    );
    let latest = counted.map(|index| &attempts[index]);
    // A late attempt would take an on-time one's place only where the
    // latest counts, and only over the latest.
    let newest = attempts.first().filter(|_| counts == Counts::Latest);
    let effective = rule.effective_deadline();
    let grace_ends = effective + rule.grace;
    // Within the grace period an upload still counts as on time: the page
    // says so rather than "late", as the receipt will.
    let in_grace = now > effective && now <= grace_ends;
    let passed = now > grace_ends;
    // A student with nothing handed in is late; everyone else only sees
    // that the deadline has passed.
    let time_left = match (passed, is_student && latest.is_none()) {
        _ if in_grace => format!(
            "deadline passed {} ago; uploads count as on time for {} more (grace period)",
            readable::duration(now - effective),
            readable::duration(grace_ends - now)
        ),
        (false, _) => format!("{} left", readable::duration(effective - now)),
        (true, true) => format!("late by {}", readable::duration(now - effective)),
        (true, false) => format!(
            "deadline passed {} ago",
            readable::duration(now - effective)
        ),
    };
    let standing = latest.as_ref().map(|s| rule.judge(s.received_at));
    AssignmentView {
        assignment_id: assignment.id,
        course: course.code.clone(),
        course_title: course.title.clone(),
        slug: assignment.slug.clone(),
        title: assignment.title.clone(),
        time_zone: course.zone_name().to_string(),
        due: assignment.due_at.with_timezone(&zone).to_rfc3339(),
        due_local: format_local(assignment.due_at, zone),
        opens: assignment
            .opens_at
            .map(|t| t.with_timezone(&zone).to_rfc3339()),
        hard_close: assignment
            .hard_close_at
            .map(|t| t.with_timezone(&zone).to_rfc3339()),
        hard_close_local: rule.closes_at().map(|t| format_local(t, zone)),
        grace_seconds: assignment.grace_seconds,
        max_bundle_bytes: assignment.max_bundle_bytes(),
        max_bundle_text: readable::bytes(assignment.max_bundle_bytes()),
        required_files: assignment.required_files().to_vec(),
        required_examples: assignment
            .required_files()
            .iter()
            .map(|p| crate::domain::bundle::example_path(p))
            .collect(),
        role,
        effective_deadline: is_student.then(|| effective.with_timezone(&zone).to_rfc3339()),
        effective_deadline_local: is_student.then(|| format_local(effective, zone)),
        has_extension: is_student && rule.has_extension(),
        status: is_student.then(|| {
            standing
                .as_ref()
                .map(|s| s.code())
                .unwrap_or("not_submitted")
        }),
        status_text: is_student.then(|| match &standing {
            Some(s) => format!(
                "attempt {} received {}",
                latest.as_ref().map(|l| l.attempt).unwrap_or(0),
                s.describe(zone)
            ),
            None if passed => "not submitted, and the deadline has passed".to_string(),
            None if in_grace => "not submitted yet: the grace period is running".to_string(),
            None => "not submitted yet".to_string(),
        }),
        late_by_seconds: standing.as_ref().map(|s| s.late_by_seconds()),
        latest_attempt: latest.as_ref().map(|s| s.attempt),
        latest_submission_id: latest.as_ref().map(|s| s.id),
        time_left,
        deadline_passed: passed,
        accepting_uploads: is_student && rule.accepts_upload_at(now),
        counting_on_time: latest
            .zip(standing.as_ref())
            .filter(|(_, s)| s.code() != "late" && counts == Counts::Latest)
            .map(|(l, _)| l.attempt),
        late_would_replace: newest
            .is_some_and(|l| rule.late_over_on_time(Some(l.received_at), now).is_some()),
        counts: counts.spelling(),
        counts_text: counts.explain(),
        declaration: assignment.declaration.clone(),
        moved: None,
    }
}

/// The state of one student at one assignment.
pub async fn student_state(
    db: &impl ConnectionTrait,
    assignment_id: i32,
    student_id: i32,
) -> Result<StudentState, DbErr> {
    Ok((
        extension::until_for(db, assignment_id, student_id).await?,
        submission::summaries_of(db, assignment_id, student_id).await?,
    ))
}

/// Every assignment the user can see, soonest deadline first.
pub async fn for_user(
    db: &impl ConnectionTrait,
    who: &user::Model,
    now: DateTime<Utc>,
) -> Result<Vec<AssignmentView>, DbErr> {
    let visible = access::visible_courses(db, who).await?;
    let ids: Vec<i32> = visible.iter().map(|(id, _)| *id).collect();
    let courses = course::Entity::find()
        .filter(course::Column::Id.is_in(ids.clone()))
        .all(db)
        .await?;
    let assignments = assignment::of_courses(db, &ids).await?;
    let assignment_ids: Vec<i32> = assignments.iter().map(|a| a.id).collect();
    let mut states = student_states(db, &assignment_ids, who.id).await?;
    let moves = recent_moves(db, &assignment_ids, now).await?;
    let closed = super::closure_day::university(db).await?;
    let mut views = Vec::new();
    for assignment in assignments {
        let Some(course) = courses.iter().find(|c| c.id == assignment.course_id) else {
            continue;
        };
        let Some((_, role)) = visible.iter().find(|(id, _)| *id == course.id) else {
            continue;
        };
        let state = match role {
            CourseRole::Student => Some(states.remove(&assignment.id).unwrap_or_default()),
            _ => None,
        };
        let mut view = build(course, &assignment, *role, (state, &closed), now);
        view.moved = moves
            .get(&assignment.id)
            .map(|m| describe_move(m, course.zone()));
        views.push(view);
    }
    Ok(views)
}

/// [`student_state`] at many assignments at once: two queries, however
/// many courses the student takes.
async fn student_states(
    db: &impl ConnectionTrait,
    assignment_ids: &[i32],
    student_id: i32,
) -> Result<HashMap<i32, StudentState>, DbErr> {
    let mut states: HashMap<i32, StudentState> = HashMap::new();
    let extensions = extension::Entity::find()
        .filter(extension::Column::AssignmentId.is_in(assignment_ids.iter().copied()))
        .filter(extension::Column::StudentId.eq(student_id))
        .all(db)
        .await?;
    for granted in extensions {
        states.entry(granted.assignment_id).or_default().0 = Some(granted.until);
    }
    // Never the file lists: the dashboard shows none.
    let attempts = submission::Entity::find()
        .filter(submission::Column::AssignmentId.is_in(assignment_ids.iter().copied()))
        .filter(submission::Column::StudentId.eq(student_id))
        .order_by_desc(submission::Column::Attempt)
        .into_partial_model::<submission::Summary>()
        .all(db)
        .await?;
    for attempt in attempts {
        states
            .entry(attempt.assignment_id)
            .or_default()
            .1
            .push(attempt);
    }
    Ok(states)
}
