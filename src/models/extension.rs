//! Extensions: a later deadline for one student on one assignment.

use sea_orm::QueryFilter;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "extensions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub assignment_id: i32,
    pub student_id: i32,
    pub until: DateTimeUtc,
    pub reason: String,
    pub granted_by: i32,
    pub granted_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// The student's extension on the assignment, if they hold one.
pub async fn until_for(
    db: &impl ConnectionTrait,
    assignment_id: i32,
    student_id: i32,
) -> Result<Option<DateTimeUtc>, DbErr> {
    Ok(Entity::find()
        .filter(Column::AssignmentId.eq(assignment_id))
        .filter(Column::StudentId.eq(student_id))
        .one(db)
        .await?
        .map(|e| e.until))
}
