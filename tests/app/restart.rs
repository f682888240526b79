//! Starting again after a crash: leftovers are cleaned, submissions kept.

use crate::support::*;

#[rocket::async_test]
async fn a_restart_removes_partial_and_unrecorded_files_and_keeps_submissions() {
    let t = TestApp::new().await;
    t.login("alice").await;
    let csrf = t.csrf().await;
    t.upload_form("coursework", Some(&csrf), "b.zip", &coursework_zip("kept"))
        .await;
    let kept = t.upload_files();
    assert_eq!(kept.len(), 1);
    let uploads = t.dir.path().join("uploads");
    // What a crash mid-upload, or between rename and insert, leaves behind.
    std::fs::write(uploads.join("incoming/abc.part"), b"half a bundle").unwrap();
    std::fs::write(uploads.join("bundles/ffff.zip"), b"never recorded").unwrap();

    let dir = t.dir;
    drop(t.client);
    let t = TestApp::start(dir, Options::default()).await;
    assert_eq!(t.upload_files(), kept);
    assert_eq!(t.submission_count().await, 1);
}
