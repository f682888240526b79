//! Deadlines in people's calendars: the page that makes (or renews, or
//! turns off) a person's private feed address; the feed itself, opened by
//! the secret in its address; and a one-off `.ics` per assignment.

use rocket::form::Form;
use rocket::http::ContentType;
use rocket::http::uri::Host;
use rocket::request::FlashMessage;
use rocket::response::{Flash, Redirect};
use rocket::{State, get, post, routes};
use rocket_dyn_templates::{Template, context};

use super::error::AppError;
use super::guards::{Allowed, SeeAssignment};
use super::marking::Download;
use super::session::Caller;
use crate::App;
use crate::services::calendar;

pub fn routes() -> Vec<rocket::Route> {
    routes![page, change, feed, assignment_ics]
}

/// iCalendar, as calendars expect it.
fn text_calendar() -> ContentType {
    ContentType::new("text", "calendar").with_params(("charset", "utf-8"))
}

#[get("/calendar")]
async fn page(
    app: &State<App>,
    caller: Caller,
    host: Option<&Host<'_>>,
    flash: Option<FlashMessage<'_>>,
) -> Template {
    // The address as calendars outside will reach it.
    let base = app
        .config
        .public_url
        .clone()
        .map(|url| url.trim_end_matches('/').to_string())
        .or_else(|| host.map(|host| format!("http://{host}")))
        .unwrap_or_default();
    let feed = calendar::link(&caller.user).map(|token| format!("{base}/calendar/{token}.ics"));
    let subscribe = feed.as_deref().map(|url| {
        url.replacen("https://", "webcal://", 1)
            .replacen("http://", "webcal://", 1)
    });
    Template::render(
        "calendar",
        context! {
            title: "Your deadlines in your calendar and by mail",
            me: caller.view(),
            reminders: caller.user.mail_reminders,
            address: caller.user.email.clone(),
            support: app.config.support_contact.clone(),
            feed,
            subscribe,
            flash: flash.map(|f| f.message().to_string()),
        },
    )
}

#[derive(rocket::FromForm)]
struct ChangeForm<'r> {
    csrf: &'r str,
    /// `new` (a new address; the old one stops working) or `off`; or
    /// `reminders-on` / `reminders-off` for mail reminders.
    action: &'r str,
}

#[post("/calendar", format = "form", data = "<form>")]
async fn change(
    app: &State<App>,
    caller: Caller,
    form: Form<ChangeForm<'_>>,
) -> Result<Flash<Redirect>, AppError> {
    caller.check_csrf(form.csrf)?;
    let said = match form.action {
        "new" => {
            calendar::renew(app, caller.user).await?;
            "Your calendar address is ready: add it to your calendar. Any earlier address has stopped working."
        }
        "off" => {
            calendar::turn_off(app, caller.user).await?;
            "Your calendar address has stopped working."
        }
        "reminders-on" => {
            calendar::set_reminders(app, caller.user, true).await?;
            "Reminders are on: handin will mail you before a deadline if you have not handed in."
        }
        "reminders-off" => {
            calendar::set_reminders(app, caller.user, false).await?;
            "Reminders are off. Receipts and decisions about your extensions are still mailed to you."
        }
        _ => {
            return Err(AppError::bad_request(
                "Choose a new address, turn it off, or turn reminders on or off.",
            ));
        }
    };
    Ok(Flash::success(Redirect::to("/calendar"), said))
}

/// The feed: no session, the secret in the address is the key (calendar
/// apps fetch it on their own).
#[get("/calendar/<file>")]
async fn feed(app: &State<App>, file: &str) -> Result<(ContentType, String), AppError> {
    let token = file
        .strip_suffix(".ics")
        .ok_or_else(|| AppError::not_found("calendar"))?;
    Ok((text_calendar(), calendar::feed(app, token).await?))
}

#[get("/courses/<_code>/assignments/<_slug>/calendar.ics")]
async fn assignment_ics(
    app: &State<App>,
    seen: Allowed<SeeAssignment>,
    _code: &str,
    _slug: &str,
) -> Result<Download<String>, AppError> {
    let (name, body) = calendar::assignment_ics(app, &seen).await?;
    Ok(Download::new(body, text_calendar(), &name))
}
