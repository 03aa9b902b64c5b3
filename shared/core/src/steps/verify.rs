//! Verification: every migrated record read back from the destination and compared field by
//! field with what was sent.
//!
//! What was sent is rebuilt from the run's staged chunks (transform, validate, resolve links
//! through the ID map), not stored a second time: the steps are pure and the staged chunks
//! are kept for the run anyway, so the rebuild costs no storage and reads one chunk at a
//! time. Links are resolved after finalize, so a link that was deferred and patched is
//! expected with its patched value.

use super::StepError;
use super::load::{
    ChunkToRead, ReadRecord, link_targets, look_up_landed, read_chunk, resolve_links,
};
use crate::transform::{StagedImage, TransformedRecord};
use ferry_model::ids::{DestinationId, RunId, SalesforceId};
use ferry_model::mapping::EntityKind;
use ferry_model::plan::{ObjectPlan, Plan};
use ferry_model::ports::Progress;
use ferry_model::ports::{Destination, DestinationUser, IdMap, RunStore, Staging};
use ferry_model::records::DestinationRecord;
use ferry_model::report::{IssueKind, RecordIssue};
use ferry_model::runs::{ObjectVerification, ProgressEvent};
use futures::StreamExt as _;
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
pub(crate) async fn verify_object(
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
    // Users are matched to the destination's own users, never sent: what a matched user
    // was given (whether the person is still active) is read back from the users.
    if object.entity == EntityKind::Owner && !object.queue_to_default_owner {
        let users = ports
            .destination
            .users(&plan.tenant)
            .await
            .map_err(StepError::Destination)?;
        for chunk in 0..chunks {
            let verified = verify_users_chunk(ports, run, plan, object, chunk, &users).await?;
            verification.checked += verified.checked;
            verification.mismatched += verified.mismatched;
            verification.issues.extend(verified.issues);
        }
    }
    let chunks = if object.entity.created_by_migration() {
        chunks
    } else {
        0
    };
    // Two chunks at a time: reading one back waits on the destination while the other's
    // records are rebuilt. The futures are made up front (see `schedule`), and results
    // are taken in chunk order, so the issues come in the order of the records.
    let pending: Vec<_> = (0..chunks)
        .map(|chunk| verify_chunk(ports, run, plan, object, chunk))
        .collect();
    let mut verified_chunks = futures::stream::iter(pending).buffered(VERIFY_CHUNKS_AT_ONCE);
    while let Some(verified) = verified_chunks.next().await {
        let verified = verified?;
        verification.checked += verified.checked;
        verification.mismatched += verified.mismatched;
        verification.issues.extend(verified.issues);
        progress.event(ProgressEvent::Verified {
            object: object.object.clone(),
            checked: verification.checked,
            mismatched: verification.mismatched,
        });
    }
    drop(verified_chunks);
    ports
        .runs
        .record_verification(run, &verification)
        .await
        .map_err(StepError::RunStore)?;
    tracing::info!(run_id = %run, object = %object.object, checked = verification.checked, mismatched = verification.mismatched, "verified");
    Ok(verification)
}

/// Chunks of one object read back at once.
const VERIFY_CHUNKS_AT_ONCE: usize = 2;

/// What one chunk's read-back found.
#[derive(Debug, Default)]
struct ChunkVerification {
    checked: u64,
    mismatched: u64,
    issues: Vec<RecordIssue>,
}

/// Compares the status each matched user of one staged chunk was given (`active`, from
/// `IsActive`) with the destination's user it matched. A user the ID map points at a
/// destination user of another email went to the default owner, unmatched, and was given
/// nothing.
async fn verify_users_chunk(
    ports: &VerifyPorts<'_>,
    run: &RunId,
    plan: &Plan,
    object: &ObjectPlan,
    chunk: u32,
    users: &[DestinationUser],
) -> Result<ChunkVerification, StepError> {
    let mut verified = ChunkVerification::default();
    let read = read_staged(ports, run, plan, object, chunk).await?;
    let records: Vec<TransformedRecord> = read
        .records
        .into_iter()
        .filter_map(|record| match record {
            ReadRecord::Valid { record, .. } => Some(*record),
            _ => None,
        })
        .collect();
    let ids: Vec<SalesforceId> = records
        .iter()
        .map(|record| record.record.source_id.clone())
        .collect();
    let entries = ports
        .id_map
        .lookup(&plan.tenant, &object.object, &ids)
        .await
        .map_err(StepError::IdMap)?;
    for record in &records {
        let Some(sent) = super::owners::user_active(record) else {
            continue;
        };
        let email = record
            .record
            .fields
            .get("email")
            .and_then(|value| value.as_str())
            .unwrap_or_default();
        let Some(user) = entries
            .get(&record.record.source_id)
            .and_then(|id| users.iter().find(|user| user.id == *id))
            .filter(|user| !email.is_empty() && user.email.eq_ignore_ascii_case(email))
        else {
            continue;
        };
        verified.checked += 1;
        if user.active != Some(sent) {
            verified.mismatched += 1;
            verified.issues.push(RecordIssue {
                object: object.object.clone(),
                salesforce_id: Some(record.record.source_id.to_string()),
                field: Some(super::owners::ACTIVE_FIELD.to_owned()),
                kind: IssueKind::Mismatch,
                reason: format!(
                    "destination user {} was given active {sent} but holds {}",
                    user.id,
                    user.active
                        .map_or_else(|| "no status".to_owned(), |active| active.to_string())
                ),
            });
        }
    }
    Ok(verified)
}

/// One staged chunk of `object`, read as the load read it.
async fn read_staged(
    ports: &VerifyPorts<'_>,
    run: &RunId,
    plan: &Plan,
    object: &ObjectPlan,
    chunk: u32,
) -> Result<super::load::ReadChunk, StepError> {
    let key = super::chunk_key(plan, run, &object.object, chunk);
    let body = ports.staging.get(&key).await.map_err(StepError::Staging)?;
    Ok(read_chunk(ChunkToRead {
        object: object.clone(),
        validation: plan.validation.clone(),
        merging: false,
        key,
        body,
    }))
}

/// Rebuilds what one staged chunk sent and compares it with what the destination holds.
async fn verify_chunk(
    ports: &VerifyPorts<'_>,
    run: &RunId,
    plan: &Plan,
    object: &ObjectPlan,
    chunk: u32,
) -> Result<ChunkVerification, StepError> {
    let mut verified = ChunkVerification::default();
    // The load's own reading: records that could not be read, transformed or validated
    // were reported by the load and never sent, a converted lead is not sent (its ID-map
    // entry points at the contact it became), and a deleted one is not sent either; there
    // is nothing to compare for them.
    let read = read_staged(ports, run, plan, object, chunk).await?;
    let mut transformed: Vec<TransformedRecord> = Vec::new();
    // A record replaced only when another object's entry names it by its own id (a task
    // an email stands for) landed as itself when none does (a task logged as an email
    // without an EmailMessage): that one is verified like any other.
    let mut unless_stood_for: Vec<TransformedRecord> = Vec::new();
    for record in read.records {
        match record {
            ReadRecord::Valid { record, .. } => transformed.push(*record),
            ReadRecord::Replaced {
                fallback: Some(fallback),
                ..
            } => {
                if let ReadRecord::Valid { record, .. } = *fallback {
                    unless_stood_for.push(*record);
                }
            }
            _ => {}
        }
    }
    if let Some(replaced) = object.replaced_by.as_ref().filter(|r| r.own_id)
        && !unless_stood_for.is_empty()
    {
        let ids: Vec<SalesforceId> = unless_stood_for
            .iter()
            .map(|record| record.record.source_id.clone())
            .collect();
        let stood_for = ports
            .id_map
            .lookup(&plan.tenant, &replaced.target_object, &ids)
            .await
            .map_err(StepError::IdMap)?;
        transformed.extend(
            unless_stood_for
                .into_iter()
                .filter(|record| !stood_for.contains_key(&record.record.source_id)),
        );
    }
    let images: BTreeMap<SalesforceId, Vec<StagedImage>> = transformed
        .iter()
        .filter(|record| !record.images.is_empty())
        .map(|record| (record.record.source_id.clone(), record.images.clone()))
        .collect();
    let expected = read_back(ports.id_map, ports.destination, plan, object, transformed).await?;
    let image_differences = verify_images(ports, plan, object, &images, &expected).await?;
    let merging = plan.merge_leads_by_email && object.object == super::merge::LEAD;
    for (destination_id, sent, read) in &expected {
        // A lead merged into a contact was not sent: its ID-map entry points at the
        // contact, which is verified as a contact.
        if merging
            && read
                .as_ref()
                .is_some_and(|read| read.source_id != sent.source_id)
        {
            continue;
        }
        verified.checked += 1;
        let mut differences = compare(object, destination_id, sent, read.as_ref());
        differences.extend(
            image_differences
                .get(&sent.source_id)
                .into_iter()
                .flatten()
                .cloned(),
        );
        if !differences.is_empty() {
            verified.mismatched += 1;
            verified.issues.extend(differences);
        }
    }
    Ok(verified)
}

/// Reads back the rich-text images of the records that landed: each a `file` record under
/// the image object, attached to its record, named, typed and sized as sent. Returns the
/// differences per record (a record whose images differ is a mismatch).
async fn verify_images(
    ports: &VerifyPorts<'_>,
    plan: &Plan,
    object: &ObjectPlan,
    images: &BTreeMap<SalesforceId, Vec<StagedImage>>,
    landed: &[(DestinationId, DestinationRecord, Option<DestinationRecord>)],
) -> Result<BTreeMap<SalesforceId, Vec<RecordIssue>>, StepError> {
    let mut differences: BTreeMap<SalesforceId, Vec<RecordIssue>> = BTreeMap::new();
    let Some(link) = super::files::file_link_to(object.entity) else {
        // Reported at load: the destination's files cannot be attached to this entity.
        return Ok(differences);
    };
    let image_object = ferry_model::records::rich_text_image_object(&object.object);
    let image_plan = ObjectPlan {
        object: image_object.clone(),
        entity: EntityKind::File,
        ..object.clone()
    };
    let mut expected: Vec<(SalesforceId, DestinationRecord)> = Vec::new();
    for (destination_id, sent, _) in landed {
        for image in images.get(&sent.source_id).into_iter().flatten() {
            expected.push((
                sent.source_id.clone(),
                super::files::image_record(&object.object, image, link, destination_id),
            ));
        }
    }
    for batch in expected.chunks(super::delete::BATCH) {
        let ids: Vec<SalesforceId> = batch
            .iter()
            .map(|(_, image)| image.source_id.clone())
            .collect();
        let entries = ports
            .id_map
            .lookup(&plan.tenant, &image_object, &ids)
            .await
            .map_err(StepError::IdMap)?;
        // An image without an entry was refused at load, and reported then.
        let found: Vec<(&SalesforceId, &DestinationRecord, &DestinationId)> = batch
            .iter()
            .filter_map(|(parent, image)| Some((parent, image, entries.get(&image.source_id)?)))
            .collect();
        if found.is_empty() {
            continue;
        }
        let destination_ids: Vec<DestinationId> =
            found.iter().map(|(_, _, id)| (*id).clone()).collect();
        let actual = ports
            .destination
            .get(&plan.tenant, EntityKind::File, &destination_ids)
            .await
            .map_err(StepError::Destination)?;
        if actual.len() != found.len() {
            return Err(StepError::DestinationContract {
                sent: found.len(),
                answered: actual.len(),
            });
        }
        for ((parent, sent, destination_id), read) in found.into_iter().zip(actual) {
            let issues = compare(&image_plan, destination_id, sent, read.as_ref());
            if !issues.is_empty() {
                differences
                    .entry(parent.clone())
                    .or_default()
                    .extend(issues.into_iter().map(|issue| RecordIssue {
                        object: object.object.clone(),
                        salesforce_id: Some(parent.to_string()),
                        reason: format!("rich-text image {}: {}", sent.source_id, issue.reason),
                        ..issue
                    }));
            }
        }
    }
    Ok(differences)
}

/// The records of `transformed` that landed (the ID map holds them), each with its links
/// resolved through the ID map as they are now, beside what the destination holds for it:
/// one `Destination::get` for the lot. Verification and the spot check compare the two.
pub(super) async fn read_back(
    id_map: &dyn IdMap,
    destination: &dyn Destination,
    plan: &Plan,
    object: &ObjectPlan,
    transformed: Vec<TransformedRecord>,
) -> Result<Vec<(DestinationId, DestinationRecord, Option<DestinationRecord>)>, StepError> {
    let landed = look_up_landed(id_map, &plan.tenant, link_targets(&transformed)).await?;
    let ids: Vec<SalesforceId> = transformed
        .iter()
        .map(|record| record.record.source_id.clone())
        .collect();
    let entries = id_map
        .lookup(&plan.tenant, &object.object, &ids)
        .await
        .map_err(StepError::IdMap)?;
    let mut expected: Vec<(DestinationId, DestinationRecord)> = Vec::new();
    for record in transformed {
        let Some(destination_id) = entries.get(&record.record.source_id) else {
            // Refused by the destination: reported as failed at load.
            continue;
        };
        // Links that were deferred at load have been patched since, so they resolve now;
        // one whose target never landed is expected empty, as it was sent.
        let mut sent = record.record;
        resolve_links(&mut sent, record.references, &landed);
        expected.push((destination_id.clone(), sent));
    }
    if expected.is_empty() {
        return Ok(Vec::new());
    }
    let destination_ids: Vec<DestinationId> = expected.iter().map(|(id, _)| id.clone()).collect();
    let actual = destination
        .get(&plan.tenant, object.entity, &destination_ids)
        .await
        .map_err(StepError::Destination)?;
    if actual.len() != expected.len() {
        return Err(StepError::DestinationContract {
            sent: expected.len(),
            answered: actual.len(),
        });
    }
    Ok(expected
        .into_iter()
        .zip(actual)
        .map(|((id, sent), read)| (id, sent, read))
        .collect())
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use ferry_model::mapping::EntityKind;
    use serde_json::json;

    fn plan() -> ObjectPlan {
        ObjectPlan {
            object: "Account".to_owned(),
            entity: EntityKind::Company,
            phase: 0,
            in_salesforce: 0,
            estimated: None,
            soft_deletes: false,
            select: vec![],
            fields: vec![],
            links: vec![],
            custom_fields: vec![],
            values: BTreeMap::new(),
            replaced_by: None,
            blob: None,
            source_object: None,
            filter: None,
            queue_to_default_owner: false,
            queue_objects: Default::default(),
            skipped_when: None,
            read_by_parent: None,
            stands_for: None,
        }
    }

    fn record(fields: serde_json::Value, links: &[(&str, &str)]) -> DestinationRecord {
        DestinationRecord {
            source_object: "Account".to_owned(),
            source_id: SalesforceId::parse("001Da00000xnAiyIAE").unwrap(),
            fields: serde_json::from_value(fields).unwrap(),
            links: links
                .iter()
                .map(|(link, id)| ((*link).to_owned(), DestinationId::new(*id)))
                .collect(),
            custom_fields: BTreeMap::new(),
        }
    }

    /// `(field, reason)` of every difference.
    fn check(sent: &DestinationRecord, read: Option<&DestinationRecord>, expect: &[(&str, &str)]) {
        let found: Vec<(String, String)> = compare(&plan(), &DestinationId::new("7"), sent, read)
            .into_iter()
            .map(|issue| {
                assert_eq!(issue.kind, IssueKind::Mismatch);
                assert_eq!(issue.salesforce_id.as_deref(), Some("001Da00000xnAiyIAE"));
                (issue.field.unwrap_or_default(), issue.reason)
            })
            .collect();
        let expect: Vec<(String, String)> = expect
            .iter()
            .map(|(field, reason)| ((*field).to_owned(), (*reason).to_owned()))
            .collect();
        assert_eq!(found, expect);
    }

    #[test]
    fn a_null_sent_and_nothing_read_back_are_the_same() {
        let sent = record(
            json!({"name": "Acme", "phone": null}),
            &[("parent_company", "3")],
        );
        let read = record(json!({"name": "Acme"}), &[("parent_company", "3")]);
        check(&sent, Some(&read), &[]);
    }

    #[test]
    fn an_amount_read_back_in_another_currency_is_a_mismatch() {
        let sent = record(
            json!({"name": "Acme", "annual_revenue": 2055222000, "currency": "JPY"}),
            &[],
        );
        let read = record(
            json!({"name": "Acme", "annual_revenue": 2055222000, "currency": "USD"}),
            &[],
        );
        check(
            &sent,
            Some(&read),
            &[(
                "currency",
                "field currency of company 7: sent \"JPY\", read back \"USD\"",
            )],
        );
    }

    #[test]
    fn each_differing_field_and_link_is_named() {
        let sent = record(
            json!({"name": "Acme", "industry": "Energy"}),
            &[("parent_company", "3")],
        );
        let read = record(
            json!({"name": "ACME", "industry": "Energy", "phone": "1"}),
            &[],
        );
        check(
            &sent,
            Some(&read),
            &[
                (
                    "name",
                    "field name of company 7: sent \"Acme\", read back \"ACME\"",
                ),
                (
                    "phone",
                    "field phone of company 7: sent nothing, read back \"1\"",
                ),
                (
                    "parent_company",
                    "link parent_company of company 7: sent \"3\", read back nothing",
                ),
            ],
        );
    }

    #[test]
    fn a_record_the_destination_lost_is_one_mismatch() {
        let sent = record(json!({"name": "Acme"}), &[]);
        check(
            &sent,
            None,
            &[(
                "",
                "company 7 was sent but the destination does not hold it",
            )],
        );
    }
}
