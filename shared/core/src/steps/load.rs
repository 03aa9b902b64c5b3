use super::StepError;
use crate::ids::{DestinationId, SalesforceId};
use crate::ports::{
    ChunkMessage, DeferredLink, Destination, DestinationRecord, IdMap, IdMapEntry, RunStore,
    Staging, UpsertOutcome,
};
use crate::report::{ChunkResult, IssueKind, RecordIssue};
use crate::transform::{Reference, content_hash, transform_record};
use crate::validate::{Action, Finding, Verdict, validate_record};
use std::collections::{BTreeMap, BTreeSet, HashMap};

pub struct LoadPorts<'a> {
    pub staging: &'a dyn Staging,
    pub id_map: &'a dyn IdMap,
    pub destination: &'a dyn Destination,
    pub runs: &'a dyn RunStore,
}

/// Loads one staged chunk: transform, resolve links through the ID map, upsert, record the
/// ID map, defer links whose target has not landed, and store the chunk's counts.
///
/// Safe to run twice for the same message: the destination upserts by Salesforce id and the
/// run store replaces the chunk's earlier result.
pub async fn load_chunk(
    ports: &LoadPorts<'_>,
    message: &ChunkMessage,
) -> Result<ChunkResult, StepError> {
    let run = &message.run_id;
    let plan = ports
        .runs
        .load_plan(run)
        .await
        .map_err(StepError::RunStore)?;
    let object = plan
        .object(&message.object)
        .ok_or_else(|| StepError::UnknownObject {
            run: run.to_string(),
            object: message.object.clone(),
        })?;
    let body = ports
        .staging
        .get(&message.key)
        .await
        .map_err(StepError::Staging)?;

    let mut issues = Vec::new();
    let mut records_seen = 0u64;
    let mut transformed = Vec::new();
    let mut replaced = Vec::new();
    for (line_number, line) in body.split(|byte| *byte == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        records_seen += 1;
        match serde_json::from_slice::<crate::model::SourceRecord>(line) {
            Ok(source) => match transform_record(object, &source) {
                Ok(record) if record.replaced_by.is_some() => replaced.push(record),
                Ok(mut record) => {
                    issues.append(&mut record.issues);
                    let (findings, verdict) =
                        validate_record(object, &mut record, &plan.validation);
                    record_findings(&findings, verdict, &mut issues);
                    if verdict == Verdict::Load {
                        transformed.push(record);
                    }
                }
                Err(issue) => issues.push(issue),
            },
            Err(error) => issues.push(RecordIssue {
                object: object.object.clone(),
                salesforce_id: None,
                field: None,
                kind: IssueKind::Failed,
                reason: format!(
                    "line {} of {} is not a JSON record: {error}",
                    line_number + 1,
                    message.key
                ),
            }),
        }
    }

    // Users are matched to the destination's users, never created (`owners`), and a converted
    // lead is linked to the contact it became (`replaced`): both only leave ID-map entries.
    let mut matched_users = 0;
    let mut entries = if object.entity.created_by_migration() {
        super::replaced::link_replaced(ports, &plan, object, run, replaced, &mut issues).await?
    } else {
        let users = std::mem::take(&mut transformed);
        let matched =
            super::owners::match_owners(ports, &plan, object, run, users, &mut issues).await?;
        matched_users = matched.matched;
        matched.entries
    };

    // Resolve every reference of the chunk with one ID-map lookup per target object.
    let mut wanted: BTreeMap<&str, BTreeSet<SalesforceId>> = BTreeMap::new();
    for record in &transformed {
        for reference in &record.references {
            wanted
                .entry(reference.target_object.as_str())
                .or_default()
                .insert(reference.target.clone());
        }
    }
    let mut resolved: HashMap<String, HashMap<SalesforceId, DestinationId>> = HashMap::new();
    for (target_object, ids) in wanted {
        let ids: Vec<SalesforceId> = ids.into_iter().collect();
        let found = ports
            .id_map
            .lookup(&plan.tenant, target_object, &ids)
            .await
            .map_err(StepError::IdMap)?;
        resolved.insert(target_object.to_owned(), found);
    }

    let mut batch: Vec<DestinationRecord> = Vec::with_capacity(transformed.len());
    let mut pending: Vec<Vec<Reference>> = Vec::with_capacity(transformed.len());
    let mut hashes = Vec::with_capacity(transformed.len());
    let mut files = Vec::with_capacity(transformed.len());
    for record in transformed {
        hashes.push(content_hash(&record));
        files.push(record.blob.clone());
        let mut destination_record = record.record;
        let mut unresolved = Vec::new();
        for reference in record.references {
            let target = resolved
                .get(reference.target_object.as_str())
                .and_then(|found| found.get(&reference.target));
            match target {
                Some(target) => {
                    destination_record
                        .links
                        .insert(reference.link.clone(), target.clone());
                }
                None => unresolved.push(reference),
            }
        }
        batch.push(destination_record);
        pending.push(unresolved);
    }

    let outcomes = if batch.is_empty() {
        Vec::new()
    } else {
        ports
            .destination
            .upsert(&plan.tenant, object.entity, &batch)
            .await
            .map_err(StepError::Destination)?
    };
    if outcomes.len() != batch.len() {
        return Err(StepError::DestinationContract {
            sent: batch.len(),
            answered: outcomes.len(),
        });
    }

    let mut result = ChunkResult {
        object: object.object.clone(),
        chunk: message.chunk,
        records: records_seen,
        created: 0,
        updated: matched_users,
        skipped: 0,
        failed: 0,
        deferred_links: 0,
        issues: Vec::new(),
    };
    let mut deferred = Vec::new();
    for ((((record, outcome), unresolved), hash), file) in batch
        .iter()
        .zip(outcomes)
        .zip(pending)
        .zip(hashes)
        .zip(files)
    {
        let destination_id = match outcome {
            UpsertOutcome::Created(id) => {
                result.created += 1;
                id
            }
            UpsertOutcome::Updated(id) => {
                result.updated += 1;
                id
            }
            UpsertOutcome::Rejected { reason } => {
                issues.push(RecordIssue {
                    object: object.object.clone(),
                    salesforce_id: Some(record.source_id.to_string()),
                    field: None,
                    kind: IssueKind::Failed,
                    reason: format!("the destination refused the record: {reason}"),
                });
                continue;
            }
        };
        if let Some(file) = file {
            super::files::deliver_file(
                ports.staging,
                ports.destination,
                &plan.tenant,
                object.entity,
                record,
                &destination_id,
                &file,
            )
            .await?;
        }
        for reference in unresolved {
            deferred.push(DeferredLink {
                object: object.object.clone(),
                entity: object.entity,
                record: destination_id.clone(),
                salesforce_id: record.source_id.clone(),
                source_field: reference.source_field,
                link: reference.link,
                target_object: reference.target_object,
                target: reference.target,
            });
        }
        entries.push(IdMapEntry {
            object: object.object.clone(),
            salesforce_id: record.source_id.clone(),
            destination_id,
            run_id: run.clone(),
            content_hash: hash,
        });
    }
    for issue in &issues {
        match issue.kind {
            IssueKind::Skipped => result.skipped += 1,
            IssueKind::Failed => result.failed += 1,
            IssueKind::UnresolvedLink | IssueKind::ValueDropped | IssueKind::Warning => {}
        }
    }
    result.issues = issues;
    result.deferred_links = deferred.len() as u64;

    // The ID map is written after the destination answered and before the chunk is marked
    // done: a crash in between leaves the chunk to be redelivered, and the destination's
    // upsert-by-Salesforce-id makes the second attempt an update, not a duplicate.
    ports
        .id_map
        .record(&plan.tenant, &entries)
        .await
        .map_err(StepError::IdMap)?;
    if !deferred.is_empty() {
        ports
            .runs
            .defer_links(run, &deferred)
            .await
            .map_err(StepError::RunStore)?;
    }
    ports
        .runs
        .record_chunk(run, &result)
        .await
        .map_err(StepError::RunStore)?;
    tracing::info!(
        run_id = %run,
        object = %object.object,
        chunk = message.chunk,
        created = result.created,
        updated = result.updated,
        skipped = result.skipped,
        failed = result.failed,
        deferred_links = result.deferred_links,
        "loaded chunk"
    );
    Ok(result)
}

/// Reports a record's validation findings. A skipped record counts once: its first
/// skipping finding is the skip, any further ones are reported as warnings beside it.
pub(crate) fn record_findings(
    findings: &[Finding],
    verdict: Verdict,
    issues: &mut Vec<RecordIssue>,
) {
    let mut skip_reported = false;
    for finding in findings {
        let mut issue = finding.to_issue();
        if finding.action == Action::SkipRecord {
            if skip_reported || verdict != Verdict::Skip {
                issue.kind = IssueKind::Warning;
            }
            skip_reported = true;
        }
        issues.push(issue);
    }
}
