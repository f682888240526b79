//! A real S3-compatible server for the tests: Garage (a production object
//! store, `cargo install --locked garage`; `.ci/run` installs it), started
//! once per test run in single-node mode with one bucket and one key. Each
//! test keeps its files under a prefix of its own. Garage stops when the
//! test process ends, and its folder goes with it.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::server::free_port;

pub const BUCKET: &str = "handin";
const ACCESS_KEY: &str = "GK0123456789abcdef01234567";
const SECRET_KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const REGION: &str = "garage";

pub struct Garage {
    pub endpoint: String,
    /// The shell that runs Garage and stops it when the tests end.
    _watch: std::process::Child,
}

/// The running Garage, started on first use.
pub fn garage() -> &'static Garage {
    static GARAGE: OnceLock<Garage> = OnceLock::new();
    GARAGE.get_or_init(start)
}

fn binary() -> PathBuf {
    if let Ok(path) = std::env::var("GARAGE") {
        return PathBuf::from(path);
    }
    let installed = std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").unwrap()).join(".cargo"))
        .join("bin/garage");
    if installed.exists() {
        installed
    } else {
        PathBuf::from("garage")
    }
}

fn start() -> Garage {
    let dir = tempfile::tempdir().unwrap().keep();
    let (s3, rpc) = (free_port(), free_port());
    let config = format!(
        "metadata_dir = \"{dir}/meta\"\ndata_dir = \"{dir}/data\"\ndb_engine = \"sqlite\"\n\
         replication_factor = 1\nrpc_bind_addr = \"127.0.0.1:{rpc}\"\n\
         rpc_secret = \"{}\"\n\
         [s3_api]\ns3_region = \"{REGION}\"\napi_bind_addr = \"127.0.0.1:{s3}\"\n\
         root_domain = \".s3.garage.localhost\"\n",
        hex::encode(rand::random::<[u8; 32]>()),
        dir = dir.display(),
    );
    std::fs::write(dir.join("garage.toml"), config).unwrap();
    // Garage runs as long as this test process does, then is stopped and
    // its folder removed (a test process has no hook to do it itself).
    let script = format!(
        "\"$GARAGE_BIN\" -c \"$DIR/garage.toml\" server --single-node --default-bucket \
         >\"$DIR/garage.log\" 2>&1 & g=$!; \
         while kill -0 {parent} 2>/dev/null && kill -0 $g 2>/dev/null; do sleep 1; done; \
         kill $g 2>/dev/null; wait $g; rm -rf \"$DIR\"",
        parent = std::process::id()
    );
    let watch = Command::new("sh")
        .arg("-c")
        .arg(script)
        .env("GARAGE_BIN", binary())
        .env("DIR", &dir)
        .env("GARAGE_DEFAULT_ACCESS_KEY", ACCESS_KEY)
        .env("GARAGE_DEFAULT_SECRET_KEY", SECRET_KEY)
        .env("GARAGE_DEFAULT_BUCKET", BUCKET)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("sh starts");
    let endpoint = format!("http://127.0.0.1:{s3}");
    let started = Instant::now();
    // Ready when the bucket answers an (unsigned, so refused) request.
    while std::net::TcpStream::connect(("127.0.0.1", s3)).is_err() {
        let log = std::fs::read_to_string(dir.join("garage.log")).unwrap_or_default();
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "Garage did not start ({}): install it with \
             `cargo install --locked garage --no-default-features --features bundled-libs,sqlite` \
             (.ci/run does). Its log:\n{log}",
            binary().display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let garage = Garage {
        endpoint,
        _watch: watch,
    };
    wait_for_bucket(&garage);
    garage
}

/// The single-node layout and the bucket are made just after the port opens.
fn wait_for_bucket(garage: &Garage) {
    let started = Instant::now();
    let settings = settings_at(&garage.endpoint, "ready");
    loop {
        let settings = settings.clone();
        let ready = crate::database::on_own_runtime(async move {
            let place = handin::storage::Place::Bucket(settings);
            match handin::storage::Uploads::open(&place, "probe").await {
                Ok(uploads) => uploads.check().await.is_ok(),
                Err(_) => false,
            }
        });
        if ready {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "Garage's bucket never became ready"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn settings_at(endpoint: &str, prefix: &str) -> handin::storage::BucketSettings {
    handin::storage::BucketSettings {
        bucket: BUCKET.to_string(),
        prefix: prefix.to_string(),
        endpoint: Some(endpoint.to_string()),
        region: Some(REGION.to_string()),
        access_key_id: Some(ACCESS_KEY.to_string()),
        secret_access_key: Some(SECRET_KEY.to_string()),
        buffer_mib: handin::storage::DEFAULT_BUFFER_MIB,
    }
}

/// Bucket settings for a prefix (to look into the bucket from a test).
pub fn settings(prefix: &str) -> handin::storage::BucketSettings {
    settings_at(&garage().endpoint, prefix)
}

/// A fresh prefix, as the `storage` setting names it.
pub fn fresh_storage() -> String {
    format!(
        "s3://{BUCKET}/test-{}",
        hex::encode(rand::random::<[u8; 6]>())
    )
}

/// The settings that put the app (or, as `ROCKET_…` variables, the server
/// binary) on the bucket at `storage`.
pub fn settings_for(storage: &str) -> Vec<(&'static str, String)> {
    vec![
        ("storage", storage.to_string()),
        ("s3_endpoint", garage().endpoint.clone()),
        ("s3_region", REGION.to_string()),
        ("s3_access_key_id", ACCESS_KEY.to_string()),
        ("s3_secret_access_key", SECRET_KEY.to_string()),
    ]
}

/// [`settings_for`] as environment variables for the server binary.
pub fn environment_for(storage: &str) -> Vec<(String, String)> {
    settings_for(storage)
        .into_iter()
        .map(|(key, value)| (format!("ROCKET_{}", key.to_uppercase()), value))
        .collect()
}

/// Puts a configuration on the bucket at `storage`.
pub fn configure(config: &mut handin::config::AppConfig, storage: &str) {
    config.storage = Some(storage.to_string());
    config.s3_endpoint = Some(garage().endpoint.clone());
    config.s3_region = Some(REGION.to_string());
    config.s3_access_key_id = Some(ACCESS_KEY.to_string());
    config.s3_secret_access_key = Some(SECRET_KEY.to_string());
}
