//! Receiving a bundle, shared by the upload form and the API.
//!
//! The [`UploadTarget`] guard runs before a byte of the body is read: an
//! unauthenticated, unenrolled or too-late upload is refused without being
//! stored. [`Bundle`] then reads the multipart body itself, with a limit
//! on every field: the bundle streams to disk while it is hashed, capped at
//! the assignment's limit, and the only other field, the CSRF token, may not
//! exceed 1 KiB. (Rocket's own form parser would buffer any text field in
//! memory up to the whole form's limit.) [`accept`] inspects the bundle and
//! records it.

use chrono::{DateTime, Utc};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use rocket::data::{self, Data, FromData, ToByteUnit};
use rocket::futures::Stream;
use rocket::futures::TryStreamExt;
use rocket::http::Status;
use rocket::http::hyper::body::Bytes;
use rocket::request::{FromRequest, Outcome, Request};
use tokio_util::io::ReaderStream;

use super::session::Caller;
use crate::App;
use crate::domain::bundle;
use crate::domain::deadline::{DeadlineRule, format_local};
use crate::domain::duration;
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

/// What the guard has learnt that the body reader needs: the assignment's
/// size limit and title, and who is asking (whose CSRF token to expect).
#[derive(Clone)]
struct UploadPlan {
    limit: u64,
    title: String,
    caller: Caller,
}

struct PlannedUpload(Option<UploadPlan>);

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
                let plan = UploadPlan {
                    limit: target.assignment.max_bundle_bytes(),
                    title: target.assignment.title.clone(),
                    caller: target.caller.clone(),
                };
                request.local_cache(|| PlannedUpload(Some(plan)));
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

/// The CSRF token is 64 characters; nothing else but the bundle is accepted.
const TEXT_FIELD_LIMIT: u64 = 1024;
/// Room for the multipart framing around the bundle.
const FRAMING: u64 = 64 * 1024;
/// The body is handed to the multipart parser in pieces of this size.
const PIECE: usize = 64 * 1024;
/// What may be read before the bundle's field begins: the token, the
/// headers, and the piece in which they arrive.
const BEFORE_BUNDLE: u64 = 3 * PIECE as u64;

/// The browser's file name, made safe to keep and show: control and
/// direction-changing characters dropped, any folder part removed, at most
/// 255 characters.
fn display_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or(raw);
    let clean: String = last
        .chars()
        .filter(|&c| !c.is_control() && !bundle::is_invisible_format(c))
        .take(255)
        .collect();
    if clean.trim().is_empty() {
        "bundle.zip".to_string()
    } else {
        clean
    }
}

fn too_large(limit: u64, title: &str) -> AppError {
    AppError::too_large(format!(
        "The bundle is larger than the {} allowed for {title}. Nothing was stored. \
         Remove large data files or build outputs from it and try again.",
        duration::bytes(limit)
    ))
}

/// A multipart error, as the student needs to hear it.
fn multipart_error(error: &multer::Error, limit: u64, title: &str) -> AppError {
    match error {
        multer::Error::FieldSizeExceeded { .. } => {
            AppError::too_large("A form field was longer than handin accepts. Nothing was stored.")
        }
        multer::Error::StreamSizeExceeded { .. } => too_large(limit, title),
        multer::Error::UnknownField { field_name } => AppError::bad_request(format!(
            "Unexpected form field '{}': send the bundle in the field 'bundle'. Nothing was stored.",
            field_name.as_deref().unwrap_or("")
        )),
        other => AppError::bad_request(format!(
            "The upload arrived incomplete or malformed ({other}). Nothing was stored; please try again."
        )),
    }
}

async fn read_upload(request: &Request<'_>, data: Data<'_>) -> Result<Bundle, AppError> {
    let app = request
        .rocket()
        .state::<App>()
        .ok_or_else(|| AppError::internal("application state missing"))?;
    // Without the guard there is no assignment, and so no upload.
    let plan = request
        .local_cache(|| PlannedUpload(None))
        .0
        .clone()
        .ok_or_else(|| AppError::internal("upload without a target"))?;
    let (limit, title) = (plan.limit, plan.title.as_str());
    let boundary = request
        .content_type()
        .filter(|ct| ct.is_form_data())
        .and_then(|ct| ct.params().find(|(key, _)| *key == "boundary").map(|(_, value)| value.to_string()))
        .ok_or_else(|| {
            AppError::new(
                Status::UnsupportedMediaType,
                "Send the bundle as multipart/form-data, in a field named 'bundle'. Nothing was stored.",
            )
        })?;
    let constraints = multer::Constraints::new()
        .allowed_fields(vec!["csrf", "bundle"])
        .size_limit(
            multer::SizeLimit::new()
                .whole_stream(limit + FRAMING)
                .for_field("csrf", TEXT_FIELD_LIMIT),
        );
    // multer keeps in memory whatever it has read and not yet handed on, and
    // reads while data is there: the body is given to it one piece at a
    // time, and only a little of it until the bundle's own field begins.
    let allowance = Arc::new(AtomicU64::new(BEFORE_BUNDLE));
    let pieces = ReaderStream::with_capacity(data.open((limit + FRAMING + 1).bytes()), PIECE);
    let body = Paced {
        inner: pieces,
        read: 0,
        allowed: allowance.clone(),
        just_gave: false,
    };
    let mut multipart = multer::Multipart::with_constraints(body, boundary, constraints);
    let (mut csrf, mut bundle) = (None::<String>, None);
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| multipart_error(&e, limit, title))?
    {
        if field.name() == Some("csrf") {
            csrf = Some(
                field
                    .text()
                    .await
                    .map_err(|e| multipart_error(&e, limit, title))?,
            );
            continue;
        }
        if bundle.is_some() {
            return Err(AppError::bad_request(
                "Send one bundle at a time. Nothing was stored.",
            ));
        }
        // A browser's form sends its token first: a forged form is refused
        // before a byte of its bundle is written. (API callers send none.)
        plan.caller
            .check_csrf(csrf.as_deref().unwrap_or_default())?;
        allowance.store(limit + FRAMING + 1, Ordering::Relaxed);
        let file_name = display_name(field.file_name().unwrap_or_default());
        let reader = tokio_util::io::StreamReader::new(field.map_err(std::io::Error::other));
        match app.uploads.receive(reader, limit).await {
            Ok(received) => {
                bundle = Some(Bundle {
                    file_name,
                    received,
                })
            }
            Err(ReceiveError::TooLarge { .. }) => return Err(too_large(limit, title)),
            Err(ReceiveError::Io(e)) => {
                return Err(
                    match e
                        .get_ref()
                        .and_then(|inner| inner.downcast_ref::<multer::Error>())
                    {
                        Some(inner) => multipart_error(inner, limit, title),
                        None => AppError::bad_request(
                            "The upload was interrupted. Nothing was stored; please try again.",
                        ),
                    },
                );
            }
        }
    }
    bundle.ok_or_else(|| {
        AppError::unprocessable("No file was sent. Please choose your .zip bundle and upload it.")
    })
}

/// The body, one piece per poll: after each piece it yields once, so multer
/// parses what it has before it reads more. It refuses to go past an
/// allowance, which is raised when the bundle's field begins.
struct Paced<S> {
    inner: S,
    read: u64,
    allowed: Arc<AtomicU64>,
    just_gave: bool,
}

impl<S: Stream<Item = std::io::Result<Bytes>> + Unpin> Stream for Paced<S> {
    type Item = std::io::Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.just_gave {
            this.just_gave = false;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let next = Pin::new(&mut this.inner).poll_next(cx);
        if let Poll::Ready(Some(Ok(piece))) = &next {
            this.read += piece.len() as u64;
            this.just_gave = true;
            if this.read > this.allowed.load(Ordering::Relaxed) {
                let error = std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "too much came before the bundle",
                );
                return Poll::Ready(Some(Err(error)));
            }
        }
        next
    }
}

#[rocket::async_trait]
impl<'r> FromData<'r> for Bundle {
    type Error = AppError;

    async fn from_data(request: &'r Request<'_>, data: Data<'r>) -> data::Outcome<'r, Self> {
        match read_upload(request, data).await {
            Ok(bundle) => data::Outcome::Success(bundle),
            Err(error) => data::Outcome::Error((error.status, error)),
        }
    }
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
