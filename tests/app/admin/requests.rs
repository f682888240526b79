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
    let refused = decide(admin_csrf.clone(), "more_information", "").await;
    assert_eq!(
        refused.status(),
        Status::UnprocessableEntity,
        "a comment is needed"
    );
    // Said at the request itself, on the page with its menu, the date kept.
    let page = refused.into_string().await.unwrap();
    assert!(
        page.contains("id=\"decision-errors\"") && page.contains("Please tell the student why"),
        "{page}"
    );
    assert!(page.contains("value=\"2020-06-03T16:00\""), "{page}");
    assert!(page.contains("Log out"), "{page}");
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
    // She sees what she asked and sent, and cannot withdraw a decided request.
    assert!(page.contains("Your reason: 25 to 28 May"), "{page}");
    assert!(!page.contains("Withdraw this request"), "{page}");
    assert_eq!(audit_count(&t, "request_decided").await, 2);
    assert_eq!(audit_count(&t, "extension_granted").await, 1);
    // The extension keeps the student's own reason beside the decision.
    let granted = handin::models::extension::Entity::find()
        .one(&t.app().db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(granted.reason, "requested: 25 to 28 May");
}

#[rocket::async_test]
async fn a_student_withdraws_an_open_request_and_nobody_can_decide_it_then() {
    let t = TestApp::new().await;
    t.login("alice").await;
    let csrf = t.csrf().await;
    ask_extension(&t, &csrf, "I was ill", b"").await;
    let id = handin::models::requests::Entity::find()
        .one(&t.app().db)
        .await
        .unwrap()
        .unwrap()
        .id;
    let withdraw =
        format!("/courses/COMP6248/assignments/coursework/extension-request/{id}/withdraw");
    // Not bob's to withdraw.
    t.login("bob").await;
    assert_eq!(t.submit(&withdraw, "").await.status(), Status::Conflict);
    t.login("alice").await;
    let page = t.page("/courses/COMP6248/assignments/coursework").await;
    assert!(page.contains("Withdraw this request"), "{page}");
    assert_eq!(t.submit(&withdraw, "").await.status(), Status::SeeOther);
    let page = t.page("/courses/COMP6248/assignments/coursework").await;
    assert!(
        page.contains("Your extension request was withdrawn."),
        "{page}"
    );
    assert!(page.contains("<strong>withdrawn</strong>"), "{page}");
    // She may ask again; staff cannot decide the withdrawn one.
    assert!(page.contains("Ask for an extension"), "{page}");
    t.login("admin").await;
    let decided = t
        .submit(
            &format!("/courses/COMP6248/assignments/coursework/extension-requests/{id}"),
            "decision=approve&until=2020-06-03T16%3A00&comment=",
        )
        .await;
    assert_eq!(decided.status(), Status::Conflict);
    assert_eq!(audit_count(&t, "request_withdrawn").await, 1);
}
