//! Records that already land as another record: a converted lead is its contact. Importing
//! both would put the same person in the CRM twice, so the lead is counted as skipped with
//! the reason, and its ID-map entry points at the contact's destination record, so a task
//! whose `WhoId` is the lead links to the contact it became.

use super::StepError;
use super::load::LoadPorts;
use crate::transform::{TransformedRecord, content_hash};
use ferry_model::ids::{RunId, SalesforceId};
use ferry_model::plan::{ObjectPlan, Plan};
use ferry_model::ports::IdMapEntry;
use ferry_model::report::{IssueKind, RecordIssue};
use std::collections::{BTreeMap, BTreeSet};

/// Links each replaced record to the destination record of the record that replaces it,
/// through the ID map, and reports it as skipped.
pub(super) async fn link_replaced(
    ports: &LoadPorts<'_>,
    plan: &Plan,
    object: &ObjectPlan,
    run: &RunId,
    records: Vec<TransformedRecord>,
    issues: &mut Vec<RecordIssue>,
) -> Result<Vec<IdMapEntry>, StepError> {
    let mut wanted: BTreeMap<&str, BTreeSet<SalesforceId>> = BTreeMap::new();
    for record in &records {
        if let Some(replacement) = &record.replaced_by {
            wanted
                .entry(replacement.target_object.as_str())
                .or_default()
                .insert(replacement.target.clone());
        }
    }
    let mut found = BTreeMap::new();
    for (target_object, ids) in wanted {
        let ids: Vec<SalesforceId> = ids.into_iter().collect();
        let landed = ports
            .id_map
            .lookup(&plan.tenant, target_object, &ids)
            .await
            .map_err(StepError::IdMap)?;
        found.insert(target_object.to_owned(), landed);
    }
    let mut entries = Vec::new();
    for record in &records {
        let Some(replacement) = &record.replaced_by else {
            continue;
        };
        let destination = found
            .get(&replacement.target_object)
            .and_then(|landed| landed.get(&replacement.target));
        let reason = match destination {
            Some(destination_id) => {
                entries.push(IdMapEntry {
                    object: object.object.clone(),
                    salesforce_id: record.record.source_id.clone(),
                    destination_id: destination_id.clone(),
                    run_id: run.clone(),
                    content_hash: content_hash(record),
                });
                format!(
                    "converted into {} {}: not imported twice; links to it go to that record",
                    replacement.target_object, replacement.target
                )
            }
            None => format!(
                "converted into {} {}, which did not land; not imported twice, and links to it stay empty",
                replacement.target_object, replacement.target
            ),
        };
        issues.push(RecordIssue {
            object: object.object.clone(),
            salesforce_id: Some(record.record.source_id.to_string()),
            field: Some(replacement.source_field.clone()),
            kind: IssueKind::Skipped,
            reason,
        });
    }
    Ok(entries)
}
