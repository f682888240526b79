//! The audit log: filters, CSV export with formulas defused; requests limited.

use super::*;

#[rocket::async_test]
async fn the_audit_log_filters_and_exports() {
    let t = TestApp::new().await;
    let admin = t.token("admin").await;
    t.api_json(
        &admin,
        rocket::http::Method::Put,
        "/api/v1/courses/COMP6248/assignments/coursework/extensions/alice",
        Some(serde_json::json!({"until": "2020-06-01 16:00", "reason": "ill"})),
    )
    .await;
    t.api_json(
        &admin,
        rocket::http::Method::Put,
        "/api/v1/courses/COMP6248/assignments/coursework/extensions/bob",
        Some(serde_json::json!({"until": "2020-06-01 16:00", "reason": "ill"})),
    )
    .await;
    t.login("admin").await;
    let page = t.page("/admin/audit?course=COMP6248&student=alice").await;
    assert!(page.contains("extension_granted"));
    assert_eq!(page.matches("<td>bob</td>").count(), 0);
    // Read as people read it: the course's local time, and what changed
    // field by field rather than raw JSON.
    let deadlines = t.page("/admin/audit?action=assignment_created").await;
    assert!(
        deadlines.contains(" GMT</time>") || deadlines.contains(" BST</time>"),
        "{deadlines}"
    );
    assert!(deadlines.contains("<strong>due_at</strong>"), "{deadlines}");
    assert!(!deadlines.contains("{&quot;"), "{deadlines}");
    let csv = t.page("/admin/audit.csv?action=extension_granted").await;
    assert_eq!(csv.lines().count(), 3, "header and two grants: {csv}");
    assert!(csv.starts_with("at,actor,action,course,assignment,student,before,after,details"));
}

#[rocket::async_test]
async fn audit_exports_defuse_formulas_and_requests_are_limited() {
    let t = TestApp::new().await;
    let admin = t.token("admin").await;
    let path = "/api/v1/courses/COMP6248/assignments/coursework/extensions/alice";
    let body =
        serde_json::json!({"until": "2020-06-01 16:00", "reason": "=HYPERLINK(\"http://evil\")"});
    assert_eq!(
        t.api_json(&admin, rocket::http::Method::Put, path, Some(body))
            .await
            .0,
        Status::Ok
    );
    t.login("admin").await;
    let csv = t.page("/admin/audit.csv?action=extension_granted").await;
    assert!(csv.contains("'=HYPERLINK"), "{csv}");
    assert!(!csv.contains(",=HYPERLINK"), "{csv}");

    // A student may file five requests; a sixth is refused and stores nothing.
    t.login("alice").await;
    let csrf = t.csrf().await;
    let db = &t.app().db;
    let admin_user = user::find_by_username(db, "admin").await.unwrap().unwrap();
    for attempt in 0..6 {
        let response = ask_extension(&t, &csrf, "ill", b"%PDF note").await;
        let expected = if attempt < 5 {
            Status::SeeOther
        } else {
            Status::Conflict
        };
        assert_eq!(response.status(), expected, "request {attempt}");
        // Staff reject each one, so that the next is a new request.
        let open = handin::models::requests::Entity::find()
            .filter(
                handin::models::requests::Column::State
                    .eq(handin::models::requests::State::Requested),
            )
            .one(db)
            .await
            .unwrap();
        if let Some(open) = open {
            let scope = handin::services::Scope::find(
                t.app(),
                admin_user.clone(),
                "COMP6248",
                "coursework",
                handin::policy::Act::DecideRequest,
            )
            .await
            .unwrap();
            handin::services::requests::decide(t.app(), &scope, open.id, "reject", "", "no")
                .await
                .unwrap();
        }
    }
    assert_eq!(
        handin::models::requests::Entity::find()
            .count(db)
            .await
            .unwrap(),
        5
    );
    let evidence = std::fs::read_dir(t.dir.path().join("uploads/evidence"))
        .unwrap()
        .count();
    assert_eq!(evidence, 5, "the refused request's evidence was not kept");
}
