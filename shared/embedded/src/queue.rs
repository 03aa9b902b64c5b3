//! The in-process work queue: the stand-in for SQS when one process both stages and loads.

use async_trait::async_trait;
use ferry_model::error::PortError;
use ferry_model::ports::{ChunkMessage, LocalQueue, WorkQueue};

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
