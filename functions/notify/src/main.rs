//! Wiring only: configuration and clients once per process, then the handler per event.

use ferry_aws::Executions;
use ferry_fn_notify::{Input, Notify, Webhook};
use ferry_lambda::{Services, optional, variable};
use lambda_runtime::{LambdaEvent, run, service_fn};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    ferry_lambda::init_tracing();
    let services = Services::from_env().await?;
    let webhook = match optional("FERRY_WEBHOOK_URL") {
        Some(url) => Some(Webhook {
            url,
            secret: ferry_model::secret::Secret::new(variable("FERRY_WEBHOOK_SECRET")?),
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(10))
                .build()?,
        }),
        None => None,
    };
    let notify = Notify {
        executions: Executions::new(services.clients.sfn.clone()),
        services,
        webhook,
    };
    run(service_fn(|event: LambdaEvent<Input>| {
        let notify = &notify;
        async move { notify.handle(event.payload).await }
    }))
    .await
    .map_err(|error| anyhow::anyhow!(error))
}
