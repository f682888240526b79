//! Extension requests: a student asks (reason, wanted deadline, optional
//! evidence); staff approve (possibly with another date), reject with a
//! comment, or ask for more information; the student sees each outcome.
//! Granting the extension an approval brings is the extensions service's
//! work; this module keeps the requests themselves.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::{ActiveValue::Set, QueryFilter, QueryOrder};
use serde::Serialize;

use super::extension::Decision;
use super::{assignment, audit, course, user};
use crate::domain::zone::format_local;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "extension_requests")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub assignment_id: i32,
    pub student_id: i32,
    pub requested_until: DateTimeUtc,
    pub reason: String,
    pub evidence_path: Option<String>,
    pub evidence_name: Option<String>,
    pub state: State,
    pub comment: String,
    pub granted_until: Option<DateTimeUtc>,
    pub decided_by: Option<i32>,
    pub decided_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, Serialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "snake_case")]
pub enum State {
    #[sea_orm(string_value = "requested")]
    Requested,
    #[sea_orm(string_value = "more_information")]
    MoreInformation,
    #[sea_orm(string_value = "approved")]
    Approved,
    #[sea_orm(string_value = "rejected")]
    Rejected,
    #[sea_orm(string_value = "revoked")]
    Revoked,
    /// Taken back by the student before anyone decided.
    #[sea_orm(string_value = "withdrawn")]
    Withdrawn,
}

impl State {
    /// Waiting for staff (or for the student's answer).
    pub fn is_open(self) -> bool {
        matches!(self, State::Requested | State::MoreInformation)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            State::Requested => "requested",
            State::MoreInformation => "more_information",
            State::Approved => "approved",
            State::Rejected => "rejected",
            State::Revoked => "revoked",
            State::Withdrawn => "withdrawn",
        }
    }
}

/// A request as pages show it.
#[derive(Debug, Clone, Serialize)]
pub struct RequestView {
    pub id: i32,
    #[serde(skip)]
    pub student_id: i32,
    pub username: String,
    pub name: String,
    pub requested_until_local: String,
    pub requested_until_form: String,
    pub reason: String,
    pub has_evidence: bool,
    pub evidence_name: Option<String>,
    pub state: State,
    pub state_text: String,
    pub comment: String,
    pub granted_until_local: Option<String>,
    pub open: bool,
}

impl RequestView {
    /// Names the student by candidate number only, for markers under
    /// anonymous marking; the evidence's file name goes too, as a bundle's
    /// does: it often holds a name.
    pub fn anonymise(&mut self, candidate: String) {
        self.username = candidate;
        self.name = String::new();
        if self.evidence_name.is_some() {
            self.evidence_name = Some(super::receipt::HIDDEN.to_string());
        }
    }
}

fn view(row: Model, student: Option<&user::Model>, course: &course::Model) -> RequestView {
    let zone = course.zone();
    let state_text = match row.state {
        State::Requested => "waiting for a decision".to_string(),
        State::MoreInformation => "more information needed".to_string(),
        State::Approved => format!(
            "approved until {}",
            row.granted_until
                .map(|t| format_local(t, zone))
                .unwrap_or_default()
        ),
        State::Rejected => "rejected".to_string(),
        State::Revoked => "approved, then revoked".to_string(),
        State::Withdrawn => "withdrawn".to_string(),
    };
    RequestView {
        id: row.id,
        student_id: row.student_id,
        username: student.map(|u| u.username.clone()).unwrap_or_default(),
        name: student.map(|u| u.display_name.clone()).unwrap_or_default(),
        requested_until_local: format_local(row.requested_until, zone),
        requested_until_form: crate::domain::zone::form_value(row.requested_until, zone),
        reason: row.reason,
        has_evidence: row.evidence_path.is_some(),
        evidence_name: row.evidence_name,
        open: row.state.is_open(),
        state: row.state,
        state_text,
        comment: row.comment,
        granted_until_local: row.granted_until.map(|t| format_local(t, zone)),
    }
}

pub async fn for_student(
    db: &impl ConnectionTrait,
    course: &course::Model,
    assignment: &assignment::Model,
    student: &user::Model,
) -> Result<Vec<RequestView>, DbErr> {
    let rows = Entity::find()
        .filter(Column::AssignmentId.eq(assignment.id))
        .filter(Column::StudentId.eq(student.id))
        .order_by_desc(Column::Id)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| view(r, Some(student), course))
        .collect())
}

/// Every request on the assignment, open ones first.
pub async fn for_staff(
    db: &impl ConnectionTrait,
    course: &course::Model,
    assignment: &assignment::Model,
) -> Result<Vec<RequestView>, DbErr> {
    let rows = Entity::find()
        .filter(Column::AssignmentId.eq(assignment.id))
        .order_by_desc(Column::Id)
        .all(db)
        .await?;
    let ids: Vec<i32> = rows.iter().map(|r| r.student_id).collect();
    let users = user::Entity::find()
        .filter(user::Column::Id.is_in(ids))
        .all(db)
        .await?;
    let mut views: Vec<RequestView> = rows
        .into_iter()
        .map(|r| {
            let student = users.iter().find(|u| u.id == r.student_id);
            view(r, student, course)
        })
        .collect();
    views.sort_by_key(|v| !v.open);
    Ok(views)
}

/// A student's request, new or answering "more information needed".
pub struct Ask {
    pub requested_until: DateTime<Utc>,
    pub reason: String,
    pub evidence: Option<(String, String)>,
}

/// How many requests a student may file for one assignment.
pub const MAX_REQUESTS: u64 = 5;

/// What became of a request.
pub enum Asked {
    /// Filed or updated; the evidence file it no longer names, if any.
    Saved { superseded_evidence: Option<String> },
    /// The student has filed [`MAX_REQUESTS`] already and none is open.
    TooMany,
}

/// Files a request, or updates the student's open one (back to `requested`).
pub async fn ask(
    db: &DatabaseConnection,
    course_id: i32,
    assignment_id: i32,
    student_id: i32,
    ask: Ask,
    at: DateTime<Utc>,
) -> Result<Asked, DbErr> {
    use sea_orm::PaginatorTrait;
    let txn = crate::db::begin_write(db).await?;
    let mut superseded_evidence = None;
    let open = Entity::find()
        .filter(Column::AssignmentId.eq(assignment_id))
        .filter(Column::StudentId.eq(student_id))
        .filter(Column::State.is_in([State::Requested, State::MoreInformation]))
        .one(&txn)
        .await?;
    let (evidence_path, evidence_name) = ask
        .evidence
        .map(|(p, n)| (Some(p), Some(n)))
        .unwrap_or((None, None));
    let row = match open {
        Some(row) => {
            let keep_evidence = evidence_path.is_none();
            if !keep_evidence {
                superseded_evidence = row.evidence_path.clone();
            }
            let mut active: ActiveModel = row.into();
            active.requested_until = Set(ask.requested_until);
            active.reason = Set(ask.reason);
            if !keep_evidence {
                active.evidence_path = Set(evidence_path);
                active.evidence_name = Set(evidence_name);
            }
            active.state = Set(State::Requested);
            active.update(&txn).await?
        }
        None => {
            let filed = Entity::find()
                .filter(Column::AssignmentId.eq(assignment_id))
                .filter(Column::StudentId.eq(student_id))
                .count(&txn)
                .await?;
            if filed >= MAX_REQUESTS {
                return Ok(Asked::TooMany);
            }
            ActiveModel {
                assignment_id: Set(assignment_id),
                student_id: Set(student_id),
                requested_until: Set(ask.requested_until),
                reason: Set(ask.reason),
                evidence_path: Set(evidence_path),
                evidence_name: Set(evidence_name),
                state: Set(State::Requested),
                comment: Set(String::new()),
                created_at: Set(at),
                ..Default::default()
            }
            .insert(&txn)
            .await?
        }
    };
    let entry = audit::Entry {
        actor_id: Some(student_id),
        action: "extension_requested",
        course_id: Some(course_id),
        assignment_id: Some(assignment_id),
        student_id: Some(student_id),
        after: Some(row.requested_until.to_rfc3339()),
        details: row.reason.clone(),
        ..Default::default()
    };
    audit::record(&txn, at, entry).await?;
    txn.commit().await?;
    Ok(Asked::Saved {
        superseded_evidence,
    })
}

/// The student takes back their open request, on the record; `false` if
/// they have no open request of that id.
pub async fn withdraw(
    db: &DatabaseConnection,
    (course_id, assignment_id, student_id): (i32, i32, i32),
    request_id: i32,
    at: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let txn = crate::db::begin_write(db).await?;
    let Some(row) = open_one(&txn, assignment_id, request_id)
        .await?
        .filter(|row| row.student_id == student_id)
    else {
        return Ok(false);
    };
    let before = row.state;
    let mut active: ActiveModel = row.into();
    active.state = Set(State::Withdrawn);
    active.update(&txn).await?;
    let entry = audit::Entry {
        actor_id: Some(student_id),
        action: "request_withdrawn",
        course_id: Some(course_id),
        assignment_id: Some(assignment_id),
        student_id: Some(student_id),
        before: Some(before.as_str().to_string()),
        after: Some(State::Withdrawn.as_str().to_string()),
        details: format!("request {request_id}"),
    };
    audit::record(&txn, at, entry).await?;
    txn.commit().await?;
    Ok(true)
}

/// What staff decided.
pub enum Outcome {
    Approve { until: DateTime<Utc> },
    Reject,
    MoreInformation,
}

/// The request, if it is on this assignment and still open.
pub async fn open_one(
    db: &impl ConnectionTrait,
    assignment_id: i32,
    request_id: i32,
) -> Result<Option<Model>, DbErr> {
    Ok(Entity::find_by_id(request_id)
        .one(db)
        .await?
        .filter(|row| row.assignment_id == assignment_id && row.state.is_open()))
}

/// Records staff's decision on an open request, on the record. (An
/// approval's extension is granted by the caller, in the same transaction.)
pub async fn record_decision(
    db: &impl ConnectionTrait,
    decision: &Decision,
    row: Model,
    outcome: &Outcome,
    comment: &str,
) -> Result<(), DbErr> {
    let student_id = row.student_id;
    let before = row.state;
    let mut active: ActiveModel = row.into();
    let state = match outcome {
        Outcome::Approve { until } => {
            active.granted_until = Set(Some(*until));
            State::Approved
        }
        Outcome::Reject => State::Rejected,
        Outcome::MoreInformation => State::MoreInformation,
    };
    active.state = Set(state);
    active.comment = Set(comment.to_string());
    active.decided_by = Set(Some(decision.by));
    active.decided_at = Set(Some(decision.at));
    active.update(db).await?;
    let entry = audit::Entry {
        actor_id: Some(decision.by),
        action: "request_decided",
        course_id: Some(decision.course_id),
        assignment_id: Some(decision.assignment_id),
        student_id: Some(student_id),
        before: Some(before.as_str().to_string()),
        after: Some(state.as_str().to_string()),
        details: comment.to_string(),
    };
    audit::record(db, decision.at, entry).await
}

/// Every stored evidence path (for cleaning up after a crash).
pub async fn evidence_paths(db: &impl ConnectionTrait) -> Result<Vec<String>, DbErr> {
    use sea_orm::QuerySelect;
    let paths: Vec<Option<String>> = Entity::find()
        .select_only()
        .column(Column::EvidencePath)
        .into_tuple()
        .all(db)
        .await?;
    Ok(paths.into_iter().flatten().collect())
}

/// Marks the student's approved request revoked, when their extension is.
pub async fn mark_revoked(
    db: &impl ConnectionTrait,
    assignment_id: i32,
    student_id: i32,
) -> Result<(), DbErr> {
    let approved = Entity::find()
        .filter(Column::AssignmentId.eq(assignment_id))
        .filter(Column::StudentId.eq(student_id))
        .filter(Column::State.eq(State::Approved))
        .all(db)
        .await?;
    for row in approved {
        let mut active: ActiveModel = row.into();
        active.state = Set(State::Revoked);
        active.update(db).await?;
    }
    Ok(())
}

/// A request waiting for staff, with its assignment and student.
pub type Waiting = (Model, assignment::Model, user::Model);

/// Every request waiting for staff's decision (not those waiting for the
/// student's answer), grouped by course, oldest first.
pub async fn waiting_by_course(
    db: &impl ConnectionTrait,
) -> Result<Vec<(course::Model, Vec<Waiting>)>, DbErr> {
    let rows = Entity::find()
        .filter(Column::State.eq(State::Requested))
        .order_by_asc(Column::Id)
        .all(db)
        .await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let assignments = assignment::Entity::find()
        .filter(assignment::Column::Id.is_in(rows.iter().map(|r| r.assignment_id)))
        .all(db)
        .await?;
    let students = user::Entity::find()
        .filter(user::Column::Id.is_in(rows.iter().map(|r| r.student_id)))
        .all(db)
        .await?;
    let courses = course::Entity::find()
        .filter(course::Column::Id.is_in(assignments.iter().map(|a| a.course_id)))
        .order_by_asc(course::Column::Code)
        .all(db)
        .await?;
    let mut grouped: Vec<(course::Model, Vec<Waiting>)> =
        courses.into_iter().map(|c| (c, Vec::new())).collect();
    for row in rows {
        let found = assignments.iter().find(|a| a.id == row.assignment_id);
        let student = students.iter().find(|u| u.id == row.student_id);
        let (Some(assignment), Some(student)) = (found, student) else {
            continue;
        };
        if let Some((_, list)) = grouped
            .iter_mut()
            .find(|(c, _)| c.id == assignment.course_id)
        {
            list.push((row, assignment.clone(), student.clone()));
        }
    }
    Ok(grouped)
}
