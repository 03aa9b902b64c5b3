//! Wiring only: configuration and clients once per process, then the handler per event.

use anyhow::Context;
use ferry_aws::{AwsClients, DynamoIdMap, DynamoRunStore, S3Staging};
use ferry_core::steps::LoadPorts;
use ferry_embedded::SqliteDestination;
use lambda_runtime::{LambdaEvent, run, service_fn};

/// Every setting, read once; a missing variable names itself.
struct Config {
    staging_bucket: String,
    table: String,
    /// Until the HTTP destination lands, the function writes the reference CRM's SQLite file
    /// at this path (an EFS mount in AWS, a local path under `cargo lambda watch`).
    destination_sqlite: String,
}

fn variable(name: &str) -> anyhow::Result<String> {
    std::env::var(name).with_context(|| format!("environment variable {name} is not set"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let config = Config {
        staging_bucket: variable("FERRY_STAGING_BUCKET")?,
        table: variable("FERRY_TABLE")?,
        destination_sqlite: variable("FERRY_DESTINATION_SQLITE")?,
    };
    let clients = AwsClients::from_env().await;
    let staging = S3Staging::new(clients.s3.clone(), config.staging_bucket);
    let id_map = DynamoIdMap::new(clients.dynamodb.clone(), config.table.clone());
    let runs = DynamoRunStore::new(clients.dynamodb, config.table);
    let destination = SqliteDestination::open(config.destination_sqlite.as_ref())?;
    let ports = LoadPorts {
        staging: &staging,
        id_map: &id_map,
        destination: &destination,
        runs: &runs,
    };
    run(service_fn(|event: LambdaEvent<_>| {
        ferry_fn_load::handle(&ports, event)
    }))
    .await
    .map_err(|error| anyhow::anyhow!(error))
}
