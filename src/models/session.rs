//! Browser sessions, kept on the server: the cookie holds a random secret,
//! the table its SHA-256, who it is, the CSRF token of its forms, and when
//! and from where it was used. Ending a session is deleting its row.

use chrono::Duration;
use sea_orm::entity::prelude::*;
use sea_orm::{ActiveValue::Set, QueryFilter};

use super::api_token::hash;
use super::user;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sessions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub secret_hash: String,
    pub user_id: i32,
    pub csrf: String,
    pub created_at: DateTimeUtc,
    pub last_seen_at: DateTimeUtc,
    pub user_agent: String,
    pub address: String,
    /// `password`, `provider` or `proxy` (see [`SignedIn`]).
    pub signed_in_via: String,
    /// The provider's ID token, for signing out there too.
    pub id_token: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// How long sessions last: since the last request, and at most in all.
#[derive(Debug, Clone, Copy)]
pub struct Lifetime {
    pub idle: Duration,
    pub max: Duration,
}

/// Where a session was started from, as the request said, and how.
pub struct Origin {
    pub user_agent: String,
    pub address: String,
    pub signed_in: SignedIn,
}

/// How a person signed in: it decides what logging out does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignedIn {
    Password,
    /// Through the university's OpenID provider, with the ID token it gave.
    Provider {
        id_token: String,
    },
    /// A proxy in front said who it is.
    Proxy,
}

impl SignedIn {
    fn columns(&self) -> (&'static str, Option<String>) {
        match self {
            SignedIn::Password => ("password", None),
            SignedIn::Provider { id_token } => ("provider", Some(id_token.clone())),
            SignedIn::Proxy => ("proxy", None),
        }
    }

    fn of(row: &Model) -> SignedIn {
        match (row.signed_in_via.as_str(), &row.id_token) {
            ("provider", Some(id_token)) => SignedIn::Provider {
                id_token: id_token.clone(),
            },
            ("proxy", _) => SignedIn::Proxy,
            _ => SignedIn::Password,
        }
    }
}

fn random_hex() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// Starts a session; returns the secret for the cookie (the only time it is
/// seen). Sessions past their lifetime are swept out on the way, so the
/// table holds only live ones (and a few idle ones nobody came back to).
pub async fn start(
    db: &impl ConnectionTrait,
    user_id: i32,
    origin: Origin,
    lifetime: Lifetime,
    now: DateTimeUtc,
) -> Result<String, DbErr> {
    Entity::delete_many()
        .filter(Column::CreatedAt.lt(now - lifetime.max))
        .exec(db)
        .await?;
    let secret = random_hex();
    let (via, id_token) = origin.signed_in.columns();
    ActiveModel {
        secret_hash: Set(hash(&secret)),
        user_id: Set(user_id),
        csrf: Set(random_hex()),
        created_at: Set(now),
        last_seen_at: Set(now),
        // What a browser says about itself is kept short.
        user_agent: Set(origin.user_agent.chars().take(200).collect()),
        address: Set(origin.address),
        signed_in_via: Set(via.to_string()),
        id_token: Set(id_token),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(secret)
}

/// The session's user and row, if the secret names a session that still
/// holds; an expired one is ended. Use is noted at most once a minute, so
/// that reading pages does not mean writing the database each time.
pub async fn resume(
    db: &impl ConnectionTrait,
    secret: &str,
    lifetime: Lifetime,
    now: DateTimeUtc,
) -> Result<Option<(user::Model, Model)>, DbErr> {
    let Some(row) = Entity::find()
        .filter(Column::SecretHash.eq(hash(secret)))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let expired = now - row.last_seen_at > lifetime.idle || now - row.created_at > lifetime.max;
    if expired || now < row.created_at {
        Entity::delete_by_id(row.id).exec(db).await?;
        return Ok(None);
    }
    let Some(user) = user::Entity::find_by_id(row.user_id).one(db).await? else {
        return Ok(None);
    };
    if now - row.last_seen_at > Duration::minutes(1) {
        let seen = ActiveModel {
            id: sea_orm::ActiveValue::Unchanged(row.id),
            last_seen_at: Set(now),
            ..Default::default()
        };
        seen.update(db).await?;
    }
    Ok(Some((user, row)))
}

/// Ends the session the secret names (logging out); says how it had
/// been signed in, if there was one.
pub async fn end(db: &impl ConnectionTrait, secret: &str) -> Result<Option<SignedIn>, DbErr> {
    let Some(row) = Entity::find()
        .filter(Column::SecretHash.eq(hash(secret)))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    Entity::delete_by_id(row.id).exec(db).await?;
    Ok(Some(SignedIn::of(&row)))
}

/// Ends every session of a user; returns how many there were.
pub async fn end_all(db: &impl ConnectionTrait, user_id: i32) -> Result<u64, DbErr> {
    Ok(Entity::delete_many()
        .filter(Column::UserId.eq(user_id))
        .exec(db)
        .await?
        .rows_affected)
}
