//! The `notify` Lambda: the state machine tells it what the migration now waits for or how
//! it ended. It keeps the migration's record current, parks the execution's task token where
//! `oauth-callback` and `POST /migrations/{id}/start` find it, and sends the SaaS backend an
//! HMAC-signed webhook.
//!
//! Webhook signature: header `X-Ferry-Signature: t={unix seconds},v1={hex HMAC-SHA256}` over
//! `"{t}.{body}"` with the webhook secret, so a receiver checks the body and refuses replays
//! older than its tolerance. Delivery is tried three times; a backend that stays down does
//! not fail the migration (the record and `GET /migrations/{id}` stay the truth), and the
//! answer says `notified: false`.

use ferry_aws::{Executions, MigrationRecord, MigrationStatus, Waiting};
use ferry_core::run::{finish_run, now_rfc3339};
use ferry_lambda::{ErrorType, Services, Task, failure, port_failure};
use ferry_model::ports::RunStore;
use ferry_model::runs::RunStatus;

use hmac::{Hmac, Mac};
use lambda_runtime::Diagnostic;
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    AwaitingAuthorization,
    DryRunReady,
    Completed,
    Failed,
    RolledBack,
}

/// The error a state machine's Catch hands on.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaughtError {
    #[serde(rename = "Error", default)]
    pub error: String,
    #[serde(rename = "Cause", default)]
    pub cause: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Input {
    pub event: Event,
    #[serde(flatten)]
    pub task: Task,
    #[serde(default)]
    pub task_token: Option<String>,
    #[serde(default)]
    pub error: Option<CaughtError>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Output {
    pub notified: bool,
}

/// Where webhooks go.
#[derive(Debug, Clone)]
pub struct Webhook {
    pub url: String,
    pub secret: ferry_model::secret::Secret,
    pub http: reqwest::Client,
}

pub struct Notify {
    pub services: Services,
    pub executions: Executions,
    pub webhook: Option<Webhook>,
}

/// The text of a caught error, shortened: a Cause can be a whole stack of JSON.
fn describe(error: &CaughtError) -> String {
    // Lambda errors arrive as a JSON Cause holding errorType and errorMessage.
    let message = serde_json::from_str::<serde_json::Value>(&error.cause)
        .ok()
        .and_then(|cause| {
            cause
                .get("errorMessage")
                .and_then(|message| message.as_str())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| error.cause.clone());
    let mut text = format!("{}: {message}", error.error);
    if text.len() > 2000 {
        let mut end = 2000;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

impl Notify {
    pub async fn handle(&self, input: Input) -> Result<Output, Diagnostic> {
        let failure_message = input
            .error
            .as_ref()
            .map_or_else(|| "the execution failed".to_owned(), describe);
        let parked = match input.event {
            Event::AwaitingAuthorization | Event::DryRunReady => {
                Some(input.task_token.clone().ok_or_else(|| {
                    failure(
                        ErrorType::InvalidInput,
                        format!("{:?} needs the execution's task_token", input.event),
                    )
                })?)
            }
            _ => None,
        };
        let (record, complete_now) = self
            .services
            .modify(&input.task, |record| {
                match input.event {
                    Event::AwaitingAuthorization if record.refresh_token.is_some() => {
                        // Authorised before the execution got here: nothing to wait for.
                        record.status = MigrationStatus::Discovering;
                        record.task_token = None;
                        record.waiting_for = None;
                        return true;
                    }
                    Event::AwaitingAuthorization => {
                        record.status = MigrationStatus::AwaitingAuthorization;
                        record.task_token = parked.clone();
                        record.waiting_for = Some(Waiting::Authorisation);
                    }
                    Event::DryRunReady => {
                        record.status = MigrationStatus::DryRunReady;
                        record.task_token = parked.clone();
                        record.waiting_for = Some(Waiting::Start);
                    }
                    Event::Completed => {
                        record.status = MigrationStatus::Succeeded;
                        record.error = None;
                    }
                    Event::RolledBack => record.status = MigrationStatus::RolledBack,
                    Event::Failed => {
                        record.status = MigrationStatus::Failed;
                        record.error = Some(failure_message.clone());
                        record.task_token = None;
                        record.waiting_for = None;
                    }
                }
                false
            })
            .await?;
        if complete_now && let Some(token) = &parked {
            self.executions
                .succeed(token, &serde_json::json!({"authorised": true}))
                .await
                .map_err(|error| port_failure(&error))?;
        }
        if input.event == Event::Failed {
            // The run's line in the history says so too, so a later run resumes it.
            if let Some(mut summary) = self
                .services
                .runs
                .run_summary(&record.run_id)
                .await
                .map_err(|error| port_failure(&error))?
                .filter(|summary| summary.status.is_unfinished())
            {
                finish_run(
                    &self.services.runs,
                    &mut summary,
                    RunStatus::Failed,
                    Some(failure_message),
                )
                .await
                .map_err(|error| ferry_lambda::step_failure(&error))?;
            }
        }
        let notified = match (&self.webhook, input.event) {
            (_, Event::AwaitingAuthorization) | (None, _) => false,
            (Some(webhook), event) => deliver(webhook, &payload(event, &record)).await,
        };
        Ok(Output { notified })
    }
}

/// The webhook's body: what happened and where to look.
pub fn payload(event: Event, record: &MigrationRecord) -> serde_json::Value {
    serde_json::json!({
        "event": event,
        "migration_id": record.id,
        "status": record.status,
        "run_id": record.run_id,
        "error": record.error,
        "at": now_rfc3339(),
    })
}

/// `t={unix},v1={hex}`: HMAC-SHA256 over `"{t}.{body}"`.
pub fn signature(secret: &ferry_model::secret::Secret, timestamp: u64, body: &[u8]) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.expose().as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("t={timestamp},v1={hex}")
}

async fn deliver(webhook: &Webhook, payload: &serde_json::Value) -> bool {
    let body = serde_json::to_vec(payload).unwrap_or_default();
    for attempt in 1..=3u32 {
        let timestamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_secs());
        let outcome = webhook
            .http
            .post(&webhook.url)
            .header("content-type", "application/json")
            .header(
                "x-ferry-signature",
                signature(&webhook.secret, timestamp, &body),
            )
            .body(body.clone())
            .send()
            .await;
        match outcome {
            Ok(response) if response.status().is_success() => return true,
            Ok(response) => {
                tracing::warn!(
                    attempt,
                    status = response.status().as_u16(),
                    "webhook refused"
                );
            }
            Err(error) => tracing::warn!(attempt, error = %error, "webhook not delivered"),
        }
        tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt))).await;
    }
    tracing::error!("webhook not delivered after 3 attempts");
    false
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_covers_the_timestamp_and_the_body() {
        let secret = ferry_model::secret::Secret::new("whsec");
        let one = signature(&secret, 1_700_000_000, b"{\"a\":1}");
        assert!(one.starts_with("t=1700000000,v1="));
        assert_eq!(one.len(), "t=1700000000,v1=".len() + 64);
        assert_ne!(one, signature(&secret, 1_700_000_001, b"{\"a\":1}"));
        assert_ne!(one, signature(&secret, 1_700_000_000, b"{\"a\":2}"));
        assert_eq!(one, signature(&secret, 1_700_000_000, b"{\"a\":1}"));
    }

    #[test]
    fn the_sample_events_are_inputs() {
        let parked: Input =
            serde_json::from_str(include_str!("../../../events/notify.json")).unwrap();
        assert_eq!(parked.event, Event::AwaitingAuthorization);
        assert!(parked.task_token.is_some());
        let failed: Input =
            serde_json::from_str(include_str!("../../../events/notify-failed.json")).unwrap();
        assert_eq!(failed.event, Event::Failed);
        assert!(failed.error.is_some());
    }

    #[test]
    fn a_lambda_cause_is_reduced_to_its_message() {
        let error = CaughtError {
            error: "Fatal".to_owned(),
            cause: r#"{"errorType":"Fatal","errorMessage":"destination: refused"}"#.to_owned(),
        };
        assert_eq!(describe(&error), "Fatal: destination: refused");
    }
}
