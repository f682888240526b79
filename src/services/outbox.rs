//! The outbox as administrators see it: every mail, whether it went (and
//! the mail server's answer when it did not), and sending one again.

use chrono::SecondsFormat;
use sea_orm::EntityTrait;
use serde::Serialize;

use crate::App;
use crate::domain::zone::format_local;
use crate::error::{Error, Result};
use crate::models::outbox::{self, State};
use crate::models::{audit, user};
use crate::policy::{self, Act};

/// Mails shown on the page at once (the newest).
const SHOWN: u64 = 500;

#[derive(Debug, Serialize)]
pub struct MailView {
    pub id: i32,
    pub kind: String,
    pub to: String,
    pub subject: String,
    pub state: &'static str,
    pub attempts: i32,
    pub created_at: String,
    pub created_local: String,
    pub sent_local: Option<String>,
    pub next_try_local: Option<String>,
    pub last_error: Option<String>,
    pub text_body: String,
    pub attachment_name: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Outbox {
    /// Where mail goes: the server's address, or the log.
    pub goes_to: String,
    pub counts: Vec<(&'static str, i64)>,
    pub mails: Vec<MailView>,
}

fn require_admin(who: &user::Model) -> Result<()> {
    if policy::allows_everywhere(who, Act::Administer) {
        Ok(())
    } else {
        Err(Error::Forbidden(
            "Only administrators can see the outbox.".to_string(),
        ))
    }
}

/// The newest mails, those in `state` only (`queued`, `sent`, `logged`,
/// `failed`) if one is given. Times are in UTC: mail crosses courses.
pub async fn list(app: &App, who: &user::Model, state: Option<&str>) -> Result<Outbox> {
    require_admin(who)?;
    let state = match state.filter(|s| !s.is_empty()) {
        None => None,
        Some(text) => Some(State::parse(text).ok_or_else(|| {
            Error::invalid(format!(
                "There is no state '{text}': use queued, sent, logged or failed."
            ))
        })?),
    };
    let zone = chrono_tz::UTC;
    let mails = outbox::newest(&app.db, state, SHOWN)
        .await?
        .into_iter()
        .map(|m| MailView {
            id: m.id,
            kind: m.kind,
            to: format!("{} <{}>", m.to_name, m.to_address),
            subject: m.subject,
            state: m.state.as_str(),
            attempts: m.attempts,
            created_at: m.created_at.to_rfc3339_opts(SecondsFormat::Millis, true),
            created_local: format_local(m.created_at, zone),
            sent_local: m.sent_at.map(|t| format_local(t, zone)),
            next_try_local: (m.state == State::Queued && m.attempts > 0)
                .then(|| format_local(m.next_attempt_at, zone)),
            last_error: m.last_error,
            text_body: m.text_body,
            attachment_name: m.attachment_name,
        })
        .collect();
    let counts = outbox::counts(&app.db)
        .await?
        .into_iter()
        .map(|(state, n)| (state.as_str(), n))
        .collect();
    Ok(Outbox {
        goes_to: app.mailer.shown().to_string(),
        counts,
        mails,
    })
}

/// Sends a mail again (one that failed, went to the log, or that its
/// reader lost), on the record.
pub async fn resend(app: &App, who: &user::Model, id: i32) -> Result<()> {
    require_admin(who)?;
    let Some(mail) = outbox::Entity::find_by_id(id).one(&app.db).await? else {
        return Err(Error::not_found("mail"));
    };
    if mail.state == State::Queued {
        return Err(Error::Conflict(
            "That mail is already waiting to be sent.".to_string(),
        ));
    }
    let now = app.clock.now();
    let txn = crate::db::begin_write(&app.db).await?;
    outbox::resend(&txn, id, now).await?;
    let entry = audit::Entry {
        actor_id: Some(who.id),
        action: "mail_resent",
        student_id: mail.recipient_id,
        details: format!("mail {id} to {}: {}", mail.to_address, mail.subject),
        ..Default::default()
    };
    audit::record(&txn, now, entry).await?;
    txn.commit().await?;
    Ok(())
}
