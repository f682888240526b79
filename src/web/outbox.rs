//! The outbox page: administrators see every mail handin wrote, whether it
//! went, and the mail server's answer when it did not; and send one again.

use rocket::form::Form;
use rocket::request::FlashMessage;
use rocket::response::{Flash, Redirect};
use rocket::{State, get, post, routes};
use rocket_dyn_templates::{Template, context};

use super::error::AppError;
use super::guards::{Administer, Global};
use super::session::CsrfOnly;
use crate::App;
use crate::services::outbox;

pub fn routes() -> Vec<rocket::Route> {
    routes![page, resend]
}

#[get("/admin/outbox?<state>")]
async fn page(
    app: &State<App>,
    admin: Global<Administer>,
    state: Option<&str>,
    flash: Option<FlashMessage<'_>>,
) -> Result<Template, AppError> {
    let outbox = outbox::list(app, &admin.caller.user, state).await?;
    Ok(Template::render(
        "admin/outbox",
        context! {
            title: "Outbox",
            me: admin.caller.view(),
            outbox,
            state: state.unwrap_or(""),
            flash: flash.map(|f| f.message().to_string()),
        },
    ))
}

#[post("/admin/outbox/<id>/resend", format = "form", data = "<form>")]
async fn resend(
    app: &State<App>,
    admin: Global<Administer>,
    id: i32,
    form: Form<CsrfOnly<'_>>,
) -> Result<Flash<Redirect>, AppError> {
    admin.caller.check_csrf(form.csrf)?;
    outbox::resend(app, &admin.caller.user, id).await?;
    Ok(Flash::success(
        Redirect::to("/admin/outbox"),
        format!("Mail {id} is queued to be sent again."),
    ))
}
