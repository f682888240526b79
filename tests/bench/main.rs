//! The benchmark: `cargo bench` (release build). It starts the real server
//! binary on loopback and prints figures; it asserts nothing about speed.
//!
//! 1. One bundle of 10, 100 and 500 MiB uploaded over HTTP, beside
//!    `openssl dgst -sha256` and `cp` of the same file, with the server's
//!    peak RSS during each upload.
//! 2. The deadline rush: 300 students send 5 MiB each at once.
//!    2b. What signing each receipt and appending it to the evidence log
//!    adds to an upload, set against that rush (`evidence.rs`).
//! 3. Download-all of those 300 bundles, beside `zip -0 -r` of the same files.
//! 4. The marker's page with 1,000 students x 3 attempts.
//! 5. A university's year (20,000 students, a million attempts) and the
//!    deadline-day pages timed against it (`year.rs`).
//!
//! Each part runs on SQLite with a folder, then on PostgreSQL with an
//! S3-compatible bucket (a Garage the benchmark starts, as the tests do), so
//! the figures stand side by side. PostgreSQL is the server named by
//! HANDIN_BENCH_POSTGRES (default postgres://postgres@127.0.0.1:5432/test);
//! HANDIN_BENCH_BACKENDS=sqlite (or =postgres) runs one of the two.
//!
//! Set HANDIN_BENCH_QUICK=1 for a small run (sizes / 10, 30 students),
//! HANDIN_BENCH_SIZES=10,1000 for other bundle sizes (MiB) in part 1, and
//! HANDIN_BENCH_PAGE_ONLY=1 for part 4 alone, HANDIN_BENCH_YEAR_ONLY=1 for
//! part 5 alone.

#[path = "../app/database.rs"]
mod database;
mod evidence;
#[path = "../app/fixture.rs"]
mod fixture;
#[path = "../app/garage.rs"]
mod garage;
#[path = "../app/server.rs"]
mod server;
mod year;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use handin::models::{api_token, submission, user};
use sea_orm::{ActiveModelTrait, ActiveValue::Set};
use server::Server;
use zip::write::SimpleFileOptions;

const BINARY: &str = env!("CARGO_BIN_EXE_handin");
const MIB: u64 = 1024 * 1024;
/// How many of the 1,000 students in part 4 hand in 10,000-entry bundles.
const HEAVY: i64 = 20;

/// Where one run keeps its data: a database and a store.
struct Backend {
    name: &'static str,
    root: PathBuf,
    database: String,
    /// `s3://…` on the benchmark's Garage; none: the folder `root/uploads`.
    storage: Option<String>,
    /// The PostgreSQL server the database is on, to drop it afterwards.
    postgres: Option<String>,
}

impl Backend {
    fn new(name: &'static str, root: &Path, postgres: Option<String>, bucket: bool) -> Backend {
        let root = root.join(name.split_whitespace().next().unwrap().to_lowercase());
        std::fs::create_dir_all(&root).unwrap();
        let database = match &postgres {
            Some(server) => database::postgres_for_dir(server, &root),
            None => root.join("handin.sqlite").display().to_string(),
        };
        Backend {
            name,
            database,
            storage: bucket.then(garage::fresh_storage),
            postgres,
            root,
        }
    }

    /// The settings the server binary gets, as `ROCKET_…` variables.
    fn settings(&self) -> Vec<(String, String)> {
        let mut settings = vec![("ROCKET_DATABASE".to_string(), self.database.clone())];
        if let Some(storage) = &self.storage {
            settings.extend(garage::environment_for(storage));
        }
        settings
    }

    /// The settings the command line gets to work on this backend's data:
    /// the server's, and the folder of bundles.
    fn command_settings(&self) -> Vec<(String, String)> {
        let mut settings = self.settings();
        let uploads = self.root.join("uploads").display().to_string();
        settings.push(("ROCKET_UPLOADS_DIR".to_string(), uploads));
        settings
    }

    fn server(&self) -> Server {
        Server::start_with(Path::new(BINARY), &self.root, &self.settings())
    }

    async fn open(&self) -> handin::App {
        fixture::open_with(&self.root, |config| {
            config.database = self.database.clone();
            if let Some(storage) = &self.storage {
                garage::configure(config, storage);
            }
        })
        .await
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        if let Some(server) = &self.postgres {
            database::drop_on(server, &self.root);
        }
    }
}

fn main() {
    let quick = std::env::var("HANDIN_BENCH_QUICK").is_ok();
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("handin-bench");
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    let runtime = rocket::tokio::runtime::Runtime::new().unwrap();
    let postgres = std::env::var("HANDIN_BENCH_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let which = std::env::var("HANDIN_BENCH_BACKENDS").unwrap_or_default();
    let mut backends = Vec::new();
    if !which.contains("postgres") || which.contains("sqlite") {
        backends.push(Backend::new("SQLite + folder", &root, None, false));
    }
    if !which.contains("sqlite") || which.contains("postgres") {
        backends.push(Backend::new(
            "PostgreSQL + S3 (Garage)",
            &root,
            Some(postgres),
            true,
        ));
    }
    println!("handin benchmark: {} cores, {}", num_cpus(), machine());
    println!("server: release build; data in {}", root.display());
    for backend in &backends {
        println!("\n=== {} ===", backend.name);
        if std::env::var("HANDIN_BENCH_PAGE_ONLY").is_ok() {
            marking_page(backend, &runtime);
        } else if std::env::var("HANDIN_BENCH_YEAR_ONLY").is_ok() {
            let scale = if quick { 10 } else { 1 };
            year::run(backend, &runtime, scale);
        } else {
            run_parts(backend, &runtime, quick);
        }
    }
    println!("\nRerun with: cargo bench --bench deadline");
}

/// Parts 1 to 4 on one backend.
fn run_parts(backend: &Backend, runtime: &rocket::tokio::runtime::Runtime, quick: bool) {
    let scale = if quick { 10 } else { 1 };
    let root = &backend.root;
    let rush_students = if quick { 30 } else { 300 };
    let tokens = runtime.block_on(prepare(backend, rush_students));
    let server = backend.server();

    println!("1. One bundle over loopback HTTP");
    println!(
        "{:>8} {:>9} {:>9} {:>12} {:>12} {:>20}",
        "size", "seconds", "MB/s", "vs openssl", "vs cp", "RSS before -> peak"
    );
    let sizes: Vec<u64> = match std::env::var("HANDIN_BENCH_SIZES") {
        Ok(list) => list
            .split(',')
            .filter_map(|m| m.trim().parse().ok())
            .collect(),
        Err(_) => [10, 100, 500].map(|m| m / scale).to_vec(),
    };
    for mib in sizes {
        let bundle = big_bundle(root, mib.max(1));
        let (seconds, peak) = timed_upload(&server, &tokens.uploader, &bundle);
        let size = std::fs::metadata(&bundle).unwrap().len();
        let openssl = time_command("openssl", &["dgst", "-sha256", bundle.to_str().unwrap()]);
        let copy = time_command(
            "cp",
            &[
                bundle.to_str().unwrap(),
                root.join("copy.zip").to_str().unwrap(),
            ],
        );
        println!(
            "{:>5} MiB {:>9.3} {:>9.1} {:>11.2}x {:>11.2}x {:>10} -> {} MiB",
            size / MIB,
            seconds,
            size as f64 / 1e6 / seconds,
            seconds / openssl,
            seconds / copy,
            peak.0 / 1024,
            peak.1 / 1024
        );
        std::fs::remove_file(&bundle).unwrap();
    }

    // Rounds, each beside its own dd: the disk's speed moves between runs
    // (and within one), so one rush against one dd says little.
    let rounds: usize = std::env::var("HANDIN_BENCH_RUSH_ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3);
    println!(
        "\n2. The deadline rush: {rush_students} students x 5 MiB at once, {rounds} rounds, each beside dd conv=fsync of the same bytes"
    );
    let mut ratios = Vec::new();
    let mut totals = Vec::new();
    for round in 0..rounds {
        let (total, ratio) = rush(&server, &tokens.rush, root, round);
        totals.push(total);
        ratios.push(ratio);
    }
    ratios.sort_by(f64::total_cmp);
    totals.sort_by(f64::total_cmp);
    let total = totals[totals.len() / 2];
    println!(
        "the rush against the disk: median {:.2} of dd over {rounds} rounds (lowest {:.2}, highest {:.2})",
        ratios[ratios.len() / 2],
        ratios[0],
        ratios[ratios.len() - 1]
    );
    println!("\n2b. What signing and logging add (issue 12)");
    evidence::run(backend, runtime, (rush_students, total));
    if std::env::var("HANDIN_BENCH_RUSH_ONLY").is_ok() {
        return;
    }

    // A fresh server process, so its memory figures are the download's alone.
    drop(server);
    let server = backend.server();
    println!("\n3. Download-all of those {rush_students} bundles (a freshly started server)");
    let (bytes, first_byte, seconds, peak) = timed_download(
        &server,
        &tokens.marker,
        "/api/v1/courses/BENCH/assignments/big/submissions.zip",
    );
    let beside = if backend.storage.is_none() {
        let zip_time = time_command_in(
            &root.join("uploads"),
            "zip",
            &[
                "-q",
                "-0",
                "-r",
                root.join("all.zip").to_str().unwrap(),
                "bundles",
            ],
        );
        format!(
            "; zip -0 -r took {zip_time:.2} s ({:.2}x)",
            seconds / zip_time
        )
    } else {
        String::new()
    };
    println!(
        "{} MiB in {:.2} s ({:.1} MB/s), first byte after {:.3} s, server RSS {} -> {} MiB{beside}",
        bytes / MIB,
        seconds,
        bytes as f64 / 1e6 / seconds,
        first_byte,
        peak.0 / 1024,
        peak.1 / 1024,
    );
    drop(server);

    verify(backend);
    marking_page(backend, runtime);
    year::run(backend, runtime, scale);
}

/// One round of part 2: every student in `tokens` hands in 5 MiB at once,
/// then dd writes and fsyncs as many bytes. Prints both; returns the
/// rush's seconds and its speed as a fraction of dd's.
fn rush(server: &Server, tokens: &[String], root: &Path, round: usize) -> (f64, f64) {
    let size = 5 * MIB as usize;
    // Every bundle is made before the clock starts, so that making them does
    // not compete with the server for the two cores.
    let bundles: Vec<Vec<u8>> = (0..tokens.len())
        .map(|i| bundle_bytes((round * tokens.len() + i) as u64, size))
        .collect();
    let barrier = Arc::new(std::sync::Barrier::new(bundles.len()));
    let ((latencies, errors, total), peak) = with_peak_rss(server, || {
        let started = Instant::now();
        let threads: Vec<_> = tokens
            .iter()
            .zip(bundles)
            .map(|(token, bundle)| {
                let (token, addr, barrier) = (token.clone(), server.addr, barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    let start = Instant::now();
                    let reply = server::upload(addr, &token, "BENCH/assignments/big", &bundle);
                    (start.elapsed(), reply.map(|r| r.status).unwrap_or(0))
                })
            })
            .collect();
        let mut latencies = Vec::new();
        let mut errors = 0;
        for thread in threads {
            let (latency, status) = thread.join().unwrap();
            if status != 201 {
                errors += 1;
            }
            latencies.push(latency.as_secs_f64());
        }
        (latencies, errors, started.elapsed().as_secs_f64())
    });
    let mut latencies = latencies;
    latencies.sort_by(f64::total_cmp);
    let pick = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "round {}: p50 {:.2} s, p95 {:.2} s, p99 {:.2} s, max {:.2} s; {:.1} MB/s overall in {:.1} s; {errors} errors; server RSS {} -> {} MiB",
        round + 1,
        pick(0.5),
        pick(0.95),
        pick(0.99),
        pick(1.0),
        (tokens.len() * size) as f64 / 1e6 / total,
        total,
        peak.0 / 1024,
        peak.1 / 1024
    );

    // What the disk allows: the same number of bytes written and fsynced by dd.
    let mib = (tokens.len() * size) as u64 / MIB;
    let dd = time_command(
        "dd",
        &[
            "if=/dev/zero",
            &format!("of={}", root.join("dd.bin").display()),
            "bs=1M",
            &format!("count={mib}"),
            "conv=fsync",
            "status=none",
        ],
    );
    let _ = std::fs::remove_file(root.join("dd.bin"));
    println!(
        "         dd conv=fsync of the same {mib} MiB: {dd:.1} s ({:.1} MB/s); the rush ran at {:.2} of it",
        (tokens.len() * size) as f64 / 1e6 / dd,
        dd / total
    );
    (total, dd / total)
}

/// `handin verify` over every bundle so far, beside `openssl dgst -sha256`
/// of the same files where they are files.
fn verify(backend: &Backend) {
    println!("\n3b. handin verify over every bundle so far");
    let mut command = std::process::Command::new(BINARY);
    command.arg("verify").envs(backend.command_settings());
    let start = Instant::now();
    let output = command.output().unwrap();
    let seconds = start.elapsed().as_secs_f64();
    let said = String::from_utf8_lossy(&output.stdout);
    let summary = said.lines().last().unwrap_or_default().to_string();
    assert!(output.status.success(), "{said}");
    let bytes: u64 = std::fs::read_dir(backend.root.join("uploads/bundles"))
        .map(|dir| {
            dir.filter_map(|e| e.ok()?.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0);
    let beside = if backend.storage.is_none() && bytes > 0 {
        let files: Vec<String> = std::fs::read_dir(backend.root.join("uploads/bundles"))
            .unwrap()
            .map(|e| e.unwrap().path().display().to_string())
            .collect();
        let mut args = vec!["dgst", "-sha256"];
        args.extend(files.iter().map(String::as_str));
        let openssl = time_command("openssl", &args);
        format!(
            "; openssl dgst -sha256 of the same files: {openssl:.2} s ({:.0} MB/s)",
            bytes as f64 / 1e6 / openssl
        )
    } else {
        String::new()
    };
    println!(
        "{summary} ({:.0} MB/s){beside}",
        bytes_checked(&summary) / seconds
    );
}

/// The MB `handin verify` says it checked (`Checked N bundles (X MiB) …`).
fn bytes_checked(summary: &str) -> f64 {
    summary
        .split_once('(')
        .and_then(|(_, rest)| rest.split_once(" MiB"))
        .and_then(|(mib, _)| mib.parse::<f64>().ok())
        .map_or(0.0, |mib| mib * MIB as f64 / 1e6)
}

/// Part 4, alone with HANDIN_BENCH_PAGE_ONLY=1.
fn marking_page(backend: &Backend, runtime: &rocket::tokio::runtime::Runtime) {
    println!(
        "\n4. The marker's page with 1,000 students x 3 attempts, {HEAVY} of them holding 10,000-entry bundles"
    );
    runtime.block_on(thousand_students(backend));
    let server = backend.server();
    let cookie = server.login("marker", "benchmark password");
    let mut times = Vec::new();
    for _ in 0..21 {
        let start = Instant::now();
        let reply = server::request(
            server.addr,
            "GET",
            "/courses/PAGE/assignments/big/marking",
            &[("Cookie", cookie.clone())],
            b"",
        )
        .unwrap();
        times.push(start.elapsed().as_secs_f64());
        assert_eq!(reply.status, 200);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "median {:.1} ms (min {:.1} ms, max {:.1} ms) over 21 requests; server RSS after them {} MiB",
        times[10] * 1e3,
        times[0] * 1e3,
        times[20] * 1e3,
        server.rss_kib() / 1024
    );
}

struct Tokens {
    uploader: String,
    marker: String,
    rush: Vec<String>,
}

async fn prepare(backend: &Backend, students: usize) -> Tokens {
    let app = backend.open().await;
    let extra = "max_bundle_mib = 1024\nrequired_files = [\"data.bin\"]";
    let course = fixture::course(&app, "BENCH", "big", "Big", 120, extra).await;
    let uploader = fixture::user(&app, "uploader", "Up Loader", "student", course.id, "!").await;
    let marker = fixture::user(
        &app,
        "benchmarker",
        "Bench Marker",
        "marker",
        course.id,
        "!",
    )
    .await;
    let mut rush = Vec::new();
    for i in 0..students {
        let id = fixture::user(
            &app,
            &format!("r{i:04}"),
            "Rush Student",
            "student",
            course.id,
            "!",
        )
        .await;
        rush.push(api_token::issue(&app.db, id, Utc::now(), 30).await.unwrap());
    }
    let tokens = Tokens {
        uploader: api_token::issue(&app.db, uploader, Utc::now(), 30)
            .await
            .unwrap(),
        marker: api_token::issue(&app.db, marker, Utc::now(), 30)
            .await
            .unwrap(),
        rush,
    };
    app.db.close().await.unwrap();
    tokens
}

/// 1,000 students with 3 attempts each on a second course, rows only, and a
/// marker who logs in with a password.
async fn thousand_students(backend: &Backend) {
    let app = backend.open().await;
    let course = fixture::course(&app, "PAGE", "big", "Big", -60 * 24 * 7, "").await;
    let (_, assignment) = handin::models::assignment::find_by_codes(&app.db, "PAGE", "big")
        .await
        .unwrap()
        .unwrap();
    let hash = user::hash_password("benchmark password").unwrap();
    fixture::user(&app, "marker", "Page Marker", "marker", course.id, &hash).await;
    // Some students hand in 10,000 files with long names, every attempt.
    let heavy: String = serde_json::to_string(
        &(0..10_000)
            .map(|n| serde_json::json!({"path": format!("lab/{n:05}-{}", "x".repeat(90)), "size": 1}))
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let base = chrono::DateTime::parse_from_rfc3339("2020-05-29T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    for i in 0..1000 {
        let id = fixture::user(
            &app,
            &format!("p{i:04}"),
            "Page Student",
            "student",
            course.id,
            "!",
        )
        .await;
        for attempt in 1..=3 {
            submission::ActiveModel {
                assignment_id: Set(assignment.id),
                student_id: Set(id),
                attempt: Set(attempt),
                received_at: Set(base + chrono::Duration::minutes(i * 7 + attempt as i64 * 60)),
                upload_started_at: Set(base),
                sha256: Set(format!("{:064x}", i * 10 + attempt as i64)),
                size: Set(1000),
                original_name: Set("bundle.zip".into()),
                stored_path: Set(format!("bundles/page-{i}-{attempt}.zip")),
                entries: Set(if i % (1000 / HEAVY) == 0 {
                    heavy.clone()
                } else {
                    "[{\"path\":\"report.pdf\",\"size\":1000}]".into()
                }),
                ..Default::default()
            }
            .insert(&app.db)
            .await
            .unwrap();
        }
    }
    app.db.close().await.unwrap();
}

/// Bytes that do not compress, deterministically.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 32) as u8
        })
        .collect()
}

fn bundle_bytes(seed: u64, size: usize) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::with_capacity(size + 1024)));
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    writer.start_file("data.bin", options).unwrap();
    writer.write_all(&noise(seed, size)).unwrap();
    writer.finish().unwrap().into_inner()
}

/// A bundle of about `mib` MiB written to disk in 1 MiB pieces.
fn big_bundle(root: &Path, mib: u64) -> PathBuf {
    let path = root.join(format!("bundle-{mib}.zip"));
    let mut writer = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(mib >= 4096);
    writer.start_file("data.bin", options).unwrap();
    for piece in 0..mib {
        writer.write_all(&noise(piece, MIB as usize)).unwrap();
    }
    writer.finish().unwrap();
    path
}

/// Samples the server's RSS every 5 ms while `work` runs; returns the peak in KiB.
fn with_peak_rss<T>(server: &Server, work: impl FnOnce() -> T) -> (T, (u64, u64)) {
    let before = server.rss_kib();
    let peak = Arc::new(AtomicU64::new(before));
    let done = Arc::new(AtomicBool::new(false));
    let pid = server.child.id();
    let sampler = {
        let (peak, done) = (peak.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                let status =
                    std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
                if let Some(kib) = status
                    .lines()
                    .find(|l| l.starts_with("VmRSS:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|n| n.parse().ok())
                {
                    peak.fetch_max(kib, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let result = work();
    done.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    (result, (before, peak.load(Ordering::Relaxed)))
}

/// Streams a bundle from disk to the API; returns seconds and peak server RSS (KiB).
fn timed_upload(server: &Server, token: &str, bundle: &Path) -> (f64, (u64, u64)) {
    let (head, tail) = server::multipart_frame("bundle.zip");
    let size = std::fs::metadata(bundle).unwrap().len();
    let ((seconds, status), peak) = with_peak_rss(server, || {
        let start = Instant::now();
        let mut stream = TcpStream::connect(server.addr).unwrap();
        let request = format!(
            "POST /api/v1/courses/BENCH/assignments/big/submissions HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\
             Authorization: Bearer {token}\r\nContent-Type: {}\r\nContent-Length: {}\r\n\r\n",
            server::multipart_content_type(),
            head.len() as u64 + size + tail.len() as u64
        );
        stream.write_all(request.as_bytes()).unwrap();
        stream.write_all(&head).unwrap();
        std::io::copy(&mut std::fs::File::open(bundle).unwrap(), &mut stream).unwrap();
        stream.write_all(&tail).unwrap();
        let reply = server::read_reply(stream).unwrap();
        (start.elapsed().as_secs_f64(), reply.status)
    });
    assert_eq!(status, 201, "the upload was refused");
    (seconds, peak)
}

/// Reads a download without keeping it; returns bytes, time to first byte,
/// total seconds and the server's peak RSS (KiB).
fn timed_download(server: &Server, token: &str, path: &str) -> (u64, f64, f64, (u64, u64)) {
    let ((bytes, first, total), peak) = with_peak_rss(server, || {
        let start = Instant::now();
        let mut stream = TcpStream::connect(server.addr).unwrap();
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\nAuthorization: Bearer {token}\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).unwrap();
        let mut buffer = vec![0u8; 256 * 1024];
        let mut bytes = 0u64;
        let mut first = None;
        loop {
            let n = stream.read(&mut buffer).unwrap();
            if n == 0 {
                break;
            }
            first.get_or_insert_with(|| start.elapsed().as_secs_f64());
            bytes += n as u64;
        }
        (bytes, first.unwrap_or(0.0), start.elapsed().as_secs_f64())
    });
    (bytes, first, total, peak)
}

fn time_command(program: &str, args: &[&str]) -> f64 {
    time_command_in(Path::new("."), program, args)
}

fn time_command_in(dir: &Path, program: &str, args: &[&str]) -> f64 {
    let start = Instant::now();
    let status = std::process::Command::new(program)
        .args(args)
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .status();
    assert!(
        status.is_ok_and(|s| s.success()),
        "{program} failed (is it installed?)"
    );
    start.elapsed().as_secs_f64()
}

/// Logs in through the form, as a browser: returns the Cookie header value.
fn num_cpus() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    let memory = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    format!("{cpu}; {memory}")
}
