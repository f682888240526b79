//! Who takes or marks which course.

use sea_orm::entity::prelude::*;
use sea_orm::{ActiveValue::Set, QueryFilter, QueryOrder};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "enrolments")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub user_id: i32,
    pub course_id: i32,
    /// `student` or `marker`.
    pub role: String,
    /// Random, unique within the course, never changed: what markers see
    /// under anonymous marking.
    pub candidate_number: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

pub const STUDENT: &str = "student";
pub const MARKER: &str = "marker";

/// Enrols a user (or changes their role in the course).
pub async fn enrol(
    db: &impl ConnectionTrait,
    user_id: i32,
    course_id: i32,
    role: &str,
) -> Result<(), DbErr> {
    let existing = Entity::find()
        .filter(Column::UserId.eq(user_id))
        .filter(Column::CourseId.eq(course_id))
        .one(db)
        .await?;
    match existing {
        Some(row) if row.role == role => {}
        Some(row) => {
            let mut active: ActiveModel = row.into();
            active.role = Set(role.to_string());
            active.update(db).await?;
        }
        None => {
            let taken: Vec<String> = Entity::find()
                .filter(Column::CourseId.eq(course_id))
                .all(db)
                .await?
                .into_iter()
                .map(|e| e.candidate_number)
                .collect();
            ActiveModel {
                user_id: Set(user_id),
                course_id: Set(course_id),
                role: Set(role.to_string()),
                candidate_number: Set(new_candidate_number(&taken)),
                ..Default::default()
            }
            .insert(db)
            .await?;
        }
    }
    Ok(())
}

/// A seven-digit number not yet used in the course.
fn new_candidate_number(taken: &[String]) -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    loop {
        let candidate = format!("C{:07}", rng.gen_range(0..10_000_000));
        if !taken.contains(&candidate) {
            return candidate;
        }
    }
}

/// The enrolments of a course in one role.
pub async fn of_course(
    db: &impl ConnectionTrait,
    course_id: i32,
    role: &str,
) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(Column::CourseId.eq(course_id))
        .filter(Column::Role.eq(role))
        .all(db)
        .await
}

/// The user's enrolments, optionally in one role only.
pub async fn of_user(
    db: &impl ConnectionTrait,
    user_id: i32,
    role: Option<&str>,
) -> Result<Vec<Model>, DbErr> {
    let mut query = Entity::find().filter(Column::UserId.eq(user_id));
    if let Some(role) = role {
        query = query.filter(Column::Role.eq(role));
    }
    query.all(db).await
}

/// The users enrolled in a course as students, by username.
pub async fn students(
    db: &impl ConnectionTrait,
    course_id: i32,
) -> Result<Vec<super::user::Model>, DbErr> {
    let ids: Vec<i32> = of_course(db, course_id, STUDENT)
        .await?
        .into_iter()
        .map(|e| e.user_id)
        .collect();
    super::user::Entity::find()
        .filter(super::user::Column::Id.is_in(ids))
        .order_by_asc(super::user::Column::Username)
        .all(db)
        .await
}
