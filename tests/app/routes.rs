//! Every mounted route, read from the Rocket instance itself (so a new route
//! cannot be forgotten), against every kind of caller, with and without a
//! valid CSRF token; plus tampered cookies and forged tokens.

use rocket::http::{ContentType, Cookie, Method, Status};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

use crate::support::*;

const WHO: [&str; 6] = ["anonymous", "alice", "bob", "other", "mark", "admin"];

/// Who may use each route (by method and path as mounted). A route missing
/// from this table fails the test.
fn allowed(method: Method, path: &str) -> Option<&'static [&'static str]> {
    const ALL: &[&str] = &["anonymous", "alice", "bob", "other", "mark", "admin"];
    const LOGGED_IN: &[&str] = &["alice", "bob", "other", "mark", "admin"];
    const COURSE: &[&str] = &["alice", "bob", "mark", "admin"];
    const STUDENTS: &[&str] = &["alice", "bob"];
    const OWNER_AND_STAFF: &[&str] = &["alice", "mark", "admin"];
    const STAFF: &[&str] = &["mark", "admin"];
    const ADMIN: &[&str] = &["admin"];
    const OWNER_AND_ADMIN: &[&str] = &["alice", "admin"];
    const SIGN_IN: &[&str] = &[];
    let a = "/courses/<code>/assignments/<slug>";
    let table: Vec<(Method, String, &'static [&'static str])> = vec![
        (Method::Get, "/login".into(), ALL),
        (Method::Post, "/login".into(), ALL),
        // Signing in with the university account: open to all, and here
        // (no single sign-on set up) refused to all; `sso.rs` covers them.
        (Method::Get, "/login/sso".into(), SIGN_IN),
        (Method::Get, "/login/sso/callback".into(), SIGN_IN),
        (Method::Get, "/tokens".into(), LOGGED_IN),
        (Method::Get, "/calendar".into(), LOGGED_IN),
        (Method::Post, "/calendar".into(), LOGGED_IN),
        // The feed opens by the secret in its address ("1" opens nothing):
        // calendars.rs covers it.
        (Method::Get, "/calendar/<file>".into(), SIGN_IN),
        (Method::Get, format!("{a}/calendar.ics"), COURSE),
        (Method::Post, "/tokens".into(), LOGGED_IN),
        // Token 1 is alice's (her hand-in below made it).
        (Method::Post, "/tokens/<id>/revoke".into(), OWNER_AND_ADMIN),
        (Method::Get, "/admin/tokens".into(), ADMIN),
        // Evidence: the keys, the log and the checker are public (the log
        // holds hashes only); a signed receipt names its student.
        (Method::Get, "/.well-known/jwks.json".into(), ALL),
        (Method::Get, "/log/checkpoint".into(), ALL),
        (Method::Get, "/verify".into(), ALL),
        // Their questions are in the query (evidence.rs covers them).
        (Method::Get, "/log/inclusion".into(), SIGN_IN),
        (Method::Get, "/log/consistency".into(), SIGN_IN),
        (
            Method::Get,
            "/submissions/<id>/receipt.json".into(),
            OWNER_AND_STAFF,
        ),
        (
            Method::Get,
            "/api/v1/submissions/<id>/receipt.json".into(),
            OWNER_AND_STAFF,
        ),
        (Method::Get, "/admin/outbox".into(), ADMIN),
        // Mail 1 is alice's receipt.
        (Method::Post, "/admin/outbox/<id>/resend".into(), ADMIN),
        (Method::Get, "/static/handin.css".into(), ALL),
        (Method::Get, "/static/handin.js".into(), ALL),
        // For a load balancer: "alive" and "ready", nothing more.
        (Method::Get, "/healthz".into(), ALL),
        (Method::Get, "/readyz".into(), ALL),
        (Method::Post, "/logout".into(), LOGGED_IN),
        (Method::Get, "/".into(), LOGGED_IN),
        (Method::Get, a.into(), COURSE),
        (Method::Post, format!("{a}/submissions"), STUDENTS),
        (Method::Get, "/submissions/<id>".into(), OWNER_AND_STAFF),
        (
            Method::Get,
            "/submissions/<id>/bundle".into(),
            OWNER_AND_STAFF,
        ),
        (
            Method::Get,
            "/submissions/<id>/files".into(),
            OWNER_AND_STAFF,
        ),
        (
            Method::Get,
            "/submissions/<id>/files/<index>".into(),
            OWNER_AND_STAFF,
        ),
        (Method::Get, format!("{a}/marking"), STAFF),
        (Method::Get, format!("{a}/marking/<label>"), STAFF),
        (Method::Get, format!("{a}/submissions.zip"), STAFF),
        (Method::Get, format!("{a}/submissions.csv"), STAFF),
        (Method::Post, format!("{a}/marking/<label>/mark"), STAFF),
        (Method::Post, format!("{a}/marks/import"), STAFF),
        (Method::Post, format!("{a}/marks/release"), STAFF),
        (Method::Get, format!("{a}/marks.csv"), STAFF),
        (Method::Get, format!("/api/v1{a}/marks.csv"), STAFF),
        (Method::Get, format!("/api/v1{a}/marks"), STAFF),
        (Method::Put, format!("/api/v1{a}/marks/<label>"), STAFF),
        (Method::Put, format!("/api/v1{a}/marks"), STAFF),
        (Method::Delete, format!("/api/v1{a}/marks/<label>"), STAFF),
        (
            Method::Post,
            format!("{a}/marking/<label>/mark/remove"),
            STAFF,
        ),
        (
            Method::Post,
            format!("{a}/marking/<label>/feedback-files"),
            STAFF,
        ),
        (
            Method::Post,
            format!("{a}/marking/<label>/feedback-files/<id>/remove"),
            STAFF,
        ),
        (Method::Post, format!("{a}/feedback-files/import"), STAFF),
        // Feedback file 1 is alice's; the marks are not released, so even
        // she does not see it yet.
        (Method::Get, "/feedback-files/<id>".into(), STAFF),
        (Method::Get, "/api/v1/feedback-files/<id>".into(), STAFF),
        (Method::Get, format!("{a}/extensions"), ADMIN),
        (Method::Post, format!("{a}/extensions"), ADMIN),
        (
            Method::Post,
            format!("{a}/extensions/<username>/revoke"),
            ADMIN,
        ),
        (Method::Post, format!("{a}/extensions/import"), ADMIN),
        (Method::Post, format!("{a}/extension-requests/<id>"), ADMIN),
        (Method::Post, format!("{a}/extension-request"), STUDENTS),
        (
            Method::Post,
            format!("{a}/extension-request/<id>/withdraw"),
            STUDENTS,
        ),
        (
            Method::Get,
            "/extension-requests/<id>/evidence".into(),
            OWNER_AND_ADMIN,
        ),
        (Method::Get, "/admin".into(), ADMIN),
        (Method::Post, "/admin/sessions".into(), ADMIN),
        (Method::Post, "/admin/closure-days".into(), ADMIN),
        (Method::Post, "/admin/courses".into(), ADMIN),
        (Method::Get, "/admin/courses/<code>".into(), ADMIN),
        (
            Method::Post,
            "/admin/courses/<code>/assignments".into(),
            ADMIN,
        ),
        (
            Method::Get,
            "/admin/courses/<code>/assignments/<slug>".into(),
            ADMIN,
        ),
        (Method::Post, "/admin/roster".into(), ADMIN),
        (Method::Get, "/admin/audit".into(), ADMIN),
        (Method::Get, "/admin/audit.csv".into(), ADMIN),
        (Method::Get, "/api/v1/assignments".into(), LOGGED_IN),
        (
            Method::Post,
            "/api/v1/courses/<code>/assignments/<slug>/submissions".into(),
            STUDENTS,
        ),
        (
            Method::Get,
            "/api/v1/submissions/<id>".into(),
            OWNER_AND_STAFF,
        ),
        (
            Method::Get,
            "/api/v1/submissions/<id>/bundle".into(),
            OWNER_AND_STAFF,
        ),
        (Method::Get, format!("/api/v1{a}/submissions"), COURSE),
        (Method::Get, format!("/api/v1{a}/submissions.zip"), STAFF),
        (Method::Get, format!("/api/v1{a}/submissions.csv"), STAFF),
        (Method::Get, format!("/api/v1{a}/extensions"), ADMIN),
        (
            Method::Put,
            format!("/api/v1{a}/extensions/<username>"),
            ADMIN,
        ),
        (
            Method::Delete,
            format!("/api/v1{a}/extensions/<username>"),
            ADMIN,
        ),
    ];
    table
        .into_iter()
        .find(|(m, p, _)| *m == method && p == path)
        .map(|(_, _, who)| who)
}

fn concrete(path: &str) -> String {
    path.replace("<code>", "COMP6248")
        .replace("<_code>", "COMP6248")
        .replace("<slug>", "coursework")
        .replace("<_slug>", "coursework")
        .replace("<id>", "1")
        .replace("<username>", "bob")
        .replace("<label>", "alice")
        .replace("<index>", "0")
        .replace("<file>", "1")
}

/// Every field any form reads, so a form is refused for its token alone.
fn body(csrf: &str) -> String {
    format!(
        "csrf={csrf}&username=bob&password=x&next=%2F&students=bob&until=2020-06-01T16%3A00&reason=r&decision=reject\
         &comment=c&code=COMP6248&title=T&time_zone=Europe%2FLondon&closure_days=&slug=coursework&opens=&due=2020-05-29T16%3A00\
         &hard_close=&grace_minutes=0&max_bundle_mib=1&required_files=&late_policy=none&csv=username%2Cuntil%2Creason&bundle=x\
         &mark=50&feedback=f&release=now&at=&name=n&days=1"
    )
}

async fn state(t: &TestApp) -> Vec<u64> {
    let db = &t.app().db;
    vec![
        handin::models::submission::Entity::find()
            .count(db)
            .await
            .unwrap(),
        handin::models::extension::Entity::find()
            .count(db)
            .await
            .unwrap(),
        handin::models::requests::Entity::find()
            .count(db)
            .await
            .unwrap(),
        handin::models::user::Entity::find()
            .count(db)
            .await
            .unwrap(),
        handin::models::course::Entity::find()
            .count(db)
            .await
            .unwrap(),
        handin::models::assignment::Entity::find()
            .count(db)
            .await
            .unwrap(),
        t.upload_files().len() as u64,
        handin::models::mark::Entity::find()
            .count(db)
            .await
            .unwrap(),
        handin::models::assignment::Entity::find()
            .filter(handin::models::assignment::Column::MarksReleasedAt.is_not_null())
            .count(db)
            .await
            .unwrap(),
        handin::models::api_token::Entity::find()
            .filter(handin::models::api_token::Column::RevokedAt.is_not_null())
            .count(db)
            .await
            .unwrap(),
        handin::models::outbox::Entity::find()
            .filter(handin::models::outbox::Column::State.eq("queued"))
            .count(db)
            .await
            .unwrap(),
        handin::models::feedback_file::Entity::find()
            .count(db)
            .await
            .unwrap(),
    ]
}

async fn as_who(t: &TestApp, who: &str) -> Option<String> {
    if who == "anonymous" {
        t.client.cookies().remove_private("handin_session");
        return None;
    }
    t.login(who).await;
    Some(t.token(who).await)
}

#[rocket::async_test]
async fn every_route_refuses_everyone_it_should() {
    let t = TestApp::new().await;
    // Submission 1 and request 1 (with evidence) are alice's.
    let id = t.hand_in("alice", "coursework", "alice's work").await;
    assert_eq!(id, 1);
    let db = &t.app().db;
    let (course, coursework) =
        handin::models::assignment::find_by_codes(db, "COMP6248", "coursework")
            .await
            .unwrap()
            .unwrap();
    let alice = handin::models::user::find_by_username(db, "alice")
        .await
        .unwrap()
        .unwrap();
    let token_one = handin::models::api_token::Entity::find_by_id(1)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(token_one.user_id, alice.id, "token 1 is alice's");
    let evidence = t.app().uploads.receive(&b"note"[..], 100).await.unwrap();
    let kept = t
        .app()
        .uploads
        .keep(evidence, handin::storage::Shelf::Evidence)
        .await
        .unwrap();
    let ask = handin::models::requests::Ask {
        requested_until: utc("2020-06-05T15:00:00Z"),
        reason: "ill".into(),
        evidence: Some((kept, "note.pdf".into())),
    };
    handin::models::requests::ask(
        db,
        course.id,
        coursework.id,
        alice.id,
        ask,
        utc("2020-05-28T10:00:00Z"),
    )
    .await
    .unwrap();

    let returned = t
        .app()
        .uploads
        .receive(&b"well done"[..], 100)
        .await
        .unwrap();
    let (size, sha256) = (returned.size, returned.sha256.clone());
    let stored_path = t
        .app()
        .uploads
        .keep(returned, handin::storage::Shelf::Feedback)
        .await
        .unwrap();
    let file = handin::models::feedback_file::Kept {
        name: "feedback.pdf".into(),
        stored_path,
        size,
        sha256,
    };
    let mark = handin::models::user::find_by_username(db, "mark")
        .await
        .unwrap()
        .unwrap();
    handin::models::feedback_file::record(
        db,
        coursework.id,
        alice.id,
        vec![file],
        false,
        mark.id,
        utc("2020-05-30T10:00:00Z"),
    )
    .await
    .unwrap();

    let routes: Vec<(Method, String)> = t
        .client
        .rocket()
        .routes()
        .map(|r| {
            (
                r.method,
                // `<_code>` is `<code>` that the handler leaves to its guard.
                r.uri.as_str().split('?').next().unwrap().replace("<_", "<"),
            )
        })
        .collect();
    assert!(routes.len() >= 38, "{} routes", routes.len());
    for (method, path) in &routes {
        assert!(
            allowed(*method, path).is_some(),
            "{method} {path} is mounted but not in the access table"
        );
    }

    for who in WHO {
        let token = as_who(&t, who).await;
        let csrf = if token.is_some() {
            t.csrf().await
        } else {
            String::new()
        };
        for (method, path) in &routes {
            let may = allowed(*method, path).unwrap().contains(&who);
            let uri = concrete(path);
            let api = path.starts_with("/api/");
            let mut request = t.client.req(*method, uri.clone());
            if api && let Some(token) = &token {
                request = request.header(bearer(token));
            }
            let state_changing = *method != Method::Get;
            let before = state(&t).await;
            if state_changing {
                // Without a valid token first: refused, and nothing changes.
                if !api && path != "/login" {
                    let forged = t
                        .client
                        .req(*method, uri.clone())
                        .header(ContentType::Form)
                        .body(body("forged"));
                    let status = forged.dispatch().await.status();
                    assert!(
                        status.code >= 400 || who == "anonymous",
                        "{who} {method} {path} without CSRF gave {status}"
                    );
                    assert_eq!(
                        state(&t).await,
                        before,
                        "{who} {method} {path} without CSRF changed something"
                    );
                }
                if may {
                    continue; // Allowed and state-changing: the feature tests cover it.
                }
                request = if api {
                    request
                        .header(ContentType::JSON)
                        .body(r#"{"until":"2020-06-01 16:00","reason":"r"}"#)
                } else {
                    request.header(ContentType::Form).body(body(&csrf))
                };
            }
            let status = request.dispatch().await.status();
            if may {
                assert!(status.code < 400, "{who} may {method} {path}, got {status}");
            } else if path.starts_with("/login/sso")
                || path.starts_with("/log/")
                || path == "/calendar/<file>"
            {
                assert!(
                    matches!(status.code, 400 | 404 | 422),
                    "{who} {method} {path} gave {status}"
                );
            } else if who == "anonymous" {
                let expected = if api {
                    Status::Unauthorized
                } else {
                    Status::SeeOther
                };
                assert_eq!(status, expected, "anonymous {method} {path}");
            } else {
                assert!(
                    matches!(status.code, 403 | 404),
                    "{who} {method} {path} gave {status}"
                );
            }
            assert_eq!(
                state(&t).await,
                before,
                "{who} {method} {path} changed something it may not"
            );
        }
    }
}

#[rocket::async_test]
async fn a_tampered_session_cookie_and_a_forged_or_unknown_token_get_nowhere() {
    let t = TestApp::new().await;
    t.login("alice").await;
    let value = t
        .client
        .cookies()
        .get_pending("handin_session")
        .map(|c| c.value().to_string())
        .unwrap();
    let mut tampered = value.into_bytes();
    let middle = tampered.len() / 2;
    tampered[middle] = if tampered[middle] == b'A' { b'B' } else { b'A' };
    t.client.cookies().remove_private("handin_session");
    let response = t
        .client
        .get("/")
        .cookie(Cookie::new(
            "handin_session",
            String::from_utf8(tampered).unwrap(),
        ))
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::SeeOther);
    // A session from before the clock moved twelve hours on has expired.
    t.login("alice").await;
    t.set_time("2020-05-30T00:00:00Z");
    assert_eq!(
        t.client.get("/").dispatch().await.status(),
        Status::SeeOther
    );
    for token in [
        "hdn_0000000000000000000000000000000000000000000000000000000000000000",
        "Bearer",
        "' OR 1=1 --",
    ] {
        let response = t
            .client
            .get("/api/v1/assignments")
            .header(bearer(token))
            .dispatch()
            .await;
        assert_eq!(response.status(), Status::Unauthorized, "{token}");
    }
}

#[rocket::async_test]
async fn an_expired_or_revoked_api_token_is_refused() {
    let t = TestApp::new().await;
    let token = t.token("alice").await;
    let get = |token: String| {
        t.client
            .get("/api/v1/assignments")
            .header(bearer(&token))
            .dispatch()
    };
    assert_eq!(get(token.clone()).await.status(), Status::Ok);
    // Tokens made by the test support last 30 days.
    t.set_time("2020-06-28T11:00:00Z");
    assert_eq!(get(token.clone()).await.status(), Status::Ok);
    t.set_time("2020-06-28T11:00:01Z");
    let response = get(token).await;
    assert_eq!(response.status(), Status::Unauthorized);
    assert!(response.into_string().await.unwrap().contains("expired"));

    t.set_time("2020-05-29T11:00:00Z");
    let (first, second) = (t.token("alice").await, t.token("alice").await);
    let alice = handin::models::user::find_by_username(&t.app().db, "alice")
        .await
        .unwrap()
        .unwrap();
    let revoked =
        handin::models::api_token::revoke_all(&t.app().db, alice.id, utc("2020-05-29T11:00:00Z"))
            .await
            .unwrap();
    assert_eq!(revoked, 3, "the expired one too, and both new ones");
    for token in [first, second] {
        let response = get(token).await;
        assert_eq!(response.status(), Status::Unauthorized);
        assert!(response.into_string().await.unwrap().contains("revoked"));
    }
    // Bob's token is untouched.
    let bob = t.token("bob").await;
    assert_eq!(get(bob).await.status(), Status::Ok);
}
