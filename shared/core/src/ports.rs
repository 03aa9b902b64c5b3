//! The ports: small traits the pipeline steps talk through. Each has an embedded adapter
//! (SQLite, local files, in-process) and, where the serverless path needs one, an AWS adapter.

use crate::error::PortError;
use crate::ids::{DestinationId, RunId, SalesforceId, TenantId};
use crate::mapping::EntityKind;
use crate::model::{ObjectDescription, ObjectSummary, SourceRecord};
use crate::plan::{CustomFieldDefinition, Plan};
use crate::report::{ChunkResult, LinkResolution, ObjectExtraction};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// Read-only access to a Salesforce org.
#[async_trait]
pub trait SalesforceApi: Send + Sync {
    /// describeGlobal.
    async fn list_objects(&self) -> Result<Vec<ObjectSummary>, PortError>;
    async fn describe_object(&self, name: &str) -> Result<ObjectDescription, PortError>;
    /// `SELECT COUNT() FROM object`.
    async fn count_records(&self, object: &str) -> Result<u64, PortError>;
    /// One page of a query: the first page for [`QueryPageRequest::Start`], the next for
    /// [`QueryPageRequest::Continue`] with the cursor the previous page returned.
    async fn query_page(&self, request: QueryPageRequest) -> Result<QueryPage, PortError>;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryPageRequest {
    Start { soql: String },
    Continue { cursor: String },
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

    async fn record(&self, tenant: &TenantId, entries: &[IdMapEntry]) -> Result<(), PortError>;
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
}

/// The state of runs: plan, per-chunk outcomes, deferred links.
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

/// A record as the destination receives it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DestinationRecord {
    pub source_object: String,
    pub source_id: SalesforceId,
    pub fields: BTreeMap<String, serde_json::Value>,
    pub links: BTreeMap<String, DestinationId>,
    pub custom_fields: BTreeMap<String, serde_json::Value>,
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
}
