//! What went wrong, as the use cases (`services/`) say it: typed, so that
//! each kind of failure reaches the person with the right status and words.
//!
//! `Invalid` names every problem found, so a person can fix them all at
//! once. `Internal` keeps its cause for the log; nobody is shown it
//! (`web::error` turns it into a plain apology). Database and file-system
//! errors become `Internal` through `?`.

use std::fmt;

#[derive(Debug)]
pub enum Error {
    /// The input cannot be used; each problem in words a person can act on.
    Invalid(Vec<String>),
    /// There is no such thing, or the caller may not know that there is.
    NotFound(String),
    /// The caller may not do this.
    Forbidden(String),
    /// Not now: the state of things forbids it (closed, already decided...).
    Conflict(String),
    /// The request itself is malformed (a value no form offers).
    Malformed(String),
    /// Something broke on our side.
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn invalid(problem: impl Into<String>) -> Self {
        Error::Invalid(vec![problem.into()])
    }

    /// "No such student ab1g23 in COMP6248."
    pub fn not_found(what: impl fmt::Display) -> Self {
        Error::NotFound(format!("No such {what}."))
    }

    pub fn internal(cause: impl fmt::Display) -> Self {
        Error::Internal(cause.to_string())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Invalid(problems) => f.write_str(&problems.join("; ")),
            Error::NotFound(m)
            | Error::Forbidden(m)
            | Error::Conflict(m)
            | Error::Malformed(m)
            | Error::Internal(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {}

impl From<sea_orm::DbErr> for Error {
    fn from(error: sea_orm::DbErr) -> Self {
        Error::internal(error)
    }
}

impl From<std::io::Error> for Error {
    fn from(error: std::io::Error) -> Self {
        Error::internal(error)
    }
}

impl From<rocket::tokio::task::JoinError> for Error {
    fn from(error: rocket::tokio::task::JoinError) -> Self {
        Error::internal(error)
    }
}
