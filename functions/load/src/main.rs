//! Wiring only: configuration and clients once per process, then the handler per event.

use ferry_fn_load::{Stores, handle};
use ferry_lambda::Services;
use ferry_model::ids::RunId;
use lambda_runtime::{LambdaEvent, run, service_fn};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    ferry_lambda::init_tracing();
    let services = Services::from_env().await?;
    // Checked once at start-up, so a misconfigured function fails on its first event.
    let base = services
        .destination(&RunId::new(""))
        .map_err(|error| anyhow::anyhow!(error.error_message))?;
    let staging = services
        .staging()
        .map_err(|error| anyhow::anyhow!(error.error_message))?;
    let stores = Stores {
        staging,
        id_map: &services.id_map,
        runs: &services.runs,
    };
    let destination_for = |run: &RunId| base.scoped(run.to_string());
    run(service_fn(|event: LambdaEvent<_>| {
        let (stores, destination_for) = (&stores, &destination_for);
        async move { handle(stores, destination_for, event).await }
    }))
    .await
    .map_err(|error: lambda_runtime::Error| anyhow::anyhow!(error))
}
