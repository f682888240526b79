//! Administrators: deadlines moved on the record, extensions, rosters,
//! requests, the late policy, and the audit log.

use handin::models::{audit, user};
use rocket::http::{ContentType, Header, Status};
use rocket::local::asynchronous::LocalResponse;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::Value;

use crate::support::*;

async fn json(
    t: &TestApp,
    token: &str,
    method: rocket::http::Method,
    path: &str,
    body: Option<Value>,
) -> (Status, Value) {
    let mut request = t
        .client
        .req(method, path)
        .header(Header::new("Authorization", format!("Bearer {token}")));
    if let Some(body) = body {
        request = request.header(ContentType::JSON).body(body.to_string());
    }
    let response = request.dispatch().await;
    let status = response.status();
    (
        status,
        serde_json::from_str(&response.into_string().await.unwrap_or_default())
            .unwrap_or(Value::Null),
    )
}

async fn receipt(t: &TestApp, id: i64) -> Value {
    let token = t.token("admin").await;
    json(
        t,
        &token,
        rocket::http::Method::Get,
        &format!("/api/v1/submissions/{id}"),
        None,
    )
    .await
    .1
}

/// Alice's extension request for the coursework (until 5 June), through the
/// form, with evidence unless `evidence` is empty (as a browser sends "no file").
async fn ask_extension<'a>(
    t: &'a TestApp,
    csrf: &str,
    reason: &str,
    evidence: &[u8],
) -> LocalResponse<'a> {
    let file_name = if evidence.is_empty() { "" } else { "note.pdf" };
    let (content_type, body) = multipart(&[
        Part::text("csrf", csrf),
        Part::text("until", "2020-06-05T16:00"),
        Part::text("reason", reason),
        Part::file("evidence", file_name, evidence),
    ]);
    t.client
        .post("/courses/COMP6248/assignments/coursework/extension-request")
        .header(content_type)
        .body(body)
        .dispatch()
        .await
}

async fn audit_count(t: &TestApp, action: &str) -> u64 {
    audit::Entity::find()
        .filter(audit::Column::Action.eq(action))
        .count(&t.app().db)
        .await
        .unwrap()
}

fn form(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| {
            format!(
                "{k}={}",
                v.replace('%', "%25")
                    .replace('&', "%26")
                    .replace('+', "%2B")
                    .replace(' ', "+")
                    .replace(':', "%3A")
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

async fn save_coursework(t: &TestApp, due: &str, reason: &str) -> Status {
    let csrf = t.csrf().await;
    let body = form(&[
        ("csrf", &csrf),
        ("slug", "coursework"),
        ("title", "Coursework"),
        ("opens", ""),
        ("due", due),
        ("hard_close", "2020-06-12T16:00"),
        ("grace_minutes", "0"),
        ("max_bundle_mib", "1"),
        ("required_files", "report.pdf"),
        ("late_policy", "uk_standard"),
        ("reason", reason),
    ]);
    t.client
        .post("/admin/courses/COMP6248/assignments")
        .header(ContentType::Form)
        .body(body)
        .dispatch()
        .await
        .status()
}

#[rocket::async_test]
async fn moving_the_deadline_turns_late_work_on_time_everywhere_with_one_audit_entry() {
    let t = TestApp::new().await;
    t.set_time("2020-05-29T15:30:00Z");
    let late = t.hand_in("bob", "coursework", "half an hour late").await;
    assert_eq!(receipt(&t, late).await["status"], "late");

    t.login("admin").await;
    // Without a reason the move is refused and nothing changes.
    assert_eq!(
        save_coursework(&t, "2020-06-05T16:00", "").await,
        Status::UnprocessableEntity
    );
    assert_eq!(receipt(&t, late).await["status"], "late");
    assert_eq!(audit_count(&t, "deadline_moved").await, 0);
    // A DST-gap time is refused with a clear message.
    let csrf = t.csrf().await;
    let body = form(&[
        ("csrf", &csrf),
        ("slug", "coursework"),
        ("title", "Coursework"),
        ("opens", ""),
        ("due", "2021-03-28T01:30"),
        ("hard_close", ""),
        ("grace_minutes", "0"),
        ("max_bundle_mib", "1"),
        ("required_files", ""),
        ("late_policy", "none"),
        ("reason", "x"),
    ]);
    let response = t
        .client
        .post("/admin/courses/COMP6248/assignments")
        .header(ContentType::Form)
        .body(body)
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::UnprocessableEntity);
    assert!(
        response
            .into_string()
            .await
            .unwrap()
            .contains(&html("does not exist in Europe/London"))
    );

    assert_eq!(
        save_coursework(
            &t,
            "2020-06-05T16:00",
            "The deadline will be extended to the 16:00 on the 5th June"
        )
        .await,
        Status::SeeOther
    );
    let moved = receipt(&t, late).await;
    assert_eq!(moved["status"], "on_time");
    assert_eq!(moved["effective_deadline"], "2020-06-05T16:00:00+01:00");
    let token = t.token("mark").await;
    let (_, rows) = json(
        &t,
        &token,
        rocket::http::Method::Get,
        "/api/v1/courses/COMP6248/assignments/coursework/submissions",
        None,
    )
    .await;
    let bob = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["label"] == "bob")
        .unwrap();
    assert_eq!(bob["status"], "on_time");
    assert_eq!(audit_count(&t, "deadline_moved").await, 1);
    // The earlier deadline stays in the history.
    let page = t
        .client
        .get("/admin/courses/COMP6248/assignments/coursework")
        .dispatch()
        .await
        .into_string()
        .await
        .unwrap();
    assert!(page.contains("deadline_moved") && page.contains("5th June"));
    let entry = audit::Entity::find()
        .filter(audit::Column::Action.eq("deadline_moved"))
        .one(&t.app().db)
        .await
        .unwrap()
        .unwrap();
    assert!(entry.before.unwrap().contains("2020-05-29T15:00:00"));
}

#[rocket::async_test]
async fn an_extension_for_one_student_leaves_the_others_and_revoking_restores_late() {
    let t = TestApp::new().await;
    t.set_time("2020-05-30T10:00:00Z");
    let alice = t.hand_in("alice", "coursework", "alice late").await;
    let bob = t.hand_in("bob", "coursework", "bob late").await;
    let admin = t.token("admin").await;
    let path = "/api/v1/courses/COMP6248/assignments/coursework/extensions";
    let (status, body) = json(
        &t,
        &admin,
        rocket::http::Method::Put,
        &format!("{path}/alice"),
        Some(serde_json::json!({"until": "2020-06-01 16:00", "reason": "illness"})),
    )
    .await;
    assert_eq!(status, Status::Ok, "{body}");
    assert_eq!(body["until"], "2020-06-01T16:00:00+01:00");
    assert_eq!(receipt(&t, alice).await["status"], "extension");
    assert_eq!(receipt(&t, bob).await["status"], "late");
    let (_, list) = json(&t, &admin, rocket::http::Method::Get, path, None).await;
    assert_eq!(list.as_array().unwrap().len(), 1);

    // Edited, then revoked.
    json(
        &t,
        &admin,
        rocket::http::Method::Put,
        &format!("{path}/alice"),
        Some(serde_json::json!({"until": "2020-06-02T16:00:00+01:00", "reason": "longer illness"})),
    )
    .await;
    assert_eq!(
        json(
            &t,
            &admin,
            rocket::http::Method::Delete,
            &format!("{path}/alice"),
            None
        )
        .await
        .0,
        Status::NoContent
    );
    assert_eq!(receipt(&t, alice).await["status"], "late");
    assert_eq!(
        json(
            &t,
            &admin,
            rocket::http::Method::Delete,
            &format!("{path}/alice"),
            None
        )
        .await
        .0,
        Status::NotFound
    );
    assert_eq!(
        (
            audit_count(&t, "extension_granted").await,
            audit_count(&t, "extension_edited").await,
            audit_count(&t, "extension_revoked").await
        ),
        (1, 1, 1)
    );

    // Bad input: unknown student, DST gap, empty reason, not JSON.
    for (who, body) in [
        (
            "zed",
            serde_json::json!({"until": "2020-06-01 16:00", "reason": "x"}),
        ),
        (
            "bob",
            serde_json::json!({"until": "2021-03-28 01:30", "reason": "x"}),
        ),
        (
            "bob",
            serde_json::json!({"until": "2020-06-01 16:00", "reason": " "}),
        ),
    ] {
        let (status, body) = json(
            &t,
            &admin,
            rocket::http::Method::Put,
            &format!("{path}/{who}"),
            Some(body),
        )
        .await;
        assert!(status.code >= 400, "{who}");
        assert!(!body["message"].as_str().unwrap().is_empty());
    }
    assert_eq!(receipt(&t, bob).await["status"], "late");
}

#[rocket::async_test]
async fn only_administrators_or_permitted_markers_manage_extensions() {
    let t = TestApp::new().await;
    let path = "/api/v1/courses/COMP6248/assignments/coursework/extensions";
    let body = serde_json::json!({"until": "2020-06-01 16:00", "reason": "ill"});
    for who in ["alice", "mark", "other", "carol"] {
        let token = t.token(who).await;
        assert_eq!(
            json(&t, &token, rocket::http::Method::Get, path, None)
                .await
                .0,
            Status::Forbidden,
            "{who}"
        );
        assert_eq!(
            json(
                &t,
                &token,
                rocket::http::Method::Put,
                &format!("{path}/bob"),
                Some(body.clone())
            )
            .await
            .0,
            Status::Forbidden,
            "{who}"
        );
        assert_eq!(
            json(
                &t,
                &token,
                rocket::http::Method::Delete,
                &format!("{path}/bob"),
                None
            )
            .await
            .0,
            Status::Forbidden,
            "{who}"
        );
        t.login(who).await;
        assert_eq!(
            t.client
                .get("/courses/COMP6248/assignments/coursework/extensions")
                .dispatch()
                .await
                .status(),
            Status::Forbidden,
            "{who}"
        );
        for admin_page in [
            "/admin",
            "/admin/courses/COMP6248",
            "/admin/audit",
            "/admin/audit.csv",
        ] {
            assert_eq!(
                t.client.get(admin_page).dispatch().await.status(),
                Status::Forbidden,
                "{who} {admin_page}"
            );
        }
    }
    // The course lets its markers grant: mark may, other (another course) still may not.
    let db = &t.app().db;
    let course = handin::models::course::find_by_code(db, "COMP6248")
        .await
        .unwrap()
        .unwrap();
    let mut active: handin::models::course::ActiveModel = course.into();
    active.markers_grant_extensions = sea_orm::ActiveValue::Set(true);
    sea_orm::ActiveModelTrait::update(active, db).await.unwrap();
    let mark = t.token("mark").await;
    assert_eq!(
        json(
            &t,
            &mark,
            rocket::http::Method::Put,
            &format!("{path}/bob"),
            Some(body.clone())
        )
        .await
        .0,
        Status::Ok
    );
    let other = t.token("other").await;
    assert_eq!(
        json(
            &t,
            &other,
            rocket::http::Method::Put,
            &format!("{path}/bob"),
            Some(body)
        )
        .await
        .0,
        Status::Forbidden
    );
    // Forms without their CSRF token change nothing.
    t.login("admin").await;
    let response = t
        .client
        .post("/courses/COMP6248/assignments/coursework/extensions")
        .header(ContentType::Form)
        .body("csrf=forged&students=alice&until=2020-06-01T16%3A00&reason=x")
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::Forbidden);
    assert_eq!(
        audit_count(&t, "extension_granted").await,
        1,
        "only mark's grant"
    );
}

#[rocket::async_test]
async fn several_students_get_one_new_deadline_from_the_page() {
    let t = TestApp::new().await;
    t.login("admin").await;
    let csrf = t.csrf().await;
    let body = form(&[
        ("csrf", &csrf),
        ("students", "alice"),
        ("students", "bob"),
        ("until", "2020-06-03T16:00"),
        ("reason", "strike"),
    ]);
    let response = t
        .client
        .post("/courses/COMP6248/assignments/coursework/extensions")
        .header(ContentType::Form)
        .body(body)
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::SeeOther);
    let page = t
        .client
        .get("/courses/COMP6248/assignments/coursework/extensions")
        .dispatch()
        .await
        .into_string()
        .await
        .unwrap();
    assert_eq!(page.matches("Wed 3 Jun 2020, 16:00 BST").count(), 2);
    assert_eq!(audit_count(&t, "extension_granted").await, 2);
}

#[rocket::async_test]
async fn an_extension_csv_with_one_bad_line_changes_nothing_and_names_the_line() {
    let t = TestApp::new().await;
    t.login("admin").await;
    let csrf = t.csrf().await;
    let send = |csv: &'static str| {
        let (content_type, body) = multipart(&[
            Part::text("csrf", &csrf),
            Part::file("csv", "ext.csv", csv.as_bytes()),
        ]);
        t.client
            .post("/courses/COMP6248/assignments/coursework/extensions/import")
            .header(content_type)
            .body(body)
            .dispatch()
    };
    let response = send("username,until,reason\nalice,2020-06-01 16:00,ill\ncarol,2020-06-01 16:00,ill\nbob,2021-03-28 01:30,ill\n").await;
    assert_eq!(response.status(), Status::UnprocessableEntity);
    let page = response.into_string().await.unwrap();
    assert!(
        page.contains("line 3: carol is not a student of COMP6248"),
        "{page}"
    );
    assert!(
        page.contains("line 4: 2021-03-28 01:30 does not exist in Europe&#x2f;London"),
        "{page}"
    );
    assert_eq!(
        handin::models::extension::Entity::find()
            .count(&t.app().db)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        audit::Entity::find()
            .filter(audit::Column::Action.ne("course_created"))
            .filter(audit::Column::Action.ne("assignment_created"))
            .count(&t.app().db)
            .await
            .unwrap(),
        0
    );

    let response = send("username,until,reason\nalice,2020-06-01 16:00,ill\nbob,2020-06-02T16:00:00+01:00,\"bereavement, family\"\n").await;
    assert_eq!(response.status(), Status::SeeOther);
    assert_eq!(
        handin::models::extension::Entity::find()
            .count(&t.app().db)
            .await
            .unwrap(),
        2
    );
    assert_eq!(audit_count(&t, "extension_granted").await, 2);
}

#[rocket::async_test]
async fn a_roster_with_one_bad_line_changes_nothing_and_a_good_one_creates_and_updates() {
    let t = TestApp::new().await;
    let users_before = user::Entity::find().count(&t.app().db).await.unwrap();
    let bad = "username,name,email,role,course\nnew1,New One,new1@example.ac.uk,student,COMP6248\nbad user,X,x@y,student,COMP6248\nnew2,New Two,,wizard,NOPE\n";
    let errors = handin::bulk::import_roster(&t.app().db, bad, None, utc("2020-05-01T00:00:00Z"))
        .await
        .unwrap_err();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors[0].starts_with("line 3: 'bad user' is not a valid username"));
    assert!(
        errors[1].starts_with("line 4: ")
            && errors[1].contains("unknown role 'wizard'")
            && errors[1].contains("no course NOPE")
    );
    assert_eq!(
        user::Entity::find().count(&t.app().db).await.unwrap(),
        users_before
    );

    // Through the page: bob becomes a marker (his password kept), two new students arrive.
    t.login("admin").await;
    let csrf = t.csrf().await;
    let good = "username,name,email,role,course\nnew1,New One,new1@example.ac.uk,student,COMP6248\nnew2,New Two,,student,COMP6248\nbob,Robert Example,bob@example.ac.uk,marker,COMP6248\n";
    let (content_type, body) = multipart(&[
        Part::text("csrf", &csrf),
        Part::file("csv", "roster.csv", good.as_bytes()),
    ]);
    let response = t
        .client
        .post("/admin/roster")
        .header(content_type)
        .body(body)
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::Ok);
    let page = response.into_string().await.unwrap();
    assert!(
        page.contains("2 created, 1 updated, 3 enrolments"),
        "{page}"
    );
    let db = &t.app().db;
    let bob = user::find_by_username(db, "bob").await.unwrap().unwrap();
    assert_eq!(
        (bob.role.as_str(), bob.display_name.as_str()),
        ("marker", "Robert Example")
    );
    assert!(
        user::verify_password(PASSWORD, &bob.password_hash),
        "an existing password is kept"
    );
    assert_eq!(audit_count(&t, "roster_imported").await, 1);
    assert_eq!(audit_count(&t, "role_changed").await, 1);
    // A new student can log in with the password shown once.
    let new1 = user::find_by_username(db, "new1").await.unwrap().unwrap();
    let shown = page
        .split("<code>")
        .nth(1)
        .unwrap()
        .split("</code>")
        .next()
        .unwrap();
    assert!(user::verify_password(shown, &new1.password_hash));
}

#[rocket::async_test]
async fn a_student_asks_staff_ask_for_more_then_approve_and_the_student_sees_each_outcome() {
    let t = TestApp::new().await;
    t.login("alice").await;
    let csrf = t.csrf().await;
    let asked = ask_extension(&t, &csrf, "I was ill", b"%PDF doctor's note").await;
    assert_eq!(asked.status(), Status::SeeOther);
    let page = t
        .client
        .get("/courses/COMP6248/assignments/coursework")
        .dispatch()
        .await
        .into_string()
        .await
        .unwrap();
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
    let page = t
        .client
        .get("/courses/COMP6248/assignments/coursework")
        .dispatch()
        .await
        .into_string()
        .await
        .unwrap();
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
    let page = t
        .client
        .get("/courses/COMP6248/assignments/coursework")
        .dispatch()
        .await
        .into_string()
        .await
        .unwrap();
    assert!(
        page.contains("approved until Wed 3 Jun 2020, 16:00 BST"),
        "{page}"
    );
    assert!(page.contains("Your extended deadline"));
    assert_eq!(audit_count(&t, "request_decided").await, 2);
    assert_eq!(audit_count(&t, "extension_granted").await, 1);
}

#[rocket::async_test]
async fn the_late_policy_shows_on_the_receipt_and_in_the_table() {
    let t = TestApp::new().await;
    t.login("admin").await;
    assert_eq!(
        save_coursework(&t, "2020-05-29T16:00", "").await,
        Status::SeeOther,
        "same deadline needs no reason"
    );
    t.set_time("2020-06-01T09:00:00Z"); // Monday morning: one working day late
    let id = t.hand_in("alice", "coursework", "late").await;
    let r = receipt(&t, id).await;
    assert_eq!(r["penalty"], "1 working day late: mark × 0.9");
    assert_eq!(r["mark_multiplier"], "0.9");
    let token = t.token("mark").await;
    let response = t
        .client
        .get("/api/v1/courses/COMP6248/assignments/coursework/submissions.csv")
        .header(Header::new("Authorization", format!("Bearer {token}")))
        .dispatch()
        .await;
    let csv = response.into_string().await.unwrap();
    assert!(csv.lines().next().unwrap().contains("mark_multiplier"));
    assert!(
        csv.lines()
            .any(|l| l.starts_with("alice,") && l.contains(",0.9,")),
        "{csv}"
    );
}

#[rocket::async_test]
async fn the_audit_log_filters_and_exports() {
    let t = TestApp::new().await;
    let admin = t.token("admin").await;
    json(
        &t,
        &admin,
        rocket::http::Method::Put,
        "/api/v1/courses/COMP6248/assignments/coursework/extensions/alice",
        Some(serde_json::json!({"until": "2020-06-01 16:00", "reason": "ill"})),
    )
    .await;
    json(
        &t,
        &admin,
        rocket::http::Method::Put,
        "/api/v1/courses/COMP6248/assignments/coursework/extensions/bob",
        Some(serde_json::json!({"until": "2020-06-01 16:00", "reason": "ill"})),
    )
    .await;
    t.login("admin").await;
    let page = t
        .client
        .get("/admin/audit?course=COMP6248&student=alice")
        .dispatch()
        .await
        .into_string()
        .await
        .unwrap();
    assert!(page.contains("extension_granted"));
    assert_eq!(page.matches("<td>bob</td>").count(), 0);
    let csv = t
        .client
        .get("/admin/audit.csv?action=extension_granted")
        .dispatch()
        .await
        .into_string()
        .await
        .unwrap();
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
        json(&t, &admin, rocket::http::Method::Put, path, Some(body))
            .await
            .0,
        Status::Ok
    );
    t.login("admin").await;
    let csv = t
        .client
        .get("/admin/audit.csv?action=extension_granted")
        .dispatch()
        .await
        .into_string()
        .await
        .unwrap();
    assert!(csv.contains("'=HYPERLINK"), "{csv}");
    assert!(!csv.contains(",=HYPERLINK"), "{csv}");

    // A student may file five requests; a sixth is refused and stores nothing.
    t.login("alice").await;
    let csrf = t.csrf().await;
    let db = &t.app().db;
    let admin_user = user::find_by_username(db, "admin").await.unwrap().unwrap();
    let (course, coursework) =
        handin::models::assignment::find_by_codes(db, "COMP6248", "coursework")
            .await
            .unwrap()
            .unwrap();
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
            .filter(handin::models::requests::Column::State.eq("requested"))
            .one(db)
            .await
            .unwrap();
        if let Some(open) = open {
            let decision = handin::models::extension::Decision {
                course_id: course.id,
                assignment_id: coursework.id,
                by: admin_user.id,
                at: utc("2020-05-29T12:00:00Z"),
            };
            handin::models::requests::decide(
                db,
                &decision,
                open.id,
                handin::models::requests::Outcome::Reject,
                "no",
            )
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

#[rocket::async_test]
async fn forms_without_files_refuse_multipart_bodies() {
    let t = TestApp::new().await;
    let (content_type, body) = multipart(&[
        Part::text("csrf", "x"),
        Part::text("username", "alice"),
        Part::text("password", &"p".repeat(100_000)),
    ]);
    let status = t
        .client
        .post("/login")
        .header(content_type)
        .body(body)
        .dispatch()
        .await
        .status();
    assert!(matches!(status.code, 404 | 415), "{status}");
}

#[rocket::async_test]
async fn markers_who_grant_on_an_anonymous_assignment_see_candidate_numbers_only() {
    let t = TestApp::new().await;
    let db = &t.app().db;
    let course = handin::models::course::find_by_code(db, "COMP6248")
        .await
        .unwrap()
        .unwrap();
    let mut active: handin::models::course::ActiveModel = course.clone().into();
    active.markers_grant_extensions = sea_orm::ActiveValue::Set(true);
    sea_orm::ActiveModelTrait::update(active, db).await.unwrap();
    let (_, coursework) = handin::models::assignment::find_by_codes(db, "COMP6248", "coursework")
        .await
        .unwrap()
        .unwrap();
    let mut active: handin::models::assignment::ActiveModel = coursework.into();
    active.anonymous = sea_orm::ActiveValue::Set(true);
    sea_orm::ActiveModelTrait::update(active, db).await.unwrap();
    let alice = user::find_by_username(db, "alice").await.unwrap().unwrap();
    let candidate = handin::models::marking::candidate_of(db, course.id, alice.id)
        .await
        .unwrap();

    let mark = t.token("mark").await;
    let path = "/api/v1/courses/COMP6248/assignments/coursework/extensions";
    let body = serde_json::json!({"until": "2020-06-01 16:00", "reason": "ill"});
    // A username does not name anyone here; the candidate number does.
    assert_eq!(
        json(
            &t,
            &mark,
            rocket::http::Method::Put,
            &format!("{path}/alice"),
            Some(body.clone())
        )
        .await
        .0,
        Status::NotFound
    );
    let (status, view) = json(
        &t,
        &mark,
        rocket::http::Method::Put,
        &format!("{path}/{candidate}"),
        Some(body),
    )
    .await;
    assert_eq!(status, Status::Ok, "{view}");
    assert_eq!(view["student"], candidate.as_str());
    let (_, list) = json(&t, &mark, rocket::http::Method::Get, path, None).await;
    let text = list.to_string();
    t.login("mark").await;
    let page = t
        .client
        .get("/courses/COMP6248/assignments/coursework/extensions")
        .dispatch()
        .await
        .into_string()
        .await
        .unwrap();
    let main = page.split_once("<main").unwrap().1;
    for secret in ["alice", "bob", "Example"] {
        assert!(!text.contains(secret), "API leaks {secret}");
        assert!(!main.contains(secret), "page leaks {secret}");
    }
    assert!(main.contains(&candidate));
    // An administrator still sees who it is.
    let admin = t.token("admin").await;
    let (_, list) = json(&t, &admin, rocket::http::Method::Get, path, None).await;
    assert_eq!(list[0]["student"], "alice");
}
