//! Waiting in a process: the embedded [`Sleeper`].

use async_trait::async_trait;
use ferry_model::ports::Sleeper;
use std::time::Duration;

/// Sleeps on the tokio timer.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioSleeper;

#[async_trait]
impl Sleeper for TokioSleeper {
    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}
