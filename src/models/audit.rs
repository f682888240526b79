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

/// Which entries to show.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub course_id: Option<i32>,
    pub assignment_id: Option<i32>,
    pub student_id: Option<i32>,
    pub action: Option<String>,
}

/// An entry with its ids turned into names.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Shown {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub course: String,
    pub assignment: String,
    pub student: String,
    pub before: String,
    pub after: String,
    pub details: String,
}

/// Entries matching the filter, newest first, at most `limit`.
pub async fn search(
    db: &impl ConnectionTrait,
    filter: &Filter,
    limit: u64,
) -> Result<Vec<Shown>, DbErr> {
    use sea_orm::{QueryFilter, QueryOrder, QuerySelect};
    let mut query = Entity::find().order_by_desc(Column::Id).limit(limit);
    if let Some(id) = filter.course_id {
        query = query.filter(Column::CourseId.eq(id));
    }
    if let Some(id) = filter.assignment_id {
        query = query.filter(Column::AssignmentId.eq(id));
    }
    if let Some(id) = filter.student_id {
        query = query.filter(Column::StudentId.eq(id));
    }
    if let Some(action) = &filter.action {
        query = query.filter(Column::Action.eq(action.as_str()));
    }
    let rows = query.all(db).await?;
    // Names for the ids on these rows only: one query per table, whatever
    // the number of rows, and never a whole table of 20,000 users.
    let user_ids = rows.iter().flat_map(|r| [r.actor_id, r.student_id]);
    let users = names::<super::user::Entity>(
        db,
        super::user::Column::Id,
        user_ids,
        |u: super::user::Model| (u.id, u.username),
    )
    .await?;
    let courses = names::<super::course::Entity>(
        db,
        super::course::Column::Id,
        rows.iter().map(|r| r.course_id),
        |c: super::course::Model| (c.id, c.code),
    )
    .await?;
    let assignments = names::<super::assignment::Entity>(
        db,
        super::assignment::Column::Id,
        rows.iter().map(|r| r.assignment_id),
        |a: super::assignment::Model| (a.id, a.slug),
    )
    .await?;
    let name = |map: &std::collections::HashMap<i32, String>, id: Option<i32>| {
        id.and_then(|id| map.get(&id).cloned()).unwrap_or_default()
    };
    Ok(rows
        .into_iter()
        .map(|r| Shown {
            at: r.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            actor: r
                .actor_id
                .map(|id| name(&users, Some(id)))
                .unwrap_or_else(|| "(command line)".into()),
            action: r.action,
            course: name(&courses, r.course_id),
            assignment: name(&assignments, r.assignment_id),
            student: name(&users, r.student_id),
            before: r.before.unwrap_or_default(),
            after: r.after.unwrap_or_default(),
            details: r.details,
        })
        .collect())
}

/// Every action the log records, for the filter.
pub const ACTIONS: [&str; 14] = [
    "course_created",
    "course_updated",
    "assignment_created",
    "assignment_updated",
    "deadline_moved",
    "extension_granted",
    "extension_edited",
    "extension_revoked",
    "extension_requested",
    "request_decided",
    "role_changed",
    "roster_imported",
    "bulk_download",
    "sessions_ended",
];

/// Every row of a table as an id → name map.
async fn names<E: EntityTrait>(
    db: &impl ConnectionTrait,
    id: E::Column,
    ids: impl Iterator<Item = Option<i32>>,
    name: impl Fn(E::Model) -> (i32, String),
) -> Result<std::collections::HashMap<i32, String>, DbErr> {
    use sea_orm::QueryFilter;
    let wanted: std::collections::BTreeSet<i32> = ids.flatten().collect();
    if wanted.is_empty() {
        return Ok(Default::default());
    }
    let rows = E::find().filter(id.is_in(wanted)).all(db).await?;
    Ok(rows.into_iter().map(name).collect())
}
