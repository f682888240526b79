//! HTTP only: routes per actor, the guards that say who is asking and check
//! the policy, and the catchers that turn every failure into a page or a
//! JSON message. A handler reads like a sentence: guard, parse, one call
//! into `services`, a page or a redirect. Nothing here touches the database.
//!
//! Forms that carry no file accept only `application/x-www-form-urlencoded`
//! (`format = "form"`): Rocket's multipart parser would buffer their text
//! fields in memory up to the whole form's limit. Forms with a file are read
//! by `multipart.rs` (bundles by `upload.rs`): CSRF token first, a limit on
//! every field, and a time limit on the whole body.

pub mod admin;
pub mod api;
pub mod auth;
pub mod calendar;
pub mod contents;
pub mod error;
pub mod evidence;
pub mod extensions;
pub mod feedback;
pub mod guards;
pub mod headers;
pub mod health;
pub mod marking;
pub mod marks;
pub mod multipart;
pub mod outbox;
pub mod pages;
pub mod requests;
pub mod session;
pub mod sso;
pub mod tokens;
pub mod upload;

use rocket::http::Status;
use rocket::response::Redirect;
use rocket::{Build, Either, Request, Rocket, catch, catchers};

use error::{API_BASE, AppError, GuardFailure, is_api};

pub fn mount(rocket: Rocket<Build>) -> Rocket<Build> {
    rocket
        .attach(headers::SecurityHeaders)
        .mount("/", health::routes())
        .mount("/", auth::routes())
        .mount("/", sso::routes())
        .mount("/", tokens::routes())
        .mount("/", pages::routes())
        .mount("/", marking::page_routes())
        .mount("/", marking::download_routes())
        .mount("/", contents::routes())
        .mount("/", calendar::routes())
        .mount("/", marks::page_routes())
        .mount("/", marks::download_routes())
        .mount("/", feedback::page_routes())
        .mount("/", feedback::download_routes())
        .mount("/", extensions::page_routes())
        .mount("/", requests::routes())
        .mount("/", admin::routes())
        .mount("/", outbox::routes())
        .mount("/", evidence::routes())
        .mount(API_BASE, api::routes())
        .mount(API_BASE, evidence::api_routes())
        .mount(API_BASE, extensions::api_routes())
        .mount(API_BASE, marking::download_routes())
        .mount(API_BASE, marks::download_routes())
        .mount(API_BASE, marks::api_routes())
        .mount(API_BASE, feedback::download_routes())
        .register("/", catchers![default_catcher])
}

/// Pages send people who are not logged in to the login page; everything
/// else shows the guard's own message, or a plain one for the status.
#[catch(default)]
fn default_catcher(status: Status, request: &Request<'_>) -> Either<Redirect, AppError> {
    if status == Status::Unauthorized && !is_api(request) {
        let next = request.uri().path().to_string();
        return Either::Left(Redirect::to(format!(
            "/login?next={}",
            rocket::http::RawStr::new(&next).percent_encode()
        )));
    }
    let kept = request.local_cache(|| GuardFailure(None)).0.clone();
    Either::Right(kept.unwrap_or_else(|| AppError::new(status, default_message(status))))
}

fn default_message(status: Status) -> String {
    match status.code {
        400 => "The request could not be understood.".into(),
        401 => "Please authenticate first.".into(),
        403 => "You are not allowed to do that.".into(),
        404 => "There is nothing here.".into(),
        413 => "That is larger than handin accepts. Nothing was stored.".into(),
        415 => {
            "Send forms as multipart/form-data (a bundle in the field 'bundle') or as a web form."
                .into()
        }
        422 => "The form was incomplete or malformed. Nothing was changed.".into(),
        _ => format!("{status}."),
    }
}
