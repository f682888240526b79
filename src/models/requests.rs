//! Extension requests: a student asks (reason, wanted deadline, optional
//! evidence); staff approve (possibly with another date), reject with a
//! comment, or ask for more information; the student sees each outcome.
//! States: requested, more_information, approved, rejected, revoked.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::{ActiveValue::Set, QueryFilter, QueryOrder};
use serde::Serialize;

use super::{assignment, audit, course, extension, user};
use crate::domain::deadline::format_local;

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
    pub state: String,
    pub comment: String,
    pub granted_until: Option<DateTimeUtc>,
    pub decided_by: Option<i32>,
    pub decided_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

pub const REQUESTED: &str = "requested";
pub const MORE_INFORMATION: &str = "more_information";
pub const APPROVED: &str = "approved";
pub const REJECTED: &str = "rejected";
pub const REVOKED: &str = "revoked";

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
    pub state: String,
    pub state_text: String,
    pub comment: String,
    pub granted_until_local: Option<String>,
    pub open: bool,
}

fn view(row: Model, student: Option<&user::Model>, course: &course::Model) -> RequestView {
    let zone = course.zone();
    let state_text = match row.state.as_str() {
        REQUESTED => "waiting for a decision".to_string(),
        MORE_INFORMATION => "more information needed".to_string(),
        APPROVED => format!(
            "approved until {}",
            row.granted_until
                .map(|t| format_local(t, zone))
                .unwrap_or_default()
        ),
        REJECTED => "rejected".to_string(),
        REVOKED => "approved, then revoked".to_string(),
        other => other.to_string(),
    };
    RequestView {
        id: row.id,
        student_id: row.student_id,
        username: student.map(|u| u.username.clone()).unwrap_or_default(),
        name: student.map(|u| u.display_name.clone()).unwrap_or_default(),
        requested_until_local: format_local(row.requested_until, zone),
        requested_until_form: crate::domain::deadline::form_value(row.requested_until, zone),
        reason: row.reason,
        has_evidence: row.evidence_path.is_some(),
        evidence_name: row.evidence_name,
        open: matches!(row.state.as_str(), REQUESTED | MORE_INFORMATION),
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
        .filter(Column::State.is_in([REQUESTED, MORE_INFORMATION]))
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
            active.state = Set(REQUESTED.into());
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
                state: Set(REQUESTED.into()),
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

/// What staff decided.
pub enum Outcome {
    Approve { until: DateTime<Utc> },
    Reject,
    MoreInformation,
}

/// Decides an open request; an approval grants the extension in the same
/// transaction. `Ok(false)` if the request is not open.
pub async fn decide(
    db: &DatabaseConnection,
    decision: &extension::Decision,
    request_id: i32,
    outcome: Outcome,
    comment: &str,
) -> Result<bool, DbErr> {
    let txn = crate::db::begin_write(db).await?;
    let Some(row) = Entity::find_by_id(request_id).one(&txn).await? else {
        return Ok(false);
    };
    if row.assignment_id != decision.assignment_id
        || !matches!(row.state.as_str(), REQUESTED | MORE_INFORMATION)
    {
        return Ok(false);
    }
    let student_id = row.student_id;
    let before = row.state.clone();
    let mut active: ActiveModel = row.into();
    let state = match outcome {
        Outcome::Approve { until } => {
            let reason = if comment.is_empty() {
                "extension request approved".to_string()
            } else {
                comment.to_string()
            };
            extension::grant_one(
                &txn,
                decision,
                &extension::Grant {
                    student_id,
                    until,
                    reason,
                },
            )
            .await?;
            active.granted_until = Set(Some(until));
            APPROVED
        }
        Outcome::Reject => REJECTED,
        Outcome::MoreInformation => MORE_INFORMATION,
    };
    active.state = Set(state.into());
    active.comment = Set(comment.to_string());
    active.decided_by = Set(Some(decision.by));
    active.decided_at = Set(Some(decision.at));
    active.update(&txn).await?;
    let entry = audit::Entry {
        actor_id: Some(decision.by),
        action: "request_decided",
        course_id: Some(decision.course_id),
        assignment_id: Some(decision.assignment_id),
        student_id: Some(student_id),
        before: Some(before),
        after: Some(state.to_string()),
        details: comment.to_string(),
    };
    audit::record(&txn, decision.at, entry).await?;
    txn.commit().await?;
    Ok(true)
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
        .filter(Column::State.eq(APPROVED))
        .all(db)
        .await?;
    for row in approved {
        let mut active: ActiveModel = row.into();
        active.state = Set(REVOKED.into());
        active.update(db).await?;
    }
    Ok(())
}
