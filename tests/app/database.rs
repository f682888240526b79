//! The database a test runs on. By default an SQLite file in the test's
//! folder; with `HANDIN_TEST_DATABASE_URL=postgres://…` set, a PostgreSQL
//! database of the test's own, created on first use, named in the folder
//! (so the server binary started on that folder finds it too), and dropped
//! with the folder ([`TestDir`]). Databases left by a run that died are
//! dropped by the next run; a run still going keeps its own.

#![allow(dead_code)]

use std::path::Path;
use std::sync::Once;

use sea_orm::{ConnectionTrait, Database, DatabaseBackend, Statement};

pub const VARIABLE: &str = "HANDIN_TEST_DATABASE_URL";
/// The file in a test's folder that names its PostgreSQL database.
const NAMED_IN: &str = "database-url";
const PREFIX: &str = "handin_test_";

/// The PostgreSQL server the tests use, if any.
pub fn postgres() -> Option<String> {
    std::env::var(VARIABLE).ok().filter(|url| !url.is_empty())
}

/// The `database` setting for a test folder.
pub fn for_dir(dir: &Path) -> String {
    match postgres() {
        None => dir.join("handin.sqlite").display().to_string(),
        Some(server) => postgres_for_dir(&server, dir),
    }
}

/// A PostgreSQL database of the folder's own on `server` (made on first use).
pub fn postgres_for_dir(server: &str, dir: &Path) -> String {
    if let Ok(url) = std::fs::read_to_string(dir.join(NAMED_IN)) {
        return url;
    }
    static REAP: Once = Once::new();
    REAP.call_once(|| drop_leftovers(server));
    let name = format!(
        "{PREFIX}{}_{}",
        std::process::id(),
        hex::encode(rand::random::<[u8; 6]>())
    );
    run(server, vec![format!("CREATE DATABASE {name}")]);
    let url = with_name(server, &name);
    std::fs::write(dir.join(NAMED_IN), &url).unwrap();
    url
}

/// Replaces a folder's database with an empty one (a server pointed at a
/// new database by mistake).
pub fn forget(dir: &Path) {
    match postgres() {
        None => {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(dir.join(format!("handin.sqlite{suffix}")));
            }
        }
        Some(server) => {
            if let Some(name) = name_in(dir) {
                run(
                    &server,
                    vec![
                        format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                        format!("CREATE DATABASE {name}"),
                    ],
                );
            }
        }
    }
}

/// Drops the folder's PostgreSQL database, if it has one.
pub fn drop_for_dir(dir: &Path) {
    if let Some(server) = postgres() {
        drop_on(&server, dir);
    }
}

/// Drops the folder's database on `server`, if it has one there.
pub fn drop_on(server: &str, dir: &Path) {
    if let Some(name) = name_in(dir) {
        run(
            server,
            vec![format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")],
        );
    }
}

fn name_in(dir: &Path) -> Option<String> {
    let url = std::fs::read_to_string(dir.join(NAMED_IN)).ok()?;
    let name = url.rsplit('/').next()?.to_string();
    name.starts_with(PREFIX).then_some(name)
}

fn with_name(server: &str, name: &str) -> String {
    let mut url = url::Url::parse(server).expect("HANDIN_TEST_DATABASE_URL is a URL");
    url.set_path(name);
    url.to_string()
}

/// Drops test databases whose process is gone (a run killed before its
/// folders were dropped).
fn drop_leftovers(server: &str) {
    let names = query(
        server,
        &format!("SELECT datname FROM pg_database WHERE datname LIKE '{PREFIX}%'"),
    );
    let gone: Vec<String> = names
        .into_iter()
        .filter(|name| {
            let pid = name[PREFIX.len()..].split('_').next().unwrap_or("");
            !Path::new("/proc").join(pid).exists()
        })
        .map(|name| format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .collect();
    run(server, gone);
}

/// Runs statements on the server's own database, from any context (tests
/// call this from sync and async code alike: it has a runtime of its own).
fn run(server: &str, statements: Vec<String>) {
    let server = server.to_string();
    on_own_runtime(async move {
        let db = Database::connect(&server).await.unwrap();
        for statement in statements {
            db.execute_unprepared(&statement).await.unwrap();
        }
        let _ = db.close().await;
    });
}

fn query(server: &str, sql: &str) -> Vec<String> {
    let (server, sql) = (server.to_string(), sql.to_string());
    on_own_runtime(async move {
        let db = Database::connect(&server).await.unwrap();
        let rows = db
            .query_all_raw(Statement::from_string(DatabaseBackend::Postgres, sql))
            .await
            .unwrap();
        let _ = db.close().await;
        rows.iter()
            .map(|row| row.try_get_by_index::<String>(0).unwrap())
            .collect()
    })
}

pub fn on_own_runtime<T: Send + 'static>(
    work: impl std::future::Future<Output = T> + Send + 'static,
) -> T {
    std::thread::spawn(move || {
        rocket::tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(work)
    })
    .join()
    .unwrap()
}

/// A test's temporary folder, which takes its PostgreSQL database (if it
/// has one) with it when dropped.
pub struct TestDir(tempfile::TempDir);

impl TestDir {
    pub fn new() -> TestDir {
        TestDir(tempfile::tempdir().unwrap())
    }

    pub fn new_in(parent: &Path) -> TestDir {
        TestDir(tempfile::Builder::new().tempdir_in(parent).unwrap())
    }

    pub fn path(&self) -> &Path {
        self.0.path()
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        drop_for_dir(self.0.path());
    }
}
