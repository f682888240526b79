//! Users, courses, enrolments, assignments, submissions, extensions, API
//! tokens and the audit log.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Username,
    DisplayName,
    Email,
    Role,
    PasswordHash,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Courses {
    Table,
    Id,
    Code,
    Title,
    TimeZone,
    ClosureDays,
    MarkersGrantExtensions,
}

#[derive(DeriveIden)]
enum Enrolments {
    Table,
    Id,
    UserId,
    CourseId,
    Role,
    CandidateNumber,
}

#[derive(DeriveIden)]
enum Assignments {
    Table,
    Id,
    CourseId,
    Slug,
    Title,
    OpensAt,
    DueAt,
    HardCloseAt,
    GraceSeconds,
    MaxBundleBytes,
    RequiredFiles,
    Anonymous,
    LatePolicy,
}

#[derive(DeriveIden)]
enum Submissions {
    Table,
    Id,
    AssignmentId,
    StudentId,
    Attempt,
    ReceivedAt,
    UploadStartedAt,
    Sha256,
    Size,
    OriginalName,
    StoredPath,
    Entries,
    VerifiedAt,
    VerifyError,
}

#[derive(DeriveIden)]
enum Extensions {
    Table,
    Id,
    AssignmentId,
    StudentId,
    Until,
    Reason,
    GrantedBy,
    GrantedAt,
}

#[derive(DeriveIden)]
enum ExtensionRequests {
    Table,
    Id,
    AssignmentId,
    StudentId,
    RequestedUntil,
    Reason,
    EvidencePath,
    EvidenceName,
    State,
    Comment,
    GrantedUntil,
    DecidedBy,
    DecidedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    At,
    ActorId,
    Action,
    CourseId,
    AssignmentId,
    StudentId,
    Before,
    After,
    Details,
}

#[derive(DeriveIden)]
enum ApiTokens {
    Table,
    Id,
    UserId,
    TokenHash,
    CreatedAt,
    ExpiresAt,
    RevokedAt,
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
    fn use_transaction(&self) -> Option<bool> {
        // All tables or none: a failed first start leaves nothing half-made.
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(pk_auto(Users::Id))
                    .col(string_uniq(Users::Username))
                    .col(string(Users::DisplayName))
                    .col(string(Users::Email))
                    .col(string(Users::Role))
                    .col(string(Users::PasswordHash))
                    .col(timestamp_with_time_zone(Users::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Courses::Table)
                    .col(pk_auto(Courses::Id))
                    .col(string_uniq(Courses::Code))
                    .col(string(Courses::Title))
                    .col(string(Courses::TimeZone))
                    .col(text(Courses::ClosureDays).default("[]"))
                    .col(boolean(Courses::MarkersGrantExtensions).default(false))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Enrolments::Table)
                    .col(pk_auto(Enrolments::Id))
                    .col(integer(Enrolments::UserId))
                    .col(integer(Enrolments::CourseId))
                    .col(string(Enrolments::Role))
                    // Stable within the course: what markers see under anonymous marking.
                    .col(string(Enrolments::CandidateNumber))
                    .foreign_key(&mut foreign_key(
                        (Enrolments::Table, Enrolments::UserId),
                        (Users::Table, Users::Id),
                    ))
                    .foreign_key(&mut foreign_key(
                        (Enrolments::Table, Enrolments::CourseId),
                        (Courses::Table, Courses::Id),
                    ))
                    .index(
                        Index::create()
                            .unique()
                            .col(Enrolments::UserId)
                            .col(Enrolments::CourseId),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Assignments::Table)
                    .col(pk_auto(Assignments::Id))
                    .col(integer(Assignments::CourseId))
                    .col(string(Assignments::Slug))
                    .col(string(Assignments::Title))
                    .col(timestamp_with_time_zone_null(Assignments::OpensAt))
                    .col(timestamp_with_time_zone(Assignments::DueAt))
                    .col(timestamp_with_time_zone_null(Assignments::HardCloseAt))
                    .col(big_integer(Assignments::GraceSeconds).default(0))
                    .col(big_integer(Assignments::MaxBundleBytes))
                    .col(text(Assignments::RequiredFiles).default("[]"))
                    .col(boolean(Assignments::Anonymous).default(false))
                    .col(string(Assignments::LatePolicy).default("none"))
                    .foreign_key(&mut foreign_key(
                        (Assignments::Table, Assignments::CourseId),
                        (Courses::Table, Courses::Id),
                    ))
                    .index(
                        Index::create()
                            .unique()
                            .col(Assignments::CourseId)
                            .col(Assignments::Slug),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Submissions::Table)
                    .col(pk_auto(Submissions::Id))
                    .col(integer(Submissions::AssignmentId))
                    .col(integer(Submissions::StudentId))
                    .col(integer(Submissions::Attempt))
                    .col(timestamp_with_time_zone(Submissions::ReceivedAt))
                    .col(timestamp_with_time_zone(Submissions::UploadStartedAt))
                    .col(string(Submissions::Sha256))
                    .col(big_integer(Submissions::Size))
                    .col(string(Submissions::OriginalName))
                    .col(string_uniq(Submissions::StoredPath))
                    .col(text(Submissions::Entries))
                    // The last `handin verify`: when, and what was wrong (if anything).
                    .col(timestamp_with_time_zone_null(Submissions::VerifiedAt))
                    .col(text_null(Submissions::VerifyError))
                    .foreign_key(&mut foreign_key(
                        (Submissions::Table, Submissions::AssignmentId),
                        (Assignments::Table, Assignments::Id),
                    ))
                    .foreign_key(&mut foreign_key(
                        (Submissions::Table, Submissions::StudentId),
                        (Users::Table, Users::Id),
                    ))
                    // Gapless, distinct attempts are assigned in an IMMEDIATE
                    // transaction; this index is the last line of defence.
                    .index(
                        Index::create()
                            .unique()
                            .col(Submissions::AssignmentId)
                            .col(Submissions::StudentId)
                            .col(Submissions::Attempt),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Extensions::Table)
                    .col(pk_auto(Extensions::Id))
                    .col(integer(Extensions::AssignmentId))
                    .col(integer(Extensions::StudentId))
                    .col(timestamp_with_time_zone(Extensions::Until))
                    .col(text(Extensions::Reason))
                    .col(integer(Extensions::GrantedBy))
                    .col(timestamp_with_time_zone(Extensions::GrantedAt))
                    .foreign_key(&mut foreign_key(
                        (Extensions::Table, Extensions::AssignmentId),
                        (Assignments::Table, Assignments::Id),
                    ))
                    .foreign_key(&mut foreign_key(
                        (Extensions::Table, Extensions::StudentId),
                        (Users::Table, Users::Id),
                    ))
                    .foreign_key(&mut foreign_key(
                        (Extensions::Table, Extensions::GrantedBy),
                        (Users::Table, Users::Id),
                    ))
                    .index(
                        Index::create()
                            .unique()
                            .col(Extensions::AssignmentId)
                            .col(Extensions::StudentId),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ApiTokens::Table)
                    .col(pk_auto(ApiTokens::Id))
                    .col(integer(ApiTokens::UserId))
                    .col(string_uniq(ApiTokens::TokenHash))
                    .col(timestamp_with_time_zone(ApiTokens::CreatedAt))
                    .col(timestamp_with_time_zone(ApiTokens::ExpiresAt))
                    .col(timestamp_with_time_zone_null(ApiTokens::RevokedAt))
                    .foreign_key(&mut foreign_key(
                        (ApiTokens::Table, ApiTokens::UserId),
                        (Users::Table, Users::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ExtensionRequests::Table)
                    .col(pk_auto(ExtensionRequests::Id))
                    .col(integer(ExtensionRequests::AssignmentId))
                    .col(integer(ExtensionRequests::StudentId))
                    .col(timestamp_with_time_zone(ExtensionRequests::RequestedUntil))
                    .col(text(ExtensionRequests::Reason))
                    .col(string_null(ExtensionRequests::EvidencePath))
                    .col(string_null(ExtensionRequests::EvidenceName))
                    .col(string(ExtensionRequests::State))
                    .col(text(ExtensionRequests::Comment).default(""))
                    .col(timestamp_with_time_zone_null(
                        ExtensionRequests::GrantedUntil,
                    ))
                    .col(integer_null(ExtensionRequests::DecidedBy))
                    .col(timestamp_with_time_zone_null(ExtensionRequests::DecidedAt))
                    .col(timestamp_with_time_zone(ExtensionRequests::CreatedAt))
                    .foreign_key(&mut foreign_key(
                        (ExtensionRequests::Table, ExtensionRequests::AssignmentId),
                        (Assignments::Table, Assignments::Id),
                    ))
                    .foreign_key(&mut foreign_key(
                        (ExtensionRequests::Table, ExtensionRequests::StudentId),
                        (Users::Table, Users::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .col(pk_auto(AuditLog::Id))
                    .col(timestamp_with_time_zone(AuditLog::At))
                    .col(integer_null(AuditLog::ActorId))
                    .col(string(AuditLog::Action))
                    .col(integer_null(AuditLog::CourseId))
                    .col(integer_null(AuditLog::AssignmentId))
                    .col(integer_null(AuditLog::StudentId))
                    .col(text_null(AuditLog::Before))
                    .col(text_null(AuditLog::After))
                    .col(text(AuditLog::Details))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
