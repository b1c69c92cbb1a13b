//! Integration tests of pitlane-core, through the command table.

mod amount_ceiling;
mod appointments;
mod audit_chain;
mod crash;
mod event_schemas;
mod generated;
mod hostile_input;
mod identity;
mod invoices;
mod job_cards;
mod lockout;
mod matching;
mod migrations;
mod replay;
mod roles;
mod series;
mod settings;
mod shape;
mod stock;
mod support;
mod sync;
mod wording;
