//! The JSON API under `/api/v1`, for scripts: `Authorization: Bearer TOKEN`.

use rocket::form::{self, Form};
use rocket::response::status::Created;
use rocket::serde::json::Json;
use rocket::{State, get, post, routes};

use super::pages::visible_receipt;
use super::session::Caller;
use super::upload::{self, Bundle, UploadTarget};
use crate::App;
use crate::error::AppError;
use crate::models::overview::{self, AssignmentView};
use crate::models::receipt::Receipt;

pub fn routes() -> Vec<rocket::Route> {
    routes![assignments, submit, submission]
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

#[derive(rocket::FromForm)]
struct SubmitForm {
    bundle: Bundle,
}

#[post("/courses/<_code>/assignments/<_slug>/submissions", data = "<form>")]
async fn submit(
    app: &State<App>,
    target: UploadTarget,
    form: Result<Form<SubmitForm>, form::Errors<'_>>,
    _code: &str,
    _slug: &str,
) -> Result<Created<Json<Receipt>>, AppError> {
    let form = form
        .map_err(|errors| upload::form_error(&errors, &target))?
        .into_inner();
    let receipt = upload::accept(app, &target, form.bundle).await?;
    Ok(Created::new(format!("/api/v1/submissions/{}", receipt.id)).body(Json(receipt)))
}

#[get("/submissions/<id>")]
async fn submission(app: &State<App>, caller: Caller, id: i32) -> Result<Json<Receipt>, AppError> {
    Ok(Json(visible_receipt(app, &caller, id).await?))
}
