//! Feedback files: per assignment, whether markers return files to
//! students; and the files themselves, each kept on the store's `feedback/`
//! shelf and named here by the student it goes to.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, boolean, integer, integer_null, pk_auto, string, timestamp_with_time_zone,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Assignments {
    Table,
    Id,
    FeedbackFiles,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum FeedbackFiles {
    Table,
    Id,
    AssignmentId,
    StudentId,
    Name,
    StoredPath,
    Size,
    Sha256,
    AddedBy,
    AddedAt,
}

fn foreign_key(
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(ForeignKeyAction::Restrict)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let alter = Table::alter()
            .table(Assignments::Table)
            .add_column(boolean(Assignments::FeedbackFiles).default(false))
            .to_owned();
        manager.alter_table(alter).await?;
        manager
            .create_table(
                Table::create()
                    .table(FeedbackFiles::Table)
                    .col(pk_auto(FeedbackFiles::Id))
                    .col(integer(FeedbackFiles::AssignmentId))
                    .col(integer(FeedbackFiles::StudentId))
                    .col(string(FeedbackFiles::Name))
                    .col(string(FeedbackFiles::StoredPath).unique_key())
                    .col(big_integer(FeedbackFiles::Size))
                    .col(string(FeedbackFiles::Sha256))
                    .col(integer_null(FeedbackFiles::AddedBy))
                    .col(timestamp_with_time_zone(FeedbackFiles::AddedAt))
                    .foreign_key(&mut foreign_key(
                        (FeedbackFiles::Table, FeedbackFiles::AssignmentId),
                        (Assignments::Table, Assignments::Id),
                    ))
                    .foreign_key(&mut foreign_key(
                        (FeedbackFiles::Table, FeedbackFiles::StudentId),
                        (Users::Table, Users::Id),
                    ))
                    .foreign_key(&mut foreign_key(
                        (FeedbackFiles::Table, FeedbackFiles::AddedBy),
                        (Users::Table, Users::Id),
                    ))
                    // A student's files are read together, and one name
                    // holds one file: a new file of that name replaces it.
                    .index(
                        Index::create()
                            .unique()
                            .col(FeedbackFiles::AssignmentId)
                            .col(FeedbackFiles::StudentId)
                            .col(FeedbackFiles::Name),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(FeedbackFiles::Table).to_owned())
            .await?;
        let alter = Table::alter()
            .table(Assignments::Table)
            .drop_column(Assignments::FeedbackFiles)
            .to_owned();
        manager.alter_table(alter).await
    }
}
