//! Accounts and enrolments: one person added (`handin user add`, the demo)
//! or a whole roster imported from a CSV (`username,name,email,role,course`).
//! A role that changes is put on the record, however it changed.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, EntityTrait};

use super::lines::{records, refuse_if_any};
use crate::App;
use crate::db::begin_write;
use crate::error::{Error, Result};
use crate::models::enrolment::{self, EnrolledAs};
use crate::models::user::{self, Account, Password, Role};
use crate::models::{audit, course, session};

/// Puts a changed role on the record, and ends the person's sessions: what
/// they may do changed under them.
async fn note_role_change(
    db: &impl ConnectionTrait,
    actor_id: Option<i32>,
    row: &user::Model,
    before: Option<Role>,
    how: String,
    at: DateTime<Utc>,
) -> Result<()> {
    let Some(before) = before.filter(|b| *b != row.role) else {
        return Ok(());
    };
    let entry = audit::Entry {
        actor_id,
        action: "role_changed",
        student_id: Some(row.id),
        before: Some(before.as_str().to_string()),
        after: Some(row.role.as_str().to_string()),
        details: how,
        ..Default::default()
    };
    audit::record(db, at, entry).await?;
    session::end_all(db, row.id).await?;
    Ok(())
}

/// Hashes a password off the async threads: argon2 is slow on purpose.
async fn hash(password: String) -> Result<String> {
    rocket::tokio::task::spawn_blocking(move || user::hash_password(&password))
        .await?
        .map_err(Error::Internal)
}

/// Someone added by hand.
pub struct Added {
    pub user: user::Model,
    /// The course they were enrolled in, and how.
    pub enrolled: Option<(String, EnrolledAs)>,
}

/// Creates a person (or updates one, password included) and enrols them in
/// a course if one is named: students as students, everyone else as markers.
pub async fn add(
    app: &App,
    account: &Account,
    password: &str,
    course_code: Option<&str>,
) -> Result<Added> {
    user::check_username(&account.username).map_err(Error::invalid)?;
    if password.chars().count() < 8 {
        return Err(Error::invalid(
            "the password must have at least 8 characters",
        ));
    }
    let course = match course_code {
        Some(code) => Some(course::find_by_code(&app.db, code).await?.ok_or_else(|| {
            Error::NotFound(format!("there is no course {code}; import it first"))
        })?),
        None => None,
    };
    let hash = hash(password.to_string()).await?;
    let now = app.clock.now();
    let txn = begin_write(&app.db).await?;
    let (row, before) = user::save(&txn, account, Password::Replace(&hash), now).await?;
    // A new password ends every session the old one started.
    session::end_all(&txn, row.id).await?;
    let how = format!("handin user add {}", account.username);
    note_role_change(&txn, None, &row, before, how, now).await?;
    let enrolled = match course {
        Some(course) => {
            let as_ = EnrolledAs::for_role(row.role);
            enrolment::enrol(&txn, row.id, course.id, as_).await?;
            Some((course.code, as_))
        }
        None => None,
    };
    txn.commit().await?;
    Ok(Added {
        user: row,
        enrolled,
    })
}

#[derive(Debug, Default)]
pub struct RosterReport {
    /// New accounts and their first passwords, to hand out once.
    pub created: Vec<(String, String)>,
    pub updated: usize,
    pub enrolments: usize,
}

struct RosterLine {
    account: Account,
    password: String,
    course_id: Option<i32>,
}

/// Imports a roster: existing people are updated (their passwords kept),
/// new ones created with a generated first password, enrolments added.
/// Every line is checked first; a file with any bad line changes nothing.
pub async fn import(app: &App, text: &str, actor_id: Option<i32>) -> Result<RosterReport> {
    import_once(app, text, actor_id, None).await
}

/// As [`import`], from the administrators' page: `form_id` names the page's
/// form, so that sending it again (a refresh) imports nothing and says
/// the first passwords were shown once already.
pub async fn import_once(
    app: &App,
    text: &str,
    actor_id: Option<i32>,
    form_id: Option<&str>,
) -> Result<RosterReport> {
    let rows = records(text, &["username", "name", "email", "role", "course"])?;
    let courses: HashMap<String, i32> = course::Entity::find()
        .all(&app.db)
        .await?
        .into_iter()
        .map(|c| (c.code, c.id))
        .collect();
    let mut errors = Vec::new();
    let mut lines: Vec<RosterLine> = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (line, fields) in rows {
        let [username, name, email, role, course] =
            <[String; 5]>::try_from(fields).unwrap_or_default();
        let mut problems = Vec::new();
        if let Err(e) = user::check_username(&username) {
            problems.push(e);
        }
        if let Some(first) = seen.insert(username.clone(), line) {
            problems.push(format!("{username} is already on line {first}"));
        }
        if name.is_empty() {
            problems.push("the name is empty".into());
        }
        if !email.is_empty() && (!email.contains('@') || email.contains(char::is_whitespace)) {
            problems.push(format!("'{email}' is not an email address"));
        }
        let role = Role::parse(&role).map_err(|e| problems.push(e)).ok();
        let course_id = if course.is_empty() {
            None
        } else {
            let id = courses.get(&course).copied();
            if id.is_none() {
                problems.push(format!("there is no course {course}"));
            }
            id
        };
        match role {
            Some(role) if problems.is_empty() => lines.push(RosterLine {
                account: Account {
                    username,
                    display_name: name,
                    email,
                    role,
                },
                password: user::generate_password(),
                course_id,
            }),
            _ => errors.push(format!("line {line}: {}", problems.join("; "))),
        }
    }
    refuse_if_any(errors)?;
    // Hash first passwords before taking the write lock.
    let mut hashed = Vec::with_capacity(lines.len());
    for line in lines {
        let hash = hash(line.password.clone()).await?;
        hashed.push((line, hash));
    }
    let at = app.clock.now();
    let txn = begin_write(&app.db).await?;
    // Under the write lock: of two sends of one form, one imports.
    // Only the ids handin's pages make (hex): nothing else reaches the query.
    let form_id = form_id
        .filter(|id| !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_hexdigit()));
    if let Some(id) = form_id
        && let Some(earlier) = audit::imported_with_form(&txn, id).await?
    {
        return Err(Error::Conflict(format!(
            "This roster was imported already, on {}: its first passwords were shown then, \
             once, and are not kept. Nothing was imported again. To import another roster, \
             open the administration page afresh.",
            crate::domain::zone::format_local_precise(earlier, chrono_tz::UTC)
        )));
    }
    let mut report = RosterReport::default();
    for (line, hash) in hashed {
        let (row, before) = user::save(&txn, &line.account, Password::Initial(&hash), at).await?;
        match before {
            None => report.created.push((row.username.clone(), line.password)),
            Some(_) => report.updated += 1,
        }
        let how = format!("roster import: {}", row.username);
        note_role_change(&txn, actor_id, &row, before, how, at).await?;
        if let Some(course_id) = line.course_id {
            enrolment::enrol(&txn, row.id, course_id, EnrolledAs::for_role(row.role)).await?;
            report.enrolments += 1;
        }
    }
    let entry = audit::Entry {
        actor_id,
        action: "roster_imported",
        details: format!(
            "{} created, {} updated, {} enrolments{}",
            report.created.len(),
            report.updated,
            report.enrolments,
            form_id
                .map(|id| format!(" (form {id})"))
                .unwrap_or_default()
        ),
        ..Default::default()
    };
    audit::record(&txn, at, entry).await?;
    txn.commit().await?;
    Ok(report)
}
