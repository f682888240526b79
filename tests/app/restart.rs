//! Starting again after a crash: partial uploads are removed, unrecorded
//! files set aside, submissions kept; and a wrong database destroys nothing.

use crate::support::*;

#[rocket::async_test]
async fn a_restart_removes_partial_uploads_sets_aside_unrecorded_files_and_keeps_submissions() {
    let t = TestApp::new().await;
    t.login("alice").await;
    let csrf = t.csrf().await;
    t.upload_form("coursework", Some(&csrf), "b.zip", &coursework_zip("kept"))
        .await;
    let kept = t.upload_files();
    assert_eq!(kept.len(), 1);
    let uploads = t.dir.path().join("uploads");
    // What a crash mid-upload, or between the link and the insert, leaves
    // behind: the dead instance's upload in flight, and files without rows.
    t.other_instance("0123456789abcdef", 120).await;
    std::fs::create_dir_all(uploads.join("incoming/0123456789abcdef")).unwrap();
    std::fs::write(
        uploads.join("incoming/0123456789abcdef/abc.part"),
        b"half a bundle",
    )
    .unwrap();
    std::fs::write(uploads.join("bundles/ffff.zip"), b"never recorded").unwrap();
    std::fs::write(uploads.join("evidence/eeee.bin"), b"never recorded").unwrap();

    let dir = t.stop().await;
    let t = TestApp::start(dir, Options::default()).await;
    assert_eq!(t.upload_files(), kept);
    assert_eq!(t.submission_count().await, 1);
    assert!(!uploads.join("incoming/0123456789abcdef").exists());
    assert_eq!(
        std::fs::read(uploads.join("orphans/bundles-ffff.zip")).unwrap(),
        b"never recorded"
    );
    assert!(uploads.join("orphans/evidence-eeee.bin").exists());
}

#[rocket::async_test]
async fn a_server_started_on_an_empty_database_destroys_no_bundle() {
    let t = TestApp::new().await;
    t.hand_in("alice", "coursework", "precious").await;
    let dir = t.stop().await;
    // Someone points the server at a new, empty database by mistake.
    crate::database::forget(dir.path());
    let t = TestApp::start(dir, Options::default()).await;
    let orphans: Vec<_> = std::fs::read_dir(t.dir.path().join("uploads/orphans"))
        .unwrap()
        .collect();
    assert_eq!(orphans.len(), 1, "the bundle is set aside, not deleted");
}
