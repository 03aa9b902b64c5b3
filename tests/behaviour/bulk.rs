//! Extraction through Bulk API 2.0 against the simulated org: the same records as REST,
//! slow and failing jobs, and objects Bulk rejects falling back to REST.

use ferry_core::steps::{
    DiscoverOptions, ExtractConfig, ExtractMethod, WaitReason, discover, extract_object,
    start_state,
};
use ferry_embedded::TokioSleeper;
use ferry_model::ids::{RunId, TenantId};
use ferry_model::mapping::FieldMap;
use ferry_model::model::SourceRecord;
use ferry_model::plan::Plan;
use ferry_salesforce::SalesforceClient;
use ferry_simulator::RunningSimulator;
use ferry_tests::{Embedded, connect, run_steps, start_org};
use std::collections::BTreeMap;
use std::time::Duration;

async fn plan_of(client: &SalesforceClient) -> Plan {
    discover(
        client,
        TenantId::new("acme"),
        &FieldMap::builtin(),
        &DiscoverOptions::default(),
    )
    .await
    .unwrap()
    .plan
}

fn bulk_config() -> ExtractConfig {
    ExtractConfig {
        chunk_records: 300,
        bulk_page_records: 700,
        bulk_threshold: 0,
        bulk_poll_initial: Duration::from_millis(20),
        bulk_poll_max: Duration::from_millis(100),
        ..ExtractConfig::default()
    }
}

/// Extracts `object` and returns its staged records by id, with datetimes normalised to
/// UTC (Bulk CSV and REST JSON spell the same instant differently).
async fn extract(
    client: &SalesforceClient,
    plan: &Plan,
    object: &str,
    config: ExtractConfig,
) -> (
    ferry_model::report::ObjectExtraction,
    BTreeMap<String, SourceRecord>,
) {
    let dir = tempfile::tempdir().unwrap();
    let embedded = Embedded::open(dir.path());
    let ports = embedded.extract_ports(client);
    let extraction = extract_object(
        &ports,
        &TokioSleeper,
        &ferry_model::ports::NoProgress,
        &RunId::new("run-bulk"),
        plan,
        plan.object(object).unwrap(),
        config,
    )
    .await
    .unwrap();
    let mut records = BTreeMap::new();
    for mut record in embedded.drain_staged().await {
        for value in record.values_mut() {
            if let Some(text) = value.as_str()
                && let Ok(utc) = ferry_core::transform::salesforce_datetime_to_utc(text)
            {
                *value = utc.into();
            }
        }
        let id = record["Id"].as_str().unwrap().to_owned();
        assert!(
            records.insert(id, record).is_none(),
            "a record staged twice"
        );
    }
    (extraction, records)
}

#[tokio::test]
async fn bulk_extraction_stages_exactly_what_rest_does() {
    let simulator = start_org(2_000, 21).await;
    let client = connect(&simulator).await;
    let plan = plan_of(&client).await;
    for object in ["Account", "Contact"] {
        let rest_config = ExtractConfig {
            bulk_threshold: u64::MAX,
            ..bulk_config()
        };
        let (rest, rest_records) = extract(&client, &plan, object, rest_config).await;
        let before = simulator.counters();
        let (bulk, bulk_records) = extract(&client, &plan, object, bulk_config()).await;
        let after = simulator.counters();
        assert_eq!(
            rest.extracted,
            simulator.record_counts()[object],
            "{object}"
        );
        assert_eq!(bulk.extracted, rest.extracted, "{object}");
        assert_eq!(bulk_records.len() as u64, bulk.extracted);
        for (id, rest_record) in &rest_records {
            assert_eq!(bulk_records.get(id), Some(rest_record), "{object} {id}");
        }
        assert_eq!(
            after["bulk_create"] - before["bulk_create"],
            1,
            "{object}: one job"
        );
        // Pages of 700 rows, each staged as chunks of at most 300 as it streams in.
        let pages = bulk.extracted.div_ceil(700);
        assert_eq!(
            after["bulk_results"] - before["bulk_results"],
            pages,
            "{object}: one call per page"
        );
        let full_pages = bulk.extracted / 700;
        let last_page = bulk.extracted % 700;
        assert_eq!(
            u64::from(bulk.chunks),
            full_pages * 3 + last_page.div_ceil(300),
            "{object}: chunks cut from each page"
        );
        assert_eq!(after["query"], before["query"], "{object}: no REST query");
    }
    simulator.shutdown().await;
}

#[tokio::test]
async fn a_slow_job_is_polled_with_backoff_until_it_completes() {
    let simulator = start_org(1_000, 22).await;
    let client = connect(&simulator).await;
    let plan = plan_of(&client).await;
    simulator.set_faults(ferry_simulator::faults::Faults {
        bulk_rows_per_second: 400,
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let embedded = Embedded::open(dir.path());
    let config = bulk_config();
    let state = start_state(plan.object("Contact").unwrap(), &config);
    assert_eq!(state.method, ExtractMethod::Bulk);
    let ports = embedded.extract_ports(&client);
    let steps = run_steps(
        &ports,
        &RunId::new("run-slow"),
        &plan,
        "Contact",
        &config,
        state,
    )
    .await
    .unwrap();
    let done = steps.done;
    let waits: Vec<Duration> = steps
        .waits
        .iter()
        .map(|(delay, reason)| {
            assert!(
                matches!(reason, WaitReason::BulkJobRunning { .. }),
                "{reason:?}"
            );
            *delay
        })
        .collect();
    assert_eq!(done.extracted, simulator.record_counts()["Contact"]);
    assert!(
        !waits.is_empty(),
        "the job ran for seconds; the step must have waited"
    );
    assert!(
        waits.windows(2).all(|w| w[0] <= w[1]),
        "delays never shrink: {waits:?}"
    );
    assert!(waits.iter().all(|d| *d <= config.bulk_poll_max));
    simulator.shutdown().await;
}

#[tokio::test]
async fn objects_bulk_rejects_or_fails_fall_back_to_rest_with_the_reason() {
    let simulator = start_org(800, 23).await;
    let client = connect(&simulator).await;
    let mut plan = plan_of(&client).await;

    // A compound address field: Bulk API 2.0 refuses the query; REST serves it.
    let account = plan
        .objects
        .iter_mut()
        .find(|o| o.object == "Account")
        .unwrap();
    account.select.push("BillingAddress".to_owned());
    let reason = fallback_reason(&simulator, &plan, "Account").await;
    assert!(reason.contains("compound"), "{reason}");

    // A job that fails in Salesforce: the object is read through REST instead.
    simulator.set_faults(ferry_simulator::faults::Faults {
        bulk_fail_every: Some(1),
        ..Default::default()
    });
    let reason = fallback_reason(&simulator, &plan, "Contact").await;
    assert!(reason.contains("InternalServerError"), "{reason}");
    simulator.shutdown().await;
}

/// Extracts `object` with Bulk preferred and returns why it fell back to REST, checking
/// that every record still arrived once.
async fn fallback_reason(simulator: &RunningSimulator, plan: &Plan, object: &str) -> String {
    let client = connect(simulator).await;
    let dir = tempfile::tempdir().unwrap();
    let embedded = Embedded::open(dir.path());
    let config = bulk_config();
    let state = start_state(plan.object(object).unwrap(), &config);
    let ports = embedded.extract_ports(&client);
    let steps = run_steps(
        &ports,
        &RunId::new("run-fallback"),
        plan,
        object,
        &config,
        state,
    )
    .await
    .unwrap();
    let reason = steps
        .states
        .iter()
        .find(|state| state.method == ExtractMethod::Rest)
        .and_then(|state| state.fallback.clone());
    let done = steps.done;
    assert_eq!(
        done.extracted,
        simulator.record_counts()[object],
        "{object}"
    );
    let staged = embedded.drain_staged().await;
    assert_eq!(staged.len() as u64, done.extracted, "{object}");
    reason.unwrap_or_default()
}

#[tokio::test]
async fn chunks_of_wide_records_are_cut_by_size_and_every_record_is_staged_once() {
    let simulator = start_org(2_000, 25).await;
    let client = connect(&simulator).await;
    let plan = plan_of(&client).await;
    let narrow = bulk_config();
    let (by_count, by_count_records) = extract(&client, &plan, "Contact", narrow).await;
    let capped = ExtractConfig {
        chunk_bytes: 20_000,
        ..bulk_config()
    };
    let dir = tempfile::tempdir().unwrap();
    let embedded = Embedded::open(dir.path());
    let ports = embedded.extract_ports(&client);
    let extraction = extract_object(
        &ports,
        &TokioSleeper,
        &ferry_model::ports::NoProgress,
        &RunId::new("run-capped"),
        &plan,
        plan.object("Contact").unwrap(),
        capped,
    )
    .await
    .unwrap();
    assert_eq!(extraction.extracted, by_count.extracted);
    assert!(
        extraction.chunks > by_count.chunks * 2,
        "{} chunks of at most 20 kB against {} of 300 records",
        extraction.chunks,
        by_count.chunks
    );
    // Every chunk stops at the first record that takes it to 20 kB or more.
    use ferry_model::ports::LocalQueue as _;
    use ferry_model::ports::Staging as _;
    let mut ids = Vec::new();
    while let Some(message) = embedded.queue.receive().await.unwrap() {
        let body = embedded.staging.get(&message.key).await.unwrap();
        let lines: Vec<&[u8]> = body
            .split(|byte| *byte == b'\n')
            .filter(|line| !line.is_empty())
            .collect();
        assert_eq!(lines.len() as u64, message.records);
        let without_last = body.len() - lines.last().unwrap().len() - 1;
        assert!(
            without_last < 20_000,
            "{}: {} bytes",
            message.key,
            body.len()
        );
        for line in lines {
            let record: SourceRecord = serde_json::from_slice(line).unwrap();
            ids.push(record["Id"].as_str().unwrap().to_owned());
        }
    }
    ids.sort();
    let expected: Vec<String> = by_count_records.keys().cloned().collect();
    assert_eq!(ids, expected, "every record once");
    simulator.shutdown().await;
}
