//! Extension requests: students ask (with optional evidence), staff decide.

use rocket::Either;
use rocket::form::Form;
use rocket::http::{ContentType, Status};
use rocket::response::status::Custom;
use rocket::response::{Flash, Redirect};
use rocket::{State, get, post, routes};
use rocket_dyn_templates::Template;

use super::error::AppError;
use super::extensions::{TypedDecision, extensions_view};
use super::guards::{Allowed, AskForExtension, DecideRequest};
use super::marking::FileDownload;
use super::multipart::{FormSpec, Kind, SmallForm};
use super::session::{Caller, CsrfOnly};
use crate::App;
use crate::error::Error;
use crate::services::TEXT_LIMIT;
use crate::services::requests::{self, EVIDENCE_LIMIT, Evidence};
use crate::services::work;

pub fn routes() -> Vec<rocket::Route> {
    routes![ask, withdraw, decide, evidence]
}

/// An extension request: the date wanted, the reason, and evidence.
struct AskForm;

impl FormSpec for AskForm {
    const FIELDS: &'static [(&'static str, Kind)] = &[
        ("until", Kind::Text(64)),
        // Characters, not bytes, are what the reason's limit counts.
        ("reason", Kind::Text(4 * TEXT_LIMIT as u64)),
        ("evidence", Kind::Stored(EVIDENCE_LIMIT)),
    ];
}

#[post(
    "/courses/<_code>/assignments/<_slug>/extension-request",
    data = "<form>"
)]
async fn ask(
    app: &State<App>,
    asking: Allowed<AskForExtension>,
    _code: &str,
    _slug: &str,
    form: Result<SmallForm<AskForm>, AppError>,
) -> Result<Flash<Redirect>, AppError> {
    let back = asking.page();
    // The body reader has checked the CSRF token before reading further.
    let mut form = form.map_err(|e| e.with_back(back.clone()))?;
    let evidence = form.take_file("evidence").map(|(name, received)| Evidence {
        name: display_name(&name),
        received,
    });
    requests::ask(
        app,
        &asking,
        form.text("until"),
        form.text("reason"),
        evidence,
    )
    .await
    .map_err(|e| AppError::from(e).with_back(back.clone()))?;
    Ok(Flash::success(
        Redirect::to(back),
        "Your extension request was sent. You will see the decision here.",
    ))
}

/// The evidence's file name, kept for display: its last part, without
/// control characters, at most 200 characters.
fn display_name(raw: &str) -> String {
    raw.rsplit(['/', '\\'])
        .next()
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect()
}

#[post(
    "/courses/<_code>/assignments/<_slug>/extension-request/<id>/withdraw",
    format = "form",
    data = "<form>"
)]
async fn withdraw(
    app: &State<App>,
    asking: Allowed<AskForExtension>,
    _code: &str,
    _slug: &str,
    id: i32,
    form: Form<CsrfOnly<'_>>,
) -> Result<Flash<Redirect>, AppError> {
    asking.caller.check_csrf(form.csrf)?;
    let back = asking.page();
    requests::withdraw(app, &asking, id)
        .await
        .map_err(|e| AppError::from(e).with_back(back.clone()))?;
    Ok(Flash::success(
        Redirect::to(back),
        "Your extension request was withdrawn.",
    ))
}

#[derive(rocket::FromForm)]
struct DecideForm<'r> {
    csrf: &'r str,
    decision: &'r str,
    until: &'r str,
    comment: &'r str,
}

#[post(
    "/courses/<_code>/assignments/<_slug>/extension-requests/<id>",
    format = "form",
    data = "<form>"
)]
async fn decide(
    app: &State<App>,
    deciding: Allowed<DecideRequest>,
    _code: &str,
    _slug: &str,
    id: i32,
    form: Form<DecideForm<'_>>,
) -> Result<Either<Flash<Redirect>, Custom<Template>>, AppError> {
    deciding.caller.check_csrf(form.csrf)?;
    let back = deciding.extensions_page();
    match requests::decide(app, &deciding, id, form.decision, form.until, form.comment).await {
        Ok(()) => Ok(Either::Left(Flash::success(
            Redirect::to(back),
            "Decision saved; the student sees it on their assignment page.",
        ))),
        // What was typed stays, with what is wrong, at that request.
        Err(Error::Invalid(problems)) => {
            let typed = TypedDecision {
                id,
                until: form.until.to_string(),
                comment: form.comment.to_string(),
                problems,
            };
            let me = deciding.caller.view();
            let page = extensions_view(app, &deciding, me, None, (Some(typed), None)).await?;
            Ok(Either::Right(Custom(Status::UnprocessableEntity, page)))
        }
        Err(other) => Err(AppError::from(other).with_back(back)),
    }
}

/// The evidence file: for the student who sent it and for staff who decide.
#[get("/extension-requests/<id>/evidence")]
async fn evidence(app: &State<App>, caller: Caller, id: i32) -> Result<FileDownload, AppError> {
    let stored = work::evidence(app, &caller.user, id).await?;
    FileDownload::open(app, stored, ContentType::Binary).await
}
