//! Reading multipart bodies with a limit on every field, for the small forms
//! that carry a file (an extension request's evidence, CSV imports).
//!
//! Rocket's own form parser would buffer every text field in memory up to
//! the whole form's limit, before anything checks who sent it. Here the
//! CSRF token must be the first field and is checked before another byte is
//! read; every later field has its own limit; a stored file streams to disk;
//! and the whole body must arrive within a time limit, so a client that
//! sends slowly, or stops, holds nothing for long. (Bundles are read the same
//! way by `upload.rs`, with the assignment's own limit.)

use std::collections::HashMap;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use rocket::data::{self, Data, FromData, ToByteUnit};
use rocket::futures::{Stream, TryStreamExt};
use rocket::http::Status;
use rocket::http::hyper::body::Bytes;
use rocket::request::Request;
use tokio_util::io::ReaderStream;

use super::error::AppError;
use super::session::Caller;
use crate::App;
use crate::domain::readable;
use crate::storage::{ReceiveError, Received};

/// The body is handed to the multipart parser in pieces of this size.
pub const PIECE: usize = 64 * 1024;
/// What may be read before the first field's content: the token, the
/// headers, and the piece in which they arrive.
pub const BEFORE_FIRST_FIELD: u64 = 3 * PIECE as u64;
/// Room for the multipart framing around the fields.
pub const FRAMING: u64 = 64 * 1024;
/// The CSRF token is 64 characters.
pub const CSRF_LIMIT: u64 = 1024;

/// The body, one piece per poll: after each piece it yields once, so the
/// parser handles what it has before it reads more (it keeps in memory
/// whatever it has read and not yet handed on). It refuses to go past an
/// allowance, which the reader raises once it knows who is sending.
pub struct Paced<S> {
    inner: S,
    read: u64,
    allowed: Arc<AtomicU64>,
    just_gave: bool,
}

impl<S> Paced<S> {
    pub fn new(inner: S, allowed: Arc<AtomicU64>) -> Self {
        Paced {
            inner,
            read: 0,
            allowed,
            just_gave: false,
        }
    }
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
                    "too much came before the first field",
                );
                return Poll::Ready(Some(Err(error)));
            }
        }
        next
    }
}

/// The boundary of a `multipart/form-data` body, or 415 saying `how`.
pub fn boundary(request: &Request<'_>, how: &str) -> Result<String, AppError> {
    request
        .content_type()
        .filter(|ct| ct.is_form_data())
        .and_then(|ct| {
            ct.params()
                .find(|(key, _)| *key == "boundary")
                .map(|(_, value)| value.to_string())
        })
        .ok_or_else(|| AppError::new(Status::UnsupportedMediaType, how))
}

/// What a field of a small form may hold.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// Text, at most this many bytes.
    Text(u64),
    /// Text typed or a file chosen (a CSV), kept in memory, at most this
    /// many bytes, UTF-8.
    Buffered(u64),
    /// A file, streamed to disk, at most this many bytes.
    Stored(u64),
}

impl Kind {
    fn limit(self) -> u64 {
        match self {
            Kind::Text(n) | Kind::Buffered(n) | Kind::Stored(n) => n,
        }
    }
}

/// A small form's fields (after `csrf`, which always comes first). The
/// whole body must arrive within `small_form_seconds`, unless the form says
/// otherwise.
pub trait FormSpec: Send + Sync + 'static {
    const FIELDS: &'static [(&'static str, Kind)];

    /// How long the whole body may take, given `small_form_seconds`.
    fn seconds(configured: u64) -> u64 {
        configured
    }
}

/// A CSV file (or text), at most 2 MiB: roster and extension imports.
pub struct CsvForm;

impl FormSpec for CsvForm {
    const FIELDS: &'static [(&'static str, Kind)] = &[("csv", Kind::Buffered(2 * 1024 * 1024))];
}

/// A small form, read and checked.
pub struct SmallForm<S> {
    texts: HashMap<&'static str, String>,
    files: HashMap<&'static str, (String, Received)>,
    spec: PhantomData<S>,
}

impl<S> SmallForm<S> {
    /// A text (or buffered) field, empty if it was not sent.
    pub fn text(&self, name: &str) -> &str {
        self.texts.get(name).map(String::as_str).unwrap_or_default()
    }

    /// A stored file and the name it was sent under, if one was sent.
    pub fn take_file(&mut self, name: &str) -> Option<(String, Received)> {
        self.files.remove(name)
    }
}

fn field_error(error: &multer::Error) -> AppError {
    match error {
        multer::Error::FieldSizeExceeded { field_name, limit } => AppError::too_large(format!(
            "The field '{}' is longer than the {} handin accepts. Nothing was changed.",
            field_name.as_deref().unwrap_or(""),
            readable::bytes(*limit)
        )),
        multer::Error::StreamSizeExceeded { .. } => {
            AppError::too_large("The form is larger than handin accepts. Nothing was changed.")
        }
        multer::Error::UnknownField { field_name } => AppError::bad_request(format!(
            "Unexpected form field '{}'. Nothing was changed.",
            field_name.as_deref().unwrap_or("")
        )),
        other => AppError::bad_request(format!(
            "The form arrived incomplete or malformed ({other}). Nothing was changed."
        )),
    }
}

async fn read<S: FormSpec>(
    request: &Request<'_>,
    data: Data<'_>,
) -> Result<SmallForm<S>, AppError> {
    let app = request
        .rocket()
        .state::<App>()
        .ok_or_else(|| AppError::internal("application state missing"))?;
    let caller = match request.guard::<Caller>().await {
        rocket::outcome::Outcome::Success(caller) => caller,
        _ => return Err(AppError::unauthorized()),
    };
    let boundary = boundary(
        request,
        "Send the form as multipart/form-data. Nothing was changed.",
    )?;
    let whole = S::FIELDS.iter().map(|(_, kind)| kind.limit()).sum::<u64>() + CSRF_LIMIT + FRAMING;
    let mut limits = multer::SizeLimit::new()
        .whole_stream(whole)
        .for_field("csrf", CSRF_LIMIT);
    let mut names = vec!["csrf"];
    for (name, kind) in S::FIELDS {
        // A stored file's own limit is checked as it streams, with a message
        // that names it; the parser's is one byte more.
        limits = limits.for_field(*name, kind.limit() + 1);
        names.push(name);
    }
    let constraints = multer::Constraints::new()
        .allowed_fields(names)
        .size_limit(limits);
    let allowance = Arc::new(AtomicU64::new(BEFORE_FIRST_FIELD));
    let pieces = ReaderStream::with_capacity(data.open((whole + 1).bytes()), PIECE);
    let body = Paced::new(pieces, allowance.clone());
    let mut multipart = multer::Multipart::with_constraints(body, boundary, constraints);
    let mut form = SmallForm {
        texts: HashMap::new(),
        files: HashMap::new(),
        spec: PhantomData,
    };
    let mut checked = false;
    while let Some(field) = multipart.next_field().await.map_err(|e| field_error(&e))? {
        let name = field.name().unwrap_or_default().to_string();
        if !checked {
            // A browser sends the hidden token first; a form that does not
            // is not one of handin's, and is refused before it is read.
            checked = true;
            if name == "csrf" {
                let sent = field.text().await.map_err(|e| field_error(&e))?;
                caller.check_csrf(&sent)?;
                allowance.store(whole + 1, Ordering::Relaxed);
                continue;
            }
            caller.check_csrf("")?;
            allowance.store(whole + 1, Ordering::Relaxed);
        }
        let Some(&(key, kind)) = S::FIELDS.iter().find(|(n, _)| *n == name) else {
            return Err(AppError::bad_request(format!(
                "Unexpected form field '{name}'."
            )));
        };
        match kind {
            Kind::Text(_) => {
                let text = field.text().await.map_err(|e| field_error(&e))?;
                form.texts.insert(key, text);
            }
            Kind::Buffered(_) => {
                let bytes = field.bytes().await.map_err(|e| field_error(&e))?;
                let text = String::from_utf8(bytes.to_vec()).map_err(|_| {
                    AppError::unprocessable(format!(
                        "The {key} must be UTF-8 text. Nothing was changed."
                    ))
                })?;
                form.texts.insert(key, text);
            }
            Kind::Stored(limit) => {
                let file_name = field.file_name().unwrap_or_default().to_string();
                let reader =
                    tokio_util::io::StreamReader::new(field.map_err(std::io::Error::other));
                let received = match app.uploads.receive(reader, limit).await {
                    Ok(received) => received,
                    Err(ReceiveError::TooLarge { limit }) => {
                        return Err(AppError::too_large(format!(
                            "The {key} file is larger than {}. Nothing was sent.",
                            readable::bytes(limit)
                        )));
                    }
                    Err(ReceiveError::Io(e)) => {
                        return Err(
                            match e.get_ref().and_then(|i| i.downcast_ref::<multer::Error>()) {
                                Some(inner) => field_error(inner),
                                None => AppError::bad_request(
                                    "The form was interrupted. Nothing was changed; please try again.",
                                ),
                            },
                        );
                    }
                };
                form.files.insert(key, (file_name, received));
            }
        }
    }
    if !checked {
        caller.check_csrf("")?;
    }
    Ok(form)
}

#[rocket::async_trait]
impl<'r, S: FormSpec> FromData<'r> for SmallForm<S> {
    type Error = AppError;

    async fn from_data(request: &'r Request<'_>, data: Data<'r>) -> data::Outcome<'r, Self> {
        let seconds = request
            .rocket()
            .state::<App>()
            .map_or(120, |app| app.config.small_form_seconds);
        let within = Duration::from_secs(S::seconds(seconds));
        let outcome = match rocket::tokio::time::timeout(within, read::<S>(request, data)).await {
            Ok(result) => result,
            Err(_) => Err(AppError::new(
                Status::RequestTimeout,
                format!(
                    "The form took longer than {} s to arrive. Nothing was changed; please try again.",
                    within.as_secs()
                ),
            )),
        };
        match outcome {
            Ok(form) => data::Outcome::Success(form),
            Err(error) => data::Outcome::Error((error.status, error)),
        }
    }
}
