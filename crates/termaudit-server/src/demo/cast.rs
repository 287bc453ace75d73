//! The demo's recordings: a plausible terminal of commands being typed and
//! answered, and when each was typed, so the activity's markers sit where
//! the player shows the command.

use chrono::{DateTime, Duration, Utc};
use termaudit_domain::asciicast::{Event, Header, Micros};

/// A recording in two chunks, and when each command's Enter is pressed.
pub struct DemoCast {
    pub chunks: [String; 2],
    pub typed_at: Vec<DateTime<Utc>>,
}

/// `commands` typed by `user` on `host` from `started`, with coloured
/// prompts and output, in asciicast v2.
pub fn demo_cast(user: &str, host: &str, commands: &[&str], started: DateTime<Utc>) -> DemoCast {
    let mut header = Header::new(100, 28);
    header.timestamp = Some(started.timestamp());
    header.title = Some(format!("{user}@{host}"));
    let mut lines = Vec::new();
    let mut typed_at = Vec::new();
    let mut t: u64 = 400_000;
    let emit = |lines: &mut Vec<String>, t: u64, data: String| {
        lines.push(Event::output(Micros(t), data).to_line());
    };
    let prompt = format!("\u{1b}[1;32m{user}@{host}\u{1b}[0m:\u{1b}[1;34m~\u{1b}[0m$ ");
    for command in commands {
        emit(&mut lines, t, prompt.clone());
        t += 900_000;
        for ch in command.chars() {
            emit(&mut lines, t, ch.to_string());
            t += 70_000 + (u64::from(ch) % 5) * 20_000;
        }
        emit(&mut lines, t, "\r\n".into());
        // A recording's time zero is its session's opening.
        typed_at.push(started + Duration::microseconds(i64::try_from(t).unwrap_or(i64::MAX)));
        t += 300_000;
        for line in demo_output(command) {
            emit(&mut lines, t, format!("{line}\r\n"));
            t += 45_000;
        }
        t += 1_500_000;
    }
    emit(&mut lines, t, prompt);
    t += 2_000_000;
    emit(&mut lines, t, "logout\r\n".into());
    let half = lines.len() / 2;
    let second = lines.split_off(half);
    DemoCast {
        chunks: [
            format!("{}\n{}\n", header.to_line(), lines.join("\n")),
            format!("{}\n", second.join("\n")),
        ],
        typed_at,
    }
}

fn demo_output(command: &str) -> Vec<String> {
    let green = |s: &str| format!("\u{1b}[32m{s}\u{1b}[0m");
    let red = |s: &str| format!("\u{1b}[1;31m{s}\u{1b}[0m");
    if command.starts_with("systemctl status") {
        vec![
            format!("{} invoice-worker.service - Invoice worker", red("●")),
            "     Loaded: loaded (/etc/systemd/system/invoice-worker.service; enabled)".into(),
            format!(
                "     Active: {} since Tue 09:12:01 UTC; 3h ago",
                red("failed (Result: exit-code)")
            ),
            "    Process: 48121 ExecStart=/opt/billing/bin/invoice-worker (code=exited, status=75)"
                .into(),
        ]
    } else if command.starts_with("journalctl") {
        vec![
            "09:11:58 invoice-worker[48121]: connecting to queue amqp://billing-mq:5672".into(),
            format!(
                "09:12:01 invoice-worker[48121]: {} queue connection refused; giving up",
                red("ERROR")
            ),
        ]
    } else if command.starts_with("systemctl restart") {
        vec![]
    } else if command.starts_with("Check")
        || command.starts_with("Issue")
        || command.starts_with("Reload")
    {
        vec![format!("[{}] {command}", green("ok"))]
    } else {
        vec![format!("{} warmed 12,480 keys in 3.2 s", green("✔"))]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_command_is_timed_where_its_enter_is_in_the_recording() {
        let started = DateTime::parse_from_rfc3339("2026-12-05T10:00:00.250Z")
            .map(|t| t.with_timezone(&Utc))
            .expect("a time");
        let cast = demo_cast("alice", "web", &["ls", "whoami"], started);
        let recording = cast.chunks.concat();
        assert_eq!(cast.typed_at.len(), 2);
        for at in &cast.typed_at {
            let offset = (*at - started).num_microseconds().expect("small");
            let time = Micros(u64::try_from(offset).expect("after the start"));
            let enter = format!("[{time}, \"o\", \"\\r\\n\"]");
            assert!(recording.contains(&enter), "{enter} in {recording}");
        }
        assert!(cast.typed_at[0] < cast.typed_at[1]);
    }
}
