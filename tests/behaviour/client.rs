use ferry_core::secret::Secret;
use ferry_salesforce::{SalesforceClient, SalesforceError};
use ferry_tests::{client_config, connect, query_all, start_org};

#[tokio::test]
async fn paged_queries_return_every_record_once_and_track_the_api_budget() {
    let simulator = start_org(1000, 3).await;
    let mut config = client_config(&simulator);
    config.query_batch_size = Some(200);
    let client = SalesforceClient::connect(config).await.unwrap();
    let contacts = query_all(&client, "SELECT Id, LastName FROM Contact").await;
    assert_eq!(contacts.len() as u64, simulator.record_counts()["Contact"]);
    let mut ids: Vec<&str> = contacts
        .iter()
        .map(|record| record["Id"].as_str().unwrap())
        .collect();
    ids.dedup();
    assert_eq!(ids.len(), contacts.len());
    let usage = client.api_usage().unwrap();
    assert_eq!(usage.used, simulator.api_calls());
    assert_eq!(usage.limit, 100_000);
    simulator.shutdown().await;
}

#[tokio::test]
async fn salesforce_errors_arrive_typed() {
    let simulator = start_org(50, 3).await;
    let client = connect(&simulator).await;
    let error = client
        .query("SELECT AccountNumer FROM Account")
        .await
        .unwrap_err();
    assert_eq!(error.error_code(), Some("INVALID_FIELD"));
    assert!(matches!(error, SalesforceError::Api { status: 400, .. }));
    let error = client.query("SELECT Id FROM Xyzzy").await.unwrap_err();
    assert_eq!(error.error_code(), Some("INVALID_TYPE"));
    let error = client.describe("Xyzzy").await.unwrap_err();
    assert_eq!(error.error_code(), Some("NOT_FOUND"));
    assert!(!error.is_retryable());
    simulator.shutdown().await;
}

#[tokio::test]
async fn bad_credentials_and_unlisted_instance_hosts_are_refused() {
    let simulator = start_org(50, 3).await;
    let mut config = client_config(&simulator);
    config.refresh_token = Secret::new("5Aep861-not-the-right-token");
    let error = SalesforceClient::connect(config).await.unwrap_err();
    assert_eq!(error.error_code(), Some("invalid_grant"));

    let mut config = client_config(&simulator);
    config.allowed_hosts.clear();
    let error = SalesforceClient::connect(config).await.unwrap_err();
    assert!(
        matches!(error, SalesforceError::InstanceNotAllowed { .. }),
        "{error}"
    );
    simulator.shutdown().await;
}
