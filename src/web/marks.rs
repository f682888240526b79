//! Marks and feedback: entered on the marking table (a form per student,
//! which the page's script sends without leaving the page) and on a
//! student's history page, imported from a CSV, released, exported for the
//! registry; and through the API.

use rocket::Either;
use rocket::form::Form;
use rocket::http::{ContentType, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::response::{Flash, Redirect};
use rocket::serde::json::Json;
use rocket::{State, delete, get, post, put, routes, uri};
use serde::Deserialize;

use super::error::{AppError, refused, refused_import};
use super::guards::{Allowed, Mark};
use super::marking::{Download, TableQuery};
use super::multipart::{CsvForm, SmallForm};
use super::session::CsrfOnly;
use crate::App;
use crate::services::marks::{self, Given, Listed, Typed};

pub fn page_routes() -> Vec<rocket::Route> {
    routes![enter, remove, import, release]
}

/// Mounted under `/` and under `/api/v1`.
pub fn download_routes() -> Vec<rocket::Route> {
    routes![registry_csv]
}

pub fn api_routes() -> Vec<rocket::Route> {
    routes![list_api, put_api, put_many_api, delete_api]
}

pub(super) fn marking_page(marking: &Allowed<Mark>) -> String {
    let (code, slug) = (&marking.course.code, &marking.assignment.slug);
    uri!(super::marking::marking_page(code, slug, _)).to_string()
}

pub(super) fn history_page(marking: &Allowed<Mark>, label: &str) -> String {
    let (code, slug) = (&marking.course.code, &marking.assignment.slug);
    uri!(super::marking::history(code, slug, label)).to_string()
}

fn saved(given: &Given) -> String {
    let penalty = if given.late_rule == "none" {
        String::new()
    } else {
        format!(
            ", {} after the late policy ({})",
            given.final_mark, given.late_rule
        )
    };
    format!("{}: {} saved{penalty}.", given.student, given.raw)
}

#[derive(rocket::FromForm)]
struct MarkForm<'r> {
    csrf: &'r str,
    mark: &'r str,
    /// The marking table's inline field sends no feedback: it is kept.
    feedback: Option<&'r str>,
    /// Back to the history page rather than the table.
    from_history: bool,
}

/// The page's script asks for JSON (`Accept: application/json`): it shows
/// the answer beside the field, and the page stays as it is.
pub struct WantsJson(bool);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for WantsJson {
    type Error = std::convert::Infallible;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let accept = request.headers().get_one("Accept").unwrap_or_default();
        Outcome::Success(WantsJson(accept.contains("application/json")))
    }
}

/// What the script shows: the saved mark, or why not.
#[derive(serde::Serialize)]
struct Answer {
    message: String,
    #[serde(flatten)]
    given: Option<Given>,
}

type Saved = Either<Flash<Redirect>, (Status, Json<Answer>)>;

#[post(
    "/courses/<_code>/assignments/<_slug>/marking/<label>/mark?<view..>",
    format = "form",
    data = "<form>"
)]
#[allow(clippy::too_many_arguments)] // each is one thing the route names
async fn enter(
    app: &State<App>,
    marking: Allowed<Mark>,
    _code: &str,
    _slug: &str,
    label: &str,
    // The table's filter and order, in the form's address, to go back to
    // them (without the page's script, the answer is a new page).
    view: Option<TableQuery<'_>>,
    json: WantsJson,
    form: Form<MarkForm<'_>>,
) -> Result<Saved, AppError> {
    marking.caller.check_csrf(form.csrf)?;
    let back = if form.from_history {
        history_page(&marking, label)
    } else {
        let view = view.unwrap_or_default().query_string();
        format!("{}{view}", marking_page(&marking))
    };
    let typed = Typed {
        student: label,
        mark: form.mark,
        feedback: form.feedback,
    };
    let (status, message, given) = match marks::enter(app, &marking, typed).await {
        Ok(given) => (Status::Ok, saved(&given), Some(given)),
        Err(crate::error::Error::Invalid(problems)) => (
            Status::UnprocessableEntity,
            format!("Not saved: {}", problems.join(" · ")),
            None,
        ),
        Err(other) => return Err(AppError::from(other).with_back(back)),
    };
    Ok(match (json.0, status) {
        (true, _) => Either::Right((status, Json(Answer { message, given }))),
        (false, Status::Ok) => Either::Left(Flash::success(Redirect::to(back), message)),
        (false, _) => Either::Left(Flash::error(Redirect::to(back), message)),
    })
}

#[post(
    "/courses/<_code>/assignments/<_slug>/marking/<label>/mark/remove",
    format = "form",
    data = "<form>"
)]
async fn remove(
    app: &State<App>,
    marking: Allowed<Mark>,
    _code: &str,
    _slug: &str,
    label: &str,
    form: Form<CsrfOnly<'_>>,
) -> Result<Flash<Redirect>, AppError> {
    marking.caller.check_csrf(form.csrf)?;
    let back = history_page(&marking, label);
    let label = marks::remove(app, &marking, label)
        .await
        .map_err(|e| AppError::from(e).with_back(back.clone()))?;
    Ok(Flash::success(
        Redirect::to(back),
        format!("The mark for {label} was removed."),
    ))
}

#[post("/courses/<_code>/assignments/<_slug>/marks/import", data = "<form>")]
async fn import(
    app: &State<App>,
    marking: Allowed<Mark>,
    _code: &str,
    _slug: &str,
    form: Result<SmallForm<CsvForm>, AppError>,
) -> Result<Flash<Redirect>, AppError> {
    let back = marking_page(&marking);
    let form = form.map_err(|e| e.with_back(back.clone()))?;
    let given = marks::import_csv(app, &marking, form.text("csv"))
        .await
        .map_err(|e| refused_import(e).with_back(back.clone()))?;
    Ok(Flash::success(
        Redirect::to(back),
        format!("{} marks imported.", given.len()),
    ))
}

#[derive(rocket::FromForm)]
struct ReleaseForm<'r> {
    csrf: &'r str,
    /// "now", or "schedule" (at `at`).
    release: &'r str,
    at: &'r str,
}

#[post(
    "/courses/<_code>/assignments/<_slug>/marks/release",
    format = "form",
    data = "<form>"
)]
async fn release(
    app: &State<App>,
    marking: Allowed<Mark>,
    _code: &str,
    _slug: &str,
    form: Form<ReleaseForm<'_>>,
) -> Result<Flash<Redirect>, AppError> {
    marking.caller.check_csrf(form.csrf)?;
    let back = marking_page(&marking);
    let at = (form.release != "now").then_some(form.at);
    let released = marks::release(app, &marking, at)
        .await
        .map_err(|e| refused(e, "Nothing was released.").with_back(back.clone()))?;
    let message = if released.marks_released(app.clock.now()) {
        "The marks are released: students see their marks and feedback now."
    } else {
        "The release is scheduled: students see their marks and feedback from the time set."
    };
    Ok(Flash::success(Redirect::to(back), message))
}

#[get("/courses/<_code>/assignments/<_slug>/marks.csv")]
async fn registry_csv(
    app: &State<App>,
    marking: Allowed<Mark>,
    _code: &str,
    _slug: &str,
) -> Result<Download<Vec<u8>>, AppError> {
    let export = marks::registry_csv(app, &marking).await?;
    Ok(Download::new(export.body, ContentType::CSV, &export.name))
}

#[get("/courses/<_code>/assignments/<_slug>/marks")]
async fn list_api(
    app: &State<App>,
    marking: Allowed<Mark>,
    _code: &str,
    _slug: &str,
) -> Result<Json<Vec<Listed>>, AppError> {
    Ok(Json(marks::list(app, &marking).await?))
}

#[derive(Deserialize)]
struct MarkBody {
    mark: serde_json::Value,
    /// Left out: the feedback stays; `""` clears it.
    #[serde(default)]
    feedback: Option<String>,
}

#[derive(Deserialize)]
struct StudentMarkBody {
    student: String,
    #[serde(flatten)]
    body: MarkBody,
}

/// A mark as JSON may carry it: `65`, `72.5` or `"72.5"`.
fn mark_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

#[put("/courses/<_code>/assignments/<_slug>/marks/<label>", data = "<body>")]
async fn put_api(
    app: &State<App>,
    marking: Allowed<Mark>,
    _code: &str,
    _slug: &str,
    label: &str,
    body: Result<Json<MarkBody>, rocket::serde::json::Error<'_>>,
) -> Result<Json<Given>, AppError> {
    let body = body.map_err(|e| {
        AppError::bad_request(format!(
            "The body must be JSON {{\"mark\": ..., \"feedback\": ...}}: {e}"
        ))
    })?;
    let mark = mark_text(&body.mark);
    let typed = Typed {
        student: label,
        mark: &mark,
        feedback: body.feedback.as_deref(),
    };
    Ok(Json(marks::enter(app, &marking, typed).await?))
}

#[put("/courses/<_code>/assignments/<_slug>/marks", data = "<body>")]
async fn put_many_api(
    app: &State<App>,
    marking: Allowed<Mark>,
    _code: &str,
    _slug: &str,
    body: Result<Json<Vec<StudentMarkBody>>, rocket::serde::json::Error<'_>>,
) -> Result<Json<Vec<Given>>, AppError> {
    let body = body.map_err(|e| {
        AppError::bad_request(format!(
            "The body must be a JSON list of {{\"student\": ..., \"mark\": ..., \"feedback\": ...}}: {e}"
        ))
    })?;
    let marks: Vec<String> = body.iter().map(|b| mark_text(&b.body.mark)).collect();
    let items: Vec<(String, Typed<'_>)> = body
        .iter()
        .zip(&marks)
        .enumerate()
        .map(|(i, (b, mark))| {
            let typed = Typed {
                student: &b.student,
                mark,
                feedback: b.body.feedback.as_deref(),
            };
            (format!("item {}", i + 1), typed)
        })
        .collect();
    Ok(Json(marks::enter_many(app, &marking, &items).await?))
}

#[delete("/courses/<_code>/assignments/<_slug>/marks/<label>")]
async fn delete_api(
    app: &State<App>,
    marking: Allowed<Mark>,
    _code: &str,
    _slug: &str,
    label: &str,
) -> Result<Status, AppError> {
    marks::remove(app, &marking, label).await?;
    Ok(Status::NoContent)
}
