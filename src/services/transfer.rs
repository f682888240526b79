//! Moving an installation: every row into another database (SQLite into
//! PostgreSQL, usually) and, if asked, every stored file into another
//! store (a folder into a bucket), checked as it goes.
//!
//! The target must be empty, and no server may be running on either side
//! (a transfer never merges into, or overwrites, an installation, and reads
//! a source that does not change under it). Files are copied first, each hashed on the way and
//! compared with its row; then all rows go in one transaction, with their
//! ids, and the counts are compared. A failure leaves the target database
//! empty (the transaction rolls back); files already copied to the target
//! store have no row there, so they are set aside by its clean-up, never
//! taken for submissions. Sessions, heartbeats and login failures are not
//! moved: people sign in again on the new installation.

use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, EntityTrait,
    IntoActiveModel, Iterable, PaginatorTrait, PrimaryKeyToColumn, QueryOrder, Statement,
    TransactionTrait,
};

use crate::error::{Error, Result};
use crate::models::{
    api_token, assignment, audit, closure_day, course, enrolment, extension, feedback_file,
    instance, log, mark, outbox, requests, submission, user,
};
use crate::storage::Uploads;

/// Rows read and written at a time: memory stays flat however big the year.
const PAGE: u64 = 500;

/// Where to: an opened (and migrated) database, and the store, which may be
/// the source's own (only the database moves).
pub struct Target<'a> {
    pub db: &'a DatabaseConnection,
    pub uploads: Option<&'a Uploads>,
}

/// What was moved.
#[derive(Debug, Default)]
pub struct Moved {
    /// (table, rows), in the order they were copied.
    pub tables: Vec<(&'static str, u64)>,
    pub files: u64,
    pub bytes: u64,
}

/// Moves everything from `from` (database and store) to `to`.
pub async fn transfer(
    from: &DatabaseConnection,
    from_uploads: &Uploads,
    to: Target<'_>,
) -> Result<Moved> {
    refuse_while_running(from, "the installation being moved").await?;
    refuse_while_running(to.db, "the target").await?;
    refuse_unless_empty(to.db).await?;
    let mut moved = Moved::default();
    if let Some(target) = to.uploads {
        copy_files(from, from_uploads, target, &mut moved).await?;
    }
    let txn = to.db.begin().await?;
    // Parents before children, as the foreign keys need.
    moved.tables = vec![
        ("users", copy::<user::Entity>(from, &txn).await?),
        ("courses", copy::<course::Entity>(from, &txn).await?),
        ("enrolments", copy::<enrolment::Entity>(from, &txn).await?),
        ("assignments", copy::<assignment::Entity>(from, &txn).await?),
        ("submissions", copy::<submission::Entity>(from, &txn).await?),
        ("extensions", copy::<extension::Entity>(from, &txn).await?),
        (
            "extension_requests",
            copy::<requests::Entity>(from, &txn).await?,
        ),
        ("audit_log", copy::<audit::Entity>(from, &txn).await?),
        ("api_tokens", copy::<api_token::Entity>(from, &txn).await?),
        ("marks", copy::<mark::Entity>(from, &txn).await?),
        (
            "feedback_files",
            copy::<feedback_file::Entity>(from, &txn).await?,
        ),
        (
            "closure_days",
            copy::<closure_day::Entity>(from, &txn).await?,
        ),
        ("outbox", copy::<outbox::Entity>(from, &txn).await?),
        // The evidence log goes whole: its positions, tree and signed
        // checkpoints must stay what monitors and receipts saw.
        (
            "signing_keys",
            copy::<log::signing_key::Entity>(from, &txn).await?,
        ),
        ("log_entries", copy::<log::entry::Entity>(from, &txn).await?),
        (
            "log_hashes",
            copy::<log::stored_hash::Entity>(from, &txn).await?,
        ),
        (
            "checkpoints",
            copy::<log::checkpoint::Entity>(from, &txn).await?,
        ),
    ];
    // These are keyed by what they hold, not by a serial id.
    const NATURAL_KEYS: [&str; 4] = ["signing_keys", "log_entries", "log_hashes", "checkpoints"];
    for (table, rows) in &moved.tables {
        let there = count_rows(&txn, table).await?;
        if there != *rows {
            return Err(Error::internal(format!(
                "{table}: {rows} rows read but {there} written; nothing was moved"
            )));
        }
        if txn.get_database_backend() == DatabaseBackend::Postgres && !NATURAL_KEYS.contains(table)
        {
            // Rows came with their ids: new rows must be numbered after them.
            txn.execute_raw(Statement::from_string(
                DatabaseBackend::Postgres,
                format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
                     COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
                ),
            ))
            .await?;
        }
    }
    txn.commit().await?;
    Ok(moved)
}

/// A transfer reads files, then rows: a server taking uploads meanwhile
/// would leave rows without their files. Stop every instance first.
async fn refuse_while_running(db: &DatabaseConnection, which: &str) -> Result<()> {
    let here = instance::Place::here();
    let running = instance::census(db, chrono::Utc::now(), &here).await?.alive;
    if !running.is_empty() {
        return Err(Error::invalid(format!(
            "{which} has {} server instance(s) running: stop them first (their uploads \
             would not be moved). Nothing was changed.",
            running.len()
        )));
    }
    Ok(())
}

async fn refuse_unless_empty(db: &DatabaseConnection) -> Result<()> {
    let users = user::Entity::find().count(db).await?;
    let courses = course::Entity::find().count(db).await?;
    let submissions = submission::Entity::find().count(db).await?;
    if users + courses + submissions > 0 {
        return Err(Error::invalid(format!(
            "the target database is not empty ({users} users, {courses} courses, \
             {submissions} submissions): a transfer goes into a new, empty database only. \
             Nothing was changed."
        )));
    }
    Ok(())
}

/// Copies one table, page by page, ids included.
async fn copy<E>(from: &DatabaseConnection, to: &impl ConnectionTrait) -> Result<u64>
where
    E: EntityTrait,
    E::Model: IntoActiveModel<E::ActiveModel> + Sync,
    E::ActiveModel: ActiveModelTrait<Entity = E> + Send,
{
    let mut query = E::find();
    for key in E::PrimaryKey::iter() {
        query = query.order_by_asc(key.into_column());
    }
    let mut pages = query.paginate(from, PAGE);
    let mut copied = 0;
    while let Some(rows) = pages.fetch_and_next().await? {
        if rows.is_empty() {
            break;
        }
        copied += rows.len() as u64;
        // `reset_all` marks every value as set, the id too.
        let active = rows
            .into_iter()
            .map(|row| row.into_active_model().reset_all());
        E::insert_many(active).exec_without_returning(to).await?;
    }
    Ok(copied)
}

async fn count_rows(db: &impl ConnectionTrait, table: &str) -> Result<u64> {
    let backend = db.get_database_backend();
    let row = db
        .query_one_raw(Statement::from_string(
            backend,
            format!("SELECT COUNT(*) AS n FROM {table}"),
        ))
        .await?
        .ok_or_else(|| Error::internal(format!("no count of {table}")))?;
    let n: i64 = row.try_get("", "n")?;
    Ok(n as u64)
}

/// Copies every bundle, evidence and feedback file under its own stored
/// name, each hashed on the way; a bundle or feedback file whose hash is not
/// its row's stops the transfer.
async fn copy_files(
    from: &DatabaseConnection,
    from_uploads: &Uploads,
    to: &Uploads,
    moved: &mut Moved,
) -> Result<()> {
    let mut pages = submission::Entity::find()
        .order_by_asc(submission::Column::Id)
        .into_partial_model::<submission::Summary>()
        .paginate(from, PAGE);
    while let Some(rows) = pages.fetch_and_next().await? {
        for row in rows {
            let sha256 = copy_file(from_uploads, to, &row.stored_path, moved).await?;
            if sha256 != row.sha256 {
                return Err(Error::internal(format!(
                    "submission {}: the stored file {} has SHA-256 {sha256}, its row says {}; \
                     run `handin verify`. The target database was not written.",
                    row.id, row.stored_path, row.sha256
                )));
            }
        }
    }
    for evidence in requests::evidence_paths(from).await? {
        copy_file(from_uploads, to, &evidence, moved).await?;
    }
    let mut pages = feedback_file::Entity::find()
        .order_by_asc(feedback_file::Column::Id)
        .paginate(from, PAGE);
    while let Some(files) = pages.fetch_and_next().await? {
        for file in files {
            let sha256 = copy_file(from_uploads, to, &file.stored_path, moved).await?;
            if sha256 != file.sha256 {
                return Err(Error::internal(format!(
                    "feedback file {} ({}): the stored file {} has SHA-256 {sha256}, its row says {}. \
                 The target database was not written.",
                    file.id, file.name, file.stored_path, file.sha256
                )));
            }
        }
    }
    Ok(())
}

async fn copy_file(
    from: &Uploads,
    to: &Uploads,
    stored: &str,
    moved: &mut Moved,
) -> Result<String> {
    let opened = from
        .download(stored)
        .await
        .map_err(|e| Error::internal(format!("cannot read {stored}: {e}")))?;
    let received = to
        .receive(opened.body, u64::MAX)
        .await
        .map_err(|e| Error::internal(format!("cannot copy {stored}: {e:?}")))?;
    let sha256 = received.sha256.clone();
    moved.files += 1;
    moved.bytes += received.size;
    to.keep_as(received, stored)
        .await
        .map_err(|e| Error::internal(format!("cannot keep {stored}: {e}")))?;
    Ok(sha256)
}
