//! A zip archive written as it is sent: the `zip` crate writes the headers
//! and computes each file's CRC-32 (`crc32fast`, carry-less multiply where
//! the CPU has it), stored entries, sizes and CRCs in data descriptors
//! after each file, as a non-seekable zip is written. The archive is never
//! held whole: small writes gather in a buffer that goes to the response
//! once it holds [`FLUSH_AT`] bytes, and a large piece ([`Archive::send_bytes`])
//! goes to the response as it is, without a copy: the zip writer reads it
//! for its CRC and size, and the buffer only counts it.

use std::{
    io::Write,
    sync::{Arc, Mutex},
};

use actix_web::web::{Bytes, BytesMut};
use tokio::sync::mpsc;
use zip::{
    CompressionMethod, ZipWriter,
    write::{SimpleFileOptions, StreamWriter},
};

/// Buffered bytes at which they go to the response: small files and JSON
/// lines are sent in pieces about this big rather than one at a time.
const FLUSH_AT: usize = 64 * 1024;

/// What stops an archive midway.
#[derive(Debug)]
pub(crate) enum Stop {
    /// The reader went away: nothing more to do.
    Gone,
    /// Writing failed: the response is cut without its last chunk.
    Failed(String),
}

impl From<zip::result::ZipError> for Stop {
    fn from(err: zip::result::ZipError) -> Self {
        Self::Failed(err.to_string())
    }
}

impl From<std::io::Error> for Stop {
    fn from(err: std::io::Error) -> Self {
        Self::Failed(err.to_string())
    }
}

/// What the zip writer wrote and this side has not sent yet, or, while
/// `passing` is not zero, the length of a piece that goes out by itself
/// (counted, not copied).
#[derive(Default)]
struct Buffer {
    bytes: BytesMut,
    passing: usize,
}

#[derive(Clone, Default)]
struct Pending(Arc<Mutex<Buffer>>);

impl Pending {
    fn lock(&self) -> std::io::Result<std::sync::MutexGuard<'_, Buffer>> {
        self.0.lock().map_err(|_| std::io::Error::other("a poisoned buffer"))
    }
}

impl Write for Pending {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut pending = self.lock()?;
        if pending.passing == 0 {
            pending.bytes.extend_from_slice(buf);
        } else if buf.len() <= pending.passing {
            pending.passing -= buf.len();
        } else {
            return Err(std::io::Error::other("the zip writer wrote more than the piece"));
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A zip archive whose files are all in one folder, sent over `sender` as
/// it is written.
pub(crate) struct Archive {
    zip: ZipWriter<StreamWriter<Pending>>,
    pending: Pending,
    sender: mpsc::Sender<Result<Bytes, std::io::Error>>,
    folder: String,
    time: zip::DateTime,
}

impl Archive {
    pub(crate) fn new(
        folder: String,
        time: chrono::DateTime<chrono::Utc>,
        sender: mpsc::Sender<Result<Bytes, std::io::Error>>,
    ) -> Self {
        use chrono::{Datelike, Timelike};
        let time = zip::DateTime::from_date_and_time(
            u16::try_from(time.year()).unwrap_or(1980),
            time.month() as u8,
            time.day() as u8,
            time.hour() as u8,
            time.minute() as u8,
            time.second() as u8,
        )
        .unwrap_or_default();
        let pending = Pending::default();
        Self { zip: ZipWriter::new_stream(pending.clone()), pending, sender, folder, time }
    }

    /// Starts the file `name` in the folder; `large` when it may reach 4 GiB
    /// (zip64 is decided before its bytes are written).
    pub(crate) async fn start(&mut self, name: &str, large: bool) -> Result<(), Stop> {
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Stored)
            .last_modified_time(self.time)
            .unix_permissions(0o644)
            .large_file(large);
        self.zip.start_file(format!("{}/{name}", self.folder), options)?;
        self.send(false).await
    }

    /// Bytes of the current file, sent once enough have gathered.
    pub(crate) async fn write(&mut self, bytes: &[u8]) -> Result<(), Stop> {
        self.zip.write_all(bytes)?;
        self.send(false).await
    }

    /// A large piece of the current file, sent as it is after what was
    /// written before it.
    pub(crate) async fn send_bytes(&mut self, bytes: Bytes) -> Result<(), Stop> {
        if bytes.len() < FLUSH_AT {
            return self.write(&bytes).await;
        }
        self.send(true).await?;
        self.pending.lock()?.passing = bytes.len();
        let written = self.zip.write_all(&bytes);
        let left = std::mem::take(&mut self.pending.lock()?.passing);
        written?;
        if left != 0 {
            return Err(Stop::Failed("the zip writer wrote less than the piece".into()));
        }
        self.sender.send(Ok(bytes)).await.map_err(|_| Stop::Gone)
    }

    /// A whole small file.
    pub(crate) async fn file(&mut self, name: &str, bytes: &[u8]) -> Result<(), Stop> {
        self.start(name, false).await?;
        self.write(bytes).await
    }

    /// Ends the last file and writes the central directory.
    pub(crate) async fn finish(self) -> Result<(), Stop> {
        let Self { zip, pending, sender, .. } = self;
        zip.finish()?;
        let rest = pending.lock()?.bytes.split().freeze();
        sender.send(Ok(rest)).await.map_err(|_| Stop::Gone)
    }

    /// Hands what was written to the response when it has gathered
    /// [`FLUSH_AT`] bytes (`all`: whatever there is); waits while the
    /// response is full.
    async fn send(&mut self, all: bool) -> Result<(), Stop> {
        let bytes = {
            let mut pending = self.pending.lock()?;
            if pending.bytes.is_empty() || (!all && pending.bytes.len() < FLUSH_AT) {
                return Ok(());
            }
            pending.bytes.split().freeze()
        };
        self.sender.send(Ok(bytes)).await.map_err(|_| Stop::Gone)
    }
}
