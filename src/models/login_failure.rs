//! Failed logins per (client, username), shared by every instance: the
//! rule of how long to wait is `domain::throttle`; this is only its memory.

use chrono::{DateTime, Duration, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ActiveValue::Set, QueryFilter};

use crate::domain::throttle::{FORGET_MINUTES, Failures};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "login_failures")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub client: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub username: String,
    pub failures: i32,
    pub last_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Who tried: the client (see `domain::throttle::client_of`) and the
/// username in lower case, as every instance writes it.
pub struct Pair {
    client: String,
    username: String,
}

impl Pair {
    pub fn new(client: std::net::IpAddr, username: &str) -> Pair {
        Pair {
            client: client.to_string(),
            username: username.to_lowercase(),
        }
    }
}

/// The pair's failures, forgetting them if they are old.
pub async fn find(
    db: &impl ConnectionTrait,
    pair: &Pair,
    now: DateTime<Utc>,
) -> Result<Option<Failures>, DbErr> {
    let Some(row) = Entity::find_by_id((pair.client.clone(), pair.username.clone()))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let failures = Failures {
        count: u32::try_from(row.failures).unwrap_or(0),
        last: row.last_at,
    };
    if failures.forgotten(now) {
        clear(db, pair).await?;
        return Ok(None);
    }
    Ok(Some(failures))
}

/// Counts one more try, in one statement: two instances counting the same
/// pair at once both count. A try is counted before its password is
/// checked (a success then clears the pair), so tries racing on several
/// instances cannot all slip through before any of them is counted.
pub async fn count(
    db: &impl ConnectionTrait,
    pair: &Pair,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let row = ActiveModel {
        client: Set(pair.client.clone()),
        username: Set(pair.username.clone()),
        failures: Set(1),
        last_at: Set(now),
    };
    Entity::insert(row)
        .on_conflict(
            OnConflict::columns([Column::Client, Column::Username])
                .value(
                    Column::Failures,
                    Expr::col((Entity, Column::Failures)).add(1),
                )
                .update_column(Column::LastAt)
                .to_owned(),
        )
        .exec(db)
        .await
        .map(|_| ())
}

/// Keeps the table small: pairs nobody has tried for a while are forgotten
/// (by every instance's sweep, now and again).
pub async fn forget_old(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<(), DbErr> {
    Entity::delete_many()
        .filter(Column::LastAt.lt(now - Duration::minutes(FORGET_MINUTES)))
        .exec(db)
        .await
        .map(|_| ())
}

/// A success clears the pair.
pub async fn clear(db: &impl ConnectionTrait, pair: &Pair) -> Result<(), DbErr> {
    Entity::delete_by_id((pair.client.clone(), pair.username.clone()))
        .exec(db)
        .await
        .map(|_| ())
}
