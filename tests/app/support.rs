//! The test app: the real Rocket app on a temporary database (an SQLite
//! file, or PostgreSQL: see `database.rs`) and uploads folder, with a clock the test sets; and helpers to build zips and
//! multipart bodies by hand.

use std::io::{Cursor, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

pub use crate::database::TestDir;
use chrono::{DateTime, Utc};
use handin::App;
use handin::clock::FixedClock;
use handin::models::{submission, user};
use rocket::http::{ContentType, Header, Status};
use rocket::local::asynchronous::{Client, LocalRequest, LocalResponse};
use sea_orm::{EntityTrait, PaginatorTrait};
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;

pub const PASSWORD: &str = "correct horse battery";

pub fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A login as a browser somewhere sends it.
pub struct LoginAttempt<'a> {
    pub username: &'a str,
    pub password: &'a str,
    /// Percent-encoded, as a form carries it.
    pub next: &'a str,
    /// The browser's address (none: the local client's).
    pub from: Option<SocketAddr>,
    pub forwarded: Option<&'a str>,
}

impl Default for LoginAttempt<'_> {
    fn default() -> Self {
        LoginAttempt {
            username: "alice",
            password: PASSWORD,
            next: "/",
            from: None,
            forwarded: None,
        }
    }
}

/// The SQL statements an app ran (see [`TestApp::traced`]).
pub type Trace = Arc<std::sync::Mutex<Vec<sea_orm::Statement>>>;

pub struct TestApp {
    pub client: Client,
    pub clock: FixedClock,
    pub dir: TestDir,
}

/// Settings a test may change before the app starts.
pub struct Options {
    pub max_bundle_entries: usize,
    pub max_unpacked_mib: u64,
    pub secure_cookies: bool,
    pub trusted_proxies: Vec<String>,
    /// `s3://…` for a bucket on the tests' Garage (see `garage.rs`); none: a folder.
    pub storage: Option<String>,
    /// Any other settings, by their names in `Rocket.toml`.
    pub settings: Vec<(&'static str, serde_json::Value)>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_bundle_entries: 10_000,
            max_unpacked_mib: 4096,
            secure_cookies: false,
            trusted_proxies: Vec::new(),
            storage: None,
            settings: Vec::new(),
        }
    }
}

impl TestApp {
    /// COMP6248 with `labs` (due 2020-05-20 16:00) and `coursework` (due
    /// 2020-05-29 16:00, hard close 2020-06-05 16:00, 1 MiB limit, needs
    /// `report.pdf`); COMP1000 with `intro`. Students alice and bob and
    /// marker mark in COMP6248, student carol and marker other in COMP1000,
    /// and admin. The clock stands at 2020-05-29 12:00 BST.
    pub async fn new() -> TestApp {
        Self::with(Options::default()).await
    }

    pub async fn with(options: Options) -> TestApp {
        let app = Self::start(TestDir::new(), options).await;
        app.seed().await;
        app
    }

    /// The seeded app on a folder the caller owns (to hand to the server binary).
    pub async fn with_dir(path: &std::path::Path) -> TestApp {
        let dir = TestDir::new_in(path);
        let figment_dir = path.to_path_buf();
        let app = Self::start_at(dir, &figment_dir, Options::default()).await;
        app.seed().await;
        app
    }

    /// Starts the app on an existing folder (as after a restart).
    pub async fn start(dir: TestDir, options: Options) -> TestApp {
        let root = dir.path().to_path_buf();
        Self::start_at(dir, &root, options).await
    }

    async fn start_at(dir: TestDir, root: &std::path::Path, options: Options) -> TestApp {
        let mut figment = rocket::Config::figment()
            .merge(("database", crate::database::for_dir(root)))
            .merge(("uploads_dir", root.join("uploads")))
            .merge(("demo", false))
            .merge(("max_bundle_entries", options.max_bundle_entries))
            .merge(("max_unpacked_mib", options.max_unpacked_mib))
            .merge(("secure_cookies", options.secure_cookies))
            .merge(("trusted_proxies", options.trusted_proxies))
            .merge(("log_level", "off"))
            // Mail is sent when a test runs the worker's round, and
            // reminders only where a test asks for them (mail.rs).
            .merge(("mail_poll_seconds", 0))
            .merge(("reminder_hours", Vec::<u32>::new()));
        if let Some(storage) = &options.storage {
            for setting in crate::garage::settings_for(storage) {
                figment = figment.merge(setting);
            }
        }
        for setting in options.settings {
            figment = figment.merge(setting);
        }
        let clock = FixedClock::new(utc("2020-05-29T11:00:00Z"));
        let client = Client::tracked(handin::build(figment, Arc::new(clock.clone())))
            .await
            .unwrap();
        TestApp { client, clock, dir }
    }

    /// The seeded app on an SQLite file (whatever the suite's database),
    /// keeping every SQL statement it runs, for checks of query plans.
    pub async fn traced() -> (TestApp, Trace) {
        let dir = TestDir::new();
        let root = dir.path().to_path_buf();
        let config = handin::config::AppConfig {
            database: root.join("handin.sqlite").display().to_string(),
            uploads_dir: root.join("uploads"),
            ..Default::default()
        };
        let clock = FixedClock::new(utc("2020-05-29T11:00:00Z"));
        let mut app = handin::open(config, Arc::new(clock.clone())).await.unwrap();
        let trace: Trace = Default::default();
        let kept = trace.clone();
        app.db.set_metric_callback(move |info| {
            kept.lock().unwrap().push(info.statement.clone());
        });
        let figment = rocket::Config::figment().merge(("log_level", "off"));
        let client = Client::tracked(handin::build_on(figment, app))
            .await
            .unwrap();
        let t = TestApp { client, clock, dir };
        t.seed().await;
        (t, trace)
    }

    pub fn app(&self) -> &App {
        self.client.rocket().state::<App>().unwrap()
    }

    /// Registers another instance, on another machine, last heard from
    /// `seconds_ago` (more than a minute: it has stopped).
    pub async fn other_instance(&self, id: &str, seconds_ago: i64) {
        use handin::models::instance;
        use sea_orm::{ActiveModelTrait, ActiveValue::Set};
        let seen = Utc::now() - chrono::Duration::seconds(seconds_ago);
        instance::Entity::delete_by_id(id.to_string())
            .exec(&self.app().db)
            .await
            .unwrap();
        let row = instance::ActiveModel {
            id: Set(id.to_string()),
            host: Set("another-machine".to_string()),
            pid: Set(1),
            started_at: Set(seen),
            seen_at: Set(seen),
        };
        row.insert(&self.app().db).await.unwrap();
    }

    /// Shuts the app down as the server does on SIGTERM (requests finish,
    /// the instance is marked stopped); returns its folder for a restart.
    pub async fn stop(self) -> TestDir {
        let stopped = self.client.terminate().await;
        handin::retire(stopped.state::<App>().unwrap()).await;
        self.dir
    }

    async fn seed(&self) {
        let text = r#"
            [[course]]
            code = "COMP6248"
            title = "Differentiable Programming"
            time_zone = "Europe/London"
            [[course.assignment]]
            slug = "labs"
            title = "Lab exercises"
            due = "2020-05-20 16:00"
            required_files = ["lab*/**/*.ipynb"]
            [[course.assignment]]
            slug = "coursework"
            title = "Coursework"
            due = "2020-05-29 16:00"
            hard_close = "2020-06-05 16:00"
            max_bundle_mib = 1
            required_files = ["report.pdf"]

            [[course]]
            code = "COMP1000"
            title = "Programming I"
            time_zone = "Europe/London"
            [[course.assignment]]
            slug = "intro"
            title = "Introduction"
            due = "2020-05-29 16:00"
        "#;
        handin::services::catalogue::import_file(self.app(), text, &self.change())
            .await
            .unwrap();
        for (name, role, course) in [
            ("alice", user::Role::Student, Some("COMP6248")),
            ("bob", user::Role::Student, Some("COMP6248")),
            ("mark", user::Role::Marker, Some("COMP6248")),
            ("carol", user::Role::Student, Some("COMP1000")),
            ("other", user::Role::Marker, Some("COMP1000")),
            ("admin", user::Role::Admin, None),
        ] {
            self.add_user(name, role, course).await;
        }
    }

    /// Adds a person as `handin user add` does: students enrolled as
    /// students, everyone else as markers.
    pub async fn add_user(
        &self,
        name: &str,
        role: user::Role,
        course: Option<&str>,
    ) -> user::Model {
        let account = user::Account {
            username: name.to_string(),
            display_name: format!("{name} Example"),
            email: format!("{name}@example.ac.uk"),
            role,
        };
        handin::services::roster::add(self.app(), &account, PASSWORD, course)
            .await
            .unwrap()
            .user
    }

    /// Changes COMP6248's coursework directly in the database (a setting a
    /// test needs, without going through the admin form).
    pub async fn change_coursework(
        &self,
        change: impl FnOnce(&mut handin::models::assignment::ActiveModel),
    ) {
        use sea_orm::ActiveModelTrait;
        let (_, coursework) =
            handin::models::assignment::find_by_codes(&self.app().db, "COMP6248", "coursework")
                .await
                .unwrap()
                .unwrap();
        let mut active: handin::models::assignment::ActiveModel = coursework.into();
        change(&mut active);
        active.update(&self.app().db).await.unwrap();
    }

    /// The seeded app on `dir` for the server binary, which runs on the real
    /// clock: COMP6248 gets `open` (due in 2099, 1 MiB at most), and alice a
    /// token valid from now, which is returned. The app's connections are
    /// closed, for the binary to take over.
    pub async fn open_for_the_binary(dir: &std::path::Path) -> String {
        let t = TestApp::with_dir(dir).await;
        let text = "[[course]]\ncode = \"COMP6248\"\ntitle = \"Differentiable Programming\"\n\
                    time_zone = \"Europe/London\"\n[[course.assignment]]\nslug = \"open\"\n\
                    title = \"Open\"\ndue = \"2099-01-01 16:00\"\nmax_bundle_mib = 1\n";
        handin::services::catalogue::import_file(t.app(), text, &t.change())
            .await
            .unwrap();
        let alice = user::find_by_username(&t.app().db, "alice")
            .await
            .unwrap()
            .unwrap();
        let token = handin::models::api_token::issue(&t.app().db, alice.id, chrono::Utc::now(), 1)
            .await
            .unwrap();
        t.app().db.close_by_ref().await.unwrap();
        token
    }

    /// Moves COMP6248's coursework as a deadlines file would (`due` and
    /// `hard_close` as the file writes them), for `reason`.
    pub async fn move_coursework(&self, due: &str, hard_close: Option<&str>, reason: &str) {
        let close = hard_close
            .map(|c| format!("hard_close = \"{c}\"\n"))
            .unwrap_or_default();
        let moved = format!(
            "[[course]]\ncode = \"COMP6248\"\ntitle = \"Differentiable Programming\"\n\
             time_zone = \"Europe/London\"\n[[course.assignment]]\nslug = \"coursework\"\n\
             title = \"Coursework\"\ndue = \"{due}\"\n{close}max_bundle_mib = 1\n\
             required_files = [\"report.pdf\"]\n"
        );
        let change = handin::services::catalogue::Change {
            reason,
            ..self.change()
        };
        handin::services::catalogue::import_file(self.app(), &moved, &change)
            .await
            .unwrap();
    }

    /// A change made from the command line, now.
    pub fn change(&self) -> handin::services::catalogue::Change<'static> {
        handin::services::catalogue::Change {
            actor_id: None,
            at: self.clock_now(),
            reason: "test",
        }
    }

    fn clock_now(&self) -> DateTime<Utc> {
        use handin::clock::Clock;
        self.clock.now()
    }

    pub fn set_time(&self, rfc3339: &str) {
        self.clock.set(utc(rfc3339));
    }

    /// Posts the login form as a browser does (token from the login page).
    pub async fn post_login(&self, username: &str, password: &str) -> LocalResponse<'_> {
        self.try_login(LoginAttempt {
            username,
            password,
            ..LoginAttempt::default()
        })
        .await
    }

    /// Posts the login form as a browser at `attempt.from` does: the login
    /// page first (for its token), then the form.
    pub async fn try_login(&self, attempt: LoginAttempt<'_>) -> LocalResponse<'_> {
        fn from(request: LocalRequest<'_>, remote: Option<SocketAddr>) -> LocalRequest<'_> {
            match remote {
                Some(remote) => request.remote(remote),
                None => request,
            }
        }
        let page = from(self.client.get("/login"), attempt.from)
            .dispatch()
            .await
            .into_string()
            .await
            .unwrap();
        let csrf = hidden_value(&page, "csrf");
        let password = attempt.password.replace(' ', "+");
        let mut request = from(self.client.post("/login"), attempt.from)
            .header(ContentType::Form)
            .body(format!(
                "csrf={csrf}&username={}&password={password}&next={}",
                attempt.username, attempt.next
            ));
        if let Some(forwarded) = attempt.forwarded {
            request = request.header(Header::new("X-Forwarded-For", forwarded.to_string()));
        }
        request.dispatch().await
    }

    /// Logs in through the login form; the client keeps the session cookie.
    pub async fn login(&self, username: &str) {
        let status = self.post_login(username, PASSWORD).await.status();
        assert_eq!(status, Status::SeeOther, "login of {username} failed");
    }

    /// The session's CSRF token, as a page's forms carry it.
    pub async fn csrf(&self) -> String {
        let page = self
            .client
            .get("/")
            .dispatch()
            .await
            .into_string()
            .await
            .unwrap();
        hidden_value(&page, "csrf")
    }

    /// Posts a page's form as the logged-in person: the session's CSRF
    /// token, then `fields` (already form-encoded, may be empty).
    pub async fn submit(&self, path: &str, fields: &str) -> LocalResponse<'_> {
        let csrf = self.csrf().await;
        let body = if fields.is_empty() {
            format!("csrf={csrf}")
        } else {
            format!("csrf={csrf}&{fields}")
        };
        self.client
            .post(path.to_string())
            .header(ContentType::Form)
            .body(body)
            .dispatch()
            .await
    }

    /// Uploads through the web form, as a browser would.
    pub async fn upload_form(
        &self,
        assignment: &str,
        csrf: Option<&str>,
        file_name: &str,
        bytes: &[u8],
    ) -> LocalResponse<'_> {
        let mut parts = Vec::new();
        if let Some(csrf) = csrf {
            parts.push(Part::text("csrf", csrf));
        }
        parts.push(Part::file("bundle", file_name, bytes));
        let (content_type, body) = multipart(&parts);
        self.client
            .post(format!(
                "/courses/COMP6248/assignments/{assignment}/submissions"
            ))
            .header(content_type)
            .body(body)
            .dispatch()
            .await
    }

    /// Uploads through the API with a bearer token.
    pub async fn upload_api(&self, token: &str, path: &str, bytes: &[u8]) -> LocalResponse<'_> {
        let (content_type, body) = multipart(&[Part::file("bundle", "bundle.zip", bytes)]);
        self.client
            .post(format!("/api/v1/courses/{path}/submissions"))
            .header(content_type)
            .header(bearer(token))
            .body(body)
            .dispatch()
            .await
    }

    /// Hands in a coursework-shaped bundle through the API; returns the
    /// submission id. It ticks any declaration and says it means it
    /// (`confirm_late=yes`) should a late attempt replace an on-time one:
    /// `upload.rs` tests both questions.
    pub async fn hand_in(&self, username: &str, assignment: &str, note: &str) -> i64 {
        let token = self.token(username).await;
        let (content_type, body) = multipart(&[
            Part::text("declare", "yes"),
            Part::text("confirm_late", "yes"),
            Part::file("bundle", "bundle.zip", &coursework_zip(note)),
        ]);
        let response = self
            .client
            .post(format!(
                "/api/v1/courses/COMP6248/assignments/{assignment}/submissions"
            ))
            .header(content_type)
            .header(bearer(&token))
            .body(body)
            .dispatch()
            .await;
        assert_eq!(
            response.status(),
            Status::Created,
            "{username} could not hand in"
        );
        let receipt: serde_json::Value =
            serde_json::from_str(&response.into_string().await.unwrap()).unwrap();
        receipt["id"].as_i64().unwrap()
    }

    /// A page's HTML, as the client (and its cookies) gets it.
    pub async fn page(&self, path: impl std::fmt::Display) -> String {
        self.client
            .get(path.to_string())
            .dispatch()
            .await
            .into_string()
            .await
            .expect("a page body")
    }

    /// An API call with a bearer token: the status and the JSON answer
    /// (`null` if the body is not JSON).
    pub async fn api_json(
        &self,
        token: &str,
        method: rocket::http::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (Status, serde_json::Value) {
        let mut request = self.client.req(method, path).header(bearer(token));
        if let Some(body) = body {
            request = request.header(ContentType::JSON).body(body.to_string());
        }
        let response = request.dispatch().await;
        let status = response.status();
        let text = response.into_string().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or_default())
    }

    pub async fn token(&self, username: &str) -> String {
        let db = &self.app().db;
        let user = user::find_by_username(db, username).await.unwrap().unwrap();
        handin::models::api_token::issue(db, user.id, self.clock_now(), 30)
            .await
            .unwrap()
    }

    pub async fn submission_count(&self) -> u64 {
        submission::Entity::find()
            .count(&self.app().db)
            .await
            .unwrap()
    }

    pub fn upload_files(&self) -> Vec<PathBuf> {
        self.app().uploads.files().unwrap()
    }

    /// Rows and files, to check that a refused upload changed neither.
    pub async fn snapshot(&self) -> (u64, Vec<PathBuf>) {
        (self.submission_count().await, self.upload_files())
    }
}

/// Text as the templates escape it (MiniJinja also escapes `/`).
/// `Authorization: Bearer TOKEN`.
pub fn bearer(token: &str) -> Header<'static> {
    Header::new("Authorization", format!("Bearer {token}"))
}

pub fn html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
        .replace('/', "&#x2f;")
}

/// The value of the first hidden input with this name in a page.
pub fn hidden_value(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} field in page"))
        + marker.len();
    page[start..].split('"').next().unwrap().to_string()
}

pub fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, body) in files {
        writer
            .start_file(*name, SimpleFileOptions::default())
            .unwrap();
        writer.write_all(body).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

/// Bytes that do not compress, deterministically.
pub fn noise(len: usize) -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// A bundle the coursework accepts.
pub fn coursework_zip(note: &str) -> Vec<u8> {
    zip_of(&[
        ("report.pdf", format!("%PDF-1.4 {note}").as_bytes()),
        ("code/model.py", b"print('hi')\n"),
    ])
}

pub enum Part<'a> {
    Text(&'a str, &'a str),
    File(&'a str, &'a str, &'a [u8]),
}

impl<'a> Part<'a> {
    pub fn text(name: &'a str, value: &'a str) -> Self {
        Part::Text(name, value)
    }
    pub fn file(name: &'a str, file_name: &'a str, bytes: &'a [u8]) -> Self {
        Part::File(name, file_name, bytes)
    }
}

pub const BOUNDARY: &str = "handin-test-boundary-7d1f0e2a9b";

/// A multipart/form-data body, built by hand as a browser sends it.
pub fn multipart(parts: &[Part<'_>]) -> (ContentType, Vec<u8>) {
    let mut body = Vec::new();
    for part in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        match part {
            Part::Text(name, value) => {
                body.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                        .as_bytes(),
                );
            }
            Part::File(name, file_name, bytes) => {
                body.extend_from_slice(
                    format!(
                        "Content-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: application/zip\r\n\r\n"
                    )
                    .as_bytes(),
                );
                body.extend_from_slice(bytes);
                body.extend_from_slice(b"\r\n");
            }
        }
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    (
        ContentType::new("multipart", "form-data").with_params(("boundary", BOUNDARY)),
        body,
    )
}
