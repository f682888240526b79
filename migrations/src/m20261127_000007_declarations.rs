//! Declarations: a statement an assignment may ask students to tick before
//! uploading ("This is my own work…"), and, with each attempt, the
//! statement its student ticked (kept as it read then).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::text_null;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Assignments {
    Table,
    Declaration,
}

#[derive(DeriveIden)]
enum Submissions {
    Table,
    Declaration,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let assignments = Table::alter()
            .table(Assignments::Table)
            .add_column(text_null(Assignments::Declaration))
            .to_owned();
        manager.alter_table(assignments).await?;
        let submissions = Table::alter()
            .table(Submissions::Table)
            .add_column(text_null(Submissions::Declaration))
            .to_owned();
        manager.alter_table(submissions).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let submissions = Table::alter()
            .table(Submissions::Table)
            .drop_column(Submissions::Declaration)
            .to_owned();
        manager.alter_table(submissions).await?;
        let assignments = Table::alter()
            .table(Assignments::Table)
            .drop_column(Assignments::Declaration)
            .to_owned();
        manager.alter_table(assignments).await
    }
}
