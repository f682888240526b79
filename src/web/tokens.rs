//! API tokens for scripts, made by anyone signed in for themselves; an
//! administrator sees and revokes everyone's.
//!
//! A new token is shown once, after a redirect (Post/Redirect/Get): it
//! waits in a private cookie that the next page view takes away, so neither
//! a refresh nor the back button makes or shows it again.

use rocket::form::Form;
use rocket::http::{Cookie, CookieJar, SameSite, Status};
use rocket::request::FlashMessage;
use rocket::response::{Flash, Redirect};
use rocket::{State, get, post, routes, uri};
use rocket_dyn_templates::{Template, context};

use super::error::AppError;
use super::guards::{Administer, Global};
use super::session::{self, Caller};
use crate::App;
use crate::error::Error;
use crate::models::api_token::DEFAULT_DAYS;
use crate::services::tokens::{self, Listed, MAX_DAYS};

pub fn routes() -> Vec<rocket::Route> {
    routes![tokens_page, create, revoke, everyone_page]
}

const NEW_TOKEN_COOKIE: &str = "handin_new_token";

fn shown(list: Vec<Listed>) -> Vec<serde_json::Value> {
    list.into_iter()
        .map(|t| {
            serde_json::json!({
                "id": t.id,
                "name": t.name,
                "owner": t.owner,
                "created": t.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
                "expires": t.expires_at.format("%Y-%m-%d %H:%M UTC").to_string(),
                "state": t.state,
            })
        })
        .collect()
}

/// What the form had, to show it again beside its problems.
#[derive(Default)]
struct Typed<'a> {
    name: &'a str,
    days: u32,
    problems: Vec<String>,
}

async fn page(
    app: &App,
    caller: &Caller,
    typed: Typed<'_>,
    fresh: Option<String>,
    flash: Option<String>,
) -> Result<Template, AppError> {
    let list = shown(tokens::mine(app, &caller.user).await?);
    let days = if typed.days == 0 {
        DEFAULT_DAYS
    } else {
        typed.days
    };
    Ok(Template::render(
        "tokens",
        context! {
            title: "API tokens",
            me: caller.view(),
            tokens: list,
            fresh,
            flash,
            name: typed.name,
            days,
            max_days: MAX_DAYS,
            problems: typed.problems,
            api_base: super::error::API_BASE,
        },
    ))
}

#[get("/tokens")]
async fn tokens_page(
    app: &State<App>,
    caller: Caller,
    cookies: &CookieJar<'_>,
    flash: Option<FlashMessage<'_>>,
) -> Result<Template, AppError> {
    // Shown to whoever made it, once, and only soon after.
    let kept = cookies.get_private(NEW_TOKEN_COOKIE);
    if kept.is_some() {
        cookies.remove_private(Cookie::build(NEW_TOKEN_COOKIE).path("/tokens"));
    }
    let fresh = kept.and_then(|c| {
        let (owner, token) = c.value().split_once(':')?;
        (owner == caller.user.id.to_string()).then(|| token.to_string())
    });
    let flash = flash.map(|f| f.message().to_string());
    page(app, &caller, Typed::default(), fresh, flash).await
}

#[derive(rocket::FromForm)]
struct CreateForm<'r> {
    csrf: &'r str,
    name: &'r str,
    days: u32,
}

#[post("/tokens", format = "form", data = "<form>")]
async fn create(
    app: &State<App>,
    caller: Caller,
    cookies: &CookieJar<'_>,
    form: Form<CreateForm<'_>>,
) -> Result<Result<Redirect, (Status, Template)>, AppError> {
    caller.check_csrf(form.csrf)?;
    match tokens::create(app, &caller.user, form.name, form.days).await {
        Ok(token) => {
            let kept = format!("{}:{token}", caller.user.id);
            let cookie =
                session::errand_cookie(app, NEW_TOKEN_COOKIE, kept, "/tokens", SameSite::Strict, 5);
            cookies.add_private(cookie);
            Ok(Ok(Redirect::to(uri!(tokens_page))))
        }
        Err(Error::Invalid(problems)) => {
            let typed = Typed {
                name: form.name,
                days: form.days,
                problems,
            };
            let page = page(app, &caller, typed, None, None).await?;
            Ok(Err((Status::UnprocessableEntity, page)))
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(rocket::FromForm)]
struct RevokeForm<'r> {
    csrf: &'r str,
    /// Back to the administrators' list, when revoked from there.
    everyone: bool,
}

#[post("/tokens/<id>/revoke", format = "form", data = "<form>")]
async fn revoke(
    app: &State<App>,
    caller: Caller,
    id: i32,
    form: Form<RevokeForm<'_>>,
) -> Result<Flash<Redirect>, AppError> {
    caller.check_csrf(form.csrf)?;
    tokens::revoke(app, &caller.user, id).await?;
    let back = if form.everyone {
        uri!(everyone_page).to_string()
    } else {
        uri!(tokens_page).to_string()
    };
    Ok(Flash::success(
        Redirect::to(back),
        "The token was revoked: scripts using it are now refused.",
    ))
}

#[get("/admin/tokens")]
async fn everyone_page(
    app: &State<App>,
    admin: Global<Administer>,
    flash: Option<FlashMessage<'_>>,
) -> Result<Template, AppError> {
    let list = shown(tokens::everyone(app, &admin.caller.user).await?);
    Ok(Template::render(
        "admin/tokens",
        context! {
            title: "Everyone's API tokens",
            me: admin.caller.view(),
            tokens: list,
            flash: flash.map(|f| f.message().to_string()),
        },
    ))
}
