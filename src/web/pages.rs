//! The pages people use: the dashboard, an assignment (with its upload form),
//! and receipts.

use rocket::request::FlashMessage;
use rocket::response::Redirect;
use rocket::{State, get, post, routes, uri};
use rocket_dyn_templates::{Template, context};

use super::session::Caller;
use super::upload::{self, Bundle, UploadTarget};
use crate::App;
use crate::error::AppError;
use crate::models::access::{self, CourseRole};
use crate::models::receipt::Receipt;
use crate::models::{assignment, marking, overview, requests, submission};

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
    let assignments = overview::for_user(&app.db, &caller.user, app.clock.now()).await?;
    Ok(Template::render(
        "dashboard",
        context! { title: "Your assignments", me: caller.view(), assignments },
    ))
}

#[get("/courses/<code>/assignments/<slug>")]
async fn assignment_page(
    app: &State<App>,
    caller: Caller,
    code: &str,
    slug: &str,
    flash: Option<FlashMessage<'_>>,
) -> Result<Template, AppError> {
    let (course, assignment) = assignment::find_by_codes(&app.db, code, slug)
        .await?
        .ok_or_else(|| AppError::not_found("assignment"))?;
    let role = access::role_in(&app.db, &caller.user, course.id)
        .await?
        .ok_or_else(|| AppError::forbidden(format!("You are not enrolled in {}.", course.code)))?;
    let (state, attempts, requests) = if role == CourseRole::Student {
        let attempts = submission::attempts(&app.db, assignment.id, caller.user.id).await?;
        let state = overview::student_state(&app.db, assignment.id, caller.user.id).await?;
        let requests = requests::for_student(&app.db, &course, &assignment, &caller.user).await?;
        (Some(state), attempts, requests)
    } else {
        (None, Vec::new(), Vec::new())
    };
    let view = overview::build(&course, &assignment, role, state.clone(), app.clock.now());
    let extension = state.and_then(|(until, _)| until);
    let attempts: Vec<Receipt> = attempts
        .iter()
        .map(|s| Receipt::build(s, &assignment, &course, &caller.user, extension))
        .collect();
    Ok(Template::render(
        "assignment",
        context! {
            title: &assignment.title,
            me: caller.view(),
            a: view,
            attempts,
            requests,
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

/// A receipt is for the student who handed in, and for those who mark the course.
pub async fn visible_receipt(app: &App, caller: &Caller, id: i32) -> Result<Receipt, AppError> {
    let receipt = Receipt::load(&app.db, id)
        .await?
        .ok_or_else(|| AppError::not_found("submission"))?;
    if receipt.student_id == caller.user.id {
        return Ok(receipt);
    }
    match access::role_in(&app.db, &caller.user, receipt.course_id).await? {
        Some(CourseRole::Marker) if receipt.anonymous => {
            let candidate =
                marking::candidate_of(&app.db, receipt.course_id, receipt.student_id).await?;
            Ok(receipt.anonymise(candidate))
        }
        Some(role) if role.sees_everyone() => Ok(receipt),
        // Someone else's work: as far as this caller knows, it does not exist.
        _ => Err(AppError::not_found("submission")),
    }
}

#[get("/submissions/<id>")]
async fn receipt(app: &State<App>, caller: Caller, id: i32) -> Result<Template, AppError> {
    let receipt = visible_receipt(app, &caller, id).await?;
    Ok(Template::render(
        "receipt",
        context! { title: "Receipt", me: caller.view(), r: receipt },
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
