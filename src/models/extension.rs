//! Extensions: a later deadline for one student on one assignment.

use sea_orm::entity::prelude::*;
use sea_orm::{ActiveValue::Set, QueryFilter};

use super::audit;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "extensions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub assignment_id: i32,
    pub student_id: i32,
    pub until: DateTimeUtc,
    pub reason: String,
    pub granted_by: i32,
    pub granted_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// The student's extension on the assignment, if they hold one.
pub async fn until_for(
    db: &impl ConnectionTrait,
    assignment_id: i32,
    student_id: i32,
) -> Result<Option<DateTimeUtc>, DbErr> {
    Ok(Entity::find()
        .filter(Column::AssignmentId.eq(assignment_id))
        .filter(Column::StudentId.eq(student_id))
        .one(db)
        .await?
        .map(|e| e.until))
}

/// Every extension on an assignment: the new deadline, by student id.
pub async fn until_by_student(
    db: &impl ConnectionTrait,
    assignment_id: i32,
) -> Result<std::collections::HashMap<i32, DateTimeUtc>, DbErr> {
    Ok(Entity::find()
        .filter(Column::AssignmentId.eq(assignment_id))
        .all(db)
        .await?
        .into_iter()
        .map(|e| (e.student_id, e.until))
        .collect())
}

/// Who decides about extensions on which assignment, and when.
pub struct Decision {
    pub course_id: i32,
    pub assignment_id: i32,
    pub by: i32,
    pub at: DateTimeUtc,
}

/// One extension to grant (or to change to this).
pub struct Grant {
    pub student_id: i32,
    pub until: DateTimeUtc,
    pub reason: String,
}

fn summary(row: &Model) -> Option<String> {
    serde_json::to_string(&serde_json::json!({
        "until": row.until.to_rfc3339(),
        "reason": row.reason,
    }))
    .ok()
}

/// Grants (or edits) one student's extension, on the record. Returns the
/// deadline their extension gave before, if they held one.
pub async fn grant_one(
    db: &impl ConnectionTrait,
    decision: &Decision,
    grant: &Grant,
) -> Result<Option<DateTimeUtc>, DbErr> {
    let Grant {
        student_id,
        until,
        reason,
    } = grant;
    let (student_id, until) = (*student_id, *until);
    let existing = Entity::find()
        .filter(Column::AssignmentId.eq(decision.assignment_id))
        .filter(Column::StudentId.eq(student_id))
        .one(db)
        .await?;
    let held = existing.as_ref().map(|row| row.until);
    let (action, before, after) = match existing {
        Some(row) => {
            let before = summary(&row);
            let mut active: ActiveModel = row.into();
            active.until = Set(until);
            active.reason = Set(reason.clone());
            active.granted_by = Set(decision.by);
            active.granted_at = Set(decision.at);
            let after = active.update(db).await?;
            ("extension_edited", before, summary(&after))
        }
        None => {
            let row = ActiveModel {
                assignment_id: Set(decision.assignment_id),
                student_id: Set(student_id),
                until: Set(until),
                reason: Set(reason.clone()),
                granted_by: Set(decision.by),
                granted_at: Set(decision.at),
                ..Default::default()
            }
            .insert(db)
            .await?;
            ("extension_granted", None, summary(&row))
        }
    };
    let entry = audit::Entry {
        actor_id: Some(decision.by),
        action,
        course_id: Some(decision.course_id),
        assignment_id: Some(decision.assignment_id),
        student_id: Some(student_id),
        before,
        after,
        details: reason.clone(),
    };
    audit::record(db, decision.at, entry).await?;
    Ok(held)
}

/// Removes a student's extension, on the record. Returns the deadline it
/// gave, or none if they held none. (The request it came from, if any, is
/// the caller's to mark.)
pub async fn remove(
    db: &impl ConnectionTrait,
    decision: &Decision,
    student_id: i32,
    reason: &str,
) -> Result<Option<DateTimeUtc>, DbErr> {
    let Some(row) = Entity::find()
        .filter(Column::AssignmentId.eq(decision.assignment_id))
        .filter(Column::StudentId.eq(student_id))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let before = summary(&row);
    Entity::delete_by_id(row.id).exec(db).await?;
    let entry = audit::Entry {
        actor_id: Some(decision.by),
        action: "extension_revoked",
        course_id: Some(decision.course_id),
        assignment_id: Some(decision.assignment_id),
        student_id: Some(student_id),
        before,
        after: None,
        details: reason.to_string(),
    };
    audit::record(db, decision.at, entry).await?;
    Ok(Some(row.until))
}

/// Every extension on an assignment.
pub async fn of_assignment(
    db: &impl ConnectionTrait,
    assignment_id: i32,
) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(Column::AssignmentId.eq(assignment_id))
        .all(db)
        .await
}
