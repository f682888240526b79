//! The uploads folder: bundles are streamed into `incoming/<instance>/`
//! while they are hashed, fsynced, and linked into `bundles/` under a name
//! the server chose. Nothing is ever overwritten; a file in `incoming/` is
//! never a submission, so whatever a stopped instance left there is deleted,
//! and a kept file without its row is set aside in `orphans/`.
//!
//! Several instances may share the folder (on a shared file system): each
//! receives into its own `incoming/` folder, and clean-up touches only the
//! folders of instances that stopped beating (`models::instance`).

use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};

use rocket::tokio::fs::{self, File};
use rocket::tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use sha2::{Digest, Sha256};

const INCOMING: &str = "incoming";
const BUNDLES: &str = "bundles";
const EVIDENCE: &str = "evidence";
const ORPHANS: &str = "orphans";
const CHUNK: usize = 256 * 1024;

/// Where a kept file goes: bundles, or extension requests' evidence.
#[derive(Debug, Clone, Copy)]
pub enum Shelf {
    Bundles,
    Evidence,
}

#[derive(Debug, Clone)]
pub struct Uploads {
    root: PathBuf,
    /// This instance's own folder under `incoming/`.
    instance: String,
}

/// A kept file without its row is set aside only when no other instance is
/// alive, or when it is older than this: an instance records a file within
/// seconds of keeping it, so an hour-old one without a row will never get one.
const ORPHAN_AGE: std::time::Duration = std::time::Duration::from_secs(3600);

/// A bundle received in full, hashed, and fsynced, but not yet kept.
/// Dropping it deletes the file: a refused bundle leaves nothing behind.
#[derive(Debug)]
pub struct Received {
    path: PathBuf,
    pub sha256: String,
    pub size: u64,
}

#[derive(Debug)]
pub enum ReceiveError {
    /// The stream went past the limit; nothing was kept.
    TooLarge {
        limit: u64,
    },
    Io(io::Error),
}

impl From<io::Error> for ReceiveError {
    fn from(error: io::Error) -> Self {
        ReceiveError::Io(error)
    }
}

impl Uploads {
    /// Opens (and creates, if needed) the uploads folder, for the instance
    /// `instance` (a name no other running instance has).
    pub fn open(root: impl Into<PathBuf>, instance: &str) -> io::Result<Self> {
        let uploads = Uploads {
            root: root.into(),
            instance: instance.to_string(),
        };
        std::fs::create_dir_all(uploads.root.join(INCOMING))?;
        std::fs::create_dir_all(uploads.root.join(BUNDLES))?;
        std::fs::create_dir_all(uploads.root.join(EVIDENCE))?;
        Ok(uploads)
    }

    /// Whether the folder is there and holds its shelves (for `/readyz`: a
    /// network file system that went away shows here).
    pub async fn check(&self) -> io::Result<()> {
        for folder in [BUNDLES, EVIDENCE] {
            if !fs::metadata(self.root.join(folder)).await?.is_dir() {
                return Err(io::Error::other(format!("{folder} is not a folder")));
            }
        }
        Ok(())
    }

    /// The absolute place of a kept bundle, from its stored (relative) path.
    pub fn path_of(&self, stored_path: &str) -> PathBuf {
        self.root.join(stored_path)
    }

    /// Streams `body` into a new file in `incoming/`, hashing as it goes:
    /// memory stays flat whatever the size, and the bytes are read once.
    pub async fn receive(
        &self,
        mut body: impl AsyncRead + Unpin,
        limit: u64,
    ) -> Result<Received, ReceiveError> {
        let folder = self.root.join(INCOMING).join(&self.instance);
        // Made on first use, so that the command line, which receives
        // nothing, leaves no empty folder behind.
        fs::create_dir_all(&folder).await?;
        let path = folder.join(format!("{}.part", random_name()));
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .await?;
        // From here on, dropping `received` removes the file, whatever happens.
        let mut received = Received {
            path,
            sha256: String::new(),
            size: 0,
        };
        let mut hasher = Sha256::new();
        let mut buffer = vec![0u8; CHUNK];
        loop {
            let n = body.read(&mut buffer).await?;
            if n == 0 {
                break;
            }
            received.size += n as u64;
            if received.size > limit {
                return Err(ReceiveError::TooLarge { limit });
            }
            hasher.update(&buffer[..n]);
            file.write_all(&buffer[..n]).await?;
        }
        file.sync_all().await?;
        received.sha256 = hex::encode(hasher.finalize());
        Ok(received)
    }

    /// Moves a received file onto its shelf under a fresh name, durably
    /// (the link is fsynced through the folder). Returns the stored path,
    /// relative to the uploads folder, as the database keeps it.
    pub async fn keep(&self, received: Received, shelf: Shelf) -> io::Result<String> {
        let (folder, extension) = match shelf {
            Shelf::Bundles => (BUNDLES, "zip"),
            Shelf::Evidence => (EVIDENCE, "bin"),
        };
        let stored = format!("{folder}/{}.{extension}", random_name());
        let target = self.root.join(&stored);
        // A hard link fails rather than replace an existing file; with 128
        // random bits a clash is not expected, but nothing may be overwritten.
        fs::hard_link(&received.path, &target).await?;
        // Not durable is not kept: a file the caller will not record must
        // not stay behind.
        let synced = async { File::open(self.root.join(folder)).await?.sync_all().await };
        if let Err(e) = synced.await {
            let _ = fs::remove_file(&target).await;
            return Err(e);
        }
        drop(received); // removes the incoming name; the bundle lives on under `target`
        Ok(stored)
    }

    /// Removes a kept file whose database row could not be written, or
    /// that no row names any more.
    pub async fn discard(&self, stored_path: &str) {
        if let Err(e) = fs::remove_file(self.path_of(stored_path)).await {
            rocket::error!("could not remove unrecorded file {stored_path}: {e}");
        }
    }

    /// Cleans up after a crash. Files in `incoming/` were never
    /// submissions: the folders of instances not in `alive` are deleted
    /// (this instance's own too, at its start). A kept file that no row names
    /// (a crash between the link and the insert) is moved to `orphans/`,
    /// never deleted: pointed at the wrong database by mistake, the server
    /// must not destroy the work it holds. While other instances are alive,
    /// only files older than [`ORPHAN_AGE`] are set aside, since a young one
    /// may be about to get its row. `recorded` lists every stored path the
    /// database knows. Returns what was moved or removed.
    pub fn clean_orphans(
        &self,
        recorded: &HashSet<String>,
        alive: &HashSet<String>,
    ) -> io::Result<Vec<PathBuf>> {
        let mut cleaned = Vec::new();
        for entry in std::fs::read_dir(self.root.join(INCOMING))? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().to_string();
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                if !alive.contains(&name) {
                    std::fs::remove_dir_all(&path)?;
                    cleaned.push(path);
                }
            } else {
                // An earlier layout received straight into `incoming/`.
                std::fs::remove_file(&path)?;
                cleaned.push(path);
            }
        }
        let others_alive = alive.iter().any(|id| *id != self.instance);
        std::fs::create_dir_all(self.root.join(ORPHANS))?;
        for folder in [BUNDLES, EVIDENCE] {
            for entry in std::fs::read_dir(self.root.join(folder))? {
                let entry = entry?;
                let name = entry.file_name().to_string_lossy().to_string();
                if recorded.contains(&format!("{folder}/{name}")) {
                    continue;
                }
                let age = entry.metadata()?.modified()?.elapsed().unwrap_or_default();
                if others_alive && age < ORPHAN_AGE {
                    continue;
                }
                let target = self.root.join(ORPHANS).join(format!("{folder}-{name}"));
                std::fs::rename(entry.path(), &target)?;
                cleaned.push(target);
            }
        }
        Ok(cleaned)
    }

    /// Every file under the uploads folder (for checks that nothing leaked).
    pub fn files(&self) -> io::Result<Vec<PathBuf>> {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(self.root.join(INCOMING))? {
            let path = entry?.path();
            if path.is_dir() {
                for inner in std::fs::read_dir(&path)? {
                    files.push(inner?.path());
                }
            } else {
                files.push(path);
            }
        }
        for dir in [BUNDLES, EVIDENCE] {
            for entry in std::fs::read_dir(self.root.join(dir))? {
                files.push(entry?.path());
            }
        }
        files.sort();
        Ok(files)
    }
}
impl Received {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Received {
    fn drop(&mut self) {
        // Best effort: a file left behind is removed at the next start.
        let _ = std::fs::remove_file(&self.path);
    }
}

fn random_name() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

/// SHA-256 of a file, streamed (for verification and tests).
pub fn sha256_file(path: &Path) -> io::Result<String> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; CHUNK];
    loop {
        match file.read(&mut buffer)? {
            0 => return Ok(hex::encode(hasher.finalize())),
            n => hasher.update(&buffer[..n]),
        }
    }
}
