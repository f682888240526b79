//! The pages people use: the dashboard, an assignment (with its upload form),
//! and receipts.

use rocket::request::FlashMessage;
use rocket::response::Redirect;
use rocket::{State, get, post, routes, uri};
use rocket_dyn_templates::{Template, context};

use super::error::AppError;
use super::guards::{Allowed, SeeAssignment};
use super::session::Caller;
use super::upload::{self, Bundle, UploadTarget};
use crate::App;
use crate::domain::readable;
use crate::services::requests::EVIDENCE_LIMIT;
use crate::services::{feedback, marks, overview, work};

pub fn routes() -> Vec<rocket::Route> {
    routes![
        dashboard,
        assignment_page,
        hand_in,
        receipt,
        stylesheet,
        script
    ]
}

#[get("/")]
async fn dashboard(app: &State<App>, caller: Caller) -> Result<Template, AppError> {
    let assignments = overview::dashboard(app, &caller.user).await?;
    Ok(Template::render(
        "dashboard",
        context! { title: "Your assignments", me: caller.view(), assignments },
    ))
}

#[get("/courses/<_code>/assignments/<_slug>")]
pub async fn assignment_page(
    app: &State<App>,
    seen: Allowed<SeeAssignment>,
    _code: &str,
    _slug: &str,
    flash: Option<FlashMessage<'_>>,
) -> Result<Template, AppError> {
    let page = overview::assignment_page(app, &seen).await?;
    let mark = marks::own(app, &seen).await?;
    let feedback_files = feedback::own(app, &seen).await?;
    Ok(Template::render(
        "assignment",
        context! {
            title: &seen.assignment.title,
            me: seen.caller.view(),
            mark,
            feedback_files,
            a: page.view,
            attempts: page.attempts,
            requests: page.requests,
            evidence_limit: readable::bytes(EVIDENCE_LIMIT),
            flash: flash.map(|f| f.message().to_string()),
        },
    ))
}

#[post("/courses/<_code>/assignments/<_slug>/submissions", data = "<bundle>")]
async fn hand_in(
    app: &State<App>,
    target: UploadTarget,
    bundle: Result<Bundle, AppError>,
    _code: &str,
    _slug: &str,
) -> Result<Redirect, AppError> {
    // The body reader has checked the CSRF token before storing anything.
    let bundle = bundle.map_err(|e| e.with_back(target.page()))?;
    let receipt = upload::accept(app, &target, bundle).await?;
    Ok(Redirect::to(uri!(receipt(receipt.id))))
}

#[get("/submissions/<id>")]
pub async fn receipt(app: &State<App>, caller: Caller, id: i32) -> Result<Template, AppError> {
    let receipt = work::receipt(app, &caller.user, id).await?;
    // The signed receipt names the student: not offered where names are hidden.
    let named = receipt.original_name != crate::models::receipt::HIDDEN;
    Ok(Template::render(
        "receipt",
        context! { title: "Receipt", me: caller.view(), r: receipt, named },
    ))
}

/// Served by handin itself: no CDN, since universities run it behind firewalls.
#[get("/static/handin.js")]
fn script() -> (rocket::http::ContentType, &'static str) {
    (
        rocket::http::ContentType::JavaScript,
        include_str!("../../templates/static/handin.js"),
    )
}

#[get("/static/handin.css")]
fn stylesheet() -> (rocket::http::ContentType, &'static str) {
    (
        rocket::http::ContentType::CSS,
        include_str!("../../templates/static/handin.css"),
    )
}
