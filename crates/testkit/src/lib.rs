//! Real outside services for tests, each started on loopback by the test
//! that needs it and stopped when dropped:
//! - `postgres`: a PostgreSQL server in a temporary folder (initdb as the
//!   unprivileged `postgres` user when run as root);
//! - `cloud`: the `pitlane-cloud` process over it;
//! - `proxy`: a fault proxy between a device and the cloud (drop, stall,
//!   duplicate, answer 500/429/422, commit then drop the answer).
//!
//! Binaries (`pitlane-cloud`, `pitlane`) are found beside the test
//! executable's target folder: `cargo test --workspace` builds them; a
//! narrow run needs `cargo build --bins` first.

pub mod cloud;
pub mod postgres;
