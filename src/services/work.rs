//! A student's work found by id (a receipt, a bundle, a request's
//! evidence): each is shown to its author and to those the policy allows,
//! and to anyone else it does not exist (404, never 403: an id must not
//! tell whether someone else's work is there).

use sea_orm::EntityTrait;

use crate::App;
use crate::error::{Error, Result};
use crate::models::access;
use crate::models::receipt::Receipt;
use crate::models::{
    assignment, course, enrolment, extension, feedback_file, marking, requests, submission, user,
};
use crate::policy::{self, Act};

/// The assignment a piece of work belongs to, found for someone allowed to
/// see it.
struct Found {
    course: course::Model,
    assignment: assignment::Model,
    /// Whether the caller sees the author by candidate number only.
    hides_author: bool,
}

async fn find(
    app: &App,
    who: &user::Model,
    assignment_id: i32,
    author_id: i32,
    act: impl Fn(bool) -> Act,
    what: &str,
) -> Result<Found> {
    let hidden = || Error::not_found(what);
    let assignment = assignment::Entity::find_by_id(assignment_id)
        .one(&app.db)
        .await?
        .ok_or_else(hidden)?;
    let course = course::Entity::find_by_id(assignment.course_id)
        .one(&app.db)
        .await?
        .ok_or_else(hidden)?;
    let own = author_id == who.id;
    let role = access::role_in(&app.db, who, course.id).await?;
    if !policy::allows(role, act(own), &course) {
        return Err(hidden());
    }
    Ok(Found {
        hides_author: !own
            && role.is_some_and(|r| policy::hides_names(r, &assignment, app.clock.now())),
        course,
        assignment,
    })
}

/// A submission, for its author and whoever marks its course.
async fn submission(app: &App, who: &user::Model, id: i32) -> Result<(submission::Model, Found)> {
    let row = submission::Entity::find_by_id(id)
        .one(&app.db)
        .await?
        .ok_or_else(|| Error::not_found("submission"))?;
    let see = |own| Act::SeeWork { own };
    let found = find(
        app,
        who,
        row.assignment_id,
        row.student_id,
        see,
        "submission",
    )
    .await?;
    Ok((row, found))
}

/// A submission's receipt, anonymised for markers under anonymous marking.
pub async fn receipt(app: &App, who: &user::Model, id: i32) -> Result<Receipt> {
    let (row, found) = submission(app, who, id).await?;
    let student = user::Entity::find_by_id(row.student_id)
        .one(&app.db)
        .await?
        .ok_or_else(|| Error::not_found("submission"))?;
    let until = extension::until_for(&app.db, row.assignment_id, row.student_id).await?;
    let receipt = Receipt::build(&row, &found.assignment, &found.course, &student, until);
    if found.hides_author {
        let candidate = enrolment::candidate_of(&app.db, found.course.id, row.student_id).await?;
        return Ok(receipt.anonymise(candidate));
    }
    Ok(receipt)
}

/// A stored file to send, under the name the server chose for it.
pub struct StoredFile {
    /// The stored name, in the uploads store.
    pub stored: String,
    pub name: String,
    /// Hex SHA-256, for bundles.
    pub sha256: Option<String>,
}

/// A submission's bundle, named `COURSE-slug-LABEL-attemptN.zip`.
pub async fn bundle(app: &App, who: &user::Model, id: i32) -> Result<StoredFile> {
    let (row, found) = submission(app, who, id).await?;
    let label = if found.hides_author {
        enrolment::candidate_of(&app.db, found.course.id, row.student_id).await?
    } else {
        user::Entity::find_by_id(row.student_id)
            .one(&app.db)
            .await?
            .map(|u| u.username)
            .unwrap_or_else(|| enrolment::unenrolled_label(row.student_id))
    };
    Ok(StoredFile {
        stored: row.stored_path,
        name: marking::download_name(&found.course, &found.assignment, &label, row.attempt),
        sha256: Some(row.sha256),
    })
}

/// An extension request's evidence: for its author and whoever may decide it.
pub async fn evidence(app: &App, who: &user::Model, id: i32) -> Result<StoredFile> {
    let row = requests::Entity::find_by_id(id)
        .one(&app.db)
        .await?
        .ok_or_else(|| Error::not_found("request"))?;
    find(
        app,
        who,
        row.assignment_id,
        row.student_id,
        |own| Act::SeeEvidence { own },
        "request",
    )
    .await?;
    let path = row
        .evidence_path
        .ok_or_else(|| Error::not_found("evidence"))?;
    Ok(StoredFile {
        stored: path,
        name: format!("evidence-{id}"),
        sha256: None,
    })
}

/// A feedback file: for the student it was returned to, once the marks are
/// released, and for whoever marks the course.
pub async fn feedback_file(app: &App, who: &user::Model, id: i32) -> Result<StoredFile> {
    let hidden = || Error::not_found("feedback file");
    let row = feedback_file::Entity::find_by_id(id)
        .one(&app.db)
        .await?
        .ok_or_else(hidden)?;
    let see = |own| {
        if own {
            Act::SeeWork { own: true }
        } else {
            Act::Mark
        }
    };
    let found = find(
        app,
        who,
        row.assignment_id,
        row.student_id,
        see,
        "feedback file",
    )
    .await?;
    let own = row.student_id == who.id;
    if own && !found.assignment.marks_released(app.clock.now()) {
        return Err(hidden());
    }
    Ok(StoredFile {
        stored: row.stored_path,
        name: format!(
            "{}-{}-feedback-{}",
            found.course.code,
            found.assignment.slug,
            plain_name(&row.name)
        ),
        sha256: Some(row.sha256),
    })
}

/// A marker's file name as a download may carry it without quoting: ASCII
/// letters, digits, dots, dashes and underscores; anything else becomes `_`.
fn plain_name(name: &str) -> String {
    let last = name.rsplit('/').next().unwrap_or(name);
    let plain: String = last
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    plain.trim_start_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::plain_name;

    #[test]
    fn download_names_are_plain() {
        assert_eq!(plain_name("marked/Rückmeldung 1.pdf"), "R_ckmeldung_1.pdf");
        assert_eq!(plain_name("\"quoted\";.html"), "_quoted__.html");
        assert_eq!(plain_name("..hidden"), "hidden");
    }
}
