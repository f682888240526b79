//! Who someone is: a password checked, a session's or a token's user found.

use sea_orm::EntityTrait;

use crate::App;
use crate::error::{Error, Result};
use crate::models::{api_token, user};

/// The user a session names, if they still exist.
pub async fn by_id(app: &App, id: i32) -> Result<Option<user::Model>> {
    Ok(user::Entity::find_by_id(id).one(&app.db).await?)
}

/// The user an API token belongs to, or why it is refused.
pub async fn by_token(
    app: &App,
    token: &str,
) -> Result<std::result::Result<user::Model, api_token::Refused>> {
    Ok(api_token::user_of(&app.db, token, app.clock.now()).await?)
}

static DUMMY_HASH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| user::hash_password("not a real password").unwrap_or_default());

/// The user, if the password is theirs. Checks run a few at a time (argon2
/// is slow and memory-hard on purpose), and take as long for an unknown
/// username as for a known one, so the time taken tells nothing.
pub async fn check_password(
    app: &App,
    username: &str,
    password: &str,
) -> Result<Option<user::Model>> {
    let found = user::find_by_username(&app.db, username.trim()).await?;
    let hash = found
        .as_ref()
        .map(|u| u.password_hash.clone())
        .unwrap_or_else(|| DUMMY_HASH.clone());
    let password = password.to_string();
    let _slot = app
        .password_checks
        .acquire()
        .await
        .map_err(Error::internal)?;
    let verified =
        rocket::tokio::task::spawn_blocking(move || user::verify_password(&password, &hash))
            .await?;
    Ok(found.filter(|_| verified))
}
