//! What handin tells people by mail: each mail composed from a text and an
//! HTML template under `templates/mail/`, for the caller to write to the
//! outbox in the same transaction as the event (see `models::outbox`).
//! Sending is the mailer's work (`services::mailer`).
//!
//! The templates end in `.jinja`, not `.j2`: Rocket's page loader takes
//! every `.j2` under `templates/`, and would name `receipt.txt.j2` and
//! `receipt.html.j2` alike. They are built into the binary, so a mail can
//! never fail for a missing file; MiniJinja is the one Rocket renders pages with.

use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use rocket_dyn_templates::minijinja::{AutoEscape, Environment, Value, context};
use serde::Serialize;

use crate::domain::readable;
use crate::domain::zone::format_local;
use crate::models::outbox::NewMail;
use crate::models::receipt::Receipt;
use crate::models::{assignment, course, user};

const TEMPLATES: [(&str, &str); 13] = [
    (
        "layout.html.jinja",
        include_str!("../../templates/mail/layout.html.jinja"),
    ),
    (
        "receipt.txt.jinja",
        include_str!("../../templates/mail/receipt.txt.jinja"),
    ),
    (
        "receipt.html.jinja",
        include_str!("../../templates/mail/receipt.html.jinja"),
    ),
    (
        "extension.txt.jinja",
        include_str!("../../templates/mail/extension.txt.jinja"),
    ),
    (
        "extension.html.jinja",
        include_str!("../../templates/mail/extension.html.jinja"),
    ),
    (
        "request.txt.jinja",
        include_str!("../../templates/mail/request.txt.jinja"),
    ),
    (
        "request.html.jinja",
        include_str!("../../templates/mail/request.html.jinja"),
    ),
    (
        "deadline_moved.txt.jinja",
        include_str!("../../templates/mail/deadline_moved.txt.jinja"),
    ),
    (
        "deadline_moved.html.jinja",
        include_str!("../../templates/mail/deadline_moved.html.jinja"),
    ),
    (
        "reminder.txt.jinja",
        include_str!("../../templates/mail/reminder.txt.jinja"),
    ),
    (
        "reminder.html.jinja",
        include_str!("../../templates/mail/reminder.html.jinja"),
    ),
    (
        "digest.txt.jinja",
        include_str!("../../templates/mail/digest.txt.jinja"),
    ),
    (
        "digest.html.jinja",
        include_str!("../../templates/mail/digest.html.jinja"),
    ),
];

fn templates() -> &'static Environment<'static> {
    static ENVIRONMENT: OnceLock<Environment<'static>> = OnceLock::new();
    ENVIRONMENT.get_or_init(|| {
        let mut env = Environment::new();
        // Names, reasons and comments come from people: escaped in HTML,
        // as they are in pages. Text bodies are plain text.
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html.jinja") {
                AutoEscape::Html
            } else {
                AutoEscape::None
            }
        });
        env.set_trim_blocks(true);
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .unwrap_or_else(|e| panic!("mail template {name}: {e}"));
        }
        env
    })
}

/// Where links in mail point: the address people use to reach handin.
#[derive(Clone, Copy)]
pub struct Links<'a>(pub Option<&'a str>);

impl<'a> Links<'a> {
    /// Links to the app's public address, when it is configured.
    pub fn of(app: &'a crate::App) -> Links<'a> {
        Links(app.config.public_url.as_deref())
    }
}

impl Links<'_> {
    fn to(self, path: &str) -> Option<String> {
        self.0
            .map(|base| format!("{}{path}", base.trim_end_matches('/')))
    }

    fn assignment(self, course: &course::Model, assignment: &assignment::Model) -> Option<String> {
        self.to(&format!(
            "/courses/{}/assignments/{}",
            course.code, assignment.slug
        ))
    }
}

/// One mail to `person`, its bodies from `<template>.txt.jinja` and
/// `<template>.html.jinja`. None if they have no address, or (a bug, logged)
/// if a template fails: a mail must never stop the event that causes it.
fn compose(
    kind: &'static str,
    template: &str,
    person: &user::Model,
    subject: String,
    data: Value,
) -> Option<NewMail> {
    let address = person.email.trim();
    if address.is_empty() {
        return None;
    }
    let data = context! { name => person.display_name, subject => subject, ..data };
    let render = |part: &str| {
        templates()
            .get_template(&format!("{template}.{part}.jinja"))
            .and_then(|t| t.render(&data))
    };
    match (render("txt"), render("html")) {
        (Ok(text_body), Ok(html_body)) => Some(NewMail {
            kind,
            recipient_id: Some(person.id),
            to_address: address.to_string(),
            to_name: person.display_name.clone(),
            subject,
            text_body,
            html_body,
            attachment: None,
            dedupe_key: None,
        }),
        (Err(e), _) | (_, Err(e)) => {
            rocket::error!("mail template {template} failed: {e:#}");
            None
        }
    }
}

/// The receipt of an accepted attempt, with the signed receipt file
/// (its name and JSON) attached.
pub fn receipt(
    student: &user::Model,
    receipt: &Receipt,
    (attachment, json): (String, String),
    links: Links,
) -> Option<NewMail> {
    let subject = format!(
        "Receipt: {} {}, attempt {} ({})",
        receipt.course,
        receipt.assignment_title,
        receipt.judged.attempt,
        receipt.judged.status_text
    );
    let data = context! {
        r => receipt,
        attachment => attachment,
        link => links.to(&format!("/submissions/{}", receipt.id)),
    };
    let mut mail = compose("receipt", "receipt", student, subject, data)?;
    mail.attachment = Some((attachment, json));
    Some(mail)
}

/// What happened to a student's extension.
pub enum ExtensionChange {
    Granted {
        until: DateTime<Utc>,
    },
    Changed {
        before: DateTime<Utc>,
        until: DateTime<Utc>,
    },
    /// Revoked: the deadline is `deadline` again.
    Revoked {
        before: DateTime<Utc>,
        deadline: DateTime<Utc>,
    },
}

pub fn extension(
    student: &user::Model,
    course: &course::Model,
    assignment: &assignment::Model,
    change: ExtensionChange,
    reason: &str,
    links: Links,
) -> Option<NewMail> {
    let zone = course.zone();
    let (word, before, until) = match change {
        ExtensionChange::Granted { until } => ("granted", None, until),
        ExtensionChange::Changed { before, until } => ("changed", Some(before), until),
        ExtensionChange::Revoked { before, deadline } => ("revoked", Some(before), deadline),
    };
    let subject = format!("Extension {word}: {} {}", course.code, assignment.title);
    let data = context! {
        change => word,
        course => course.code,
        assignment => assignment.title,
        before => before.map(|b| format_local(b, zone)),
        until => format_local(until, zone),
        reason => reason,
        link => links.assignment(course, assignment),
    };
    compose("extension", "extension", student, subject, data)
}

/// What staff said to a student's request.
pub enum Answer {
    Approved {
        until: DateTime<Utc>,
    },
    /// Rejected: the deadline stays `deadline`.
    Rejected {
        deadline: DateTime<Utc>,
    },
    MoreInformation,
}

pub fn request_decided(
    student: &user::Model,
    course: &course::Model,
    assignment: &assignment::Model,
    answer: Answer,
    comment: &str,
    links: Links,
) -> Option<NewMail> {
    let zone = course.zone();
    let (outcome, until, headline) = match answer {
        Answer::Approved { until } => ("approved", Some(until), "approved"),
        Answer::Rejected { deadline } => ("rejected", Some(deadline), "not approved"),
        Answer::MoreInformation => ("more_information", None, "more information needed"),
    };
    let subject = format!(
        "Extension request {headline}: {} {}",
        course.code, assignment.title
    );
    let data = context! {
        outcome => outcome,
        course => course.code,
        assignment => assignment.title,
        until => until.map(|u| format_local(u, zone)),
        comment => comment,
        link => links.assignment(course, assignment),
    };
    compose("request", "request", student, subject, data)
}

pub fn deadline_moved(
    student: &user::Model,
    course: &course::Model,
    assignment: &assignment::Model,
    (before, after): (DateTime<Utc>, DateTime<Utc>),
    reason: &str,
    links: Links,
) -> Option<NewMail> {
    let zone = course.zone();
    let subject = format!(
        "Deadline moved: {} {}, now {}",
        course.code,
        assignment.title,
        format_local(after, zone)
    );
    let data = context! {
        course => course.code,
        assignment => assignment.title,
        before => format_local(before, zone),
        after => format_local(after, zone),
        reason => reason,
        link => links.assignment(course, assignment),
    };
    compose("deadline_moved", "deadline_moved", student, subject, data)
}

/// A reminder before a student's own deadline, written at most once for
/// each of the configured hours (its key says which).
pub fn reminder(
    student: &user::Model,
    course: &course::Model,
    assignment: &assignment::Model,
    (deadline, now): (DateTime<Utc>, DateTime<Utc>),
    hours: u32,
    links: Links,
) -> Option<NewMail> {
    let zone: Tz = course.zone();
    let left = readable::duration(deadline - now);
    let subject = format!(
        "Reminder: {} {} is due in {left}",
        course.code, assignment.title
    );
    let data = context! {
        course => course.code,
        assignment => assignment.title,
        deadline => format_local(deadline, zone),
        left => left,
        link => links.assignment(course, assignment),
    };
    let mut mail = compose("reminder", "reminder", student, subject, data)?;
    mail.dedupe_key = Some(reminder_key(assignment.id, student.id, deadline, hours));
    Some(mail)
}

/// One reminder per assignment, student, deadline and hour: a deadline
/// that moves (or an extension) brings its own reminders.
pub fn reminder_key(
    assignment_id: i32,
    student_id: i32,
    deadline: DateTime<Utc>,
    hours: u32,
) -> String {
    format!(
        "reminder/{assignment_id}/{student_id}/{}/{hours}h",
        deadline.timestamp()
    )
}

impl Links<'_> {
    /// The page where an assignment's requests are decided.
    pub fn requests(
        self,
        course: &course::Model,
        assignment: &assignment::Model,
    ) -> Option<String> {
        self.to(&format!(
            "/courses/{}/assignments/{}/extensions",
            course.code, assignment.slug
        ))
    }
}

/// A waiting request as a digest lists it: by candidate number where the
/// reader may not see names.
#[derive(Debug, Clone, Serialize)]
pub struct Waiting {
    pub assignment: String,
    pub student: String,
    pub until: String,
    pub asked: String,
    /// The assignment's requests page, when handin's address is known.
    pub link: Option<String>,
}

/// The day's digest of waiting requests in a course, for one person who
/// may decide them; written at most once a day.
pub fn digest(
    decider: &user::Model,
    course: &course::Model,
    day: chrono::NaiveDate,
    waiting: &[Waiting],
    links: Links,
) -> Option<NewMail> {
    let subject = format!(
        "{}: {} extension request{} waiting ({day})",
        course.code,
        waiting.len(),
        if waiting.len() == 1 { "" } else { "s" }
    );
    let data = context! {
        course => course.code,
        requests => waiting,
        link => links.to("/"),
    };
    let mut mail = compose("digest", "digest", decider, subject, data)?;
    mail.dedupe_key = Some(digest_key(course.id, decider.id, day));
    Some(mail)
}

pub fn digest_key(course_id: i32, decider_id: i32, day: chrono::NaiveDate) -> String {
    format!("digest/{course_id}/{decider_id}/{day}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(email: &str) -> user::Model {
        user::Model {
            id: 7,
            username: "alice".into(),
            display_name: "Alice <b>Smith</b>".into(),
            email: email.into(),
            role: user::Role::Student,
            password_hash: String::new(),
            created_at: Utc::now(),
            provider_identity: None,
            calendar_token: None,
            mail_reminders: true,
        }
    }

    #[test]
    fn every_template_compiles() {
        for (name, _) in TEMPLATES {
            templates().get_template(name).unwrap();
        }
    }

    #[test]
    fn names_are_escaped_in_html_and_kept_in_text() {
        let data = context! { course => "C", assignment => "A", outcome => "more_information", link => None::<String> };
        let mail = compose(
            "request",
            "request",
            &person("a@example.ac.uk"),
            "s".into(),
            data,
        )
        .unwrap();
        assert!(
            mail.html_body
                .contains("Alice &lt;b&gt;Smith&lt;&#x2f;b&gt;"),
            "{}",
            mail.html_body
        );
        assert!(mail.text_body.contains("Dear Alice <b>Smith</b>,"));
    }

    #[test]
    fn nobody_without_an_address_is_written_to() {
        let data = context! { course => "C", assignment => "A", outcome => "rejected" };
        assert!(compose("request", "request", &person("  "), "s".into(), data).is_none());
    }
}
