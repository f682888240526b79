//! Who takes or marks which course.

use sea_orm::entity::prelude::*;
use std::collections::HashMap;

use sea_orm::{ActiveValue::Set, QueryFilter, QueryOrder};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "enrolments")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub user_id: i32,
    pub course_id: i32,
    pub role: EnrolledAs,
    /// Random, unique within the course, never changed: what markers see
    /// under anonymous marking.
    pub candidate_number: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// How a user takes part in a course.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum EnrolledAs {
    #[sea_orm(string_value = "student")]
    Student,
    #[sea_orm(string_value = "marker")]
    Marker,
}

impl EnrolledAs {
    /// Students take a course; markers and administrators mark it.
    pub fn for_role(role: super::user::Role) -> EnrolledAs {
        match role {
            super::user::Role::Student => EnrolledAs::Student,
            _ => EnrolledAs::Marker,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            EnrolledAs::Student => "student",
            EnrolledAs::Marker => "marker",
        }
    }
}

/// What names a student who has no candidate number in a course (they
/// handed in, then left it): derived from their id, never their name.
pub fn unenrolled_label(user_id: i32) -> String {
    format!("U{user_id:07}")
}

/// Enrols a user (or changes their role in the course).
pub async fn enrol(
    db: &impl ConnectionTrait,
    user_id: i32,
    course_id: i32,
    role: EnrolledAs,
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
            active.role = Set(role);
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
                role: Set(role),
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
    role: EnrolledAs,
) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(Column::CourseId.eq(course_id))
        .filter(Column::Role.eq(role))
        .all(db)
        .await
}

/// The user's enrolments.
pub async fn of_user(db: &impl ConnectionTrait, user_id: i32) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(Column::UserId.eq(user_id))
        .all(db)
        .await
}

/// The users enrolled in a course as students, by username.
pub async fn students(
    db: &impl ConnectionTrait,
    course_id: i32,
) -> Result<Vec<super::user::Model>, DbErr> {
    users(db, course_id, EnrolledAs::Student).await
}

/// The users enrolled in a course as staff (markers, and administrators
/// enrolled there), by username.
pub async fn staff(
    db: &impl ConnectionTrait,
    course_id: i32,
) -> Result<Vec<super::user::Model>, DbErr> {
    users(db, course_id, EnrolledAs::Marker).await
}

async fn users(
    db: &impl ConnectionTrait,
    course_id: i32,
    role: EnrolledAs,
) -> Result<Vec<super::user::Model>, DbErr> {
    let ids: Vec<i32> = of_course(db, course_id, role)
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

/// Every student's candidate number in a course, by user id.
pub async fn candidates(
    db: &impl ConnectionTrait,
    course_id: i32,
) -> Result<HashMap<i32, String>, DbErr> {
    Ok(of_course(db, course_id, EnrolledAs::Student)
        .await?
        .into_iter()
        .map(|e| (e.user_id, e.candidate_number))
        .collect())
}

/// The student's candidate number in a course (for anonymous receipts).
pub async fn candidate_of(
    db: &impl ConnectionTrait,
    course_id: i32,
    student_id: i32,
) -> Result<String, DbErr> {
    Ok(Entity::find()
        .filter(Column::CourseId.eq(course_id))
        .filter(Column::UserId.eq(student_id))
        .one(db)
        .await?
        .map(|e| e.candidate_number)
        .unwrap_or_else(|| unenrolled_label(student_id)))
}
