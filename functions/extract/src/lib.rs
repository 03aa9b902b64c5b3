//! The `extract` Lambda: one object of a migration's run, one resumable slice per
//! invocation. The slice runs [`ferry_core::steps::extract_step`] (the same step
//! `ferry migrate` loops over) until the object is done, the slice's time is up, or the step
//! asks for a pause longer than is worth sleeping through; the state it stopped at goes back
//! to the state machine, which calls again (after a `Wait` state for a long pause). Each
//! staged chunk is sent to the chunk queue, where the `load` function picks it up.
//!
//! The first call of an object (state `null`) looks at what an earlier attempt of the run
//! did, as `ferry migrate` does when it resumes: an object whose chunks all loaded is done;
//! one extracted but not all loaded has its missing chunks queued again from staging.

use ferry_aws::SqsQueue;
use ferry_core::run::{ObjectResume, forget_stale_chunks, object_extract_config, object_resume};
use ferry_core::steps::{ExtractPorts, ExtractProgress, ExtractState, extract_step, start_state};
use ferry_lambda::{ErrorType, Services, Task, failure, port_failure, step_failure};
use ferry_model::ports::{RunStore, WorkQueue};
use lambda_runtime::Diagnostic;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Deserialize)]
pub struct Input {
    #[serde(flatten)]
    pub task: Task,
    pub object: String,
    #[serde(default)]
    pub state: Option<ExtractState>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Output {
    pub done: bool,
    pub state: Option<ExtractState>,
    /// Seconds the state machine waits before calling again (0: at once).
    pub wait_seconds: u64,
    /// Records staged so far for the object.
    pub extracted: u64,
}

/// How long one invocation extracts, and the longest pause it sleeps through itself.
#[derive(Debug, Clone, Copy)]
pub struct Slice {
    pub budget: Duration,
    pub max_sleep: Duration,
}

impl Default for Slice {
    fn default() -> Self {
        // Well inside the function's 300-second timeout: a slice ends at its first step past
        // 120 s, and one step (a result page, a file) takes seconds.
        Self {
            budget: Duration::from_secs(120),
            max_sleep: Duration::from_secs(5),
        }
    }
}

pub async fn handle(
    services: &Services,
    queue: &SqsQueue,
    slice: Slice,
    input: Input,
) -> Result<Output, Diagnostic> {
    let started = Instant::now();
    let record = services.migration(&input.task).await?;
    let run = input.task.run();
    let plan = services
        .runs
        .load_plan(&run)
        .await
        .map_err(|error| port_failure(&error))?;
    let object = plan.object(&input.object).ok_or_else(|| {
        failure(
            ErrorType::InvalidInput,
            format!("the plan of run {run} has no object {}", input.object),
        )
    })?;
    let summary = services
        .runs
        .run_summary(&run)
        .await
        .map_err(|error| port_failure(&error))?
        .ok_or_else(|| failure(ErrorType::InvalidInput, format!("no run {run}")))?;
    let delta_marks = match &summary.delta_of {
        Some(last) => services
            .runs
            .run_summary(last)
            .await
            .map_err(|error| port_failure(&error))?,
        None => None,
    };
    let run_config = services.run_config(&record, &run)?;
    let config = object_extract_config(&run_config, delta_marks.as_ref(), &object.object);
    let staging = services.staging()?;
    let mut state = match input.state {
        Some(state) => state,
        None => {
            let records = services
                .runs
                .run_records(&run)
                .await
                .map_err(|error| port_failure(&error))?;
            match object_resume(
                &run,
                &plan,
                &object.object,
                &records.extractions,
                &records.chunks,
            ) {
                ObjectResume::Done => {
                    tracing::info!(object = %object.object, "already extracted and loaded");
                    return Ok(Output {
                        done: true,
                        state: None,
                        wait_seconds: 0,
                        extracted: 0,
                    });
                }
                ObjectResume::Reload(messages) => {
                    for message in &messages {
                        queue
                            .send(message)
                            .await
                            .map_err(|error| port_failure(&error))?;
                    }
                    tracing::info!(object = %object.object, chunks = messages.len(), "staged chunks queued again");
                    return Ok(Output {
                        done: true,
                        state: None,
                        wait_seconds: 0,
                        extracted: 0,
                    });
                }
                ObjectResume::Extract { .. } => start_state(object, &config),
            }
        }
    };
    let client = services.salesforce_client(&record).await?;
    let ports = ExtractPorts {
        salesforce: &client,
        staging,
        queue,
        runs: &services.runs,
        pseudonymise: run_config.pseudonymise.as_ref(),
    };
    loop {
        match extract_step(&ports, &run, &plan, object, &config, state)
            .await
            .map_err(|error| step_failure(&error))?
        {
            ExtractProgress::Done(extraction) => {
                // Chunks an earlier attempt loaded beyond what this extraction staged are
                // stale; every chunk number below it belongs to this extraction.
                let records = services
                    .runs
                    .run_records(&run)
                    .await
                    .map_err(|error| port_failure(&error))?;
                let loaded: BTreeSet<u32> = records
                    .chunks
                    .iter()
                    .filter(|chunk| chunk.object == object.object)
                    .map(|chunk| chunk.chunk)
                    .collect();
                forget_stale_chunks(
                    &services.runs,
                    &run,
                    &object.object,
                    extraction.chunks,
                    &loaded,
                )
                .await
                .map_err(|error| step_failure(&error))?;
                tracing::info!(object = %object.object, extracted = extraction.extracted, chunks = extraction.chunks, "extracted");
                return Ok(Output {
                    done: true,
                    state: None,
                    wait_seconds: 0,
                    extracted: extraction.extracted,
                });
            }
            ExtractProgress::Continue(next) => {
                if started.elapsed() >= slice.budget {
                    return Ok(Output {
                        done: false,
                        extracted: next.extracted,
                        state: Some(next),
                        wait_seconds: 0,
                    });
                }
                state = next;
            }
            ExtractProgress::Wait {
                state: next,
                delay,
                reason,
            } => {
                if delay <= slice.max_sleep && started.elapsed() + delay < slice.budget {
                    tokio::time::sleep(delay).await;
                    state = next;
                } else {
                    tracing::info!(object = %object.object, ?reason, delay_s = delay.as_secs(), "pausing");
                    return Ok(Output {
                        done: false,
                        extracted: next.extracted,
                        state: Some(next),
                        wait_seconds: delay.as_secs().max(1),
                    });
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_event_is_an_input_and_a_state_survives_the_round_trip() {
        let input: Input =
            serde_json::from_str(include_str!("../../../events/extract.json")).unwrap();
        assert_eq!(input.object, "Account");
        assert!(input.state.is_none());
        // The state the state machine carries back is the state the slice stopped at.
        let state = ExtractState {
            object: "Account".to_owned(),
            method: ferry_core::steps::ExtractMethod::Bulk,
            position: ferry_core::steps::Position::BulkResults {
                job: "750xx0000000001".to_owned(),
                locator: Some("MjAwMDAw".to_owned()),
            },
            extracted: 50_000,
            chunks: 25,
            fallback: None,
            high_water_mark: None,
        };
        let output = Output {
            done: false,
            state: Some(state.clone()),
            wait_seconds: 0,
            extracted: 50_000,
        };
        let carried = serde_json::to_value(&output).unwrap();
        let again: Input = serde_json::from_value(serde_json::json!({
            "tenant": "acme", "migration_id": "m", "run_id": "r", "object": "Account",
            "state": carried["state"],
        }))
        .unwrap();
        assert_eq!(again.state, Some(state));
    }
}
