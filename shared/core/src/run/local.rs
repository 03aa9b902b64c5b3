//! The one-process driver: a whole run on one machine, extraction and loading overlapped
//! by [`crate::schedule`], with the run history kept as it goes. The `ferry` tool runs it on
//! the embedded adapters; it calls the same steps the Lambda functions call.

use super::{
    CompletePorts, ObjectResume, RunOpenPorts, RunOptions, SpotCheckSource, begin_run,
    complete_run, forget_stale_chunks, long_pole, millis, now_rfc3339, object_extract_config,
    object_resume, prepare_run, save,
};
use crate::steps::{
    self, Discovery, ExtractConfig, ExtractPorts, LoadPorts, StepError, VerifyPorts,
};
use ferry_model::ids::{RunId, TenantId};
use ferry_model::mapping::FieldMap;
use ferry_model::ports::Progress;
use ferry_model::ports::Sleeper;
use ferry_model::ports::{Destination, IdMap, RunStore, SalesforceApi, Staging, WorkQueue};
use ferry_model::report::RunReport;
use ferry_model::runs::{ProgressEvent, RunStatus, RunSummary};
use futures::StreamExt as _;
use std::collections::{BTreeMap, BTreeSet};

pub struct LocalPorts<'a> {
    pub salesforce: &'a dyn SalesforceApi,
    pub staging: &'a dyn Staging,
    pub id_map: &'a dyn IdMap,
    pub runs: &'a dyn RunStore,
    pub destination: &'a dyn Destination,
    pub sleeper: &'a dyn Sleeper,
}

#[derive(Debug, Clone)]
pub struct RunConfig {
    pub tenant: TenantId,
    pub run_id: RunId,
    pub map: FieldMap,
    pub extract: ExtractConfig,
    pub discover: steps::DiscoverOptions,
    /// Pseudonymise chosen objects and fields (test and sandbox imports).
    pub pseudonymise: Option<crate::pseudonymise::Pseudonymise>,
    /// How many objects are extracted and chunks loaded at once.
    pub concurrency: crate::schedule::Concurrency,
    /// What validation does with each kind of bad value; kept in the run's plan so every
    /// load step of the run applies the same policy.
    pub validation: ferry_model::policy::ValidationPolicy,
    /// The email of the destination user who owns what unmatched Salesforce users owned;
    /// kept in the plan, like the policy. `None`: those owner links stay empty, reported.
    pub default_owner: Option<String>,
    /// Merge each lead into the contact with the same normalised email instead of creating
    /// it (`steps::merge`); kept in the plan, like the default owner. Off by default.
    pub merge_leads_by_email: bool,
}

#[derive(Debug, Clone)]
pub struct RunOutcome {
    pub discovery: Discovery,
    pub report: RunReport,
    /// The run's line in the history as it finished. Its id is `config.run_id` for a new
    /// run, or the id of the unfinished run that was resumed.
    pub run: RunSummary,
    /// True when an unfinished run was resumed instead of a new one started.
    pub resumed: bool,
}

/// Migrates with the default options (a full run, verified) and no progress display.
pub async fn migrate(ports: &LocalPorts<'_>, config: &RunConfig) -> Result<RunOutcome, StepError> {
    crate::run::migrate_with(
        ports,
        config,
        &crate::run::RunOptions::default(),
        &ferry_model::ports::NoProgress,
    )
    .await
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
/// delta asked for while a full run is unfinished resumes the full run; `RunOutcome::run`
/// says which) and the run it is a delta of; `config.run_id` is then not used.
pub async fn migrate_with(
    ports: &LocalPorts<'_>,
    config: &RunConfig,
    options: &RunOptions,
    progress: &dyn Progress,
) -> Result<RunOutcome, StepError> {
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
    match run_through_steps(
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
            Ok(RunOutcome {
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

async fn run_through_steps(
    ports: &LocalPorts<'_>,
    config: &RunConfig,
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
        |object: &&ferry_model::plan::ObjectPlan| object.object.as_str(),
        |object: &&ferry_model::plan::ObjectPlan| object.link_targets(),
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
        |object: &&ferry_model::plan::ObjectPlan| long_pole(object),
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
            let object: &ferry_model::plan::ObjectPlan = object;
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
                            progress,
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
            spot_check: (options.spot_check > 0).then_some(SpotCheckSource {
                salesforce: ports.salesforce,
                pseudonymise: config.pseudonymise.as_ref(),
                records: options.spot_check,
            }),
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
    let counts: Vec<(String, ferry_model::report::ObjectCounts)> = report
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
