//! Marks and feedback: entered by markers (page, CSV, API), the late policy
//! applied and kept, nothing shown to students before release, each student
//! seeing only their own, names under anonymous marking only after release.

use handin::domain::penalty::LatePolicy;
use handin::models::{assignment, column::Policy};
use rocket::http::{Method, Status};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};
use serde_json::json;

use crate::support::*;

const COURSEWORK: &str = "/courses/COMP6248/assignments/coursework";

/// alice hands in on time, bob an hour late (one working day: × 0.9 under
/// the university standard); the coursework has that policy.
async fn marked_course(anonymous: bool) -> TestApp {
    let t = TestApp::new().await;
    let (_, coursework) = assignment::find_by_codes(&t.app().db, "COMP6248", "coursework")
        .await
        .unwrap()
        .unwrap();
    let mut active: assignment::ActiveModel = coursework.into();
    active.late_policy = Set(Policy(LatePolicy::UkStandard));
    active.anonymous = Set(anonymous);
    active.update(&t.app().db).await.unwrap();
    t.hand_in("alice", "coursework", "on time").await;
    t.set_time("2020-05-29T16:00:00Z");
    t.hand_in("bob", "coursework", "an hour late").await;
    t
}

async fn own_mark_section(t: &TestApp, who: &str) -> Option<String> {
    t.login(who).await;
    let page = t.page(COURSEWORK).await;
    let start = page.find("id=\"your-mark\"")?;
    let end = page[start..].find("</section>").map(|e| start + e)?;
    Some(page[start..end].to_string())
}

#[rocket::async_test]
async fn a_marker_marks_inline_the_late_policy_applies_and_students_see_only_their_own_after_release()
 {
    let t = marked_course(false).await;
    t.login("mark").await;
    let saved = t
        .submit(&format!("{COURSEWORK}/marking/alice/mark"), "mark=72.5")
        .await;
    assert_eq!(saved.status(), Status::SeeOther);
    let table = t.page(format!("{COURSEWORK}/marking")).await;
    assert!(table.contains("alice: 72.5 saved."), "{table}");
    t.submit(&format!("{COURSEWORK}/marking/bob/mark"), "mark=60")
        .await;
    let table = t.page(format!("{COURSEWORK}/marking")).await;
    assert!(
        table.contains("60 saved, 54 after the late policy"),
        "{table}"
    );
    // On the history page: the mark with feedback.
    let history = format!("{COURSEWORK}/marking/alice/mark");
    t.submit(
        &history,
        "mark=74&feedback=Clear+report.%0AMore+tests+next+time.&from_history=true",
    )
    .await;
    // A change of the mark alone (the table's field) keeps the feedback.
    t.submit(&history, "mark=75").await;

    // Nothing is shown to students before release.
    assert_eq!(own_mark_section(&t, "alice").await, None);

    t.login("mark").await;
    let release = format!("{COURSEWORK}/marks/release");
    let released = t.submit(&release, "release=now&at=").await;
    assert_eq!(released.status(), Status::SeeOther);
    // Seen is seen: a release that has happened cannot be moved on.
    let moved = t
        .submit(&release, "release=schedule&at=2020-07-01+09:00")
        .await;
    assert_eq!(moved.status(), Status::Conflict);
    // Giving a mark again as it stands changes nothing (and flags nothing).
    t.submit(&format!("{COURSEWORK}/marking/alice/mark"), "mark=75")
        .await;

    let alice = own_mark_section(&t, "alice")
        .await
        .expect("alice sees her mark");
    assert!(alice.contains("75 out of 100"), "{alice}");
    assert!(
        alice.contains("Clear report.\nMore tests next time."),
        "{alice}"
    );
    assert!(!alice.contains("Late penalty"), "{alice}");
    assert!(!alice.contains("changed after"), "{alice}");
    let bob = own_mark_section(&t, "bob")
        .await
        .expect("bob sees his mark");
    assert!(
        bob.contains("60 out of 100")
            && bob.contains("× 0.9")
            && bob.contains("<strong>54</strong>"),
        "{bob}"
    );
    assert!(
        !bob.contains("75") && !bob.contains("Clear report"),
        "{bob}"
    );

    // A change after release is shown to the student as one, and audited.
    t.login("mark").await;
    t.submit(&format!("{COURSEWORK}/marking/bob/mark"), "mark=62")
        .await;
    let bob = own_mark_section(&t, "bob").await.unwrap();
    assert!(
        bob.contains("changed after the marks were released"),
        "{bob}"
    );
    let audit = handin::models::audit::Entity::find()
        .all(&t.app().db)
        .await
        .unwrap();
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    for action in ["mark_entered", "mark_changed", "marks_released"] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    let change = audit
        .iter()
        .rev()
        .find(|e| e.action == "mark_changed")
        .unwrap();
    assert!(
        change
            .before
            .as_deref()
            .unwrap()
            .starts_with("60 (final 54); feedback 0 characters")
    );
    assert!(
        change
            .after
            .as_deref()
            .unwrap()
            .starts_with("62 (final 55.8)")
    );

    // bob hands in again: his mark was for the attempt before, and says so.
    t.set_time("2020-05-30T10:00:00Z");
    t.hand_in("bob", "coursework", "second go").await;
    t.login("mark").await;
    let table = t.page(format!("{COURSEWORK}/marking")).await;
    assert!(
        table.contains("given for another attempt; the one that counts is attempt 2"),
        "{table}"
    );
}

#[rocket::async_test]
async fn a_bad_mark_is_refused_with_the_reason_and_changes_nothing() {
    let t = marked_course(false).await;
    t.login("mark").await;
    for (mark, reason) in [
        ("101", "more than the maximum mark, 100"),
        ("-3", "negative"),
        ("seventy", "not a mark"),
        ("70.555", "more than two decimals"),
    ] {
        let refused = t
            .submit(
                &format!("{COURSEWORK}/marking/alice/mark"),
                &format!("mark={mark}"),
            )
            .await;
        assert_eq!(refused.status(), Status::SeeOther);
        let table = t.page(format!("{COURSEWORK}/marking")).await;
        assert!(
            table.contains("Not saved") && table.contains(reason),
            "{mark}: {table}"
        );
    }
    let marks = handin::models::mark::Entity::find()
        .all(&t.app().db)
        .await
        .unwrap();
    assert!(marks.is_empty());
    // Nobody on this assignment by that name.
    let refused = t
        .submit(&format!("{COURSEWORK}/marking/carol/mark"), "mark=50")
        .await;
    assert_eq!(refused.status(), Status::NotFound);
}

#[rocket::async_test]
async fn only_the_courses_markers_and_administrators_give_marks() {
    let t = marked_course(false).await;
    for who in ["alice", "other"] {
        t.login(who).await;
        let refused = t
            .submit(&format!("{COURSEWORK}/marking/bob/mark"), "mark=99")
            .await;
        assert!(
            matches!(refused.status().code, 403 | 404),
            "{who}: {}",
            refused.status()
        );
        let token = t.token(who).await;
        let (status, _) = t
            .api_json(
                &token,
                Method::Put,
                &format!("/api/v1{COURSEWORK}/marks/bob"),
                Some(json!({"mark": 99})),
            )
            .await;
        assert!(matches!(status.code, 403 | 404), "{who}: {status}");
    }
    assert!(
        handin::models::mark::Entity::find()
            .all(&t.app().db)
            .await
            .unwrap()
            .is_empty()
    );
    t.login("admin").await;
    let saved = t
        .submit(&format!("{COURSEWORK}/marking/bob/mark"), "mark=99")
        .await;
    assert_eq!(saved.status(), Status::SeeOther);
}

/// Sends the marking page's CSV form.
async fn import<'c>(t: &'c TestApp, csv: &str) -> rocket::local::asynchronous::LocalResponse<'c> {
    let csrf = t.csrf().await;
    let (content_type, body) = multipart(&[
        Part::text("csrf", &csrf),
        Part::file("csv", "marks.csv", csv.as_bytes()),
    ]);
    t.client
        .post(format!("{COURSEWORK}/marks/import"))
        .header(content_type)
        .body(body)
        .dispatch()
        .await
}

#[rocket::async_test]
async fn marks_from_a_csv_are_all_or_nothing_and_every_bad_line_is_named() {
    let t = marked_course(false).await;
    t.login("mark").await;
    let bad = "student,mark,feedback\nalice,120,good\nnobody,50,\nbob,abc,\nbob,71,again\n";
    let refused = import(&t, bad).await;
    assert_eq!(refused.status(), Status::UnprocessableEntity);
    let page = refused.into_string().await.unwrap();
    for problem in [
        "line 2: 120 is more than the maximum mark",
        "line 3: no student nobody",
        "line 4: &#x27;abc&#x27; is not a mark",
        "line 5: bob is already on line 4",
    ] {
        assert!(page.contains(problem), "{problem} in {page}");
    }
    assert!(
        handin::models::mark::Entity::find()
            .all(&t.app().db)
            .await
            .unwrap()
            .is_empty()
    );

    let good = "student,mark,feedback\nALICE,70,\"Good, clear.\"\nbob,50,\n";
    let imported = import(&t, good).await;
    assert_eq!(imported.status(), Status::SeeOther);
    assert!(
        t.page(format!("{COURSEWORK}/marking"))
            .await
            .contains("2 marks imported.")
    );
    // An empty feedback column leaves the feedback as it was; Excel's
    // byte-order mark is no problem.
    let again = "\u{feff}student,mark,feedback\nalice,71,\n";
    assert_eq!(import(&t, again).await.status(), Status::SeeOther);
    let alice = t.page(format!("{COURSEWORK}/marking/alice")).await;
    assert!(
        alice.contains("Good, clear.") && alice.contains("<strong>71</strong>"),
        "{alice}"
    );

    // For the registry: raw, penalty, final, marker, for everyone (carol is
    // not on the course; a student with no mark has an empty one).
    let csv = t.page(format!("{COURSEWORK}/marks.csv")).await;
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "student,name,candidate,raw,penalty,final,pass,status,marker,marked_at"
    );
    assert!(
        lines[1].starts_with("alice,alice Example,,71,none,71,,on_time,mark,"),
        "{csv}"
    );
    assert!(
        lines[2].starts_with(
            "bob,bob Example,,50,uk_standard: 1 working day late: mark × 0.9,45,,late,mark,"
        ),
        "{csv}"
    );
    assert_eq!(lines.len(), 3, "{csv}");
}

#[rocket::async_test]
async fn the_api_lists_and_puts_marks_one_or_many() {
    let t = marked_course(false).await;
    let token = t.token("mark").await;
    let (status, given) = t
        .api_json(
            &token,
            Method::Put,
            &format!("/api/v1{COURSEWORK}/marks/bob"),
            Some(json!({"mark": 80, "feedback": "fine"})),
        )
        .await;
    assert_eq!(status, Status::Ok, "{given}");
    assert_eq!(
        given,
        json!({"student": "bob", "raw": "80", "final_mark": "72", "late_rule": "uk_standard: 1 working day late: mark × 0.9"})
    );

    let bulk = json!([{"student": "alice", "mark": "66.5"}, {"student": "bob", "mark": 200}, {"student": "zed", "mark": 1}]);
    let (status, answer) = t
        .api_json(
            &token,
            Method::Put,
            &format!("/api/v1{COURSEWORK}/marks"),
            Some(bulk),
        )
        .await;
    assert_eq!(status, Status::UnprocessableEntity);
    let message = answer["message"].as_str().unwrap();
    assert!(
        message.contains("item 2: 200 is more than the maximum mark")
            && message.contains("item 3: no student zed"),
        "{message}"
    );
    let bulk = json!([{"student": "alice", "mark": "66.5"}, {"student": "bob", "mark": 81}]);
    let (status, answer) = t
        .api_json(
            &token,
            Method::Put,
            &format!("/api/v1{COURSEWORK}/marks"),
            Some(bulk),
        )
        .await;
    assert_eq!(status, Status::Ok, "{answer}");

    let (status, list) = t
        .api_json(
            &token,
            Method::Get,
            &format!("/api/v1{COURSEWORK}/marks"),
            None,
        )
        .await;
    assert_eq!(status, Status::Ok);
    let alice = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["student"] == "alice")
        .unwrap();
    assert_eq!(
        (
            alice["mark"]["raw"].as_str(),
            alice["mark"]["final_mark"].as_str()
        ),
        (Some("66.5"), Some("66.5"))
    );
    let bob = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["student"] == "bob")
        .unwrap();
    assert_eq!(
        bob["mark"]["feedback"], "fine",
        "a bulk item without feedback leaves it as it was"
    );
}

#[rocket::async_test]
async fn under_anonymous_marking_names_appear_to_markers_only_after_release() {
    let t = marked_course(true).await;
    t.login("mark").await;
    let table = t.page(format!("{COURSEWORK}/marking")).await;
    assert!(
        !table.contains("alice") && !table.contains("bob"),
        "{table}"
    );
    // Marked by candidate number.
    let token = t.token("mark").await;
    let (_, list) = t
        .api_json(
            &token,
            Method::Get,
            &format!("/api/v1{COURSEWORK}/marks"),
            None,
        )
        .await;
    let first = list[0]["student"].as_str().unwrap().to_string();
    let saved = t
        .submit(&format!("{COURSEWORK}/marking/{first}/mark"), "mark=65")
        .await;
    assert_eq!(saved.status(), Status::SeeOther);
    let csv = t.page(format!("{COURSEWORK}/marks.csv")).await;
    assert!(!csv.contains("alice") && !csv.contains("bob"), "{csv}");

    // Released at a time to come: still anonymous until then.
    t.submit(
        &format!("{COURSEWORK}/marks/release"),
        "release=schedule&at=2020-06-10+09:00",
    )
    .await;
    assert!(
        !t.page(format!("{COURSEWORK}/marking"))
            .await
            .contains("alice")
    );
    assert_eq!(own_mark_section(&t, "alice").await, None);
    t.set_time("2020-06-10T08:00:00Z");
    t.login("mark").await;
    let table = t.page(format!("{COURSEWORK}/marking")).await;
    assert!(table.contains("alice") && table.contains("bob"), "{table}");
    // The candidate number still names the student (notes were kept by it).
    assert!(table.contains(&first), "{table}");
    let saved = t
        .submit(&format!("{COURSEWORK}/marking/{first}/mark"), "mark=66")
        .await;
    assert_eq!(saved.status(), Status::SeeOther);
    let table = t.page(format!("{COURSEWORK}/marking")).await;
    assert!(table.contains(": 66 saved"), "{table}");
}

#[rocket::async_test]
async fn the_pages_script_gets_the_answer_as_json() {
    let t = marked_course(false).await;
    t.login("mark").await;
    let t = &t;
    let ask = |mark: &str| {
        let body = mark.to_string();
        async move {
            let csrf = t.csrf().await;
            let answer = t
                .client
                .post(format!("{COURSEWORK}/marking/bob/mark"))
                .header(rocket::http::ContentType::Form)
                .header(rocket::http::Header::new("Accept", "application/json"))
                .body(format!("csrf={csrf}&mark={body}"))
                .dispatch()
                .await;
            let status = answer.status();
            let json: serde_json::Value =
                serde_json::from_str(&answer.into_string().await.unwrap()).unwrap();
            (status, json)
        }
    };
    let (status, answer) = ask("70").await;
    assert_eq!(status, Status::Ok);
    assert_eq!(
        (answer["final_mark"].as_str(), answer["raw"].as_str()),
        (Some("63"), Some("70"))
    );
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("63 after the late policy")
    );
    let (status, answer) = ask("700").await;
    assert_eq!(status, Status::UnprocessableEntity);
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("more than the maximum mark")
    );
    assert!(answer.get("final_mark").is_none());
}

#[rocket::async_test]
async fn a_mark_is_removed_before_release_only_and_the_table_keeps_its_filter() {
    let t = marked_course(false).await;
    t.login("mark").await;
    // Without the page's script, saving from a filtered, sorted table comes
    // back to that table as it was: each row's form carries the table's
    // view in its address.
    let table = t
        .page(format!(
            "{COURSEWORK}/marking?status=late&sort=status&dir=desc"
        ))
        .await;
    assert!(
        table.contains("/marking/bob/mark?status=late&amp;sort=status&amp;dir=desc\""),
        "{table}"
    );
    let saved = t
        .submit(
            &format!("{COURSEWORK}/marking/bob/mark?status=late&sort=status&dir=desc"),
            "mark=40",
        )
        .await;
    assert_eq!(
        saved.headers().get_one("Location"),
        Some(format!("{COURSEWORK}/marking?status=late&sort=status&dir=desc").as_str())
    );
    // Only known values go back into the address.
    let saved = t
        .submit(
            &format!(
                "{COURSEWORK}/marking/bob/mark?status=%22%3E%3Cscript%3E&sort=nonsense&dir=up"
            ),
            "mark=41",
        )
        .await;
    assert_eq!(
        saved.headers().get_one("Location"),
        Some(format!("{COURSEWORK}/marking").as_str())
    );

    // Given to the wrong student: taken away, on the record.
    let removed = t
        .submit(&format!("{COURSEWORK}/marking/bob/mark/remove"), "")
        .await;
    assert_eq!(removed.status(), Status::SeeOther);
    let history = t.page(format!("{COURSEWORK}/marking/bob")).await;
    assert!(
        history.contains("The mark for bob was removed."),
        "{history}"
    );
    let marks = handin::models::mark::Entity::find()
        .all(&t.app().db)
        .await
        .unwrap();
    assert!(marks.is_empty());
    let removal = handin::models::audit::Entity::find()
        .all(&t.app().db)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.action == "mark_removed")
        .expect("the removal is on the record");
    assert!(removal.before.unwrap().starts_with("41 (final 36.9)"));
    // Nothing to remove: 404.
    let token = t.token("mark").await;
    let (status, _) = t
        .api_json(
            &token,
            Method::Delete,
            &format!("/api/v1{COURSEWORK}/marks/bob"),
            None,
        )
        .await;
    assert_eq!(status, Status::NotFound);

    // After the release the student has seen it: change it, not remove it.
    t.submit(&format!("{COURSEWORK}/marking/alice/mark"), "mark=70")
        .await;
    t.submit(&format!("{COURSEWORK}/marks/release"), "release=now&at=")
        .await;
    let (status, body) = t
        .api_json(
            &token,
            Method::Delete,
            &format!("/api/v1{COURSEWORK}/marks/alice"),
            None,
        )
        .await;
    assert_eq!(status, Status::Conflict, "{body}");
    assert_eq!(
        handin::models::mark::Entity::find()
            .all(&t.app().db)
            .await
            .unwrap()
            .len(),
        1
    );
}
