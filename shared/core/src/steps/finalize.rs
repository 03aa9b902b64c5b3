use super::StepError;
use ferry_model::ids::{RunId, SalesforceId};
use ferry_model::mapping::EntityKind;
use ferry_model::ports::{DeferredLink, Destination, IdMap, LinkPatch, RunRecords, RunStore};
use ferry_model::report::{
    IssueKind, LinkResolution, ObjectCounts, ObjectReport, RecordIssue, RunReport,
};
use std::collections::{BTreeMap, BTreeSet};

pub struct FinalizePorts<'a> {
    pub id_map: &'a dyn IdMap,
    pub destination: &'a dyn Destination,
    pub runs: &'a dyn RunStore,
}

/// Patches every deferred link whose target has now landed, reports the rest as unresolved,
/// and builds the run's report. Running it again patches the same links again and gives the
/// same report.
pub async fn finalize(ports: &FinalizePorts<'_>, run: &RunId) -> Result<RunReport, StepError> {
    let plan = ports
        .runs
        .load_plan(run)
        .await
        .map_err(StepError::RunStore)?;
    let deferred = ports
        .runs
        .deferred_links(run)
        .await
        .map_err(StepError::RunStore)?;

    let mut targets: BTreeMap<&str, BTreeSet<SalesforceId>> = BTreeMap::new();
    for link in &deferred {
        targets
            .entry(link.target_object.as_str())
            .or_default()
            .insert(link.target.clone());
    }
    let mut landed = BTreeMap::new();
    for (target_object, ids) in targets {
        let ids: Vec<SalesforceId> = ids.into_iter().collect();
        let found = ports
            .id_map
            .lookup(&plan.tenant, target_object, &ids)
            .await
            .map_err(StepError::IdMap)?;
        landed.insert(target_object.to_owned(), found);
    }

    let mut per_object: BTreeMap<String, LinkResolution> = plan
        .objects
        .iter()
        .map(|object| {
            (
                object.object.clone(),
                LinkResolution {
                    object: object.object.clone(),
                    patched: 0,
                    issues: Vec::new(),
                },
            )
        })
        .collect();
    let mut patches: BTreeMap<EntityKind, Vec<(&DeferredLink, LinkPatch)>> = BTreeMap::new();
    for link in &deferred {
        let target = landed
            .get(&link.target_object)
            .and_then(|found| found.get(&link.target));
        match target {
            Some(target) => patches.entry(link.entity).or_default().push((
                link,
                LinkPatch {
                    record: link.record.clone(),
                    link: link.link.clone(),
                    target: target.clone(),
                },
            )),
            None => {
                let resolution = per_object
                    .entry(link.object.clone())
                    .or_insert_with(|| empty_resolution(&link.object));
                resolution.issues.push(RecordIssue {
                    object: link.object.clone(),
                    salesforce_id: Some(link.salesforce_id.to_string()),
                    field: Some(link.source_field.clone()),
                    kind: IssueKind::UnresolvedLink,
                    reason: unresolved_reason(&plan, link),
                });
            }
        }
    }
    for (entity, entity_patches) in patches {
        let only_patches: Vec<LinkPatch> = entity_patches
            .iter()
            .map(|(_, patch)| patch.clone())
            .collect();
        let results = ports
            .destination
            .patch_links(&plan.tenant, entity, &only_patches)
            .await
            .map_err(StepError::Destination)?;
        if results.len() != only_patches.len() {
            return Err(StepError::DestinationContract {
                sent: only_patches.len(),
                answered: results.len(),
            });
        }
        for ((link, _), result) in entity_patches.iter().zip(results) {
            let resolution = per_object
                .entry(link.object.clone())
                .or_insert_with(|| empty_resolution(&link.object));
            match result {
                Ok(()) => resolution.patched += 1,
                Err(reason) => resolution.issues.push(RecordIssue {
                    object: link.object.clone(),
                    salesforce_id: Some(link.salesforce_id.to_string()),
                    field: Some(link.source_field.clone()),
                    kind: IssueKind::UnresolvedLink,
                    reason: format!("the destination refused the {} link: {reason}", link.link),
                }),
            }
        }
    }
    for resolution in per_object.values() {
        ports
            .runs
            .record_link_resolution(run, resolution)
            .await
            .map_err(StepError::RunStore)?;
    }
    forget_hashes_of_unresolved(ports.id_map, &plan.tenant, &per_object).await?;
    super::delete::apply_deletions(
        &super::delete::DeletionPorts {
            id_map: ports.id_map,
            destination: ports.destination,
            runs: ports.runs,
        },
        run,
        &plan,
    )
    .await?;
    let records = ports
        .runs
        .run_records(run)
        .await
        .map_err(StepError::RunStore)?;
    Ok(build_report(run, &records))
}

/// A record that landed without one of its links is sent again by the next run even when
/// its content is unchanged: its target may have landed since. Clearing the stored content
/// hash is what makes the next run see it as changed.
async fn forget_hashes_of_unresolved(
    id_map: &dyn IdMap,
    tenant: &ferry_model::ids::TenantId,
    per_object: &BTreeMap<String, LinkResolution>,
) -> Result<(), StepError> {
    for (object, resolution) in per_object {
        let ids: BTreeSet<SalesforceId> = resolution
            .issues
            .iter()
            .filter_map(|issue| issue.salesforce_id.as_deref())
            .filter_map(|id| SalesforceId::parse(id).ok())
            .collect();
        if ids.is_empty() {
            continue;
        }
        let ids: Vec<SalesforceId> = ids.into_iter().collect();
        let entries = id_map
            .entries(tenant, object, &ids)
            .await
            .map_err(StepError::IdMap)?;
        let cleared: Vec<ferry_model::runs::StoredIdMapEntry> = entries
            .into_values()
            .map(|mut entry| {
                entry.content_hash = String::new();
                entry
            })
            .collect();
        id_map
            .restore(tenant, &cleared)
            .await
            .map_err(StepError::IdMap)?;
    }
    Ok(())
}

/// Why a deferred link stayed empty. An owner link to a user the run moved names the
/// reconciliation to do: the user matched no destination user and the run named no default
/// owner.
fn unresolved_reason(plan: &ferry_model::plan::Plan, link: &DeferredLink) -> String {
    let owner_link = link.entity.link_target(&link.link) == Some(EntityKind::Owner);
    if owner_link && plan.object(&link.target_object).is_some() {
        format!(
            "{} {} matches no destination user and the run names no default owner, so the record landed without its {} link",
            link.target_object, link.target, link.link
        )
    } else {
        format!(
            "{} {} was not migrated, so the record landed without its {} link",
            link.target_object, link.target, link.link
        )
    }
}

fn empty_resolution(object: &str) -> LinkResolution {
    LinkResolution {
        object: object.to_owned(),
        patched: 0,
        issues: Vec::new(),
    }
}

/// Adds up what the run store holds into the per-object report. Pure, so the report of a run
/// can be rebuilt at any time from its records.
pub(crate) fn build_report(run: &RunId, records: &RunRecords) -> RunReport {
    let mut objects = Vec::new();
    let mut issues = Vec::new();
    for object in &records.plan.objects {
        let mut counts = ObjectCounts {
            in_salesforce: object.in_salesforce,
            ..ObjectCounts::default()
        };
        let (mut api, mut fallback) = (None, None);
        for extraction in records
            .extractions
            .iter()
            .filter(|e| e.object == object.object)
        {
            counts.extracted += extraction.extracted;
            api = api.or_else(|| extraction.api.clone());
            fallback = fallback.or_else(|| extraction.fallback.clone());
        }
        for chunk in records.chunks.iter().filter(|c| c.object == object.object) {
            counts.created += chunk.created;
            counts.updated += chunk.updated;
            counts.skipped += chunk.skipped;
            counts.failed += chunk.failed;
            counts.unchanged += chunk.unchanged;
            counts.deleted_in_salesforce += chunk.deleted_in_salesforce;
            issues.extend(chunk.issues.iter().cloned());
        }
        for deletion in records
            .deletions
            .iter()
            .filter(|d| d.object == object.object)
        {
            counts.deleted += deletion.deleted;
            counts.delete_failed += deletion.issues.len() as u64;
            issues.extend(deletion.issues.iter().cloned());
        }
        for verification in records
            .verifications
            .iter()
            .filter(|v| v.object == object.object)
        {
            counts.verified += verification.checked;
            counts.mismatched += verification.mismatched;
            counts.spot_checked += verification.spot_checked;
            counts.spot_mismatched += verification.spot_mismatched;
            issues.extend(verification.issues.iter().cloned());
        }
        for resolution in records
            .link_resolutions
            .iter()
            .filter(|r| r.object == object.object)
        {
            counts.links_patched += resolution.patched;
            counts.links_unresolved += resolution.issues.len() as u64;
            issues.extend(resolution.issues.iter().cloned());
        }
        objects.push(ObjectReport {
            object: object.object.clone(),
            entity: object.entity,
            counts,
            api,
            fallback,
        });
    }
    RunReport {
        run_id: run.clone(),
        objects,
        issues,
        delta: records.plan.delta,
    }
}
