//! Counting: every extracted record ends as created, updated, skipped or failed, with a reason
//! for the last two, and the report says so per object.

use crate::ids::RunId;
use crate::mapping::EntityKind;
use serde::{Deserialize, Serialize};

/// What happened to one record that did not simply land.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordIssue {
    pub object: String,
    /// The Salesforce id, when the record had a readable one.
    pub salesforce_id: Option<String>,
    pub field: Option<String>,
    pub kind: IssueKind,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueKind {
    /// The record was not sent to the destination, by rule.
    Skipped,
    /// The record could not be read, transformed or stored.
    Failed,
    /// The record landed, but one of its links points to a record that did not.
    UnresolvedLink,
    /// The record landed without one value, which validation refused (see the reason).
    ValueDropped,
    /// The record landed as it was, with a value validation flagged.
    Warning,
    /// Read back after load, the record differs from what was sent (see the field and reason).
    Mismatch,
}

/// The outcome of loading one chunk; stored per (run, object, chunk) so a redelivered chunk
/// replaces its earlier result instead of counting twice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkResult {
    pub object: String,
    pub chunk: u32,
    pub records: u64,
    pub created: u64,
    pub updated: u64,
    pub skipped: u64,
    pub failed: u64,
    /// Records whose content hash matched their ID-map entry: nothing was sent.
    #[serde(default)]
    pub unchanged: u64,
    /// Records Salesforce reports deleted (delta runs); those Ferry created are deleted from
    /// the destination at finalize, the others need nothing.
    #[serde(default)]
    pub deleted_in_salesforce: u64,
    pub deferred_links: u64,
    pub issues: Vec<RecordIssue>,
}

/// The outcome of extracting one object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectExtraction {
    pub object: String,
    pub extracted: u64,
    pub chunks: u32,
    /// `bulk` (Bulk API 2.0) or `rest`; absent in runs recorded before it was kept.
    #[serde(default)]
    pub api: Option<String>,
    /// Why REST served an object meant for Bulk (Bulk refused it, or its job failed).
    #[serde(default)]
    pub fallback: Option<String>,
    /// The newest `SystemModstamp` read (RFC 3339, UTC): where a later delta starts.
    #[serde(default)]
    pub high_water_mark: Option<String>,
}

/// The outcome of patching deferred links for one object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkResolution {
    pub object: String,
    pub patched: u64,
    pub issues: Vec<RecordIssue>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectCounts {
    pub in_salesforce: u64,
    pub extracted: u64,
    pub created: u64,
    pub updated: u64,
    pub skipped: u64,
    pub failed: u64,
    pub links_patched: u64,
    pub links_unresolved: u64,
    /// Unchanged since the run that last sent them: skipped without a destination call.
    #[serde(default)]
    pub unchanged: u64,
    /// Reported deleted by Salesforce (delta runs).
    #[serde(default)]
    pub deleted_in_salesforce: u64,
    /// Deleted from the destination because they were deleted in Salesforce.
    #[serde(default)]
    pub deleted: u64,
    /// Deletions the destination refused (each an issue).
    #[serde(default)]
    pub delete_failed: u64,
    /// Read back after load and compared field by field.
    #[serde(default)]
    pub verified: u64,
    /// Read back with at least one differing field (each difference an issue).
    #[serde(default)]
    pub mismatched: u64,
    /// Re-read from Salesforce by Id after the load and compared with the destination
    /// (the spot check), and of those, records with a difference (each an issue).
    #[serde(default)]
    pub spot_checked: u64,
    #[serde(default)]
    pub spot_mismatched: u64,
}

impl ObjectCounts {
    /// Records that reached a load step but have no outcome yet: zero once a run is complete.
    /// Extracted records end as exactly one of created, updated, unchanged, skipped, failed
    /// or deleted in Salesforce.
    pub fn unaccounted(&self) -> i128 {
        i128::from(self.extracted)
            - i128::from(self.created)
            - i128::from(self.updated)
            - i128::from(self.skipped)
            - i128::from(self.failed)
            - i128::from(self.unchanged)
            - i128::from(self.deleted_in_salesforce)
    }

    /// Records with an outcome: created, updated, unchanged, skipped, failed or deleted in
    /// Salesforce.
    pub fn accounted(&self) -> u64 {
        self.created
            + self.updated
            + self.unchanged
            + self.skipped
            + self.failed
            + self.deleted_in_salesforce
    }
}

/// An object of a full run whose records in Salesforce (its exact count at discovery)
/// and the records the run accounted for differ: records never read (or read twice), or
/// created or deleted in Salesforce while the run went on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountDifference {
    pub object: String,
    pub in_salesforce: u64,
    pub accounted: u64,
}

impl CountDifference {
    /// Records in Salesforce the run has no outcome for (negative: more outcomes than
    /// records).
    pub fn missing(&self) -> i128 {
        i128::from(self.in_salesforce) - i128::from(self.accounted)
    }
}

impl std::fmt::Display for CountDifference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let missing = self.missing();
        write!(
            f,
            "{}: {} in Salesforce, {} accounted for (created, updated, unchanged, skipped or failed): ",
            self.object, self.in_salesforce, self.accounted
        )?;
        if missing > 0 {
            write!(f, "{missing} never read")
        } else {
            write!(f, "{} more than Salesforce holds", -missing)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectReport {
    pub object: String,
    pub entity: EntityKind,
    pub counts: ObjectCounts,
    /// Which API extracted the object, and why REST stood in for Bulk when it did.
    #[serde(default)]
    pub api: Option<String>,
    #[serde(default)]
    pub fallback: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    pub run_id: RunId,
    pub objects: Vec<ObjectReport>,
    pub issues: Vec<RecordIssue>,
    /// A delta's report: it reads only what changed, so its counts are not compared with
    /// what Salesforce holds.
    #[serde(default)]
    pub delta: bool,
}

impl RunReport {
    /// True when every extracted record has exactly one outcome.
    pub fn is_balanced(&self) -> bool {
        self.objects
            .iter()
            .all(|object| object.counts.unaccounted() == 0)
    }

    /// For a full run, every object whose exact count in Salesforce is not what the run
    /// accounted for (see [`ObjectCounts::accounted`]); none for a delta.
    pub fn salesforce_differences(&self) -> Vec<CountDifference> {
        if self.delta {
            return Vec::new();
        }
        self.objects
            .iter()
            .filter(|object| object.counts.accounted() != object.counts.in_salesforce)
            .map(|object| CountDifference {
                object: object.object.clone(),
                in_salesforce: object.counts.in_salesforce,
                accounted: object.counts.accounted(),
            })
            .collect()
    }

    /// The counts add up ([`RunReport::is_balanced`]) and, for a full run, every record in
    /// Salesforce has an outcome ([`RunReport::salesforce_differences`]).
    pub fn is_complete(&self) -> bool {
        self.is_balanced() && self.salesforce_differences().is_empty()
    }

    pub fn object(&self, name: &str) -> Option<&ObjectCounts> {
        self.objects
            .iter()
            .find(|object| object.object == name)
            .map(|object| &object.counts)
    }
}
