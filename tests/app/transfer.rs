//! `handin transfer`: an SQLite + folder installation moved into another
//! database (PostgreSQL when the suite runs on it) and a bucket, checked,
//! and refusing to run into a target that is not empty.

use std::path::Path;
use std::process::Command;

use chrono::Utc;
use handin::models::{api_token, requests, submission, user};
use handin::storage::Shelf;
use sea_orm::{EntityTrait, PaginatorTrait};

use crate::database::TestDir;
use crate::rush::{bundle, runtime};
use crate::server::{self, Server};
use crate::support::sha256_hex;
use crate::{fixture, garage};

const BINARY: &str = env!("CARGO_BIN_EXE_handin");

/// Runs `handin transfer` on the source folder's SQLite file and uploads.
fn transfer(source: &Path, to: &str, storage: &str) -> std::process::Output {
    // The bucket's endpoint and keys, but not `storage`: the source is the folder.
    let bucket_settings: Vec<(String, String)> = garage::environment_for(storage)
        .into_iter()
        .filter(|(key, _)| key != "ROCKET_STORAGE")
        .collect();
    Command::new(BINARY)
        .args(["transfer", "--to", to, "--storage", storage])
        .env("ROCKET_DATABASE", source.join("handin.sqlite"))
        .env("ROCKET_UPLOADS_DIR", source.join("uploads"))
        .envs(bucket_settings)
        .output()
        .unwrap()
}

#[test]
fn an_installation_moves_into_another_database_and_a_bucket_and_nothing_is_lost() {
    // The source: always SQLite and a folder, as `cargo run` makes them.
    let source = TestDir::new();
    let sqlite = source.path().join("handin.sqlite").display().to_string();
    let tokens = runtime().block_on(async {
        let app = fixture::open_with(source.path(), |c| c.database = sqlite.clone()).await;
        let course = fixture::course(&app, "RUSH1", "rush", "Rush", 60, "").await;
        let mut tokens = Vec::new();
        for name in ["s1", "s2", "s3"] {
            let id = fixture::user(&app, name, name, "student", course.id, "!").await;
            tokens.push(api_token::issue(&app.db, id, Utc::now(), 30).await.unwrap());
        }
        // An extension request with evidence.
        let evidence = app.uploads.receive(&b"%PDF note"[..], 100).await.unwrap();
        let kept = app.uploads.keep(evidence, Shelf::Evidence).await.unwrap();
        let (_, assignment) = handin::models::assignment::find_by_codes(&app.db, "RUSH1", "rush")
            .await
            .unwrap()
            .unwrap();
        let s1 = user::find_by_username(&app.db, "s1")
            .await
            .unwrap()
            .unwrap();
        let ask = requests::Ask {
            requested_until: Utc::now() + chrono::Duration::days(3),
            reason: "ill".into(),
            evidence: Some((kept, "note.pdf".into())),
        };
        requests::ask(&app.db, course.id, assignment.id, s1.id, ask, Utc::now())
            .await
            .unwrap();
        tokens
    });
    let settings = [("ROCKET_DATABASE", sqlite.as_str())];
    let server = Server::start_with(Path::new(BINARY), source.path(), &settings);
    for (i, token) in tokens.iter().enumerate() {
        for attempt in 0..2 {
            let sent = bundle(&format!("s{i}"), attempt, 50_000);
            let reply =
                server::upload(server.addr, token, "RUSH1/assignments/rush", &sent).unwrap();
            assert_eq!(reply.status, 201);
        }
    }
    drop(server);

    // Moved.
    let target = TestDir::new();
    let to = crate::database::for_dir(target.path());
    let storage = garage::fresh_storage();
    let moved = transfer(source.path(), &to, &storage);
    let said = String::from_utf8_lossy(&moved.stdout).to_string();
    assert!(
        moved.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&moved.stderr)
    );
    assert!(said.contains("submissions: 6 rows"), "{said}");
    assert!(said.contains("7 files"), "{said}");
    assert!(said.contains("log_entries: 6 rows"), "{said}");
    // The signing key goes with it, by hand (it is never in the database).
    std::fs::copy(
        source.path().join("handin-signing.key"),
        target.path().join("handin-signing.key"),
    )
    .unwrap();

    // Everything is there, every file with its hash.
    let (source_rows, target_rows) = runtime().block_on(async {
        let from = fixture::open_with(source.path(), |c| c.database = sqlite.clone()).await;
        let to = fixture::open_with(target.path(), |c| garage::configure(c, &storage)).await;
        let source_rows = submission::Entity::find().all(&from.db).await.unwrap();
        let target_rows = submission::Entity::find().all(&to.db).await.unwrap();
        for row in &target_rows {
            let (sha256, size) = to.uploads.digest(&row.stored_path).await.unwrap().unwrap();
            assert_eq!((sha256, size as i64), (row.sha256.clone(), row.size));
        }
        let request = requests::Entity::find().one(&to.db).await.unwrap().unwrap();
        let evidence = to.uploads.digest(&request.evidence_path.unwrap()).await;
        assert_eq!(
            evidence.unwrap().unwrap().0,
            sha256_hex(b"%PDF note"),
            "the evidence moved too"
        );
        assert_eq!(
            user::Entity::find().count(&to.db).await.unwrap(),
            user::Entity::find().count(&from.db).await.unwrap()
        );
        (source_rows, target_rows)
    });
    assert_eq!(source_rows, target_rows, "every row, ids included");

    // The new installation serves, verifies, and numbers new rows after the old.
    let mut environment = garage::environment_for(&storage);
    environment.push(("ROCKET_DATABASE".into(), to.clone()));
    let server = Server::start_with(Path::new(BINARY), target.path(), &environment);
    let sent = bundle("s0", 9, 1_000);
    let reply = server::upload(server.addr, &tokens[0], "RUSH1/assignments/rush", &sent).unwrap();
    let receipt = reply.receipt();
    assert_eq!(receipt["attempt"], 3);
    assert_eq!(receipt["id"], 7);
    drop(server);
    server::assert_verified(Path::new(BINARY), target.path(), &environment);

    // A second transfer into the same target is refused, and changes nothing.
    let again = transfer(source.path(), &to, &garage::fresh_storage());
    assert!(!again.status.success());
    let said = String::from_utf8_lossy(&again.stderr);
    assert!(said.contains("the target database is not empty"), "{said}");
    let count = runtime().block_on(async {
        let to = fixture::open_with(target.path(), |c| garage::configure(c, &storage)).await;
        submission::Entity::find().count(&to.db).await.unwrap()
    });
    assert_eq!(count, 7);
}
