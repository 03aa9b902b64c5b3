//! Records that already land as another record: a converted lead is its contact. Importing
//! both would put the same person in the CRM twice, so the lead is counted as skipped with
//! the reason, and its ID-map entry points at the contact's destination record, so a task
//! whose `WhoId` is the lead links to the contact it became.

use super::load::{Landed, RecordDecision};
use crate::transform::{Reference, TransformedRecord, content_hash};
use ferry_model::ids::RunId;
use ferry_model::plan::ObjectPlan;
use ferry_model::ports::IdMapEntry;
use ferry_model::report::{IssueKind, RecordIssue};

/// Whether the ID map (as `landed` has it) names the record that replaces one.
pub(super) fn found(replacement: &Reference, landed: &Landed) -> bool {
    replacement.candidates().any(|(object, _)| {
        landed
            .get(object)
            .is_some_and(|landed| landed.contains_key(&replacement.target))
    })
}

/// Links a replaced record to the destination record of the record that replaces it (as
/// the ID map has it, `landed`), and reports it as skipped.
pub(super) fn decide(
    object: &ObjectPlan,
    run: &RunId,
    record: &TransformedRecord,
    replacement: &Reference,
    landed: &Landed,
) -> RecordDecision {
    let destination = replacement.candidates().find_map(|(object, _)| {
        landed
            .get(object)
            .and_then(|landed| landed.get(&replacement.target))
    });
    // A record replaced on a condition (a person contact, by its person account) is not a
    // converted one.
    let what = if object
        .replaced_by
        .as_ref()
        .is_some_and(|r| !r.when.is_empty())
    {
        "replaced by its"
    } else {
        "converted into"
    };
    let own_id = object.replaced_by.as_ref().is_some_and(|r| r.own_id);
    let (id_map_entry, reason) = match destination {
        // The record an email stands for (its companion task): the email names it.
        Some(destination_id) if own_id => (
            Some(IdMapEntry {
                object: object.object.clone(),
                salesforce_id: record.record.source_id.clone(),
                destination_id: destination_id.clone(),
                run_id: run.clone(),
                content_hash: content_hash(record),
            }),
            format!(
                "replaced by its {}, which names it and stands for it: not imported twice; links to it go to that record",
                replacement.target_object
            ),
        ),
        Some(destination_id) => (
            Some(IdMapEntry {
                object: object.object.clone(),
                salesforce_id: record.record.source_id.clone(),
                destination_id: destination_id.clone(),
                run_id: run.clone(),
                content_hash: content_hash(record),
            }),
            format!(
                "{what} {} {}: not imported twice; links to it go to that record",
                replacement.target_object, replacement.target
            ),
        ),
        None => (
            None,
            format!(
                "{what} {} {}, which did not land; not imported twice, and links to it stay empty",
                replacement.target_object, replacement.target
            ),
        ),
    };
    RecordDecision::Skipped {
        reason: RecordIssue {
            object: object.object.clone(),
            salesforce_id: Some(record.record.source_id.to_string()),
            field: Some(replacement.source_field.clone()),
            kind: IssueKind::Skipped,
            reason,
        },
        id_map_entry,
    }
}
