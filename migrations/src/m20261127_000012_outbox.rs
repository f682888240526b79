//! Mail: an outbox written in the same transaction as the event that causes
//! each mail (so no mail is lost if the process dies), sent later by a
//! worker; and whether a person wants deadline reminders.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    boolean, integer, integer_null, pk_auto, string, string_null, text, text_null,
    timestamp_with_time_zone, timestamp_with_time_zone_null,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Outbox {
    Table,
    Id,
    Kind,
    RecipientId,
    ToAddress,
    ToName,
    Subject,
    TextBody,
    HtmlBody,
    AttachmentName,
    Attachment,
    DedupeKey,
    State,
    Attempts,
    NextAttemptAt,
    ClaimedBy,
    ClaimedUntil,
    LastError,
    CreatedAt,
    SentAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    MailReminders,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Outbox::Table)
                    .col(pk_auto(Outbox::Id))
                    .col(string(Outbox::Kind))
                    .col(integer_null(Outbox::RecipientId))
                    .col(string(Outbox::ToAddress))
                    .col(string(Outbox::ToName))
                    .col(string(Outbox::Subject))
                    .col(text(Outbox::TextBody))
                    .col(text(Outbox::HtmlBody))
                    .col(string_null(Outbox::AttachmentName))
                    .col(text_null(Outbox::Attachment))
                    .col(string_null(Outbox::DedupeKey))
                    .col(string(Outbox::State))
                    .col(integer(Outbox::Attempts).default(0))
                    .col(timestamp_with_time_zone(Outbox::NextAttemptAt))
                    .col(string_null(Outbox::ClaimedBy))
                    .col(timestamp_with_time_zone_null(Outbox::ClaimedUntil))
                    .col(text_null(Outbox::LastError))
                    .col(timestamp_with_time_zone(Outbox::CreatedAt))
                    .col(timestamp_with_time_zone_null(Outbox::SentAt))
                    .to_owned(),
            )
            .await?;
        // A reminder or a digest is written at most once, whichever
        // instance notices it is due (NULLs, for every other mail, never clash).
        manager
            .create_index(
                Index::create()
                    .name("outbox_by_dedupe_key")
                    .table(Outbox::Table)
                    .col(Outbox::DedupeKey)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // The worker's question: what is queued and due.
        manager
            .create_index(
                Index::create()
                    .name("outbox_due")
                    .table(Outbox::Table)
                    .col(Outbox::State)
                    .col(Outbox::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
        let alter = Table::alter()
            .table(Users::Table)
            .add_column(boolean(Users::MailReminders).default(true))
            .to_owned();
        manager.alter_table(alter).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let alter = Table::alter()
            .table(Users::Table)
            .drop_column(Users::MailReminders)
            .to_owned();
        manager.alter_table(alter).await?;
        manager
            .drop_table(Table::drop().table(Outbox::Table).to_owned())
            .await
    }
}
