//! Running server instances and their heartbeats. Each instance receives
//! uploads into a folder of its own; another instance may clean that folder
//! only once this table says its owner has stopped beating.

use chrono::{DateTime, Duration, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, QueryFilter};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "instances")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub host: String,
    pub pid: i32,
    pub started_at: DateTimeUtc,
    pub seen_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// How often a running instance says it is alive.
pub const HEARTBEAT: std::time::Duration = std::time::Duration::from_secs(10);

/// An instance not heard from for this long has stopped: six missed beats,
/// so a busy database or a paused machine is not taken for a dead one.
pub fn silence() -> Duration {
    Duration::seconds(60)
}

/// Where an instance runs: this machine's name and the process id.
#[derive(Debug, Clone)]
pub struct Place {
    pub host: String,
    pub pid: u32,
}

impl Place {
    /// This process: the machine's name with its process-id namespace
    /// (containers sharing a host name still have their own process ids,
    /// so one must not judge another's pid), and the pid.
    pub fn here() -> Place {
        let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|name| name.trim().to_string())
            .unwrap_or_else(|_| "unknown".to_string());
        let namespace = std::fs::read_link("/proc/self/ns/pid")
            .map(|link| link.display().to_string())
            .unwrap_or_default();
        Place {
            host: format!("{name} {namespace}"),
            pid: std::process::id(),
        }
    }
}

impl Model {
    /// Heard from recently, and, when it ran on this machine, its process
    /// still exists: an instance killed a moment ago on this machine is
    /// known to be gone at once, so a restart cleans up after it straight away.
    fn is_alive(&self, now: DateTime<Utc>, here: &Place) -> bool {
        let recent = self.seen_at > now - silence();
        let gone_from_here = self.host == here.host
            && !std::path::Path::new("/proc")
                .join(self.pid.to_string())
                .exists();
        recent && !gone_from_here
    }
}

/// Says this instance is alive (and registers it the first time).
pub async fn beat(
    db: &impl ConnectionTrait,
    id: &str,
    place: &Place,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let row = ActiveModel {
        id: Set(id.to_string()),
        host: Set(place.host.clone()),
        pid: Set(place.pid as i32),
        started_at: Set(now),
        seen_at: Set(now),
    };
    Entity::insert(row)
        .on_conflict(
            OnConflict::column(Column::Id)
                .update_column(Column::SeenAt)
                .to_owned(),
        )
        .exec(db)
        .await
        .map(|_| ())
}

/// The instances listed now: those still running (this one included, once
/// it has beaten) and those that have stopped.
#[derive(Debug, Default)]
pub struct Census {
    pub alive: Vec<String>,
    pub stopped: Vec<String>,
}

pub async fn census(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    here: &Place,
) -> Result<Census, DbErr> {
    let mut census = Census::default();
    for row in Entity::find().all(db).await? {
        if row.is_alive(now, here) {
            census.alive.push(row.id);
        } else {
            census.stopped.push(row.id);
        }
    }
    Ok(census)
}

/// Forgets instances found stopped (after their leftovers were cleaned).
/// Only those: one that registered since the census is not touched.
pub async fn forget_stopped(db: &impl ConnectionTrait, stopped: &[String]) -> Result<(), DbErr> {
    if stopped.is_empty() {
        return Ok(());
    }
    Entity::delete_many()
        .filter(Column::Id.is_in(stopped.iter().cloned()))
        .exec(db)
        .await
        .map(|_| ())
}

pub async fn forget(db: &impl ConnectionTrait, id: &str) -> Result<(), DbErr> {
    Entity::delete_by_id(id.to_string())
        .exec(db)
        .await
        .map(|_| ())
}
