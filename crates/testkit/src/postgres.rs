//! A real PostgreSQL server for one test: `initdb` in a temporary folder, `pg_ctl start` on a
//! free loopback port, stopped and removed on drop (docs: /work/shared/TESTING.md recipe).
//! PostgreSQL refuses to run as root, so as root the folder goes to the `postgres` user and
//! every server command runs through `runuser -u postgres --`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A running PostgreSQL server; superuser `pitlane`, trust authentication, loopback only.
pub struct Postgres {
    dir: PathBuf,
    port: u16,
    bin: PathBuf,
    as_postgres: bool,
}

impl Postgres {
    /// Starts a fresh server. Panics with the server's own words when it cannot.
    pub fn start() -> Postgres {
        let bin = server_bin();
        let dir = std::env::temp_dir().join(format!("pitlane-pg-{}-{}", std::process::id(), unique()));
        std::fs::create_dir_all(&dir).expect("create the PostgreSQL folder");
        let as_postgres = is_root();
        if as_postgres {
            run(Command::new("chown").arg("postgres").arg(&dir), "chown the PostgreSQL folder to postgres");
        }
        let data = dir.join("data");
        let mut pg = Postgres { dir: dir.clone(), port: 0, bin, as_postgres };
        let out = pg
            .server_command("initdb")
            .arg("-D")
            .arg(&data)
            .args(["-A", "trust", "-U", "pitlane", "-E", "UTF8", "--no-sync"])
            .output();
        check(out, "initdb");
        // A port is free when we look; another process may take it before the server binds, so
        // try a few.
        for _ in 0..5 {
            let port = free_port();
            let opts = format!(
                "-c listen_addresses=127.0.0.1 -p {port} -k {} -c fsync=off -c max_connections=200",
                dir.display()
            );
            let out = pg
                .server_command("pg_ctl")
                .arg("-D")
                .arg(&data)
                .arg("-l")
                .arg(dir.join("log"))
                .args(["-w", "-t", "60", "-o", &opts, "start"])
                .output();
            if matches!(&out, Ok(o) if o.status.success()) {
                pg.port = port;
                return pg;
            }
        }
        let log = std::fs::read_to_string(dir.join("log")).unwrap_or_default();
        panic!("PostgreSQL did not start; its log:\n{log}");
    }

    /// The server's port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of the `postgres` database.
    pub fn url(&self) -> String {
        self.url_of("postgres")
    }

    /// The URL of database `name` on this server.
    pub fn url_of(&self, name: &str) -> String {
        format!("postgres://pitlane@127.0.0.1:{}/{name}", self.port)
    }

    /// Creates database `name` and returns its URL.
    pub fn create_database(&self, name: &str) -> String {
        let out = Command::new(self.bin.join("createdb"))
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "pitlane", name])
            .output();
        check(out, "createdb");
        self.url_of(name)
    }

    /// Runs SQL through `psql` and returns its unaligned, tuples-only output.
    pub fn psql(&self, database: &str, sql: &str) -> String {
        let out = Command::new(self.bin.join("psql"))
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "pitlane", "-d", database])
            .args(["-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-c", sql])
            .output();
        String::from_utf8_lossy(&check(out, "psql").stdout).trim().to_owned()
    }

    /// Stops the server (fast shutdown, data kept); `Drop` also removes it.
    pub fn stop(&mut self) {
        if self.port != 0 {
            let out = self
                .server_command("pg_ctl")
                .arg("-D")
                .arg(self.dir.join("data"))
                .args(["-m", "fast", "-w", "stop"])
                .output();
            check(out, "pg_ctl stop");
        }
    }

    fn server_command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if self.port != 0 && self.dir.join("data/postmaster.pid").exists() {
            let _ = self
                .server_command("pg_ctl")
                .arg("-D")
                .arg(self.dir.join("data"))
                .args(["-m", "immediate", "-w", "stop"])
                .output();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The newest /usr/lib/postgresql/<version>/bin.
fn server_bin() -> PathBuf {
    let root = Path::new("/usr/lib/postgresql");
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, bin): &(u32, PathBuf)| bin.join("initdb").exists())
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .expect("PostgreSQL is not installed (/usr/lib/postgresql/*/bin): run scripts/setup.sh")
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    (u64::from(nanos) << 16) | NEXT.fetch_add(1, Ordering::Relaxed)
}

fn run(cmd: &mut Command, what: &str) {
    check(cmd.output(), what);
}

fn check(out: std::io::Result<Output>, what: &str) -> Output {
    let out = out.unwrap_or_else(|e| panic!("{what}: {e}"));
    if !out.status.success() {
        panic!(
            "{what} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}
