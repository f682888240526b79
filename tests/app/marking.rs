//! Markers: the table of everyone, filters, downloads, anonymous marking, verify.

use std::collections::BTreeMap;
use std::io::{Cursor, Read};

use base64::Engine;
use handin::models::{assignment, audit, extension, user};
use rocket::http::Status;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter,
};
use serde_json::Value;

use crate::support::*;

/// COMP6248 coursework with: alice on time, bob late, dave late but within
/// his extension, erin nothing at all.
async fn marked_course() -> TestApp {
    let t = TestApp::new().await;
    t.add_user("dave", user::Role::Student, Some("COMP6248"))
        .await;
    t.add_user("erin", user::Role::Student, Some("COMP6248"))
        .await;
    t.hand_in("alice", "coursework", "alice on time").await;
    t.set_time("2020-05-29T15:30:00Z");
    grant_extension(&t, "dave", "2020-06-01T15:00:00Z").await;
    t.hand_in("bob", "coursework", "bob late").await;
    t.hand_in("dave", "coursework", "dave within extension")
        .await;
    t
}

async fn grant_extension(t: &TestApp, username: &str, until: &str) {
    let db = &t.app().db;
    let student = user::find_by_username(db, username).await.unwrap().unwrap();
    let admin = user::find_by_username(db, "admin").await.unwrap().unwrap();
    let (_, coursework) = assignment::find_by_codes(db, "COMP6248", "coursework")
        .await
        .unwrap()
        .unwrap();
    extension::ActiveModel {
        assignment_id: Set(coursework.id),
        student_id: Set(student.id),
        until: Set(utc(until)),
        reason: Set("illness".into()),
        granted_by: Set(admin.id),
        granted_at: Set(utc("2020-05-29T09:00:00Z")),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();
}

/// The marking table's row of one student, found by the link on their label.
fn table_row<'a>(page: &'a str, label: &str) -> &'a str {
    let link = format!("/marking/{label}\">{label}</a>");
    let at = page
        .find(&link)
        .unwrap_or_else(|| panic!("no row for {label}"));
    let start = page[..at]
        .rfind("<tr>")
        .expect("a row starts before the label");
    let end = at + page[at..].find("</tr>").expect("the row ends");
    &page[start..end]
}

async fn api_get(t: &TestApp, token: &str, path: &str) -> (Status, Vec<u8>, Option<String>) {
    let response = t.client.get(path).header(bearer(token)).dispatch().await;
    let digest = response
        .headers()
        .get_one("Repr-Digest")
        .map(str::to_string);
    (
        response.status(),
        response.into_bytes().await.unwrap_or_default(),
        digest,
    )
}

#[rocket::async_test]
async fn the_table_shows_every_student_with_their_status() {
    let t = marked_course().await;
    t.login("mark").await;
    let page = t
        .client
        .get("/courses/COMP6248/assignments/coursework/marking")
        .dispatch()
        .await;
    assert_eq!(page.status(), Status::Ok);
    let page = page.into_string().await.unwrap();
    // Each status in its student's own row: the filter buttons above the
    // table carry the same words, so the page as a whole proves nothing.
    for (student, status) in [
        ("alice", "on time"),
        ("bob", "late by 30 min 0 s (1 working day)"),
        ("dave", "within extension until Mon 1 Jun 2020, 16:00 BST"),
        ("erin", "not submitted"),
    ] {
        let row = table_row(&page, student);
        assert!(
            row.contains(&format!("{student} Example")),
            "{student}: {row}"
        );
        assert!(row.contains(&html(status)), "{student} {status}: {row}");
    }
    assert!(page.contains("4 of 4 students shown"));

    let token = t.token("mark").await;
    let (status, body, _) = api_get(
        &t,
        &token,
        "/api/v1/courses/COMP6248/assignments/coursework/submissions",
    )
    .await;
    assert_eq!(status, Status::Ok);
    let rows: Value = serde_json::from_slice(&body).unwrap();
    let statuses: BTreeMap<String, String> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["label"].as_str().unwrap().to_string(),
                r["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected: BTreeMap<String, String> = [
        ("alice", "on_time"),
        ("bob", "late"),
        ("dave", "extension"),
        ("erin", "not_submitted"),
    ]
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .into();
    assert_eq!(statuses, expected);
}

#[rocket::async_test]
async fn filters_show_only_the_chosen_status_and_sorting_orders_rows() {
    let t = marked_course().await;
    t.login("mark").await;
    let base = "/courses/COMP6248/assignments/coursework/marking";
    for (status, shown) in [
        ("late", "bob"),
        ("not_submitted", "erin"),
        ("extension", "dave"),
        ("on_time", "alice"),
    ] {
        let page = t.page(format!("{base}?status={status}")).await;
        for student in ["alice", "bob", "dave", "erin"] {
            let link = format!("/marking/{student}\"");
            assert_eq!(
                page.contains(&link),
                student == shown,
                "{status}: {student}"
            );
        }
    }
    let page = t.page(format!("{base}?sort=student&dir=desc")).await;
    let positions: Vec<usize> = ["erin", "dave", "bob", "alice"]
        .iter()
        .map(|s| page.find(&format!("/marking/{s}\"")).unwrap())
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "descending by student"
    );
    // By status, in the order of what it means (not of the internal names,
    // which would put "extension" first and "on_time" after "late").
    let page = t.page(format!("{base}?sort=status")).await;
    let positions: Vec<usize> = ["alice", "dave", "bob", "erin"]
        .iter()
        .map(|s| page.find(&format!("/marking/{s}\"")).unwrap())
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "on time, extension, late, not submitted"
    );
}

#[rocket::async_test]
async fn only_the_courses_markers_and_administrators_reach_marker_routes() {
    let t = marked_course().await;
    let routes = [
        "/courses/COMP6248/assignments/coursework/marking",
        "/courses/COMP6248/assignments/coursework/marking/alice",
        "/courses/COMP6248/assignments/coursework/submissions.zip",
        "/courses/COMP6248/assignments/coursework/submissions.csv",
    ];
    for (who, expected) in [
        ("alice", Status::Forbidden),
        ("other", Status::Forbidden),
        ("carol", Status::Forbidden),
        ("mark", Status::Ok),
        ("admin", Status::Ok),
    ] {
        t.login(who).await;
        for route in routes {
            assert_eq!(
                t.client.get(route).dispatch().await.status(),
                expected,
                "{who} {route}"
            );
        }
        let token = t.token(who).await;
        for route in &routes[2..] {
            assert_eq!(
                api_get(&t, &token, &format!("/api/v1{route}")).await.0,
                expected,
                "{who} API {route}"
            );
        }
    }
    // A student's API list is their own attempts only.
    let token = t.token("bob").await;
    let (_, body, _) = api_get(
        &t,
        &token,
        "/api/v1/courses/COMP6248/assignments/coursework/submissions",
    )
    .await;
    let own: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(own.as_array().unwrap().len(), 1);
    assert_eq!(own[0]["student"], "bob");
    let token = t.token("other").await;
    let (status, _, _) = api_get(
        &t,
        &token,
        "/api/v1/courses/COMP6248/assignments/coursework/submissions",
    )
    .await;
    assert_eq!(status, Status::Forbidden);
}

fn read_zip(bytes: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let mut archive =
        zip::ZipArchive::new(Cursor::new(bytes)).expect("a standard zip reader opens it");
    (0..archive.len())
        .map(|i| {
            let mut file = archive.by_index(i).unwrap();
            let mut body = Vec::new();
            file.read_to_end(&mut body).unwrap();
            (file.name().unwrap().to_string(), body)
        })
        .collect()
}

fn manifest(bytes: &[u8]) -> Vec<BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_reader(bytes);
    let header = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            header
                .iter()
                .zip(r.unwrap().iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

#[rocket::async_test]
async fn the_bulk_zip_holds_exactly_the_bundles_with_a_manifest_of_their_hashes() {
    let t = marked_course().await;
    // Bob hands in again, under the same file name.
    t.hand_in("bob", "coursework", "bob again").await;
    let token = t.token("mark").await;
    let (status, body, _) = api_get(
        &t,
        &token,
        "/api/v1/courses/COMP6248/assignments/coursework/submissions.zip",
    )
    .await;
    assert_eq!(status, Status::Ok);
    // Each bundle is dated when it was received, as the course's clock read
    // (bob's second attempt: 15:30 UTC, 16:30 in London in May), not 1980.
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(&body[..])).unwrap();
    let when = archive
        .by_name("bob/COMP6248-coursework-bob-attempt2.zip")
        .unwrap()
        .last_modified()
        .unwrap();
    assert_eq!(
        (
            when.year(),
            when.month(),
            when.day(),
            when.hour(),
            when.minute()
        ),
        (2020, 5, 29, 16, 30)
    );
    let files = read_zip(&body);
    let names: Vec<&str> = files.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        vec![
            "alice/COMP6248-coursework-alice-attempt1.zip",
            "bob/COMP6248-coursework-bob-attempt2.zip",
            "dave/COMP6248-coursework-dave-attempt1.zip",
            "manifest.csv",
        ]
    );
    let db_hashes: BTreeMap<i32, String> = handin::models::submission::Entity::find()
        .all(&t.app().db)
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.id, s.sha256))
        .collect();
    let rows = manifest(&files["manifest.csv"]);
    assert_eq!(rows.len(), 4, "one line per student, erin included");
    for row in &rows {
        if row["student"] == "erin" {
            assert_eq!(row["status"], "not_submitted");
            assert_eq!(row["path"], "");
            continue;
        }
        let inner = &files[&row["path"]];
        assert_eq!(sha256_hex(inner), row["sha256"], "{}", row["path"]);
        assert!(db_hashes.values().any(|h| *h == row["sha256"]));
        assert_eq!(inner.len().to_string(), row["size"]);
    }
    let bob = rows.iter().find(|r| r["student"] == "bob").unwrap();
    assert_eq!(
        (bob["attempt"].as_str(), bob["status"].as_str()),
        ("2", "late")
    );

    // Every attempt: bob's two stay distinct.
    let (_, body, _) = api_get(
        &t,
        &token,
        "/api/v1/courses/COMP6248/assignments/coursework/submissions.zip?attempts=all",
    )
    .await;
    let files = read_zip(&body);
    assert!(files.contains_key("bob/COMP6248-coursework-bob-attempt1.zip"));
    assert!(files.contains_key("bob/COMP6248-coursework-bob-attempt2.zip"));
    assert_eq!(files.len(), 5);
    assert_eq!(manifest(&files["manifest.csv"]).len(), 5);

    // Both downloads are on the record.
    let recorded = audit::Entity::find()
        .filter(audit::Column::Action.eq("bulk_download"))
        .count(&t.app().db)
        .await
        .unwrap();
    assert_eq!(recorded, 2);
}

#[rocket::async_test]
async fn two_students_with_the_same_name_stay_apart() {
    let t = TestApp::new().await;
    for username in ["js1", "js2"] {
        let account = user::Account {
            username: username.to_string(),
            display_name: "John Smith".into(),
            email: String::new(),
            role: user::Role::Student,
        };
        handin::services::roster::add(t.app(), &account, PASSWORD, Some("COMP6248"))
            .await
            .unwrap();
        t.hand_in(username, "coursework", username).await;
    }
    let token = t.token("mark").await;
    let (_, body, _) = api_get(
        &t,
        &token,
        "/api/v1/courses/COMP6248/assignments/coursework/submissions.zip",
    )
    .await;
    let files = read_zip(&body);
    assert!(files.contains_key("js1/COMP6248-coursework-js1-attempt1.zip"));
    assert!(files.contains_key("js2/COMP6248-coursework-js2-attempt1.zip"));
    assert_ne!(
        files["js1/COMP6248-coursework-js1-attempt1.zip"],
        files["js2/COMP6248-coursework-js2-attempt1.zip"]
    );
}

#[rocket::async_test]
async fn one_bundle_downloads_with_its_name_and_a_matching_repr_digest() {
    let t = marked_course().await;
    let id = t.hand_in("alice", "coursework", "second").await;
    for who in ["alice", "mark"] {
        let token = t.token(who).await;
        let response = t
            .client
            .get(format!("/api/v1/submissions/{id}/bundle"))
            .header(bearer(&token))
            .dispatch()
            .await;
        assert_eq!(response.status(), Status::Ok);
        assert_eq!(
            response.content_type(),
            Some(rocket::http::ContentType::ZIP)
        );
        let disposition = response
            .headers()
            .get_one("Content-Disposition")
            .unwrap()
            .to_string();
        assert_eq!(
            disposition,
            "attachment; filename=\"COMP6248-coursework-alice-attempt2.zip\""
        );
        let digest = response
            .headers()
            .get_one("Repr-Digest")
            .unwrap()
            .to_string();
        let body = response.into_bytes().await.unwrap();
        let expected = base64::engine::general_purpose::STANDARD.encode(sha2::Digest::finalize(
            <sha2::Sha256 as sha2::Digest>::new_with_prefix(&body),
        ));
        assert_eq!(digest, format!("sha-256=:{expected}:"));
    }
    for who in ["bob", "other"] {
        let token = t.token(who).await;
        assert_eq!(
            api_get(&t, &token, &format!("/api/v1/submissions/{id}/bundle"))
                .await
                .0,
            Status::NotFound,
            "{who}"
        );
    }
}

#[rocket::async_test]
async fn anonymous_marking_leaks_no_username_or_name_to_markers() {
    let t = marked_course().await;
    let db = &t.app().db;
    let (_, coursework) = assignment::find_by_codes(db, "COMP6248", "coursework")
        .await
        .unwrap()
        .unwrap();
    let mut active: assignment::ActiveModel = coursework.into();
    active.anonymous = Set(true);
    active.update(db).await.unwrap();
    let secrets = ["alice", "bob", "dave", "erin", "Example"];
    let assert_clean = |what: &str, text: &str| {
        for secret in secrets {
            assert!(!text.contains(secret), "{what} leaks '{secret}'");
        }
    };

    let token = t.token("mark").await;
    let base = "/api/v1/courses/COMP6248/assignments/coursework";
    let (_, zip, _) = api_get(&t, &token, &format!("{base}/submissions.zip?attempts=all")).await;
    let files = read_zip(&zip);
    for (name, body) in &files {
        assert_clean(name, name);
        if name == "manifest.csv" {
            assert_clean("manifest", &String::from_utf8_lossy(body));
        }
    }
    let (_, csv, _) = api_get(&t, &token, &format!("{base}/submissions.csv")).await;
    assert_clean("CSV", &String::from_utf8_lossy(&csv));
    let (_, json, _) = api_get(&t, &token, &format!("{base}/submissions?attempts=all")).await;
    assert_clean("API rows", &String::from_utf8_lossy(&json));
    let rows: Value = serde_json::from_slice(&json).unwrap();
    // Rows come sorted by candidate number, not in the (alphabetical) order
    // the students were enrolled in.
    let labels: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["label"].as_str().unwrap())
        .collect();
    let mut sorted = labels.clone();
    sorted.sort();
    assert_eq!(labels, sorted);
    let candidate = rows[0]["label"].as_str().unwrap().to_string();
    assert!(candidate.starts_with('C'), "{candidate}");
    let id = rows
        .as_array()
        .unwrap()
        .iter()
        .find_map(|r| r["latest"]["submission_id"].as_i64())
        .unwrap();
    let (_, receipt, _) = api_get(&t, &token, &format!("/api/v1/submissions/{id}")).await;
    assert_clean("receipt", &String::from_utf8_lossy(&receipt));
    let response = t
        .client
        .get(format!("/api/v1/submissions/{id}/bundle"))
        .header(bearer(&token))
        .dispatch()
        .await;
    assert_clean(
        "bundle name",
        response.headers().get_one("Content-Disposition").unwrap(),
    );

    t.login("mark").await;
    let page = t
        .page("/courses/COMP6248/assignments/coursework/marking")
        .await;
    let (_, page_body) = page.split_once("<main").unwrap();
    assert_clean("marking page", page_body);
    let page = t.page(format!("/submissions/{id}")).await;
    assert_clean("receipt page", page.split_once("<main").unwrap().1);

    // Administrators see the mapping.
    t.login("admin").await;
    let page = t
        .page("/courses/COMP6248/assignments/coursework/marking")
        .await;
    assert!(page.contains("alice Example"));
    assert!(!page.contains(&candidate) || page.contains("Candidate"));
    let admin = t.token("admin").await;
    let (_, json, _) = api_get(&t, &admin, &format!("{base}/submissions")).await;
    let rows: Value = serde_json::from_slice(&json).unwrap();
    assert!(
        rows.as_array()
            .unwrap()
            .iter()
            .all(|r| r["username"].is_string() && r["candidate"].is_string())
    );
    assert!(
        rows.as_array()
            .unwrap()
            .iter()
            .any(|r| r["candidate"] == candidate.as_str())
    );
}

#[rocket::async_test]
async fn verify_catches_a_changed_and_a_deleted_bundle_and_the_page_flags_them() {
    let t = marked_course().await;
    let rows = handin::models::submission::Entity::find()
        .all(&t.app().db)
        .await
        .unwrap();
    let report = handin::services::verify::verify_all(t.app(), |_, _, _| {})
        .await
        .unwrap();
    assert_eq!((report.checked, report.problems.len()), (3, 0));

    let by_student = |id: i32| rows.iter().find(|r| r.student_id == id).unwrap().clone();
    let db = &t.app().db;
    let alice = user::find_by_username(db, "alice").await.unwrap().unwrap();
    let bob = user::find_by_username(db, "bob").await.unwrap().unwrap();
    let changed = t
        .app()
        .uploads
        .folder_path(&by_student(alice.id).stored_path)
        .unwrap();
    let mut bytes = std::fs::read(&changed).unwrap();
    bytes[10] ^= 0xff;
    std::fs::write(&changed, bytes).unwrap();
    std::fs::remove_file(
        t.app()
            .uploads
            .folder_path(&by_student(bob.id).stored_path)
            .unwrap(),
    )
    .unwrap();

    let report = handin::services::verify::verify_all(t.app(), |_, _, _| {})
        .await
        .unwrap();
    let problems: Vec<String> = report.problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("COMP6248 coursework alice attempt 1")
                && p.contains("has changed"))
    );
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("COMP6248 coursework bob attempt 1") && p.contains("missing"))
    );

    t.login("mark").await;
    let page = t
        .page("/courses/COMP6248/assignments/coursework/marking")
        .await;
    assert_eq!(page.matches("failed verification").count(), 2);

    // The command does the same and exits non-zero.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_handin"))
        .arg("verify")
        .env("ROCKET_DATABASE", crate::database::for_dir(t.dir.path()))
        .env("ROCKET_UPLOADS_DIR", t.dir.path().join("uploads"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("PROBLEM COMP6248 coursework bob attempt 1"),
        "{stdout}"
    );
    assert!(stdout.contains("Checked 3 bundles"), "{stdout}");
}

#[rocket::async_test]
async fn a_malformed_attempts_choice_is_a_bad_request() {
    let t = marked_course().await;
    t.login("mark").await;
    for path in ["submissions.csv", "submissions.zip"] {
        let response = t
            .client
            .get(format!(
                "/courses/COMP6248/assignments/coursework/{path}?attempts=some"
            ))
            .dispatch()
            .await;
        assert_eq!(response.status(), Status::BadRequest, "{path}");
        let page = response.into_string().await.unwrap();
        assert!(page.contains("attempts must be"), "{path}: {page}");
    }
}

#[rocket::async_test]
async fn a_marker_sees_inside_a_bundle_without_downloading_it_and_nothing_in_it_runs() {
    let t = TestApp::new().await;
    let notebook = br##"{"nbformat": 4, "cells": [
        {"cell_type": "markdown", "source": ["# Exercise 1"]},
        {"cell_type": "code", "source": ["print(6 * 7)"], "outputs": [
            {"output_type": "stream", "text": ["42\n"]},
            {"output_type": "display_data", "data": {"image/png": "iVBOR"}}]}]}"##;
    let bundle = zip_of(&[
        ("report.pdf", b"%PDF-1.4"),
        ("lab1/ex1.ipynb", notebook),
        ("code/model.py", b"print('<script>alert(1)</script>')\n"),
    ]);
    let token = t.token("alice").await;
    let answer = t
        .upload_api(&token, "COMP6248/assignments/coursework", &bundle)
        .await;
    assert_eq!(answer.status(), Status::Created);
    t.login("mark").await;
    let list = t.page("/submissions/1/files").await;
    assert!(
        list.contains("href=\"/submissions/1/files/1\"")
            && list.contains("href=\"/submissions/1/files/2\""),
        "{list}"
    );
    assert!(
        !list.contains("href=\"/submissions/1/files/0\""),
        "a PDF is not previewed: {list}"
    );
    let code = t.page("/submissions/1/files/2").await;
    assert!(
        code.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"),
        "{code}"
    );
    assert!(!code.contains("<script>alert"), "{code}");
    let cells = t.page("/submissions/1/files/1").await;
    assert!(
        cells.contains("# Exercise 1")
            && cells.contains("print(6 * 7)")
            && cells.contains("42\n")
            && cells.contains(&html("(image/png)")),
        "{cells}"
    );
    let pdf = t.page("/submissions/1/files/0").await;
    assert!(pdf.contains("not shown here"), "{pdf}");
    assert_eq!(
        t.client
            .get("/submissions/1/files/3")
            .dispatch()
            .await
            .status(),
        Status::NotFound
    );
    // The student sees her own; another student sees nothing.
    t.login("alice").await;
    assert_eq!(
        t.client
            .get("/submissions/1/files/2")
            .dispatch()
            .await
            .status(),
        Status::Ok
    );
    t.login("bob").await;
    for path in ["/submissions/1/files", "/submissions/1/files/2"] {
        assert_eq!(
            t.client.get(path).dispatch().await.status(),
            Status::NotFound,
            "{path}"
        );
    }
}

/// Where the latest attempt counts, the table reads only each student's
/// latest row: its attempt, its count and its status must still be those
/// of every attempt, and `?attempts=all` still lists them all.
#[rocket::async_test]
async fn the_table_of_latest_attempts_counts_every_attempt() {
    let t = TestApp::new().await;
    t.hand_in("alice", "coursework", "alice one").await;
    t.hand_in("alice", "coursework", "alice two").await;
    t.set_time("2020-05-29T15:30:00Z");
    t.hand_in("alice", "coursework", "alice three, late").await;
    t.hand_in("bob", "coursework", "bob once").await;
    let token = t.token("mark").await;
    let list = "/api/v1/courses/COMP6248/assignments/coursework/submissions";
    let row_of = |rows: &Value, label: &str| {
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["label"] == label)
            .unwrap()
            .clone()
    };
    let (_, rows) = t
        .api_json(&token, rocket::http::Method::Get, list, None)
        .await;
    let alice = row_of(&rows, "alice");
    assert_eq!(alice["attempt_count"], 3);
    assert_eq!(alice["latest"]["attempt"], 3);
    assert_eq!(alice["status"], "late");
    assert_eq!(row_of(&rows, "bob")["attempt_count"], 1);
    let (_, rows) = t
        .api_json(
            &token,
            rocket::http::Method::Get,
            &format!("{list}?attempts=all"),
            None,
        )
        .await;
    let alice = row_of(&rows, "alice");
    let attempts: Vec<i64> = alice["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["attempt"].as_i64().unwrap())
        .collect();
    assert_eq!(
        (alice["attempt_count"].clone(), attempts),
        (3.into(), vec![3, 2, 1])
    );
    t.login("mark").await;
    let page = t
        .page("/courses/COMP6248/assignments/coursework/marking")
        .await;
    assert!(page.contains("Download attempt 3 of alice"), "{page}");
}

/// `verify` reads and writes a page of rows at a time: a row past the first
/// page is checked like any other, and every row gets its outcome.
#[rocket::async_test]
async fn verify_checks_every_row_past_its_first_page() {
    use handin::models::submission;
    let t = TestApp::new().await;
    t.hand_in("alice", "coursework", "alice once").await;
    let db = &t.app().db;
    let first = submission::Entity::find().one(db).await.unwrap().unwrap();
    // 1,200 more attempts, each its own link to the same bundle, the last
    // with a hash it does not have.
    let store = &t.app().uploads;
    let original = store.folder_path(&first.stored_path).unwrap();
    let copies: Vec<submission::ActiveModel> = (2..=1201)
        .map(|attempt| {
            let stored = format!("{}.{attempt}", first.stored_path);
            std::fs::hard_link(&original, store.folder_path(&stored).unwrap()).unwrap();
            let mut row: submission::ActiveModel = first.clone().into();
            row.id = sea_orm::ActiveValue::NotSet;
            row.attempt = Set(attempt);
            row.stored_path = Set(stored);
            if attempt == 1201 {
                row.sha256 = Set("0".repeat(64));
            }
            row
        })
        .collect();
    for chunk in copies.chunks(200) {
        submission::Entity::insert_many(chunk.to_vec())
            .exec(db)
            .await
            .unwrap();
    }
    let report = handin::services::verify::verify_all(t.app(), |_, _, _| {})
        .await
        .unwrap();
    let problems: Vec<String> = report.problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(report.checked, 1201);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("attempt 1201"), "{problems:?}");
    let unchecked = submission::Entity::find()
        .filter(submission::Column::VerifiedAt.is_null())
        .count(db)
        .await
        .unwrap();
    let flagged = submission::Entity::find()
        .filter(submission::Column::VerifyError.is_not_null())
        .count(db)
        .await
        .unwrap();
    assert_eq!((unchecked, flagged), (0, 1));
}
