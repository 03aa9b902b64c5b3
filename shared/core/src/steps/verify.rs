//! Verification: every migrated record read back from the destination and compared field by
//! field with what was sent.
//!
//! What was sent is rebuilt from the run's staged chunks (transform, validate, resolve links
//! through the ID map), not stored a second time: the steps are pure and the staged chunks
//! are kept for the run anyway, so the rebuild costs no storage and reads one chunk at a
//! time. Links are resolved after finalize, so a link that was deferred and patched is
//! expected with its patched value.

use super::StepError;
use super::load::{is_deleted, resolve_references};
use crate::ids::{DestinationId, RunId, SalesforceId};
use crate::plan::{ObjectPlan, Plan};
use crate::ports::{Destination, DestinationRecord, IdMap, RunStore, Staging};
use crate::report::{IssueKind, RecordIssue};
use crate::runs::{ObjectVerification, Progress, ProgressEvent};
use crate::transform::transform_record;
use crate::validate::{Verdict, validate_record};
use std::collections::BTreeMap;

pub struct VerifyPorts<'a> {
    pub staging: &'a dyn Staging,
    pub id_map: &'a dyn IdMap,
    pub destination: &'a dyn Destination,
    pub runs: &'a dyn RunStore,
}

/// Longest value quoted in a mismatch's reason.
const QUOTE_LIMIT: usize = 120;

/// Reads back every record of `object` the run's chunks carry and that the ID map holds,
/// in one `Destination::get` per chunk, and stores the object's verification.
pub async fn verify_object(
    ports: &VerifyPorts<'_>,
    run: &RunId,
    plan: &Plan,
    object: &ObjectPlan,
    chunks: u32,
    progress: &dyn Progress,
) -> Result<ObjectVerification, StepError> {
    let mut verification = ObjectVerification {
        object: object.object.clone(),
        ..ObjectVerification::default()
    };
    for chunk in 0..chunks {
        let key = super::chunk_key(plan, run, &object.object, chunk);
        let body = ports.staging.get(&key).await.map_err(StepError::Staging)?;
        let mut transformed = Vec::new();
        for line in body.split(|byte| *byte == b'\n') {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            // Records that could not be read or transformed were reported by the load and
            // never sent; there is nothing to compare for them.
            let Ok(source) = serde_json::from_slice::<crate::model::SourceRecord>(line) else {
                continue;
            };
            if is_deleted(&source) {
                continue;
            }
            let Ok(mut record) = transform_record(object, &source) else {
                continue;
            };
            let (_, verdict) = validate_record(object, &mut record, &plan.validation);
            if verdict == Verdict::Load {
                transformed.push(record);
            }
        }
        let resolved = resolve_references(ports.id_map, &plan.tenant, &transformed).await?;
        let ids: Vec<SalesforceId> = transformed
            .iter()
            .map(|record| record.record.source_id.clone())
            .collect();
        let entries = ports
            .id_map
            .lookup(&plan.tenant, &object.object, &ids)
            .await
            .map_err(StepError::IdMap)?;
        let mut expected: Vec<(DestinationId, DestinationRecord)> = Vec::new();
        for record in transformed {
            let Some(destination_id) = entries.get(&record.record.source_id) else {
                // Refused by the destination: reported as failed at load.
                continue;
            };
            let mut sent = record.record;
            for reference in record.references {
                if let Some(target) = resolved
                    .get(reference.target_object.as_str())
                    .and_then(|found| found.get(&reference.target))
                {
                    sent.links.insert(reference.link, target.clone());
                }
            }
            expected.push((destination_id.clone(), sent));
        }
        if expected.is_empty() {
            continue;
        }
        let destination_ids: Vec<DestinationId> =
            expected.iter().map(|(id, _)| id.clone()).collect();
        let actual = ports
            .destination
            .get(&plan.tenant, object.entity, &destination_ids)
            .await
            .map_err(StepError::Destination)?;
        if actual.len() != expected.len() {
            return Err(StepError::DestinationContract {
                sent: expected.len(),
                answered: actual.len(),
            });
        }
        for ((destination_id, sent), read) in expected.iter().zip(actual) {
            verification.checked += 1;
            let differences = compare(object, destination_id, sent, read.as_ref());
            if !differences.is_empty() {
                verification.mismatched += 1;
                verification.issues.extend(differences);
            }
        }
        progress.event(ProgressEvent::Verified {
            object: object.object.clone(),
            checked: verification.checked,
            mismatched: verification.mismatched,
        });
    }
    ports
        .runs
        .record_verification(run, &verification)
        .await
        .map_err(StepError::RunStore)?;
    tracing::info!(run_id = %run, object = %object.object, checked = verification.checked, mismatched = verification.mismatched, "verified");
    Ok(verification)
}

/// Every difference between what was sent and what was read back, one issue per field.
/// A null value and an absent one are the same: the destination does not store nulls.
pub fn compare(
    object: &ObjectPlan,
    destination_id: &DestinationId,
    sent: &DestinationRecord,
    read: Option<&DestinationRecord>,
) -> Vec<RecordIssue> {
    let issue = |field: Option<String>, reason: String| RecordIssue {
        object: object.object.clone(),
        salesforce_id: Some(sent.source_id.to_string()),
        field,
        kind: IssueKind::Mismatch,
        reason,
    };
    let Some(read) = read else {
        return vec![issue(
            None,
            format!(
                "{} {destination_id} was sent but the destination does not hold it",
                object.entity
            ),
        )];
    };
    let mut issues = Vec::new();
    let links = |record: &DestinationRecord| -> BTreeMap<String, serde_json::Value> {
        record
            .links
            .iter()
            .map(|(link, target)| {
                (
                    link.clone(),
                    serde_json::Value::String(target.as_str().to_owned()),
                )
            })
            .collect()
    };
    for (kind, sent_values, read_values) in [
        ("field", sent.fields.clone(), read.fields.clone()),
        (
            "custom field",
            sent.custom_fields.clone(),
            read.custom_fields.clone(),
        ),
        ("link", links(sent), links(read)),
    ] {
        let names: std::collections::BTreeSet<&String> =
            sent_values.keys().chain(read_values.keys()).collect();
        for name in names {
            let sent_value = sent_values.get(name).filter(|value| !value.is_null());
            let read_value = read_values.get(name).filter(|value| !value.is_null());
            if sent_value != read_value {
                issues.push(issue(
                    Some(name.clone()),
                    format!(
                        "{kind} {name} of {} {destination_id}: sent {}, read back {}",
                        object.entity,
                        quote(sent_value),
                        quote(read_value)
                    ),
                ));
            }
        }
    }
    issues
}

fn quote(value: Option<&serde_json::Value>) -> String {
    let Some(value) = value else {
        return "nothing".to_owned();
    };
    let text = value.to_string();
    if text.chars().count() <= QUOTE_LIMIT {
        return text;
    }
    let cut: String = text.chars().take(QUOTE_LIMIT).collect();
    format!("{cut}…")
}
