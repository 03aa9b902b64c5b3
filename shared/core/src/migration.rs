//! The run-level drivers behind [`crate::pipeline`]: a migration that keeps the run history,
//! resumes an unfinished run, runs a full or a delta, verifies what landed and reconciles
//! each phase ([`migrate_with`]); and the rollback of a run ([`rollback`]). The entry points
//! are re-exported from [`crate::pipeline`].

use crate::ids::{RunId, TenantId};
use crate::pipeline::{LocalPorts, Migration, MigrationConfig, check_budget, plan_run};
use crate::ports::{ChunkMessage, Destination, IdMap, RunStore, SalesforceApi, WorkQueue};
use crate::report::RunReport;
use crate::runs::{Progress, ProgressEvent, RollbackReport, RunKind, RunStatus, RunSummary};
use crate::steps::{
    self, Discovery, ExtractConfig, ExtractPorts, FinalizePorts, LoadPorts, StepError, VerifyPorts,
};
use futures::StreamExt as _;
use std::collections::{BTreeMap, BTreeSet};

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

/// Now, as the run history writes times.
pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Saves a run's line in the history, stamped with the time.
async fn save(runs: &dyn RunStore, summary: &mut RunSummary) -> Result<(), StepError> {
    summary.updated_at = Some(now_rfc3339());
    runs.save_run(summary).await.map_err(StepError::RunStore)
}

fn refused(run: &RunId, reason: impl Into<String>) -> StepError {
    StepError::Refused {
        run: run.to_string(),
        reason: reason.into(),
    }
}

/// The run a `migrate` of `tenant` works on: the tenant's unfinished run when there is one
/// (resumed with its stored plan), or a new run. Refuses while a rollback is unfinished.
async fn open_run(
    ports: &RunOpenPorts<'_>,
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
        updated_at: None,
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

/// What opening a run reads: the org (discovery) and the run history.
pub struct RunOpenPorts<'a> {
    pub salesforce: &'a dyn SalesforceApi,
    pub runs: &'a dyn RunStore,
}

/// How long an object's extraction is as a long pole of the schedule
/// ([`crate::schedule::run`]): its record count when each record carries a file to
/// download (a call each), `None` for an object read a page at a time.
pub fn long_pole(object: &crate::plan::ObjectPlan) -> Option<u64> {
    object.blob.as_ref().map(|_| object.in_salesforce)
}

/// Opens the run a migration works on and saves its line in the history (running): the
/// tenant's unfinished run, resumed with its stored plan (`true`), or a new run. The first
/// step of [`migrate_with`], and of a run whose steps run in separate processes.
pub async fn begin_run(
    ports: &RunOpenPorts<'_>,
    config: &MigrationConfig,
    options: &RunOptions,
) -> Result<(RunSummary, Discovery, bool), StepError> {
    let (mut summary, discovery, resumed) = open_run(ports, config, options).await?;
    save(ports.runs, &mut summary).await?;
    Ok((summary, discovery, resumed))
}

/// Before anything is extracted: the API budget is checked against the plan's estimate and
/// the destination gets the custom fields the plan needs.
pub async fn prepare_run(
    salesforce: &dyn SalesforceApi,
    destination: &dyn Destination,
    plan: &crate::plan::Plan,
    extract: &ExtractConfig,
) -> Result<(), StepError> {
    check_budget(salesforce, plan, extract).await?;
    steps::prepare_destination(destination, plan).await
}

/// What an earlier attempt of a run did for one object, and so what this attempt does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectResume {
    /// Extracted, and every chunk loaded: nothing to do.
    Done,
    /// Extracted, some chunks not loaded: those chunks are loaded from staging again;
    /// nothing is read from Salesforce.
    Reload(Vec<ChunkMessage>),
    /// Not (completely) extracted: extract. `loaded` are chunks an earlier attempt loaded,
    /// for [`forget_stale_chunks`] once the extraction is done.
    Extract { loaded: BTreeSet<u32> },
}

/// Decides what to do with `object` from what the run recorded so far (`extractions` and
/// `chunks` of the run's records; empty for a new run).
pub fn object_resume(
    run: &RunId,
    plan: &crate::plan::Plan,
    object: &str,
    extractions: &[crate::report::ObjectExtraction],
    chunks: &[crate::report::ChunkResult],
) -> ObjectResume {
    let loaded: BTreeSet<u32> = chunks
        .iter()
        .filter(|chunk| chunk.object == object)
        .map(|chunk| chunk.chunk)
        .collect();
    match extractions
        .iter()
        .find(|extraction| extraction.object == object)
    {
        Some(extraction) if (0..extraction.chunks).all(|chunk| loaded.contains(&chunk)) => {
            ObjectResume::Done
        }
        Some(extraction) => ObjectResume::Reload(
            (0..extraction.chunks)
                .filter(|chunk| !loaded.contains(chunk))
                .map(|chunk| ChunkMessage {
                    run_id: run.clone(),
                    tenant: plan.tenant.clone(),
                    object: object.to_owned(),
                    chunk,
                    key: steps::chunk_key(plan, run, object, chunk),
                    records: 0,
                })
                .collect(),
        ),
        None => ObjectResume::Extract { loaded },
    }
}

/// After an object's extraction: chunks an earlier attempt staged and loaded beyond what
/// this extraction staged (the org shrank in between) would count twice, so their results
/// are replaced by empty ones. The records they carried are in this extraction's chunks.
pub async fn forget_stale_chunks(
    runs: &dyn RunStore,
    run: &RunId,
    object: &str,
    staged: u32,
    loaded: &BTreeSet<u32>,
) -> Result<(), StepError> {
    for stale in loaded.iter().filter(|chunk| **chunk >= staged) {
        runs.record_chunk(run, &empty_chunk(object, *stale))
            .await
            .map_err(StepError::RunStore)?;
    }
    Ok(())
}

/// How far the loading of one phase has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct PhaseStatus {
    pub objects: usize,
    /// Objects of the phase whose extraction finished.
    pub extracted_objects: usize,
    /// Chunks the finished extractions staged.
    pub chunks: u64,
    /// Of those, the chunks whose load is recorded.
    pub loaded_chunks: u64,
}

impl PhaseStatus {
    /// Every object extracted and every chunk loaded: the next phase may start.
    pub fn loaded(&self) -> bool {
        self.extracted_objects == self.objects && self.loaded_chunks == self.chunks
    }
}

/// Where phase `phase` of the run stands, from the run's records. A phase the plan does not
/// have is refused.
pub async fn phase_status(
    runs: &dyn RunStore,
    run: &RunId,
    phase: usize,
) -> Result<PhaseStatus, StepError> {
    let records = runs.run_records(run).await.map_err(StepError::RunStore)?;
    let phases = records.plan.phases();
    let objects = phases.get(phase).ok_or_else(|| {
        refused(
            run,
            format!("the plan has {} phases, not phase {phase}", phases.len()),
        )
    })?;
    let mut status = PhaseStatus {
        objects: objects.len(),
        extracted_objects: 0,
        chunks: 0,
        loaded_chunks: 0,
    };
    for object in objects {
        let Some(extraction) = records
            .extractions
            .iter()
            .find(|extraction| extraction.object == object.object)
        else {
            continue;
        };
        status.extracted_objects += 1;
        status.chunks += u64::from(extraction.chunks);
        let loaded: BTreeSet<u32> = records
            .chunks
            .iter()
            .filter(|chunk| chunk.object == object.object && chunk.chunk < extraction.chunks)
            .map(|chunk| chunk.chunk)
            .collect();
        status.loaded_chunks += loaded.len() as u64;
    }
    Ok(status)
}

/// What completing a run uses.
pub struct CompletePorts<'a> {
    pub staging: &'a dyn crate::ports::Staging,
    pub id_map: &'a dyn IdMap,
    pub destination: &'a dyn Destination,
    pub runs: &'a dyn RunStore,
}

/// Objects read back at once by verification.
const VERIFY_OBJECTS_AT_ONCE: usize = 2;

/// After the last phase has loaded: patches the deferred links, applies deletions, reads
/// every migrated record back when `verify` (timings go to `summary`) except for the objects
/// in `verified_early` (read back while the run went on, see [`migrate_with`]'s driver),
/// and builds the report. The run's status is the caller's to set.
pub async fn complete_run(
    ports: &CompletePorts<'_>,
    run: &RunId,
    verify: bool,
    verified_early: &BTreeSet<String>,
    progress: &dyn Progress,
    summary: &mut RunSummary,
) -> Result<RunReport, StepError> {
    let mut report = steps::finalize(
        &FinalizePorts {
            id_map: ports.id_map,
            destination: ports.destination,
            runs: ports.runs,
        },
        run,
    )
    .await?;
    if verify {
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
        let plan = &records.plan;
        let verify_ports = &verify_ports;
        // A few objects at a time: reading a chunk back is part waiting on the destination,
        // part parsing and comparing. Results come back in plan order.
        // The futures are made up front: a closure over a stream's items would be
        // higher-ranked over their lifetime, which defeats the callers' `Send` checks.
        let pending: Vec<_> = plan
            .objects
            .iter()
            .filter(|object| !verified_early.contains(&object.object))
            .map(|object| {
                let chunks = records
                    .extractions
                    .iter()
                    .find(|extraction| extraction.object == object.object)
                    .map_or(0, |extraction| extraction.chunks);
                async move {
                    let started = std::time::Instant::now();
                    steps::verify_object(verify_ports, run, plan, object, chunks, progress)
                        .await
                        .map(|_| (object, started.elapsed()))
                }
            })
            .collect();
        let mut verified = futures::stream::iter(pending).buffered(VERIFY_OBJECTS_AT_ONCE);
        while let Some(done) = verified.next().await {
            let (object, elapsed) = done?;
            summary
                .timings
                .entry(object.object.clone())
                .or_default()
                .verify_ms += millis(elapsed);
        }
        drop(verified);
        let records = ports
            .runs
            .run_records(run)
            .await
            .map_err(StepError::RunStore)?;
        report = steps::build_report(run, &records);
    }
    Ok(report)
}

/// Marks a run finished with `status` (and the error, for a failure) in the history.
pub async fn finish_run(
    runs: &dyn RunStore,
    summary: &mut RunSummary,
    status: RunStatus,
    error: Option<String>,
) -> Result<(), StepError> {
    summary.status = status;
    summary.error = error;
    summary.finished_at = Some(now_rfc3339());
    save(runs, summary).await
}

/// Discover, plan, prepare the destination, then phase by phase extract and load, then patch
/// deferred links, apply deletions, verify and report; the run's line in the history
/// follows along.
///
/// A tenant whose last run is unfinished (failed, interrupted, or still marked running
/// after its process died) gets that run resumed: same run id, same stored plan; objects
/// whose chunks all loaded are not extracted again, and chunks that loaded are not loaded
/// again. Whatever point the earlier attempt stopped at, the destination ends as one clean
/// run would have left it. A resumed run keeps what it started with: its plan, its kind (a
/// delta asked for while a full run is unfinished resumes the full run; `Migration::run`
/// says which) and the run it is a delta of; `config.run_id` is then not used.
pub async fn migrate_with(
    ports: &LocalPorts<'_>,
    config: &MigrationConfig,
    options: &RunOptions,
    progress: &dyn Progress,
) -> Result<Migration, StepError> {
    let (mut summary, discovery, resumed) = begin_run(
        &RunOpenPorts {
            salesforce: ports.salesforce,
            runs: ports.runs,
        },
        config,
        options,
    )
    .await?;
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
            save(ports.runs, &mut summary).await?;
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
            if let Err(store_error) = save(ports.runs, &mut summary).await {
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

/// The extraction settings of `object`: `config.extract`, with the delta start it needs
/// when `delta_marks` (the run the delta continues) is given.
pub fn object_extract_config(
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
    prepare_run(ports.salesforce, ports.destination, plan, &config.extract).await?;
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
    let slot_of: BTreeMap<&str, crate::schedule::Slot> = phases
        .iter()
        .enumerate()
        .flat_map(|(phase, objects)| {
            objects
                .iter()
                .enumerate()
                .map(move |(index, object)| (object.object.as_str(), (phase, index)))
        })
        .collect();
    // What each object's chunks wait for: the objects of earlier phases it links to.
    let waits_for = crate::schedule::waits_for(
        &phases,
        |object: &&crate::plan::ObjectPlan| object.object.as_str(),
        |object: &&crate::plan::ObjectPlan| object.link_targets(),
    );
    // The run's line in the history, updated by both sides of the schedule: locked only to
    // change it and take a copy, never across an await.
    let shared_summary = SharedSummary(std::sync::Mutex::new(&mut *summary));
    // Objects that have loaded and deferred no link are read back while the run goes on
    // (finalize will not touch them), one at a time, instead of after the last phase:
    // verification then overlaps the extraction of the slowest objects.
    let (loaded, mut to_verify) = futures::channel::mpsc::unbounded::<String>();
    let verifying = async {
        let mut verified = BTreeSet::new();
        let verify_ports = VerifyPorts {
            staging: ports.staging,
            id_map: ports.id_map,
            destination: ports.destination,
            runs: ports.runs,
        };
        while let Some(name) = to_verify.next().await {
            let Some(object) = plan.object(&name) else {
                continue;
            };
            // Only an object none of whose records deferred a link: finalize will not
            // touch it. The others are read back after finalize.
            let records = ports
                .runs
                .run_records(run)
                .await
                .map_err(StepError::RunStore)?;
            let mut chunks = records.chunks.iter().filter(|chunk| chunk.object == name);
            if chunks.any(|chunk| chunk.deferred_links > 0) {
                continue;
            }
            let chunks = records
                .extractions
                .iter()
                .find(|extraction| extraction.object == name)
                .map_or(0, |extraction| extraction.chunks);
            let started = std::time::Instant::now();
            steps::verify_object(&verify_ports, run, plan, object, chunks, progress).await?;
            let elapsed = millis(started.elapsed());
            shared_summary.update(|summary| {
                summary.timings.entry(name.clone()).or_default().verify_ms += elapsed;
            });
            verified.insert(name);
        }
        Ok::<_, StepError>(verified)
    };
    // Extraction runs ahead of loading; a phase loads only once the phases before it have
    // (see `schedule`), so a record's parents are in the ID map when it loads.
    let scheduling = crate::schedule::run(
        &phases,
        config.concurrency,
        |object: &&crate::plan::ObjectPlan| long_pole(object),
        &waits_for,
        |message| slot_of.get(message.object.as_str()).copied(),
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
            let resume = object_resume(
                run,
                plan,
                &object.object,
                &earlier_extractions,
                &earlier_chunks,
            );
            let shared_summary = &shared_summary;
            let delta_marks = delta_marks.as_ref();
            async move {
                let started = std::time::Instant::now();
                match resume {
                    ObjectResume::Done => {
                        progress.event(ProgressEvent::ObjectAlreadyDone {
                            object: object.object.clone(),
                        });
                        return Ok(());
                    }
                    ObjectResume::Reload(messages) => {
                        // Extracted, not all loaded: the staged chunks are loaded, not re-read.
                        for message in &messages {
                            queue.send(message).await.map_err(StepError::Queue)?;
                        }
                    }
                    ObjectResume::Extract { loaded } => {
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
                        forget_stale_chunks(
                            ports.runs,
                            run,
                            &object.object,
                            extracted.chunks,
                            &loaded,
                        )
                        .await?;
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
        |(phase, index)| {
            if options.verify
                && let Some(object) = phases.get(phase).and_then(|objects| objects.get(index))
            {
                // The verifier ends only once the schedule is done; if it failed, its error
                // is the one the join returns.
                let _ = loaded.unbounded_send(object.object.clone());
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
    );
    let scheduling = async {
        let scheduled = scheduling.await;
        loaded.close_channel();
        scheduled
    };
    let ((), verified_early) = futures::future::try_join(scheduling, verifying).await?;
    let report = complete_run(
        &CompletePorts {
            staging: ports.staging,
            id_map: ports.id_map,
            destination: ports.destination,
            runs: ports.runs,
        },
        run,
        options.verify,
        &verified_early,
        progress,
        summary,
    )
    .await?;
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
        save(runs, &mut summary).await?;
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
