//! API tokens made on the tokens page: shown once, working until revoked,
//! someone else's never revocable, everyone's listed for administrators.

use rocket::http::{ContentType, Status};

use crate::support::*;

/// Makes a token on the page as the logged-in person; returns the token
/// the next page showed (once).
async fn make_token(t: &TestApp, name: &str, days: &str) -> String {
    let made = t
        .submit("/tokens", &format!("name={name}&days={days}"))
        .await;
    assert_eq!(made.status(), Status::SeeOther, "made");
    let page = t.page("/tokens").await;
    let token = page
        .split("id=\"token-value\" readonly value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the new token is shown")
        .to_string();
    assert!(token.starts_with("hdn_"), "{token}");
    token
}

/// What the API answers the token.
async fn api_status(t: &TestApp, token: &str) -> Status {
    let answer = t
        .client
        .get("/api/v1/assignments")
        .header(bearer(token))
        .dispatch()
        .await;
    answer.status()
}

/// The id in the first revoke form of a page.
fn revoke_path(page: &str) -> String {
    let start = page.find("action=\"/tokens/").expect("a revoke form") + "action=\"".len();
    page[start..]
        .split('"')
        .next()
        .unwrap()
        .replace("&#x2f;", "/")
}

#[rocket::async_test]
async fn a_student_makes_a_token_for_a_script_sees_it_once_and_revokes_it() {
    let t = TestApp::new().await;
    t.login("alice").await;
    let token = make_token(&t, "my+upload+script", "30").await;

    // Shown once: a refresh shows the list, not the token, and makes none.
    let again = t.page("/tokens").await;
    assert!(!again.contains(&token), "the token is shown only once");
    assert!(
        again.contains("my upload script") && again.contains("active"),
        "{again}"
    );
    assert_eq!(
        again.matches("action=\"/tokens/").count(),
        1,
        "one token, one revoke button"
    );

    assert_eq!(api_status(&t, &token).await, Status::Ok);

    let revoked = t.submit(&revoke_path(&again), "").await;
    assert_eq!(revoked.status(), Status::SeeOther);
    assert_eq!(api_status(&t, &token).await, Status::Unauthorized);
    assert!(t.page("/tokens").await.contains("revoked"));
}

#[rocket::async_test]
async fn a_bad_token_form_says_every_problem_keeps_what_was_typed_and_makes_nothing() {
    let t = TestApp::new().await;
    t.login("alice").await;
    let refused = t.submit("/tokens", "name=+&days=999").await;
    assert_eq!(refused.status(), Status::UnprocessableEntity);
    let page = refused.into_string().await.unwrap();
    assert!(page.contains("Give the token a name"), "{page}");
    assert!(page.contains("999 is not in that range"), "{page}");
    assert!(
        page.contains("value=\"999\""),
        "what was typed is kept: {page}"
    );
    assert!(page.contains("aria-invalid=\"true\""));
    assert!(t.page("/tokens").await.contains("You have no API tokens"));

    // Without the form's token: refused, nothing made.
    let forged = t
        .client
        .post("/tokens")
        .header(ContentType::Form)
        .body("csrf=forged&name=x&days=1")
        .dispatch()
        .await;
    assert_eq!(forged.status(), Status::Forbidden);
    assert!(t.page("/tokens").await.contains("You have no API tokens"));
}

#[rocket::async_test]
async fn only_the_owner_or_an_administrator_revokes_a_token() {
    let t = TestApp::new().await;
    t.login("alice").await;
    let token = make_token(&t, "alice-script", "7").await;
    let alices = revoke_path(&t.page("/tokens").await);

    // bob sees none of alice's tokens and cannot revoke hers.
    t.login("bob").await;
    assert!(!t.page("/tokens").await.contains("alice-script"));
    let refused = t.submit(&alices, "").await;
    assert_eq!(refused.status(), Status::NotFound);
    let everyone = t.client.get("/admin/tokens").dispatch().await;
    assert_eq!(everyone.status(), Status::Forbidden);
    assert_eq!(api_status(&t, &token).await, Status::Ok);

    // An administrator sees it among everyone's and revokes it.
    t.login("admin").await;
    let list = t.page("/admin/tokens").await;
    assert!(
        list.contains("alice-script") && list.contains("<td>alice</td>"),
        "{list}"
    );
    let revoked = t.submit(&alices, "everyone=true").await;
    assert_eq!(revoked.status(), Status::SeeOther);
    assert_eq!(revoked.headers().get_one("Location"), Some("/admin/tokens"));
    assert_eq!(api_status(&t, &token).await, Status::Unauthorized);
    assert!(!t.page("/admin/tokens").await.contains("alice-script"));
    let audit = t.page("/admin/audit").await;
    assert!(
        audit.contains("token_created") && audit.contains("token_revoked"),
        "{audit}"
    );
}
