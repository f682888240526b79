//! Sessions kept on the server: a saved cookie is worth nothing after
//! logout, a new password, a new role, an administrator's word, or a long
//! enough idle time.

use handin::models::user;
use rocket::http::{ContentType, Cookie, Status};

use crate::support::*;

/// The browser's session cookie (its decrypted value), to replay later.
fn saved_cookie(t: &TestApp) -> String {
    t.client
        .cookies()
        .get_private("handin_session")
        .map(|c| c.value().to_string())
        .expect("a session cookie")
}

/// What a replayed cookie gets from the dashboard: 200, or 303 to log in.
async fn replay(t: &TestApp, cookie: &str) -> Status {
    t.client.cookies().remove_private("handin_session");
    t.client
        .get("/")
        .private_cookie(Cookie::new("handin_session", cookie.to_string()))
        .dispatch()
        .await
        .status()
}

#[rocket::async_test]
async fn a_saved_cookie_is_worth_nothing_after_logout() {
    let t = TestApp::new().await;
    t.login("alice").await;
    let cookie = saved_cookie(&t);
    assert_eq!(replay(&t, &cookie).await, Status::Ok);
    let csrf = t.csrf().await;
    let response = t
        .client
        .post("/logout")
        .header(ContentType::Form)
        .private_cookie(Cookie::new("handin_session", cookie.clone()))
        .body(format!("csrf={csrf}"))
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::SeeOther);
    assert_eq!(replay(&t, &cookie).await, Status::SeeOther);
    // Nor can it hand in.
    let response = t
        .client
        .post("/courses/COMP6248/assignments/coursework/submissions")
        .private_cookie(Cookie::new("handin_session", cookie))
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::SeeOther);
}

#[rocket::async_test]
async fn a_new_password_or_role_ends_every_session() {
    let t = TestApp::new().await;
    t.login("alice").await;
    let first = saved_cookie(&t);
    t.login("alice").await;
    let second = saved_cookie(&t);
    let account = |role| user::Account {
        username: "alice".into(),
        display_name: "alice Example".into(),
        email: "alice@example.ac.uk".into(),
        role,
    };
    handin::services::roster::add(
        t.app(),
        &account(user::Role::Student),
        "a new password",
        None,
    )
    .await
    .unwrap();
    assert_eq!(replay(&t, &first).await, Status::SeeOther);
    assert_eq!(replay(&t, &second).await, Status::SeeOther);

    t.login("bob").await;
    let bob = saved_cookie(&t);
    let roster = "username,name,email,role,course\nbob,Bob,,marker,COMP6248\n";
    handin::services::roster::import(t.app(), roster, None)
        .await
        .unwrap();
    assert_eq!(replay(&t, &bob).await, Status::SeeOther);
}

#[rocket::async_test]
async fn an_administrator_ends_someones_sessions() {
    let t = TestApp::new().await;
    t.login("alice").await;
    let alice = saved_cookie(&t);
    t.login("bob").await;
    let bob = saved_cookie(&t);
    // From the command line (`handin user logout alice`).
    let ended = handin::services::accounts::end_sessions_of(t.app(), None, "alice")
        .await
        .unwrap();
    assert_eq!(ended, 1);
    assert_eq!(replay(&t, &alice).await, Status::SeeOther);
    assert_eq!(replay(&t, &bob).await, Status::Ok, "only alice's");
    // From the administration page.
    t.login("admin").await;
    let csrf = t.csrf().await;
    let response = t
        .client
        .post("/admin/sessions")
        .header(ContentType::Form)
        .body(format!("csrf={csrf}&username=bob"))
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::SeeOther);
    assert_eq!(replay(&t, &bob).await, Status::SeeOther);
    let audit = t
        .client
        .get("/admin/audit?action=sessions_ended")
        .dispatch()
        .await;
    assert!(
        audit
            .into_string()
            .await
            .unwrap()
            .contains("session(s) of bob")
    );
}

#[rocket::async_test]
async fn an_idle_session_expires_and_a_busy_one_lasts_the_day() {
    let t = TestApp::new().await;
    // The clock stands at 12:00 BST; sessions end after 4 idle hours or 12 in all.
    t.login("alice").await;
    let busy = saved_cookie(&t);
    t.login("bob").await;
    let idle = saved_cookie(&t);
    t.set_time("2020-05-29T14:30:00Z");
    assert_eq!(replay(&t, &busy).await, Status::Ok);
    t.set_time("2020-05-29T17:59:00Z");
    assert_eq!(replay(&t, &busy).await, Status::Ok, "3 h 29 min idle");
    assert_eq!(replay(&t, &idle).await, Status::SeeOther, "7 h idle");
    t.set_time("2020-05-29T21:00:00Z");
    assert_eq!(replay(&t, &busy).await, Status::Ok);
    t.set_time("2020-05-29T23:00:01Z");
    assert_eq!(replay(&t, &busy).await, Status::SeeOther, "12 h in all");
}
