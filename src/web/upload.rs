//! Receiving a bundle over HTTP, shared by the upload form and the API.
//!
//! The [`UploadTarget`] guard runs before a byte of the body is read: an
//! unauthenticated, unenrolled or too-late upload is refused without being
//! stored. [`Bundle`] then reads the multipart body itself, with a limit
//! on every field: the bundle streams to disk while it is hashed, capped at
//! the assignment's limit, and the only other fields, the CSRF token and what
//! the student ticked (`declare`, `confirm_late`), may not exceed 1 KiB each.
//! (Rocket's own form parser would buffer any text field in memory up to
//! the whole form's limit.) What happens to the bundle then is
//! `services::hand_in`'s work.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rocket::data::{self, Data, FromData, ToByteUnit};
use rocket::futures::TryStreamExt;
use rocket::request::{FromRequest, Outcome, Request};
use tokio_util::io::ReaderStream;

use super::error::{AppError, fail};
use super::guards::{Allowed, HandIn, assignment_page};
use super::multipart::{self, BEFORE_FIRST_FIELD, CSRF_LIMIT, FRAMING, PIECE, Paced};
use super::session::Caller;
use crate::App;
use crate::domain::names;
use crate::domain::readable;
use crate::models::receipt::Receipt;
use crate::services::hand_in::{self, Ticked, Upload};
use crate::storage::{ReceiveError, Received};

/// The assignment an upload is for, checked before the body is read: the
/// policy allows the caller to hand in, and it is open to them now.
pub struct UploadTarget {
    pub upload: Upload,
}

impl UploadTarget {
    pub fn page(&self) -> String {
        assignment_page(&self.upload.scope)
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

#[rocket::async_trait]
impl<'r> FromRequest<'r> for UploadTarget {
    type Error = AppError;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, AppError> {
        let allowed = rocket::outcome::try_outcome!(request.guard::<Allowed<HandIn>>().await);
        let Some(app) = request.rocket().state::<App>() else {
            return fail(request, AppError::internal("application state missing"));
        };
        let page = allowed.page();
        match hand_in::start(app, allowed.scope).await {
            Ok(upload) => {
                let plan = UploadPlan {
                    limit: upload.scope.assignment.max_bundle_bytes(),
                    title: upload.scope.assignment.title.clone(),
                    caller: allowed.caller,
                };
                request.local_cache(|| PlannedUpload(Some(plan)));
                Outcome::Success(UploadTarget { upload })
            }
            Err(error) => fail(request, AppError::from(error).with_back(page)),
        }
    }
}

/// An uploaded bundle, on disk in `incoming/`, hashed, not yet inspected.
pub struct Bundle {
    /// The name the browser sent, cleaned for display (never used as a path).
    pub file_name: String,
    pub received: Received,
    /// What the student ticked: the declaration, "I understand".
    pub ticked: Ticked,
}

/// The browser's file name, made safe to keep and show: control and
/// direction-changing characters dropped, any folder part removed, at most
/// 255 characters.
fn display_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or(raw);
    let clean: String = last
        .chars()
        .filter(|&c| !c.is_control() && !names::is_invisible(c))
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
        readable::bytes(limit)
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
    let boundary = multipart::boundary(
        request,
        "Send the bundle as multipart/form-data, in a field named 'bundle'. Nothing was stored.",
    )?;
    let constraints = multer::Constraints::new()
        .allowed_fields(vec!["csrf", "declare", "confirm_late", "bundle"])
        .size_limit(
            multer::SizeLimit::new()
                .whole_stream(limit + FRAMING)
                .for_field("csrf", CSRF_LIMIT)
                .for_field("declare", CSRF_LIMIT)
                .for_field("confirm_late", CSRF_LIMIT),
        );
    // multer keeps in memory whatever it has read and not yet handed on, and
    // reads while data is there: the body is given to it one piece at a
    // time, and only a little of it until the bundle's own field begins.
    let allowance = Arc::new(AtomicU64::new(BEFORE_FIRST_FIELD));
    let pieces = ReaderStream::with_capacity(data.open((limit + FRAMING + 1).bytes()), PIECE);
    let body = Paced::new(pieces, allowance.clone());
    let mut multipart = multer::Multipart::with_constraints(body, boundary, constraints);
    let (mut csrf, mut bundle) = (None::<String>, None);
    let mut ticked = Ticked::default();
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
        if let Some(name @ ("declare" | "confirm_late")) = field.name() {
            // Sent before the bundle, as the form orders its fields.
            let name = name.to_string();
            let said = field
                .text()
                .await
                .map_err(|e| multipart_error(&e, limit, title))?;
            let yes = matches!(said.trim(), "yes" | "true" | "on" | "1");
            if name == "declare" {
                ticked.declared = yes;
            } else {
                ticked.confirmed_late = yes;
            }
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
                    ticked,
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
    // A field sent after the bundle (a script's order) counts too.
    let mut bundle = bundle.ok_or_else(|| {
        AppError::unprocessable("No file was sent. Please choose your .zip bundle and upload it.")
    })?;
    bundle.ticked = ticked;
    Ok(bundle)
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

/// Hands the received bundle in: the receipt, or why it was refused (with
/// a way back to the assignment).
pub async fn accept(app: &App, target: &UploadTarget, bundle: Bundle) -> Result<Receipt, AppError> {
    target
        .upload
        .accept(app, bundle.received, bundle.file_name, bundle.ticked)
        .await
        .map_err(|e| AppError::from(e).with_back(target.page()))
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
