//! Sending mail. Every instance runs a worker that, every few seconds,
//! writes the reminders and digests that have come due to the outbox, then
//! claims queued mails and hands them to the mail server, trying again with
//! growing waits when it is down. Events never wait for any of this: their
//! mails are already in the outbox, written with them.
//!
//! A mail is claimed by one instance at a time (see `outbox::claim_due`).
//! If an instance dies after the server took a mail but before it could
//! record so, another sends it again once the claim runs out: a rare
//! duplicate, with the same Message-ID, rather than a lost receipt.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::SystemTime;

use chrono::{DateTime, TimeDelta, Utc};
use lettre::message::{Attachment, Mailbox, MultiPart, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sea_orm::DatabaseConnection;

use super::mail::{self, Links, Waiting};
use crate::clock::SharedClock;
use crate::config::AppConfig;
use crate::domain::mail::{digest_day, reminder_due, retry_at};
use crate::domain::zone::format_local;
use crate::error::Result;
use crate::models::outbox::{self, State, Tried};
use crate::models::{
    access::CourseRole, assignment, closure_day, enrolment, extension, requests, submission,
};
use crate::policy::{self, Act};

/// How long an instance may take to send the mails it claimed before
/// another may try: longer than a whole batch takes when every one of them
/// waits out the mail server's timeout (20 x 30 s).
const CLAIM: TimeDelta = TimeDelta::minutes(15);

/// The mail server's answer must come within this.
const SMTP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Mails claimed at a time.
const BATCH: u64 = 20;

/// The mail server, or none (mail goes to the log), and who mail is from.
#[derive(Clone)]
pub struct Mailer {
    transport: Option<AsyncSmtpTransport<Tokio1Executor>>,
    from: Mailbox,
    /// The server's address without its password, for the log.
    shown: String,
}

impl Mailer {
    pub fn from_config(config: &AppConfig) -> std::result::Result<Mailer, String> {
        let from: Mailbox = config
            .mail_from
            .parse()
            .map_err(|e| format!("bad configuration: mail_from '{}': {e}", config.mail_from))?;
        let Some(url) = config.mail_url.as_deref().filter(|u| !u.is_empty()) else {
            return Ok(Mailer {
                transport: None,
                from,
                shown: "the log (no mail_url set)".to_string(),
            });
        };
        let shown = match url::Url::parse(url) {
            Ok(mut parsed) => {
                let _ = parsed.set_password(None);
                parsed.to_string()
            }
            Err(e) => return Err(format!("bad configuration: mail_url: {e}")),
        };
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("bad configuration: mail_url {shown}: {e}"))?
            .timeout(Some(SMTP_TIMEOUT))
            .build();
        Ok(Mailer {
            transport: Some(transport),
            from,
            shown,
        })
    }

    /// Where mail goes, for the log and the outbox page.
    pub fn shown(&self) -> &str {
        &self.shown
    }
}

/// What the worker needs, owned, so that it can run on its own task.
#[derive(Clone)]
pub struct Post {
    pub db: DatabaseConnection,
    pub mailer: Mailer,
    pub clock: SharedClock,
    pub instance: String,
    pub reminder_hours: Vec<u32>,
    pub digest_hour: u32,
    pub first_wait: TimeDelta,
    pub public_url: Option<String>,
}

impl Post {
    pub fn new(app: &crate::App) -> Post {
        let config = &app.config;
        Post {
            db: app.db.clone(),
            mailer: app.mailer.clone(),
            clock: app.clock.clone(),
            instance: app.instance.clone(),
            reminder_hours: config.reminder_hours.clone(),
            digest_hour: config.digest_hour,
            first_wait: TimeDelta::seconds(config.mail_retry_seconds.clamp(1, 3600) as i64),
            public_url: config.public_url.clone(),
        }
    }

    fn links(&self) -> Links<'_> {
        Links(self.public_url.as_deref())
    }
}

/// What one round of the worker did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    /// Reminders and digests written to the outbox.
    pub written: u64,
    /// Mails the server took (or, with no server, the log).
    pub delivered: u64,
    /// Mails that failed and wait for another try.
    pub retrying: u64,
    /// Mails that failed for good.
    pub failed: u64,
}

/// One round: the reminders and digests now due, then every mail due.
pub async fn run_once(post: &Post) -> Result<Round> {
    let now = post.clock.now();
    let mut round = Round::default();
    // A failure to write reminders must not hold back the receipts.
    for written in [
        write_reminders(post, now).await,
        write_digests(post, now).await,
    ] {
        match written {
            Ok(n) => round.written += n,
            Err(e) => rocket::warn!("reminders or digests not written: {e}"),
        }
    }
    loop {
        // Each batch claims from the time it starts, so a claim never
        // runs out while this instance is still sending.
        let now = post.clock.now();
        let claimed = outbox::claim_due(&post.db, &post.instance, now, CLAIM, BATCH).await?;
        if claimed.is_empty() {
            return Ok(round);
        }
        for mail in claimed {
            let tried = send(post, &mail, now).await;
            match &tried {
                Tried::Delivered(_) => round.delivered += 1,
                Tried::Retry(..) => round.retrying += 1,
                Tried::Failed(_) => round.failed += 1,
            }
            outbox::record_try(&post.db, &mail, &post.instance, tried, post.clock.now()).await?;
        }
    }
}

/// Runs a round every `every` until `stop` is set.
pub fn keep_sending(
    post: Post,
    every: std::time::Duration,
    stop: Arc<std::sync::atomic::AtomicBool>,
) {
    rocket::info!("mail goes to {}", post.mailer.shown());
    rocket::tokio::spawn(async move {
        loop {
            rocket::tokio::time::sleep(every).await;
            if stop.load(std::sync::atomic::Ordering::Relaxed) {
                return;
            }
            if let Err(e) = run_once(&post).await {
                rocket::warn!("mail round failed: {e}");
            }
        }
    });
}

/// Hands one mail to the server (or the log) and says how it went.
async fn send(post: &Post, mail: &outbox::Model, now: DateTime<Utc>) -> Tried {
    let Some(transport) = &post.mailer.transport else {
        rocket::info!(
            "mail (no mail server set) to {} <{}>: {}\n{}",
            mail.to_name,
            mail.to_address,
            mail.subject,
            mail.text_body
        );
        return Tried::Delivered(State::Logged);
    };
    let message = match message(&post.mailer.from, mail) {
        Ok(message) => message,
        Err(why) => return Tried::Failed(why),
    };
    match transport.send(message).await {
        Ok(_) => Tried::Delivered(State::Sent),
        Err(e) if e.is_permanent() => Tried::Failed(e.to_string()),
        Err(e) => {
            let tries = mail.attempts + 1;
            match retry_at(tries, now, post.first_wait) {
                Some(at) => Tried::Retry(at, e.to_string()),
                None => Tried::Failed(format!("{e} (gave up after {tries} tries)")),
            }
        }
    }
}

/// The mail as it goes on the wire: text and HTML alternatives, and the
/// attachment if there is one. The Message-ID is the outbox row's, so a
/// mail sent twice is recognisably the same mail.
fn message(from: &Mailbox, mail: &outbox::Model) -> std::result::Result<Message, String> {
    let address = mail
        .to_address
        .parse()
        .map_err(|e| format!("'{}' is not a mail address: {e}", mail.to_address))?;
    let to = Mailbox::new(Some(one_line(&mail.to_name)), address);
    let domain = from.email.domain().to_string();
    let body = MultiPart::alternative_plain_html(mail.text_body.clone(), mail.html_body.clone());
    let body = match (&mail.attachment_name, &mail.attachment) {
        (Some(name), Some(content)) => {
            MultiPart::mixed()
                .multipart(body)
                .singlepart(Attachment::new(name.clone()).body(
                    content.clone(),
                    ContentType::parse("application/json").map_err(|e| e.to_string())?,
                ))
        }
        _ => body,
    };
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(one_line(&mail.subject))
        .message_id(Some(format!(
            "<outbox-{}-{}@{domain}>",
            mail.id,
            mail.created_at.timestamp_millis()
        )))
        .date(SystemTime::from(mail.created_at))
        .multipart(body)
        .map_err(|e| e.to_string())
}

/// A header's text on one line: names and titles come from people and
/// files, and a line break in a header would start another header.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Writes the reminders now due: to each student with nothing handed in
/// whose own deadline (their extension's, if they hold one) is near, unless
/// they turned reminders off. Each reminder is written once (its key).
async fn write_reminders(post: &Post, now: DateTime<Utc>) -> Result<u64> {
    let Some(furthest) = post.reminder_hours.iter().max() else {
        return Ok(0);
    };
    let horizon = now + TimeDelta::hours(i64::from(*furthest));
    let closed = closure_day::university(&post.db).await?;
    let mut written = 0;
    for (assignment, course) in assignment::deadlines_between(&post.db, now, horizon).await? {
        let handed_in: HashSet<i32> =
            submission::students_with_attempts(&post.db, assignment.id).await?;
        let extensions: HashMap<i32, DateTime<Utc>> =
            extension::until_by_student(&post.db, assignment.id).await?;
        let already =
            outbox::keys_starting(&post.db, &format!("reminder/{}/", assignment.id)).await?;
        let mut mails = Vec::new();
        for student in enrolment::students(&post.db, course.id).await? {
            if handed_in.contains(&student.id) || !student.mail_reminders {
                continue;
            }
            let rule = assignment.rule(&course, extensions.get(&student.id).copied(), &closed);
            let deadline = rule.effective_deadline();
            if !rule.accepts_upload_at(now) {
                continue;
            }
            let Some(hours) = reminder_due(deadline, now, &post.reminder_hours) else {
                continue;
            };
            if already.contains(&mail::reminder_key(
                assignment.id,
                student.id,
                deadline,
                hours,
            )) {
                continue;
            }
            mails.extend(mail::reminder(
                &student,
                &course,
                &assignment,
                (deadline, now),
                hours,
                post.links(),
            ));
        }
        written += outbox::enqueue(&post.db, mails, now).await?;
    }
    Ok(written)
}

/// Writes each course's digest of waiting requests, once a day after the
/// digest hour in the course's zone, to its staff who may decide them.
/// Where names are hidden from a reader, the digest shows candidate numbers.
async fn write_digests(post: &Post, now: DateTime<Utc>) -> Result<u64> {
    let mut written = 0;
    for (course, waiting) in requests::waiting_by_course(&post.db).await? {
        let Some(day) = digest_day(now, course.zone(), post.digest_hour) else {
            continue;
        };
        // Once written, a day's digest is not composed again every round.
        let done = outbox::keys_starting(&post.db, &format!("digest/{}/", course.id)).await?;
        let candidates = enrolment::candidates(&post.db, course.id).await?;
        let mut mails = Vec::new();
        for staff in enrolment::staff(&post.db, course.id).await? {
            if done.contains(&mail::digest_key(course.id, staff.id, day)) {
                continue;
            }
            let role = if staff.is_admin() {
                CourseRole::Admin
            } else {
                CourseRole::Marker
            };
            if !policy::allows(Some(role), Act::DecideRequest, &course) {
                continue;
            }
            let lines: Vec<Waiting> = waiting
                .iter()
                .map(|(request, assignment, student)| {
                    let hidden = policy::hides_names(role, assignment, now);
                    Waiting {
                        assignment: assignment.title.clone(),
                        student: if hidden {
                            candidates
                                .get(&student.id)
                                .cloned()
                                .unwrap_or_else(|| enrolment::unenrolled_label(student.id))
                        } else {
                            format!("{} ({})", student.display_name, student.username)
                        },
                        until: format_local(request.requested_until, course.zone()),
                        asked: format_local(request.created_at, course.zone()),
                        link: post.links().requests(&course, assignment),
                    }
                })
                .collect();
            mails.extend(mail::digest(&staff, &course, day, &lines, post.links()));
        }
        written += outbox::enqueue(&post.db, mails, now).await?;
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(subject: &str, to_name: &str) -> outbox::Model {
        let at = chrono::DateTime::parse_from_rfc3339("2026-05-29T15:00:00Z")
            .unwrap()
            .to_utc();
        outbox::Model {
            id: 7,
            kind: "receipt".into(),
            recipient_id: None,
            to_address: "alice@example.ac.uk".into(),
            to_name: to_name.into(),
            subject: subject.into(),
            text_body: "text".into(),
            html_body: "<p>html</p>".into(),
            attachment_name: Some("receipt.json".into()),
            attachment: Some("{}".into()),
            dedupe_key: None,
            state: State::Queued,
            attempts: 0,
            next_attempt_at: at,
            claimed_by: None,
            claimed_until: None,
            last_error: None,
            created_at: at,
            sent_at: None,
        }
    }

    fn wire(mail: &outbox::Model) -> String {
        let from: Mailbox = "handin <handin@example.ac.uk>".parse().unwrap();
        String::from_utf8(message(&from, mail).unwrap().formatted()).unwrap()
    }

    #[test]
    fn a_line_break_in_a_title_or_a_name_cannot_add_a_header() {
        let raw = wire(&mail(
            "Lab 1\r\nBcc: eve@example.com",
            "Eve\nBcc: eve@example.com",
        ));
        assert!(!raw.to_lowercase().contains("\r\nbcc:"), "{raw}");
    }

    #[test]
    fn the_message_id_is_the_outbox_row_s_so_a_resent_mail_is_the_same_mail() {
        let mail = mail("Receipt", "Alice");
        let id = format!(
            "Message-ID: <outbox-7-{}@example.ac.uk>",
            mail.created_at.timestamp_millis()
        );
        assert!(wire(&mail).contains(&id), "{}", wire(&mail));
    }

    #[test]
    fn a_bad_address_fails_for_good_rather_than_being_retried() {
        let mut bad = mail("Receipt", "Alice");
        bad.to_address = "not an address".into();
        let from: Mailbox = "handin <handin@example.ac.uk>".parse().unwrap();
        assert!(
            message(&from, &bad)
                .unwrap_err()
                .contains("not a mail address")
        );
    }
}
