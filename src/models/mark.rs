//! Marks: one per student and assignment, in hundredths of a point, kept
//! with the late rule that was applied and the attempt that was marked.

use std::collections::HashMap;

use sea_orm::entity::prelude::*;
use sea_orm::{ActiveValue::Set, QueryFilter};

use crate::domain::marks::Points;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "marks")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub assignment_id: i32,
    pub student_id: i32,
    /// The attempt that counted when the mark was given (none: nothing
    /// handed in).
    pub submission_id: Option<i32>,
    pub raw_mark: i64,
    pub final_mark: i64,
    /// "none", or the policy and what it did ("uk_standard: 2 working days
    /// late: mark × 0.8").
    pub late_rule: String,
    pub feedback: String,
    pub marker_id: Option<i32>,
    pub marked_at: DateTimeUtc,
    /// Changed after the marks were released: the student is told.
    pub changed_after_release: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    pub fn raw(&self) -> Points {
        Points(self.raw_mark)
    }

    pub fn final_points(&self) -> Points {
        Points(self.final_mark)
    }
}

/// A mark as it is to be saved.
#[derive(Debug, Clone)]
pub struct Given {
    pub assignment_id: i32,
    pub student_id: i32,
    pub submission_id: Option<i32>,
    pub raw: Points,
    pub final_mark: Points,
    pub late_rule: String,
    /// None: the feedback there is stays.
    pub feedback: Option<String>,
    pub marker_id: i32,
    pub released: bool,
}

/// What saving did.
pub struct Saved {
    pub row: Model,
    pub before: Option<Model>,
    /// False when the mark was given again exactly as it stood: nothing was
    /// written (and a released mark is not flagged as changed).
    pub changed: bool,
}

/// Every mark of an assignment, by student id.
pub async fn of_assignment(
    db: &impl ConnectionTrait,
    assignment_id: i32,
) -> Result<HashMap<i32, Model>, DbErr> {
    Ok(Entity::find()
        .filter(Column::AssignmentId.eq(assignment_id))
        .all(db)
        .await?
        .into_iter()
        .map(|m| (m.student_id, m))
        .collect())
}

/// One student's mark for an assignment.
pub async fn of_student(
    db: &impl ConnectionTrait,
    assignment_id: i32,
    student_id: i32,
) -> Result<Option<Model>, DbErr> {
    Entity::find()
        .filter(Column::AssignmentId.eq(assignment_id))
        .filter(Column::StudentId.eq(student_id))
        .one(db)
        .await
}

/// Saves the mark (the first, or a change); returns it and what it was.
/// Call inside a write transaction: it reads, then writes.
pub async fn save(
    db: &impl ConnectionTrait,
    given: Given,
    now: DateTimeUtc,
) -> Result<Saved, DbErr> {
    let before = of_student(db, given.assignment_id, given.student_id).await?;
    let feedback = given
        .feedback
        .clone()
        .or_else(|| before.as_ref().map(|b| b.feedback.clone()))
        .unwrap_or_default();
    if let Some(row) = &before
        && row.raw_mark == given.raw.0
        && row.final_mark == given.final_mark.0
        && row.late_rule == given.late_rule
        && row.submission_id == given.submission_id
        && row.feedback == feedback
    {
        return Ok(Saved {
            row: row.clone(),
            before,
            changed: false,
        });
    }
    let mut active = match &before {
        Some(row) => {
            let mut active: ActiveModel = row.clone().into();
            // Once released, any change is shown to the student as one.
            active.changed_after_release = Set(row.changed_after_release || given.released);
            active
        }
        None => ActiveModel {
            assignment_id: Set(given.assignment_id),
            student_id: Set(given.student_id),
            changed_after_release: Set(false),
            ..Default::default()
        },
    };
    active.submission_id = Set(given.submission_id);
    active.raw_mark = Set(given.raw.0);
    active.final_mark = Set(given.final_mark.0);
    active.late_rule = Set(given.late_rule);
    active.feedback = Set(feedback);
    active.marker_id = Set(Some(given.marker_id));
    active.marked_at = Set(now);
    let row = match before {
        Some(_) => active.update(db).await?,
        None => active.insert(db).await?,
    };
    Ok(Saved {
        row,
        before,
        changed: true,
    })
}

/// A student who has seen released marks is told of any later change to
/// their feedback (files added or removed included): their mark is flagged.
pub async fn flag_if_released(
    db: &impl ConnectionTrait,
    assignment_id: i32,
    student_id: i32,
    now: DateTimeUtc,
) -> Result<(), DbErr> {
    let released = super::assignment::Entity::find_by_id(assignment_id)
        .one(db)
        .await?
        .is_some_and(|a| a.marks_released(now));
    let Some(row) = of_student(db, assignment_id, student_id).await? else {
        return Ok(());
    };
    if released && !row.changed_after_release {
        let mut active: ActiveModel = row.into();
        active.changed_after_release = Set(true);
        active.update(db).await?;
    }
    Ok(())
}
