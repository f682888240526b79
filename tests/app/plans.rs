//! The query plans of the pages people open at 16:01: every statement the
//! app runs for them is put to SQLite's `EXPLAIN QUERY PLAN`, and none may
//! read the submissions, extensions, extension requests, audit,
//! enrolment or marks tables whole. A later change that loses an index fails here, not in production.

use rocket::http::Status;
use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};

use crate::support::*;

/// The tables that grow with every year of use (and enrolments, with
/// every student of every course).
const HOT: [&str; 6] = [
    "submissions",
    "extensions",
    "extension_requests",
    "audit_log",
    "enrolments",
    "marks",
];

/// An administrator grants `student` an extension on the coursework.
async fn grant(t: &TestApp, admin_token: &str, student: &str) {
    let granted = t
        .client
        .put(format!(
            "/api/v1/courses/COMP6248/assignments/coursework/extensions/{student}"
        ))
        .header(rocket::http::ContentType::JSON)
        .header(bearer(admin_token))
        .body(r#"{"until": "2020-06-01 16:00", "reason": "ill"}"#)
        .dispatch()
        .await;
    assert_eq!(granted.status(), Status::Ok);
}

/// What `EXPLAIN QUERY PLAN` says of a statement, one step a line.
async fn plan(t: &TestApp, statement: &Statement) -> Vec<String> {
    let explained = Statement {
        sql: format!("EXPLAIN QUERY PLAN {}", statement.sql),
        values: statement.values.clone(),
        db_backend: DatabaseBackend::Sqlite,
    };
    t.app()
        .db
        .query_all_raw(explained)
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get::<String>("", "detail").unwrap())
        .collect()
}

/// A step that reads a hot table whole: `SCAN`, with or without an index
/// (a whole index is as long as its table), where `SEARCH` would look up
/// only the rows wanted. The newest-first page of the audit log with no
/// filter (`ORDER BY id DESC LIMIT n`, no WHERE) walks the table in key
/// order and stops after n rows: that one is allowed.
fn full_scan(statement: &Statement, step: &str) -> Option<&'static str> {
    let sql = statement.sql.to_uppercase();
    let walks_newest_first = !sql.contains(" WHERE ") && sql.contains(" LIMIT ");
    HOT.into_iter().find(|table| {
        let scans = step == format!("SCAN {table}") || step.starts_with(&format!("SCAN {table} "));
        scans && !walks_newest_first
    })
}

#[rocket::async_test]
async fn the_pages_opened_at_the_deadline_read_no_growing_table_whole() {
    let (t, trace) = TestApp::traced().await;
    // Something in every table: attempts, an extension, a request, the log.
    t.hand_in("alice", "coursework", "one").await;
    t.hand_in("alice", "coursework", "two").await;
    t.hand_in("bob", "coursework", "bob").await;
    t.login("alice").await;
    let csrf = t.csrf().await;
    let asked = crate::admin::ask_extension(&t, &csrf, "ill", b"%PDF note").await;
    assert_eq!(asked.status(), Status::SeeOther);
    let admin = t.token("admin").await;
    grant(&t, &admin, "bob").await;
    // A mark, released.
    t.login("mark").await;
    for (form, fields) in [
        ("marking/alice/mark", "mark=70"),
        ("marks/release", "release=now&at="),
    ] {
        let path = format!("/courses/COMP6248/assignments/coursework/{form}");
        assert_eq!(t.submit(&path, fields).await.status(), Status::SeeOther);
    }

    // The pages and API calls of the day, as each person opens them.
    let a = "/courses/COMP6248/assignments/coursework";
    let mut visits: Vec<(&str, String)> = vec![
        ("alice", "/".into()),
        ("alice", a.into()),
        ("alice", "/submissions/1".into()),
        ("mark", format!("{a}/marking")),
        ("mark", format!("{a}/marking/alice")),
        ("mark", format!("{a}/submissions.csv")),
        ("mark", format!("{a}/marks.csv")),
        ("admin", format!("{a}/extensions")),
        ("admin", "/admin".into()),
        ("admin", "/admin/audit".into()),
    ];
    for filter in [
        "course=COMP6248",
        "course=COMP6248&assignment=coursework",
        "student=alice",
        "action=extension_granted",
    ] {
        visits.push(("admin", format!("/admin/audit?{filter}")));
    }
    let mut checked = 0;
    let mut problems = Vec::new();
    for (who, path) in &visits {
        t.login(who).await;
        trace.lock().unwrap().clear();
        let page = t.client.get(path.as_str()).dispatch().await;
        assert_eq!(page.status(), Status::Ok, "{who} {path}");
        let statements: Vec<Statement> = std::mem::take(&mut *trace.lock().unwrap());
        assert!(!statements.is_empty(), "{path} ran no query?");
        for statement in statements {
            let sql = statement.sql.trim_start().to_uppercase();
            if !sql.starts_with("SELECT") {
                continue; // session bookkeeping writes by key
            }
            checked += 1;
            for step in plan(&t, &statement).await {
                if let Some(table) = full_scan(&statement, &step) {
                    problems.push(format!(
                        "{path} reads {table} whole ({step}):\n  {}",
                        statement.sql
                    ));
                }
            }
        }
    }
    assert!(checked > 30, "only {checked} statements checked");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn a_full_scan_is_told_from_a_search_and_from_the_newest_first_walk() {
    let select = |sql: &str| Statement::from_string(DatabaseBackend::Sqlite, sql.to_string());
    let filtered = select("SELECT * FROM audit_log WHERE course_id = ? ORDER BY id DESC LIMIT 50");
    assert_eq!(full_scan(&filtered, "SCAN audit_log"), Some("audit_log"));
    assert_eq!(
        full_scan(
            &filtered,
            "SEARCH audit_log USING INDEX audit_by_course (course_id=?)"
        ),
        None
    );
    let newest = select("SELECT * FROM audit_log ORDER BY id DESC LIMIT 50");
    assert_eq!(full_scan(&newest, "SCAN audit_log"), None);
    let by_student = select("SELECT * FROM submissions WHERE student_id = ?");
    assert_eq!(
        full_scan(&by_student, "SCAN submissions"),
        Some("submissions")
    );
    assert_eq!(
        full_scan(&by_student, "SCAN submissions USING COVERING INDEX x"),
        Some("submissions")
    );
    assert_eq!(
        full_scan(
            &by_student,
            "SEARCH submissions USING INDEX submissions_by_student (student_id=?)"
        ),
        None
    );
    assert_eq!(full_scan(&by_student, "SCAN users"), None);
}

/// How many statements a page runs, as `who`.
async fn statements_for(t: &TestApp, trace: &Trace, who: &str, path: &str) -> usize {
    t.login(who).await;
    trace.lock().unwrap().clear();
    let page = t.client.get(path).dispatch().await;
    assert_eq!(page.status(), Status::Ok, "{who} {path}");
    trace.lock().unwrap().len()
}

#[rocket::async_test]
async fn a_page_runs_as_many_queries_for_ten_students_and_two_courses_as_for_two_and_one() {
    let (t, trace) = TestApp::traced().await;
    let a = "/courses/COMP6248/assignments/coursework";
    let pages = [
        ("alice", "/".to_string()),
        ("alice", a.to_string()),
        ("mark", format!("{a}/marking")),
        ("mark", format!("{a}/submissions.csv")),
        ("mark", format!("{a}/marks.csv")),
        ("admin", format!("{a}/extensions")),
        ("admin", "/admin/audit".to_string()),
        ("admin", "/admin/audit?course=COMP6248".to_string()),
    ];
    t.hand_in("alice", "coursework", "one").await;
    t.hand_in("bob", "coursework", "one").await;
    let mut before = Vec::new();
    for (who, path) in &pages {
        before.push(statements_for(&t, &trace, who, path).await);
    }
    // Eight more students, each with three attempts and an extension.
    let admin = t.token("admin").await;
    for n in 0..8 {
        let name = format!("extra{n}");
        t.add_user(&name, handin::models::user::Role::Student, Some("COMP6248"))
            .await;
        for attempt in 0..3 {
            t.hand_in(&name, "coursework", &format!("{name} {attempt}"))
                .await;
        }
        grant(&t, &admin, &name).await;
    }
    // And alice takes a second course: one more assignment on her dashboard.
    t.add_user(
        "alice",
        handin::models::user::Role::Student,
        Some("COMP1000"),
    )
    .await;
    for ((who, path), before) in pages.iter().zip(before) {
        let after = statements_for(&t, &trace, who, path).await;
        assert_eq!(
            after, before,
            "{who} {path}: {before} queries, then {after}"
        );
    }
}
