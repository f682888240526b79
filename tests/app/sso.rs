//! Single sign-on against a real OpenID provider (`provider.rs`), and the
//! trusted proxy header: who gets a session, who is refused, and that a
//! refusal leaves no session behind.

use handin::models::user;
use rocket::http::{ContentType, Cookie, Header, Status};
use rocket::local::asynchronous::LocalResponse;
use sea_orm::EntityTrait;

use crate::provider::{self, Agent, path_of};
use crate::support::*;

/// Where the tests' handin says it lives (the provider only checks that
/// redirects go back there; the local client needs no address).
const PUBLIC_URL: &str = "http://handin.test";

async fn app_with(extra: &[(&'static str, serde_json::Value)]) -> TestApp {
    let mut settings = provider::settings(PUBLIC_URL).await;
    settings.extend(extra.iter().cloned());
    TestApp::with(Options {
        settings,
        ..Default::default()
    })
    .await
}

/// Off to the provider from handin's "Sign in with …": where the provider
/// sends the person back to, after they signed in there as `login`.
async fn through_provider(t: &TestApp, login: &str) -> String {
    let leave = t.client.get("/login/sso?next=/courses").dispatch().await;
    assert_eq!(leave.status(), Status::SeeOther);
    let authorize = leave.headers().get_one("Location").unwrap().to_string();
    assert!(
        authorize.starts_with(&provider::provider().issuer),
        "{authorize}"
    );
    for needed in [
        "code_challenge=",
        "code_challenge_method=S256",
        "state=",
        "nonce=",
    ] {
        assert!(authorize.contains(needed), "{needed} in {authorize}");
    }
    let back = Agent::default().sign_in(&authorize, login).await;
    assert!(
        back.starts_with(&format!("{PUBLIC_URL}/login/sso/callback?")),
        "{back}"
    );
    path_of(&back)
}

async fn body(response: LocalResponse<'_>) -> String {
    response.into_string().await.unwrap_or_default()
}

/// Logs out through the header's form, as a person does.
async fn log_out(t: &TestApp) {
    t.submit("/logout", "").await;
    assert_signed_out(t).await;
}

/// Logs out through the proxy, as `who`; returns the page.
async fn log_out_via_proxy(t: &TestApp, who: &str) -> String {
    let page = body(as_from(t.client.get("/"), who, PROXY).dispatch().await).await;
    let csrf = hidden_value(&page, "csrf");
    let out = as_from(t.client.post("/logout"), who, PROXY)
        .header(ContentType::Form)
        .body(format!("csrf={csrf}"))
        .dispatch()
        .await;
    assert_eq!(out.status(), Status::Ok);
    body(out).await
}

/// No session: a page sends the person to the login page.
async fn assert_signed_out(t: &TestApp) {
    let home = t.client.get("/").dispatch().await;
    assert_eq!(home.status(), Status::SeeOther, "a session was left behind");
    assert!(
        home.headers()
            .get_one("Location")
            .unwrap()
            .starts_with("/login")
    );
}

#[rocket::async_test]
async fn a_student_signs_in_with_the_university_account_and_out_of_both() {
    let t = app_with(&[]).await;
    let login = body(t.client.get("/login").dispatch().await).await;
    assert!(
        login.contains("Sign in with University of Testing"),
        "{login}"
    );
    assert!(
        login.contains("id=\"password\""),
        "passwords stay on by default"
    );

    let callback = through_provider(&t, "alice").await;
    let signed_in = t.client.get(callback).dispatch().await;
    assert_eq!(signed_in.status(), Status::Ok);
    let page = body(signed_in).await;
    // Moves on by itself, same-site, to where the person was going.
    assert!(page.contains("http-equiv=\"refresh\""), "{page}");
    assert!(page.contains(&html("0;url=/courses")), "{page}");

    let home = t.client.get("/").dispatch().await;
    assert_eq!(home.status(), Status::Ok);
    let home = body(home).await;
    // Name and email refreshed from the provider's claims.
    assert!(home.contains("Alice from the university"), "{home}");
    let alice = user::find_by_username(&t.app().db, "alice")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(alice.email, "alice@example.ac.uk");
    assert_eq!(alice.role, user::Role::Student);

    // Logging out ends handin's session and sends the person to sign out
    // at the provider too (RP-initiated logout), then back to handin.
    let out = t.submit("/logout", "").await;
    assert_eq!(out.status(), Status::Ok);
    let out = body(out).await;
    let end = format!("{}/session/end?", provider::provider().issuer);
    assert!(out.contains(&html(&end)), "{out}");
    assert!(out.contains("id_token_hint="), "{out}");
    assert!(
        out.contains(&html(
            "post_logout_redirect_uri=http%3A%2F%2Fhandin.test%2Flogin"
        )),
        "{out}"
    );
    assert_signed_out(&t).await;
}

#[rocket::async_test]
async fn a_wrong_or_missing_state_is_refused_and_starts_no_session() {
    let t = app_with(&[]).await;
    let callback = through_provider(&t, "alice").await;
    let forged = callback.replacen("state=", "state=forged", 1);
    let refused = t.client.get(forged).dispatch().await;
    assert_eq!(refused.status(), Status::BadRequest);
    assert!(body(refused).await.contains("did not start here"));
    assert_signed_out(&t).await;

    // The real callback, now without the flow's cookie (used once above,
    // or a link sent by someone else): refused as well.
    let refused = t.client.get(callback).dispatch().await;
    assert_eq!(refused.status(), Status::BadRequest);
    assert_signed_out(&t).await;
}

#[rocket::async_test]
async fn a_replayed_code_is_refused_by_the_provider() {
    let t = app_with(&[]).await;
    let callback = through_provider(&t, "alice").await;
    // Someone who copied the browser's cookie and the callback address.
    let flow = t
        .client
        .cookies()
        .get_private("handin_sso_flow")
        .expect("the flow's cookie");
    let first = t.client.get(callback.clone()).dispatch().await;
    assert_eq!(first.status(), Status::Ok);
    log_out(&t).await;

    let replay = t
        .client
        .get(callback)
        .private_cookie(Cookie::new("handin_sso_flow", flow.value().to_string()))
        .dispatch()
        .await;
    assert_eq!(replay.status(), Status::Unauthorized);
    assert!(
        body(replay)
            .await
            .contains("had already been used or had expired")
    );
    assert_signed_out(&t).await;
}

#[rocket::async_test]
async fn an_id_token_that_fails_a_check_is_refused_with_the_reason() {
    let t = app_with(&[]).await;
    for (mode, reason) in [
        ("foreign-key", "not signed with the sign-in service"),
        ("expired", "it had expired"),
        ("audience", "issued for another application"),
    ] {
        let callback = through_provider(&t, "alice").await;
        provider::spoil_next_id_token(mode).await;
        let refused = t.client.get(callback).dispatch().await;
        assert_eq!(refused.status(), Status::Unauthorized, "{mode}");
        let page = body(refused).await.replace("&#x27;", "'");
        assert!(page.contains("did not pass handin"), "{mode}: {page}");
        assert!(page.contains(reason), "{mode}: no '{reason}' in {page}");
        assert_signed_out(&t).await;
    }
}

#[rocket::async_test]
async fn someone_handin_does_not_know_is_told_whom_to_ask_or_made_a_student() {
    let t = app_with(&[("support_contact", "the Computing help desk".into())]).await;
    let callback = through_provider(&t, "zed").await;
    let refused = t.client.get(callback).dispatch().await;
    assert_eq!(refused.status(), Status::Forbidden);
    let page = body(refused).await;
    assert!(page.contains("not on any course in handin"), "{page}");
    assert!(page.contains("Ask the Computing help desk"), "{page}");
    assert_signed_out(&t).await;
    assert!(
        user::find_by_username(&t.app().db, "zed")
            .await
            .unwrap()
            .is_none()
    );

    let t = app_with(&[("create_unknown_users", true.into())]).await;
    let callback = through_provider(&t, "zed").await;
    assert_eq!(t.client.get(callback).dispatch().await.status(), Status::Ok);
    let zed = user::find_by_username(&t.app().db, "zed")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (zed.role, zed.display_name.as_str()),
        (user::Role::Student, "Zed from the university")
    );
    let home = body(t.client.get("/").dispatch().await).await;
    assert!(home.contains("Zed from the university"), "{home}");
    let audit = handin::models::audit::Entity::find()
        .all(&t.app().db)
        .await
        .unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "user_created" && e.student_id == Some(zed.id)),
        "the new account is on the audit log"
    );
}

#[rocket::async_test]
async fn with_passwords_switched_off_the_form_is_gone_and_its_post_refused() {
    let t = app_with(&[("password_login", false.into())]).await;
    let login = body(t.client.get("/login").dispatch().await).await;
    assert!(login.contains("Sign in with University of Testing"));
    assert!(!login.contains("id=\"password\""), "{login}");
    // The POST a script (or an old page) would still send.
    let refused = t
        .client
        .post("/login")
        .header(ContentType::Form)
        .body(format!(
            "csrf=none&username=alice&password={PASSWORD}&next=/"
        ))
        .dispatch()
        .await;
    assert_eq!(refused.status(), Status::Forbidden);
    assert!(body(refused).await.contains("switched off"));
    assert_signed_out(&t).await;
    // The university account still works.
    let callback = through_provider(&t, "alice").await;
    assert_eq!(t.client.get(callback).dispatch().await.status(), Status::Ok);
    assert_eq!(t.client.get("/").dispatch().await.status(), Status::Ok);
}

#[rocket::async_test]
async fn half_configured_single_sign_on_is_refused_at_start() {
    let figment = rocket::Config::figment()
        .merge(("oidc_issuer", "http://localhost:1"))
        .merge(("database", ":memory:"));
    let error = handin::config::AppConfig::from_figment(&figment).unwrap_err();
    assert!(error.contains("oidc_client_id"), "{error}");
    let figment = rocket::Config::figment().merge(("password_login", false));
    let error = handin::config::AppConfig::from_figment(&figment).unwrap_err();
    assert!(error.contains("nobody could sign in"), "{error}");
    let figment = rocket::Config::figment().merge(("remote_user_header", "X-Remote-User"));
    let error = handin::config::AppConfig::from_figment(&figment).unwrap_err();
    assert!(error.contains("remote_user_proxies"), "{error}");
}

const PROXY: &str = "10.0.0.5:40000";
const NOT_PROXY: &str = "10.0.0.6:40000";

fn as_from<'c>(
    request: rocket::local::asynchronous::LocalRequest<'c>,
    user: &str,
    from: &str,
) -> rocket::local::asynchronous::LocalRequest<'c> {
    request
        .header(Header::new("X-Remote-User", user.to_string()))
        .remote(from.parse().unwrap())
}

#[rocket::async_test]
async fn the_proxy_header_is_believed_from_the_proxy_only() {
    let t = TestApp::with(Options {
        settings: vec![
            ("remote_user_header", "X-Remote-User".into()),
            ("remote_user_proxies", serde_json::json!(["10.0.0.5"])),
            ("remote_user_logout_url", "/Shibboleth.sso/Logout".into()),
        ],
        ..Default::default()
    })
    .await;
    // From anyone else the header is a forgery: ignored.
    let forged = as_from(t.client.get("/"), "admin", NOT_PROXY)
        .dispatch()
        .await;
    assert_eq!(forged.status(), Status::SeeOther);
    assert!(
        forged
            .headers()
            .get_one("Location")
            .unwrap()
            .starts_with("/login")
    );
    assert_signed_out(&t).await;

    // From the proxy: a session of that person, kept while the header says so.
    let home = as_from(t.client.get("/"), "alice", PROXY).dispatch().await;
    assert_eq!(home.status(), Status::Ok);
    assert!(body(home).await.contains("alice Example"));
    let page = body(as_from(t.client.get("/"), "alice", PROXY).dispatch().await).await;
    let csrf = hidden_value(&page, "csrf");

    // Another person at the same browser: the proxy now says bob.
    let bob = body(as_from(t.client.get("/"), "bob", PROXY).dispatch().await).await;
    assert!(bob.contains("bob Example") && !bob.contains("alice Example"));
    // alice's session ended with the change: her form token is dead.
    let stale = as_from(t.client.post("/logout"), "bob", PROXY)
        .header(ContentType::Form)
        .body(format!("csrf={csrf}"))
        .dispatch()
        .await;
    assert_eq!(stale.status(), Status::Forbidden);

    // Someone the proxy vouches for but handin does not know.
    let unknown = as_from(t.client.get("/"), "zed", PROXY).dispatch().await;
    assert_eq!(unknown.status(), Status::Forbidden);
    assert!(body(unknown).await.contains("not on any course in handin"));

    // The API takes tokens only, header or not.
    let api = as_from(t.client.get("/api/v1/assignments"), "admin", PROXY)
        .dispatch()
        .await;
    assert_eq!(api.status(), Status::Unauthorized);

    // Logging out sends the person to the proxy's own logout.
    let page = body(as_from(t.client.get("/"), "bob", PROXY).dispatch().await).await;
    let csrf = hidden_value(&page, "csrf");
    let out = as_from(t.client.post("/logout"), "bob", PROXY)
        .header(ContentType::Form)
        .body(format!("csrf={csrf}"))
        .dispatch()
        .await;
    assert_eq!(out.status(), Status::Ok);
    assert!(
        body(out)
            .await
            .contains(&html("0;url=/Shibboleth.sso/Logout"))
    );
}

#[rocket::async_test]
async fn an_account_opens_only_for_the_identity_that_first_signed_in_to_it() {
    let t = app_with(&[]).await;
    let callback = through_provider(&t, "alice").await;
    assert_eq!(t.client.get(callback).dispatch().await.status(), Status::Ok);
    let alice = user::find_by_username(&t.app().db, "alice")
        .await
        .unwrap()
        .unwrap();
    let identity = alice
        .provider_identity
        .clone()
        .expect("recorded at the first sign-in");
    assert!(
        identity.starts_with(&provider::provider().issuer),
        "{identity}"
    );

    // The university gives the username "alice" to someone new: the
    // provider's `sub` differs (here: the record says another one).
    use sea_orm::{ActiveModelTrait, ActiveValue::Set};
    let mut active: user::ActiveModel = alice.into();
    active.provider_identity = Set(Some(format!(
        "{} somebody-else",
        provider::provider().issuer
    )));
    active.update(&t.app().db).await.unwrap();
    log_out(&t).await;
    let callback = through_provider(&t, "alice").await;
    let refused = t.client.get(callback).dispatch().await;
    assert_eq!(refused.status(), Status::Forbidden);
    assert!(
        body(refused)
            .await
            .contains("belongs to another university account")
    );
    assert_signed_out(&t).await;

    // An administrator releases it; the next sign-in takes it.
    handin::services::sign_in::unlink(t.app(), None, "alice")
        .await
        .unwrap();
    let callback = through_provider(&t, "alice").await;
    assert_eq!(t.client.get(callback).dispatch().await.status(), Status::Ok);
    let alice = user::find_by_username(&t.app().db, "alice")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(alice.provider_identity, Some(identity));
}

#[rocket::async_test]
async fn with_the_email_claim_only_a_verified_address_in_the_domain_signs_in() {
    let t = app_with(&[
        ("oidc_username_claim", "email".into()),
        ("username_domain", "EXAMPLE.ac.uk".into()),
    ])
    .await;
    let callback = through_provider(&t, "bob").await;
    assert_eq!(t.client.get(callback).dispatch().await.status(), Status::Ok);
    assert!(
        body(t.client.get("/").dispatch().await)
            .await
            .contains("Bob from the university")
    );
    log_out(&t).await;

    let callback = through_provider(&t, "unverified-bob").await;
    let refused = t.client.get(callback).dispatch().await;
    assert_eq!(refused.status(), Status::Unauthorized);
    assert!(body(refused).await.contains("has not verified"));
    assert_signed_out(&t).await;
}

#[rocket::async_test]
async fn a_forged_answer_with_an_error_says_nothing_of_the_senders_choosing() {
    let t = app_with(&[]).await;
    let forged = t
        .client
        .get("/login/sso/callback?error=access_denied&error_description=Call%200800%20123%20to%20unlock&state=x")
        .dispatch()
        .await;
    assert_eq!(forged.status(), Status::BadRequest);
    let page = body(forged).await;
    assert!(!page.contains("0800"), "{page}");
    assert!(page.contains("did not start here"));

    // A real flow that the provider answers with an error: a fixed sentence.
    let leave = t.client.get("/login/sso").dispatch().await;
    let authorize = leave.headers().get_one("Location").unwrap();
    let state = url::Url::parse(authorize)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .to_string();
    let answer = format!(
        "/login/sso/callback?error=access_denied&error_description=Call%200800&state={state}"
    );
    let refused = t.client.get(answer).dispatch().await;
    assert_eq!(refused.status(), Status::Unauthorized);
    let page = body(refused).await;
    assert!(
        page.contains("did not let you in") && !page.contains("0800"),
        "{page}"
    );
    assert_signed_out(&t).await;
}

#[rocket::async_test]
async fn after_logging_out_the_next_sign_in_asks_for_the_password_again() {
    let t = app_with(&[]).await;
    let first = t.client.get("/login/sso").dispatch().await;
    assert!(
        !first
            .headers()
            .get_one("Location")
            .unwrap()
            .contains("prompt=login")
    );
    let callback = through_provider(&t, "alice").await;
    t.client.get(callback).dispatch().await;
    log_out(&t).await;
    let again = t.client.get("/login/sso").dispatch().await;
    assert!(
        again
            .headers()
            .get_one("Location")
            .unwrap()
            .contains("prompt=login")
    );
}

#[rocket::async_test]
async fn the_proxy_header_is_matched_without_case_and_refused_when_doubled() {
    let t = TestApp::with(Options {
        settings: vec![
            ("remote_user_header", "X-Remote-User".into()),
            (
                "remote_user_proxies",
                serde_json::json!(["::ffff:10.0.0.5"]),
            ),
            ("username_domain", "example.ac.uk".into()),
        ],
        ..Default::default()
    })
    .await;
    let home = as_from(t.client.get("/"), "ALICE@example.ac.uk", PROXY)
        .dispatch()
        .await;
    assert_eq!(home.status(), Status::Ok);
    assert!(body(home).await.contains("alice Example"));
    let cookie = t.client.cookies().get_pending("handin_session").unwrap();
    assert_eq!(cookie.same_site(), Some(rocket::http::SameSite::Lax));

    // A proxy that appends to what the client sent: two values, none believed.
    log_out_via_proxy(&t, "alice").await;
    let doubled = t
        .client
        .get("/")
        .header(Header::new("X-Remote-User", "admin"))
        .header(Header::new("X-Remote-User", "alice"))
        .remote(PROXY.parse().unwrap())
        .dispatch()
        .await;
    assert_eq!(doubled.status(), Status::SeeOther);
    assert_signed_out(&t).await;
}
