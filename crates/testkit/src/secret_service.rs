//! A real Secret Service (GNOME Keyring) for processes a test starts: a
//! D-Bus session bus of the test's own and `gnome-keyring-daemon` on it with
//! a throwaway, unlocked keyring (docs: /work/shared/TESTING.md). Processes
//! started with [`SecretService::apply`] keep and read their secrets there,
//! as on a desktop; both daemons stop when this is dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct SecretService {
    _dir: tempfile::TempDir,
    home: PathBuf,
    runtime_dir: PathBuf,
    address: String,
    bus: Child,
    keyring: Option<Child>,
}

fn missing(tool: &str) -> std::io::Error {
    std::io::Error::other(format!("{tool} is missing: run scripts/setup.sh (it installs gnome-keyring and dbus)"))
}

impl SecretService {
    /// Starts the bus and the keyring, and waits until the keyring answers
    /// on the bus.
    pub fn start() -> std::io::Result<SecretService> {
        let dir = tempfile::tempdir()?;
        let home = dir.path().join("data");
        let runtime_dir = dir.path().join("run");
        std::fs::create_dir_all(&home)?;
        std::fs::create_dir_all(&runtime_dir)?;
        let address = format!("unix:path={}", dir.path().join("bus").display());
        let bus = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--nopidfile"])
            .arg(format!("--address={address}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|_| missing("dbus-daemon"))?;
        let mut service = SecretService { _dir: dir, home, runtime_dir, address, bus, keyring: None };
        service.wait_for(|s| s.bus_answers(), "the D-Bus session bus")?;
        let mut keyring = service
            .apply(&mut Command::new("gnome-keyring-daemon"))
            .args(["--foreground", "--unlock", "--components=secrets"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .map_err(|_| missing("gnome-keyring-daemon"))?;
        // The keyring's password on stdin, then end of input: it unlocks.
        {
            use std::io::Write;
            let mut stdin = keyring.stdin.take().expect("piped stdin");
            stdin.write_all(b"pw")?;
        }
        service.keyring = Some(keyring);
        service.wait_for(|s| s.unlocked(), "an unlocked gnome-keyring-daemon on the bus")?;
        Ok(service)
    }

    /// Gives `command` this session's bus and keyring folders, a state
    /// folder of its own (the seen marks) and no display, so nothing asks a
    /// desktop.
    pub fn apply<'c>(&self, command: &'c mut Command) -> &'c mut Command {
        command
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .env("XDG_DATA_HOME", &self.home)
            .env("XDG_RUNTIME_DIR", &self.runtime_dir)
            .env("XDG_STATE_HOME", self.home.join("state"))
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
    }

    /// Where the keyring's files are.
    pub fn home(&self) -> &Path {
        &self.home
    }

    fn send(&self, dest: &str, path: &str, method: &str, args: &[&str]) -> Option<String> {
        let out = self
            .apply(&mut Command::new("dbus-send"))
            .args(["--session", "--print-reply"])
            .arg(format!("--dest={dest}"))
            .args([path, method])
            .args(args)
            .stderr(Stdio::null())
            .output()
            .ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn bus_answers(&self) -> bool {
        self.send("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus.GetId", &[]).is_some()
    }

    /// The keyring owns its bus name. Asked before anything is sent to it:
    /// a message to a name nobody owns yet would start (D-Bus activation) a
    /// second, locked keyring that takes the name.
    fn keyring_registered(&self) -> bool {
        self.send(
            "org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus.NameHasOwner",
            &["string:org.freedesktop.secrets"],
        )
        .is_some_and(|answer| answer.contains("boolean true"))
    }

    /// The keyring's default collection exists and is unlocked: a secret can
    /// be stored without a prompt.
    pub fn unlocked(&self) -> bool {
        if !self.keyring_registered() {
            return false;
        }
        let Some(alias) = self.send(
            "org.freedesktop.secrets",
            "/org/freedesktop/secrets",
            "org.freedesktop.Secret.Service.ReadAlias",
            &["string:default"],
        ) else {
            return false;
        };
        let Some(path) = alias.split('"').nth(1).filter(|p| *p != "/") else { return false };
        self.send(
            "org.freedesktop.secrets",
            path,
            "org.freedesktop.DBus.Properties.Get",
            &["string:org.freedesktop.Secret.Collection", "string:Locked"],
        )
        .is_some_and(|answer| answer.contains("boolean false"))
    }

    fn wait_for(&mut self, ready: impl Fn(&Self) -> bool, what: &str) -> std::io::Result<()> {
        let until = Instant::now() + Duration::from_secs(30);
        while Instant::now() < until {
            if ready(self) {
                return Ok(());
            }
            if let Ok(Some(status)) = self.bus.try_wait() {
                return Err(std::io::Error::other(format!("dbus-daemon exited: {status}")));
            }
            if let Some(Ok(Some(status))) = self.keyring.as_mut().map(Child::try_wait) {
                return Err(std::io::Error::other(format!("gnome-keyring-daemon exited: {status}")));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(std::io::Error::other(format!("{what} did not start within 30 s")))
    }
}

impl Drop for SecretService {
    fn drop(&mut self) {
        for child in self.keyring.iter_mut().chain([&mut self.bus]) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The keyring answers on the test's own bus, unlocked, and stops with it.
    #[test]
    fn a_started_keyring_is_unlocked_on_its_own_bus_and_stops_when_dropped() {
        let service = SecretService::start().unwrap();
        assert!(service.unlocked(), "the default collection is unlocked");
        let address = service.address.clone();
        drop(service);
        let after = Command::new("dbus-send")
            .env("DBUS_SESSION_BUS_ADDRESS", address)
            .args(["--session", "--print-reply", "--dest=org.freedesktop.DBus", "/org/freedesktop/DBus"])
            .arg("org.freedesktop.DBus.GetId")
            .stderr(Stdio::null())
            .output()
            .unwrap();
        assert!(!after.status.success(), "the bus is gone");
    }
}
