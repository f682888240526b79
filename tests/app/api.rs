//! The JSON API: tokens, the assignment list, submissions and receipts.

use rocket::http::Status;
use serde_json::Value;

use crate::support::*;

async fn get_json(t: &TestApp, token: &str, path: &str) -> (Status, Value) {
    t.api_json(token, rocket::http::Method::Get, path, None)
        .await
}

#[rocket::async_test]
async fn a_script_hands_in_and_reads_its_receipt() {
    let t = TestApp::new().await;
    let token = t.token("alice").await;
    let bytes = coursework_zip("api");
    t.set_time("2020-05-29T15:00:01Z");
    let response = t
        .upload_api(&token, "COMP6248/assignments/coursework", &bytes)
        .await;
    assert_eq!(response.status(), Status::Created);
    let location = response.headers().get_one("Location").unwrap().to_string();
    let receipt: Value = serde_json::from_str(&response.into_string().await.unwrap()).unwrap();
    assert_eq!(receipt["attempt"], 1);
    assert_eq!(receipt["sha256"], sha256_hex(&bytes));
    assert_eq!(receipt["size"], bytes.len());
    assert_eq!(receipt["received_at"], "2020-05-29T15:00:01.000Z");
    assert_eq!(receipt["status"], "late");
    assert_eq!(receipt["late_by_seconds"], 1);
    assert_eq!(receipt["effective_deadline"], "2020-05-29T16:00:00+01:00");
    assert_eq!(
        receipt["files"],
        serde_json::json!(["report.pdf", "code/model.py"])
    );
    let id = receipt["id"].as_i64().unwrap();
    assert_eq!(location, format!("/api/v1/submissions/{id}"));

    let (status, again) = get_json(&t, &token, &location).await;
    assert_eq!(status, Status::Ok);
    assert_eq!(again["sha256"], receipt["sha256"]);

    // Another student gets nothing; their marker sees it.
    let bob = t.token("bob").await;
    let (status, body) = get_json(&t, &bob, &location).await;
    assert_eq!(status, Status::NotFound);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("No such submission")
    );
    let mark = t.token("mark").await;
    assert_eq!(get_json(&t, &mark, &location).await.0, Status::Ok);
}

#[rocket::async_test]
async fn the_assignment_list_shows_each_callers_deadline_and_status() {
    let t = TestApp::new().await;
    let token = t.token("alice").await;
    t.upload_api(
        &token,
        "COMP6248/assignments/coursework",
        &coursework_zip("x"),
    )
    .await;
    let (status, list) = get_json(&t, &token, "/api/v1/assignments").await;
    assert_eq!(status, Status::Ok);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2, "alice sees COMP6248's two assignments only");
    let labs = list.iter().find(|a| a["slug"] == "labs").unwrap();
    assert_eq!(labs["due"], "2020-05-20T16:00:00+01:00");
    assert_eq!(labs["time_zone"], "Europe/London");
    assert_eq!(labs["status"], "not_submitted");
    let coursework = list.iter().find(|a| a["slug"] == "coursework").unwrap();
    assert_eq!(coursework["status"], "on_time");
    assert_eq!(coursework["hard_close"], "2020-06-05T16:00:00+01:00");
    assert_eq!(
        coursework["effective_deadline"],
        "2020-05-29T16:00:00+01:00"
    );

    let admin = t.token("admin").await;
    let (_, list) = get_json(&t, &admin, "/api/v1/assignments").await;
    assert_eq!(
        list.as_array().unwrap().len(),
        3,
        "administrators see every course"
    );
    assert!(
        list[0]["status"].is_null(),
        "no student status for an administrator"
    );
}

#[rocket::async_test]
async fn api_errors_are_json_with_the_fitting_status() {
    let t = TestApp::new().await;
    let (status, body) = get_json(&t, "", "/api/v1/assignments").await;
    assert_eq!(status, Status::Unauthorized);
    assert!(body["message"].as_str().unwrap().contains("Bearer"));
    let (status, _) = get_json(&t, "hdn_forged", "/api/v1/assignments").await;
    assert_eq!(status, Status::Unauthorized);

    let alice = t.token("alice").await;
    let cases = [
        (
            "COMP6248/assignments/nope",
            coursework_zip("x"),
            Status::NotFound,
        ),
        (
            "COMP1000/assignments/intro",
            coursework_zip("x"),
            Status::Forbidden,
        ),
        (
            "COMP6248/assignments/coursework",
            b"not a zip".to_vec(),
            Status::UnprocessableEntity,
        ),
    ];
    for (path, bytes, expected) in cases {
        let response = t.upload_api(&alice, path, &bytes).await;
        assert_eq!(response.status(), expected, "{path}");
        let body: Value = serde_json::from_str(&response.into_string().await.unwrap()).unwrap();
        assert!(!body["message"].as_str().unwrap().is_empty(), "{path}");
    }
    let mark = t.token("mark").await;
    assert_eq!(
        t.upload_api(
            &mark,
            "COMP6248/assignments/coursework",
            &coursework_zip("m")
        )
        .await
        .status(),
        Status::Forbidden
    );

    // A session cookie does not work on the API: scripts use tokens. Not
    // even through another spelling of the same path, where a forged form
    // would otherwise hand in without a CSRF token.
    t.login("alice").await;
    for path in [
        "//api/v1/assignments",
        "/%61pi/v1/assignments",
        "/api//v1/assignments",
    ] {
        let status = t.client.get(path).dispatch().await.status();
        assert!(matches!(status.code, 401 | 404), "{path}: {status}");
    }
    for path in [
        "//api/v1/courses/COMP6248/assignments/coursework/submissions",
        "/%61pi/v1/courses/COMP6248/assignments/coursework/submissions",
    ] {
        let (content_type, body) =
            multipart(&[Part::file("bundle", "b.zip", &coursework_zip("forged"))]);
        let status = t
            .client
            .post(path)
            .header(content_type)
            .body(body)
            .dispatch()
            .await
            .status();
        assert!(matches!(status.code, 401 | 404), "{path}: {status}");
    }
    assert_eq!(t.snapshot().await, (0, vec![]));
    assert_eq!(
        t.client
            .get("/api/v1/assignments")
            .dispatch()
            .await
            .status(),
        Status::Unauthorized
    );

    // A multipart body without the bundle field, and one with a field nobody asked for.
    for (parts, status, message) in [
        (
            vec![Part::text("csrf", "x")],
            Status::UnprocessableEntity,
            "No file was sent",
        ),
        (
            vec![Part::text("note", "hello")],
            Status::BadRequest,
            "Unexpected form field 'note'",
        ),
    ] {
        let (content_type, body) = multipart(&parts);
        let response = t
            .client
            .post("/api/v1/courses/COMP6248/assignments/coursework/submissions")
            .header(content_type)
            .header(bearer(&alice))
            .body(body)
            .dispatch()
            .await;
        assert_eq!(response.status(), status, "{message}");
        assert!(
            response.into_string().await.unwrap().contains(message),
            "{message}"
        );
    }
    assert_eq!(t.snapshot().await, (0, vec![]));
}
