//! handin behind the nginx configuration it ships (`deploy/nginx/`): Rocket
//! cannot time out a request's headers, so the proxy holds idle clients.
//! Thousands of connections that never finish their headers do not keep a
//! student from handing in, and the proxy drops them.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::server::{self, Server, free_port};
use crate::support::*;

const BINARY: &str = env!("CARGO_BIN_EXE_handin");
const IDLE_CONNECTIONS: usize = 3000;

struct Nginx {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// nginx with the shipped settings, in front of `upstream`.
fn nginx(dir: &Path, upstream: SocketAddr) -> Nginx {
    let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/nginx");
    let site = std::fs::read_to_string(deploy.join("handin-site.conf"))
        .unwrap()
        .replace("127.0.0.1:8000", &upstream.to_string());
    std::fs::write(dir.join("handin-site.conf"), site).unwrap();
    let port = free_port();
    let d = dir.display();
    let temp: String = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
        .iter()
        .map(|kind| format!("{kind}_temp_path {d}/nginx-{kind};\n"))
        .collect();
    let config = format!(
        "user root;\nworker_processes 1;\nerror_log {d}/nginx-error.log;\npid {d}/nginx.pid;\n\
         events {{ worker_connections 8192; }}\n\
         http {{\n access_log off;\n {temp}\n include {};\n\
         server {{ listen 127.0.0.1:{port}; include {d}/handin-site.conf; }}\n}}\n",
        deploy.join("handin-http.conf").display()
    );
    let config_path: PathBuf = dir.join("nginx.conf");
    std::fs::write(&config_path, config).unwrap();
    let binary = std::env::var("NGINX").unwrap_or_else(|_| "/usr/sbin/nginx".into());
    let child = Command::new(&binary)
        .args(["-p", &d.to_string(), "-c"])
        .arg(&config_path)
        .args(["-g", "daemon off;"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("{binary} did not start ({e}): install nginx-light (.ci/run does)")
        });
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "nginx did not start listening");
        std::thread::sleep(Duration::from_millis(50));
    }
    Nginx { child, addr }
}

#[test]
fn a_student_hands_in_through_the_proxy_while_thousands_of_connections_idle() {
    let dir = crate::database::TestDir::new();
    let token = rocket::tokio::runtime::Runtime::new().unwrap().block_on(async {
        let t = TestApp::with_dir(dir.path()).await;
        let text = "[[course]]\ncode = \"PROXY\"\ntitle = \"Proxied\"\ntime_zone = \"Europe/London\"\n\
                    [[course.assignment]]\nslug = \"open\"\ntitle = \"Open\"\ndue = \"2099-01-01 16:00\"\n";
        handin::services::catalogue::import_file(t.app(), text, &t.change())
            .await
            .unwrap();
        t.add_user("dana", handin::models::user::Role::Student, Some("PROXY"))
            .await;
        // The server binary runs on the real clock: a token valid from now.
        let dana = handin::models::user::find_by_username(&t.app().db, "dana")
            .await
            .unwrap()
            .unwrap();
        let token = handin::models::api_token::issue(&t.app().db, dana.id, chrono::Utc::now(), 1)
            .await
            .unwrap();
        t.app().db.close_by_ref().await.unwrap();
        token
    });
    let server = Server::start(Path::new(BINARY), dir.path());
    let proxy = nginx(dir.path(), server.addr);

    // An anonymous client opens thousands of connections, starts a request
    // on each, and never finishes its headers.
    let idle: Vec<TcpStream> = (0..IDLE_CONNECTIONS)
        .map(|_| {
            let mut stream = TcpStream::connect(proxy.addr).unwrap();
            stream.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
            stream
        })
        .collect();

    let bundle = zip_of(&[("report.pdf", &noise(200_000))]);
    let started = Instant::now();
    let reply = server::upload(proxy.addr, &token, "PROXY/assignments/open", &bundle).unwrap();
    assert_eq!(
        reply.status,
        201,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the upload took {:?}",
        started.elapsed()
    );
    let receipt: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(receipt["sha256"], sha256_hex(&bundle));

    // And the idle ones are dropped after the header timeout (10 s).
    let mut first = &idle[0];
    first
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut buffer = [0u8; 256];
    let dropped = match first.read(&mut buffer) {
        Ok(0) => true,
        Ok(n) => String::from_utf8_lossy(&buffer[..n]).contains("408"),
        Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
    };
    assert!(dropped, "an idle connection was kept");
    drop(proxy);
}
