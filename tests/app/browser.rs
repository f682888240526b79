//! A person in a real browser: headless Chromium, driven over WebDriver
//! (chromedriver), against the real server binary on loopback. The pages'
//! screenshots are saved in `target/screenshots/`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use fantoccini::{Client, ClientBuilder, Locator};
use handin::models::user;
use serde_json::json;

use crate::fixture;
use crate::server::{Server, free_port};
use crate::support::{PASSWORD, noise, sha256_hex, zip_of};

const BINARY: &str = env!("CARGO_BIN_EXE_handin");

struct Browser {
    client: Client,
    driver: Child,
    downloads: PathBuf,
    shots: PathBuf,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

async fn browser(work: &Path) -> Browser {
    browser_in(work, None).await
}

/// A browser whose clock reads in `zone` (a student abroad), or the machine's.
async fn browser_in(work: &Path, zone: Option<&str>) -> Browser {
    let driver_path = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
    let port = free_port();
    let mut command = Command::new(&driver_path);
    if let Some(zone) = zone {
        command.env("TZ", zone);
    }
    let driver = command.arg(format!("--port={port}")).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap_or_else(|e| panic!("{driver_path} did not start ({e}): install chromium and chromium-driver (.ci/run does)"));
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "chromedriver did not listen"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let downloads = work.join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    let profile = work.join("profile");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let capabilities = json!({
        "goog:chromeOptions": {
            "binary": chromium,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1280,900",
                format!("--user-data-dir={}", profile.display()),
            ],
            "prefs": {
                "download.default_directory": downloads.display().to_string(),
                "download.prompt_for_download": false,
            }
        }
    });
    let capabilities = match capabilities {
        serde_json::Value::Object(map) => map,
        _ => unreachable!(),
    };
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a WebDriver session with headless Chromium");
    let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    Browser {
        client,
        driver,
        downloads,
        shots,
    }
}

impl Browser {
    async fn shot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        std::fs::write(self.shots.join(format!("{name}.png")), png).unwrap();
    }

    /// The element, once it is there (10 s at most).
    async fn element(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .unwrap()
    }

    async fn type_in(&self, css: &str, text: &str) {
        self.element(css).await.send_keys(text).await.unwrap();
    }

    async fn click(&self, css: &str) {
        self.element(css).await.click().await.unwrap();
    }

    /// Every control on the page has a label a screen reader can read, and
    /// every image an alternative text.
    async fn assert_accessible(&self, page: &str) {
        let unlabelled = self
            .client
            .execute(
                "return [...document.querySelectorAll('input:not([type=hidden]), select, textarea, progress')]\
                 .filter(e => e.labels.length === 0 && !e.getAttribute('aria-label')).map(e => e.outerHTML)\
                 .concat([...document.querySelectorAll('img:not([alt])')].map(e => e.outerHTML));",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(unlabelled, json!([]), "{page}: controls without labels");
        let lang = self
            .client
            .execute("return document.documentElement.lang;", vec![])
            .await
            .unwrap();
        assert_eq!(lang, json!("en"), "{page}");
    }

    async fn text_of(&self, css: &str) -> String {
        self.element(css).await.text().await.unwrap()
    }

    async fn login(&self, base: &str, username: &str) {
        self.client.goto(&format!("{base}/login")).await.unwrap();
        self.type_in("#username", username).await;
        self.type_in("#password", PASSWORD).await;
        self.click("form button[type=submit]").await;
        self.client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_url(&url(&format!("{base}/")))
            .await
            .unwrap();
    }

    async fn logout(&self) {
        self.click("nav form button").await;
        self.client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Id("username"))
            .await
            .unwrap();
    }

    /// Clicks the link that reads `link` and waits for the browser to save
    /// `name` in the downloads folder (it writes elsewhere until the file is
    /// whole); returns the file's bytes.
    async fn download(&self, link: &str, name: &str) -> Vec<u8> {
        self.client
            .find(Locator::LinkText(link))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let path = self.downloads.join(name);
        let started = Instant::now();
        while !path.exists() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "{name} did not arrive"
            );
            rocket::tokio::time::sleep(Duration::from_millis(100)).await;
        }
        std::fs::read(&path).unwrap()
    }

    async fn set_value(&self, id: &str, value: &str) {
        let script = "document.getElementById(arguments[0]).value = arguments[1];";
        self.client
            .execute(script, vec![json!(id), json!(value)])
            .await
            .unwrap();
    }
}

fn url(text: &str) -> url::Url {
    url::Url::parse(text).unwrap()
}

/// WEB101 `lab1`, due in 40 minutes, needing `report.pdf`; students alice and
/// bob, marker mark, administrator admin, all with real passwords.
async fn prepare(dir: &Path) {
    let app = fixture::open(dir).await;
    let extra = "max_bundle_mib = 5\nrequired_files = [\"report.pdf\"]\nlate_policy = \"uk_standard\"\n\
                 declaration = \"This is my own work.\"";
    let course = fixture::course(&app, "WEB101", "lab1", "Lab one", 40, extra).await;
    let hash = user::hash_password(PASSWORD).unwrap();
    for (name, display, role) in [
        ("alice", "Alice Liddell", "student"),
        ("bob", "Bob Marley", "student"),
        ("mark", "Mark Marker", "marker"),
        ("admin", "Ada Admin", "admin"),
    ] {
        fixture::user(&app, name, display, role, course.id, &hash).await;
    }
    app.db.close().await.unwrap();
}

#[rocket::async_test]
async fn a_person_uses_handin_in_a_real_browser() {
    let dir = crate::database::TestDir::new();
    prepare(dir.path()).await;
    let server = Server::start(Path::new(BINARY), dir.path());
    let base = format!("http://{}", server.addr);
    let b = browser(dir.path()).await;
    let page = format!("{base}/courses/WEB101/assignments/lab1");

    // A student logs in and sees the deadline with a live countdown.
    b.client.goto(&format!("{base}/login")).await.unwrap();
    b.shot("login").await;
    b.assert_accessible("login").await;
    b.login(&base, "alice").await;
    b.shot("dashboard").await;
    let first = b.text_of("[data-deadline]").await;
    assert!(
        first.ends_with(" s left") && first.contains("min"),
        "{first}"
    );
    let changed = Instant::now();
    while b.text_of("[data-deadline]").await == first {
        assert!(
            changed.elapsed() < Duration::from_secs(5),
            "the countdown does not move"
        );
        rocket::tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // A refused bundle shows its message, and nothing leaves the page.
    b.client.goto(&page).await.unwrap();
    let wrong = dir.path().join("wrong.zip");
    std::fs::write(&wrong, zip_of(&[("notes.txt", b"no report here")])).unwrap();
    b.type_in("#bundle", wrong.to_str().unwrap()).await;
    b.click("#declare").await;
    b.click("form[data-upload] button").await;
    let started = Instant::now();
    while !b
        .text_of(".upload-status")
        .await
        .contains("Required file is missing: report.pdf")
    {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no refusal shown: {}",
            b.text_of(".upload-status").await
        );
        rocket::tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        b.element("form[data-upload] button")
            .await
            .is_enabled()
            .await
            .unwrap()
    );
    b.shot("refused").await;

    // A bundle that is not a zip is caught before it is sent.
    let pdf = dir.path().join("report.pdf");
    std::fs::write(&pdf, b"%PDF").unwrap();
    b.type_in("#bundle", pdf.to_str().unwrap()).await;
    assert!(
        b.text_of(".upload-status")
            .await
            .contains("is not a .zip file")
    );

    // An upload through the form, with the progress bar, ends on the receipt.
    let good = dir.path().join("lab1.zip");
    let bytes = zip_of(&[
        ("report.pdf", &noise(4 * 1024 * 1024)),
        ("code/main.py", b"print(1)\n"),
    ]);
    std::fs::write(&good, &bytes).unwrap();
    b.client.goto(&page).await.unwrap();
    b.shot("assignment").await;
    b.assert_accessible("assignment").await;
    // Record what the status line says while uploading, across the navigation.
    let watch = "const s = document.querySelector('.upload-status'); sessionStorage.setItem('said', '');\
                 new MutationObserver(() => sessionStorage.setItem('said', sessionStorage.getItem('said') + '|' + s.textContent))
                 .observe(s, {childList: true, characterData: true, subtree: true});";
    b.client.execute(watch, vec![]).await.unwrap();
    b.type_in("#bundle", good.to_str().unwrap()).await;
    // Without the declaration ticked, the browser itself stops the form.
    b.click("form[data-upload] button").await;
    assert!(
        b.client
            .current_url()
            .await
            .unwrap()
            .as_str()
            .ends_with("/lab1")
    );
    b.click("#declare").await;
    let button = b.element("form[data-upload] button").await;
    button.click().await.unwrap();
    // A second click while sending does nothing: the button is disabled.
    let _ = button.click().await;
    b.client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("code.hash"))
        .await
        .unwrap();
    assert!(
        b.client
            .current_url()
            .await
            .unwrap()
            .path()
            .starts_with("/submissions/")
    );
    let said = b
        .client
        .execute("return sessionStorage.getItem('said');", vec![])
        .await
        .unwrap();
    let said = said.as_str().unwrap_or_default().to_string();
    assert!(
        said.contains("Uploading: 100% (") && said.contains("MB/s)"),
        "{said}"
    );
    assert!(said.contains("Received"), "{said}");
    assert_eq!(b.text_of("code.hash").await, sha256_hex(&bytes));
    assert!(
        b.text_of("[role=status]")
            .await
            .contains("Attempt 1 received on time")
    );
    b.shot("receipt").await;
    b.assert_accessible("receipt").await;

    // On a phone-sized screen the pages still read.
    b.client.set_window_size(375, 800).await.unwrap();
    b.client.goto(&page).await.unwrap();
    b.shot("assignment-phone").await;
    let overflow = b
        .client
        .execute(
            "return document.documentElement.scrollWidth > window.innerWidth;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        overflow,
        json!(false),
        "the assignment page scrolls sideways at 375 px"
    );
    b.client.set_window_size(1280, 900).await.unwrap();
    b.logout().await;

    // A marker filters the table and downloads everything.
    b.login(&base, "mark").await;
    b.client.goto(&format!("{page}/marking")).await.unwrap();
    b.shot("marking").await;
    b.assert_accessible("marking").await;
    // Choosing a filter applies it: no button to press.
    b.click("input[name=status][value=not_submitted]").await;
    b.client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_url(&url(&format!(
            "{page}/marking?status=not_submitted&sort=student&dir=asc"
        )))
        .await
        .unwrap();
    let table = b.text_of("table.marking tbody").await;
    assert!(table.contains("bob") && !table.contains("alice"), "{table}");
    let zip = b
        .download(
            "Download all (the attempts that count)",
            "WEB101-lab1-submissions.zip",
        )
        .await;
    let archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
    let names: Vec<String> = archive
        .file_names()
        .map(|n| n.unwrap().to_string())
        .collect();
    assert!(
        names
            .iter()
            .any(|n| n == "alice/WEB101-lab1-alice-attempt1.zip"),
        "{names:?}"
    );
    assert!(names.iter().any(|n| n == "manifest.csv"), "{names:?}");
    // Inside alice's bundle without downloading it: her code, as text.
    b.client
        .goto(&format!("{base}/submissions/1/files"))
        .await
        .unwrap();
    b.assert_accessible("files").await;
    b.client
        .find(Locator::LinkText("code/main.py"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert_eq!(b.text_of("pre.preview").await, "print(1)");
    b.assert_accessible("preview").await;
    b.shot("preview").await;
    b.logout().await;

    // An administrator grants an extension; the student's page shows it.
    b.login(&base, "admin").await;
    b.client.goto(&format!("{page}/extensions")).await.unwrap();
    b.client
        .execute(
            "document.querySelector('#students option[value=alice]').selected = true;",
            vec![],
        )
        .await
        .unwrap();
    let until = (Utc::now() + chrono::Duration::days(3)).with_timezone(&chrono_tz::Europe::London);
    b.set_value("until", &until.format("%Y-%m-%dT%H:%M").to_string())
        .await;
    b.type_in("#reason", "illness, with a note").await;
    b.click("form.card button[type=submit]").await;
    assert!(b.text_of("p.notice").await.contains("saved for alice"));
    b.shot("extensions").await;
    b.assert_accessible("extensions").await;
    b.client
        .goto(&format!("{base}/admin/courses/WEB101/assignments/lab1"))
        .await
        .unwrap();
    b.shot("admin-assignment").await;
    b.assert_accessible("admin-assignment").await;
    b.logout().await;

    b.login(&base, "alice").await;
    b.client.goto(&page).await.unwrap();
    let details = b.text_of("dl.card").await;
    let shown = until.format("%a %-d %b %Y, %H:%M").to_string();
    assert!(
        details.contains("Your extended deadline") && details.contains(&shown),
        "{details}"
    );
    b.client.clone().close().await.unwrap();
}

/// A student signs in through the university's own login page (a real
/// OpenID provider on another site), lands where they were going, and
/// signs out of both.
#[rocket::async_test]
async fn a_student_signs_in_with_the_university_account_in_a_real_browser() {
    let dir = crate::database::TestDir::new();
    prepare(dir.path()).await;
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let env: Vec<(String, String)> = crate::provider::settings(&base)
        .await
        .into_iter()
        .map(|(name, value)| {
            let value = value
                .as_str()
                .map(String::from)
                .unwrap_or(value.to_string());
            (format!("ROCKET_{}", name.to_uppercase()), value)
        })
        .collect();
    let _server = Server::start_on(port, Path::new(BINARY), dir.path(), &env);
    let b = browser(dir.path()).await;
    let page = format!("{base}/courses/WEB101/assignments/lab1");

    b.client.goto(&page).await.unwrap();
    b.assert_accessible("login with single sign-on").await;
    b.shot("login-sso").await;
    b.click("#sso").await;
    // The provider's own page, on another site.
    b.type_in("#login", "alice").await;
    b.type_in("#password", crate::provider::PASSWORD).await;
    let at_provider = b.client.current_url().await.unwrap();
    assert!(
        at_provider.as_str().starts_with("http://localhost:"),
        "{at_provider}"
    );
    b.click("#sign-in").await;
    // Back at handin, signed in (the SameSite=Strict session cookie went
    // with the page that moved on), on the page they were going to.
    b.client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_url(&url(&page))
        .await
        .unwrap();
    let who = b.text_of(".who").await;
    assert!(who.contains("Alice from the university"), "{who}");
    b.shot("signed-in-sso").await;

    // A token for a script, made on the tokens page, shown once.
    b.client.goto(&format!("{base}/tokens")).await.unwrap();
    b.type_in("#token-name", "marking helper").await;
    b.click("form[action='/tokens'] button").await;
    let token = b
        .element("#token-value")
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(token.starts_with("hdn_"), "{token}");
    b.assert_accessible("tokens").await;
    b.shot("tokens").await;
    b.client.refresh().await.unwrap();
    b.element("table").await;
    let again = b.client.source().await.unwrap();
    assert!(
        !again.contains(&token) && again.contains("marking helper"),
        "shown once"
    );

    // Out of handin, then out at the provider (which asks), then back.
    b.click("nav form button").await;
    b.click("button[name=logout]").await;
    b.element("#sso").await;
    assert!(
        b.client
            .current_url()
            .await
            .unwrap()
            .as_str()
            .starts_with(&format!("{base}/login"))
    );
    // Signed out there too: signing in again asks for the password again.
    b.click("#sso").await;
    b.element("#login").await;
    b.client.clone().close().await.unwrap();
}

/// A marker gives three students their marks on the marking page without
/// leaving it, adds feedback for one, releases; each student then sees
/// their own mark and feedback, and nobody else's.
#[rocket::async_test]
async fn a_marker_returns_marks_and_each_student_sees_only_their_own() {
    let dir = crate::database::TestDir::new();
    prepare(dir.path()).await;
    {
        let app = fixture::open(dir.path()).await;
        let course = handin::models::course::find_by_code(&app.db, "WEB101")
            .await
            .unwrap()
            .unwrap();
        let hash = user::hash_password(PASSWORD).unwrap();
        fixture::user(&app, "carol", "Carol Ann", "student", course.id, &hash).await;
        let (_, lab1) = handin::models::assignment::find_by_codes(&app.db, "WEB101", "lab1")
            .await
            .unwrap()
            .unwrap();
        let mut lab1: handin::models::assignment::ActiveModel = lab1.into();
        lab1.feedback_files = sea_orm::ActiveValue::Set(true);
        sea_orm::ActiveModelTrait::update(lab1, &app.db)
            .await
            .unwrap();
        app.db.close().await.unwrap();
    }
    let server = Server::start(Path::new(BINARY), dir.path());
    let base = format!("http://{}", server.addr);
    let page = format!("{base}/courses/WEB101/assignments/lab1");
    let b = browser(dir.path()).await;

    b.login(&base, "mark").await;
    b.client.goto(&format!("{page}/marking")).await.unwrap();
    // Typed into carol's field but not yet saved: it must survive the
    // other saves (the page is never reloaded).
    b.type_in("input[aria-label='Mark for carol']", "48").await;
    for (student, mark) in [("alice", "72.5"), ("bob", "61")] {
        b.type_in(&format!("input[aria-label='Mark for {student}']"), mark)
            .await;
        b.click(&format!("button[aria-label='Save the mark for {student}']"))
            .await;
        let said = format!("{student}: {mark} saved.");
        b.client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::XPath(&format!(
                "//span[@class='mark-status' and contains(., '{said}')]"
            )))
            .await
            .unwrap();
    }
    let carol = b
        .element("input[aria-label='Mark for carol']")
        .await
        .prop("value")
        .await
        .unwrap();
    assert_eq!(carol.as_deref(), Some("48"), "the page was not reloaded");
    b.click("button[aria-label='Save the mark for carol']")
        .await;
    b.client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::XPath(
            "//span[@class='mark-status' and contains(., 'carol: 48 saved.')]",
        ))
        .await
        .unwrap();
    b.assert_accessible("marking with marks").await;
    // On a common laptop screen every column is there without scrolling.
    b.client.set_window_size(1366, 768).await.unwrap();
    let fits = b
        .client
        .execute(
            "const s = document.querySelector('table.marking').parentElement; return s.scrollWidth <= s.clientWidth;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        fits,
        json!(true),
        "the marking table scrolls sideways at 1366 px"
    );
    b.shot("marking-marks").await;
    b.client.set_window_size(1280, 900).await.unwrap();

    // Feedback for alice on her history page, then release.
    b.client
        .goto(&format!("{page}/marking/alice"))
        .await
        .unwrap();
    b.type_in("#feedback", "Clear and well tested.").await;
    b.click("form[action$='/mark'] button").await;
    b.element(".notice").await;
    // Files for alice and bob, in one zip laid out like the all-submissions zip.
    b.client.goto(&format!("{page}/marking")).await.unwrap();
    let zip = dir.path().join("feedback.zip");
    std::fs::write(
        &zip,
        zip_of(&[
            ("alice/annotated.pdf", b"%PDF alice annotated"),
            ("bob/annotated.pdf", b"%PDF bob annotated"),
        ]),
    )
    .unwrap();
    b.type_in("#feedback-zip", zip.to_str().unwrap()).await;
    b.click("form[action$='/feedback-files/import'] button")
        .await;
    let notice = b.text_of(".notice").await;
    assert!(
        notice.contains("2 feedback files for 2 students"),
        "{notice}"
    );
    b.click("form[action$='/marks/release'] button").await;
    // The page before said the import's words: wait for the release's.
    b.client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::XPath(
            "//p[contains(@class, 'notice') and contains(., 'The marks are released')]",
        ))
        .await
        .unwrap();
    b.logout().await;

    b.login(&base, "alice").await;
    b.client.goto(&page).await.unwrap();
    let mine = b.text_of("#mark").await;
    assert!(
        mine.contains("72.5 out of 100") && mine.contains("Clear and well tested."),
        "{mine}"
    );
    b.assert_accessible("assignment with a mark").await;
    b.shot("student-mark").await;
    // Her file is a download, never a page of its own.
    let saved = b
        .download("annotated.pdf", "WEB101-lab1-feedback-annotated.pdf")
        .await;
    assert_eq!(saved, b"%PDF alice annotated");
    assert!(
        b.client
            .current_url()
            .await
            .unwrap()
            .as_str()
            .ends_with("/lab1")
    );
    b.logout().await;

    b.login(&base, "bob").await;
    b.client.goto(&page).await.unwrap();
    let his = b.text_of("#mark").await;
    assert!(his.contains("61 out of 100"), "{his}");
    assert!(
        !his.contains("72.5") && !his.contains("Clear and well tested."),
        "{his}"
    );
    assert!(his.contains("annotated.pdf"), "{his}");
    b.client.clone().close().await.unwrap();
}

/// The deadline passes while the assignment page is open: a late upload
/// over an on-time attempt is refused with the reason, the page shows the
/// box to tick, and ticked it goes through, late.
#[rocket::async_test]
async fn a_late_upload_over_an_on_time_one_asks_first_in_a_real_browser() {
    let dir = crate::database::TestDir::new();
    // Due 20 s after the server is ready: time for one on-time upload.
    let due = {
        let app = fixture::open(dir.path()).await;
        let due = Utc::now() + chrono::Duration::seconds(20);
        let course = fixture::course_due(&app, ("WEB102", "lab1", "Lab one"), due, "").await;
        let hash = user::hash_password(PASSWORD).unwrap();
        fixture::user(&app, "alice", "Alice Liddell", "student", course.id, &hash).await;
        app.db.close().await.unwrap();
        due
    };
    let server = Server::start(Path::new(BINARY), dir.path());
    let base = format!("http://{}", server.addr);
    let page = format!("{base}/courses/WEB102/assignments/lab1");
    // Alice is in New York for the term: times also show in her own zone.
    let b = browser_in(dir.path(), Some("America/New_York")).await;
    b.login(&base, "alice").await;
    let bundle = dir.path().join("lab1.zip");
    std::fs::write(&bundle, zip_of(&[("notebook.ipynb", b"{}")])).unwrap();
    let upload = || async {
        b.type_in("#bundle", bundle.to_str().unwrap()).await;
        b.click("form[data-upload] button").await;
    };
    b.client.goto(&page).await.unwrap();
    upload().await;
    b.element("code.hash").await;
    assert!(b.text_of("[role=status]").await.contains("on time"));

    // The page is opened before the deadline: no box yet.
    b.client.goto(&page).await.unwrap();
    let deadline = b.text_of("dd[data-instant]").await;
    assert!(
        deadline.contains("where you are, America/New_York"),
        "{deadline}"
    );
    assert!(
        !b.element(".confirm-late")
            .await
            .is_displayed()
            .await
            .unwrap()
    );
    let wait = (due - Utc::now()).to_std().unwrap_or_default() + Duration::from_secs(1);
    rocket::tokio::time::sleep(wait).await;
    upload().await;
    let started = Instant::now();
    while !b
        .text_of(".upload-status")
        .await
        .contains("would replace your on-time attempt 1")
    {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no question asked"
        );
        rocket::tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        b.element(".confirm-late")
            .await
            .is_displayed()
            .await
            .unwrap()
    );
    let focused = b
        .client
        .execute("return document.activeElement.id;", vec![])
        .await
        .unwrap();
    assert_eq!(focused, json!("confirm-late"));
    b.assert_accessible("late upload question").await;
    b.shot("confirm-late").await;
    b.click("#confirm-late").await;
    b.click("form[data-upload] button").await;
    b.client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("code.hash"))
        .await
        .unwrap();
    let status = b.text_of("[role=status]").await;
    assert!(
        status.contains("Attempt 2") && status.contains("late by"),
        "{status}"
    );

    // She asks for an extension, then thinks better of it and withdraws it.
    b.client.goto(&page).await.unwrap();
    b.click("details summary").await;
    let until = (Utc::now() + chrono::Duration::days(2)).with_timezone(&chrono_tz::Europe::London);
    b.set_value("until", &until.format("%Y-%m-%dT%H:%M").to_string())
        .await;
    b.type_in("#reason", "I was ill").await;
    // Each answer is a new page: wait for its words, not the old page's.
    let b = &b;
    let says = |words: &'static str| {
        let path = format!("//p[contains(@class, 'notice') and contains(., '{words}')]");
        async move {
            b.client
                .wait()
                .at_most(Duration::from_secs(10))
                .for_element(Locator::XPath(&path))
                .await
                .unwrap();
        }
    };
    b.click("form[action$='/extension-request'] button").await;
    says("request was sent").await;
    assert!(b.text_of("main").await.contains("Your reason: I was ill"));
    b.click("form[action$='/withdraw'] button").await;
    says("was withdrawn").await;
    b.assert_accessible("request withdrawn").await;
    b.client.clone().close().await.unwrap();
}

#[rocket::async_test]
async fn a_student_checks_a_signed_receipt_in_the_browser_even_from_a_saved_copy() {
    let dir = crate::database::TestDir::new();
    prepare(dir.path()).await;
    let server = Server::start(Path::new(BINARY), dir.path());
    let base = format!("http://{}", server.addr);
    let b = browser(dir.path()).await;
    b.login(&base, "alice").await;
    b.client
        .goto(&format!("{base}/courses/WEB101/assignments/lab1"))
        .await
        .unwrap();
    let bundle = dir.path().join("lab1.zip");
    std::fs::write(&bundle, zip_of(&[("report.pdf", b"%PDF my report")])).unwrap();
    b.type_in("#bundle", bundle.to_str().unwrap()).await;
    b.click("#declare").await;
    b.click("form[data-upload] button").await;
    b.element("code.hash").await;
    b.client
        .goto(&format!("{base}/submissions/1"))
        .await
        .unwrap();
    let saved = b
        .download("Download the signed receipt", "receipt-WEB101-lab1-1.json")
        .await;
    let receipt = dir.path().join("downloads/receipt-WEB101-lab1-1.json");
    assert!(String::from_utf8_lossy(&saved).contains("handin-receipt/1"));
    let other = dir.path().join("other.zip");
    std::fs::write(&other, b"not the bundle").unwrap();

    // The checker, as served, then saved to disk and opened from there.
    let page = crate::server::request(server.addr, "GET", "/verify", &[], b"").unwrap();
    let copy = dir.path().join("verify.html");
    std::fs::write(&copy, &page.body).unwrap();
    for (place, address) in [
        ("served", format!("{base}/verify")),
        ("from disk", format!("file://{}", copy.display())),
    ] {
        b.client.goto(&address).await.unwrap();
        b.assert_accessible("verify").await;
        b.type_in("#receipt", receipt.to_str().unwrap()).await;
        b.type_in("#bundle", bundle.to_str().unwrap()).await;
        b.click("#check button").await;
        b.element("#outcome[data-outcome]").await;
        let outcome = b.text_of("#outcome").await;
        let findings = b.text_of("#findings").await;
        assert_eq!(outcome, "This receipt is genuine.", "{place}: {findings}");
        assert!(findings.contains("handin's key"), "{place}: {findings}");
        assert!(
            findings.contains("is entry 0 of log"),
            "{place}: {findings}"
        );
        assert!(
            findings.contains("The bundle given is the one handed in"),
            "{place}"
        );
        b.shot(&format!("verify-{}", place.replace(' ', "-"))).await;
        // Another file in place of the bundle: the check says so.
        b.client.goto(&address).await.unwrap();
        b.type_in("#receipt", receipt.to_str().unwrap()).await;
        b.type_in("#bundle", other.to_str().unwrap()).await;
        b.click("#check button").await;
        b.element("#outcome[data-outcome]").await;
        assert_eq!(
            b.text_of("#outcome").await,
            "This receipt does not check.",
            "{place}"
        );
        assert!(
            b.text_of("#findings")
                .await
                .contains("is not the one handed in")
        );
    }
}
