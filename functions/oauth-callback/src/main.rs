//! Wiring only: configuration and clients once per process, then the handler per event.

use ferry_aws::Executions;
use ferry_fn_oauth_callback::Callback;
use ferry_lambda::http::HttpRequest;
use ferry_lambda::{Services, variable};
use lambda_runtime::{LambdaEvent, run, service_fn};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    ferry_lambda::init_tracing();
    let services = Services::from_env().await?;
    let callback = Callback {
        executions: Executions::new(services.clients.sfn.clone()),
        http: ferry_salesforce::http_client(&[], std::time::Duration::from_secs(30))?,
        redirect_uri: variable("FERRY_OAUTH_REDIRECT_URI")?,
        services,
    };
    run(service_fn(|event: LambdaEvent<HttpRequest>| {
        let callback = &callback;
        async move { callback.handle(event.payload).await }
    }))
    .await
    .map_err(|error| anyhow::anyhow!(error))
}
