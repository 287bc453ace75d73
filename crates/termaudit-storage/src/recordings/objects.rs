//! Where recordings' bytes live once compacted: in PostgreSQL (the
//! default), or in an object store (S3, an S3-compatible server, a local
//! directory) through the `object_store` crate.
//!
//! Chunks are always acknowledged in PostgreSQL; the compactor
//! (`compact.rs`) moves their bodies into objects later. A stored body is
//! then either inline (`data`, `state`) or a byte range of an object,
//! which [`load`] fetches: one ranged read per run of nearby ranges,
//! kept for a while in the replica's [`RangeCache`].

use std::{fmt, ops::Range, path::PathBuf, sync::Arc, time::Duration};

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use object_store::{
    ClientOptions, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig, aws::AmazonS3Builder,
    local::LocalFileSystem, path::Path,
};
use tokio_postgres::Row;
use uuid::Uuid;

use super::cache::RangeCache;
use crate::StorageError;

/// What `recordings.store` says of recordings whose bytes stay in PostgreSQL.
pub const POSTGRES: &str = "postgres";

/// A request to the object store that has not answered in this long fails
/// (and a read answers 503): a stopped server accepts connections and says
/// nothing.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The object ranges a replica keeps by default (`TERMAUDIT_OBJECT_CACHE_MB`).
pub const DEFAULT_CACHE_BYTES: usize = 64 << 20;

/// `TERMAUDIT_RECORDINGS_STORE`: `postgres`, `s3://BUCKET/PREFIX` or
/// `file:///DIR`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordingsStoreUrl {
    Postgres,
    S3 {
        bucket: String,
        /// Empty, or ending with `/`.
        prefix: String,
    },
    File {
        dir: PathBuf,
    },
}

impl RecordingsStoreUrl {
    pub fn parse(value: &str) -> Result<Self, String> {
        let value = value.trim();
        if value.is_empty() || value == POSTGRES {
            return Ok(Self::Postgres);
        }
        if let Some(rest) = value.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            let valid_bucket = (3..=63).contains(&bucket.len())
                && bucket.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.'
                });
            if !valid_bucket {
                return Err(format!(
                    "{value:?} names no valid bucket (3 to 63 lowercase letters, digits, '-' or '.')"
                ));
            }
            let prefix = prefix.trim_matches('/');
            if Path::parse(prefix).is_err() || prefix.chars().any(char::is_control) {
                return Err(format!("{value:?} has a prefix that is not a valid object path"));
            }
            let prefix = if prefix.is_empty() { String::new() } else { format!("{prefix}/") };
            return Ok(Self::S3 { bucket: bucket.to_owned(), prefix });
        }
        if let Some(dir) = value.strip_prefix("file://") {
            if !dir.starts_with('/') {
                return Err(format!("{value:?} must name an absolute directory (file:///DIR)"));
            }
            return Ok(Self::File { dir: PathBuf::from(dir) });
        }
        Err(format!("{value:?} is none of postgres, s3://BUCKET/PREFIX, file:///DIR"))
    }
}

impl fmt::Display for RecordingsStoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Postgres => f.write_str(POSTGRES),
            Self::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
            Self::File { dir } => write!(f, "file://{}", dir.display()),
        }
    }
}

/// How to reach S3 or an S3-compatible server.
#[derive(Clone, Default)]
pub struct S3Settings {
    /// An S3-compatible server's URL (path-style requests then); AWS's
    /// regional endpoint when `None`.
    pub endpoint: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub region: Option<String>,
}

impl fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the secret.
        f.debug_struct("S3Settings")
            .field("endpoint", &self.endpoint)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &self.secret_access_key.as_ref().map(|_| "…"))
            .field("region", &self.region)
            .finish()
    }
}

/// The object store recordings are compacted into.
#[derive(Clone)]
pub struct ObjectTarget {
    /// `s3://BUCKET` or `file:///DIR`: what `recordings.store` and
    /// `recording_objects.store` say of it. Keys are under it.
    root: String,
    /// Put before every key written: empty, or ending with `/`.
    prefix: String,
    inner: Arc<dyn ObjectStore>,
    /// The ranges [`load`] read last, shared by the clones.
    cache: Arc<RangeCache>,
}

impl fmt::Debug for ObjectTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ObjectTarget({}/{})", self.root, self.prefix)
    }
}

impl ObjectTarget {
    /// Opens the configured store and checks that it takes and deletes an
    /// object: a missing bucket or refused credentials are an
    /// [`StorageError::ObjectStoreConfig`] that says so. `None` for
    /// `postgres`.
    pub async fn open(
        url: &RecordingsStoreUrl,
        s3: &S3Settings,
    ) -> Result<Option<Self>, StorageError> {
        let target = match url {
            RecordingsStoreUrl::Postgres => return Ok(None),
            RecordingsStoreUrl::S3 { bucket, prefix } => {
                let mut builder = AmazonS3Builder::from_env()
                    .with_bucket_name(bucket)
                    .with_client_options(
                        ClientOptions::new()
                            .with_timeout(REQUEST_TIMEOUT)
                            .with_connect_timeout(CONNECT_TIMEOUT),
                    )
                    .with_retry(RetryConfig {
                        max_retries: 2,
                        retry_timeout: Duration::from_secs(15),
                        ..Default::default()
                    });
                if let Some(endpoint) = &s3.endpoint {
                    builder = builder
                        .with_endpoint(endpoint)
                        .with_virtual_hosted_style_request(false)
                        .with_allow_http(endpoint.starts_with("http://"));
                }
                if let Some(key) = &s3.access_key_id {
                    builder = builder.with_access_key_id(key);
                }
                if let Some(secret) = &s3.secret_access_key {
                    builder = builder.with_secret_access_key(secret);
                }
                if let Some(region) = &s3.region {
                    builder = builder.with_region(region);
                }
                let inner = builder.build().map_err(|err| {
                    StorageError::ObjectStoreConfig(format!("cannot set up {url}: {err}"))
                })?;
                Self {
                    root: format!("s3://{bucket}"),
                    prefix: prefix.clone(),
                    inner: Arc::new(inner),
                    cache: Arc::new(RangeCache::new(DEFAULT_CACHE_BYTES)),
                }
            }
            RecordingsStoreUrl::File { dir } => {
                std::fs::create_dir_all(dir).map_err(|err| {
                    StorageError::ObjectStoreConfig(format!(
                        "cannot create {}: {err}",
                        dir.display()
                    ))
                })?;
                let inner = LocalFileSystem::new_with_prefix(dir).map_err(|err| {
                    StorageError::ObjectStoreConfig(format!("cannot use {}: {err}", dir.display()))
                })?;
                Self {
                    root: format!("file://{}", dir.display()),
                    prefix: String::new(),
                    inner: Arc::new(inner),
                    cache: Arc::new(RangeCache::new(DEFAULT_CACHE_BYTES)),
                }
            }
        };
        target.check(url).await?;
        Ok(Some(target))
    }

    /// Writes and deletes a small object under the prefix.
    async fn check(&self, url: &RecordingsStoreUrl) -> Result<(), StorageError> {
        let probe = Path::from(format!("{}.termaudit-probe-{}", self.prefix, Uuid::new_v4()));
        let refused = |err: object_store::Error| {
            let why = match &err {
                object_store::Error::NotFound { .. } => {
                    "the bucket does not exist (create it first)".to_owned()
                }
                object_store::Error::PermissionDenied { .. }
                | object_store::Error::Unauthenticated { .. } => {
                    "the credentials were refused (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)"
                        .to_owned()
                }
                _ => "it cannot be reached".to_owned(),
            };
            StorageError::ObjectStoreConfig(format!(
                "TERMAUDIT_RECORDINGS_STORE {url}: {why}: {err}"
            ))
        };
        self.inner.put(&probe, PutPayload::from_static(b"termaudit")).await.map_err(refused)?;
        self.inner.delete(&probe).await.map_err(refused)?;
        Ok(())
    }

    /// This store with a cache of `bytes` for the ranges reads fetch (`0`:
    /// none); [`DEFAULT_CACHE_BYTES`] otherwise.
    pub fn with_cache(mut self, bytes: usize) -> Self {
        self.cache = Arc::new(RangeCache::new(bytes));
        self
    }

    /// The bytes its cache of object ranges holds at most.
    pub fn cache_bytes(&self) -> usize {
        self.cache.capacity()
    }

    /// `s3://BUCKET` or `file:///DIR`.
    pub fn root(&self) -> &str {
        &self.root
    }

    /// A new object's key for recording `session_id`.
    pub(super) fn new_key(&self, session_id: Uuid) -> String {
        format!("{}recordings/{session_id}/{}", self.prefix, Uuid::now_v7())
    }

    /// Writes `body` as the object `key` (one put, as the compactor writes
    /// its objects; `recording_1gb` times it as the bare work).
    pub async fn write(&self, key: &str, body: Bytes) -> Result<(), StorageError> {
        self.inner.put(&Path::from(key), PutPayload::from(body)).await.map_err(unavailable)?;
        Ok(())
    }

    pub(super) async fn read(&self, key: &str, range: Range<u64>) -> Result<Bytes, StorageError> {
        self.inner.get_range(&Path::from(key), range).await.map_err(|err| match err {
            object_store::Error::NotFound { .. } => {
                StorageError::Corrupt(format!("the object {key} of {} is missing", self.root))
            }
            other => unavailable(other),
        })
    }

    /// [`Self::read`] through the cache: a range read lately is not read
    /// again.
    async fn read_cached(&self, key: &str, range: Range<u64>) -> Result<Bytes, StorageError> {
        if let Some(bytes) = self.cache.get(key, &range) {
            return Ok(bytes);
        }
        let bytes = self.read(key, range.clone()).await?;
        self.cache.put(key, range, bytes.clone());
        Ok(bytes)
    }

    /// Deletes objects (in bulk requests where the store has them); one
    /// already gone is fine.
    pub async fn delete(&self, keys: Vec<String>) -> Result<(), StorageError> {
        let paths = futures_util::stream::iter(keys.into_iter().map(|k| Ok(Path::from(k)))).boxed();
        self.inner
            .delete_stream(paths)
            .map(|result| match result {
                Err(object_store::Error::NotFound { .. }) => Ok(()),
                other => other.map(|_| ()),
            })
            .try_collect::<Vec<()>>()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

fn unavailable(err: object_store::Error) -> StorageError {
    StorageError::ObjectStoreUnavailable(err.to_string())
}

/// Where a stored (compressed) chunk or snapshot body is.
#[derive(Debug)]
pub(super) enum BodyRef {
    Inline(Vec<u8>),
    Object { store: String, key: String, range: Range<u64> },
}

impl BodyRef {
    /// From a row with the body in `inline` or else `object_store`,
    /// `object_key`, `object_offset` and `object_length`.
    pub(super) fn from_row(row: &Row, inline: &str) -> Result<Self, StorageError> {
        if let Some(data) = row.try_get::<_, Option<Vec<u8>>>(inline)? {
            return Ok(Self::Inline(data));
        }
        let store: Option<String> = row.try_get("object_store")?;
        let key: Option<String> = row.try_get("object_key")?;
        let offset: Option<i64> = row.try_get("object_offset")?;
        let length: Option<i32> = row.try_get("object_length")?;
        match (store, key, offset, length) {
            (Some(store), Some(key), Some(offset), Some(length)) => {
                let start = u64::try_from(offset).unwrap_or(0);
                let end = start + u64::try_from(length).unwrap_or(0);
                Ok(Self::Object { store, key, range: start..end })
            }
            _ => Err(StorageError::Corrupt(
                "a stored body is neither inline nor in an object".into(),
            )),
        }
    }
}

/// Bodies of one object this close are read with one ranged read, the
/// bytes between them thrown away: chunks read in order have their
/// snapshots between them (`compact.rs`), and another request costs more
/// than these bytes.
const MAX_GAP: u64 = 256 << 10;

/// The bodies `refs` point at, in order: inline ones as they are, those in
/// objects by one ranged read per run of nearby ranges of one object
/// ([`MAX_GAP`]).
pub(super) async fn load(
    objects: Option<&ObjectTarget>,
    refs: Vec<BodyRef>,
) -> Result<Vec<Bytes>, StorageError> {
    let mut out: Vec<Bytes> = Vec::with_capacity(refs.len());
    let mut refs = refs.into_iter().peekable();
    while let Some(body) = refs.next() {
        let (store, key, range) = match body {
            BodyRef::Inline(data) => {
                out.push(Bytes::from(data));
                continue;
            }
            BodyRef::Object { store, key, range } => (store, key, range),
        };
        let target = objects.filter(|o| o.root == store).ok_or_else(|| {
            StorageError::ObjectStoreUnavailable(format!(
                "a recording's objects are in {store}, which is not the configured store"
            ))
        })?;
        let mut pieces = vec![range.clone()];
        let mut end = range.end;
        while let Some(BodyRef::Object { store: s, key: k, range: r }) = refs.peek() {
            if *s != store || *k != key || r.start < end || r.start - end > MAX_GAP {
                break;
            }
            end = r.end;
            pieces.push(r.clone());
            refs.next();
        }
        let whole = target.read_cached(&key, range.start..end).await?;
        for piece in pieces {
            let from = usize::try_from(piece.start - range.start).unwrap_or(usize::MAX);
            let to = usize::try_from(piece.end - range.start).unwrap_or(usize::MAX);
            if to > whole.len() {
                return Err(StorageError::Corrupt(format!(
                    "the object {key} is shorter than its index says"
                )));
            }
            out.push(whole.slice(from..to));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_urls_parse() {
        assert_eq!(RecordingsStoreUrl::parse("postgres"), Ok(RecordingsStoreUrl::Postgres));
        assert_eq!(
            RecordingsStoreUrl::parse("s3://termaudit-recordings/prod/eu"),
            Ok(RecordingsStoreUrl::S3 {
                bucket: "termaudit-recordings".into(),
                prefix: "prod/eu/".into()
            })
        );
        assert_eq!(
            RecordingsStoreUrl::parse("s3://bucket"),
            Ok(RecordingsStoreUrl::S3 { bucket: "bucket".into(), prefix: String::new() })
        );
        assert_eq!(
            RecordingsStoreUrl::parse("file:///var/lib/termaudit"),
            Ok(RecordingsStoreUrl::File { dir: "/var/lib/termaudit".into() })
        );
        for bad in ["s3://", "s3://Bad_Bucket/x", "file://relative", "gs://b/x", "s3://b\0x/y"] {
            assert!(RecordingsStoreUrl::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
