//! Feedback files: added one at a time on a student's history page or from
//! a feedback zip on the marking page, removed, and downloaded (always as an
//! attachment, never shown in the browser).

use rocket::form::Form;
use rocket::http::ContentType;
use rocket::response::{Flash, Redirect};
use rocket::{State, get, post, routes};

use super::error::{AppError, refused};
use super::guards::{Allowed, Mark};
use super::marking::FileDownload;
use super::marks::{history_page, marking_page};
use super::multipart::{FormSpec, Kind, SmallForm};
use super::session::{Caller, CsrfOnly};
use crate::App;
use crate::domain::readable;
use crate::services::feedback::{self, FILE_LIMIT, ZIP_LIMIT};
use crate::services::work;

pub fn page_routes() -> Vec<rocket::Route> {
    routes![add, remove, import]
}

/// Mounted under `/` and under `/api/v1`.
pub fn download_routes() -> Vec<rocket::Route> {
    routes![download]
}

/// One feedback file for one student.
struct FileForm;

impl FormSpec for FileForm {
    const FIELDS: &'static [(&'static str, Kind)] = &[("file", Kind::Stored(FILE_LIMIT))];
}

/// A feedback zip: one folder per student.
struct ZipForm;

impl FormSpec for ZipForm {
    const FIELDS: &'static [(&'static str, Kind)] = &[("zip", Kind::Stored(ZIP_LIMIT))];

    /// A large zip from a marker's home connection takes a while: the form
    /// waits as long as the largest takes at 1 MiB/s. (Only a course's
    /// markers reach it, and their token is checked first.)
    fn seconds(configured: u64) -> u64 {
        configured.max(ZIP_LIMIT / (1024 * 1024))
    }
}

#[post(
    "/courses/<_code>/assignments/<_slug>/marking/<label>/feedback-files",
    data = "<form>"
)]
async fn add(
    app: &State<App>,
    marking: Allowed<Mark>,
    _code: &str,
    _slug: &str,
    label: &str,
    form: Result<SmallForm<FileForm>, AppError>,
) -> Result<Flash<Redirect>, AppError> {
    let back = history_page(&marking, label);
    let mut form = form.map_err(|e| e.with_back(back.clone()))?;
    let (sent_name, received) = form.take_file("file").ok_or_else(|| {
        AppError::unprocessable("Choose a file to return.").with_back(back.clone())
    })?;
    let name = feedback::add(app, &marking, label, &sent_name, received)
        .await
        .map_err(|e| refused(e, "Nothing was added.").with_back(back.clone()))?;
    Ok(Flash::success(
        Redirect::to(back),
        format!("{name} added: the student sees it once the marks are released."),
    ))
}

#[post(
    "/courses/<_code>/assignments/<_slug>/marking/<label>/feedback-files/<id>/remove",
    format = "form",
    data = "<form>"
)]
async fn remove(
    app: &State<App>,
    marking: Allowed<Mark>,
    _code: &str,
    _slug: &str,
    label: &str,
    id: i32,
    form: Form<CsrfOnly<'_>>,
) -> Result<Flash<Redirect>, AppError> {
    marking.caller.check_csrf(form.csrf)?;
    let back = history_page(&marking, label);
    let name = feedback::remove(app, &marking, label, id)
        .await
        .map_err(|e| AppError::from(e).with_back(back.clone()))?;
    Ok(Flash::success(
        Redirect::to(back),
        format!("{name} removed."),
    ))
}

#[post(
    "/courses/<_code>/assignments/<_slug>/feedback-files/import",
    data = "<form>"
)]
async fn import(
    app: &State<App>,
    marking: Allowed<Mark>,
    _code: &str,
    _slug: &str,
    form: Result<SmallForm<ZipForm>, AppError>,
) -> Result<Flash<Redirect>, AppError> {
    let back = marking_page(&marking);
    let mut form = form.map_err(|e| e.with_back(back.clone()))?;
    let (_, zip) = form.take_file("zip").ok_or_else(|| {
        AppError::unprocessable("Choose a feedback zip to import.").with_back(back.clone())
    })?;
    let returned = feedback::import_zip(app, &marking, zip)
        .await
        .map_err(|e| refused(e, "Nothing was returned.").with_back(back.clone()))?;
    let left_out = match returned.left_out {
        0 => String::new(),
        n => format!(
            " {n} file{} left out (the students' own bundles, the manifest, system files, empty files).",
            if n == 1 { " was" } else { "s were" }
        ),
    };
    Ok(Flash::success(
        Redirect::to(back),
        format!(
            "{} feedback file{} for {} student{}: each student's files replace any returned before; \
             they see them once the marks are released.{left_out}",
            returned.files,
            if returned.files == 1 { "" } else { "s" },
            returned.students,
            if returned.students == 1 { "" } else { "s" },
        ),
    ))
}

/// A feedback file, for the student it was returned to (after the release)
/// and for the course's markers.
#[get("/feedback-files/<id>")]
async fn download(app: &State<App>, caller: Caller, id: i32) -> Result<FileDownload, AppError> {
    let stored = work::feedback_file(app, &caller.user, id).await?;
    FileDownload::open(app, stored, ContentType::Binary).await
}

/// The limits the pages state beside the file fields.
pub fn limits() -> serde_json::Value {
    serde_json::json!({
        "file": readable::bytes(FILE_LIMIT),
        "zip": readable::bytes(ZIP_LIMIT),
    })
}
