//! Pitlane's core: the domain, the SQLite store and the command table.
//!
//! Every transport (CLI, Tauri shell, browser mode) is a thin adapter over
//! [`api::Api::call`]. Nothing in here knows about HTTP, windows or PDFs.

pub mod alerts;
pub mod api;
pub mod appointments;
pub mod audit;
pub mod auth;
pub mod backup;
pub mod clock;
pub mod ctx;
pub mod customers;
pub mod db;
pub mod demo;
pub mod device;
pub mod document;
pub mod error;
pub mod events;
pub mod failpoints;
pub mod gateway;
pub mod host;
pub mod inventory;
pub mod invoices;
pub mod job_cards;
pub mod jobs;
pub mod keyring;
pub mod logo;
pub mod messages;
pub mod money;
pub mod numbers;
pub mod orchestration;
pub mod outbox;
pub mod payments;
pub mod printing;
pub mod reports;
pub mod roles;
pub mod search;
pub mod secrets;
pub mod seen;
pub mod settings;
pub mod setup;
pub mod staff;
pub mod sync;
pub mod sync_runner;
pub mod totals;
pub mod validate;
pub mod vehicles;
pub mod wording;

pub use api::{Api, Envelope};
pub use clock::{Clock, FixedClock, IdSource, SequentialIds, Stamp, SystemClock, UuidV7Ids};
pub use error::{Error, Result};
