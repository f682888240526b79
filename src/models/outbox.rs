//! The outbox: every mail handin means to send, written in the same
//! transaction as the event that causes it, and claimed by one instance at
//! a time to be sent.

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveValue::Set, Condition, QueryOrder, QuerySelect};
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "outbox")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// What caused it: `receipt`, `extension`, `request`, `deadline_moved`,
    /// `reminder`, `digest`.
    pub kind: String,
    pub recipient_id: Option<i32>,
    pub to_address: String,
    pub to_name: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub attachment_name: Option<String>,
    #[serde(skip)]
    pub attachment: Option<String>,
    /// Set for mails that must be written at most once (a reminder, a digest).
    pub dedupe_key: Option<String>,
    pub state: State,
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    pub claimed_by: Option<String>,
    pub claimed_until: Option<DateTimeUtc>,
    /// The mail server's answer to the last try that failed.
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    pub sent_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, Serialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Waiting to be sent (again, after a failure that may pass).
    #[sea_orm(string_value = "queued")]
    Queued,
    /// Accepted by the mail server.
    #[sea_orm(string_value = "sent")]
    Sent,
    /// No mail server is configured: written to the log instead.
    #[sea_orm(string_value = "logged")]
    Logged,
    /// Refused for good, or still failing after every retry.
    #[sea_orm(string_value = "failed")]
    Failed,
}

impl State {
    pub fn parse(text: &str) -> Option<State> {
        [State::Queued, State::Sent, State::Logged, State::Failed]
            .into_iter()
            .find(|s| s.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            State::Queued => "queued",
            State::Sent => "sent",
            State::Logged => "logged",
            State::Failed => "failed",
        }
    }
}

/// A mail to write to the outbox.
#[derive(Debug, Clone)]
pub struct NewMail {
    pub kind: &'static str,
    pub recipient_id: Option<i32>,
    pub to_address: String,
    pub to_name: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    /// A file name and its text (a receipt's JSON).
    pub attachment: Option<(String, String)>,
    pub dedupe_key: Option<String>,
}

/// Writes mails to the outbox, queued to go at once. A mail whose
/// `dedupe_key` is already there is left out. Returns how many were written.
pub async fn enqueue(
    db: &impl ConnectionTrait,
    mails: Vec<NewMail>,
    at: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let mut written = 0;
    for mail in mails {
        let (attachment_name, attachment) = mail.attachment.unzip();
        let row = ActiveModel {
            kind: Set(mail.kind.to_string()),
            recipient_id: Set(mail.recipient_id),
            to_address: Set(mail.to_address),
            to_name: Set(mail.to_name),
            subject: Set(mail.subject),
            text_body: Set(mail.text_body),
            html_body: Set(mail.html_body),
            attachment_name: Set(attachment_name),
            attachment: Set(attachment),
            dedupe_key: Set(mail.dedupe_key),
            state: Set(State::Queued),
            attempts: Set(0),
            next_attempt_at: Set(at),
            created_at: Set(at),
            ..Default::default()
        };
        written += Entity::insert(row)
            .on_conflict(
                OnConflict::column(Column::DedupeKey)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    Ok(written)
}

/// The keys written so far that start with `prefix` (which must hold no
/// `%` or `_`).
pub async fn keys_starting(
    db: &impl ConnectionTrait,
    prefix: &str,
) -> Result<std::collections::HashSet<String>, DbErr> {
    let keys: Vec<Option<String>> = Entity::find()
        .select_only()
        .column(Column::DedupeKey)
        .filter(Column::DedupeKey.starts_with(prefix))
        .into_tuple()
        .all(db)
        .await?;
    Ok(keys.into_iter().flatten().collect())
}

/// Not claimed, or claimed by an instance whose claim has run out (it
/// died while sending).
fn unclaimed(now: DateTime<Utc>) -> Condition {
    Condition::any()
        .add(Column::ClaimedUntil.is_null())
        .add(Column::ClaimedUntil.lt(now))
}

/// Claims up to `limit` queued mails that are due, for `instance`, until
/// `lease` from now. Each claim is a conditional update that only one
/// instance can win (PostgreSQL re-checks the condition after waiting for
/// the row; SQLite writes one at a time), so no mail is sent by two.
pub async fn claim_due(
    db: &impl ConnectionTrait,
    instance: &str,
    now: DateTime<Utc>,
    lease: TimeDelta,
    limit: u64,
) -> Result<Vec<Model>, DbErr> {
    let due = Entity::find()
        .filter(Column::State.eq(State::Queued))
        .filter(Column::NextAttemptAt.lte(now))
        .filter(unclaimed(now))
        .order_by_asc(Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    let mut claimed = Vec::new();
    for mail in due {
        let won = Entity::update_many()
            .col_expr(Column::ClaimedBy, Expr::value(instance))
            .col_expr(Column::ClaimedUntil, Expr::value(now + lease))
            .filter(Column::Id.eq(mail.id))
            .filter(Column::State.eq(State::Queued))
            .filter(unclaimed(now))
            .exec(db)
            .await?
            .rows_affected
            == 1;
        if won {
            claimed.push(mail);
        }
    }
    Ok(claimed)
}

/// How a try to send went.
pub enum Tried {
    /// Accepted by the mail server (or written to the log).
    Delivered(State),
    /// Failed, to be tried again at this time.
    Retry(DateTime<Utc>, String),
    /// Failed for good.
    Failed(String),
}

/// Records a try on a mail this instance claimed, and releases the claim;
/// nothing if the claim is no longer this instance's (it ran out and
/// another took the mail).
pub async fn record_try(
    db: &impl ConnectionTrait,
    mail: &Model,
    instance: &str,
    tried: Tried,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let mut update = Entity::update_many()
        .col_expr(Column::Attempts, Expr::value(mail.attempts + 1))
        .col_expr(Column::ClaimedBy, Expr::value(None::<String>))
        .col_expr(Column::ClaimedUntil, Expr::value(None::<DateTime<Utc>>));
    update = match tried {
        Tried::Delivered(state) => update
            .col_expr(Column::State, Expr::value(state.as_str()))
            .col_expr(Column::SentAt, Expr::value(now)),
        Tried::Retry(at, error) => update
            .col_expr(Column::NextAttemptAt, Expr::value(at))
            .col_expr(Column::LastError, Expr::value(error)),
        Tried::Failed(error) => update
            .col_expr(Column::State, Expr::value(State::Failed.as_str()))
            .col_expr(Column::LastError, Expr::value(error)),
    };
    update
        .filter(Column::Id.eq(mail.id))
        .filter(Column::ClaimedBy.eq(instance))
        .exec(db)
        .await
        .map(|_| ())
}

/// The newest mails, those in `state` only if given.
pub async fn newest(
    db: &impl ConnectionTrait,
    state: Option<State>,
    limit: u64,
) -> Result<Vec<Model>, DbErr> {
    let mut query = Entity::find().order_by_desc(Column::Id).limit(limit);
    if let Some(state) = state {
        query = query.filter(Column::State.eq(state));
    }
    query.all(db).await
}

/// How many mails are in each state.
pub async fn counts(db: &impl ConnectionTrait) -> Result<Vec<(State, i64)>, DbErr> {
    Entity::find()
        .select_only()
        .column(Column::State)
        .column_as(Column::Id.count(), "n")
        .group_by(Column::State)
        .into_tuple::<(State, i64)>()
        .all(db)
        .await
}

/// Queues a mail to be sent again now (a failed one, or one that went to
/// the log); `false` if there is no such mail.
pub async fn resend(db: &impl ConnectionTrait, id: i32, now: DateTime<Utc>) -> Result<bool, DbErr> {
    let Some(mail) = Entity::find_by_id(id).one(db).await? else {
        return Ok(false);
    };
    let mut active: ActiveModel = mail.into();
    active.state = Set(State::Queued);
    // A fresh start: the full round of retries.
    active.attempts = Set(0);
    active.next_attempt_at = Set(now);
    active.claimed_by = Set(None);
    active.claimed_until = Set(None);
    active.update(db).await?;
    Ok(true)
}
