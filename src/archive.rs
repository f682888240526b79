//! The all-submissions zip, streamed as it is built.
//!
//! A zip writer runs on a blocking thread and hands 64 KiB chunks through a
//! bounded channel to the response: the download starts at once, and memory
//! stays flat however many bundles there are. Bundles go in stored (they are
//! zips already); the manifest goes first, so a client can read it early.

use std::io::{self, Write};

use rocket::tokio::sync::mpsc;
use zip::CompressionMethod;
use zip::write::SimpleFileOptions;

use crate::storage::Uploads;

const CHUNK: usize = 64 * 1024;
/// Chunks in flight: at most this many times 64 KiB is held for a slow client.
const IN_FLIGHT: usize = 8;

/// One bundle to put in the zip.
pub struct Item {
    pub path_in_zip: String,
    /// Its stored name, and its size as recorded.
    pub stored: String,
    pub size: u64,
}

/// Starts building the zip and returns the chunks as they come.
pub fn stream(uploads: Uploads, manifest: Vec<u8>, items: Vec<Item>) -> mpsc::Receiver<Vec<u8>> {
    let (sender, receiver) = mpsc::channel(IN_FLIGHT);
    rocket::tokio::task::spawn_blocking(move || {
        let writer = ChannelWriter {
            sender,
            buffer: Vec::with_capacity(CHUNK),
        };
        if let Err(e) = write(&uploads, writer, &manifest, &items) {
            // The client sees a truncated zip; a closed connection lands here too.
            rocket::warn!("the all-submissions zip stopped: {e}");
        }
    });
    receiver
}

fn write(
    uploads: &Uploads,
    writer: ChannelWriter,
    manifest: &[u8],
    items: &[Item],
) -> zip::result::ZipResult<()> {
    let mut zip = zip::ZipWriter::new_stream(writer);
    let deflated = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    zip.start_file("manifest.csv", deflated)?;
    zip.write_all(manifest)?;
    for item in items {
        match uploads.blocking_reader(&item.stored) {
            Ok(mut file) => {
                let stored = SimpleFileOptions::default()
                    .compression_method(CompressionMethod::Stored)
                    .large_file(item.size >= u64::from(u32::MAX));
                zip.start_file(item.path_in_zip.as_str(), stored)?;
                io::copy(&mut file, &mut zip)?;
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
