use super::StepError;
use crate::transform::{Reference, content_hash, transform_record};
use crate::validate::{Finding, Verdict, validate_record};
use ferry_model::ids::{DestinationId, SalesforceId};
use ferry_model::policy::Action;
use ferry_model::ports::{
    ChunkMessage, DeferredLink, Destination, IdMap, IdMapEntry, RunStore, Staging, UpsertOutcome,
};
use ferry_model::records::DestinationRecord;
use ferry_model::report::{ChunkResult, IssueKind, RecordIssue};
use ferry_model::runs::{JournalAction, JournalEntry, PendingDeletion, StoredIdMapEntry};
use std::collections::{BTreeMap, BTreeSet, HashMap};

pub struct LoadPorts<'a> {
    pub staging: &'a dyn Staging,
    pub id_map: &'a dyn IdMap,
    pub destination: &'a dyn Destination,
    pub runs: &'a dyn RunStore,
}

/// Loads one staged chunk: transform, resolve links through the ID map, skip records whose
/// content is unchanged since the run that last sent them, journal the rest (so a rollback
/// can undo them), upsert, defer links whose target has not landed, schedule the deletion of
/// records deleted in Salesforce, record the ID map, and store the chunk's counts.
///
/// Safe to run twice for the same message: the destination upserts by Salesforce id, the
/// journal keeps its first entry per record, and the run store replaces the chunk's earlier
/// result.
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
    let mut deleted_in_salesforce: Vec<SalesforceId> = Vec::new();
    let mut replaced = Vec::new();
    // Merge-on-import: the normalised email of each lead that may merge into a contact.
    let merging = plan.merge_leads_by_email && object.object == super::merge::LEAD;
    let mut lead_emails = HashMap::new();
    for (line_number, line) in body.split(|byte| *byte == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        records_seen += 1;
        match serde_json::from_slice::<ferry_model::model::SourceRecord>(line) {
            Ok(source) if is_deleted(&source) => match deleted_id(&source) {
                Some(id) => deleted_in_salesforce.push(id),
                None => issues.push(RecordIssue {
                    object: object.object.clone(),
                    salesforce_id: source
                        .get("Id")
                        .and_then(|id| id.as_str())
                        .map(str::to_owned),
                    field: Some("Id".to_owned()),
                    kind: IssueKind::Failed,
                    reason: "deleted in Salesforce, but its Id is not a Salesforce id".to_owned(),
                }),
            },
            Ok(source) => match transform_record(object, &source) {
                Ok(record) if record.replaced_by.is_some() => replaced.push(record),
                Ok(mut record) => {
                    if merging && let Some(email) = super::merge::source_email(&source) {
                        lead_emails.insert(record.record.source_id.clone(), email);
                    }
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

    // The chunk's bytes are not needed once its records are read.
    drop(body);

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

    // A lead with a landed contact's email is merged into it rather than created.
    if merging {
        let (kept, merged) = super::merge::merge_leads(
            ports,
            &plan,
            object,
            run,
            std::mem::take(&mut transformed),
            &lead_emails,
            &mut issues,
        )
        .await?;
        transformed = kept;
        entries.extend(merged);
    }

    let resolved = resolve_references(ports.id_map, &plan.tenant, &transformed).await?;

    // What the ID map already holds for the chunk's records: an unchanged record is not
    // sent again, and a changed one is journaled with what it held before.
    let mut known_ids: Vec<SalesforceId> = transformed
        .iter()
        .map(|record| record.record.source_id.clone())
        .collect();
    known_ids.extend(deleted_in_salesforce.iter().cloned());
    let known = if known_ids.is_empty() {
        HashMap::new()
    } else {
        ports
            .id_map
            .entries(&plan.tenant, &object.object, &known_ids)
            .await
            .map_err(StepError::IdMap)?
    };

    let mut result = ChunkResult {
        object: object.object.clone(),
        chunk: message.chunk,
        records: records_seen,
        created: 0,
        updated: matched_users,
        skipped: 0,
        failed: 0,
        unchanged: 0,
        deleted_in_salesforce: deleted_in_salesforce.len() as u64,
        deferred_links: 0,
        issues: Vec::new(),
    };

    let mut batch: Vec<DestinationRecord> = Vec::with_capacity(transformed.len());
    let mut pending: Vec<Vec<Reference>> = Vec::with_capacity(transformed.len());
    let mut hashes = Vec::with_capacity(transformed.len());
    let mut files = Vec::with_capacity(transformed.len());
    for record in transformed {
        let hash = content_hash(&record);
        let file = record.blob.clone();
        let previous = known.get(&record.record.source_id);
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
        // Unchanged: same content as the run that last sent it, every link resolvable, and
        // not this run's own earlier write (a chunk loaded again after a crash is sent
        // again, so its deferred links and counts are rebuilt exactly).
        let unchanged = previous.is_some_and(|entry| {
            entry.content_hash == hash && entry.last_run != *run && unresolved.is_empty()
        });
        if unchanged {
            result.unchanged += 1;
            continue;
        }
        batch.push(destination_record);
        pending.push(unresolved);
        hashes.push(hash);
        files.push(file);
    }

    journal_before_upsert(ports, &plan.tenant, run, object, &batch, &known).await?;

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

    let mut deferred = Vec::new();
    for ((((record, outcome), unresolved), hash), file) in batch
        .iter()
        .zip(outcomes)
        .zip(pending)
        .zip(hashes)
        .zip(files)
    {
        let destination_id = match outcome {
            UpsertOutcome::Created(id) | UpsertOutcome::Updated(id) => id,
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
        // Counted by what the ID map says rather than by the destination's answer, so a
        // chunk loaded again after a crash counts its records as the first attempt did: a
        // record this run created stays "created".
        match known.get(&record.source_id) {
            Some(entry) if entry.created_by_run != *run => result.updated += 1,
            _ => result.created += 1,
        }
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
    let deletions: Vec<PendingDeletion> = deleted_in_salesforce
        .iter()
        .filter_map(|id| known.get(id))
        .map(|entry| PendingDeletion {
            object: object.object.clone(),
            entity: object.entity,
            salesforce_id: entry.salesforce_id.clone(),
            destination_id: entry.destination_id.clone(),
        })
        .collect();
    for issue in &issues {
        match issue.kind {
            IssueKind::Skipped => result.skipped += 1,
            IssueKind::Failed => result.failed += 1,
            IssueKind::UnresolvedLink
            | IssueKind::ValueDropped
            | IssueKind::Warning
            | IssueKind::Mismatch => {}
        }
    }
    result.issues = issues;
    result.deferred_links = deferred.len() as u64;

    // Deferred links and deletions are stored before the ID map: once the ID map holds a
    // record with this run's hash, everything the record needs at finalize is stored too,
    // so nothing is lost if the process dies here. The ID map is written after the
    // destination answered and before the chunk is marked done: a crash in between leaves
    // the chunk to be loaded again, and the destination's upsert-by-Salesforce-id makes the
    // second attempt an update, not a duplicate.
    if !deferred.is_empty() {
        ports
            .runs
            .defer_links(run, &deferred)
            .await
            .map_err(StepError::RunStore)?;
    }
    if !deletions.is_empty() {
        ports
            .runs
            .defer_deletions(run, &deletions)
            .await
            .map_err(StepError::RunStore)?;
    }
    ports
        .id_map
        .record(&plan.tenant, &entries)
        .await
        .map_err(StepError::IdMap)?;
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
        unchanged = result.unchanged,
        skipped = result.skipped,
        failed = result.failed,
        deleted_in_salesforce = result.deleted_in_salesforce,
        deferred_links = result.deferred_links,
        "loaded chunk"
    );
    Ok(result)
}

/// True for a record Salesforce reports deleted (`IsDeleted`, selected by delta runs through
/// queryAll). Bulk results carry it as text.
pub(crate) fn is_deleted(source: &ferry_model::model::SourceRecord) -> bool {
    match source.get("IsDeleted") {
        Some(serde_json::Value::Bool(deleted)) => *deleted,
        Some(serde_json::Value::String(text)) => text.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

fn deleted_id(source: &ferry_model::model::SourceRecord) -> Option<SalesforceId> {
    source
        .get("Id")
        .and_then(|id| id.as_str())
        .and_then(|id| SalesforceId::parse(id).ok())
}

/// Resolves every reference of a chunk with one ID-map lookup per target object.
pub(crate) async fn resolve_references(
    id_map: &dyn IdMap,
    tenant: &ferry_model::ids::TenantId,
    transformed: &[crate::transform::TransformedRecord],
) -> Result<HashMap<String, HashMap<SalesforceId, DestinationId>>, StepError> {
    let mut wanted: BTreeMap<&str, BTreeSet<SalesforceId>> = BTreeMap::new();
    for record in transformed {
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
        let found = id_map
            .lookup(tenant, target_object, &ids)
            .await
            .map_err(StepError::IdMap)?;
        resolved.insert(target_object.to_owned(), found);
    }
    Ok(resolved)
}

/// Journals the records about to be sent, before they are: a created record as created, an
/// existing one with its ID-map entry and what the destination holds now (read in one
/// batch). Records this run already wrote are journaled already and skipped, so a chunk
/// loaded again costs no extra read.
async fn journal_before_upsert(
    ports: &LoadPorts<'_>,
    tenant: &ferry_model::ids::TenantId,
    run: &ferry_model::ids::RunId,
    object: &ferry_model::plan::ObjectPlan,
    batch: &[DestinationRecord],
    known: &HashMap<SalesforceId, StoredIdMapEntry>,
) -> Result<(), StepError> {
    let mut journal = Vec::new();
    let mut existing: Vec<&StoredIdMapEntry> = Vec::new();
    for record in batch {
        match known.get(&record.source_id) {
            Some(entry) if entry.last_run == *run => {}
            Some(entry) => existing.push(entry),
            None => journal.push(JournalEntry {
                object: object.object.clone(),
                entity: object.entity,
                salesforce_id: record.source_id.clone(),
                action: JournalAction::Created,
                previous_entry: None,
                previous_record: None,
            }),
        }
    }
    if !existing.is_empty() {
        let ids: Vec<DestinationId> = existing
            .iter()
            .map(|entry| entry.destination_id.clone())
            .collect();
        let before = ports
            .destination
            .get(tenant, object.entity, &ids)
            .await
            .map_err(StepError::Destination)?;
        if before.len() != ids.len() {
            return Err(StepError::DestinationContract {
                sent: ids.len(),
                answered: before.len(),
            });
        }
        for (entry, previous_record) in existing.into_iter().zip(before) {
            journal.push(JournalEntry {
                object: object.object.clone(),
                entity: object.entity,
                salesforce_id: entry.salesforce_id.clone(),
                action: JournalAction::Updated,
                previous_entry: Some(entry.clone()),
                previous_record,
            });
        }
    }
    if journal.is_empty() {
        return Ok(());
    }
    ports
        .runs
        .journal(run, &journal)
        .await
        .map_err(StepError::RunStore)
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
