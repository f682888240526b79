//! For a load balancer: `/healthz` says the process is alive and serving;
//! `/readyz` says it can take work now (database and storage answer, and it
//! is not shutting down). Neither needs a login, and neither says more than
//! "ready" or what is wrong in a word, so they tell an outsider nothing.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::{Header, Status};
use rocket::serde::json::{Json, Value, json};
use rocket::{Orbit, Request, Response, Rocket, State, get, routes};

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
    let answer = |state: Result<(), &str>| match state {
        Ok(()) => (Status::Ok, Json(json!({ "status": "ready" }))),
        Err(what) => (Status::ServiceUnavailable, Json(json!({ "status": what }))),
    };
    if app.draining.load(Ordering::Relaxed) {
        return answer(Err("shutting down"));
    }
    // Anyone may ask, as often as they like: the database and the store are
    // asked at most once a second, whatever the rate of questions.
    let cached = *app
        .readiness
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((at, state)) = cached
        && at.elapsed() < RECHECK
    {
        return answer(state);
    }
    let state = crate::services::health::readiness(app).await;
    *app.readiness
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some((Instant::now(), state));
    answer(state)
}

const RECHECK: Duration = Duration::from_secs(1);

/// Counts the requests in flight (for `crate::exit_when_idle`), and once
/// shutdown begins, has `/readyz` say so and every answer close its
/// connection, so that no client keeps a connection to a stopping instance.
pub struct Draining;

/// Counted in flight from the request's start until it is dropped, however
/// it ends.
struct InFlight(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[rocket::async_trait]
impl Fairing for Draining {
    fn info(&self) -> Info {
        Info {
            name: "handin draining",
            kind: Kind::Request | Kind::Shutdown | Kind::Response,
        }
    }

    async fn on_request(&self, request: &mut Request<'_>, _: &mut rocket::Data<'_>) {
        if let Some(app) = request.rocket().state::<App>() {
            let counter = app.in_flight.clone();
            counter.fetch_add(1, Ordering::SeqCst);
            request.local_cache(|| InFlight(counter));
        }
    }

    async fn on_shutdown(&self, rocket: &Rocket<Orbit>) {
        if let Some(app) = rocket.state::<App>() {
            app.draining.store(true, Ordering::Relaxed);
        }
    }

    async fn on_response<'r>(&self, request: &'r Request<'_>, response: &mut Response<'r>) {
        let draining = request
            .rocket()
            .state::<App>()
            .is_some_and(|app| app.draining.load(Ordering::Relaxed));
        if draining {
            response.set_header(Header::new("Connection", "close"));
        }
    }
}
