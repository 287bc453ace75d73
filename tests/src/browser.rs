//! Browser tests' harness: headless Chromium driven through `chromedriver`
//! with the W3C WebDriver protocol.
//!
//! The protocol is a handful of JSON-over-HTTP calls, so this speaks it with
//! the `reqwest` client the other tests use rather than a WebDriver crate:
//! nothing more to compile, and every wait and error message is ours.
//!
//! [`Browser::start`] starts `chromedriver` (`CHROMEDRIVER`, or the one on the
//! `PATH`) on a free port with a fresh profile; dropping the [`Browser`] ends
//! the WebDriver session (which quits Chromium) and stops the driver.
//!
//! The server sends a content security policy; Chromium writes each
//! violation of it to the console as an error. The harness reads the
//! console, and a test whose pages violated the policy fails when its
//! [`Browser`] is dropped (or earlier, at [`Browser::assert_no_csp_violations`]).

use std::{
    io::{Read, Write},
    net::{TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::Mutex,
    time::{Duration, Instant},
};

use serde_json::{Value, json};

/// How long [`Browser::wait_for`] and friends wait before failing.
pub const WAIT: Duration = Duration::from_secs(10);

/// The W3C key for an element reference in WebDriver's JSON.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Fails with what to do when the web app has not been built.
pub fn require_built_frontend() -> PathBuf {
    let dist = crate::repo_root().join("frontend/dist");
    assert!(
        dist.join("index.html").is_file(),
        "the web app is not built: {} is missing. Run scripts/build-frontend.sh first.",
        dist.join("index.html").display()
    );
    dist
}

/// A headless Chromium, one WebDriver session.
pub struct Browser {
    client: reqwest::Client,
    /// `http://127.0.0.1:{port}/session/{id}`
    session: String,
    port: u16,
    session_id: String,
    driver: Child,
    profile: PathBuf,
    downloads: PathBuf,
    /// Content security policy violations read from the console so far
    /// (reading the console empties it).
    csp_violations: Mutex<Vec<String>>,
}

/// A network to emulate (Chromium's throttling): round-trip latency and
/// throughput each way.
#[derive(Debug, Clone, Copy)]
pub struct Network {
    pub latency: Duration,
    pub download_bytes_per_second: u64,
    pub upload_bytes_per_second: u64,
}

impl Network {
    /// DevTools' "Fast 3G" preset: 562.5 ms, 1.6 Mbit/s down and 750 kbit/s up,
    /// each times 0.9 (as DevTools applies it).
    pub const FAST_3G: Network = Network {
        latency: Duration::from_micros(562_500),
        download_bytes_per_second: 1_600_000 * 9 / 10 / 8,
        upload_bytes_per_second: 750_000 * 9 / 10 / 8,
    };
}

/// An element on the page.
#[derive(Debug, Clone)]
pub struct Element {
    id: String,
}

impl Browser {
    /// Starts `chromedriver` and a headless Chromium with a fresh profile.
    pub async fn start() -> Browser {
        let port = free_port();
        let chromedriver = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| {
                panic!(
                    "cannot start {chromedriver} ({err}); install Debian's chromium and \
                     chromium-driver, or set CHROMEDRIVER"
                )
            });
        let client = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");

        let deadline = Instant::now() + WAIT;
        loop {
            let ready = client.get(format!("{base}/status")).send().await.ok();
            let ready = match ready {
                Some(response) => response
                    .json::<Value>()
                    .await
                    .is_ok_and(|status| status["value"]["ready"] == true),
                None => false,
            };
            if ready {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver did not become ready on port {port}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }

        let profile =
            std::env::temp_dir().join(format!("termaudit-chromium-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&profile).expect("a profile directory");
        let downloads = profile.join("downloads");
        std::fs::create_dir_all(&downloads).expect("a downloads directory");
        let mut options = json!({
            // Files the page saves land here without asking.
            "prefs": {
                "download.default_directory": downloads.display().to_string(),
                "download.prompt_for_download": false,
            },
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--window-size=1280,900",
                format!("--user-data-dir={}", profile.display()),
            ],
        });
        let binary = std::env::var("CHROMIUM").ok().or_else(|| {
            ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
                .into_iter()
                .find(|path| Path::new(path).exists())
                .map(ToOwned::to_owned)
        });
        if let Some(binary) = binary {
            options["binary"] = json!(binary);
        }
        let capabilities = json!({
            "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": options,
                // The console, for content security policy violations.
                "goog:loggingPrefs": { "browser": "ALL" },
            } }
        });
        let response = client
            .post(format!("{base}/session"))
            .json(&capabilities)
            .send()
            .await
            .expect("chromedriver answers");
        let body: Value = response.json().await.expect("a JSON answer");
        let session_id = body["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("Chromium did not start: {body}"))
            .to_owned();
        Browser {
            client,
            session: format!("{base}/session/{session_id}"),
            port,
            session_id,
            driver,
            profile,
            downloads,
            csp_violations: Mutex::new(Vec::new()),
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.session);
        let mut request = self.client.request(method.clone(), &url);
        if let Some(body) = body {
            request = request.json(&body);
        } else if method == reqwest::Method::POST {
            request = request.json(&json!({}));
        }
        let response = request.send().await.expect("chromedriver answers");
        let status = response.status();
        let body: Value = response.json().await.expect("a JSON answer");
        assert!(status.is_success(), "WebDriver {method} {path} failed: {body}");
        body["value"].clone()
    }

    /// Runs a Chrome DevTools Protocol command and returns its result.
    pub async fn cdp(&self, command: &str, params: Value) -> Value {
        self.call(
            reqwest::Method::POST,
            "/goog/cdp/execute",
            Some(json!({ "cmd": command, "params": params })),
        )
        .await
    }

    /// Emulates `network` for every request from now on.
    pub async fn throttle(&self, network: Network) {
        let conditions = json!({ "network_conditions": {
            "offline": false,
            "latency": network.latency.as_secs_f64() * 1000.0,
            "download_throughput": network.download_bytes_per_second,
            "upload_throughput": network.upload_bytes_per_second,
        } });
        self.call(reqwest::Method::POST, "/chromium/network_conditions", Some(conditions)).await;
    }

    /// The content security policy violations the console has shown since
    /// the last call; they no longer fail the test (for a test that causes one
    /// on purpose).
    pub async fn take_csp_violations(&self) -> Vec<String> {
        let entries =
            self.call(reqwest::Method::POST, "/se/log", Some(json!({ "type": "browser" }))).await;
        self.record_csp_violations(&entries);
        std::mem::take(&mut *self.seen_csp_violations())
    }

    /// The console's messages since the last read (the content security
    /// policy violations among them still fail the test when it ends).
    pub async fn take_console(&self) -> Vec<String> {
        let entries =
            self.call(reqwest::Method::POST, "/se/log", Some(json!({ "type": "browser" }))).await;
        self.record_csp_violations(&entries);
        entries
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|entry| entry["message"].as_str().map(ToOwned::to_owned))
            .collect()
    }

    /// Fails the test when a page violated the content security policy.
    pub async fn assert_no_csp_violations(&self) {
        let violations = self.take_csp_violations().await;
        assert!(
            violations.is_empty(),
            "the content security policy was violated:\n{violations:#?}"
        );
    }

    fn seen_csp_violations(&self) -> std::sync::MutexGuard<'_, Vec<String>> {
        self.csp_violations.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Keeps the violations among console `entries` (WebDriver's log format).
    fn record_csp_violations(&self, entries: &Value) {
        self.seen_csp_violations().extend(
            entries
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|entry| entry["message"].as_str())
                .filter(|message| message.contains("Content Security Policy"))
                .map(ToOwned::to_owned),
        );
    }

    /// Makes the document in `frame` (an `<iframe>`), or the page's own with
    /// `None`, the one later calls act in.
    pub async fn switch_to_frame(&self, frame: Option<&Element>) {
        let id = frame.map_or(Value::Null, |frame| self.reference(frame));
        self.call(reqwest::Method::POST, "/frame", Some(json!({ "id": id }))).await;
    }

    /// Opens `url`.
    pub async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({ "url": url }))).await;
    }

    /// The address the browser shows.
    pub async fn current_url(&self) -> String {
        self.call(reqwest::Method::GET, "/url", None).await.as_str().unwrap_or_default().to_owned()
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and returns its result.
    pub async fn execute(&self, script: &str, args: Vec<Value>) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
        .await
    }

    /// The elements that match `css` now.
    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        let found = self
            .call(
                reqwest::Method::POST,
                "/elements",
                Some(json!({ "using": "css selector", "value": css })),
            )
            .await;
        found
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|item| item[ELEMENT_KEY].as_str())
                    .map(|id| Element { id: id.to_owned() })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Waits for an element matching `css`.
    pub async fn wait_for(&self, css: &str) -> Element {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(element) = self.find_all(css).await.into_iter().next() {
                return element;
            }
            if Instant::now() > deadline {
                let body = self.body_text().await;
                panic!("no element matches {css:?} after {WAIT:?}; the page shows:\n{body}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the text of the first element matching `css` contains `text`;
    /// returns that element's whole text.
    pub async fn wait_for_text(&self, css: &str, text: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let mut last = String::new();
            if let Some(element) = self.find_all(css).await.into_iter().next() {
                // The page may replace the element between finding and reading it.
                last = self.text_if_present(&element).await.unwrap_or_default();
                if last.contains(text) {
                    return last;
                }
            }
            if Instant::now() > deadline {
                panic!("{css:?} did not show {text:?} after {WAIT:?}; it shows {last:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until `count` elements match `css`.
    pub async fn wait_for_count(&self, css: &str, count: usize) -> Vec<Element> {
        let deadline = Instant::now() + WAIT;
        loop {
            let found = self.find_all(css).await;
            if found.len() == count {
                return found;
            }
            if Instant::now() > deadline {
                let body = self.body_text().await;
                panic!(
                    "{css:?} matched {} elements, not {count}, after {WAIT:?}; the page shows:\n{body}",
                    found.len()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the address contains `part`.
    pub async fn wait_for_url(&self, part: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let url = self.current_url().await;
            if url.contains(part) {
                return url;
            }
            assert!(Instant::now() < deadline, "the address stayed {url:?}, without {part:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The page's visible text.
    pub async fn body_text(&self) -> String {
        match self.find_all("body").await.into_iter().next() {
            Some(body) => self.text(&body).await,
            None => String::new(),
        }
    }

    /// An element's rendered text.
    pub async fn text(&self, element: &Element) -> String {
        self.call(reqwest::Method::GET, &format!("/element/{}/text", element.id), None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// An element's rendered text, or `None` when the page has removed it since.
    async fn text_if_present(&self, element: &Element) -> Option<String> {
        let url = format!("{}/element/{}/text", self.session, element.id);
        let response = self.client.get(&url).send().await.expect("chromedriver answers");
        let ok = response.status().is_success();
        let body: Value = response.json().await.expect("a JSON answer");
        if !ok && body["value"]["error"] == "stale element reference" {
            return None;
        }
        assert!(ok, "WebDriver GET /element/{}/text failed: {body}", element.id);
        Some(body["value"].as_str().unwrap_or_default().to_owned())
    }

    /// An element's attribute (`None` when it has none).
    pub async fn attribute(&self, element: &Element, name: &str) -> Option<String> {
        self.call(reqwest::Method::GET, &format!("/element/{}/attribute/{name}", element.id), None)
            .await
            .as_str()
            .map(ToOwned::to_owned)
    }

    /// An element's DOM property (`value`, `checked`, `disabled`…), as JSON.
    pub async fn property(&self, element: &Element, name: &str) -> Value {
        self.call(reqwest::Method::GET, &format!("/element/{}/property/{name}", element.id), None)
            .await
    }

    /// The element as a script argument for [`Browser::execute`].
    pub fn reference(&self, element: &Element) -> Value {
        json!({ ELEMENT_KEY: element.id })
    }

    /// Empties an `<input>` or `<textarea>`.
    pub async fn clear(&self, element: &Element) {
        self.call(reqwest::Method::POST, &format!("/element/{}/clear", element.id), None).await;
    }

    /// Where files the page saves (downloads) are written.
    pub fn download_dir(&self) -> &Path {
        &self.downloads
    }

    /// Waits for a finished download named `name`; returns its bytes.
    pub async fn wait_for_download(&self, name: &str) -> Vec<u8> {
        let path = self.downloads.join(name);
        let deadline = Instant::now() + WAIT;
        loop {
            // Chromium writes `name.crdownload` and renames it when done.
            if let Ok(bytes) = std::fs::read(&path) {
                return bytes;
            }
            if Instant::now() > deadline {
                let present: Vec<_> = std::fs::read_dir(&self.downloads)
                    .map(|entries| entries.flatten().map(|entry| entry.file_name()).collect())
                    .unwrap_or_default();
                panic!("no download {name:?} after {WAIT:?}; the folder holds {present:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Clicks the element.
    pub async fn click(&self, element: &Element) {
        self.call(reqwest::Method::POST, &format!("/element/{}/click", element.id), None).await;
    }

    /// Waits for `css` and clicks it.
    pub async fn click_on(&self, css: &str) {
        let element = self.wait_for(css).await;
        self.click(&element).await;
    }

    /// Types `text` into the element, as a person would.
    pub async fn type_into(&self, element: &Element, text: &str) {
        self.call(
            reqwest::Method::POST,
            &format!("/element/{}/value", element.id),
            Some(json!({ "text": text })),
        )
        .await;
    }

    /// Picks the `<option>` with `value` in the `<select>` matching `css`, as a
    /// person would (the page hears `change`).
    pub async fn select(&self, css: &str, value: &str) {
        self.wait_for(css).await;
        self.click_on(&format!("{css} option[value=\"{value}\"]")).await;
    }

    /// A PNG of the viewport, written to `path`.
    pub async fn screenshot(&self, path: &Path) {
        let encoded = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let png = decode_base64(encoded.as_str().unwrap_or_default());
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("the screenshot's directory");
        }
        std::fs::write(path, png).expect("the screenshot is written");
    }

    /// Resizes the window (for a screenshot of a whole page, say).
    pub async fn set_window_size(&self, width: u32, height: u32) {
        self.call(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({ "width": width, "height": height })),
        )
        .await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Async is not available here: read the console's last entries and
        // end the session (which quits Chromium) with plain blocking
        // requests, then stop the driver.
        let session = format!("/session/{}", self.session_id);
        let log = blocking_request(
            self.port,
            "POST",
            &format!("{session}/se/log"),
            r#"{"type":"browser"}"#,
        );
        if let Some(body) = log.and_then(|body| serde_json::from_str::<Value>(&body).ok()) {
            self.record_csp_violations(&body["value"]);
        }
        let violations = std::mem::take(&mut *self.seen_csp_violations());
        blocking_request(self.port, "DELETE", &session, "");
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
        if !violations.is_empty() && !std::thread::panicking() {
            panic!("the content security policy was violated:\n{violations:#?}");
        }
    }
}

/// A WebDriver request without the async client (for [`Drop`]): the answer's
/// body, or `None` when the driver does not answer in 5 s.
fn blocking_request(port: u16, method: &str, path: &str, body: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).ok()?;
    // The driver may keep the connection open after its answer: read up to
    // the end of the body its Content-Length announces, not to the end.
    let mut answer = Vec::new();
    let mut buffer = [0_u8; 8192];
    loop {
        let read = stream.read(&mut buffer).ok().filter(|n| *n > 0)?;
        answer.extend_from_slice(&buffer[..read]);
        if let Some(end) = answer.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&answer[..end]);
            let length: usize = head
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse().ok())?
                })
                .unwrap_or(0);
            let body = &answer[end + 4..];
            if body.len() >= length {
                return Some(String::from_utf8_lossy(&body[..length]).into_owned());
            }
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}

/// Standard base64, as WebDriver sends screenshots.
fn decode_base64(text: &str) -> Vec<u8> {
    let value = |c: u8| -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some(u32::from(c - b'A')),
            b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    };
    let digits: Vec<u32> = text.bytes().filter_map(value).collect();
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for chunk in digits.chunks(4) {
        let mut n = 0;
        for (i, digit) in chunk.iter().enumerate() {
            n |= digit << (18 - 6 * i);
        }
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::decode_base64;

    #[test]
    fn base64_decodes_with_and_without_padding() {
        assert_eq!(decode_base64("aGVsbG8="), b"hello");
        assert_eq!(decode_base64("aGVsbG8h"), b"hello!");
        assert_eq!(decode_base64("aGk="), b"hi");
        assert_eq!(decode_base64(""), b"");
    }
}
