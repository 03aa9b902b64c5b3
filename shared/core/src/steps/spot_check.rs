//! The spot check: a sample of each object's records re-read from Salesforce by Id after the
//! load and compared, through the map, with what the destination holds.
//!
//! Verification compares the destination with what Ferry sent, which it rebuilds from the
//! staged chunks; a record read wrongly at extraction (a value lost in a CSV page, a field
//! left out of the query, a view of the org that hides rows) was sent wrongly too, and
//! verification agrees with it. The spot check goes back to the source: it reads the
//! sampled records again through the REST API, prepares them as extraction does
//! (pseudonymised the same way; a file's staged content is not downloaded again), runs them
//! through the same transform and link resolution, and compares the result with the
//! destination field by field. A record changed or deleted in Salesforce since it was
//! extracted is counted apart, not as a mismatch.
//!
//! The sample is drawn from the records the run sent, deterministically from the run and the
//! object, so a report can be checked again.

use super::StepError;
use super::load::{ChunkToRead, ReadRecord, read_chunk};
use super::verify::{compare, read_back};
use crate::pseudonymise::Pseudonymise;
use crate::transform::BLOB_FIELD;
use ferry_model::ids::{RunId, SalesforceId};
use ferry_model::model::SourceRecord;
use ferry_model::plan::{ObjectPlan, Plan};
use ferry_model::ports::{Destination, IdMap, QueryPageRequest, SalesforceApi, Staging};
use ferry_model::report::{IssueKind, RecordIssue};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};

/// How every issue of the spot check begins.
pub const SPOT_CHECK_PREFIX: &str = "spot check";

/// Records per object re-read by default (seed 000's "spot-check").
pub const DEFAULT_SPOT_CHECK_RECORDS: usize = 25;

/// Ids per `WHERE Id IN (...)` query: 18-character ids keep the query well under the
/// 100,000-character SOQL limit and the URL within what proxies accept.
const IDS_PER_QUERY: usize = 200;

pub struct SpotCheckPorts<'a> {
    pub salesforce: &'a dyn SalesforceApi,
    pub staging: &'a dyn Staging,
    pub id_map: &'a dyn IdMap,
    pub destination: &'a dyn Destination,
    /// The run's pseudonymisation, applied to the re-read records as extraction applied
    /// it to the staged ones.
    pub pseudonymise: Option<&'a Pseudonymise>,
}

/// What the spot check of one object found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpotCheck {
    /// Records re-read from Salesforce and compared with the destination.
    pub checked: u64,
    /// Compared records with at least one difference (each difference is an issue).
    pub mismatched: u64,
    /// Sampled records changed or deleted in Salesforce since extraction: not compared.
    pub changed: u64,
    pub issues: Vec<RecordIssue>,
}

/// Re-reads up to `sample` records of `object` that the run sent (of its `chunks` staged
/// chunks) from Salesforce and compares them with the destination.
pub async fn spot_check_object(
    ports: &SpotCheckPorts<'_>,
    run: &RunId,
    plan: &Plan,
    object: &ObjectPlan,
    chunks: u32,
    sample: usize,
) -> Result<SpotCheck, StepError> {
    let mut found = SpotCheck::default();
    // Users are matched to the destination's own users, never sent: nothing to compare.
    if sample == 0 || chunks == 0 || !object.entity.created_by_migration() {
        return Ok(found);
    }
    let staged = sample_staged(ports, run, plan, object, chunks, sample).await?;
    if staged.is_empty() {
        return Ok(found);
    }
    // An object read by its parents (ContentDocumentLink) is re-read with its sample's
    // parents too, which Salesforce requires.
    let parents: Vec<String> = object
        .read_by_parent
        .iter()
        .flat_map(|read_by| {
            staged
                .values()
                .filter_map(|record| record.get(&read_by.field).and_then(Value::as_str))
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    let fresh = reread(ports.salesforce, object, staged.keys(), &parents).await?;
    let mut compared: Vec<SourceRecord> = Vec::new();
    for (id, staged_record) in &staged {
        let record = fresh.get(id).cloned();
        let gone = match &record {
            None => Some("Salesforce no longer returns this record (deleted since extraction)"),
            Some(record) if record.get("IsDeleted").and_then(Value::as_bool) == Some(true) => {
                Some("deleted in Salesforce since extraction")
            }
            Some(_) => None,
        };
        let (Some(mut record), None) = (record, gone) else {
            found.changed += 1;
            found.issues.push(issue(
                object,
                id,
                IssueKind::Warning,
                format!("spot check: {}; not compared", gone.unwrap_or_default()),
            ));
            continue;
        };
        let stamp = |record: &SourceRecord| record.get("SystemModstamp").cloned();
        if stamp(staged_record).is_some() && stamp(staged_record) != stamp(&record) {
            found.changed += 1;
            continue;
        }
        prepare(ports, plan, object, staged_record, &mut record).await?;
        compared.push(record);
    }
    if compared.is_empty() {
        return Ok(found);
    }
    let mut body = Vec::new();
    for record in &compared {
        serde_json::to_writer(&mut body, record).map_err(|error| {
            StepError::Staging(ferry_model::error::PortError::with_source(
                ferry_model::error::ErrorClass::Permanent,
                format!("serialising a re-read {} record", object.object),
                error,
            ))
        })?;
        body.push(b'\n');
    }
    let read = read_chunk(ChunkToRead {
        object: object.clone(),
        validation: plan.validation.clone(),
        merging: false,
        key: format!("spot check of {}", object.object),
        body,
    });
    let transformed: Vec<_> = read
        .records
        .into_iter()
        .filter_map(|record| match record {
            ReadRecord::Valid { record, .. } => Some(*record),
            _ => None,
        })
        .collect();
    let expected = read_back(ports.id_map, ports.destination, plan, object, transformed).await?;
    for (destination_id, from_salesforce, read) in &expected {
        // A record whose ID-map entry names another record's row stands for it (a lead
        // merged into a contact): the load sent nothing of it, so there is nothing to compare.
        if read.as_ref().is_some_and(|read| {
            read.source_id != from_salesforce.source_id
                || read.source_object != from_salesforce.source_object
        }) {
            continue;
        }
        found.checked += 1;
        let differences = compare(object, destination_id, from_salesforce, read.as_ref());
        if !differences.is_empty() {
            found.mismatched += 1;
            found
                .issues
                .extend(differences.into_iter().map(|mut difference| {
                    difference.reason = format!(
                        "spot check (re-read from Salesforce): {}",
                        difference.reason.replacen("sent", "Salesforce has", 1)
                    );
                    difference
                }));
        }
    }
    tracing::info!(run_id = %run, object = %object.object, checked = found.checked, mismatched = found.mismatched, changed = found.changed, "spot-checked");
    Ok(found)
}

fn issue(object: &ObjectPlan, id: &str, kind: IssueKind, reason: String) -> RecordIssue {
    RecordIssue {
        object: object.object.clone(),
        salesforce_id: Some(id.to_owned()),
        field: None,
        kind,
        reason,
    }
}

/// A small deterministic generator (SplitMix64) seeded from the run and the object.
struct Draw(u64);

impl Draw {
    fn new(run: &RunId, object: &str) -> Self {
        let digest = Sha256::digest(format!("spot-check\n{run}\n{object}").as_bytes());
        let mut seed = [0u8; 8];
        seed.copy_from_slice(&digest[..8]);
        Draw(u64::from_le_bytes(seed))
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// `k` distinct indexes below `n`, in increasing order.
    fn choose(&mut self, n: usize, k: usize) -> Vec<usize> {
        let mut all: Vec<usize> = (0..n).collect();
        let k = k.min(n);
        for i in 0..k {
            let j = i + (self.next() % (n - i) as u64) as usize;
            all.swap(i, j);
        }
        let mut chosen = all[..k].to_vec();
        chosen.sort_unstable();
        chosen
    }
}

/// The staged records of up to `sample` sent records, by Salesforce id (18 characters),
/// drawn from as many chunks as the sample has records.
async fn sample_staged(
    ports: &SpotCheckPorts<'_>,
    run: &RunId,
    plan: &Plan,
    object: &ObjectPlan,
    chunks: u32,
    sample: usize,
) -> Result<BTreeMap<String, SourceRecord>, StepError> {
    let mut draw = Draw::new(run, &object.object);
    let chosen_chunks = draw.choose(chunks as usize, sample);
    let per_chunk = sample.div_ceil(chosen_chunks.len().max(1));
    let mut staged = BTreeMap::new();
    for chunk in chosen_chunks {
        let key = super::chunk_key(plan, run, &object.object, chunk as u32);
        let body = ports.staging.get(&key).await.map_err(StepError::Staging)?;
        // Only records the load sent are compared: the same reading tells them apart.
        let read = read_chunk(ChunkToRead {
            object: object.clone(),
            validation: plan.validation.clone(),
            merging: false,
            key,
            body: body.clone(),
        });
        let sent: Vec<String> = read
            .records
            .iter()
            .filter_map(|record| match record {
                ReadRecord::Valid { record, .. } => Some(record.record.source_id.to_string()),
                _ => None,
            })
            .collect();
        let mut lines: HashMap<String, SourceRecord> = HashMap::new();
        for line in body.split(|byte| *byte == b'\n') {
            let Ok(record) = serde_json::from_slice::<SourceRecord>(line) else {
                continue;
            };
            let Some(id) = record
                .get("Id")
                .and_then(Value::as_str)
                .and_then(|id| SalesforceId::parse(id).ok())
            else {
                continue;
            };
            lines.insert(id.to_string(), record);
        }
        for index in draw.choose(sent.len(), per_chunk) {
            if staged.len() >= sample {
                break;
            }
            if let Some(record) = lines.remove(&sent[index]) {
                staged.insert(sent[index].clone(), record);
            }
        }
    }
    Ok(staged)
}

/// The records of `ids` as Salesforce holds them now, by 18-character id: read through
/// queryAll, which also sees archived activities and records deleted since.
async fn reread(
    salesforce: &dyn SalesforceApi,
    object: &ObjectPlan,
    ids: impl Iterator<Item = &String>,
    parents: &[String],
) -> Result<HashMap<String, SourceRecord>, StepError> {
    let ids: Vec<&String> = ids.collect();
    let mut fresh = HashMap::new();
    for batch in ids.chunks(IDS_PER_QUERY) {
        let list: Vec<String> = batch.iter().map(|id| format!("'{id}'")).collect();
        // queryAll returns a record deleted since extraction too; `IsDeleted` tells it.
        let mut select = object.select.clone();
        if object.soft_deletes && !select.iter().any(|field| field == "IsDeleted") {
            select.push("IsDeleted".to_owned());
        }
        let mut soql = format!(
            "SELECT {} FROM {} WHERE Id IN ({})",
            select.join(", "),
            // A variant's records (person accounts) are read from their Salesforce object.
            object.salesforce_object(),
            list.join(", ")
        );
        if let Some(read_by) = &object.read_by_parent
            && !parents.is_empty()
        {
            let mut parents = parents.to_vec();
            parents.sort();
            parents.dedup();
            soql.push_str(" AND ");
            soql.push_str(&super::extract::parent_condition(&read_by.field, &parents));
        }
        let mut request = QueryPageRequest::Start {
            soql,
            include_deleted: true,
        };
        loop {
            let page = salesforce
                .query_page(request)
                .await
                .map_err(StepError::Salesforce)?;
            for mut record in page.records {
                record.remove("attributes");
                let Some(id) = record
                    .get("Id")
                    .and_then(Value::as_str)
                    .and_then(|id| SalesforceId::parse(id).ok())
                else {
                    continue;
                };
                fresh.insert(id.to_string(), record);
            }
            match page.next {
                Some(cursor) => request = QueryPageRequest::Continue { cursor },
                None => break,
            }
        }
    }
    Ok(fresh)
}

/// Prepares a re-read record as extraction prepared the staged one: the text of a binary
/// text field inlined, the run's pseudonymisation applied, and the staged file's outcome
/// carried over (the bytes were checked on their way in; they are not downloaded again).
async fn prepare(
    ports: &SpotCheckPorts<'_>,
    plan: &Plan,
    object: &ObjectPlan,
    staged: &SourceRecord,
    record: &mut SourceRecord,
) -> Result<(), StepError> {
    if !object.select.iter().any(|field| field == "IsDeleted") {
        record.remove("IsDeleted");
    }
    super::files::inline_text_blob(
        ports.salesforce,
        object,
        record,
        super::files::DEFAULT_MAX_FILE_BYTES,
    )
    .await?;
    // The same references as extraction wrote (`ferry-file:{id}`, or an emptied src for an
    // image Salesforce refuses); nothing is staged.
    super::files::stage_rich_text_images(ports.salesforce, None, object, record).await?;
    if let Some(pseudonymise) = ports.pseudonymise {
        // Chosen or not, `apply` decides field by field; unchosen records are left alone.
        let config = pseudonymise.config.for_object(plan, object);
        let types = super::extract::pseudonymise_types(object);
        pseudonymise
            .pseudonymiser
            .apply(&config, object.salesforce_object(), record, |field| {
                types.get(field).cloned()
            });
    }
    if let Some(outcome) = staged.get(BLOB_FIELD) {
        record.insert(BLOB_FIELD.to_owned(), outcome.clone());
    }
    Ok(())
}
