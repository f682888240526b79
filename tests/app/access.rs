//! Who may see what: login, roles, other students' work.

use rocket::http::{ContentType, Status};

use crate::support::*;

#[rocket::async_test]
async fn an_unauthenticated_page_goes_to_the_login_page() {
    let t = TestApp::new().await;
    for path in ["/", "/courses/COMP6248/assignments/labs", "/submissions/1"] {
        let response = t.client.get(path).dispatch().await;
        assert_eq!(response.status(), Status::SeeOther, "{path}");
        let location = response.headers().get_one("Location").unwrap();
        assert!(
            location.starts_with("/login?next="),
            "{path} went to {location}"
        );
    }
    assert_eq!(t.client.get("/login").dispatch().await.status(), Status::Ok);
    // An unauthenticated upload is refused before anything is stored.
    let response = t
        .upload_form("coursework", Some("x"), "b.zip", &coursework_zip("x"))
        .await;
    assert_eq!(response.status(), Status::SeeOther);
    assert_eq!(t.snapshot().await, (0, vec![]));
}

#[rocket::async_test]
async fn a_wrong_password_is_refused_and_logging_out_needs_the_token() {
    let t = TestApp::new().await;
    let response = t.post_login("alice", "wrong").await;
    assert_eq!(response.status(), Status::Unauthorized);
    assert!(
        response
            .into_string()
            .await
            .unwrap()
            .contains("do not match")
    );
    // A login form without its token is refused too.
    let response = t
        .client
        .post("/login")
        .header(ContentType::Form)
        .body(format!(
            "csrf=forged&username=alice&password={}",
            PASSWORD.replace(' ', "+")
        ))
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::Forbidden);
    assert_eq!(
        t.client.get("/").dispatch().await.status(),
        Status::SeeOther
    );

    t.login("alice").await;
    assert_eq!(t.client.get("/").dispatch().await.status(), Status::Ok);
    let response = t
        .client
        .post("/logout")
        .header(ContentType::Form)
        .body("csrf=forged")
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::Forbidden);
    assert_eq!(
        t.client.get("/").dispatch().await.status(),
        Status::Ok,
        "still logged in"
    );
    let csrf = t.csrf().await;
    let response = t
        .client
        .post("/logout")
        .header(ContentType::Form)
        .body(format!("csrf={csrf}"))
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::SeeOther);
    assert_eq!(
        t.client.get("/").dispatch().await.status(),
        Status::SeeOther,
        "logged out"
    );
}

#[rocket::async_test]
async fn login_never_redirects_off_site() {
    let t = TestApp::new().await;
    let page = t.page("/login?next=//evil.example/").await;
    assert_eq!(hidden_value(&page, "next"), "&#x2f;");
}

#[rocket::async_test]
async fn a_crafted_next_never_breaks_login() {
    let t = TestApp::new().await;
    for next in ["%2F%20x", "%2F%C3%A9", "%2F%22x", "%2F%3Cx%3E", "%2F%5Cx"] {
        let attempt = LoginAttempt {
            next,
            ..LoginAttempt::default()
        };
        let response = t.try_login(attempt).await;
        assert_eq!(response.status(), Status::SeeOther, "next={next}");
        assert_eq!(
            response.headers().get_one("Location"),
            Some("/"),
            "next={next}"
        );
    }
}

#[rocket::async_test]
async fn a_student_cannot_read_another_students_receipt_but_their_marker_can() {
    let t = TestApp::new().await;
    t.login("alice").await;
    let csrf = t.csrf().await;
    let response = t
        .upload_form("coursework", Some(&csrf), "b.zip", &coursework_zip("alice"))
        .await;
    let location = response.headers().get_one("Location").unwrap().to_string();
    assert_eq!(
        t.client.get(location.clone()).dispatch().await.status(),
        Status::Ok
    );

    t.login("bob").await;
    assert_eq!(
        t.client.get(location.clone()).dispatch().await.status(),
        Status::NotFound
    );
    t.login("carol").await;
    assert_eq!(
        t.client.get(location.clone()).dispatch().await.status(),
        Status::NotFound
    );
    t.login("other").await;
    assert_eq!(
        t.client.get(location.clone()).dispatch().await.status(),
        Status::NotFound
    );
    t.login("mark").await;
    assert_eq!(
        t.client.get(location.clone()).dispatch().await.status(),
        Status::Ok
    );
    t.login("admin").await;
    assert_eq!(t.client.get(location).dispatch().await.status(), Status::Ok);
}

#[rocket::async_test]
async fn only_enrolled_students_can_hand_in() {
    let t = TestApp::new().await;
    for who in ["carol", "mark", "admin"] {
        t.login(who).await;
        let csrf = t.csrf().await;
        let response = t
            .upload_form("coursework", Some(&csrf), "b.zip", &coursework_zip(who))
            .await;
        assert_eq!(response.status(), Status::Forbidden, "{who}");
    }
    t.login("carol").await;
    let response = t
        .client
        .get("/courses/COMP6248/assignments/coursework")
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::Forbidden);
    assert_eq!(t.snapshot().await, (0, vec![]));
}

#[rocket::async_test]
async fn the_dashboard_shows_deadlines_in_local_time_with_the_zone_and_the_time_left() {
    let t = TestApp::new().await;
    t.login("alice").await;
    let page = t.page("/").await;
    assert!(page.contains("Fri 29 May 2020, 16:00 BST"), "{page}");
    assert!(page.contains("4 h 0 min left"), "12:00 BST to 16:00 BST");
    assert!(page.contains("Wed 20 May 2020, 16:00 BST"));
    assert!(
        page.contains("late by 8 d 20 h"),
        "labs: nothing handed in, the deadline passed"
    );
    assert!(page.contains("data-unsubmitted"));
    assert!(!page.contains("Introduction"), "not enrolled in COMP1000");
}

#[rocket::async_test]
async fn cookies_are_http_only_strict_and_secure_when_configured() {
    for secure in [false, true] {
        let t = TestApp::with(Options {
            secure_cookies: secure,
            ..Options::default()
        })
        .await;
        let response = t.client.get("/login").dispatch().await;
        let cookie = response
            .headers()
            .get_one("Set-Cookie")
            .unwrap()
            .to_string();
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
            "{cookie}"
        );
        assert_eq!(cookie.contains("Secure"), secure, "{cookie}");
    }
}
