//! Several instances on one database and one uploads folder: the balancer's
//! health checks, clean-up that leaves a running instance's uploads alone,
//! racing attempts, and two real server binaries sharing a rush while one
//! of them is killed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use handin::models::{instance, submission};
use rocket::http::Status;
use sea_orm::EntityTrait;

use crate::database::TestDir;
use crate::fixture;
use crate::rush::{bundle, half_sent, prepare, runtime};
use crate::server::{self, Server};
use crate::support::*;

const BINARY: &str = env!("CARGO_BIN_EXE_handin");

#[rocket::async_test]
async fn a_balancer_hears_alive_and_ready_or_what_is_wrong() {
    let t = TestApp::new().await;
    let reply = t.client.get("/healthz").dispatch().await;
    assert_eq!(reply.status(), Status::Ok);
    assert_eq!(reply.into_string().await.unwrap(), r#"{"status":"alive"}"#);
    let reply = t.client.get("/readyz").dispatch().await;
    assert_eq!(reply.status(), Status::Ok);
    assert_eq!(reply.into_string().await.unwrap(), r#"{"status":"ready"}"#);

    // The storage goes away (a network file system unmounted).
    let bundles = t.dir.path().join("uploads/bundles");
    let moved = t.dir.path().join("uploads/bundles-away");
    std::fs::rename(&bundles, &moved).unwrap();
    // The answer is kept for a second, however often anyone asks.
    assert_eq!(
        t.client.get("/readyz").dispatch().await.status(),
        Status::Ok
    );
    rocket::tokio::time::sleep(Duration::from_millis(1100)).await;
    let reply = t.client.get("/readyz").dispatch().await;
    assert_eq!(reply.status(), Status::ServiceUnavailable);
    assert_eq!(
        reply.into_string().await.unwrap(),
        r#"{"status":"storage unavailable"}"#
    );
    assert_eq!(
        t.client.get("/healthz").dispatch().await.status(),
        Status::Ok,
        "alive, though not ready"
    );
    std::fs::rename(&moved, &bundles).unwrap();
    rocket::tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        t.client.get("/readyz").dispatch().await.status(),
        Status::Ok
    );
}

#[rocket::async_test]
async fn clean_up_leaves_a_running_instance_alone_and_sweeps_up_after_a_stopped_one() {
    let t = TestApp::new().await;
    let other = "00aa00aa00aa00aa";
    t.other_instance(other, 5).await;
    let uploads = t.dir.path().join("uploads");
    // The other instance is receiving a bundle, and has just kept another
    // whose row it is about to write.
    std::fs::create_dir_all(uploads.join("incoming").join(other)).unwrap();
    std::fs::write(uploads.join("incoming").join(other).join("x.part"), b"half").unwrap();
    std::fs::write(uploads.join("bundles/young.zip"), b"row on its way").unwrap();

    let t = TestApp::start(t.stop().await, Options::default()).await;
    assert!(
        uploads.join("incoming").join(other).join("x.part").exists(),
        "a running instance's upload in flight is not touched"
    );
    assert!(
        uploads.join("bundles/young.zip").exists(),
        "a young file may still get its row while another instance runs"
    );

    // The other instance stops beating.
    t.other_instance(other, 120).await;
    let t = TestApp::start(t.stop().await, Options::default()).await;
    assert!(!uploads.join("incoming").join(other).exists());
    assert!(uploads.join("orphans/bundles-young.zip").exists());
    let left = instance::Entity::find().all(&t.app().db).await.unwrap();
    assert_eq!(left.len(), 1, "only the running instance is listed");
    assert_eq!(left[0].id, t.app().instance);
}

#[rocket::async_test]
async fn racing_uploads_from_one_student_get_distinct_gapless_attempts() {
    let t = TestApp::new().await;
    t.login("alice").await;
    let csrf = t.csrf().await;
    let sent: Vec<Vec<u8>> = (0..12)
        .map(|i| coursework_zip(&format!("race {i}")))
        .collect();
    let uploads = sent
        .iter()
        .map(|zip| t.upload_form("coursework", Some(&csrf), "b.zip", zip));
    for reply in futures::future::join_all(uploads).await {
        assert_eq!(reply.status(), Status::SeeOther);
    }
    let rows = submission::Entity::find().all(&t.app().db).await.unwrap();
    let attempts: BTreeSet<i32> = rows.iter().map(|row| row.attempt).collect();
    assert_eq!(attempts, (1..=12).collect());
    let hashes: BTreeSet<String> = rows.iter().map(|row| row.sha256.clone()).collect();
    let expected: BTreeSet<String> = sent.iter().map(|zip| sha256_hex(zip)).collect();
    assert_eq!(hashes, expected);
}

/// What one upload thread ended with: the student, the SHA-256 it sent, and
/// the status of the answer that counted.
type Outcome = (String, String, u16);

#[test]
fn two_instances_share_a_rush_on_a_folder_and_one_killed_midway_loses_nothing() {
    share_a_rush(None);
}

#[test]
fn two_instances_share_a_rush_on_a_bucket_and_one_killed_midway_loses_nothing() {
    share_a_rush(Some(crate::garage::fresh_storage()));
}

/// Uploads in `incoming/`: files (partial or whole), or finished objects
/// (S3 lists a multipart upload only once it is complete).
fn in_flight(dir: &Path, storage: &Option<String>) -> usize {
    match storage {
        None => server::files_under(&dir.join("uploads/incoming")),
        Some(storage) => runtime()
            .block_on(crate::bucket::objects(storage))
            .iter()
            .filter(|key| key.starts_with("incoming/"))
            .count(),
    }
}

/// Two server binaries on one database and one store (a folder, or the
/// bucket `storage`) share a rush of uploads; one is killed with SIGKILL
/// in the middle. Every 201 has its row and its bytes, attempts stay
/// gapless, the survivor keeps serving, and `handin verify` is clean.
fn share_a_rush(storage: Option<String>) {
    let dir = TestDir::new();
    let students = runtime().block_on(prepare(dir.path(), 40));
    let environment: Vec<(String, String)> = storage
        .as_deref()
        .map(crate::garage::environment_for)
        .unwrap_or_default();
    let first = Server::start_with(Path::new(BINARY), dir.path(), &environment);
    let second = Server::start_with(Path::new(BINARY), dir.path(), &environment);
    let (survivor, doomed) = (first.addr, second.addr);

    // Uploads caught halfway on the instance about to die.
    let big = bundle("slow", 1, 2 * 1024 * 1024);
    let stalled: Vec<_> = students[..2]
        .iter()
        .map(|(_, token)| half_sent(doomed, token, &big))
        .collect();
    if storage.is_none() {
        let started = std::time::Instant::now();
        while in_flight(dir.path(), &storage) < 2 {
            assert!(started.elapsed() < Duration::from_secs(30));
            std::thread::sleep(Duration::from_millis(20));
        }
    } else {
        // A multipart upload is not listed until it completes: give the
        // halves a moment to reach the instance.
        std::thread::sleep(Duration::from_millis(300));
    }

    // Three uploads per student, alternating between the instances as a
    // balancer would. An upload the dying instance does not answer is sent
    // again to the survivor, as the balancer (or the student) would.
    let (done, results) = mpsc::channel::<Outcome>();
    let threads: Vec<_> = students
        .iter()
        .flat_map(|(name, token)| (0..3).map(move |i| (name.clone(), token.clone(), i)))
        .map(|(name, token, i)| {
            let done = done.clone();
            std::thread::spawn(move || {
                let sent = bundle(&name, i, 100_000);
                let target = if i % 2 == 0 { survivor } else { doomed };
                let path = "RUSH1/assignments/rush";
                let status = match server::upload(target, &token, path, &sent) {
                    Ok(reply) if reply.status == 201 => 201,
                    _ => server::upload(survivor, &token, path, &sent)
                        .map(|reply| reply.status)
                        .unwrap_or(0),
                };
                done.send((name, sha256_hex(&sent), status)).unwrap();
            })
        })
        .collect();
    drop(done);
    let mut outcomes = Vec::new();
    let mut second = Some(second);
    for outcome in results.iter() {
        outcomes.push(outcome);
        if outcomes.len() == 30
            && let Some(doomed) = second.take()
        {
            doomed.kill(); // SIGKILL, mid-rush.
        }
    }
    for thread in threads {
        thread.join().unwrap();
    }
    drop(stalled);
    assert_eq!(outcomes.len(), 120);
    for (name, _, status) in &outcomes {
        assert_eq!(*status, 201, "{name}: the survivor kept serving");
    }

    // A new instance on this machine cleans up after the killed one at once.
    let third = Server::start_with(Path::new(BINARY), dir.path(), &environment);
    let started = std::time::Instant::now();
    // (The survivor deletes its own finished `incoming/` objects just after
    // answering, in the background.)
    while in_flight(dir.path(), &storage) > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "partial uploads were left behind"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(third);
    drop(first);

    runtime().block_on(async {
        let app = fixture::open_with(dir.path(), |config| {
            if let Some(storage) = &storage {
                crate::garage::configure(config, storage);
            }
        })
        .await;
        let rows = submission::Entity::find().all(&app.db).await.unwrap();
        let users = fixture::usernames(&app).await;
        let mut attempts: BTreeMap<String, Vec<i32>> = BTreeMap::new();
        let mut kept: BTreeSet<(String, String)> = BTreeSet::new();
        for row in &rows {
            let name = users[&row.student_id].clone();
            attempts.entry(name.clone()).or_default().push(row.attempt);
            let (sha256, _) = app.uploads.digest(&row.stored_path).await.unwrap().unwrap();
            assert_eq!(sha256, row.sha256, "the object matches its row");
            kept.insert((name, row.sha256.clone()));
        }
        for (name, sha, _) in &outcomes {
            assert!(
                kept.contains(&(name.clone(), sha.clone())),
                "{name}: a 201 has its row"
            );
        }
        for (name, mut list) in attempts {
            list.sort();
            let gapless: Vec<i32> = (1..=list.len() as i32).collect();
            assert_eq!(list, gapless, "{name}'s attempts");
        }
    });
    server::assert_verified(Path::new(BINARY), dir.path(), &environment);
}

#[rocket::async_test]
async fn the_suite_runs_on_the_database_it_was_given() {
    let t = TestApp::new().await;
    let expected = match crate::database::postgres() {
        Some(_) => sea_orm::DatabaseBackend::Postgres,
        None => sea_orm::DatabaseBackend::Sqlite,
    };
    assert_eq!(t.app().db.get_database_backend(), expected);
}

#[test]
fn on_sigterm_an_upload_in_flight_finishes_and_then_the_instance_stops() {
    let dir = TestDir::new();
    let students = runtime().block_on(prepare(dir.path(), 1));
    let mut server = Server::start(Path::new(BINARY), dir.path());
    let token = &students[0].1;
    let sent = bundle("s0000", 0, 1024 * 1024);
    // Half the bundle is on its way when the deploy sends SIGTERM.
    let mut stream = half_sent(server.addr, token, &sent);
    let incoming = dir.path().join("uploads/incoming");
    let started = std::time::Instant::now();
    while server::files_under(&incoming) == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the upload never began"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = server.child.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        std::net::TcpStream::connect(server.addr).is_err(),
        "a stopping instance takes no new connection"
    );
    // The rest arrives: the student still gets a receipt.
    let (_, tail) = server::multipart_frame("slow.zip");
    use std::io::Write;
    stream.write_all(&sent[sent.len() / 2..]).unwrap();
    stream.write_all(&tail).unwrap();
    let reply = server::read_reply(stream).unwrap();
    let receipt = reply.receipt();
    assert_eq!(receipt["sha256"], sha256_hex(&sent));
    // Then it exits by itself, and has marked itself stopped.
    let started = std::time::Instant::now();
    while server.child.try_wait().unwrap().is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "it did not exit: {}",
            std::fs::read_to_string(dir.path().join("server.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    runtime().block_on(async {
        let app = fixture::open(dir.path()).await;
        assert_eq!(
            submission::Entity::find().all(&app.db).await.unwrap().len(),
            1
        );
        assert!(
            instance::Entity::find()
                .all(&app.db)
                .await
                .unwrap()
                .is_empty()
        );
    });
}

#[rocket::async_test]
async fn a_sweep_while_serving_never_takes_a_file_that_may_be_about_to_get_its_row() {
    let t = TestApp::new().await;
    let uploads = &t.app().uploads;
    // Kept a moment ago, its row not yet written (the upload is between
    // the two), and this the only instance running.
    let received = uploads.receive(&b"a bundle"[..], 100).await.unwrap();
    let kept = uploads
        .keep(received, handin::storage::Shelf::Bundles)
        .await
        .unwrap();
    let alive = handin::storage::Instances {
        running: [t.app().instance.clone()].into_iter().collect(),
        stopped: Default::default(),
    };
    let cleaned = uploads
        .clean_orphans(Default::default(), alive, false)
        .await
        .unwrap();
    assert!(cleaned.is_empty(), "{cleaned:?}");
    assert_eq!(uploads.digest(&kept).await.unwrap().unwrap().1, 8);
    // Nor does a sweep that does not list this instance among the living
    // (its heartbeat lapsed): its own uploads in flight stay.
    let in_flight = uploads.receive(&b"half"[..], 100).await.unwrap();
    let cleaned = uploads
        .clean_orphans(Default::default(), Default::default(), false)
        .await
        .unwrap();
    assert!(cleaned.is_empty(), "{cleaned:?}");
    drop(in_flight);
    // Nor the uploads of an instance that registered after the census was
    // taken (it is in neither list), while its folder is fresh.
    let newcomer = t.dir.path().join("uploads/incoming/feedfeedfeedfeed");
    std::fs::create_dir_all(&newcomer).unwrap();
    std::fs::write(newcomer.join("x.part"), b"arriving").unwrap();
    let cleaned = uploads
        .clean_orphans(Default::default(), Default::default(), false)
        .await
        .unwrap();
    assert!(cleaned.is_empty(), "{cleaned:?}");
    assert!(newcomer.join("x.part").exists());
}
