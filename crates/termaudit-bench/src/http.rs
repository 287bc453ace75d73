//! The throughput stage's load generator: one keep-alive HTTP/1.1
//! connection per task, sending the same `GET` again and again and reading
//! each whole response before the next, as `wrk` does.
//!
//! The client shares the machine's two cores with the server and
//! PostgreSQL, so what it spends is taken from what it measures: reqwest
//! (hyper's pooled client, a task per connection and a channel to it) took
//! a fifth of the bench process's CPU in the API stage. This one writes
//! bytes built once, parses the response's head with `httparse` (hyper's
//! own parser) and reads the body into a buffer it keeps.

use std::{net::SocketAddr, sync::Arc};

use anyhow::Context;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// `GET path` with `authorization`, as the bytes sent for every request.
pub fn get_request(address: SocketAddr, path: &str, authorization: &str) -> Arc<[u8]> {
    format!("GET {path} HTTP/1.1\r\nhost: {address}\r\nauthorization: {authorization}\r\n\r\n")
        .into_bytes()
        .into()
}

/// One connection, for one task.
pub struct Connection {
    stream: TcpStream,
    request: Arc<[u8]>,
    buffer: Vec<u8>,
}

/// How much of the buffer a response's head may take.
const MAX_HEAD: usize = 16 * 1024;

impl Connection {
    pub async fn open(address: SocketAddr, request: Arc<[u8]>) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(address).await?;
        stream.set_nodelay(true)?;
        Ok(Self { stream, request, buffer: Vec::with_capacity(64 * 1024) })
    }

    /// Sends the request and reads its response to the end; an error unless
    /// it is a `200` whose body has a `content-length`. Returns the body's
    /// length.
    pub async fn send(&mut self) -> anyhow::Result<usize> {
        self.stream.write_all(&self.request).await?;
        self.buffer.clear();
        let (head, body) = loop {
            self.read_some().await?;
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut response = httparse::Response::new(&mut headers);
            match response.parse(&self.buffer).context("the server's response")? {
                httparse::Status::Complete(head) => {
                    anyhow::ensure!(
                        response.code == Some(200),
                        "the server answered {:?}",
                        response.code
                    );
                    break (head, content_length(response.headers)?);
                }
                httparse::Status::Partial => {
                    anyhow::ensure!(self.buffer.len() < MAX_HEAD, "a response head over 16 KiB");
                }
            }
        };
        while self.buffer.len() < head + body {
            self.read_some().await?;
        }
        // One request in flight at a time: nothing may follow its response.
        anyhow::ensure!(
            self.buffer.len() == head + body,
            "{} bytes after a response",
            self.buffer.len() - head - body
        );
        Ok(body)
    }

    async fn read_some(&mut self) -> anyhow::Result<()> {
        if self.buffer.capacity() == self.buffer.len() {
            self.buffer.reserve(self.buffer.len());
        }
        let read = self.stream.read_buf(&mut self.buffer).await?;
        anyhow::ensure!(read > 0, "the server closed the connection mid-response");
        Ok(())
    }
}

/// The body's length from its `content-length`; chunked bodies are not
/// read by this client (the server sizes every page it sends).
fn content_length(headers: &[httparse::Header<'_>]) -> anyhow::Result<usize> {
    let header = headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("content-length"))
        .context("a response without content-length")?;
    Ok(std::str::from_utf8(header.value)?.trim().parse()?)
}
