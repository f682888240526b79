//! Compact JWS signed with Ed25519 (`alg: EdDSA`), and public keys as JWKs
//! named by their RFC 7638 thumbprint: what any JOSE library checks with
//! the JWKS alone.

use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{b64url, from_b64url, sha256};

/// A public key as the JWKS lists it, with when it signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    pub kty: String,
    pub crv: String,
    /// The 32-byte public key, base64url.
    pub x: String,
    pub kid: String,
    #[serde(rename = "use", default)]
    pub use_: String,
    #[serde(default)]
    pub alg: String,
    /// When the key began signing (RFC 3339); handin's own member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<String>,
    /// When it stopped (a newer key took over); none while it signs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<String>,
}

impl Jwk {
    pub fn for_key(public: &[u8; 32]) -> Jwk {
        let x = b64url(public);
        Jwk {
            kid: thumbprint(&x),
            kty: "OKP".into(),
            crv: "Ed25519".into(),
            x,
            use_: "sig".into(),
            alg: "EdDSA".into(),
            valid_from: None,
            valid_until: None,
        }
    }

    pub fn public_key(&self) -> Result<[u8; 32], String> {
        if self.kty != "OKP" || self.crv != "Ed25519" {
            return Err(format!("key {} is not an Ed25519 key", self.kid));
        }
        from_b64url(&self.x)?
            .try_into()
            .map_err(|_| format!("key {} is not 32 bytes", self.kid))
    }
}

/// RFC 7638: the SHA-256 of the key's required members in order, base64url.
pub fn thumbprint(x: &str) -> String {
    let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
    b64url(&sha256(canonical.as_bytes()))
}

/// The server's signing key, named by its thumbprint.
pub struct Signer {
    key: SigningKey,
    pub jwk: Jwk,
}

impl Signer {
    pub fn from_seed(seed: &[u8; 32]) -> Signer {
        let key = SigningKey::from_bytes(seed);
        let jwk = Jwk::for_key(&key.verifying_key().to_bytes());
        Signer { key, jwk }
    }

    pub fn kid(&self) -> &str {
        &self.jwk.kid
    }

    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    /// Raw Ed25519 signature of `message`.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }

    /// `payload` as a compact JWS: header.payload.signature, base64url.
    pub fn jws(&self, payload: &Value) -> String {
        let header = serde_json::json!({"alg": "EdDSA", "kid": self.kid(), "typ": "JWT"});
        let signing_input = format!(
            "{}.{}",
            b64url(header.to_string().as_bytes()),
            b64url(payload.to_string().as_bytes())
        );
        let signature = self.sign(signing_input.as_bytes());
        format!("{signing_input}.{}", b64url(&signature))
    }
}

/// A JWS's payload, unchecked: for showing a statement handin just signed.
pub fn payload_of(jws: &str) -> Value {
    jws.split('.')
        .nth(1)
        .and_then(|p| from_b64url(p).ok())
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or(Value::Null)
}

/// A JWS checked against the keys it may be signed with: its key and payload.
#[derive(Debug)]
pub struct Checked {
    pub kid: String,
    pub payload: Value,
}

/// Checks a compact JWS's signature with the key its header names.
pub fn verify(jws: &str, keys: &[Jwk]) -> Result<Checked, String> {
    let parts: Vec<&str> = jws.trim().split('.').collect();
    let [header, payload, signature] = parts[..] else {
        return Err("not a compact JWS (three parts separated by dots)".into());
    };
    let header: Value = serde_json::from_slice(&from_b64url(header)?)
        .map_err(|e| format!("the JWS header is not JSON: {e}"))?;
    if header["alg"] != "EdDSA" {
        return Err(format!(
            "the JWS is not signed with EdDSA but {}",
            header["alg"]
        ));
    }
    let kid = header["kid"].as_str().unwrap_or_default().to_string();
    let key = keys
        .iter()
        .find(|k| k.kid == kid)
        .ok_or_else(|| format!("no published key has the id {kid}"))?;
    let public = VerifyingKey::from_bytes(&key.public_key()?)
        .map_err(|e| format!("key {kid} is not a valid Ed25519 key: {e}"))?;
    let signature: [u8; 64] = from_b64url(signature)?
        .try_into()
        .map_err(|_| "the signature is not 64 bytes".to_string())?;
    let signing_input = &jws.trim()[..jws.trim().rfind('.').unwrap_or(0)];
    public
        .verify(signing_input.as_bytes(), &Signature::from_bytes(&signature))
        .map_err(|_| format!("the signature does not match key {kid}: the receipt was changed or not signed by handin"))?;
    let payload = serde_json::from_slice(&from_b64url(payload)?)
        .map_err(|e| format!("the JWS payload is not JSON: {e}"))?;
    Ok(Checked { kid, payload })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_8037_appendix_a_key_and_thumbprint() {
        // RFC 8037 A.1 and A.3: the example key and its thumbprint.
        let seed: [u8; 32] = from_b64url("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A")
            .unwrap()
            .try_into()
            .unwrap();
        let signer = Signer::from_seed(&seed);
        assert_eq!(signer.jwk.x, "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
        assert_eq!(signer.kid(), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
        // A.4: the signature of "Example of Ed25519 signing" with header {"alg":"EdDSA"}.
        let input = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
        assert_eq!(
            b64url(&signer.sign(input.as_bytes())),
            "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
        );
    }

    #[test]
    fn a_signed_payload_verifies_and_any_change_is_caught() {
        let signer = Signer::from_seed(&[7; 32]);
        let jws = signer.jws(&serde_json::json!({"sha256": "ab", "size": 3}));
        let keys = [signer.jwk.clone()];
        let checked = verify(&jws, &keys).unwrap();
        assert_eq!(checked.payload["size"], 3);
        assert_eq!(checked.kid, signer.kid());
        let [h, _, s]: [&str; 3] = jws.split('.').collect::<Vec<_>>().try_into().unwrap();
        let forged = format!("{h}.{}.{s}", b64url(br#"{"sha256":"ab","size":4}"#));
        assert!(
            verify(&forged, &keys)
                .unwrap_err()
                .contains("does not match")
        );
        let other = Signer::from_seed(&[8; 32]);
        assert!(
            verify(&jws, std::slice::from_ref(&other.jwk))
                .unwrap_err()
                .contains("no published key")
        );
    }
}
