//! What markers use: the table of every student for an assignment, each
//! student's history, and downloads (one bundle, all of them, the CSV).
//!
//! The download routes are mounted twice, under `/` for the browser and
//! under `/api/v1` for scripts; [`Caller`] tells the two apart.

use base64::Engine;
use rocket::http::{ContentType, Header, Status};
use rocket::request::FlashMessage;
use rocket::response::stream::ByteStream;
use rocket::response::{self, Responder};
use rocket::tokio::io::{AsyncRead, AsyncSeek};
use rocket::{Request, Response, State, get, routes};
use rocket_dyn_templates::{Template, context};

use super::error::AppError;
use super::guards::{Allowed, Mark};
use super::session::Caller;
use crate::App;
use crate::domain::marks::Points;
use crate::domain::zone::{form_value, format_local};
use crate::models::marking::{self, View};
use crate::services::exports::{self, Attempts, Export};
use crate::services::feedback;
use crate::services::work::{self, StoredFile};
use crate::storage::Opened;

pub fn page_routes() -> Vec<rocket::Route> {
    routes![marking_page, history]
}

pub fn download_routes() -> Vec<rocket::Route> {
    routes![bundle, all_bundles, table_csv]
}

/// What the marking pages say about marks: out of what, and released when.
fn marks_context(app: &App, marking: &Allowed<Mark>) -> serde_json::Value {
    let a = &marking.assignment;
    let zone = marking.course.zone();
    serde_json::json!({
        "max": a.max_mark().shown(),
        "pass": a.pass_mark.map(|p| Points(p).shown()),
        "released": a.marks_released(app.clock.now()),
        "release_at": a.marks_released_at.map(|t| format_local(t, zone)),
        "release_form": a.marks_released_at.map(|t| form_value(t, zone)).unwrap_or_default(),
        "files": a.feedback_files,
        "limits": super::feedback::limits(),
    })
}

/// Which rows the marking table shows, and in what order, as the page's
/// filter and column headings ask.
#[derive(rocket::FromForm, Default)]
pub(super) struct TableQuery<'r> {
    pub status: Option<&'r str>,
    pub sort: Option<&'r str>,
    pub dir: Option<&'r str>,
}

impl TableQuery<'_> {
    /// The query string that shows the table this way again (known values
    /// only), or "" for the table as it first comes.
    pub(super) fn query_string(&self) -> String {
        let status = self.status.filter(|s| marking::STATUSES.contains(s));
        let sort = self.sort.filter(|s| marking::SORT_KEYS.contains(s));
        let dir = self.dir.filter(|d| *d == "desc");
        let parts: Vec<String> = [("status", status), ("sort", sort), ("dir", dir)]
            .into_iter()
            .filter_map(|(key, value)| value.map(|v| format!("{key}={v}")))
            .collect();
        if parts.is_empty() {
            String::new()
        } else {
            format!("?{}", parts.join("&"))
        }
    }
}

#[get("/courses/<_code>/assignments/<_slug>/marking?<query..>")]
pub(super) async fn marking_page(
    app: &State<App>,
    marking: Allowed<Mark>,
    _code: &str,
    _slug: &str,
    query: Option<TableQuery<'_>>,
    flash: Option<FlashMessage<'_>>,
) -> Result<Template, AppError> {
    let query = query.unwrap_or_default();
    let mut table = exports::table(app, &marking, Attempts::Latest).await?;
    let counts = table.counts();
    let total = table.rows.len();
    // Only known statuses: the value is echoed into the page's links.
    let status = query.status.filter(|s| marking::STATUSES.contains(s));
    let view = View {
        status: status.map(str::to_string),
        sort: query
            .sort
            .filter(|s| marking::SORT_KEYS.contains(s))
            .map(str::to_string),
        descending: query.dir == Some("desc"),
    };
    table.apply(&view);
    Ok(Template::render(
        "marking",
        context! {
            title: format!("Marking {}", marking.assignment.title),
            me: marking.caller.view(),
            course: &marking.course.code,
            course_title: &marking.course.title,
            slug: &marking.assignment.slug,
            assignment_title: &marking.assignment.title,
            anonymous: table.anonymous,
            candidate_column: marking.naming().shows_candidates && !table.anonymous,
            rows: table.rows.iter().map(ShownRow::of).collect::<Vec<_>>(),
            view_query: query.query_string(),
            counts,
            total,
            status: status.unwrap_or(""),
            sort: view.sort.as_deref().unwrap_or("student"),
            dir: if view.descending { "desc" } else { "asc" },
            marks: marks_context(app, &marking),
            course_zone: marking.course.zone_name(),
            flash: flash.as_ref().map(|f| f.message()),
            flash_kind: flash.as_ref().map(|f| f.kind()),
        },
    ))
}

/// One row of the marking page: only what the page shows, flat and already
/// worded. A thousand rows pass through the template engine's values twice
/// (Rocket's, then MiniJinja's) before a single one is rendered, so every
/// field left out here is two thousand values not built (BENCHMARKS.md).
/// For the same reason a field with nothing to show is left out, not sent
/// as `none`: to the template both are nothing.
#[serde_with::skip_serializing_none]
#[derive(serde::Serialize)]
pub struct ShownRow<'a> {
    label: &'a str,
    name: Option<&'a str>,
    candidate: Option<&'a str>,
    status: &'a str,
    status_text: &'a str,
    extension_until_local: Option<&'a str>,
    attempt_count: usize,
    /// The attempt that counts, if any.
    attempt: Option<i32>,
    submission_id: Option<i32>,
    received_local: Option<&'a str>,
    penalty: Option<&'a str>,
    sha256: Option<&'a str>,
    verify_error: Option<&'a str>,
    size_text: Option<&'a str>,
    mark: Option<String>,
    /// The mark after the late policy, when a policy changed it.
    final_mark: Option<String>,
    mark_outdated: Option<&'a str>,
}

impl<'a> ShownRow<'a> {
    pub fn of(row: &'a marking::StudentRow) -> ShownRow<'a> {
        let latest = row.latest.as_ref().map(|a| &a.judged);
        let mark = row.mark.as_ref();
        ShownRow {
            label: &row.label,
            name: row.name.as_deref(),
            candidate: row.candidate.as_deref(),
            status: row.status,
            status_text: &row.status_text,
            extension_until_local: row.extension_until_local.as_deref(),
            attempt_count: row.attempt_count,
            attempt: latest.map(|j| j.attempt),
            submission_id: latest.map(|j| j.submission_id),
            received_local: latest.map(|j| j.received_local.as_str()),
            penalty: latest.and_then(|j| j.penalty.as_deref()),
            sha256: latest.map(|j| j.sha256.as_str()),
            verify_error: row.latest.as_ref().and_then(|a| a.verify_error.as_deref()),
            size_text: latest.map(|j| j.size_text.as_str()),
            mark: mark.map(|m| m.raw.shown()),
            final_mark: mark
                .filter(|m| m.late_rule != "none")
                .map(|m| m.final_mark.shown()),
            mark_outdated: mark.and_then(|m| m.outdated.as_deref()),
        }
    }
}

#[get("/courses/<_code>/assignments/<_slug>/marking/<label>")]
pub(super) async fn history(
    app: &State<App>,
    marking: Allowed<Mark>,
    _code: &str,
    _slug: &str,
    label: &str,
    flash: Option<FlashMessage<'_>>,
) -> Result<Template, AppError> {
    let table = exports::table(app, &marking, Attempts::All).await?;
    let row = table
        .rows
        .into_iter()
        .find(|r| r.label == label)
        .ok_or_else(|| AppError::not_found("student"))?;
    let feedback_files = feedback::of_student(app, &marking, &row).await?;
    Ok(Template::render(
        "history",
        context! {
            title: format!("{}: {}", marking.assignment.title, row.label),
            me: marking.caller.view(),
            course: &marking.course.code,
            slug: &marking.assignment.slug,
            assignment_title: &marking.assignment.title,
            anonymous: table.anonymous,
            row,
            feedback_files,
            marks: marks_context(app, &marking),
            flash: flash.as_ref().map(|f| f.message()),
            flash_kind: flash.as_ref().map(|f| f.kind()),
        },
    ))
}

/// A stored file, streamed from the store; a bundle with its digest (RFC 9530).
pub struct FileDownload {
    download: Opened,
    stored: StoredFile,
    content_type: ContentType,
}

impl FileDownload {
    pub async fn open(
        app: &App,
        stored: StoredFile,
        content_type: ContentType,
    ) -> Result<Self, AppError> {
        let download = app
            .uploads
            .download(&stored.stored)
            .await
            .map_err(|e| AppError::internal(format!("{} is missing: {e}", stored.stored)))?;
        Ok(FileDownload {
            download,
            stored,
            content_type,
        })
    }
}

impl<'r> Responder<'r, 'static> for FileDownload {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        let mut response = Response::build();
        response
            .header(self.content_type)
            .header(attachment(&self.stored.name));
        if let Some(sha256) = &self.stored.sha256 {
            let digest = hex::decode(sha256).map_err(|_| Status::InternalServerError)?;
            response.raw_header(
                "Repr-Digest",
                format!(
                    "sha-256=:{}:",
                    base64::engine::general_purpose::STANDARD.encode(digest)
                ),
            );
        }
        let size = usize::try_from(self.download.size).ok();
        response
            .sized_body(size, Unseekable(self.download.body))
            .ok()
    }
}

/// A body whose size is known beforehand: Rocket seeks a body only to learn
/// its size, so a stream from a bucket needs no real seeking.
struct Unseekable(std::pin::Pin<Box<dyn AsyncRead + Send>>);

impl AsyncRead for Unseekable {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut rocket::tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        self.0.as_mut().poll_read(cx, buf)
    }
}

impl AsyncSeek for Unseekable {
    fn start_seek(self: std::pin::Pin<&mut Self>, _: std::io::SeekFrom) -> std::io::Result<()> {
        Err(std::io::Error::other(
            "a stored file is streamed, not sought",
        ))
    }

    fn poll_complete(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<u64>> {
        std::task::Poll::Ready(Err(std::io::Error::other(
            "a stored file is streamed, not sought",
        )))
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
async fn bundle(app: &State<App>, caller: Caller, id: i32) -> Result<FileDownload, AppError> {
    let stored = work::bundle(app, &caller.user, id).await?;
    FileDownload::open(app, stored, ContentType::ZIP).await
}

/// Every bundle of an assignment as one zip, streamed as it is built.
pub struct ZipDownload(Export<rocket::tokio::sync::mpsc::Receiver<Vec<u8>>>);

impl<'r> Responder<'r, 'r> for ZipDownload {
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'r> {
        let chunks = rocket::futures::stream::unfold(self.0.body, |mut chunks| async move {
            chunks.recv().await.map(|chunk| (chunk, chunks))
        });
        let mut response = ByteStream(chunks).respond_to(request)?;
        response.set_header(ContentType::ZIP);
        response.set_header(attachment(&self.0.name));
        Ok(response)
    }
}

#[get("/courses/<_code>/assignments/<_slug>/submissions.zip?<attempts>")]
async fn all_bundles(
    app: &State<App>,
    marking: Allowed<Mark>,
    _code: &str,
    _slug: &str,
    attempts: Option<&str>,
) -> Result<ZipDownload, AppError> {
    let attempts = Attempts::parse(attempts)?;
    Ok(ZipDownload(
        exports::all_bundles(app, &marking, attempts).await?,
    ))
}

#[get("/courses/<_code>/assignments/<_slug>/submissions.csv?<attempts>")]
async fn table_csv(
    app: &State<App>,
    marking: Allowed<Mark>,
    _code: &str,
    _slug: &str,
    attempts: Option<&str>,
) -> Result<Download<Vec<u8>>, AppError> {
    let attempts = Attempts::parse(attempts)?;
    let export = exports::table_csv(app, &marking, attempts).await?;
    Ok(Download::new(export.body, ContentType::CSV, &export.name))
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
