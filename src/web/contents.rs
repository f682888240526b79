//! What is inside a bundle, without downloading it: its file list, and a
//! preview of text, code and notebooks. A file is never served as it is:
//! the page shows it escaped, under the site's strict CSP.

use rocket::{State, get, routes};
use rocket_dyn_templates::{Template, context};

use super::error::AppError;
use super::session::Caller;
use crate::App;
use crate::services::work;

pub fn routes() -> Vec<rocket::Route> {
    routes![files, file]
}

#[get("/submissions/<id>/files")]
async fn files(app: &State<App>, caller: Caller, id: i32) -> Result<Template, AppError> {
    let contents = work::contents(app, &caller.user, id).await?;
    Ok(Template::render(
        "contents",
        context! {
            title: format!("{}: attempt {} of {}", contents.assignment_title, contents.attempt, contents.student),
            me: caller.view(),
            c: contents,
        },
    ))
}

#[get("/submissions/<id>/files/<index>")]
async fn file(
    app: &State<App>,
    caller: Caller,
    id: i32,
    index: usize,
) -> Result<Template, AppError> {
    let (contents, file, shown) = work::preview(app, &caller.user, id, index).await?;
    Ok(Template::render(
        "preview",
        context! {
            title: format!("{} · {}", file.path, contents.student),
            me: caller.view(),
            c: contents,
            file,
            shown,
        },
    ))
}
