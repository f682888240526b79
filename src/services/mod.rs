//! Use cases: what people do with handin, called alike by the web layer,
//! the command line and the tests. Each takes the app's parts, a [`Scope`]
//! or a user, and plain values; each answers with a typed
//! [`Error`](crate::error::Error). Access is decided by `crate::policy`
//! before (for a scope) or inside (for things found by id) each use case.

pub mod accounts;
pub mod audit_log;
pub mod calendar;
pub mod catalogue;
pub mod evidence;
pub mod exports;
pub mod extensions;
pub mod feedback;
pub mod hand_in;
pub mod health;
mod lines;
pub mod mail;
pub mod mailer;
pub mod marks;
pub mod outbox;
pub mod overview;
pub mod requests;
pub mod roster;
pub mod sign_in;
pub mod tokens;
pub mod transfer;
pub mod verify;
pub mod work;

use std::future::Future;

use crate::App;
use crate::error::{Error, Result};
use crate::models::access::{self, CourseRole};
use crate::models::marking::Naming;
use crate::models::{assignment, course, user};
use crate::policy::{self, Act};
use crate::storage::{Received, Shelf};

/// An assignment and the person acting on it, with what the policy said.
#[derive(Debug, Clone)]
pub struct Scope {
    pub user: user::Model,
    pub course: course::Model,
    pub assignment: assignment::Model,
    pub role: CourseRole,
    /// Students are named by candidate number only (anyone but an
    /// administrator, on an anonymous assignment, until marks are released).
    pub hides_names: bool,
    naming: Naming,
}

impl Scope {
    /// Finds the assignment by its course code and slug, and checks that
    /// `user` may do `act` there: 404 if there is none, 403 if not allowed.
    pub async fn find(
        app: &App,
        user: user::Model,
        code: &str,
        slug: &str,
        act: Act,
    ) -> Result<Scope> {
        let (course, assignment) = assignment::find_by_codes(&app.db, code, slug)
            .await?
            .ok_or_else(|| Error::not_found("assignment"))?;
        let role = access::role_in(&app.db, &user, course.id).await?;
        // One instant for both: at the release they must agree.
        let now = app.clock.now();
        match role {
            Some(role) if policy::allows(Some(role), act, &course) => Ok(Scope {
                naming: policy::naming(role, &assignment, now),
                hides_names: policy::hides_names(role, &assignment, now),
                user,
                course,
                assignment,
                role,
            }),
            _ => Err(Error::Forbidden(policy::refusal(act, &course, &assignment))),
        }
    }

    /// How the marker's table names students for the person in scope.
    pub fn naming(&self) -> Naming {
        self.naming
    }

    /// Whether the person in scope may also do `act` here.
    pub fn allows(&self, act: Act) -> bool {
        policy::allows(Some(self.role), act, &self.course)
    }

    /// Refuses unless the person in scope may do `act` here: each use case
    /// says what it needs, whatever scope its caller found.
    pub fn require(&self, act: Act) -> Result<()> {
        if self.allows(act) {
            Ok(())
        } else {
            Err(Error::Forbidden(policy::refusal(
                act,
                &self.course,
                &self.assignment,
            )))
        }
    }
}

/// Keeps a received file and writes the row that names it; if the row
/// cannot be written, the kept file is removed again, so no file is ever
/// left that no row names. `record` gets the stored path.
pub async fn keep_recorded<T, F>(
    app: &App,
    received: Received,
    shelf: Shelf,
    record: impl FnOnce(String) -> F,
) -> Result<T>
where
    F: Future<Output = Result<T>>,
{
    let stored = app.uploads.keep(received, shelf).await?;
    match record(stored.clone()).await {
        Ok(done) => Ok(done),
        Err(error) => {
            // A lost connection can fail a COMMIT that went through: the
            // file goes only when no row is known to name it. If the
            // database cannot say, the file stays, for the sweep to set aside.
            if let Ok(false) = is_named(app, &stored).await {
                app.uploads.discard(&stored).await;
            }
            Err(error)
        }
    }
}

/// Whether a row names this stored file (a submission, a request's
/// evidence, or a feedback file).
async fn is_named(app: &App, stored: &str) -> std::result::Result<bool, sea_orm::DbErr> {
    use crate::models::{feedback_file, requests, submission};
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    let bundles = submission::Entity::find()
        .filter(submission::Column::StoredPath.eq(stored))
        .count(&app.db)
        .await?;
    let evidence = requests::Entity::find()
        .filter(requests::Column::EvidencePath.eq(stored))
        .count(&app.db)
        .await?;
    let feedback = feedback_file::Entity::find()
        .filter(feedback_file::Column::StoredPath.eq(stored))
        .count(&app.db)
        .await?;
    Ok(bundles + evidence + feedback > 0)
}

/// Reasons and comments go on the record and into pages: keep them short.
pub const TEXT_LIMIT: usize = 2000;

/// The trimmed text, or a refusal naming the field if it is too long.
pub fn short_text<'a>(what: &str, text: &'a str) -> Result<&'a str> {
    let text = text.trim();
    if text.chars().count() > TEXT_LIMIT {
        return Err(Error::invalid(format!(
            "The {what} is too long: at most {TEXT_LIMIT} characters, please."
        )));
    }
    Ok(text)
}
