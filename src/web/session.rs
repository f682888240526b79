//! Who is asking: a logged-in browser (a private cookie naming a session
//! kept on the server, with a CSRF token for every state-changing form) or a
//! script (`Authorization: Bearer`).
//!
//! API paths accept only tokens and pages only cookies, so a browser's
//! cookie can never drive the API without a CSRF token.

use std::net::{IpAddr, Ipv4Addr};

use rocket::http::{Cookie, CookieJar, SameSite};
use rocket::request::{FromRequest, Outcome, Request};

use super::error::{AppError, fail, is_api};
use crate::App;
use crate::models::session::{Origin, SignedIn};
use crate::models::{api_token, user};
use crate::services::accounts;
use crate::services::sign_in::{self, Person, SignIn};

const SESSION_COOKIE: &str = "handin_session";
const LOGIN_COOKIE: &str = "handin_login";

pub fn random_token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// Compares secrets without stopping at the first difference.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn private_cookie(name: &'static str, value: String, secure: bool) -> Cookie<'static> {
    Cookie::build((name, value))
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .path("/")
        .build()
}

/// A private, HTTP-only cookie for one short errand (a sign-in on its way,
/// a token to show once): only under `path`, gone after `minutes`.
pub fn errand_cookie(
    app: &App,
    name: &'static str,
    value: String,
    path: &'static str,
    same_site: SameSite,
    minutes: i64,
) -> Cookie<'static> {
    Cookie::build((name, value))
        .http_only(true)
        .same_site(same_site)
        .secure(app.config.secure_cookies)
        .path(path)
        .max_age(rocket::time::Duration::minutes(minutes))
        .build()
}

/// The session cookie is `Strict`: no other site's page can make the
/// browser send it. Behind a sign-in proxy it is `Lax`: a link from
/// another site (a course page, an email) would otherwise arrive without
/// it, the proxy's header would start a new session, and the forms open in
/// other tabs would lose their CSRF token. Every form carries that token,
/// so `Lax` gives a forged form nothing.
fn session_cookie(app: &App, secret: String) -> Cookie<'static> {
    let mut cookie = private_cookie(SESSION_COOKIE, secret, app.config.secure_cookies);
    if app.config.remote_user_header.is_some() {
        cookie.set_same_site(SameSite::Lax);
    }
    cookie
}

/// The client's address: the peer's, unless the peer is a trusted proxy,
/// whose `X-Forwarded-For` then names the client (the nearest hop, from the
/// right, that is not one of the trusted proxies: what a client writes
/// into the header itself stands further left and is never believed).
pub fn client_address(request: &Request<'_>, trusted: &[IpAddr]) -> IpAddr {
    // An IPv4 client of a dual-stack listener arrives as ::ffff:a.b.c.d.
    let peer = request
        .remote()
        .map(|r| r.ip().to_canonical())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    if !trusted.contains(&peer) {
        return peer;
    }
    // From the right: the hops our proxies added, then the client. A hop
    // that is not an address ends the walk: what stands left of it was
    // written by someone we do not trust.
    let hops: Vec<&str> = request
        .headers()
        .get("X-Forwarded-For")
        .flat_map(|value| value.split(','))
        .collect();
    let mut client = peer;
    for hop in hops.into_iter().rev() {
        match hop.trim().parse::<IpAddr>().map(|a| a.to_canonical()) {
            Ok(address) => {
                client = address;
                if !trusted.contains(&address) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    client
}

/// Where a login came from, for the session's record (signed in with a
/// password, unless the caller says otherwise).
pub fn origin(request: &Request<'_>, address: IpAddr) -> Origin {
    Origin {
        user_agent: request
            .headers()
            .get_one("User-Agent")
            .unwrap_or_default()
            .to_string(),
        address: address.to_string(),
        signed_in: SignedIn::Password,
    }
}

/// Starts a session on the server and gives the browser its secret (and
/// returns it).
pub async fn start_session(
    app: &App,
    cookies: &CookieJar<'_>,
    user_id: i32,
    origin: Origin,
) -> Result<String, AppError> {
    let secret = accounts::start_session(app, user_id, origin).await?;
    cookies.add_private(session_cookie(app, secret.clone()));
    cookies.remove_private(LOGIN_COOKIE);
    Ok(secret)
}

/// Ends the browser's session on the server, and forgets its cookie; says
/// how it had been signed in, if there was one.
pub async fn end_session(app: &App, cookies: &CookieJar<'_>) -> Result<Option<SignedIn>, AppError> {
    let mut ended = None;
    if let Some(cookie) = cookies.get_private(SESSION_COOKIE) {
        ended = accounts::end_session(app, cookie.value()).await?;
    }
    cookies.remove_private(SESSION_COOKIE);
    Ok(ended)
}

/// A token for the login form, kept in its own private cookie: login is a
/// state-changing form too (login CSRF would log a student into an attacker's
/// account, where their work would then be handed in).
pub fn login_csrf(cookies: &CookieJar<'_>, secure: bool) -> String {
    if let Some(existing) = cookies.get_private(LOGIN_COOKIE) {
        return existing.value().to_string();
    }
    let token = random_token();
    cookies.add_private(private_cookie(LOGIN_COOKIE, token.clone(), secure));
    token
}

pub fn check_login_csrf(cookies: &CookieJar<'_>, sent: &str) -> bool {
    cookies
        .get_private(LOGIN_COOKIE)
        .is_some_and(|c| same_secret(c.value(), sent))
}

#[derive(Debug, Clone)]
enum Via {
    Session { csrf: String },
    Token,
}

/// The authenticated user behind a request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: user::Model,
    via: Via,
}

impl Caller {
    /// The token a page puts in its forms (empty for API callers).
    pub fn csrf(&self) -> &str {
        match &self.via {
            Via::Session { csrf } => csrf,
            Via::Token => "",
        }
    }

    /// Every state-changing form from a browser must carry the session's token.
    pub fn check_csrf(&self, sent: &str) -> Result<(), AppError> {
        match &self.via {
            Via::Token => Ok(()),
            Via::Session { csrf } if same_secret(csrf, sent) => Ok(()),
            Via::Session { .. } => Err(AppError::forbidden(
                "This form has expired or did not come from handin (its security token is missing or wrong). \
                 Nothing was changed. Please reload the page and try again.",
            )),
        }
    }

    /// What every page template needs to know about who is looking.
    pub fn view(&self) -> serde_json::Value {
        serde_json::json!({
            "username": self.user.username,
            "name": self.user.display_name,
            "role": self.user.role,
            "csrf": self.csrf(),
        })
    }
}

/// The person a proxy in front says is signed in (`remote_user_header`),
/// believed only from `remote_user_proxies`: from anyone else the header is
/// a forgery, ignored and logged.
fn remote_user(request: &Request<'_>, app: &App) -> Option<String> {
    let header = app.config.remote_user_header.as_deref()?;
    let values: Vec<&str> = request.headers().get(header).collect();
    let value = values.first()?.trim();
    let peer = request.remote().map(|r| r.ip().to_canonical());
    if peer.is_some_and(|p| app.config.remote_user_proxies.contains(&p)) {
        // One plain value, or none: a proxy that appends to a header a
        // client sent (rather than replacing it) must not let the client's
        // name through first.
        if values.len() != 1 || value.is_empty() || value.contains(',') {
            rocket::warn!("ignored {header}: {values:?} from the proxy: one plain value expected");
            return None;
        }
        Some(value.to_string())
    } else {
        rocket::warn!(
            "ignored {header}: {value:?} from {peer:?}, which is not one of remote_user_proxies"
        );
        None
    }
}

/// The proxy's person, in a session of their own: the one the browser has
/// if it is theirs, or a new one (ending whoever was signed in before).
async fn from_proxy(
    request: &Request<'_>,
    app: &App,
    username: String,
) -> Result<Caller, AppError> {
    let cookies = request.cookies();
    let said = sign_in::username_from(&username, app.config.username_domain.as_deref());
    if let Some(cookie) = cookies.get_private(SESSION_COOKIE)
        && let Some((user, csrf)) = accounts::resume_session(app, cookie.value()).await?
        && user.username.eq_ignore_ascii_case(&said)
    {
        return Ok(Caller {
            user,
            via: Via::Session { csrf },
        });
    }
    let person = Person {
        username,
        identity: None,
        name: None,
        email: None,
    };
    let user = match sign_in::vouched(app, person, "the sign-in proxy").await? {
        SignIn::Welcome(user) => user,
        SignIn::Unknown { username } => {
            return Err(AppError::forbidden(super::sso::unknown_message(
                app, &username,
            )));
        }
        SignIn::Taken { username } => {
            return Err(AppError::forbidden(super::sso::taken_message(
                app, &username,
            )));
        }
    };
    let address = client_address(request, &app.config.trusted_proxies);
    end_session(app, cookies).await?;
    let mut from = origin(request, address);
    from.signed_in = SignedIn::Proxy;
    let secret = start_session(app, cookies, user.id, from).await?;
    let (user, csrf) = accounts::resume_session(app, &secret)
        .await?
        .ok_or_else(|| AppError::internal("a session just started cannot be resumed"))?;
    Ok(Caller {
        user,
        via: Via::Session { csrf },
    })
}

async fn from_session(request: &Request<'_>, app: &App) -> Result<Caller, AppError> {
    if let Some(username) = remote_user(request, app) {
        return from_proxy(request, app, username).await;
    }
    let cookies = request.cookies();
    let secret = cookies
        .get_private(SESSION_COOKIE)
        .map(|c| c.value().to_string())
        .ok_or_else(AppError::unauthorized)?;
    match accounts::resume_session(app, &secret).await? {
        Some((user, csrf)) => Ok(Caller {
            user,
            via: Via::Session { csrf },
        }),
        None => {
            // Ended, expired, or never ours: the cookie is of no more use.
            cookies.remove_private(SESSION_COOKIE);
            Err(AppError::unauthorized())
        }
    }
}

async fn from_token(request: &Request<'_>, app: &App) -> Result<Caller, AppError> {
    let header = request
        .headers()
        .get_one("Authorization")
        .unwrap_or_default();
    let Some(token) = header
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| !t.is_empty())
    else {
        return Err(AppError::new(
            rocket::http::Status::Unauthorized,
            "Send an API token as 'Authorization: Bearer TOKEN' (an administrator makes one with `handin token USERNAME`).",
        ));
    };
    let refused = |why: &str| AppError::new(rocket::http::Status::Unauthorized, why.to_string());
    let user = match accounts::by_token(app, token).await? {
        Ok(user) => user,
        Err(api_token::Refused::Unknown) => return Err(refused("The API token is not valid.")),
        Err(api_token::Refused::Expired) => {
            return Err(refused(
                "The API token has expired: ask for a new one (`handin token USERNAME`).",
            ));
        }
        Err(api_token::Refused::Revoked) => return Err(refused("The API token was revoked.")),
    };
    Ok(Caller {
        user,
        via: Via::Token,
    })
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Caller {
    type Error = AppError;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, AppError> {
        let Some(app) = request.rocket().state::<App>() else {
            return fail(request, AppError::internal("application state missing"));
        };
        // Several guards of one request may ask; the database is asked once.
        let result = request
            .local_cache_async(async {
                if is_api(request) {
                    from_token(request, app).await
                } else {
                    from_session(request, app).await
                }
            })
            .await;
        match result {
            Ok(caller) => Outcome::Success(caller.clone()),
            Err(error) => fail(request, error.clone()),
        }
    }
}

/// A form that carries nothing but its CSRF token (a button that removes,
/// withdraws or logs out).
#[derive(rocket::FromForm)]
pub struct CsrfOnly<'r> {
    pub csrf: &'r str,
}
