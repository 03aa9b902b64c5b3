use ferry_model::ports::{QueryPageRequest, SalesforceApi};
use ferry_model::secret::Secret;
use ferry_salesforce::{Auth, RetryPolicy};
use ferry_salesforce::{SalesforceClient, SalesforceError};
use ferry_simulator::SimulatorConfig;
use ferry_tests::Embedded;
use ferry_tests::{client_config, connect, query_all, start_org};
use std::time::Duration;

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
    if let Auth::RefreshToken { refresh_token, .. } = &mut config.auth {
        *refresh_token = Secret::new("5Aep861-not-the-right-token");
    }
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

fn quick_retries(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
    }
}

/// An org that answers every third call with 503 still migrates whole: the client retries
/// transient failures, and the counts show nothing lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_org_is_retried_and_nothing_is_lost() {
    let simulator = ferry_simulator::serve(
        SimulatorConfig {
            records: 800,
            seed: 9,
            page_size: 200,
            unavailable_every: Some(3),
            ..SimulatorConfig::default()
        },
        ([127, 0, 0, 1], 0).into(),
    )
    .await
    .unwrap();
    let mut config = client_config(&simulator);
    // Enough attempts that no request, however its calls interleave with another's (a page
    // read ahead while a record's rich-text images download), fails every one of them.
    config.retry = quick_retries(8);
    let client = SalesforceClient::connect(config).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let embedded = Embedded::open(dir.path());
    // One object at a time, so that Salesforce sees the calls one after another (rich-text
    // images are fetched record by record) and every third one fails.
    let report = embedded
        .migrate_with(&client, &embedded.config("run-busy", 500))
        .await
        .unwrap()
        .report;
    assert!(report.is_balanced());
    for object in ["Account", "Contact"] {
        assert_eq!(
            report.object(object).unwrap().created,
            simulator.record_counts()[object],
            "{object}"
        );
    }
    assert!(client.retries() > 0);
    // Every third call failed, and each failure was retried once.
    assert_eq!(client.retries(), simulator.api_calls() / 3);
    simulator.shutdown().await;
}

/// With retries exhausted, the failure arrives classified as retryable, so a state machine
/// can retry the step later; errors that cannot succeed are not retried at all.
#[tokio::test]
async fn exhausted_retries_surface_as_retryable_and_permanent_errors_are_not_retried() {
    let simulator = ferry_simulator::serve(
        SimulatorConfig {
            records: 50,
            unavailable_every: Some(1),
            ..SimulatorConfig::default()
        },
        ([127, 0, 0, 1], 0).into(),
    )
    .await
    .unwrap();
    let mut config = client_config(&simulator);
    config.retry = quick_retries(3);
    let client = SalesforceClient::connect(config).await.unwrap();
    let error = client
        .query_page(QueryPageRequest::Start {
            soql: "SELECT Id FROM Account".to_owned(),
            include_deleted: false,
        })
        .await
        .unwrap_err();
    assert!(error.is_retryable(), "{}", error.chain());
    assert!(
        error.chain().contains("SERVER_UNAVAILABLE"),
        "{}",
        error.chain()
    );
    assert_eq!(simulator.api_calls(), 3);
    assert_eq!(client.retries(), 2);
    simulator.shutdown().await;

    let simulator = start_org(50, 3).await;
    let mut config = client_config(&simulator);
    config.retry = quick_retries(3);
    let client = SalesforceClient::connect(config).await.unwrap();
    let before = simulator.api_calls();
    assert!(client.query("SELECT Nope FROM Account").await.is_err());
    assert_eq!(simulator.api_calls() - before, 1);
    assert_eq!(client.retries(), 0);
    simulator.shutdown().await;
}

#[tokio::test]
async fn a_bulk_page_cut_off_mid_body_is_read_again_and_no_record_is_sent_twice() {
    let simulator = start_org(20_000, 24).await;
    let client = connect(&simulator).await;
    let job = client
        .bulk_create_query(
            "SELECT Id, FirstName, LastName, Email, Title, AccountId, CreatedDate FROM Contact",
            false,
        )
        .await
        .unwrap();
    loop {
        let status = client.bulk_job(&job.id).await.unwrap();
        if status.state.is_final() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let whole = client.bulk_results(&job.id, None, 5_000).await.unwrap();
    assert_eq!(whole.records.len(), 5_000);

    // The next call is cut off halfway through its body, the one after it is not.
    let next_call = simulator.api_calls() + 1;
    let mut faults = simulator.knobs().faults;
    faults.cut_body_every = Some(next_call);
    simulator.set_faults(faults.clone());
    let retries = client.retries();
    let results_before = simulator.counters()["bulk_results"];

    let (sender, receiver) = futures::channel::mpsc::channel(1);
    let read = async {
        let read = client
            .bulk_results_chunked(&job.id, None, 5_000, 1_000, &sender)
            .await;
        // The channel ends when its last sender goes.
        drop(sender);
        read
    };
    let chunks = async move {
        use futures::StreamExt as _;
        receiver.collect::<Vec<_>>().await
    };
    let (next, chunks) = tokio::join!(read, chunks);
    faults.cut_body_every = None;
    simulator.set_faults(faults);

    assert_eq!(next.unwrap(), whole.next_locator);
    assert_eq!(
        client.retries(),
        retries + 1,
        "the cut page is read again once"
    );
    assert_eq!(simulator.counters()["bulk_results"] - results_before, 2);
    let sizes: Vec<usize> = chunks.iter().map(Vec::len).collect();
    assert_eq!(sizes, vec![1_000; 5], "chunks of 1,000, none repeated");
    let streamed: Vec<_> = chunks.into_iter().flatten().collect();
    assert_eq!(
        streamed, whole.records,
        "the same rows, in order, each once"
    );
    simulator.shutdown().await;
}
