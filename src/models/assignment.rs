//! Assignments: what is due, when, and what a bundle must contain.

use chrono::Duration;
use sea_orm::entity::prelude::*;
use sea_orm::{QueryFilter, QueryOrder, QuerySelect};

use super::column::{Policy, RequiredFiles};
use super::course;
use crate::domain::deadline::{Counts, DeadlineRule};
use crate::domain::penalty::LatePolicy;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "assignments")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub course_id: i32,
    pub slug: String,
    pub title: String,
    pub opens_at: Option<DateTimeUtc>,
    pub due_at: DateTimeUtc,
    pub hard_close_at: Option<DateTimeUtc>,
    pub grace_seconds: i64,
    pub max_bundle_bytes: i64,
    pub required_files: RequiredFiles,
    /// Markers see candidate numbers instead of names and usernames.
    pub anonymous: bool,
    pub late_policy: Policy,
    /// The highest mark, in hundredths of a point (10000: out of 100).
    pub max_mark: i64,
    /// The pass mark, in hundredths, if the assignment has one.
    pub pass_mark: Option<i64>,
    /// When students see their marks: none yet, now, or at a time to come.
    pub marks_released_at: Option<DateTimeUtc>,
    /// Markers return files with the marks (a marked-up report, say).
    pub feedback_files: bool,
    /// A statement students tick before uploading ("This is my own work…").
    pub declaration: Option<String>,
    /// Which attempt counts: `latest` or `latest_on_time` (see [`Counts`]).
    pub counted_attempt: String,
    /// A late penalty never takes a passing mark below the pass mark.
    pub penalty_floor_at_pass: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    pub fn required_files(&self) -> &[String] {
        &self.required_files.0
    }

    /// What the late policy works with: the maximum mark, and the pass
    /// mark as a floor where the assignment says so.
    pub fn mark_scale(
        &self,
    ) -> (
        crate::domain::marks::Points,
        Option<crate::domain::marks::Points>,
    ) {
        let floor = self
            .pass_mark
            .filter(|_| self.penalty_floor_at_pass)
            .map(crate::domain::marks::Points);
        (self.max_mark(), floor)
    }

    /// Which attempt counts (an unknown spelling reads as the latest).
    pub fn counts(&self) -> Counts {
        Counts::parse(&self.counted_attempt).unwrap_or_default()
    }

    pub fn late_policy(&self) -> LatePolicy {
        self.late_policy.0
    }

    pub fn max_mark(&self) -> crate::domain::marks::Points {
        crate::domain::marks::Points(self.max_mark)
    }

    /// Whether students see their marks at `now`.
    pub fn marks_released(&self, now: DateTimeUtc) -> bool {
        self.marks_released_at.is_some_and(|at| at <= now)
    }

    pub fn max_bundle_bytes(&self) -> u64 {
        self.max_bundle_bytes.max(0) as u64
    }

    /// The deadline rule for one student, given their extension (if any).
    /// The rule a student's work is judged by: this assignment's times, their
    /// extension, and the closure days of the course and of the university.
    pub fn rule(
        &self,
        course: &course::Model,
        extension: Option<DateTimeUtc>,
        university_closed: &[chrono::NaiveDate],
    ) -> DeadlineRule {
        let mut closure_days = course.closure_days().to_vec();
        closure_days.extend_from_slice(university_closed);
        closure_days.sort();
        closure_days.dedup();
        DeadlineRule {
            opens: self.opens_at,
            due: self.due_at,
            grace: Duration::seconds(self.grace_seconds),
            hard_close: self.hard_close_at,
            extension,
            zone: course.zone(),
            closure_days,
        }
    }
}

/// An assignment with its course, found by the codes in a URL.
pub async fn find_by_codes(
    db: &impl ConnectionTrait,
    course_code: &str,
    slug: &str,
) -> Result<Option<(course::Model, Model)>, DbErr> {
    let Some(course) = course::find_by_code(db, course_code).await? else {
        return Ok(None);
    };
    let assignment = Entity::find()
        .filter(Column::CourseId.eq(course.id))
        .filter(Column::Slug.eq(slug))
        .one(db)
        .await?;
    Ok(assignment.map(|a| (course, a)))
}

pub async fn of_courses(
    db: &impl ConnectionTrait,
    course_ids: &[i32],
) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(Column::CourseId.is_in(course_ids.iter().copied()))
        .order_by_asc(Column::DueAt)
        .all(db)
        .await
}

/// Sets when the assignment's marks are released (none: not released).
pub async fn set_marks_release(
    db: &impl ConnectionTrait,
    id: i32,
    at: Option<DateTimeUtc>,
) -> Result<Model, DbErr> {
    let active = ActiveModel {
        id: sea_orm::ActiveValue::Unchanged(id),
        marks_released_at: sea_orm::ActiveValue::Set(at),
        ..Default::default()
    };
    active.update(db).await
}

/// The assignments (with their courses) whose deadline, or a student's
/// extension, falls after `from` and no later than `to`: those a reminder
/// may be due for.
pub async fn deadlines_between(
    db: &impl ConnectionTrait,
    from: DateTimeUtc,
    to: DateTimeUtc,
) -> Result<Vec<(Model, course::Model)>, DbErr> {
    use super::extension;
    let extended: Vec<i32> = extension::Entity::find()
        .select_only()
        .column(extension::Column::AssignmentId)
        .distinct()
        .filter(extension::Column::Until.gt(from))
        .filter(extension::Column::Until.lte(to))
        .into_tuple()
        .all(db)
        .await?;
    let due_soon = sea_orm::Condition::all()
        .add(Column::DueAt.gt(from))
        .add(Column::DueAt.lte(to));
    let assignments = Entity::find()
        .filter(
            sea_orm::Condition::any()
                .add(due_soon)
                .add(Column::Id.is_in(extended)),
        )
        .order_by_asc(Column::Id)
        .all(db)
        .await?;
    let ids: Vec<i32> = assignments.iter().map(|a| a.course_id).collect();
    let courses = course::Entity::find()
        .filter(course::Column::Id.is_in(ids))
        .all(db)
        .await?;
    Ok(assignments
        .into_iter()
        .filter_map(|a| {
            let course = courses.iter().find(|c| c.id == a.course_id)?.clone();
            Some((a, course))
        })
        .collect())
}
