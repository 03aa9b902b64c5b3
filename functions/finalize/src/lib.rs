//! The `finalize` Lambda, two actions of the migration state machine:
//!
//! - `phase_status`: whether every object of a phase is extracted and every chunk of it
//!   loaded ([`ferry_core::run::phase_status`]); the state machine waits and asks
//!   again until it is, so a record's parents are in the ID map before it loads.
//! - `finalize`: after the last phase, [`ferry_core::run::complete_run`] (deferred
//!   links, deletions, verification, the report, as `ferry migrate` does), then the run
//!   report to S3 as JSON, Markdown and HTML, and the run marked succeeded.

use ferry_core::run::{
    CompletePorts, PhaseStatus, SpotCheckSource, complete_run, finish_run, phase_status,
};
use ferry_core::run_report::{render_html, render_markdown, run_document};
use ferry_core::steps::DEFAULT_SPOT_CHECK_RECORDS;
use ferry_lambda::{ErrorType, Services, Task, failure, port_failure, step_failure, write_reports};
use ferry_model::ports::NoProgress;
use ferry_model::ports::RunStore;
use ferry_model::runs::RunStatus;
use lambda_runtime::Diagnostic;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    PhaseStatus,
    Finalize,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Input {
    pub action: Action,
    #[serde(flatten)]
    pub task: Task,
    #[serde(default)]
    pub phase: Option<usize>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Output {
    Phase {
        loaded: bool,
        #[serde(flatten)]
        status: PhaseStatus,
    },
    Finalized {
        status: String,
        report_key: String,
    },
}

pub async fn handle(services: &Services, input: Input) -> Result<Output, Diagnostic> {
    let run = input.task.run();
    match input.action {
        Action::PhaseStatus => {
            let phase = input
                .phase
                .ok_or_else(|| failure(ErrorType::InvalidInput, "phase_status needs a phase"))?;
            let status = phase_status(&services.runs, &run, phase)
                .await
                .map_err(|error| step_failure(&error))?;
            tracing::info!(run_id = %run, phase, chunks = status.chunks, loaded_chunks = status.loaded_chunks, "phase status");
            Ok(Output::Phase {
                loaded: status.loaded(),
                status,
            })
        }
        Action::Finalize => {
            let record = services.migration(&input.task).await?;
            let config = services.run_config(&record, &run)?;
            let mut summary = services
                .runs
                .run_summary(&run)
                .await
                .map_err(|error| port_failure(&error))?
                .ok_or_else(|| failure(ErrorType::InvalidInput, format!("no run {run}")))?;
            let staging = services.staging()?;
            let destination = services.destination(&run)?;
            // The spot check re-reads a sample of each object from Salesforce.
            let salesforce = services.salesforce_client(&record).await?;
            complete_run(
                &CompletePorts {
                    staging,
                    id_map: &services.id_map,
                    destination: &destination,
                    runs: &services.runs,
                    spot_check: Some(SpotCheckSource {
                        salesforce: &salesforce,
                        pseudonymise: config.pseudonymise.as_ref(),
                        records: DEFAULT_SPOT_CHECK_RECORDS,
                    }),
                },
                &run,
                record.options.verify,
                &Default::default(),
                &NoProgress,
                &mut summary,
            )
            .await
            .map_err(|error| step_failure(&error))?;
            finish_run(&services.runs, &mut summary, RunStatus::Succeeded, None)
                .await
                .map_err(|error| step_failure(&error))?;
            let document = run_document(&services.runs, &run)
                .await
                .map_err(|error| step_failure(&error))?;
            let key = write_reports(
                staging,
                &format!("{}/{run}/report", config.tenant),
                &document,
                render_markdown(&document),
                render_html(&document),
            )
            .await?;
            services
                .modify(&input.task, |record| {
                    record.final_report = Some(key.clone())
                })
                .await?;
            Ok(Output::Finalized {
                status: RunStatus::Succeeded.as_str().to_owned(),
                report_key: key,
            })
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_events_are_inputs() {
        let status: Input =
            serde_json::from_str(include_str!("../../../events/finalize-phase-status.json"))
                .unwrap();
        assert_eq!(
            (status.action, status.phase),
            (Action::PhaseStatus, Some(0))
        );
        let finalize: Input =
            serde_json::from_str(include_str!("../../../events/finalize.json")).unwrap();
        assert_eq!(finalize.action, Action::Finalize);
    }
}
