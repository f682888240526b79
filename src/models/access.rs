//! Which role a user has in a course: the facts the access policy
//! (`crate::policy`) decides on. No rule lives here.

use sea_orm::QueryFilter;
use sea_orm::entity::prelude::*;
use serde::Serialize;

use super::enrolment::{self, EnrolledAs};
use super::user;

/// How a user stands in one course.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CourseRole {
    Student,
    Marker,
    /// Administrators stand in every course, enrolled or not.
    Admin,
}

impl From<EnrolledAs> for CourseRole {
    fn from(enrolled: EnrolledAs) -> Self {
        match enrolled {
            EnrolledAs::Student => CourseRole::Student,
            EnrolledAs::Marker => CourseRole::Marker,
        }
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
    Ok(enrolment.map(|e| e.role.into()))
}

/// The ids of the courses the user stands in, and how.
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
    Ok(enrolment::of_user(db, who.id)
        .await?
        .into_iter()
        .map(|e| (e.course_id, e.role.into()))
        .collect())
}
