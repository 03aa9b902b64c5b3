use crate::{permanent, sdk_error};
use ferry_model::PortError;
use serde_json::Value;

/// Step Functions executions: the API starts them, `notify` parks their task tokens and
/// `oauth-callback` / `POST /migrations/{id}/start` complete them.
#[derive(Debug, Clone)]
pub struct Executions {
    client: aws_sdk_sfn::Client,
}

/// Step Functions caps `error` at 256 characters and `cause` at 32 768.
const MAX_ERROR: usize = 256;
const MAX_CAUSE: usize = 32_768;

fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// A string field of a successful answer the SDK could not parse. moto (the local stack)
/// writes timestamps as ISO strings where Step Functions writes epoch seconds, which the
/// SDK refuses; the fields Ferry needs are fine. AWS itself never takes this path.
fn field_of_unparsed_answer<E>(
    error: &aws_sdk_sfn::error::SdkError<E, aws_sdk_sfn::config::http::HttpResponse>,
    field: &str,
) -> Option<String> {
    let raw = error.raw_response()?;
    if !raw.status().is_success() {
        return None;
    }
    let answer: Value = serde_json::from_slice(raw.body().bytes()?).ok()?;
    answer.get(field)?.as_str().map(str::to_owned)
}

impl Executions {
    pub fn new(client: aws_sdk_sfn::Client) -> Self {
        Self { client }
    }

    /// Starts an execution named `name` (unique per state machine for 90 days; the run id
    /// makes a good name) and returns its ARN. Starting the same name with the same input
    /// again while it runs returns the same ARN; with another input it fails permanently
    /// (`ExecutionAlreadyExists`).
    pub async fn start(
        &self,
        state_machine_arn: &str,
        name: &str,
        input: &Value,
    ) -> Result<String, PortError> {
        let input = serde_json::to_string(input)
            .map_err(|error| permanent("serialising an execution input", error))?;
        match self
            .client
            .start_execution()
            .state_machine_arn(state_machine_arn)
            .name(name)
            .input(input)
            .send()
            .await
        {
            Ok(started) => Ok(started.execution_arn().to_owned()),
            Err(error) => field_of_unparsed_answer(&error, "executionArn").ok_or_else(|| {
                sdk_error(
                    format!("starting execution {name} of {state_machine_arn}"),
                    error,
                )
            }),
        }
    }

    /// Completes the task waiting on `task_token` with `output`. An unknown, completed or
    /// timed-out token fails permanently (`TaskDoesNotExist`, `TaskTimedOut`,
    /// `InvalidToken`).
    pub async fn succeed(&self, task_token: &str, output: &Value) -> Result<(), PortError> {
        let output = serde_json::to_string(output)
            .map_err(|error| permanent("serialising a task output", error))?;
        self.client
            .send_task_success()
            .task_token(task_token)
            .output(output)
            .send()
            .await
            .map_err(|error| sdk_error("completing a waiting task".to_owned(), error))?;
        Ok(())
    }

    /// Fails the task waiting on `task_token`; the state machine's `Catch` sees `error` as
    /// `Error` and `cause` as `Cause` (truncated to Step Functions' limits).
    pub async fn fail(&self, task_token: &str, error: &str, cause: &str) -> Result<(), PortError> {
        self.client
            .send_task_failure()
            .task_token(task_token)
            .error(truncate(error, MAX_ERROR))
            .cause(truncate(cause, MAX_CAUSE))
            .send()
            .await
            .map_err(|error| sdk_error("failing a waiting task".to_owned(), error))?;
        Ok(())
    }

    /// The execution's status as Step Functions spells it: `RUNNING`, `SUCCEEDED`, `FAILED`,
    /// `TIMED_OUT`, `ABORTED` or `PENDING_REDRIVE`.
    pub async fn status(&self, execution_arn: &str) -> Result<String, PortError> {
        match self
            .client
            .describe_execution()
            .execution_arn(execution_arn)
            .send()
            .await
        {
            Ok(described) => Ok(described.status().as_str().to_owned()),
            Err(error) => field_of_unparsed_answer(&error, "status")
                .ok_or_else(|| sdk_error(format!("describing execution {execution_arn}"), error)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::truncate;

    #[test]
    fn truncation_keeps_whole_characters() {
        assert_eq!(truncate("short", 256), "short");
        assert_eq!(truncate("ééé", 3), "é");
    }
}
