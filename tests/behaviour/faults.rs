//! The simulator's fault catalogue against the client: each fault is survived or ends in
//! a clear, correctly classified error.

use ferry_model::ports::{QueryPageRequest, SalesforceApi};
use ferry_model::secret::Secret;
use ferry_salesforce::{Auth, ClientConfig, RetryPolicy, SalesforceClient};
use ferry_simulator::faults::Faults;
use ferry_tests::{client_config, connect, query_all, start_org};
use std::time::Duration;

fn quick_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 6,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
    }
}

#[tokio::test]
async fn server_errors_and_dropped_connections_are_retried_until_the_pages_arrive() {
    let simulator = start_org(3_000, 31).await;
    let expected = simulator.record_counts()["Contact"] as usize;
    for faults in [
        Faults {
            server_error_every: Some(3),
            ..Faults::default()
        },
        Faults {
            drop_every: Some(3),
            ..Faults::default()
        },
        Faults {
            latency_ms: 5,
            ..Faults::default()
        },
    ] {
        let mut config = client_config(&simulator);
        config.retry = quick_retries();
        config.query_batch_size = Some(500);
        let client = SalesforceClient::connect(config).await.unwrap();
        simulator.set_faults(faults.clone());
        let records = query_all(&client, "SELECT Id FROM Contact").await;
        assert_eq!(records.len(), expected, "{faults:?}");
        if faults.latency_ms == 0 {
            assert!(
                client.retries() > 0,
                "{faults:?}: the faults fired and were retried"
            );
        }
        simulator.set_faults(Faults::default());
    }
    simulator.shutdown().await;
}

#[tokio::test]
async fn an_expired_session_is_renewed_once_and_a_bare_access_token_says_it_cannot_be() {
    let simulator = start_org(200, 32).await;
    simulator.set_faults(Faults {
        token_ttl_secs: Some(1),
        ..Faults::default()
    });
    let client = connect(&simulator).await;
    let before = simulator.counters()["oauth"];
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    let records = query_all(&client, "SELECT Id FROM Account").await;
    assert_eq!(records.len() as u64, simulator.record_counts()["Account"]);
    assert_eq!(simulator.counters()["oauth"], before + 1, "one refresh");

    // A session handed over without a refresh token cannot be renewed: the error says so.
    let instance = client.instance_url().await.unwrap();
    let http = ferry_salesforce::http_client(&[], Duration::from_secs(30)).unwrap();
    let credentials = simulator.credentials();
    let token = ferry_salesforce::oauth::refresh_grant(
        &http,
        simulator.login_url(),
        &credentials.client_id,
        Some(&Secret::new(credentials.client_secret.clone())),
        &Secret::new(credentials.refresh_token.clone()),
    )
    .await
    .unwrap();
    let mut config = ClientConfig::access_token(instance, token.access_token);
    config.allowed_hosts = client_config(&simulator).allowed_hosts;
    let bare = SalesforceClient::connect(config).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    let error = bare.query("SELECT Id FROM Account").await.unwrap_err();
    assert_eq!(error.error_code(), Some("INVALID_SESSION_ID"));
    assert!(!error.is_retryable());
    simulator.shutdown().await;
}

#[tokio::test]
async fn a_rotated_refresh_token_is_kept_and_the_old_one_stops_working() {
    let simulator = start_org(100, 33).await;
    simulator.set_faults(Faults {
        rotate_refresh_tokens: true,
        ..Faults::default()
    });
    let client = connect(&simulator).await;
    let rotated = client
        .rotated_refresh_token()
        .expect("the org rotated the token");
    assert_ne!(rotated.expose(), simulator.credentials().refresh_token);
    // The old token is spent; the rotated one connects.
    let error = SalesforceClient::connect(client_config(&simulator))
        .await
        .unwrap_err();
    assert_eq!(error.error_code(), Some("invalid_grant"));
    let mut config = client_config(&simulator);
    if let Auth::RefreshToken { refresh_token, .. } = &mut config.auth {
        *refresh_token = rotated;
    }
    SalesforceClient::connect(config).await.unwrap();
    simulator.shutdown().await;
}

#[tokio::test]
async fn revoked_access_disabled_api_and_a_spent_budget_fail_clearly_without_retries() {
    let simulator = start_org(100, 34).await;
    simulator.set_faults(Faults {
        refresh_token_revoked: true,
        ..Faults::default()
    });
    let error = SalesforceClient::connect(client_config(&simulator))
        .await
        .unwrap_err();
    assert_eq!(error.error_code(), Some("invalid_grant"));
    assert!(
        error.to_string().contains("expired access/refresh token"),
        "{error}"
    );

    simulator.set_faults(Faults::default());
    let client = connect(&simulator).await;
    simulator.set_faults(Faults {
        api_disabled: true,
        ..Faults::default()
    });
    let retries = client.retries();
    let error = client.describe_global().await.unwrap_err();
    assert_eq!(error.error_code(), Some("API_DISABLED_FOR_ORG"));
    assert!(!error.is_retryable());
    assert_eq!(client.retries(), retries, "not retried");
    let error = ferry_core::steps::discover(
        &client,
        ferry_model::ids::TenantId::new("acme"),
        &ferry_model::mapping::FieldMap::builtin(),
        &ferry_core::steps::DiscoverOptions::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(error.error_type(), "PermissionDenied");
    assert!(
        error.chain().contains("\"API Enabled\""),
        "{}",
        error.chain()
    );

    simulator.set_faults(Faults::default());
    let mut knobs = simulator.knobs();
    knobs.daily_api_limit = client.api_usage().unwrap().used;
    simulator.set_knobs(knobs);
    let error = client
        .query_page(QueryPageRequest::Start {
            soql: "SELECT Id FROM Account".to_owned(),
            include_deleted: false,
        })
        .await
        .unwrap_err();
    assert!(!error.is_retryable());
    assert!(
        error.chain().contains("REQUEST_LIMIT_EXCEEDED"),
        "{}",
        error.chain()
    );
    assert_eq!(client.retries(), retries, "not retried");
    simulator.shutdown().await;
}

#[tokio::test]
async fn a_bulk_job_is_created_once_even_when_the_answer_is_lost() {
    let simulator = start_org(200, 35).await;
    let mut config = client_config(&simulator);
    config.retry = quick_retries();
    let client = SalesforceClient::connect(config).await.unwrap();
    let before = simulator.counters()["bulk_create"];
    simulator.set_faults(Faults {
        drop_every: Some(1),
        ..Faults::default()
    });
    let error = client
        .bulk_create_query("SELECT Id FROM Account", false)
        .await
        .unwrap_err();
    assert!(error.is_retryable(), "{error}");
    assert_eq!(
        simulator.counters()["bulk_create"] - before,
        1,
        "sent once: a retry could leave a second job running"
    );
    // Reads are retried as before.
    simulator.set_faults(Faults {
        drop_every: Some(2),
        ..Faults::default()
    });
    assert_eq!(
        query_all(&client, "SELECT Id FROM Account").await.len() as u64,
        simulator.record_counts()["Account"]
    );
    simulator.shutdown().await;
}
