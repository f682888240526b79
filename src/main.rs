//! The `handin` command: serves the app by default, and administers it.

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use handin::clock::{Clock, SystemClock};
use handin::config::AppConfig;
use handin::error::Error;
use handin::models::api_token;
use handin::models::user::{self, Account, Role};
use handin::services::{catalogue, roster, verify as verifying};

#[derive(Parser)]
#[command(
    name = "handin",
    version,
    about = "Lab and coursework handin: timestamped, hashed, judged against each student's deadline."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the web app and API (the default).
    Serve,
    /// Create or update courses, assignments and deadlines from a TOML file.
    Import { file: std::path::PathBuf },
    /// Manage accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Rosters: users and their enrolments from a CSV.
    Roster {
        #[command(subcommand)]
        command: RosterCommand,
    },
    /// Print a new API token for a user, or revoke all of theirs.
    Token {
        username: String,
        /// How many days the token is valid.
        #[arg(long, default_value_t = api_token::DEFAULT_DAYS)]
        days: u32,
        /// Revoke every token of the user instead.
        #[arg(long)]
        revoke: bool,
    },
    /// Re-hash every stored bundle against the database; exits 1 if any is
    /// missing or changed.
    Verify,
    /// Move this installation (its database, and with --storage its files)
    /// into a new, empty database: SQLite into PostgreSQL, a folder into a
    /// bucket. Every row is counted and every file hashed on the way.
    Transfer {
        /// The target database: `postgres://user@host/name` (or an SQLite path).
        #[arg(long)]
        to: String,
        /// The target store: a folder, or `s3://BUCKET/PREFIX` (with the
        /// `s3_*` settings or `AWS_*` variables). Unset: files stay where they are.
        #[arg(long)]
        storage: Option<String>,
    },
}

#[derive(Subcommand)]
enum RosterCommand {
    /// Import `username,name,email,role,course` lines: existing users are
    /// updated, new ones created (their first passwords are printed), and
    /// enrolments added. A file with any bad line changes nothing.
    Import { file: std::path::PathBuf },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user (or update an existing one). The password is read from
    /// stdin; with no stdin, one is generated and printed.
    Add {
        username: String,
        #[arg(long)]
        role: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        email: Option<String>,
        /// Enrol the user in this course (as a student, or as a marker for markers and admins).
        #[arg(long)]
        course: Option<String>,
    },
    /// End every browser session of a user (a lost laptop, a shared
    /// machine): they must log in again.
    Logout { username: String },
    /// Forget which university identity the account belongs to (the
    /// university gave the username to someone new): the next person who
    /// signs in under that name through single sign-on gets it.
    Unlink { username: String },
}

#[rocket::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve().await,
        Command::Import { file } => import(&file).await,
        Command::User {
            command:
                UserCommand::Add {
                    username,
                    role,
                    name,
                    email,
                    course,
                },
        } => add_user(&username, &role, name, email, course).await,
        Command::User {
            command: UserCommand::Logout { username },
        } => logout(&username).await,
        Command::User {
            command: UserCommand::Unlink { username },
        } => unlink(&username).await,
        Command::Roster {
            command: RosterCommand::Import { file },
        } => roster(&file).await,
        Command::Token {
            username,
            days,
            revoke,
        } => token(&username, days, revoke).await,
        Command::Verify => verify().await,
        Command::Transfer { to, storage } => transfer(&to, storage).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("handin: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn serve() -> Result<(), String> {
    let ready = handin::rocket().ignite().await.map_err(|e| e.to_string())?;
    handin::exit_when_idle(&ready);
    let stopped = ready.launch().await.map_err(|e| e.to_string())?;
    if let Some(app) = stopped.state::<handin::App>() {
        handin::retire(app).await;
    }
    Ok(())
}

async fn transfer(to: &str, storage: Option<String>) -> Result<(), String> {
    use handin::services::transfer::{self, Target};
    let app = open().await?;
    let shown = handin::db::Address::parse(to).shown();
    let target_db = handin::db::connect(to)
        .await
        .map_err(|e| format!("cannot open the target database {shown}: {e}"))?;
    let target_uploads = match storage {
        None => None,
        Some(storage) => {
            let config = AppConfig {
                storage: Some(storage),
                ..app.config.clone()
            };
            let place = config.place()?;
            let uploads = handin::storage::Uploads::open(&place, "transfer")
                .await
                .map_err(|e| format!("cannot open the target storage {}: {e}", place.shown()))?;
            Some(uploads)
        }
    };
    let target = Target {
        db: &target_db,
        uploads: target_uploads.as_ref(),
    };
    let moved = transfer::transfer(&app.db, &app.uploads, target)
        .await
        .map_err(say)?;
    for (table, rows) in &moved.tables {
        println!("{table:>20}: {rows} rows");
    }
    if target_uploads.is_some() {
        println!(
            "{:>20}: {} files, {} bytes, each SHA-256 checked",
            "files", moved.files, moved.bytes
        );
    }
    println!(
        "Moved into {shown}. Point `database` (and `storage`) at it, then run `handin verify`."
    );
    Ok(())
}

async fn open() -> Result<handin::App, String> {
    let config = AppConfig::from_figment(&rocket::Config::figment())?;
    handin::open(config, Arc::new(SystemClock)).await
}

/// An error as the command line says it: every problem on its own line.
fn say(error: Error) -> String {
    match error {
        Error::Invalid(problems) => format!("nothing was changed:\n  {}", problems.join("\n  ")),
        other => other.to_string(),
    }
}

async fn import(file: &std::path::Path) -> Result<(), String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let app = open().await?;
    let reason = format!("handin import {}", file.display());
    let change = catalogue::Change {
        actor_id: None,
        at: SystemClock.now(),
        reason: &reason,
    };
    let report = catalogue::import_file(&app.db, &app.config, &text, &change)
        .await
        .map_err(say)?;
    println!("Imported {}: {report}.", file.display());
    Ok(())
}

async fn roster(file: &std::path::Path) -> Result<(), String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let app = open().await?;
    let report = roster::import(&app, &text, None)
        .await
        .map_err(|e| match e {
            Error::Invalid(problems) => {
                format!("nothing was imported:\n  {}", problems.join("\n  "))
            }
            other => other.to_string(),
        })?;
    println!(
        "Imported {}: {} created, {} updated, {} enrolments.",
        file.display(),
        report.created.len(),
        report.updated,
        report.enrolments
    );
    if !report.created.is_empty() {
        println!("First passwords of the new accounts (shown once):\nusername,password");
        for (username, password) in &report.created {
            println!("{username},{password}");
        }
    }
    Ok(())
}

async fn add_user(
    username: &str,
    role: &str,
    name: Option<String>,
    email: Option<String>,
    course_code: Option<String>,
) -> Result<(), String> {
    let role = Role::parse(role)?;
    user::check_username(username)?;
    let app = open().await?;
    let stdin = std::io::stdin();
    let typed = if stdin.is_terminal() {
        None
    } else {
        let mut line = String::new();
        stdin
            .lock()
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        Some(line.trim_end_matches(['\r', '\n']).to_string()).filter(|p| !p.is_empty())
    };
    let generated = typed.is_none();
    let password = typed.unwrap_or_else(user::generate_password);
    let account = Account {
        username: username.to_string(),
        display_name: name.unwrap_or_else(|| username.to_string()),
        email: email.unwrap_or_default(),
        role,
    };
    let added = roster::add(&app, &account, &password, course_code.as_deref())
        .await
        .map_err(|e| e.to_string())?;
    match added.enrolled {
        Some((code, enrolled_as)) => println!(
            "{username} ({}) is enrolled in {code} as {}.",
            role.as_str(),
            enrolled_as.as_str()
        ),
        None => println!("{username} ({}) is saved.", role.as_str()),
    }
    if generated {
        println!("password: {password}");
    }
    Ok(())
}

async fn logout(username: &str) -> Result<(), String> {
    let app = open().await?;
    let ended = handin::services::accounts::end_sessions_of(&app, None, username)
        .await
        .map_err(|e| e.to_string())?;
    println!("Ended {ended} session(s) of {username}.");
    Ok(())
}

async fn unlink(username: &str) -> Result<(), String> {
    let app = open().await?;
    handin::services::sign_in::unlink(&app, None, username)
        .await
        .map_err(|e| e.to_string())?;
    println!("{username} no longer belongs to a university identity; their sessions ended.");
    Ok(())
}

async fn token(username: &str, days: u32, revoke: bool) -> Result<(), String> {
    let app = open().await?;
    let user = user::find_by_username(&app.db, username)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("there is no user {username}"))?;
    if revoke {
        let count = api_token::revoke_all(&app.db, user.id, SystemClock.now())
            .await
            .map_err(|e| e.to_string())?;
        println!("Revoked {count} token(s) of {username}.");
        return Ok(());
    }
    let token = api_token::issue(&app.db, user.id, SystemClock.now(), days)
        .await
        .map_err(|e| e.to_string())?;
    println!("{token}");
    Ok(())
}

async fn verify() -> Result<(), String> {
    let app = open().await?;
    let started = std::time::Instant::now();
    let mut last_report = std::time::Instant::now();
    let report = verifying::verify_all(&app, |done, total, bytes| {
        // Progress on stderr, at most twice a second, so a long run shows life.
        if done == total || last_report.elapsed().as_millis() >= 500 {
            last_report = std::time::Instant::now();
            eprint!(
                "\rverified {done}/{total} bundles, {:.1} MiB",
                bytes as f64 / 1_048_576.0
            );
        }
    })
    .await
    .map_err(|e| e.to_string())?;
    eprintln!();
    for problem in &report.problems {
        println!("PROBLEM {problem}");
    }
    for problem in &report.feedback_problems {
        println!("PROBLEM {problem}");
    }
    println!(
        "Checked {} bundles ({:.1} MiB) and {} feedback files in {:.1} s: {} problem(s).",
        report.checked,
        report.bytes as f64 / 1_048_576.0,
        report.feedback_checked,
        started.elapsed().as_secs_f64(),
        report.problems.len() + report.feedback_problems.len()
    );
    if report.problems.is_empty() && report.feedback_problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} bundle(s) and {} feedback file(s) failed verification",
            report.problems.len(),
            report.feedback_problems.len()
        ))
    }
}
