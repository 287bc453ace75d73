//! Control events to gateways, carried by PostgreSQL LISTEN/NOTIFY so every
//! API replica hears what any of them did.

use std::time::Duration;

use futures_util::{StreamExt, stream};
use tokio::sync::broadcast;
use tokio_postgres::{AsyncMessage, NoTls};

use crate::{CONTROL_CHANNEL, ControlEvent, DatabaseUrl};

/// Listens on the control channel and forwards each event to `sender`,
/// reconnecting after a lost connection. Runs until its task is aborted.
pub async fn run_control_listener(url: DatabaseUrl, sender: broadcast::Sender<ControlEvent>) {
    loop {
        if let Err(err) = listen_once(&url, &sender).await {
            tracing::warn!(error = %err, "control listener lost its connection; reconnecting");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn listen_once(
    url: &DatabaseUrl,
    sender: &broadcast::Sender<ControlEvent>,
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
    client.batch_execute(&format!("LISTEN {CONTROL_CHANNEL}")).await?;
    tracing::info!("listening for control events");
    while let Some(payload) = rx.recv().await {
        match serde_json::from_str::<ControlEvent>(&payload) {
            // No receivers is fine: no gateway is listening right now.
            Ok(event) => drop(sender.send(event)),
            Err(err) => tracing::warn!(error = %err, "ignoring an unreadable control event"),
        }
    }
    drop(client);
    match driver.await {
        Ok(result) => result,
        Err(_) => Ok(()),
    }
}
