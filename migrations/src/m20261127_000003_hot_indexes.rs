//! Indexes for the lookups pages make at the deadline, found by the
//! query-plan test (`tests/app/plans.rs`): a course's students, a
//! student's requests on an assignment, an assignment's requests, and the
//! audit log's filters.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ExtensionRequests {
    Table,
    AssignmentId,
    StudentId,
}

#[derive(DeriveIden)]
enum Enrolments {
    Table,
    CourseId,
    Role,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    CourseId,
    AssignmentId,
    StudentId,
    Action,
}

/// (name, table, columns) of every index this step adds.
fn indexes() -> Vec<(&'static str, DynIden, Vec<DynIden>)> {
    vec![
        (
            "enrolments_by_course",
            Enrolments::Table.into_iden(),
            vec![
                Enrolments::CourseId.into_iden(),
                Enrolments::Role.into_iden(),
            ],
        ),
        (
            "requests_by_assignment_student",
            ExtensionRequests::Table.into_iden(),
            vec![
                ExtensionRequests::AssignmentId.into_iden(),
                ExtensionRequests::StudentId.into_iden(),
            ],
        ),
        (
            "audit_by_course",
            AuditLog::Table.into_iden(),
            vec![AuditLog::CourseId.into_iden()],
        ),
        (
            "audit_by_assignment",
            AuditLog::Table.into_iden(),
            vec![AuditLog::AssignmentId.into_iden()],
        ),
        (
            "audit_by_student",
            AuditLog::Table.into_iden(),
            vec![AuditLog::StudentId.into_iden()],
        ),
        (
            "audit_by_action",
            AuditLog::Table.into_iden(),
            vec![AuditLog::Action.into_iden()],
        ),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, table, columns) in indexes() {
            let mut index = Index::create();
            index.name(name).table(table);
            for column in columns {
                index.col(column);
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, table, _) in indexes() {
            manager
                .drop_index(Index::drop().name(name).table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
