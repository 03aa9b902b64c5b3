//! The whole migration in one process: the driver the `ferry` tool runs on the embedded
//! adapters. It calls the same steps the Lambda functions call, in the order the state
//! machine calls them.

use crate::error::PortError;
use crate::ids::{RunId, TenantId};
use crate::mapping::FieldMap;
use crate::ports::{ChunkMessage, Destination, IdMap, RunStore, SalesforceApi, Staging, WorkQueue};
use crate::report::RunReport;
use crate::runs::{
    NoProgress, Progress, ProgressEvent, RollbackReport, RunKind, RunStatus, RunSummary,
};
use crate::steps::{
    self, Discovery, ExtractConfig, ExtractPorts, FinalizePorts, LoadPorts, Sleeper, StepError,
    VerifyPorts,
};
use async_trait::async_trait;
use std::collections::{BTreeMap, BTreeSet};

/// A work queue that the same process drains: the in-process stand-in for SQS.
#[async_trait]
pub trait LocalQueue: WorkQueue {
    async fn receive(&self) -> Result<Option<ChunkMessage>, PortError>;
}

pub struct LocalPorts<'a> {
    pub salesforce: &'a dyn SalesforceApi,
    pub staging: &'a dyn Staging,
    pub id_map: &'a dyn IdMap,
    pub runs: &'a dyn RunStore,
    pub destination: &'a dyn Destination,
    pub queue: &'a dyn LocalQueue,
    pub sleeper: &'a dyn Sleeper,
}

#[derive(Debug, Clone)]
pub struct MigrationConfig {
    pub tenant: TenantId,
    pub run_id: RunId,
    pub map: FieldMap,
    pub extract: ExtractConfig,
    pub discover: steps::DiscoverOptions,
    /// Pseudonymise chosen objects and fields (test and sandbox imports).
    pub pseudonymise: Option<crate::obfuscate::Pseudonymise>,
    /// How many objects are extracted and chunks loaded at once.
    pub concurrency: crate::schedule::Concurrency,
    /// What validation does with each kind of bad value; kept in the run's plan so every
    /// load step of the run applies the same policy.
    pub validation: crate::validate::ValidationPolicy,
}

#[derive(Debug, Clone)]
pub struct Migration {
    pub discovery: Discovery,
    pub report: RunReport,
    /// The run's line in the history as it finished. Its id is `config.run_id` for a new
    /// run, or the id of the unfinished run that was resumed.
    pub run: RunSummary,
    /// True when an unfinished run was resumed instead of a new one started.
    pub resumed: bool,
}

/// How `migrate` runs, beyond what the plan says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunOptions {
    /// Only records modified since the last successful run's high-water marks (less
    /// `ExtractConfig::delta_overlap`), plus records deleted since, which are deleted from
    /// the destination when Ferry created them.
    pub delta: bool,
    /// Read every migrated record back and compare it with what was sent.
    pub verify: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            delta: false,
            verify: true,
        }
    }
}

/// Discovers the org, plans the run with its validation policy, and stores the plan.
async fn plan_run(
    salesforce: &dyn SalesforceApi,
    runs: &dyn RunStore,
    config: &MigrationConfig,
    delta: bool,
) -> Result<Discovery, StepError> {
    let mut discovery = steps::discover(
        salesforce,
        config.tenant.clone(),
        &config.map,
        &config.discover,
    )
    .await?;
    discovery.plan.validation = config.validation.clone();
    if delta {
        // A delta reads deleted records too (queryAll) and must tell them apart.
        for object in &mut discovery.plan.objects {
            let has_flag = discovery
                .described
                .get(&object.object)
                .is_some_and(|described| described.description.field("IsDeleted").is_some());
            if has_flag && !object.select.iter().any(|field| field == "IsDeleted") {
                object.select.push("IsDeleted".to_owned());
            }
        }
    }
    runs.save_plan(&config.run_id, &discovery.plan)
        .await
        .map_err(StepError::RunStore)?;
    Ok(discovery)
}

/// Now, as the run history writes times.
pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn refused(run: &RunId, reason: impl Into<String>) -> StepError {
    StepError::Refused {
        run: run.to_string(),
        reason: reason.into(),
    }
}

/// Migrates with the default options (a full run, verified) and no progress display.
pub async fn migrate(
    ports: &LocalPorts<'_>,
    config: &MigrationConfig,
) -> Result<Migration, StepError> {
    migrate_with(ports, config, &RunOptions::default(), &NoProgress).await
}

/// The run a `migrate` of `tenant` works on: the tenant's unfinished run when there is one
/// (resumed with its stored plan), or a new run. Refuses while a rollback is unfinished.
async fn open_run(
    ports: &LocalPorts<'_>,
    config: &MigrationConfig,
    options: &RunOptions,
) -> Result<(RunSummary, Discovery, bool), StepError> {
    let history = ports
        .runs
        .list_runs(&config.tenant)
        .await
        .map_err(StepError::RunStore)?;
    if let Some(rollback) = history
        .iter()
        .find(|run| run.kind == RunKind::Rollback && run.status.is_unfinished())
    {
        return Err(refused(
            &rollback.run_id,
            "this rollback is unfinished; run the rollback again before migrating",
        ));
    }
    let unfinished = history
        .iter()
        .rev()
        .find(|run| run.kind != RunKind::Rollback)
        .filter(|run| run.status.is_unfinished());
    if let Some(unfinished) = unfinished {
        // Resumed: the stored plan, so chunks already loaded mean what they meant. Discovery
        // runs again only for what the caller shows (users, inventory, budget).
        let plan = ports
            .runs
            .load_plan(&unfinished.run_id)
            .await
            .map_err(StepError::RunStore)?;
        let mut discovery = steps::discover(
            ports.salesforce,
            config.tenant.clone(),
            &config.map,
            &config.discover,
        )
        .await?;
        discovery.plan = plan;
        let mut summary = unfinished.clone();
        summary.status = RunStatus::Running;
        summary.error = None;
        return Ok((summary, discovery, true));
    }
    if history.iter().any(|run| run.run_id == config.run_id) {
        return Err(refused(
            &config.run_id,
            "a run with this id already exists; choose a new run id",
        ));
    }
    let delta_of = if options.delta {
        let last = history
            .iter()
            .rev()
            .find(|run| run.kind != RunKind::Rollback && run.status == RunStatus::Succeeded)
            .ok_or_else(|| {
                refused(
                    &config.run_id,
                    "a delta run needs an earlier successful run of the tenant to start from",
                )
            })?;
        Some(last.run_id.clone())
    } else {
        None
    };
    let discovery = plan_run(ports.salesforce, ports.runs, config, options.delta).await?;
    let summary = RunSummary {
        run_id: config.run_id.clone(),
        tenant: config.tenant.clone(),
        sequence: history.iter().map(|run| run.sequence).max().unwrap_or(0) + 1,
        kind: if options.delta {
            RunKind::Delta
        } else {
            RunKind::Full
        },
        status: RunStatus::Running,
        started_at: now_rfc3339(),
        finished_at: None,
        high_water_marks: BTreeMap::new(),
        delta_of,
        rolls_back: None,
        rolled_back_by: None,
        error: None,
        api_calls_used: None,
        timings: BTreeMap::new(),
    };
    Ok((summary, discovery, false))
}

/// Discover, plan, prepare the destination, then phase by phase extract and load, then patch
/// deferred links, apply deletions, verify and report; the run's line in the history
/// follows along.
///
/// A tenant whose last run is unfinished (failed, interrupted, or still marked running
/// after its process died) gets that run resumed: same run id, same stored plan; objects
/// whose chunks all loaded are not extracted again, and chunks that loaded are not loaded
/// again. Whatever point the earlier attempt stopped at, the destination ends as one clean
/// run would have left it.
pub async fn migrate_with(
    ports: &LocalPorts<'_>,
    config: &MigrationConfig,
    options: &RunOptions,
    progress: &dyn Progress,
) -> Result<Migration, StepError> {
    let (mut summary, discovery, resumed) = open_run(ports, config, options).await?;
    ports
        .runs
        .save_run(&summary)
        .await
        .map_err(StepError::RunStore)?;
    progress.event(ProgressEvent::RunStarted {
        run: summary.run_id.clone(),
        kind: summary.kind,
        resumed,
    });
    tracing::info!(run_id = %summary.run_id, kind = summary.kind.as_str(), resumed, "run started");
    match run_migration(
        ports,
        config,
        options,
        progress,
        &discovery,
        &mut summary,
        resumed,
    )
    .await
    {
        Ok(report) => {
            summary.status = RunStatus::Succeeded;
            summary.finished_at = Some(now_rfc3339());
            ports
                .runs
                .save_run(&summary)
                .await
                .map_err(StepError::RunStore)?;
            progress.event(ProgressEvent::RunFinished {
                run: summary.run_id.clone(),
                status: summary.status,
            });
            Ok(Migration {
                discovery,
                report,
                run: summary,
                resumed,
            })
        }
        Err(error) => {
            summary.status = RunStatus::Failed;
            summary.error = Some(error.chain());
            // The run's own error matters more than a failure to record it.
            if let Err(store_error) = ports.runs.save_run(&summary).await {
                tracing::error!(run_id = %summary.run_id, error = %store_error.chain(), "could not record the run's failure");
            }
            progress.event(ProgressEvent::RunFinished {
                run: summary.run_id.clone(),
                status: summary.status,
            });
            Err(error)
        }
    }
}

/// The run's line in the history while both sides of the schedule update it: locked only to
/// change it and take a copy to save, never across an await.
struct SharedSummary<'a>(std::sync::Mutex<&'a mut RunSummary>);

impl SharedSummary<'_> {
    fn update(&self, change: impl FnOnce(&mut RunSummary)) -> RunSummary {
        let mut guard = self.0.lock().unwrap_or_else(|e| e.into_inner());
        change(&mut guard);
        (**guard).clone()
    }
}

/// The extract and load of `object` with the delta start it needs.
fn object_extract_config(
    config: &MigrationConfig,
    delta_marks: Option<&RunSummary>,
    object: &str,
) -> ExtractConfig {
    let mut extract = config.extract;
    if let Some(last) = delta_marks {
        // The object's own mark, or the start of that run for an object it did not have.
        let mark = last
            .high_water_marks
            .get(object)
            .unwrap_or(&last.started_at);
        extract.since =
            time::OffsetDateTime::parse(mark, &time::format_description::well_known::Rfc3339)
                .ok()
                .or(Some(time::OffsetDateTime::UNIX_EPOCH));
        extract.include_deleted = true;
    }
    extract
}

async fn run_migration(
    ports: &LocalPorts<'_>,
    config: &MigrationConfig,
    options: &RunOptions,
    progress: &dyn Progress,
    discovery: &Discovery,
    summary: &mut RunSummary,
    resumed: bool,
) -> Result<RunReport, StepError> {
    let run = summary.run_id.clone();
    let run = &run;
    let plan = &discovery.plan;
    let budget_before = ports
        .salesforce
        .api_budget()
        .await
        .map_err(StepError::Salesforce)?;
    check_budget(ports.salesforce, plan, &config.extract).await?;
    steps::prepare_destination(ports.destination, plan).await?;
    let delta_marks = match &summary.delta_of {
        Some(last) => ports
            .runs
            .run_summary(last)
            .await
            .map_err(StepError::RunStore)?,
        None => None,
    };

    let load_ports = LoadPorts {
        staging: ports.staging,
        id_map: ports.id_map,
        destination: ports.destination,
        runs: ports.runs,
    };
    // Messages an earlier attempt in this process left behind are dropped: the chunks they
    // name are loaded below from what the run store says is missing.
    while ports
        .queue
        .receive()
        .await
        .map_err(StepError::Queue)?
        .is_some()
    {}
    // What an earlier attempt of this run finished. A new run starts from nothing, even
    // when its id has records already (a dry run under the same id stages and records
    // extractions, but with its own plan).
    let (earlier_extractions, earlier_chunks) = if resumed {
        let records = ports
            .runs
            .run_records(run)
            .await
            .map_err(StepError::RunStore)?;
        (records.extractions, records.chunks)
    } else {
        (Vec::new(), Vec::new())
    };
    let phases = plan.phases();
    let phase_count = phases.len();
    let phase_objects: Vec<Vec<String>> = phases
        .iter()
        .map(|objects| objects.iter().map(|object| object.object.clone()).collect())
        .collect();
    let phase_of: BTreeMap<&str, usize> = phases
        .iter()
        .enumerate()
        .flat_map(|(phase, objects)| {
            objects
                .iter()
                .map(move |object| (object.object.as_str(), phase))
        })
        .collect();
    // The run's line in the history, updated by both sides of the schedule: locked only to
    // change it and take a copy, never across an await.
    let shared_summary = SharedSummary(std::sync::Mutex::new(&mut *summary));
    // Extraction runs ahead of loading; a phase loads only once the phases before it have
    // (see `schedule`), so a record's parents are in the ID map when it loads.
    crate::schedule::run(
        &phases,
        config.concurrency,
        |message| phase_of.get(message.object.as_str()).copied(),
        |phase| {
            tracing::info!(run_id = %run, phase, objects = phase_objects[phase].len(), "phase started");
            progress.event(ProgressEvent::PhaseStarted {
                phase,
                phases: phase_count,
                objects: phase_objects[phase].clone(),
            });
        },
        |object, queue| {
            let object: &crate::plan::ObjectPlan = object;
            let extraction = earlier_extractions
                .iter()
                .find(|extraction| extraction.object == object.object);
            let loaded: BTreeSet<u32> = earlier_chunks
                .iter()
                .filter(|chunk| chunk.object == object.object)
                .map(|chunk| chunk.chunk)
                .collect();
            let shared_summary = &shared_summary;
            let delta_marks = delta_marks.as_ref();
            async move {
                let started = std::time::Instant::now();
                match extraction {
                    Some(extraction)
                        if (0..extraction.chunks).all(|chunk| loaded.contains(&chunk)) =>
                    {
                        progress.event(ProgressEvent::ObjectAlreadyDone {
                            object: object.object.clone(),
                        });
                        return Ok(());
                    }
                    Some(extraction) => {
                        // Extracted, not all loaded: the staged chunks are loaded, not re-read.
                        for chunk in (0..extraction.chunks).filter(|chunk| !loaded.contains(chunk)) {
                            queue
                                .send(&ChunkMessage {
                                    run_id: run.clone(),
                                    tenant: plan.tenant.clone(),
                                    object: object.object.clone(),
                                    chunk,
                                    key: steps::chunk_key(plan, run, &object.object, chunk),
                                    records: 0,
                                })
                                .await
                                .map_err(StepError::Queue)?;
                        }
                    }
                    None => {
                        let snapshot = shared_summary.update(|summary| {
                            summary
                                .high_water_marks
                                .insert(object.object.clone(), now_rfc3339());
                        });
                        ports
                            .runs
                            .save_run(&snapshot)
                            .await
                            .map_err(StepError::RunStore)?;
                        let extract_ports = ExtractPorts {
                            salesforce: ports.salesforce,
                            staging: ports.staging,
                            queue: &queue,
                            runs: ports.runs,
                            pseudonymise: config.pseudonymise.as_ref(),
                        };
                        let extracted = steps::extract_object(
                            &extract_ports,
                            ports.sleeper,
                            run,
                            plan,
                            object,
                            object_extract_config(config, delta_marks, &object.object),
                        )
                        .await?;
                        // Chunks an earlier attempt staged and loaded beyond what this
                        // extraction staged (the org shrank in between) would count twice:
                        // their results are replaced by empty ones. The records they carried
                        // are in this extraction's chunks.
                        for stale in loaded.iter().filter(|chunk| **chunk >= extracted.chunks) {
                            ports
                                .runs
                                .record_chunk(run, &empty_chunk(&object.object, *stale))
                                .await
                                .map_err(StepError::RunStore)?;
                        }
                        progress.event(ProgressEvent::ObjectExtracted {
                            object: object.object.clone(),
                            extracted: extracted.extracted,
                            in_salesforce: object.in_salesforce,
                        });
                    }
                }
                let elapsed = millis(started.elapsed());
                let snapshot = shared_summary.update(|summary| {
                    summary
                        .timings
                        .entry(object.object.clone())
                        .or_default()
                        .extract_ms += elapsed;
                });
                ports
                    .runs
                    .save_run(&snapshot)
                    .await
                    .map_err(StepError::RunStore)
            }
        },
        |message| {
            let load_ports = &load_ports;
            let shared_summary = &shared_summary;
            async move {
                let started = std::time::Instant::now();
                let loaded = steps::load_chunk(load_ports, &message).await?;
                progress.event(ProgressEvent::ChunkLoaded {
                    object: message.object.clone(),
                    chunk: message.chunk,
                    records: loaded.records,
                });
                let elapsed = millis(started.elapsed());
                shared_summary.update(|summary| {
                    summary
                        .timings
                        .entry(message.object.clone())
                        .or_default()
                        .load_ms += elapsed;
                });
                Ok(())
            }
        },
        |phase| {
            let shared_summary = &shared_summary;
            let phase_objects = &phase_objects;
            async move {
                let snapshot = shared_summary.update(|_| {});
                ports
                    .runs
                    .save_run(&snapshot)
                    .await
                    .map_err(StepError::RunStore)?;
                reconcile_phase(ports.runs, run, phase, &phase_objects[phase], progress).await
            }
        },
    )
    .await?;
    drop(shared_summary);
    let mut report = steps::finalize(
        &FinalizePorts {
            id_map: ports.id_map,
            destination: ports.destination,
            runs: ports.runs,
        },
        run,
    )
    .await?;
    if options.verify {
        let records = ports
            .runs
            .run_records(run)
            .await
            .map_err(StepError::RunStore)?;
        let verify_ports = VerifyPorts {
            staging: ports.staging,
            id_map: ports.id_map,
            destination: ports.destination,
            runs: ports.runs,
        };
        for object in &plan.objects {
            let chunks = records
                .extractions
                .iter()
                .find(|extraction| extraction.object == object.object)
                .map_or(0, |extraction| extraction.chunks);
            let started = std::time::Instant::now();
            steps::verify_object(&verify_ports, run, plan, object, chunks, progress).await?;
            summary
                .timings
                .entry(object.object.clone())
                .or_default()
                .verify_ms += millis(started.elapsed());
        }
        let records = ports
            .runs
            .run_records(run)
            .await
            .map_err(StepError::RunStore)?;
        report = steps::build_report(run, &records);
    }
    let budget_after = ports
        .salesforce
        .api_budget()
        .await
        .map_err(StepError::Salesforce)?;
    if let (Some(before), Some(after)) = (budget_before, budget_after) {
        let used = after.used.saturating_sub(before.used);
        summary.api_calls_used = Some(summary.api_calls_used.unwrap_or(0) + used);
    }
    Ok(report)
}

/// Checks that a loaded phase's counts add up, and reports them. A phase that does not add
/// up is logged as an error and shown; the run goes on, since the report names every
/// record's outcome and the imbalance itself is the finding.
async fn reconcile_phase(
    runs: &dyn RunStore,
    run: &RunId,
    phase: usize,
    objects: &[String],
    progress: &dyn Progress,
) -> Result<(), StepError> {
    let records = runs.run_records(run).await.map_err(StepError::RunStore)?;
    let report = steps::build_report(run, &records);
    let counts: Vec<(String, crate::report::ObjectCounts)> = report
        .objects
        .into_iter()
        .filter(|object| objects.contains(&object.object))
        .map(|object| (object.object, object.counts))
        .collect();
    let balanced = counts.iter().all(|(_, counts)| counts.unaccounted() == 0);
    for (object, counts) in &counts {
        if counts.unaccounted() != 0 {
            tracing::error!(run_id = %run, phase, object = %object, unaccounted = counts.unaccounted() as i64, "the phase's counts do not add up");
        }
    }
    progress.event(ProgressEvent::PhaseReconciled {
        phase,
        objects: counts,
        balanced,
    });
    Ok(())
}

fn empty_chunk(object: &str, chunk: u32) -> crate::report::ChunkResult {
    crate::report::ChunkResult {
        object: object.to_owned(),
        chunk,
        records: 0,
        created: 0,
        updated: 0,
        skipped: 0,
        failed: 0,
        unchanged: 0,
        deleted_in_salesforce: 0,
        deferred_links: 0,
        issues: Vec::new(),
    }
}

/// Marks a run interrupted (a shell that caught a signal or a timeout calls this); the next
/// `migrate` or `rollback` resumes it all the same. A run already finished is left as it is.
pub async fn mark_interrupted(runs: &dyn RunStore, run: &RunId) -> Result<(), StepError> {
    let Some(mut summary) = runs.run_summary(run).await.map_err(StepError::RunStore)? else {
        return Err(refused(run, "no such run in the run history"));
    };
    if summary.status == RunStatus::Running {
        summary.status = RunStatus::Interrupted;
        runs.save_run(&summary).await.map_err(StepError::RunStore)?;
    }
    Ok(())
}

fn millis(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

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
    ports
        .runs
        .save_run(&summary)
        .await
        .map_err(StepError::RunStore)?;
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
            ports
                .runs
                .save_run(&summary)
                .await
                .map_err(StepError::RunStore)?;
            target.status = RunStatus::RolledBack;
            target.rolled_back_by = Some(rollback_id.clone());
            ports
                .runs
                .save_run(&target)
                .await
                .map_err(StepError::RunStore)?;
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
            if let Err(store_error) = ports.runs.save_run(&summary).await {
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
pub async fn rollback_report(
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

/// Refuses to start when the plan's estimated calls exceed what the budget leaves above
/// the reserve. An org that reports no budget is not checked.
pub async fn check_budget(
    salesforce: &dyn SalesforceApi,
    plan: &crate::plan::Plan,
    config: &ExtractConfig,
) -> Result<(), StepError> {
    let Some(budget) = salesforce
        .api_budget()
        .await
        .map_err(StepError::Salesforce)?
    else {
        return Ok(());
    };
    let estimate = crate::budget::estimate_calls(plan, config.bulk_threshold, config.chunk_records);
    tracing::info!(
        needed = estimate.extraction,
        used = budget.used,
        limit = budget.limit,
        "API budget checked"
    );
    crate::budget::check_run(budget, estimate.extraction, &config.budget).map_err(StepError::Budget)
}

/// What a dry run needs: a migration's ports without the destination.
pub struct DryRunPorts<'a> {
    pub salesforce: &'a dyn SalesforceApi,
    pub staging: &'a dyn Staging,
    pub id_map: &'a dyn IdMap,
    pub runs: &'a dyn RunStore,
    pub queue: &'a dyn LocalQueue,
    pub sleeper: &'a dyn Sleeper,
}

/// Discovers, extracts every planned object to staging, and analyses the records as a load
/// would, writing nothing to the destination. The report's `instance_url` and
/// `generated_at` are left for the caller, which knows them.
pub async fn dry_run(
    ports: &DryRunPorts<'_>,
    config: &MigrationConfig,
    policy: &crate::budget::BudgetPolicy,
) -> Result<(Discovery, crate::dryrun::DryRunReport), StepError> {
    use crate::dryrun::{DryRunAnalysis, DryRunReport, SkippedObjectEntry};
    let run = &config.run_id;
    let discovery = plan_run(ports.salesforce, ports.runs, config, false).await?;
    let plan = &discovery.plan;
    let extract_ports = ExtractPorts {
        salesforce: ports.salesforce,
        staging: ports.staging,
        queue: ports.queue,
        runs: ports.runs,
        pseudonymise: config.pseudonymise.as_ref(),
    };
    let mut analysis = DryRunAnalysis::new(plan);
    for object in &plan.objects {
        steps::extract_object(
            &extract_ports,
            ports.sleeper,
            run,
            plan,
            object,
            config.extract,
        )
        .await?;
        while let Some(message) = ports.queue.receive().await.map_err(StepError::Queue)? {
            let body = ports
                .staging
                .get(&message.key)
                .await
                .map_err(StepError::Staging)?;
            let mut records = Vec::new();
            for (line_number, line) in body.split(|byte| *byte == b'\n').enumerate() {
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                records.push(serde_json::from_slice(line).map_err(|error| {
                    StepError::Staging(PortError::with_source(
                        crate::ErrorClass::Permanent,
                        format!(
                            "line {} of {} is not a JSON record",
                            line_number + 1,
                            message.key
                        ),
                        error,
                    ))
                })?);
            }
            analysis
                .add_chunk(object, records, ports.id_map, &plan.tenant)
                .await
                .map_err(StepError::IdMap)?;
        }
        tracing::info!(run_id = %run, object = %object.object, "analysed");
    }
    let analysed = analysis
        .finish(ports.id_map, &plan.tenant)
        .await
        .map_err(StepError::IdMap)?;
    let preview =
        crate::preview::PlanPreview::build(&discovery, &config.map, &config.extract, policy);
    let budget_now = ports
        .salesforce
        .api_budget()
        .await
        .map_err(StepError::Salesforce)?;
    let report = DryRunReport {
        run_id: run.to_string(),
        generated_at: String::new(),
        instance_url: String::new(),
        objects: analysed.objects,
        findings_by_rule: analysed.findings_by_rule,
        findings: analysed.findings,
        findings_total: analysed.findings_total,
        duplicates: analysed.duplicates,
        custom_fields: plan.custom_fields().cloned().collect(),
        skipped_objects: preview
            .skipped_objects
            .iter()
            .map(|skipped| SkippedObjectEntry {
                name: skipped.name.clone(),
                reason: skipped.reason.clone(),
            })
            .collect(),
        not_migrated: discovery.inventory.clone(),
        users: discovery.users.clone(),
        budget: preview.budget,
        api_calls_used: match (discovery.budget, budget_now) {
            (Some(before), Some(after)) => Some(after.used.saturating_sub(before.used)),
            _ => None,
        },
    };
    Ok((discovery, report))
}
