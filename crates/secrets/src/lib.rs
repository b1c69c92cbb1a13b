//! Pitlane's secrets in the OS keyring, through the keyring crate: the
//! macOS Keychain, the Windows Credential Manager, or the Secret Service
//! (GNOME Keyring, KWallet) on Linux. When none answers, every call fails
//! with [`SecretError::NoKeyring`], and when it is locked with
//! [`SecretError::Locked`]; the core tells the user so. Nothing is ever
//! written anywhere else.

use std::collections::HashMap;
use std::sync::Mutex;

use keyring::Entry;
use pitlane_core::secrets::{SecretError, SecretStore};

/// The keyring service name all of Pitlane's entries share.
pub const SERVICE: &str = "pitlane";

/// Secrets in the keyring. Entries are kept once made, which the keyring
/// crate's mock store (what tests use) needs to find a secret again.
#[derive(Default)]
pub struct KeyringStore {
    entries: Mutex<HashMap<String, Entry>>,
}

impl KeyringStore {
    /// The platform's keyring.
    pub fn os() -> Self {
        KeyringStore::default()
    }

    /// The keyring crate's in-memory mock store, for tests: it keeps
    /// secrets for the life of the process only.
    pub fn mock() -> Self {
        keyring::set_default_credential_builder(keyring::mock::default_credential_builder());
        KeyringStore::default()
    }

    fn with_entry<T>(&self, name: &str, f: impl FnOnce(&Entry) -> keyring::Result<T>) -> Result<T, SecretError> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if !entries.contains_key(name) {
            let entry = Entry::new(SERVICE, name).map_err(map)?;
            entries.insert(name.to_string(), entry);
        }
        match entries.get(name) {
            Some(entry) => f(entry).map_err(map),
            None => Err(SecretError::Failed("entry vanished".into())),
        }
    }
}

/// The keyring's errors, without any secret in them.
fn map(e: keyring::Error) -> SecretError {
    match e {
        keyring::Error::NoStorageAccess(inner) | keyring::Error::PlatformFailure(inner)
            if is_locked(inner.as_ref()) =>
        {
            SecretError::Locked(short(&inner.to_string()))
        }
        keyring::Error::NoStorageAccess(inner) => SecretError::NoKeyring(short(&inner.to_string())),
        keyring::Error::PlatformFailure(inner) => SecretError::NoKeyring(short(&inner.to_string())),
        other => SecretError::Failed(short(&other.to_string())),
    }
}

/// Whether the Secret Service said its collection is locked: it answers a
/// locked item with `Locked`, an unlock prompt nobody could answer (no
/// desktop session) or dismissed with `Prompt`, and a new item in a locked
/// collection with the D-Bus error `IsLocked`.
#[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "openbsd"))]
fn is_locked(e: &(dyn std::error::Error + Send + Sync + 'static)) -> bool {
    use dbus_secret_service::Error as Ss;
    match e.downcast_ref::<Ss>() {
        Some(Ss::Locked | Ss::Prompt) => true,
        Some(Ss::Dbus(e)) => e.name() == Some("org.freedesktop.Secret.Error.IsLocked"),
        _ => false,
    }
}

#[cfg(not(any(target_os = "linux", target_os = "freebsd", target_os = "openbsd")))]
fn is_locked(_e: &(dyn std::error::Error + Send + Sync + 'static)) -> bool {
    false
}

fn short(s: &str) -> String {
    s.chars().take(200).collect()
}

impl SecretStore for KeyringStore {
    fn set(&self, name: &str, value: &str) -> Result<(), SecretError> {
        self.with_entry(name, |e| e.set_password(value))
    }

    fn get(&self, name: &str) -> Result<Option<String>, SecretError> {
        self.with_entry(name, |e| match e.get_password() {
            Ok(v) => Ok(Some(v)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(e),
        })
    }

    fn delete(&self, name: &str) -> Result<(), SecretError> {
        self.with_entry(name, |e| match e.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(e),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mock_store_keeps_sets_and_removes_a_secret() {
        let store = KeyringStore::mock();
        assert_eq!(store.get("dev/payment_gateway_key"), Ok(None));
        store.set("dev/payment_gateway_key", "sk_live_123").unwrap();
        assert_eq!(store.get("dev/payment_gateway_key"), Ok(Some("sk_live_123".into())));
        store.delete("dev/payment_gateway_key").unwrap();
        assert_eq!(store.get("dev/payment_gateway_key"), Ok(None));
        store.delete("dev/payment_gateway_key").unwrap();
    }

    #[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "openbsd"))]
    #[test]
    fn a_locked_secret_service_is_told_apart_from_a_missing_one() {
        use dbus_secret_service::Error as Ss;
        let kind = |e: SecretError| match e {
            SecretError::Locked(_) => "locked",
            SecretError::NoKeyring(_) => "no keyring",
            SecretError::Failed(_) => "failed",
        };
        let cases = [
            ("a locked item", keyring::Error::NoStorageAccess(Box::new(Ss::Locked)), "locked"),
            ("an unlock prompt nobody answered", keyring::Error::NoStorageAccess(Box::new(Ss::Prompt)), "locked"),
            ("no default collection", keyring::Error::NoStorageAccess(Box::new(Ss::NoResult)), "no keyring"),
            ("no Secret Service at all", keyring::Error::PlatformFailure(Box::new(Ss::Unavailable)), "no keyring"),
            ("another error", keyring::Error::TooLong("name".into(), 10), "failed"),
        ];
        for (scenario, error, expected) in cases {
            assert_eq!(kind(map(error)), expected, "{scenario}");
        }
    }
}
