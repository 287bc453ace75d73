//! The real `termaudit serve` as a child process, for tests that kill it.
//! (Cargo tells only the server crate's tests where the binary is: they
//! pass `env!("CARGO_BIN_EXE_termaudit")`.)

use std::{
    net::TcpListener,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use crate::{TEST_SECRET, TestDatabase};

/// A running `termaudit serve`, killed (SIGKILL) when dropped.
pub struct ServerProcess {
    child: Child,
    pub address: String,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        drop(self.child.kill());
        drop(self.child.wait());
    }
}

impl ServerProcess {
    /// Starts `binary` on a free port against `db` and waits until it is ready.
    pub async fn start(binary: &str, db: &TestDatabase, env: &[(&str, &str)]) -> Self {
        let port =
            TcpListener::bind("127.0.0.1:0").expect("a port").local_addr().expect("bound").port();
        let data_dir = std::env::temp_dir().join(format!("termaudit-proc-{}", db.name()));
        let child = Command::new(binary)
            .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            // Serve as the app role, migrate as the owner, as deployed.
            .env("DATABASE_URL", db.app_url())
            .env("TERMAUDIT_MIGRATE_DATABASE_URL", db.url())
            .env("TERMAUDIT_JWT_SECRET", TEST_SECRET)
            .env("TERMAUDIT_DATA_DIR", data_dir)
            .env("TERMAUDIT_RETENTION_INTERVAL_SECONDS", "0")
            .envs(env.iter().copied())
            .env_remove("TERMAUDIT_CONFIG")
            .env_remove("TERMAUDIT_WEB_DIR")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("termaudit starts");
        let server = Self { child, address: format!("http://127.0.0.1:{port}") };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = client.get(format!("{}/readyz", server.address)).send().await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                return server;
            }
            assert!(Instant::now() < deadline, "the server is not ready after 30 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the process to end (after a signal sent by its pid); its
    /// exit status, when it could be waited for.
    pub fn wait(&mut self) -> Option<std::process::ExitStatus> {
        self.child.wait().ok()
    }

    /// SIGKILL: no shutdown, no goodbye to the database.
    pub fn kill(mut self) {
        drop(self.child.kill());
        drop(self.child.wait());
    }
}

/// The CPU time (user and system, all threads) process `pid` has used so
/// far, in seconds, from `/proc/PID/stat` (Linux; its clock ticks are
/// always 1/100 s there). `0.0` where it cannot be read.
pub fn cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return 0.0 };
    // After the command's name, which is in parentheses and may hold
    // spaces: state is the first field, utime the 12th, stime the 13th.
    let Some((_, rest)) = stat.rsplit_once(')') else { return 0.0 };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    (ticks(11) + ticks(12)) as f64 / 100.0
}
