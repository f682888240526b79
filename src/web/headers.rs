//! The security headers on every response: no framing, no sniffing, no
//! referrer leaking an id, no caching of pages, and a content security
//! policy that allows only handin's own script and style (there is no
//! inline script or style).

use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::Header;
use rocket::{Request, Response};

pub struct SecurityHeaders;

const POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

#[rocket::async_trait]
impl Fairing for SecurityHeaders {
    fn info(&self) -> Info {
        Info {
            name: "security headers",
            kind: Kind::Response,
        }
    }

    async fn on_response<'r>(&self, request: &'r Request<'_>, response: &mut Response<'r>) {
        // Pages and downloads hold people's work and names: no shared
        // machine's cache keeps them. The stylesheet and script may be kept.
        if !request.uri().path().starts_with("/static/") {
            response.set_header(Header::new("Cache-Control", "no-store"));
        }
        // A page with a policy of its own (the receipt checker) keeps it.
        if !response.headers().contains("Content-Security-Policy") {
            response.set_header(Header::new("Content-Security-Policy", POLICY));
        }
        for (name, value) in [
            ("X-Content-Type-Options", "nosniff"),
            ("X-Frame-Options", "DENY"),
            ("Referrer-Policy", "same-origin"),
        ] {
            response.set_header(Header::new(name, value));
        }
    }
}
