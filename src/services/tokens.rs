//! API tokens that people make for their own scripts: named, with an
//! expiry, listed, and revoked by their owner or an administrator. Each is
//! on the audit log; the token itself is shown once and only its hash kept.

use chrono::{DateTime, Utc};
use sea_orm::EntityTrait;
use serde::Serialize;

use crate::App;
use crate::error::{Error, Result};
use crate::models::{api_token, audit, user};
use crate::policy::{self, Act};

/// The longest a self-made token may last: a year.
pub const MAX_DAYS: u32 = 366;
const MAX_NAME: usize = 80;

/// A token as its list shows it (never the token itself).
#[derive(Debug, Clone, Serialize)]
pub struct Listed {
    pub id: i32,
    pub name: String,
    pub owner: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// "active", "expired" or "revoked".
    pub state: &'static str,
}

fn listed(row: api_token::Model, owner: &str, now: DateTime<Utc>) -> Listed {
    let state = if row.revoked_at.is_some() {
        "revoked"
    } else if now > row.expires_at {
        "expired"
    } else {
        "active"
    };
    Listed {
        id: row.id,
        name: if row.name.is_empty() {
            "(made with handin token)".to_string()
        } else {
            row.name
        },
        owner: owner.to_string(),
        created_at: row.created_at,
        expires_at: row.expires_at,
        state,
    }
}

/// The caller's own tokens, newest first.
pub async fn mine(app: &App, me: &user::Model) -> Result<Vec<Listed>> {
    let now = app.clock.now();
    let rows = api_token::of_user(&app.db, me.id).await?;
    Ok(rows
        .into_iter()
        .map(|row| listed(row, &me.username, now))
        .collect())
}

/// Every token that still works, whoever owns it (administrators only).
pub async fn everyone(app: &App, me: &user::Model) -> Result<Vec<Listed>> {
    if !policy::allows_everywhere(me, Act::Administer) {
        return Err(Error::Forbidden(
            "Only administrators can see everyone's tokens.".into(),
        ));
    }
    let now = app.clock.now();
    let rows = api_token::live(&app.db, now).await?;
    Ok(rows
        .into_iter()
        .map(|(row, owner)| {
            let owner = owner.map(|o| o.username).unwrap_or_default();
            listed(row, &owner, now)
        })
        .collect())
}

/// Makes a token for the caller; returns it (the only time it is seen).
pub async fn create(app: &App, me: &user::Model, name: &str, days: u32) -> Result<String> {
    let name = name.trim();
    let mut problems = Vec::new();
    if name.is_empty() {
        problems.push("Give the token a name, so you know later what uses it.".to_string());
    } else if name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        problems.push(format!(
            "A token's name is at most {MAX_NAME} characters on one line."
        ));
    }
    if days == 0 || days > MAX_DAYS {
        problems.push(format!(
            "A token lasts from 1 to {MAX_DAYS} days; {days} is not in that range."
        ));
    }
    if !problems.is_empty() {
        return Err(Error::Invalid(problems));
    }
    let now = app.clock.now();
    let token = api_token::issue_named(&app.db, me.id, name, now, days).await?;
    let entry = audit::Entry {
        actor_id: Some(me.id),
        action: "token_created",
        details: format!(
            "{} made the API token '{name}' for {days} day(s)",
            me.username
        ),
        ..Default::default()
    };
    audit::record(&app.db, now, entry).await?;
    Ok(token)
}

/// Revokes a token: its owner may, and administrators may revoke anyone's.
/// Someone else's token is "not found": its existence is nobody's business.
pub async fn revoke(app: &App, me: &user::Model, id: i32) -> Result<()> {
    let row = api_token::Entity::find_by_id(id)
        .one(&app.db)
        .await?
        .filter(|row| row.user_id == me.id || policy::allows_everywhere(me, Act::Administer))
        .ok_or_else(|| Error::not_found("token"))?;
    let now = app.clock.now();
    if !api_token::revoke(&app.db, row.id, now).await? {
        return Err(Error::Conflict(
            "That token had already been revoked.".into(),
        ));
    }
    let entry = audit::Entry {
        actor_id: Some(me.id),
        action: "token_revoked",
        student_id: (row.user_id != me.id).then_some(row.user_id),
        details: format!("{} revoked the API token '{}'", me.username, row.name),
        ..Default::default()
    };
    audit::record(&app.db, now, entry).await?;
    Ok(())
}
