//! [`RunStore`] for every [`DocumentStore`]: each typed method is a key from the layout in
//! the module docs and one or two document calls.

use super::{Document, DocumentKey, DocumentPrefix, DocumentRange, DocumentStore};
use crate::error::{ErrorClass, PortError};
use crate::ids::{RunId, SalesforceId, TenantId};
use crate::plan::Plan;
use crate::ports::{DeferredLink, RunRecords, RunStore};
use crate::report::{ChunkResult, LinkResolution, ObjectExtraction};
use crate::runs::{
    DeletionResult, JournalEntry, ObjectVerification, PendingDeletion, RollbackObject, RunSummary,
};
use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashSet;

fn document(key: DocumentKey, value: &impl Serialize) -> Result<Document, PortError> {
    let body = serde_json::to_string(value).map_err(|error| {
        PortError::with_source(ErrorClass::Permanent, format!("serialising {key}"), error)
    })?;
    Ok(Document { key, body })
}

fn decode<T: DeserializeOwned>(key: &DocumentKey, body: &str) -> Result<T, PortError> {
    serde_json::from_str(body).map_err(|error| {
        PortError::with_source(
            ErrorClass::Permanent,
            format!("the run store holds an unreadable document {key}"),
            error,
        )
    })
}

/// The documents of `values`, each key once. With `keep_first`, the first value of a
/// repeated key is kept (the journal: the first is the true "before"); otherwise the last,
/// as writing them one after another would leave it. Done here so that every adapter can
/// write a batch in any order, concurrently included, and still agree.
fn batch<T: Serialize>(
    values: &[T],
    key_of: impl Fn(&T) -> DocumentKey,
    keep_first: bool,
) -> Result<Vec<Document>, PortError> {
    let mut seen = HashSet::with_capacity(values.len());
    let mut documents = Vec::with_capacity(values.len());
    let mut add = |value: &T| -> Result<(), PortError> {
        let key = key_of(value);
        if seen.insert(key.clone()) {
            documents.push(document(key, value)?);
        }
        Ok(())
    };
    if keep_first {
        values.iter().try_for_each(&mut add)?;
    } else {
        values.iter().rev().try_for_each(&mut add)?;
        documents.reverse();
    }
    Ok(documents)
}

async fn put_one<S: DocumentStore + ?Sized>(
    store: &S,
    key: DocumentKey,
    value: &impl Serialize,
) -> Result<(), PortError> {
    let document = document(key, value)?;
    store.put_documents(vec![document]).await
}

async fn get_one<S: DocumentStore + ?Sized, T: DeserializeOwned>(
    store: &S,
    key: DocumentKey,
) -> Result<Option<T>, PortError> {
    match store.get_document(&key).await? {
        Some(body) => decode(&key, &body).map(Some),
        None => Ok(None),
    }
}

async fn list<S: DocumentStore + ?Sized, T: DeserializeOwned>(
    store: &S,
    range: DocumentRange,
) -> Result<Vec<T>, PortError> {
    store
        .list_documents(&range)
        .await?
        .iter()
        .map(|document| decode(&document.key, &document.body))
        .collect()
}

async fn list_all<S: DocumentStore + ?Sized, T: DeserializeOwned>(
    store: &S,
    prefix: DocumentPrefix,
) -> Result<Vec<T>, PortError> {
    list(store, DocumentRange::all(prefix)).await
}

#[async_trait]
impl<S: DocumentStore + ?Sized> RunStore for S {
    async fn save_plan(&self, run: &RunId, plan: &Plan) -> Result<(), PortError> {
        put_one(self, DocumentKey::plan(run), plan).await
    }

    async fn load_plan(&self, run: &RunId) -> Result<Plan, PortError> {
        get_one(self, DocumentKey::plan(run))
            .await?
            .ok_or_else(|| PortError::permanent(format!("run {run} has no plan in the run store")))
    }

    async fn record_extraction(
        &self,
        run: &RunId,
        extraction: &ObjectExtraction,
    ) -> Result<(), PortError> {
        put_one(
            self,
            DocumentKey::extraction(run, &extraction.object),
            extraction,
        )
        .await
    }

    async fn record_chunk(&self, run: &RunId, result: &ChunkResult) -> Result<(), PortError> {
        put_one(
            self,
            DocumentKey::chunk(run, &result.object, result.chunk),
            result,
        )
        .await
    }

    async fn defer_links(&self, run: &RunId, links: &[DeferredLink]) -> Result<(), PortError> {
        let documents = batch(
            links,
            |link| DocumentKey::deferred_link(run, &link.object, &link.salesforce_id, &link.link),
            false,
        )?;
        self.put_documents(documents).await
    }

    async fn deferred_links(&self, run: &RunId) -> Result<Vec<DeferredLink>, PortError> {
        list_all(self, DocumentPrefix::deferred_links(run)).await
    }

    async fn record_link_resolution(
        &self,
        run: &RunId,
        resolution: &LinkResolution,
    ) -> Result<(), PortError> {
        put_one(
            self,
            DocumentKey::link_resolution(run, &resolution.object),
            resolution,
        )
        .await
    }

    async fn run_records(&self, run: &RunId) -> Result<RunRecords, PortError> {
        Ok(RunRecords {
            plan: self.load_plan(run).await?,
            extractions: list_all(self, DocumentPrefix::extractions(run)).await?,
            chunks: list_all(self, DocumentPrefix::chunks(run)).await?,
            link_resolutions: list_all(self, DocumentPrefix::link_resolutions(run)).await?,
            deletions: list_all(self, DocumentPrefix::deletions(run)).await?,
            verifications: list_all(self, DocumentPrefix::verifications(run)).await?,
        })
    }

    async fn save_run(&self, summary: &RunSummary) -> Result<(), PortError> {
        // Both copies at once: the history is what `migrate` and `rollback` decide from, the
        // run's own copy what a run id alone finds, and a crash between two separate writes
        // would leave them telling different stories about the run's status.
        let documents = vec![
            document(DocumentKey::run_summary(&summary.run_id), summary)?,
            document(
                DocumentKey::run_history_line(&summary.tenant, summary.sequence, &summary.run_id),
                summary,
            )?,
        ];
        self.put_documents_together(documents).await
    }

    async fn run_summary(&self, run: &RunId) -> Result<Option<RunSummary>, PortError> {
        get_one(self, DocumentKey::run_summary(run)).await
    }

    async fn list_runs(&self, tenant: &TenantId) -> Result<Vec<RunSummary>, PortError> {
        list_all(self, DocumentPrefix::run_history(tenant)).await
    }

    async fn journal(&self, run: &RunId, entries: &[JournalEntry]) -> Result<(), PortError> {
        // First write wins, within the batch (`batch` keeps the first of a repeated record)
        // and against what is stored (`put_documents_if_absent`).
        let documents = batch(
            entries,
            |entry| DocumentKey::journal_entry(run, &entry.object, &entry.salesforce_id),
            true,
        )?;
        self.put_documents_if_absent(documents).await
    }

    async fn journal_entries(
        &self,
        run: &RunId,
        object: &str,
        after: Option<&SalesforceId>,
        limit: usize,
    ) -> Result<Vec<JournalEntry>, PortError> {
        let after = after.map(|id| {
            DocumentKey::journal_entry(run, object, id)
                .sort()
                .to_owned()
        });
        list(
            self,
            DocumentRange::page(DocumentPrefix::journal(run, object), after, limit),
        )
        .await
    }

    async fn defer_deletions(
        &self,
        run: &RunId,
        deletions: &[PendingDeletion],
    ) -> Result<(), PortError> {
        let documents = batch(
            deletions,
            |deletion| {
                DocumentKey::pending_deletion(run, &deletion.object, &deletion.salesforce_id)
            },
            false,
        )?;
        self.put_documents(documents).await
    }

    async fn pending_deletions(
        &self,
        run: &RunId,
        object: &str,
    ) -> Result<Vec<PendingDeletion>, PortError> {
        list_all(self, DocumentPrefix::pending_deletions(run, object)).await
    }

    async fn record_deletions(
        &self,
        run: &RunId,
        result: &DeletionResult,
    ) -> Result<(), PortError> {
        put_one(self, DocumentKey::deletions(run, &result.object), result).await
    }

    async fn record_verification(
        &self,
        run: &RunId,
        verification: &ObjectVerification,
    ) -> Result<(), PortError> {
        put_one(
            self,
            DocumentKey::verification(run, &verification.object),
            verification,
        )
        .await
    }

    async fn record_rollback(&self, run: &RunId, result: &RollbackObject) -> Result<(), PortError> {
        put_one(self, DocumentKey::rollback(run, &result.object), result).await
    }

    async fn rollback_results(&self, run: &RunId) -> Result<Vec<RollbackObject>, PortError> {
        list_all(self, DocumentPrefix::rollbacks(run)).await
    }
}

#[cfg(test)]
mod tests {
    use super::super::{InMemoryDocumentStore, check_document_store, sample_summary};
    use super::*;
    use crate::ids::DestinationId;
    use crate::mapping::EntityKind;
    use crate::runs::{JournalAction, RunStatus};
    use futures::executor::block_on;
    use std::sync::Mutex;

    fn account_id(index: u32) -> SalesforceId {
        SalesforceId::parse(&format!("001Dn{index:010}")).unwrap_or_else(|error| panic!("{error}"))
    }

    fn ok<T>(result: Result<T, PortError>) -> T {
        result.unwrap_or_else(|error| panic!("{}", error.chain()))
    }

    fn plan(tenant: &str) -> Plan {
        Plan {
            tenant: TenantId::new(tenant),
            objects: vec![],
            notes: vec![],
            validation: Default::default(),
            default_owner: None,
            merge_leads_by_email: false,
            delta: false,
            queue_owners: Default::default(),
        }
    }

    fn summary(run: &str, sequence: u64, status: RunStatus) -> RunSummary {
        sample_summary(&TenantId::new("acme"), run, sequence, status)
    }

    fn journal_entry(object: &str, index: u32, action: JournalAction) -> JournalEntry {
        JournalEntry {
            object: object.to_owned(),
            entity: EntityKind::Company,
            salesforce_id: account_id(index),
            action,
            previous_entry: None,
            previous_record: None,
        }
    }

    fn chunk(object: &str, chunk: u32, created: u64) -> ChunkResult {
        ChunkResult {
            object: object.to_owned(),
            chunk,
            records: created,
            created,
            updated: 0,
            skipped: 0,
            failed: 0,
            unchanged: 0,
            deleted_in_salesforce: 0,
            deferred_links: 0,
            issues: vec![],
        }
    }

    #[test]
    fn the_in_memory_store_keeps_the_port_contract() {
        let store = InMemoryDocumentStore::new();
        if let Err(failure) = block_on(check_document_store(&store)) {
            panic!("{}", failure.chain());
        }
    }

    #[test]
    fn the_first_journal_entry_of_a_record_wins_within_a_batch_and_across_batches() {
        let store = InMemoryDocumentStore::new();
        let run = RunId::new("run-1");
        ok(block_on(store.journal(
            &run,
            &[
                journal_entry("Account", 1, JournalAction::Created),
                journal_entry("Account", 1, JournalAction::Updated),
            ],
        )));
        ok(block_on(store.journal(
            &run,
            &[
                journal_entry("Account", 1, JournalAction::Deleted),
                journal_entry("Account", 2, JournalAction::Updated),
            ],
        )));
        assert_eq!(
            ok(block_on(store.journal_entries(&run, "Account", None, 10))),
            vec![
                journal_entry("Account", 1, JournalAction::Created),
                journal_entry("Account", 2, JournalAction::Updated),
            ]
        );
    }

    #[test]
    fn the_journal_pages_in_id_order_per_object_and_run() {
        let store = InMemoryDocumentStore::new();
        let run = RunId::new("run-1");
        let entries: Vec<JournalEntry> = [5, 1, 4, 2, 3]
            .into_iter()
            .map(|index| journal_entry("Account", index, JournalAction::Created))
            .collect();
        ok(block_on(store.journal(&run, &entries)));
        // Neighbours that must not show: an object whose name extends this one's, another
        // run whose id extends this one's, and the same object in another run.
        ok(block_on(store.journal(
            &run,
            &[journal_entry("AccountTeam", 9, JournalAction::Created)],
        )));
        ok(block_on(store.journal(
            &RunId::new("run-10"),
            &[journal_entry("Account", 8, JournalAction::Created)],
        )));
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = ok(block_on(store.journal_entries(
                &run,
                "Account",
                after.as_ref(),
                2,
            )));
            let Some(last) = page.last() else { break };
            after = Some(last.salesforce_id.clone());
            seen.extend(page.into_iter().map(|entry| entry.salesforce_id));
        }
        assert_eq!(seen, (1..=5).map(account_id).collect::<Vec<_>>());
        assert!(ok(block_on(store.journal_entries(&run, "Acc", None, 10))).is_empty());
    }

    #[test]
    fn a_run_reads_back_one_outcome_per_chunk_in_object_and_chunk_order() {
        let store = InMemoryDocumentStore::new();
        let run = RunId::new("run-1");
        assert!(block_on(store.load_plan(&run)).is_err());
        assert!(block_on(store.run_records(&run)).is_err());
        ok(block_on(store.save_plan(&run, &plan("acme"))));
        for result in [
            chunk("Contact", 0, 1),
            chunk("Account", 10, 1),
            chunk("Account", 2, 1),
            chunk("Account_Team__c", 0, 1),
            chunk("Account", 2, 7),
        ] {
            ok(block_on(store.record_chunk(&run, &result)));
        }
        ok(block_on(store.record_chunk(
            &RunId::new("run-1-rollback"),
            &chunk("Account", 0, 1),
        )));
        for object in ["Contact", "Account"] {
            ok(block_on(store.record_extraction(
                &run,
                &ObjectExtraction {
                    object: object.to_owned(),
                    extracted: 1,
                    chunks: 1,
                    api: None,
                    fallback: None,
                    high_water_mark: None,
                },
            )));
        }
        let records = ok(block_on(store.run_records(&run)));
        assert_eq!(records.plan, plan("acme"));
        assert_eq!(
            records.chunks,
            vec![
                chunk("Account", 2, 7),
                chunk("Account", 10, 1),
                chunk("Account_Team__c", 0, 1),
                chunk("Contact", 0, 1),
            ]
        );
        assert_eq!(
            records
                .extractions
                .iter()
                .map(|extraction| extraction.object.as_str())
                .collect::<Vec<_>>(),
            vec!["Account", "Contact"]
        );
        assert!(records.link_resolutions.is_empty());
        assert!(records.deletions.is_empty());
        assert!(records.verifications.is_empty());
    }

    #[test]
    fn deferred_links_and_deletions_keep_the_last_of_a_repeated_record() {
        let store = InMemoryDocumentStore::new();
        let run = RunId::new("run-1");
        let link = |index: u32, record: &str| DeferredLink {
            object: "Account".to_owned(),
            entity: EntityKind::Company,
            record: DestinationId::new(record),
            salesforce_id: account_id(index),
            source_field: "ParentId".to_owned(),
            link: "parent_company".to_owned(),
            target_object: "Account".to_owned(),
            target: account_id(index + 1),
        };
        ok(block_on(store.defer_links(
            &run,
            &[link(2, "first"), link(1, "one"), link(2, "second")],
        )));
        assert_eq!(
            ok(block_on(store.deferred_links(&run))),
            vec![link(1, "one"), link(2, "second")]
        );
        let deletion = |object: &str, index: u32| PendingDeletion {
            object: object.to_owned(),
            entity: EntityKind::Company,
            salesforce_id: account_id(index),
            destination_id: DestinationId::new(index.to_string()),
        };
        ok(block_on(store.defer_deletions(
            &run,
            &[
                deletion("Account", 3),
                deletion("AccountX", 1),
                deletion("Account", 1),
            ],
        )));
        assert_eq!(
            ok(block_on(store.pending_deletions(&run, "Account"))),
            vec![deletion("Account", 1), deletion("Account", 3)]
        );
    }

    /// Records which write each call used, over the in-memory store.
    #[derive(Default)]
    struct Recording {
        inner: InMemoryDocumentStore,
        calls: Mutex<Vec<(&'static str, usize)>>,
    }

    impl Recording {
        fn note(&self, call: &'static str, documents: usize) {
            if let Ok(mut calls) = self.calls.lock() {
                calls.push((call, documents));
            }
        }
    }

    #[async_trait]
    impl DocumentStore for Recording {
        async fn get_document(&self, key: &DocumentKey) -> Result<Option<String>, PortError> {
            self.inner.get_document(key).await
        }
        async fn put_documents(&self, documents: Vec<Document>) -> Result<(), PortError> {
            self.note("put", documents.len());
            self.inner.put_documents(documents).await
        }
        async fn put_documents_if_absent(&self, documents: Vec<Document>) -> Result<(), PortError> {
            self.note("put_if_absent", documents.len());
            self.inner.put_documents_if_absent(documents).await
        }
        async fn put_documents_together(&self, documents: Vec<Document>) -> Result<(), PortError> {
            self.note("put_together", documents.len());
            self.inner.put_documents_together(documents).await
        }
        async fn list_documents(&self, range: &DocumentRange) -> Result<Vec<Document>, PortError> {
            self.inner.list_documents(range).await
        }
    }

    #[test]
    fn a_run_summary_and_its_history_line_are_written_together_and_agree() {
        let store = Recording::default();
        ok(block_on(store.save_run(&summary(
            "run-b",
            2,
            RunStatus::Running,
        ))));
        ok(block_on(store.save_run(&summary(
            "run-a",
            1,
            RunStatus::Succeeded,
        ))));
        ok(block_on(store.save_run(&summary(
            "run-b",
            2,
            RunStatus::Failed,
        ))));
        assert_eq!(
            store
                .calls
                .lock()
                .map(|calls| calls.clone())
                .unwrap_or_default(),
            vec![("put_together", 2); 3]
        );
        assert_eq!(
            ok(block_on(store.list_runs(&TenantId::new("acme")))),
            vec![
                summary("run-a", 1, RunStatus::Succeeded),
                summary("run-b", 2, RunStatus::Failed)
            ]
        );
        assert_eq!(
            ok(block_on(store.run_summary(&RunId::new("run-b")))),
            Some(summary("run-b", 2, RunStatus::Failed))
        );
        assert_eq!(ok(block_on(store.run_summary(&RunId::new("run-c")))), None);
        assert!(ok(block_on(store.list_runs(&TenantId::new("other")))).is_empty());
    }

    #[test]
    fn the_journal_is_written_only_if_absent_in_one_call_per_batch() {
        let store = Recording::default();
        let run = RunId::new("run-1");
        ok(block_on(store.journal(
            &run,
            &[
                journal_entry("Account", 1, JournalAction::Created),
                journal_entry("Account", 2, JournalAction::Created),
                journal_entry("Account", 1, JournalAction::Updated),
            ],
        )));
        assert_eq!(
            store
                .calls
                .lock()
                .map(|calls| calls.clone())
                .unwrap_or_default(),
            vec![("put_if_absent", 2)]
        );
    }

    #[test]
    fn per_object_outcomes_are_replaced_and_listed_by_object() {
        let store = InMemoryDocumentStore::new();
        let run = RunId::new("run-1");
        let rollback = |object: &str, deleted| RollbackObject {
            object: object.to_owned(),
            deleted,
            ..RollbackObject::default()
        };
        for result in [
            rollback("Contact", 1),
            rollback("Account", 1),
            rollback("Account", 4),
        ] {
            ok(block_on(store.record_rollback(&run, &result)));
        }
        assert_eq!(
            ok(block_on(store.rollback_results(&run))),
            vec![rollback("Account", 4), rollback("Contact", 1)]
        );
        ok(block_on(store.save_plan(&run, &plan("acme"))));
        ok(block_on(store.record_deletions(
            &run,
            &DeletionResult {
                object: "Account".to_owned(),
                deleted: 2,
                issues: vec![],
            },
        )));
        ok(block_on(store.record_verification(
            &run,
            &ObjectVerification {
                object: "Account".to_owned(),
                checked: 3,
                ..ObjectVerification::default()
            },
        )));
        ok(block_on(store.record_link_resolution(
            &run,
            &LinkResolution {
                object: "Account".to_owned(),
                patched: 5,
                issues: vec![],
            },
        )));
        let records = ok(block_on(store.run_records(&run)));
        assert_eq!(records.deletions[0].deleted, 2);
        assert_eq!(records.verifications[0].checked, 3);
        assert_eq!(records.link_resolutions[0].patched, 5);
    }

    #[test]
    fn an_unreadable_document_is_a_permanent_error_that_names_its_key() {
        let store = InMemoryDocumentStore::new();
        let run = RunId::new("run-1");
        ok(block_on(store.put_documents(vec![Document {
            key: DocumentKey::plan(&run),
            body: "{not json".to_owned(),
        }])));
        let error = match block_on(store.load_plan(&run)) {
            Ok(_) => panic!("an unreadable plan was read"),
            Err(error) => error,
        };
        assert!(!error.is_retryable());
        assert!(
            error.chain().contains("RUN#run-1/PLAN"),
            "{}",
            error.chain()
        );
    }
}
