//! Where bundles and evidence are kept: a folder (the default, `folder.rs`)
//! or an S3-compatible bucket (`bucket.rs`), behind one interface.
//!
//! Both keep the same shape. A bundle is streamed into `incoming/<instance>/`
//! while it is hashed; once it has been checked it is kept under a fresh
//! name on a shelf (`bundles/` or `evidence/`), and the database records
//! that name. Nothing is ever overwritten; nothing in `incoming/` is ever a
//! submission, so what a stopped instance left there is deleted; a kept
//! file without its row is set aside in `orphans/`, never deleted.

mod bucket;
mod folder;

use std::collections::HashSet;
use std::future::Future;
use std::io::{self, Read, Seek};
use std::path::PathBuf;
use std::pin::Pin;

use rocket::tokio::io::{AsyncRead, AsyncReadExt};
use sha2::{Digest, Sha256};

pub use bucket::{BucketSettings, DEFAULT_BUFFER_MIB};

const INCOMING: &str = "incoming";
const BUNDLES: &str = "bundles";
const EVIDENCE: &str = "evidence";
const FEEDBACK: &str = "feedback";
/// Where kept files are: each a row's, or an orphan to set aside.
const SHELVES: [&str; 3] = [BUNDLES, EVIDENCE, FEEDBACK];
const ORPHANS: &str = "orphans";
const CHUNK: usize = 256 * 1024;

/// A kept file without its row is set aside only when it is older than this
/// (or at the start of the only running instance): an instance records a
/// file within seconds of keeping it, so an hour-old one without a row will
/// never get one.
const ORPHAN_AGE: std::time::Duration = std::time::Duration::from_secs(3600);

/// Where a kept file goes: bundles, extension requests' evidence, or
/// feedback files markers return.
#[derive(Debug, Clone, Copy)]
pub enum Shelf {
    Bundles,
    Evidence,
    Feedback,
}

impl Shelf {
    /// A fresh stored name on this shelf, as the database keeps it.
    fn new_name(self) -> String {
        match self {
            Shelf::Bundles => format!("{BUNDLES}/{}.zip", random_name()),
            Shelf::Evidence => format!("{EVIDENCE}/{}.bin", random_name()),
            Shelf::Feedback => format!("{FEEDBACK}/{}.bin", random_name()),
        }
    }
}

/// An `incoming/` folder of an instance not (yet) listed as running is
/// cleaned only once nothing has been written to it for this long: the
/// instance may have registered just after the caller looked.
const INCOMING_QUIET: std::time::Duration = std::time::Duration::from_secs(60);

/// The instances a clean-up knows of (see [`Uploads::clean_orphans`]).
#[derive(Debug, Clone, Default)]
pub struct Instances {
    pub running: HashSet<String>,
    pub stopped: HashSet<String>,
}

impl Instances {
    /// Whether the `incoming/` of `instance`, last written `quiet_for`
    /// ago, may be deleted.
    fn may_clean(&self, instance: &str, quiet_for: std::time::Duration) -> bool {
        if self.running.contains(instance) {
            return false;
        }
        self.stopped.contains(instance) || quiet_for >= INCOMING_QUIET
    }
}

/// Treats "already gone" as done: two instances may clean up at once.
fn gone_is_fine(result: io::Result<()>) -> io::Result<()> {
    match result {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// Where the `storage` setting says files go.
#[derive(Debug, Clone)]
pub enum Place {
    Folder(PathBuf),
    Bucket(BucketSettings),
}

impl Place {
    /// For messages: the folder, or the bucket and where it is.
    pub fn shown(&self) -> String {
        match self {
            Place::Folder(root) => root.display().to_string(),
            Place::Bucket(settings) => format!(
                "s3://{}/{} ({})",
                settings.bucket,
                settings.prefix,
                settings.endpoint.as_deref().unwrap_or("AWS")
            ),
        }
    }
}

/// The store, shared by every request (cheap to clone).
#[derive(Debug, Clone)]
pub enum Uploads {
    Folder(folder::Folder),
    Bucket(bucket::Bucket),
}

/// A file received in full and hashed, but not yet kept. Dropping it
/// deletes it: a refused bundle leaves nothing behind.
#[derive(Debug)]
pub struct Received {
    pub sha256: String,
    pub size: u64,
    held: Held,
}

#[derive(Debug)]
enum Held {
    File(folder::Incoming),
    Object(bucket::Incoming),
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

/// Why a zip's entries could not be unpacked.
#[derive(Debug)]
pub enum Unpacking {
    /// An entry held more than the zip's directory said.
    LargerThanDeclared,
    /// The zip could not be read (a checksum failed, it is damaged).
    Zip(io::Error),
    /// The store could not take what was unpacked: the server's trouble.
    Store(io::Error),
}

/// A reader that can also seek (for reading a zip's central directory).
pub trait ReadSeek: Read + Seek + Send {}
impl<T: Read + Seek + Send> ReadSeek for T {}

/// A stored file opened for a download: its bytes as they come, and its size.
pub struct Opened {
    pub body: Pin<Box<dyn AsyncRead + Send>>,
    pub size: u64,
}

impl Uploads {
    /// Opens (and, for a folder, creates) the store, for the instance
    /// `instance` (a name no other running instance has).
    pub async fn open(place: &Place, instance: &str) -> io::Result<Uploads> {
        Ok(match place {
            Place::Folder(root) => Uploads::Folder(folder::Folder::open(root, instance)?),
            Place::Bucket(settings) => Uploads::Bucket(bucket::Bucket::open(settings, instance)?),
        })
    }

    /// The instance whose `incoming/` this store receives into.
    pub fn instance(&self) -> &str {
        match self {
            Uploads::Folder(folder) => folder.instance(),
            Uploads::Bucket(bucket) => bucket.instance(),
        }
    }

    /// Streams `body` into `incoming/`, hashing as it goes: memory stays
    /// flat whatever the size, and the bytes are read once.
    pub async fn receive(
        &self,
        body: impl AsyncRead + Unpin + Send,
        limit: u64,
    ) -> Result<Received, ReceiveError> {
        match self {
            Uploads::Folder(folder) => {
                let (incoming, sha256, size) = folder.receive(body, limit).await?;
                Ok(Received {
                    sha256,
                    size,
                    held: Held::File(incoming),
                })
            }
            Uploads::Bucket(bucket) => {
                let (incoming, sha256, size) = bucket.receive(body, limit).await?;
                Ok(Received {
                    sha256,
                    size,
                    held: Held::Object(incoming),
                })
            }
        }
    }

    /// Runs `look` over a received file on a blocking thread, reading it
    /// where it lies (a bucket's object by ranged reads, never whole).
    pub async fn inspect<T: Send + 'static>(
        &self,
        received: &Received,
        look: impl FnOnce(Box<dyn ReadSeek>) -> T + Send + 'static,
    ) -> io::Result<T> {
        let reader: Box<dyn FnOnce() -> io::Result<Box<dyn ReadSeek>> + Send> = match &received.held
        {
            Held::File(incoming) => {
                let path = incoming.path().to_path_buf();
                Box::new(move || {
                    let file = std::fs::File::open(path)?;
                    Ok(Box::new(io::BufReader::new(file)) as Box<dyn ReadSeek>)
                })
            }
            Held::Object(incoming) => {
                let reader = incoming.ranged(received.size);
                Box::new(move || Ok(Box::new(reader) as Box<dyn ReadSeek>))
            }
        };
        rocket::tokio::task::spawn_blocking(move || reader().map(look)).await?
    }

    /// Unpacks entries of a received zip, `(index, declared size)` each, in
    /// that order: every entry is streamed into `incoming/` and hashed as
    /// [`Uploads::receive`] does, so memory stays flat whatever their size.
    /// An entry that unpacks to more than its directory declares is refused,
    /// as is one whose checksum fails; see [`Unpacking`].
    pub async fn unpack(
        &self,
        zip: &Received,
        entries: &[(usize, u64)],
    ) -> Result<Vec<Received>, Unpacking> {
        use rocket::tokio::io::{AsyncWriteExt, DuplexStream};
        // The zip is read on a blocking thread; each entry's bytes cross to
        // this task through a pipe of their own.
        let (next_entry, mut entry_pipes) = rocket::tokio::sync::mpsc::channel::<DuplexStream>(1);
        let runtime = rocket::tokio::runtime::Handle::current();
        let indices: Vec<usize> = entries.iter().map(|(index, _)| *index).collect();
        let unpacking = self.inspect(zip, move |file| -> io::Result<()> {
            let mut archive = zip::ZipArchive::new(file).map_err(io::Error::other)?;
            let mut buffer = vec![0u8; CHUNK];
            for index in indices {
                let (mut writer, reader) = rocket::tokio::io::duplex(CHUNK);
                if next_entry.blocking_send(reader).is_err() {
                    // The receiving side has stopped (and says why).
                    return Ok(());
                }
                let mut entry = archive.by_index(index).map_err(io::Error::other)?;
                loop {
                    match entry.read(&mut buffer)? {
                        0 => break,
                        n => runtime.block_on(writer.write_all(&buffer[..n]))?,
                    }
                }
                runtime.block_on(writer.shutdown())?;
            }
            Ok(())
        });
        let receiving = async move {
            let mut received = Vec::with_capacity(entries.len());
            for (_, declared) in entries {
                let Some(pipe) = entry_pipes.recv().await else {
                    break;
                };
                received.push(self.receive(pipe, *declared).await?);
            }
            Ok::<_, ReceiveError>(received)
        };
        let (unpacked, received) = rocket::tokio::join!(unpacking, receiving);
        match (unpacked.and_then(|done| done), received) {
            // Too large stops the receiving side, which breaks the pipe the
            // unpacking writes to: the cause is the zip's lie about a size.
            (_, Err(ReceiveError::TooLarge { .. })) => Err(Unpacking::LargerThanDeclared),
            // The store failed (a full disk, say), which broke the pipe too.
            (Err(e), Err(ReceiveError::Io(store))) if e.kind() == io::ErrorKind::BrokenPipe => {
                Err(Unpacking::Store(store))
            }
            // A failed read ends its pipe early: what was received of that
            // entry is incomplete, and the read's error is the cause.
            (Err(e), _) => Err(Unpacking::Zip(e)),
            (Ok(()), Err(ReceiveError::Io(store))) => Err(Unpacking::Store(store)),
            (Ok(()), Ok(received)) if received.len() != entries.len() => Err(Unpacking::Zip(
                io::Error::other("the zip ended before its last entry"),
            )),
            (Ok(()), Ok(received)) => Ok(received),
        }
    }

    /// Runs `look` over a kept file on a blocking thread, reading it where
    /// it lies (a bucket's object by ranged reads): for reading one entry
    /// of a stored bundle without fetching it whole. `size` is its size as
    /// recorded.
    pub async fn read_kept<T: Send + 'static>(
        &self,
        stored: &str,
        size: u64,
        look: impl FnOnce(Box<dyn ReadSeek>) -> T + Send + 'static,
    ) -> io::Result<T> {
        let reader: Box<dyn FnOnce() -> io::Result<Box<dyn ReadSeek>> + Send> = match self {
            Uploads::Folder(folder) => {
                let path = folder.path_of(stored);
                Box::new(move || {
                    let file = std::fs::File::open(path)?;
                    Ok(Box::new(io::BufReader::new(file)) as Box<dyn ReadSeek>)
                })
            }
            Uploads::Bucket(bucket) => {
                let reader = bucket.ranged(stored, size);
                Box::new(move || Ok(Box::new(reader) as Box<dyn ReadSeek>))
            }
        };
        rocket::tokio::task::spawn_blocking(move || reader().map(look)).await?
    }

    /// Keeps a received file on its shelf under a fresh name, durably.
    /// Returns the stored name, as the database keeps it.
    pub async fn keep(&self, received: Received, shelf: Shelf) -> io::Result<String> {
        // 128 random bits: the name is new.
        let stored = shelf.new_name();
        self.place(received, &stored).await?;
        Ok(stored)
    }

    /// Keeps a received file under a given stored name (a transfer keeps
    /// every file's name). The name must be new: nothing is overwritten.
    pub async fn keep_as(&self, received: Received, stored: &str) -> io::Result<()> {
        match self.download(stored).await {
            Err(e) if e.kind() == io::ErrorKind::NotFound => self.place(received, stored).await,
            Err(e) => Err(e),
            Ok(_) => Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{stored} is already there, and is not replaced"),
            )),
        }
    }

    async fn place(&self, received: Received, stored: &str) -> io::Result<()> {
        match (self, received.held) {
            (Uploads::Folder(folder), Held::File(incoming)) => folder.keep(incoming, stored).await,
            (Uploads::Bucket(bucket), Held::Object(incoming)) => {
                bucket.keep(incoming, stored).await
            }
            _ => Err(io::Error::other("a file received by another store")),
        }
    }

    /// Removes a kept file whose database row could not be written, or
    /// that no row names any more.
    pub async fn discard(&self, stored: &str) {
        let removed = match self {
            Uploads::Folder(folder) => folder.discard(stored).await,
            Uploads::Bucket(bucket) => bucket.discard(stored).await,
        };
        if let Err(e) = removed {
            rocket::error!("could not remove unrecorded file {stored}: {e}");
        }
    }

    /// Opens a kept file for a download.
    pub async fn download(&self, stored: &str) -> io::Result<Opened> {
        match self {
            Uploads::Folder(folder) => folder.download(stored).await,
            Uploads::Bucket(bucket) => bucket.download(stored).await,
        }
    }

    /// The SHA-256 and size of a kept file, read in full; `None` if it is missing.
    pub async fn digest(&self, stored: &str) -> io::Result<Option<(String, u64)>> {
        let download = match self.download(stored).await {
            Ok(download) => download,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut body = download.body;
        let mut hasher = Sha256::new();
        let mut buffer = vec![0u8; CHUNK];
        let mut size = 0u64;
        loop {
            match body.read(&mut buffer).await? {
                0 => return Ok(Some((hex::encode(hasher.finalize()), size))),
                n => {
                    size += n as u64;
                    hasher.update(&buffer[..n]);
                }
            }
        }
    }

    /// Whether the store answers (for `/readyz`).
    pub async fn check(&self) -> io::Result<()> {
        match self {
            Uploads::Folder(folder) => folder.check().await,
            Uploads::Bucket(bucket) => bucket.check().await,
        }
    }

    /// Cleans up after stopped instances: their `incoming/` is deleted,
    /// and kept files no row names are set aside in `orphans/`. `recorded`
    /// holds every stored name the database knew before the listing began;
    /// `running` and `stopped` the instances known to run and to have
    /// stopped (this one always counts as running). The `incoming/` of an
    /// instance in neither list is cleaned only once it has been quiet for
    /// [`INCOMING_QUIET`]: it may have registered just after the caller
    /// looked. A kept file is recorded within moments of being kept, so only
    /// files older than [`ORPHAN_AGE`] are set aside, unless `at_start` says
    /// this instance has taken no upload yet and no other is running.
    /// Returns what was moved or removed.
    pub async fn clean_orphans(
        &self,
        recorded: HashSet<String>,
        instances: Instances,
        at_start: bool,
    ) -> io::Result<Vec<String>> {
        let Instances {
            mut running,
            stopped,
        } = instances;
        let instance = self.instance().to_string();
        let only_old = !at_start || running.iter().any(|id| *id != instance);
        running.insert(instance);
        let instances = Instances { running, stopped };
        match self {
            Uploads::Folder(folder) => {
                let folder = folder.clone();
                rocket::tokio::task::spawn_blocking(move || {
                    folder.clean_orphans(&recorded, &instances, only_old)
                })
                .await?
            }
            Uploads::Bucket(bucket) => bucket.clean_orphans(&recorded, &instances, only_old).await,
        }
    }

    /// The folder's path of a kept file (for tests and tools that look at
    /// the folder itself); `None` for a bucket.
    pub fn folder_path(&self, stored: &str) -> Option<PathBuf> {
        match self {
            Uploads::Folder(folder) => Some(folder.path_of(stored)),
            Uploads::Bucket(_) => None,
        }
    }

    /// Every file under the uploads folder (for checks that nothing leaked).
    pub fn files(&self) -> io::Result<Vec<PathBuf>> {
        match self {
            Uploads::Folder(folder) => folder.files(),
            Uploads::Bucket(_) => Err(io::Error::other("a bucket is not a folder")),
        }
    }
}

/// Where a stored file's bytes go as they arrive (a file, or a multipart upload).
trait Sink {
    fn write(&mut self, chunk: &[u8]) -> impl Future<Output = io::Result<()>> + Send;
}

/// Reads `body` into `sink`, counting and hashing, and stopping as soon as
/// it passes `limit`. Returns the SHA-256 (hex) and the size.
async fn pump(
    mut body: impl AsyncRead + Unpin,
    limit: u64,
    sink: &mut impl Sink,
) -> Result<(String, u64), ReceiveError> {
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; CHUNK];
    let mut size = 0u64;
    loop {
        let n = body.read(&mut buffer).await?;
        if n == 0 {
            return Ok((hex::encode(hasher.finalize()), size));
        }
        size += n as u64;
        if size > limit {
            return Err(ReceiveError::TooLarge { limit });
        }
        hasher.update(&buffer[..n]);
        sink.write(&buffer[..n]).await?;
    }
}

fn random_name() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}
