//! Evidence anyone can check without trusting handin's database: receipts
//! signed as JWS (RFC 7515, EdDSA/Ed25519 as RFC 8037 gives it), public
//! keys as a JWKS, and an append-only Merkle tree log (RFC 6962 / 9162
//! hashing) of the hashes of signed statements, with checkpoints in the
//! C2SP `tlog-checkpoint` and `signed-note` formats.
//!
//! Everything here is computation on bytes (and the key file); the log's
//! rows are `models::log`'s, the use cases `services::evidence`'s.

pub mod jws;
pub mod keys;
pub mod merkle;
pub mod note;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn from_b64url(text: &str) -> Result<Vec<u8>, String> {
    URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .map_err(|e| format!("not base64url: {e}"))
}

pub fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

pub fn from_b64(text: &str) -> Result<Vec<u8>, String> {
    STANDARD
        .decode(text)
        .map_err(|e| format!("not base64: {e}"))
}

pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

/// The server's signing key and the name of its log: what signs receipts,
/// statements and checkpoints.
pub struct Notary {
    pub signer: jws::Signer,
    pub origin: String,
}
