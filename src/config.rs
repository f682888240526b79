//! Typed settings, read once from Rocket's figment (`Rocket.toml` and
//! `ROCKET_*` environment variables).

use std::path::PathBuf;

use rocket::figment::Figment;
use serde::Deserialize;

const MIB: u64 = 1024 * 1024;

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct AppConfig {
    /// The database: a path to an SQLite file (created if missing), or
    /// `postgres://user@host/name` for several instances on one database.
    /// Migrated on start either way.
    pub database: String,
    /// Where bundles are kept: a folder, or `s3://BUCKET/PREFIX` for an
    /// S3-compatible bucket (several instances share one). Unset: the
    /// folder `uploads_dir`.
    pub storage: Option<String>,
    /// The folder bundles are kept in when `storage` is unset (the name
    /// this setting had before buckets).
    pub uploads_dir: PathBuf,
    /// The bucket's endpoint (`http://127.0.0.1:3900` for a local Garage);
    /// unset: AWS, or `AWS_ENDPOINT`.
    pub s3_endpoint: Option<String>,
    /// Unset: `AWS_REGION` / `AWS_DEFAULT_REGION`.
    pub s3_region: Option<String>,
    /// Unset: `AWS_ACCESS_KEY_ID`.
    pub s3_access_key_id: Option<String>,
    /// Unset: `AWS_SECRET_ACCESS_KEY`.
    pub s3_secret_access_key: Option<String>,
    /// Memory all uploads to a bucket may hold at once, in MiB: S3 wants
    /// 5 MiB parts, so each upload holds one while it fills. Past this,
    /// uploads wait rather than the instance run out of memory.
    pub s3_buffer_mib: u32,
    /// The largest bundle any assignment may accept, in MiB. Rocket's own
    /// body limits are set from this, so the two can never disagree.
    pub max_upload_mib: u64,
    /// The size limit of a new assignment that names none, in MiB.
    pub default_bundle_mib: u64,
    /// At most this many entries in one bundle.
    pub max_bundle_entries: usize,
    /// At most this many bytes, declared uncompressed, in one bundle.
    pub max_unpacked_mib: u64,
    /// Create the demo course and accounts on first start (development only).
    pub demo: bool,
    /// Mark cookies `Secure` (sent over HTTPS only). Rocket does so only
    /// with its own TLS; behind a TLS proxy, set this.
    pub secure_cookies: bool,
    /// A browser session ends after this many minutes without a request.
    pub session_idle_minutes: u32,
    /// And after this many hours, however busy.
    pub session_max_hours: u32,
    /// Reverse proxies whose `X-Forwarded-For` is believed (their own
    /// addresses; by default this machine, where the proxy usually runs).
    /// From anyone else the header is ignored: the address is what login
    /// throttling and sessions go by.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// A form with a file but no bundle (an extension request with its
    /// evidence, a CSV) must arrive within this many seconds.
    pub small_form_seconds: u64,
    /// The address people use to reach handin (`https://handin.example.ac.uk`):
    /// single sign-on sends them back to `<public_url>/login/sso/callback`.
    pub public_url: Option<String>,
    /// The OpenID provider's issuer (`https://login.microsoftonline.com/TENANT/v2.0`);
    /// set, with a client id and secret, to offer single sign-on.
    pub oidc_issuer: Option<String>,
    pub oidc_client_id: Option<String>,
    pub oidc_client_secret: Option<String>,
    /// The button says "Sign in with <oidc_label>".
    pub oidc_label: String,
    /// Which claim is the handin username: `preferred_username`, `email` or `sub`.
    pub oidc_username_claim: String,
    /// Cut from a username the identity system gives that ends `@<domain>`
    /// (an email, a UPN, an eppn), so `ab12@example.ac.uk` signs in as `ab12`.
    pub username_domain: Option<String>,
    /// Someone the identity system vouches for but handin does not know:
    /// refused with a message (false), or made a student with no courses.
    pub create_unknown_users: bool,
    /// Whom people are told to ask when handin does not know them.
    pub support_contact: String,
    /// A header (`X-Remote-User`) naming the signed-in person, set by a
    /// proxy in front (Shibboleth, mod_auth_mellon, oauth2-proxy). Unset: off.
    pub remote_user_header: Option<String>,
    /// The proxies whose `remote_user_header` is believed: from anyone else
    /// it is ignored, with a warning in the log.
    pub remote_user_proxies: Vec<std::net::IpAddr>,
    /// Where logging out sends people when the proxy signed them in (the
    /// proxy's own logout, `/Shibboleth.sso/Logout`).
    pub remote_user_logout_url: Option<String>,
    /// Local passwords (the demo, a break-glass administrator). False: the
    /// password form is gone and its POST refused.
    pub password_login: bool,
    /// The mail server, as a URL: `smtp://user:password@host:587?tls=required`
    /// (STARTTLS), `smtps://user:password@host:465` (TLS), or
    /// `smtp://host:25` (plain, for a relay on the same network). Unset:
    /// mail goes to the log and the outbox page only.
    pub mail_url: Option<String>,
    /// Who mail comes from: `handin <handin@example.ac.uk>`.
    pub mail_from: String,
    /// Reminders go to students with nothing handed in this many hours
    /// before their own deadline. Empty: no reminders.
    pub reminder_hours: Vec<u32>,
    /// The daily digest of waiting requests goes out after this hour in
    /// each course's time zone.
    pub digest_hour: u32,
    /// How often this instance looks for mail to send, in seconds; 0: never
    /// (another instance sends it).
    pub mail_poll_seconds: u64,
    /// The wait after a mail's first failed try, in seconds; it doubles
    /// with each failure, up to an hour.
    pub mail_retry_seconds: u64,
    /// The file of the key receipts and checkpoints are signed with
    /// (created, mode 0600, on first start). Unset: `handin-signing.key`
    /// beside the uploads folder.
    pub signing_key_file: Option<PathBuf>,
    /// The evidence log's name, in its checkpoints and signatures
    /// (`handin.example.ac.uk/log`). Unset: `public_url`'s host and `/log`.
    pub log_origin: Option<String>,
}

/// Which claim of the ID token names the person.
pub const USERNAME_CLAIMS: [&str; 3] = ["preferred_username", "email", "sub"];

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig {
            database: "handin.sqlite".to_string(),
            storage: None,
            uploads_dir: PathBuf::from("uploads"),
            s3_endpoint: None,
            s3_region: None,
            s3_access_key_id: None,
            s3_secret_access_key: None,
            s3_buffer_mib: crate::storage::DEFAULT_BUFFER_MIB,
            max_upload_mib: 1024,
            default_bundle_mib: 100,
            max_bundle_entries: 10_000,
            max_unpacked_mib: 4096,
            demo: false,
            secure_cookies: false,
            // Long enough to write a report with the page open, short
            // enough that a forgotten lab machine does not stay signed in.
            session_idle_minutes: 240,
            session_max_hours: 12,
            // A proxy on the same machine (the usual nginx in front).
            trusted_proxies: vec![
                std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
                std::net::IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
            ],
            // Ten megabytes of evidence over a slow connection, and no longer.
            small_form_seconds: 120,
            public_url: None,
            oidc_issuer: None,
            oidc_client_id: None,
            oidc_client_secret: None,
            oidc_label: "your university account".to_string(),
            oidc_username_claim: "preferred_username".to_string(),
            username_domain: None,
            create_unknown_users: false,
            support_contact: "your course's teaching team".to_string(),
            remote_user_header: None,
            remote_user_proxies: Vec::new(),
            remote_user_logout_url: None,
            password_login: true,
            mail_url: None,
            mail_from: "handin <handin@localhost>".to_string(),
            // Two days to find time, and a last call.
            reminder_hours: vec![48, 2],
            digest_hour: 8,
            mail_poll_seconds: 15,
            mail_retry_seconds: 60,
            signing_key_file: None,
            log_origin: None,
        }
    }
}

impl AppConfig {
    pub fn from_figment(figment: &Figment) -> Result<Self, String> {
        let mut config: AppConfig = figment
            .extract()
            .map_err(|e| format!("bad configuration: {e}"))?;
        // Addresses are compared as requests give them: `::ffff:10.0.0.5`
        // written in the file is the IPv4 address 10.0.0.5.
        for list in [&mut config.trusted_proxies, &mut config.remote_user_proxies] {
            for address in list.iter_mut() {
                *address = address.to_canonical();
            }
        }
        if config.default_bundle_mib > config.max_upload_mib {
            return Err(format!(
                "bad configuration: default_bundle_mib ({}) is larger than max_upload_mib ({})",
                config.default_bundle_mib, config.max_upload_mib
            ));
        }
        config.check_sign_in()?;
        if config.digest_hour > 23 {
            return Err(format!(
                "bad configuration: digest_hour is {}: use an hour from 0 to 23",
                config.digest_hour
            ));
        }
        Ok(config)
    }

    /// Single sign-on half configured is refused at start, not discovered
    /// by the first student who tries it.
    fn check_sign_in(&self) -> Result<(), String> {
        let oidc = [
            ("oidc_issuer", &self.oidc_issuer),
            ("oidc_client_id", &self.oidc_client_id),
            ("public_url", &self.public_url),
        ];
        if self.oidc_issuer.is_some() {
            if let Some((name, _)) = oidc.iter().find(|(_, value)| value.is_none()) {
                return Err(format!(
                    "bad configuration: oidc_issuer is set but {name} is not"
                ));
            }
            if !USERNAME_CLAIMS.contains(&self.oidc_username_claim.as_str()) {
                return Err(format!(
                    "bad configuration: oidc_username_claim is '{}': use one of {}",
                    self.oidc_username_claim,
                    USERNAME_CLAIMS.join(", ")
                ));
            }
        }
        if self.remote_user_header.is_some() && self.remote_user_proxies.is_empty() {
            return Err(
                "bad configuration: remote_user_header is set but remote_user_proxies \
                 is empty: name the proxies whose header is believed"
                    .to_string(),
            );
        }
        if !self.password_login && self.oidc_issuer.is_none() && self.remote_user_header.is_none() {
            return Err(
                "bad configuration: password_login is false and no single sign-on \
                 (oidc_issuer or remote_user_header) is set: nobody could sign in"
                    .to_string(),
            );
        }
        Ok(())
    }

    /// Where the signing key is kept.
    pub fn signing_key_path(&self) -> PathBuf {
        self.signing_key_file.clone().unwrap_or_else(|| {
            let beside = self
                .uploads_dir
                .parent()
                .unwrap_or(std::path::Path::new(""));
            beside.join("handin-signing.key")
        })
    }

    /// The evidence log's name: no spaces or `+` (the signed-note format's rule).
    pub fn log_origin(&self) -> Result<String, String> {
        let origin = match &self.log_origin {
            Some(origin) => origin.clone(),
            None => {
                let host = self
                    .public_url
                    .as_deref()
                    .and_then(|u| url::Url::parse(u).ok())
                    .and_then(|u| u.host_str().map(str::to_string))
                    .unwrap_or_else(|| "handin.localhost".to_string());
                format!("{host}/log")
            }
        };
        if origin.is_empty() || origin.contains(|c: char| c.is_whitespace() || c == '+') {
            return Err(format!(
                "bad configuration: log_origin '{origin}' must be non-empty, without spaces or '+'"
            ));
        }
        Ok(origin)
    }

    /// Single sign-on through an OpenID provider is configured.
    pub fn oidc(&self) -> bool {
        self.oidc_issuer.is_some()
    }

    /// Where bundles are kept, from `storage` (or `uploads_dir`).
    pub fn place(&self) -> Result<crate::storage::Place, String> {
        use crate::storage::{BucketSettings, Place};
        let Some(setting) = self.storage.as_deref().filter(|s| !s.is_empty()) else {
            return Ok(Place::Folder(self.uploads_dir.clone()));
        };
        match BucketSettings::parse(setting) {
            None => Ok(Place::Folder(PathBuf::from(setting))),
            Some(parsed) => {
                let mut settings =
                    parsed.map_err(|e| format!("bad configuration: storage: {e}"))?;
                settings.endpoint = self.s3_endpoint.clone();
                settings.region = self.s3_region.clone();
                settings.access_key_id = self.s3_access_key_id.clone();
                settings.secret_access_key = self.s3_secret_access_key.clone();
                settings.buffer_mib = self.s3_buffer_mib;
                Ok(Place::Bucket(settings))
            }
        }
    }

    pub fn session_lifetime(&self) -> crate::models::session::Lifetime {
        crate::models::session::Lifetime {
            idle: chrono::Duration::minutes(i64::from(self.session_idle_minutes)),
            max: chrono::Duration::hours(i64::from(self.session_max_hours)),
        }
    }

    pub fn bundle_limits(&self) -> crate::domain::bundle::BundleLimits {
        crate::domain::bundle::BundleLimits {
            max_entries: self.max_bundle_entries,
            max_unpacked_bytes: self.max_unpacked_mib * MIB,
        }
    }
}
