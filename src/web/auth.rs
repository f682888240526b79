//! Logging in and out.

use rocket::form::Form;
use rocket::http::{CookieJar, Status};
use rocket::response::Redirect;
use rocket::{State, get, post, routes};
use rocket_dyn_templates::{Template, context};

use super::session::{self, Caller};
use crate::App;
use crate::error::AppError;
use crate::models::user;

pub fn routes() -> Vec<rocket::Route> {
    routes![login_page, login, logout]
}

/// Only same-site paths: `next` must never send a student elsewhere.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && !path.chars().any(char::is_control) =>
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
    form: Form<LoginForm<'_>>,
) -> Result<Result<Redirect, (Status, Template)>, AppError> {
    let next = safe_next(form.next);
    if !session::check_login_csrf(cookies, form.csrf) {
        let message = "The login form had expired. Please try again.";
        return Ok(Err((
            Status::Forbidden,
            login_template(app, cookies, &next, Some(message), form.username),
        )));
    }
    let found = user::find_by_username(&app.db, form.username.trim()).await?;
    // Verify against a real hash even for unknown users, so the time taken
    // does not tell which usernames exist.
    let hash = found
        .as_ref()
        .map(|u| u.password_hash.clone())
        .unwrap_or_else(|| DUMMY_HASH.clone());
    let password = form.password.to_string();
    let _slot = app
        .password_checks
        .acquire()
        .await
        .map_err(AppError::internal)?;
    let verified =
        rocket::tokio::task::spawn_blocking(move || user::verify_password(&password, &hash))
            .await
            .map_err(AppError::internal)?;
    match found {
        Some(user) if verified => {
            session::start_session(cookies, user.id, app.clock.now(), app.config.secure_cookies);
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

static DUMMY_HASH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| user::hash_password("not a real password").unwrap_or_default());

#[derive(rocket::FromForm)]
struct LogoutForm<'r> {
    csrf: &'r str,
}

#[post("/logout", format = "form", data = "<form>")]
fn logout(
    caller: Caller,
    cookies: &CookieJar<'_>,
    form: Form<LogoutForm<'_>>,
) -> Result<Redirect, AppError> {
    caller.check_csrf(form.csrf)?;
    session::end_session(cookies);
    Ok(Redirect::to("/login"))
}
