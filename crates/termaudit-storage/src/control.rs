//! Control events to gateways, and the signals live watchers follow,
//! carried by PostgreSQL LISTEN/NOTIFY so every API replica hears what any
//! of them did: one listening connection per channel and replica, fanned
//! out to the replica's subscribers through a broadcast channel.

use std::time::Duration;

use futures_util::{StreamExt, stream};
use serde::de::DeserializeOwned;
use tokio::sync::broadcast;
use tokio_postgres::{AsyncMessage, NoTls};

use crate::{CONTROL_CHANNEL, ControlEvent, DatabaseUrl, LIVE_CHANNEL, LiveSignal};

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

async fn run_listener<T: DeserializeOwned + Clone>(
    url: DatabaseUrl,
    channel: &str,
    sender: broadcast::Sender<T>,
    on_connect: Option<T>,
) {
    loop {
        if let Err(err) = listen_once(&url, channel, &sender, on_connect.as_ref()).await {
            tracing::warn!(error = %err, channel, "a listener lost its connection; reconnecting");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn listen_once<T: DeserializeOwned + Clone>(
    url: &DatabaseUrl,
    channel: &str,
    sender: &broadcast::Sender<T>,
    on_connect: Option<&T>,
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
    tracing::info!(channel, "listening");
    if let Some(message) = on_connect {
        drop(sender.send(message.clone()));
    }
    while let Some(payload) = rx.recv().await {
        match serde_json::from_str::<T>(&payload) {
            // No receivers is fine: nobody is listening right now.
            Ok(message) => drop(sender.send(message)),
            Err(err) => {
                tracing::warn!(error = %err, channel, "ignoring an unreadable notification")
            }
        }
    }
    drop(client);
    match driver.await {
        Ok(result) => result,
        Err(_) => Ok(()),
    }
}
