//! Which attempt counts, per assignment: the latest (as before), or the
//! latest on-time one when there is one.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::string;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Assignments {
    Table,
    CountedAttempt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let alter = Table::alter()
            .table(Assignments::Table)
            .add_column(string(Assignments::CountedAttempt).default("latest"))
            .to_owned();
        manager.alter_table(alter).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let alter = Table::alter()
            .table(Assignments::Table)
            .drop_column(Assignments::CountedAttempt)
            .to_owned();
        manager.alter_table(alter).await
    }
}
