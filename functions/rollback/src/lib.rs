//! The `rollback` Lambda: rolls back the migration's run with
//! [`ferry_core::run::rollback`] (the same as `ferry rollback`): records the run
//! created are deleted, records it updated are put back as they were, and the rollback's
//! report goes to S3 as JSON beside the run's own reports. A rollback that stopped half-way
//! is resumed by running it again.

use ferry_core::run::{RollbackRunPorts, rollback};
use ferry_lambda::{Services, Task, core_tenant, port_failure, step_failure};
use ferry_model::ports::NoProgress;
use ferry_model::ports::Staging;
use lambda_runtime::Diagnostic;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Output {
    pub status: &'static str,
    pub report_key: String,
    pub deleted: u64,
    pub restored: u64,
    pub failed: u64,
}

pub async fn handle(services: &Services, task: Task) -> Result<Output, Diagnostic> {
    let record = services.migration(&task).await?;
    let tenant = core_tenant(&record);
    let run = task.run();
    let destination = services.destination(&ferry_core::run::rollback_run_id(&run))?;
    let report = rollback(
        &RollbackRunPorts {
            id_map: &services.id_map,
            runs: &services.runs,
            destination: &destination,
        },
        &tenant,
        &run,
        &NoProgress,
    )
    .await
    .map_err(|error| step_failure(&error))?;
    let body = serde_json::to_vec_pretty(&report)
        .map_err(|error| ferry_lambda::failure(ferry_lambda::ErrorType::Fatal, error))?;
    let key = format!("{tenant}/{run}/rollback.json");
    services
        .staging()?
        .put(&key, body)
        .await
        .map_err(|error| port_failure(&error))?;
    Ok(Output {
        status: "rolled_back",
        report_key: key,
        deleted: report.objects.iter().map(|object| object.deleted).sum(),
        restored: report.objects.iter().map(|object| object.restored).sum(),
        failed: report.objects.iter().map(|object| object.failed).sum(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    #[test]
    fn the_sample_event_is_a_task() {
        let task: ferry_lambda::Task =
            serde_json::from_str(include_str!("../../../events/rollback.json")).unwrap();
        assert_eq!(task.run().as_str(), "run-1763830800-000000001");
    }
}
