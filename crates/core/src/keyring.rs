//! Where secrets are kept: the trait the keyring (`crates/secrets`)
//! implements. The rules about secrets are in `secrets`.

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SecretError {
    /// No keyring service on this computer.
    #[error("no keyring is available on this computer ({0})")]
    NoKeyring(String),
    /// The keyring is there but locked, and was not unlocked when asked
    /// (no desktop session to ask in, or the prompt was dismissed).
    #[error("the keyring is locked ({0})")]
    Locked(String),
    #[error("the keyring failed ({0})")]
    Failed(String),
}

/// Where secrets are kept. Names are already scoped to the device.
pub trait SecretStore: Send + Sync {
    fn set(&self, name: &str, value: &str) -> Result<(), SecretError>;
    fn get(&self, name: &str) -> Result<Option<String>, SecretError>;
    fn delete(&self, name: &str) -> Result<(), SecretError>;
}
