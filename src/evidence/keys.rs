//! The signing key's file: its 32-byte Ed25519 seed, base64, on one line,
//! readable by handin's user only. Never in the database: a copy of the
//! database (a backup, a restore) cannot sign anything.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use super::jws::Signer;
use super::{b64, from_b64};

fn read(path: &Path) -> Result<Signer, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the signing key {}: {e}", path.display()))?;
    let seed: [u8; 32] = from_b64(text.trim())
        .map_err(|e| format!("the signing key {} is damaged: {e}", path.display()))?
        .try_into()
        .map_err(|_| format!("the signing key {} is not 32 bytes", path.display()))?;
    Ok(Signer::from_seed(&seed))
}

/// Writes a new key to `path`, which must not exist (mode 0600, synced).
/// The key is written whole beside it, then linked into place: another
/// instance never reads a half-written key.
fn create(path: &Path) -> std::io::Result<Signer> {
    let seed: [u8; 32] = rand::random();
    let partial = path.with_extension(format!(
        "partial-{}",
        hex::encode(rand::random::<[u8; 6]>())
    ));
    let written = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&partial)?;
        file.write_all(format!("{}\n", b64(&seed)).as_bytes())?;
        file.sync_all()?;
        std::fs::hard_link(&partial, path)
    })();
    let _ = std::fs::remove_file(&partial);
    written.map(|()| Signer::from_seed(&seed))
}

/// The key in `path`, if there is one.
pub fn load(path: &Path) -> Result<Option<Signer>, String> {
    if path.exists() {
        read(path).map(Some)
    } else {
        Ok(None)
    }
}

/// The key in `path`, made there first if there is none. Several instances
/// starting at once agree: only one can create the file.
pub fn load_or_create(path: &Path) -> Result<Signer, String> {
    if path.exists() {
        return read(path);
    }
    if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder)
            .map_err(|e| format!("cannot make the folder for {}: {e}", path.display()))?;
    }
    match create(path) {
        Ok(signer) => Ok(signer),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read(path),
        Err(e) => Err(format!(
            "cannot create the signing key {}: {e}",
            path.display()
        )),
    }
}

/// Replaces the key in `path` with a new one; the old file is kept beside
/// it as `<path>.<kid>.retired` (to restore from, never to sign with).
pub fn rotate(path: &Path) -> Result<(Signer, Signer), String> {
    let old = read(path)?;
    let kept = path.with_file_name(format!(
        "{}.{}.retired",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("signing.key"),
        old.kid()
    ));
    std::fs::rename(path, &kept)
        .map_err(|e| format!("cannot set the old key aside as {}: {e}", kept.display()))?;
    let new = create(path).map_err(|e| format!("cannot create the new key: {e}"))?;
    Ok((old, new))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_key_is_made_once_private_and_rotated_aside() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/signing.key");
        let first = load_or_create(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(load_or_create(&path).unwrap().kid(), first.kid());
        let (old, new) = rotate(&path).unwrap();
        assert_eq!(old.kid(), first.kid());
        assert_ne!(new.kid(), first.kid());
        assert_eq!(load_or_create(&path).unwrap().kid(), new.kid());
        assert!(
            dir.path()
                .join(format!("keys/signing.key.{}.retired", old.kid()))
                .exists()
        );
    }
}
