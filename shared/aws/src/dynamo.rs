//! The ID map and the run store in one DynamoDB table with string keys `pk` and `sk`.
//!
//! Key design (every key starts with what scopes it, so tenants and runs never mix):
//!
//! | item | pk | sk | attributes |
//! |---|---|---|---|
//! | ID-map entry | `{tenant}#ID#{object}#{salesforce id}` | `ID` | `destination_id`, `created_by_run`, `last_run`, `content_hash` |
//! | run plan | `RUN#{run}` | `PLAN` | `body` (JSON) |
//! | extraction | `RUN#{run}` | `EXTRACT#{object}` | `body` |
//! | chunk outcome | `RUN#{run}` | `CHUNK#{object}#{chunk:06}` | `body` |
//! | deferred link | `RUN#{run}` | `LINK#{object}#{salesforce id}#{link}` | `body` |
//! | link resolution | `RUN#{run}` | `RESOLVED#{object}` | `body` |
//! | run summary | `RUN#{run}` | `SUMMARY` | `body` |
//! | tenant's run history | `{tenant}#RUNS` | `RUN#{sequence:010}#{run}` | `body` (the summary again) |
//! | journal entry | `RUN#{run}` | `JOURNAL#{object}#{salesforce id}` | `body`, written only if absent |
//! | pending deletion | `RUN#{run}` | `PENDINGDEL#{object}#{salesforce id}` | `body` |
//! | deletions of an object | `RUN#{run}` | `DELETIONS#{object}` | `body` |
//! | verification of an object | `RUN#{run}` | `VERIFIED#{object}` | `body` |
//! | rollback of an object | `RUN#{run}` | `ROLLBACK#{object}` | `body` |
//!
//! ID-map entries get one partition each, so a large object's writes spread over the whole
//! table instead of heating one partition; lookups are `BatchGetItem` by full key. A run's
//! summary is written twice, under the run and under its tenant, in one transaction, so
//! `list_runs` is one query of a small partition and `run_summary` one read, without a
//! secondary index.
//! Journal entries are conditional puts (`attribute_not_exists`): the first entry of a
//! record in a run is the true "before", and a chunk loaded again must not replace it.

use crate::sdk_error;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, Put, TransactWriteItem};
use ferry_core::ids::{DestinationId, RunId, SalesforceId, TenantId};
use ferry_core::plan::Plan;
use ferry_core::ports::{DeferredLink, IdMap, IdMapEntry, RunRecords, RunStore};
use ferry_core::report::{ChunkResult, LinkResolution, ObjectExtraction};
use ferry_core::runs::{
    DeletionResult, JournalEntry, ObjectVerification, PendingDeletion, RollbackObject, RunSummary,
    StoredIdMapEntry,
};
use ferry_core::{ErrorClass, PortError};
use futures::future::{BoxFuture, FutureExt};
use futures::{StreamExt, TryStreamExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;

/// BatchGetItem takes at most 100 keys.
const BATCH_GET_LIMIT: usize = 100;
/// Concurrent single-item writes per call; well under a table's per-partition limits.
const WRITE_CONCURRENCY: usize = 16;

fn string(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn id_map_key(tenant: &TenantId, object: &str, salesforce_id: &SalesforceId) -> String {
    format!("{tenant}#ID#{object}#{salesforce_id}")
}

/// The ID map on DynamoDB.
#[derive(Debug, Clone)]
pub struct DynamoIdMap {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoIdMap {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    async fn write_entry(&self, tenant: &TenantId, entry: &IdMapEntry) -> Result<(), PortError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key(
                "pk",
                string(id_map_key(tenant, &entry.object, &entry.salesforce_id)),
            )
            .key("sk", string("ID"))
            .update_expression(
                "SET destination_id = :destination, last_run = :run, content_hash = :hash, \
                 created_by_run = if_not_exists(created_by_run, :run)",
            )
            .expression_attribute_values(":destination", string(entry.destination_id.as_str()))
            .expression_attribute_values(":run", string(entry.run_id.as_str()))
            .expression_attribute_values(":hash", string(&entry.content_hash))
            .send()
            .await
            .map_err(|error| {
                sdk_error(
                    format!(
                        "recording {} {} in the ID map",
                        entry.object, entry.salesforce_id
                    ),
                    error,
                )
            })?;
        Ok(())
    }
}

#[async_trait]
impl IdMap for DynamoIdMap {
    async fn lookup(
        &self,
        tenant: &TenantId,
        object: &str,
        ids: &[SalesforceId],
    ) -> Result<HashMap<SalesforceId, DestinationId>, PortError> {
        Ok(self
            .entries(tenant, object, ids)
            .await?
            .into_iter()
            .map(|(id, entry)| (id, entry.destination_id))
            .collect())
    }

    async fn entries(
        &self,
        tenant: &TenantId,
        object: &str,
        ids: &[SalesforceId],
    ) -> Result<HashMap<SalesforceId, StoredIdMapEntry>, PortError> {
        let by_key: HashMap<String, &SalesforceId> = ids
            .iter()
            .map(|id| (id_map_key(tenant, object, id), id))
            .collect();
        let keys: Vec<&String> = by_key.keys().collect();
        let mut found = HashMap::with_capacity(ids.len());
        for batch in keys.chunks(BATCH_GET_LIMIT) {
            let mut request = KeysAndAttributes::builder().projection_expression(
                "pk, destination_id, created_by_run, last_run, content_hash",
            );
            for key in batch {
                request = request.keys(HashMap::from([
                    ("pk".to_owned(), string(*key)),
                    ("sk".to_owned(), string("ID")),
                ]));
            }
            let mut pending = Some(request.build().map_err(|error| {
                PortError::with_source(ErrorClass::Permanent, "building an ID-map lookup", error)
            })?);
            // DynamoDB may answer part of a batch and return the rest as unprocessed keys.
            while let Some(request) = pending.take() {
                let answer = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(|error| sdk_error("looking up the ID map".to_owned(), error))?;
                for item in answer
                    .responses()
                    .and_then(|tables| tables.get(&self.table))
                    .into_iter()
                    .flatten()
                {
                    let text = |name: &str| match item.get(name) {
                        Some(AttributeValue::S(value)) => Some(value.clone()),
                        _ => None,
                    };
                    let (Some(pk), Some(destination)) = (text("pk"), text("destination_id")) else {
                        continue;
                    };
                    if let Some(id) = by_key.get(&pk) {
                        let last_run = text("last_run").unwrap_or_default();
                        found.insert(
                            (*id).clone(),
                            StoredIdMapEntry {
                                object: object.to_owned(),
                                salesforce_id: (*id).clone(),
                                destination_id: DestinationId::new(destination),
                                created_by_run: RunId::new(
                                    text("created_by_run").unwrap_or_else(|| last_run.clone()),
                                ),
                                last_run: RunId::new(last_run),
                                content_hash: text("content_hash").unwrap_or_default(),
                            },
                        );
                    }
                }
                pending = answer
                    .unprocessed_keys()
                    .and_then(|tables| tables.get(&self.table))
                    .filter(|rest| !rest.keys().is_empty())
                    .cloned();
            }
        }
        Ok(found)
    }

    async fn record(&self, tenant: &TenantId, entries: &[IdMapEntry]) -> Result<(), PortError> {
        // UpdateItem, not BatchWriteItem: the run that created an entry must survive later
        // runs (`if_not_exists`), which a batch put cannot express.
        // Boxed futures collected first: a stream of borrowed closures trips the compiler's
        // higher-ranked lifetime check inside async-trait methods.
        let writes: Vec<BoxFuture<'_, Result<(), PortError>>> = entries
            .iter()
            .map(|entry| self.write_entry(tenant, entry).boxed())
            .collect();
        futures::stream::iter(writes)
            .buffer_unordered(WRITE_CONCURRENCY)
            .try_collect::<Vec<()>>()
            .await?;
        Ok(())
    }

    async fn remove(
        &self,
        tenant: &TenantId,
        object: &str,
        ids: &[SalesforceId],
    ) -> Result<(), PortError> {
        let writes: Vec<BoxFuture<'_, Result<(), PortError>>> = ids
            .iter()
            .map(|id| {
                async move {
                    self.client
                        .delete_item()
                        .table_name(&self.table)
                        .key("pk", string(id_map_key(tenant, object, id)))
                        .key("sk", string("ID"))
                        .send()
                        .await
                        .map_err(|error| {
                            sdk_error(format!("removing {object} {id} from the ID map"), error)
                        })?;
                    Ok(())
                }
                .boxed()
            })
            .collect();
        futures::stream::iter(writes)
            .buffer_unordered(WRITE_CONCURRENCY)
            .try_collect::<Vec<()>>()
            .await?;
        Ok(())
    }

    async fn restore(
        &self,
        tenant: &TenantId,
        entries: &[StoredIdMapEntry],
    ) -> Result<(), PortError> {
        let writes: Vec<BoxFuture<'_, Result<(), PortError>>> = entries
            .iter()
            .map(|entry| {
                async move {
                    self.client
                        .put_item()
                        .table_name(&self.table)
                        .item(
                            "pk",
                            string(id_map_key(tenant, &entry.object, &entry.salesforce_id)),
                        )
                        .item("sk", string("ID"))
                        .item("destination_id", string(entry.destination_id.as_str()))
                        .item("created_by_run", string(entry.created_by_run.as_str()))
                        .item("last_run", string(entry.last_run.as_str()))
                        .item("content_hash", string(&entry.content_hash))
                        .send()
                        .await
                        .map_err(|error| {
                            sdk_error(
                                format!(
                                    "restoring {} {} in the ID map",
                                    entry.object, entry.salesforce_id
                                ),
                                error,
                            )
                        })?;
                    Ok(())
                }
                .boxed()
            })
            .collect();
        futures::stream::iter(writes)
            .buffer_unordered(WRITE_CONCURRENCY)
            .try_collect::<Vec<()>>()
            .await?;
        Ok(())
    }
}

/// The run store on DynamoDB; every item of a run shares the partition `RUN#{run}`.
#[derive(Debug, Clone)]
pub struct DynamoRunStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoRunStore {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    async fn put(
        &self,
        run: &RunId,
        sort_key: String,
        body: &impl Serialize,
    ) -> Result<(), PortError> {
        self.put_in(format!("RUN#{run}"), sort_key, body, false)
            .await
            .map(|_| ())
    }

    /// Puts one item; with `only_if_absent`, an existing item is kept (and `false` returned).
    async fn put_in(
        &self,
        partition: String,
        sort_key: String,
        body: &impl Serialize,
        only_if_absent: bool,
    ) -> Result<bool, PortError> {
        let body = serde_json::to_string(body).map_err(|error| {
            PortError::with_source(ErrorClass::Permanent, "serialising a run item", error)
        })?;
        let mut request = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", string(partition.clone()))
            .item("sk", string(sort_key.clone()))
            .item("body", string(body));
        if only_if_absent {
            request = request.condition_expression("attribute_not_exists(pk)");
        }
        match request.send().await {
            Ok(_) => Ok(true),
            Err(error)
                if only_if_absent
                    && error
                        .as_service_error()
                        .is_some_and(|service| service.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(error) => Err(sdk_error(
                format!("writing {sort_key} of {partition}"),
                error,
            )),
        }
    }

    /// Puts many items of a run concurrently.
    async fn put_many<T: Serialize + Sync>(
        &self,
        run: &RunId,
        items: &[T],
        sort_key: impl Fn(&T) -> String,
        only_if_absent: bool,
    ) -> Result<(), PortError> {
        let writes: Vec<BoxFuture<'_, Result<bool, PortError>>> = items
            .iter()
            .map(|item| {
                self.put_in(format!("RUN#{run}"), sort_key(item), item, only_if_absent)
                    .boxed()
            })
            .collect();
        futures::stream::iter(writes)
            .buffer_unordered(WRITE_CONCURRENCY)
            .try_collect::<Vec<bool>>()
            .await?;
        Ok(())
    }

    /// Every item of a run whose sort key starts with `prefix`, in sort-key order.
    async fn items<T: DeserializeOwned>(
        &self,
        run: &RunId,
        prefix: &str,
    ) -> Result<Vec<T>, PortError> {
        self.items_in(format!("RUN#{run}"), prefix).await
    }

    /// Every item of a partition whose sort key starts with `prefix`, in sort-key order.
    async fn items_in<T: DeserializeOwned>(
        &self,
        partition: String,
        prefix: &str,
    ) -> Result<Vec<T>, PortError> {
        let run = partition.clone();
        let pages = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", string(partition))
            .expression_attribute_values(":prefix", string(prefix))
            .into_paginator()
            .items()
            .send();
        let items: Vec<HashMap<String, AttributeValue>> = pages
            .try_collect()
            .await
            .map_err(|error| sdk_error(format!("reading {prefix} items of {run}"), error))?;
        items
            .iter()
            .map(|item| match item.get("body") {
                Some(AttributeValue::S(body)) => serde_json::from_str(body).map_err(|error| {
                    PortError::with_source(
                        ErrorClass::Permanent,
                        format!("{run} has an unreadable {prefix} item"),
                        error,
                    )
                }),
                _ => Err(PortError::permanent(format!(
                    "{run} has a {prefix} item without a body"
                ))),
            })
            .collect()
    }
}

#[async_trait]
impl RunStore for DynamoRunStore {
    async fn save_plan(&self, run: &RunId, plan: &Plan) -> Result<(), PortError> {
        self.put(run, "PLAN".to_owned(), plan).await
    }

    async fn load_plan(&self, run: &RunId) -> Result<Plan, PortError> {
        self.items::<Plan>(run, "PLAN")
            .await?
            .pop()
            .ok_or_else(|| PortError::permanent(format!("run {run} has no plan in the run store")))
    }

    async fn record_extraction(
        &self,
        run: &RunId,
        extraction: &ObjectExtraction,
    ) -> Result<(), PortError> {
        self.put(run, format!("EXTRACT#{}", extraction.object), extraction)
            .await
    }

    async fn record_chunk(&self, run: &RunId, result: &ChunkResult) -> Result<(), PortError> {
        self.put(
            run,
            format!("CHUNK#{}#{:06}", result.object, result.chunk),
            result,
        )
        .await
    }

    async fn defer_links(&self, run: &RunId, links: &[DeferredLink]) -> Result<(), PortError> {
        let writes: Vec<BoxFuture<'_, Result<(), PortError>>> = links
            .iter()
            .map(|link| {
                self.put(
                    run,
                    format!("LINK#{}#{}#{}", link.object, link.salesforce_id, link.link),
                    link,
                )
                .boxed()
            })
            .collect();
        futures::stream::iter(writes)
            .buffer_unordered(WRITE_CONCURRENCY)
            .try_collect::<Vec<()>>()
            .await?;
        Ok(())
    }

    async fn deferred_links(&self, run: &RunId) -> Result<Vec<DeferredLink>, PortError> {
        self.items(run, "LINK#").await
    }

    async fn record_link_resolution(
        &self,
        run: &RunId,
        resolution: &LinkResolution,
    ) -> Result<(), PortError> {
        self.put(run, format!("RESOLVED#{}", resolution.object), resolution)
            .await
    }

    async fn run_records(&self, run: &RunId) -> Result<RunRecords, PortError> {
        Ok(RunRecords {
            plan: self.load_plan(run).await?,
            extractions: self.items(run, "EXTRACT#").await?,
            chunks: self.items(run, "CHUNK#").await?,
            link_resolutions: self.items(run, "RESOLVED#").await?,
            deletions: self.items(run, "DELETIONS#").await?,
            verifications: self.items(run, "VERIFIED#").await?,
        })
    }

    async fn save_run(&self, summary: &RunSummary) -> Result<(), PortError> {
        // Both copies in one transaction, so the history list and the run's own item never
        // disagree about its status.
        let body = serde_json::to_string(summary).map_err(|error| {
            PortError::with_source(ErrorClass::Permanent, "serialising a run summary", error)
        })?;
        let put = |partition: String, sort_key: String| {
            Put::builder()
                .table_name(&self.table)
                .item("pk", string(partition))
                .item("sk", string(sort_key))
                .item("body", string(body.clone()))
                .build()
                .map(|put| TransactWriteItem::builder().put(put).build())
                .map_err(|error| {
                    PortError::with_source(
                        ErrorClass::Permanent,
                        "building a run summary write",
                        error,
                    )
                })
        };
        self.client
            .transact_write_items()
            .transact_items(put(
                format!("RUN#{}", summary.run_id),
                "SUMMARY".to_owned(),
            )?)
            .transact_items(put(
                format!("{}#RUNS", summary.tenant),
                format!("RUN#{:010}#{}", summary.sequence, summary.run_id),
            )?)
            .send()
            .await
            .map_err(|error| sdk_error(format!("saving run {}", summary.run_id), error))?;
        Ok(())
    }

    async fn run_summary(&self, run: &RunId) -> Result<Option<RunSummary>, PortError> {
        Ok(self.items::<RunSummary>(run, "SUMMARY").await?.pop())
    }

    async fn list_runs(&self, tenant: &TenantId) -> Result<Vec<RunSummary>, PortError> {
        self.items_in(format!("{tenant}#RUNS"), "RUN#").await
    }

    async fn journal(&self, run: &RunId, entries: &[JournalEntry]) -> Result<(), PortError> {
        self.put_many(
            run,
            entries,
            |entry| format!("JOURNAL#{}#{}", entry.object, entry.salesforce_id),
            true,
        )
        .await
    }

    async fn journal_entries(
        &self,
        run: &RunId,
        object: &str,
        after: Option<&SalesforceId>,
        limit: usize,
    ) -> Result<Vec<JournalEntry>, PortError> {
        let prefix = format!("JOURNAL#{object}#");
        let start = match after {
            Some(id) => format!("{prefix}{id}"),
            None => prefix.clone(),
        };
        let answer = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND sk > :start")
            .expression_attribute_values(":pk", string(format!("RUN#{run}")))
            .expression_attribute_values(":start", string(start))
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(|error| sdk_error(format!("reading the journal of run {run}"), error))?;
        let mut entries = Vec::new();
        for item in answer.items() {
            // Items sort by key: the first one past the object's journal ends the page.
            match (item.get("sk"), item.get("body")) {
                (Some(AttributeValue::S(key)), Some(AttributeValue::S(body)))
                    if key.starts_with(&prefix) =>
                {
                    entries.push(serde_json::from_str(body).map_err(|error| {
                        PortError::with_source(
                            ErrorClass::Permanent,
                            format!("run {run} has an unreadable journal entry {key}"),
                            error,
                        )
                    })?);
                }
                _ => break,
            }
        }
        Ok(entries)
    }

    async fn defer_deletions(
        &self,
        run: &RunId,
        deletions: &[PendingDeletion],
    ) -> Result<(), PortError> {
        self.put_many(
            run,
            deletions,
            |deletion| format!("PENDINGDEL#{}#{}", deletion.object, deletion.salesforce_id),
            false,
        )
        .await
    }

    async fn pending_deletions(
        &self,
        run: &RunId,
        object: &str,
    ) -> Result<Vec<PendingDeletion>, PortError> {
        self.items(run, &format!("PENDINGDEL#{object}#")).await
    }

    async fn record_deletions(
        &self,
        run: &RunId,
        result: &DeletionResult,
    ) -> Result<(), PortError> {
        self.put(run, format!("DELETIONS#{}", result.object), result)
            .await
    }

    async fn record_verification(
        &self,
        run: &RunId,
        verification: &ObjectVerification,
    ) -> Result<(), PortError> {
        self.put(
            run,
            format!("VERIFIED#{}", verification.object),
            verification,
        )
        .await
    }

    async fn record_rollback(&self, run: &RunId, result: &RollbackObject) -> Result<(), PortError> {
        self.put(run, format!("ROLLBACK#{}", result.object), result)
            .await
    }

    async fn rollback_results(&self, run: &RunId) -> Result<Vec<RollbackObject>, PortError> {
        self.items(run, "ROLLBACK#").await
    }
}
