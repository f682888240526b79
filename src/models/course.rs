//! Courses: a code, a title, the time zone deadlines are written in, and the
//! days the university is closed.

use chrono::NaiveDate;
use chrono_tz::Tz;
use sea_orm::QueryFilter;
use sea_orm::entity::prelude::*;

use super::column::{ClosureDays, Zone};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "courses")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub code: String,
    pub title: String,
    pub time_zone: Zone,
    pub closure_days: ClosureDays,
    /// Whether the course's markers may grant extensions (else administrators only).
    pub markers_grant_extensions: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    pub fn zone(&self) -> Tz {
        self.time_zone.0
    }

    /// The zone's name, as pages show it: `Europe/London`.
    pub fn zone_name(&self) -> &'static str {
        self.time_zone.0.name()
    }

    pub fn closure_days(&self) -> &[NaiveDate] {
        &self.closure_days.0
    }
}

pub async fn find_by_code(db: &impl ConnectionTrait, code: &str) -> Result<Option<Model>, DbErr> {
    Entity::find().filter(Column::Code.eq(code)).one(db).await
}
