//! A real OpenID provider for the tests: panva's `oidc-provider` (an
//! OpenID-certified implementation, on npm), run with the machine's Node.js
//! from `tests/oidc/provider.mjs`, once per test process, on
//! `http://localhost:PORT` (another site than handin's 127.0.0.1, as a
//! university's provider is). Each test registers a client of its own
//! (dynamic client registration, RFC 7591).
//!
//! [`Agent`] is a person at the provider's login page without a browser:
//! plain HTTP with the provider's cookies kept, redirects followed by hand.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::server::free_port;

/// Every account's password at the provider.
pub const PASSWORD: &str = "university-password";

pub struct Provider {
    pub issuer: String,
    _node: Child,
}

/// The running provider, started on first use.
pub fn provider() -> &'static Provider {
    static PROVIDER: OnceLock<Provider> = OnceLock::new();
    PROVIDER.get_or_init(start)
}

fn start() -> Provider {
    let folder = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oidc");
    assert!(
        folder.join("node_modules/oidc-provider").exists(),
        "the test OpenID provider is not installed: run `npm ci --prefix tests/oidc` (.ci/run does)"
    );
    let port = free_port();
    let log = tempfile::NamedTempFile::new()
        .unwrap()
        .into_temp_path()
        .keep()
        .unwrap();
    let node = Command::new(std::env::var("NODE").unwrap_or_else(|_| "node".into()))
        .arg("provider.mjs")
        .current_dir(&folder)
        .env("PORT", port.to_string())
        // It stops by itself when this test process has gone.
        .env("PARENT_PID", std::process::id().to_string())
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::fs::File::create(log.with_extension("err")).unwrap())
        .spawn()
        .expect("node starts (install Node.js)");
    let started = Instant::now();
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("ready")
    {
        let errors = std::fs::read_to_string(log.with_extension("err")).unwrap_or_default();
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the OpenID provider did not start: {errors}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Provider {
        issuer: format!("http://localhost:{port}"),
        _node: node,
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A client registered at the provider for a handin at `public_url`.
pub struct Registered {
    pub client_id: String,
    pub client_secret: String,
}

pub async fn register(public_url: &str) -> Registered {
    let body = serde_json::json!({
        "redirect_uris": [format!("{public_url}/login/sso/callback")],
        "post_logout_redirect_uris": [format!("{public_url}/login")],
    });
    let response = http()
        .post(format!("{}/reg", provider().issuer))
        .header("Content-Type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let answer = json(response).await;
    Registered {
        client_id: answer["client_id"].as_str().unwrap().to_string(),
        client_secret: answer["client_secret"].as_str().unwrap().to_string(),
    }
}

/// handin's settings for single sign-on with this provider.
pub async fn settings(public_url: &str) -> Vec<(&'static str, serde_json::Value)> {
    let client = register(public_url).await;
    vec![
        ("public_url", public_url.into()),
        ("oidc_issuer", provider().issuer.clone().into()),
        ("oidc_client_id", client.client_id.into()),
        ("oidc_client_secret", client.client_secret.into()),
        ("oidc_label", "University of Testing".into()),
    ]
}

/// The next ID token the provider issues is spoilt: re-signed with a key
/// that is not the provider's ("foreign-key"), expired an hour ago
/// ("expired"), or addressed to another client ("audience").
pub async fn spoil_next_id_token(mode: &str) {
    let answer = http()
        .post(format!("{}/__test/tamper", provider().issuer))
        .body(serde_json::json!({ "mode": mode }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 204);
}

async fn json(response: reqwest::Response) -> serde_json::Value {
    let text = response.text().await.unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// Someone at the provider's pages, keeping its cookies.
#[derive(Default)]
pub struct Agent {
    cookies: HashMap<String, String>,
}

impl Agent {
    async fn send(&mut self, request: reqwest::RequestBuilder) -> reqwest::Response {
        let jar: Vec<String> = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let response = request
            .header("Cookie", jar.join("; "))
            .send()
            .await
            .unwrap();
        for set in response.headers().get_all("set-cookie") {
            let pair = set.to_str().unwrap().split(';').next().unwrap();
            if let Some((name, value)) = pair.split_once('=') {
                self.cookies
                    .insert(name.trim().to_string(), value.to_string());
            }
        }
        response
    }

    fn location(response: &reqwest::Response) -> String {
        let location = response
            .headers()
            .get("location")
            .unwrap_or_else(|| panic!("a redirect, not {}", response.status()))
            .to_str()
            .unwrap();
        if location.starts_with('/') {
            format!("{}{location}", provider().issuer)
        } else {
            location.to_string()
        }
    }

    /// From the address handin sent the person to, through the provider's
    /// login page, to the address the provider sends them back to
    /// (handin's callback, with `code` and `state`).
    pub async fn sign_in(&mut self, authorize: &str, login: &str) -> String {
        let to_login = self.send(http().get(authorize)).await;
        let login_page = Self::location(&to_login);
        let page = self.send(http().get(&login_page)).await;
        assert_eq!(page.status(), 200, "the provider's login page");
        let form = format!("login={login}&password={PASSWORD}");
        let done = self
            .send(
                http()
                    .post(format!("{login_page}/login"))
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .body(form),
            )
            .await;
        let resume = Self::location(&done);
        let back = self.send(http().get(&resume)).await;
        Self::location(&back)
    }
}

/// The path and query of an absolute address (what handin's router sees).
pub fn path_of(address: &str) -> String {
    let url = url::Url::parse(address).unwrap();
    match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_string(),
    }
}
