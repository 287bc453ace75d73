//! One live shell: a target's command in a pseudo-terminal, owned by one
//! task that reads its output, writes the attached client's input, records
//! and reports, and keeps the screen (an `avt` terminal) so a client that
//! reattaches gets the current screen back.

use std::{
    os::fd::OwnedFd,
    sync::Arc,
    time::{Duration, Instant},
};

use bytes::Bytes;
use chrono::Utc;
use termaudit_api_types::{self as dto, gateway::ServerMessage};
use termaudit_domain::{
    TargetKind,
    asciicast::{Event, Micros, Replay, Resize},
};
use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    sync::{mpsc, oneshot},
};
use uuid::Uuid;

use crate::{
    Inner,
    client::{ApiClient, Backoff, CallError},
    config::{Program, TargetConfig},
    demo,
    input::{LineTracker, StatementTracker, Utf8Stream},
    recorder::{FLUSH_INTERVAL, Recorder},
    report::{Report, Reporter},
};

/// The terminal type shells are told they run in (the web app's terminal
/// and the player understand xterm's sequences).
pub const TERM: &str = "xterm-256color";
/// How often the gateway tells the API a shell is alive.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(15);
/// How long the reports of an ended session may take to deliver.
const FINISH_LIMIT: Duration = Duration::from_secs(30);

/// What the shell's task is asked to do.
pub enum Command {
    Input(Bytes),
    Resize {
        cols: u16,
        rows: u16,
    },
    Attach {
        client: mpsc::Sender<ToClient>,
        reply: oneshot::Sender<Attached>,
    },
    Detach {
        attachment: u64,
    },
    /// The API took the drop; the grace window closes at `deadline`.
    DropReported {
        deadline: Option<chrono::DateTime<Utc>>,
    },
    End(Ending),
    /// A notice for the attached client beside the output (someone watching).
    Notice(ServerMessage),
}

/// What a client connection is sent.
#[derive(Debug)]
pub enum ToClient {
    Output(Bytes),
    Message(ServerMessage),
    Close,
}

/// A client attached to the shell, with the screen to draw first.
pub struct Attached {
    pub attachment: u64,
    pub cols: u16,
    pub rows: u16,
    /// Escape sequences that draw the current screen on a blank terminal.
    pub screen: String,
}

/// Why a shell ends, and what the gateway still has to report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ending {
    /// The close reason the client is told.
    pub reason: String,
    pub by: Option<String>,
    pub detail: Option<String>,
    /// The gateway closes the session with `reason` (the API closed it
    /// itself for revokes and grace expiry).
    pub report_close: bool,
}

impl Ending {
    pub fn revoked(by: Option<String>, reason: Option<String>) -> Self {
        Self { reason: "revoked".into(), by, detail: reason, report_close: false }
    }

    /// The API closed the session (`reason` as it says, when it says).
    pub fn closed(reason: Option<String>, detail: Option<String>) -> Self {
        Self {
            reason: reason.unwrap_or_else(|| "closed".into()),
            by: None,
            detail,
            report_close: false,
        }
    }

    pub fn gateway_lost() -> Self {
        Self {
            reason: "gateway_lost".into(),
            by: None,
            detail: Some("the gateway is shutting down".into()),
            report_close: true,
        }
    }

    fn exited(detail: Option<String>) -> Self {
        Self { reason: "user_exit".into(), by: None, detail, report_close: true }
    }

    /// What the user sees in the terminal as the shell is killed.
    fn banner(&self) -> Option<String> {
        match self.reason.as_str() {
            "revoked" => Some(format!(
                "\r\n[termaudit] session revoked by {}: {}\r\n",
                self.by.as_deref().unwrap_or("a policy manager"),
                self.detail.as_deref().unwrap_or("no reason given"),
            )),
            "user_exit" => None,
            other => Some(format!("\r\n[termaudit] session ended: {other}\r\n")),
        }
    }
}

/// What runs in a shell's terminal: a process, or the demo program.
enum Running {
    Process(tokio::process::Child),
    Demo(demo::Running),
}

impl Running {
    /// Waits for it to end; says how it ended.
    async fn wait(&mut self) -> Option<String> {
        match self {
            Self::Process(child) => {
                child.wait().await.ok().map(|status| format!("the shell exited ({status})"))
            }
            Self::Demo(program) => {
                program.wait().await;
                Some("the demo program exited".into())
            }
        }
    }

    /// Ends it and what it started.
    fn kill(&mut self) {
        match self {
            Self::Process(child) => {
                let leader = child.id().and_then(|id| i32::try_from(id).ok());
                if let Some(pid) = leader.and_then(rustix::process::Pid::from_raw) {
                    // The shell leads its own session: hang up what it started too.
                    let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::HUP);
                }
                let _ = child.start_kill();
            }
            Self::Demo(program) => program.stop(),
        }
    }
}

/// How the rest of the gateway reaches a shell.
#[derive(Clone)]
pub struct ShellHandle {
    pub session_id: Uuid,
    pub project: String,
    /// The subject of the user who opened it: only they may reattach.
    pub owner: String,
    pub tx: mpsc::Sender<Command>,
}

/// Starts `target`'s command in a pseudo-terminal of `cols` x `rows` for
/// `session`, which the API has just opened.
pub fn spawn(
    gateway: Arc<Inner>,
    target: &TargetConfig,
    session: &dto::Session,
    cols: u16,
    rows: u16,
) -> Result<ShellHandle, std::io::Error> {
    let (pty, pts) = pty_process::open().map_err(std::io::Error::other)?;
    pty.resize(pty_process::Size::new(rows, cols)).map_err(std::io::Error::other)?;
    let modes = std::os::fd::AsFd::as_fd(&pty).try_clone_to_owned()?;
    let program = match &target.program {
        Program::Command(argv) => {
            let mut command = pty_process::Command::new(&argv[0])
                .args(&argv[1..])
                .env("TERM", TERM)
                .envs(&target.env)
                .kill_on_drop(true);
            if let Some(cwd) = &target.cwd {
                command = command.current_dir(cwd);
            }
            Running::Process(command.spawn(pts).map_err(std::io::Error::other)?)
        }
        Program::Demo => {
            // The thread holds the terminal's only program end: when it
            // ends, the gateway reads EOF as it would from a shell.
            let terminal = std::os::fd::AsFd::as_fd(&pts).try_clone_to_owned()?;
            drop(pts);
            let program = demo::DemoProgram::new(target.kind, &session.user.subject, &target.name);
            Running::Demo(demo::spawn(terminal, program)?)
        }
    };
    let (reader, writer) = pty.into_split();
    let (tx, rx) = mpsc::channel(256);
    let handle = ShellHandle {
        session_id: session.id,
        project: session.project.clone(),
        owner: session.user.subject.clone(),
        tx: tx.clone(),
    };
    let start = Instant::now();
    let shell = Shell {
        gateway,
        session: session.id,
        project: session.project.clone(),
        database: (target.kind == TargetKind::Database)
            .then(|| (StatementTracker::new(), target.database.clone())),
        program,
        reader,
        writer,
        modes,
        tx,
        rx,
        screen: Replay::new(cols, rows),
        recorder: session
            .recorded
            .then(|| Recorder::new(cols, rows, Utc::now().timestamp(), start)),
        text: Utf8Stream::new(),
        lines: LineTracker::new(),
        reporter: None,
        attached: None,
        attachments: 0,
        grace_deadline: None,
        events: 0,
    };
    shell
        .gateway
        .shells
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(session.id, handle.clone());
    shell.gateway.wake_listener(&shell.project);
    tokio::spawn(shell.run());
    Ok(handle)
}

struct Shell {
    gateway: Arc<Inner>,
    session: Uuid,
    project: String,
    /// For a database target: its statements so far, and its database's name.
    database: Option<(StatementTracker, Option<String>)>,
    program: Running,
    reader: pty_process::OwnedReadPty,
    writer: pty_process::OwnedWritePty,
    /// The pseudo-terminal again, to read its modes.
    modes: OwnedFd,
    tx: mpsc::Sender<Command>,
    rx: mpsc::Receiver<Command>,
    screen: Replay,
    recorder: Option<Recorder>,
    text: Utf8Stream,
    lines: LineTracker,
    reporter: Option<Reporter>,
    attached: Option<(u64, mpsc::Sender<ToClient>)>,
    attachments: u64,
    grace_deadline: Option<tokio::time::Instant>,
    events: u64,
}

impl Shell {
    fn api(&self) -> &ApiClient {
        &self.gateway.api
    }

    fn report(&mut self, report: Report) {
        let reporter = self.reporter.get_or_insert_with(|| {
            Reporter::spawn(self.gateway.api.clone(), self.project.clone(), self.session)
        });
        reporter.send(report);
    }

    async fn run(mut self) {
        let mut buffer = vec![0u8; 16 * 1024];
        let mut flush = tokio::time::interval(FLUSH_INTERVAL);
        let mut heartbeat = tokio::time::interval_at(
            tokio::time::Instant::now() + HEARTBEAT_INTERVAL,
            HEARTBEAT_INTERVAL,
        );
        let ending = loop {
            let grace = self.grace_deadline;
            tokio::select! {
                read = self.reader.read(&mut buffer) => match read {
                    Ok(n) if n > 0 => self.output(&buffer[..n]).await,
                    // EOF or EIO: every process of the terminal is gone.
                    _ => break Ending::exited(self.program.wait().await),
                },
                status = self.program.wait() => {
                    self.drain().await;
                    break Ending::exited(status);
                }
                command = self.rx.recv() => match command {
                    Some(Command::End(ending)) => break ending,
                    Some(command) => self.command(command).await,
                    // Unreachable: the shell holds a sender itself.
                    None => break Ending::gateway_lost(),
                },
                _ = flush.tick() => self.flush(false),
                _ = heartbeat.tick() => self.check_alive(),
                _ = tokio::time::sleep_until(grace.unwrap_or_else(tokio::time::Instant::now)),
                    if grace.is_some() => {
                    self.grace_deadline = None;
                    self.check_alive();
                }
            }
        };
        self.end(ending).await;
    }

    /// Output still in the terminal after the shell exited (a background
    /// process may hold the terminal open, so only briefly).
    async fn drain(&mut self) {
        let mut buffer = vec![0u8; 16 * 1024];
        while let Ok(Ok(n)) =
            tokio::time::timeout(Duration::from_millis(100), self.reader.read(&mut buffer)).await
        {
            if n == 0 {
                break;
            }
            self.output(&buffer[..n]).await;
        }
    }

    async fn output(&mut self, bytes: &[u8]) {
        let now = Instant::now();
        let text = self.text.decode(bytes);
        if text.is_empty() {
            return;
        }
        self.screen.apply(&Event::output(Micros::ZERO, text.as_str()));
        if let Some(recorder) = &mut self.recorder {
            recorder.output(&text, now);
        }
        self.flush(false);
        self.send_client(ToClient::Output(Bytes::from(text))).await;
    }

    async fn send_client(&mut self, message: ToClient) {
        if let Some((attachment, client)) = &self.attached
            && client.send(message).await.is_err()
        {
            let attachment = *attachment;
            self.detach(attachment);
        }
    }

    fn flush(&mut self, all: bool) {
        let now = Instant::now();
        let chunk = match &mut self.recorder {
            Some(recorder) if all => recorder.seal(),
            Some(recorder) => recorder.due(now),
            None => None,
        };
        if let Some(chunk) = chunk {
            self.report(Report::Chunk(chunk));
        }
    }

    async fn command(&mut self, command: Command) {
        match command {
            Command::Input(bytes) => self.input(bytes).await,
            Command::Resize { cols, rows } => self.resize(cols, rows),
            Command::Attach { client, reply } => {
                if let Some((_, previous)) = self.attached.take() {
                    let _ = previous.try_send(ToClient::Close);
                }
                self.attachments += 1;
                self.grace_deadline = None;
                let snapshot = self.screen.snapshot();
                self.attached = Some((self.attachments, client));
                let _ = reply.send(Attached {
                    attachment: self.attachments,
                    cols: snapshot.cols,
                    rows: snapshot.rows,
                    screen: snapshot.init,
                });
            }
            Command::Detach { attachment } => self.detach(attachment),
            Command::DropReported { deadline } => {
                if self.attached.is_none() {
                    let left = deadline
                        .and_then(|d| (d - Utc::now()).to_std().ok())
                        .unwrap_or(Duration::ZERO);
                    // A little after the deadline, so the API agrees it passed.
                    self.grace_deadline =
                        Some(tokio::time::Instant::now() + left + Duration::from_millis(500));
                }
            }
            Command::Notice(message) => self.send_client(ToClient::Message(message)).await,
            Command::End(_) => {}
        }
    }

    /// The client's connection is gone: the shell lives on, and the API
    /// starts the grace window.
    fn detach(&mut self, attachment: u64) {
        if self.attached.as_ref().is_none_or(|(current, _)| *current != attachment) {
            return;
        }
        self.attached = None;
        let (api, project, id, tx) =
            (self.api().clone(), self.project.clone(), self.session, self.tx.clone());
        tokio::spawn(async move {
            let mut backoff = Backoff::default();
            loop {
                match api.drop_session(&project, id).await {
                    Ok(session) => {
                        let deadline = session.reconnect_deadline;
                        let _ = tx.send(Command::DropReported { deadline }).await;
                        return;
                    }
                    Err(CallError::Unavailable(why)) => {
                        tracing::warn!(session = %id, %why, "cannot report a drop yet; retrying");
                        backoff.wait().await;
                    }
                    Err(err) => {
                        // Closed meanwhile (revoked, reattached elsewhere): ask again.
                        tracing::info!(session = %id, error = %err, "the API refused the drop");
                        let ending = closed_by(&err);
                        let _ = tx.send(Command::End(ending)).await;
                        return;
                    }
                }
            }
        });
    }

    fn check_alive(&self) {
        check_alive(self.api(), &self.project, self.session, &self.tx);
    }

    fn echo_is_off_for_a_secret(&self) -> bool {
        use rustix::termios::LocalModes;
        // A program reading a line with echo off (sudo, ssh, psql's \password)
        // reads a secret. Line editors (readline) turn off canonical mode as
        // well and echo themselves: those lines are commands.
        rustix::termios::tcgetattr(&self.modes).is_ok_and(|modes| {
            modes.local_modes.contains(LocalModes::ICANON)
                && !modes.local_modes.contains(LocalModes::ECHO)
        })
    }

    async fn input(&mut self, bytes: Bytes) {
        let secret = self.echo_is_off_for_a_secret();
        let lines = self.lines.feed(&bytes);
        if !secret {
            for line in lines {
                self.submitted(line);
            }
        }
        if let Err(err) = self.writer.write_all(&bytes).await {
            tracing::warn!(session = %self.session, error = %err, "cannot write to the shell");
        }
    }

    fn submitted(&mut self, line: String) {
        let occurred_at = Utc::now();
        self.events += 1;
        let event_id = format!("gw-{:08}", self.events);
        match &mut self.database {
            Some((statements, database)) => {
                if let Some(statement) = statements.line(&line) {
                    let event = dto::DatabaseEvent {
                        event_id,
                        statement,
                        database: database.clone(),
                        occurred_at,
                        rows_affected: None,
                        duration_ms: None,
                        error: None,
                    };
                    self.report(Report::Database(event));
                }
            }
            None => self.report(Report::Activity(dto::Activity {
                event_id,
                kind: "command".into(),
                text: line,
                occurred_at,
                exit_code: None,
                duration_ms: None,
            })),
        }
    }

    fn resize(&mut self, cols: u16, rows: u16) {
        let (cols, rows) = (cols.clamp(2, 1000), rows.clamp(2, 500));
        if self.screen.size() == (usize::from(cols), usize::from(rows)) {
            return;
        }
        if let Err(err) = self.writer.resize(pty_process::Size::new(rows, cols)) {
            tracing::warn!(session = %self.session, error = %err, "cannot resize the terminal");
            return;
        }
        self.screen.apply(&Event::resize(Micros::ZERO, Resize { cols, rows }));
        if let Some(recorder) = &mut self.recorder {
            recorder.resize(cols, rows, Instant::now());
        }
    }

    async fn end(mut self, ending: Ending) {
        tracing::info!(session = %self.session, reason = %ending.reason, "the shell ends");
        if let Some(banner) = ending.banner() {
            self.send_client(ToClient::Output(Bytes::from(banner))).await;
        }
        self.program.kill();
        // What the shell wrote before it died belongs in the recording, the
        // API's endings included (it takes the last chunks for a while).
        self.drain().await;
        let _ = tokio::time::timeout(Duration::from_secs(2), self.program.wait()).await;
        self.flush(true);
        let recorded = self.recorder.is_some();
        let Shell { gateway, session, project, reporter, attached, .. } = self;
        gateway.shells.lock().unwrap_or_else(|e| e.into_inner()).remove(&session);
        let client = attached.map(|(_, client)| client);
        if !ending.report_close {
            // The API ended the session: tell the user at once.
            say_ended(client.as_ref(), &ending).await;
        }
        if let Some(reporter) = reporter {
            reporter.finish(FINISH_LIMIT).await;
        }
        if recorded && !ending.report_close {
            // The API took the shell's last output since it ended the
            // session; it is all sent now.
            if let Err(err) = gateway.api.finalize_recording(&project, session).await {
                tracing::warn!(%session, error = %err, "cannot finalize the recording; the API will");
            }
        }
        if ending.report_close {
            close(&gateway.api, &project, session, &ending.reason).await;
            say_ended(client.as_ref(), &ending).await;
        }
    }
}

/// Asks the API whether the session still lives (a heartbeat); ends the
/// shell if it does not.
pub fn check_alive(api: &ApiClient, project: &str, id: Uuid, tx: &mpsc::Sender<Command>) {
    let (api, project, tx) = (api.clone(), project.to_owned(), tx.clone());
    tokio::spawn(async move {
        match api.heartbeat(&project, id).await {
            Ok(_) => {}
            Err(err @ CallError::Refused { .. }) => {
                let _ = tx.send(Command::End(closed_by(&err))).await;
            }
            // An outage: the shell goes on, and the next heartbeat asks again.
            Err(err) => tracing::warn!(session = %id, error = %err, "heartbeat failed"),
        }
    });
}

async fn say_ended(client: Option<&mpsc::Sender<ToClient>>, ending: &Ending) {
    if let Some(client) = client {
        let message = ServerMessage::Ended {
            reason: ending.reason.clone(),
            by: ending.by.clone(),
            detail: ending.detail.clone(),
        };
        let _ = client.send(ToClient::Message(message)).await;
        let _ = client.send(ToClient::Close).await;
    }
}

/// Closes the session, retrying through an outage for a while.
async fn close(api: &ApiClient, project: &str, session: Uuid, reason: &str) {
    let mut backoff = Backoff::default();
    let give_up = tokio::time::Instant::now() + FINISH_LIMIT;
    loop {
        match api.close_session(project, session, reason).await {
            Ok(_) => return,
            Err(err @ CallError::Unavailable(_)) if tokio::time::Instant::now() < give_up => {
                tracing::warn!(%session, error = %err, "cannot close the session yet; retrying");
                backoff.wait().await;
            }
            Err(err) => {
                tracing::error!(%session, error = %err, "the session could not be closed");
                return;
            }
        }
    }
}

/// The ending of a session the API refused a call for: closed (409) or gone.
/// The refusal says how the session ended; that matters, as it can reach
/// the shell before the control event that names the revoker, and the first
/// ending wins.
fn closed_by(err: &CallError) -> Ending {
    if let CallError::Refused { ended: Some(ended), detail, .. } = err {
        return match ended.close_reason.as_str() {
            "revoked" => Ending::revoked(
                ended.revoked_by.as_ref().map(|p| p.name.clone()),
                ended.revoke_reason.clone(),
            ),
            _ => Ending::closed(Some(ended.close_reason.clone()), Some(detail.clone())),
        };
    }
    let detail = match err {
        CallError::Refused { detail, .. } => Some(detail.clone()),
        CallError::Unavailable(why) => Some(why.clone()),
    };
    let reason = detail.as_deref().and_then(|d| {
        ["revoked", "grace_expired", "gateway_lost", "user_exit", "idle_timeout", "target_error"]
            .into_iter()
            .find(|r| d.contains(&format!("({r}")))
            .map(ToOwned::to_owned)
    });
    Ending::closed(reason, detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(ended: Option<dto::SessionEnding>) -> CallError {
        CallError::Refused {
            status: 409,
            detail: "the session is closed (revoked at 2026-11-25T10:00:00+00:00); it cannot take a heartbeat".into(),
            ended: ended.map(Box::new),
        }
    }

    #[test]
    fn a_refusal_that_says_who_revoked_ends_the_shell_as_the_control_event_would() {
        let ended = dto::SessionEnding {
            close_reason: "revoked".into(),
            ended_at: Utc::now(),
            revoked_by: Some(dto::Person { subject: "carol".into(), name: "Carol".into() }),
            revoke_reason: Some("outside the change window".into()),
        };
        assert_eq!(
            closed_by(&refused(Some(ended))),
            Ending::revoked(Some("Carol".into()), Some("outside the change window".into()))
        );
    }

    #[test]
    fn a_bare_refusal_still_names_the_close_reason() {
        let ending = closed_by(&refused(None));
        assert_eq!((ending.reason.as_str(), ending.by), ("revoked", None));
        assert!(!ending.report_close);
    }
}
