//! The terminal gateway end to end: a WebSocket client (as the web app will
//! be) opens real shells through the gateway running inside the server, and
//! the API's history and recordings are checked afterwards.

use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use termaudit_domain::Permission::*;
use termaudit_tests::{TestApp, json};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream, connect_async,
    tungstenite::{self, Message, client::IntoClientRequest as _},
};

mod demo;

const PROJECT: &str = "acme";
/// How long a test waits for what should come at once: a bound for a busy
/// machine, not a measure of speed (that is the benchmarks').
const DEADLINE: Duration = Duration::from_secs(30);

/// A server with the gateway inside, an `acme` project recording its
/// non-production sessions, and its targets: `web` (`/bin/sh` in a temp
/// dir) and `prod-web` (production).
async fn spawn() -> (TestApp, PathBuf) {
    let (dir, targets) = termaudit_tests::shell_targets(PROJECT);
    let app =
        TestApp::spawn_with(Box::new(move |s| s.gateway_targets = Some(targets.clone()))).await;
    app.create_project(PROJECT).await;
    let manager = app.token("carol", PROJECT, &[ManagePolicy]);
    let policy = json!({
        "retention_days_production": 365, "retention_days_non_production": 30,
        "record_non_production": true, "require_reason_non_production": false,
        "reconnect_grace_seconds": 60,
    });
    let response = app.put(&format!("/api/v1/projects/{PROJECT}/policy"), &manager, &policy).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap_or_default());
    (app, dir)
}

fn ws_url(app: &TestApp, path_and_query: &str) -> String {
    format!("{}{path_and_query}", app.address.replace("http://", "ws://"))
}

/// A browser's terminal: what it was sent, as text.
struct Terminal {
    socket: WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>,
    screen: String,
    messages: Vec<Value>,
    closed: bool,
}

impl Terminal {
    async fn connect(url: &str) -> Terminal {
        let (socket, _) = connect_async(url).await.expect("the WebSocket opens");
        Terminal { socket, screen: String::new(), messages: Vec::new(), closed: false }
    }

    /// Back to `user`'s dropped `session` of `project`, as the web app goes:
    /// a reconnect token from the API, redeemed by the gateway.
    async fn reattach(app: &TestApp, project: &str, session: &str, user: &str) -> Terminal {
        let grant: Value = json(
            app.post(
                &format!("/api/v1/projects/{project}/sessions/{session}/reconnect"),
                user,
                &json!({}),
            )
            .await,
            200,
        )
        .await;
        let token = grant["token"].as_str().expect("a reconnect token");
        Terminal::attach(app, project, session, user, token).await
    }

    /// Reattaches with the reconnect token `token`, sent as the first message.
    async fn attach(
        app: &TestApp,
        project: &str,
        session: &str,
        user: &str,
        token: &str,
    ) -> Terminal {
        let url = ws_url(
            app,
            &format!("/gateway/v1/projects/{project}/terminals/{session}/attach?token={user}"),
        );
        let mut terminal = Terminal::connect(&url).await;
        // The reconnect token goes in the socket, not in the URL.
        let first = json!({"type": "reconnect", "token": token}).to_string();
        terminal.socket.send(Message::text(first)).await.expect("sent");
        terminal
    }

    async fn open(app: &TestApp, user: &str, query: &str) -> Terminal {
        let url =
            ws_url(app, &format!("/gateway/v1/projects/{PROJECT}/terminals?{query}&token={user}"));
        Terminal::connect(&url).await
    }

    /// Reads until `done` holds, at most `limit`.
    async fn read_until(&mut self, limit: Duration, done: impl Fn(&Terminal) -> bool) {
        let deadline = tokio::time::Instant::now() + limit;
        while !done(self) {
            let next = tokio::time::timeout_at(deadline, self.socket.next()).await;
            match next {
                Err(_) => panic!(
                    "timed out; screen so far: {:?}; messages: {:?}",
                    self.screen, self.messages
                ),
                Ok(Some(Ok(Message::Binary(bytes)))) => {
                    self.screen.push_str(&String::from_utf8_lossy(&bytes));
                }
                Ok(Some(Ok(Message::Text(text)))) => {
                    self.messages.push(serde_json::from_str(&text).expect("JSON control"));
                }
                Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Ok(Some(Err(_))) => {
                    self.closed = true;
                    assert!(
                        done(self),
                        "closed early; screen: {:?}; messages: {:?}",
                        self.screen,
                        self.messages
                    );
                    return;
                }
                Ok(Some(Ok(_))) => {}
            }
        }
    }

    async fn output(&mut self, needle: &str) {
        let needle = needle.to_owned();
        self.read_until(DEADLINE, move |t| t.screen.contains(&needle)).await;
    }

    async fn message(&mut self, kind: &str) -> Value {
        let kind = kind.to_owned();
        self.read_until(DEADLINE, |t| t.messages.iter().any(|m| m["type"] == kind)).await;
        self.messages.iter().find(|m| m["type"] == kind).cloned().expect("the message")
    }

    async fn type_keys(&mut self, keys: &str) {
        self.socket.send(Message::binary(keys.as_bytes().to_vec())).await.expect("sent");
    }

    async fn closes(&mut self) {
        self.read_until(DEADLINE, |t| t.closed).await;
    }
}

/// The pid the shell printed after `pid=` (the typed `pid=$$` has no digits).
fn shell_pid(screen: &str) -> Option<u32> {
    screen.split("pid=").skip(1).find_map(|rest| {
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let complete = rest.len() > digits.len();
        if complete { digits.parse().ok() } else { None }
    })
}

async fn get(app: &TestApp, path: &str, token: &str) -> Value {
    json(app.get(&format!("/api/v1/projects/{PROJECT}{path}"), token).await, 200).await
}

/// The session's recording as the `.cast` file a user downloads.
async fn download(app: &TestApp, session: &str, token: &str) -> String {
    app.get(&format!("/api/v1/projects/{PROJECT}/sessions/{session}/recording/download"), token)
        .await
        .text()
        .await
        .expect("the recording")
}

/// Waits until `session`'s recording is finalized (the gateway sent its
/// last chunk and said so).
async fn finalized(app: &TestApp, session: &str, token: &str) {
    let deadline = Instant::now() + DEADLINE;
    while get(app, &format!("/sessions/{session}/recording"), token).await["state"] != "available" {
        assert!(Instant::now() < deadline, "the recording was not finalized");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn wait_for_status(app: &TestApp, session: &str, token: &str, status: &str) -> Value {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let current = get(app, &format!("/sessions/{session}"), token).await;
        if current["status"] == status {
            return current;
        }
        assert!(Instant::now() < deadline, "the session stayed {}", current["status"]);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_shell_outlives_a_dropped_connection_and_its_history_and_recording_are_complete() {
    let (app, dir) = spawn().await;
    let alice =
        app.token("alice", PROJECT, &[ViewHistory, ViewRecording, DownloadRecording, Connect]);

    let mut terminal = Terminal::open(&app, &alice, "target=web&cols=100&rows=30").await;
    let opened = terminal.message("opened").await;
    let session = opened["session"]["id"].as_str().expect("a session id").to_owned();
    assert_eq!(opened["session"]["user"]["subject"], "alice");
    assert_eq!(opened["session"]["recorded"], true);
    assert_eq!((opened["cols"].as_u64(), opened["rows"].as_u64()), (Some(100), Some(30)));
    terminal.output("$ ").await;
    terminal.type_keys("MARK=alpha-42; echo hello-termaudit\r").await;
    terminal.output("\nhello-termaudit").await;
    terminal.type_keys("pwd\r").await;
    terminal.output(&format!("\n{}", dir.display())).await;

    // The browser goes away; the shell does not.
    drop(terminal);
    let dropped = wait_for_status(&app, &session, &alice, "dropped").await;
    assert_eq!(dropped["drop_cause"], "connection_lost");

    let mut terminal = Terminal::reattach(&app, PROJECT, &session, &alice).await;
    let reopened = terminal.message("opened").await;
    assert_eq!(reopened["session"]["status"], "active");
    assert_eq!((reopened["cols"].as_u64(), reopened["rows"].as_u64()), (Some(100), Some(30)));
    // The screen as it was: what was printed before the drop.
    terminal.output("hello-termaudit").await;
    // The same shell: its variable is still set.
    terminal.type_keys("echo again-$MARK\r").await;
    terminal.output("\nagain-alpha-42").await;
    terminal.type_keys("exit\r").await;
    let ended = terminal.message("ended").await;
    assert_eq!(ended["reason"], "user_exit");
    terminal.closes().await;

    // The history, as the web app will show it.
    let closed = get(&app, &format!("/sessions/{session}"), &alice).await;
    assert_eq!(closed["status"], "closed");
    assert_eq!(closed["close_reason"], "user_exit");
    let activity = get(&app, &format!("/sessions/{session}/activity"), &alice).await;
    let commands: Vec<&str> = activity["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|a| a["text"].as_str())
        .collect();
    assert_eq!(
        commands,
        ["MARK=alpha-42; echo hello-termaudit", "pwd", "echo again-$MARK", "exit"]
    );
    let recording = get(&app, &format!("/sessions/{session}/recording"), &alice).await;
    assert_eq!(recording["state"], "available", "{recording}");
    assert!(recording["finalized_at"].is_string(), "{recording}");
    let cast = download(&app, &session, &alice).await;
    let mut lines = cast.lines();
    let header: Value = serde_json::from_str(lines.next().expect("a header")).expect("JSON");
    assert_eq!((header["width"].as_u64(), header["height"].as_u64()), (Some(100), Some(30)));
    let printed: String = lines
        .map(|l| serde_json::from_str::<Value>(l).expect("an event"))
        .filter(|e| e[1] == "o")
        .map(|e| e[2].as_str().unwrap_or_default().to_owned())
        .collect();
    for expected in
        ["echo hello-termaudit", "\nhello-termaudit", "echo again-$MARK", "\nagain-alpha-42"]
    {
        assert!(printed.contains(expected), "{expected:?} is not in the recording: {printed:?}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_reattach_takes_its_reconnect_token_as_the_first_message_not_from_the_url() {
    let (app, dir) = spawn().await;
    let alice = app.token("alice", PROJECT, &[ViewHistory, Connect]);
    let mut terminal = Terminal::open(&app, &alice, "target=web").await;
    let session =
        terminal.message("opened").await["session"]["id"].as_str().expect("an id").to_owned();
    terminal.output("$ ").await;
    drop(terminal);
    wait_for_status(&app, &session, &alice, "dropped").await;
    let grant: Value = json(
        app.post(
            &format!("/api/v1/projects/{PROJECT}/sessions/{session}/reconnect"),
            &alice,
            &json!({}),
        )
        .await,
        200,
    )
    .await;
    let token = grant["token"].as_str().expect("a reconnect token");

    // The token in the URL, as the protocol once had it, and keys first:
    // refused, and the token is not spent.
    let url = ws_url(
        &app,
        &format!(
            "/gateway/v1/projects/{PROJECT}/terminals/{session}/attach?reconnect_token={token}&token={alice}"
        ),
    );
    let mut refused = Terminal::connect(&url).await;
    refused.type_keys("echo hi\r").await;
    let error = refused.message("error").await;
    assert_eq!(error["status"], 400);
    assert!(
        error["detail"].as_str().is_some_and(|d| d.contains("\"type\":\"reconnect\"")),
        "{error}"
    );
    refused.closes().await;
    assert_eq!(get(&app, &format!("/sessions/{session}"), &alice).await["status"], "dropped");

    let mut terminal = Terminal::attach(&app, PROJECT, &session, &alice, token).await;
    assert_eq!(terminal.message("opened").await["session"]["status"], "active");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_revoked_shell_is_killed_within_a_second_and_the_user_is_told_by_whom() {
    let (app, dir) = spawn().await;
    let alice =
        app.token("alice", PROJECT, &[ViewHistory, ViewRecording, DownloadRecording, Connect]);
    let carol = app.token("carol", PROJECT, &[ManagePolicy, ViewHistory]);
    let mut terminal =
        Terminal::open(&app, &alice, "target=prod-web&reason=INC-7%3A+restart").await;
    let opened = terminal.message("opened").await;
    let session = opened["session"]["id"].as_str().expect("an id").to_owned();
    assert_eq!(opened["session"]["reason"], "INC-7: restart");
    terminal.type_keys("echo pid=$$\r").await;
    terminal.read_until(DEADLINE, |t| shell_pid(&t.screen).is_some()).await;
    let pid = shell_pid(&terminal.screen).expect("the shell's pid");
    assert!(PathBuf::from(format!("/proc/{pid}")).exists());
    // The last thing the shell prints before the revoke is still on its way
    // to the API (chunks go every 250 ms) when the session ends.
    terminal.type_keys("echo last-$((6*7))-words\r").await;
    terminal.read_until(DEADLINE, |t| t.screen.contains("\nlast-42-words")).await;

    let revoked_at = Instant::now();
    let response = app
        .post(
            &format!("/api/v1/projects/{PROJECT}/sessions/{session}/revoke"),
            &carol,
            &json!({"reason": "outside the change window"}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let ended = terminal.message("ended").await;
    // Pushed, not polled: a heartbeat would notice only after 15 s. (How
    // fast the push is belongs to the benchmarks, not to a timed assertion:
    // docs/benchmarks.md, "revoke to shell killed".)
    let took = revoked_at.elapsed();
    assert!(took < Duration::from_secs(10), "the shell ended {took:?} after the revoke");
    assert_eq!(ended["reason"], "revoked");
    assert_eq!(ended["by"], "carol (test)");
    assert_eq!(ended["detail"], "outside the change window");
    assert!(
        terminal
            .screen
            .contains("[termaudit] session revoked by carol (test): outside the change window"),
        "{:?}",
        terminal.screen
    );
    terminal.closes().await;
    assert!(
        !PathBuf::from(format!("/proc/{pid}")).exists(),
        "the shell (pid {pid}) still runs after the revoke"
    );
    // The gateway sends the rest and says it is done; the recording has it.
    finalized(&app, &session, &alice).await;
    let cast = download(&app, &session, &alice).await;
    assert!(cast.contains("last-42-words"), "the shell's last output is missing: {cast}");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn terminals_need_a_valid_token_the_connect_permission_and_for_production_a_reason() {
    let (app, dir) = spawn().await;
    let alice = app.token("alice", PROJECT, &[ViewHistory, Connect]);
    let stranger = app.token("mallory", "elsewhere", &[ViewHistory, Connect]);
    let refused = |query: String| {
        let url = ws_url(&app, &format!("/gateway/v1/projects/{PROJECT}/terminals?{query}"));
        async move {
            match connect_async(url.into_client_request().expect("a request")).await {
                Err(tungstenite::Error::Http(response)) => response.status().as_u16(),
                other => panic!("the upgrade was not refused: {:?}", other.map(|_| ())),
            }
        }
    };
    assert_eq!(refused("target=web".into()).await, 401);
    assert_eq!(refused("target=web&token=not-a-jwt".into()).await, 401);
    assert_eq!(refused(format!("target=web&token={stranger}")).await, 404);
    assert_eq!(refused(format!("target=nope&token={alice}")).await, 404);
    // A member who may read the history but not open shells.
    let viewer = app.token("vera", PROJECT, &[ViewHistory, ViewRecording, ManagePolicy]);
    assert_eq!(refused(format!("target=prod-web&reason=x&token={viewer}")).await, 403);

    // The token as a subprotocol, as browsers send it.
    let mut request =
        ws_url(&app, &format!("/gateway/v1/projects/{PROJECT}/terminals?target=prod-web"))
            .into_client_request()
            .expect("a request");
    request.headers_mut().insert(
        "sec-websocket-protocol",
        format!("termaudit.v1, bearer.{alice}").parse().expect("a header"),
    );
    let (socket, response) = connect_async(request).await.expect("upgraded");
    assert_eq!(
        response.headers().get("sec-websocket-protocol").and_then(|v| v.to_str().ok()),
        Some("termaudit.v1")
    );
    let mut terminal =
        Terminal { socket, screen: String::new(), messages: Vec::new(), closed: false };
    let error = terminal.message("error").await;
    assert_eq!(error["status"], 400);
    assert!(error["detail"].as_str().is_some_and(|d| d.contains("reason")), "{error}");
    terminal.closes().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// A TCP proxy in front of the API that the test can take down: while down
/// it cuts every open connection and refuses new ones, as an API restart does.
struct Proxy {
    address: String,
    up: tokio::sync::watch::Sender<bool>,
}

impl Proxy {
    async fn start(upstream: &str) -> Proxy {
        let upstream = upstream.trim_start_matches("http://").to_owned();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let address = format!("http://{}", listener.local_addr().expect("an address"));
        let (up, watch) = tokio::sync::watch::channel(true);
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let mut watch = watch.clone();
                if !*watch.borrow() {
                    continue;
                }
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    let Ok(mut server) = tokio::net::TcpStream::connect(&upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = watch.wait_for(|up| !*up) => {}
                    }
                });
            }
        });
        Proxy { address, up }
    }

    fn set_up(&self, up: bool) {
        self.up.send_replace(up);
    }
}

/// A standalone gateway for `targets`, serving on a port of its own and
/// reaching the API through a [`Proxy`] the test can take down.
struct Standalone {
    proxy: Proxy,
    gateway: termaudit_gateway::Gateway,
    /// `ws://host:port`
    address: String,
    server_handle: actix_web::dev::ServerHandle,
}

impl Standalone {
    async fn start(app: &TestApp, targets: &std::path::Path) -> Standalone {
        let proxy = Proxy::start(&app.address).await;
        let service = termaudit_gateway::ServiceToken::Fixed(app.token("gw", PROJECT, &[Ingest]));
        let gateway = termaudit_gateway::Gateway::new(
            termaudit_gateway::Targets::load(targets).expect("targets"),
            termaudit_gateway::ApiClient::new(&proxy.address, service),
            termaudit_gateway::UserAuth::Remote,
        );
        gateway.start();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
        let address = format!("ws://{}", listener.local_addr().expect("an address"));
        let server = termaudit_gateway::server(gateway.clone(), listener).expect("a server");
        let server_handle = server.handle();
        tokio::spawn(server);
        Standalone { proxy, gateway, address, server_handle }
    }
}

#[tokio::test]
async fn an_api_outage_loses_and_repeats_no_output_and_a_gateway_stop_closes_gateway_lost() {
    let (app, dir) = spawn().await;
    let alice =
        app.token("alice", PROJECT, &[ViewHistory, ViewRecording, DownloadRecording, Connect]);
    // A standalone gateway, reaching the API through the proxy.
    let Standalone { proxy, gateway, address: gateway_address, server_handle } =
        Standalone::start(&app, &dir.join("targets.toml")).await;
    let open = |query: &str| {
        let url = format!(
            "{gateway_address}/gateway/v1/projects/{PROJECT}/terminals?{query}&token={alice}"
        );
        async move { Terminal::connect(&url).await }
    };

    let mut terminal = open("target=web").await;
    let session =
        terminal.message("opened").await["session"]["id"].as_str().expect("an id").to_owned();
    terminal.output("$ ").await;
    terminal.type_keys("echo before-outage\r").await;
    terminal.output("\nbefore-outage").await;

    proxy.set_up(false);
    terminal.type_keys("for i in 1 2 3 4 5; do echo during-$i; done\r").await;
    terminal.output("\nduring-5").await;
    // Several flushes fail meanwhile, and are retried.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    proxy.set_up(true);
    terminal.type_keys("echo after-outage\r").await;
    terminal.output("\nafter-outage").await;
    terminal.type_keys("exit\r").await;
    assert_eq!(terminal.message("ended").await["reason"], "user_exit");

    let closed = get(&app, &format!("/sessions/{session}"), &alice).await;
    assert_eq!(closed["close_reason"], "user_exit");
    let cast = download(&app, &session, &alice).await;
    let printed: String = cast
        .lines()
        .skip(1)
        .map(|l| serde_json::from_str::<Value>(l).expect("an event"))
        .filter(|e| e[1] == "o")
        .map(|e| e[2].as_str().unwrap_or_default().to_owned())
        .collect();
    for line in ["before-outage", "during-1", "during-3", "during-5", "after-outage"] {
        assert_eq!(
            printed.matches(&format!("\n{line}\r")).count(),
            1,
            "{line:?} should be recorded once: {printed:?}"
        );
    }
    let activity = get(&app, &format!("/sessions/{session}/activity"), &alice).await;
    assert_eq!(activity["items"].as_array().map(Vec::len), Some(4), "{activity}");

    // The gateway stops with a shell open: the session closes gateway_lost
    // and its recording is finalized.
    let mut terminal = open("target=web").await;
    let session =
        terminal.message("opened").await["session"]["id"].as_str().expect("an id").to_owned();
    terminal.output("$ ").await;
    terminal.type_keys("echo last-words\r").await;
    terminal.output("\nlast-words").await;
    gateway.shutdown(Duration::from_secs(10)).await;
    assert_eq!(terminal.message("ended").await["reason"], "gateway_lost");
    terminal.closes().await;
    server_handle.stop(true).await;
    let closed = get(&app, &format!("/sessions/{session}"), &alice).await;
    assert_eq!(closed["close_reason"], "gateway_lost");
    let recording = get(&app, &format!("/sessions/{session}/recording"), &alice).await;
    assert_eq!(recording["state"], "available", "{recording}");
    let _ = std::fs::remove_dir_all(dir);
}

/// The statements stored for `session`, oldest first.
async fn statements(app: &TestApp, session: &str, token: &str) -> Vec<String> {
    let page = get(app, &format!("/sessions/{session}/database-events"), token).await;
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| e["statement"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn a_revoke_keeps_the_queued_last_statement_and_nothing_typed_after_the_end() {
    let (app, dir) = spawn().await;
    // A database target (a shell standing in for psql: each line ending in
    // `;` is a statement), reached through a standalone gateway whose API
    // connection the test can cut.
    let targets = dir.join("db-targets.toml");
    std::fs::write(
        &targets,
        format!(
            "[[target]]\nproject = \"{PROJECT}\"\nname = \"orders-db\"\nkind = \"database\"\n\
             database = \"orders\"\nenvironment = \"staging\"\nenvironment_class = \"non_production\"\n\
             command = [\"/bin/sh\"]\ncwd = \"{}\"\nenv = {{ PS1 = \"$ \" }}\n",
            dir.display()
        ),
    )
    .expect("the targets file");
    let alice = app.token("alice", PROJECT, &[ViewHistory, Connect]);
    let carol = app.token("carol", PROJECT, &[ManagePolicy, ViewHistory]);
    let Standalone { proxy, gateway, address, server_handle } =
        Standalone::start(&app, &targets).await;
    let url =
        format!("{address}/gateway/v1/projects/{PROJECT}/terminals?target=orders-db&token={alice}");
    let mut terminal = Terminal::connect(&url).await;
    let session =
        terminal.message("opened").await["session"]["id"].as_str().expect("an id").to_owned();
    terminal.output("$ ").await;
    terminal.type_keys("echo first-statement;\r").await;
    terminal.output("\nfirst-statement").await;
    let deadline = Instant::now() + DEADLINE;
    while statements(&app, &session, &carol).await.is_empty() {
        assert!(Instant::now() < deadline, "the first statement was not reported");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The API is out of the gateway's reach: the last statement before the
    // revoke is queued in the gateway, and the gateway does not hear of the
    // revoke, so its shell still takes a statement after the end.
    proxy.set_up(false);
    terminal.type_keys("echo last-before-revoke;\r").await;
    terminal.output("\nlast-before-revoke").await;
    let revoked: Value = json(
        app.post(
            &format!("/api/v1/projects/{PROJECT}/sessions/{session}/revoke"),
            &carol,
            &json!({"reason": "outside the change window"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(revoked["status"], "closed");
    tokio::time::sleep(Duration::from_millis(20)).await;
    terminal.type_keys("echo after-the-revoke;\r").await;
    terminal.output("\nafter-the-revoke").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    proxy.set_up(true);

    // The gateway delivers its queue and hears of the revoke.
    assert_eq!(terminal.message("ended").await["reason"], "revoked");
    let deadline = Instant::now() + Duration::from_secs(20);
    let viewer = app.token("vera", PROJECT, &[ViewHistory, ViewRecording]);
    while get(&app, &format!("/sessions/{session}/recording"), &viewer).await["state"]
        != "available"
    {
        assert!(Instant::now() < deadline, "the recording was not finalized");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        statements(&app, &session, &carol).await,
        ["echo first-statement;", "echo last-before-revoke;"],
        "the last statement is kept, nothing after the end"
    );
    let audit =
        get(&app, &format!("/audit-events?session_id={session}&type=database.statement"), &carol)
            .await;
    let audited: Vec<&str> = audit["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["details"]["statement"].as_str())
        .collect();
    assert_eq!(audited, ["echo last-before-revoke;", "echo first-statement;"], "newest first");
    let ended_at = revoked["ended_at"].as_str().expect("ended_at");
    assert!(
        audit["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|e| e["occurred_at"].as_str() <= Some(ended_at)),
        "{audit}"
    );
    gateway.shutdown(Duration::from_secs(5)).await;
    server_handle.stop(true).await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn the_identity_providers_id_token_opens_a_shell_as_its_mapping_allows() {
    let provider = termaudit_tests::oidc::OidcProvider::start();
    let mapping = termaudit_api::ClaimMapping {
        claim: "groups".into(),
        grant: vec![termaudit_api::ClaimGrant {
            value: "sre-oncall".into(),
            project: PROJECT.into(),
            permissions: vec!["terminal.connect".into(), "terminal.view_history".into()],
        }],
    };
    let configure = provider.configure(Some(mapping));
    let (_dir, targets) = termaudit_tests::shell_targets(PROJECT);
    let app = TestApp::spawn_with(Box::new(move |s| {
        s.gateway_targets = Some(targets);
        configure(s);
    }))
    .await;
    app.create_project(PROJECT).await;

    let alice = provider.id_token("alice").await;
    let mut terminal = Terminal::open(&app, &alice, "target=web").await;
    let opened = terminal.message("opened").await;
    assert_eq!(opened["session"]["user"]["subject"], "alice");
    assert_eq!(opened["session"]["user"]["name"], "Alice Martin");
    terminal.output("$ ").await;

    // bob's group grants nothing here: his ID token is valid, the project unknown to him.
    let bob = provider.id_token("bob").await;
    let url =
        ws_url(&app, &format!("/gateway/v1/projects/{PROJECT}/terminals?target=web&token={bob}"));
    match connect_async(url.into_client_request().expect("a request")).await {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status().as_u16(), 404),
        other => panic!("the upgrade was not refused: {:?}", other.map(|_| ())),
    }
}

#[tokio::test]
async fn the_operator_is_told_who_watches_and_the_watcher_sees_what_is_typed() {
    let (app, dir) = spawn().await;
    let alice = app.token("alice", PROJECT, &[Connect, ViewRecording, DownloadRecording]);
    let vera = app.token("vera", PROJECT, &[ViewRecording]);
    let mut terminal = Terminal::open(&app, &alice, "target=web").await;
    let opened = terminal.message("opened").await;
    let session = opened["session"]["id"].as_str().expect("an id").to_owned();
    terminal.output("$ ").await;
    terminal.type_keys("echo ready-$((6*7))\r").await;
    terminal.output("ready-42\r\n").await;

    // Vera watches live.
    let url = app.url(&format!("/api/v1/projects/{PROJECT}/sessions/{session}/recording/live"));
    let response = app.client.get(url).bearer_auth(&vera).send().await.expect("the stream");
    assert_eq!(response.status(), 200);
    let mut stream = response.bytes_stream();
    let started = terminal.message("watching").await;
    assert_eq!(started, json!({"type": "watching", "watcher": "vera (test)", "watching": true}));
    terminal.messages.clear();

    // The terminal now first; then what Alice types and the shell prints.
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut read_until = async |seen: &mut String, needle: &str| {
        while !seen.contains(needle) {
            let left = deadline.saturating_duration_since(Instant::now());
            let piece = tokio::time::timeout(left, stream.next())
                .await
                .unwrap_or_else(|_| panic!("{needle:?} in time: {seen}"))
                .expect("the stream goes on")
                .expect("a piece");
            seen.push_str(&String::from_utf8_lossy(&piece));
        }
    };
    read_until(&mut seen, "event: init").await;
    let init = seen.clone();
    read_until(&mut seen, "}\n\n").await;
    assert!(init.starts_with("id: "), "{init}");
    terminal.type_keys("echo typed-$((6*7))\r").await;
    terminal.output("typed-42\r\n").await;
    read_until(&mut seen, "event: output\ndata: [").await;
    read_until(&mut seen, "typed-42\\r\\n").await;

    // Vera goes: Alice is told, and none of it is in the recording.
    // (The server notices a reader gone when it next writes to it: the
    // keepalive, every 15 s, at the latest.)
    drop(stream);
    let watching = |t: &Terminal| t.messages.iter().any(|m| m["type"] == "watching");
    terminal.read_until(Duration::from_secs(60), watching).await;
    assert_eq!(
        terminal.messages[0],
        json!({"type": "watching", "watcher": "vera (test)", "watching": false})
    );
    terminal.type_keys("exit\r").await;
    terminal.closes().await;
    finalized(&app, &session, &alice).await;
    let cast = download(&app, &session, &alice).await;
    assert!(cast.contains("typed-42"), "{cast}");
    assert!(!cast.contains("vera"), "the notice is not recorded: {cast}");
    let _ = std::fs::remove_dir_all(dir);
}
