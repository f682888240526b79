//! Logging in and out.

use rocket::form::Form;
use rocket::http::{CookieJar, SameSite, Status};
use std::net::IpAddr;

use rocket::request::{FromRequest, Outcome, Request};
use rocket::response::Redirect;
use rocket::{State, get, post, routes};
use rocket_dyn_templates::{Template, context};

use super::error::AppError;
use super::session::{self, Caller, CsrfOnly};
use super::sso;
use crate::App;
use crate::domain::throttle::Wait;
use crate::models::session::{Origin, SignedIn};
use crate::services::accounts::{self, Login};
use rocket::Either;

pub fn routes() -> Vec<rocket::Route> {
    routes![login_page, login, logout]
}

/// Only same-site paths: `next` must never send a student elsewhere, and
/// must be a path a redirect can carry. Anything else (`//host`, spaces,
/// quotes, brackets, non-ASCII) is ignored and the student lands on `/`.
pub(super) fn safe_next(next: Option<&str>) -> String {
    let plain = |c: char| {
        c.is_ascii_graphic() && !matches!(c, '\\' | '"' | '<' | '>' | '`' | '^' | '{' | '|' | '}')
    };
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && path.chars().all(plain)
                && rocket::http::uri::Origin::parse(path).is_ok() =>
        {
            path.to_string()
        }
        _ => "/".to_string(),
    }
}

/// The login page: "Sign in with <university>" first when single sign-on
/// is set up, then the password form unless passwords are switched off.
pub(super) fn login_template(
    app: &App,
    cookies: &CookieJar<'_>,
    next: &str,
    error: Option<&str>,
    username: &str,
) -> Template {
    let csrf = session::login_csrf(cookies, app.config.secure_cookies);
    let sso = app.oidc.as_ref().map(|_| {
        context! {
            label: app.config.oidc_label.clone(),
            href: format!("/login/sso?next={}", rocket::http::RawStr::new(next).percent_encode()),
        }
    });
    let passwords = app.config.password_login;
    // Behind a sign-in proxy, going to a page signs one in.
    let proxy = app.config.remote_user_header.is_some().then_some(next);
    Template::render(
        "login",
        context! { title: "Log in", csrf, next, error, username, sso, passwords, proxy },
    )
}

#[get("/login?<next>")]
fn login_page(app: &State<App>, cookies: &CookieJar<'_>, next: Option<&str>) -> Template {
    login_template(app, cookies, &safe_next(next), None, "")
}

#[derive(rocket::FromForm)]
struct LoginForm<'r> {
    csrf: &'r str,
    username: &'r str,
    password: &'r str,
    next: Option<&'r str>,
}

#[post("/login", format = "form", data = "<form>")]
async fn login(
    app: &State<App>,
    cookies: &CookieJar<'_>,
    from: LoginOrigin,
    form: Form<LoginForm<'_>>,
) -> Result<Result<Redirect, (Status, Template)>, AppError> {
    let next = safe_next(form.next);
    let refuse = |status, message: &str| {
        let page = login_template(app, cookies, &next, Some(message), form.username);
        Ok(Err((status, page)))
    };
    if !app.config.password_login {
        return refuse(
            Status::Forbidden,
            "Signing in with a handin password is switched off here: use your university account.",
        );
    }
    if !session::check_login_csrf(cookies, form.csrf) {
        return refuse(
            Status::Forbidden,
            "The login form had expired. Please try again.",
        );
    }
    match accounts::log_in(app, from.address, form.username, form.password).await? {
        Login::Welcome(user) => {
            session::start_session(app, cookies, user.id, from.origin).await?;
            Ok(Ok(Redirect::to(next)))
        }
        Login::Refused => refuse(
            Status::Unauthorized,
            "That username and password do not match. Please check them and try again.",
        ),
        Login::Wait(Wait::Seconds(seconds)) => refuse(
            Status::TooManyRequests,
            &format!(
                "Too many wrong passwords for this username from here. Please wait {seconds} s and try again."
            ),
        ),
        Login::Wait(Wait::Busy) => refuse(
            Status::TooManyRequests,
            "Too many logins from here at once. Please try again in a moment.",
        ),
    }
}

/// The address and browser a login comes from: the address is what
/// throttling goes by, and both go on the session's record.
pub(super) struct LoginOrigin {
    pub address: IpAddr,
    pub origin: Origin,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for LoginOrigin {
    type Error = std::convert::Infallible;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let trusted = request
            .rocket()
            .state::<App>()
            .map(|app| app.config.trusted_proxies.as_slice())
            .unwrap_or_default();
        let address = session::client_address(request, trusted);
        let origin = session::origin(request, address);
        Outcome::Success(LoginOrigin { address, origin })
    }
}

#[post("/logout", format = "form", data = "<form>")]
async fn logout(
    app: &State<App>,
    caller: Caller,
    cookies: &CookieJar<'_>,
    form: Form<CsrfOnly<'_>>,
) -> Result<Either<Redirect, Template>, AppError> {
    caller.check_csrf(form.csrf)?;
    let ended = session::end_session(app, cookies).await?;
    // Signed in through the university: sign out there too (a page that
    // moves on, as a form's redirect to another site is blocked by
    // `form-action 'self'`), or say plainly that it could not be done.
    let (elsewhere, label) = match ended {
        Some(SignedIn::Provider { id_token }) => {
            // On a shared machine the next person must be asked again.
            let day = 24 * 60;
            let note = "1".to_string();
            cookies.add_private(session::errand_cookie(
                app,
                sso::SIGNED_OUT_COOKIE,
                note,
                "/login/sso",
                SameSite::Lax,
                day,
            ));
            let to = app.oidc.as_ref().and_then(|p| p.logout_url(&id_token));
            (to, app.config.oidc_label.clone())
        }
        Some(SignedIn::Proxy) => (
            app.config.remote_user_logout_url.clone(),
            "the university's sign-in".to_string(),
        ),
        _ => return Ok(Either::Left(Redirect::to("/login"))),
    };
    let note = elsewhere.is_none().then(|| {
        format!(
            "You may still be signed in to {label} in this browser. On a shared computer, close every \
             browser window before you leave."
        )
    });
    let link = match elsewhere {
        Some(_) => format!("Continue to sign out of {label}"),
        None => "Back to the login page".to_string(),
    };
    let page = context! {
        title: "Signed out",
        heading: "You are signed out of handin",
        to: elsewhere,
        note,
        link,
        back: "/login",
    };
    Ok(Either::Right(Template::render("moving_on", page)))
}
