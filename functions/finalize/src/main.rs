//! Wiring only: configuration and clients once per process, then the handler per event.

use ferry_fn_finalize::{Input, handle};
use ferry_lambda::Services;
use lambda_runtime::{LambdaEvent, run, service_fn};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    ferry_lambda::init_tracing();
    let services = Services::from_env().await?;
    run(service_fn(|event: LambdaEvent<Input>| {
        let services = &services;
        async move { handle(services, event.payload).await }
    }))
    .await
    .map_err(|error| anyhow::anyhow!(error))
}
