//! What markers use: the table of every student for an assignment, each
//! student's history, and downloads (one bundle, all of them, the CSV).
//!
//! The download routes are mounted twice, under `/` for the browser and
//! under `/api/v1` for scripts; [`Caller`] tells the two apart.

use base64::Engine;
use rocket::http::{ContentType, Header, Status};
use rocket::response::stream::ByteStream;
use rocket::response::{self, Responder};
use rocket::{Request, Response, State, get, routes};
use rocket_dyn_templates::{Template, context};
use sea_orm::EntityTrait;

use super::session::Caller;
use crate::App;
use crate::archive;
use crate::error::AppError;
use crate::export;
use crate::models::access::{self, CourseRole};
use crate::models::marking::{self, StudentRow, Table, View};
use crate::models::{assignment, audit, course, submission};

pub fn page_routes() -> Vec<rocket::Route> {
    routes![marking_page, history]
}

pub fn download_routes() -> Vec<rocket::Route> {
    routes![bundle, all_bundles, table_csv]
}

/// An assignment the caller marks (or administers).
pub struct Marking {
    pub course: course::Model,
    pub assignment: assignment::Model,
    pub role: CourseRole,
}

impl Marking {
    pub async fn find(
        app: &App,
        caller: &Caller,
        code: &str,
        slug: &str,
    ) -> Result<Marking, AppError> {
        let (course, assignment) = assignment::find_by_codes(&app.db, code, slug)
            .await?
            .ok_or_else(|| AppError::not_found("assignment"))?;
        match access::role_in(&app.db, &caller.user, course.id).await? {
            Some(role) if role.sees_everyone() => Ok(Marking {
                course,
                assignment,
                role,
            }),
            _ => Err(AppError::forbidden(format!(
                "Only the markers of {} can see everyone's submissions.",
                course.code
            ))),
        }
    }

    pub async fn table(&self, app: &App) -> Result<Table, AppError> {
        Ok(marking::load(&app.db, &self.course, &self.assignment, self.role).await?)
    }

    fn file_stem(&self) -> String {
        format!("{}-{}", self.course.code, self.assignment.slug)
    }

    async fn record_download(
        &self,
        app: &App,
        caller: &Caller,
        what: String,
    ) -> Result<(), AppError> {
        let entry = audit::Entry {
            actor_id: Some(caller.user.id),
            action: "bulk_download",
            course_id: Some(self.course.id),
            assignment_id: Some(self.assignment.id),
            details: what,
            ..Default::default()
        };
        Ok(audit::record(&app.db, app.clock.now(), entry).await?)
    }
}

#[get("/courses/<code>/assignments/<slug>/marking?<status>&<sort>&<dir>")]
async fn marking_page(
    app: &State<App>,
    caller: Caller,
    code: &str,
    slug: &str,
    status: Option<&str>,
    sort: Option<&str>,
    dir: Option<&str>,
) -> Result<Template, AppError> {
    let marking = Marking::find(app, &caller, code, slug).await?;
    let mut table = marking.table(app).await?;
    let counts = table.counts();
    let total = table.rows.len();
    // Only known statuses: the value is echoed into the page's links.
    let status = status.filter(|s| marking::STATUSES.contains(s));
    let view = View {
        status: status.map(str::to_string),
        sort: sort
            .filter(|s| marking::SORT_KEYS.contains(s))
            .map(str::to_string),
        descending: dir == Some("desc"),
    };
    table.apply(&view);
    Ok(Template::render(
        "marking",
        context! {
            title: format!("Marking {}", marking.assignment.title),
            me: caller.view(),
            course: &marking.course.code,
            course_title: &marking.course.title,
            slug: &marking.assignment.slug,
            assignment_title: &marking.assignment.title,
            anonymous: table.anonymous,
            is_admin: marking.role == CourseRole::Admin,
            rows: table.rows,
            counts,
            total,
            status: status.unwrap_or(""),
            sort: view.sort.as_deref().unwrap_or("student"),
            dir: if view.descending { "desc" } else { "asc" },
        },
    ))
}

#[get("/courses/<code>/assignments/<slug>/marking/<label>")]
async fn history(
    app: &State<App>,
    caller: Caller,
    code: &str,
    slug: &str,
    label: &str,
) -> Result<Template, AppError> {
    let marking = Marking::find(app, &caller, code, slug).await?;
    let table = marking.table(app).await?;
    let row = table
        .rows
        .into_iter()
        .find(|r| r.label == label)
        .ok_or_else(|| AppError::not_found("student"))?;
    Ok(Template::render(
        "history",
        context! {
            title: format!("{}: {}", marking.assignment.title, row.label),
            me: caller.view(),
            course: &marking.course.code,
            slug: &marking.assignment.slug,
            assignment_title: &marking.assignment.title,
            anonymous: table.anonymous,
            row,
        },
    ))
}

/// A stored bundle, streamed from disk with its digest (RFC 9530).
pub struct BundleFile {
    file: rocket::tokio::fs::File,
    name: String,
    sha256: String,
}

impl<'r> Responder<'r, 'static> for BundleFile {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        let digest = hex::decode(&self.sha256).map_err(|_| Status::InternalServerError)?;
        Response::build()
            .header(ContentType::ZIP)
            .header(attachment(&self.name))
            .raw_header(
                "Repr-Digest",
                format!(
                    "sha-256=:{}:",
                    base64::engine::general_purpose::STANDARD.encode(digest)
                ),
            )
            .sized_body(None, self.file)
            .ok()
    }
}

/// Names are built from codes, slugs, usernames and candidate numbers, all
/// plain ASCII by construction, so they need no quoting beyond this.
fn attachment(name: &str) -> Header<'static> {
    Header::new(
        "Content-Disposition",
        format!("attachment; filename=\"{name}\""),
    )
}

#[get("/submissions/<id>/bundle")]
async fn bundle(app: &State<App>, caller: Caller, id: i32) -> Result<BundleFile, AppError> {
    let row = submission::Entity::find_by_id(id)
        .one(&app.db)
        .await?
        .ok_or_else(|| AppError::not_found("submission"))?;
    let assignment = assignment::Entity::find_by_id(row.assignment_id)
        .one(&app.db)
        .await?;
    let assignment = assignment.ok_or_else(|| AppError::not_found("submission"))?;
    let course = course::Entity::find_by_id(assignment.course_id)
        .one(&app.db)
        .await?;
    let course = course.ok_or_else(|| AppError::not_found("submission"))?;
    let role = access::role_in(&app.db, &caller.user, course.id).await?;
    let own = row.student_id == caller.user.id;
    if !own && !role.is_some_and(CourseRole::sees_everyone) {
        return Err(AppError::not_found("submission"));
    }
    let label = match role {
        Some(role) if !own && marking::is_anonymous_for(&assignment, role) => {
            marking::candidate_of(&app.db, course.id, row.student_id).await?
        }
        _ => student_username(app, row.student_id).await?,
    };
    let file = rocket::tokio::fs::File::open(app.uploads.path_of(&row.stored_path))
        .await
        .map_err(|e| AppError::internal(format!("bundle {} is missing: {e}", row.stored_path)))?;
    let name = marking::download_name(&course, &assignment, &label, row.attempt);
    Ok(BundleFile {
        file,
        name,
        sha256: row.sha256,
    })
}

async fn student_username(app: &App, id: i32) -> Result<String, AppError> {
    let user = crate::models::user::Entity::find_by_id(id)
        .one(&app.db)
        .await?;
    Ok(user
        .map(|u| u.username)
        .unwrap_or_else(|| format!("U{id:07}")))
}

/// Every bundle of an assignment as one zip, streamed as it is built.
pub struct ZipDownload {
    name: String,
    chunks: rocket::tokio::sync::mpsc::Receiver<Vec<u8>>,
}

impl<'r> Responder<'r, 'r> for ZipDownload {
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'r> {
        let chunks = rocket::futures::stream::unfold(self.chunks, |mut chunks| async move {
            chunks.recv().await.map(|chunk| (chunk, chunks))
        });
        let mut response = ByteStream(chunks).respond_to(request)?;
        response.set_header(ContentType::ZIP);
        response.set_header(attachment(&self.name));
        Ok(response)
    }
}

fn all_attempts(attempts: Option<&str>) -> Result<bool, AppError> {
    match attempts {
        None | Some("latest") => Ok(false),
        Some("all") => Ok(true),
        Some(other) => Err(AppError::bad_request(format!(
            "attempts must be 'latest' or 'all', not '{other}'"
        ))),
    }
}

#[get("/courses/<code>/assignments/<slug>/submissions.zip?<attempts>")]
async fn all_bundles(
    app: &State<App>,
    caller: Caller,
    code: &str,
    slug: &str,
    attempts: Option<&str>,
) -> Result<ZipDownload, AppError> {
    let all = all_attempts(attempts)?;
    let marking = Marking::find(app, &caller, code, slug).await?;
    let table = marking.table(app).await?;
    let manifest = export::csv(&table.rows, all, true);
    let items = bundles_in(&table.rows, all)
        .map(|(row, attempt)| archive::Item {
            path_in_zip: export::path_in_zip(row, attempt),
            file: app.uploads.path_of(&attempt.stored_path),
        })
        .collect();
    let which = if all {
        "every attempt"
    } else {
        "latest attempts"
    };
    marking
        .record_download(app, &caller, format!("submissions.zip ({which})"))
        .await?;
    let suffix = if all { "-all-attempts" } else { "" };
    Ok(ZipDownload {
        name: format!("{}-submissions{suffix}.zip", marking.file_stem()),
        chunks: archive::stream(manifest, items),
    })
}

fn bundles_in(
    rows: &[StudentRow],
    all: bool,
) -> impl Iterator<Item = (&StudentRow, &marking::AttemptRow)> {
    rows.iter().flat_map(move |row| {
        let attempts: Vec<_> = if all {
            row.attempts.iter().collect()
        } else {
            row.latest.iter().collect()
        };
        attempts.into_iter().map(move |a| (row, a))
    })
}

#[get("/courses/<code>/assignments/<slug>/submissions.csv?<attempts>")]
async fn table_csv(
    app: &State<App>,
    caller: Caller,
    code: &str,
    slug: &str,
    attempts: Option<&str>,
) -> Result<Download<Vec<u8>>, AppError> {
    let all = all_attempts(attempts)?;
    let marking = Marking::find(app, &caller, code, slug).await?;
    let table = marking.table(app).await?;
    marking
        .record_download(app, &caller, "submissions.csv".to_string())
        .await?;
    let name = format!("{}-submissions.csv", marking.file_stem());
    Ok(Download::new(
        export::csv(&table.rows, all, false),
        ContentType::CSV,
        &name,
    ))
}

/// A file to save, under a name the server chose.
#[derive(rocket::Responder)]
pub struct Download<R> {
    body: R,
    content_type: ContentType,
    disposition: Header<'static>,
}

impl<R> Download<R> {
    pub fn new(body: R, content_type: ContentType, name: &str) -> Self {
        Download {
            body,
            content_type,
            disposition: attachment(name),
        }
    }
}
