//! The university's closure days, shared by every course (each course has
//! its own too): working days late skip them.

use chrono::NaiveDate;
use sea_orm::entity::prelude::*;
use sea_orm::{ActiveValue::Set, QueryOrder};

use super::audit;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "closure_days")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub day: NaiveDate,
    pub note: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// The university's closure days, in order.
pub async fn university(db: &impl ConnectionTrait) -> Result<Vec<NaiveDate>, DbErr> {
    Ok(Entity::find()
        .order_by_asc(Column::Day)
        .all(db)
        .await?
        .into_iter()
        .map(|row| row.day)
        .collect())
}

/// Replaces the university's closure days, on the record; `false` if they
/// were those already.
pub async fn replace(
    db: &impl ConnectionTrait,
    days: &[NaiveDate],
    actor_id: Option<i32>,
    at: DateTimeUtc,
) -> Result<bool, DbErr> {
    let before = university(db).await?;
    let mut wanted = days.to_vec();
    wanted.sort();
    wanted.dedup();
    if before == wanted {
        return Ok(false);
    }
    Entity::delete_many().exec(db).await?;
    for day in &wanted {
        ActiveModel {
            day: Set(*day),
            note: Set(String::new()),
            ..Default::default()
        }
        .insert(db)
        .await?;
    }
    let listed = |days: &[NaiveDate]| {
        days.iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let entry = audit::Entry {
        actor_id,
        action: "closure_days_set",
        before: Some(listed(&before)),
        after: Some(listed(&wanted)),
        details: "the university's closure days".to_string(),
        ..Default::default()
    };
    audit::record(db, at, entry).await?;
    Ok(true)
}
