//! handin: lab and coursework handin, timestamped, hashed, and judged
//! against each student's deadline.
//!
//! Layers, each importing only those below it:
//! `web` (HTTP) → `services` (use cases) → `policy` (who may do what) →
//! `models` (SeaORM entities and read models), `storage`, `archive`, `oidc`
//! (the university's sign-in service) →
//! `domain` (pure rules). [`rocket`] is the one place the web app is
//! assembled; `main.rs` is the command line around it. See ARCHITECTURE.md.

pub mod archive;
pub mod clock;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod evidence;
pub mod models;
pub mod oidc;
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
use models::instance::Place;
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
    /// Password checks each client has running on this instance (the
    /// failures that slow a guesser are in the database, for every instance).
    pub logins_in_flight: std::sync::Mutex<domain::throttle::InFlight>,
    /// This process's name among the instances sharing the database.
    pub instance: String,
    /// Set once shutdown begins: `/readyz` then tells the balancer to send
    /// new work elsewhere while uploads in flight finish.
    pub draining: std::sync::atomic::AtomicBool,
    /// Set when the server has finished: the heartbeat stops.
    pub retired: Arc<std::sync::atomic::AtomicBool>,
    /// Requests being handled now (see `web::health::Draining`).
    pub in_flight: Arc<std::sync::atomic::AtomicUsize>,
    /// The last readiness check and when it was made (see `web::health`).
    pub readiness: std::sync::Mutex<Option<(std::time::Instant, Result<(), &'static str>)>>,
    /// The university's OpenID provider, when single sign-on is configured.
    pub oidc: Option<Arc<oidc::Provider>>,
    /// The mail server (or the log) that queued mail goes to.
    pub mailer: services::mailer::Mailer,
    /// The key that signs receipts, and the log they go in.
    pub notary: Arc<evidence::Notary>,
}

/// Opens the database and the uploads folder. The command line uses this
/// beside a running server, so it must not touch files an upload is using.
pub async fn open(config: AppConfig, clock: SharedClock) -> Result<App, String> {
    let db = db::connect(&config.database).await.map_err(|e| {
        let shown = db::Address::parse(&config.database).shown();
        format!("cannot open the database {shown}: {e}")
    })?;
    let instance = hex::encode(rand::random::<[u8; 8]>());
    let place = config.place()?;
    let uploads = Uploads::open(&place, &instance)
        .await
        .map_err(|e| format!("cannot open the storage {}: {e}", place.shown()))?;
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let oidc = oidc::Provider::from_config(&config)?.map(Arc::new);
    let mailer = services::mailer::Mailer::from_config(&config)?;
    let notary = Arc::new(notary(&db, &config).await?);
    Ok(App {
        db,
        uploads,
        config,
        clock,
        password_checks: rocket::tokio::sync::Semaphore::new(cores),
        logins_in_flight: Default::default(),
        instance,
        draining: Default::default(),
        retired: Default::default(),
        in_flight: Default::default(),
        readiness: Default::default(),
        oidc,
        mailer,
        notary,
    })
}

/// The signing key and the log's name. A missing key file where receipts
/// were signed before, or a log name other than its checkpoints', stops
/// the start: a new key or name would break every receipt check and alarm
/// every monitor, when the fix is to put the file back or keep the name.
async fn notary(db: &DatabaseConnection, config: &AppConfig) -> Result<evidence::Notary, String> {
    let path = config.signing_key_path();
    let signer = match evidence::keys::load(&path)? {
        Some(signer) => signer,
        None => {
            let current = models::log::current_key(db)
                .await
                .map_err(|e| e.to_string())?;
            if let Some(kid) = current {
                return Err(format!(
                    "the signing key file {} is missing, but receipts were signed with key {kid}: \
                     copy that key file here (or set signing_key_file), so that receipts stay checkable",
                    path.display()
                ));
            }
            evidence::keys::load_or_create(&path)?
        }
    };
    let origin = config.log_origin()?;
    let named = models::log::origin(db).await.map_err(|e| e.to_string())?;
    if let Some(named) = named.filter(|named| *named != origin) {
        return Err(format!(
            "the evidence log is named {named} in its checkpoints, but this configuration names it \
             {origin}: set log_origin = \"{named}\""
        ));
    }
    Ok(evidence::Notary { signer, origin })
}

/// The largest ordinary form: an extension request's evidence (10 MiB) or a CSV.
const FORM_LIMIT: u64 = 16 * 1024 * 1024;

/// Seconds a shutting-down instance waits for requests in flight.
const DEFAULT_SHUTDOWN_GRACE: u32 = 60;

/// The app on the system clock, configured from `Rocket.toml` and `ROCKET_*`.
pub fn rocket() -> Rocket<Build> {
    build(rocket::Config::figment(), Arc::new(SystemClock))
}

/// The app with a given configuration and clock (tests set both).
pub fn build(figment: Figment, clock: SharedClock) -> Rocket<Build> {
    assemble(figment).attach(AdHoc::try_on_ignite(
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
    ))
}

/// The app on an [`App`] the caller opened (and, say, traces the queries
/// of): no heartbeat, no clean-up. For tests and tools, not for serving.
pub fn build_on(figment: Figment, app: App) -> Rocket<Build> {
    assemble(figment).manage(app)
}

/// The web app without its state: settings, fairings and routes.
fn assemble(figment: Figment) -> Rocket<Build> {
    // Bundles are read by handin's own upload reader, with each assignment's
    // limit and a limit on every field. Rocket's form parser serves only the
    // small forms (an evidence file, a CSV), and it buffers text fields up to
    // its whole-form limit: keep that limit small.
    // Rocket would believe an `X-Real-IP` header from anyone; handin
    // believes forwarding headers only from `trusted_proxies`.
    // Shutdown (SIGTERM) lets uploads in flight finish for this long; Rocket's
    // own default of 2 s would cut off a student's upload at a deploy.
    let grace: u32 = figment
        .extract_inner("shutdown_grace_seconds")
        .unwrap_or(DEFAULT_SHUTDOWN_GRACE);
    let figment = figment
        .merge(("shutdown.grace", grace))
        .merge(("limits.data-form", FORM_LIMIT))
        // Plain forms: feedback of up to 20,000 characters in any script.
        .merge(("limits.form", 256 * 1024))
        .merge(("limits.file", FORM_LIMIT))
        .merge(("ip_header", false));
    let rocket = rocket::custom(figment)
        .attach(Template::fairing())
        .attach(web::health::Draining);
    web::mount(rocket)
}

/// Cleans up after a crash: removes partial uploads of instances that are
/// no longer running and sets aside old bundles without a row (see
/// `Uploads::clean_orphans`). Run by each server at start, before it takes
/// any upload (`at_start`), and then now and again while it runs.
async fn clean_up_after_crash(
    db: &DatabaseConnection,
    uploads: &Uploads,
    at_start: bool,
) -> Result<(), String> {
    // Who is running is read before the folders are listed, and what is
    // recorded before the shelves are: an instance or a file that appears
    // after either is young, and left alone.
    let census = models::instance::census(db, chrono::Utc::now(), &Place::here())
        .await
        .map_err(|e| e.to_string())?;
    let mut recorded: HashSet<String> = models::submission::stored_paths(db)
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .collect();
    recorded.extend(
        models::requests::evidence_paths(db)
            .await
            .map_err(|e| e.to_string())?,
    );
    recorded.extend(
        models::feedback_file::stored_paths(db)
            .await
            .map_err(|e| e.to_string())?,
    );
    let instances = storage::Instances {
        running: census.alive.iter().cloned().collect(),
        stopped: census.stopped.iter().cloned().collect(),
    };
    let removed = uploads
        .clean_orphans(recorded, instances, at_start)
        .await
        .map_err(|e| format!("cannot clean the uploads store: {e}"))?;
    for name in removed {
        rocket::warn!("cleaned up after a stopped instance: {name}");
    }
    models::instance::forget_stopped(db, &census.stopped)
        .await
        .map_err(|e| e.to_string())
}

/// Says this instance is alive every few seconds, and sweeps up after
/// stopped instances every few minutes, until the instance is retired. It
/// beats on through a graceful shutdown: uploads still in flight then sit in
/// this instance's folder, which no other instance may clean while it beats.
fn keep_beating(app: &App) {
    const SWEEP_EVERY: u32 = 30;
    let (db, uploads) = (app.db.clone(), app.uploads.clone());
    let (instance, retired) = (app.instance.clone(), app.retired.clone());
    rocket::tokio::spawn(async move {
        let place = Place::here();
        let mut beats = 0u32;
        loop {
            rocket::tokio::time::sleep(models::instance::HEARTBEAT).await;
            if retired.load(std::sync::atomic::Ordering::Relaxed) {
                return;
            }
            if let Err(e) = models::instance::beat(&db, &instance, &place, chrono::Utc::now()).await
            {
                rocket::warn!("heartbeat not recorded: {e}");
            }
            beats += 1;
            if beats.is_multiple_of(SWEEP_EVERY) {
                if let Err(e) = clean_up_after_crash(&db, &uploads, false).await {
                    rocket::warn!("clean-up after stopped instances failed: {e}");
                }
                let now = chrono::Utc::now();
                if let Err(e) = models::login_failure::forget_old(&db, now).await {
                    rocket::warn!("old login failures not forgotten: {e}");
                }
            }
        }
    });
}

/// Marks this instance as stopped once its server has finished (every
/// upload in flight done), so that a restart need not wait for its heartbeat
/// to go silent before cleaning up after it.
pub async fn retire(app: &App) {
    retire_instance(&app.db, &app.instance, &app.retired).await;
}

async fn retire_instance(
    db: &DatabaseConnection,
    instance: &str,
    retired: &std::sync::atomic::AtomicBool,
) {
    retired.store(true, std::sync::atomic::Ordering::Relaxed);
    if let Err(e) = models::instance::forget(db, instance).await {
        rocket::warn!("could not mark this instance as stopped: {e}");
    }
}

/// Ends the server process as soon as, after a shutdown signal, no request
/// is in flight. Rocket on its own waits out the whole grace period
/// whenever anything was in flight at the signal, however soon it ended; a
/// deploy should not take a minute because one upload took a second.
pub fn exit_when_idle(rocket: &Rocket<rocket::Ignite>) {
    // An answer's last bytes may still be on their way to the socket when
    // its request ends: idle means idle for this long.
    const SETTLE: std::time::Duration = std::time::Duration::from_millis(300);
    const POLL: std::time::Duration = std::time::Duration::from_millis(50);
    let Some(app) = rocket.state::<App>() else {
        return;
    };
    let shutdown = rocket.shutdown();
    let (db, instance) = (app.db.clone(), app.instance.clone());
    let (in_flight, retired) = (app.in_flight.clone(), app.retired.clone());
    rocket::tokio::spawn(async move {
        shutdown.await;
        let mut idle_for = std::time::Duration::ZERO;
        while idle_for < SETTLE {
            rocket::tokio::time::sleep(POLL).await;
            if in_flight.load(std::sync::atomic::Ordering::SeqCst) == 0 {
                idle_for += POLL;
            } else {
                idle_for = std::time::Duration::ZERO;
            }
        }
        retire_instance(&db, &instance, &retired).await;
        rocket::info!("No request in flight: stopped.");
        std::process::exit(0);
    });
}

async fn start(rocket: &Rocket<Build>, clock: SharedClock) -> Result<App, String> {
    let config = AppConfig::from_figment(rocket.figment())?;
    let app = open(config, clock).await?;
    models::instance::beat(&app.db, &app.instance, &Place::here(), chrono::Utc::now())
        .await
        .map_err(|e| format!("cannot register this instance: {e}"))?;
    // At 15:59 a server must start even if it cannot tidy up: say so, and
    // leave it to the next sweep.
    if let Err(e) = clean_up_after_crash(&app.db, &app.uploads, true).await {
        rocket::warn!("clean-up after an earlier run failed: {e}");
    }
    // On the app's clock, as the receipts it signs are.
    models::log::publish_key(&app.db, &app.notary.signer, app.clock.now())
        .await
        .map_err(|e| format!("cannot publish the signing key: {e}"))?;
    keep_beating(&app);
    if app.config.mail_poll_seconds > 0 {
        let every = std::time::Duration::from_secs(app.config.mail_poll_seconds);
        services::mailer::keep_sending(
            services::mailer::Post::new(&app),
            every,
            app.retired.clone(),
        );
    }
    // A wrong issuer shows in the log at start, not to the first student;
    // a provider that is down must not stop the server starting.
    if let Some(provider) = app.oidc.clone() {
        rocket::tokio::spawn(async move {
            match provider.check().await {
                Ok(()) => rocket::info!("single sign-on: the provider answers"),
                Err(e) => rocket::warn!("single sign-on: the provider does not answer yet: {e}"),
            }
        });
    }
    // The demo is for a developer's first `cargo run`, never production.
    if app.config.demo && rocket.figment().profile() == rocket::Config::DEBUG_PROFILE {
        let listening: rocket::Config = rocket.figment().extract().unwrap_or_default();
        demo::create_if_empty(&app, &demo::address(&listening, &app.config)).await?;
    }
    Ok(app)
}
