//! Extension requests: students ask (with optional evidence), staff decide.

use rocket::data::ToByteUnit;
use rocket::form::{self, DataField, Form, FromFormField, ValueField};
use rocket::http::ContentType;
use rocket::response::{Flash, Redirect};
use rocket::{State, get, post, routes};

use super::error::AppError;
use super::guards::{Allowed, AskForExtension, DecideRequest};
use super::marking::FileDownload;
use super::session::Caller;
use crate::App;
use crate::domain::readable;
use crate::services::requests::{self, EVIDENCE_LIMIT, Evidence};
use crate::services::work;
use crate::storage::ReceiveError;

pub fn routes() -> Vec<rocket::Route> {
    routes![ask, decide, evidence]
}

/// The evidence field: streamed to disk like a bundle, at most
/// [`EVIDENCE_LIMIT`].
struct EvidenceField(Evidence);

#[rocket::async_trait]
impl<'r> FromFormField<'r> for EvidenceField {
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
            Ok(received) => Ok(EvidenceField(Evidence { name, received })),
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
    evidence: Option<EvidenceField>,
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
    form: Result<Form<AskForm<'_>>, form::Errors<'_>>,
) -> Result<Flash<Redirect>, AppError> {
    let back = asking.page();
    let form = form.map_err(|e| {
        let message = if e.status() == rocket::http::Status::PayloadTooLarge {
            format!(
                "The evidence file is larger than {}. Nothing was sent.",
                readable::bytes(EVIDENCE_LIMIT)
            )
        } else {
            format!("The request could not be read ({e}).")
        };
        AppError::new(e.status(), message).with_back(back.clone())
    })?;
    asking
        .caller
        .check_csrf(form.csrf)
        .map_err(|e| e.with_back(back.clone()))?;
    let form = form.into_inner();
    let evidence = form.evidence.map(|field| field.0);
    requests::ask(app, &asking, form.until, form.reason, evidence)
        .await
        .map_err(|e| AppError::from(e).with_back(back.clone()))?;
    Ok(Flash::success(
        Redirect::to(back),
        "Your extension request was sent. You will see the decision here.",
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
) -> Result<Flash<Redirect>, AppError> {
    deciding.caller.check_csrf(form.csrf)?;
    let back = deciding.extensions_page();
    requests::decide(app, &deciding, id, form.decision, form.until, form.comment)
        .await
        .map_err(|e| AppError::from(e).with_back(back.clone()))?;
    Ok(Flash::success(
        Redirect::to(back),
        "Decision saved; the student sees it on their assignment page.",
    ))
}

/// The evidence file: for the student who sent it and for staff who decide.
#[get("/extension-requests/<id>/evidence")]
async fn evidence(app: &State<App>, caller: Caller, id: i32) -> Result<FileDownload, AppError> {
    let stored = work::evidence(app, &caller.user, id).await?;
    FileDownload::open(stored, ContentType::Binary).await
}
