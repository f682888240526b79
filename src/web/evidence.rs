//! Evidence for anyone: the public keys (JWKS), the log's latest
//! checkpoint and its proofs (no personal data: the log holds hashes), the
//! receipt checker page; and for a student, their signed receipt file.

use rocket::http::{ContentType, Header};
use rocket::serde::json::Json;
use rocket::{Responder, State, get, routes};
use serde_json::Value;

use super::error::AppError;
use super::marking::Download;
use super::session::Caller;
use crate::App;
use crate::services::evidence;

pub fn routes() -> Vec<rocket::Route> {
    routes![
        jwks,
        checkpoint,
        inclusion,
        consistency,
        receipt_file,
        verify_page
    ]
}

/// The same download, under the API's prefix.
pub fn api_routes() -> Vec<rocket::Route> {
    routes![receipt_file]
}

#[get("/.well-known/jwks.json")]
async fn jwks(app: &State<App>) -> Result<Json<Value>, AppError> {
    Ok(Json(evidence::jwks(app).await?))
}

/// The latest signed checkpoint (C2SP tlog-checkpoint in a signed note).
#[get("/log/checkpoint")]
async fn checkpoint(app: &State<App>) -> Result<(ContentType, String), AppError> {
    Ok((ContentType::Plain, evidence::latest_checkpoint(app).await?))
}

/// The proof that entry `index` is in the tree of `size` entries.
#[get("/log/inclusion?<index>&<size>")]
async fn inclusion(app: &State<App>, index: u64, size: u64) -> Result<Json<Value>, AppError> {
    Ok(Json(evidence::inclusion_proof(app, index, size).await?))
}

/// The proof that the tree of `old` entries is the start of that of `new`.
#[get("/log/consistency?<old>&<new>")]
async fn consistency(app: &State<App>, old: u64, new: u64) -> Result<Json<Value>, AppError> {
    Ok(Json(evidence::consistency_proof(app, old, new).await?))
}

/// The signed receipt file (`receipt-COURSE-SLUG-N.json`) of a submission.
#[get("/submissions/<id>/receipt.json")]
async fn receipt_file(
    app: &State<App>,
    caller: Caller,
    id: i32,
) -> Result<Download<String>, AppError> {
    let (name, body) = evidence::signed_receipt(app, &caller.user, id).await?;
    Ok(Download::new(body, ContentType::JSON, &name))
}

#[derive(Responder)]
#[response(content_type = "html")]
struct Checker {
    page: String,
    policy: Header<'static>,
}

/// The receipt checker: everything runs in the reader's browser, and its
/// policy lets nothing leave it (no connections, no forms), so a receipt
/// and a bundle dropped on it stay on the machine. The page carries the
/// keys, so it works saved and opened from disk.
#[get("/verify")]
async fn verify_page(app: &State<App>) -> Result<Checker, AppError> {
    let keys = evidence::jwks(app).await?;
    let (page, policy) = evidence::checker_page(&keys, &app.notary.origin);
    Ok(Checker {
        page,
        policy: Header::new("Content-Security-Policy", policy),
    })
}
