use crate::{permanent, sdk_error};
use async_trait::async_trait;
use ferry_model::PortError;
use ferry_model::ports::{ChunkMessage, WorkQueue};

/// The chunk queue on SQS: one message per staged chunk, its body the [`ChunkMessage`] as
/// JSON (what the `load` function's SQS event source parses back).
#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

impl SqsQueue {
    pub fn new(client: aws_sdk_sqs::Client, queue_url: impl Into<String>) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
        }
    }

    pub fn queue_url(&self) -> &str {
        &self.queue_url
    }
}

#[async_trait]
impl WorkQueue for SqsQueue {
    async fn send(&self, message: &ChunkMessage) -> Result<(), PortError> {
        let body = serde_json::to_string(message)
            .map_err(|error| permanent("serialising a chunk message", error))?;
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .send()
            .await
            .map_err(|error| {
                sdk_error(
                    format!(
                        "queueing chunk {} of {} (run {})",
                        message.chunk, message.object, message.run_id
                    ),
                    error,
                )
            })?;
        Ok(())
    }
}
