//! Marks and feedback: each assignment's maximum and pass mark and when its
//! marks are (or will be) released, and one mark per student and
//! assignment, kept with the late rule that was applied to it.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, big_integer_null, boolean, integer, integer_null, pk_auto, string, text,
    timestamp_with_time_zone, timestamp_with_time_zone_null,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Assignments {
    Table,
    Id,
    MaxMark,
    PassMark,
    MarksReleasedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Submissions {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Marks {
    Table,
    Id,
    AssignmentId,
    StudentId,
    SubmissionId,
    RawMark,
    FinalMark,
    LateRule,
    Feedback,
    MarkerId,
    MarkedAt,
    ChangedAfterRelease,
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

async fn add(manager: &SchemaManager<'_>, column: ColumnDef) -> Result<(), DbErr> {
    let alter = Table::alter()
        .table(Assignments::Table)
        .add_column(column)
        .to_owned();
    manager.alter_table(alter).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Marks are kept in hundredths of a point (72.5 is 7250): exact.
        add(
            manager,
            big_integer(Assignments::MaxMark).default(10000).to_owned(),
        )
        .await?;
        add(manager, big_integer_null(Assignments::PassMark)).await?;
        add(
            manager,
            timestamp_with_time_zone_null(Assignments::MarksReleasedAt),
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(Marks::Table)
                    .col(pk_auto(Marks::Id))
                    .col(integer(Marks::AssignmentId))
                    .col(integer(Marks::StudentId))
                    .col(integer_null(Marks::SubmissionId))
                    .col(big_integer(Marks::RawMark))
                    .col(big_integer(Marks::FinalMark))
                    .col(string(Marks::LateRule))
                    .col(text(Marks::Feedback))
                    .col(integer_null(Marks::MarkerId))
                    .col(timestamp_with_time_zone(Marks::MarkedAt))
                    .col(boolean(Marks::ChangedAfterRelease).default(false))
                    .foreign_key(&mut foreign_key(
                        (Marks::Table, Marks::AssignmentId),
                        (Assignments::Table, Assignments::Id),
                    ))
                    .foreign_key(&mut foreign_key(
                        (Marks::Table, Marks::StudentId),
                        (Users::Table, Users::Id),
                    ))
                    .foreign_key(&mut foreign_key(
                        (Marks::Table, Marks::SubmissionId),
                        (Submissions::Table, Submissions::Id),
                    ))
                    .foreign_key(&mut foreign_key(
                        (Marks::Table, Marks::MarkerId),
                        (Users::Table, Users::Id),
                    ))
                    // One mark per student and assignment.
                    .index(
                        Index::create()
                            .unique()
                            .col(Marks::AssignmentId)
                            .col(Marks::StudentId),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Marks::Table).to_owned())
            .await?;
        for column in [
            Assignments::MarksReleasedAt,
            Assignments::PassMark,
            Assignments::MaxMark,
        ] {
            let alter = Table::alter()
                .table(Assignments::Table)
                .drop_column(column)
                .to_owned();
            manager.alter_table(alter).await?;
        }
        Ok(())
    }
}
