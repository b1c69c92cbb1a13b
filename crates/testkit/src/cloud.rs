//! The real `pitlane-cloud` process for tests: `serve` on a free loopback port over a given
//! database, waited for through `/health`, SIGKILLed on drop. Devices are registered and
//! revoked through the same binary's CLI, as an operator would.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::postgres::free_port;

/// A running `pitlane-cloud serve`.
pub struct Cloud {
    database_url: String,
    port: u16,
    child: Option<Child>,
    log: PathBuf,
}

impl Cloud {
    /// Starts `pitlane-cloud serve` over `database_url` (it migrates at start) and waits until
    /// `/health` answers 200.
    pub fn start(database_url: &str) -> Cloud {
        let port = free_port();
        let log = std::env::temp_dir().join(format!("pitlane-cloud-{}-{port}.log", std::process::id()));
        let mut cloud = Cloud { database_url: database_url.to_owned(), port, child: None, log };
        cloud.spawn();
        cloud
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The database this cloud serves.
    pub fn database_url(&self) -> &str {
        &self.database_url
    }

    /// CPU time (user + system) the running process has used so far, from /proc (Linux).
    pub fn cpu_seconds(&self) -> Option<f64> {
        let pid = self.child.as_ref()?.id();
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // Fields after the command name (which is in parentheses): utime and stime are the
        // 12th and 13th, in clock ticks (USER_HZ, 100 on Linux).
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
        Some(ticks as f64 / 100.0)
    }

    /// SIGKILL: the process ends at once, whatever it was doing.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Kills the process (if running) and starts it again on the same port.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// Registers a device (`pitlane-cloud device add`) and returns its token.
    pub fn add_device(&self, device_id: &str, tenant_id: &str, branch_id: &str) -> String {
        let out =
            self.cli(&["device", "add", "--device-id", device_id, "--tenant-id", tenant_id, "--branch-id", branch_id]);
        let token = String::from_utf8_lossy(&out).trim().to_owned();
        assert!(token.starts_with("plc_"), "device add printed no token");
        token
    }

    /// Revokes a device's token (`pitlane-cloud device revoke`).
    pub fn revoke(&self, device_id: &str) {
        self.cli(&["device", "revoke", "--device-id", device_id]);
    }

    /// What the process wrote to stderr so far (its tracing log).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn cli(&self, args: &[&str]) -> Vec<u8> {
        let out = Command::new(binary())
            .args(args)
            .env("DATABASE_URL", &self.database_url)
            .stdin(Stdio::null())
            .output()
            .expect("run pitlane-cloud");
        assert!(out.status.success(), "pitlane-cloud {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        out.stdout
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log).expect("open the cloud's log");
        let child = Command::new(binary())
            .args(["serve", "--listen", &format!("127.0.0.1:{}", self.port)])
            .env("DATABASE_URL", &self.database_url)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn pitlane-cloud");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!("pitlane-cloud exited ({status}) before it was healthy; its log:\n{}", self.log());
            }
            if health(self.port) == Some(200) {
                return;
            }
            assert!(Instant::now() < deadline, "pitlane-cloud not healthy after 120 s; its log:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Cloud {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// The status of `GET /health`, or None when nothing answers.
fn health(port: u16) -> Option<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    s.write_all(format!("GET /health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n").as_bytes())
        .ok()?;
    let mut answer = String::new();
    s.read_to_string(&mut answer).ok()?;
    answer.split_whitespace().nth(1)?.parse().ok()
}

/// `pitlane-cloud` beside the running executable (a test in target/<profile>/deps, or a
/// binary in target/<profile>); `PITLANE_CLOUD_BIN` overrides.
pub fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("PITLANE_CLOUD_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("the test executable's path");
    let mut dir = exe.parent().expect("its folder").to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let bin = dir.join("pitlane-cloud");
    assert!(bin.exists(), "{} is missing: build it: cargo build -p pitlane-cloud", bin.display());
    bin
}
