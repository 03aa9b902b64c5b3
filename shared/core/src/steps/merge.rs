//! Merge-on-import of leads into contacts (`Plan::merge_leads_by_email`, off by default).
//!
//! A lead whose normalised email (trimmed, lower-cased) is the email of a contact that this
//! migration imports is not created as a second person: it is counted as skipped with the
//! contact it was merged into, and its ID-map entry points at that contact's destination
//! record, so a task whose `WhoId` is the lead links to the contact (as a converted lead
//! does, `replaced`). Nothing of the lead is copied into the contact: the contact keeps its
//! own values, empty fields included.
//!
//! Which contact: among the contacts with that email that landed (the ID map has them),
//! the one with the oldest `CreatedDate`, then the lowest Id. The contacts are read from the
//! staged contact chunks of the tenant's runs that are not rolled back, oldest run first, a
//! later run's copy of a contact replacing an earlier one and a contact deleted in
//! Salesforce (a delta's `IsDeleted`) leaving the index: so a delta run in which only the
//! lead changed still merges into the contact an earlier run migrated, and a resumed run
//! reads what it staged before the crash. Leads load in a later phase than contacts
//! (`check_merge_order`), so every contact of the run has landed when a lead is loaded.
//! A converted lead keeps going to its converted contact (`replaced`), whatever its email.

use super::StepError;
use super::load::{LoadPorts, MergeWinners, RecordDecision};
use crate::transform::{TransformedRecord, content_hash};
use ferry_model::ids::{DestinationId, RunId, SalesforceId};
use ferry_model::model::SourceRecord;
use ferry_model::plan::{ObjectPlan, Plan};
use ferry_model::ports::IdMapEntry;
use ferry_model::report::{IssueKind, RecordIssue};
use ferry_model::runs::{RunKind, RunStatus};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The Salesforce object whose records merge.
pub(crate) const LEAD: &str = "Lead";
/// The Salesforce object they merge into.
pub(crate) const CONTACT: &str = "Contact";

/// An email as merging and the dry run's duplicate list compare it: trimmed and lower-cased;
/// `None` when empty.
pub(crate) fn normalise_email(email: &str) -> Option<String> {
    let key = email.trim().to_lowercase();
    (!key.is_empty()).then_some(key)
}

/// The normalised `Email` of a staged record.
pub(crate) fn source_email(source: &SourceRecord) -> Option<String> {
    source
        .get("Email")
        .and_then(|email| email.as_str())
        .and_then(normalise_email)
}

/// Merging needs every contact landed before any lead loads: leads in a later phase than
/// contacts (the default map's `replaced_by` on `ConvertedContactId` gives that order).
pub(crate) fn check_merge_order(plan: &Plan) -> Result<(), String> {
    match (plan.object(LEAD), plan.object(CONTACT)) {
        (Some(lead), Some(contact)) if lead.phase <= contact.phase => Err(format!(
            "merging leads into contacts by email needs {LEAD} to load after {CONTACT}, and the plan puts {LEAD} in phase {} and {CONTACT} in phase {} (keep {LEAD}'s replaced_by on ConvertedContactId in the map)",
            lead.phase + 1,
            contact.phase + 1
        )),
        _ => Ok(()),
    }
}

/// A contact that may receive leads.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Candidate {
    /// `None` sorts after any date: a contact without one wins only over others without one.
    created: Option<String>,
    id: SalesforceId,
}

fn created_key(created: Option<String>) -> (bool, String) {
    match created {
        Some(created) => (false, created),
        None => (true, String::new()),
    }
}

/// A lead whose email a landed contact has: not sent, counted as skipped with the contact
/// it was merged into, and its ID-map entry points at that contact.
pub(super) fn decide(
    object: &ObjectPlan,
    run: &RunId,
    lead: &TransformedRecord,
    (contact, destination_id): &(SalesforceId, DestinationId),
) -> RecordDecision {
    RecordDecision::Skipped {
        reason: RecordIssue {
            object: object.object.clone(),
            salesforce_id: Some(lead.record.source_id.to_string()),
            field: Some("Email".to_owned()),
            kind: IssueKind::Skipped,
            reason: format!(
                "merged into {CONTACT} {contact} with the same email: not imported as a second person; links to it go to that contact"
            ),
        },
        id_map_entry: Some(IdMapEntry {
            object: object.object.clone(),
            salesforce_id: lead.record.source_id.clone(),
            destination_id: destination_id.clone(),
            run_id: run.clone(),
            content_hash: content_hash(lead),
        }),
    }
}

/// For each wanted email, the contact that wins it (oldest `CreatedDate`, then lowest Id,
/// among the contacts that landed) and its destination id.
pub(super) async fn contact_index(
    ports: &LoadPorts<'_>,
    plan: &Plan,
    run: &RunId,
    wanted: &BTreeSet<&str>,
) -> Result<MergeWinners, StepError> {
    let mut runs = ports
        .runs
        .list_runs(&plan.tenant)
        .await
        .map_err(StepError::RunStore)?;
    runs.sort_by_key(|summary| summary.sequence);
    let current = runs
        .iter()
        .find(|summary| summary.run_id == *run)
        .map(|summary| summary.sequence);
    // Each contact's latest staged email and CreatedDate; `None` once deleted in Salesforce.
    let mut contacts: HashMap<SalesforceId, Option<(String, Option<String>)>> = HashMap::new();
    let mut sources: Vec<RunId> = runs
        .iter()
        .filter(|summary| {
            summary.kind != RunKind::Rollback
                && summary.status != RunStatus::RolledBack
                && summary.rolled_back_by.is_none()
                && current.is_none_or(|current| summary.sequence <= current)
        })
        .map(|summary| summary.run_id.clone())
        .collect();
    if !sources.contains(run) {
        sources.push(run.clone());
    }
    for source_run in &sources {
        let records = ports
            .runs
            .run_records(source_run)
            .await
            .map_err(StepError::RunStore)?;
        let Some(extraction) = records
            .extractions
            .iter()
            .find(|extraction| extraction.object == CONTACT)
        else {
            continue;
        };
        for chunk in 0..extraction.chunks {
            let key = super::chunk_key(plan, source_run, CONTACT, chunk);
            let body = ports.staging.get(&key).await.map_err(StepError::Staging)?;
            for line in body.split(|byte| *byte == b'\n') {
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                // An unreadable line is the contact load's to report; it cannot be merged into.
                let Ok(source) = serde_json::from_slice::<SourceRecord>(line) else {
                    continue;
                };
                let Some(id) = source
                    .get("Id")
                    .and_then(|id| id.as_str())
                    .and_then(|id| SalesforceId::parse(id).ok())
                else {
                    continue;
                };
                if super::load::is_deleted(&source) {
                    contacts.insert(id, None);
                    continue;
                }
                let created = source
                    .get("CreatedDate")
                    .and_then(|created| created.as_str())
                    .map(str::to_owned);
                let entry = source_email(&source).map(|email| (email, created));
                contacts.insert(id, entry);
            }
        }
    }
    let mut candidates: BTreeMap<String, Vec<Candidate>> = BTreeMap::new();
    for (id, entry) in contacts {
        if let Some((email, created)) = entry
            && wanted.contains(email.as_str())
        {
            candidates
                .entry(email)
                .or_default()
                .push(Candidate { created, id });
        }
    }
    let ids: Vec<SalesforceId> = candidates
        .values()
        .flatten()
        .map(|candidate| candidate.id.clone())
        .collect();
    let landed = if ids.is_empty() {
        HashMap::new()
    } else {
        ports
            .id_map
            .lookup(&plan.tenant, CONTACT, &ids)
            .await
            .map_err(StepError::IdMap)?
    };
    let mut winners = MergeWinners::new();
    for (email, mut list) in candidates {
        list.sort_by(|a, b| {
            (created_key(a.created.clone()), &a.id).cmp(&(created_key(b.created.clone()), &b.id))
        });
        if let Some((id, destination)) = list
            .into_iter()
            .find_map(|candidate| landed.get(&candidate.id).map(|d| (candidate.id, d.clone())))
        {
            winners.insert(email, (id, destination));
        }
    }
    Ok(winners)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        assert_eq!(
            normalise_email("  Ada.Lovelace@Example.COM "),
            Some("ada.lovelace@example.com".to_owned())
        );
        assert_eq!(normalise_email("   "), None);
    }

    #[test]
    fn the_oldest_contact_wins_then_the_lowest_id() -> Result<(), Box<dyn std::error::Error>> {
        let candidate = |created: Option<&str>, id: &str| -> Result<Candidate, _> {
            Ok::<_, Box<dyn std::error::Error>>(Candidate {
                created: created.map(str::to_owned),
                id: SalesforceId::parse(id)?,
            })
        };
        let mut list = [
            candidate(None, "003000000000001")?,
            candidate(Some("2021-01-01T00:00:00.000+0000"), "003000000000009")?,
            candidate(Some("2020-01-01T00:00:00.000+0000"), "003000000000005")?,
            candidate(Some("2020-01-01T00:00:00.000+0000"), "003000000000004")?,
        ];
        list.sort_by(|a, b| {
            (created_key(a.created.clone()), &a.id).cmp(&(created_key(b.created.clone()), &b.id))
        });
        let order: Vec<String> = list.iter().map(|c| c.id.to_string()).collect();
        let expected: Vec<String> = [
            "003000000000004",
            "003000000000005",
            "003000000000009",
            "003000000000001",
        ]
        .iter()
        .map(|id| SalesforceId::parse(id).map(|id| id.to_string()))
        .collect::<Result<_, _>>()?;
        assert_eq!(order, expected);
        Ok(())
    }
}
