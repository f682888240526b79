//! Who may see what in a course: the one place the rule lives.

use sea_orm::QueryFilter;
use sea_orm::entity::prelude::*;

use super::{enrolment, user};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CourseRole {
    Student,
    Marker,
    /// Administrators see every course, enrolled or not.
    Admin,
}

impl CourseRole {
    pub fn sees_everyone(self) -> bool {
        matches!(self, CourseRole::Marker | CourseRole::Admin)
    }
}

/// The user's role in the course, or `None` if they have nothing to do with it.
pub async fn role_in(
    db: &impl ConnectionTrait,
    who: &user::Model,
    course_id: i32,
) -> Result<Option<CourseRole>, DbErr> {
    if who.is_admin() {
        return Ok(Some(CourseRole::Admin));
    }
    let enrolment = enrolment::Entity::find()
        .filter(enrolment::Column::UserId.eq(who.id))
        .filter(enrolment::Column::CourseId.eq(course_id))
        .one(db)
        .await?;
    Ok(enrolment.and_then(|e| match e.role.as_str() {
        enrolment::STUDENT => Some(CourseRole::Student),
        enrolment::MARKER => Some(CourseRole::Marker),
        _ => None,
    }))
}

/// The ids of the courses the user can see, and how.
pub async fn visible_courses(
    db: &impl ConnectionTrait,
    who: &user::Model,
) -> Result<Vec<(i32, CourseRole)>, DbErr> {
    if who.is_admin() {
        let ids: Vec<i32> = super::course::Entity::find()
            .all(db)
            .await?
            .into_iter()
            .map(|c| c.id)
            .collect();
        return Ok(ids.into_iter().map(|id| (id, CourseRole::Admin)).collect());
    }
    Ok(enrolment::of_user(db, who.id, None)
        .await?
        .into_iter()
        .filter_map(|e| match e.role.as_str() {
            enrolment::STUDENT => Some((e.course_id, CourseRole::Student)),
            enrolment::MARKER => Some((e.course_id, CourseRole::Marker)),
            _ => None,
        })
        .collect())
}
