//! A late penalty that never takes a passing mark below the pass mark,
//! where the assignment says so.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::boolean;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Assignments {
    Table,
    PenaltyFloorAtPass,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let alter = Table::alter()
            .table(Assignments::Table)
            .add_column(boolean(Assignments::PenaltyFloorAtPass).default(false))
            .to_owned();
        manager.alter_table(alter).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let alter = Table::alter()
            .table(Assignments::Table)
            .drop_column(Assignments::PenaltyFloorAtPass)
            .to_owned();
        manager.alter_table(alter).await
    }
}
