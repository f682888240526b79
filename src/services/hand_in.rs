//! Handing in: a student's bundle, received in full, is checked, kept and
//! recorded as their next attempt; the receipt says how it stands.
//!
//! The window is checked twice: when the upload starts (so a closed
//! assignment refuses before a byte is stored) and when its last byte has
//! arrived, which is the moment that counts.

use chrono::{DateTime, Utc};

use super::evidence;
use super::mail::{self, Links};
use super::{Scope, keep_recorded};
use crate::App;
use crate::domain::deadline::{Counts, DeadlineRule, UploadWindow};
use crate::domain::zone::format_local;
use crate::domain::{bundle, readable};
use crate::error::{Error, Result};
use crate::models::log::Included;
use crate::models::outbox::NewMail;
use crate::models::receipt::Receipt;
use crate::models::submission::{self, NewSubmission};
use crate::models::{closure_day, extension};
use crate::policy::Act;
use crate::storage::{Received, Shelf};

/// What the student ticked on the form (or sent as fields through the API).
#[derive(Debug, Clone, Copy, Default)]
pub struct Ticked {
    /// The assignment's declaration (`declare=yes`).
    pub declared: bool,
    /// "I understand": a late attempt may count instead of an on-time one
    /// (`confirm_late=yes`).
    pub confirmed_late: bool,
}

/// An upload under way: who, where, under which rule, since when.
pub struct Upload {
    pub scope: Scope,
    pub rule: DeadlineRule,
    pub started_at: DateTime<Utc>,
}

/// Starts an upload for a student already allowed to hand in: refused if
/// the assignment is not open to them now.
pub async fn start(app: &App, scope: Scope) -> Result<Upload> {
    scope.require(Act::HandIn)?;
    let started_at = app.clock.now();
    let extension = extension::until_for(&app.db, scope.assignment.id, scope.user.id).await?;
    let closed = closure_day::university(&app.db).await?;
    let rule = scope.assignment.rule(&scope.course, extension, &closed);
    let upload = Upload {
        scope,
        rule,
        started_at,
    };
    upload.check_open(started_at)?;
    Ok(upload)
}

impl Upload {
    fn check_open(&self, at: DateTime<Utc>) -> Result<()> {
        let zone = self.scope.course.zone();
        let title = &self.scope.assignment.title;
        match self.rule.window_at(at) {
            UploadWindow::Open => Ok(()),
            UploadWindow::NotYetOpen { opens } => Err(Error::Conflict(format!(
                "{title} opens for hand-in on {}. Please upload then.",
                format_local(opens, zone)
            ))),
            UploadWindow::Closed { closed } => Err(Error::Conflict(format!(
                "Hand-in for {title} closed on {}; uploads are no longer accepted. \
                 If you have a good reason, ask for an extension.",
                format_local(closed, zone)
            ))),
        }
    }

    /// Refuses a late attempt that would count instead of an on-time one,
    /// unless the student has said that is what they want.
    async fn check_replacing(&self, app: &App, at: DateTime<Utc>) -> Result<()> {
        let (assignment, student) = (&self.scope.assignment, &self.scope.user);
        if assignment.counts() != Counts::Latest {
            // A late attempt never takes an on-time one's place here.
            return Ok(());
        }
        let Some((attempt, received)) =
            submission::latest_of(&app.db, assignment.id, student.id).await?
        else {
            return Ok(());
        };
        match self.rule.late_over_on_time(Some(received), at) {
            None => Ok(()),
            Some(by) => Err(Error::Conflict(format!(
                "This attempt would be late by {} and would replace your on-time attempt {attempt} \
                 as the one that counts. Nothing was stored. If that is what you want, tick \
                 \"I understand\" and upload again (scripts: send the field confirm_late=yes).",
                readable::duration(by)
            ))),
        }
    }

    /// Checks a received bundle and records it as the student's next attempt.
    /// `file_name` is the name the browser sent, already cleaned for display;
    /// `ticked` is what the student said: the declaration, and that they know
    /// a late attempt will count instead of their on-time one.
    pub async fn accept(
        &self,
        app: &App,
        received: Received,
        file_name: String,
        ticked: Ticked,
    ) -> Result<Receipt> {
        // The server's clock decides, once the last byte has arrived.
        let received_at = app.clock.now();
        self.check_open(received_at)?;
        let declaration = self.scope.assignment.declaration.clone();
        if let Some(statement) = declaration.as_deref().filter(|_| !ticked.declared) {
            return Err(Error::invalid(format!(
                "Please tick the declaration before uploading: \"{statement}\". Nothing was \
                 stored (scripts: send the field declare=yes)."
            )));
        }
        if received.size == 0 {
            return Err(Error::invalid(format!(
                "\"{file_name}\" is empty (0 bytes). Nothing was stored; please choose your .zip bundle."
            )));
        }
        let limits = app.config.bundle_limits();
        let required = self.scope.assignment.required_files().to_vec();
        let inspected = app
            .uploads
            .inspect(&received, move |reader| {
                bundle::inspect(reader, limits, &required)
            })
            .await?;
        let entries = inspected.map_err(|why| Error::invalid(why.to_string()))?;
        if !ticked.confirmed_late {
            self.check_replacing(app, received_at).await?;
        }
        let (sha256, size) = (received.sha256.clone(), received.size);
        let (scope, started_at) = (&self.scope, self.started_at);
        let row = keep_recorded(app, received, Shelf::Bundles, |stored_path| async move {
            let new = NewSubmission {
                assignment_id: scope.assignment.id,
                student_id: scope.user.id,
                received_at,
                upload_started_at: started_at,
                sha256,
                size,
                original_name: file_name,
                stored_path,
                entries,
                declaration,
            };
            let with = Sealing { upload: self, app };
            Ok(submission::record(&app.db, new, &app.notary, &with).await?)
        })
        .await?;
        Ok(self.receipt(&row.0))
    }

    fn receipt(&self, row: &submission::Model) -> Receipt {
        let scope = &self.scope;
        Receipt::build(
            row,
            &scope.assignment,
            &scope.course,
            &scope.user,
            &self.rule,
        )
    }
}

/// What is written with an accepted attempt: its receipt, signed into the
/// evidence log, and mailed to the student with the signed receipt file.
struct Sealing<'a> {
    upload: &'a Upload,
    app: &'a App,
}

impl submission::WrittenWith for Sealing<'_> {
    fn statement(&self, row: &submission::Model, log_index: u64) -> String {
        let scope = &self.upload.scope;
        let names = (
            scope.course.code.as_str(),
            scope.assignment.slug.as_str(),
            scope.user.username.as_str(),
        );
        evidence::receipt_statement(&self.app.notary, row, names, &self.upload.rule, log_index)
    }

    fn mails(&self, row: &submission::Model, logged: &Included) -> Vec<NewMail> {
        let receipt = self.upload.receipt(row);
        let file = evidence::receipt_file(self.app, logged);
        let attached = (
            evidence::receipt_file_name(&receipt.course, &receipt.assignment, row.attempt),
            serde_json::to_string_pretty(&file).unwrap_or_default(),
        );
        let links = Links::of(self.app);
        mail::receipt(&self.upload.scope.user, &receipt, attached, links)
            .into_iter()
            .collect()
    }
}
