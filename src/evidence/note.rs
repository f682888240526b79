//! C2SP `signed-note` with Ed25519 signatures, and the `tlog-checkpoint`
//! text it carries: origin, tree size, root hash. What Go's checksum
//! database and Sigstore publish, so their tools read handin's log too.

use ed25519_dalek::{Signature, Verifier as _, VerifyingKey};

use super::jws::Signer;
use super::{b64, from_b64, sha256};

/// The signature line starts with an em dash and a space.
const DASH: &str = "\u{2014} ";

/// The 4-byte key id: SHA-256(name, newline, 0x01 (Ed25519), public key).
pub fn key_id(name: &str, public: &[u8; 32]) -> [u8; 4] {
    let mut input = Vec::with_capacity(name.len() + 34);
    input.extend_from_slice(name.as_bytes());
    input.push(b'\n');
    input.push(0x01);
    input.extend_from_slice(public);
    let hash = sha256(&input);
    [hash[0], hash[1], hash[2], hash[3]]
}

/// The verifier key in the note ecosystem's text form: `name+id+key`.
pub fn verifier_key(name: &str, public: &[u8; 32]) -> String {
    let mut key = vec![0x01];
    key.extend_from_slice(public);
    format!("{name}+{}+{}", hex::encode(key_id(name, public)), b64(&key))
}

/// The name and public key of a verifier key (`name+id+key`), checking
/// that its id is the key's.
pub fn parse_verifier_key(text: &str) -> Result<(String, [u8; 32]), String> {
    // Names hold no '+'; a key's base64 may.
    let mut parts = text.trim().splitn(3, '+');
    let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!("'{text}' is not a verifier key (name+id+key)"));
    };
    let key = from_b64(key)?;
    if key.len() != 33 || key[0] != 0x01 {
        return Err("the verifier key is not an Ed25519 key".into());
    }
    let public: [u8; 32] = key[1..].try_into().map_err(|_| "bad key")?;
    if hex::encode(key_id(name, &public)) != id {
        return Err("the verifier key's id does not match its key".into());
    }
    Ok((name.to_string(), public))
}

/// Signs `text` (which ends in a newline) as `name`.
pub fn sign(signer: &Signer, name: &str, text: &str) -> String {
    let mut signature = key_id(name, &signer.public_key()).to_vec();
    signature.extend_from_slice(&signer.sign(text.as_bytes()));
    format!("{text}\n{DASH}{name} {}\n", b64(&signature))
}

/// The text of a note signed by `name` with `public`; an error if no such
/// signature is on it or it does not verify.
pub fn open(note: &str, name: &str, public: &[u8; 32]) -> Result<String, String> {
    let split = note
        .rfind("\n\n")
        .ok_or("not a signed note (no blank line before its signatures)")?;
    let (text, signatures) = (&note[..split + 1], &note[split + 2..]);
    let wanted = key_id(name, public);
    let key = VerifyingKey::from_bytes(public).map_err(|e| e.to_string())?;
    for line in signatures.lines() {
        let Some(rest) = line.strip_prefix(DASH) else {
            return Err(format!("not a signature line: {line}"));
        };
        let Some((signer, encoded)) = rest.split_once(' ') else {
            return Err(format!("not a signature line: {line}"));
        };
        let bytes = from_b64(encoded)?;
        if signer != name || bytes.len() != 68 || bytes[..4] != wanted {
            continue;
        }
        let signature: [u8; 64] = bytes[4..].try_into().map_err(|_| "bad signature")?;
        return key
            .verify(text.as_bytes(), &Signature::from_bytes(&signature))
            .map(|_| text.to_string())
            .map_err(|_| {
                format!("the signature of {name} on this note does not verify: it was changed")
            });
    }
    Err(format!("the note is not signed by {name} with this key"))
}

/// A checkpoint: which log, how many entries, and the root of their tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: [u8; 32],
}

impl Checkpoint {
    pub fn text(&self) -> String {
        format!("{}\n{}\n{}\n", self.origin, self.size, b64(&self.root))
    }

    pub fn parse(text: &str) -> Result<Checkpoint, String> {
        let mut lines = text.split('\n');
        let origin = lines
            .next()
            .filter(|o| !o.is_empty())
            .ok_or("no origin line")?;
        let size = lines
            .next()
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or("the second line is not a tree size")?;
        let root: [u8; 32] = from_b64(lines.next().unwrap_or_default())?
            .try_into()
            .map_err(|_| "the root hash is not 32 bytes")?;
        Ok(Checkpoint {
            origin: origin.to_string(),
            size,
            root,
        })
    }

    /// The checkpoint signed as a note by the log (named by its origin).
    pub fn signed(&self, signer: &Signer) -> String {
        sign(signer, &self.origin, &self.text())
    }

    /// The checkpoint a signed note holds, if `public` signed it as `origin`.
    pub fn open(note: &str, origin: &str, public: &[u8; 32]) -> Result<Checkpoint, String> {
        let checkpoint = Checkpoint::parse(&open(note, origin, public)?)?;
        if checkpoint.origin != origin {
            return Err(format!(
                "the checkpoint is of log {}, not {origin}",
                checkpoint.origin
            ));
        }
        Ok(checkpoint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signed_note_test_vector_of_go_s_note_package() {
        // From golang.org/x/mod/sumdb/note: PeterNeumann's key and note.
        let seed: [u8; 32] = from_b64("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz").unwrap()[1..]
            .try_into()
            .unwrap();
        let signer = Signer::from_seed(&seed);
        let name = "PeterNeumann";
        assert_eq!(
            verifier_key(name, &signer.public_key()),
            "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
        );
        let text = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
        let (parsed, public) =
            parse_verifier_key(&verifier_key(name, &signer.public_key())).unwrap();
        assert_eq!((parsed.as_str(), public), (name, signer.public_key()));
        assert!(
            parse_verifier_key(
                "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
            )
            .is_err()
        );
        let note = sign(&signer, name, text);
        assert!(note.ends_with(
            "\n\n\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
        ), "{note}");
        assert_eq!(open(&note, name, &signer.public_key()).unwrap(), text);
        let changed = note.replace("answer", "question");
        assert!(open(&changed, name, &signer.public_key()).is_err());
    }

    #[test]
    fn a_checkpoint_round_trips_and_names_its_log() {
        let signer = Signer::from_seed(&[3; 32]);
        let checkpoint = Checkpoint {
            origin: "handin.example.ac.uk/log".into(),
            size: 42,
            root: [9; 32],
        };
        let note = checkpoint.signed(&signer);
        assert!(
            note.starts_with("handin.example.ac.uk/log\n42\nCQkJ"),
            "{note}"
        );
        let opened = Checkpoint::open(&note, "handin.example.ac.uk/log", &signer.public_key());
        assert_eq!(opened.unwrap(), checkpoint);
        assert!(Checkpoint::open(&note, "another/log", &signer.public_key()).is_err());
    }
}
