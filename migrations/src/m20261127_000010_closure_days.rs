//! The university's closure days: one calendar every course shares (each
//! course keeps its own days too). Working days late skip both.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{date, pk_auto, string};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ClosureDays {
    Table,
    Id,
    Day,
    Note,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ClosureDays::Table)
                    .col(pk_auto(ClosureDays::Id))
                    .col(date(ClosureDays::Day).unique_key())
                    .col(string(ClosureDays::Note).default(""))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ClosureDays::Table).to_owned())
            .await
    }
}
