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

/// Every binary built on the kit (each service, the gateway, the suite)
/// allocates with mimalloc: glibc's malloc, its free and the consolidation
/// of its fast bins were 5-11 µs of a read's CPU in the suite; with
/// mimalloc (and uuid's thread-local generator) a read cost 11 µs less
/// direct and 13-16 µs less through the gateway (gateway/BENCHMARK.md,
/// issue 22). Without transparent huge pages (`no_thp`): with them the
/// suite's resident memory rose from 37 to 62-70 MiB.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
