//! The rollback of a run: undone from its journal, newest run first, resumably.

use super::{now_rfc3339, refused, save};
use crate::steps::{self, StepError};
use ferry_model::ids::{RunId, TenantId};
use ferry_model::ports::Progress;
use ferry_model::ports::{Destination, IdMap, RunStore};
use ferry_model::runs::{ProgressEvent, RollbackReport, RunKind, RunStatus, RunSummary};
use std::collections::BTreeMap;

/// What a rollback needs: the run store, the ID map and the destination; no Salesforce.
pub struct RollbackRunPorts<'a> {
    pub id_map: &'a dyn IdMap,
    pub runs: &'a dyn RunStore,
    pub destination: &'a dyn Destination,
}

/// The id of the rollback of `run`: derived, so an interrupted rollback is found and
/// resumed by asking again.
pub fn rollback_run_id(run: &RunId) -> RunId {
    RunId::new(format!("{run}-rollback"))
}

/// Undoes `run` of `tenant`: deletes every destination record it created (children before
/// parents), puts back the earlier values of records it updated and re-creates records it
/// deleted, all from its journal, and puts the ID map back. Only the tenant's newest run
/// that is not rolled back can be rolled back, so runs are undone newest first.
///
/// Resumable and idempotent: an interrupted rollback is finished by calling again, and
/// rolling back a run already rolled back returns the stored report without touching
/// anything.
pub async fn rollback(
    ports: &RollbackRunPorts<'_>,
    tenant: &TenantId,
    run: &RunId,
    progress: &dyn Progress,
) -> Result<RollbackReport, StepError> {
    let Some(mut target) = ports
        .runs
        .run_summary(run)
        .await
        .map_err(StepError::RunStore)?
    else {
        return Err(refused(run, "no such run in the run history"));
    };
    if target.tenant != *tenant {
        return Err(refused(
            run,
            format!("the run belongs to another tenant, not {tenant}"),
        ));
    }
    if target.kind == RunKind::Rollback {
        return Err(refused(
            run,
            "a rollback cannot be rolled back; migrate again instead",
        ));
    }
    let rollback_id = rollback_run_id(run);
    if target.status == RunStatus::RolledBack {
        let by = target.rolled_back_by.clone().unwrap_or(rollback_id);
        return rollback_report(ports.runs, &by).await;
    }
    let history = ports
        .runs
        .list_runs(tenant)
        .await
        .map_err(StepError::RunStore)?;
    if let Some(later) = history.iter().find(|other| {
        other.sequence > target.sequence
            && other.kind != RunKind::Rollback
            && other.status != RunStatus::RolledBack
    }) {
        return Err(refused(
            run,
            format!(
                "run {} came after it and is not rolled back; roll back newest first",
                later.run_id
            ),
        ));
    }
    let mut summary = match history.iter().find(|other| other.run_id == rollback_id) {
        Some(existing) => existing.clone(),
        None => RunSummary {
            run_id: rollback_id.clone(),
            tenant: tenant.clone(),
            sequence: history.iter().map(|run| run.sequence).max().unwrap_or(0) + 1,
            kind: RunKind::Rollback,
            status: RunStatus::Running,
            started_at: now_rfc3339(),
            finished_at: None,
            updated_at: None,
            high_water_marks: BTreeMap::new(),
            delta_of: None,
            rolls_back: Some(run.clone()),
            rolled_back_by: None,
            error: None,
            api_calls_used: None,
            timings: BTreeMap::new(),
        },
    };
    let resumed = history.iter().any(|other| other.run_id == rollback_id);
    summary.status = RunStatus::Running;
    summary.error = None;
    save(ports.runs, &mut summary).await?;
    progress.event(ProgressEvent::RunStarted {
        run: rollback_id.clone(),
        kind: RunKind::Rollback,
        resumed,
    });
    let plan = ports
        .runs
        .load_plan(run)
        .await
        .map_err(StepError::RunStore)?;
    let outcome = steps::rollback_run(
        &steps::RollbackPorts {
            id_map: ports.id_map,
            destination: ports.destination,
            runs: ports.runs,
        },
        run,
        &rollback_id,
        &plan,
        progress,
    )
    .await;
    match outcome {
        Ok(objects) => {
            summary.status = RunStatus::Succeeded;
            summary.finished_at = Some(now_rfc3339());
            save(ports.runs, &mut summary).await?;
            target.status = RunStatus::RolledBack;
            target.rolled_back_by = Some(rollback_id.clone());
            save(ports.runs, &mut target).await?;
            progress.event(ProgressEvent::RunFinished {
                run: rollback_id.clone(),
                status: RunStatus::Succeeded,
            });
            Ok(RollbackReport {
                run_id: rollback_id,
                rolls_back: run.clone(),
                objects,
            })
        }
        Err(error) => {
            summary.status = RunStatus::Failed;
            summary.error = Some(error.chain());
            if let Err(store_error) = save(ports.runs, &mut summary).await {
                tracing::error!(run_id = %rollback_id, error = %store_error.chain(), "could not record the rollback's failure");
            }
            progress.event(ProgressEvent::RunFinished {
                run: rollback_id,
                status: RunStatus::Failed,
            });
            Err(error)
        }
    }
}

/// The stored report of a rollback run.
pub(crate) async fn rollback_report(
    runs: &dyn RunStore,
    rollback: &RunId,
) -> Result<RollbackReport, StepError> {
    let summary = runs
        .run_summary(rollback)
        .await
        .map_err(StepError::RunStore)?
        .ok_or_else(|| refused(rollback, "no such run in the run history"))?;
    let rolls_back = summary
        .rolls_back
        .ok_or_else(|| refused(rollback, "this run is not a rollback"))?;
    let objects = runs
        .rollback_results(rollback)
        .await
        .map_err(StepError::RunStore)?;
    Ok(RollbackReport {
        run_id: rollback.clone(),
        rolls_back,
        objects,
    })
}
