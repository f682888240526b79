//! The JSON API under `/api/v1`, for scripts: `Authorization: Bearer TOKEN`.

use rocket::response::status::Created;
use rocket::serde::json::Json;
use rocket::{State, get, post, routes, uri};

use super::error::{API_BASE, AppError};
use super::guards::{Allowed, SeeAssignment};
use super::session::Caller;
use super::upload::{self, Bundle, UploadTarget};
use crate::App;
use crate::models::overview::AssignmentView;
use crate::models::receipt::Receipt;
use crate::policy::Act;
use crate::services::{exports, overview, work};

pub fn routes() -> Vec<rocket::Route> {
    routes![assignments, submit, receipt, submissions]
}

#[get("/assignments")]
async fn assignments(
    app: &State<App>,
    caller: Caller,
) -> Result<Json<Vec<AssignmentView>>, AppError> {
    Ok(Json(overview::dashboard(app, &caller.user).await?))
}

#[post("/courses/<_code>/assignments/<_slug>/submissions", data = "<bundle>")]
async fn submit(
    app: &State<App>,
    target: UploadTarget,
    bundle: Result<Bundle, AppError>,
    _code: &str,
    _slug: &str,
) -> Result<Created<Json<Receipt>>, AppError> {
    let receipt = upload::accept(app, &target, bundle?).await?;
    let location = format!("{API_BASE}{}", uri!(receipt(receipt.id)));
    Ok(Created::new(location).body(Json(receipt)))
}

/// Markers: every student's row as on the marking page (`?attempts=all`
/// fills in every attempt). Students: their own attempts, newest first.
#[get("/courses/<_code>/assignments/<_slug>/submissions?<attempts>")]
async fn submissions(
    app: &State<App>,
    seen: Allowed<SeeAssignment>,
    _code: &str,
    _slug: &str,
    attempts: Option<&str>,
) -> Result<Json<serde_json::Value>, AppError> {
    if !seen.allows(Act::Mark) {
        return Ok(Json(serde_json::json!(
            overview::own_attempts(app, &seen).await?
        )));
    }
    let which = if attempts == Some("all") {
        exports::Attempts::All
    } else {
        exports::Attempts::Latest
    };
    let table = exports::table(app, &seen, which).await?;
    Ok(Json(serde_json::json!(table.rows)))
}

#[get("/submissions/<id>")]
async fn receipt(app: &State<App>, caller: Caller, id: i32) -> Result<Json<Receipt>, AppError> {
    Ok(Json(work::receipt(app, &caller.user, id).await?))
}
