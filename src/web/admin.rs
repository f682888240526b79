//! Administrators: courses and assignments (the same things `handin import`
//! manages, through the same code), rosters, and the audit log.

use rocket::form::Form;
use rocket::http::ContentType;
use rocket::request::FlashMessage;
use rocket::response::{Flash, Redirect};
use rocket::{State, get, post, routes};
use rocket_dyn_templates::{Template, context};
use sea_orm::{EntityTrait, QueryOrder};
use serde::Serialize;

use super::guards::{Admin, CsvText};
use super::marking::Download;
use crate::App;
use crate::bulk;
use crate::domain::deadline::{form_value, format_local};
use crate::domain::penalty::LatePolicy;
use crate::error::AppError;
use crate::import::{self, AssignmentSpec, Change, CourseSpec};
use crate::models::{assignment, audit, course, user};

pub fn routes() -> Vec<rocket::Route> {
    routes![
        home,
        save_course,
        course_page,
        save_assignment,
        assignment_page,
        roster,
        audit_page,
        audit_csv
    ]
}

#[get("/admin")]
async fn home(
    app: &State<App>,
    admin: Admin,
    flash: Option<FlashMessage<'_>>,
) -> Result<Template, AppError> {
    let courses = course::Entity::find()
        .order_by_asc(course::Column::Code)
        .all(&app.db)
        .await?;
    let courses: Vec<_> = courses
        .iter()
        .map(|c| context! { code: &c.code, title: &c.title, time_zone: &c.time_zone })
        .collect();
    Ok(Template::render(
        "admin/home",
        context! { title: "Administration", me: admin.0.view(), courses, flash: flash.map(|f| f.message().to_string()) },
    ))
}

#[derive(rocket::FromForm)]
struct CourseForm<'r> {
    csrf: &'r str,
    code: &'r str,
    title: &'r str,
    time_zone: &'r str,
    closure_days: &'r str,
    markers_grant_extensions: bool,
}

/// Closure days as typed: separated by commas, spaces or new lines.
fn closure_days(text: &str) -> Vec<String> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|d| !d.is_empty())
        .map(str::to_string)
        .collect()
}

#[post("/admin/courses", format = "form", data = "<form>")]
async fn save_course(
    app: &State<App>,
    admin: Admin,
    form: Form<CourseForm<'_>>,
) -> Result<Flash<Redirect>, AppError> {
    admin.0.check_csrf(form.csrf)?;
    let code = form.code.trim();
    let spec = CourseSpec {
        code: code.to_string(),
        title: form.title.to_string(),
        time_zone: form.time_zone.trim().to_string(),
        closure_days: closure_days(form.closure_days),
        markers_grant_extensions: form.markers_grant_extensions,
        assignments: vec![],
    };
    let change = Change {
        actor_id: Some(admin.0.user.id),
        at: app.clock.now(),
        reason: "",
    };
    import::apply(&app.db, &app.config, &[spec], &change)
        .await
        .map_err(|e| AppError::unprocessable(e).with_back("/admin"))?;
    Ok(Flash::success(
        Redirect::to(format!("/admin/courses/{code}")),
        format!("{code} saved."),
    ))
}

async fn find_course(app: &App, code: &str) -> Result<course::Model, AppError> {
    course::find_by_code(&app.db, code)
        .await?
        .ok_or_else(|| AppError::not_found("course"))
}

#[derive(Serialize)]
struct AssignmentRow {
    slug: String,
    title: String,
    due_local: String,
}

#[get("/admin/courses/<code>")]
async fn course_page(
    app: &State<App>,
    admin: Admin,
    code: &str,
    flash: Option<FlashMessage<'_>>,
) -> Result<Template, AppError> {
    let course = find_course(app, code).await?;
    let zone = course.zone();
    let assignments: Vec<AssignmentRow> = assignment::of_courses(&app.db, &[course.id])
        .await?
        .into_iter()
        .map(|a| AssignmentRow {
            slug: a.slug,
            title: a.title,
            due_local: format_local(a.due_at, zone),
        })
        .collect();
    let closure = course
        .closure_days()
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    Ok(Template::render(
        "admin/course",
        context! {
            title: format!("{} administration", course.code),
            me: admin.0.view(),
            course: context! {
                code: &course.code, title: &course.title, time_zone: &course.time_zone,
                closure_days: closure, markers_grant_extensions: course.markers_grant_extensions,
            },
            assignments,
            a: empty_assignment_form(&app.config),
            policies: policies(),
            flash: flash.map(|f| f.message().to_string()),
        },
    ))
}

fn policies() -> Vec<(String, String)> {
    [
        LatePolicy::None,
        LatePolicy::UkStandard,
        LatePolicy::PerDay {
            percent: 10,
            cap: 100,
        },
    ]
    .iter()
    .map(|p| (p.spelling(), p.explain()))
    .collect()
}

fn empty_assignment_form(config: &crate::config::AppConfig) -> serde_json::Value {
    serde_json::json!({
        "slug": "", "title": "", "opens": "", "due": "", "hard_close": "", "grace_minutes": 0,
        "max_bundle_mib": config.default_bundle_mib, "required_files": "", "late_policy": "none",
        "anonymous": false, "is_new": true,
    })
}

#[derive(rocket::FromForm)]
struct AssignmentForm<'r> {
    csrf: &'r str,
    slug: &'r str,
    title: &'r str,
    opens: &'r str,
    due: &'r str,
    hard_close: &'r str,
    grace_minutes: u32,
    max_bundle_mib: u64,
    required_files: &'r str,
    late_policy: &'r str,
    anonymous: bool,
    reason: &'r str,
}

fn optional(text: &str) -> Option<String> {
    Some(text.trim().to_string()).filter(|t| !t.is_empty())
}

#[post("/admin/courses/<code>/assignments", format = "form", data = "<form>")]
async fn save_assignment(
    app: &State<App>,
    admin: Admin,
    code: &str,
    form: Form<AssignmentForm<'_>>,
) -> Result<Flash<Redirect>, AppError> {
    admin.0.check_csrf(form.csrf)?;
    let course = find_course(app, code).await?;
    let slug = form.slug.trim();
    let spec = CourseSpec {
        code: course.code.clone(),
        title: course.title.clone(),
        time_zone: course.time_zone.clone(),
        closure_days: course
            .closure_days()
            .iter()
            .map(|d| d.to_string())
            .collect(),
        markers_grant_extensions: course.markers_grant_extensions,
        assignments: vec![AssignmentSpec {
            slug: slug.to_string(),
            title: form.title.to_string(),
            opens: optional(form.opens),
            due: form.due.to_string(),
            hard_close: optional(form.hard_close),
            grace_minutes: form.grace_minutes,
            max_bundle_mib: Some(form.max_bundle_mib),
            required_files: form
                .required_files
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect(),
            anonymous: form.anonymous,
            late_policy: form.late_policy.to_string(),
        }],
    };
    let change = Change {
        actor_id: Some(admin.0.user.id),
        at: app.clock.now(),
        reason: form.reason.trim(),
    };
    let back = format!("/admin/courses/{code}");
    import::apply(&app.db, &app.config, &[spec], &change)
        .await
        .map_err(|e| AppError::unprocessable(e).with_back(back))?;
    Ok(Flash::success(
        Redirect::to(format!("/admin/courses/{code}/assignments/{slug}")),
        format!("{slug} saved."),
    ))
}

#[get("/admin/courses/<code>/assignments/<slug>")]
async fn assignment_page(
    app: &State<App>,
    admin: Admin,
    code: &str,
    slug: &str,
    flash: Option<FlashMessage<'_>>,
) -> Result<Template, AppError> {
    let (course, a) = assignment::find_by_codes(&app.db, code, slug)
        .await?
        .ok_or_else(|| AppError::not_found("assignment"))?;
    let zone = course.zone();
    let filter = audit::Filter {
        assignment_id: Some(a.id),
        ..Default::default()
    };
    let history = audit::search(&app.db, &filter, 200).await?;
    let max_mib = a.max_bundle_bytes() / (1024 * 1024);
    let form = serde_json::json!({
        "slug": a.slug, "title": a.title,
        "opens": a.opens_at.map(|t| form_value(t, zone)).unwrap_or_default(),
        "due": form_value(a.due_at, zone),
        "hard_close": a.hard_close_at.map(|t| form_value(t, zone)).unwrap_or_default(),
        "grace_minutes": a.grace_seconds / 60, "max_bundle_mib": max_mib,
        "required_files": a.required_files().join("\n"), "late_policy": a.late_policy,
        "anonymous": a.anonymous, "is_new": false,
    });
    Ok(Template::render(
        "admin/assignment",
        context! {
            title: format!("{}: {}", course.code, a.title),
            me: admin.0.view(),
            course: context! { code: &course.code, title: &course.title, time_zone: &course.time_zone },
            due_local: format_local(a.due_at, zone),
            a: form,
            policies: policies(),
            history,
            flash: flash.map(|f| f.message().to_string()),
        },
    ))
}

#[derive(rocket::FromForm)]
struct RosterForm<'r> {
    csrf: &'r str,
    csv: CsvText,
}

#[post("/admin/roster", data = "<form>")]
async fn roster(
    app: &State<App>,
    admin: Admin,
    form: Form<RosterForm<'_>>,
) -> Result<Template, AppError> {
    admin.0.check_csrf(form.csrf)?;
    let report = bulk::import_roster(&app.db, &form.csv.0, Some(admin.0.user.id), app.clock.now())
        .await
        .map_err(|errors| {
            AppError::unprocessable(format!("Nothing was imported. {}", errors.join(" · ")))
                .with_back("/admin")
        })?;
    Ok(Template::render(
        "admin/roster",
        context! {
            title: "Roster imported",
            me: admin.0.view(),
            created: report.created,
            updated: report.updated,
            enrolments: report.enrolments,
        },
    ))
}

#[derive(rocket::FromForm, Default)]
struct AuditQuery<'r> {
    course: Option<&'r str>,
    assignment: Option<&'r str>,
    student: Option<&'r str>,
    action: Option<&'r str>,
}

impl AuditQuery<'_> {
    async fn filter(&self, app: &App) -> Result<audit::Filter, AppError> {
        let mut filter = audit::Filter::default();
        let given = |v: Option<&str>| {
            v.map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        if let Some(code) = given(self.course) {
            let course = find_course(app, &code).await?;
            filter.course_id = Some(course.id);
            if let Some(slug) = given(self.assignment) {
                let found = assignment::find_by_codes(&app.db, &code, &slug).await?;
                filter.assignment_id =
                    Some(found.ok_or_else(|| AppError::not_found("assignment"))?.1.id);
            }
        }
        if let Some(username) = given(self.student) {
            let found = user::find_by_username(&app.db, &username).await?;
            filter.student_id = Some(found.ok_or_else(|| AppError::not_found("user"))?.id);
        }
        filter.action = given(self.action);
        Ok(filter)
    }
}

#[get("/admin/audit?<query..>")]
async fn audit_page(
    app: &State<App>,
    admin: Admin,
    query: AuditQuery<'_>,
) -> Result<Template, AppError> {
    let filter = query.filter(app).await?;
    let entries = audit::search(&app.db, &filter, 1000).await?;
    Ok(Template::render(
        "admin/audit",
        context! {
            title: "Audit log",
            me: admin.0.view(),
            entries,
            actions: audit::ACTIONS,
            course: query.course.unwrap_or(""),
            assignment: query.assignment.unwrap_or(""),
            student: query.student.unwrap_or(""),
            action: query.action.unwrap_or(""),
        },
    ))
}

#[get("/admin/audit.csv?<query..>")]
async fn audit_csv(
    app: &State<App>,
    _admin: Admin,
    query: AuditQuery<'_>,
) -> Result<Download<Vec<u8>>, AppError> {
    let filter = query.filter(app).await?;
    let entries = audit::search(&app.db, &filter, u64::MAX >> 1).await?;
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record([
            "at",
            "actor",
            "action",
            "course",
            "assignment",
            "student",
            "before",
            "after",
            "details",
        ])
        .map_err(AppError::internal)?;
    for e in &entries {
        // Reasons are typed by students: defuse anything a spreadsheet would run.
        let record = [
            &e.at,
            &e.actor,
            &e.action,
            &e.course,
            &e.assignment,
            &e.student,
            &e.before,
            &e.after,
            &e.details,
        ];
        writer
            .write_record(record.map(|field| crate::export::cell(field)))
            .map_err(AppError::internal)?;
    }
    let body = writer.into_inner().map_err(AppError::internal)?;
    Ok(Download::new(body, ContentType::CSV, "handin-audit.csv"))
}
