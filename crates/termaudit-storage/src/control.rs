//! Control events to gateways, the signals live watchers follow, and the
//! cache's invalidations (`cache.rs`), carried by PostgreSQL LISTEN/NOTIFY
//! so every API replica hears what any of them did: one listening
//! connection per channel and replica, fanned out to the replica's
//! subscribers.

use std::time::Duration;

use futures_util::{StreamExt, stream};
use serde::de::DeserializeOwned;
use tokio::sync::broadcast;
use tokio_postgres::{AsyncMessage, NoTls};

use crate::{
    CACHE_CHANNEL, CONTROL_CHANNEL, ControlEvent, DatabaseUrl, LIVE_CHANNEL, LiveSignal, Store,
    cache::Cache,
};

/// Listens on the control channel and forwards each event to `sender`,
/// reconnecting after a lost connection. Runs until its task is aborted.
pub async fn run_control_listener(url: DatabaseUrl, sender: broadcast::Sender<ControlEvent>) {
    run_listener(url, CONTROL_CHANNEL, sender, None).await;
}

/// Listens on the live channel and forwards each signal to `sender`, and a
/// [`LiveSignal::Resync`] each time it (re)connects, since signals sent
/// while it was away are lost. Runs until its task is aborted.
pub async fn run_live_listener(url: DatabaseUrl, sender: broadcast::Sender<LiveSignal>) {
    run_listener(url, LIVE_CHANNEL, sender, Some(LiveSignal::Resync)).await;
}

/// Forwards `channel`'s notifications, read as JSON `T`, to `sender`, with
/// `on_connect` first each time the listener (re)connects.
async fn run_listener<T: DeserializeOwned + Clone>(
    url: DatabaseUrl,
    channel: &str,
    sender: broadcast::Sender<T>,
    on_connect: Option<T>,
) {
    loop {
        let listening = || {
            tracing::info!(channel, "listening");
            if let Some(message) = &on_connect {
                drop(sender.send(message.clone()));
            }
        };
        let forward = |payload: String| match serde_json::from_str::<T>(&payload) {
            // No receivers is fine: nobody is listening right now.
            Ok(message) => drop(sender.send(message)),
            Err(err) => {
                tracing::warn!(error = %err, channel, "ignoring an unreadable notification")
            }
        };
        if let Err(err) = listen_once(&url, channel, listening, forward).await {
            tracing::warn!(error = %err, channel, "a listener lost its connection; reconnecting");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Listens for changes of what `store` caches (projects, policies) and
/// evicts them; the cache serves only while this listens (see `cache.rs`).
/// Reconnects after a lost connection; runs until its task is aborted.
pub async fn run_cache_listener(url: DatabaseUrl, store: Store) {
    /// Whatever ends the listening (an error, the task aborted), the cache
    /// stops serving at once.
    struct Deaf<'a>(&'a Cache);
    impl Drop for Deaf<'_> {
        fn drop(&mut self) {
            self.0.deaf();
        }
    }
    let cache = &*store.cache;
    loop {
        let deaf = Deaf(cache);
        let listening = || {
            cache.listening();
            tracing::info!("listening for cache invalidations");
        };
        let result = listen_once(&url, CACHE_CHANNEL, listening, |p| cache.invalidate(&p)).await;
        drop(deaf);
        if let Err(err) = result {
            tracing::warn!(error = %err, "cache listener lost its connection; reconnecting");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// One connection listening on `channel`: `listening` once the `LISTEN` has
/// taken effect, then `payload` for each notification, in order, until the
/// connection is lost.
async fn listen_once(
    url: &DatabaseUrl,
    channel: &str,
    listening: impl FnOnce(),
    mut payload: impl FnMut(String),
) -> Result<(), tokio_postgres::Error> {
    let (client, mut connection) = url.config().connect(NoTls).await?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let driver = tokio::spawn(async move {
        let mut messages = stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(n)) => {
                    if tx.send(n.payload().to_owned()).is_err() {
                        break;
                    }
                }
                Ok(_) => {}
                Err(err) => return Err(err),
            }
        }
        Ok(())
    });
    client.batch_execute(&format!("LISTEN {channel}")).await?;
    listening();
    while let Some(message) = rx.recv().await {
        payload(message);
    }
    drop(client);
    match driver.await {
        Ok(result) => result,
        Err(_) => Ok(()),
    }
}
