//! Deadlines moved on the record, and the late policy applied everywhere.

use super::*;

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
    let response = post_coursework(
        &t,
        &[
            ("due", "2021-03-28T01:30"),
            ("hard_close", ""),
            ("required_files", ""),
            ("late_policy", "none"),
            ("reason", "x"),
        ],
    )
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
    let (_, rows) = t
        .api_json(
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
        .page("/admin/courses/COMP6248/assignments/coursework")
        .await;
    assert!(page.contains("deadline_moved") && page.contains("5th June"));
    let entry = audit::Entity::find()
        .filter(audit::Column::Action.eq("deadline_moved"))
        .one(&t.app().db)
        .await
        .unwrap()
        .unwrap();
    assert!(entry.before.unwrap().contains("2020-05-29T15:00:00"));
    // Students are told, on the dashboard and on the page, from what to what.
    t.login("bob").await;
    let told = "The deadline was moved on Fri 29 May 2020, 16:30 BST from Fri 29 May 2020, \
                16:00 BST to Fri 5 Jun 2020, 16:00 BST.";
    assert!(t.page("/").await.contains(told));
    assert!(
        t.page("/courses/COMP6248/assignments/coursework")
            .await
            .contains(told)
    );
    // A fortnight later the notice has gone.
    t.set_time("2020-06-13T15:30:00Z");
    t.login("bob").await;
    assert!(!t.page("/").await.contains("The deadline was moved"));
}

#[rocket::async_test]
async fn moving_a_deadline_into_the_past_or_the_next_day_asks_first() {
    let t = TestApp::new().await;
    t.set_time("2020-05-29T12:00:00Z");
    t.login("admin").await;
    let t = &t;
    let save = |due: &'static str, confirm: bool| async move {
        let confirm = if confirm { "true" } else { "false" };
        let fields = [
            ("due", due),
            ("reason", "strike"),
            ("confirm_move", confirm),
        ];
        post_coursework(t, &fields).await
    };
    for (due, when) in [
        (
            "2020-05-29T15:00",
            "to less than 24 hours from now (Fri 29 May 2020, 15:00 BST)",
        ),
        (
            "2020-05-28T16:00",
            "into the past (Thu 28 May 2020, 16:00 BST)",
        ),
    ] {
        let refused = save(due, false).await;
        assert_eq!(refused.status(), Status::Conflict, "{due}");
        let page = refused.into_string().await.unwrap();
        assert!(page.contains(when), "{page}");
        // On the form itself, with what was typed kept, and the menu there.
        assert!(page.contains("id=\"form-errors\""), "{page}");
        assert!(page.contains(&format!("value=\"{due}\"")), "{page}");
        assert!(page.contains("value=\"strike\""), "{page}");
        assert!(page.contains("Log out"), "{page}");
    }
    assert_eq!(audit_count(t, "deadline_moved").await, 0);
    assert_eq!(
        save("2020-05-29T15:00", true).await.status(),
        Status::SeeOther
    );
    assert_eq!(audit_count(t, "deadline_moved").await, 1);
    // More than a day away needs no question.
    assert_eq!(
        save("2020-06-03T16:00", false).await.status(),
        Status::SeeOther
    );
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
        .header(bearer(&token))
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
async fn points_off_per_day_chosen_from_the_list_and_a_pass_that_stays_a_pass() {
    let t = TestApp::new().await;
    t.login("admin").await;
    let saved = post_coursework(
        &t,
        &[
            ("late_policy", "points_per_day"),
            ("late_amount", "5"),
            ("late_cap", "30"),
            ("pass_mark", "40"),
            ("penalty_floor_at_pass", "true"),
        ],
    )
    .await;
    assert_eq!(saved.status(), Status::SeeOther);
    let (_, coursework) =
        handin::models::assignment::find_by_codes(&t.app().db, "COMP6248", "coursework")
            .await
            .unwrap()
            .unwrap();
    assert_eq!(coursework.late_policy().spelling(), "points_per_day:5:30");
    assert!(coursework.penalty_floor_at_pass);
    // Two working days late (Friday 16:00 to Tuesday morning).
    t.set_time("2020-06-02T09:00:00Z");
    t.hand_in("alice", "coursework", "late").await;
    t.hand_in("bob", "coursework", "late").await;
    let token = t.token("mark").await;
    let (t, token) = (&t, &token);
    let put = |student: &'static str, mark: u32| async move {
        let path = format!("/api/v1/courses/COMP6248/assignments/coursework/marks/{student}");
        let body = serde_json::json!({ "mark": mark });
        t.api_json(token, rocket::http::Method::Put, &path, Some(body))
            .await
    };
    // 70 − 10 points = 60; 45 − 10 = 35, a pass before the penalty: held at 40.
    let (_, alice) = put("alice", 70).await;
    assert_eq!(alice["final_mark"], "60");
    let (_, bob) = put("bob", 45).await;
    assert_eq!(bob["final_mark"], "40");
    assert!(
        bob["late_rule"]
            .as_str()
            .unwrap()
            .contains("10 percentage points of the maximum off; raised to the pass mark, 40"),
        "{bob}"
    );
}

#[rocket::async_test]
async fn the_universitys_closure_days_count_for_every_course() {
    let t = TestApp::new().await;
    t.login("admin").await;
    assert_eq!(
        save_coursework(&t, "2020-05-29T16:00", "").await,
        Status::SeeOther
    );
    // Friday 16:00 to Tuesday morning: two working days late...
    t.set_time("2020-06-02T08:00:00Z");
    let id = t.hand_in("alice", "coursework", "late").await;
    assert_eq!(receipt(&t, id).await["working_days_late"], 2);
    // ...one, once the university is closed on the Monday.
    t.login("admin").await;
    let bad = t
        .submit(
            "/admin/closure-days",
            "closure_days=2020-06-01+1%2F6%2F2020",
        )
        .await;
    assert_eq!(bad.status(), Status::UnprocessableEntity);
    let saved = t
        .submit("/admin/closure-days", "closure_days=2020-06-01")
        .await;
    assert_eq!(saved.status(), Status::SeeOther);
    assert!(t.page("/admin").await.contains(">2020-06-01</textarea>"));
    let shown = receipt(&t, id).await;
    assert_eq!(shown["working_days_late"], 1);
    assert_eq!(shown["penalty"], "1 working day late: mark × 0.9");
    assert_eq!(audit_count(&t, "closure_days_set").await, 1);
    // A deadlines file sets them too (and leaving them out keeps them).
    let file = "closure_days = []\n";
    handin::services::catalogue::import_file(t.app(), file, &t.change())
        .await
        .unwrap();
    assert_eq!(receipt(&t, id).await["working_days_late"], 2);
}
