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
    /// RFC 3339, UTC (the CSV's).
    pub at: String,
    /// As people read it, in the entry's course's zone (else UTC).
    pub at_local: String,
    pub actor: String,
    pub action: String,
    pub course: String,
    pub assignment: String,
    pub student: String,
    pub before: String,
    pub after: String,
    /// What changed, field by field, for the page.
    pub changes: Vec<Changed>,
    pub details: String,
}

/// One field of a change: what it was and what it became ("" when absent).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Changed {
    pub field: String,
    pub before: String,
    pub after: String,
}

/// A JSON value as a person reads it: text without quotes, nothing as "".
fn plain(value: Option<&serde_json::Value>) -> String {
    match value {
        None | Some(serde_json::Value::Null) => String::new(),
        Some(serde_json::Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
    }
}

/// What an entry changed, field by field: for records kept as JSON objects
/// (a course, an assignment), the fields that differ (a creation lists
/// them all); for plain text, the text before and after.
pub fn changes(before: Option<&str>, after: Option<&str>) -> Vec<Changed> {
    use serde_json::{Map, Value};
    let object = |text: Option<&str>| -> Option<Map<String, Value>> {
        match serde_json::from_str(text?) {
            Ok(Value::Object(map)) => Some(map),
            _ => None,
        }
    };
    let (old, new) = (object(before), object(after));
    if (old.is_some() || before.is_none()) && (new.is_some() || after.is_none()) {
        let (old, new) = (old.unwrap_or_default(), new.unwrap_or_default());
        let fields: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
        return fields
            .into_iter()
            .filter(|field| *field != "id" && old.get(*field) != new.get(*field))
            .map(|field| Changed {
                field: field.clone(),
                before: plain(old.get(field)),
                after: plain(new.get(field)),
            })
            .collect();
    }
    vec![Changed {
        field: String::new(),
        before: before.unwrap_or_default().to_string(),
        after: after.unwrap_or_default().to_string(),
    }]
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
    let zones = names::<super::course::Entity>(
        db,
        super::course::Column::Id,
        rows.iter().map(|r| r.course_id),
        |c: super::course::Model| (c.id, c.zone_name().to_string()),
    )
    .await?;
    let zone_of = |id: Option<i32>| -> chrono_tz::Tz {
        id.and_then(|id| zones.get(&id))
            .and_then(|z| z.parse().ok())
            .unwrap_or(chrono_tz::UTC)
    };
    let name = |map: &std::collections::HashMap<i32, String>, id: Option<i32>| {
        id.and_then(|id| map.get(&id).cloned()).unwrap_or_default()
    };
    Ok(rows
        .into_iter()
        .map(|r| Shown {
            at: r.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            at_local: crate::domain::zone::format_local_precise(r.at, zone_of(r.course_id)),
            changes: changes(r.before.as_deref(), r.after.as_deref()),
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
pub const ACTIONS: [&str; 27] = [
    "course_created",
    "course_updated",
    "assignment_created",
    "assignment_updated",
    "deadline_moved",
    "closure_days_set",
    "extension_granted",
    "extension_edited",
    "extension_revoked",
    "extension_requested",
    "request_decided",
    "request_withdrawn",
    "mark_entered",
    "mark_changed",
    "mark_removed",
    "marks_released",
    "feedback_files_added",
    "feedback_file_removed",
    "role_changed",
    "roster_imported",
    "user_created",
    "identity_unlinked",
    "token_created",
    "token_revoked",
    "bulk_download",
    "sessions_ended",
    "mail_resent",
];

/// When a roster was imported from the page form `form_id`, if it was.
pub async fn imported_with_form(
    db: &impl ConnectionTrait,
    form_id: &str,
) -> Result<Option<DateTime<Utc>>, DbErr> {
    use sea_orm::QueryFilter;
    Ok(Entity::find()
        .filter(Column::Action.eq("roster_imported"))
        .filter(Column::Details.ends_with(format!(" (form {form_id})")))
        .one(db)
        .await?
        .map(|row| row.at))
}

/// A deadline that moved: when, and from what to what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moved {
    pub at: DateTime<Utc>,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// The latest move of each of these assignments' deadlines since `since`,
/// read from the record (the assignment as it was before and after).
pub async fn deadline_moves(
    db: &impl ConnectionTrait,
    assignment_ids: &[i32],
    since: DateTime<Utc>,
) -> Result<std::collections::HashMap<i32, Moved>, DbErr> {
    use sea_orm::{QueryFilter, QueryOrder};
    let due = |json: &Option<String>| -> Option<DateTime<Utc>> {
        let value: serde_json::Value = serde_json::from_str(json.as_deref()?).ok()?;
        let text = value.get("due_at")?.as_str()?;
        Some(DateTime::parse_from_rfc3339(text).ok()?.with_timezone(&Utc))
    };
    let rows = Entity::find()
        .filter(Column::AssignmentId.is_in(assignment_ids.iter().copied()))
        .filter(Column::Action.eq("deadline_moved"))
        .filter(Column::At.gte(since))
        .order_by_asc(Column::At)
        .all(db)
        .await?;
    let mut moves = std::collections::HashMap::new();
    for row in rows {
        if let (Some(id), Some(from), Some(to)) =
            (row.assignment_id, due(&row.before), due(&row.after))
        {
            moves.insert(
                id,
                Moved {
                    at: row.at,
                    from,
                    to,
                },
            );
        }
    }
    Ok(moves)
}

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

#[cfg(test)]
mod tests {
    use super::{Changed, changes};

    #[test]
    fn a_change_reads_field_by_field() {
        let before = r#"{"id":3,"title":"Labs","due_at":"2020-05-29T15:00:00Z","anonymous":false}"#;
        let after = r#"{"id":3,"title":"Labs","due_at":"2020-06-05T15:00:00Z","anonymous":true}"#;
        assert_eq!(
            changes(Some(before), Some(after)),
            vec![
                Changed {
                    field: "anonymous".into(),
                    before: "false".into(),
                    after: "true".into()
                },
                Changed {
                    field: "due_at".into(),
                    before: "2020-05-29T15:00:00Z".into(),
                    after: "2020-06-05T15:00:00Z".into()
                },
            ]
        );
        // Created: every field but the id; plain text stays as it is.
        assert_eq!(changes(None, Some(r#"{"id":1,"code":"X"}"#)).len(), 1);
        assert_eq!(
            changes(Some("requested"), Some("approved")),
            vec![Changed {
                field: String::new(),
                before: "requested".into(),
                after: "approved".into()
            }]
        );
        assert_eq!(changes(None, None), vec![]);
    }

    /// Every action the code records can be chosen in the audit log's
    /// filter: a new one cannot be forgotten there.
    #[test]
    fn every_recorded_action_is_listed() {
        fn sources(dir: &std::path::Path, found: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    sources(&path, found);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    found.push(std::fs::read_to_string(path).unwrap());
                }
            }
        }
        let mut texts = Vec::new();
        sources(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut texts,
        );
        let mut recorded = std::collections::BTreeSet::new();
        for text in &texts {
            for piece in text.split("action: \"").skip(1) {
                if let Some(name) = piece.split('"').next() {
                    recorded.insert(name.to_string());
                }
            }
        }
        assert!(recorded.len() > 10, "{recorded:?}");
        for action in &recorded {
            assert!(
                super::ACTIONS.contains(&action.as_str()),
                "{action} is not in ACTIONS"
            );
        }
    }
}
