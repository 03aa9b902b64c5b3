//! Rollback: undoing one run from its journal.
//!
//! Three passes, each safe to repeat, so an interrupted rollback resumes by running again:
//!
//! 1. records the run deleted (delta runs) are created again from their journaled values,
//!    parents first, and their ID-map entries put back with their new destination ids;
//! 2. records the run updated get their journaled values back (links that pointed to a
//!    re-created record follow it to its new id), and their ID-map entries are put back;
//! 3. records the run created are deleted, children before parents (reverse phase order),
//!    and their ID-map entries removed.
//!
//! Restoring before deleting matters: an updated record may link to a record the run
//! created, and the destination refuses to delete a record others still link to.

use super::StepError;
use super::delete::{BATCH, delete_until_settled};
use ferry_model::ids::{DestinationId, RunId, SalesforceId};
use ferry_model::mapping::EntityKind;
use ferry_model::plan::{ObjectPlan, Plan};
use ferry_model::ports::Progress;
use ferry_model::ports::{Destination, IdMap, RunStore, UpsertOutcome};
use ferry_model::records::DestinationRecord;
use ferry_model::report::{IssueKind, RecordIssue};
use ferry_model::runs::{
    JournalAction, JournalEntry, ProgressEvent, RollbackObject, StoredIdMapEntry,
};
use std::collections::{BTreeMap, HashMap};

pub struct RollbackPorts<'a> {
    pub id_map: &'a dyn IdMap,
    pub destination: &'a dyn Destination,
    pub runs: &'a dyn RunStore,
}

/// Undoes `target` (whose plan is `plan`) and stores the outcome per object under the
/// rollback's own run `rollback`. Counts come from the journal, not from what this attempt
/// happened to do, so a resumed rollback reports what an uninterrupted one would.
pub async fn rollback_run(
    ports: &RollbackPorts<'_>,
    target: &RunId,
    rollback: &RunId,
    plan: &Plan,
    progress: &dyn Progress,
) -> Result<Vec<RollbackObject>, StepError> {
    let mut results: BTreeMap<String, RollbackObject> = plan
        .objects
        .iter()
        .map(|object| {
            (
                object.object.clone(),
                RollbackObject {
                    object: object.object.clone(),
                    ..RollbackObject::default()
                },
            )
        })
        .collect();
    // Old destination id -> new one, for records created again in pass 1.
    let mut moved: Moved = HashMap::new();
    let phases = plan.phases();

    for object in phases.iter().flatten() {
        let result = results.entry(object.object.clone()).or_default();
        let mut pages = JournalPages::new(target, object, JournalAction::Deleted);
        while let Some(page) = pages.next(ports).await? {
            recreate(ports, plan, object, &page, &mut moved, result).await?;
            progress.event(pages.progress());
        }
    }
    // A record's rich-text images are files of their own, journaled under the image object
    // (`Account.RichTextImage`): restored after their record, deleted before it.
    let with_images = |object: &ObjectPlan| {
        let images = super::files::has_long_text(object).then(|| ObjectPlan {
            object: ferry_model::records::rich_text_image_object(&object.object),
            entity: EntityKind::File,
            ..object.clone()
        });
        (object.clone(), images)
    };
    let restoring: Vec<ObjectPlan> = phases
        .iter()
        .flatten()
        .flat_map(|object| {
            let (object, images) = with_images(object);
            std::iter::once(object).chain(images)
        })
        .collect();
    let deleting: Vec<ObjectPlan> = phases
        .iter()
        .rev()
        .flat_map(|phase| phase.iter().rev())
        .flat_map(|object| {
            let (object, images) = with_images(object);
            images.into_iter().chain(std::iter::once(object))
        })
        .collect();
    for object in &restoring {
        let result = results
            .entry(object.object.clone())
            .or_insert_with(|| RollbackObject {
                object: object.object.clone(),
                ..RollbackObject::default()
            });
        let mut pages = JournalPages::new(target, object, JournalAction::Updated);
        while let Some(page) = pages.next(ports).await? {
            restore(ports, plan, object, &page, &moved, result).await?;
            progress.event(pages.progress());
        }
    }
    for object in &deleting {
        let result = results
            .entry(object.object.clone())
            .or_insert_with(|| RollbackObject {
                object: object.object.clone(),
                ..RollbackObject::default()
            });
        let mut pages = JournalPages::new(target, object, JournalAction::Created);
        // Records refused because another record of the object still linked to it (a
        // child company in a later page) are tried again once every page is through.
        let mut refused = Vec::new();
        while let Some(page) = pages.next(ports).await? {
            refused.extend(delete_created(ports, plan, target, object, &page, result).await?);
            progress.event(pages.progress());
        }
        settle_refused(ports, plan, object, refused, result).await?;
    }
    // An image object the run journaled nothing under is no object of the run.
    results.retain(|name, result| {
        plan.object(name).is_some()
            || *result
                != RollbackObject {
                    object: name.clone(),
                    ..RollbackObject::default()
                }
    });
    for result in results.values() {
        ports
            .runs
            .record_rollback(rollback, result)
            .await
            .map_err(StepError::RunStore)?;
    }
    Ok(results.into_values().collect())
}

/// Journal entries read a page at a time, so a rollback's memory does not grow with the run.
struct JournalPages<'a> {
    run: &'a RunId,
    object: &'a ObjectPlan,
    action: JournalAction,
    after: Option<SalesforceId>,
    done: u64,
    finished: bool,
}

impl<'a> JournalPages<'a> {
    fn new(run: &'a RunId, object: &'a ObjectPlan, action: JournalAction) -> Self {
        Self {
            run,
            object,
            action,
            after: None,
            done: 0,
            finished: false,
        }
    }

    /// The next page's entries of this action (possibly none while more pages follow);
    /// `None` at the end.
    async fn next(
        &mut self,
        ports: &RollbackPorts<'_>,
    ) -> Result<Option<Vec<JournalEntry>>, StepError> {
        if self.finished {
            return Ok(None);
        }
        let page = ports
            .runs
            .journal_entries(
                self.run,
                &self.object.object,
                self.after.as_ref(),
                JOURNAL_PAGE,
            )
            .await
            .map_err(StepError::RunStore)?;
        let Some(last) = page.last() else {
            self.finished = true;
            return Ok(None);
        };
        self.after = Some(last.salesforce_id.clone());
        self.done += page.len() as u64;
        Ok(Some(
            page.into_iter()
                .filter(|entry| entry.action == self.action)
                .collect(),
        ))
    }

    fn progress(&self) -> ProgressEvent {
        ProgressEvent::RolledBack {
            object: self.object.object.clone(),
            done: self.done,
        }
    }
}

/// Journal entries read per call.
const JOURNAL_PAGE: usize = 1_000;

fn failure(object: &ObjectPlan, id: &SalesforceId, reason: String) -> RecordIssue {
    RecordIssue {
        object: object.object.clone(),
        salesforce_id: Some(id.to_string()),
        field: None,
        kind: IssueKind::Failed,
        reason,
    }
}

/// Points links that named a re-created record at its new id.
/// Records created again by a rollback get new destination ids: (entity, old id) to new id.
/// Destination ids are only unique within an entity, so the entity is part of the key.
type Moved = HashMap<(EntityKind, DestinationId), DestinationId>;

/// Points a record's links at the new ids of records created again, each link looked up
/// under the entity it points to (a standard link's, or a custom lookup's).
fn follow_moves(record: &mut DestinationRecord, object: &ObjectPlan, moved: &Moved) {
    for (link, target) in record.links.iter_mut() {
        let target_entity = object.entity.link_target(link).or_else(|| {
            object
                .custom_fields
                .iter()
                .find_map(|field| match &field.field_type {
                    ferry_model::plan::DestinationFieldType::Lookup { entity }
                        if field.name == *link =>
                    {
                        Some(*entity)
                    }
                    _ => None,
                })
        });
        let Some(target_entity) = target_entity else {
            continue;
        };
        if let Some(new) = moved.get(&(target_entity, target.clone())) {
            *target = new.clone();
        }
    }
}

async fn upsert_checked(
    ports: &RollbackPorts<'_>,
    plan: &Plan,
    object: &ObjectPlan,
    records: &[DestinationRecord],
) -> Result<Vec<UpsertOutcome>, StepError> {
    let outcomes = ports
        .destination
        .upsert(&plan.tenant, object.entity, records)
        .await
        .map_err(StepError::Destination)?;
    if outcomes.len() != records.len() {
        return Err(StepError::DestinationContract {
            sent: records.len(),
            answered: outcomes.len(),
        });
    }
    Ok(outcomes)
}

async fn recreate(
    ports: &RollbackPorts<'_>,
    plan: &Plan,
    object: &ObjectPlan,
    journal: &[JournalEntry],
    moved: &mut Moved,
    result: &mut RollbackObject,
) -> Result<(), StepError> {
    for batch in journal.chunks(BATCH) {
        let ids: Vec<SalesforceId> = batch
            .iter()
            .map(|entry| entry.salesforce_id.clone())
            .collect();
        let present = ports
            .id_map
            .entries(&plan.tenant, &object.object, &ids)
            .await
            .map_err(StepError::IdMap)?;
        let mut to_send = Vec::new();
        let mut previous_entries = Vec::new();
        for entry in batch {
            let (Some(previous_entry), Some(previous_record)) =
                (&entry.previous_entry, &entry.previous_record)
            else {
                result.failed += 1;
                result.issues.push(failure(
                    object,
                    &entry.salesforce_id,
                    "deleted by the run, but its earlier values were not journaled, so it cannot be created again".to_owned(),
                ));
                continue;
            };
            if let Some(current) = present.get(&entry.salesforce_id) {
                // Created again by an earlier attempt of this rollback.
                moved.insert(
                    (object.entity, previous_entry.destination_id.clone()),
                    current.destination_id.clone(),
                );
                result.recreated += 1;
                continue;
            }
            let mut record = previous_record.clone();
            follow_moves(&mut record, object, moved);
            to_send.push(record);
            previous_entries.push(previous_entry.clone());
        }
        if !to_send.is_empty() {
            let outcomes = upsert_checked(ports, plan, object, &to_send).await?;
            let mut restored = Vec::new();
            for (previous_entry, outcome) in previous_entries.into_iter().zip(outcomes) {
                match outcome {
                    UpsertOutcome::Created(id) | UpsertOutcome::Updated(id) => {
                        moved.insert(
                            (object.entity, previous_entry.destination_id.clone()),
                            id.clone(),
                        );
                        restored.push(StoredIdMapEntry {
                            destination_id: id,
                            ..previous_entry
                        });
                        result.recreated += 1;
                    }
                    UpsertOutcome::Rejected { reason } => {
                        result.failed += 1;
                        result.issues.push(failure(
                            object,
                            &previous_entry.salesforce_id,
                            format!("the destination refused to create the deleted record again: {reason}"),
                        ));
                    }
                }
            }
            ports
                .id_map
                .restore(&plan.tenant, &restored)
                .await
                .map_err(StepError::IdMap)?;
        }
    }
    Ok(())
}

async fn restore(
    ports: &RollbackPorts<'_>,
    plan: &Plan,
    object: &ObjectPlan,
    journal: &[JournalEntry],
    moved: &Moved,
    result: &mut RollbackObject,
) -> Result<(), StepError> {
    for batch in journal.chunks(BATCH) {
        let mut to_send = Vec::new();
        let mut previous_entries = Vec::new();
        let mut current_ids = Vec::new();
        for entry in batch {
            let (Some(previous_entry), Some(previous_record)) =
                (&entry.previous_entry, &entry.previous_record)
            else {
                result.failed += 1;
                result.issues.push(failure(
                    object,
                    &entry.salesforce_id,
                    "updated by the run, but the destination did not hold it before, so there is nothing to put back".to_owned(),
                ));
                continue;
            };
            let mut record = previous_record.clone();
            follow_moves(&mut record, object, moved);
            current_ids.push(previous_entry.destination_id.clone());
            to_send.push(record);
            previous_entries.push(previous_entry.clone());
        }
        if to_send.is_empty() {
            continue;
        }
        // A custom field the run set on a record that had none is cleared: an upsert
        // leaves custom fields it does not name as they are.
        let current = ports
            .destination
            .get(&plan.tenant, object.entity, &current_ids)
            .await
            .map_err(StepError::Destination)?;
        for (record, now) in to_send.iter_mut().zip(current.iter()) {
            if let Some(now) = now {
                for name in now.custom_fields.keys() {
                    record
                        .custom_fields
                        .entry(name.clone())
                        .or_insert(serde_json::Value::Null);
                }
            }
        }
        let outcomes = upsert_checked(ports, plan, object, &to_send).await?;
        let mut restored = Vec::new();
        for (previous_entry, outcome) in previous_entries.into_iter().zip(outcomes) {
            match outcome {
                UpsertOutcome::Created(id) | UpsertOutcome::Updated(id) => {
                    restored.push(StoredIdMapEntry {
                        destination_id: id,
                        ..previous_entry
                    });
                    result.restored += 1;
                }
                UpsertOutcome::Rejected { reason } => {
                    result.failed += 1;
                    result.issues.push(failure(
                        object,
                        &previous_entry.salesforce_id,
                        format!("the destination refused the earlier values: {reason}"),
                    ));
                }
            }
        }
        ports
            .id_map
            .restore(&plan.tenant, &restored)
            .await
            .map_err(StepError::IdMap)?;
    }
    Ok(())
}

/// Deletes the records of one journal page the run created; returns those the destination
/// refused, to try again once the object's other pages are through.
async fn delete_created(
    ports: &RollbackPorts<'_>,
    plan: &Plan,
    target: &RunId,
    object: &ObjectPlan,
    journal: &[JournalEntry],
    result: &mut RollbackObject,
) -> Result<Vec<(StoredIdMapEntry, String)>, StepError> {
    let mut to_delete: Vec<StoredIdMapEntry> = Vec::new();
    for batch in journal.chunks(BATCH) {
        let ids: Vec<SalesforceId> = batch
            .iter()
            .map(|entry| entry.salesforce_id.clone())
            .collect();
        let mut present = ports
            .id_map
            .entries(&plan.tenant, &object.object, &ids)
            .await
            .map_err(StepError::IdMap)?;
        for id in &ids {
            match present.remove(id) {
                // Gone already: deleted by an earlier attempt of this rollback, or the run
                // stopped before the destination answered.
                None => result.deleted += 1,
                Some(entry) if entry.created_by_run == *target => to_delete.push(entry),
                Some(entry) => {
                    result.failed += 1;
                    result.issues.push(failure(
                        object,
                        id,
                        format!(
                            "journaled as created by run {target}, but the ID map says run {} created it; left in place",
                            entry.created_by_run
                        ),
                    ));
                }
            }
        }
    }
    let (deleted, refused) =
        delete_until_settled(ports.destination, &plan.tenant, object.entity, to_delete).await?;
    forget(ports, plan, object, &deleted, result).await?;
    Ok(refused)
}

/// Tries the refused deletions of an object again, now that its other records are gone, and
/// reports those still refused.
async fn settle_refused(
    ports: &RollbackPorts<'_>,
    plan: &Plan,
    object: &ObjectPlan,
    refused: Vec<(StoredIdMapEntry, String)>,
    result: &mut RollbackObject,
) -> Result<(), StepError> {
    if refused.is_empty() {
        return Ok(());
    }
    let entries = refused.into_iter().map(|(entry, _)| entry).collect();
    let (deleted, refused) =
        delete_until_settled(ports.destination, &plan.tenant, object.entity, entries).await?;
    forget(ports, plan, object, &deleted, result).await?;
    for (entry, reason) in refused {
        result.failed += 1;
        result.issues.push(failure(
            object,
            &entry.salesforce_id,
            format!(
                "the destination refused to delete {} {}: {reason}",
                object.entity, entry.destination_id
            ),
        ));
    }
    Ok(())
}

/// Counts deleted records and removes their ID-map entries.
async fn forget(
    ports: &RollbackPorts<'_>,
    plan: &Plan,
    object: &ObjectPlan,
    deleted: &[StoredIdMapEntry],
    result: &mut RollbackObject,
) -> Result<(), StepError> {
    result.deleted += deleted.len() as u64;
    for batch in deleted.chunks(BATCH) {
        let removed: Vec<SalesforceId> = batch
            .iter()
            .map(|entry| entry.salesforce_id.clone())
            .collect();
        ports
            .id_map
            .remove(&plan.tenant, &object.object, &removed)
            .await
            .map_err(StepError::IdMap)?;
    }
    Ok(())
}
