//! Ferry's behaviour: the pipeline steps (discover, extract, load, finalize, verify,
//! rollback) as plain async functions over the ports, and a run's lifecycle around them.
//!
//! This crate does no IO of its own. The data it works on and the ports it talks through
//! (Salesforce, staging, the ID map, the run store, the work queue, the destination) are in
//! `ferry-model`; the embedded adapters (SQLite, local files) and the AWS adapters
//! (DynamoDB, S3) implement those ports against `ferry-model` alone, and the `ferry` tool and
//! the Lambda functions are thin shells that wire adapters to the steps in [`steps`].
//!
//! The flow of one run:
//! 1. [`steps::discover`] reads what the org has and turns the field map into a `ferry_model::plan::Plan`.
//! 2. [`steps::prepare_destination`] creates the destination's custom fields.
//! 3. [`steps::extract_object`] pages through one object and stages chunks, one queue message each.
//! 4. [`steps::load_chunk`] transforms a chunk, resolves links through the ID map, upserts it.
//! 5. [`steps::finalize`] patches links whose target landed later, deletes from the destination
//!    what a delta run found deleted in Salesforce, and builds the report.
//! 6. [`steps::verify_object`] reads every migrated record back and compares it with what was sent.
//!
//! [`run`] is a run's lifecycle around those steps: [`run::migrate_with`] drives them in one
//! process and keeps the run history (`ferry_model::runs::RunSummary`): it resumes a
//! tenant's unfinished run, or starts a full or delta run. [`run::rollback`] undoes a run from its journal,
//! [`run::dry_run()`] analyses one without writing, and [`run_report`] rebuilds any run's report.

pub mod inventory;
pub mod preview;
pub mod propose;
pub mod pseudonymise;
pub mod render;
pub mod run;
pub mod run_report;
pub mod schedule;
pub mod steps;
pub mod transform;
pub mod validate;
