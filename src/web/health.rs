//! For a load balancer: `/healthz` says the process is alive and serving;
//! `/readyz` says it can take work now (database and storage answer, and it
//! is not shutting down). Neither needs a login, and neither says more than
//! "ready" or what is wrong in a word, so they tell an outsider nothing.

use std::sync::atomic::Ordering;

use rocket::http::Status;
use rocket::serde::json::{Json, Value, json};
use rocket::{State, get, routes};

use crate::App;

pub fn routes() -> Vec<rocket::Route> {
    routes![healthz, readyz]
}

#[get("/healthz")]
fn healthz() -> Json<Value> {
    Json(json!({ "status": "alive" }))
}

#[get("/readyz")]
async fn readyz(app: &State<App>) -> (Status, Json<Value>) {
    let not_ready = |what: &str| (Status::ServiceUnavailable, Json(json!({ "status": what })));
    if app.draining.load(Ordering::Relaxed) {
        return not_ready("shutting down");
    }
    if let Err(e) = crate::db::ping(&app.db).await {
        rocket::warn!("readiness: the database does not answer: {e}");
        return not_ready("database unavailable");
    }
    if let Err(e) = app.uploads.check().await {
        rocket::warn!("readiness: the uploads store does not answer: {e}");
        return not_ready("storage unavailable");
    }
    (Status::Ok, Json(json!({ "status": "ready" })))
}
