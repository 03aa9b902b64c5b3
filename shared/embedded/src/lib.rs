//! Embedded adapters: everything a migration needs on one machine, no cloud account.
//!
//! - [`SqliteStore`]: the ID map and the run store, in one SQLite file (`ferry.db`).
//! - [`SqliteDestination`]: the reference CRM as an SQLite file (`destination.db`): companies,
//!   contacts, custom field definitions and values. It is the embedded default destination.
//! - [`LocalStaging`]: chunk staging as files under a directory.
//! - [`InProcessQueue`]: the work queue, drained by the same process.
//!
//! SQLite calls run on tokio's blocking pool, so they never stall the async runtime.

pub mod connections;
mod db;
mod destination;
mod queue;
mod sleeper;
mod staging;
mod store;
mod store_format;

pub use db::EmbeddedError;
pub use destination::SqliteDestination;
pub use queue::InProcessQueue;
pub use sleeper::TokioSleeper;
pub use staging::LocalStaging;
pub use store::SqliteStore;
