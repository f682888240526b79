//! A database made ready for the real server binary: a course from TOML and
//! users inserted directly. Shared by the rush, crash and browser tests and
//! by the benchmark.

#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;

use chrono::Utc;
use handin::clock::SystemClock;
use handin::config::AppConfig;
use handin::models::{course, enrolment, user};
use sea_orm::{ActiveModelTrait, ActiveValue::Set};

/// Opens (and migrates) the database and uploads folder in `dir`.
pub async fn open(dir: &Path) -> handin::App {
    open_with(dir, |_| {}).await
}

/// As [`open`], with settings of the test's own (a bucket, say).
pub async fn open_with(dir: &Path, configure: impl FnOnce(&mut AppConfig)) -> handin::App {
    let mut config = AppConfig {
        database: crate::database::for_dir(dir),
        uploads_dir: dir.join("uploads"),
        ..AppConfig::default()
    };
    configure(&mut config);
    handin::open(config, Arc::new(SystemClock)).await.unwrap()
}

/// A course with one assignment, due `minutes` from now (negative: in the
/// past), in Europe/London; `extra` is added to the assignment's TOML lines.
pub async fn course(
    app: &handin::App,
    code: &str,
    slug: &str,
    title: &str,
    minutes: i64,
    extra: &str,
) -> course::Model {
    let due = Utc::now() + chrono::Duration::minutes(minutes);
    course_due(app, (code, slug, title), due, extra).await
}

/// As [`course`], due at `due` (to the second).
pub async fn course_due(
    app: &handin::App,
    (code, slug, title): (&str, &str, &str),
    due: chrono::DateTime<Utc>,
    extra: &str,
) -> course::Model {
    let due = due.with_timezone(&chrono_tz::Europe::London);
    let text = format!(
        "[[course]]\ncode = \"{code}\"\ntitle = \"{code} course\"\ntime_zone = \"Europe/London\"\n\
         [[course.assignment]]\nslug = \"{slug}\"\ntitle = \"{title}\"\ndue = \"{}\"\n{extra}\n",
        due.format("%Y-%m-%d %H:%M:%S")
    );
    let change = handin::services::catalogue::Change {
        actor_id: None,
        at: Utc::now(),
        reason: "fixture",
    };
    handin::services::catalogue::import_file(app, &text, &change)
        .await
        .unwrap();
    course::find_by_code(&app.db, code).await.unwrap().unwrap()
}

/// A user enrolled in the course (as a student, or as a marker for staff).
/// `password_hash` "!" matches no password: for users who use tokens only.
pub async fn user(
    app: &handin::App,
    username: &str,
    name: &str,
    role: &str,
    course_id: i32,
    password_hash: &str,
) -> i32 {
    let row = user::ActiveModel {
        username: Set(username.to_string()),
        display_name: Set(name.to_string()),
        email: Set(format!("{username}@example.ac.uk")),
        role: Set(user::Role::parse(role).unwrap()),
        password_hash: Set(password_hash.to_string()),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
    if role != "admin" {
        let course_role = if role == "student" {
            enrolment::EnrolledAs::Student
        } else {
            enrolment::EnrolledAs::Marker
        };
        enrolment::enrol(&app.db, row.id, course_id, course_role)
            .await
            .unwrap();
    }
    row.id
}

/// Every user's username by id.
pub async fn usernames(app: &handin::App) -> std::collections::BTreeMap<i32, String> {
    use sea_orm::EntityTrait;
    user::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|u| (u.id, u.username))
        .collect()
}
