//! The small kit every innolab service is built from: configuration,
//! telemetry, server bootstrap, error mapping, pagination, filters and the
//! database pool with migrations.

pub mod api;
pub mod balance;
pub mod changes;
pub mod check;
pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod filter;
pub mod meter;
pub mod opendata;
pub mod page;
pub mod reflection;
pub mod server;
pub mod store;
pub mod subscriber;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;
pub mod text;
pub mod transport;

pub use error::{Error, FieldViolation, Violations};
pub mod query;
pub mod sql;
pub mod vocab;
