//! Feedback files: what markers return to a student with the mark, each
//! kept on the store's `feedback/` shelf. A student has at most one file of
//! a name per assignment: a new one of that name replaces it.

use sea_orm::entity::prelude::*;
use sea_orm::{ActiveValue::Set, QueryFilter, QueryOrder, QuerySelect};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "feedback_files")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub assignment_id: i32,
    pub student_id: i32,
    /// The file's name as the marker gave it (a path inside the student's
    /// folder, for files from a feedback zip).
    pub name: String,
    #[serde(skip)]
    pub stored_path: String,
    pub size: i64,
    pub sha256: String,
    pub added_by: Option<i32>,
    pub added_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// A file to record: its name, where it is kept, and what it holds.
#[derive(Debug, Clone)]
pub struct Kept {
    pub name: String,
    pub stored_path: String,
    pub size: u64,
    pub sha256: String,
}

/// One student's files for an assignment, by name.
pub async fn of_student(
    db: &impl ConnectionTrait,
    assignment_id: i32,
    student_id: i32,
) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(Column::AssignmentId.eq(assignment_id))
        .filter(Column::StudentId.eq(student_id))
        .order_by_asc(Column::Name)
        .all(db)
        .await
}

/// How many files each student of an assignment has, by student id.
pub async fn counts(
    db: &impl ConnectionTrait,
    assignment_id: i32,
) -> Result<std::collections::HashMap<i32, i64>, DbErr> {
    let rows: Vec<(i32, i64)> = Entity::find()
        .select_only()
        .column(Column::StudentId)
        .column_as(Column::Id.count(), "files")
        .filter(Column::AssignmentId.eq(assignment_id))
        .group_by(Column::StudentId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}

/// Records files for a student. With `replace_all`, every file they had
/// goes; otherwise only one of the same name. Returns the rows that went
/// (their stored files are to be deleted once this has committed).
pub async fn record(
    db: &impl ConnectionTrait,
    assignment_id: i32,
    student_id: i32,
    files: Vec<Kept>,
    replace_all: bool,
    added_by: i32,
    now: DateTimeUtc,
) -> Result<Vec<Model>, DbErr> {
    let before = of_student(db, assignment_id, student_id).await?;
    let mut replaced = Vec::new();
    for old in before {
        if replace_all || files.iter().any(|f| f.name == old.name) {
            Entity::delete_by_id(old.id).exec(db).await?;
            replaced.push(old);
        }
    }
    for file in files {
        ActiveModel {
            assignment_id: Set(assignment_id),
            student_id: Set(student_id),
            name: Set(file.name),
            stored_path: Set(file.stored_path),
            size: Set(file.size as i64),
            sha256: Set(file.sha256),
            added_by: Set(Some(added_by)),
            added_at: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await?;
    }
    Ok(replaced)
}

/// Every stored feedback file (for cleaning up after a crash, and moving).
pub async fn stored_paths(db: &impl ConnectionTrait) -> Result<Vec<String>, DbErr> {
    Entity::find()
        .select_only()
        .column(Column::StoredPath)
        .into_tuple::<String>()
        .all(db)
        .await
}
