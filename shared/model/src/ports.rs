//! The ports: small traits the pipeline steps talk through. Each has an embedded adapter
//! (SQLite, local files, in-process) and, where the serverless path needs one, an AWS adapter.

use crate::budget::ApiBudget;
use crate::error::PortError;
use crate::ids::{DestinationId, RunId, SalesforceId, TenantId};
use crate::mapping::EntityKind;
use crate::model::{ObjectDescription, ObjectSummary, SourceRecord};
use crate::plan::{CustomFieldDefinition, Plan};
use crate::records::DestinationRecord;
use crate::report::{ChunkResult, LinkResolution, ObjectExtraction};
use crate::runs::{
    DeletionResult, JournalEntry, ObjectVerification, PendingDeletion, ProgressEvent,
    RollbackObject, RunSummary, StoredIdMapEntry,
};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// What describing several objects found ([`SalesforceApi::describe_objects`]).
#[derive(Debug, Clone, Default)]
pub struct Descriptions {
    /// The describes, in the order asked.
    pub described: Vec<ObjectDescription>,
    /// Objects whose describe Salesforce refused (`NOT_FOUND`, `INSUFFICIENT_ACCESS`).
    pub refused: Vec<RefusedDescribe>,
}

/// An object Salesforce would not describe, and what it answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedDescribe {
    pub object: String,
    /// Salesforce's error code and message.
    pub reason: String,
}

/// Read-only access to a Salesforce org.
#[async_trait]
pub trait SalesforceApi: Send + Sync {
    /// describeGlobal.
    async fn list_objects(&self) -> Result<Vec<ObjectSummary>, PortError>;
    async fn describe_object(&self, name: &str) -> Result<ObjectDescription, PortError>;
    /// Describes of several objects, in the order asked; adapters may batch them. An
    /// object whose describe Salesforce refuses (it does, for objects describeGlobal lists
    /// but the integration user cannot see) is returned as refused, with the reason,
    /// rather than failing the others; any other failure fails the call.
    async fn describe_objects(&self, names: &[String]) -> Result<Descriptions, PortError> {
        let mut described = Vec::with_capacity(names.len());
        for name in names {
            described.push(self.describe_object(name).await?);
        }
        Ok(Descriptions {
            described,
            refused: Vec::new(),
        })
    }
    /// The exact number of records in Salesforce: `SELECT COUNT() FROM object` through
    /// queryAll, so archived activities count, with `WHERE IsDeleted = false` when
    /// `soft_deletes` (the object has `IsDeleted`), so the recycle bin does not.
    async fn count_records(&self, object: &str, soft_deletes: bool) -> Result<u64, PortError>;
    /// Record counts of many objects in few calls, where the org offers that
    /// (`/limits/recordCount`). Salesforce computes them now and then and leaves archived
    /// activities out: estimates, good for choosing an API, never for "in Salesforce"
    /// (that is [`SalesforceApi::count_records`]).
    async fn record_counts(&self, _objects: &[String]) -> Result<BTreeMap<String, u64>, PortError> {
        Ok(BTreeMap::new())
    }
    /// The daily API budget: as the last response reported it, or read from the org when
    /// nothing has been reported yet. `None` when the org does not say.
    async fn api_budget(&self) -> Result<Option<ApiBudget>, PortError>;
    /// The budget read from the org now, never from what an earlier answer said: calls
    /// age out of the rolling 24-hour window while nothing is sent, so a paused run must
    /// look again rather than trust its last figure.
    async fn fresh_api_budget(&self) -> Result<Option<ApiBudget>, PortError> {
        self.api_budget().await
    }
    /// One page of a query: the first page for [`QueryPageRequest::Start`], the next for
    /// [`QueryPageRequest::Continue`] with the cursor the previous page returned.
    async fn query_page(&self, request: QueryPageRequest) -> Result<QueryPage, PortError>;
    /// The first page of a Tooling API query (automation metadata); later pages through
    /// [`QueryPageRequest::Continue`].
    async fn tooling_query(&self, soql: &str) -> Result<QueryPage, PortError>;
    /// A binary field of a record (Attachment `Body`, ContentVersion `VersionData`), or
    /// `None` when it is larger than `max_bytes`, in which case it is not downloaded.
    async fn fetch_blob(
        &self,
        object: &str,
        id: &str,
        field: &str,
        max_bytes: u64,
    ) -> Result<BlobFetch, PortError>;
    /// Creates a Bulk API 2.0 query job (a queryAll job when `include_deleted`).
    async fn start_bulk_query(
        &self,
        soql: &str,
        include_deleted: bool,
    ) -> Result<BulkJobStatus, PortError>;
    async fn bulk_query_status(&self, job: &str) -> Result<BulkJobStatus, PortError>;
    /// One page of a finished job's results, at most `max_records` records; the first page
    /// when `locator` is `None`.
    async fn bulk_query_results(
        &self,
        job: &str,
        locator: Option<&str>,
        max_records: u32,
    ) -> Result<QueryPage, PortError>;
    /// Like [`SalesforceApi::bulk_query_results`], but the page's records are handed to
    /// `chunks` in chunks of at most `chunk_records` as the page is read, so a page of 50k
    /// records costs one call and only a chunk or two of it is in memory. Returns the next
    /// page's locator once every chunk is sent. A page re-read after a failure mid-page
    /// does not send again what was already sent. The default reads the page whole and
    /// splits it; clients that can stream override it.
    async fn bulk_query_results_chunked(
        &self,
        job: &str,
        locator: Option<&str>,
        max_records: u32,
        chunk_records: usize,
        mut chunks: RecordChunks,
    ) -> Result<Option<String>, PortError> {
        use futures::SinkExt as _;
        let page = self.bulk_query_results(job, locator, max_records).await?;
        let mut records = page.records.into_iter().peekable();
        while records.peek().is_some() {
            let chunk: Vec<SourceRecord> = records.by_ref().take(chunk_records.max(1)).collect();
            chunks
                .send(chunk)
                .await
                .map_err(|_| chunks_consumer_gone())?;
        }
        Ok(page.next)
    }
}

/// Where [`SalesforceApi::bulk_query_results_chunked`] sends a page's chunks.
pub type RecordChunks = futures::channel::mpsc::Sender<Vec<SourceRecord>>;

/// The error of a chunked read whose consumer stopped taking chunks (it failed, and its
/// error is the one reported).
pub fn chunks_consumer_gone() -> PortError {
    PortError::permanent("the consumer of a Bulk results page stopped reading it".to_owned())
}

/// A binary field's body, or its size when it is over the cap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlobFetch {
    Fetched(Vec<u8>),
    TooLarge { size: u64 },
}

/// Where a Bulk API query job is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkJobStatus {
    pub job: String,
    pub state: BulkJobState,
    pub records_processed: u64,
    /// Why the job failed, when it did.
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BulkJobState {
    /// Queued or running.
    Running,
    Complete,
    Failed,
    Aborted,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryPageRequest {
    /// A new query; `include_deleted` makes it a queryAll.
    Start {
        soql: String,
        include_deleted: bool,
    },
    Continue {
        cursor: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct QueryPage {
    pub total_size: u64,
    pub records: Vec<SourceRecord>,
    /// Where the next page is; `None` on the last page.
    pub next: Option<String>,
}

/// Blob staging for extracted chunks (and, later, files and reports).
#[async_trait]
pub trait Staging: Send + Sync {
    async fn put(&self, key: &str, body: Vec<u8>) -> Result<(), PortError>;
    async fn get(&self, key: &str) -> Result<Vec<u8>, PortError>;
    /// A short-lived URL a destination can fetch `key` from by itself, when the staging
    /// has one (a presigned S3 GET); `None` when the bytes must be sent along.
    async fn fetch_url(&self, _key: &str) -> Result<Option<String>, PortError> {
        Ok(None)
    }
}

/// Salesforce id to destination id, per tenant and object.
#[async_trait]
pub trait IdMap: Send + Sync {
    async fn lookup(
        &self,
        tenant: &TenantId,
        object: &str,
        ids: &[SalesforceId],
    ) -> Result<HashMap<SalesforceId, DestinationId>, PortError>;

    /// Writes entries; an existing entry keeps the run that created it.
    async fn record(&self, tenant: &TenantId, entries: &[IdMapEntry]) -> Result<(), PortError>;

    /// The stored entries of these ids (created-by run, last run, content hash included):
    /// what a load compares hashes with and what the journal keeps for a rollback.
    async fn entries(
        &self,
        tenant: &TenantId,
        object: &str,
        ids: &[SalesforceId],
    ) -> Result<HashMap<SalesforceId, StoredIdMapEntry>, PortError>;

    /// Removes entries (a rollback of the run that created them, or a record deleted in
    /// Salesforce and in the destination). Removing an absent entry succeeds.
    async fn remove(
        &self,
        tenant: &TenantId,
        object: &str,
        ids: &[SalesforceId],
    ) -> Result<(), PortError>;

    /// Writes entries exactly as given, created-by run included: a rollback puts back what
    /// the journal kept.
    async fn restore(
        &self,
        tenant: &TenantId,
        entries: &[StoredIdMapEntry],
    ) -> Result<(), PortError>;
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdMapEntry {
    pub object: String,
    pub salesforce_id: SalesforceId,
    pub destination_id: DestinationId,
    pub run_id: RunId,
    /// Hash of what was sent, so a later run can tell a changed record from an unchanged one.
    pub content_hash: String,
}

/// A link whose target had not landed when its record was loaded; patched at finalize.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeferredLink {
    pub object: String,
    pub entity: EntityKind,
    pub record: DestinationId,
    pub salesforce_id: SalesforceId,
    pub source_field: String,
    pub link: String,
    pub target_object: String,
    pub target: SalesforceId,
}

/// Everything a run store holds about one run, read back for the report.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecords {
    pub plan: Plan,
    pub extractions: Vec<ObjectExtraction>,
    pub chunks: Vec<ChunkResult>,
    pub link_resolutions: Vec<LinkResolution>,
    /// Deletions of records deleted in Salesforce (delta runs), per object.
    pub deletions: Vec<DeletionResult>,
    /// Read-back after load, per object.
    pub verifications: Vec<ObjectVerification>,
}

/// The state of runs: plan, per-chunk outcomes, deferred links, the history, the journal.
///
/// Adapters do not implement this: they implement the small keyed-document port
/// [`crate::run_store::DocumentStore`], and every document store is a `RunStore` through
/// the one implementation in [`crate::run_store`], where the key layout and the rules (one
/// outcome per chunk, the journal's first write wins) live. A wrapper that is not a
/// document store (a test's fault injector) can still implement it directly.
#[async_trait]
pub trait RunStore: Send + Sync {
    async fn save_plan(&self, run: &RunId, plan: &Plan) -> Result<(), PortError>;
    async fn load_plan(&self, run: &RunId) -> Result<Plan, PortError>;
    async fn record_extraction(
        &self,
        run: &RunId,
        extraction: &ObjectExtraction,
    ) -> Result<(), PortError>;
    /// Stores a chunk's outcome, replacing any earlier outcome of the same chunk.
    async fn record_chunk(&self, run: &RunId, result: &ChunkResult) -> Result<(), PortError>;
    async fn defer_links(&self, run: &RunId, links: &[DeferredLink]) -> Result<(), PortError>;
    async fn deferred_links(&self, run: &RunId) -> Result<Vec<DeferredLink>, PortError>;
    async fn record_link_resolution(
        &self,
        run: &RunId,
        resolution: &LinkResolution,
    ) -> Result<(), PortError>;
    async fn run_records(&self, run: &RunId) -> Result<RunRecords, PortError>;

    /// Creates or replaces a run's line in the history.
    async fn save_run(&self, summary: &RunSummary) -> Result<(), PortError>;
    /// A run's line in the history; `None` for a run never recorded (a dry run, or a run
    /// of a Ferry that kept no history).
    async fn run_summary(&self, run: &RunId) -> Result<Option<RunSummary>, PortError>;
    /// A tenant's runs, oldest first (by [`RunSummary::sequence`]).
    async fn list_runs(&self, tenant: &TenantId) -> Result<Vec<RunSummary>, PortError>;

    /// Journals records before the run changes them. An entry already journaled for the
    /// same (run, object, Salesforce id) is kept, not replaced: the first is the true
    /// "before".
    async fn journal(&self, run: &RunId, entries: &[JournalEntry]) -> Result<(), PortError>;
    /// One page of a run's journal of one object, in Salesforce id order: at most `limit`
    /// entries after `after` (from the start when `None`). An empty page is the end; a
    /// shorter one is not necessarily (a store may cut a page by size).
    async fn journal_entries(
        &self,
        run: &RunId,
        object: &str,
        after: Option<&SalesforceId>,
        limit: usize,
    ) -> Result<Vec<JournalEntry>, PortError>;

    /// Records deleted in Salesforce, to delete from the destination at finalize.
    async fn defer_deletions(
        &self,
        run: &RunId,
        deletions: &[PendingDeletion],
    ) -> Result<(), PortError>;
    async fn pending_deletions(
        &self,
        run: &RunId,
        object: &str,
    ) -> Result<Vec<PendingDeletion>, PortError>;
    /// Replaces the deletion outcome of an object.
    async fn record_deletions(&self, run: &RunId, result: &DeletionResult)
    -> Result<(), PortError>;
    /// Replaces the verification outcome of an object.
    async fn record_verification(
        &self,
        run: &RunId,
        verification: &ObjectVerification,
    ) -> Result<(), PortError>;
    /// Replaces the rollback outcome of an object (stored under the rollback's own run).
    async fn record_rollback(&self, run: &RunId, result: &RollbackObject) -> Result<(), PortError>;
    async fn rollback_results(&self, run: &RunId) -> Result<Vec<RollbackObject>, PortError>;
}

/// One message per staged chunk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkMessage {
    pub run_id: RunId,
    pub tenant: TenantId,
    pub object: String,
    pub chunk: u32,
    /// Staging key of the chunk's JSON Lines body.
    pub key: String,
    pub records: u64,
}

#[async_trait]
pub trait WorkQueue: Send + Sync {
    async fn send(&self, message: &ChunkMessage) -> Result<(), PortError>;
}

/// A work queue that the same process drains: the in-process stand-in for SQS.
#[async_trait]
pub trait LocalQueue: WorkQueue {
    async fn receive(&self) -> Result<Option<ChunkMessage>, PortError>;
}

/// The destination's answer for one record of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum UpsertOutcome {
    Created(DestinationId),
    Updated(DestinationId),
    Rejected { reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkPatch {
    pub record: DestinationId,
    pub link: String,
    pub target: DestinationId,
}

/// A person in the destination CRM who can own records. Salesforce users are matched to
/// these by email; Ferry never creates them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DestinationUser {
    pub id: DestinationId,
    pub email: String,
    pub name: String,
    /// `false`: the person left the company in the source CRM (an inactive Salesforce user
    /// Ferry matched to this user); `true`: still there; absent: not known (no migration
    /// has said).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
}

/// Whether a destination user is still with the company, as the source CRM says: `false`
/// for a person who left (an inactive Salesforce user Ferry matched to this user).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserStatus {
    pub id: DestinationId,
    pub active: bool,
}

/// Where the destination gets a file's bytes.
#[derive(Clone, PartialEq, Eq)]
pub enum FileBody {
    /// The bytes themselves (the embedded path, or a destination that takes uploads).
    Bytes(Vec<u8>),
    /// A URL the destination fetches the bytes from (a presigned S3 URL on the serverless
    /// path), valid for a limited time.
    Url(String),
}

impl std::fmt::Debug for FileBody {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Bytes(bytes) => write!(formatter, "Bytes({} bytes)", bytes.len()),
            // A presigned URL is a bearer credential: never print it.
            Self::Url(_) => formatter.write_str("Url(<redacted>)"),
        }
    }
}

/// The content of a file record: its bytes (or where to fetch them) and what they must hash to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileUpload {
    pub file_name: String,
    pub content_type: Option<String>,
    pub size: u64,
    /// Lower-case hex SHA-256 of the bytes; the destination refuses bytes that do not match.
    pub sha256: String,
    pub body: FileBody,
}

/// The CRM that receives the data. Upserts are keyed by (tenant, Salesforce object,
/// Salesforce id), so sending the same record twice updates it instead of duplicating it.
#[async_trait]
pub trait Destination: Send + Sync {
    async fn ensure_custom_fields(
        &self,
        tenant: &TenantId,
        definitions: &[CustomFieldDefinition],
    ) -> Result<(), PortError>;

    /// One outcome per record, in order.
    async fn upsert(
        &self,
        tenant: &TenantId,
        entity: EntityKind,
        records: &[DestinationRecord],
    ) -> Result<Vec<UpsertOutcome>, PortError>;

    /// Sets links on records that already exist; one result per patch, in order.
    async fn patch_links(
        &self,
        tenant: &TenantId,
        entity: EntityKind,
        patches: &[LinkPatch],
    ) -> Result<Vec<Result<(), String>>, PortError>;

    /// Records by destination id, in order: `None` for an id the destination does not hold.
    /// What comes back is what a later upsert would have to send to leave the record as it
    /// is (standard fields, links and custom fields), so verification can compare it with
    /// what was sent and a rollback can restore it.
    async fn get(
        &self,
        tenant: &TenantId,
        entity: EntityKind,
        ids: &[DestinationId],
    ) -> Result<Vec<Option<DestinationRecord>>, PortError>;

    /// Deletes records, one result per id, in order. Deleting a record that is already gone
    /// succeeds, so a retried delete is harmless; a record other records still link to is
    /// refused with the reason.
    async fn delete(
        &self,
        tenant: &TenantId,
        entity: EntityKind,
        ids: &[DestinationId],
    ) -> Result<Vec<Result<(), String>>, PortError>;

    /// The destination's users, who can own records.
    async fn users(&self, tenant: &TenantId) -> Result<Vec<DestinationUser>, PortError>;

    /// Records, for users Ferry matched, whether the person is still active in the source
    /// CRM (`false`: they left the company); one result per status, in order (an unknown
    /// user is refused with the reason). Setting the same status again is harmless.
    async fn set_user_status(
        &self,
        tenant: &TenantId,
        statuses: &[UserStatus],
    ) -> Result<Vec<Result<(), String>>, PortError>;

    /// Stores the bytes of a file record that already exists. Storing the same bytes again
    /// is harmless.
    async fn put_file(
        &self,
        tenant: &TenantId,
        entity: EntityKind,
        record: &DestinationId,
        upload: FileUpload,
    ) -> Result<(), PortError>;
}

/// Waits for a while: tokio's sleep in a process, a no-op in tests that only count waits.
#[async_trait]
pub trait Sleeper: Send + Sync {
    async fn sleep(&self, duration: std::time::Duration);
}

/// Receives progress events. Called inline, so an implementation must be quick.
pub trait Progress: Send + Sync {
    fn event(&self, event: ProgressEvent);
}

/// Progress that goes nowhere.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn event(&self, _event: ProgressEvent) {}
}
