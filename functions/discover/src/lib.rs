//! The `discover` Lambda, two actions of the migration state machine:
//!
//! - `dry_run`: discovers the org, extracts every planned object to staging and analyses it
//!   as a load would, writing nothing to the destination (the same
//!   [`ferry_core::run::dry_run`] as `ferry dry-run`), under its own run id; the
//!   report goes to S3 as JSON, Markdown and HTML, with the plan document beside it
//!   (`ferry plan --json`'s, for `GET /migrations/{id}/plan`). The migration's selections
//!   (`PUT /migrations/{id}/selections`) narrow and change the run as the CLI's flags do;
//!   when they changed while it ran, the answer says `stale` and the state machine runs it
//!   again. One invocation: sized for orgs whose
//!   dry run fits the function's timeout (see `infra/template.yaml`).
//! - `discover`: once the user has confirmed, opens the migration's run (the same
//!   [`ferry_core::run::begin_run`] and [`ferry_core::run::prepare_run`] as
//!   `ferry migrate`): discovery, the plan, the budget check and the destination's custom
//!   fields; answers with the phases the state machine iterates. A tenant's unfinished run
//!   is resumed instead, and its id is the one answered.

use ferry_aws::MigrationStatus;
use ferry_core::preview::{PlanPreview, plan_document};
use ferry_core::run::{DryRunPorts, dry_run};
use ferry_core::run::{RunOpenPorts, RunOptions, begin_run, now_rfc3339, prepare_run};
use ferry_lambda::{
    Services, Task, TokioSleeper, dry_run_id, port_failure, step_failure, write_reports,
};
use ferry_model::budget::BudgetPolicy;
use ferry_model::ports::{RunStore, Staging};
use lambda_runtime::Diagnostic;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Discover,
    DryRun,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Input {
    pub action: Action,
    #[serde(flatten)]
    pub task: Task,
}

#[derive(Debug, Clone, Serialize)]
pub struct Phase {
    pub phase: usize,
    pub objects: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Output {
    Discovered {
        run_id: String,
        resumed: bool,
        phases: Vec<Phase>,
        objects: usize,
    },
    DryRun {
        report_key: String,
        /// The migration's selections changed during the dry run: it is out of date.
        stale: bool,
    },
}

pub async fn handle(services: &Services, input: Input) -> Result<Output, Diagnostic> {
    match input.action {
        Action::DryRun => run_dry_run(services, &input.task).await,
        Action::Discover => open(services, &input.task).await,
    }
}

async fn run_dry_run(services: &Services, task: &Task) -> Result<Output, Diagnostic> {
    let record = services.migration(task).await?;
    let client = services.salesforce_client(&record).await?;
    let run = dry_run_id(&task.run());
    let config = services.run_config(&record, &run)?;
    let staging = services.staging()?;
    let destination = services.destination(&run)?;
    let queue = ferry_embedded::InProcessQueue::new();
    let ports = DryRunPorts {
        salesforce: &client,
        destination: Some(&destination),
        staging,
        id_map: &services.id_map,
        runs: &services.runs,
        queue: &queue,
        sleeper: &TokioSleeper,
        progress: &ferry_model::ports::NoProgress,
    };
    let policy = BudgetPolicy::default();
    let (discovery, mut report) = dry_run(&ports, &config, &policy)
        .await
        .map_err(|error| step_failure(&error))?;
    report.instance_url = client.instance_url().await.unwrap_or_default();
    report.generated_at = now_rfc3339();
    // What discovery found, as `ferry plan --json` shows it: `GET /migrations/{id}/plan`.
    let preview = PlanPreview::build(&discovery, &config.map, &config.extract, &policy);
    let plan_key = format!("{}/{}/plan.json", config.tenant, task.run_id);
    let document = plan_document(&preview, &report.instance_url, client.api_version());
    staging
        .put(
            &plan_key,
            serde_json::to_vec_pretty(&document).unwrap_or_default(),
        )
        .await
        .map_err(|error| port_failure(&error))?;
    let key = write_reports(
        staging,
        &format!("{}/{}/dry-run", config.tenant, task.run_id),
        &report,
        ferry_core::run::dry_run::render_markdown(&report),
        ferry_core::run::dry_run::render_html(&report),
    )
    .await?;
    let revision = record.selections.revision;
    let (stored, ()) = services
        .modify(task, |record| {
            record.dry_run_report = Some(key.clone());
            record.plan = Some(plan_key.clone());
            record.dry_run_revision = Some(revision);
        })
        .await?;
    // Selections changed while this dry run ran: the state machine runs it again.
    let stale = stored.selections.revision != revision;
    tracing::info!(report_key = %key, revision, stale, "dry run written");
    Ok(Output::DryRun {
        report_key: key,
        stale,
    })
}

async fn open(services: &Services, task: &Task) -> Result<Output, Diagnostic> {
    let record = services.migration(task).await?;
    let client = services.salesforce_client(&record).await?;
    let config = services.run_config(&record, &task.run())?;
    let options = RunOptions {
        delta: record.options.delta,
        verify: record.options.verify,
        ..RunOptions::default()
    };
    let (mut summary, discovery, resumed) = begin_run(
        &RunOpenPorts {
            salesforce: &client,
            runs: &services.runs,
        },
        &config,
        &options,
    )
    .await
    .map_err(|error| step_failure(&error))?;
    let plan = &discovery.plan;
    let destination = services.destination(&summary.run_id)?;
    prepare_run(&client, &destination, plan, &config.extract)
        .await
        .map_err(|error| step_failure(&error))?;
    // The high-water marks are set at finalize, from the newest `SystemModstamp` each
    // object's extraction read (Salesforce's clock, not this function's).
    summary.updated_at = Some(now_rfc3339());
    services
        .runs
        .save_run(&summary)
        .await
        .map_err(|error| port_failure(&error))?;
    services
        .modify(task, |record| {
            record.run_id = summary.run_id.clone();
            record.status = MigrationStatus::Running;
        })
        .await?;
    let phases: Vec<Phase> = plan
        .phases()
        .into_iter()
        .enumerate()
        .map(|(phase, objects)| Phase {
            phase,
            objects: objects.iter().map(|object| object.object.clone()).collect(),
        })
        .collect();
    tracing::info!(run_id = %summary.run_id, resumed, phases = phases.len(), objects = plan.objects.len(), "run opened");
    Ok(Output::Discovered {
        run_id: summary.run_id.to_string(),
        resumed,
        objects: plan.objects.len(),
        phases,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_events_are_inputs() {
        for (sample, action) in [
            (
                include_str!("../../../events/discover.json"),
                Action::Discover,
            ),
            (
                include_str!("../../../events/discover-dry-run.json"),
                Action::DryRun,
            ),
        ] {
            let input: Input = serde_json::from_str(sample).unwrap();
            assert_eq!(input.action, action);
            assert_eq!(input.task.tenant, "acme");
        }
    }
}
