//! The AWS adapters against an AWS emulator (moto in server mode), started by the test command
//! (`scripts/test`), which exports `FERRY_TEST_AWS_ENDPOINT`. Run alone with plain
//! `cargo test`, these tests say they were not run; under the test command
//! (`FERRY_REQUIRE_AWS_EMULATOR=1`) a missing emulator fails them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use ferry_aws::{AwsClients, DynamoIdMap, DynamoRunStore, S3Staging};
use ferry_core::ids::{DestinationId, RunId, SalesforceId, TenantId};
use ferry_core::mapping::EntityKind;
use ferry_core::plan::Plan;
use ferry_core::ports::{DeferredLink, IdMap, IdMapEntry, RunStore, Staging};
use ferry_core::report::{ChunkResult, ObjectExtraction};
use std::sync::atomic::{AtomicU32, Ordering};

static NEXT: AtomicU32 = AtomicU32::new(0);

async fn clients() -> Option<AwsClients> {
    let Ok(endpoint) = std::env::var("FERRY_TEST_AWS_ENDPOINT") else {
        assert!(
            std::env::var("FERRY_REQUIRE_AWS_EMULATOR").is_err(),
            "FERRY_REQUIRE_AWS_EMULATOR is set but FERRY_TEST_AWS_ENDPOINT is not"
        );
        eprintln!(
            "not run: FERRY_TEST_AWS_ENDPOINT is not set (scripts/test starts moto and sets it)"
        );
        return None;
    };
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .load()
        .await;
    Some(AwsClients::from_sdk_config(&config))
}

/// A fresh table and bucket per test, so tests can share one emulator.
async fn fresh(clients: &AwsClients) -> (String, String) {
    let suffix = format!(
        "{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    );
    let table = format!("ferry-{suffix}");
    let key = |name: &str, key_type| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(key_type)
            .build()
            .unwrap()
    };
    let attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .unwrap()
    };
    clients
        .dynamodb
        .create_table()
        .table_name(&table)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .attribute_definitions(attribute("pk"))
        .attribute_definitions(attribute("sk"))
        .send()
        .await
        .unwrap();
    let bucket = format!("ferry-staging-{suffix}");
    clients
        .s3
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    (table, bucket)
}

fn account_id(index: u32) -> SalesforceId {
    SalesforceId::parse(&format!("001Dn{index:010}")).unwrap()
}

#[tokio::test]
async fn id_map_round_trips_in_batches_and_keeps_the_creating_run() {
    let Some(clients) = clients().await else {
        return;
    };
    let (table, _) = fresh(&clients).await;
    let id_map = DynamoIdMap::new(clients.dynamodb.clone(), &table);
    let tenant = TenantId::new("acme");
    let entries = |run: &str| -> Vec<IdMapEntry> {
        (0..250)
            .map(|index| IdMapEntry {
                object: "Account".to_owned(),
                salesforce_id: account_id(index),
                destination_id: DestinationId::new(format!("company-{index}")),
                run_id: RunId::new(run),
                content_hash: format!("hash-{index}"),
            })
            .collect()
    };
    id_map.record(&tenant, &entries("run-1")).await.unwrap();
    id_map.record(&tenant, &entries("run-2")).await.unwrap();

    // More keys than one BatchGetItem takes, ten of them unknown.
    let wanted: Vec<SalesforceId> = (0..260).map(account_id).collect();
    let found = id_map.lookup(&tenant, "Account", &wanted).await.unwrap();
    assert_eq!(found.len(), 250);
    assert_eq!(found[&account_id(249)], DestinationId::new("company-249"));
    assert!(!found.contains_key(&account_id(255)));
    // Other tenants and objects see nothing.
    assert!(
        id_map
            .lookup(&TenantId::new("other"), "Account", &wanted)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        id_map
            .lookup(&tenant, "Contact", &wanted)
            .await
            .unwrap()
            .is_empty()
    );

    let item = clients
        .dynamodb
        .get_item()
        .table_name(&table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!(
                "acme#ID#Account#{}",
                account_id(7)
            )),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S("ID".to_owned()),
        )
        .send()
        .await
        .unwrap();
    let item = item.item().unwrap();
    assert_eq!(item["created_by_run"].as_s().unwrap(), "run-1");
    assert_eq!(item["last_run"].as_s().unwrap(), "run-2");
}

#[tokio::test]
async fn run_store_keeps_one_result_per_chunk_and_reads_a_run_back() {
    let Some(clients) = clients().await else {
        return;
    };
    let (table, _) = fresh(&clients).await;
    let runs = DynamoRunStore::new(clients.dynamodb.clone(), &table);
    let run = RunId::new("run-1");
    let plan = Plan {
        tenant: TenantId::new("acme"),
        objects: vec![],
        notes: vec![],
        validation: Default::default(),
        default_owner: None,
    };
    runs.save_plan(&run, &plan).await.unwrap();
    assert_eq!(runs.load_plan(&run).await.unwrap(), plan);
    assert!(runs.load_plan(&RunId::new("run-unknown")).await.is_err());

    let chunk = |created| ChunkResult {
        object: "Account".to_owned(),
        chunk: 3,
        records: 2,
        created,
        updated: 2 - created,
        skipped: 0,
        failed: 0,
        deferred_links: 0,
        issues: vec![],
    };
    runs.record_chunk(&run, &chunk(2)).await.unwrap();
    runs.record_chunk(&run, &chunk(0)).await.unwrap();
    runs.record_extraction(
        &run,
        &ObjectExtraction {
            object: "Account".to_owned(),
            extracted: 2,
            chunks: 1,
            api: Some("bulk".to_owned()),
            fallback: None,
        },
    )
    .await
    .unwrap();
    let links: Vec<DeferredLink> = (0..30)
        .map(|index| DeferredLink {
            object: "Account".to_owned(),
            entity: EntityKind::Company,
            record: DestinationId::new(index.to_string()),
            salesforce_id: account_id(index),
            source_field: "ParentId".to_owned(),
            link: "parent_company".to_owned(),
            target_object: "Account".to_owned(),
            target: account_id(index + 1),
        })
        .collect();
    runs.defer_links(&run, &links).await.unwrap();
    assert_eq!(runs.deferred_links(&run).await.unwrap(), links);

    let records = runs.run_records(&run).await.unwrap();
    assert_eq!(records.chunks, vec![chunk(0)]);
    assert_eq!(records.extractions.len(), 1);
    assert_eq!(records.extractions[0].api.as_deref(), Some("bulk"));
    assert!(records.link_resolutions.is_empty());
}

#[tokio::test]
async fn s3_staging_round_trips_and_a_missing_key_is_an_error() {
    let Some(clients) = clients().await else {
        return;
    };
    let (_, bucket) = fresh(&clients).await;
    let staging = S3Staging::new(clients.s3.clone(), &bucket);
    let body = "{\"Id\":\"001Dn0000000001\",\"Name\":\"Müller, \\\"Söhne\\\"\"}\n"
        .as_bytes()
        .to_vec();
    staging
        .put("acme/run-1/chunks/Account/000000.jsonl", body.clone())
        .await
        .unwrap();
    assert_eq!(
        staging
            .get("acme/run-1/chunks/Account/000000.jsonl")
            .await
            .unwrap(),
        body
    );
    let missing = staging
        .get("acme/run-1/chunks/Account/000001.jsonl")
        .await
        .unwrap_err();
    assert!(!missing.is_retryable(), "{}", missing.chain());
}
