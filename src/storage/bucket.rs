//! An S3-compatible bucket (AWS S3, Garage, MinIO, Ceph…), through the
//! `object_store` crate. The same shape as the folder, as keys under the
//! configured prefix: an upload goes to `incoming/<instance>/…` as a
//! multipart upload while the bytes arrive (memory holds one 5 MiB part,
//! never the bundle, and all parts together stay within a budget), is checked by ranged reads of its central directory,
//! and is kept by a server-side copy onto its shelf.
//!
//! An upload that fails or is cut off is aborted. An instance that dies
//! cannot abort its own: its finished `incoming/` objects are deleted by
//! the next clean-up, and its unfinished multipart uploads are removed by
//! the bucket's own lifecycle rule (see the README: S3 keeps them, out of
//! sight, until told otherwise).

use std::collections::HashSet;
use std::io::{self, Read, Seek, SeekFrom};
use std::sync::Arc;

use bytes::Bytes;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt, WriteMultipart};
use rocket::futures::StreamExt;
use rocket::tokio::io::AsyncRead;
use rocket::tokio::runtime::Handle;
use rocket::tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::{
    INCOMING, Instances, ORPHAN_AGE, ORPHANS, Opened, ReceiveError, SHELVES, Sink, gone_is_fine,
    pump, random_name,
};

/// Parts of a multipart upload: S3's smallest (but for the last).
const PART_MIB: u32 = 5;
const PART: usize = PART_MIB as usize * 1024 * 1024;
/// What a ranged read fetches at once while a zip's directory is read.
const BLOCK: u64 = 256 * 1024;

/// The bucket, from `storage = "s3://BUCKET/PREFIX"` and the `s3_*`
/// settings; what is not set comes from the usual `AWS_*` variables.
#[derive(Debug, Clone, Default)]
pub struct BucketSettings {
    pub bucket: String,
    pub prefix: String,
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    /// The memory all uploads in flight may hold in parts, in MiB.
    pub buffer_mib: u32,
}

/// The default of `s3_buffer_mib`: a hundred 5 MiB parts filling at once.
pub const DEFAULT_BUFFER_MIB: u32 = 512;

impl BucketSettings {
    /// `s3://BUCKET` or `s3://BUCKET/PREFIX`; `None` if `setting` is not an
    /// S3 address.
    pub fn parse(setting: &str) -> Option<Result<BucketSettings, String>> {
        let rest = setting.strip_prefix("s3://")?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Some(Err(format!("{setting} names no bucket")));
        }
        Some(Ok(BucketSettings {
            bucket: bucket.to_string(),
            prefix: prefix.trim_matches('/').to_string(),
            buffer_mib: DEFAULT_BUFFER_MIB,
            ..BucketSettings::default()
        }))
    }
}

#[derive(Debug, Clone)]
pub struct Bucket {
    store: Arc<AmazonS3>,
    /// The memory uploads may hold in parts, in MiB (see [`Parts`]).
    budget: Arc<Semaphore>,
    prefix: String,
    instance: String,
    /// The runtime, for reads made from blocking threads.
    runtime: Handle,
}

/// An object in `incoming/`; dropping it deletes it (in the background).
#[derive(Debug)]
pub struct Incoming {
    store: Arc<AmazonS3>,
    key: Key,
    runtime: Handle,
}

impl Drop for Incoming {
    fn drop(&mut self) {
        let (store, key) = (self.store.clone(), self.key.clone());
        // Best effort: what is left is deleted once this instance has stopped.
        self.runtime.spawn(async move {
            let _ = store.delete(&key).await;
        });
    }
}

/// A multipart upload in progress; dropped unfinished (an error, a
/// connection cut), it is aborted, so no part stays behind.
///
/// A part is held in memory while it fills, and S3 wants parts of 5 MiB:
/// each part first takes its 5 MiB from the instance's budget
/// (`s3_buffer_mib`), and gives them back once it is stored. However many
/// uploads arrive at once, memory stays within the budget; past it, uploads
/// wait (their senders are slowed by TCP) instead of the instance running
/// out of memory. A part is taken whole, never a piece at a time, so two
/// half-filled parts can never wait on each other.
struct Parts {
    upload: Option<WriteMultipart>,
    budget: Arc<Semaphore>,
    /// The budget of the part now filling, if one is.
    permit: Option<OwnedSemaphorePermit>,
    /// Bytes in the part now filling.
    filled: usize,
}

impl Sink for Parts {
    async fn write(&mut self, chunk: &[u8]) -> io::Result<()> {
        let parts = self
            .upload
            .as_mut()
            .ok_or_else(|| io::Error::other("finished"))?;
        if self.permit.is_none() {
            let permit = self.budget.clone().acquire_many_owned(PART_MIB).await;
            self.permit = Some(permit.map_err(io::Error::other)?);
        }
        parts.write(chunk);
        self.filled += chunk.len();
        if self.filled >= PART {
            // The part is on its way: once stored, its budget is free, and
            // the next part (holding what was left over) takes its own.
            self.filled -= PART;
            parts.wait_for_capacity(0).await?;
            self.permit = None;
            if self.filled > 0 {
                let permit = self.budget.clone().acquire_many_owned(PART_MIB).await;
                self.permit = Some(permit.map_err(io::Error::other)?);
            }
        }
        Ok(())
    }
}

impl Drop for Parts {
    fn drop(&mut self) {
        if let Some(parts) = self.upload.take()
            && let Ok(runtime) = Handle::try_current()
        {
            runtime.spawn(async move {
                let _ = parts.abort().await;
            });
        }
    }
}

impl Bucket {
    pub fn open(settings: &BucketSettings, instance: &str) -> io::Result<Bucket> {
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(&settings.bucket);
        if let Some(endpoint) = &settings.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        if let Some(region) = &settings.region {
            builder = builder.with_region(region);
        }
        if let Some(id) = &settings.access_key_id {
            builder = builder.with_access_key_id(id);
        }
        if let Some(secret) = &settings.secret_access_key {
            builder = builder.with_secret_access_key(secret);
        }
        let store = builder.build().map_err(io::Error::other)?;
        // At least one part's worth, or no upload could ever proceed.
        let budget = settings.buffer_mib.max(PART_MIB) as usize;
        Ok(Bucket {
            store: Arc::new(store),
            budget: Arc::new(Semaphore::new(budget)),
            prefix: settings.prefix.clone(),
            instance: instance.to_string(),
            runtime: Handle::current(),
        })
    }

    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// The key of a stored name (`bundles/….zip`) under the prefix.
    fn key(&self, name: &str) -> Key {
        if self.prefix.is_empty() {
            Key::from(name)
        } else {
            Key::from(format!("{}/{name}", self.prefix))
        }
    }

    /// The stored name of a key (the inverse of [`key`](Self::key)).
    fn name_of<'a>(&self, key: &'a Key) -> &'a str {
        let key = key.as_ref();
        if self.prefix.is_empty() {
            return key;
        }
        key.strip_prefix(self.prefix.as_str())
            .and_then(|rest| rest.strip_prefix('/'))
            .unwrap_or(key)
    }

    pub async fn check(&self) -> io::Result<()> {
        let top = (!self.prefix.is_empty()).then(|| Key::from(self.prefix.as_str()));
        self.store.list_with_delimiter(top.as_ref()).await?;
        Ok(())
    }

    pub async fn receive(
        &self,
        body: impl AsyncRead + Unpin,
        limit: u64,
    ) -> Result<(Incoming, String, u64), ReceiveError> {
        let key = self.key(&format!(
            "{INCOMING}/{}/{}.part",
            self.instance,
            random_name()
        ));
        let upload = self
            .store
            .put_multipart(&key)
            .await
            .map_err(io::Error::from)?;
        let mut parts = Parts {
            upload: Some(WriteMultipart::new_with_chunk_size(upload, PART)),
            budget: self.budget.clone(),
            permit: None,
            filled: 0,
        };
        let (sha256, size) = pump(body, limit, &mut parts).await?;
        if let Some(upload) = parts.upload.take() {
            upload.finish().await.map_err(io::Error::from)?;
        }
        drop(parts); // gives back the last part's budget
        let incoming = Incoming {
            store: self.store.clone(),
            key,
            runtime: self.runtime.clone(),
        };
        Ok((incoming, sha256, size))
    }

    pub async fn keep(&self, incoming: Incoming, stored: &str) -> io::Result<()> {
        // A fresh 128-bit name: the copy cannot replace anything.
        self.store.copy(&incoming.key, &self.key(stored)).await?;
        drop(incoming); // deletes the `incoming/` object
        Ok(())
    }

    pub async fn discard(&self, stored: &str) -> io::Result<()> {
        Ok(self.store.delete(&self.key(stored)).await?)
    }

    pub async fn download(&self, stored: &str) -> io::Result<Opened> {
        let found = self.store.get(&self.key(stored)).await?;
        let size = found.meta.size;
        let bytes = found
            .into_stream()
            .map(|chunk| chunk.map_err(io::Error::from));
        Ok(Opened {
            body: Box::pin(tokio_util::io::StreamReader::new(bytes)),
            size,
        })
    }

    pub async fn clean_orphans(
        &self,
        recorded: &HashSet<String>,
        instances: &Instances,
        only_old: bool,
    ) -> io::Result<Vec<String>> {
        let mut cleaned = Vec::new();
        let incoming = self
            .store
            .list_with_delimiter(Some(&self.key(INCOMING)))
            .await?;
        for folder in incoming.common_prefixes {
            let instance = folder.filename().unwrap_or_default().to_string();
            let mut listed = self.store.list(Some(&folder));
            let mut objects = Vec::new();
            while let Some(object) = listed.next().await {
                objects.push(object?);
            }
            let now = chrono::Utc::now();
            let quiet_for = objects
                .iter()
                .map(|object| (now - object.last_modified).to_std().unwrap_or_default())
                .min()
                .unwrap_or(std::time::Duration::MAX);
            if !instances.may_clean(&instance, quiet_for) {
                continue;
            }
            for object in objects {
                let deleted = self.store.delete(&object.location).await;
                gone_is_fine(deleted.map_err(io::Error::from))?;
            }
            cleaned.push(format!("{INCOMING}/{instance}/"));
        }
        let now = chrono::Utc::now();
        for shelf in SHELVES {
            let mut objects = self.store.list(Some(&self.key(shelf)));
            while let Some(object) = objects.next().await {
                let object = object?;
                let name = self.name_of(&object.location).to_string();
                if recorded.contains(&name) {
                    continue;
                }
                let age = (now - object.last_modified).to_std().unwrap_or_default();
                if only_old && age < ORPHAN_AGE {
                    continue;
                }
                let file = name.rsplit('/').next().unwrap_or_default();
                let set_aside = format!("{ORPHANS}/{shelf}-{file}");
                let copied = self
                    .store
                    .copy(&object.location, &self.key(&set_aside))
                    .await;
                gone_is_fine(copied.map_err(io::Error::from))?;
                gone_is_fine(
                    self.store
                        .delete(&object.location)
                        .await
                        .map_err(io::Error::from),
                )?;
                cleaned.push(set_aside);
            }
        }
        Ok(cleaned)
    }
}

impl Bucket {
    /// A reader over a kept object by ranged reads (for a blocking thread).
    pub fn ranged(&self, stored: &str, size: u64) -> Ranged {
        Ranged {
            store: self.store.clone(),
            key: self.key(stored),
            runtime: self.runtime.clone(),
            size,
            position: 0,
            block: (0, Bytes::new()),
        }
    }
}

impl Incoming {
    /// A reader over the object by ranged reads (for a blocking thread).
    pub fn ranged(&self, size: u64) -> Ranged {
        Ranged {
            store: self.store.clone(),
            key: self.key.clone(),
            runtime: self.runtime.clone(),
            size,
            position: 0,
            block: (0, Bytes::new()),
        }
    }
}

/// Reads an object by ranges of [`BLOCK`] bytes, fetched as they are
/// needed: reading a zip's directory fetches its end, not the whole.
pub struct Ranged {
    store: Arc<AmazonS3>,
    key: Key,
    runtime: Handle,
    size: u64,
    position: u64,
    /// The last block fetched: where it starts, and its bytes.
    block: (u64, Bytes),
}

impl Read for Ranged {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        if self.position >= self.size || buffer.is_empty() {
            return Ok(0);
        }
        let (start, bytes) = &self.block;
        let held = *start..*start + bytes.len() as u64;
        if !held.contains(&self.position) {
            let end = (self.position + BLOCK).min(self.size);
            let range = self.position..end;
            let fetched = self
                .runtime
                .block_on(self.store.get_range(&self.key, range))?;
            self.block = (self.position, fetched);
        }
        let (start, bytes) = &self.block;
        let offset = (self.position - start) as usize;
        let n = buffer.len().min(bytes.len() - offset);
        buffer[..n].copy_from_slice(&bytes[offset..offset + n]);
        self.position += n as u64;
        Ok(n)
    }
}

impl Seek for Ranged {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(n) => self.size.checked_add_signed(n),
            SeekFrom::Current(n) => self.position.checked_add_signed(n),
        };
        self.position = target
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))?;
        Ok(self.position)
    }
}

#[cfg(test)]
mod tests {
    use super::BucketSettings;

    #[test]
    fn an_s3_address_names_a_bucket_and_a_prefix() {
        let settings = BucketSettings::parse("s3://handin/year-2026/")
            .unwrap()
            .unwrap();
        assert_eq!(settings.bucket, "handin");
        assert_eq!(settings.prefix, "year-2026");
        let settings = BucketSettings::parse("s3://handin").unwrap().unwrap();
        assert_eq!(
            (settings.bucket.as_str(), settings.prefix.as_str()),
            ("handin", "")
        );
        assert!(BucketSettings::parse("s3:///x").unwrap().is_err());
        assert!(BucketSettings::parse("uploads").is_none());
    }
}
