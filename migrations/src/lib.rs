//! The database schema, as sea-orm-migration steps.
//!
//! Schema DSL only: the app's entities are never imported here, so an old
//! migration keeps meaning what it meant when it was written.

pub use sea_orm_migration::prelude::*;

mod m20261126_000001_create_tables;
mod m20261127_000001_create_sessions;
mod m20261127_000002_shared_state;
mod m20261127_000003_hot_indexes;
mod m20261127_000004_sign_in;
mod m20261127_000005_marks;
mod m20261127_000006_feedback_files;
mod m20261127_000007_declarations;
mod m20261127_000008_counted_attempt;
mod m20261127_000009_pass_floor;
mod m20261127_000010_closure_days;
mod m20261127_000011_calendar_links;
mod m20261127_000012_outbox;
mod m20261128_000013_evidence_log;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261126_000001_create_tables::Migration),
            Box::new(m20261127_000001_create_sessions::Migration),
            Box::new(m20261127_000002_shared_state::Migration),
            Box::new(m20261127_000003_hot_indexes::Migration),
            Box::new(m20261127_000004_sign_in::Migration),
            Box::new(m20261127_000005_marks::Migration),
            Box::new(m20261127_000006_feedback_files::Migration),
            Box::new(m20261127_000007_declarations::Migration),
            Box::new(m20261127_000008_counted_attempt::Migration),
            Box::new(m20261127_000009_pass_floor::Migration),
            Box::new(m20261127_000010_closure_days::Migration),
            Box::new(m20261127_000011_calendar_links::Migration),
            Box::new(m20261127_000012_outbox::Migration),
            Box::new(m20261128_000013_evidence_log::Migration),
        ]
    }
}
