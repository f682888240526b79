//! Receipts anyone can check: the public keys receipts were signed with
//! (the private key lives in a file, never here), and an append-only
//! Merkle tree log of hashes of signed statements, with its stored subtree
//! hashes and signed checkpoints.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, integer_null, string, text, timestamp_with_time_zone,
    timestamp_with_time_zone_null,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SigningKeys {
    Table,
    Kid,
    PublicKey,
    ValidFrom,
    RetiredAt,
}

#[derive(DeriveIden)]
enum LogEntries {
    Table,
    Idx,
    Kind,
    SubmissionId,
    Statement,
    Leaf,
    CreatedAt,
}

#[derive(DeriveIden)]
enum LogHashes {
    Table,
    Idx,
    Hash,
}

#[derive(DeriveIden)]
enum Checkpoints {
    Table,
    Size,
    Root,
    Note,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SigningKeys::Table)
                    .col(string(SigningKeys::Kid).primary_key())
                    .col(string(SigningKeys::PublicKey))
                    .col(timestamp_with_time_zone(SigningKeys::ValidFrom))
                    .col(timestamp_with_time_zone_null(SigningKeys::RetiredAt))
                    .to_owned(),
            )
            .await?;
        // The log's positions are its primary key: two appends racing for
        // one position cannot both commit, so positions stay gapless.
        manager
            .create_table(
                Table::create()
                    .table(LogEntries::Table)
                    .col(big_integer(LogEntries::Idx).primary_key())
                    .col(string(LogEntries::Kind))
                    .col(integer_null(LogEntries::SubmissionId).unique_key())
                    .col(text(LogEntries::Statement))
                    .col(string(LogEntries::Leaf))
                    .col(timestamp_with_time_zone(LogEntries::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(LogHashes::Table)
                    .col(big_integer(LogHashes::Idx).primary_key())
                    .col(string(LogHashes::Hash))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Checkpoints::Table)
                    .col(big_integer(Checkpoints::Size).primary_key())
                    .col(string(Checkpoints::Root))
                    .col(text(Checkpoints::Note))
                    .col(timestamp_with_time_zone(Checkpoints::CreatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Checkpoints::Table.into_iden(),
            LogHashes::Table.into_iden(),
            LogEntries::Table.into_iden(),
            SigningKeys::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
