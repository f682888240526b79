//! Extensions: granting (to one student or several), editing, revoking and
//! importing them, as pages and as `/api/v1` calls. Administrators may, and
//! so may a course's markers where the course allows it.

use std::collections::HashMap;

use rocket::form::Form;
use rocket::http::Status;
use rocket::request::FlashMessage;
use rocket::response::{Flash, Redirect};
use rocket::serde::json::Json;
use rocket::{State, delete, get, post, put, routes};
use rocket_dyn_templates::{Template, context};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};

use super::guards::{CsvText, short_text};
use super::session::Caller;
use crate::App;
use crate::bulk;
use crate::domain::deadline::{format_local, parse_instant};
use crate::error::AppError;
use crate::models::access::{self, CourseRole};
use crate::models::{assignment, course, enrolment, extension, marking, requests, user};

pub fn page_routes() -> Vec<rocket::Route> {
    let mut all = routes![extensions_page, grant_form, revoke_form, import_form];
    all.extend(routes![super::requests::decide]);
    all
}

pub fn api_routes() -> Vec<rocket::Route> {
    routes![list_api, put_api, delete_api]
}

/// An assignment whose extensions the caller may manage.
pub struct Granting {
    pub caller: Caller,
    pub course: course::Model,
    pub assignment: assignment::Model,
    /// A marker on an anonymous assignment: students are named by candidate number.
    pub anonymous: bool,
}

impl Granting {
    pub async fn find(
        app: &App,
        caller: Caller,
        code: &str,
        slug: &str,
    ) -> Result<Granting, AppError> {
        let (course, assignment) = assignment::find_by_codes(&app.db, code, slug)
            .await?
            .ok_or_else(|| AppError::not_found("assignment"))?;
        let role = access::role_in(&app.db, &caller.user, course.id).await?;
        let allowed = match role {
            Some(CourseRole::Admin) => true,
            Some(CourseRole::Marker) => course.markers_grant_extensions,
            _ => false,
        };
        if !allowed {
            return Err(AppError::forbidden(format!(
                "Only administrators can manage extensions for {}.",
                course.code
            )));
        }
        let anonymous = role.is_some_and(|role| marking::is_anonymous_for(&assignment, role));
        Ok(Granting {
            caller,
            course,
            assignment,
            anonymous,
        })
    }

    pub fn page(&self) -> String {
        format!(
            "/courses/{}/assignments/{}/extensions",
            self.course.code, self.assignment.slug
        )
    }

    pub fn decision(&self, app: &App) -> extension::Decision {
        extension::Decision {
            course_id: self.course.id,
            assignment_id: self.assignment.id,
            by: self.caller.user.id,
            at: app.clock.now(),
        }
    }

    /// A student of this course, by username.
    /// A student of this course, by the label the caller sees: a username,
    /// or a candidate number under anonymous marking.
    async fn student(&self, app: &App, label: &str) -> Result<user::Model, AppError> {
        let not_found = || AppError::not_found(&format!("student {label} in {}", self.course.code));
        let user = if self.anonymous {
            let candidates = marking::candidates(&app.db, self.course.id).await?;
            let id = candidates
                .iter()
                .find(|(_, c)| *c == label)
                .map(|(id, _)| *id)
                .ok_or_else(not_found)?;
            user::Entity::find_by_id(id)
                .one(&app.db)
                .await?
                .ok_or_else(not_found)?
        } else {
            user::find_by_username(&app.db, label)
                .await?
                .ok_or_else(not_found)?
        };
        match access::role_in(&app.db, &user, self.course.id).await? {
            Some(CourseRole::Student) => Ok(user),
            _ => Err(not_found()),
        }
    }

    /// How the caller sees a student: (label, name), the name empty under
    /// anonymous marking.
    fn shown(&self, student: &user::Model, candidates: &HashMap<i32, String>) -> (String, String) {
        if self.anonymous {
            (
                candidates.get(&student.id).cloned().unwrap_or_default(),
                String::new(),
            )
        } else {
            (student.username.clone(), student.display_name.clone())
        }
    }

    fn until(&self, text: &str) -> Result<chrono::DateTime<chrono::Utc>, AppError> {
        parse_instant(text, self.course.zone())
            .map_err(|e| AppError::unprocessable(format!("The new deadline: {e}.")))
    }

    /// Grants one new deadline to the students; returns it.
    async fn grant(
        &self,
        app: &App,
        students: &[i32],
        until: &str,
        reason: &str,
    ) -> Result<chrono::DateTime<chrono::Utc>, AppError> {
        let until = self.until(until)?;
        let reason = short_text("reason", reason)?;
        if reason.is_empty() {
            return Err(AppError::unprocessable(
                "Please give a reason for the extension: it goes on the record.",
            ));
        }
        let grants: Vec<extension::Grant> = students
            .iter()
            .map(|&student_id| extension::Grant {
                student_id,
                until,
                reason: reason.to_string(),
            })
            .collect();
        extension::grant(&app.db, &self.decision(app), &grants).await?;
        Ok(until)
    }
}

/// An extension as the pages and the API show it.
#[derive(Debug, Serialize)]
pub struct ExtensionView {
    /// The username, or the candidate number under anonymous marking.
    pub student: String,
    pub name: String,
    pub until: String,
    pub until_local: String,
    pub until_form: String,
    pub reason: String,
    pub granted_by: String,
    pub granted_at: String,
}

async fn views(app: &App, granting: &Granting) -> Result<Vec<ExtensionView>, AppError> {
    let rows = extension::of_assignment(&app.db, granting.assignment.id).await?;
    let ids: Vec<i32> = rows
        .iter()
        .flat_map(|e| [e.student_id, e.granted_by])
        .collect();
    let users = user::Entity::find()
        .filter(user::Column::Id.is_in(ids))
        .all(&app.db)
        .await?;
    let candidates = marking::candidates(&app.db, granting.course.id).await?;
    let find = |id: i32| users.iter().find(|u| u.id == id);
    let zone = granting.course.zone();
    let mut views: Vec<ExtensionView> = rows
        .into_iter()
        .filter_map(|e| {
            let (student, name) = granting.shown(find(e.student_id)?, &candidates);
            Some(ExtensionView {
                student,
                name,
                until: e.until.with_timezone(&zone).to_rfc3339(),
                until_local: format_local(e.until, zone),
                until_form: crate::domain::deadline::form_value(e.until, zone),
                reason: e.reason,
                granted_by: find(e.granted_by)
                    .map(|u| u.username.clone())
                    .unwrap_or_default(),
                granted_at: format_local(e.granted_at, zone),
            })
        })
        .collect();
    views.sort_by(|a, b| a.student.cmp(&b.student));
    Ok(views)
}

#[get("/courses/<code>/assignments/<slug>/extensions")]
async fn extensions_page(
    app: &State<App>,
    caller: Caller,
    code: &str,
    slug: &str,
    flash: Option<FlashMessage<'_>>,
) -> Result<Template, AppError> {
    let granting = Granting::find(app, caller, code, slug).await?;
    let extensions = views(app, &granting).await?;
    let candidates = marking::candidates(&app.db, granting.course.id).await?;
    let mut students: Vec<(String, String)> = enrolment::students(&app.db, granting.course.id)
        .await?
        .iter()
        .map(|u| granting.shown(u, &candidates))
        .collect();
    students.sort();
    let mut requests = requests::for_staff(&app.db, &granting.course, &granting.assignment).await?;
    if granting.anonymous {
        for request in &mut requests {
            request.username = candidates
                .get(&request.student_id)
                .cloned()
                .unwrap_or_default();
            request.name = String::new();
        }
    }
    Ok(Template::render(
        "extensions",
        context! {
            title: format!("Extensions: {}", granting.assignment.title),
            me: granting.caller.view(),
            course: &granting.course.code,
            slug: &granting.assignment.slug,
            assignment_title: &granting.assignment.title,
            time_zone: &granting.course.time_zone,
            due_local: format_local(granting.assignment.due_at, granting.course.zone()),
            extensions,
            students,
            requests,
            anonymous: granting.anonymous,
            flash: flash.map(|f| f.message().to_string()),
        },
    ))
}

#[derive(rocket::FromForm)]
struct GrantForm<'r> {
    csrf: &'r str,
    students: Vec<&'r str>,
    until: &'r str,
    reason: &'r str,
}

#[post(
    "/courses/<code>/assignments/<slug>/extensions",
    format = "form",
    data = "<form>"
)]
async fn grant_form(
    app: &State<App>,
    caller: Caller,
    code: &str,
    slug: &str,
    form: Form<GrantForm<'_>>,
) -> Result<Flash<Redirect>, AppError> {
    caller.check_csrf(form.csrf)?;
    let granting = Granting::find(app, caller, code, slug).await?;
    let back = granting.page();
    if form.students.is_empty() {
        return Err(AppError::unprocessable("Choose at least one student.").with_back(back));
    }
    let mut ids = Vec::new();
    for username in &form.students {
        ids.push(
            granting
                .student(app, username)
                .await
                .map_err(|e| e.with_back(back.clone()))?
                .id,
        );
    }
    granting
        .grant(app, &ids, form.until, form.reason)
        .await
        .map_err(|e| e.with_back(back.clone()))?;
    let message = format!(
        "Extension until {} saved for {}.",
        form.until,
        form.students.join(", ")
    );
    Ok(Flash::success(Redirect::to(back), message))
}

#[derive(rocket::FromForm)]
struct RevokeForm<'r> {
    csrf: &'r str,
    reason: &'r str,
}

#[post(
    "/courses/<code>/assignments/<slug>/extensions/<username>/revoke",
    format = "form",
    data = "<form>"
)]
async fn revoke_form(
    app: &State<App>,
    caller: Caller,
    code: &str,
    slug: &str,
    username: &str,
    form: Form<RevokeForm<'_>>,
) -> Result<Flash<Redirect>, AppError> {
    caller.check_csrf(form.csrf)?;
    let granting = Granting::find(app, caller, code, slug).await?;
    let student = granting.student(app, username).await?;
    let reason = match short_text("reason", form.reason)? {
        "" => "revoked",
        given => given,
    };
    let revoked = extension::revoke(&app.db, &granting.decision(app), student.id, reason).await?;
    let message = if revoked {
        format!("The extension of {username} was revoked.")
    } else {
        format!("{username} had no extension.")
    };
    Ok(Flash::success(Redirect::to(granting.page()), message))
}

#[derive(rocket::FromForm)]
struct ImportForm<'r> {
    csrf: &'r str,
    csv: CsvText,
}

#[post(
    "/courses/<code>/assignments/<slug>/extensions/import",
    data = "<form>"
)]
async fn import_form(
    app: &State<App>,
    caller: Caller,
    code: &str,
    slug: &str,
    form: Form<ImportForm<'_>>,
) -> Result<Flash<Redirect>, AppError> {
    caller.check_csrf(form.csrf)?;
    let granting = Granting::find(app, caller, code, slug).await?;
    let (course, assignment) = (&granting.course, &granting.assignment);
    let count = bulk::import_extensions(
        &app.db,
        course,
        assignment,
        &form.csv.0,
        granting.caller.user.id,
        app.clock.now(),
        granting.anonymous,
    )
    .await
    .map_err(|errors| {
        AppError::unprocessable(format!("Nothing was imported. {}", errors.join(" · ")))
            .with_back(granting.page())
    })?;
    Ok(Flash::success(
        Redirect::to(granting.page()),
        format!("{count} extension(s) imported."),
    ))
}

#[get("/courses/<code>/assignments/<slug>/extensions")]
async fn list_api(
    app: &State<App>,
    caller: Caller,
    code: &str,
    slug: &str,
) -> Result<Json<Vec<ExtensionView>>, AppError> {
    let granting = Granting::find(app, caller, code, slug).await?;
    Ok(Json(views(app, &granting).await?))
}

#[derive(Deserialize)]
struct ExtensionBody {
    until: String,
    reason: String,
}

#[put(
    "/courses/<code>/assignments/<slug>/extensions/<username>",
    data = "<body>"
)]
async fn put_api(
    app: &State<App>,
    caller: Caller,
    code: &str,
    slug: &str,
    username: &str,
    body: Result<Json<ExtensionBody>, rocket::serde::json::Error<'_>>,
) -> Result<Json<ExtensionView>, AppError> {
    let granting = Granting::find(app, caller, code, slug).await?;
    let body = body.map_err(|e| {
        AppError::bad_request(format!(
            "The body must be JSON {{\"until\": ..., \"reason\": ...}}: {e}"
        ))
    })?;
    let student = granting.student(app, username).await?;
    granting
        .grant(app, &[student.id], &body.until, &body.reason)
        .await?;
    let view = views(app, &granting)
        .await?
        .into_iter()
        .find(|v| v.student == username);
    view.map(Json)
        .ok_or_else(|| AppError::internal("extension missing after grant"))
}

#[delete("/courses/<code>/assignments/<slug>/extensions/<username>")]
async fn delete_api(
    app: &State<App>,
    caller: Caller,
    code: &str,
    slug: &str,
    username: &str,
) -> Result<Status, AppError> {
    let granting = Granting::find(app, caller, code, slug).await?;
    let student = granting.student(app, username).await?;
    if extension::revoke(
        &app.db,
        &granting.decision(app),
        student.id,
        "revoked through the API",
    )
    .await?
    {
        Ok(Status::NoContent)
    } else {
        Err(AppError::not_found(&format!("extension for {username}")))
    }
}
