//! Receipts that prove themselves: signed, logged, checked by handin's own
//! command line and by Python's `cryptography` (code nobody here wrote);
//! a database edited behind handin's back is named by `handin verify`, the
//! old receipt still checks, and a monitor sees a rebuilt log.

use std::path::Path;
use std::process::Command;

use handin::evidence::merkle::Reader;
use handin::evidence::{b64, sha256};
use handin::models::{log, submission};
use handin::services::evidence::{Watched, check_progress, check_receipt};
use handin::services::verify::verify_log;
use rocket::http::Status;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};
use serde_json::Value;

use crate::support::*;

const BINARY: &str = env!("CARGO_BIN_EXE_handin");

async fn get_json(t: &TestApp, path: &str) -> Value {
    let response = t.client.get(path).dispatch().await;
    assert_eq!(response.status(), Status::Ok, "{path}");
    serde_json::from_str(&response.into_string().await.unwrap()).unwrap()
}

async fn get_text(t: &TestApp, path: &str) -> String {
    let response = t.client.get(path).dispatch().await;
    assert_eq!(response.status(), Status::Ok, "{path}");
    response.into_string().await.unwrap()
}

/// Alice hands in the coursework and downloads her signed receipt file.
async fn alices_receipt(t: &TestApp, note: &str) -> (i64, Value, Vec<u8>) {
    let id = t.hand_in("alice", "coursework", note).await;
    t.login("alice").await;
    let response = t
        .client
        .get(format!("/submissions/{id}/receipt.json"))
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::Ok);
    let disposition = response
        .headers()
        .get_one("Content-Disposition")
        .unwrap()
        .to_string();
    assert!(
        disposition.contains("receipt-COMP6248-coursework-"),
        "{disposition}"
    );
    let file = serde_json::from_str(&response.into_string().await.unwrap()).unwrap();
    (id, file, coursework_zip(note))
}

/// The monitor's check, as `handin log monitor` runs it over HTTP.
async fn monitor(t: &TestApp, last: Option<&Watched>) -> Result<Watched, String> {
    let note = get_text(t, "/log/checkpoint").await;
    let keys = get_json(t, "/.well-known/jwks.json").await;
    let size: u64 = note.lines().nth(1).unwrap().parse().unwrap();
    let proof = match last {
        Some(last) if last.size < size => {
            Some(get_json(t, &format!("/log/consistency?old={}&new={size}", last.size)).await)
        }
        _ => None,
    };
    check_progress(last, &note, (&keys, None), proof.as_ref())
}

#[rocket::async_test]
async fn a_receipt_is_signed_logged_and_checks_with_the_published_keys_alone() {
    let t = TestApp::new().await;
    let (id, file, bundle) = alices_receipt(&t, "first").await;
    let jwks = get_json(&t, "/.well-known/jwks.json").await;
    let key = &jwks["keys"][0];
    assert_eq!(
        (
            key["kty"].as_str(),
            key["crv"].as_str(),
            key["alg"].as_str()
        ),
        (Some("OKP"), Some("Ed25519"), Some("EdDSA"))
    );
    assert!(key["valid_from"].is_string() && key["valid_until"].is_null());

    let payload = &file["payload"];
    assert_eq!(payload["submission_id"], id);
    assert_eq!(payload["sha256"], sha256_hex(&bundle));
    assert_eq!(payload["received_at"], "2020-05-29T11:00:00.000Z");
    assert_eq!(payload["deadline"], "2020-05-29T15:00:00.000Z");
    assert_eq!(payload["status"], "on_time");
    assert_eq!(payload["log_index"], 0);
    assert_eq!(payload["kid"], key["kid"]);
    assert_eq!(file["log"]["tree_size"], 1);

    let found = check_receipt(&file, &jwks, Some(&sha256_hex(&bundle)));
    assert!(found.failed.is_empty(), "{:?}", found.failed);
    assert_eq!(found.proved.len(), 3, "{:?}", found.proved);

    // Another bundle, a changed receipt, another log's checkpoint: each named.
    let other = check_receipt(&file, &jwks, Some(&sha256_hex(b"not it")));
    assert!(
        other.failed[0].starts_with("The bundle given is not the one handed in"),
        "{:?}",
        other.failed
    );
    let mut changed = file.clone();
    let jws = file["jws"].as_str().unwrap();
    let parts: Vec<&str> = jws.split('.').collect();
    let later = payload
        .to_string()
        .replace("11:00:00.000Z", "10:00:00.000Z");
    changed["jws"] = Value::String(format!(
        "{}.{}.{}",
        parts[0],
        handin::evidence::b64url(later.as_bytes()),
        parts[2]
    ));
    let refused = check_receipt(&changed, &jwks, None);
    assert!(
        refused.failed[0].contains("does not match"),
        "{:?}",
        refused.failed
    );
    let mut moved = file.clone();
    moved["log"]["index"] = Value::from(5);
    assert!(!check_receipt(&moved, &jwks, None).failed.is_empty());

    // Nobody else gets it: not bob, not by id.
    t.login("bob").await;
    let status = t
        .client
        .get(format!("/submissions/{id}/receipt.json"))
        .dispatch()
        .await
        .status();
    assert_eq!(status, Status::NotFound);
}

#[rocket::async_test]
async fn the_command_line_and_python_s_cryptography_check_a_saved_receipt() {
    let t = TestApp::new().await;
    t.hand_in("bob", "coursework", "bob's").await;
    let (_, file, bundle) = alices_receipt(&t, "mine").await;
    let folder = t.dir.path();
    std::fs::write(folder.join("receipt.json"), file.to_string()).unwrap();
    std::fs::write(folder.join("bundle.zip"), &bundle).unwrap();
    let jwks = get_json(&t, "/.well-known/jwks.json").await;
    std::fs::write(folder.join("jwks.json"), jwks.to_string()).unwrap();

    let checked = Command::new(BINARY)
        .args(["receipt", "verify"])
        .arg(folder.join("receipt.json"))
        .arg("--bundle")
        .arg(folder.join("bundle.zip"))
        .arg("--jwks")
        .arg(folder.join("jwks.json"))
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&checked.stdout);
    assert!(
        checked.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&checked.stderr)
    );
    assert!(said.contains("PROVED handin's key"), "{said}");
    assert!(
        said.contains(
            "of log handin.localhost/log, whose signed checkpoint of 2 entries includes it"
        ),
        "{said}"
    );
    assert!(said.ends_with("The receipt is genuine.\n"), "{said}");
    std::fs::write(folder.join("other.zip"), b"another file").unwrap();
    let wrong = Command::new(BINARY)
        .args(["receipt", "verify"])
        .arg(folder.join("receipt.json"))
        .args(["--bundle"])
        .arg(folder.join("other.zip"))
        .arg("--jwks")
        .arg(folder.join("jwks.json"))
        .output()
        .unwrap();
    assert!(!wrong.status.success());
    assert!(
        String::from_utf8_lossy(&wrong.stdout)
            .contains("FAILED The bundle given is not the one handed in")
    );

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/evidence/check.py");
    let python = Command::new("python3")
        .arg(&script)
        .arg(folder.join("receipt.json"))
        .arg(folder.join("jwks.json"))
        .output()
        .expect("python3 with cryptography (pip install cryptography)");
    let said = String::from_utf8_lossy(&python.stdout);
    assert!(
        python.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&python.stderr)
    );
    assert!(said.contains("inclusion: entry 1 of 2\nok"), "{said}");
    // And Python refuses a receipt whose signed bytes were changed.
    let mut changed = file.clone();
    let jws = file["jws"].as_str().unwrap().to_string();
    let flipped = if jws.ends_with('A') { "B" } else { "A" };
    changed["jws"] = Value::String(format!("{}{flipped}", &jws[..jws.len() - 1]));
    std::fs::write(folder.join("changed.json"), changed.to_string()).unwrap();
    let refused = Command::new("python3")
        .arg(&script)
        .arg(folder.join("changed.json"))
        .arg(folder.join("jwks.json"))
        .output()
        .unwrap();
    assert!(
        !refused.status.success(),
        "{}",
        String::from_utf8_lossy(&refused.stdout)
    );
}

#[rocket::async_test]
async fn deadline_moves_and_extensions_are_logged_and_uploads_at_once_get_gapless_positions() {
    let t = TestApp::new().await;
    let admin = t.token("admin").await;
    let path = "/api/v1/courses/COMP6248/assignments/coursework/extensions/bob";
    let body = serde_json::json!({"until": "2020-06-02T16:00", "reason": "illness"});
    let (status, _) = t
        .api_json(&admin, rocket::http::Method::Put, path, Some(body))
        .await;
    assert_eq!(status, Status::Ok);
    let (status, _) = t
        .api_json(&admin, rocket::http::Method::Delete, path, None)
        .await;
    assert_eq!(status, Status::NoContent);
    let uploads = ["alice", "bob"]
        .iter()
        .flat_map(|who| (0..3).map(move |i| (*who, i)));
    futures::future::join_all(uploads.map(|(who, i)| {
        let t = &t;
        async move { t.hand_in(who, "coursework", &format!("{who} {i}")).await }
    }))
    .await;
    let entries = log::entries(&t.app().db).await.unwrap();
    let kinds: Vec<&str> = entries.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds[..2], ["extension_granted", "extension_revoked"]);
    assert_eq!(kinds[2..], ["receipt"; 6]);
    assert_eq!(
        entries.iter().map(|e| e.idx).collect::<Vec<_>>(),
        (0..8).collect::<Vec<_>>()
    );
    let granted = handin::evidence::jws::payload_of(&entries[0].statement);
    assert_eq!(granted["student"], "bob");
    assert_eq!(granted["until"], "2020-06-02T15:00:00+00:00");
    let report = verify_log(t.app()).await.unwrap();
    assert_eq!((report.entries, report.checkpoints), (8, 8));
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    // Proofs are refused for trees the log never had.
    let response = t
        .client
        .get("/log/inclusion?index=3&size=9")
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::UnprocessableEntity);
    let proof = get_json(&t, "/log/inclusion?index=3&size=8").await;
    assert_eq!(proof["tree_size"], 8);
}

#[rocket::async_test]
async fn a_rewritten_database_is_named_the_old_receipt_still_checks_and_a_monitor_sees_a_rebuilt_log()
 {
    let t = TestApp::new().await;
    let (id, file, bundle) = alices_receipt(&t, "on time").await;
    t.hand_in("bob", "coursework", "bob's").await;
    let first = monitor(&t, None).await.unwrap();
    assert_eq!(first.size, 2);
    t.hand_in("bob", "coursework", "bob again").await;
    let second = monitor(&t, Some(&first)).await.unwrap();
    assert_eq!(second.size, 3);

    // Someone with the database moves alice's attempt an hour later.
    let db = &t.app().db;
    let row = submission::Entity::find_by_id(id as i32)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    let mut active: submission::ActiveModel = row.into();
    active.received_at = Set(utc("2020-05-29T12:00:00Z"));
    active.update(db).await.unwrap();
    let report = verify_log(t.app()).await.unwrap();
    assert_eq!(
        report.problems,
        [format!(
            "log entry 0 (receipt): submission {id}: received_at in the database is 2020-05-29T12:00:00.000Z \
             but its signed receipt says 2020-05-29T11:00:00.000Z"
        )]
    );
    // Her receipt still checks against the checkpoint it was issued with.
    let jwks = get_json(&t, "/.well-known/jwks.json").await;
    let found = check_receipt(&file, &jwks, Some(&sha256_hex(&bundle)));
    assert!(found.failed.is_empty(), "{:?}", found.failed);

    // They go further: re-sign her receipt with the new time (they have the
    // key too) and rebuild the whole tree and every checkpoint to match.
    let notary = &t.app().notary;
    let mut entries = log::entries(db).await.unwrap();
    let mut payload = handin::evidence::jws::payload_of(&entries[0].statement);
    payload["received_at"] = Value::from("2020-05-29T12:00:00.000Z");
    entries[0].statement = notary.signer.jws(&payload);
    let mut tree = Reader::All(Vec::new());
    for (i, entry) in entries.iter().enumerate() {
        let leaf = sha256(entry.statement.as_bytes());
        tree.append(i as u64, &leaf).unwrap();
        let mut row: log::entry::ActiveModel = entry.clone().into();
        row.statement = Set(entry.statement.clone());
        row.leaf = Set(b64(&leaf));
        row.update(db).await.unwrap();
    }
    let Reader::All(hashes) = &tree else {
        unreachable!()
    };
    for (i, hash) in hashes.iter().enumerate() {
        let row = log::stored_hash::ActiveModel {
            idx: Set(i as i64),
            hash: Set(b64(&hash.0)),
        };
        row.update(db).await.unwrap();
    }
    for size in 1..=3u64 {
        let root = handin::evidence::merkle::tree_hash(size, &tree).unwrap();
        let checkpoint = handin::evidence::note::Checkpoint {
            origin: notary.origin.clone(),
            size,
            root: root.0,
        };
        let row = log::checkpoint::ActiveModel {
            size: Set(size as i64),
            root: Set(b64(&root.0)),
            note: Set(checkpoint.signed(&notary.signer)),
            ..Default::default()
        };
        row.update(db).await.unwrap();
    }
    assert!(
        verify_log(t.app()).await.unwrap().problems.is_empty(),
        "a perfect forgery, as far as the database goes"
    );

    // But the monitor kept the old checkpoint of 3 entries.
    let alarm = monitor(&t, Some(&second)).await.unwrap_err();
    assert!(alarm.contains("the log was rewritten"), "{alarm}");
    t.hand_in("bob", "coursework", "and again").await;
    let alarm = monitor(&t, Some(&second)).await.unwrap_err();
    assert!(alarm.contains("does not extend the tree of 3"), "{alarm}");
    // And alice's receipt is not in the forged log's newest tree.
    let newest = get_json(&t, "/log/inclusion?index=0&size=4").await;
    let mut against_newest = file.clone();
    against_newest["log"]["inclusion_proof"] = newest["proof"].clone();
    against_newest["log"]["checkpoint"] = Value::from(get_text(&t, "/log/checkpoint").await);
    let refused = check_receipt(&against_newest, &jwks, None);
    assert!(
        refused.failed[0].contains("is not in that log"),
        "{:?}",
        refused.failed
    );
}

#[rocket::async_test]
async fn a_rotated_key_keeps_old_receipts_checking_and_a_missing_or_foreign_key_is_refused() {
    let t = TestApp::new().await;
    let (_, file, bundle) = alices_receipt(&t, "before the rotation").await;
    let config = t.app().config.clone();
    let rotated = Command::new(BINARY)
        .args(["key", "rotate"])
        .env("ROCKET_DATABASE", &config.database)
        .env("ROCKET_UPLOADS_DIR", &config.uploads_dir)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&rotated.stdout);
    assert!(
        rotated.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&rotated.stderr)
    );
    assert!(said.contains("Restart every instance"), "{said}");
    let jwks = get_json(&t, "/.well-known/jwks.json").await;
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    assert!(keys[0]["valid_until"].is_string() && keys[1]["valid_until"].is_null());
    let found = check_receipt(&file, &jwks, Some(&sha256_hex(&bundle)));
    assert!(
        found.failed.is_empty(),
        "the old key's receipt still checks: {:?}",
        found.failed
    );

    // A receipt dated after its key was retired proves nothing (a leaked key).
    let mut late = jwks.clone();
    late["keys"][0]["valid_until"] = Value::from("2020-05-29T10:00:00.000Z");
    let refused = check_receipt(&file, &late, None);
    assert!(
        refused.failed[0].contains("cannot have signed this"),
        "{:?}",
        refused.failed
    );

    // A key slipped into the database is named by verify.
    let foreign = handin::evidence::jws::Signer::from_seed(&[42; 32]);
    log::publish_key(&t.app().db, &foreign, utc("2020-05-29T12:00:00Z"))
        .await
        .unwrap();
    let problems = verify_log(t.app()).await.unwrap().problems;
    assert!(
        problems
            .iter()
            .any(|p| p.contains(&format!("published key {} is neither", foreign.kid()))),
        "{problems:?}"
    );

    // Without its key file, an installation that has signed refuses to start.
    std::fs::remove_file(config.signing_key_path()).unwrap();
    let Err(refused) = handin::open(config.clone(), std::sync::Arc::new(t.clock.clone())).await
    else {
        panic!("started without its signing key");
    };
    assert!(
        refused.contains("is missing, but receipts were signed with key"),
        "{refused}"
    );
}

#[test]
fn a_monitor_on_the_command_line_follows_the_log_through_a_key_rotation_and_raises_the_alarm_on_a_rewrite()
 {
    let dir = crate::database::TestDir::new();
    let token = rocket::tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(TestApp::open_for_the_binary(dir.path()));
    let hand_in = |server: &crate::server::Server, note: &str| {
        let bundle = zip_of(&[("notes.txt", note.as_bytes())]);
        let path = "COMP6248/assignments/open";
        let reply = crate::server::upload(server.addr, &token, path, &bundle).unwrap();
        assert_eq!(reply.status, 201);
    };
    let handin = |args: &[&str]| {
        let out = Command::new(BINARY)
            .args(args)
            .env("ROCKET_DATABASE", crate::database::for_dir(dir.path()))
            .env("ROCKET_UPLOADS_DIR", dir.path().join("uploads"))
            .output()
            .unwrap();
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), said)
    };
    let state = dir.path().join("monitor.json");
    let state = state.to_str().unwrap();
    let server = crate::server::Server::start(Path::new(BINARY), dir.path());
    let base = format!("http://{}", server.addr);
    hand_in(&server, "one");
    let (ok, said) = handin(&["log", "monitor", &base, "--state", state]);
    assert!(ok, "{said}");
    let first = "First look at handin.localhost/log: 1 entry; its key is handin.localhost/log+";
    assert!(said.contains(first), "{said}");
    hand_in(&server, "two");
    let (ok, said) = handin(&["log", "monitor", &base, "--state", state]);
    let consistent = "2 entries, consistent with the 1 entry seen before";
    assert!(ok && said.contains(consistent), "{said}");

    // The key is rotated and the server restarted: its checkpoints are now
    // signed by a key the monitor does not know, until it is given it.
    drop(server);
    let (ok, said) = handin(&["key", "rotate"]);
    assert!(ok, "{said}");
    let (_, shown) = handin(&["key", "show"]);
    let new_key = shown
        .lines()
        .find_map(|line| line.strip_prefix("note key:"))
        .unwrap()
        .trim()
        .to_string();
    let server = crate::server::Server::start(Path::new(BINARY), dir.path());
    let base = format!("http://{}", server.addr);
    hand_in(&server, "three");
    let (ok, said) = handin(&["log", "monitor", &base, "--state", state]);
    assert!(!ok && said.contains("ALERT"), "{said}");
    let (ok, said) = handin(&[
        "log",
        "monitor",
        &base,
        "--state",
        state,
        "--new-key",
        &new_key,
    ]);
    assert!(
        ok && said.contains("3 entries, consistent with the 2 entries seen before"),
        "{said}"
    );

    // What the monitor kept says the tree of 3 had another root: a rewrite.
    let mut kept: Value = serde_json::from_str(&std::fs::read_to_string(state).unwrap()).unwrap();
    assert_eq!(kept["verifier_key"], new_key.as_str());
    kept["root"] = Value::from(b64(&[7; 32]));
    std::fs::write(state, kept.to_string()).unwrap();
    let (ok, said) = handin(&["log", "monitor", &base, "--state", state]);
    assert!(!ok, "{said}");
    let alarm = "ALERT: the log was rewritten: the tree of 3 entries had another root before";
    assert!(said.contains(alarm), "{said}");
}
