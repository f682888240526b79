//! Administrators: courses and assignments (the same things `handin import`
//! manages, through the same use cases), rosters, and the audit log.

use rocket::Either;
use rocket::form::Form;
use rocket::http::{ContentType, Status};
use rocket::request::FlashMessage;
use rocket::response::status::Custom;
use rocket::response::{Flash, Redirect};
use rocket::{State, get, post, routes, uri};
use rocket_dyn_templates::{Template, context};
use serde::Serialize;

use super::error::{AppError, refused, refused_import};
use super::guards::{Administer, Global, ReadAudit};
use super::marking::Download;
use super::multipart::{FormSpec, Kind, SmallForm};
use crate::App;
use crate::domain::penalty::LatePolicy;
use crate::domain::zone::{form_value, format_local};
use crate::error::Error;
use crate::services::accounts;
use crate::services::audit_log::{self, Query};
use crate::services::catalogue::{self, AssignmentSpec, MarkSetting};
use crate::services::roster as rosters;

pub fn routes() -> Vec<rocket::Route> {
    routes![
        home,
        end_sessions,
        save_closure_days,
        save_course,
        course_page,
        save_assignment,
        assignment_page,
        roster,
        audit_page,
        audit_csv
    ]
}

type Admin = Global<Administer>;

#[get("/admin")]
async fn home(
    app: &State<App>,
    admin: Admin,
    flash: Option<FlashMessage<'_>>,
) -> Result<Template, AppError> {
    let flash = flash.map(|f| f.message().to_string());
    home_view(app, &admin, flash, Refused::default()).await
}

/// A form sent back as it was typed, with what was wrong with it.
#[derive(Default)]
struct Refused {
    roster: Vec<String>,
    course: Option<(serde_json::Value, Vec<String>)>,
}

/// The administration page, with what was wrong with a form, if anything.
async fn home_view(
    app: &App,
    admin: &Admin,
    flash: Option<String>,
    refused: Refused,
) -> Result<Template, AppError> {
    let (new_course, course_errors) = refused.course.unzip();
    let courses = catalogue::courses(app).await?;
    let courses: Vec<_> = courses
        .iter()
        .map(|c| context! { code: &c.code, title: &c.title, time_zone: c.zone_name() })
        .collect();
    Ok(Template::render(
        "admin/home",
        context! {
            title: "Administration",
            me: admin.caller.view(),
            courses,
            flash,
            roster_errors: refused.roster,
            new_course,
            course_errors: course_errors.unwrap_or_default(),
            // Names this page's roster form: sent twice, it imports once.
            roster_form: hex::encode(rand::random::<[u8; 16]>()),
            university_closure_days: catalogue::university_closure_days(app)
                .await?
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", "),
        },
    ))
}

#[derive(rocket::FromForm)]
struct SessionsForm<'r> {
    csrf: &'r str,
    username: &'r str,
}

/// Ends every session of a user: they must log in again.
#[post("/admin/sessions", format = "form", data = "<form>")]
async fn end_sessions(
    app: &State<App>,
    admin: Admin,
    form: Form<SessionsForm<'_>>,
) -> Result<Flash<Redirect>, AppError> {
    admin.caller.check_csrf(form.csrf)?;
    let ended = accounts::end_sessions_of(app, Some(admin.caller.user.id), form.username)
        .await
        .map_err(|e| AppError::from(e).with_back("/admin"))?;
    Ok(Flash::success(
        Redirect::to(uri!(home)),
        format!("Ended {ended} session(s) of {}.", form.username.trim()),
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

#[post("/admin/courses", format = "form", data = "<form>")]
async fn save_course(
    app: &State<App>,
    admin: Admin,
    form: Form<CourseForm<'_>>,
) -> Result<Either<Flash<Redirect>, Custom<Template>>, AppError> {
    admin.caller.check_csrf(form.csrf)?;
    let course = catalogue::CourseForm {
        code: form.code,
        title: form.title,
        time_zone: form.time_zone,
        closure_days: form.closure_days,
        markers_grant_extensions: form.markers_grant_extensions,
    };
    let problems = match catalogue::save_course(app, admin.caller.user.id, course).await {
        Ok(code) => {
            return Ok(Either::Left(Flash::success(
                Redirect::to(uri!(course_page(&code))),
                format!("{code} saved."),
            )));
        }
        Err(Error::Invalid(problems)) => problems,
        Err(other) => return Err(AppError::from(other).with_back("/admin")),
    };
    // The form again, as typed: the course's page for one that exists,
    // else the administration page where courses are made.
    let typed = serde_json::json!({
        "code": form.code.trim(), "title": form.title, "time_zone": form.time_zone,
        "closure_days": form.closure_days, "markers_grant_extensions": form.markers_grant_extensions,
    });
    let code = form.code.trim();
    let page = if catalogue::find_course(app, code).await.is_ok() {
        let assignment_form = (empty_assignment_form(&app.config), Vec::new());
        let settings = Some((typed, problems));
        course_view(app, &admin, code, assignment_form, (None, settings)).await?
    } else {
        let refused = Refused {
            course: Some((typed, problems)),
            ..Refused::default()
        };
        home_view(app, &admin, None, refused).await?
    };
    Ok(Either::Right(Custom(Status::UnprocessableEntity, page)))
}

#[derive(rocket::FromForm)]
struct ClosureDaysForm<'r> {
    csrf: &'r str,
    closure_days: &'r str,
}

/// The university's closure days, which every course's working days skip.
#[post("/admin/closure-days", format = "form", data = "<form>")]
async fn save_closure_days(
    app: &State<App>,
    admin: Admin,
    form: Form<ClosureDaysForm<'_>>,
) -> Result<Flash<Redirect>, AppError> {
    admin.caller.check_csrf(form.csrf)?;
    let changed =
        catalogue::set_university_closure_days(app, admin.caller.user.id, form.closure_days)
            .await
            .map_err(|e| refused(e, "Nothing was changed.").with_back("/admin"))?;
    let said = if changed {
        "The university's closure days are saved: every course's working days skip them."
    } else {
        "The university's closure days were those already."
    };
    Ok(Flash::success(Redirect::to(uri!(home)), said))
}

#[derive(Serialize)]
struct AssignmentRow {
    slug: String,
    title: String,
    due_local: String,
}

#[get("/admin/courses/<code>")]
pub async fn course_page(
    app: &State<App>,
    admin: Admin,
    code: &str,
    flash: Option<FlashMessage<'_>>,
) -> Result<Template, AppError> {
    let form = empty_assignment_form(&app.config);
    let flash = flash.map(|f| f.message().to_string());
    course_view(app, &admin, code, (form, Vec::new()), (flash, None)).await
}

/// The course's page, with its new-assignment form as given (empty, or as
/// typed with what was wrong with it).
async fn course_view(
    app: &App,
    admin: &Admin,
    code: &str,
    (form, form_errors): (serde_json::Value, Vec<String>),
    (flash, settings): (Option<String>, Option<(serde_json::Value, Vec<String>)>),
) -> Result<Template, AppError> {
    let (course, assignments) = catalogue::course(app, code).await?;
    let (typed_settings, settings_errors) = settings.unzip();
    let zone = course.zone();
    let assignments: Vec<AssignmentRow> = assignments
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
            me: admin.caller.view(),
            course: context! {
                code: &course.code, title: &course.title, time_zone: course.zone_name(),
                closure_days: closure, markers_grant_extensions: course.markers_grant_extensions,
            },
            typed_settings,
            settings_errors: settings_errors.unwrap_or_default(),
            assignments,
            a: form,
            form_errors,
            policies: policies(),
            flash,
        },
    ))
}

/// The late policies to choose from: their kind, and what they do.
fn policies() -> Vec<(&'static str, String)> {
    [
        LatePolicy::None,
        LatePolicy::UkStandard,
        LatePolicy::PerDay {
            percent: 10,
            cap: 100,
        },
        LatePolicy::PointsPerDay {
            points: 5,
            cap: 100,
        },
    ]
    .iter()
    .map(|p| {
        let (kind, _, _) = p.parts();
        let what = match p {
            LatePolicy::PerDay { .. } => {
                "a percentage of the mark off per working day late (the amount below), at most the cap".into()
            }
            LatePolicy::PointsPerDay { .. } => {
                "percentage points of the maximum mark off per working day late (the amount below), at most the cap".into()
            }
            other => other.explain(),
        };
        (kind, what)
    })
    .collect()
}

fn empty_assignment_form(config: &crate::config::AppConfig) -> serde_json::Value {
    serde_json::json!({
        "slug": "", "title": "", "opens": "", "due": "", "hard_close": "", "grace_minutes": 0,
        "max_bundle_mib": config.default_bundle_mib, "required_files": "", "late_policy": "none",
        "late_amount": 10, "late_cap": 100,
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
    max_mark: Option<&'r str>,
    pass_mark: Option<&'r str>,
    feedback_files: bool,
    declaration: Option<&'r str>,
    /// "Yes, move it": a deadline moved into the past or the next 24 hours.
    confirm_move: bool,
    counts: Option<&'r str>,
    /// With `late_policy` per_day or points_per_day: the amount a day, and the cap.
    late_amount: Option<u32>,
    late_cap: Option<u32>,
    penalty_floor_at_pass: bool,
}

impl AssignmentForm<'_> {
    /// The late policy as the file spells it: chosen from the list, with
    /// its amount and cap where it has them (a spelling typed whole, as
    /// scripts send it, is taken as it is).
    fn late_policy(&self) -> String {
        let kind = self.late_policy.trim();
        match (kind, self.late_amount, self.late_cap) {
            ("per_day" | "points_per_day", Some(amount), Some(cap)) => {
                format!("{kind}:{amount}:{cap}")
            }
            ("per_day" | "points_per_day", _, _) => format!("{kind}:"),
            _ => kind.to_string(),
        }
    }
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
) -> Result<Either<Flash<Redirect>, Custom<Template>>, AppError> {
    admin.caller.check_csrf(form.csrf)?;
    let course = catalogue::find_course(app, code).await?;
    let slug = form.slug.trim();
    let spec = AssignmentSpec {
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
        late_policy: form.late_policy(),
        max_mark: form.max_mark.map(|m| MarkSetting::Text(m.to_string())),
        pass_mark: form.pass_mark.map(|m| MarkSetting::Text(m.to_string())),
        feedback_files: Some(form.feedback_files),
        declaration: form.declaration.map(str::to_string),
        counts: form.counts.map(str::to_string),
        penalty_floor_at_pass: Some(form.penalty_floor_at_pass),
    };
    let change = catalogue::AssignmentChange {
        reason: form.reason,
        confirmed_soon: form.confirm_move,
    };
    let problems =
        match catalogue::save_assignment(app, admin.caller.user.id, &course, spec, change).await {
            Ok(()) => {
                return Ok(Either::Left(Flash::success(
                    Redirect::to(uri!(assignment_page(code, slug))),
                    format!("{slug} saved."),
                )));
            }
            Err(Error::Invalid(problems)) => (Status::UnprocessableEntity, problems),
            Err(Error::Conflict(problem)) => (Status::Conflict, vec![problem]),
            Err(other) => {
                return Err(AppError::from(other).with_back(uri!(course_page(code)).to_string()));
            }
        };
    // Refused: the same page again, with what was typed and what is wrong.
    let (status, problems) = problems;
    let exists = catalogue::assignment(app, code, slug).await.is_ok();
    let typed = (typed_form(&form, !exists), problems);
    let page = if exists {
        assignment_view(app, &admin, (code, slug), Some(typed), None).await?
    } else {
        course_view(app, &admin, code, typed, (None, None)).await?
    };
    Ok(Either::Right(Custom(status, page)))
}

/// The assignment form's fields as they were typed, to show them again.
fn typed_form(form: &AssignmentForm<'_>, is_new: bool) -> serde_json::Value {
    serde_json::json!({
        "slug": form.slug, "title": form.title, "opens": form.opens, "due": form.due,
        "hard_close": form.hard_close, "grace_minutes": form.grace_minutes,
        "max_bundle_mib": form.max_bundle_mib, "required_files": form.required_files,
        "late_policy": form.late_policy.split(':').next().unwrap_or("none"),
        "late_amount": form.late_amount.unwrap_or(10), "late_cap": form.late_cap.unwrap_or(100),
        "penalty_floor_at_pass": form.penalty_floor_at_pass,
        "anonymous": form.anonymous, "is_new": is_new,
        "max_mark": form.max_mark.unwrap_or_default(), "pass_mark": form.pass_mark.unwrap_or_default(),
        "feedback_files": form.feedback_files, "declaration": form.declaration.unwrap_or_default(),
        "counts": form.counts.unwrap_or("latest"), "reason": form.reason,
        "confirm_move": form.confirm_move,
    })
}

#[get("/admin/courses/<code>/assignments/<slug>")]
pub async fn assignment_page(
    app: &State<App>,
    admin: Admin,
    code: &str,
    slug: &str,
    flash: Option<FlashMessage<'_>>,
) -> Result<Template, AppError> {
    let flash = flash.map(|f| f.message().to_string());
    assignment_view(app, &admin, (code, slug), None, flash).await
}

/// The assignment's page, its form as saved, or as typed with what was
/// wrong with it.
async fn assignment_view(
    app: &App,
    admin: &Admin,
    (code, slug): (&str, &str),
    typed: Option<(serde_json::Value, Vec<String>)>,
    flash: Option<String>,
) -> Result<Template, AppError> {
    let (course, a) = catalogue::assignment(app, code, slug).await?;
    let zone = course.zone();
    let query = Query {
        course: Some(code),
        assignment: Some(slug),
        ..Default::default()
    };
    let history = audit_log::search(app, &query, 200).await?;
    let max_mib = a.max_bundle_bytes() / (1024 * 1024);
    let (form, form_errors) = typed.unwrap_or_else(|| {
        let saved = serde_json::json!({
            "slug": a.slug, "title": a.title,
            "opens": a.opens_at.map(|t| form_value(t, zone)).unwrap_or_default(),
            "due": form_value(a.due_at, zone),
            "hard_close": a.hard_close_at.map(|t| form_value(t, zone)).unwrap_or_default(),
            "grace_minutes": a.grace_seconds / 60, "max_bundle_mib": max_mib,
            "required_files": a.required_files().join("\n"),
            "late_policy": a.late_policy().parts().0,
            "late_amount": a.late_policy().parts().1, "late_cap": a.late_policy().parts().2,
            "penalty_floor_at_pass": a.penalty_floor_at_pass,
            "anonymous": a.anonymous, "is_new": false,
            "max_mark": a.max_mark().shown(),
            "pass_mark": a.pass_mark.map(|p| crate::domain::marks::Points(p).shown()).unwrap_or_default(),
            "feedback_files": a.feedback_files,
            "declaration": a.declaration.clone().unwrap_or_default(),
            "counts": a.counts().spelling(),
        });
        (saved, Vec::new())
    });
    Ok(Template::render(
        "admin/assignment",
        context! {
            title: format!("{}: {}", course.code, a.title),
            me: admin.caller.view(),
            course: context! { code: &course.code, title: &course.title, time_zone: course.zone_name() },
            due_local: format_local(a.due_at, zone),
            a: form,
            form_errors,
            policies: policies(),
            history,
            flash,
        },
    ))
}

/// A roster CSV, with the id of the page's form (sent twice, it imports once).
struct RosterForm;

impl FormSpec for RosterForm {
    const FIELDS: &'static [(&'static str, Kind)] = &[
        ("form_id", Kind::Text(64)),
        ("csv", Kind::Buffered(2 * 1024 * 1024)),
    ];
}

#[post("/admin/roster", data = "<form>")]
async fn roster(
    app: &State<App>,
    admin: Admin,
    form: Result<SmallForm<RosterForm>, AppError>,
) -> Result<Custom<Template>, AppError> {
    // The body reader has checked the CSRF token before reading further.
    let form = form.map_err(|e| e.with_back("/admin"))?;
    let actor = Some(admin.caller.user.id);
    let imported =
        rosters::import_once(app, form.text("csv"), actor, Some(form.text("form_id"))).await;
    let report = match imported {
        Ok(report) => report,
        // Every bad line, one per line, at the roster form itself.
        Err(Error::Invalid(problems)) => {
            let refused = Refused {
                roster: problems,
                ..Refused::default()
            };
            let page = home_view(app, &admin, None, refused).await?;
            return Ok(Custom(Status::UnprocessableEntity, page));
        }
        Err(other) => return Err(refused_import(other).with_back("/admin")),
    };
    Ok(Custom(
        Status::Ok,
        Template::render(
            "admin/roster",
            context! {
                title: "Roster imported",
                me: admin.caller.view(),
                created: report.created,
                updated: report.updated,
                enrolments: report.enrolments,
            },
        ),
    ))
}

#[derive(rocket::FromForm, Default)]
struct AuditQuery<'r> {
    course: Option<&'r str>,
    assignment: Option<&'r str>,
    student: Option<&'r str>,
    action: Option<&'r str>,
}

impl<'r> AuditQuery<'r> {
    fn query(&self) -> Query<'r> {
        Query {
            course: self.course,
            assignment: self.assignment,
            student: self.student,
            action: self.action,
        }
    }
}

#[get("/admin/audit?<query..>")]
async fn audit_page(
    app: &State<App>,
    auditor: Global<ReadAudit>,
    query: AuditQuery<'_>,
) -> Result<Template, AppError> {
    let entries = audit_log::search(app, &query.query(), 1000).await?;
    Ok(Template::render(
        "admin/audit",
        context! {
            title: "Audit log",
            me: auditor.caller.view(),
            entries,
            actions: crate::models::audit::ACTIONS,
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
    _auditor: Global<ReadAudit>,
    query: AuditQuery<'_>,
) -> Result<Download<Vec<u8>>, AppError> {
    let entries = audit_log::search(app, &query.query(), u64::MAX >> 1).await?;
    let body = audit_log::csv(&entries)?;
    Ok(Download::new(body, ContentType::CSV, "handin-audit.csv"))
}
