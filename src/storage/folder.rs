//! The uploads folder: bundles are streamed into `incoming/<instance>/`,
//! fsynced, and hard-linked onto their shelf, the link fsynced through the
//! folder. Several instances may share the folder (on a shared file system):
//! each receives into its own `incoming/` folder.

use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};

use rocket::tokio::fs::{self, File};
use rocket::tokio::io::{AsyncRead, AsyncWriteExt};

use super::{
    INCOMING, Instances, ORPHAN_AGE, ORPHANS, Opened, ReceiveError, SHELVES, Sink, gone_is_fine,
    pump, random_name,
};

#[derive(Debug, Clone)]
pub struct Folder {
    root: PathBuf,
    /// This instance's own folder under `incoming/`.
    instance: String,
}

/// A file in `incoming/`; dropping it removes it.
#[derive(Debug)]
pub struct Incoming {
    path: PathBuf,
}

impl Incoming {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Incoming {
    fn drop(&mut self) {
        // Best effort: a file left behind is removed after a restart.
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Sink for File {
    async fn write(&mut self, chunk: &[u8]) -> io::Result<()> {
        self.write_all(chunk).await
    }
}

impl Folder {
    pub fn open(root: &Path, instance: &str) -> io::Result<Folder> {
        let folder = Folder {
            root: root.to_path_buf(),
            instance: instance.to_string(),
        };
        for shelf in std::iter::once(INCOMING).chain(SHELVES) {
            std::fs::create_dir_all(folder.root.join(shelf))?;
        }
        Ok(folder)
    }

    /// The folder is there and holds its shelves (a network file system
    /// that went away shows here).
    pub async fn check(&self) -> io::Result<()> {
        for shelf in SHELVES {
            if !fs::metadata(self.root.join(shelf)).await?.is_dir() {
                return Err(io::Error::other(format!("{shelf} is not a folder")));
            }
        }
        Ok(())
    }

    pub fn instance(&self) -> &str {
        &self.instance
    }

    pub fn path_of(&self, stored: &str) -> PathBuf {
        self.root.join(stored)
    }

    pub async fn receive(
        &self,
        body: impl AsyncRead + Unpin,
        limit: u64,
    ) -> Result<(Incoming, String, u64), ReceiveError> {
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
        // From here on, dropping `incoming` removes the file, whatever happens.
        let incoming = Incoming { path };
        let (sha256, size) = pump(body, limit, &mut file).await?;
        file.sync_all().await?;
        Ok((incoming, sha256, size))
    }

    /// Links a received file under its stored name, durably (the link is
    /// fsynced through the folder).
    pub async fn keep(&self, incoming: Incoming, stored: &str) -> io::Result<()> {
        let target = self.root.join(stored);
        // A hard link fails rather than replace an existing file; with 128
        // random bits a clash is not expected, but nothing may be overwritten.
        fs::hard_link(&incoming.path, &target).await?;
        // Not durable is not kept: a file the caller will not record must
        // not stay behind.
        let shelf = target.parent().unwrap_or(&self.root);
        let synced = async { File::open(shelf).await?.sync_all().await };
        if let Err(e) = synced.await {
            let _ = fs::remove_file(&target).await;
            return Err(e);
        }
        drop(incoming); // removes the incoming name; the file lives on under `target`
        Ok(())
    }

    pub async fn discard(&self, stored: &str) -> io::Result<()> {
        fs::remove_file(self.path_of(stored)).await
    }

    pub async fn download(&self, stored: &str) -> io::Result<Opened> {
        let file = File::open(self.path_of(stored)).await?;
        let size = file.metadata().await?.len();
        Ok(Opened {
            body: Box::pin(file),
            size,
        })
    }

    /// See `Uploads::clean_orphans`. Blocking: run it on a blocking thread.
    pub fn clean_orphans(
        &self,
        recorded: &HashSet<String>,
        instances: &Instances,
        only_old: bool,
    ) -> io::Result<Vec<String>> {
        let mut cleaned = Vec::new();
        for entry in std::fs::read_dir(self.root.join(INCOMING))? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().to_string();
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                let quiet_for = entry.metadata()?.modified()?.elapsed().unwrap_or_default();
                if instances.may_clean(&name, quiet_for) {
                    gone_is_fine(std::fs::remove_dir_all(&path))?;
                    cleaned.push(format!("{INCOMING}/{name}/"));
                }
            } else {
                // An earlier layout received straight into `incoming/`.
                gone_is_fine(std::fs::remove_file(&path))?;
                cleaned.push(format!("{INCOMING}/{name}"));
            }
        }
        std::fs::create_dir_all(self.root.join(ORPHANS))?;
        for shelf in SHELVES {
            for entry in std::fs::read_dir(self.root.join(shelf))? {
                let entry = entry?;
                let name = entry.file_name().to_string_lossy().to_string();
                if recorded.contains(&format!("{shelf}/{name}")) {
                    continue;
                }
                let age = match entry.metadata() {
                    Ok(metadata) => metadata.modified()?.elapsed().unwrap_or_default(),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(e),
                };
                if only_old && age < ORPHAN_AGE {
                    continue;
                }
                let set_aside = format!("{ORPHANS}/{shelf}-{name}");
                gone_is_fine(std::fs::rename(entry.path(), self.root.join(&set_aside)))?;
                cleaned.push(set_aside);
            }
        }
        Ok(cleaned)
    }

    /// Every file under the folder (for checks that nothing leaked).
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
        for shelf in SHELVES {
            for entry in std::fs::read_dir(self.root.join(shelf))? {
                files.push(entry?.path());
            }
        }
        files.sort();
        Ok(files)
    }
}
