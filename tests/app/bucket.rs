//! Bundles in an S3-compatible bucket (a real Garage, see `garage.rs`):
//! everything that touches a bundle, through the app as people use it.

use std::io::Read;

use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as Key;
use rocket::futures::StreamExt;
use rocket::http::Status;
use sea_orm::EntityTrait;

use crate::database::TestDir;
use crate::garage;
use crate::support::*;

/// The app with its bundles in a fresh prefix of the tests' bucket.
async fn on_bucket() -> (TestApp, String) {
    let storage = garage::fresh_storage();
    let t = TestApp::with(Options {
        storage: Some(storage.clone()),
        ..Options::default()
    })
    .await;
    (t, storage)
}

/// Every key under the app's prefix, relative to it, sorted.
pub async fn objects(storage: &str) -> Vec<String> {
    let prefix = storage.trim_start_matches(&format!("s3://{}/", garage::BUCKET));
    let settings = garage::settings(prefix);
    let store = AmazonS3Builder::new()
        .with_bucket_name(&settings.bucket)
        .with_endpoint(settings.endpoint.clone().unwrap())
        .with_allow_http(true)
        .with_region(settings.region.clone().unwrap())
        .with_access_key_id(settings.access_key_id.clone().unwrap())
        .with_secret_access_key(settings.secret_access_key.clone().unwrap())
        .build()
        .unwrap();
    let mut listed = store.list(Some(&Key::from(prefix)));
    let mut keys = Vec::new();
    while let Some(object) = listed.next().await {
        let key = object.unwrap().location.to_string();
        keys.push(key[prefix.len() + 1..].to_string());
    }
    keys.sort();
    keys
}

/// Waits (a little) for background deletions of `incoming/` objects.
async fn settled(storage: &str) -> Vec<String> {
    for _ in 0..50 {
        let keys = objects(storage).await;
        if !keys.iter().any(|k| k.starts_with("incoming/")) {
            return keys;
        }
        rocket::tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    objects(storage).await
}

#[rocket::async_test]
async fn a_bundle_goes_through_a_bucket_from_upload_to_every_download() {
    let (t, storage) = on_bucket().await;
    let db = &t.app().db;

    // Handed in: the receipt's hash is the object's, and nothing is left in incoming/.
    t.login("alice").await;
    let csrf = t.csrf().await;
    let sent = coursework_zip("in a bucket");
    let reply = t
        .upload_form("coursework", Some(&csrf), "b.zip", &sent)
        .await;
    assert_eq!(reply.status(), Status::SeeOther);
    let row = handin::models::submission::Entity::find()
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.sha256, sha256_hex(&sent));
    let keys = settled(&storage).await;
    assert_eq!(
        keys,
        vec![row.stored_path.clone()],
        "one object, on its shelf"
    );
    assert_eq!(
        t.app().uploads.digest(&row.stored_path).await.unwrap(),
        Some((sha256_hex(&sent), sent.len() as u64))
    );

    // Refused bundles leave nothing: not a zip, a zip without the report,
    // and one past the assignment's limit.
    let not_a_zip = t
        .upload_form("coursework", Some(&csrf), "b.zip", b"not a zip at all")
        .await;
    assert_eq!(not_a_zip.status(), Status::UnprocessableEntity);
    let no_report = zip_of(&[("notes.txt", b"no report")]);
    let missing = t
        .upload_form("coursework", Some(&csrf), "b.zip", &no_report)
        .await;
    assert_eq!(missing.status(), Status::UnprocessableEntity);
    let big = zip_of(&[("report.pdf", &noise(2 * 1024 * 1024))]);
    let too_big = t
        .upload_form("coursework", Some(&csrf), "b.zip", &big)
        .await;
    assert_eq!(too_big.status(), Status::PayloadTooLarge);
    assert_eq!(settled(&storage).await, vec![row.stored_path.clone()]);

    // One file read out of the stored object by ranged reads, for a preview.
    let code = t.page(format!("/submissions/{}/files/1", row.id)).await;
    assert!(code.contains("print(&#x27;hi&#x27;)"), "{code}");

    // The student's own download, with its digest.
    let download = t
        .client
        .get(format!("/submissions/{}/bundle", row.id))
        .dispatch()
        .await;
    assert_eq!(download.status(), Status::Ok);
    let digest = download
        .headers()
        .get_one("Repr-Digest")
        .unwrap()
        .to_string();
    let expected = {
        use base64::Engine;
        let raw = hex::decode(sha256_hex(&sent)).unwrap();
        format!(
            "sha-256=:{}:",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    };
    assert_eq!(digest, expected);
    assert_eq!(
        download.body().preset_size(),
        Some(sent.len()),
        "the size is known before the first byte"
    );
    assert_eq!(download.into_bytes().await.unwrap(), sent);

    // Evidence for an extension request, kept and served from the bucket.
    let asked = crate::admin::ask_extension(&t, &csrf, "I was ill", b"%PDF a note").await;
    assert_eq!(asked.status(), Status::SeeOther);
    let request = handin::models::requests::Entity::find()
        .one(db)
        .await
        .unwrap()
        .unwrap();
    let evidence = t
        .client
        .get(format!("/extension-requests/{}/evidence", request.id))
        .dispatch()
        .await;
    assert_eq!(evidence.into_bytes().await.unwrap(), b"%PDF a note");
    let evidence_key = request.evidence_path.clone().unwrap();
    assert!(evidence_key.starts_with("evidence/"));
    assert!(settled(&storage).await.contains(&evidence_key));

    // The marker's zip of every bundle, read back from the bucket.
    t.login("mark").await;
    let all = t
        .client
        .get("/courses/COMP6248/assignments/coursework/submissions.zip")
        .dispatch()
        .await;
    assert_eq!(all.status(), Status::Ok);
    let bytes = all.into_bytes().await.unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let name = (0..zip.len())
        .map(|i| zip.by_index(i).unwrap().name().unwrap().to_string())
        .find(|name| name.ends_with(".zip"))
        .expect("the bundle is in the zip");
    let mut inside = Vec::new();
    zip.by_name(&name)
        .unwrap()
        .read_to_end(&mut inside)
        .unwrap();
    assert_eq!(inside, sent);

    // Verification reads every object through the bucket.
    let report = handin::services::verify::verify_all(t.app(), |_, _, _| {})
        .await
        .unwrap();
    assert_eq!((report.checked, report.problems.len()), (1, 0));
}

#[rocket::async_test]
async fn verify_finds_a_changed_or_missing_object_in_a_bucket() {
    let (t, storage) = on_bucket().await;
    t.hand_in("alice", "coursework", "one").await;
    t.hand_in("bob", "coursework", "two").await;
    let rows = handin::models::submission::Entity::find()
        .all(&t.app().db)
        .await
        .unwrap();
    // Someone with the bucket's keys deletes one object.
    t.app().uploads.discard(&rows[1].stored_path).await;
    let report = handin::services::verify::verify_all(t.app(), |_, _, _| {})
        .await
        .unwrap();
    assert_eq!(report.checked, 2);
    assert_eq!(report.problems.len(), 1);
    assert_eq!(report.problems[0].what, "the stored file is missing");
    assert_eq!(settled(&storage).await, vec![rows[0].stored_path.clone()]);
}

#[rocket::async_test]
async fn a_restart_cleans_up_after_a_stopped_instance_in_a_bucket() {
    let (t, storage) = on_bucket().await;
    t.hand_in("alice", "coursework", "kept").await;
    let kept = settled(&storage).await;
    // What a dead instance leaves: an upload in its incoming/, and a bundle
    // kept but never recorded.
    let stray = handin::storage::Place::Bucket(garage::settings(
        storage.trim_start_matches(&format!("s3://{}/", garage::BUCKET)),
    ));
    t.other_instance("deadbeefdeadbeef", 120).await;
    let dead = handin::storage::Uploads::open(&stray, "deadbeefdeadbeef")
        .await
        .unwrap();
    let half = dead.receive(&b"half a bundle"[..], 100).await.unwrap();
    let unrecorded = dead.receive(&b"never recorded"[..], 100).await.unwrap();
    let lost = dead
        .keep(unrecorded, handin::storage::Shelf::Bundles)
        .await
        .unwrap();
    std::mem::forget(half); // the process died: nobody deletes it
    let dir: TestDir = t.stop().await;
    let t = TestApp::start(
        dir,
        Options {
            storage: Some(storage.clone()),
            ..Options::default()
        },
    )
    .await;
    let keys = settled(&storage).await;
    let set_aside = format!("orphans/bundles-{}", lost.trim_start_matches("bundles/"));
    let mut expected = kept.clone();
    expected.push(set_aside);
    expected.sort();
    assert_eq!(
        keys, expected,
        "incoming/ emptied, the unrecorded bundle set aside"
    );
    assert_eq!(t.submission_count().await, 1);
}

#[rocket::async_test]
async fn uploads_to_a_bucket_share_a_memory_budget_and_all_finish() {
    // A budget of one part: five uploads of 12 MiB (three parts each) at
    // once must take turns, and every one of them must finish.
    let storage = garage::fresh_storage();
    let prefix = storage.trim_start_matches(&format!("s3://{}/", garage::BUCKET));
    let settings = handin::storage::BucketSettings {
        buffer_mib: 5,
        ..garage::settings(prefix)
    };
    let uploads =
        handin::storage::Uploads::open(&handin::storage::Place::Bucket(settings), "budget")
            .await
            .unwrap();
    let bundles: Vec<Vec<u8>> = (0..5).map(|i| noise(12 * 1024 * 1024 + i)).collect();
    let receives = bundles
        .iter()
        .map(|bytes| uploads.receive(bytes.as_slice(), u64::MAX));
    let received = rocket::tokio::time::timeout(
        std::time::Duration::from_secs(120),
        futures::future::join_all(receives),
    )
    .await
    .expect("no upload waits for ever");
    for (bytes, received) in bundles.iter().zip(received) {
        let received = received.unwrap();
        assert_eq!(received.sha256, sha256_hex(bytes));
        let kept = uploads
            .keep(received, handin::storage::Shelf::Bundles)
            .await
            .unwrap();
        assert_eq!(
            uploads.digest(&kept).await.unwrap(),
            Some((sha256_hex(bytes), bytes.len() as u64))
        );
    }
}
