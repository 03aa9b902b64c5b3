//! The ID map and the run store in one DynamoDB table with string keys `pk` and `sk`.
//!
//! The run store is the core's keyed-document port ([`DocumentStore`]): one item per
//! document, `pk` its partition, `sk` its sort key and `body` its JSON text, under the key
//! layout documented in [`ferry_model::run_store`] (`RUN#{run}` / `PLAN`, `CHUNK#{object}#
//! {chunk:06}`, `JOURNAL#{object}#{salesforce id}`, `{tenant}#RUNS` / `RUN#{sequence:010}#
//! {run}`, ...). Listings are one `Query` of a partition by `begins_with` on `sk`; the
//! journal's first write wins through `attribute_not_exists(pk)` conditional puts; a run's
//! summary and its history line are written in one `TransactWriteItems`.
//!
//! The ID map's items:
//!
//! | item | pk | sk | attributes |
//! |---|---|---|---|
//! | ID-map entry | `{tenant}#ID#{object}#{salesforce id}` | `ID` | `destination_id`, `created_by_run`, `last_run`, `content_hash` |
//!
//! ID-map entries get one partition each, so a large object's writes spread over the whole
//! table instead of heating one partition; lookups are `BatchGetItem` by full key.
//!
//! An item holds at most 400 KB: a document larger than that (a chunk outcome with
//! thousands of issues, say) is refused by DynamoDB with a `ValidationException`, reported
//! as a permanent error that names the document's key. Nothing is offloaded to S3.

use crate::sdk_error;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, Put, TransactWriteItem};
use ferry_model::ids::{DestinationId, RunId, SalesforceId, TenantId};
use ferry_model::ports::{IdMap, IdMapEntry};
use ferry_model::run_store::{
    Document, DocumentKey, DocumentRange, DocumentStore, MAX_DOCUMENTS_TOGETHER, RangeStart,
};
use ferry_model::runs::StoredIdMapEntry;
use ferry_model::{ErrorClass, PortError};
use futures::future::{BoxFuture, FutureExt};
use futures::{StreamExt, TryStreamExt};
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

/// The run store on DynamoDB: the core's keyed-document port, one item per document
/// (`pk` the partition, `sk` the sort key, `body` the JSON text). Every item of a run shares
/// the partition `RUN#{run}`.
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

    /// Puts one document; with `only_if_absent`, an existing item is kept.
    async fn put_item(&self, document: Document, only_if_absent: bool) -> Result<(), PortError> {
        let Document { key, body } = document;
        let mut request = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", string(key.partition()))
            .item("sk", string(key.sort()))
            .item("body", string(body));
        if only_if_absent {
            request = request.condition_expression("attribute_not_exists(pk)");
        }
        match request.send().await {
            Ok(_) => Ok(()),
            Err(error)
                if only_if_absent
                    && error
                        .as_service_error()
                        .is_some_and(|service| service.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(error) => Err(sdk_error(format!("writing {key}"), error)),
        }
    }

    /// Puts many documents concurrently, each its own request.
    async fn put_items(
        &self,
        documents: Vec<Document>,
        only_if_absent: bool,
    ) -> Result<(), PortError> {
        // Boxed futures collected first: a stream of borrowed closures trips the compiler's
        // higher-ranked lifetime check inside async-trait methods.
        let writes: Vec<BoxFuture<'_, Result<(), PortError>>> = documents
            .into_iter()
            .map(|document| self.put_item(document, only_if_absent).boxed())
            .collect();
        futures::stream::iter(writes)
            .buffer_unordered(WRITE_CONCURRENCY)
            .try_collect::<Vec<()>>()
            .await?;
        Ok(())
    }
}

/// The document of a queried or read item.
fn document_of(
    partition: &str,
    item: &HashMap<String, AttributeValue>,
) -> Result<Document, PortError> {
    let Some(AttributeValue::S(sort)) = item.get("sk") else {
        return Err(PortError::permanent(format!(
            "{partition} has an item without a sort key"
        )));
    };
    let key = DocumentKey::new(partition, sort.clone());
    match item.get("body") {
        Some(AttributeValue::S(body)) => Ok(Document {
            key,
            body: body.clone(),
        }),
        _ => Err(PortError::permanent(format!(
            "{key} is an item without a body"
        ))),
    }
}

#[async_trait]
impl DocumentStore for DynamoRunStore {
    async fn get_document(&self, key: &DocumentKey) -> Result<Option<String>, PortError> {
        let answer = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", string(key.partition()))
            .key("sk", string(key.sort()))
            .projection_expression("body")
            .send()
            .await
            .map_err(|error| sdk_error(format!("reading {key}"), error))?;
        match answer.item().map(|item| item.get("body")) {
            None => Ok(None),
            Some(Some(AttributeValue::S(body))) => Ok(Some(body.clone())),
            Some(_) => Err(PortError::permanent(format!(
                "{key} is an item without a body"
            ))),
        }
    }

    async fn put_documents(&self, documents: Vec<Document>) -> Result<(), PortError> {
        self.put_items(documents, false).await
    }

    async fn put_documents_if_absent(&self, documents: Vec<Document>) -> Result<(), PortError> {
        // Conditional puts (`attribute_not_exists`): DynamoDB checks and writes in one step,
        // so the first write of a key wins even against a concurrent load of the same chunk.
        self.put_items(documents, true).await
    }

    async fn put_documents_together(&self, documents: Vec<Document>) -> Result<(), PortError> {
        if documents.len() > MAX_DOCUMENTS_TOGETHER {
            return Err(PortError::permanent(format!(
                "{} documents cannot be written together; at most {MAX_DOCUMENTS_TOGETHER} can",
                documents.len()
            )));
        }
        if documents.is_empty() {
            return Ok(());
        }
        let keys: Vec<String> = documents
            .iter()
            .map(|document| document.key.to_string())
            .collect();
        let mut request = self.client.transact_write_items();
        for Document { key, body } in documents {
            let put = Put::builder()
                .table_name(&self.table)
                .item("pk", string(key.partition()))
                .item("sk", string(key.sort()))
                .item("body", string(body))
                .build()
                .map_err(|error| {
                    PortError::with_source(
                        ErrorClass::Permanent,
                        format!("building the write of {key}"),
                        error,
                    )
                })?;
            request = request.transact_items(TransactWriteItem::builder().put(put).build());
        }
        request
            .send()
            .await
            .map_err(|error| sdk_error(format!("writing {} together", keys.join(", ")), error))?;
        Ok(())
    }

    async fn list_documents(&self, range: &DocumentRange) -> Result<Vec<Document>, PortError> {
        let partition = range.prefix.partition();
        let prefix = range.prefix.sort_prefix();
        // A key condition has one test on the sort key: `begins_with` from the prefix, or,
        // for a page after a key, `>` that key, reading until the first item past the prefix.
        // DynamoDB refuses an empty string in a key condition, and an empty start needs no
        // test on the sort key at all (every sort key starts with it and is past it).
        let (condition, start) = match range.start() {
            RangeStart::From("") | RangeStart::After("") => ("pk = :pk", None),
            RangeStart::From(_) => ("pk = :pk AND begins_with(sk, :start)", Some(prefix)),
            RangeStart::After(after) => ("pk = :pk AND sk > :start", Some(after)),
        };
        let wanted = range.limit.unwrap_or(usize::MAX);
        let mut documents = Vec::new();
        let mut resume: Option<HashMap<String, AttributeValue>> = None;
        // Pages until the range is read or `wanted` documents are: DynamoDB cuts a page at
        // 1 MB, and the port promises a short listing only at the range's end.
        while documents.len() < wanted {
            let mut request = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression(condition)
                .expression_attribute_values(":pk", string(partition))
                .set_exclusive_start_key(resume.take());
            if let Some(start) = start {
                request = request.expression_attribute_values(":start", string(start));
            }
            if let Some(limit) = range.limit {
                let remaining = limit - documents.len();
                request = request.limit(i32::try_from(remaining).unwrap_or(i32::MAX));
            }
            let answer = request.send().await.map_err(|error| {
                sdk_error(format!("listing {prefix} documents of {partition}"), error)
            })?;
            for item in answer.items() {
                let document = document_of(partition, item)?;
                if !range.prefix.contains(&document.key) {
                    // Items sort by key: the first one past the prefix ends the range.
                    return Ok(documents);
                }
                documents.push(document);
            }
            match answer.last_evaluated_key() {
                Some(key) if !key.is_empty() => resume = Some(key.clone()),
                _ => break,
            }
        }
        Ok(documents)
    }
}
