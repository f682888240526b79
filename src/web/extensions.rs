//! Extensions: granting (to one student or several), editing, revoking and
//! importing them, as pages and as `/api/v1` calls. Who may is the policy's
//! `GrantExtension`: administrators, and a course's markers where the
//! course allows it.

use rocket::Either;
use rocket::form::Form;
use rocket::http::Status;
use rocket::request::FlashMessage;
use rocket::response::status::Custom;
use rocket::response::{Flash, Redirect};
use rocket::serde::json::Json;
use rocket::{State, delete, get, post, put, routes};
use rocket_dyn_templates::{Template, context};
use serde::Deserialize;

use super::error::{AppError, refused_import};
use super::guards::{Allowed, GrantExtension};
use super::multipart::{CsvForm, SmallForm};
use crate::App;
use crate::domain::zone::format_local;
use crate::error::Error;
use crate::services::extensions::{self, ExtensionView};

pub fn page_routes() -> Vec<rocket::Route> {
    routes![extensions_page, grant_form, revoke_form, import_form]
}

pub fn api_routes() -> Vec<rocket::Route> {
    routes![list_api, put_api, delete_api]
}

type Granting = Allowed<GrantExtension>;

#[get("/courses/<_code>/assignments/<_slug>/extensions")]
pub async fn extensions_page(
    app: &State<App>,
    granting: Granting,
    _code: &str,
    _slug: &str,
    flash: Option<FlashMessage<'_>>,
) -> Result<Template, AppError> {
    let flash = flash.map(|f| f.message().to_string());
    let me = granting.caller.view();
    extensions_view(app, &granting, me, flash, (None, None)).await
}

/// A grant as it was typed, and what was wrong with it.
#[derive(serde::Serialize)]
pub(super) struct TypedGrant {
    pub students: Vec<String>,
    pub pasted: String,
    pub until: String,
    pub reason: String,
    pub problems: Vec<String>,
}

/// A decision on a request as it was typed, and what was wrong with it: the
/// page shows it again at that request.
#[derive(serde::Serialize)]
pub(super) struct TypedDecision {
    pub id: i32,
    pub until: String,
    pub comment: String,
    pub problems: Vec<String>,
}

/// The extensions page for the person in `scope` (`me` as pages show them).
pub(super) async fn extensions_view(
    app: &App,
    scope: &crate::services::Scope,
    me: serde_json::Value,
    flash: Option<String>,
    (typed, grant): (Option<TypedDecision>, Option<TypedGrant>),
) -> Result<Template, AppError> {
    let extensions = extensions::list(app, scope).await?;
    let overview = extensions::overview(app, scope).await?;
    let (course, assignment) = (&scope.course, &scope.assignment);
    Ok(Template::render(
        "extensions",
        context! {
            title: format!("Extensions: {}", assignment.title),
            me,
            typed,
            grant,
            course: &course.code,
            slug: &assignment.slug,
            assignment_title: &assignment.title,
            time_zone: course.zone_name(),
            due_local: format_local(assignment.due_at, course.zone()),
            extensions,
            students: overview.students,
            requests: overview.requests,
            anonymous: scope.hides_names,
            flash,
        },
    ))
}

#[derive(rocket::FromForm)]
struct GrantForm<'r> {
    csrf: &'r str,
    students: Vec<&'r str>,
    /// Usernames (or candidate numbers) pasted from a spreadsheet or email.
    pasted: Option<&'r str>,
    until: &'r str,
    reason: &'r str,
}

impl GrantForm<'_> {
    /// Everyone chosen or pasted, each once, in the order given.
    fn students(&self) -> Vec<&str> {
        let pasted = self
            .pasted
            .unwrap_or_default()
            .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
            .filter(|s| !s.is_empty());
        let mut all: Vec<&str> = Vec::new();
        for student in self.students.iter().copied().chain(pasted) {
            if !all.contains(&student) {
                all.push(student);
            }
        }
        all
    }
}

#[post(
    "/courses/<_code>/assignments/<_slug>/extensions",
    format = "form",
    data = "<form>"
)]
async fn grant_form(
    app: &State<App>,
    granting: Granting,
    _code: &str,
    _slug: &str,
    form: Form<GrantForm<'_>>,
) -> Result<Either<Flash<Redirect>, Custom<Template>>, AppError> {
    granting.caller.check_csrf(form.csrf)?;
    let back = granting.extensions_page();
    let students = form.students();
    let until = match extensions::grant(app, &granting, &students, form.until, form.reason).await {
        Ok(until) => until,
        // The form again, as typed, with what is wrong.
        Err(Error::Invalid(problems)) => {
            let typed = TypedGrant {
                students: form.students.iter().map(|s| s.to_string()).collect(),
                pasted: form.pasted.unwrap_or_default().to_string(),
                until: form.until.to_string(),
                reason: form.reason.to_string(),
                problems,
            };
            let me = granting.caller.view();
            let page = extensions_view(app, &granting, me, None, (None, Some(typed))).await?;
            return Ok(Either::Right(Custom(Status::UnprocessableEntity, page)));
        }
        Err(other) => return Err(AppError::from(other).with_back(back)),
    };
    // Said as people read times, in the course's zone.
    let message = format!(
        "Extension until {} saved for {}.",
        crate::domain::zone::format_local(until, granting.course.zone()),
        students.join(", ")
    );
    Ok(Either::Left(Flash::success(Redirect::to(back), message)))
}

#[derive(rocket::FromForm)]
struct RevokeForm<'r> {
    csrf: &'r str,
    reason: &'r str,
}

#[post(
    "/courses/<_code>/assignments/<_slug>/extensions/<username>/revoke",
    format = "form",
    data = "<form>"
)]
async fn revoke_form(
    app: &State<App>,
    granting: Granting,
    _code: &str,
    _slug: &str,
    username: &str,
    form: Form<RevokeForm<'_>>,
) -> Result<Flash<Redirect>, AppError> {
    granting.caller.check_csrf(form.csrf)?;
    let message = if extensions::revoke(app, &granting, username, form.reason).await? {
        format!("The extension of {username} was revoked.")
    } else {
        format!("{username} had no extension.")
    };
    Ok(Flash::success(
        Redirect::to(granting.extensions_page()),
        message,
    ))
}

#[post(
    "/courses/<_code>/assignments/<_slug>/extensions/import",
    data = "<form>"
)]
async fn import_form(
    app: &State<App>,
    granting: Granting,
    _code: &str,
    _slug: &str,
    form: Result<SmallForm<CsvForm>, AppError>,
) -> Result<Flash<Redirect>, AppError> {
    let back = granting.extensions_page();
    // The body reader has checked the CSRF token before reading further.
    let form = form.map_err(|e| e.with_back(back.clone()))?;
    let count = extensions::import(app, &granting, form.text("csv"))
        .await
        .map_err(|e| refused_import(e).with_back(back.clone()))?;
    Ok(Flash::success(
        Redirect::to(back),
        format!("{count} extension(s) imported."),
    ))
}

#[get("/courses/<_code>/assignments/<_slug>/extensions")]
async fn list_api(
    app: &State<App>,
    granting: Granting,
    _code: &str,
    _slug: &str,
) -> Result<Json<Vec<ExtensionView>>, AppError> {
    Ok(Json(extensions::list(app, &granting).await?))
}

#[derive(Deserialize)]
struct ExtensionBody {
    until: String,
    reason: String,
}

#[put(
    "/courses/<_code>/assignments/<_slug>/extensions/<username>",
    data = "<body>"
)]
async fn put_api(
    app: &State<App>,
    granting: Granting,
    _code: &str,
    _slug: &str,
    username: &str,
    body: Result<Json<ExtensionBody>, rocket::serde::json::Error<'_>>,
) -> Result<Json<ExtensionView>, AppError> {
    let body = body.map_err(|e| {
        AppError::bad_request(format!(
            "The body must be JSON {{\"until\": ..., \"reason\": ...}}: {e}"
        ))
    })?;
    extensions::grant(app, &granting, &[username], &body.until, &body.reason).await?;
    extensions::list(app, &granting)
        .await?
        .into_iter()
        .find(|v| v.student == username)
        .map(Json)
        .ok_or_else(|| AppError::internal("extension missing after grant"))
}

#[delete("/courses/<_code>/assignments/<_slug>/extensions/<username>")]
async fn delete_api(
    app: &State<App>,
    granting: Granting,
    _code: &str,
    _slug: &str,
    username: &str,
) -> Result<Status, AppError> {
    if extensions::revoke(app, &granting, username, "revoked through the API").await? {
        Ok(Status::NoContent)
    } else {
        Err(AppError::not_found(&format!("extension for {username}")))
    }
}
