//! Courses: a code, a title, the time zone deadlines are written in, and the
//! days the university is closed.

use chrono::NaiveDate;
use chrono_tz::Tz;
use sea_orm::QueryFilter;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "courses")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub code: String,
    pub title: String,
    pub time_zone: String,
    /// JSON list of `YYYY-MM-DD` dates.
    pub closure_days: String,
    /// Whether the course's markers may grant extensions (else administrators only).
    pub markers_grant_extensions: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    pub fn zone(&self) -> Tz {
        // Zones are checked when written; UTC keeps a damaged row readable.
        self.time_zone.parse().unwrap_or(Tz::UTC)
    }

    pub fn closure_days(&self) -> Vec<NaiveDate> {
        serde_json::from_str(&self.closure_days).unwrap_or_default()
    }
}

pub async fn find_by_code(db: &impl ConnectionTrait, code: &str) -> Result<Option<Model>, DbErr> {
    Entity::find().filter(Column::Code.eq(code)).one(db).await
}
