//! `handin import`: deadlines from a file, idempotent, DST-gap times refused.

use handin::models::{assignment, course};
use sea_orm::{ActiveModelTrait, EntityTrait};

use crate::support::*;

const EXAMPLE: &str = include_str!("../fixtures/comp6248-2020.toml");

#[rocket::async_test]
async fn the_example_file_imports_the_real_deadlines_and_twice_changes_nothing() {
    let t = TestApp::new().await;
    let db = &t.app().db;
    let first = handin::services::catalogue::import_file(t.app(), EXAMPLE, &t.change())
        .await
        .unwrap();
    // The seed's COMP6248 has no closure days and another coursework limit.
    assert_eq!(
        (first.created, first.updated, first.unchanged),
        (0, 2, 1),
        "{first}"
    );
    let courses = course::Entity::find().all(db).await.unwrap();
    let assignments = assignment::Entity::find().all(db).await.unwrap();
    let second = handin::services::catalogue::import_file(t.app(), EXAMPLE, &t.change())
        .await
        .unwrap();
    assert_eq!(
        (second.created, second.updated, second.unchanged),
        (0, 0, 3)
    );
    assert_eq!(course::Entity::find().all(db).await.unwrap(), courses);
    assert_eq!(
        assignment::Entity::find().all(db).await.unwrap(),
        assignments
    );

    let (_, coursework) = assignment::find_by_codes(db, "COMP6248", "coursework")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(coursework.due_at, utc("2020-05-29T15:00:00Z"));
    let (_, labs) = assignment::find_by_codes(db, "COMP6248", "labs")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(labs.due_at, utc("2020-05-20T15:00:00Z"));
}

#[rocket::async_test]
async fn a_time_in_the_dst_gap_is_refused_naming_the_assignment_and_nothing_changes() {
    let t = TestApp::new().await;
    let db = &t.app().db;
    let before = assignment::Entity::find().all(db).await.unwrap();
    let text = r#"
        [[course]]
        code = "COMP6248"
        title = "Differentiable Programming"
        time_zone = "Europe/London"
        [[course.assignment]]
        slug = "labs"
        title = "Lab exercises"
        due = "2020-06-20 16:00"
        [[course.assignment]]
        slug = "quiz"
        title = "Quiz"
        due = "2020-03-29 01:30"
    "#;
    let error = handin::services::catalogue::import_file(t.app(), text, &t.change())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("COMP6248/quiz: due: 2020-03-29 01:30 does not exist in Europe/London"),
        "{error}"
    );
    assert_eq!(
        assignment::Entity::find().all(db).await.unwrap(),
        before,
        "all or nothing"
    );
}

#[rocket::async_test]
async fn bad_files_are_refused_with_every_reason() {
    let t = TestApp::new().await;
    let text = r#"
        [[course]]
        code = "BAD CODE"
        title = "x"
        time_zone = "Mars/Olympus"
        [[course.assignment]]
        slug = "a"
        title = "A"
        due = "tomorrow"
        max_bundle_mib = 999999
    "#;
    let error = handin::services::catalogue::import_file(t.app(), text, &t.change())
        .await
        .unwrap_err()
        .to_string();
    for expected in [
        "course code 'BAD CODE'",
        "'Mars/Olympus' is not a time zone",
        "'tomorrow' is not a time",
        "max_bundle_mib",
    ] {
        assert!(error.contains(expected), "{expected} in {error}");
    }
    assert!(
        handin::services::catalogue::import_file(t.app(), "[[course]]\ncode = 1", &t.change())
            .await
            .unwrap_err()
            .to_string()
            .contains("not valid")
    );
}

#[rocket::async_test]
async fn a_file_keeps_the_marking_settings_it_leaves_out_and_cannot_leave_a_mark_above_the_maximum()
{
    let t = TestApp::new().await;
    let (db, app) = (&t.app().db, t.app());
    let file = |extra: &str| {
        format!(
            "[[course]]\ncode = \"MARK101\"\ntitle = \"Marks\"\ntime_zone = \"Europe/London\"\n\
             [[course.assignment]]\nslug = \"essay\"\ntitle = \"Essay\"\ndue = \"2020-06-01 16:00\"\n{extra}\n"
        )
    };
    let change = &t.change();
    let import = |text: String| async move {
        handin::services::catalogue::import_file(app, &text, change).await
    };
    import(file("max_mark = 50\npass_mark = 20\nfeedback_files = true"))
        .await
        .unwrap();
    // The same deadlines without the marking settings: they stay.
    import(file("")).await.unwrap();
    let (_, essay) = assignment::find_by_codes(db, "MARK101", "essay")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (essay.max_mark, essay.pass_mark, essay.feedback_files),
        (5000, Some(2000), true)
    );
    // A pass mark above the maximum the assignment keeps is refused.
    let error = import(file("pass_mark = 60")).await.unwrap_err();
    assert!(
        error
            .to_string()
            .contains("the pass mark (60) is more than the maximum mark (50)"),
        "{error}"
    );
    // A mark of 45 is given: the maximum cannot go below it.
    let alice = handin::models::user::find_by_username(db, "alice")
        .await
        .unwrap()
        .unwrap();
    handin::models::mark::ActiveModel {
        assignment_id: sea_orm::ActiveValue::Set(essay.id),
        student_id: sea_orm::ActiveValue::Set(alice.id),
        raw_mark: sea_orm::ActiveValue::Set(4500),
        final_mark: sea_orm::ActiveValue::Set(4500),
        late_rule: sea_orm::ActiveValue::Set("none".into()),
        feedback: sea_orm::ActiveValue::Set(String::new()),
        marked_at: sea_orm::ActiveValue::Set(utc("2020-06-10T10:00:00Z")),
        changed_after_release: sea_orm::ActiveValue::Set(false),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();
    let error = import(file("max_mark = 40")).await.unwrap_err();
    assert!(
        error
            .to_string()
            .contains("1 mark is above the new maximum of 40 (the highest is 45)"),
        "{error}"
    );
    let (_, unchanged) = assignment::find_by_codes(db, "MARK101", "essay")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(unchanged, essay);
    import(file("max_mark = 45")).await.unwrap();
}
