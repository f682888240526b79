//! Extension requests: students ask (with optional evidence), staff decide.

use rocket::data::ToByteUnit;
use rocket::form::{self, DataField, Form, FromFormField, ValueField};
use rocket::http::ContentType;
use rocket::response::{Flash, Redirect};
use rocket::{State, get, post, routes};
use sea_orm::EntityTrait;

use super::extensions::Granting;
use super::guards::short_text;
use super::marking::Download;
use super::session::Caller;
use crate::App;
use crate::domain::deadline::parse_instant;
use crate::error::AppError;
use crate::models::access::{self, CourseRole};
use crate::models::requests::{self, Ask, Asked, Outcome};
use crate::models::{assignment, course};
use crate::storage::{ReceiveError, Received};

pub fn routes() -> Vec<rocket::Route> {
    routes![ask, evidence]
}

/// Evidence for a request: at most 10 MiB, streamed to disk like a bundle.
pub struct Evidence {
    name: String,
    received: Received,
}

pub const EVIDENCE_LIMIT: u64 = 10 * 1024 * 1024;

#[rocket::async_trait]
impl<'r> FromFormField<'r> for Evidence {
    fn from_value(_field: ValueField<'r>) -> form::Result<'r, Self> {
        Err(form::Error::validation("evidence must be sent as a file"))?
    }

    async fn from_data(field: DataField<'r, '_>) -> form::Result<'r, Self> {
        let app = field
            .request
            .rocket()
            .state::<App>()
            .ok_or(form::error::ErrorKind::Unknown)?;
        let raw = field
            .file_name
            .map(|n| n.dangerous_unsafe_unsanitized_raw().as_str().to_string())
            .unwrap_or_default();
        let name: String = raw
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or("")
            .chars()
            .filter(|c| !c.is_control())
            .take(200)
            .collect();
        let stream = field.data.open((EVIDENCE_LIMIT + 1).bytes());
        match app.uploads.receive(stream, EVIDENCE_LIMIT).await {
            Ok(received) => Ok(Evidence { name, received }),
            Err(ReceiveError::TooLarge { limit }) => Err(form::error::ErrorKind::InvalidLength {
                min: None,
                max: Some(limit),
            })?,
            Err(ReceiveError::Io(e)) => Err(form::error::ErrorKind::Io(e))?,
        }
    }
}

#[derive(rocket::FromForm)]
struct AskForm<'r> {
    csrf: &'r str,
    until: &'r str,
    reason: &'r str,
    evidence: Option<Evidence>,
}

#[post(
    "/courses/<code>/assignments/<slug>/extension-request",
    data = "<form>"
)]
async fn ask(
    app: &State<App>,
    caller: Caller,
    code: &str,
    slug: &str,
    form: Result<Form<AskForm<'_>>, form::Errors<'_>>,
) -> Result<Flash<Redirect>, AppError> {
    let back = format!("/courses/{code}/assignments/{slug}");
    let form = form.map_err(|e| {
        let message = if e.status() == rocket::http::Status::PayloadTooLarge {
            "The evidence file is larger than 10 MiB. Nothing was sent.".to_string()
        } else {
            format!("The request could not be read ({e}).")
        };
        AppError::new(e.status(), message).with_back(back.clone())
    })?;
    caller
        .check_csrf(form.csrf)
        .map_err(|e| e.with_back(back.clone()))?;
    let (course, assignment) = assignment::find_by_codes(&app.db, code, slug)
        .await?
        .ok_or_else(|| AppError::not_found("assignment"))?;
    if access::role_in(&app.db, &caller.user, course.id).await? != Some(CourseRole::Student) {
        return Err(
            AppError::forbidden("Only the course's students can ask for an extension.")
                .with_back(back),
        );
    }
    let until = parse_instant(form.until, course.zone()).map_err(|e| {
        AppError::unprocessable(format!("The deadline you ask for: {e}.")).with_back(back.clone())
    })?;
    let reason = short_text("reason", form.reason).map_err(|e| e.with_back(back.clone()))?;
    if reason.is_empty() {
        return Err(
            AppError::unprocessable("Please say why you need an extension.").with_back(back),
        );
    }
    let form = form.into_inner();
    let evidence = match form.evidence {
        Some(e) if e.received.size > 0 => {
            let name = if e.name.trim().is_empty() {
                "evidence".to_string()
            } else {
                e.name
            };
            Some((app.uploads.keep_evidence(e.received).await?, name))
        }
        _ => None,
    };
    let kept = evidence.as_ref().map(|(path, _)| path.clone());
    let ask = Ask {
        requested_until: until,
        reason: reason.to_string(),
        evidence,
    };
    let asked = requests::ask(
        &app.db,
        course.id,
        assignment.id,
        caller.user.id,
        ask,
        app.clock.now(),
    )
    .await;
    match asked {
        Ok(Asked::Saved {
            superseded_evidence,
        }) => {
            if let Some(old) = superseded_evidence {
                app.uploads.discard(&old).await;
            }
        }
        Ok(Asked::TooMany) | Err(_) => {
            // Nothing names the evidence just kept: remove it again.
            if let Some(path) = kept {
                app.uploads.discard(&path).await;
            }
            return Err(match asked {
                Ok(_) => AppError::conflict(format!(
                    "You have asked {} times for this assignment. Please speak to the course's administrator.",
                    requests::MAX_REQUESTS
                ))
                .with_back(back),
                Err(e) => AppError::internal(e),
            });
        }
    }
    Ok(Flash::success(
        Redirect::to(back),
        "Your extension request was sent. You will see the decision here.",
    ))
}

#[derive(rocket::FromForm)]
pub struct DecideForm<'r> {
    csrf: &'r str,
    decision: &'r str,
    until: &'r str,
    comment: &'r str,
}

#[post(
    "/courses/<code>/assignments/<slug>/extension-requests/<id>",
    format = "form",
    data = "<form>"
)]
pub async fn decide(
    app: &State<App>,
    caller: Caller,
    code: &str,
    slug: &str,
    id: i32,
    form: Form<DecideForm<'_>>,
) -> Result<Flash<Redirect>, AppError> {
    caller.check_csrf(form.csrf)?;
    let granting = Granting::find(app, caller, code, slug).await?;
    let back = granting.page();
    let comment = short_text("comment", form.comment).map_err(|e| e.with_back(back.clone()))?;
    let outcome = match form.decision {
        "approve" => {
            let until = parse_instant(form.until, granting.course.zone()).map_err(|e| {
                AppError::unprocessable(format!("The new deadline: {e}.")).with_back(back.clone())
            })?;
            Outcome::Approve { until }
        }
        "reject" | "more_information" if comment.is_empty() => {
            return Err(
                AppError::unprocessable("Please tell the student why, in the comment.")
                    .with_back(back),
            );
        }
        "reject" => Outcome::Reject,
        "more_information" => Outcome::MoreInformation,
        _ => {
            return Err(
                AppError::bad_request("Choose approve, reject or more_information.")
                    .with_back(back),
            );
        }
    };
    if !requests::decide(&app.db, &granting.decision(app), id, outcome, comment).await? {
        return Err(AppError::conflict("That request is not open any more.").with_back(back));
    }
    Ok(Flash::success(
        Redirect::to(back),
        "Decision saved; the student sees it on their assignment page.",
    ))
}

/// The evidence file: for the student who sent it and for staff who decide.
#[get("/extension-requests/<id>/evidence")]
async fn evidence(
    app: &State<App>,
    caller: Caller,
    id: i32,
) -> Result<Download<rocket::tokio::fs::File>, AppError> {
    let row = requests::Entity::find_by_id(id)
        .one(&app.db)
        .await?
        .ok_or_else(|| AppError::not_found("request"))?;
    let assignment = assignment::Entity::find_by_id(row.assignment_id)
        .one(&app.db)
        .await?;
    let assignment = assignment.ok_or_else(|| AppError::not_found("request"))?;
    let course = course::Entity::find_by_id(assignment.course_id)
        .one(&app.db)
        .await?;
    let course = course.ok_or_else(|| AppError::not_found("request"))?;
    if row.student_id != caller.user.id {
        Granting::find(app, caller, &course.code, &assignment.slug)
            .await
            .map_err(|_| AppError::not_found("request"))?;
    }
    let path = row
        .evidence_path
        .ok_or_else(|| AppError::not_found("evidence"))?;
    let file = rocket::tokio::fs::File::open(app.uploads.path_of(&path)).await?;
    Ok(Download::new(
        file,
        ContentType::Binary,
        &format!("evidence-{id}"),
    ))
}
