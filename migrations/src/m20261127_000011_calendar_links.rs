//! Each person's private calendar link: a secret in the feed's address,
//! which they can renew (the old link stops working) or turn off.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::string_null;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    CalendarToken,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let alter = Table::alter()
            .table(Users::Table)
            .add_column(string_null(Users::CalendarToken))
            .to_owned();
        manager.alter_table(alter).await?;
        // SQLite cannot add a UNIQUE column: the index says it instead (and
        // finds the feed's owner by its secret).
        let index = Index::create()
            .name("users_by_calendar_token")
            .table(Users::Table)
            .col(Users::CalendarToken)
            .unique()
            .to_owned();
        manager.create_index(index).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let index = Index::drop()
            .name("users_by_calendar_token")
            .table(Users::Table)
            .to_owned();
        manager.drop_index(index).await?;
        let alter = Table::alter()
            .table(Users::Table)
            .drop_column(Users::CalendarToken)
            .to_owned();
        manager.alter_table(alter).await
    }
}
