//! Extension requests: a student asks (with optional evidence), staff
//! approve (granting the extension in the same transaction), reject, or ask
//! for more information.

use chrono::{DateTime, Utc};

use sea_orm::EntityTrait;

use super::evidence;
use super::mail::{self, Answer, Links};
use super::{Scope, extensions, keep_recorded, short_text};
use crate::App;
use crate::db::begin_write;
use crate::domain::zone::parse_instant;
use crate::error::{Error, Result};
use crate::models::requests::{self, Ask, Asked, Outcome};
use crate::models::{closure_day, extension, outbox, user};
use crate::policy::Act;
use crate::storage::{Received, Shelf};

/// The largest evidence file a student may attach.
pub const EVIDENCE_LIMIT: u64 = 10 * 1024 * 1024;

/// An evidence file as received, with the name the browser gave it.
pub struct Evidence {
    pub name: String,
    pub received: Received,
}

/// Files a student's request, or updates their open one.
pub async fn ask(
    app: &App,
    scope: &Scope,
    until: &str,
    reason: &str,
    evidence: Option<Evidence>,
) -> Result<()> {
    scope.require(Act::AskForExtension)?;
    let until = parse_instant(until, scope.course.zone())
        .map_err(|e| Error::invalid(format!("The deadline you ask for: {e}.")))?;
    let reason = short_text("reason", reason)?;
    if reason.is_empty() {
        return Err(Error::invalid("Please say why you need an extension."));
    }
    let file = |evidence: Option<(String, String)>| Ask {
        requested_until: until,
        reason: reason.to_string(),
        evidence,
    };
    let asked = match evidence.filter(|e| e.received.size > 0) {
        None => file_request(app, scope, file(None)).await?,
        Some(Evidence { name, received }) => {
            let name = if name.trim().is_empty() {
                "evidence".to_string()
            } else {
                name
            };
            keep_recorded(app, received, Shelf::Evidence, |stored| {
                file_request(app, scope, file(Some((stored, name))))
            })
            .await?
        }
    };
    if let Some(old) = asked {
        app.uploads.discard(&old).await;
    }
    Ok(())
}

/// Files the request; returns the evidence file it no longer names, if any.
async fn file_request(app: &App, scope: &Scope, ask: Ask) -> Result<Option<String>> {
    let asked = requests::ask(
        &app.db,
        scope.course.id,
        scope.assignment.id,
        scope.user.id,
        ask,
        app.clock.now(),
    )
    .await?;
    match asked {
        Asked::Saved {
            superseded_evidence,
        } => Ok(superseded_evidence),
        Asked::TooMany => Err(Error::Conflict(format!(
            "You have asked {} times for this assignment. Please speak to the course's administrator.",
            requests::MAX_REQUESTS
        ))),
    }
}

/// The student takes back their own open request.
pub async fn withdraw(app: &App, scope: &Scope, request_id: i32) -> Result<()> {
    scope.require(Act::AskForExtension)?;
    let who = (scope.course.id, scope.assignment.id, scope.user.id);
    if requests::withdraw(&app.db, who, request_id, app.clock.now()).await? {
        Ok(())
    } else {
        Err(Error::Conflict(
            "That request is not open any more: it was decided or withdrawn already.".into(),
        ))
    }
}

/// What staff decided, as a form or the API says it.
fn outcome(decision: &str, until: &str, comment: &str, scope: &Scope) -> Result<Outcome> {
    match decision {
        "approve" => {
            let until: DateTime<Utc> = parse_instant(until, scope.course.zone())
                .map_err(|e| e.to_string())
                .and_then(|until| extensions::gives_more_time(scope, until))
                .map_err(|e| Error::invalid(format!("The new deadline: {e}.")))?;
            Ok(Outcome::Approve { until })
        }
        "reject" | "more_information" if comment.is_empty() => Err(Error::invalid(
            "Please tell the student why, in the comment.",
        )),
        "reject" => Ok(Outcome::Reject),
        "more_information" => Ok(Outcome::MoreInformation),
        _ => Err(Error::Malformed(
            "Choose approve, reject or more_information.".into(),
        )),
    }
}

/// Decides an open request; an approval grants the extension in the same
/// transaction.
pub async fn decide(
    app: &App,
    scope: &Scope,
    request_id: i32,
    decision: &str,
    until: &str,
    comment: &str,
) -> Result<()> {
    scope.require(Act::DecideRequest)?;
    let comment = short_text("comment", comment)?;
    let outcome = outcome(decision, until, comment, scope)?;
    let decision = extensions::decision(app, scope);
    let txn = begin_write(&app.db).await?;
    let Some(row) = requests::open_one(&txn, scope.assignment.id, request_id).await? else {
        return Err(Error::Conflict("That request is not open any more.".into()));
    };
    if let Outcome::Approve { until } = outcome {
        // The extension keeps why the student asked, and what the decider said.
        let reason = if comment.is_empty() {
            format!("requested: {}", row.reason)
        } else {
            format!("requested: {}; approved: {comment}", row.reason)
        };
        let grant = extension::Grant {
            student_id: row.student_id,
            until,
            reason,
        };
        extension::grant_one(&txn, &decision, &grant).await?;
        if let Some(student) = user::Entity::find_by_id(grant.student_id).one(&txn).await? {
            let facts = extensions::extension_facts(scope, &student, Some(until));
            evidence::log_change(&txn, &app.notary, "extension_granted", facts, decision.at)
                .await?;
        }
    }
    let student_id = row.student_id;
    requests::record_decision(&txn, &decision, row, &outcome, comment).await?;
    let answer = match outcome {
        Outcome::Approve { until } => Answer::Approved { until },
        Outcome::Reject => {
            let held = extension::until_for(&txn, scope.assignment.id, student_id).await?;
            let closed = closure_day::university(&txn).await?;
            let rule = scope.assignment.rule(&scope.course, held, &closed);
            Answer::Rejected {
                deadline: rule.effective_deadline(),
            }
        }
        Outcome::MoreInformation => Answer::MoreInformation,
    };
    if let Some(student) = user::Entity::find_by_id(student_id).one(&txn).await? {
        let (course, assignment) = (&scope.course, &scope.assignment);
        let told = mail::request_decided(
            &student,
            course,
            assignment,
            answer,
            comment,
            Links::of(app),
        );
        outbox::enqueue(&txn, told.into_iter().collect(), decision.at).await?;
    }
    txn.commit().await?;
    Ok(())
}
