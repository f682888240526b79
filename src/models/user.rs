//! People: students, markers and administrators, with argon2 password hashes.

use argon2::Argon2;
use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};
use sea_orm::entity::prelude::*;
use sea_orm::{ActiveValue::Set, QueryFilter};
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub username: String,
    pub display_name: String,
    pub email: String,
    pub role: Role,
    #[serde(skip)]
    pub password_hash: String,
    pub created_at: DateTimeUtc,
    /// Who this person is at the university's OpenID provider (`ISSUER SUB`),
    /// from their first sign-in there: the username alone may one day be
    /// given to someone else.
    #[serde(skip)]
    pub provider_identity: Option<String>,
    /// The secret in this person's calendar feed address, if they made one.
    #[serde(skip)]
    pub calendar_token: Option<String>,
    /// Whether this person wants mail before their deadlines (students may
    /// turn reminders off; receipts and decisions are always sent).
    pub mail_reminders: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// What a person is across the whole system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, Serialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "lowercase")]
pub enum Role {
    #[sea_orm(string_value = "student")]
    Student,
    #[sea_orm(string_value = "marker")]
    Marker,
    #[sea_orm(string_value = "admin")]
    Admin,
}

impl Role {
    pub fn parse(text: &str) -> Result<Role, String> {
        match text {
            "student" => Ok(Role::Student),
            "marker" => Ok(Role::Marker),
            "admin" => Ok(Role::Admin),
            other => Err(format!(
                "unknown role '{other}': use student, marker or admin"
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Student => "student",
            Role::Marker => "marker",
            Role::Admin => "admin",
        }
    }
}

impl Model {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

pub async fn find_by_username(
    db: &impl ConnectionTrait,
    username: &str,
) -> Result<Option<Model>, DbErr> {
    Entity::find()
        .filter(Column::Username.eq(username))
        .one(db)
        .await
}

/// The person whose calendar feed this secret opens.
pub async fn find_by_calendar_token(
    db: &impl ConnectionTrait,
    token: &str,
) -> Result<Option<Model>, DbErr> {
    Entity::find()
        .filter(Column::CalendarToken.eq(token))
        .one(db)
        .await
}

/// Sets (or, with `None`, removes) a person's calendar feed secret.
pub async fn set_calendar_token(
    db: &impl ConnectionTrait,
    user: Model,
    token: Option<String>,
) -> Result<Model, DbErr> {
    use sea_orm::ActiveValue::Set;
    let mut active: ActiveModel = user.into();
    active.calendar_token = Set(token);
    active.update(db).await
}

/// Turns a person's mail reminders on or off.
pub async fn set_mail_reminders(
    db: &impl ConnectionTrait,
    user: Model,
    on: bool,
) -> Result<Model, DbErr> {
    use sea_orm::ActiveValue::Set;
    let mut active: ActiveModel = user.into();
    active.mail_reminders = Set(on);
    active.update(db).await
}

/// Usernames are short and plain: they appear in file names and URLs.
pub fn check_username(username: &str) -> Result<(), String> {
    // It names a folder in the all-submissions zip: it must not start with a
    // dot (`..`) or a dash.
    let ok = username.len() <= 64
        && username
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "'{username}' is not a valid username: use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        ))
    }
}

pub fn hash_password(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| format!("could not hash the password: {e}"))
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A password for someone to type once: 16 characters from an unambiguous alphabet.
pub fn generate_password() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    (0..16)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

/// A person as a roster or an administrator names them.
pub struct Account {
    pub username: String,
    pub display_name: String,
    pub email: String,
    pub role: Role,
}

/// What becomes of the password when an account is saved.
pub enum Password<'a> {
    /// The hash of a first password: used only if the account is new.
    Initial(&'a str),
    /// The hash of a password that replaces any earlier one.
    Replace(&'a str),
}

/// Creates the account, or updates name, email and role of an existing one.
/// Returns the row and the role it had before, if it existed.
pub async fn save(
    db: &impl ConnectionTrait,
    account: &Account,
    password: Password<'_>,
    now: DateTimeUtc,
) -> Result<(Model, Option<Role>), DbErr> {
    let hash = match password {
        Password::Initial(hash) | Password::Replace(hash) => hash.to_string(),
    };
    match find_by_username(db, &account.username).await? {
        Some(user) => {
            let before = user.role;
            let mut active: ActiveModel = user.into();
            active.display_name = Set(account.display_name.clone());
            active.email = Set(account.email.clone());
            active.role = Set(account.role);
            if let Password::Replace(_) = password {
                active.password_hash = Set(hash);
            }
            Ok((active.update(db).await?, Some(before)))
        }
        None => {
            let row = ActiveModel {
                username: Set(account.username.clone()),
                display_name: Set(account.display_name.clone()),
                email: Set(account.email.clone()),
                role: Set(account.role),
                password_hash: Set(hash),
                created_at: Set(now),
                ..Default::default()
            }
            .insert(db)
            .await?;
            Ok((row, None))
        }
    }
}

/// A person as a table names them: no hash, no address, no tokens.
#[derive(Debug, Clone, DerivePartialModel)]
#[sea_orm(entity = "Entity", from_query_result)]
pub struct Named {
    pub id: i32,
    pub username: String,
    pub display_name: String,
}

/// These users' names, by id (one query, three columns).
pub async fn named(
    db: &impl ConnectionTrait,
    ids: impl IntoIterator<Item = i32>,
) -> Result<std::collections::HashMap<i32, Named>, DbErr> {
    Ok(Entity::find()
        .filter(Column::Id.is_in(ids))
        .into_partial_model::<Named>()
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect())
}

/// The usernames of these users, by id (one query).
pub async fn usernames(
    db: &impl ConnectionTrait,
    ids: &[i32],
) -> Result<std::collections::HashMap<i32, String>, DbErr> {
    Ok(Entity::find()
        .filter(Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.username))
        .collect())
}

/// What an identity system said about a person at sign-in.
#[derive(Debug, Default)]
pub struct Seen {
    pub name: Option<String>,
    pub email: Option<String>,
    /// Recorded only if the account has none yet.
    pub identity: Option<String>,
}

/// Refreshes name and email from what was seen, and records the identity
/// the first time; writes only if something changed.
pub async fn seen(db: &impl ConnectionTrait, user: Model, seen: Seen) -> Result<Model, DbErr> {
    let name = seen.name.filter(|n| *n != user.display_name);
    let email = seen.email.filter(|e| *e != user.email);
    let identity = seen.identity.filter(|_| user.provider_identity.is_none());
    if name.is_none() && email.is_none() && identity.is_none() {
        return Ok(user);
    }
    let mut active: ActiveModel = user.into();
    if let Some(name) = name {
        active.display_name = Set(name);
    }
    if let Some(email) = email {
        active.email = Set(email);
    }
    if let Some(identity) = identity {
        active.provider_identity = Set(Some(identity));
    }
    active.update(db).await
}

/// Forgets the provider identity recorded for an account, so that the next
/// person the provider signs in under that username gets it (`handin user
/// unlink`, when the university gives a username to someone new).
pub async fn unlink(db: &impl ConnectionTrait, user: Model) -> Result<Model, DbErr> {
    let mut active: ActiveModel = user.into();
    active.provider_identity = Set(None);
    active.update(db).await
}

#[cfg(test)]
mod tests {
    #[test]
    fn usernames_are_plain_and_cannot_climb_out_of_a_folder() {
        for good in ["ab1g23", "j.smith", "x_y-z", "7"] {
            assert!(super::check_username(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "..",
            ".hidden",
            "-rf",
            "a b",
            "a/b",
            "é",
            &"x".repeat(65),
        ] {
            assert!(super::check_username(bad).is_err(), "{bad}");
        }
    }
}
