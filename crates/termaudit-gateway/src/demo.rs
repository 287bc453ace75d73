//! The demo program: what a demo target's terminal runs instead of a shell.
//!
//! Demo sign-in needs no secret, so whoever reaches a demo server's port
//! may open a terminal on its targets. This program gives them something
//! to try (output, colour, a long command to revoke) and nothing more: it
//! answers a handful of commands from a table, a database target's a few
//! statements, and never starts a process. It runs on a thread of the
//! gateway, on the pseudo-terminal's other end, in raw mode: it echoes and
//! edits the line itself (as readline does), so the gateway reports its
//! lines as commands.

use std::{
    io::{Read as _, Write as _},
    os::fd::OwnedFd,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use termaudit_domain::TargetKind;

const RESET: &str = "\u{1b}[0m";
const BOLD_GREEN: &str = "\u{1b}[1;32m";
const BOLD_BLUE: &str = "\u{1b}[1;34m";
const GREEN: &str = "\u{1b}[32m";
const RED: &str = "\u{1b}[1;31m";
const YELLOW: &str = "\u{1b}[33m";
const DIM: &str = "\u{1b}[2m";

/// How long `backfill` (the long command) runs unless interrupted, and how
/// often it prints.
const BACKFILL_BATCHES: u32 = 600;
const BACKFILL_STEP: Duration = Duration::from_secs(1);

/// Whether the program goes on after some input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Continue,
    Exit,
}

/// A long command in progress: `^C` interrupts it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Job {
    Backfill {
        batch: u32,
        next: Instant,
    },
    /// `SELECT pg_sleep(...)`: silent until interrupted or done.
    Sleep {
        until: Instant,
    },
}

/// The program's state between two reads of its terminal.
#[derive(Debug)]
pub struct DemoProgram {
    database: bool,
    user: String,
    host: String,
    line: String,
    /// A statement's earlier lines (database targets).
    statement: String,
    /// The bytes of a character split across two reads.
    partial: Vec<u8>,
    escape: Escape,
    /// A `\r` was just taken as Enter: a `\n` right after it is not another.
    after_cr: bool,
    job: Option<Job>,
}

/// Where in an escape sequence (arrow keys and the like) the input is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Escape {
    None,
    Start,
    Sequence,
}

impl DemoProgram {
    pub fn new(kind: TargetKind, user: &str, host: &str) -> Self {
        Self {
            database: kind == TargetKind::Database,
            user: user.to_owned(),
            host: host.to_owned(),
            line: String::new(),
            statement: String::new(),
            partial: Vec::new(),
            escape: Escape::None,
            after_cr: false,
            job: None,
        }
    }

    /// What the terminal shows first.
    pub fn greeting(&self) -> String {
        let what = if self.database { "database" } else { "shell" };
        format!(
            "{YELLOW}termaudit demo{RESET}: a pretend {what} on {host}; nothing here runs for real.\r\n\
             Type {BOLD_GREEN}help{RESET} to see what it answers.\r\n\r\n{prompt}",
            host = self.host,
            prompt = self.prompt(),
        )
    }

    fn prompt(&self) -> String {
        if self.database {
            let continues = if self.statement.is_empty() { '=' } else { '-' };
            format!("orders{continues}> ")
        } else {
            format!("{BOLD_GREEN}{}@{}{RESET}:{BOLD_BLUE}~{RESET}$ ", self.user, self.host)
        }
    }

    /// Takes what was typed; appends what the terminal shows to `out`.
    pub fn input(&mut self, bytes: &[u8], now: Instant, out: &mut String) -> Step {
        self.partial.extend_from_slice(bytes);
        let text = match std::str::from_utf8(&self.partial) {
            Ok(text) => text.to_owned(),
            Err(err) if err.error_len().is_none() => {
                // A character's first bytes: wait for the rest.
                let valid = err.valid_up_to();
                let text = String::from_utf8_lossy(&self.partial[..valid]).into_owned();
                self.partial.drain(..valid);
                return self.keys(&text, now, out);
            }
            Err(_) => String::from_utf8_lossy(&self.partial).into_owned(),
        };
        self.partial.clear();
        self.keys(&text, now, out)
    }

    fn keys(&mut self, text: &str, now: Instant, out: &mut String) -> Step {
        for key in text.chars() {
            let after_cr = std::mem::take(&mut self.after_cr);
            match self.escape {
                Escape::Start => {
                    self.escape =
                        if key == '[' || key == 'O' { Escape::Sequence } else { Escape::None };
                    continue;
                }
                Escape::Sequence => {
                    if ('\u{40}'..='\u{7e}').contains(&key) {
                        self.escape = Escape::None;
                    }
                    continue;
                }
                Escape::None => {}
            }
            if self.job.is_some() {
                // A running command reads nothing but ^C.
                if key == '\u{3}' {
                    self.interrupt(out);
                }
                continue;
            }
            match key {
                '\u{1b}' => self.escape = Escape::Start,
                '\n' if after_cr => {}
                '\r' | '\n' => {
                    self.after_cr = key == '\r';
                    out.push_str("\r\n");
                    let line = std::mem::take(&mut self.line);
                    if self.run(&line, now, out) == Step::Exit {
                        return Step::Exit;
                    }
                    if self.job.is_none() {
                        out.push_str(&self.prompt());
                    }
                }
                '\u{7f}' | '\u{8}' => {
                    if self.line.pop().is_some() {
                        out.push_str("\u{8} \u{8}");
                    }
                }
                '\u{3}' => {
                    self.line.clear();
                    self.statement.clear();
                    out.push_str("^C\r\n");
                    out.push_str(&self.prompt());
                }
                '\u{4}' if self.line.is_empty() => {
                    out.push_str("\r\n");
                    return self.run(if self.database { "\\q" } else { "exit" }, now, out);
                }
                '\u{c}' => {
                    out.push_str("\u{1b}[H\u{1b}[2J");
                    out.push_str(&self.prompt());
                    out.push_str(&self.line);
                }
                key if key.is_control() => {}
                key => {
                    self.line.push(key);
                    out.push(key);
                }
            }
        }
        Step::Continue
    }

    /// The long command's progress, as time passes.
    pub fn tick(&mut self, now: Instant, out: &mut String) {
        match &mut self.job {
            Some(Job::Backfill { batch, next }) => {
                while *next <= now && *batch < BACKFILL_BATCHES {
                    *batch += 1;
                    *next += BACKFILL_STEP;
                    out.push_str(&format!(
                        "{GREEN}batch {batch:>3}/{BACKFILL_BATCHES}{RESET}: 500 invoices updated \
                         {DIM}(^C stops){RESET}\r\n"
                    ));
                }
                if *batch >= BACKFILL_BATCHES {
                    self.job = None;
                    out.push_str(&format!("{BOLD_GREEN}backfill complete{RESET}\r\n"));
                    out.push_str(&self.prompt());
                }
            }
            Some(Job::Sleep { until }) if *until <= now => {
                self.job = None;
                out.push_str(" pg_sleep \r\n----------\r\n \r\n(1 row)\r\n\r\n");
                out.push_str(&self.prompt());
            }
            Some(Job::Sleep { .. }) | None => {}
        }
    }

    fn interrupt(&mut self, out: &mut String) {
        match self.job.take() {
            Some(Job::Backfill { batch, .. }) => out.push_str(&format!(
                "^C\r\n{YELLOW}backfill interrupted after {batch} batches{RESET}\r\n"
            )),
            Some(Job::Sleep { .. }) => {
                out.push_str("^C\r\nERROR:  canceling statement due to user request\r\n");
            }
            None => {}
        }
        out.push_str(&self.prompt());
    }

    fn run(&mut self, line: &str, now: Instant, out: &mut String) -> Step {
        if self.database {
            self.statement_line(line, now, out)
        } else {
            self.command(line.trim(), now, out)
        }
    }

    fn command(&mut self, line: &str, now: Instant, out: &mut String) -> Step {
        let mut words = line.split_whitespace();
        let Some(name) = words.next() else { return Step::Continue };
        let lines: Vec<String> = match name {
            "help" => vec![
                "Commands of this demo (it is not a real shell):".into(),
                format!("  {BOLD_GREEN}status{RESET}    the invoice worker's service status"),
                format!("  {BOLD_GREEN}logs{RESET}      its last log lines"),
                format!("  {BOLD_GREEN}colors{RESET}    the terminal's colours"),
                format!(
                    "  {BOLD_GREEN}backfill{RESET}  a long job (10 minutes; ^C stops it, a revoke ends it)"
                ),
                format!(
                    "  {BOLD_GREEN}whoami{RESET}, {BOLD_GREEN}hostname{RESET}, {BOLD_GREEN}date{RESET}, {BOLD_GREEN}clear{RESET}, {BOLD_GREEN}exit{RESET}"
                ),
            ],
            "status" => vec![
                format!("{GREEN}●{RESET} invoice-worker.service - Invoice worker"),
                "     Loaded: loaded (/etc/systemd/system/invoice-worker.service; enabled)".into(),
                format!("     Active: {GREEN}active (running){RESET} since 09:14:22 UTC"),
                "   Main PID: 48377 (invoice-worker)".into(),
            ],
            "logs" => vec![
                "09:11:58 invoice-worker[48121]: connecting to queue amqp://billing-mq:5672".into(),
                format!(
                    "09:12:01 invoice-worker[48121]: {RED}ERROR{RESET} queue connection refused; giving up"
                ),
                "09:14:22 invoice-worker[48377]: connecting to queue amqp://billing-mq:5672".into(),
                format!("09:14:22 invoice-worker[48377]: {GREEN}connected{RESET}; 3 consumers"),
            ],
            "colors" | "colours" => colours(),
            "backfill" => {
                self.job = Some(Job::Backfill { batch: 0, next: now + BACKFILL_STEP });
                vec![format!(
                    "backfilling invoice totals in {BACKFILL_BATCHES} batches {DIM}(^C stops){RESET}"
                )]
            }
            "whoami" => vec![self.user.clone()],
            "hostname" => vec![self.host.clone()],
            "date" => vec![chrono::Utc::now().format("%a %b %e %H:%M:%S UTC %Y").to_string()],
            "clear" => {
                out.push_str("\u{1b}[H\u{1b}[2J");
                vec![]
            }
            "exit" | "logout" => {
                out.push_str("logout\r\n");
                return Step::Exit;
            }
            other => vec![format!(
                "{YELLOW}{other}{RESET}: not a command of this demo (it is not a real shell); type {BOLD_GREEN}help{RESET}"
            )],
        };
        for line in lines {
            out.push_str(&line);
            out.push_str("\r\n");
        }
        Step::Continue
    }

    fn statement_line(&mut self, line: &str, now: Instant, out: &mut String) -> Step {
        let trimmed = line.trim();
        if self.statement.is_empty() {
            match trimmed {
                "" => return Step::Continue,
                "\\q" | "exit" | "quit" => return Step::Exit,
                "help" | "\\?" => {
                    out.push_str(
                        "This demo database (not a real one) answers:\r\n  \
                         SELECT ... FROM orders;   UPDATE ...;   SELECT pg_sleep(600);  (^C cancels)\r\n  \
                         \\dt   the tables        \\q   quit\r\n",
                    );
                    return Step::Continue;
                }
                "\\dt" => {
                    out.push_str(
                        "         List of relations\r\n Schema |  Name  | Type  | Owner\r\n\
                         --------+--------+-------+-------\r\n public | orders | table | app\r\n(1 row)\r\n\r\n",
                    );
                    return Step::Continue;
                }
                _ => {}
            }
        }
        if !self.statement.is_empty() {
            self.statement.push(' ');
        }
        self.statement.push_str(trimmed);
        if !self.statement.ends_with(';') {
            return Step::Continue;
        }
        let statement = std::mem::take(&mut self.statement).to_lowercase();
        if statement.contains("pg_sleep") {
            self.job = Some(Job::Sleep { until: now + Duration::from_secs(600) });
        } else if statement.starts_with("select") {
            out.push_str(
                " id  | customer |  total  | status\r\n\
                 -----+----------+---------+--------\r\n \
                 101 | acme     |  120.00 | paid\r\n \
                 102 | globex   |   89.50 | open\r\n \
                 103 | initech  | 1042.10 | open\r\n(3 rows)\r\n\r\n",
            );
        } else if let Some(verb) =
            ["update", "insert", "delete"].into_iter().find(|verb| statement.starts_with(verb))
        {
            let rows = if verb == "insert" { "0 1" } else { "42" };
            out.push_str(&format!("{} {rows}\r\n", verb.to_uppercase()));
        } else {
            out.push_str(&format!(
                "{RED}ERROR{RESET}:  the demo database answers SELECT, UPDATE, INSERT and DELETE only\r\n"
            ));
        }
        Step::Continue
    }
}

/// The 16 colours, bright and normal, and a strip of the 256.
fn colours() -> Vec<String> {
    let names = ["black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"];
    let normal: String = names
        .iter()
        .enumerate()
        .map(|(i, name)| format!("\u{1b}[{}m {name:<8}{RESET}", 30 + i))
        .collect();
    let bright: String = names
        .iter()
        .enumerate()
        .map(|(i, name)| format!("\u{1b}[1;{}m {name:<8}{RESET}", 90 + i))
        .collect();
    let strip: String = (16..52).map(|c| format!("\u{1b}[48;5;{c}m  ")).collect();
    vec![normal, bright, format!("{strip}{RESET}")]
}

/// The demo program running on its thread.
pub(crate) struct Running {
    stop: Arc<AtomicBool>,
    /// Closed when the thread ends.
    done: tokio::sync::watch::Receiver<()>,
}

impl Running {
    /// Waits for the program to end.
    pub(crate) async fn wait(&mut self) {
        while self.done.changed().await.is_ok() {}
    }

    /// Asks the program to end; it does within its read timeout (100 ms).
    pub(crate) fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Runs `program` on `terminal`, the pseudo-terminal's program end.
pub(crate) fn spawn(terminal: OwnedFd, mut program: DemoProgram) -> std::io::Result<Running> {
    raw_mode(&terminal)?;
    let stop = Arc::new(AtomicBool::new(false));
    let (done_tx, done) = tokio::sync::watch::channel(());
    let stopped = stop.clone();
    std::thread::Builder::new().name("termaudit-demo".into()).spawn(move || {
        let _done = done_tx;
        let mut terminal = std::fs::File::from(terminal);
        let mut out = program.greeting();
        let mut buffer = [0u8; 4096];
        while !stopped.load(Ordering::Relaxed) {
            if !out.is_empty() {
                if terminal.write_all(out.as_bytes()).is_err() {
                    return;
                }
                out.clear();
            }
            // Raw mode with VTIME: at most 100 ms without input.
            let step = match terminal.read(&mut buffer) {
                Ok(n) => program.input(&buffer[..n], Instant::now(), &mut out),
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => Step::Continue,
                // The gateway closed the terminal.
                Err(_) => return,
            };
            program.tick(Instant::now(), &mut out);
            if step == Step::Exit {
                let _ = terminal.write_all(out.as_bytes());
                return;
            }
        }
    })?;
    Ok(Running { stop, done })
}

/// No echo, no line editing, no signals from keys, output as written; reads
/// return after 100 ms without input.
fn raw_mode(terminal: &OwnedFd) -> std::io::Result<()> {
    use rustix::termios::{
        InputModes, LocalModes, OptionalActions, OutputModes, SpecialCodeIndex, tcgetattr,
        tcsetattr,
    };
    let mut modes = tcgetattr(terminal)?;
    modes.local_modes.remove(LocalModes::ICANON | LocalModes::ECHO | LocalModes::ISIG);
    modes.local_modes.remove(LocalModes::IEXTEN);
    modes.input_modes.remove(InputModes::ICRNL | InputModes::IXON);
    modes.output_modes.remove(OutputModes::OPOST);
    modes.special_codes[SpecialCodeIndex::VMIN] = 0;
    modes.special_codes[SpecialCodeIndex::VTIME] = 1;
    tcsetattr(terminal, OptionalActions::Now, &modes)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(program: &mut DemoProgram, keys: &str, now: Instant) -> (String, Step) {
        let mut out = String::new();
        let step = program.input(keys.as_bytes(), now, &mut out);
        (out, step)
    }

    #[test]
    fn commands_answer_with_colour_and_unknown_ones_run_nothing() {
        let now = Instant::now();
        let mut shell = DemoProgram::new(TargetKind::Application, "alice", "billing-api");
        assert!(shell.greeting().contains("alice@billing-api"));
        let (out, _) = typed(&mut shell, "status\r", now);
        assert!(out.starts_with("status\r\n"), "{out:?}");
        assert!(out.contains("active (running)") && out.contains(GREEN), "{out:?}");
        let (out, _) = typed(&mut shell, "rm -rf /\r", now);
        assert!(out.contains("not a command of this demo"), "{out:?}");
        // The line is edited as typed: backspace, an arrow key ignored.
        let (out, _) = typed(&mut shell, "whoamx\u{7f}i\u{1b}[A\r\n", now);
        assert!(out.contains("\r\nalice\r\n"), "{out:?}");
        assert_eq!(typed(&mut shell, "exit\r", now).1, Step::Exit);
    }

    #[test]
    fn the_long_command_prints_as_time_passes_until_interrupted() {
        let start = Instant::now();
        let mut shell = DemoProgram::new(TargetKind::Application, "alice", "web");
        typed(&mut shell, "backfill\r", start);
        let mut out = String::new();
        shell.tick(start + Duration::from_millis(3500), &mut out);
        assert!(out.contains("batch   3/600"), "{out:?}");
        // Typing does nothing while it runs; ^C stops it.
        assert_eq!(typed(&mut shell, "status\r", start).0, "");
        let (out, _) = typed(&mut shell, "\u{3}", start);
        assert!(out.contains("interrupted after 3 batches") && out.ends_with("$ "), "{out:?}");
    }

    #[test]
    fn a_database_target_answers_statements_ended_by_a_semicolon() {
        let now = Instant::now();
        let mut db = DemoProgram::new(TargetKind::Database, "alice", "orders-db");
        let (out, _) = typed(&mut db, "SELECT id\r", now);
        assert!(out.ends_with("orders-> "), "{out:?}");
        let (out, _) = typed(&mut db, "FROM orders;\r", now);
        assert!(out.contains("(3 rows)") && out.ends_with("orders=> "), "{out:?}");
        typed(&mut db, "select pg_sleep(600);\r", now);
        let (out, _) = typed(&mut db, "\u{3}", now);
        assert!(out.contains("canceling statement"), "{out:?}");
        assert_eq!(typed(&mut db, "\\q\r", now).1, Step::Exit);
    }

    #[test]
    fn a_character_split_across_reads_is_kept_whole() {
        let now = Instant::now();
        let mut shell = DemoProgram::new(TargetKind::Application, "alice", "web");
        let bytes = "é".as_bytes();
        let mut out = String::new();
        shell.input(&bytes[..1], now, &mut out);
        shell.input(&bytes[1..], now, &mut out);
        assert_eq!(out, "é");
    }
}
