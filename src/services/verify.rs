//! `handin verify`: re-hash every stored bundle and compare it with the
//! database, so "the server holds exactly what I sent" stays checkable.
//! The outcome is written on each submission; the marker's page flags
//! failures.

use std::collections::HashMap;

use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
};

use crate::App;
use crate::error::Result;
use crate::models::{assignment, course, feedback_file, submission, user};

/// A stored bundle that is not what the database says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub submission_id: i32,
    pub course: String,
    pub assignment: String,
    pub student: String,
    pub attempt: i32,
    pub what: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} {} attempt {} (submission {}): {}",
            self.course, self.assignment, self.student, self.attempt, self.submission_id, self.what
        )
    }
}

#[derive(Debug, Default)]
pub struct Report {
    pub checked: usize,
    pub bytes: u64,
    pub problems: Vec<Problem>,
    /// Feedback files checked, and what is wrong with any (one line each).
    pub feedback_checked: usize,
    pub feedback_problems: Vec<String>,
}

/// Submissions read, checked and written back at a time.
const PAGE: u64 = 1000;

/// What is wrong with a stored file, compared with its row; `None` if nothing.
async fn compare(app: &App, stored: &str, expected: &str, expected_size: u64) -> Option<String> {
    match app.uploads.digest(stored).await {
        Ok(Some((actual, size))) if actual == expected && size == expected_size => None,
        Ok(Some((actual, size))) => Some(format!(
            "the stored file has changed (SHA-256 {actual}, {size} bytes; recorded {expected}, {expected_size} bytes)"
        )),
        Ok(None) => Some("the stored file is missing".into()),
        Err(e) => Some(format!("the stored file cannot be read: {e}")),
    }
}

/// Writes a page's outcomes in one transaction: the clean rows in one
/// statement, each failure in its own. (`ActiveModel::update` would read
/// every row back, its file list included.)
async fn record_outcomes(
    db: &sea_orm::DatabaseConnection,
    now: chrono::DateTime<chrono::Utc>,
    outcomes: Vec<(i32, Option<String>)>,
) -> Result<()> {
    let mark = |error: Option<String>| {
        submission::Entity::update_many()
            .col_expr(submission::Column::VerifiedAt, Expr::value(now))
            .col_expr(submission::Column::VerifyError, Expr::value(error))
    };
    let (clean, failed): (Vec<_>, Vec<_>) = outcomes.into_iter().partition(|(_, o)| o.is_none());
    let written = db.begin().await?;
    if !clean.is_empty() {
        mark(None)
            .filter(submission::Column::Id.is_in(clean.into_iter().map(|(id, _)| id)))
            .exec(&written)
            .await?;
    }
    for (id, error) in failed {
        mark(error)
            .filter(submission::Column::Id.eq(id))
            .exec(&written)
            .await?;
    }
    written.commit().await?;
    Ok(())
}

/// Checks every submission; `progress(done, total, bytes)` is called after
/// each. Outcomes are written a page at a time: a run stopped midway leaves
/// up to a page of checked rows without theirs (the next run writes them).
pub async fn verify_all(app: &App, mut progress: impl FnMut(usize, usize, u64)) -> Result<Report> {
    let db = &app.db;
    let total = submission::Entity::find().count(db).await? as usize;
    let assignments: HashMap<i32, assignment::Model> = assignment::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    let courses: HashMap<i32, course::Model> = course::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let users: HashMap<i32, String> = user::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.username))
        .collect();
    let mut report = Report::default();
    // A page of rows at a time, by id, and each page's outcomes written in
    // one transaction: a year's million rows neither sit in memory at once
    // nor cost a durable commit each (BENCHMARKS.md).
    let mut after = 0;
    loop {
        let page = submission::Entity::find()
            .filter(submission::Column::Id.gt(after))
            .order_by_asc(submission::Column::Id)
            .limit(PAGE)
            .into_partial_model::<submission::Summary>()
            .all(db)
            .await?;
        let Some(last) = page.last() else {
            break;
        };
        after = last.id;
        let mut outcomes = Vec::with_capacity(page.len());
        for row in page {
            let expected_size = row.size.max(0) as u64;
            let outcome = compare(app, &row.stored_path, &row.sha256, expected_size).await;
            report.checked += 1;
            report.bytes += expected_size;
            if let Some(what) = &outcome {
                let assignment = assignments.get(&row.assignment_id);
                report.problems.push(Problem {
                    submission_id: row.id,
                    course: assignment
                        .and_then(|a| courses.get(&a.course_id))
                        .map(|c| c.code.clone())
                        .unwrap_or_default(),
                    assignment: assignment.map(|a| a.slug.clone()).unwrap_or_default(),
                    student: users.get(&row.student_id).cloned().unwrap_or_default(),
                    attempt: row.attempt,
                    what: what.clone(),
                });
            }
            outcomes.push((row.id, outcome));
            // Rows handed in during the run are checked too.
            progress(report.checked, total.max(report.checked), report.bytes);
        }
        record_outcomes(db, app.clock.now(), outcomes).await?;
    }
    // Feedback files: what students were given back must stay what it was.
    // Page by id, not by offset: files replaced meanwhile shift no page.
    let mut after = 0;
    loop {
        let files = feedback_file::Entity::find()
            .filter(feedback_file::Column::Id.gt(after))
            .order_by_asc(feedback_file::Column::Id)
            .limit(500)
            .all(db)
            .await?;
        let Some(last) = files.last() else {
            break;
        };
        after = last.id;
        for file in files {
            let size = u64::try_from(file.size).unwrap_or_default();
            report.feedback_checked += 1;
            if let Some(what) = compare(app, &file.stored_path, &file.sha256, size).await {
                let assignment = assignments.get(&file.assignment_id);
                report.feedback_problems.push(format!(
                    "{} {} {} feedback file {} (id {}): {what}",
                    assignment
                        .and_then(|a| courses.get(&a.course_id))
                        .map(|c| c.code.as_str())
                        .unwrap_or_default(),
                    assignment.map(|a| a.slug.as_str()).unwrap_or_default(),
                    users
                        .get(&file.student_id)
                        .map(String::as_str)
                        .unwrap_or_default(),
                    file.name,
                    file.id
                ));
            }
        }
    }
    Ok(report)
}

/// What checking the evidence log found.
#[derive(Debug, Default)]
pub struct LogReport {
    pub entries: usize,
    pub checkpoints: usize,
    pub problems: Vec<String>,
}

/// Rebuilds the evidence log's tree from its entries and checks it against
/// everything stored: each leaf against its statement, each stored hash,
/// each signed checkpoint, and each signed receipt against its submission
/// as the database now has it. Names every mismatch.
pub async fn verify_log(app: &App) -> Result<LogReport> {
    use crate::evidence::jws;
    use crate::evidence::merkle::{self, Reader};
    use crate::evidence::note::Checkpoint;
    use crate::evidence::{b64, sha256};
    use crate::models::log;

    let mut report = LogReport::default();
    let keys = super::evidence::published_keys(app).await?;
    // A published key handin holds no file of (the signing key, or one it
    // retired) was put there by someone else.
    let key_file = app.config.signing_key_path();
    for key in &keys {
        let retired = key_file.with_file_name(format!(
            "{}.{}.retired",
            key_file
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default(),
            key.kid
        ));
        if key.kid != app.notary.signer.kid() && !retired.exists() {
            report.problems.push(format!(
                "published key {} is neither the signing key nor one it retired ({} is missing): \
                 it may not be handin's",
                key.kid,
                retired.display()
            ));
        }
    }
    let mut tree = Reader::All(Vec::new());
    let entries = log::entries(&app.db).await?;
    report.entries = entries.len();
    for (position, entry) in entries.iter().enumerate() {
        let named = format!("log entry {} ({})", entry.idx, entry.kind);
        if entry.idx != position as i64 {
            report.problems.push(format!(
                "{named}: expected at position {position}: the log has a gap"
            ));
        }
        let leaf = sha256(entry.statement.as_bytes());
        if b64(&leaf) != entry.leaf {
            report.problems.push(format!(
                "{named}: its statement no longer hashes to its leaf"
            ));
        }
        if let Err(e) = tree.append(position as u64, &leaf) {
            report
                .problems
                .push(format!("{named}: cannot be added to the tree: {e}"));
        }
        let checked = match jws::verify(&entry.statement, &keys) {
            Ok(checked) => checked,
            Err(why) => {
                report.problems.push(format!("{named}: {why}"));
                continue;
            }
        };
        if let Some(id) = entry.submission_id
            && let Some(what) = receipt_differs(app, id, &checked.payload).await?
        {
            report
                .problems
                .push(format!("{named}: submission {id}: {what}"));
        }
    }
    let Reader::All(rebuilt) = &tree else {
        unreachable!("the tree is rebuilt in memory")
    };
    let stored = log::stored_hashes(&app.db).await?;
    if stored.len() != rebuilt.len() {
        report.problems.push(format!(
            "the log stores {} tree hashes; its entries make {}",
            stored.len(),
            rebuilt.len()
        ));
    }
    for (row, hash) in stored.iter().zip(rebuilt) {
        if row.hash != b64(&hash.0) {
            report
                .problems
                .push(format!("tree hash {} does not match the entries", row.idx));
        }
    }
    for checkpoint in log::checkpoints(&app.db).await? {
        report.checkpoints += 1;
        let size = checkpoint.size as u64;
        let named = format!("checkpoint of {size} entries");
        match merkle::tree_hash(size, &tree) {
            Ok(root) if b64(&root.0) == checkpoint.root => {}
            Ok(_) => report.problems.push(format!(
                "{named}: its root is not the tree's rebuilt from the entries"
            )),
            Err(e) => report.problems.push(format!("{named}: {e}")),
        }
        let signed = keys.iter().any(|key| {
            key.public_key()
                .ok()
                .and_then(|public| {
                    Checkpoint::open(&checkpoint.note, &app.notary.origin, &public).ok()
                })
                .is_some_and(|c| c.size == size && b64(&c.root) == checkpoint.root)
        });
        if !signed {
            report.problems.push(format!(
                "{named}: its signed note does not verify or says otherwise"
            ));
        }
    }
    Ok(report)
}

/// How a submission row differs from its signed receipt, if it does.
async fn receipt_differs(app: &App, id: i32, signed: &serde_json::Value) -> Result<Option<String>> {
    let Some(row) = submission::Entity::find_by_id(id).one(&app.db).await? else {
        return Ok(Some(
            "the signed receipt names a submission the database no longer has".into(),
        ));
    };
    let student = user::Entity::find_by_id(row.student_id)
        .one(&app.db)
        .await?;
    let assignment = assignment::Entity::find_by_id(row.assignment_id)
        .one(&app.db)
        .await?;
    let course = match &assignment {
        Some(a) => course::Entity::find_by_id(a.course_id).one(&app.db).await?,
        None => None,
    };
    let now = [
        ("submission_id", row.id.to_string()),
        ("student", student.map(|s| s.username).unwrap_or_default()),
        ("course", course.map(|c| c.code).unwrap_or_default()),
        ("assignment", assignment.map(|a| a.slug).unwrap_or_default()),
        (
            "received_at",
            row.received_at
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        ),
        (
            "upload_started_at",
            row.upload_started_at
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        ),
        ("sha256", row.sha256.clone()),
        ("size", row.size.to_string()),
        ("attempt", row.attempt.to_string()),
    ];
    let differs: Vec<String> = now
        .into_iter()
        .filter_map(|(field, value)| {
            let said = match &signed[field] {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (said != value).then(|| {
                format!("{field} in the database is {value} but its signed receipt says {said}")
            })
        })
        .collect();
    Ok((!differs.is_empty()).then(|| differs.join("; ")))
}
