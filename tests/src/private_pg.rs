//! A PostgreSQL server of a test's own, for tests that stop or restart it:
//! the machine's shared server must never be restarted. `initdb` into a
//! temporary directory, `pg_ctl start` on a free loopback port with the
//! socket in that directory; dropped, it is stopped and the directory
//! removed. Needs Debian's `postgresql` package (server binaries in
//! `/usr/lib/postgresql/*/bin`; `scripts/ensure-postgres.sh` installs it);
//! without them the test fails, saying so. As root, the binaries run as the
//! `postgres` user (initdb refuses root).

use std::{net::TcpListener, os::unix::fs::MetadataExt, path::PathBuf, process::Command};

pub struct PrivatePg {
    bin: PathBuf,
    /// Owned by the server's user: the data directory, the socket, the log.
    dir: PathBuf,
    port: u16,
    as_postgres: bool,
}

/// How to stop the server: `Fast` ends the sessions cleanly (57P01 to each
/// client), `Immediate` kills them without a checkpoint, like a crash.
#[derive(Debug, Clone, Copy)]
pub enum StopMode {
    Fast,
    Immediate,
}

impl PrivatePg {
    /// Creates a cluster and starts it; panics with the reason when it cannot.
    pub async fn start() -> PrivatePg {
        tokio::task::spawn_blocking(Self::start_blocking).await.expect("the start task")
    }

    fn start_blocking() -> PrivatePg {
        let bin = server_binaries();
        let as_postgres = std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false);
        let dir = std::env::temp_dir().join(format!("termaudit-pg-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        let pg = PrivatePg { bin, dir, port: free_port(), as_postgres };
        if as_postgres {
            run(Command::new("chown").arg("postgres:postgres").arg(&pg.dir));
        }
        run(pg
            .command("initdb")
            .arg("-D")
            .arg(pg.data())
            .args(["-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8"])
            .arg("--no-sync"));
        pg.pg_ctl_start();
        pg
    }

    /// `postgres://postgres@127.0.0.1:{port}/{database}`.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// The server's role (`termaudit_app`, created by the migrations) on `database`.
    pub fn app_url(&self, database: &str) -> String {
        format!("postgres://{}@127.0.0.1:{}/{database}", crate::APP_ROLE, self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server; every connection to it ends.
    pub async fn stop(&self, mode: StopMode) {
        let mut ctl = self.pg_ctl_stop_command(mode);
        tokio::task::spawn_blocking(move || run(&mut ctl)).await.expect("the stop task");
    }

    /// Starts the stopped server again on the same port, and waits until it
    /// accepts connections.
    pub async fn start_again(&self) {
        let mut ctl = self.pg_ctl_start_command();
        tokio::task::spawn_blocking(move || run(&mut ctl)).await.expect("the start task");
    }

    /// Stops the server with `mode` and starts it again.
    pub async fn restart(&self, mode: StopMode) {
        self.stop(mode).await;
        self.start_again().await;
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn command(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        if self.as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        }
    }

    fn pg_ctl_start_command(&self) -> Command {
        let mut command = self.command("pg_ctl");
        command
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(self.dir.join("server.log"))
            .args(["-w", "-t", "60", "-o"])
            .arg(format!(
                "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} \
                 -c fsync=off -c max_connections=60",
                self.port,
                self.dir.display()
            ))
            .arg("start");
        command
    }

    fn pg_ctl_start(&self) {
        run(&mut self.pg_ctl_start_command());
    }

    fn pg_ctl_stop_command(&self, mode: StopMode) -> Command {
        let mode = match mode {
            StopMode::Fast => "fast",
            StopMode::Immediate => "immediate",
        };
        let mut command = self.command("pg_ctl");
        command.arg("-D").arg(self.data()).args(["-m", mode, "-w", "-t", "60", "stop"]);
        command
    }

    /// The server's log, for a failing test's message.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        // Already stopped is fine; anything else is worth a line.
        let stopped = self.pg_ctl_stop_command(StopMode::Immediate).output();
        if let Err(err) = stopped {
            eprintln!("warning: could not stop the private PostgreSQL: {err}");
        }
        if let Err(err) = std::fs::remove_dir_all(&self.dir) {
            eprintln!("warning: could not remove {}: {err}", self.dir.display());
        }
    }
}

/// The newest installed server's `bin` directory.
fn server_binaries() -> PathBuf {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            (bin.join("initdb").is_file() && bin.join("pg_ctl").is_file()).then_some((version, bin))
        })
        .collect();
    found.sort();
    match found.pop() {
        Some((_, bin)) => bin,
        None => panic!(
            "these tests start a PostgreSQL server of their own and need its binaries \
             (initdb, pg_ctl) in /usr/lib/postgresql/*/bin: install Debian's `postgresql` \
             package (scripts/ensure-postgres.sh does)"
        ),
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port on the loopback interface")
        .port()
}

fn run(command: &mut Command) {
    let output = command.output().unwrap_or_else(|err| panic!("cannot run {command:?}: {err}"));
    if !output.status.success() {
        panic!(
            "{command:?} failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

impl std::fmt::Debug for PrivatePg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PrivatePg(127.0.0.1:{}, {})", self.port, self.dir.display())
    }
}
