//! Which computer the core runs on: injected like the clock, so tests are
//! exact. Below `ctx`; the rules about it are in `device`.

use sha2::{Digest, Sha256};

/// Which computer this is: the SHA-256 (hex) of its machine id, never the id
/// itself. Injected like the clock: [`crate::Api::open`] uses
/// [`HostFingerprint::of_this_computer`], tests [`HostFingerprint::of_label`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostFingerprint(String);

impl HostFingerprint {
    /// The fingerprint of an arbitrary label (tests, tools).
    pub fn of_label(label: &str) -> Self {
        HostFingerprint(hex(&Sha256::digest(label.trim().as_bytes())))
    }

    /// This computer's: /etc/machine-id, else /var/lib/dbus/machine-id, else
    /// the host name. `None` when none can be read: then nothing is checked
    /// (opening is never blocked by this).
    pub fn of_this_computer() -> Option<Self> {
        let read = |path: &str| std::fs::read_to_string(path).ok().map(|s| s.trim().to_string());
        let from_env = |name: &str| std::env::var(name).ok().map(|s| s.trim().to_string());
        let id = read("/etc/machine-id")
            .filter(|s| !s.is_empty())
            .or_else(|| read("/var/lib/dbus/machine-id").filter(|s| !s.is_empty()))
            .map(|id| format!("machine-id:{id}"))
            .or_else(|| {
                read("/proc/sys/kernel/hostname")
                    .or_else(|| read("/etc/hostname"))
                    .or_else(|| from_env("HOSTNAME"))
                    .or_else(|| from_env("COMPUTERNAME"))
                    .filter(|s| !s.is_empty())
                    .map(|h| format!("hostname:{h}"))
            })?;
        Some(Self::of_label(&id))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fingerprint_is_a_hash_never_the_id_itself() {
        let f = HostFingerprint::of_label("0123456789abcdef");
        assert_eq!(f.as_str().len(), 64, "SHA-256 in hex");
        assert!(!f.as_str().contains("0123456789abcdef"), "the machine id is not stored");
        assert_eq!(f, HostFingerprint::of_label(" 0123456789abcdef\n"), "surrounding blanks do not count");
    }
}
