//! Who someone is: a password checked, a session started, resumed or ended,
//! a token's user found.

use std::net::IpAddr;

use sea_orm::EntityTrait;

use crate::App;
use crate::domain::throttle::{InFlight, Wait, client_of};
use crate::error::{Error, Result};
use crate::models::login_failure::{self, Pair};
use crate::models::session::{self, Origin};
use crate::models::{api_token, audit, user};

/// Starts a browser session for the user; returns the cookie's secret.
pub async fn start_session(app: &App, user_id: i32, origin: Origin) -> Result<String> {
    let lifetime = app.config.session_lifetime();
    Ok(session::start(&app.db, user_id, origin, lifetime, app.clock.now()).await?)
}

/// The user and the session's CSRF token, if the secret names a session
/// that has not ended or expired.
pub async fn resume_session(app: &App, secret: &str) -> Result<Option<(user::Model, String)>> {
    let lifetime = app.config.session_lifetime();
    let resumed = session::resume(&app.db, secret, lifetime, app.clock.now()).await?;
    Ok(resumed.map(|(user, row)| (user, row.csrf)))
}

/// Logs out: the session ends here, whatever the browser keeps. Says how
/// it had been signed in (to sign out of the provider or proxy too).
pub async fn end_session(app: &App, secret: &str) -> Result<Option<session::SignedIn>> {
    Ok(session::end(&app.db, secret).await?)
}

/// Ends every session of a user (an administrator's decision, on the
/// record); returns how many there were.
pub async fn end_sessions_of(app: &App, actor_id: Option<i32>, username: &str) -> Result<u64> {
    let user = user::find_by_username(&app.db, username.trim())
        .await?
        .ok_or_else(|| Error::not_found(format!("user {}", username.trim())))?;
    let ended = session::end_all(&app.db, user.id).await?;
    let entry = audit::Entry {
        actor_id,
        action: "sessions_ended",
        student_id: Some(user.id),
        details: format!("{ended} session(s) of {}", user.username),
        ..Default::default()
    };
    audit::record(&app.db, app.clock.now(), entry).await?;
    Ok(ended)
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

/// What became of a login.
pub enum Login {
    Welcome(user::Model),
    /// Wrong username or password (which, it does not say).
    Refused,
    /// Too many tries from this address (for this username): not checked.
    Wait(Wait),
}

/// Takes an admitted check out of flight however it ends, even if the
/// request is dropped half way.
struct Admitted<'a> {
    app: &'a App,
    address: IpAddr,
}

impl Drop for Admitted<'_> {
    fn drop(&mut self) {
        in_flight(self.app).leave(self.address);
    }
}

/// The checks in flight; a panic elsewhere while it was held does not stop logins.
fn in_flight(app: &App) -> std::sync::MutexGuard<'_, InFlight> {
    app.logins_in_flight
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Checks a password from `address`. Checks run a few at a time (argon2 is
/// slow and memory-hard on purpose) and take as long for an unknown
/// username as for a known one, so the time taken tells nothing; an address
/// that keeps failing for a username, or floods, waits (see
/// `domain::throttle`) without a check being run.
pub async fn log_in(app: &App, address: IpAddr, username: &str, password: &str) -> Result<Login> {
    let username = username.trim();
    // A name no account can have is refused at once: it is not checked,
    // and not remembered by the throttle (whose table it would fill).
    if user::check_username(username).is_err() {
        return Ok(Login::Refused);
    }
    let pair = Pair::new(client_of(address), username);
    let failures = login_failure::find(&app.db, &pair, app.clock.now()).await?;
    if let Some(seconds) = failures.and_then(|f| f.wait(app.clock.now())) {
        return Ok(Login::Wait(Wait::Seconds(seconds)));
    }
    if let Err(busy) = in_flight(app).admit(address) {
        return Ok(Login::Wait(busy));
    }
    let _admitted = Admitted { app, address };
    login_failure::count(&app.db, &pair, app.clock.now()).await?;
    let found = user::find_by_username(&app.db, username).await?;
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
    let mut user = found.filter(|_| verified);
    // The check may have queued for a while: if the password changed
    // meanwhile (ending every session), the old one starts none.
    if let Some(checked) = &user {
        let now = user::Entity::find_by_id(checked.id).one(&app.db).await?;
        if now.is_none_or(|now| now.password_hash != checked.password_hash) {
            user = None;
        }
    }
    if user.is_some() {
        login_failure::clear(&app.db, &pair).await?;
    }
    Ok(match user {
        Some(user) => Login::Welcome(user),
        None => Login::Refused,
    })
}
