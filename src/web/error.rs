//! How HTTP says what went wrong: a page or a JSON message with the status
//! that fits. Internal causes are logged, never shown.
//!
//! The use cases' typed [`Error`] becomes an [`AppError`] through `?`;
//! handlers add where to go next (`with_back`); request guards use [`fail`]
//! so the catcher can still show the guard's message.

use rocket::http::Status;
use rocket::request::{Outcome, Request};
use rocket::response::{self, Responder};
use rocket::serde::json::Json;
use rocket_dyn_templates::{Template, context};

use crate::error::Error;

#[derive(Debug, Clone)]
pub struct AppError {
    pub status: Status,
    pub message: String,
    /// Where a person should go next (e.g. back to the upload form).
    pub back: Option<String>,
    /// Every problem, one per line on the page (the message joins them,
    /// for the API and the log).
    pub problems: Vec<String>,
}

impl AppError {
    pub fn new(status: Status, message: impl Into<String>) -> Self {
        AppError {
            status,
            message: message.into(),
            back: None,
            problems: Vec::new(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(Status::BadRequest, message)
    }

    pub fn unauthorized() -> Self {
        Self::new(Status::Unauthorized, "Please log in first.")
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(Status::Forbidden, message)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(Status::NotFound, format!("No such {what}."))
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(Status::Conflict, message)
    }

    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(Status::PayloadTooLarge, message)
    }

    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self::new(Status::UnprocessableEntity, message)
    }

    /// Something broke on our side: log the cause, tell the user only that.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        rocket::error!("internal error: {cause}");
        Self::new(
            Status::InternalServerError,
            "Something went wrong on our side and nothing was changed. Please try again in a moment.",
        )
    }

    pub fn with_back(mut self, link: impl Into<String>) -> Self {
        self.back = Some(link.into());
        self
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.status, self.message)
    }
}

impl From<Error> for AppError {
    fn from(error: Error) -> Self {
        match error {
            // One problem says it all (and what it left unchanged).
            Error::Invalid(problems) if problems.len() == 1 => {
                AppError::unprocessable(problems.concat())
            }
            Error::Invalid(problems) => refused(Error::Invalid(problems), "Nothing was changed."),
            Error::NotFound(message) => AppError::new(Status::NotFound, message),
            Error::Forbidden(message) => AppError::forbidden(message),
            Error::Conflict(message) => AppError::conflict(message),
            Error::Malformed(message) => AppError::bad_request(message),
            Error::Internal(cause) => AppError::internal(cause),
        }
    }
}

/// A refused import: nothing was imported, and every bad line is named.
pub fn refused_import(error: Error) -> AppError {
    refused(error, "Nothing was imported.")
}

/// A refused change: `what` says that nothing happened, then every problem.
pub fn refused(error: Error, what: &str) -> AppError {
    match error {
        Error::Invalid(problems) if problems.len() > 1 => AppError {
            problems: problems.clone(),
            ..AppError::unprocessable(format!("{what} {}", problems.join(" · ")))
        },
        Error::Invalid(problems) => {
            AppError::unprocessable(format!("{what} {}", problems.join("")))
        }
        other => other.into(),
    }
}

impl From<std::io::Error> for AppError {
    fn from(error: std::io::Error) -> Self {
        AppError::internal(error)
    }
}

/// The mount point of the JSON API.
pub const API_BASE: &str = "/api/v1";

/// Whether a request is for the API: it then authenticates with a token only,
/// and answers in JSON. Decided by the route that matched, not by the raw
/// path: Rocket also routes `//api/v1/...` and `/%61pi/v1/...` there, and a
/// cookie must never reach an API route, whose forms carry no CSRF token.
pub fn is_api(request: &Request<'_>) -> bool {
    match request.route() {
        Some(route) => route.uri.base() == API_BASE,
        // No route (a catcher for an unmatched path): only the format is at stake.
        None => request.uri().path().segments().next() == Some("api"),
    }
}

impl<'r> Responder<'r, 'static> for AppError {
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'static> {
        let status = self.status;
        // With several problems the page says what happened, then one
        // problem per line.
        let lead: Option<String> = self
            .message
            .strip_suffix(self.problems.join(" · ").as_str())
            .filter(|_| !self.problems.is_empty())
            .map(|what| what.trim().to_string());
        let mut response = if is_api(request) {
            Json(serde_json::json!({ "message": self.message })).respond_to(request)?
        } else {
            Template::render(
                "error",
                context! {
                    title: status.reason().unwrap_or("Error"),
                    code: status.code,
                    lead,
                    problems: self.problems,
                    message: self.message,
                    back: self.back,
                },
            )
            .respond_to(request)?
        };
        response.set_status(status);
        Ok(response)
    }
}

/// The first failure of a request guard, kept for the catcher to show.
pub struct GuardFailure(pub Option<AppError>);

/// Fails a request guard, keeping its message for the catcher.
pub fn fail<T>(request: &Request<'_>, error: AppError) -> Outcome<T, AppError> {
    let status = error.status;
    // Only the first failure is kept: it is the one that stopped the request.
    request.local_cache(|| GuardFailure(Some(error.clone())));
    Outcome::Error((status, error))
}
