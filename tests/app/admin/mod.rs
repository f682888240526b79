//! Administrators: deadlines moved on the record, extensions, rosters,
//! requests, the late policy, and the audit log; one module per area, with
//! the helpers they share here.

use handin::models::{audit, user};
use rocket::http::{ContentType, Status};
use rocket::local::asynchronous::LocalResponse;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::Value;

use crate::support::*;

mod audit_log;
mod deadlines;
mod extensions;
mod requests;
mod roster;

async fn receipt(t: &TestApp, id: i64) -> Value {
    let token = t.token("admin").await;
    t.api_json(
        &token,
        rocket::http::Method::Get,
        &format!("/api/v1/submissions/{id}"),
        None,
    )
    .await
    .1
}

/// Alice's extension request for the coursework (until 5 June), through the
/// form, with evidence unless `evidence` is empty (as a browser sends "no file").
pub async fn ask_extension<'a>(
    t: &'a TestApp,
    csrf: &str,
    reason: &str,
    evidence: &[u8],
) -> LocalResponse<'a> {
    let file_name = if evidence.is_empty() { "" } else { "note.pdf" };
    let (content_type, body) = multipart(&[
        Part::text("csrf", csrf),
        Part::text("until", "2020-06-05T16:00"),
        Part::text("reason", reason),
        Part::file("evidence", file_name, evidence),
    ]);
    t.client
        .post("/courses/COMP6248/assignments/coursework/extension-request")
        .header(content_type)
        .body(body)
        .dispatch()
        .await
}

async fn audit_count(t: &TestApp, action: &str) -> u64 {
    audit::Entity::find()
        .filter(audit::Column::Action.eq(action))
        .count(&t.app().db)
        .await
        .unwrap()
}

fn form(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| {
            format!(
                "{k}={}",
                v.replace('%', "%25")
                    .replace('&', "%26")
                    .replace('+', "%2B")
                    .replace(' ', "+")
                    .replace(':', "%3A")
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

async fn save_coursework(t: &TestApp, due: &str, reason: &str) -> Status {
    post_coursework(t, &[("due", due), ("reason", reason)])
        .await
        .status()
}

/// Sends the coursework's admin form: its usual fields, with `changed`
/// put in their place (or added).
async fn post_coursework<'c>(t: &'c TestApp, changed: &[(&str, &str)]) -> LocalResponse<'c> {
    let csrf = t.csrf().await;
    let mut fields: Vec<(&str, &str)> = vec![
        ("csrf", &csrf),
        ("slug", "coursework"),
        ("title", "Coursework"),
        ("opens", ""),
        ("due", "2020-05-29T16:00"),
        ("hard_close", "2020-06-12T16:00"),
        ("grace_minutes", "0"),
        ("max_bundle_mib", "1"),
        ("required_files", "report.pdf"),
        ("late_policy", "uk_standard"),
        ("reason", ""),
    ];
    for &(name, value) in changed {
        match fields.iter_mut().find(|(n, _)| *n == name) {
            Some(field) => field.1 = value,
            None => fields.push((name, value)),
        }
    }
    t.client
        .post("/admin/courses/COMP6248/assignments")
        .header(ContentType::Form)
        .body(form(&fields))
        .dispatch()
        .await
}
