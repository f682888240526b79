//! handin: lab and coursework handin, timestamped, hashed, and judged
//! against each student's deadline.
//!
//! Layers, each importing only those below it:
//! `web` (HTTP) → `services` (use cases) → `policy` (who may do what) →
//! `models` (SeaORM entities and read models), `storage`, `archive` →
//! `domain` (pure rules). [`rocket`] is the one place the web app is
//! assembled; `main.rs` is the command line around it. See ARCHITECTURE.md.

pub mod archive;
pub mod clock;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod models;
pub mod policy;
pub mod services;
pub mod storage;
pub mod web;

use std::collections::HashSet;
use std::sync::Arc;

use rocket::fairing::AdHoc;
use rocket::figment::Figment;
use rocket::{Build, Rocket};
use rocket_dyn_templates::Template;
use sea_orm::DatabaseConnection;

use clock::{SharedClock, SystemClock};
use config::AppConfig;
use storage::Uploads;

/// Everything a request handler needs, managed by Rocket as one state.
pub struct App {
    pub db: DatabaseConnection,
    pub uploads: Uploads,
    pub config: AppConfig,
    pub clock: SharedClock,
    /// Password checks at once: argon2 is slow and memory-hard on purpose,
    /// so a flood of logins must queue rather than exhaust the machine.
    pub password_checks: rocket::tokio::sync::Semaphore,
    /// Who may try a password now (per address and username, and per address).
    pub login_throttle: std::sync::Mutex<domain::throttle::Throttle>,
}

/// Opens the database and the uploads folder. The command line uses this
/// beside a running server, so it must not touch files an upload is using.
pub async fn open(config: AppConfig, clock: SharedClock) -> Result<App, String> {
    let db = db::connect(&config.database).await.map_err(|e| {
        format!(
            "cannot open the database {}: {e}",
            config.database.display()
        )
    })?;
    let uploads = Uploads::open(&config.uploads_dir).map_err(|e| {
        format!(
            "cannot open the uploads folder {}: {e}",
            config.uploads_dir.display()
        )
    })?;
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    Ok(App {
        db,
        uploads,
        config,
        clock,
        password_checks: rocket::tokio::sync::Semaphore::new(cores),
        login_throttle: Default::default(),
    })
}

/// The largest ordinary form: an extension request's evidence (10 MiB) or a CSV.
const FORM_LIMIT: u64 = 16 * 1024 * 1024;

/// The app on the system clock, configured from `Rocket.toml` and `ROCKET_*`.
pub fn rocket() -> Rocket<Build> {
    build(rocket::Config::figment(), Arc::new(SystemClock))
}

/// The app with a given configuration and clock (tests set both).
pub fn build(figment: Figment, clock: SharedClock) -> Rocket<Build> {
    // Bundles are read by handin's own upload reader, with each assignment's
    // limit and a limit on every field. Rocket's form parser serves only the
    // small forms (an evidence file, a CSV), and it buffers text fields up to
    // its whole-form limit: keep that limit small.
    // Rocket would believe an `X-Real-IP` header from anyone; handin
    // believes forwarding headers only from `trusted_proxies`.
    let figment = figment
        .merge(("limits.data-form", FORM_LIMIT))
        .merge(("limits.file", FORM_LIMIT))
        .merge(("ip_header", false));
    let rocket = rocket::custom(figment)
        .attach(Template::fairing())
        .attach(AdHoc::try_on_ignite(
            "handin storage",
            move |rocket| async move {
                match start(&rocket, clock).await {
                    Ok(app) => Ok(rocket.manage(app)),
                    Err(e) => {
                        rocket::error!("{e}");
                        Err(rocket)
                    }
                }
            },
        ));
    web::mount(rocket)
}

/// Cleans up after a crash: removes partial uploads and bundles without a
/// row. Only the server does this, at start, before it takes any upload; one
/// server owns an uploads folder.
async fn clean_up_after_crash(app: &App) -> Result<(), String> {
    let mut recorded: HashSet<String> = models::submission::stored_paths(&app.db)
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .collect();
    recorded.extend(
        models::requests::evidence_paths(&app.db)
            .await
            .map_err(|e| e.to_string())?,
    );
    let removed = app
        .uploads
        .clean_orphans(&recorded)
        .map_err(|e| format!("cannot clean the uploads folder: {e}"))?;
    for path in removed {
        rocket::warn!(
            "set aside an unfinished upload left by an earlier run: {}",
            path.display()
        );
    }
    Ok(())
}

async fn start(rocket: &Rocket<Build>, clock: SharedClock) -> Result<App, String> {
    let config = AppConfig::from_figment(rocket.figment())?;
    let app = open(config, clock).await?;
    clean_up_after_crash(&app).await?;
    // The demo is for a developer's first `cargo run`, never production.
    if app.config.demo && rocket.figment().profile() == rocket::Config::DEBUG_PROFILE {
        demo::create_if_empty(&app).await?;
    }
    Ok(app)
}
