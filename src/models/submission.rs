//! Submissions: every attempt kept, with its hash, size, files and the
//! server's receive time. Lateness is never stored; it is judged when shown.

use sea_orm::entity::prelude::*;
use sea_orm::{ActiveValue::Set, DerivePartialModel, QueryFilter, QueryOrder, QuerySelect};

use crate::domain::bundle::Entry;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "submissions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub assignment_id: i32,
    pub student_id: i32,
    pub attempt: i32,
    pub received_at: DateTimeUtc,
    pub upload_started_at: DateTimeUtc,
    pub sha256: String,
    pub size: i64,
    /// The file name as the student's browser sent it: for display only.
    pub original_name: String,
    /// Relative to the uploads folder, chosen by the server.
    #[sea_orm(unique)]
    pub stored_path: String,
    /// JSON list of the files inside.
    pub entries: String,
    /// When `handin verify` last re-hashed the stored file.
    pub verified_at: Option<DateTimeUtc>,
    /// What that verification found wrong, if anything.
    pub verify_error: Option<String>,
    /// The declaration the student ticked, as it read then.
    pub declaration: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// A submission without its file list or the name it was sent under: what
/// views of many attempts (the marking table, exports, verify) load, so that
/// a bundle of thousands of long names costs them nothing.
#[derive(Debug, Clone, PartialEq, Eq, DerivePartialModel)]
#[sea_orm(entity = "Entity", from_query_result)]
pub struct Summary {
    pub id: i32,
    pub assignment_id: i32,
    pub student_id: i32,
    pub attempt: i32,
    pub received_at: DateTimeUtc,
    pub sha256: String,
    pub size: i64,
    pub stored_path: String,
    pub verify_error: Option<String>,
    pub declaration: Option<String>,
}

impl From<&Model> for Summary {
    fn from(row: &Model) -> Summary {
        Summary {
            id: row.id,
            assignment_id: row.assignment_id,
            student_id: row.student_id,
            attempt: row.attempt,
            received_at: row.received_at,
            sha256: row.sha256.clone(),
            size: row.size,
            stored_path: row.stored_path.clone(),
            verify_error: row.verify_error.clone(),
            declaration: row.declaration.clone(),
        }
    }
}

impl Model {
    pub fn entries(&self) -> Vec<Entry> {
        serde_json::from_str(&self.entries).unwrap_or_default()
    }
}

/// A bundle that has been kept on disk and awaits its row.
pub struct NewSubmission {
    pub assignment_id: i32,
    pub student_id: i32,
    pub received_at: DateTimeUtc,
    pub upload_started_at: DateTimeUtc,
    pub sha256: String,
    pub size: u64,
    pub original_name: String,
    pub stored_path: String,
    pub entries: Vec<Entry>,
    pub declaration: Option<String>,
}

/// Records a submission with the next attempt number.
///
/// Attempt numbers stay distinct and gapless however many uploads from one
/// student race, on one instance or several: the read of the last attempt
/// and the insert share a transaction, and the unique index on (assignment,
/// student, attempt) refuses the loser of a race for the same number, which
/// then reads again and takes the next one.
/// What is written with an attempt, in its transaction: its signed
/// receipt, appended to the evidence log, and the mails that go with it.
pub trait WrittenWith {
    /// The attempt's signed receipt, at this position in the log.
    fn statement(&self, row: &Model, log_index: u64) -> String;
    /// The mails about it (its receipt), given what the log holds of it.
    fn mails(&self, row: &Model, logged: &super::log::Included) -> Vec<super::outbox::NewMail>;
}

/// Records the next attempt, with its signed receipt in the evidence log
/// and its mails in the outbox, all in one transaction.
pub async fn record(
    db: &DatabaseConnection,
    new: NewSubmission,
    notary: &crate::evidence::Notary,
    with: &(impl WrittenWith + Sync),
) -> Result<(Model, super::log::Included), DbErr> {
    // Each retry means another upload was recorded meanwhile; a handful of
    // uploads from one student at the same instant is already unusual.
    const TRIES: usize = 20;
    let entries = serde_json::to_string(&new.entries).map_err(|e| DbErr::Custom(e.to_string()))?;
    let mut tries = 0;
    loop {
        tries += 1;
        match insert_next_attempt(db, &new, &entries, (notary, with)).await {
            Err(e) if crate::db::is_conflict(&e) && tries < TRIES => continue,
            outcome => return outcome,
        }
    }
}

async fn insert_next_attempt(
    db: &DatabaseConnection,
    new: &NewSubmission,
    entries: &str,
    (notary, with): (&crate::evidence::Notary, &(impl WrittenWith + Sync)),
) -> Result<(Model, super::log::Included), DbErr> {
    let txn = crate::db::begin_attempt(db).await?;
    let last: Option<i32> = Entity::find()
        .select_only()
        .column_as(Column::Attempt.max(), "last")
        .filter(Column::AssignmentId.eq(new.assignment_id))
        .filter(Column::StudentId.eq(new.student_id))
        .into_tuple::<Option<i32>>()
        .one(&txn)
        .await?
        .flatten();
    let row = ActiveModel {
        assignment_id: Set(new.assignment_id),
        student_id: Set(new.student_id),
        attempt: Set(last.unwrap_or(0) + 1),
        received_at: Set(new.received_at),
        upload_started_at: Set(new.upload_started_at),
        sha256: Set(new.sha256.clone()),
        size: Set(new.size as i64),
        original_name: Set(new.original_name.clone()),
        stored_path: Set(new.stored_path.clone()),
        entries: Set(entries.to_string()),
        declaration: Set(new.declaration.clone()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    crate::db::lock_log(&txn).await?;
    let statement = super::log::Statement {
        kind: "receipt",
        submission_id: Some(row.id),
        signed: &|index| with.statement(&row, index),
    };
    let logged = super::log::append(
        &txn,
        &notary.signer,
        &notary.origin,
        statement,
        row.received_at,
    )
    .await?;
    super::outbox::enqueue(&txn, with.mails(&row, &logged), row.received_at).await?;
    txn.commit().await?;
    Ok((row, logged))
}

/// The student's latest attempt (the one that counts): its number and
/// when it was received.
pub async fn latest_of(
    db: &impl ConnectionTrait,
    assignment_id: i32,
    student_id: i32,
) -> Result<Option<(i32, DateTimeUtc)>, DbErr> {
    Entity::find()
        .select_only()
        .column(Column::Attempt)
        .column(Column::ReceivedAt)
        .filter(Column::AssignmentId.eq(assignment_id))
        .filter(Column::StudentId.eq(student_id))
        .order_by_desc(Column::Attempt)
        .into_tuple()
        .one(db)
        .await
}

/// A student's attempts without their file lists, newest first.
pub async fn summaries_of(
    db: &impl ConnectionTrait,
    assignment_id: i32,
    student_id: i32,
) -> Result<Vec<Summary>, DbErr> {
    Entity::find()
        .filter(Column::AssignmentId.eq(assignment_id))
        .filter(Column::StudentId.eq(student_id))
        .order_by_desc(Column::Attempt)
        .into_partial_model::<Summary>()
        .all(db)
        .await
}

pub async fn attempts(
    db: &impl ConnectionTrait,
    assignment_id: i32,
    student_id: i32,
) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(Column::AssignmentId.eq(assignment_id))
        .filter(Column::StudentId.eq(student_id))
        .order_by_desc(Column::Attempt)
        .all(db)
        .await
}

/// Every stored path (for cleaning orphans at start).
pub async fn stored_paths(db: &impl ConnectionTrait) -> Result<Vec<String>, DbErr> {
    Entity::find()
        .select_only()
        .column(Column::StoredPath)
        .into_tuple::<String>()
        .all(db)
        .await
}

/// The students who have handed in at least one attempt at an assignment.
pub async fn students_with_attempts(
    db: &impl ConnectionTrait,
    assignment_id: i32,
) -> Result<std::collections::HashSet<i32>, DbErr> {
    let ids: Vec<i32> = Entity::find()
        .select_only()
        .column(Column::StudentId)
        .distinct()
        .filter(Column::AssignmentId.eq(assignment_id))
        .into_tuple()
        .all(db)
        .await?;
    Ok(ids.into_iter().collect())
}
