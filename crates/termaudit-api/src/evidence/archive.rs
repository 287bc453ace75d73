//! A zip archive written as it is sent: the `zip` crate writes into a
//! buffer this side drains into the response after every write, so the
//! archive is never held whole (stored entries, sizes and CRCs in data
//! descriptors after each file, as a non-seekable zip is written).

use std::{
    io::Write,
    sync::{Arc, Mutex},
};

use actix_web::web::Bytes;
use tokio::sync::mpsc;
use zip::{
    CompressionMethod, ZipWriter,
    write::{SimpleFileOptions, StreamWriter},
};

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

/// The bytes the zip writer wrote and this side has not sent yet.
#[derive(Clone, Default)]
struct Pending(Arc<Mutex<Vec<u8>>>);

impl Pending {
    fn take(&self) -> Vec<u8> {
        self.0.lock().map(|mut b| std::mem::take(&mut *b)).unwrap_or_default()
    }
}

impl Write for Pending {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("a poisoned buffer"))?
            .extend_from_slice(buf);
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
        self.send().await
    }

    pub(crate) async fn write(&mut self, bytes: &[u8]) -> Result<(), Stop> {
        self.zip.write_all(bytes)?;
        self.send().await
    }

    /// A whole small file.
    pub(crate) async fn file(&mut self, name: &str, bytes: &[u8]) -> Result<(), Stop> {
        self.start(name, false).await?;
        self.write(bytes).await
    }

    /// Ends the last file and writes the central directory.
    pub(crate) async fn finish(self) -> Result<(), Stop> {
        let pending = self.pending.clone();
        self.zip.finish()?;
        let rest = pending.take();
        self.sender.send(Ok(Bytes::from(rest))).await.map_err(|_| Stop::Gone)
    }

    /// Hands what was written to the response; waits while it is full.
    async fn send(&mut self) -> Result<(), Stop> {
        let bytes = self.pending.take();
        if bytes.is_empty() {
            return Ok(());
        }
        self.sender.send(Ok(Bytes::from(bytes))).await.map_err(|_| Stop::Gone)
    }
}
