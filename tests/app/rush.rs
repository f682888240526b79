//! The deadline rush and a crash mid-upload, against the real server binary
//! on loopback.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use chrono::Utc;
use handin::models::{api_token, submission};
use sea_orm::EntityTrait;

use crate::fixture;
use crate::server::{self, Server};
use crate::support::{sha256_hex, zip_of};

const BINARY: &str = env!("CARGO_BIN_EXE_handin");

pub fn runtime() -> rocket::tokio::runtime::Runtime {
    rocket::tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A course whose `rush` deadline is an hour away, and `n` students with tokens.
pub async fn prepare(dir: &Path, n: usize) -> Vec<(String, String)> {
    let app = fixture::open(dir).await;
    let course = fixture::course(
        &app,
        "RUSH1",
        "rush",
        "Rush",
        60,
        "required_files = [\"report.pdf\"]",
    )
    .await;
    let mut students = Vec::new();
    for i in 0..n {
        let username = format!("s{i:04}");
        let id = fixture::user(
            &app,
            &username,
            &format!("Student {i}"),
            "student",
            course.id,
            "!",
        )
        .await;
        students.push((
            username,
            api_token::issue(&app.db, id, Utc::now(), 30).await.unwrap(),
        ));
    }
    app.db.close().await.unwrap();
    students
}

/// An upload caught halfway: headers and half the body sent, the rest never.
pub fn half_sent(addr: std::net::SocketAddr, token: &str, bundle: &[u8]) -> TcpStream {
    let (head, tail) = server::multipart_frame("slow.zip");
    let length = head.len() + bundle.len() + tail.len();
    let mut stream = TcpStream::connect(addr).unwrap();
    let request = format!(
        "POST /api/v1/courses/RUSH1/assignments/rush/submissions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: {}\r\nContent-Length: {length}\r\n\r\n",
        server::multipart_content_type()
    );
    stream.write_all(request.as_bytes()).unwrap();
    stream.write_all(&head).unwrap();
    stream.write_all(&bundle[..bundle.len() / 2]).unwrap();
    stream
}

pub fn bundle(student: &str, attempt: usize, padding: usize) -> Vec<u8> {
    let body = format!("%PDF {student} {attempt} {}", "x".repeat(padding));
    zip_of(&[("report.pdf", body.as_bytes())])
}

#[test]
fn three_hundred_racing_uploads_all_get_receipts_with_gapless_attempts() {
    let dir = crate::database::TestDir::new();
    let students = runtime().block_on(prepare(dir.path(), 150));
    let server = Server::start(Path::new(BINARY), dir.path());
    let addr = server.addr;
    let threads: Vec<_> = students
        .iter()
        .flat_map(|(name, token)| (0..2).map(move |i| (name.clone(), token.clone(), i)))
        .map(|(name, token, i)| {
            std::thread::spawn(move || {
                let sent = bundle(&name, i, 20_000);
                let reply = server::upload(addr, &token, "RUSH1/assignments/rush", &sent)
                    .expect("the upload is answered");
                (name, sha256_hex(&sent), reply)
            })
        })
        .collect();
    let mut sent_by_student: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for thread in threads {
        let (name, sha, reply) = thread.join().unwrap();
        let receipt = reply.receipt();
        assert_eq!(receipt["sha256"], sha.as_str());
        assert_eq!(receipt["status"], "on_time");
        sent_by_student.entry(name).or_default().push(sha);
    }
    drop(server);

    let log = std::fs::read_to_string(dir.path().join("server.log")).unwrap_or_default();
    assert!(!log.contains("locked"), "{log}");
    runtime().block_on(async {
        let app = fixture::open(dir.path()).await;
        let rows = submission::Entity::find().all(&app.db).await.unwrap();
        assert_eq!(rows.len(), 300);
        let users = fixture::usernames(&app).await;
        let mut attempts: BTreeMap<String, Vec<i32>> = BTreeMap::new();
        for row in &rows {
            let name = users[&row.student_id].clone();
            attempts.entry(name.clone()).or_default().push(row.attempt);
            let (sha256, _) = app.uploads.digest(&row.stored_path).await.unwrap().unwrap();
            assert_eq!(sha256, row.sha256);
            assert!(sent_by_student[&name].contains(&row.sha256));
        }
        for (name, mut list) in attempts {
            list.sort();
            assert_eq!(list, vec![1, 2], "{name}");
        }
        // Every receipt is in the evidence log, at distinct, gapless positions.
        let logged = handin::models::log::entries(&app.db).await.unwrap();
        let positions: Vec<i64> = logged.iter().map(|e| e.idx).collect();
        assert_eq!(positions, (0..300).collect::<Vec<i64>>());
        let receipts: std::collections::BTreeSet<i32> =
            logged.iter().filter_map(|e| e.submission_id).collect();
        assert_eq!(receipts, rows.iter().map(|r| r.id).collect());
        let checked = handin::services::verify::verify_log(&app).await.unwrap();
        assert_eq!(checked.problems, Vec::<String>::new());
        assert_eq!(checked.checkpoints, 300);
    });
}

#[test]
fn a_crash_mid_upload_leaves_complete_submissions_or_none() {
    let dir = crate::database::TestDir::new();
    let students = runtime().block_on(prepare(dir.path(), 6));
    let server = Server::start(Path::new(BINARY), dir.path());
    // Three earlier submissions, complete.
    let mut earlier = BTreeMap::new();
    for (name, token) in &students[..3] {
        let sent = bundle(name, 0, 1000);
        let reply = server::upload(server.addr, token, "RUSH1/assignments/rush", &sent).unwrap();
        assert_eq!(reply.status, 201);
        earlier.insert(name.clone(), sha256_hex(&sent));
    }
    // Three uploads caught halfway: headers and half the body sent.
    let big = bundle("slow", 1, 4 * 1024 * 1024);
    let mut open_uploads = Vec::new();
    for (_, token) in &students[3..] {
        open_uploads.push(half_sent(server.addr, token, &big));
    }
    let incoming = dir.path().join("uploads/incoming");
    let started = std::time::Instant::now();
    while server::files_under(&incoming) < 3 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the uploads never reached the disk"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // The command line, used beside the running server, leaves uploads in flight alone.
    let token = std::process::Command::new(BINARY)
        .args(["token", "s0000"])
        .env("ROCKET_DATABASE", crate::database::for_dir(dir.path()))
        .env("ROCKET_UPLOADS_DIR", dir.path().join("uploads"))
        .output()
        .unwrap();
    assert!(
        token.status.success(),
        "{}",
        String::from_utf8_lossy(&token.stderr)
    );
    assert_eq!(
        server::files_under(&incoming),
        3,
        "the CLI removed an upload in flight"
    );
    server.kill();
    drop(open_uploads);

    // It starts cleanly, and leaves nothing half-done.
    let server = Server::start(Path::new(BINARY), dir.path());
    assert_eq!(
        server::files_under(&incoming),
        0,
        "partial temp files are gone"
    );
    let bundles: Vec<String> = std::fs::read_dir(dir.path().join("uploads/bundles"))
        .unwrap()
        .map(|e| format!("bundles/{}", e.unwrap().file_name().to_string_lossy()))
        .collect();
    for (name, token) in &students[..3] {
        let reply = server::request(
            server.addr,
            "GET",
            "/api/v1/assignments",
            &[("Authorization", format!("Bearer {token}"))],
            b"",
        )
        .unwrap();
        let list: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
        assert_eq!(
            list[0]["status"], "on_time",
            "{name}'s earlier submission is intact"
        );
    }
    drop(server);
    runtime().block_on(async {
        let app = fixture::open(dir.path()).await;
        let rows = submission::Entity::find().all(&app.db).await.unwrap();
        assert_eq!(rows.len(), 3, "no row for an upload that never finished");
        let mut stored: Vec<String> = rows.iter().map(|r| r.stored_path.clone()).collect();
        stored.sort();
        let mut on_disk = bundles.clone();
        on_disk.sort();
        assert_eq!(
            stored, on_disk,
            "no row without its file, no file without its row"
        );
        // In the database, in storage and in the evidence log, or nowhere.
        let logged = handin::models::log::entries(&app.db).await.unwrap();
        let mut receipts: Vec<i32> = logged.iter().filter_map(|e| e.submission_id).collect();
        receipts.sort();
        let mut ids: Vec<i32> = rows.iter().map(|r| r.id).collect();
        ids.sort();
        assert_eq!(receipts, ids, "one log entry for each submission, no more");
        for row in rows {
            assert!(earlier.values().any(|sha| *sha == row.sha256));
        }
    });
    server::assert_verified::<&str, &str>(Path::new(BINARY), dir.path(), &[]);
}
