//! Wiring only: configuration and clients once per process, then the handler per event.

use ferry_aws::Executions;
use ferry_fn_api::Api;
use ferry_lambda::http::HttpRequest;
use ferry_lambda::{Services, variable};
use lambda_runtime::{LambdaEvent, run, service_fn};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    ferry_lambda::init_tracing();
    let services = Services::from_env().await?;
    let api = Api {
        executions: Executions::new(services.clients.sfn.clone()),
        state_machine_arn: variable("FERRY_STATE_MACHINE_ARN")?,
        rollback_state_machine_arn: variable("FERRY_ROLLBACK_STATE_MACHINE_ARN")?,
        redirect_uri: variable("FERRY_OAUTH_REDIRECT_URI")?,
        services,
    };
    run(service_fn(|event: LambdaEvent<HttpRequest>| {
        let api = &api;
        async move { api.handle(event.payload).await }
    }))
    .await
    .map_err(|error| anyhow::anyhow!(error))
}
