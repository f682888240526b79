//! Extensions: granting one deadline to one student or several, editing,
//! revoking, and importing them from a CSV, each on the record. Students
//! are named as the caller sees them: by username, or by candidate number
//! where the policy hides names.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::Serialize;

use super::evidence;
use super::lines::{records, refuse_if_any};
use super::mail::{self, ExtensionChange, Links};
use super::{Scope, short_text};
use crate::App;
use crate::db::begin_write;
use crate::domain::zone::{form_value, format_local, parse_instant};
use crate::error::{Error, Result};
use crate::models::access::{self, CourseRole};
use crate::models::requests::{self, RequestView};
use crate::models::{enrolment, extension, outbox, user};
use crate::policy::Act;

/// An extension as the pages and the API show it.
#[derive(Debug, Serialize)]
pub struct ExtensionView {
    /// The username, or the candidate number where names are hidden.
    pub student: String,
    pub name: String,
    pub until: String,
    pub until_local: String,
    pub until_form: String,
    pub reason: String,
    pub granted_by: String,
    pub granted_at: String,
}

/// Who decides, on which assignment, and when: the person in scope, now.
pub fn decision(app: &App, scope: &Scope) -> extension::Decision {
    extension::Decision {
        course_id: scope.course.id,
        assignment_id: scope.assignment.id,
        by: scope.user.id,
        at: app.clock.now(),
    }
}

/// How the caller sees a student: (label, name), the name empty where names
/// are hidden.
fn shown(
    scope: &Scope,
    student: &user::Model,
    candidates: &HashMap<i32, String>,
) -> (String, String) {
    if scope.hides_names {
        (
            candidates.get(&student.id).cloned().unwrap_or_default(),
            String::new(),
        )
    } else {
        (student.username.clone(), student.display_name.clone())
    }
}

/// A student of the course, by the label the caller sees.
pub async fn student(app: &App, scope: &Scope, label: &str) -> Result<user::Model> {
    let not_found = || Error::not_found(format!("student {label} in {}", scope.course.code));
    let user = if scope.hides_names {
        let candidates = enrolment::candidates(&app.db, scope.course.id).await?;
        let id = candidates
            .iter()
            .find(|(_, c)| *c == label)
            .map(|(id, _)| *id)
            .ok_or_else(not_found)?;
        user::Entity::find_by_id(id).one(&app.db).await?
    } else {
        user::find_by_username(&app.db, label).await?
    }
    .ok_or_else(not_found)?;
    match access::role_in(&app.db, &user, scope.course.id).await? {
        Some(CourseRole::Student) => Ok(user),
        _ => Err(not_found()),
    }
}

/// Every extension on the assignment, by student.
pub async fn list(app: &App, scope: &Scope) -> Result<Vec<ExtensionView>> {
    scope.require(Act::GrantExtension)?;
    let rows = extension::of_assignment(&app.db, scope.assignment.id).await?;
    let ids: Vec<i32> = rows
        .iter()
        .flat_map(|e| [e.student_id, e.granted_by])
        .collect();
    let users: HashMap<i32, user::Model> = user::Entity::find()
        .filter(user::Column::Id.is_in(ids))
        .all(&app.db)
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    let candidates = enrolment::candidates(&app.db, scope.course.id).await?;
    let zone = scope.course.zone();
    let mut views: Vec<ExtensionView> = rows
        .into_iter()
        .filter_map(|e| {
            let (student, name) = shown(scope, users.get(&e.student_id)?, &candidates);
            Some(ExtensionView {
                student,
                name,
                until: e.until.with_timezone(&zone).to_rfc3339(),
                until_local: format_local(e.until, zone),
                until_form: form_value(e.until, zone),
                reason: e.reason,
                granted_by: users
                    .get(&e.granted_by)
                    .map(|u| u.username.clone())
                    .unwrap_or_default(),
                granted_at: format_local(e.granted_at, zone),
            })
        })
        .collect();
    views.sort_by(|a, b| a.student.cmp(&b.student));
    Ok(views)
}

/// What the extensions page lists besides the extensions themselves.
pub struct Overview {
    /// (label, name) of every student, to choose from.
    pub students: Vec<(String, String)>,
    /// Every request on the assignment, open ones first.
    pub requests: Vec<RequestView>,
}

pub async fn overview(app: &App, scope: &Scope) -> Result<Overview> {
    scope.require(Act::GrantExtension)?;
    let candidates = enrolment::candidates(&app.db, scope.course.id).await?;
    let mut students: Vec<(String, String)> = enrolment::students(&app.db, scope.course.id)
        .await?
        .iter()
        .map(|u| shown(scope, u, &candidates))
        .collect();
    students.sort();
    let mut requests = requests::for_staff(&app.db, &scope.course, &scope.assignment).await?;
    if scope.hides_names {
        for request in &mut requests {
            let candidate = candidates.get(&request.student_id).cloned();
            request.anonymise(candidate.unwrap_or_default());
        }
    }
    Ok(Overview { students, requests })
}

/// The rules every granted extension meets, however it is granted: a
/// deadline that exists in the course's zone, and a reason for the record.
/// Each problem is returned bare ("the reason is empty"); the form and the
/// CSV import word them for their readers.
struct Checked {
    until: Result<DateTime<Utc>, String>,
    reason: Result<String, ReasonProblem>,
}

enum ReasonProblem {
    Empty,
    TooLong(Error),
}

fn check_grant(scope: &Scope, until: &str, reason: &str) -> Checked {
    Checked {
        until: parse_instant(until, scope.course.zone())
            .map_err(|e| e.to_string())
            .and_then(|until| gives_more_time(scope, until)),
        reason: match short_text("reason", reason) {
            Ok("") => Err(ReasonProblem::Empty),
            Ok(reason) => Ok(reason.to_string()),
            Err(e) => Err(ReasonProblem::TooLong(e)),
        },
    }
}

/// An extension must end after the assignment's own deadline: an earlier
/// one would change nothing, and would only look as if it had.
pub(super) fn gives_more_time(
    scope: &Scope,
    until: DateTime<Utc>,
) -> std::result::Result<DateTime<Utc>, String> {
    let (due, zone) = (scope.assignment.due_at, scope.course.zone());
    if until <= due {
        return Err(format!(
            "{} is not after the assignment's deadline ({}): an extension must give more time",
            format_local(until, zone),
            format_local(due, zone)
        ));
    }
    Ok(until)
}

/// Grants one new deadline to the students named by `labels`, all or none.
pub async fn grant(
    app: &App,
    scope: &Scope,
    labels: &[&str],
    until: &str,
    reason: &str,
) -> Result<DateTime<Utc>> {
    scope.require(Act::GrantExtension)?;
    if labels.is_empty() {
        return Err(Error::invalid("Choose at least one student."));
    }
    let mut students = Vec::new();
    for label in labels {
        students.push(student(app, scope, label).await?.id);
    }
    let checked = check_grant(scope, until, reason);
    let until = checked
        .until
        .map_err(|e| Error::invalid(format!("The new deadline: {e}.")))?;
    let reason = checked.reason.map_err(|problem| match problem {
        ReasonProblem::Empty => {
            Error::invalid("Please give a reason for the extension: it goes on the record.")
        }
        ReasonProblem::TooLong(e) => e,
    })?;
    let grants: Vec<extension::Grant> = students
        .into_iter()
        .map(|student_id| extension::Grant {
            student_id,
            until,
            reason: reason.clone(),
        })
        .collect();
    grant_all(app, scope, &grants).await?;
    Ok(until)
}

/// Grants (or changes) extensions, all or none, each on the record, and
/// tells each student by mail in the same transaction.
async fn grant_all(app: &App, scope: &Scope, grants: &[extension::Grant]) -> Result<()> {
    let ids = grants.iter().map(|g| g.student_id);
    let students = user::Entity::find()
        .filter(user::Column::Id.is_in(ids))
        .all(&app.db)
        .await?;
    let decision = decision(app, scope);
    let txn = begin_write(&app.db).await?;
    let mut mails = Vec::new();
    for grant in grants {
        let held = extension::grant_one(&txn, &decision, grant).await?;
        let change = match held {
            None => ExtensionChange::Granted { until: grant.until },
            Some(before) => ExtensionChange::Changed {
                before,
                until: grant.until,
            },
        };
        if let Some(student) = students.iter().find(|s| s.id == grant.student_id) {
            let (course, assignment) = (&scope.course, &scope.assignment);
            let facts = extension_facts(scope, student, Some(grant.until));
            evidence::log_change(&txn, &app.notary, "extension_granted", facts, decision.at)
                .await?;
            mails.extend(mail::extension(
                student,
                course,
                assignment,
                change,
                &grant.reason,
                Links::of(app),
            ));
        }
    }
    outbox::enqueue(&txn, mails, decision.at).await?;
    txn.commit().await?;
    Ok(())
}

/// What the evidence log records of an extension granted (its new
/// deadline) or revoked (none).
pub fn extension_facts(
    scope: &Scope,
    student: &user::Model,
    until: Option<DateTime<Utc>>,
) -> serde_json::Value {
    serde_json::json!({
        "course": scope.course.code,
        "assignment": scope.assignment.slug,
        "student": student.username,
        "until": until.map(|u| u.to_rfc3339()),
    })
}

/// Revokes a student's extension (and marks the request it came from
/// revoked); `false` if they held none.
pub async fn revoke(app: &App, scope: &Scope, label: &str, reason: &str) -> Result<bool> {
    scope.require(Act::GrantExtension)?;
    let student = student(app, scope, label).await?;
    let reason = match short_text("reason", reason)? {
        "" => "revoked",
        given => given,
    };
    let decision = decision(app, scope);
    let txn = begin_write(&app.db).await?;
    let held = extension::remove(&txn, &decision, student.id, reason).await?;
    if let Some(before) = held {
        requests::mark_revoked(&txn, scope.assignment.id, student.id).await?;
        let facts = extension_facts(scope, &student, None);
        evidence::log_change(&txn, &app.notary, "extension_revoked", facts, decision.at).await?;
        let change = ExtensionChange::Revoked {
            before,
            deadline: scope.assignment.due_at,
        };
        let (course, assignment) = (&scope.course, &scope.assignment);
        let told = mail::extension(&student, course, assignment, change, reason, Links::of(app));
        outbox::enqueue(&txn, told.into_iter().collect(), decision.at).await?;
    }
    txn.commit().await?;
    Ok(held.is_some())
}

/// Imports `username,until,reason` lines (the first column holds candidate
/// numbers where names are hidden). Every line is checked first; a file
/// with any bad line changes nothing. Returns how many were granted.
pub async fn import(app: &App, scope: &Scope, text: &str) -> Result<usize> {
    scope.require(Act::GrantExtension)?;
    let rows = records(text, &["username", "until", "reason"])?;
    let students: HashMap<String, i32> = if scope.hides_names {
        enrolment::candidates(&app.db, scope.course.id)
            .await?
            .into_iter()
            .map(|(id, c)| (c, id))
            .collect()
    } else {
        enrolment::students(&app.db, scope.course.id)
            .await?
            .into_iter()
            .map(|u| (u.username, u.id))
            .collect()
    };
    let mut errors = Vec::new();
    let mut grants = Vec::new();
    let mut seen: HashMap<i32, usize> = HashMap::new();
    for (line, fields) in rows {
        let [label, until, reason] = <[String; 3]>::try_from(fields).unwrap_or_default();
        let mut problems = Vec::new();
        let student = students.get(&label).copied();
        match student {
            None => problems.push(format!("{label} is not a student of {}", scope.course.code)),
            Some(id) => {
                if let Some(first) = seen.insert(id, line) {
                    problems.push(format!("{label} is already on line {first}"));
                }
            }
        }
        let checked = check_grant(scope, &until, &reason);
        let until = checked.until.map_err(|e| problems.push(e)).ok();
        let reason = checked
            .reason
            .map_err(|problem| match problem {
                ReasonProblem::Empty => problems.push("the reason is empty".into()),
                ReasonProblem::TooLong(e) => problems.push(e.to_string()),
            })
            .ok();
        if let (Some(student_id), Some(until), Some(reason)) = (student, until, reason)
            && problems.is_empty()
        {
            grants.push(extension::Grant {
                student_id,
                until,
                reason,
            });
        }
        if !problems.is_empty() {
            errors.push(format!("line {line}: {}", problems.join("; ")));
        }
    }
    refuse_if_any(errors)?;
    grant_all(app, scope, &grants).await?;
    Ok(grants.len())
}
