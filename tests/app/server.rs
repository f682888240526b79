//! The real server binary on loopback, and a plain HTTP/1.1 client over a
//! TCP socket: what a browser or curl would do, with nothing in between.
//! Shared by the rush and crash tests and by the benchmark.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    pub dir: PathBuf,
}

/// A loopback port nobody is listening on (for a server or a driver).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `server.log`, or for a second server on the same folder, `server-PORT.log`.
fn log_file(dir: &Path, port: u16) -> PathBuf {
    let first = dir.join("server.log");
    if first.exists() {
        dir.join(format!("server-{port}.log"))
    } else {
        first
    }
}

impl Server {
    /// Starts `handin` on a free loopback port, with its database and
    /// uploads in `dir`, and waits until it answers.
    pub fn start(binary: &Path, dir: &Path) -> Server {
        Self::start_with::<&str, &str>(binary, dir, &[])
    }

    /// As [`start`](Self::start), with some settings (`ROCKET_...`) of its own.
    pub fn start_with<K, V>(binary: &Path, dir: &Path, settings: &[(K, V)]) -> Server
    where
        K: AsRef<std::ffi::OsStr>,
        V: AsRef<std::ffi::OsStr>,
    {
        Self::start_on(free_port(), binary, dir, settings)
    }

    /// As [`start_with`](Self::start_with), on a port chosen beforehand
    /// (for settings that name the server's own address).
    pub fn start_on<K, V>(port: u16, binary: &Path, dir: &Path, settings: &[(K, V)]) -> Server
    where
        K: AsRef<std::ffi::OsStr>,
        V: AsRef<std::ffi::OsStr>,
    {
        let templates = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let log = std::fs::File::create(log_file(dir, port)).unwrap();
        let child = Command::new(binary)
            .env("ROCKET_PORT", port.to_string())
            .env("ROCKET_ADDRESS", "127.0.0.1")
            .env("ROCKET_DATABASE", crate::database::for_dir(dir))
            .env("ROCKET_UPLOADS_DIR", dir.join("uploads"))
            .env("ROCKET_TEMPLATE_DIR", templates)
            .env("ROCKET_DEMO", "false")
            // Release builds refuse to start without one; a fixed one is fine for tests.
            .env(
                "ROCKET_SECRET_KEY",
                "BwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSY=",
            )
            .env("ROCKET_LOG_LEVEL", "critical")
            .env("ROCKET_WORKERS", "16")
            .env("ROCKET_CLI_COLORS", "false")
            .envs(settings.iter().map(|(k, v)| (k, v)))
            // A file, not a pipe: a pipe nobody reads would stall the server.
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("the handin binary starts");
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(addr).is_err() {
            assert!(
                Instant::now() < deadline,
                "the server did not start listening"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Server {
            child,
            addr,
            dir: dir.to_path_buf(),
        }
    }

    /// Logs in through the login form; returns the session cookie
    /// (`handin_session=...`).
    pub fn login(&self, username: &str, password: &str) -> String {
        let page = request(self.addr, "GET", "/login", &[], b"").unwrap();
        let cookie = page
            .cookie("handin_login")
            .expect("the login page sets its cookie");
        let body = String::from_utf8_lossy(&page.body).to_string();
        let marker = "name=\"csrf\" value=\"";
        let start = body.find(marker).unwrap() + marker.len();
        let csrf = &body[start..start + 64];
        let password = password.replace(' ', "+");
        let form = format!("csrf={csrf}&username={username}&password={password}&next=%2F");
        let reply = request(
            self.addr,
            "POST",
            "/login",
            &[
                ("Cookie", cookie),
                ("Content-Type", "application/x-www-form-urlencoded".into()),
            ],
            form.as_bytes(),
        )
        .unwrap();
        assert_eq!(reply.status, 303, "login failed");
        reply.cookie("handin_session").expect("a session cookie")
    }

    /// SIGKILL: no shutdown, no cleanup, as a power cut or an OOM kill.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// The server's resident memory now, in KiB (Linux).
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A response: status, headers (lower-case names) and body.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    /// The receipt of an accepted upload (201), or a failure saying why not.
    pub fn receipt(&self) -> serde_json::Value {
        assert_eq!(self.status, 201, "{}", String::from_utf8_lossy(&self.body));
        serde_json::from_slice(&self.body).unwrap()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The `name=value` of the cookie this reply sets under `name`.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .filter(|(n, _)| n == "set-cookie")
            .map(|(_, v)| v.split(';').next().unwrap_or_default())
            .find(|c| c.starts_with(&format!("{name}=")))
            .map(str::to_string)
    }
}

/// Sends one request (Connection: close) and reads the whole reply.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> std::io::Result<Reply> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(300)))?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    read_reply(stream)
}

pub fn read_reply(mut stream: TcpStream) -> std::io::Result<Reply> {
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no header end"))?;
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"))
    {
        body = dechunk(&body);
    }
    Ok(Reply {
        status,
        headers,
        body,
    })
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = data.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&data[..end]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = end + 2;
        out.extend_from_slice(&data[start..start + size]);
        data = &data[start + size + 2..];
    }
    out
}

pub const BOUNDARY: &str = "handin-server-boundary-5f3a9c";

/// The head and tail of a multipart body with one `bundle` file part, so
/// that the file itself can be streamed between them.
pub fn multipart_frame(file_name: &str) -> (Vec<u8>, Vec<u8>) {
    let head = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"bundle\"; filename=\"{file_name}\"\r\nContent-Type: application/zip\r\n\r\n"
    );
    (
        head.into_bytes(),
        format!("\r\n--{BOUNDARY}--\r\n").into_bytes(),
    )
}

pub fn multipart_content_type() -> String {
    format!("multipart/form-data; boundary={BOUNDARY}")
}

/// Uploads a bundle through the API; returns the reply.
pub fn upload(addr: SocketAddr, token: &str, path: &str, bundle: &[u8]) -> std::io::Result<Reply> {
    let (head, tail) = multipart_frame("bundle.zip");
    let body = [head.as_slice(), bundle, tail.as_slice()].concat();
    request(
        addr,
        "POST",
        &format!("/api/v1/courses/{path}/submissions"),
        &[
            ("Authorization", format!("Bearer {token}")),
            ("Content-Type", multipart_content_type()),
        ],
        &body,
    )
}

/// How many files lie anywhere under `folder` (uploads in flight sit in a
/// folder per server instance under `incoming/`).
pub fn files_under(folder: &Path) -> usize {
    std::fs::read_dir(folder)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .map(|path| if path.is_dir() { files_under(&path) } else { 1 })
        .sum()
}

/// Runs `handin verify` on a test folder's database and uploads (with some
/// settings of its own, a bucket's say) and checks that it found nothing wrong.
pub fn assert_verified<K, V>(binary: &Path, dir: &Path, settings: &[(K, V)])
where
    K: AsRef<std::ffi::OsStr>,
    V: AsRef<std::ffi::OsStr>,
{
    let verify = Command::new(binary)
        .arg("verify")
        .env("ROCKET_DATABASE", crate::database::for_dir(dir))
        .env("ROCKET_UPLOADS_DIR", dir.join("uploads"))
        .envs(settings.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
}
