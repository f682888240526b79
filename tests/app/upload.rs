//! Handing in through the web form: receipts, attempts, refusals, limits.

use handin::models::{extension, submission, user};
use rocket::http::Status;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};

use crate::support::*;

#[rocket::async_test]
async fn a_bundle_is_stored_with_the_hash_of_the_bytes_sent_and_a_receipt() {
    let t = TestApp::new().await;
    t.login("alice").await;
    let csrf = t.csrf().await;
    let bytes = coursework_zip("first");
    let response = t
        .upload_form("coursework", Some(&csrf), "my work.zip", &bytes)
        .await;
    assert_eq!(response.status(), Status::SeeOther);
    let location = response.headers().get_one("Location").unwrap().to_string();
    assert!(location.starts_with("/submissions/"), "{location}");

    let row = submission::Entity::find()
        .one(&t.app().db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.sha256, sha256_hex(&bytes));
    assert_eq!(row.size as usize, bytes.len());
    assert_eq!(row.attempt, 1);
    assert_eq!(row.received_at, utc("2020-05-29T11:00:00Z"));
    let stored = std::fs::read(t.app().uploads.folder_path(&row.stored_path).unwrap()).unwrap();
    assert_eq!(sha256_hex(&stored), sha256_hex(&bytes));
    assert!(
        !row.stored_path.contains("my work"),
        "stored under the server's name"
    );

    let page = t.page(location).await;
    assert!(
        page.contains(&sha256_hex(&bytes)),
        "the receipt shows the full SHA-256"
    );
    assert!(page.contains("Attempt 1 received on time"));
    assert!(page.contains("Fri 29 May 2020, 12:00:00 BST"));
    assert!(page.contains("2020-05-29T11:00:00.000Z"));
    assert!(page.contains("report.pdf") && page.contains(&html("code/model.py")));
    assert!(page.contains("alice Example"));
    // Nothing is left in incoming/.
    assert_eq!(t.upload_files().len(), 1);
}

#[rocket::async_test]
async fn resubmitting_increments_the_attempt_and_keeps_every_attempt() {
    let t = TestApp::new().await;
    t.login("alice").await;
    let csrf = t.csrf().await;
    for note in ["one", "two", "three"] {
        let response = t
            .upload_form("coursework", Some(&csrf), "b.zip", &coursework_zip(note))
            .await;
        assert_eq!(response.status(), Status::SeeOther);
    }
    let rows = submission::Entity::find().all(&t.app().db).await.unwrap();
    let mut attempts: Vec<i32> = rows.iter().map(|r| r.attempt).collect();
    attempts.sort();
    assert_eq!(attempts, vec![1, 2, 3]);
    assert_eq!(t.upload_files().len(), 3);
    let page = t.page("/courses/COMP6248/assignments/coursework").await;
    assert!(
        page.contains("attempt 3 received on time"),
        "the latest counts"
    );
}

#[rocket::async_test]
async fn a_late_bundle_says_how_late_in_time_and_working_days() {
    let t = TestApp::new().await;
    // Friday 16:00 BST deadline; Monday 1 June 18:13 BST is 2 working days late.
    t.set_time("2020-06-01T17:13:00Z");
    t.login("alice").await;
    let csrf = t.csrf().await;
    let response = t
        .upload_form("coursework", Some(&csrf), "b.zip", &coursework_zip("late"))
        .await;
    let location = response.headers().get_one("Location").unwrap().to_string();
    let page = t.page(location).await;
    assert!(page.contains("late by 3 d 2 h (2 working days)"), "{page}");
}

#[rocket::async_test]
async fn every_kind_of_refused_bundle_stores_nothing_and_says_why() {
    let t = TestApp::with(Options {
        max_bundle_entries: 50,
        max_unpacked_mib: 1,
        ..Options::default()
    })
    .await;
    t.login("alice").await;
    let csrf = t.csrf().await;
    let good = coursework_zip("x");
    let mut encrypted = coursework_zip("secret");
    mark_encrypted(&mut encrypted);
    let many: Vec<(String, Vec<u8>)> = (0..60).map(|i| (format!("f{i}.txt"), vec![])).collect();
    let mut many_refs: Vec<(&str, &[u8])> = many
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    many_refs.push(("report.pdf", b"%PDF"));
    let zeros = vec![0u8; 2 * 1024 * 1024];
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "not a zip",
            b"this is my report, honest".to_vec(),
            "not a readable zip",
        ),
        (
            "truncated",
            good[..good.len() - 30].to_vec(),
            "not a readable zip",
        ),
        ("empty file", Vec::new(), "is empty (0 bytes)"),
        ("empty zip", zip_of(&[]), "contains no files"),
        (
            "parent dir",
            zip_of(&[("report.pdf", b"%PDF"), ("../evil.sh", b"x")]),
            "climbs out",
        ),
        (
            "absolute",
            zip_of(&[("report.pdf", b"%PDF"), ("/etc/cron.d/x", b"x")]),
            "absolute path",
        ),
        (
            "drive letter",
            zip_of(&[("report.pdf", b"%PDF"), ("C:/x.txt", b"x")]),
            "drive letter",
        ),
        (
            // A backslash is a folder separator, and `..` is still `..`.
            "backslash climbing out",
            zip_of(&[("report.pdf", b"%PDF"), ("a\\..\\..\\b.txt", b"x")]),
            "climbs out",
        ),
        ("symlink", symlink_zip(), "symbolic link"),
        ("encrypted", encrypted, "is encrypted"),
        (
            "missing required",
            zip_of(&[("notes.txt", b"x")]),
            "Required file is missing: report.pdf",
        ),
        (
            "too many entries",
            zip_of(&many_refs),
            "at most 50 are allowed",
        ),
        (
            "declared size",
            zip_of(&[("report.pdf", &zeros)]),
            "would unpack to more than 1 MiB",
        ),
    ];
    for (case, bytes, message) in cases {
        let before = t.snapshot().await;
        let response = t
            .upload_form("coursework", Some(&csrf), "bundle.zip", &bytes)
            .await;
        assert_eq!(response.status(), Status::UnprocessableEntity, "{case}");
        let page = response.into_string().await.unwrap();
        assert!(
            page.contains(message),
            "{case}: expected '{message}' in the page"
        );
        assert!(
            page.contains(&html("/courses/COMP6248/assignments/coursework")),
            "{case}: a way back"
        );
        assert_eq!(t.snapshot().await, before, "{case}: nothing stored");
    }
    assert_eq!(t.submission_count().await, 0);
    assert!(t.upload_files().is_empty());
}

fn symlink_zip() -> Vec<u8> {
    use std::io::{Cursor, Write};
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    writer.start_file("report.pdf", options).unwrap();
    writer.write_all(b"%PDF").unwrap();
    writer.add_symlink("link", "/etc/passwd", options).unwrap();
    writer.finish().unwrap().into_inner()
}

/// Sets the "encrypted" flag of every entry, as a password-protected zip has.
fn mark_encrypted(bytes: &mut [u8]) {
    for i in 0..bytes.len().saturating_sub(10) {
        match &bytes[i..i + 4] {
            [0x50, 0x4b, 0x03, 0x04] => bytes[i + 6] |= 1,
            [0x50, 0x4b, 0x01, 0x02] => bytes[i + 8] |= 1,
            _ => {}
        }
    }
}

#[rocket::async_test]
async fn over_the_size_limit_is_413_and_stores_nothing() {
    let t = TestApp::new().await;
    t.login("alice").await;
    let csrf = t.csrf().await;
    // Random bytes do not compress: a zip just over the 1 MiB limit.
    let noise = noise(1_100_000);
    let bytes = zip_of(&[("report.pdf", &noise)]);
    assert!(bytes.len() > 1024 * 1024);
    let response = t
        .upload_form("coursework", Some(&csrf), "big.zip", &bytes)
        .await;
    assert_eq!(response.status(), Status::PayloadTooLarge);
    let page = response.into_string().await.unwrap();
    assert!(page.contains("larger than the 1 MiB allowed"), "{page}");
    assert_eq!(t.snapshot().await, (0, vec![]));
}

#[rocket::async_test]
async fn after_the_hard_close_uploads_are_refused_unless_an_extension_reaches_later() {
    let t = TestApp::new().await;
    t.set_time("2020-06-05T15:00:01Z"); // one second after 16:00 BST on 5 June
    t.login("alice").await;
    let csrf = t.csrf().await;
    let response = t
        .upload_form("coursework", Some(&csrf), "b.zip", &coursework_zip("late"))
        .await;
    assert_eq!(response.status(), Status::Conflict);
    let page = response.into_string().await.unwrap();
    assert!(
        page.contains("closed on Fri 5 Jun 2020, 16:00 BST"),
        "{page}"
    );
    assert_eq!(t.snapshot().await, (0, vec![]));

    // An extension to 12 June reopens it for alice, and her work counts as within it.
    let db = &t.app().db;
    let alice = user::find_by_username(db, "alice").await.unwrap().unwrap();
    let admin = user::find_by_username(db, "admin").await.unwrap().unwrap();
    let (_, coursework) = handin::models::assignment::find_by_codes(db, "COMP6248", "coursework")
        .await
        .unwrap()
        .unwrap();
    extension::ActiveModel {
        assignment_id: Set(coursework.id),
        student_id: Set(alice.id),
        until: Set(utc("2020-06-12T15:00:00Z")),
        reason: Set("illness".into()),
        granted_by: Set(admin.id),
        granted_at: Set(utc("2020-06-01T09:00:00Z")),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();
    let response = t
        .upload_form("coursework", Some(&csrf), "b.zip", &coursework_zip("ext"))
        .await;
    assert_eq!(response.status(), Status::SeeOther);
    let page = t
        .client
        .get(response.headers().get_one("Location").unwrap().to_string())
        .dispatch()
        .await;
    let page = page.into_string().await.unwrap();
    assert!(
        page.contains("on time within your extension until Fri 12 Jun 2020, 16:00 BST"),
        "{page}"
    );

    // Bob has no extension: still closed for him.
    t.login("bob").await;
    let csrf = t.csrf().await;
    let response = t
        .upload_form("coursework", Some(&csrf), "b.zip", &coursework_zip("bob"))
        .await;
    assert_eq!(response.status(), Status::Conflict);
}

#[rocket::async_test]
async fn a_form_post_without_its_csrf_token_is_refused_and_stores_nothing() {
    let t = TestApp::new().await;
    t.login("alice").await;
    let response = t
        .upload_form("coursework", None, "b.zip", &coursework_zip("x"))
        .await;
    assert_eq!(response.status(), Status::Forbidden);
    let response = t
        .upload_form(
            "coursework",
            Some("0123456789abcdef"),
            "b.zip",
            &coursework_zip("x"),
        )
        .await;
    assert_eq!(response.status(), Status::Forbidden);
    assert!(
        response
            .into_string()
            .await
            .unwrap()
            .contains("security token")
    );
    assert_eq!(t.snapshot().await, (0, vec![]));
}

#[rocket::async_test]
async fn the_file_name_as_sent_is_shown_escaped_and_never_used_as_a_path() {
    let t = TestApp::new().await;
    t.login("alice").await;
    let csrf = t.csrf().await;
    let name = "<img src=x onerror=alert(1)> résumé.zip";
    let response = t
        .upload_form("coursework", Some(&csrf), name, &coursework_zip("x"))
        .await;
    assert_eq!(
        response.status(),
        Status::SeeOther,
        "{:?}",
        response.into_string().await
    );
    let location = response.headers().get_one("Location").unwrap().to_string();
    let page = t.page(location).await;
    assert!(!page.contains("<img src=x"));
    assert!(
        page.contains("&lt;img src=x onerror=alert(1)&gt; résumé.zip"),
        "shown, escaped"
    );
    let row = submission::Entity::find()
        .one(&t.app().db)
        .await
        .unwrap()
        .unwrap();
    assert!(row.stored_path.starts_with("bundles/") && !row.stored_path.contains("img"));
}

#[rocket::async_test]
async fn racing_uploads_from_one_student_get_distinct_gapless_attempts() {
    let t = TestApp::new().await;
    t.login("alice").await;
    let csrf = t.csrf().await;
    let bundles: Vec<Vec<u8>> = (0..6)
        .map(|i| coursework_zip(&format!("race {i}")))
        .collect();
    let uploads = bundles
        .iter()
        .map(|b| t.upload_form("coursework", Some(&csrf), "b.zip", b));
    let responses = futures::future::join_all(uploads).await;
    assert!(responses.iter().all(|r| r.status() == Status::SeeOther));
    let rows = submission::Entity::find().all(&t.app().db).await.unwrap();
    let mut attempts: Vec<i32> = rows.iter().map(|r| r.attempt).collect();
    attempts.sort();
    assert_eq!(attempts, (1..=6).collect::<Vec<_>>());
    let mut hashes: Vec<String> = rows.iter().map(|r| r.sha256.clone()).collect();
    let mut sent: Vec<String> = bundles.iter().map(|b| sha256_hex(b)).collect();
    hashes.sort();
    sent.sort();
    assert_eq!(hashes, sent);
}

#[rocket::async_test]
async fn a_late_attempt_that_would_replace_an_on_time_one_needs_the_students_word() {
    let t = TestApp::new().await;
    t.hand_in("alice", "coursework", "on time").await;
    // Two minutes after the 16:00 BST deadline.
    t.set_time("2020-05-29T15:02:00Z");
    let token = t.token("alice").await;
    let before = t.snapshot().await;
    let refused = t
        .upload_api(
            &token,
            "COMP6248/assignments/coursework",
            &coursework_zip("late"),
        )
        .await;
    assert_eq!(refused.status(), Status::Conflict);
    let said = refused.into_string().await.unwrap();
    assert!(
        said.contains(
            "This attempt would be late by 2 min 0 s and would replace your on-time attempt 1 \
             as the one that counts. Nothing was stored."
        ),
        "{said}"
    );
    assert_eq!(t.snapshot().await, before);

    // The page asks first, with a box that must be ticked.
    t.login("alice").await;
    let page = t.page("/courses/COMP6248/assignments/coursework").await;
    assert!(
        page.contains("name=\"confirm_late\" value=\"yes\" required")
            && page.contains("it will count instead of my on-time attempt 1"),
        "{page}"
    );
    // Ticked, it goes through the form (the box comes before the bundle,
    // though a script may send it after).
    let csrf = t.csrf().await;
    let bytes = coursework_zip("late, and meant");
    let (content_type, body) = multipart(&[
        Part::text("csrf", &csrf),
        Part::file("bundle", "late.zip", &bytes),
        Part::text("confirm_late", "yes"),
    ]);
    let accepted = t
        .client
        .post("/courses/COMP6248/assignments/coursework/submissions")
        .header(content_type)
        .body(body)
        .dispatch()
        .await;
    assert_eq!(accepted.status(), Status::SeeOther);
    // Late over late asks nothing, nor does a first attempt that is late.
    for who in ["alice", "bob"] {
        let token = t.token(who).await;
        let bytes = coursework_zip(who);
        let answer = t
            .upload_api(&token, "COMP6248/assignments/coursework", &bytes)
            .await;
        assert_eq!(answer.status(), Status::Created, "{who}");
    }
    assert_eq!(t.submission_count().await, 4);
    let page = t.page("/courses/COMP6248/assignments/coursework").await;
    assert!(!page.contains("confirm_late"), "{page}");
    assert!(
        page.contains("You can hand in again until uploads close on"),
        "{page}"
    );
}

#[rocket::async_test]
async fn within_the_grace_period_the_page_the_upload_and_the_receipt_all_say_on_time() {
    let t = TestApp::new().await;
    let file = |close: &str| {
        format!(
            "[[course]]\ncode = \"GRACE1\"\ntitle = \"Grace\"\ntime_zone = \"Europe/London\"\n\
             [[course.assignment]]\nslug = \"essay\"\ntitle = \"Essay\"\ndue = \"2020-06-01 16:00\"\n\
             grace_minutes = 5\n{close}\n"
        )
    };
    // Uploads cannot close while they would still count as on time.
    let refused = handin::services::catalogue::import_file(
        t.app(),
        &file("hard_close = \"2020-06-01 16:03\""),
        &t.change(),
    )
    .await
    .unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("hard_close is before the end of the 5-minute grace period"),
        "{refused}"
    );
    handin::services::catalogue::import_file(t.app(), &file(""), &t.change())
        .await
        .unwrap();
    t.add_user("gina", user::Role::Student, Some("GRACE1"))
        .await;
    // Two minutes after the deadline (16:00 BST is 15:00 UTC).
    t.set_time("2020-06-01T15:02:00Z");
    t.login("gina").await;
    let page = t.page("/courses/GRACE1/assignments/essay").await;
    assert!(
        page.contains("deadline passed 2 min 0 s ago; uploads count as on time for 3 min 0 s more (grace period)")
            && page.contains("not submitted yet: the grace period is running")
            && !page.contains("late by"),
        "{page}"
    );
    let token = t.token("gina").await;
    let answer = t
        .upload_api(
            &token,
            "GRACE1/assignments/essay",
            &coursework_zip("in grace"),
        )
        .await;
    assert_eq!(answer.status(), Status::Created);
    let receipt: serde_json::Value =
        serde_json::from_str(&answer.into_string().await.unwrap()).unwrap();
    assert_eq!(receipt["status"], "on_time");
    // After the grace period it is late, and says so from the deadline.
    t.set_time("2020-06-01T15:06:00Z");
    let page = t.page("/courses/GRACE1/assignments/essay").await;
    assert!(page.contains("deadline passed 6 min 0 s ago"), "{page}");
}

#[rocket::async_test]
async fn a_declaration_must_be_ticked_and_is_kept_with_the_attempt() {
    let t = TestApp::new().await;
    let statement = "This is my own work, and I have acknowledged every source.";
    t.change_coursework(|a| a.declaration = Set(Some(statement.to_string())))
        .await;

    // Not ticked: refused with the statement, nothing stored.
    let token = t.token("alice").await;
    let before = t.snapshot().await;
    let refused = t
        .upload_api(
            &token,
            "COMP6248/assignments/coursework",
            &coursework_zip("x"),
        )
        .await;
    assert_eq!(refused.status(), Status::UnprocessableEntity);
    let said = refused.into_string().await.unwrap();
    assert!(
        said.contains("Please tick the declaration before uploading") && said.contains(statement),
        "{said}"
    );
    assert_eq!(t.snapshot().await, before);

    // The form shows it as a box that must be ticked, before the file.
    t.login("alice").await;
    let page = t.page("/courses/COMP6248/assignments/coursework").await;
    let declare = page
        .find("name=\"declare\" value=\"yes\" required")
        .expect(&page);
    assert!(declare < page.find("name=\"bundle\"").unwrap());

    // Ticked: accepted, and the receipt, its page and the manifest say so,
    // as the statement read when it was ticked.
    let id = t.hand_in("alice", "coursework", "declared").await;
    let (_, receipt) = t
        .api_json(
            &token,
            rocket::http::Method::Get,
            &format!("/api/v1/submissions/{id}"),
            None,
        )
        .await;
    assert_eq!(receipt["declaration"], statement);
    let page = t.page(format!("/submissions/{id}")).await;
    assert!(page.contains("Ticked: “This is my own work"), "{page}");
    t.change_coursework(|a| a.declaration = Set(Some("A newer statement.".to_string())))
        .await;
    t.login("mark").await;
    let csv = t
        .page("/courses/COMP6248/assignments/coursework/submissions.csv")
        .await;
    assert!(
        csv.lines().next().unwrap().ends_with(",declaration"),
        "{csv}"
    );
    assert!(
        csv.contains(statement) && !csv.contains("A newer statement"),
        "{csv}"
    );
}

#[rocket::async_test]
async fn where_the_latest_on_time_attempt_counts_a_late_one_never_replaces_it() {
    let t = TestApp::new().await;
    t.change_coursework(|a| {
        a.counted_attempt = Set("latest_on_time".into());
        a.late_policy = Set(handin::models::column::Policy(
            handin::domain::penalty::LatePolicy::UkStandard,
        ));
    })
    .await;
    t.hand_in("alice", "coursework", "on time").await;
    t.set_time("2020-05-29T15:02:00Z");
    // No question asked: the late attempt will not count.
    let token = t.token("alice").await;
    let late = t
        .upload_api(
            &token,
            "COMP6248/assignments/coursework",
            &coursework_zip("late"),
        )
        .await;
    assert_eq!(late.status(), Status::Created);
    t.login("alice").await;
    let page = t.page("/courses/COMP6248/assignments/coursework").await;
    assert!(page.contains("attempt 1 received on time"), "{page}");
    assert!(page.contains("the latest on-time attempt counts"), "{page}");
    assert!(!page.contains("confirm_late"), "{page}");
    // Markers see and mark attempt 1: no late penalty.
    t.login("mark").await;
    let token = t.token("mark").await;
    let (_, rows) = t
        .api_json(
            &token,
            rocket::http::Method::Get,
            "/api/v1/courses/COMP6248/assignments/coursework/submissions",
            None,
        )
        .await;
    let alice = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["label"] == "alice")
        .unwrap();
    assert_eq!(
        (
            alice["latest"]["attempt"].as_i64(),
            alice["status"].as_str()
        ),
        (Some(1), Some("on_time"))
    );
    assert_eq!(alice["attempt_count"], 2);
    let (_, given) = t
        .api_json(
            &token,
            rocket::http::Method::Put,
            "/api/v1/courses/COMP6248/assignments/coursework/marks/alice",
            Some(serde_json::json!({"mark": 70})),
        )
        .await;
    assert_eq!(
        (given["final_mark"].as_str(), given["late_rule"].as_str()),
        (Some("70"), Some("none"))
    );
}
