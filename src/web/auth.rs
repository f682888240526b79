//! Logging in and out.

use rocket::form::Form;
use rocket::http::{CookieJar, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::response::Redirect;
use rocket::{State, get, post, routes};
use rocket_dyn_templates::{Template, context};

use super::error::AppError;
use super::session::{self, Caller};
use crate::App;
use crate::models::session::Origin;
use crate::services::accounts;

pub fn routes() -> Vec<rocket::Route> {
    routes![login_page, login, logout]
}

/// Only same-site paths: `next` must never send a student elsewhere, and
/// must be a path a redirect can carry. Anything else (`//host`, spaces,
/// quotes, brackets, non-ASCII) is ignored and the student lands on `/`.
fn safe_next(next: Option<&str>) -> String {
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

fn login_template(
    app: &App,
    cookies: &CookieJar<'_>,
    next: &str,
    error: Option<&str>,
    username: &str,
) -> Template {
    let csrf = session::login_csrf(cookies, app.config.secure_cookies);
    Template::render(
        "login",
        context! { title: "Log in", csrf, next, error, username },
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
    origin: LoginOrigin,
    form: Form<LoginForm<'_>>,
) -> Result<Result<Redirect, (Status, Template)>, AppError> {
    let origin = origin.0;
    let next = safe_next(form.next);
    if !session::check_login_csrf(cookies, form.csrf) {
        let message = "The login form had expired. Please try again.";
        return Ok(Err((
            Status::Forbidden,
            login_template(app, cookies, &next, Some(message), form.username),
        )));
    }
    match accounts::check_password(app, form.username, form.password).await? {
        Some(user) => {
            session::start_session(app, cookies, user.id, origin).await?;
            Ok(Ok(Redirect::to(next)))
        }
        _ => {
            let message =
                "That username and password do not match. Please check them and try again.";
            Ok(Err((
                Status::Unauthorized,
                login_template(app, cookies, &next, Some(message), form.username),
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_is_a_local_path_a_redirect_can_carry_or_nothing() {
        for good in [
            "/",
            "/courses/COMP6248/assignments/labs",
            "/admin/audit?course=X&action=y",
        ] {
            assert_eq!(safe_next(Some(good)), good);
        }
        for bad in [
            "//evil.example/",
            "https://evil.example/",
            "/ x",
            "/\\evil",
            "/\"x",
            "/<script>",
            "/é",
            "/a\u{7f}",
            "",
            "x",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/");
    }
}

/// The browser and address a login comes from, for its session's record.
struct LoginOrigin(Origin);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for LoginOrigin {
    type Error = std::convert::Infallible;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        Outcome::Success(LoginOrigin(session::origin(request)))
    }
}

#[derive(rocket::FromForm)]
struct LogoutForm<'r> {
    csrf: &'r str,
}

#[post("/logout", format = "form", data = "<form>")]
async fn logout(
    app: &State<App>,
    caller: Caller,
    cookies: &CookieJar<'_>,
    form: Form<LogoutForm<'_>>,
) -> Result<Redirect, AppError> {
    caller.check_csrf(form.csrf)?;
    session::end_session(app, cookies).await?;
    Ok(Redirect::to("/login"))
}
