//! A run, from start to end: its lifecycle (open or resume, plan, prepare, per-phase
//! status, complete, finish), the one-process driver that takes a run through it
//! ([`migrate_with`]), the rollback of a run ([`rollback`]) and the dry run ([`dry_run()`]).
//!
//! The lifecycle functions here are what every shell calls: the `ferry` tool through the
//! driver ([`migrate_with`]), and the Lambda functions one step per invocation, in the order the
//! state machine calls them. Each step in between is a plain async function in
//! [`crate::steps`].

pub mod dry_run;
mod local;
mod rollback;

pub use dry_run::{DryRunPorts, dry_run};
pub use local::{LocalPorts, RunConfig, RunOutcome, migrate, migrate_with};
pub(crate) use rollback::rollback_report;
pub use rollback::{RollbackRunPorts, rollback, rollback_run_id};

use crate::steps::{self, Discovery, ExtractConfig, FinalizePorts, StepError, VerifyPorts};
use ferry_model::ids::RunId;
use ferry_model::ports::Progress;
use ferry_model::ports::{ChunkMessage, Destination, IdMap, RunStore, SalesforceApi};
use ferry_model::report::RunReport;
use ferry_model::runs::{RunKind, RunStatus, RunSummary};
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
    /// With `verify`: records per object re-read from Salesforce by Id after the load and
    /// compared with the destination (the spot check); 0 turns it off.
    pub spot_check: usize,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            delta: false,
            verify: true,
            spot_check: steps::DEFAULT_SPOT_CHECK_RECORDS,
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
pub(crate) async fn save(runs: &dyn RunStore, summary: &mut RunSummary) -> Result<(), StepError> {
    summary.updated_at = Some(now_rfc3339());
    runs.save_run(summary).await.map_err(StepError::RunStore)
}

pub(crate) fn refused(run: &RunId, reason: impl Into<String>) -> StepError {
    StepError::Refused {
        run: run.to_string(),
        reason: reason.into(),
    }
}

/// The run a `migrate` of `tenant` works on: the tenant's unfinished run when there is one
/// (resumed with its stored plan), or a new run. Refuses while a rollback is unfinished.
async fn open_run(
    ports: &RunOpenPorts<'_>,
    config: &RunConfig,
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
pub fn long_pole(object: &ferry_model::plan::ObjectPlan) -> Option<u64> {
    object.blob.as_ref().map(|_| object.in_salesforce)
}

/// Opens the run a migration works on and saves its line in the history (running): the
/// tenant's unfinished run, resumed with its stored plan (`true`), or a new run. The first
/// step of [`migrate_with`], and of a run whose steps run in separate processes.
pub async fn begin_run(
    ports: &RunOpenPorts<'_>,
    config: &RunConfig,
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
    plan: &ferry_model::plan::Plan,
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
    plan: &ferry_model::plan::Plan,
    object: &str,
    extractions: &[ferry_model::report::ObjectExtraction],
    chunks: &[ferry_model::report::ChunkResult],
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
    pub staging: &'a dyn ferry_model::ports::Staging,
    pub id_map: &'a dyn IdMap,
    pub destination: &'a dyn Destination,
    pub runs: &'a dyn RunStore,
    /// Where the spot check re-reads sampled records (with verification on); `None`: no
    /// spot check.
    pub spot_check: Option<SpotCheckSource<'a>>,
}

/// What the spot check needs beyond the other ports: the org, the run's pseudonymisation
/// and how many records of each object to re-read.
#[derive(Clone, Copy)]
pub struct SpotCheckSource<'a> {
    pub salesforce: &'a dyn SalesforceApi,
    pub pseudonymise: Option<&'a crate::pseudonymise::Pseudonymise>,
    /// Records per object ([`steps::DEFAULT_SPOT_CHECK_RECORDS`] by default).
    pub records: usize,
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
    set_high_water_marks(ports.runs, run, summary).await?;
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
        if let Some(source) = ports.spot_check {
            spot_check_run(ports, source, run, summary).await?;
        }
        let records = ports
            .runs
            .run_records(run)
            .await
            .map_err(StepError::RunStore)?;
        report = steps::build_report(run, &records);
    }
    Ok(report)
}

/// The spot check of every object of the run ([`steps::spot_check_object`]), kept with the
/// object's verification.
async fn spot_check_run(
    ports: &CompletePorts<'_>,
    source: SpotCheckSource<'_>,
    run: &RunId,
    summary: &mut RunSummary,
) -> Result<(), StepError> {
    let records = ports
        .runs
        .run_records(run)
        .await
        .map_err(StepError::RunStore)?;
    let spot_ports = steps::SpotCheckPorts {
        salesforce: source.salesforce,
        staging: ports.staging,
        id_map: ports.id_map,
        destination: ports.destination,
        pseudonymise: source.pseudonymise,
    };
    for object in &records.plan.objects {
        let chunks = records
            .extractions
            .iter()
            .find(|extraction| extraction.object == object.object)
            .map_or(0, |extraction| extraction.chunks);
        let started = std::time::Instant::now();
        let found = steps::spot_check_object(
            &spot_ports,
            run,
            &records.plan,
            object,
            chunks,
            source.records,
        )
        .await?;
        summary
            .timings
            .entry(object.object.clone())
            .or_default()
            .verify_ms += millis(started.elapsed());
        if found == steps::SpotCheck::default() {
            continue;
        }
        let mut verification = records
            .verifications
            .iter()
            .find(|verification| verification.object == object.object)
            .cloned()
            .unwrap_or_else(|| ferry_model::runs::ObjectVerification {
                object: object.object.clone(),
                ..Default::default()
            });
        // A spot check asked again (a resumed finalize) replaces the earlier one.
        verification
            .issues
            .retain(|issue| !issue.reason.starts_with(steps::SPOT_CHECK_PREFIX));
        verification.spot_checked = found.checked;
        verification.spot_mismatched = found.mismatched;
        verification.spot_changed = found.changed;
        verification.issues.extend(found.issues);
        ports
            .runs
            .record_verification(run, &verification)
            .await
            .map_err(StepError::RunStore)?;
    }
    Ok(())
}

/// Sets each object's high-water mark to the newest `SystemModstamp` its extraction read
/// (Salesforce's clock, so a skewed clock cannot skip a change); an object that read
/// nothing keeps the mark of the run a delta continues, or has none.
async fn set_high_water_marks(
    runs: &dyn RunStore,
    run: &RunId,
    summary: &mut RunSummary,
) -> Result<(), StepError> {
    let records = runs.run_records(run).await.map_err(StepError::RunStore)?;
    let previous = match &summary.delta_of {
        Some(of) => runs.run_summary(of).await.map_err(StepError::RunStore)?,
        None => None,
    };
    let mut marks = std::collections::BTreeMap::new();
    for object in &records.plan.objects {
        let read = records
            .extractions
            .iter()
            .filter(|e| e.object == object.object)
            .filter_map(|e| e.high_water_mark.clone())
            .max_by_key(|mark| {
                time::OffsetDateTime::parse(mark, &time::format_description::well_known::Rfc3339)
                    .ok()
            });
        let kept = previous
            .as_ref()
            .and_then(|last| last.high_water_marks.get(&object.object).cloned());
        let parse = |mark: &String| {
            time::OffsetDateTime::parse(mark, &time::format_description::well_known::Rfc3339).ok()
        };
        if let Some(mark) = read.into_iter().chain(kept).max_by_key(parse) {
            marks.insert(object.object.clone(), mark);
        }
    }
    summary.high_water_marks = marks;
    Ok(())
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

/// The extraction settings of `object`: `config.extract`, with the delta start it needs
/// when `delta_marks` (the run the delta continues) is given.
pub fn object_extract_config(
    config: &RunConfig,
    delta_marks: Option<&RunSummary>,
    object: &str,
) -> ExtractConfig {
    let mut extract = config.extract;
    if let Some(last) = delta_marks {
        // The object's own mark (the newest `SystemModstamp` that run read); without one
        // (the object was empty, or not in that run) everything, since Ferry's clock is
        // not Salesforce's.
        extract.since = last
            .high_water_marks
            .get(object)
            .and_then(|mark| {
                time::OffsetDateTime::parse(mark, &time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .or(Some(time::OffsetDateTime::UNIX_EPOCH));
        extract.include_deleted = true;
    }
    extract
}

pub(crate) fn empty_chunk(object: &str, chunk: u32) -> ferry_model::report::ChunkResult {
    ferry_model::report::ChunkResult {
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

/// Discovers the org, plans the run with its validation policy, and stores the plan.
pub(crate) async fn plan_run(
    salesforce: &dyn SalesforceApi,
    runs: &dyn RunStore,
    config: &RunConfig,
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
    discovery.plan.delta = delta;
    // The high-water marks are the newest `SystemModstamp` read (Salesforce's clock).
    for object in &mut discovery.plan.objects {
        let has_stamp = discovery
            .described
            .get(&object.object)
            .is_some_and(|described| described.description.field("SystemModstamp").is_some());
        if has_stamp && !object.select.iter().any(|field| field == "SystemModstamp") {
            object.select.push("SystemModstamp".to_owned());
        }
    }
    if delta {
        // A delta reads deleted records too (queryAll) and must tell them apart.
        for object in &mut discovery.plan.objects {
            let has_flag = discovery
                .described
                .get(object.salesforce_object())
                .is_some_and(|described| described.description.field("IsDeleted").is_some());
            if has_flag && !object.select.iter().any(|field| field == "IsDeleted") {
                object.select.push("IsDeleted".to_owned());
            }
        }
    }
    discovery.plan.default_owner = config.default_owner.clone();
    discovery.plan.merge_leads_by_email = config.merge_leads_by_email;
    if config.merge_leads_by_email {
        steps::check_merge_order(&discovery.plan).map_err(|reason| StepError::Refused {
            run: config.run_id.to_string(),
            reason,
        })?;
    }
    runs.save_plan(&config.run_id, &discovery.plan)
        .await
        .map_err(StepError::RunStore)?;
    Ok(discovery)
}

/// Refuses to start when the plan's estimated calls exceed what the budget leaves above
/// the reserve. An org that reports no budget is not checked.
pub(crate) async fn check_budget(
    salesforce: &dyn SalesforceApi,
    plan: &ferry_model::plan::Plan,
    config: &ExtractConfig,
) -> Result<(), StepError> {
    let Some(budget) = salesforce
        .api_budget()
        .await
        .map_err(StepError::Salesforce)?
    else {
        return Ok(());
    };
    let estimate =
        ferry_model::budget::estimate_calls(plan, config.bulk_threshold, config.chunk_records);
    tracing::info!(
        needed = estimate.extraction,
        used = budget.used,
        limit = budget.limit,
        "API budget checked"
    );
    ferry_model::budget::check_run(budget, estimate.extraction, &config.budget)
        .map_err(StepError::Budget)
}

pub(crate) fn millis(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
