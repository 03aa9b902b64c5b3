//! Wiring only: configuration and clients once per process, then the handler per event.

use ferry_aws::SqsQueue;
use ferry_fn_extract::{Input, Slice, handle};
use ferry_lambda::{Services, optional, variable};
use lambda_runtime::{LambdaEvent, run, service_fn};
use std::time::Duration;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    ferry_lambda::init_tracing();
    let services = Services::from_env().await?;
    let queue = SqsQueue::new(
        services.clients.sqs.clone(),
        variable("FERRY_CHUNK_QUEUE_URL")?,
    );
    let mut slice = Slice::default();
    if let Some(seconds) = optional("FERRY_EXTRACT_SLICE_SECONDS") {
        slice.budget = Duration::from_secs(seconds.parse()?);
    }
    run(service_fn(|event: LambdaEvent<Input>| {
        let (services, queue) = (&services, &queue);
        async move { handle(services, queue, slice, event.payload).await }
    }))
    .await
    .map_err(|error| anyhow::anyhow!(error))
}
