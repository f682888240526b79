//! Someone the university's identity system vouches for (through OpenID
//! Connect or a trusted proxy's header) becomes a handin user: the roster's
//! account of that name, with name and email refreshed from what the
//! identity system says, or, if configured, a new student with no courses.
//!
//! The first sign-in through the provider records who the person is there
//! (issuer and `sub`, which never change); from then on the account opens
//! only for that identity, so a username the university later gives to
//! someone else does not hand them the old account and its work.

use crate::App;
use crate::error::{Error, Result};
use crate::models::{audit, user};

/// A person as the identity system names them.
#[derive(Debug, Clone)]
pub struct Person {
    /// As the identity system says it (`ab12`, `AB12@example.ac.uk`).
    pub username: String,
    /// `ISSUER SUB` at the OpenID provider (a proxy gives none).
    pub identity: Option<String>,
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
    /// The account was first opened by another identity at the provider.
    Taken {
        username: String,
    },
}

/// The handin username in what the identity system said: trimmed, without
/// `@<domain>` when the domain is the configured one (matched without
/// regard to case, as mail domains are).
pub fn username_from(said: &str, domain: Option<&str>) -> String {
    let said = said.trim();
    if let (Some(domain), Some((local, at))) = (domain, said.rsplit_once('@'))
        && at.eq_ignore_ascii_case(domain.trim().trim_start_matches('@'))
    {
        return local.to_string();
    }
    said.to_string()
}

/// The account of that name: exactly, or else in lower case (identity
/// systems are careless about case; rosters are usually lower case).
async fn find(app: &App, username: &str) -> Result<Option<user::Model>> {
    if let Some(found) = user::find_by_username(&app.db, username).await? {
        return Ok(Some(found));
    }
    let lower = username.to_ascii_lowercase();
    if lower == username {
        return Ok(None);
    }
    Ok(user::find_by_username(&app.db, &lower).await?)
}

/// The handin user the identity system vouched for. `via` says which
/// system, for the audit log.
pub async fn vouched(app: &App, person: Person, via: &str) -> Result<SignIn> {
    let username = username_from(&person.username, app.config.username_domain.as_deref());
    // A name no account can have (an email from another domain, say) is
    // simply someone handin does not know.
    if user::check_username(&username).is_err() {
        return Ok(SignIn::Unknown { username });
    }
    let Some(found) = find(app, &username).await? else {
        if !app.config.create_unknown_users {
            return Ok(SignIn::Unknown { username });
        }
        let username = username.to_ascii_lowercase();
        return Ok(SignIn::Welcome(
            create_student(app, &username, &person, via).await?,
        ));
    };
    if let (Some(known), Some(identity)) = (&found.provider_identity, &person.identity)
        && known != identity
    {
        rocket::warn!(
            "single sign-on: {identity} signed in as {}, whose account belongs to {known}",
            found.username
        );
        return Ok(SignIn::Taken {
            username: found.username,
        });
    }
    let seen = user::Seen {
        name: person.name,
        email: person.email,
        identity: person.identity,
    };
    Ok(SignIn::Welcome(user::seen(&app.db, found, seen).await?))
}

/// A student with no courses, and a password nobody knows (they sign in
/// through the identity system; an administrator can set one later).
async fn create_student(
    app: &App,
    username: &str,
    person: &Person,
    via: &str,
) -> Result<user::Model> {
    let account = user::Account {
        username: username.to_string(),
        display_name: person.name.clone().unwrap_or_else(|| username.to_string()),
        email: person.email.clone().unwrap_or_default(),
        role: user::Role::Student,
    };
    let secret = user::generate_password();
    let hash = rocket::tokio::task::spawn_blocking(move || user::hash_password(&secret))
        .await?
        .map_err(Error::internal)?;
    let txn = crate::db::begin_write(&app.db).await?;
    // Two first sign-ins at once (two tabs, two instances): one creates.
    if let Some(created) = user::find_by_username(&txn, username).await? {
        txn.commit().await?;
        return Ok(created);
    }
    let (created, _) = user::save(
        &txn,
        &account,
        user::Password::Initial(&hash),
        app.clock.now(),
    )
    .await?;
    let created = user::seen(
        &txn,
        created,
        user::Seen {
            identity: person.identity.clone(),
            ..Default::default()
        },
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
    audit::record(&txn, app.clock.now(), entry).await?;
    txn.commit().await?;
    Ok(created)
}

/// Forgets which university identity an account belongs to (the
/// university gave the username to someone new): the next person the
/// provider signs in under that name gets the account. Every session of
/// the account ends; it is on the audit log.
pub async fn unlink(app: &App, actor_id: Option<i32>, username: &str) -> Result<()> {
    let found = user::find_by_username(&app.db, username.trim())
        .await?
        .ok_or_else(|| Error::not_found(format!("user {}", username.trim())))?;
    let txn = crate::db::begin_write(&app.db).await?;
    let before = found.provider_identity.clone().unwrap_or_default();
    let unlinked = user::unlink(&txn, found).await?;
    crate::models::session::end_all(&txn, unlinked.id).await?;
    let entry = audit::Entry {
        actor_id,
        action: "identity_unlinked",
        student_id: Some(unlinked.id),
        before: Some(before),
        details: format!(
            "{} no longer belongs to a university identity",
            unlinked.username
        ),
        ..Default::default()
    };
    audit::record(&txn, app.clock.now(), entry).await?;
    txn.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::username_from;

    #[test]
    fn the_configured_domain_is_cut_from_a_username_and_no_other() {
        let domain = Some("example.ac.uk");
        assert_eq!(username_from("ab12@example.ac.uk", domain), "ab12");
        assert_eq!(username_from(" AB12@Example.AC.uk ", domain), "AB12");
        assert_eq!(
            username_from("ab12@elsewhere.org", domain),
            "ab12@elsewhere.org"
        );
        assert_eq!(
            username_from("ab12@example.ac.uk", None),
            "ab12@example.ac.uk"
        );
        assert_eq!(username_from("ab12", domain), "ab12");
        assert_eq!(
            username_from("ab12@example.ac.uk", Some("@example.ac.uk")),
            "ab12"
        );
    }
}
