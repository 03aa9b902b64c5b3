//! Run history, the undo journal, verification and rollback results, and progress events.
//!
//! A run is recorded from its first step as a [`RunSummary`] (kind, status, times, high-water
//! mark), so `ferry runs` can list it and a later `migrate` of the same tenant can find an
//! unfinished run and resume it. Everything a run changes in the destination is written to
//! its journal ([`JournalEntry`]) *before* the change, which is what lets a rollback delete
//! what the run created and put back what it updated or deleted, even after a crash.

use crate::ids::{DestinationId, RunId, SalesforceId, TenantId};
use crate::mapping::EntityKind;
use crate::records::DestinationRecord;
use crate::report::RecordIssue;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a run does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunKind {
    /// Every record of every planned object.
    Full,
    /// Only records changed or deleted since the last successful run's high-water mark.
    Delta,
    /// The undoing of an earlier run.
    Rollback,
}

impl RunKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::Delta => "delta",
            Self::Rollback => "rollback",
        }
    }
}

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Started and not finished. A process that died mid-run leaves its run here; the next
    /// `migrate` of the tenant resumes it.
    Running,
    Succeeded,
    /// Stopped on an error, which the summary keeps; the next `migrate` resumes it.
    Failed,
    /// Stopped from outside (a signal, a timeout); the next `migrate` resumes it. Set by the
    /// shell that noticed, through [`crate::ports::RunStore::save_run`].
    Interrupted,
    /// Undone by a rollback, named in [`RunSummary::rolled_back_by`].
    RolledBack,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Interrupted => "interrupted",
            Self::RolledBack => "rolled back",
        }
    }

    /// True for a run that started and never finished: resumed rather than started over.
    pub fn is_unfinished(self) -> bool {
        matches!(self, Self::Running | Self::Failed | Self::Interrupted)
    }
}

/// Time spent on one object, summed over every process that worked on the run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectTiming {
    pub extract_ms: u64,
    pub load_ms: u64,
    pub verify_ms: u64,
}

/// One line of the run history: small, rewritten as the run moves on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunSummary {
    pub run_id: RunId,
    pub tenant: TenantId,
    /// Position in the tenant's history (1 for its first run); orders runs without relying
    /// on clocks.
    pub sequence: u64,
    pub kind: RunKind,
    pub status: RunStatus,
    /// RFC 3339, UTC.
    pub started_at: String,
    pub finished_at: Option<String>,
    /// When the run last recorded progress (RFC 3339): a run still `running` long after this
    /// is likely a process that died, which the next `migrate` resumes.
    #[serde(default)]
    pub updated_at: Option<String>,
    /// Per object, the newest `SystemModstamp` its extraction read (RFC 3339, UTC;
    /// Salesforce's clock): a later delta run takes records modified since then, less the
    /// overlap.
    #[serde(default)]
    pub high_water_marks: BTreeMap<String, String>,
    /// A delta run: the run whose high-water marks it started from.
    #[serde(default)]
    pub delta_of: Option<RunId>,
    /// A rollback run: the run it undoes.
    #[serde(default)]
    pub rolls_back: Option<RunId>,
    /// The rollback that undid this run.
    #[serde(default)]
    pub rolled_back_by: Option<RunId>,
    /// Why the run stopped, when it failed.
    #[serde(default)]
    pub error: Option<String>,
    /// Salesforce API calls the run used, summed over its processes, when the org reports them.
    #[serde(default)]
    pub api_calls_used: Option<u64>,
    #[serde(default)]
    pub timings: BTreeMap<String, ObjectTiming>,
}

/// What a run did to one destination record, written before it did it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JournalAction {
    /// The record had no ID-map entry: the run creates it (or created it before a crash).
    Created,
    /// The record existed; `previous_record` is what it held before.
    Updated,
    /// The record was deleted in Salesforce and is deleted in the destination (delta runs).
    Deleted,
}

/// An ID-map entry as stored, with the run that created it and the run that last wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredIdMapEntry {
    pub object: String,
    pub salesforce_id: SalesforceId,
    pub destination_id: DestinationId,
    pub created_by_run: RunId,
    pub last_run: RunId,
    pub content_hash: String,
}

/// One record's undo information. Only the first entry per (run, object, Salesforce id) is
/// kept, so a chunk loaded again after a crash cannot overwrite the true "before" with the
/// run's own earlier write.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalEntry {
    pub object: String,
    pub entity: EntityKind,
    pub salesforce_id: SalesforceId,
    pub action: JournalAction,
    /// The ID-map entry before the run touched the record (`None` for a created record).
    pub previous_entry: Option<StoredIdMapEntry>,
    /// The destination record before the run touched it, as `Destination::get` read it.
    pub previous_record: Option<DestinationRecord>,
}

/// A record deleted in Salesforce that a delta run deletes from the destination at
/// finalize, children before parents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingDeletion {
    pub object: String,
    pub entity: EntityKind,
    pub salesforce_id: SalesforceId,
    pub destination_id: DestinationId,
}

/// The deletions of one object in a delta run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletionResult {
    pub object: String,
    pub deleted: u64,
    /// Deletions the destination refused, with its reason.
    pub issues: Vec<RecordIssue>,
}

/// Read-back of one object after load.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectVerification {
    pub object: String,
    /// Records read back and compared.
    pub checked: u64,
    /// Records with at least one field that differs (each difference is an issue).
    pub mismatched: u64,
    pub issues: Vec<RecordIssue>,
    /// The spot check: sampled records re-read from Salesforce by Id and compared with the
    /// destination, those that differ, and those changed in Salesforce since extraction
    /// (not compared).
    #[serde(default)]
    pub spot_checked: u64,
    #[serde(default)]
    pub spot_mismatched: u64,
    #[serde(default)]
    pub spot_changed: u64,
}

/// What a rollback did to one object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollbackObject {
    pub object: String,
    /// Records the run created, now deleted.
    pub deleted: u64,
    /// Records the run updated, now holding their earlier values again.
    pub restored: u64,
    /// Records the run deleted (delta), created again from their journaled values.
    pub recreated: u64,
    pub failed: u64,
    pub issues: Vec<RecordIssue>,
}

/// The outcome of a rollback, rebuildable from the run store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollbackReport {
    /// The rollback's own run.
    pub run_id: RunId,
    /// The run it undid.
    pub rolls_back: RunId,
    pub objects: Vec<RollbackObject>,
}

impl RollbackReport {
    pub fn total(&self) -> RollbackObject {
        let mut total = RollbackObject {
            object: "total".to_owned(),
            ..RollbackObject::default()
        };
        for object in &self.objects {
            total.deleted += object.deleted;
            total.restored += object.restored;
            total.recreated += object.recreated;
            total.failed += object.failed;
        }
        total
    }
}

/// What `migrate` and `rollback` report as they go, for a progress display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProgressEvent {
    /// A run started (`resumed`: an unfinished run picked up again).
    RunStarted {
        run: RunId,
        kind: RunKind,
        resumed: bool,
    },
    /// Phase `phase` (0-based) of `phases` started, with its objects.
    PhaseStarted {
        phase: usize,
        phases: usize,
        objects: Vec<String>,
    },
    /// An object is extracted: `extracted` records of the `in_salesforce` discovery counted.
    ObjectExtracted {
        object: String,
        extracted: u64,
        in_salesforce: u64,
    },
    /// An object was already extracted and loaded by an earlier attempt of this run.
    ObjectAlreadyDone { object: String },
    /// A chunk is loaded.
    ChunkLoaded {
        object: String,
        chunk: u32,
        records: u64,
    },
    /// A phase's objects are loaded; their counts, and whether each adds up (extracted =
    /// created + updated + unchanged + skipped + failed + deleted in Salesforce).
    PhaseReconciled {
        phase: usize,
        objects: Vec<(String, crate::report::ObjectCounts)>,
        balanced: bool,
    },
    /// Records of an object read back so far.
    Verified {
        object: String,
        checked: u64,
        mismatched: u64,
    },
    /// Rollback of an object: journal entries read so far in the current pass (re-create,
    /// restore, delete); the journal is read a page at a time, so no total is known.
    RolledBack { object: String, done: u64 },
    /// Extraction of an object pauses because the API budget's reserve is reached: `used`
    /// of `limit` calls in Salesforce's rolling 24 hours, `reserve` kept for the customer's
    /// other integrations. It looks again at `until` (RFC 3339), at most a minute later by
    /// default, and goes on as soon as calls have aged out or the limit was raised.
    BudgetPause {
        object: String,
        used: u64,
        limit: u64,
        reserve: u64,
        until: String,
    },
    /// The run finished with this status.
    RunFinished { run: RunId, status: RunStatus },
}
