//! The pipeline steps, each a plain async function over the ports it needs. The `ferry` tool
//! calls them in one process; the Lambda functions call the same functions, one per invocation.

mod discover;
mod extract;
mod finalize;
mod load;

pub use discover::{
    DiscoverOptions, Discovery, SkippedObject, discover, prepare_destination, unsupported_reason,
};
pub use extract::{
    ExtractConfig, ExtractMethod, ExtractPorts, ExtractProgress, ExtractState, Position, Sleeper,
    WaitReason, chunk_key, extract_object, extract_soql, extract_step, start_state,
};
pub use finalize::{FinalizePorts, build_report, finalize};
pub use load::{LoadPorts, load_chunk};

use crate::error::{ErrorClass, PortError};

/// Why a step stopped. Each variant names the port that failed and keeps its error.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error("Salesforce: {0}")]
    Salesforce(#[source] PortError),
    #[error("staging: {0}")]
    Staging(#[source] PortError),
    #[error("ID map: {0}")]
    IdMap(#[source] PortError),
    #[error("run store: {0}")]
    RunStore(#[source] PortError),
    #[error("work queue: {0}")]
    Queue(#[source] PortError),
    #[error("destination: {0}")]
    Destination(#[source] PortError),
    #[error("the plan of run {run} has no object {object}")]
    UnknownObject { run: String, object: String },
    #[error("the integration user lacks what the migration needs:\n  {}", problems.join("\n  "))]
    Permission { problems: Vec<String> },
    #[error("API budget: {0}")]
    Budget(#[source] crate::budget::BudgetError),
    #[error("the destination answered {answered} outcomes for a batch of {sent} records")]
    DestinationContract { sent: usize, answered: usize },
}

impl StepError {
    /// A small, stable name for the kind of failure, for Lambda's `errorType` and the state
    /// machine's Retry and Catch rules.
    pub fn error_type(&self) -> &'static str {
        let port_error = match self {
            Self::Salesforce(error)
            | Self::Staging(error)
            | Self::IdMap(error)
            | Self::RunStore(error)
            | Self::Queue(error)
            | Self::Destination(error) => error,
            Self::UnknownObject { .. } => return "InvalidInput",
            Self::DestinationContract { .. } => return "Fatal",
            Self::Budget(_) => return "BudgetExceeded",
            Self::Permission { .. } => return "PermissionDenied",
        };
        match port_error.class() {
            ErrorClass::Retryable => "Retryable",
            ErrorClass::Permanent => "Fatal",
        }
    }
}
