//! What several instances on one database must share: the running
//! instances, each with a heartbeat (clean-up after a crash may touch only
//! what an instance that is no longer beating left behind), and failed
//! logins (a guesser is slowed whichever instance the balancer picks).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Instances {
    Table,
    Id,
    Host,
    Pid,
    StartedAt,
    SeenAt,
}

#[derive(DeriveIden)]
enum LoginFailures {
    Table,
    Client,
    Username,
    Failures,
    LastAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Instances::Table)
                    .col(string(Instances::Id).primary_key())
                    .col(string(Instances::Host))
                    .col(integer(Instances::Pid))
                    .col(timestamp_with_time_zone(Instances::StartedAt))
                    .col(timestamp_with_time_zone(Instances::SeenAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(LoginFailures::Table)
                    .col(string(LoginFailures::Client))
                    .col(string(LoginFailures::Username))
                    .col(integer(LoginFailures::Failures))
                    .col(timestamp_with_time_zone(LoginFailures::LastAt))
                    .primary_key(
                        Index::create()
                            .col(LoginFailures::Client)
                            .col(LoginFailures::Username),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("login_failures_by_time")
                    .table(LoginFailures::Table)
                    .col(LoginFailures::LastAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(LoginFailures::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Instances::Table).to_owned())
            .await
    }
}
