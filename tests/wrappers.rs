//! Port wrappers for tests: count calls, fail or panic after N calls (a crash at any point
//! of a run), corrupt what the destination stores, and change what the Salesforce client
//! reads ([`Reader`]).

use async_trait::async_trait;
use ferry_model::PortError;
use ferry_model::budget::ApiBudget;
use ferry_model::ids::{DestinationId, RunId, SalesforceId, TenantId};
use ferry_model::mapping::EntityKind;
use ferry_model::model::{ObjectDescription, ObjectSummary};
use ferry_model::plan::{CustomFieldDefinition, Plan};
use ferry_model::ports::{
    BlobFetch, BulkJobStatus, DeferredLink, Descriptions, Destination, DestinationUser, FileUpload,
    IdMap, IdMapEntry, LinkPatch, QueryPage, QueryPageRequest, RunRecords, RunStore, SalesforceApi,
    UpsertOutcome, UserStatus,
};
use ferry_model::records::DestinationRecord;
use ferry_model::report::{ChunkResult, LinkResolution, ObjectExtraction};
use ferry_model::runs::{
    DeletionResult, JournalEntry, ObjectVerification, PendingDeletion, RollbackObject, RunSummary,
    StoredIdMapEntry,
};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Where a failure is injected: before the N-th call reaches the adapter, or after the
/// adapter did the work but before the caller hears the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailPoint {
    Before,
    After,
}

/// A shared call counter and, optionally, the call at which every port starts failing.
#[derive(Debug, Default)]
pub struct Faults {
    calls: AtomicU64,
    destination_writes: AtomicU64,
    records_sent: AtomicU64,
    fail_at: Option<(u64, FailPoint, bool)>,
}

impl Faults {
    pub fn counting() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// From call `n` (1-based) on, every call fails; with `panic`, it panics instead of
    /// returning an error (run the migration in a spawned task to see a crash).
    pub fn failing_at(n: u64, point: FailPoint, panic: bool) -> Arc<Self> {
        Arc::new(Self {
            fail_at: Some((n, point, panic)),
            ..Self::default()
        })
    }

    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }

    /// Destination calls that write (upsert, patch, delete, put_file).
    pub fn destination_writes(&self) -> u64 {
        self.destination_writes.load(Ordering::SeqCst)
    }

    /// Records sent in upserts.
    pub fn records_sent(&self) -> u64 {
        self.records_sent.load(Ordering::SeqCst)
    }

    fn check(&self, number: u64, point: FailPoint, what: &str) -> Result<(), PortError> {
        match self.fail_at {
            Some((at, fail_point, panic)) if number >= at && fail_point == point => {
                if panic {
                    panic!("injected crash at call {number} ({what})");
                }
                Err(PortError::permanent(format!(
                    "injected failure at call {number} ({what})"
                )))
            }
            _ => Ok(()),
        }
    }

    async fn around<T, F>(&self, what: &str, work: F) -> Result<T, PortError>
    where
        F: std::future::Future<Output = Result<T, PortError>>,
    {
        let number = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        self.check(number, FailPoint::Before, what)?;
        let answer = work.await?;
        self.check(number, FailPoint::After, what)?;
        Ok(answer)
    }
}

/// A port with faults injected.
pub struct Faulty<T> {
    pub inner: T,
    pub faults: Arc<Faults>,
}

impl<T> Faulty<T> {
    pub fn new(inner: T, faults: Arc<Faults>) -> Self {
        Self { inner, faults }
    }
}

#[async_trait]
impl<T: Destination> Destination for Faulty<T> {
    async fn ensure_custom_fields(
        &self,
        tenant: &TenantId,
        definitions: &[CustomFieldDefinition],
    ) -> Result<(), PortError> {
        self.faults
            .around(
                "ensure_custom_fields",
                self.inner.ensure_custom_fields(tenant, definitions),
            )
            .await
    }
    async fn upsert(
        &self,
        tenant: &TenantId,
        entity: EntityKind,
        records: &[DestinationRecord],
    ) -> Result<Vec<UpsertOutcome>, PortError> {
        self.faults
            .destination_writes
            .fetch_add(1, Ordering::SeqCst);
        self.faults
            .records_sent
            .fetch_add(records.len() as u64, Ordering::SeqCst);
        self.faults
            .around("upsert", self.inner.upsert(tenant, entity, records))
            .await
    }
    async fn patch_links(
        &self,
        tenant: &TenantId,
        entity: EntityKind,
        patches: &[LinkPatch],
    ) -> Result<Vec<Result<(), String>>, PortError> {
        self.faults
            .destination_writes
            .fetch_add(1, Ordering::SeqCst);
        self.faults
            .around(
                "patch_links",
                self.inner.patch_links(tenant, entity, patches),
            )
            .await
    }
    async fn get(
        &self,
        tenant: &TenantId,
        entity: EntityKind,
        ids: &[DestinationId],
    ) -> Result<Vec<Option<DestinationRecord>>, PortError> {
        self.faults
            .around("get", self.inner.get(tenant, entity, ids))
            .await
    }
    async fn delete(
        &self,
        tenant: &TenantId,
        entity: EntityKind,
        ids: &[DestinationId],
    ) -> Result<Vec<Result<(), String>>, PortError> {
        self.faults
            .destination_writes
            .fetch_add(1, Ordering::SeqCst);
        self.faults
            .around("delete", self.inner.delete(tenant, entity, ids))
            .await
    }
    async fn users(&self, tenant: &TenantId) -> Result<Vec<DestinationUser>, PortError> {
        self.faults.around("users", self.inner.users(tenant)).await
    }
    async fn set_user_status(
        &self,
        tenant: &TenantId,
        statuses: &[UserStatus],
    ) -> Result<Vec<Result<(), String>>, PortError> {
        self.faults
            .around(
                "set_user_status",
                self.inner.set_user_status(tenant, statuses),
            )
            .await
    }
    async fn put_file(
        &self,
        tenant: &TenantId,
        entity: EntityKind,
        record: &DestinationId,
        upload: FileUpload,
    ) -> Result<(), PortError> {
        self.faults
            .destination_writes
            .fetch_add(1, Ordering::SeqCst);
        self.faults
            .around(
                "put_file",
                self.inner.put_file(tenant, entity, record, upload),
            )
            .await
    }
}

#[async_trait]
impl<T: IdMap> IdMap for Faulty<T> {
    async fn lookup(
        &self,
        tenant: &TenantId,
        object: &str,
        ids: &[SalesforceId],
    ) -> Result<HashMap<SalesforceId, DestinationId>, PortError> {
        self.faults
            .around("lookup", self.inner.lookup(tenant, object, ids))
            .await
    }
    async fn record(&self, tenant: &TenantId, entries: &[IdMapEntry]) -> Result<(), PortError> {
        self.faults
            .around("record", self.inner.record(tenant, entries))
            .await
    }
    async fn entries(
        &self,
        tenant: &TenantId,
        object: &str,
        ids: &[SalesforceId],
    ) -> Result<HashMap<SalesforceId, StoredIdMapEntry>, PortError> {
        self.faults
            .around("entries", self.inner.entries(tenant, object, ids))
            .await
    }
    async fn remove(
        &self,
        tenant: &TenantId,
        object: &str,
        ids: &[SalesforceId],
    ) -> Result<(), PortError> {
        self.faults
            .around("remove", self.inner.remove(tenant, object, ids))
            .await
    }
    async fn restore(
        &self,
        tenant: &TenantId,
        entries: &[StoredIdMapEntry],
    ) -> Result<(), PortError> {
        self.faults
            .around("restore", self.inner.restore(tenant, entries))
            .await
    }
}

#[async_trait]
impl<T: RunStore> RunStore for Faulty<T> {
    async fn save_plan(&self, run: &RunId, plan: &Plan) -> Result<(), PortError> {
        self.faults
            .around("save_plan", self.inner.save_plan(run, plan))
            .await
    }
    async fn load_plan(&self, run: &RunId) -> Result<Plan, PortError> {
        self.faults
            .around("load_plan", self.inner.load_plan(run))
            .await
    }
    async fn record_extraction(
        &self,
        run: &RunId,
        extraction: &ObjectExtraction,
    ) -> Result<(), PortError> {
        self.faults
            .around(
                "record_extraction",
                self.inner.record_extraction(run, extraction),
            )
            .await
    }
    async fn record_chunk(&self, run: &RunId, result: &ChunkResult) -> Result<(), PortError> {
        self.faults
            .around("record_chunk", self.inner.record_chunk(run, result))
            .await
    }
    async fn defer_links(&self, run: &RunId, links: &[DeferredLink]) -> Result<(), PortError> {
        self.faults
            .around("defer_links", self.inner.defer_links(run, links))
            .await
    }
    async fn deferred_links(&self, run: &RunId) -> Result<Vec<DeferredLink>, PortError> {
        self.faults
            .around("deferred_links", self.inner.deferred_links(run))
            .await
    }
    async fn record_link_resolution(
        &self,
        run: &RunId,
        resolution: &LinkResolution,
    ) -> Result<(), PortError> {
        self.faults
            .around(
                "record_link_resolution",
                self.inner.record_link_resolution(run, resolution),
            )
            .await
    }
    async fn run_records(&self, run: &RunId) -> Result<RunRecords, PortError> {
        self.faults
            .around("run_records", self.inner.run_records(run))
            .await
    }
    async fn save_run(&self, summary: &RunSummary) -> Result<(), PortError> {
        self.faults
            .around("save_run", self.inner.save_run(summary))
            .await
    }
    async fn run_summary(&self, run: &RunId) -> Result<Option<RunSummary>, PortError> {
        self.faults
            .around("run_summary", self.inner.run_summary(run))
            .await
    }
    async fn list_runs(&self, tenant: &TenantId) -> Result<Vec<RunSummary>, PortError> {
        self.faults
            .around("list_runs", self.inner.list_runs(tenant))
            .await
    }
    async fn journal(&self, run: &RunId, entries: &[JournalEntry]) -> Result<(), PortError> {
        self.faults
            .around("journal", self.inner.journal(run, entries))
            .await
    }
    async fn journal_entries(
        &self,
        run: &RunId,
        object: &str,
        after: Option<&SalesforceId>,
        limit: usize,
    ) -> Result<Vec<JournalEntry>, PortError> {
        self.faults
            .around(
                "journal_entries",
                self.inner.journal_entries(run, object, after, limit),
            )
            .await
    }
    async fn defer_deletions(
        &self,
        run: &RunId,
        deletions: &[PendingDeletion],
    ) -> Result<(), PortError> {
        self.faults
            .around(
                "defer_deletions",
                self.inner.defer_deletions(run, deletions),
            )
            .await
    }
    async fn pending_deletions(
        &self,
        run: &RunId,
        object: &str,
    ) -> Result<Vec<PendingDeletion>, PortError> {
        self.faults
            .around(
                "pending_deletions",
                self.inner.pending_deletions(run, object),
            )
            .await
    }
    async fn record_deletions(
        &self,
        run: &RunId,
        result: &DeletionResult,
    ) -> Result<(), PortError> {
        self.faults
            .around("record_deletions", self.inner.record_deletions(run, result))
            .await
    }
    async fn record_verification(
        &self,
        run: &RunId,
        verification: &ObjectVerification,
    ) -> Result<(), PortError> {
        self.faults
            .around(
                "record_verification",
                self.inner.record_verification(run, verification),
            )
            .await
    }
    async fn record_rollback(&self, run: &RunId, result: &RollbackObject) -> Result<(), PortError> {
        self.faults
            .around("record_rollback", self.inner.record_rollback(run, result))
            .await
    }
    async fn rollback_results(&self, run: &RunId) -> Result<Vec<RollbackObject>, PortError> {
        self.faults
            .around("rollback_results", self.inner.rollback_results(run))
            .await
    }
}

/// A destination that stores one field wrong: `field` of every record of `entity` is
/// replaced by `value` on the way in, as a destination with a bad normaliser would.
pub struct Corrupting<T> {
    pub inner: T,
    pub entity: EntityKind,
    pub field: String,
    pub value: serde_json::Value,
}

#[async_trait]
impl<T: Destination> Destination for Corrupting<T> {
    async fn ensure_custom_fields(
        &self,
        tenant: &TenantId,
        definitions: &[CustomFieldDefinition],
    ) -> Result<(), PortError> {
        self.inner.ensure_custom_fields(tenant, definitions).await
    }
    async fn upsert(
        &self,
        tenant: &TenantId,
        entity: EntityKind,
        records: &[DestinationRecord],
    ) -> Result<Vec<UpsertOutcome>, PortError> {
        if entity != self.entity {
            return self.inner.upsert(tenant, entity, records).await;
        }
        let altered: Vec<DestinationRecord> = records
            .iter()
            .map(|record| {
                let mut record = record.clone();
                record.fields.insert(self.field.clone(), self.value.clone());
                record
            })
            .collect();
        self.inner.upsert(tenant, entity, &altered).await
    }
    async fn patch_links(
        &self,
        tenant: &TenantId,
        entity: EntityKind,
        patches: &[LinkPatch],
    ) -> Result<Vec<Result<(), String>>, PortError> {
        self.inner.patch_links(tenant, entity, patches).await
    }
    async fn get(
        &self,
        tenant: &TenantId,
        entity: EntityKind,
        ids: &[DestinationId],
    ) -> Result<Vec<Option<DestinationRecord>>, PortError> {
        self.inner.get(tenant, entity, ids).await
    }
    async fn delete(
        &self,
        tenant: &TenantId,
        entity: EntityKind,
        ids: &[DestinationId],
    ) -> Result<Vec<Result<(), String>>, PortError> {
        self.inner.delete(tenant, entity, ids).await
    }
    async fn users(&self, tenant: &TenantId) -> Result<Vec<DestinationUser>, PortError> {
        self.inner.users(tenant).await
    }
    async fn set_user_status(
        &self,
        tenant: &TenantId,
        statuses: &[UserStatus],
    ) -> Result<Vec<Result<(), String>>, PortError> {
        self.inner.set_user_status(tenant, statuses).await
    }
    async fn put_file(
        &self,
        tenant: &TenantId,
        entity: EntityKind,
        record: &DestinationId,
        upload: FileUpload,
    ) -> Result<(), PortError> {
        self.inner.put_file(tenant, entity, record, upload).await
    }
}

/// What a [`Reader`] changes of the real client's answers: a reader with a bug, or an org
/// with data the simulator does not generate. Each method's default passes the call through.
pub trait Reading: Send + Sync {
    /// Whether a query Ferry sends through queryAll (`asked`) goes through it; `false` is
    /// the blind `query`, which does not see archived activities.
    fn include_deleted(&self, asked: bool) -> bool {
        asked
    }

    /// The page handed back. `soql` is the query a first REST page answers; `None` for a
    /// later REST page or a Bulk result page.
    fn page(&self, soql: Option<&str>, page: QueryPage) -> QueryPage {
        let _ = soql;
        page
    }
}

/// The real Salesforce client (`inner`) with its query answers changed by `reading`; every
/// other call goes through as it is.
pub struct Reader<S, R> {
    pub inner: S,
    pub reading: R,
}

#[async_trait]
impl<S: SalesforceApi, R: Reading> SalesforceApi for Reader<S, R> {
    async fn list_objects(&self) -> Result<Vec<ObjectSummary>, PortError> {
        self.inner.list_objects().await
    }
    async fn describe_object(&self, name: &str) -> Result<ObjectDescription, PortError> {
        self.inner.describe_object(name).await
    }
    async fn describe_objects(&self, names: &[String]) -> Result<Descriptions, PortError> {
        self.inner.describe_objects(names).await
    }
    async fn count_records(&self, object: &str, soft_deletes: bool) -> Result<u64, PortError> {
        self.inner.count_records(object, soft_deletes).await
    }
    async fn record_counts(&self, objects: &[String]) -> Result<BTreeMap<String, u64>, PortError> {
        self.inner.record_counts(objects).await
    }
    async fn api_budget(&self) -> Result<Option<ApiBudget>, PortError> {
        self.inner.api_budget().await
    }
    async fn fresh_api_budget(&self) -> Result<Option<ApiBudget>, PortError> {
        self.inner.fresh_api_budget().await
    }
    async fn query_page(&self, request: QueryPageRequest) -> Result<QueryPage, PortError> {
        let (request, soql) = match request {
            QueryPageRequest::Start {
                soql,
                include_deleted,
            } => (
                QueryPageRequest::Start {
                    soql: soql.clone(),
                    include_deleted: self.reading.include_deleted(include_deleted),
                },
                Some(soql),
            ),
            more => (more, None),
        };
        let page = self.inner.query_page(request).await?;
        Ok(self.reading.page(soql.as_deref(), page))
    }
    async fn tooling_query(&self, soql: &str) -> Result<QueryPage, PortError> {
        self.inner.tooling_query(soql).await
    }
    async fn fetch_blob(
        &self,
        object: &str,
        id: &str,
        field: &str,
        max_bytes: u64,
    ) -> Result<BlobFetch, PortError> {
        self.inner.fetch_blob(object, id, field, max_bytes).await
    }
    async fn start_bulk_query(
        &self,
        soql: &str,
        include_deleted: bool,
    ) -> Result<BulkJobStatus, PortError> {
        let include_deleted = self.reading.include_deleted(include_deleted);
        self.inner.start_bulk_query(soql, include_deleted).await
    }
    async fn bulk_query_status(&self, job: &str) -> Result<BulkJobStatus, PortError> {
        self.inner.bulk_query_status(job).await
    }
    // Not `bulk_query_results_chunked`: its default reads through this, so the pages it
    // streams are changed too.
    async fn bulk_query_results(
        &self,
        job: &str,
        locator: Option<&str>,
        max_records: u32,
    ) -> Result<QueryPage, PortError> {
        let page = self
            .inner
            .bulk_query_results(job, locator, max_records)
            .await?;
        Ok(self.reading.page(None, page))
    }
}
