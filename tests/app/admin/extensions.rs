//! Extensions: one student or several, edited, revoked, imported from a CSV;
//! who may grant them; anonymous marking on the extensions page.

use super::*;

#[rocket::async_test]
async fn an_extension_for_one_student_leaves_the_others_and_revoking_restores_late() {
    let t = TestApp::new().await;
    t.set_time("2020-05-30T10:00:00Z");
    let alice = t.hand_in("alice", "coursework", "alice late").await;
    let bob = t.hand_in("bob", "coursework", "bob late").await;
    let admin = t.token("admin").await;
    let path = "/api/v1/courses/COMP6248/assignments/coursework/extensions";
    let (status, body) = t
        .api_json(
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
    let (_, list) = t
        .api_json(&admin, rocket::http::Method::Get, path, None)
        .await;
    assert_eq!(list.as_array().unwrap().len(), 1);

    // Edited, then revoked.
    t.api_json(
        &admin,
        rocket::http::Method::Put,
        &format!("{path}/alice"),
        Some(serde_json::json!({"until": "2020-06-02T16:00:00+01:00", "reason": "longer illness"})),
    )
    .await;
    assert_eq!(
        t.api_json(
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
        t.api_json(
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
        let (status, body) = t
            .api_json(
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
            t.api_json(&token, rocket::http::Method::Get, path, None)
                .await
                .0,
            Status::Forbidden,
            "{who}"
        );
        assert_eq!(
            t.api_json(
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
            t.api_json(
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
        t.api_json(
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
        t.api_json(
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
    // One chosen from the list, one pasted (with alice again, and spaces).
    let body = form(&[
        ("csrf", &csrf),
        ("students", "alice"),
        ("pasted", " bob,\nalice "),
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
        .page("/courses/COMP6248/assignments/coursework/extensions")
        .await;
    // The confirmation says the time as people read it, then one row each.
    assert!(page.contains("Extension until Wed 3 Jun 2020, 16:00 BST saved for alice, bob."));
    assert_eq!(page.matches("Wed 3 Jun 2020, 16:00 BST").count(), 3);
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
    let response = send("username,until,reason\nalice,2020-06-01 16:00,ill\ncarol,2020-06-01 16:00,ill\nbob,2021-03-28 01:30,ill\nalice,2020-05-29 15:00,early\n").await;
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
    // Before the assignment's own deadline (16:00): it would change nothing.
    assert!(
        page.contains(
            "line 5: alice is already on line 2; Fri 29 May 2020, 15:00 BST is not after the \
             assignment&#x27;s deadline (Fri 29 May 2020, 16:00 BST): an extension must give more time"
        ),
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
    let candidate = handin::models::enrolment::candidate_of(db, course.id, alice.id)
        .await
        .unwrap();

    let mark = t.token("mark").await;
    let path = "/api/v1/courses/COMP6248/assignments/coursework/extensions";
    let body = serde_json::json!({"until": "2020-06-01 16:00", "reason": "ill"});
    // A username does not name anyone here; the candidate number does.
    assert_eq!(
        t.api_json(
            &mark,
            rocket::http::Method::Put,
            &format!("{path}/alice"),
            Some(body.clone())
        )
        .await
        .0,
        Status::NotFound
    );
    let (status, view) = t
        .api_json(
            &mark,
            rocket::http::Method::Put,
            &format!("{path}/{candidate}"),
            Some(body),
        )
        .await;
    assert_eq!(status, Status::Ok, "{view}");
    assert_eq!(view["student"], candidate.as_str());
    let (_, list) = t
        .api_json(&mark, rocket::http::Method::Get, path, None)
        .await;
    let text = list.to_string();
    // Alice's request, with evidence whose file name could name her.
    t.login("alice").await;
    let csrf = t.csrf().await;
    let asked = ask_extension(&t, &csrf, "ill", b"%PDF note").await;
    assert_eq!(asked.status(), Status::SeeOther);
    t.login("mark").await;
    let page = t
        .page("/courses/COMP6248/assignments/coursework/extensions")
        .await;
    let main = page.split_once("<main").unwrap().1;
    assert!(main.contains("(hidden: anonymous marking)"), "{main}");
    for secret in ["alice", "bob", "Example", "note.pdf"] {
        assert!(!text.contains(secret), "API leaks {secret}");
        assert!(!main.contains(secret), "page leaks {secret}");
    }
    assert!(main.contains(&candidate));
    // An administrator still sees who it is.
    let admin = t.token("admin").await;
    let (_, list) = t
        .api_json(&admin, rocket::http::Method::Get, path, None)
        .await;
    assert_eq!(list[0]["student"], "alice");
}

#[rocket::async_test]
async fn a_refused_grant_or_course_comes_back_on_its_own_form_as_it_was_typed() {
    let t = TestApp::new().await;
    t.login("admin").await;
    // An extension ending before the deadline: the form again, filled in.
    let refused = t
        .submit(
            "/courses/COMP6248/assignments/coursework/extensions",
            "students=alice&pasted=bob&until=2020-05-28T16%3A00&reason=strike+action",
        )
        .await;
    assert_eq!(refused.status(), Status::UnprocessableEntity);
    let page = refused.into_string().await.unwrap();
    assert!(page.contains("id=\"grant-errors\""), "{page}");
    assert!(page.contains("is not after the assignment"), "{page}");
    assert!(
        page.contains("value=\"alice\" selected")
            && page.contains(">bob</textarea>")
            && page.contains("value=\"strike action\""),
        "{page}"
    );
    assert!(page.contains("Log out"), "{page}");
    // A new course with a zone that does not exist.
    let refused = t
        .submit(
            "/admin/courses",
            "code=NEW1&title=New+course&time_zone=Mars%2FOlympus&closure_days=",
        )
        .await;
    assert_eq!(refused.status(), Status::UnprocessableEntity);
    let page = refused.into_string().await.unwrap();
    assert!(page.contains("id=\"course-errors\""), "{page}");
    assert!(
        page.contains("value=\"NEW1\"") && page.contains("value=\"Mars&#x2f;Olympus\""),
        "{page}"
    );
    // An existing course's settings: back on its own page.
    let refused = t
        .submit(
            "/admin/courses",
            "code=COMP6248&title=Renamed&time_zone=Europe%2FLondon&closure_days=someday",
        )
        .await;
    assert_eq!(refused.status(), Status::UnprocessableEntity);
    let page = refused.into_string().await.unwrap();
    assert!(
        page.contains("id=\"settings-errors\"") && page.contains("value=\"Renamed\""),
        "{page}"
    );
}
