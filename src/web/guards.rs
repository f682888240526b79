//! Guards built on [`Caller`]: administrators only, and small form fields.

use rocket::data::ToByteUnit;
use rocket::form::{self, DataField, FromFormField, ValueField};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::tokio::io::AsyncReadExt;

use super::session::Caller;
use crate::error::{AppError, fail};

/// An administrator; anyone else gets 403.
pub struct Admin(pub Caller);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Admin {
    type Error = AppError;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, AppError> {
        let caller = rocket::outcome::try_outcome!(request.guard::<Caller>().await);
        if caller.user.is_admin() {
            Outcome::Success(Admin(caller))
        } else {
            fail(
                request,
                AppError::forbidden("Only administrators can do that."),
            )
        }
    }
}

/// A CSV sent as a file or pasted into a text area, at most 2 MiB.
pub struct CsvText(pub String);

const CSV_LIMIT: u64 = 2 * 1024 * 1024;

#[rocket::async_trait]
impl<'r> FromFormField<'r> for CsvText {
    fn from_value(field: ValueField<'r>) -> form::Result<'r, Self> {
        Ok(CsvText(field.value.to_string()))
    }

    async fn from_data(field: DataField<'r, '_>) -> form::Result<'r, Self> {
        let mut bytes = Vec::new();
        let mut stream = field.data.open((CSV_LIMIT + 1).bytes());
        stream
            .read_to_end(&mut bytes)
            .await
            .map_err(form::error::ErrorKind::from)?;
        if bytes.len() as u64 > CSV_LIMIT {
            Err(form::error::ErrorKind::InvalidLength {
                min: None,
                max: Some(CSV_LIMIT),
            })?;
        }
        let text = String::from_utf8(bytes)
            .map_err(|_| form::Error::validation("the CSV file must be UTF-8 text"))?;
        Ok(CsvText(text))
    }
}

/// Reasons and comments go on the record and into pages: keep them short.
pub const TEXT_LIMIT: usize = 2000;

/// The trimmed text, or a refusal naming the field if it is too long.
pub fn short_text<'a>(what: &str, text: &'a str) -> Result<&'a str, AppError> {
    let text = text.trim();
    if text.chars().count() > TEXT_LIMIT {
        return Err(AppError::unprocessable(format!(
            "The {what} is too long: at most {TEXT_LIMIT} characters, please."
        )));
    }
    Ok(text)
}
