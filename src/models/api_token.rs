//! API tokens: only their SHA-256 is stored, so a leaked database leaks no token.

use sea_orm::entity::prelude::*;
use sea_orm::{ActiveValue::Set, QueryFilter};
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
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Makes a new token for the user and returns it (the only time it is seen).
pub async fn issue(
    db: &impl ConnectionTrait,
    user_id: i32,
    now: DateTimeUtc,
) -> Result<String, DbErr> {
    let token = format!("hdn_{}", hex::encode(rand::random::<[u8; 32]>()));
    ActiveModel {
        user_id: Set(user_id),
        token_hash: Set(hash(&token)),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(token)
}

/// The user a token belongs to, if it is one we issued.
pub async fn user_of(
    db: &impl ConnectionTrait,
    token: &str,
) -> Result<Option<super::user::Model>, DbErr> {
    let Some(row) = Entity::find()
        .filter(Column::TokenHash.eq(hash(token)))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    super::user::Entity::find_by_id(row.user_id).one(db).await
}
