//! Single sign-on and self-service tokens:
//! - a person's identity at the university's provider (issuer and `sub`),
//!   recorded at their first sign-in there, so that a username the
//!   university later gives to someone else does not open the old account;
//! - how each session was signed in (password, provider, proxy) and, for
//!   the provider, its ID token, so that logging out can sign out there too;
//! - API tokens made by people themselves have a name ("marking script"),
//!   and a person's tokens are listed by user.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{string, string_null, text_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ApiTokens {
    Table,
    UserId,
    Name,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    ProviderIdentity,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    SignedInVia,
    IdToken,
}

const INDEX: &str = "api_tokens_by_user";

/// SQLite alters one column per statement.
async fn add_column(
    manager: &SchemaManager<'_>,
    table: impl IntoIden,
    column: ColumnDef,
) -> Result<(), DbErr> {
    manager
        .alter_table(Table::alter().table(table).add_column(column).to_owned())
        .await
}

async fn drop_column(
    manager: &SchemaManager<'_>,
    table: impl IntoIden,
    column: impl IntoIden,
) -> Result<(), DbErr> {
    manager
        .alter_table(Table::alter().table(table).drop_column(column).to_owned())
        .await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        add_column(
            manager,
            ApiTokens::Table,
            string(ApiTokens::Name).default("").to_owned(),
        )
        .await?;
        add_column(manager, Users::Table, string_null(Users::ProviderIdentity)).await?;
        add_column(
            manager,
            Sessions::Table,
            string(Sessions::SignedInVia).default("password").to_owned(),
        )
        .await?;
        add_column(manager, Sessions::Table, text_null(Sessions::IdToken)).await?;
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(ApiTokens::Table)
                    .col(ApiTokens::UserId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name(INDEX).table(ApiTokens::Table).to_owned())
            .await?;
        drop_column(manager, Sessions::Table, Sessions::IdToken).await?;
        drop_column(manager, Sessions::Table, Sessions::SignedInVia).await?;
        drop_column(manager, Users::Table, Users::ProviderIdentity).await?;
        drop_column(manager, ApiTokens::Table, ApiTokens::Name).await
    }
}
