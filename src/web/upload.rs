//! Receiving a bundle, shared by the upload form and the API.
//!
//! The [`UploadTarget`] guard runs before a byte of the body is read: an
//! unauthenticated, unenrolled or too-late upload is refused without being
//! stored. The [`Bundle`] form field then streams the body to disk while it
//! is hashed, capped at the assignment's limit. [`accept`] inspects it and
//! records it.

use chrono::{DateTime, Utc};
use rocket::data::ToByteUnit;
use rocket::form::{self, DataField, FromFormField, ValueField, error::ErrorKind};
use rocket::request::{FromRequest, Outcome, Request};

use super::session::Caller;
use crate::App;
use crate::domain::bundle;
use crate::domain::deadline::{DeadlineRule, format_local};
use crate::error::{AppError, fail};
use crate::models::access::{self, CourseRole};
use crate::models::receipt::Receipt;
use crate::models::submission::{self, NewSubmission};
use crate::models::{assignment, course, extension};
use crate::storage::{ReceiveError, Received};

/// The assignment an upload is for, checked before the body is read.
pub struct UploadTarget {
    pub caller: Caller,
    pub course: course::Model,
    pub assignment: assignment::Model,
    pub rule: DeadlineRule,
    pub started_at: DateTime<Utc>,
}

impl UploadTarget {
    pub fn page(&self) -> String {
        format!(
            "/courses/{}/assignments/{}",
            self.course.code, self.assignment.slug
        )
    }
}

/// The per-assignment size limit, handed from the guard to the form field.
struct UploadLimit(Option<u64>);

fn mib(bytes: u64) -> String {
    let value = bytes as f64 / (1024.0 * 1024.0);
    if value.fract() == 0.0 {
        format!("{value:.0} MiB")
    } else {
        format!("{value:.1} MiB")
    }
}

async fn find_target(
    request: &Request<'_>,
    app: &App,
    caller: Caller,
) -> Result<UploadTarget, AppError> {
    let started_at = app.clock.now();
    // Both the page route and the API route read /courses/<code>/assignments/<slug>/…
    // after their mount point.
    let code = request
        .param::<&str>(1)
        .and_then(Result::ok)
        .unwrap_or_default();
    let slug = request
        .param::<&str>(3)
        .and_then(Result::ok)
        .unwrap_or_default();
    let (course, assignment) = assignment::find_by_codes(&app.db, code, slug)
        .await?
        .ok_or_else(|| AppError::not_found("assignment"))?;
    if access::role_in(&app.db, &caller.user, course.id).await? != Some(CourseRole::Student) {
        return Err(AppError::forbidden(format!(
            "Only students enrolled in {} can hand in {}.",
            course.code, assignment.title
        )));
    }
    let extension = extension::until_for(&app.db, assignment.id, caller.user.id).await?;
    let rule = assignment.rule(&course, extension);
    let target = UploadTarget {
        caller,
        course,
        assignment,
        rule,
        started_at,
    };
    target.check_open(started_at)?;
    Ok(target)
}

impl UploadTarget {
    /// Refuses uploads before the assignment opens or after it closes for this student.
    fn check_open(&self, at: DateTime<Utc>) -> Result<(), AppError> {
        let zone = self.course.zone();
        if let Some(opens) = self.assignment.opens_at
            && at < opens
        {
            return Err(AppError::conflict(format!(
                "{} opens for hand-in on {}. Please upload then.",
                self.assignment.title,
                format_local(opens, zone)
            ))
            .with_back(self.page()));
        }
        if !self.rule.accepts_upload_at(at) {
            let closed = self
                .rule
                .closes_at()
                .map(|t| format_local(t, zone))
                .unwrap_or_default();
            return Err(AppError::conflict(format!(
                "Hand-in for {} closed on {closed}; uploads are no longer accepted. \
                 If you have a good reason, ask for an extension.",
                self.assignment.title
            ))
            .with_back(self.page()));
        }
        Ok(())
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for UploadTarget {
    type Error = AppError;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, AppError> {
        let caller = rocket::outcome::try_outcome!(request.guard::<Caller>().await);
        let Some(app) = request.rocket().state::<App>() else {
            return fail(request, AppError::internal("application state missing"));
        };
        match find_target(request, app, caller).await {
            Ok(target) => {
                request.local_cache(|| UploadLimit(Some(target.assignment.max_bundle_bytes())));
                Outcome::Success(target)
            }
            Err(error) => fail(request, error),
        }
    }
}

/// An uploaded bundle, on disk in `incoming/`, hashed, not yet inspected.
pub struct Bundle {
    /// The name the browser sent, cleaned for display (never used as a path).
    pub file_name: String,
    pub received: Received,
}

/// The browser's file name, made safe to keep and show: control characters
/// dropped, any folder part removed, at most 255 characters.
fn display_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or(raw);
    let clean: String = last.chars().filter(|c| !c.is_control()).take(255).collect();
    if clean.trim().is_empty() {
        "bundle.zip".to_string()
    } else {
        clean
    }
}

#[rocket::async_trait]
impl<'r> FromFormField<'r> for Bundle {
    fn from_value(_field: ValueField<'r>) -> form::Result<'r, Self> {
        Err(form::Error::validation(
            "the bundle must be sent as a file (multipart/form-data)",
        ))?
    }

    async fn from_data(field: DataField<'r, '_>) -> form::Result<'r, Self> {
        let request = field.request;
        let app = request.rocket().state::<App>().ok_or(ErrorKind::Unknown)?;
        // Without the guard there is no assignment, and so no upload.
        let limit = request
            .local_cache(|| UploadLimit(None))
            .0
            .ok_or(ErrorKind::Unknown)?;
        let file_name = display_name(
            field
                .file_name
                .map(|n| n.dangerous_unsafe_unsanitized_raw().as_str())
                .unwrap_or_default(),
        );
        // One byte over the limit is enough to know it is too large.
        let stream = field.data.open((limit + 1).bytes());
        match app.uploads.receive(stream, limit).await {
            Ok(received) => Ok(Bundle {
                file_name,
                received,
            }),
            Err(ReceiveError::TooLarge { limit }) => Err(ErrorKind::InvalidLength {
                min: None,
                max: Some(limit),
            })?,
            Err(ReceiveError::Io(e)) => Err(ErrorKind::Io(e))?,
        }
    }
}

/// Turns a form that could not be read into a message a student can act on.
pub fn form_error(errors: &form::Errors<'_>, target: &UploadTarget) -> AppError {
    let status = errors.status();
    let error = if status == rocket::http::Status::PayloadTooLarge {
        AppError::too_large(format!(
            "The bundle is larger than the {} allowed for {}. Nothing was stored. \
             Remove large data files or build outputs from it and try again.",
            mib(target.assignment.max_bundle_bytes()),
            target.assignment.title
        ))
    } else if errors.iter().any(|e| e.is_for("csrf")) {
        AppError::forbidden(
            "This form has expired or did not come from handin (its security token is missing). \
             Nothing was stored. Please reload the page and try again.",
        )
    } else if errors.iter().any(|e| e.is_for("bundle")) || !errors.iter().any(|e| e.name.is_some())
    {
        let bundle_missing = errors
            .iter()
            .any(|e| e.is_for("bundle") && matches!(e.kind, ErrorKind::Missing));
        if bundle_missing {
            AppError::unprocessable(
                "No file was sent. Please choose your .zip bundle and upload it.",
            )
        } else {
            AppError::new(
                status,
                format!("The upload could not be read ({errors}). Nothing was stored."),
            )
        }
    } else {
        AppError::new(
            status,
            format!("The upload form was incomplete ({errors}). Nothing was stored."),
        )
    };
    error.with_back(target.page())
}

/// Checks a received bundle and records it as the student's next attempt.
pub async fn accept(app: &App, target: &UploadTarget, bundle: Bundle) -> Result<Receipt, AppError> {
    let back = target.page();
    // The server's clock decides, once the last byte has arrived.
    let received_at = app.clock.now();
    target.check_open(received_at)?;
    if bundle.received.size == 0 {
        return Err(AppError::unprocessable(format!(
            "\"{}\" is empty (0 bytes). Nothing was stored; please choose your .zip bundle.",
            bundle.file_name
        ))
        .with_back(back));
    }
    let path = bundle.received.path().to_path_buf();
    let limits = app.config.bundle_limits();
    let required = target.assignment.required_files();
    let inspected = rocket::tokio::task::spawn_blocking(move || {
        let file = std::fs::File::open(path)?;
        Ok::<_, std::io::Error>(bundle::inspect(
            std::io::BufReader::new(file),
            limits,
            &required,
        ))
    })
    .await
    .map_err(AppError::internal)??;
    let entries =
        inspected.map_err(|why| AppError::unprocessable(why.to_string()).with_back(back))?;
    let (sha256, size) = (bundle.received.sha256.clone(), bundle.received.size);
    let stored_path = app.uploads.keep(bundle.received).await?;
    let new = NewSubmission {
        assignment_id: target.assignment.id,
        student_id: target.caller.user.id,
        received_at,
        upload_started_at: target.started_at,
        sha256,
        size,
        original_name: bundle.file_name,
        stored_path: stored_path.clone(),
        entries,
    };
    let row = match submission::record(&app.db, new).await {
        Ok(row) => row,
        Err(e) => {
            app.uploads.discard(&stored_path).await;
            return Err(AppError::internal(e));
        }
    };
    Ok(Receipt::build(
        &row,
        &target.assignment,
        &target.course,
        &target.caller.user,
        target.rule.extension,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_are_cleaned() {
        assert_eq!(display_name("C:\\Users\\me\\lab1.zip"), "lab1.zip");
        assert_eq!(display_name("../../etc/passwd"), "passwd");
        assert_eq!(display_name("a\u{0}b\nc.zip"), "abc.zip");
        assert_eq!(display_name(""), "bundle.zip");
        assert_eq!(display_name(&"x".repeat(1000)).chars().count(), 255);
        assert_eq!(display_name("<script>résumé.zip"), "<script>résumé.zip");
    }
}
