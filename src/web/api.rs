//! The JSON API under `/api/v1`, for scripts: `Authorization: Bearer TOKEN`.

use rocket::response::status::Created;
use rocket::serde::json::Json;
use rocket::{State, get, post, routes};

use super::pages::visible_receipt;
use super::session::Caller;
use super::upload::{self, Bundle, UploadTarget};
use crate::App;
use crate::error::AppError;
use crate::models::access::{self, CourseRole};
use crate::models::overview::{self, AssignmentView};
use crate::models::receipt::Receipt;
use crate::models::{assignment, extension, marking, submission};

pub fn routes() -> Vec<rocket::Route> {
    routes![assignments, submit, receipt, submissions]
}

#[get("/assignments")]
async fn assignments(
    app: &State<App>,
    caller: Caller,
) -> Result<Json<Vec<AssignmentView>>, AppError> {
    Ok(Json(
        overview::for_user(&app.db, &caller.user, app.clock.now()).await?,
    ))
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
    Ok(Created::new(format!("/api/v1/submissions/{}", receipt.id)).body(Json(receipt)))
}

/// Markers: every student's row as on the marking page (`?attempts=all`
/// fills in every attempt). Students: their own attempts, newest first.
#[get("/courses/<code>/assignments/<slug>/submissions?<attempts>")]
async fn submissions(
    app: &State<App>,
    caller: Caller,
    code: &str,
    slug: &str,
    attempts: Option<&str>,
) -> Result<Json<serde_json::Value>, AppError> {
    let (course, assignment) = assignment::find_by_codes(&app.db, code, slug)
        .await?
        .ok_or_else(|| AppError::not_found("assignment"))?;
    match access::role_in(&app.db, &caller.user, course.id).await? {
        Some(CourseRole::Student) => {
            let extension = extension::until_for(&app.db, assignment.id, caller.user.id).await?;
            let receipts: Vec<Receipt> =
                submission::attempts(&app.db, assignment.id, caller.user.id)
                    .await?
                    .iter()
                    .map(|s| Receipt::build(s, &assignment, &course, &caller.user, extension))
                    .collect();
            Ok(Json(serde_json::json!(receipts)))
        }
        Some(role) => {
            let mut table = marking::load(&app.db, &course, &assignment, role).await?;
            if attempts != Some("all") {
                table.rows.iter_mut().for_each(|r| r.attempts.clear());
            }
            Ok(Json(serde_json::json!(table.rows)))
        }
        None => Err(AppError::forbidden(format!(
            "You are not enrolled in {}.",
            course.code
        ))),
    }
}

#[get("/submissions/<id>")]
async fn receipt(app: &State<App>, caller: Caller, id: i32) -> Result<Json<Receipt>, AppError> {
    Ok(Json(visible_receipt(app, &caller, id).await?))
}
