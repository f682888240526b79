//! The audit log: an append-only record of who did what, when, with the
//! state before and after. Rows are only ever inserted.

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub at: DateTimeUtc,
    /// `None` for the command line.
    pub actor_id: Option<i32>,
    pub action: String,
    pub course_id: Option<i32>,
    pub assignment_id: Option<i32>,
    pub student_id: Option<i32>,
    pub before: Option<String>,
    pub after: Option<String>,
    pub details: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// One entry to record.
#[derive(Debug, Default)]
pub struct Entry {
    pub actor_id: Option<i32>,
    pub action: &'static str,
    pub course_id: Option<i32>,
    pub assignment_id: Option<i32>,
    pub student_id: Option<i32>,
    pub before: Option<String>,
    pub after: Option<String>,
    pub details: String,
}

pub async fn record(
    db: &impl ConnectionTrait,
    at: DateTime<Utc>,
    entry: Entry,
) -> Result<(), DbErr> {
    ActiveModel {
        at: Set(at),
        actor_id: Set(entry.actor_id),
        action: Set(entry.action.to_string()),
        course_id: Set(entry.course_id),
        assignment_id: Set(entry.assignment_id),
        student_id: Set(entry.student_id),
        before: Set(entry.before),
        after: Set(entry.after),
        details: Set(entry.details),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}
