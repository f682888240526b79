//! Someone the university's identity system vouches for (through OpenID
//! Connect or a trusted proxy's header) becomes a handin user: the roster's
//! account of that name, with name and email refreshed from what the
//! identity system says, or, if configured, a new student with no courses.

use crate::App;
use crate::error::Result;
use crate::models::{audit, user};

/// A person as the identity system names them.
#[derive(Debug, Clone)]
pub struct Person {
    pub username: String,
    pub name: Option<String>,
    pub email: Option<String>,
}

/// What became of the sign-in.
pub enum SignIn {
    Welcome(user::Model),
    /// handin has no account of that name (and makes none).
    Unknown {
        username: String,
    },
}

/// The handin user the identity system vouched for. `via` says which
/// system, for the audit log.
pub async fn vouched(app: &App, person: Person, via: &str) -> Result<SignIn> {
    let username = person.username.trim().to_string();
    // A name no account can have (an email from another domain, say) is
    // simply someone handin does not know.
    if user::check_username(&username).is_err() {
        return Ok(SignIn::Unknown { username });
    }
    let Some(found) = user::find_by_username(&app.db, &username).await? else {
        if !app.config.create_unknown_users {
            return Ok(SignIn::Unknown { username });
        }
        return Ok(SignIn::Welcome(create_student(app, &person, via).await?));
    };
    let name = person.name.clone().unwrap_or(found.display_name.clone());
    let email = person.email.clone().unwrap_or(found.email.clone());
    if name == found.display_name && email == found.email {
        return Ok(SignIn::Welcome(found));
    }
    let account = user::Account {
        username: found.username.clone(),
        display_name: name,
        email,
        role: found.role,
    };
    let (saved, _) = user::save(
        &app.db,
        &account,
        user::Password::Initial(""),
        app.clock.now(),
    )
    .await?;
    Ok(SignIn::Welcome(saved))
}

/// A student with no courses, and a password nobody knows (they sign in
/// through the identity system; an administrator can set one later).
async fn create_student(app: &App, person: &Person, via: &str) -> Result<user::Model> {
    let account = user::Account {
        username: person.username.trim().to_string(),
        display_name: person
            .name
            .clone()
            .unwrap_or_else(|| person.username.clone()),
        email: person.email.clone().unwrap_or_default(),
        role: user::Role::Student,
    };
    let secret = user::generate_password();
    let hash = rocket::tokio::task::spawn_blocking(move || user::hash_password(&secret))
        .await?
        .map_err(crate::error::Error::internal)?;
    let (created, _) = user::save(
        &app.db,
        &account,
        user::Password::Initial(&hash),
        app.clock.now(),
    )
    .await?;
    let entry = audit::Entry {
        actor_id: None,
        action: "user_created",
        student_id: Some(created.id),
        details: format!(
            "{} signed in through {via} and was made a student with no courses",
            created.username
        ),
        ..Default::default()
    };
    audit::record(&app.db, app.clock.now(), entry).await?;
    Ok(created)
}
