//! The university's OpenID provider (OpenID Connect, authorization code flow
//! with PKCE, `state` and `nonce`): discovery, the address a person is sent
//! to, and the checks on what comes back. The `openidconnect` crate checks
//! the ID token's signature (against the provider's published keys), issuer,
//! audience, expiry and nonce; this module turns its answers into words a
//! person can act on.

use std::sync::Arc;
use std::time::{Duration, Instant};

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreGenderClaim};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, EmptyAdditionalClaims, IdTokenClaims,
    IssuerUrl, LogoutRequest, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier,
    PostLogoutRedirectUrl, ProviderMetadataWithLogout, RedirectUrl, Scope, TokenResponse,
};
use serde::{Deserialize, Serialize};

use crate::config::AppConfig;

/// Where the provider sends people back to, under `public_url`.
pub const CALLBACK_PATH: &str = "/login/sso/callback";
/// Where the provider sends people after signing out there too.
pub const SIGNED_OUT_PATH: &str = "/login";

/// The provider's discovery document is fetched again after this long, so
/// that its rotated keys are picked up without a restart.
const KEEP_DISCOVERY: Duration = Duration::from_secs(600);
/// A slow provider must not hold a request (and a worker) for long.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(15);

/// What single sign-on needs from the configuration.
#[derive(Debug, Clone)]
struct Settings {
    issuer: String,
    client_id: String,
    client_secret: Option<String>,
    public_url: String,
    username_claim: String,
}

/// One sign-in on its way: kept by the browser (in a private cookie) between
/// leaving for the provider and coming back, and used once.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Flow {
    pub state: String,
    pub nonce: String,
    pub verifier: String,
    /// Where the person was going before signing in (a same-site path).
    pub next: String,
    /// When it started (Unix seconds): the server, not only the cookie's
    /// lifetime in the browser, decides when it is too old.
    pub started: i64,
}

/// A sign-in left at the provider's page longer than this starts again.
pub const FLOW_SECONDS: i64 = 15 * 60;

impl Flow {
    pub fn expired(&self, now: chrono::DateTime<chrono::Utc>) -> bool {
        let age = now.timestamp() - self.started;
        !(0..=FLOW_SECONDS).contains(&age)
    }
}

/// Who the provider vouched for.
#[derive(Debug, Clone)]
pub struct Vouched {
    /// As the configured claim has it (`services::sign_in` makes it a username).
    pub username: String,
    /// `ISSUER SUB`: the person's lasting identity at the provider.
    pub identity: String,
    pub name: Option<String>,
    pub email: Option<String>,
    /// Kept for signing out at the provider too (`id_token_hint`).
    pub id_token: String,
}

/// Why a sign-in did not happen, in words for the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trouble {
    /// The provider could not be reached, or answered nonsense.
    Unreachable(String),
    /// The provider would not exchange the code (used twice, expired).
    Refused(String),
    /// The ID token failed a check (signature, issuer, audience, expiry,
    /// nonce): what failed in plain words, and the library's own detail.
    Unverified { plain: &'static str, detail: String },
    /// The ID token (and user info) name nobody in the configured claim.
    NoUsername(String),
}

pub struct Provider {
    settings: Settings,
    http: reqwest::Client,
    discovered: rocket::tokio::sync::Mutex<Discovered>,
}

/// The provider's discovery document as last fetched, and the last failure:
/// after a failure nobody fetches again for a while (the people waiting
/// would otherwise queue up behind one slow fetch after another), and a
/// copy that is old but was good is used meanwhile.
#[derive(Default)]
struct Discovered {
    metadata: Option<(Instant, Arc<ProviderMetadataWithLogout>)>,
    failed: Option<(Instant, String)>,
}

/// How long a failed fetch of the discovery document is not tried again.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(30);

type HttpResult = Result<openidconnect::HttpResponse, reqwest::Error>;

/// The provider's HTTP, through reqwest, never following redirects (a
/// provider's redirect could point the server at anything: SSRF).
async fn send(http: reqwest::Client, request: openidconnect::HttpRequest) -> HttpResult {
    let response = http.execute(reqwest::Request::try_from(request)?).await?;
    let mut answer = openidconnect::http::Response::builder().status(response.status());
    if let Some(headers) = answer.headers_mut() {
        *headers = response.headers().clone();
    }
    let body = response.bytes().await?.to_vec();
    Ok(answer
        .body(body)
        .expect("a status and headers taken from a response make a response"))
}

impl Provider {
    /// The provider the configuration names, if it names one.
    pub fn from_config(config: &AppConfig) -> Result<Option<Provider>, String> {
        let (Some(issuer), Some(client_id), Some(public_url)) = (
            config.oidc_issuer.clone(),
            config.oidc_client_id.clone(),
            config.public_url.clone(),
        ) else {
            return Ok(None);
        };
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(PROVIDER_TIMEOUT)
            .build()
            .map_err(|e| format!("single sign-on: no HTTP client: {e}"))?;
        let settings = Settings {
            issuer,
            client_id,
            client_secret: config.oidc_client_secret.clone(),
            public_url: public_url.trim_end_matches('/').to_string(),
            username_claim: config.oidc_username_claim.clone(),
        };
        // Addresses that cannot parse are a configuration error at start.
        IssuerUrl::new(settings.issuer.clone())
            .map_err(|e| format!("bad configuration: oidc_issuer: {e}"))?;
        RedirectUrl::new(settings.callback())
            .map_err(|e| format!("bad configuration: public_url: {e}"))?;
        Ok(Some(Provider {
            settings,
            http,
            discovered: Default::default(),
        }))
    }

    /// The provider's metadata and keys, fetched at most every ten minutes
    /// (or at once, when `fresh`: a token signed by a key we do not know
    /// may be signed by a key rotated in since). One fetch at a time.
    async fn metadata(&self, fresh: bool) -> Result<Arc<ProviderMetadataWithLogout>, Trouble> {
        let mut kept = self.discovered.lock().await;
        let recent = |at: &Instant, within| at.elapsed() < within;
        if let Some((at, metadata)) = &kept.metadata
            && !fresh
            && recent(at, KEEP_DISCOVERY)
        {
            return Ok(metadata.clone());
        }
        if let Some((at, why)) = &kept.failed
            && recent(at, RETRY_AFTER_FAILURE)
        {
            return match &kept.metadata {
                Some((_, metadata)) => Ok(metadata.clone()),
                None => Err(Trouble::Unreachable(why.clone())),
            };
        }
        match self.discover().await {
            Ok(metadata) => {
                let metadata = Arc::new(metadata);
                kept.metadata = Some((Instant::now(), metadata.clone()));
                kept.failed = None;
                Ok(metadata)
            }
            Err(why) => {
                rocket::warn!("single sign-on: the provider's discovery document: {why}");
                kept.failed = Some((Instant::now(), why.clone()));
                match &kept.metadata {
                    Some((_, metadata)) => Ok(metadata.clone()),
                    None => Err(Trouble::Unreachable(why)),
                }
            }
        }
    }

    async fn discover(&self) -> Result<ProviderMetadataWithLogout, String> {
        let issuer = IssuerUrl::new(self.settings.issuer.clone()).map_err(|e| e.to_string())?;
        let http = |request| send(self.http.clone(), request);
        ProviderMetadataWithLogout::discover_async(issuer, &http)
            .await
            .map_err(|e| error_chain(&e))
    }

    /// Fetches the discovery document now, so that a wrong issuer shows in
    /// the log at start rather than to the first person signing in.
    pub async fn check(&self) -> Result<(), String> {
        self.metadata(false)
            .await
            .map(|_| ())
            .map_err(|trouble| format!("{trouble:?}"))
    }

    fn client(
        &self,
        metadata: &ProviderMetadataWithLogout,
    ) -> Result<
        CoreClient<
            openidconnect::EndpointSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointMaybeSet,
            openidconnect::EndpointMaybeSet,
        >,
        Trouble,
    > {
        let redirect = RedirectUrl::new(self.settings.callback())
            .map_err(|e| Trouble::Unreachable(e.to_string()))?;
        Ok(CoreClient::from_provider_metadata(
            metadata.clone(),
            ClientId::new(self.settings.client_id.clone()),
            self.settings.client_secret.clone().map(ClientSecret::new),
        )
        .set_redirect_uri(redirect))
    }

    /// Where to send the person, and what to keep until they come back.
    /// `ask_again`: the provider must ask for the password even if it still
    /// knows the person (someone logged out of handin in this browser: on a
    /// shared machine the next person must not walk into their account).
    pub async fn start(
        &self,
        next: &str,
        ask_again: bool,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(String, Flow), Trouble> {
        let metadata = self.metadata(false).await?;
        let client = self.client(&metadata)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("profile".to_string()))
            .add_scope(Scope::new("email".to_string()))
            .set_pkce_challenge(challenge);
        if ask_again {
            request = request.add_prompt(openidconnect::core::CoreAuthPrompt::Login);
        }
        let (url, state, nonce) = request.url();
        let flow = Flow {
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            verifier: verifier.secret().clone(),
            next: next.to_string(),
            started: now.timestamp(),
        };
        Ok((url.to_string(), flow))
    }

    /// Exchanges the code the provider sent back (with the flow's PKCE
    /// verifier) and checks the ID token. The caller has already checked
    /// `state` against the flow.
    pub async fn finish(&self, flow: &Flow, code: &str) -> Result<Vouched, Trouble> {
        let metadata = self.metadata(false).await?;
        let client = self.client(&metadata)?;
        let http = |request| send(self.http.clone(), request);
        let tokens = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|e| Trouble::Unreachable(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(flow.verifier.clone()))
            .request_async(&http)
            .await
            .map_err(|e| Trouble::Refused(error_chain(&e)))?;
        let id_token = tokens.id_token().ok_or_else(|| Trouble::Unverified {
            plain: "it held no ID token",
            detail: String::new(),
        })?;
        let nonce = Nonce::new(flow.nonce.clone());
        let claims = match id_token.claims(&client.id_token_verifier(), &nonce) {
            Ok(claims) => claims.clone(),
            // Perhaps signed by a key published since we last looked.
            Err(openidconnect::ClaimsVerificationError::SignatureVerification(_)) => {
                let metadata = self.metadata(true).await?;
                let client = self.client(&metadata)?;
                id_token
                    .claims(&client.id_token_verifier(), &nonce)
                    .map_err(|e| unverified(&e))?
                    .clone()
            }
            Err(e) => return Err(unverified(&e)),
        };
        let identity = format!("{} {}", claims.issuer().as_str(), claims.subject().as_str());
        let mut person = self.person(&claims);
        // Some providers put names in the user info only.
        if person.username.is_none()
            && let Ok(request) = client.user_info(
                tokens.access_token().clone(),
                Some(claims.subject().clone()),
            )
        {
            let info: openidconnect::core::CoreUserInfoClaims = request
                .request_async(&http)
                .await
                .map_err(|e| Trouble::Unreachable(error_chain(&e)))?;
            person = self.person_from(
                info.preferred_username().map(|u| u.as_str()),
                info.email().map(|e| e.as_str()),
                info.email_verified(),
                info.subject().as_str(),
                info.name().and_then(|n| n.get(None)).map(|n| n.as_str()),
            );
        }
        // Anyone can type an address into an account at some providers: an
        // address names a person only once the provider has checked it.
        if self.settings.username_claim == "email" && person.email_verified != Some(true) {
            return Err(Trouble::Unverified {
                plain: "it names an email address the sign-in service has not verified",
                detail: format!("email_verified is {:?}", person.email_verified),
            });
        }
        let username = person
            .username
            .ok_or_else(|| Trouble::NoUsername(self.settings.username_claim.clone()))?;
        Ok(Vouched {
            username,
            identity,
            name: person.name,
            email: person.email,
            id_token: id_token.to_string(),
        })
    }

    fn person(&self, claims: &IdTokenClaims<EmptyAdditionalClaims, CoreGenderClaim>) -> Person {
        self.person_from(
            claims.preferred_username().map(|u| u.as_str()),
            claims.email().map(|e| e.as_str()),
            claims.email_verified(),
            claims.subject().as_str(),
            claims.name().and_then(|n| n.get(None)).map(|n| n.as_str()),
        )
    }

    fn person_from(
        &self,
        preferred: Option<&str>,
        email: Option<&str>,
        email_verified: Option<bool>,
        subject: &str,
        name: Option<&str>,
    ) -> Person {
        let claimed = match self.settings.username_claim.as_str() {
            "email" => email,
            "sub" => Some(subject),
            _ => preferred,
        };
        let username = claimed
            .map(|value| value.trim().to_string())
            .filter(|u| !u.is_empty());
        let some = |text: Option<&str>| {
            text.map(str::trim)
                .filter(|t| !t.is_empty())
                .map(String::from)
        };
        Person {
            username,
            name: some(name),
            email: some(email),
            email_verified,
        }
    }

    /// Where logging out sends the person to sign out at the provider too,
    /// if the provider offers that (RP-initiated logout). From what is
    /// already known: logging out never waits for the provider.
    pub fn logout_url(&self, id_token: &str) -> Option<String> {
        let metadata = self.discovered.try_lock().ok()?.metadata.clone()?.1;
        let end = metadata
            .additional_metadata()
            .end_session_endpoint
            .clone()?;
        let back =
            PostLogoutRedirectUrl::new(format!("{}{SIGNED_OUT_PATH}", self.settings.public_url))
                .ok()?;
        let hint: openidconnect::core::CoreIdToken = id_token.parse().ok()?;
        Some(
            LogoutRequest::from(end)
                .set_client_id(ClientId::new(self.settings.client_id.clone()))
                .set_id_token_hint(&hint)
                .set_post_logout_redirect_uri(back)
                .http_get_url()
                .to_string(),
        )
    }
}

impl Settings {
    fn callback(&self) -> String {
        format!("{}{CALLBACK_PATH}", self.public_url)
    }
}

struct Person {
    username: Option<String>,
    name: Option<String>,
    email: Option<String>,
    email_verified: Option<bool>,
}

/// A failed check of the ID token, in words a person can pass on.
fn unverified(error: &openidconnect::ClaimsVerificationError) -> Trouble {
    use openidconnect::ClaimsVerificationError as Check;
    let plain = match error {
        Check::SignatureVerification(_) => "it was not signed with the sign-in service's key",
        Check::Expired(_) => {
            "it had expired (if this keeps happening, this server's clock may be wrong)"
        }
        Check::InvalidAudience(_) => "it was issued for another application",
        Check::InvalidIssuer(_) => "it came from another sign-in service",
        Check::InvalidNonce(_) => "it belongs to another sign-in",
        _ => "it is not a valid ID token",
    };
    Trouble::Unverified {
        plain,
        detail: error_chain(error),
    }
}

/// An error and its causes, on one line: the crate's top-level messages
/// ("Signature verification failed") say less than their sources.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    text
}
