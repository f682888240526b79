//! API tokens: only their SHA-256 is stored, so a leaked database leaks no
//! token. Each expires, and all of a user's can be revoked at once.

use chrono::Duration;
use sea_orm::entity::prelude::*;
use sea_orm::{ActiveValue::Set, QueryFilter, QueryOrder};
use sha2::{Digest, Sha256};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_tokens")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub user_id: i32,
    #[sea_orm(unique)]
    pub token_hash: String,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub revoked_at: Option<DateTimeUtc>,
    /// What its owner called it ("marking script"); empty for tokens made
    /// with `handin token`.
    pub name: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::UserId",
        to = "super::user::Column::Id"
    )]
    User,
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}

/// How long a token lasts unless told otherwise: about a semester.
pub const DEFAULT_DAYS: u32 = 180;

pub(super) fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Makes a new token for the user, valid for `days`, and returns it (the
/// only time it is seen).
pub async fn issue(
    db: &impl ConnectionTrait,
    user_id: i32,
    now: DateTimeUtc,
    days: u32,
) -> Result<String, DbErr> {
    issue_named(db, user_id, "", now, days).await
}

/// As [`issue`], with the name its owner gave it.
pub async fn issue_named(
    db: &impl ConnectionTrait,
    user_id: i32,
    name: &str,
    now: DateTimeUtc,
    days: u32,
) -> Result<String, DbErr> {
    let token = format!("hdn_{}", hex::encode(rand::random::<[u8; 32]>()));
    ActiveModel {
        user_id: Set(user_id),
        token_hash: Set(hash(&token)),
        created_at: Set(now),
        expires_at: Set(now + Duration::days(i64::from(days))),
        revoked_at: Set(None),
        name: Set(name.to_string()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(token)
}

/// Why a token is refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    Unknown,
    Expired,
    Revoked,
}

/// The user a token belongs to, if it is one we issued and it still holds.
pub async fn user_of(
    db: &impl ConnectionTrait,
    token: &str,
    now: DateTimeUtc,
) -> Result<Result<super::user::Model, Refused>, DbErr> {
    let Some(row) = Entity::find()
        .filter(Column::TokenHash.eq(hash(token)))
        .one(db)
        .await?
    else {
        return Ok(Err(Refused::Unknown));
    };
    if row.revoked_at.is_some() {
        return Ok(Err(Refused::Revoked));
    }
    if now > row.expires_at {
        return Ok(Err(Refused::Expired));
    }
    Ok(super::user::Entity::find_by_id(row.user_id)
        .one(db)
        .await?
        .ok_or(Refused::Unknown))
}

/// Revokes every live token of the user; returns how many.
pub async fn revoke_all(
    db: &impl ConnectionTrait,
    user_id: i32,
    now: DateTimeUtc,
) -> Result<u64, DbErr> {
    let result = Entity::update_many()
        .col_expr(Column::RevokedAt, Expr::value(now))
        .filter(Column::UserId.eq(user_id))
        .filter(Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

/// A user's tokens, newest first.
pub async fn of_user(db: &impl ConnectionTrait, user_id: i32) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(Column::UserId.eq(user_id))
        .order_by_desc(Column::CreatedAt)
        .order_by_desc(Column::Id)
        .all(db)
        .await
}

/// Every token that still works, with its owner, newest first.
pub async fn live(
    db: &impl ConnectionTrait,
    now: DateTimeUtc,
) -> Result<Vec<(Model, Option<super::user::Model>)>, DbErr> {
    Entity::find()
        .filter(Column::RevokedAt.is_null())
        .filter(Column::ExpiresAt.gte(now))
        .find_also_related(super::user::Entity)
        .order_by_desc(Column::CreatedAt)
        .order_by_desc(Column::Id)
        .all(db)
        .await
}

/// Revokes one token, if it still works; says whether it did.
pub async fn revoke(db: &impl ConnectionTrait, id: i32, now: DateTimeUtc) -> Result<bool, DbErr> {
    let result = Entity::update_many()
        .col_expr(Column::RevokedAt, Expr::value(now))
        .filter(Column::Id.eq(id))
        .filter(Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}
