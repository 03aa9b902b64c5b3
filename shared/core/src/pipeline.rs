//! The whole migration in one process: the driver the `ferry` tool runs on the embedded
//! adapters. It calls the same steps the Lambda functions call, in the order the state
//! machine calls them.

use crate::error::PortError;
use crate::ids::{RunId, TenantId};
use crate::mapping::FieldMap;
use crate::ports::{ChunkMessage, Destination, IdMap, RunStore, SalesforceApi, Staging, WorkQueue};
use crate::report::RunReport;
use crate::runs::RunSummary;
use crate::steps::{self, Discovery, ExtractConfig, ExtractPorts, Sleeper, StepError};
use async_trait::async_trait;

// The run history, resume, delta runs and rollback live in `migration`; their entry points
// are re-exported here beside `migrate`, so the shells find every driver in one place.
pub use crate::migration::{
    RollbackRunPorts, RunOptions, mark_interrupted, migrate_with, now_rfc3339, rollback,
    rollback_report, rollback_run_id,
};

/// A work queue that the same process drains: the in-process stand-in for SQS.
#[async_trait]
pub trait LocalQueue: WorkQueue {
    async fn receive(&self) -> Result<Option<ChunkMessage>, PortError>;
}

/// The work queue of a one-process run (`ferry`, and the dry run inside one Lambda
/// invocation): first in, first out.
#[derive(Debug, Default)]
pub struct InProcessQueue {
    messages: std::sync::Mutex<std::collections::VecDeque<ChunkMessage>>,
}

impl InProcessQueue {
    pub fn new() -> Self {
        Self::default()
    }
}

fn poisoned() -> PortError {
    PortError::permanent("the in-process queue is unusable after a panic")
}

#[async_trait]
impl WorkQueue for InProcessQueue {
    async fn send(&self, message: &ChunkMessage) -> Result<(), PortError> {
        self.messages
            .lock()
            .map_err(|_| poisoned())?
            .push_back(message.clone());
        Ok(())
    }
}

#[async_trait]
impl LocalQueue for InProcessQueue {
    async fn receive(&self) -> Result<Option<ChunkMessage>, PortError> {
        Ok(self.messages.lock().map_err(|_| poisoned())?.pop_front())
    }
}

pub struct LocalPorts<'a> {
    pub salesforce: &'a dyn SalesforceApi,
    pub staging: &'a dyn Staging,
    pub id_map: &'a dyn IdMap,
    pub runs: &'a dyn RunStore,
    pub destination: &'a dyn Destination,
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
    /// The email of the destination user who owns what unmatched Salesforce users owned;
    /// kept in the plan, like the policy. `None`: those owner links stay empty, reported.
    pub default_owner: Option<String>,
    /// Merge each lead into the contact with the same normalised email instead of creating
    /// it (`steps::merge`); kept in the plan, like the default owner. Off by default.
    pub merge_leads_by_email: bool,
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

/// Discovers the org, plans the run with its validation policy, and stores the plan.
pub(crate) async fn plan_run(
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

/// Migrates with the default options (a full run, verified) and no progress display.
pub async fn migrate(
    ports: &LocalPorts<'_>,
    config: &MigrationConfig,
) -> Result<Migration, StepError> {
    crate::migration::migrate_with(
        ports,
        config,
        &crate::migration::RunOptions::default(),
        &crate::runs::NoProgress,
    )
    .await
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

/// What a dry run needs: a migration's ports, the destination only to read its users.
pub struct DryRunPorts<'a> {
    pub salesforce: &'a dyn SalesforceApi,
    /// The destination whose users the org's users are matched against; `None` lists every
    /// user as unmatched. Nothing is written to it.
    pub destination: Option<&'a dyn Destination>,
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
    let mut users = Vec::new();
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
                let record: crate::model::SourceRecord =
                    serde_json::from_slice(line).map_err(|error| {
                        StepError::Staging(PortError::with_source(
                            crate::ErrorClass::Permanent,
                            format!(
                                "line {} of {} is not a JSON record",
                                line_number + 1,
                                message.key
                            ),
                            error,
                        ))
                    })?;
                if object.entity == crate::mapping::EntityKind::Owner {
                    users.push(owner_of(object, &record));
                }
                records.push(record);
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
    let destination_users = match ports.destination {
        Some(destination) => Some(
            destination
                .users(&plan.tenant)
                .await
                .map_err(StepError::Destination)?,
        ),
        None => None,
    };
    let owners = crate::dryrun::match_owners(
        &users,
        destination_users.as_deref(),
        plan.default_owner.as_deref(),
    );
    let mut analysed = analysed;
    // Users are matched, never created: their counts are the matching's, not a load's.
    for entry in analysed.objects.iter_mut() {
        if plan
            .object(&entry.object)
            .is_some_and(|object| !object.entity.created_by_migration())
        {
            let unmatched = owners.unmatched.len() as u64;
            entry.will_create = 0;
            entry.will_update = owners.matched;
            entry.will_skip = unmatched;
            entry.skip_reasons = std::collections::BTreeMap::from([(
                "no destination user has the email".to_owned(),
                unmatched,
            )]);
            entry.skip_reasons.retain(|_, count| *count > 0);
        }
    }
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
        owners,
        budget: preview.budget,
        api_calls_used: match (discovery.budget, budget_now) {
            (Some(before), Some(after)) => Some(after.used.saturating_sub(before.used)),
            _ => None,
        },
    };
    Ok((discovery, report))
}

/// A staged user as (id, email, name), read through the plan's map as the load step reads it.
fn owner_of(
    object: &crate::plan::ObjectPlan,
    record: &crate::model::SourceRecord,
) -> (String, Option<String>, Option<String>) {
    let id = record
        .get("Id")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let field = |target: &str| {
        object
            .fields
            .iter()
            .find(|mapping| mapping.target == target)
            .and_then(|mapping| record.get(&mapping.source))
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
    };
    (id, field("email"), field("name"))
}
