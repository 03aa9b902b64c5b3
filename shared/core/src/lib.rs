//! Ferry's domain: the types a migration is made of, the ports it talks through, and the
//! pipeline steps (discover, extract, load, finalize) as plain async functions over those ports.
//!
//! This crate does no IO of its own. Salesforce, staging, the ID map, the run store, the work
//! queue and the destination are traits in [`ports`]; the embedded adapters (SQLite, local files)
//! and the AWS adapters (DynamoDB, S3) implement them elsewhere, and the `ferry` tool and the
//! Lambda functions are thin shells that wire adapters to the steps in [`steps`].
//!
//! The flow of one run:
//! 1. [`steps::discover`] reads what the org has and turns the field map into a [`plan::Plan`].
//! 2. [`steps::prepare_destination`] creates the destination's custom fields.
//! 3. [`steps::extract_object`] pages through one object and stages chunks, one queue message each.
//! 4. [`steps::load_chunk`] transforms a chunk, resolves links through the ID map, upserts it.
//! 5. [`steps::finalize`] patches links whose target landed later, deletes from the destination
//!    what a delta run found deleted in Salesforce, and builds the report.
//! 6. [`steps::verify_object`] reads every migrated record back and compares it with what was sent.
//!
//! [`pipeline::migrate_with`] drives them in one process and keeps the run history
//! ([`runs::RunSummary`]): it resumes a tenant's unfinished run, or starts a full or delta run.
//! [`pipeline::rollback`] undoes a run from its journal; [`run_report`] rebuilds any run's report.

pub mod budget;
pub mod dryrun;
pub mod error;
pub mod ids;
pub mod inventory;
pub mod mapping;
pub mod migration;
pub mod model;
pub mod obfuscate;
pub mod pipeline;
pub mod plan;
pub mod ports;
pub mod preview;
pub mod propose;
pub mod render;
pub mod report;
pub mod run_report;
pub mod runs;
pub mod schedule;
pub mod secret;
pub mod steps;
pub mod transform;
pub mod validate;

pub use error::{ErrorClass, PortError};
