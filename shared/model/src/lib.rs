//! Ferry's data: what a migration is made of and the ports it talks through, below the
//! behaviour in `ferry-core` that uses them.
//!
//! - [`ids`]: Salesforce ids normalised to 18 characters; destination, run and tenant ids.
//! - [`model`]: objects, fields and records as Ferry sees them; [`mapping`]: the field map as
//!   data (the built-in map, entity schemas, override files); [`plan`]: a run's plan (objects,
//!   fields, links, phases) and how it is built from the map and the describes; [`policy`]:
//!   the validation policy the plan carries; [`budget`]: the API budget and its reserve.
//! - [`records`]: records between the steps; [`report`]: per-chunk and per-run counts and
//!   issues; [`runs`]: run history, journal, verification and rollback records.
//! - [`ports`]: the traits every adapter implements (Salesforce, staging, ID map, run store,
//!   work queue, destination, sleeper, progress); [`run_store`]: the run store written once
//!   over a small keyed-document port ([`run_store::DocumentStore`]).
//! - [`error`]: `PortError` with its class, and the stable `ErrorType` names; [`retry`]: the
//!   one retry policy (exponential backoff with full jitter); [`secret`]: values never logged.
//!
//! Adapters depend on this crate only; the shells wire adapters to the steps of `ferry-core`.

pub mod budget;
pub mod error;
pub mod ids;
pub mod mapping;
pub mod model;
pub mod plan;
pub mod policy;
pub mod ports;
pub mod records;
pub mod report;
pub mod retry;
pub mod run_store;
pub mod runs;
pub mod secret;

pub use error::{ErrorClass, ErrorType, PortError};
