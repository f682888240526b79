//! The all-submissions zip, streamed as it is built.
//!
//! A zip writer runs on a blocking thread and hands 64 KiB chunks through a
//! bounded channel to the response, while the bundles are opened a few
//! ahead of it (from a folder or a bucket): the download starts at once, and memory
//! stays flat however many bundles there are. Bundles go in stored (they are
//! zips already); the manifest goes first, so a client can read it early.

use std::io::{self, Write};

use chrono::{Datelike, NaiveDateTime, Timelike};

use rocket::tokio::sync::mpsc;
use zip::CompressionMethod;
use zip::write::SimpleFileOptions;

use rocket::futures::{self, StreamExt};
use rocket::tokio::runtime::Handle;
use tokio_util::io::SyncIoBridge;

use crate::storage::{Opened, Uploads};

const CHUNK: usize = 64 * 1024;
/// Chunks in flight: at most this many times 64 KiB is held for a slow client.
const IN_FLIGHT: usize = 8;

/// One bundle to put in the zip.
pub struct Item {
    pub path_in_zip: String,
    /// Its stored name, and its size as recorded.
    pub stored: String,
    pub size: u64,
    /// When it was received, as the course's clock read (a zip's times
    /// have no zone: unzip shows them as they are).
    pub received_local: NaiveDateTime,
}

/// A zip entry's time (two-second steps; outside 1980–2107, 1980-01-01).
fn zip_time(at: NaiveDateTime) -> zip::DateTime {
    let narrow = |n: u32| u8::try_from(n).unwrap_or(0);
    u16::try_from(at.year())
        .ok()
        .and_then(|year| {
            zip::DateTime::from_date_and_time(
                year,
                narrow(at.month()),
                narrow(at.day()),
                narrow(at.hour()),
                narrow(at.minute()),
                narrow(at.second()),
            )
            .ok()
        })
        .unwrap_or_default()
}

/// Bundles opened ahead of the zip writer: from a bucket each one answers
/// after a round trip, so a few are asked for at once while the writer
/// copies the current one. Each holds at most what its connection buffers.
const OPENED_AHEAD: usize = 8;

/// A bundle to write, opened (or why it could not be).
type Opening = (Item, io::Result<Opened>);

/// Starts building the zip and returns the chunks as they come.
/// The manifest is dated `made` (the course's clock, now).
pub fn stream(
    uploads: Uploads,
    manifest: Vec<u8>,
    made: NaiveDateTime,
    items: Vec<Item>,
) -> mpsc::Receiver<Vec<u8>> {
    let (sender, receiver) = mpsc::channel(IN_FLIGHT);
    let (opened, to_write) = mpsc::channel::<Opening>(OPENED_AHEAD);
    rocket::tokio::spawn(async move {
        let mut openings = futures::stream::iter(items)
            .map(|item| {
                let uploads = uploads.clone();
                async move {
                    let file = uploads.download(&item.stored).await;
                    (item, file)
                }
            })
            .buffered(OPENED_AHEAD);
        while let Some(next) = openings.next().await {
            if opened.send(next).await.is_err() {
                return; // the writer stopped (the client went away)
            }
        }
    });
    let runtime = Handle::current();
    rocket::tokio::task::spawn_blocking(move || {
        let writer = ChannelWriter {
            sender,
            buffer: Vec::with_capacity(CHUNK),
        };
        if let Err(e) = write(writer, (&manifest, made), to_write, runtime) {
            // The client sees a truncated zip; a closed connection lands here too.
            rocket::warn!("the all-submissions zip stopped: {e}");
        }
    });
    receiver
}

fn write(
    writer: ChannelWriter,
    (manifest, made): (&[u8], NaiveDateTime),
    mut to_write: mpsc::Receiver<Opening>,
    runtime: Handle,
) -> zip::result::ZipResult<()> {
    let mut zip = zip::ZipWriter::new_stream(writer);
    let deflated = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    zip.start_file("manifest.csv", deflated.last_modified_time(zip_time(made)))?;
    zip.write_all(manifest)?;
    while let Some((item, file)) = to_write.blocking_recv() {
        match file {
            Ok(file) => {
                let stored = SimpleFileOptions::default()
                    .compression_method(CompressionMethod::Stored)
                    .last_modified_time(zip_time(item.received_local))
                    .large_file(item.size >= u64::from(u32::MAX));
                zip.start_file(item.path_in_zip.as_str(), stored)?;
                let mut bytes = SyncIoBridge::new_with_handle(file.body, runtime.clone());
                io::copy(&mut bytes, &mut zip)?;
            }
            Err(e) => {
                // Say so inside the zip rather than drop the bundle silently.
                zip.start_file(format!("{}.MISSING.txt", item.path_in_zip), deflated)?;
                writeln!(
                    zip,
                    "The stored bundle could not be read ({e}). Run `handin verify`."
                )?;
            }
        }
    }
    let mut inner = zip.finish()?.into_inner();
    inner.flush()?;
    Ok(())
}

/// Hands what the zip writer writes to the async side in chunks.
struct ChannelWriter {
    sender: mpsc::Sender<Vec<u8>>,
    buffer: Vec<u8>,
}

impl ChannelWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buffer, Vec::with_capacity(CHUNK));
        self.sender
            .blocking_send(chunk)
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= CHUNK {
            self.send()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}
