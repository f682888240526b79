//! Signing in with the university account (OpenID Connect): off to the
//! provider, back with a code, a session started, and signing out there too.
//!
//! The flow's secrets (`state`, `nonce`, the PKCE verifier) wait in a
//! private cookie that is `SameSite=Lax`, so that it comes back on the
//! provider's redirect, and is used once (and for 15 minutes at most, by
//! the server's clock). The session cookie is `Strict`, so the callback
//! does not redirect: it answers with a page that moves on by itself, a
//! same-site navigation that carries the new session. The ID token is kept
//! with the session on the server, for signing out at the provider too.

use rocket::http::{Cookie, CookieJar, SameSite, Status};
use rocket::response::Redirect;
use rocket::{State, get, routes};
use rocket_dyn_templates::{Template, context};

use super::auth::{LoginOrigin, login_template, safe_next};
use super::error::AppError;
use super::session;
use crate::App;
use crate::models::session::SignedIn;
use crate::oidc::{FLOW_SECONDS, Flow, Trouble};
use crate::services::sign_in::{self, Person, SignIn};

pub fn routes() -> Vec<rocket::Route> {
    routes![start, callback]
}

const FLOW_COOKIE: &str = "handin_sso_flow";
/// Set when someone logs out of a provider session in this browser: the
/// next sign-in asks the provider to ask for the password again.
pub const SIGNED_OUT_COOKIE: &str = "handin_signed_out";

type Refusal = (Status, Template);

/// The login page with a message, and no session.
fn refuse(app: &App, cookies: &CookieJar<'_>, status: Status, message: &str) -> Refusal {
    (status, login_template(app, cookies, "/", Some(message), ""))
}

fn trouble_message(app: &App, trouble: &Trouble) -> (Status, String) {
    let label = &app.config.oidc_label;
    let contact = &app.config.support_contact;
    match trouble {
        Trouble::Unreachable(why) => {
            rocket::warn!("single sign-on: the provider could not be reached: {why}");
            (
                Status::BadGateway,
                format!(
                    "The sign-in service for {label} could not be reached, so you have not been signed in. \
                     Please try again in a minute."
                ),
            )
        }
        Trouble::Refused(why) => {
            rocket::warn!("single sign-on: the provider refused the code: {why}");
            (
                Status::Unauthorized,
                "The sign-in service did not confirm this sign-in (its code had already been used or had expired), \
                 so you have not been signed in. Please sign in again."
                    .to_string(),
            )
        }
        Trouble::Unverified { plain, detail } => {
            rocket::warn!("single sign-on: an ID token was refused: {detail}");
            (
                Status::Unauthorized,
                format!(
                    "The sign-in service's answer did not pass handin's checks: {plain}. You have not been \
                     signed in. If this happens again, tell {contact}."
                ),
            )
        }
        Trouble::NoUsername(claim) => (
            Status::Unauthorized,
            format!(
                "The sign-in service did not say who you are (its answer has no '{claim}'), so you have not \
                 been signed in. Tell {contact}: handin's oidc_username_claim may need changing."
            ),
        ),
    }
}

/// What someone the identity system vouched for but handin does not know is told.
pub fn unknown_message(app: &App, username: &str) -> String {
    format!(
        "You signed in as '{username}', but you are not on any course in handin yet, so there is nothing here for you. \
         Ask {} to add you to your course.",
        app.config.support_contact
    )
}

/// What someone is told when the account of their username was first
/// opened by another university identity.
pub fn taken_message(app: &App, username: &str) -> String {
    format!(
        "The handin account '{username}' belongs to another university account (the one that first signed in to it), \
         so you have not been signed in. Ask {} to sort it out.",
        app.config.support_contact
    )
}

#[get("/login/sso?<next>")]
async fn start(
    app: &State<App>,
    cookies: &CookieJar<'_>,
    next: Option<&str>,
) -> Result<Redirect, Refusal> {
    let Some(provider) = app.oidc.as_ref() else {
        return Err(refuse(
            app,
            cookies,
            Status::NotFound,
            "Single sign-on is not set up here.",
        ));
    };
    let ask_again = cookies.get_private(SIGNED_OUT_COOKIE).is_some();
    let started = provider
        .start(&safe_next(next), ask_again, app.clock.now())
        .await;
    let (url, flow) = started.map_err(|trouble| {
        let (status, message) = trouble_message(app, &trouble);
        refuse(app, cookies, status, &message)
    })?;
    let kept = serde_json::to_string(&flow)
        .map_err(|e| refuse(app, cookies, Status::InternalServerError, &e.to_string()))?;
    cookies.add_private(
        // Lax: it must come back on the provider's redirect.
        session::errand_cookie(
            app,
            FLOW_COOKIE,
            kept,
            "/login/sso",
            SameSite::Lax,
            FLOW_SECONDS / 60,
        ),
    );
    Ok(Redirect::to(url))
}

#[get("/login/sso/callback?<code>&<state>&<error>&<error_description>")]
async fn callback(
    app: &State<App>,
    cookies: &CookieJar<'_>,
    from: LoginOrigin,
    code: Option<&str>,
    state: Option<&str>,
    error: Option<&str>,
    error_description: Option<&str>,
) -> Result<Result<Template, Refusal>, AppError> {
    let Some(provider) = app.oidc.as_ref() else {
        return Ok(Err(refuse(
            app,
            cookies,
            Status::NotFound,
            "Single sign-on is not set up here.",
        )));
    };
    // Used once, whatever happens next.
    let flow: Option<Flow> = cookies
        .get_private(FLOW_COOKIE)
        .and_then(|c| serde_json::from_str(c.value()).ok());
    cookies.remove_private(Cookie::build(FLOW_COOKIE).path("/login/sso"));
    // The flow first: a link that merely looks like a provider's answer
    // (with an `error` of the sender's choosing) says nothing to anyone.
    let flow = match (flow, state) {
        (Some(flow), Some(state))
            if session::same_secret(&flow.state, state) && !flow.expired(app.clock.now()) =>
        {
            flow
        }
        _ => {
            return Ok(Err(refuse(
                app,
                cookies,
                Status::BadRequest,
                "This sign-in could not be completed: it had expired, was started in another tab, or did not \
                 start here. You have not been signed in. Please sign in again.",
            )));
        }
    };
    if let Some(error) = error {
        rocket::warn!(
            "single sign-on: the provider answered {error}: {}",
            error_description.unwrap_or_default()
        );
        let message = match error {
            "access_denied" => {
                "The sign-in service did not let you in (or you cancelled). You have not been signed in."
            }
            "login_required" | "interaction_required" | "consent_required" => {
                "The sign-in service needs you to sign in there again. Please sign in again."
            }
            _ => {
                "The sign-in service could not sign you in just now. You have not been signed in. Please try again."
            }
        };
        return Ok(Err(refuse(app, cookies, Status::Unauthorized, message)));
    }
    let Some(code) = code.filter(|c| !c.is_empty()) else {
        return Ok(Err(refuse(
            app,
            cookies,
            Status::BadRequest,
            "The sign-in service sent no code back. You have not been signed in. Please sign in again.",
        )));
    };
    let vouched = match provider.finish(&flow, code).await {
        Ok(vouched) => vouched,
        Err(trouble) => {
            let (status, message) = trouble_message(app, &trouble);
            return Ok(Err(refuse(app, cookies, status, &message)));
        }
    };
    let person = Person {
        username: vouched.username.clone(),
        identity: Some(vouched.identity.clone()),
        name: vouched.name.clone(),
        email: vouched.email.clone(),
    };
    let user = match sign_in::vouched(app, person, "single sign-on").await? {
        SignIn::Welcome(user) => user,
        SignIn::Unknown { username } => {
            let message = unknown_message(app, &username);
            return Ok(Err(refuse(app, cookies, Status::Forbidden, &message)));
        }
        SignIn::Taken { username } => {
            let message = taken_message(app, &username);
            return Ok(Err(refuse(app, cookies, Status::Forbidden, &message)));
        }
    };
    session::end_session(app, cookies).await?;
    let mut origin = from.origin;
    origin.signed_in = SignedIn::Provider {
        id_token: vouched.id_token,
    };
    session::start_session(app, cookies, user.id, origin).await?;
    cookies.remove_private(SIGNED_OUT_COOKIE);
    Ok(Ok(Template::render(
        "moving_on",
        context! { title: "Signed in", heading: "You are signed in", to: flow.next, link: "Continue" },
    )))
}
