//! Feedback files: returned one by one from a student's history page and in
//! bulk from a zip laid out like the all-submissions zip; hidden until the
//! marks are released; each student sees only their own, as a download.

use std::io::Read;

use handin::models::{audit, feedback_file};
use rocket::http::{ContentType, Status};
use rocket::local::asynchronous::LocalResponse;
use sea_orm::{ActiveValue::Set, EntityTrait};

use crate::support::*;

const COURSEWORK: &str = "/courses/COMP6248/assignments/coursework";

/// alice and bob have handed in; the coursework returns feedback files
/// when `files` says so.
async fn course(files: bool) -> TestApp {
    let t = TestApp::new().await;
    t.change_coursework(|a| a.feedback_files = Set(files)).await;
    t.hand_in("alice", "coursework", "alice's").await;
    t.hand_in("bob", "coursework", "bob's").await;
    t
}

async fn add_file<'c>(
    t: &'c TestApp,
    student: &str,
    name: &str,
    bytes: &[u8],
) -> LocalResponse<'c> {
    let csrf = t.csrf().await;
    let (content_type, body) =
        multipart(&[Part::text("csrf", &csrf), Part::file("file", name, bytes)]);
    t.client
        .post(format!("{COURSEWORK}/marking/{student}/feedback-files"))
        .header(content_type)
        .body(body)
        .dispatch()
        .await
}

async fn import_zip<'c>(t: &'c TestApp, zip: &[u8]) -> LocalResponse<'c> {
    let csrf = t.csrf().await;
    let (content_type, body) = multipart(&[
        Part::text("csrf", &csrf),
        Part::file("zip", "feedback.zip", zip),
    ]);
    t.client
        .post(format!("{COURSEWORK}/feedback-files/import"))
        .header(content_type)
        .body(body)
        .dispatch()
        .await
}

async fn rows(t: &TestApp) -> Vec<feedback_file::Model> {
    feedback_file::Entity::find()
        .all(&t.app().db)
        .await
        .unwrap()
}

/// The files on the store's feedback shelf.
fn kept(t: &TestApp) -> usize {
    t.upload_files()
        .iter()
        .filter(|p| p.parent().is_some_and(|d| d.ends_with("feedback")))
        .count()
}

/// The zip a marker makes from the all-submissions zip: its folders and
/// manifest as they came, with feedback added to some folders.
fn with_feedback(all_submissions: &[u8], added: &[(&str, &[u8])]) -> Vec<u8> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(all_submissions)).unwrap();
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).unwrap();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        files.push((
            String::from_utf8_lossy(entry.name_raw()).into_owned(),
            bytes,
        ));
    }
    let mut all: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    all.extend_from_slice(added);
    zip_of(&all)
}

#[rocket::async_test]
async fn feedback_files_go_back_one_by_one_and_in_a_zip_and_each_student_gets_only_their_own() {
    let t = course(true).await;
    t.login("mark").await;
    let added = add_file(&t, "alice", "C:\\Users\\mark\\notes.txt", b"first thoughts").await;
    assert_eq!(added.status(), Status::SeeOther);
    let history = t.page(format!("{COURSEWORK}/marking/alice")).await;
    assert!(history.contains("notes.txt added"), "{history}");
    assert!(history.contains(">notes.txt</a>"), "{history}");

    // The marker downloads everything, adds a file to two folders, and
    // zips it all up again.
    let everything = t
        .client
        .get(format!("{COURSEWORK}/submissions.zip"))
        .dispatch()
        .await
        .into_bytes()
        .await
        .unwrap();
    let zip = with_feedback(
        &everything,
        &[
            ("alice/marked.pdf", b"%PDF alice marked"),
            ("bob/marked.pdf", b"%PDF bob marked"),
            ("bob/tests/results.txt", b"7 of 8 passed"),
            ("__MACOSX/bob/._marked.pdf", b"resource fork"),
        ],
    );
    let imported = import_zip(&t, &zip).await;
    assert_eq!(imported.status(), Status::SeeOther);
    let table = t.page(format!("{COURSEWORK}/marking")).await;
    assert!(
        table.contains("3 feedback files for 2 students")
            && table.contains("4 files were left out"),
        "{table}"
    );
    // alice's folder replaced what she had: notes.txt is gone, from the
    // database and from the store.
    let files = rows(&t).await;
    let mut names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["marked.pdf", "marked.pdf", "tests/results.txt"]);
    assert_eq!(kept(&t), 3);
    let alice = handin::models::user::find_by_username(&t.app().db, "alice")
        .await
        .unwrap()
        .unwrap()
        .id;
    let alices: Vec<&feedback_file::Model> =
        files.iter().filter(|f| f.student_id == alice).collect();
    assert_eq!(alices.len(), 1);
    assert_eq!(alices[0].sha256, sha256_hex(b"%PDF alice marked"));
    let bobs = files.iter().find(|f| f.student_id != alice).unwrap();

    // Nothing is shown before the release, not even by id.
    t.login("alice").await;
    assert!(!t.page(COURSEWORK).await.contains("marked.pdf"));
    let early = t
        .client
        .get(format!("/feedback-files/{}", alices[0].id))
        .dispatch()
        .await;
    assert_eq!(early.status(), Status::NotFound);

    t.login("mark").await;
    t.submit(&format!("{COURSEWORK}/marks/release"), "release=now&at=")
        .await;
    t.login("alice").await;
    let page = t.page(COURSEWORK).await;
    assert!(page.contains(">marked.pdf</a>"), "{page}");
    assert!(!page.contains("results.txt"), "{page}");
    let download = t
        .client
        .get(format!("/feedback-files/{}", alices[0].id))
        .dispatch()
        .await;
    assert_eq!(download.status(), Status::Ok);
    assert_eq!(download.content_type(), Some(ContentType::Binary));
    assert_eq!(
        download.headers().get_one("Content-Disposition"),
        Some("attachment; filename=\"COMP6248-coursework-feedback-marked.pdf\"")
    );
    assert_eq!(download.into_bytes().await.unwrap(), b"%PDF alice marked");
    // Another student's file does not exist for her.
    let other = t
        .client
        .get(format!("/feedback-files/{}", bobs.id))
        .dispatch()
        .await;
    assert_eq!(other.status(), Status::NotFound);

    // A file removed after the release is a change bob is told of; it is
    // on the record, and gone from the store.
    t.login("mark").await;
    t.submit(&format!("{COURSEWORK}/marking/bob/mark"), "mark=60")
        .await;
    let removed = t
        .submit(
            &format!("{COURSEWORK}/marking/bob/feedback-files/{}/remove", bobs.id),
            "",
        )
        .await;
    assert_eq!(removed.status(), Status::SeeOther);
    assert_eq!(kept(&t), 2);
    let actions: Vec<String> = audit::Entity::find()
        .all(&t.app().db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    for action in ["feedback_files_added", "feedback_file_removed"] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} in {actions:?}"
        );
    }
    t.login("bob").await;
    let page = t.page(COURSEWORK).await;
    assert!(
        page.contains("changed after the marks were released"),
        "{page}"
    );
    assert!(
        page.contains("results.txt") && !page.contains(">marked.pdf<"),
        "{page}"
    );

    // `handin verify` checks what students were given back too.
    let report = handin::services::verify::verify_all(t.app(), |_, _, _| {})
        .await
        .unwrap();
    assert_eq!(
        (report.feedback_checked, report.feedback_problems.len()),
        (2, 0)
    );
    let path = t.app().uploads.folder_path(&alices[0].stored_path).unwrap();
    std::fs::write(&path, b"%PDF alice marked, then changed").unwrap();
    let report = handin::services::verify::verify_all(t.app(), |_, _, _| {})
        .await
        .unwrap();
    assert_eq!(report.feedback_problems.len(), 1);
    let named = format!(
        "COMP6248 coursework alice feedback file marked.pdf (id {}): the stored file has changed",
        alices[0].id
    );
    assert!(
        report.feedback_problems[0].starts_with(&named),
        "{:?}",
        report.feedback_problems
    );
}

/// A stored zip whose one entry says it holds fewer bytes than it does.
fn lying_zip() -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    writer.start_file("alice/big.txt", stored).unwrap();
    std::io::Write::write_all(&mut writer, &[b'x'; 100]).unwrap();
    let mut bytes = writer.finish().unwrap().into_inner();
    // The uncompressed size, in the local header (offset 22) and in the
    // central directory (offset 24): 100 becomes 10, in both, so the headers
    // agree with each other and not with the data.
    let find = |bytes: &[u8], signature: &[u8]| {
        bytes
            .windows(4)
            .position(|w| w == signature)
            .expect("a header")
    };
    let local = find(&bytes, b"PK\x03\x04");
    bytes[local + 22..local + 26].copy_from_slice(&10u32.to_le_bytes());
    let central = find(&bytes, b"PK\x01\x02");
    bytes[central + 24..central + 28].copy_from_slice(&10u32.to_le_bytes());
    bytes
}

#[rocket::async_test]
async fn a_bad_feedback_zip_changes_nothing_and_every_problem_is_named() {
    let t = course(true).await;
    t.login("mark").await;
    add_file(&t, "alice", "kept.txt", b"stays").await;
    let before = (rows(&t).await, kept(&t));

    let bad = zip_of(&[
        ("stray.pdf", b"loose"),
        ("mallory/x.pdf", b"nobody"),
        ("mallory/y.pdf", b"nobody"),
        ("alice/fine.pdf", b"fine"),
    ]);
    let refused = import_zip(&t, &bad).await;
    assert_eq!(refused.status(), Status::UnprocessableEntity);
    let page = refused.into_string().await.unwrap();
    for problem in [
        "stray.pdf: not in a student&#x27;s folder",
        "folder mallory: no such student on this assignment",
    ] {
        assert!(page.contains(problem), "{problem} in {page}");
    }
    assert_eq!(page.matches("folder mallory").count(), 1, "{page}");

    for (zip, says) in [
        (b"not a zip at all".to_vec(), "not a readable zip archive"),
        (zip_of(&[("alice/../../etc/x", b"up")]), "is not allowed"),
        // The zip crate notices first; handin's own limit is the backstop.
        (lying_zip(), "larger than its declared uncompressed size"),
        (
            zip_of(&[("manifest.csv", b"x")]),
            "there are no feedback files in it",
        ),
    ] {
        let answer = import_zip(&t, &zip).await;
        assert_eq!(answer.status(), Status::UnprocessableEntity, "{says}");
        let page = answer.into_string().await.unwrap();
        assert!(page.contains(says), "{says} in {page}");
    }
    assert_eq!((rows(&t).await, kept(&t)), before);

    // Not while the assignment does not use feedback files, nor for students.
    let t = course(false).await;
    t.login("mark").await;
    let off = import_zip(&t, &zip_of(&[("alice/f.pdf", b"f")])).await;
    assert_eq!(off.status(), Status::UnprocessableEntity);
    assert!(
        off.into_string()
            .await
            .unwrap()
            .contains("does not use feedback files")
    );
    let off = add_file(&t, "alice", "f.pdf", b"f").await;
    assert_eq!(off.status(), Status::UnprocessableEntity);
    t.login("alice").await;
    let student = import_zip(&t, &zip_of(&[("alice/f.pdf", b"f")])).await;
    assert_eq!(student.status(), Status::Forbidden);
    assert!(rows(&t).await.is_empty());
    assert_eq!(kept(&t), 0);
}
