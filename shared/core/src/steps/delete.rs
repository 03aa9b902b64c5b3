//! Deletion of records deleted in Salesforce (delta runs), at finalize, children before
//! parents.

use super::StepError;
use ferry_model::ids::{DestinationId, RunId, SalesforceId};
use ferry_model::plan::Plan;
use ferry_model::ports::{Destination, IdMap, RunStore};
use ferry_model::report::{IssueKind, RecordIssue};
use ferry_model::runs::{DeletionResult, JournalAction, JournalEntry, StoredIdMapEntry};

/// Records handled per destination call.
pub(crate) const BATCH: usize = 200;

/// Deletes records, retrying refused ones while each round deletes something: a record
/// may be refused only because another record of the same batch or object (a child
/// company under its parent) still linked to it. Returns the deleted entries and the
/// refused ones with the destination's last reason.
pub(crate) async fn delete_until_settled(
    destination: &dyn Destination,
    tenant: &ferry_model::ids::TenantId,
    entity: ferry_model::mapping::EntityKind,
    entries: Vec<StoredIdMapEntry>,
) -> Result<(Vec<StoredIdMapEntry>, Vec<(StoredIdMapEntry, String)>), StepError> {
    let mut deleted = Vec::new();
    let mut pending = entries;
    loop {
        let mut refused = Vec::new();
        let before = deleted.len();
        for batch in pending.chunks(BATCH) {
            let ids: Vec<DestinationId> = batch
                .iter()
                .map(|entry| entry.destination_id.clone())
                .collect();
            let outcomes = destination
                .delete(tenant, entity, &ids)
                .await
                .map_err(StepError::Destination)?;
            if outcomes.len() != ids.len() {
                return Err(StepError::DestinationContract {
                    sent: ids.len(),
                    answered: outcomes.len(),
                });
            }
            for (entry, outcome) in batch.iter().zip(outcomes) {
                match outcome {
                    Ok(()) => deleted.push(entry.clone()),
                    Err(reason) => refused.push((entry.clone(), reason)),
                }
            }
        }
        if refused.is_empty() || deleted.len() == before {
            return Ok((deleted, refused));
        }
        pending = refused.into_iter().map(|(entry, _)| entry).collect();
    }
}

pub struct DeletionPorts<'a> {
    pub id_map: &'a dyn IdMap,
    pub destination: &'a dyn Destination,
    pub runs: &'a dyn RunStore,
}

/// Deletes from the destination the records the run found deleted in Salesforce, objects in
/// reverse phase order so children go before the parents they link to. Each record is
/// journaled (its ID-map entry and values) before it is deleted, so a rollback can create it
/// again, and its ID-map entry is removed after. Running it again finds the removed entries
/// gone and counts them as deleted, so a resumed finalize reports what one run would.
pub(crate) async fn apply_deletions(
    ports: &DeletionPorts<'_>,
    run: &RunId,
    plan: &Plan,
) -> Result<(), StepError> {
    for phase in plan.phases().into_iter().rev() {
        for object in phase.into_iter().rev() {
            let pending = ports
                .runs
                .pending_deletions(run, &object.object)
                .await
                .map_err(StepError::RunStore)?;
            if pending.is_empty() {
                continue;
            }
            let mut result = DeletionResult {
                object: object.object.clone(),
                deleted: 0,
                issues: Vec::new(),
            };
            for batch in pending.chunks(BATCH) {
                let ids: Vec<SalesforceId> = batch
                    .iter()
                    .map(|deletion| deletion.salesforce_id.clone())
                    .collect();
                let entries = ports
                    .id_map
                    .entries(&plan.tenant, &object.object, &ids)
                    .await
                    .map_err(StepError::IdMap)?;
                // Entries already gone were deleted by an earlier attempt of this finalize.
                result.deleted += (ids.len() - entries.len()) as u64;
                let present: Vec<_> = ids.iter().filter_map(|id| entries.get(id)).collect();
                if present.is_empty() {
                    continue;
                }
                let destination_ids: Vec<DestinationId> = present
                    .iter()
                    .map(|entry| entry.destination_id.clone())
                    .collect();
                let before = ports
                    .destination
                    .get(&plan.tenant, object.entity, &destination_ids)
                    .await
                    .map_err(StepError::Destination)?;
                if before.len() != present.len() {
                    return Err(StepError::DestinationContract {
                        sent: present.len(),
                        answered: before.len(),
                    });
                }
                let journal: Vec<JournalEntry> = present
                    .iter()
                    .zip(before)
                    .map(|(entry, previous_record)| JournalEntry {
                        object: object.object.clone(),
                        entity: object.entity,
                        salesforce_id: entry.salesforce_id.clone(),
                        action: JournalAction::Deleted,
                        previous_entry: Some((*entry).clone()),
                        previous_record,
                    })
                    .collect();
                ports
                    .runs
                    .journal(run, &journal)
                    .await
                    .map_err(StepError::RunStore)?;
                let (deleted, refused) = delete_until_settled(
                    ports.destination,
                    &plan.tenant,
                    object.entity,
                    present.into_iter().cloned().collect(),
                )
                .await?;
                result.deleted += deleted.len() as u64;
                for (entry, reason) in refused {
                    result.issues.push(RecordIssue {
                        object: object.object.clone(),
                        salesforce_id: Some(entry.salesforce_id.to_string()),
                        field: None,
                        kind: IssueKind::Failed,
                        reason: format!(
                            "deleted in Salesforce, but the destination refused to delete {} {}: {reason}",
                            object.entity, entry.destination_id
                        ),
                    });
                }
                let removed: Vec<SalesforceId> = deleted
                    .into_iter()
                    .map(|entry| entry.salesforce_id)
                    .collect();
                ports
                    .id_map
                    .remove(&plan.tenant, &object.object, &removed)
                    .await
                    .map_err(StepError::IdMap)?;
            }
            tracing::info!(run_id = %run, object = %object.object, deleted = result.deleted, refused = result.issues.len(), "deleted records deleted in Salesforce");
            ports
                .runs
                .record_deletions(run, &result)
                .await
                .map_err(StepError::RunStore)?;
        }
    }
    Ok(())
}
