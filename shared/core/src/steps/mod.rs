//! The pipeline steps, each a plain async function over the ports it needs. The `ferry` tool
//! calls them in one process; the Lambda functions call the same functions, one per invocation.

mod delete;
mod discover;
mod extract;
mod files;
mod finalize;
mod load;
pub mod merge;
mod owners;
mod replaced;
mod rollback;
mod spot_check;
mod verify;

pub use delete::DeletionPorts;
pub use discover::{
    DiscoverOptions, Discovery, FileVersions, NO_RECORDS, SkippedObject, discover,
    parse_start_date, prepare_destination,
};
pub use extract::{
    ExtractConfig, ExtractMethod, ExtractPorts, ExtractProgress, ExtractState,
    FILE_DOWNLOADS_IN_FLIGHT, Position, WaitReason, bulk_page_records, by_parent_soql,
    extract_object, extract_soql, extract_step, parent_batch, rest_soql, start_state,
};
pub use files::{
    DEFAULT_MAX_FILE_BYTES, FileRef, MAX_RICH_TEXT_IMAGE_BYTES, rich_text_images, stage_file,
};
pub use finalize::{FinalizePorts, finalize};
// The phases of a load are public: the pure ones (read, prepare) take and give owned data,
// so a shell can run them off its runtime thread (tokio's blocking pool) between the reads
// and writes of `load_chunk`.
pub use load::{
    ChunkToRead, CountedAs, Landed, LoadInput, LoadPorts, LookedUp, MergeWinners, PreparedChunk,
    PreparedRecord, ReadChunk, ReadRecord, RecordDecision, SendDetails, WantedIds, load_chunk,
    prepare_chunk, read_chunk,
};
pub use rollback::{RollbackPorts, rollback_run};
pub use spot_check::{
    DEFAULT_SPOT_CHECK_RECORDS, SPOT_CHECK_PREFIX, SpotCheck, SpotCheckPorts, spot_check_object,
};
pub use verify::{VerifyPorts, compare};

// Used across the core's modules, not by the shells.
pub(crate) use extract::chunk_key;
pub(crate) use finalize::build_report;
pub(crate) use load::{CheckedRecord, check_record};
pub(crate) use merge::{check_merge_order, normalise_email};
pub(crate) use verify::verify_object;

use ferry_model::error::{ErrorClass, ErrorType, PortError};

/// Why a step stopped. Each variant names the port that failed and keeps its error.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    // The port error is the source, so a report of the chain names it once.
    #[error("Salesforce")]
    Salesforce(#[source] PortError),
    // The port error is the source, so a report of the chain names it once.
    #[error("staging")]
    Staging(#[source] PortError),
    // The port error is the source, so a report of the chain names it once.
    #[error("ID map")]
    IdMap(#[source] PortError),
    // The port error is the source, so a report of the chain names it once.
    #[error("run store")]
    RunStore(#[source] PortError),
    // The port error is the source, so a report of the chain names it once.
    #[error("work queue")]
    Queue(#[source] PortError),
    // The port error is the source, so a report of the chain names it once.
    #[error("destination")]
    Destination(#[source] PortError),
    #[error("the plan of run {run} has no object {object}")]
    UnknownObject { run: String, object: String },
    #[error("the integration user lacks what the migration needs:\n  {}", problems.join("\n  "))]
    Permission { problems: Vec<String> },
    /// The selection names what the org does not have (an object of `--objects` that
    /// describeGlobal does not list and the map does not know): a mistake in the request,
    /// not a missing permission.
    #[error("the selection names what the org does not have:\n  {}", problems.join("\n  "))]
    Selection { problems: Vec<String> },
    #[error("API budget")]
    Budget(#[source] ferry_model::budget::BudgetError),
    #[error("the destination answered {answered} outcomes for a batch of {sent} records")]
    DestinationContract { sent: usize, answered: usize },
    /// A run-level request that cannot be honoured as asked (an unknown run, a rollback
    /// that is not the newest, a delta with no earlier run).
    #[error("run {run}: {reason}")]
    Refused { run: String, reason: String },
}

impl StepError {
    /// The message with every cause in the chain, for logs and error reports.
    pub fn chain(&self) -> String {
        let mut text = self.to_string();
        let mut cause = std::error::Error::source(self);
        while let Some(inner) = cause {
            text.push_str(": ");
            text.push_str(&inner.to_string());
            cause = inner.source();
        }
        text
    }

    /// A small, stable name for the kind of failure, for Lambda's `errorType` and the state
    /// machine's Retry and Catch rules.
    pub fn error_type(&self) -> ErrorType {
        let port_error = match self {
            Self::Salesforce(error)
            | Self::Staging(error)
            | Self::IdMap(error)
            | Self::RunStore(error)
            | Self::Queue(error)
            | Self::Destination(error) => error,
            Self::UnknownObject { .. } | Self::Refused { .. } | Self::Selection { .. } => {
                return ErrorType::InvalidInput;
            }
            Self::DestinationContract { .. } => return ErrorType::Fatal,
            Self::Budget(_) => return ErrorType::BudgetExceeded,
            Self::Permission { .. } => return ErrorType::PermissionDenied,
        };
        match port_error.class() {
            ErrorClass::Retryable => ErrorType::Retryable,
            ErrorClass::Permanent => ErrorType::Fatal,
        }
    }
}
