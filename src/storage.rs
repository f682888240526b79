//! The uploads folder: bundles are streamed into `incoming/` while they are
//! hashed, fsynced, and linked into `bundles/` under a name the server
//! chose. Nothing is ever overwritten; a file in `incoming/` is never a
//! submission, so whatever is left there after a crash is deleted at start,
//! and a kept file without its row is set aside in `orphans/`.

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
}

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
    /// Opens (and creates, if needed) the uploads folder.
    pub fn open(root: impl Into<PathBuf>) -> io::Result<Self> {
        let uploads = Uploads { root: root.into() };
        std::fs::create_dir_all(uploads.root.join(INCOMING))?;
        std::fs::create_dir_all(uploads.root.join(BUNDLES))?;
        std::fs::create_dir_all(uploads.root.join(EVIDENCE))?;
        Ok(uploads)
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
        let path = self
            .root
            .join(INCOMING)
            .join(format!("{}.part", random_name()));
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

    /// Cleans up after a crash. Files in `incoming/` were never submissions
    /// and are deleted. A kept file that no row names (a crash between the
    /// link and the insert) is moved to `orphans/`, never deleted: pointed at
    /// the wrong database by mistake, the server must not destroy the work it
    /// holds. `recorded` lists every stored path the database knows.
    /// Returns what was moved or removed. Run at start, before any upload.
    pub fn clean_orphans(&self, recorded: &HashSet<String>) -> io::Result<Vec<PathBuf>> {
        let mut cleaned = Vec::new();
        for entry in std::fs::read_dir(self.root.join(INCOMING))? {
            let path = entry?.path();
            std::fs::remove_file(&path)?;
            cleaned.push(path);
        }
        std::fs::create_dir_all(self.root.join(ORPHANS))?;
        for folder in [BUNDLES, EVIDENCE] {
            for entry in std::fs::read_dir(self.root.join(folder))? {
                let entry = entry?;
                let name = entry.file_name().to_string_lossy().to_string();
                if !recorded.contains(&format!("{folder}/{name}")) {
                    let target = self.root.join(ORPHANS).join(format!("{folder}-{name}"));
                    std::fs::rename(entry.path(), &target)?;
                    cleaned.push(target);
                }
            }
        }
        Ok(cleaned)
    }

    /// Every file under the uploads folder (for checks that nothing leaked).
    pub fn files(&self) -> io::Result<Vec<PathBuf>> {
        let mut files = Vec::new();
        for dir in [INCOMING, BUNDLES, EVIDENCE] {
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
