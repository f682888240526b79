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
    /// Re-hash every stored bundle against the database, and rebuild the
    /// evidence log and check it; exits 1 if anything is missing or changed.
    Verify,
    /// The key receipts and checkpoints are signed with.
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// Check a saved receipt file without trusting handin's database.
    Receipt {
        #[command(subcommand)]
        command: ReceiptCommand,
    },
    /// Watch a handin's evidence log from outside.
    Log {
        #[command(subcommand)]
        command: LogCommand,
    },
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
enum KeyCommand {
    /// Print the signing key's id, its public JWK and its verifier key.
    Show,
    /// Make a new signing key (the old one is kept beside it, retired, and
    /// stays listed in the JWKS); restart every instance afterwards.
    Rotate,
}

#[derive(Subcommand)]
enum ReceiptCommand {
    /// Check a receipt file: its signature, the bundle's SHA-256 (with
    /// --bundle) and its inclusion in the log; says what that proves.
    Verify {
        receipt: std::path::PathBuf,
        /// The bundle that was handed in.
        #[arg(long)]
        bundle: Option<std::path::PathBuf>,
        /// handin's keys: a saved /.well-known/jwks.json.
        #[arg(long, conflicts_with = "from")]
        jwks: Option<std::path::PathBuf>,
        /// Or handin's address (`https://handin.example.ac.uk`), to fetch
        /// its keys from. The receipt's own word on where its keys are is
        /// never taken: anyone can sign a file with a key of their own.
        #[arg(long)]
        from: Option<String>,
    },
}

#[derive(Subcommand)]
enum LogCommand {
    /// Fetch the log's latest checkpoint, check that it extends the last
    /// one seen (kept in --state), and keep it: exits 1 if the log was
    /// rewritten.
    Monitor {
        /// handin's address (`https://handin.example.ac.uk`).
        url: String,
        #[arg(long)]
        state: std::path::PathBuf,
        /// After a key rotation: the log's new verifier key, as handin's
        /// operators announce it (`handin key show`). Without it, a
        /// checkpoint signed by another key than the one kept is an alarm.
        #[arg(long)]
        new_key: Option<String>,
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
        Command::Key {
            command: KeyCommand::Show,
        } => key_show(),
        Command::Key {
            command: KeyCommand::Rotate,
        } => key_rotate().await,
        Command::Receipt {
            command:
                ReceiptCommand::Verify {
                    receipt,
                    bundle,
                    jwks,
                    from,
                },
        } => {
            receipt_verify(
                &receipt,
                bundle.as_deref(),
                (jwks.as_deref(), from.as_deref()),
            )
            .await
        }
        Command::Log {
            command:
                LogCommand::Monitor {
                    url,
                    state,
                    new_key,
                },
        } => log_monitor(&url, &state, new_key.as_deref()).await,
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
        "Moved into {shown}. Point `database` (and `storage`) at it, give every instance the \
         signing key file ({}), then run `handin verify`.",
        app.config.signing_key_path().display()
    );
    Ok(())
}

fn config() -> Result<AppConfig, String> {
    AppConfig::from_figment(&rocket::Config::figment())
}

async fn open() -> Result<handin::App, String> {
    handin::open(config()?, Arc::new(SystemClock)).await
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
    let report = catalogue::import_file(&app, &text, &change)
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
    let log = verifying::verify_log(&app)
        .await
        .map_err(|e| e.to_string())?;
    for problem in &log.problems {
        println!("PROBLEM {problem}");
    }
    println!(
        "Rebuilt the evidence log from its {} entries and checked its {} checkpoints: {} problem(s).",
        log.entries,
        log.checkpoints,
        log.problems.len()
    );
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
    if report.problems.is_empty() && report.feedback_problems.is_empty() && log.problems.is_empty()
    {
        Ok(())
    } else {
        Err(format!(
            "{} bundle(s), {} feedback file(s) and {} log entries or checkpoints failed verification",
            report.problems.len(),
            report.feedback_problems.len(),
            log.problems.len()
        ))
    }
}

fn key_show() -> Result<(), String> {
    let config = config()?;
    let path = config.signing_key_path();
    let signer = handin::evidence::keys::load_or_create(&path)?;
    let origin = config.log_origin()?;
    println!("key file:     {}", path.display());
    println!("key id (kid): {}", signer.kid());
    println!(
        "public JWK:   {}",
        serde_json::to_string(&signer.jwk).map_err(|e| e.to_string())?
    );
    println!("log:          {origin}");
    println!(
        "note key:     {}",
        handin::evidence::note::verifier_key(&origin, &signer.public_key())
    );
    Ok(())
}

async fn key_rotate() -> Result<(), String> {
    let config = config()?;
    let (old, new) = handin::evidence::keys::rotate(&config.signing_key_path())?;
    let app = open().await?;
    handin::models::log::publish_key(&app.db, &new, chrono::Utc::now())
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "The signing key is now {} (was {}, which stays published as retired). \
         Restart every instance: each reads the key when it starts.",
        new.kid(),
        old.kid()
    );
    Ok(())
}

async fn fetch_text(url: &str) -> Result<String, String> {
    // A server that stops answering must not hold a monitor's cron job forever.
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .map_err(|e| e.to_string())?;
    let response = client
        .get(url)
        .send()
        .await
        .map_err(|e| format!("cannot fetch {url}: {e}"))?;
    if !response.status().is_success() {
        return Err(format!("{url} answered {}", response.status()));
    }
    response
        .text()
        .await
        .map_err(|e| format!("cannot read {url}: {e}"))
}

fn read_json(path: &std::path::Path) -> Result<serde_json::Value, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{} is not JSON: {e}", path.display()))
}

async fn receipt_verify(
    receipt: &std::path::Path,
    bundle: Option<&std::path::Path>,
    (jwks, from): (Option<&std::path::Path>, Option<&str>),
) -> Result<(), String> {
    use handin::services::evidence::check_receipt;
    let file = read_json(receipt)?;
    let keys = match (jwks, from) {
        (Some(path), _) => read_json(path)?,
        (None, Some(url)) => {
            let url = format!("{}/.well-known/jwks.json", url.trim_end_matches('/'));
            serde_json::from_str(&fetch_text(&url).await?).map_err(|e| e.to_string())?
        }
        (None, None) => {
            return Err("say whose keys to trust: --jwks FILE (a saved \
                        /.well-known/jwks.json) or --from https://handin.example.ac.uk"
                .into());
        }
    };
    let digest = match bundle {
        None => None,
        Some(path) => {
            use sha2::Digest;
            use std::io::Read;
            let mut hasher = sha2::Sha256::new();
            let mut file = std::fs::File::open(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let mut buffer = vec![0; 1 << 16];
            loop {
                let n = file.read(&mut buffer).map_err(|e| e.to_string())?;
                if n == 0 {
                    break;
                }
                hasher.update(&buffer[..n]);
            }
            Some(hex::encode(hasher.finalize()))
        }
    };
    let found = check_receipt(&file, &keys, digest.as_deref());
    for line in &found.proved {
        println!("PROVED {line}");
    }
    for line in &found.failed {
        println!("FAILED {line}");
    }
    if found.failed.is_empty() && !found.proved.is_empty() {
        println!("The receipt is genuine.");
        Ok(())
    } else {
        Err("the receipt does not check".into())
    }
}

async fn log_monitor(
    url: &str,
    state: &std::path::Path,
    new_key: Option<&str>,
) -> Result<(), String> {
    use handin::services::evidence::{Watched, check_progress, entries};
    let base = url.trim_end_matches('/');
    let last: Option<Watched> = match std::fs::read_to_string(state) {
        Ok(text) => {
            Some(serde_json::from_str(&text).map_err(|e| format!("{}: {e}", state.display()))?)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(format!("cannot read {}: {e}", state.display())),
    };
    let note = fetch_text(&format!("{base}/log/checkpoint")).await?;
    let keys: serde_json::Value =
        serde_json::from_str(&fetch_text(&format!("{base}/.well-known/jwks.json")).await?)
            .map_err(|e| e.to_string())?;
    let size: u64 = note
        .lines()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("the checkpoint has no tree size")?;
    let proof = match &last {
        Some(last) if last.size < size => Some(
            serde_json::from_str::<serde_json::Value>(
                &fetch_text(&format!(
                    "{base}/log/consistency?old={}&new={size}",
                    last.size
                ))
                .await?,
            )
            .map_err(|e| e.to_string())?,
        ),
        _ => None,
    };
    let seen = check_progress(last.as_ref(), &note, (&keys, new_key), proof.as_ref())
        .map_err(|why| format!("ALERT: {why}"))?;
    let text = serde_json::to_string_pretty(&seen).map_err(|e| e.to_string())?;
    let partial = state.with_extension("partial");
    std::fs::write(&partial, text).map_err(|e| e.to_string())?;
    std::fs::rename(&partial, state).map_err(|e| e.to_string())?;
    match last {
        None => println!(
            "First look at {}: {}; its key is {}.",
            seen.origin,
            entries(seen.size),
            seen.verifier_key
        ),
        Some(last) => println!(
            "{}: {}, consistent with the {} seen before.",
            seen.origin,
            entries(seen.size),
            entries(last.size)
        ),
    }
    Ok(())
}
