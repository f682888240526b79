//! Extension requests: asked, sent back for more, approved, seen by the student.

use super::*;

#[rocket::async_test]
async fn a_student_asks_staff_ask_for_more_then_approve_and_the_student_sees_each_outcome() {
    let t = TestApp::new().await;
    t.login("alice").await;
    let csrf = t.csrf().await;
    let asked = ask_extension(&t, &csrf, "I was ill", b"%PDF doctor's note").await;
    assert_eq!(asked.status(), Status::SeeOther);
    let page = t.page("/courses/COMP6248/assignments/coursework").await;
    assert!(page.contains("waiting for a decision"));

    let request_id = handin::models::requests::Entity::find()
        .one(&t.app().db)
        .await
        .unwrap()
        .unwrap()
        .id;
    let decide = |csrf: String, decision: &'static str, comment: &'static str| {
        let body = form(&[
            ("csrf", &csrf),
            ("decision", decision),
            ("until", "2020-06-03T16:00"),
            ("comment", comment),
        ]);
        t.client
            .post(format!(
                "/courses/COMP6248/assignments/coursework/extension-requests/{request_id}"
            ))
            .header(ContentType::Form)
            .body(body)
            .dispatch()
    };
    // A student cannot decide, not even their own.
    assert_eq!(
        decide(csrf.clone(), "approve", "").await.status(),
        Status::Forbidden
    );

    t.login("admin").await;
    let admin_csrf = t.csrf().await;
    let evidence = t
        .client
        .get(format!("/extension-requests/{request_id}/evidence"))
        .dispatch()
        .await;
    assert_eq!(evidence.into_bytes().await.unwrap(), b"%PDF doctor's note");
    assert_eq!(
        decide(admin_csrf.clone(), "more_information", "")
            .await
            .status(),
        Status::UnprocessableEntity,
        "a comment is needed"
    );
    assert_eq!(
        decide(admin_csrf.clone(), "more_information", "Which days?")
            .await
            .status(),
        Status::SeeOther
    );

    t.login("alice").await;
    let page = t.page("/courses/COMP6248/assignments/coursework").await;
    assert!(page.contains("more information needed") && page.contains("Which days?"));
    let csrf = t.csrf().await;
    let response = ask_extension(&t, &csrf, "25 to 28 May", b"").await;
    assert_eq!(response.status(), Status::SeeOther);
    assert_eq!(
        handin::models::requests::Entity::find()
            .count(&t.app().db)
            .await
            .unwrap(),
        1,
        "the same request, answered"
    );

    t.login("admin").await;
    assert_eq!(
        decide(admin_csrf.clone(), "approve", "").await.status(),
        Status::Forbidden,
        "a new session, a new token"
    );
    let admin_csrf = t.csrf().await;
    assert_eq!(
        decide(admin_csrf.clone(), "approve", "").await.status(),
        Status::SeeOther
    );
    assert_eq!(
        decide(admin_csrf, "reject", "too late").await.status(),
        Status::Conflict,
        "decided already"
    );
    t.login("alice").await;
    let page = t.page("/courses/COMP6248/assignments/coursework").await;
    assert!(
        page.contains("approved until Wed 3 Jun 2020, 16:00 BST"),
        "{page}"
    );
    assert!(page.contains("Your extended deadline"));
    assert_eq!(audit_count(&t, "request_decided").await, 2);
    assert_eq!(audit_count(&t, "extension_granted").await, 1);
}
