//! Part 5: a university's year in one database. 20,000 students, 200
//! courses of 5 assignments, a million attempts with file lists, and the
//! extensions, requests and audit entries such a year leaves, inserted in
//! bulk (a few thousand rows per statement, not one request per row). Then
//! the pages people open at the deadline are timed against it, beside the
//! same pages in part 4's near-empty database.

use std::time::Instant;

use chrono::{Duration, Utc};
use futures::stream::{self, StreamExt};
use handin::models::{audit, enrolment, extension, requests, submission, user};
use sea_orm::{ActiveValue::Set, EntityTrait, TransactionTrait};

use super::{Backend, MIB, server, timed_download};

/// The year, scaled down by `scale` (1: the full year).
struct Shape {
    students: usize,
    courses: usize,
}

const ASSIGNMENTS_PER_COURSE: usize = 5;
const COURSES_PER_STUDENT: usize = 8;
/// Rows per INSERT: within SQLite's and PostgreSQL's limits on bound values.
const BATCH: usize = 1000;
/// The measured assignment: 1,000 students x 3 attempts, with real files.
const MARKED: usize = 1000;
const PASSWORD: &str = "benchmark password";

pub fn run(backend: &Backend, runtime: &rocket::tokio::runtime::Runtime, scale: u64) {
    let scale = scale as usize;
    let shape = Shape {
        students: 20_000 / scale,
        courses: 200 / scale,
    };
    println!(
        "\n5. A university's year: {} students, {} courses x {ASSIGNMENTS_PER_COURSE} assignments, \
         about {} attempts",
        shape.students,
        shape.courses,
        shape.courses * ASSIGNMENTS_PER_COURSE * 1000
    );
    let started = Instant::now();
    let rows = runtime.block_on(seed(backend, &shape));
    println!(
        "seeded {rows} rows in {:.1} s ({:.0} rows/s)",
        started.elapsed().as_secs_f64(),
        rows as f64 / started.elapsed().as_secs_f64()
    );
    let server = backend.server();
    let student = server.login("s00000", PASSWORD);
    let marker = server.login("yearmarker", PASSWORD);
    let admin = server.login("yearadmin", PASSWORD);
    let token = runtime.block_on(async {
        let app = backend.open().await;
        let marker = user::find_by_username(&app.db, "yearmarker")
            .await
            .unwrap()
            .unwrap();
        handin::models::api_token::issue(&app.db, marker.id, Utc::now(), 30)
            .await
            .unwrap()
    });
    let big = "/courses/YEAR/assignments/big";
    let pages: Vec<(&str, String, &str)> = vec![
        ("student dashboard (8 courses)", "/".into(), &student),
        (
            "assignment page",
            "/courses/C000/assignments/a0".into(),
            &student,
        ),
        ("marking page, 1,000 x 3", format!("{big}/marking"), &marker),
        ("marking CSV", format!("{big}/submissions.csv"), &marker),
        ("audit log", "/admin/audit".into(), &admin),
        (
            "audit log, one course",
            "/admin/audit?course=C001".into(),
            &admin,
        ),
        (
            "audit log, one action",
            "/admin/audit?action=extension_granted".into(),
            &admin,
        ),
    ];
    println!(
        "{:>32} {:>10} {:>10} {:>10}",
        "page", "median", "min", "max"
    );
    for (name, path, cookie) in pages {
        let header = [("Cookie", cookie.to_string())];
        timed(name, || {
            server::request(server.addr, "GET", &path, &header, b"").unwrap()
        });
    }
    where_the_marking_page_goes(backend, runtime);
    let bearer = [("Authorization", format!("Bearer {token}"))];
    let list = format!("/api/v1{big}/submissions");
    timed("API list, 1,000 x 3", || {
        server::request(server.addr, "GET", &list, &bearer, b"").unwrap()
    });
    let (bytes, first, seconds, peak) =
        timed_download(&server, &token, &format!("/api/v1{big}/submissions.zip"));
    println!(
        "download-all of 1,000 bundles: {} MiB in {seconds:.2} s, first byte after {first:.3} s, \
         server RSS {} -> {} MiB",
        bytes / MIB,
        peak.0 / 1024,
        peak.1 / 1024
    );
    println!(
        "server RSS after all of it: {} MiB",
        server.rss_kib() / 1024
    );
    drop(server);
    verify_the_year(backend);
}

/// `handin verify` over the whole year: every row read, its file looked
/// for, its outcome written. Only the measured assignment's bundles exist
/// (the seeded rows name files that were never written, so each is
/// reported missing): this measures what a row costs, the part of a
/// nightly check that grows with the years; part 3b measures hashing.
fn verify_the_year(backend: &Backend) {
    let mut command = std::process::Command::new("/usr/bin/time");
    command
        .args(["-f", "peak %M KiB"])
        .arg(super::BINARY)
        .arg("verify")
        .envs(backend.command_settings())
        .stdout(std::process::Stdio::null());
    let start = Instant::now();
    let output = command.output().unwrap();
    let seconds = start.elapsed().as_secs_f64();
    let said = String::from_utf8_lossy(&output.stderr);
    let rows: f64 = said
        .split("verified ")
        .last()
        .and_then(|tail| tail.split('/').nth(1))
        .and_then(|total| total.split_whitespace().next())
        .and_then(|total| total.parse().ok())
        .unwrap_or(0.0);
    let peak = said
        .lines()
        .find(|line| line.starts_with("peak "))
        .unwrap_or("peak ? KiB");
    println!(
        "handin verify over the year: {rows:.0} submissions in {seconds:.1} s ({:.0} rows/s), {peak}",
        rows / seconds
    );
}

/// Where the marking page's time goes: its table built in this process
/// (the queries, and judging each student's attempt that counts), then the
/// rows made into template values as the page's template receives them
/// (Rocket's, then MiniJinja's), against the whole page over HTTP above;
/// the rest is rendering and HTTP.
fn where_the_marking_page_goes(backend: &Backend, runtime: &rocket::tokio::runtime::Runtime) {
    use handin::policy::Act;
    use handin::services::Scope;
    use handin::services::exports::{self, Attempts};
    use handin::web::marking::ShownRow;
    runtime.block_on(async {
        let app = backend.open().await;
        let marker = user::find_by_username(&app.db, "yearmarker")
            .await
            .unwrap()
            .unwrap();
        let scope = Scope::find(&app, marker, "YEAR", "big", Act::Mark)
            .await
            .unwrap();
        let (mut built, mut serialized) = (Vec::new(), Vec::new());
        for _ in 0..21 {
            let start = Instant::now();
            let table = exports::table(&app, &scope, Attempts::Latest)
                .await
                .unwrap();
            built.push(start.elapsed().as_secs_f64() * 1e3);
            // As the page does: its rows, made into Rocket's template
            // values and then into MiniJinja's.
            let start = Instant::now();
            let rows: Vec<ShownRow> = table.rows.iter().map(ShownRow::of).collect();
            let figment = rocket::figment::value::Value::serialize(&rows).unwrap();
            let value = rocket_dyn_templates::minijinja::Value::from_serialize(&figment);
            serialized.push(start.elapsed().as_secs_f64() * 1e3);
            assert_eq!(value.len(), Some(1000));
        }
        for (name, mut times) in [
            ("  of which: the table, queries and judging", built),
            ("  of which: its rows as template values", serialized),
        ] {
            times.sort_by(f64::total_cmp);
            println!(
                "{name:>32} {:>7.1} ms {:>7.1} ms {:>7.1} ms",
                times[10], times[0], times[20]
            );
        }
        app.db.close().await.unwrap();
    });
}

/// Times 21 requests; prints the median, min and max.
fn timed(name: &str, request: impl Fn() -> server::Reply) {
    let mut times = Vec::new();
    for _ in 0..21 {
        let start = Instant::now();
        let reply = request();
        times.push(start.elapsed().as_secs_f64() * 1e3);
        assert_eq!(reply.status, 200, "{name}");
    }
    times.sort_by(f64::total_cmp);
    println!(
        "{name:>32} {:>7.1} ms {:>7.1} ms {:>7.1} ms",
        times[10], times[0], times[20]
    );
}

/// Inserts rows in batches, all in one transaction; returns how many.
async fn insert_all<A>(db: &sea_orm::DatabaseConnection, rows: Vec<A>) -> usize
where
    A: sea_orm::ActiveModelTrait + Send,
{
    let count = rows.len();
    let txn = db.begin().await.unwrap();
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let batch: Vec<A> = rows.by_ref().take(BATCH).collect();
        <A::Entity as EntityTrait>::insert_many(batch)
            .exec_without_returning(&txn)
            .await
            .unwrap();
    }
    txn.commit().await.unwrap();
    count
}

/// A file list as students' bundles have them.
fn entries(n: usize) -> String {
    let files: Vec<serde_json::Value> = (0..5 + n % 6)
        .map(|k| serde_json::json!({"path": format!("lab{}/exercise{k}.ipynb", n % 4 + 1), "size": 2000 + k * 37}))
        .collect();
    serde_json::to_string(&files).unwrap()
}

async fn seed(backend: &Backend, shape: &Shape) -> usize {
    let app = backend.open().await;
    let db = &app.db;
    // Courses and assignments as an administrator imports them.
    let mut toml = String::new();
    for c in 0..shape.courses {
        toml.push_str(&format!(
            "[[course]]\ncode = \"C{c:03}\"\ntitle = \"Course {c}\"\ntime_zone = \"Europe/London\"\n"
        ));
        for a in 0..ASSIGNMENTS_PER_COURSE {
            toml.push_str(&format!(
                "[[course.assignment]]\nslug = \"a{a}\"\ntitle = \"Assignment {a}\"\ndue = \"2026-{:02}-15 16:00\"\n",
                a + 1
            ));
        }
    }
    toml.push_str(
        "[[course]]\ncode = \"YEAR\"\ntitle = \"The measured course\"\ntime_zone = \"Europe/London\"\n\
         [[course.assignment]]\nslug = \"big\"\ntitle = \"Big\"\ndue = \"2026-05-20 16:00\"\n",
    );
    let change = handin::services::catalogue::Change {
        actor_id: None,
        at: Utc::now(),
        reason: "benchmark year",
    };
    handin::services::catalogue::import_file(&app, &toml, &change)
        .await
        .unwrap();
    let courses: std::collections::HashMap<String, i32> = handin::models::course::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.code, c.id))
        .collect();
    let assignments: std::collections::HashMap<(i32, String), i32> =
        handin::models::assignment::Entity::find()
            .all(db)
            .await
            .unwrap()
            .into_iter()
            .map(|a| ((a.course_id, a.slug), a.id))
            .collect();

    // People: only the three who log in get a real password hash.
    let hash = user::hash_password(PASSWORD).unwrap();
    let now = Utc::now();
    let person = |username: String, role: user::Role, password: &str| user::ActiveModel {
        username: Set(username.clone()),
        display_name: Set(format!("Person {username}")),
        email: Set(format!("{username}@example.ac.uk")),
        role: Set(role),
        password_hash: Set(password.to_string()),
        created_at: Set(now),
        ..Default::default()
    };
    let mut people: Vec<user::ActiveModel> = (0..shape.students)
        .map(|i| {
            let password = if i == 0 { hash.as_str() } else { "!" };
            person(format!("s{i:05}"), user::Role::Student, password)
        })
        .collect();
    people.push(person("yearmarker".into(), user::Role::Marker, &hash));
    people.push(person("yearadmin".into(), user::Role::Admin, &hash));
    let mut rows = insert_all(db, people).await;
    let ids: std::collections::HashMap<String, i32> = user::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|u| (u.username, u.id))
        .collect();
    let student = |i: usize| ids[&format!("s{i:05}")];
    let (marker, admin) = (ids["yearmarker"], ids["yearadmin"]);

    // A student (with the index of their candidate number), or a marker.
    let enrol = |user_id: i32, course_id: i32, student: Option<usize>| enrolment::ActiveModel {
        user_id: Set(user_id),
        course_id: Set(course_id),
        role: Set(match student {
            Some(_) => enrolment::EnrolledAs::Student,
            None => enrolment::EnrolledAs::Marker,
        }),
        candidate_number: Set(format!("{:06}", student.map_or(0, |i| 100_000 + i))),
        ..Default::default()
    };
    // Each student takes 8 courses; the first 1,000 also the measured one.
    let course_of = |i: usize, k: usize| (i * 7 + k * 13) % shape.courses;
    let mut enrolments = Vec::new();
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); shape.courses];
    for i in 0..shape.students {
        for k in 0..COURSES_PER_STUDENT.min(shape.courses) {
            let c = course_of(i, k);
            if members[c].last() == Some(&i) {
                continue;
            }
            members[c].push(i);
            enrolments.push(enrol(student(i), courses[&format!("C{c:03}")], Some(i)));
        }
    }
    for i in 0..MARKED.min(shape.students) {
        enrolments.push(enrol(student(i), courses["YEAR"], Some(i)));
    }
    enrolments.push(enrol(marker, courses["YEAR"], None));
    rows += insert_all(db, enrolments).await;

    // Attempts: every member once, every fourth twice; with extensions,
    // requests and their audit entries for a few.
    let base = Utc::now() - Duration::days(200);
    let attempt = |assignment: i32, i: usize, n: i32, stored: String| submission::ActiveModel {
        assignment_id: Set(assignment),
        student_id: Set(student(i)),
        attempt: Set(n),
        received_at: Set(base + Duration::minutes((i * 3) as i64 + n as i64)),
        upload_started_at: Set(base),
        sha256: Set(format!("{:064x}", i * 10 + n as usize)),
        size: Set(4096),
        original_name: Set("bundle.zip".into()),
        stored_path: Set(stored),
        entries: Set(entries(i)),
        ..Default::default()
    };
    for c in 0..shape.courses {
        let course = courses[&format!("C{c:03}")];
        let mut attempts = Vec::new();
        let mut extensions = Vec::new();
        let mut asked = Vec::new();
        let mut log = Vec::new();
        for a in 0..ASSIGNMENTS_PER_COURSE {
            let assignment = assignments[&(course, format!("a{a}"))];
            for &i in &members[c] {
                let tries = if i % 4 == 0 { 2 } else { 1 };
                for n in 1..=tries {
                    attempts.push(attempt(
                        assignment,
                        i,
                        n,
                        format!("bundles/none-{c}-{a}-{i}-{n}.zip"),
                    ));
                }
                if i % 50 == 0 {
                    extensions.push(extension::ActiveModel {
                        assignment_id: Set(assignment),
                        student_id: Set(student(i)),
                        until: Set(base + Duration::days(30)),
                        reason: Set("illness".into()),
                        granted_by: Set(admin),
                        granted_at: Set(base),
                        ..Default::default()
                    });
                    log.push(audit::ActiveModel {
                        at: Set(base),
                        actor_id: Set(Some(admin)),
                        action: Set("extension_granted".into()),
                        course_id: Set(Some(course)),
                        assignment_id: Set(Some(assignment)),
                        student_id: Set(Some(student(i))),
                        before: Set(None),
                        after: Set(Some("{\"reason\":\"illness\"}".into())),
                        details: Set(String::new()),
                        ..Default::default()
                    });
                }
                if i % 100 == 1 {
                    asked.push(requests::ActiveModel {
                        assignment_id: Set(assignment),
                        student_id: Set(student(i)),
                        requested_until: Set(base + Duration::days(30)),
                        reason: Set("a family emergency".into()),
                        evidence_path: Set(None),
                        evidence_name: Set(None),
                        state: Set(requests::State::Requested),
                        comment: Set(String::new()),
                        granted_until: Set(None),
                        decided_by: Set(None),
                        decided_at: Set(None),
                        created_at: Set(base),
                        ..Default::default()
                    });
                }
            }
        }
        rows += insert_all(db, attempts).await;
        rows += insert_all(db, extensions).await;
        rows += insert_all(db, asked).await;
        rows += insert_all(db, log).await;
    }

    // The measured assignment: 1,000 students x 3 attempts, each with its
    // bytes in the store, for the marking page and download-all.
    let big = assignments[&(courses["YEAR"], "big".to_string())];
    let files: Vec<(usize, usize)> = (0..MARKED.min(shape.students))
        .flat_map(|i| (1..=3).map(move |n| (i, n)))
        .collect();
    let uploads = &app.uploads;
    let stored: Vec<(usize, usize, String, String)> = stream::iter(files)
        .map(|(i, n)| async move {
            let bytes = super::noise((i * 3 + n) as u64, 4096);
            let received = uploads.receive(bytes.as_slice(), u64::MAX).await.unwrap();
            let sha256 = received.sha256.clone();
            let stored = format!("bundles/year-{i}-{n}.zip");
            uploads.keep_as(received, &stored).await.unwrap();
            (i, n, stored, sha256)
        })
        .buffer_unordered(32)
        .collect()
        .await;
    let attempts: Vec<submission::ActiveModel> = stored
        .into_iter()
        .map(|(i, n, stored, sha256)| {
            let mut row = attempt(big, i, n as i32, stored);
            row.sha256 = Set(sha256);
            row
        })
        .collect();
    rows += insert_all(db, attempts).await;
    app.db.close().await.unwrap();
    rows
}
