//! pitlane-cloud: the cloud endpoint of Pitlane's sync (docs/SYNC.md). Stateless HTTP
//! processes over one PostgreSQL database; any number may serve behind a load balancer.
//!
//! - `batch`: a `POST /v1/events` body read and checked (pure);
//! - `plan`: what a batch does to its device's sequence (pure);
//! - `store`: the SQL, one transaction per batch;
//! - `http`: the routes; `error`: the one error type and its envelope;
//! - `token`: device tokens.

pub mod batch;
pub mod error;
pub mod http;
pub mod plan;
pub mod store;
pub mod token;
