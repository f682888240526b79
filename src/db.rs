//! Opening the database, SQLite or PostgreSQL by its address, with the
//! migrations applied; and the one kind of write transaction the use cases
//! need, made safe on both engines.
//!
//! SQLite (the default, one file): WAL, a busy timeout, full fsync and
//! foreign keys. PostgreSQL (several instances on one database): the same
//! schema from the same migrations.

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection,
    DatabaseTransaction, DbErr, SqlErr, SqliteTransactionMode, Statement, TransactionOptions,
    TransactionTrait,
};

/// Where the data lives, from the `database` setting: `postgres://…` (or
/// `postgresql://…`), `sqlite://…`, or a plain path to an SQLite file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    Sqlite(String),
    Postgres(String),
}

impl Address {
    pub fn parse(setting: &str) -> Address {
        if setting.starts_with("postgres://") || setting.starts_with("postgresql://") {
            Address::Postgres(setting.to_string())
        } else if let Some(path) = setting.strip_prefix("sqlite://") {
            Address::Sqlite(path.to_string())
        } else {
            Address::Sqlite(setting.to_string())
        }
    }

    /// For messages and logs: the address with any password hidden.
    pub fn shown(&self) -> String {
        match self {
            Address::Sqlite(path) => path.clone(),
            Address::Postgres(text) => match url::Url::parse(text) {
                Ok(mut parsed) => {
                    if parsed.password().is_some() {
                        let _ = parsed.set_password(Some("hidden"));
                    }
                    // Options may carry a password too (`?password=…`).
                    parsed.set_query(None);
                    parsed.to_string()
                }
                Err(_) => "a PostgreSQL address that does not parse".to_string(),
            },
        }
    }
}

pub async fn connect(setting: &str) -> Result<DatabaseConnection, DbErr> {
    let db = match Address::parse(setting) {
        Address::Sqlite(path) => connect_sqlite(&path).await?,
        Address::Postgres(url) => connect_postgres(&url).await?,
    };
    migrate(&db).await?;
    Ok(db)
}

async fn connect_sqlite(path: &str) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(format!("sqlite://{path}"));
    options
        // Readers run in parallel under WAL; writers queue on IMMEDIATE.
        .max_connections(8)
        .min_connections(1)
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|o| {
            o.create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                // A submission is evidence: FULL survives power loss, not only crashes.
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(30))
                .foreign_keys(true)
        });
    Database::connect(options).await
}

async fn connect_postgres(url: &str) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.to_string());
    options
        // Each instance keeps a modest pool: several instances share the
        // server's connection limit (100 by default).
        .max_connections(16)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(30))
        .sqlx_logging(false);
    Database::connect(options).await
}

/// Applies the migrations. Several instances may start at once: on
/// PostgreSQL they take turns under an advisory lock, so only the first
/// migrates and the others find the work done.
async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    if db.get_database_backend() != DatabaseBackend::Postgres {
        return Migrator::up(db, None).await;
    }
    // A session-level lock on one pooled connection would be held by that
    // connection only; a transaction-level lock is released at its end, so
    // the migrations run inside the locking transaction.
    let txn = db.begin().await?;
    lock(&txn, MIGRATIONS_LOCK).await?;
    Migrator::up(&txn, None).await?;
    txn.commit().await
}

/// Keys for PostgreSQL advisory locks (any two distinct numbers would do).
const MIGRATIONS_LOCK: i64 = 0x68616e64_696e0001;
const WRITE_LOCK: i64 = 0x68616e64_696e0002;

async fn lock(txn: &DatabaseTransaction, key: i64) -> Result<(), DbErr> {
    txn.execute_raw(Statement::from_sql_and_values(
        DatabaseBackend::Postgres,
        "SELECT pg_advisory_xact_lock($1)",
        [key.into()],
    ))
    .await
    .map(|_| ())
}

/// A write transaction for read-then-write use cases (is there an open
/// request? an extension already?): writers take turns, so what a writer
/// read is still true when it writes. On SQLite the write lock is taken at
/// BEGIN (IMMEDIATE), so the transaction cannot fail later with "locked";
/// on PostgreSQL every instance's writers queue on one advisory lock, held
/// until commit or rollback. These transactions are short and rare
/// (administration, requests); uploads use [`begin_attempt`] instead.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    let txn = begin_immediate(db).await?;
    if db.get_database_backend() == DatabaseBackend::Postgres {
        lock(&txn, WRITE_LOCK).await?;
    }
    Ok(txn)
}

/// The evidence log's appends take turns: its positions are gapless, and
/// each checkpoint covers every entry before it. On SQLite the write lock
/// already does this; on PostgreSQL, an advisory lock held until commit.
const LOG_LOCK: i64 = 0x68616e64_696e0003;

pub async fn lock_log(txn: &impl ConnectionTrait) -> Result<(), DbErr> {
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        txn.execute_raw(Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            "SELECT pg_advisory_xact_lock($1)",
            [LOG_LOCK.into()],
        ))
        .await?;
    }
    Ok(())
}

/// A transaction for recording an attempt. On SQLite it queues on the
/// write lock like [`begin_write`]; on PostgreSQL it takes no lock, so
/// uploads from every instance run side by side, and the unique index on
/// (assignment, student, attempt) turns a race for the same number into a
/// conflict that the caller retries (see [`is_conflict`]).
pub async fn begin_attempt(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    begin_immediate(db).await
}

async fn begin_immediate(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

/// Whether an error is a unique constraint refusing a row another writer
/// got in first: worth retrying, never a server error.
pub fn is_conflict(error: &DbErr) -> bool {
    matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

/// Whether the database answers (for `/readyz`).
pub async fn ping(db: &DatabaseConnection) -> Result<(), DbErr> {
    db.ping().await
}

#[cfg(test)]
mod tests {
    use super::Address;

    #[test]
    fn the_setting_names_the_engine() {
        assert_eq!(
            Address::parse("handin.sqlite"),
            Address::Sqlite("handin.sqlite".into())
        );
        assert_eq!(
            Address::parse("sqlite:///var/lib/handin/db.sqlite"),
            Address::Sqlite("/var/lib/handin/db.sqlite".into())
        );
        assert_eq!(
            Address::parse("postgres://handin@db/handin"),
            Address::Postgres("postgres://handin@db/handin".into())
        );
        assert_eq!(
            Address::parse("postgresql://db/handin"),
            Address::Postgres("postgresql://db/handin".into())
        );
    }

    #[test]
    fn a_password_is_never_shown() {
        let shown = Address::parse("postgres://handin:s3cret@db:5432/handin").shown();
        assert_eq!(shown, "postgres://handin:hidden@db:5432/handin");
        assert!(!shown.contains("s3cret"));
        let shown = Address::parse("postgres://handin@db/handin").shown();
        assert_eq!(shown, "postgres://handin@db/handin");
        let shown = Address::parse("postgres://db/handin?user=h&password=s3cret").shown();
        assert_eq!(shown, "postgres://db/handin");
    }
}
