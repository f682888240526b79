//! Part 5: what signing and logging add. Each accepted upload signs its
//! receipt (Ed25519), appends it to the evidence log (the tree's stored
//! hashes, read and written) and signs a checkpoint, in its transaction.
//! Timed here as that work alone, beside a transaction that writes one
//! small row and commits as durably, and set against the rush just run.

use std::time::Instant;

use handin::models::{audit, log};
use handin::services::evidence;

use crate::Backend;

pub fn run(backend: &Backend, runtime: &rocket::tokio::runtime::Runtime, rush: (usize, f64)) {
    let (students, rush_seconds) = rush;
    runtime.block_on(async {
        let app = backend.open().await;
        let rounds = 300;
        let started = Instant::now();
        for _ in 0..rounds {
            let txn = handin::db::begin_write(&app.db).await.unwrap();
            let entry = audit::Entry {
                action: "bulk_download",
                details: "benchmark".into(),
                ..Default::default()
            };
            audit::record(&txn, chrono::Utc::now(), entry).await.unwrap();
            txn.commit().await.unwrap();
        }
        let plain = started.elapsed().as_secs_f64() / rounds as f64;
        let before = log::size(&app.db).await.unwrap();
        let started = Instant::now();
        for _ in 0..rounds {
            let txn = handin::db::begin_write(&app.db).await.unwrap();
            let facts = serde_json::json!({"course": "BENCH", "assignment": "big"});
            evidence::log_change(&txn, &app.notary, "deadline_moved", facts, chrono::Utc::now())
                .await
                .unwrap();
            txn.commit().await.unwrap();
        }
        let logged = started.elapsed().as_secs_f64() / rounds as f64;
        let added = (logged - plain).max(0.0);
        let entries = log::entries(&app.db).await.unwrap();
        let receipt = entries.iter().rev().find_map(|e| e.submission_id).unwrap();
        let included = log::receipt_of(&app.db, receipt).await.unwrap().unwrap();
        let file = serde_json::to_string_pretty(&evidence::receipt_file(&app, &included)).unwrap();
        println!(
            "log append (sign, tree, signed checkpoint) {:.2} ms vs a plain durable write {:.2} ms: \
             {:.2} ms added per upload, log of {} -> {} entries",
            logged * 1e3,
            plain * 1e3,
            added * 1e3,
            before,
            before + rounds as u64
        );
        println!(
            "for the {students}-student rush: {:.3} s of its {:.1} s ({:.1}%), as appends take turns; \
             a receipt file is {} bytes (its JWS {} bytes, proof of {} hashes)",
            added * students as f64,
            rush_seconds,
            added * students as f64 / rush_seconds * 100.0,
            file.len(),
            included.statement.len(),
            included.proof.len()
        );
        app.db.close().await.unwrap();
    });
}
