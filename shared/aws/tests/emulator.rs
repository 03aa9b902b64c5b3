//! The AWS adapters against an AWS emulator (moto in server mode), started by the test command
//! (`scripts/test`), which exports `FERRY_TEST_AWS_ENDPOINT`. Run alone with plain
//! `cargo test`, these tests say they were not run; under the test command
//! (`FERRY_REQUIRE_AWS_EMULATOR=1`) a missing emulator fails them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use ferry_aws::{AwsClients, DynamoIdMap, DynamoRunStore, S3Staging};
use ferry_model::ids::{DestinationId, RunId, SalesforceId, TenantId};
use ferry_model::mapping::EntityKind;
use ferry_model::plan::Plan;
use ferry_model::ports::{DeferredLink, IdMap, IdMapEntry, RunStore, Staging};
use ferry_model::report::{ChunkResult, ObjectExtraction};
use ferry_model::runs::{
    JournalAction, JournalEntry, PendingDeletion, RollbackObject, RunKind, RunStatus, RunSummary,
    StoredIdMapEntry,
};

mod common;

use common::clients;

/// A fresh table and bucket per test, so tests can share one emulator.
async fn fresh(clients: &AwsClients) -> (String, String) {
    (
        common::table(clients, "ferry").await,
        common::bucket(clients, "ferry-staging").await,
    )
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
        merge_leads_by_email: false,
        delta: false,
        queue_owners: Default::default(),
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
        unchanged: 0,
        deleted_in_salesforce: 0,
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
            high_water_mark: None,
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
async fn id_map_entries_are_read_removed_and_restored_with_their_runs() {
    let Some(clients) = clients().await else {
        return;
    };
    let (table, _) = fresh(&clients).await;
    let id_map = DynamoIdMap::new(clients.dynamodb.clone(), &table);
    let tenant = TenantId::new("acme");
    let entry = |index: u32, run: &str| IdMapEntry {
        object: "Account".to_owned(),
        salesforce_id: account_id(index),
        destination_id: DestinationId::new(format!("company-{index}")),
        run_id: RunId::new(run),
        content_hash: format!("hash-{index}-{run}"),
    };
    id_map
        .record(&tenant, &[entry(1, "run-1"), entry(2, "run-1")])
        .await
        .unwrap();
    id_map.record(&tenant, &[entry(2, "run-2")]).await.unwrap();
    let ids = [account_id(1), account_id(2), account_id(3)];
    let found = id_map.entries(&tenant, "Account", &ids).await.unwrap();
    assert_eq!(found.len(), 2);
    let second = found[&account_id(2)].clone();
    assert_eq!(second.created_by_run, RunId::new("run-1"));
    assert_eq!(second.last_run, RunId::new("run-2"));
    assert_eq!(second.content_hash, "hash-2-run-2");

    // A rollback of run-2 puts the entry back as run-1 left it, and removes run-2's own.
    let restored = StoredIdMapEntry {
        last_run: RunId::new("run-1"),
        content_hash: "hash-2-run-1".to_owned(),
        ..second
    };
    id_map
        .restore(&tenant, std::slice::from_ref(&restored))
        .await
        .unwrap();
    id_map
        .remove(&tenant, "Account", &[account_id(1), account_id(9)])
        .await
        .unwrap();
    let found = id_map.entries(&tenant, "Account", &ids).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[&account_id(2)], restored);
}

#[tokio::test]
async fn run_history_journal_and_outcomes_round_trip() {
    let Some(clients) = clients().await else {
        return;
    };
    let (table, _) = fresh(&clients).await;
    let runs = DynamoRunStore::new(clients.dynamodb.clone(), &table);
    let tenant = TenantId::new("acme");
    let summary = |run: &str, sequence, status| {
        ferry_model::run_store::sample_summary(&tenant, run, sequence, status)
    };
    runs.save_run(&summary("run-b", 2, RunStatus::Running))
        .await
        .unwrap();
    runs.save_run(&summary("run-a", 1, RunStatus::Succeeded))
        .await
        .unwrap();
    runs.save_run(&summary("run-b", 2, RunStatus::Failed))
        .await
        .unwrap();
    let listed = runs.list_runs(&tenant).await.unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|run| (run.run_id.as_str(), run.status))
            .collect::<Vec<_>>(),
        vec![
            ("run-a", RunStatus::Succeeded),
            ("run-b", RunStatus::Failed)
        ]
    );
    assert_eq!(
        runs.run_summary(&RunId::new("run-b")).await.unwrap(),
        Some(summary("run-b", 2, RunStatus::Failed))
    );
    assert!(
        runs.list_runs(&TenantId::new("other"))
            .await
            .unwrap()
            .is_empty()
    );

    // The first journal entry of a record wins.
    let run = RunId::new("run-b");
    let journal = |action| JournalEntry {
        object: "Account".to_owned(),
        entity: EntityKind::Company,
        salesforce_id: account_id(1),
        action,
        previous_entry: None,
        previous_record: None,
    };
    runs.journal(&run, &[journal(JournalAction::Created)])
        .await
        .unwrap();
    runs.journal(&run, &[journal(JournalAction::Updated)])
        .await
        .unwrap();
    assert_eq!(
        runs.journal_entries(&run, "Account", None, 10)
            .await
            .unwrap(),
        vec![journal(JournalAction::Created)]
    );
    assert!(
        runs.journal_entries(&run, "Acc", None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // Paged: entries after a given id, a page at a time, and an empty page at the end.
    let more: Vec<JournalEntry> = (2..7)
        .map(|index| JournalEntry {
            salesforce_id: account_id(index),
            ..journal(JournalAction::Created)
        })
        .collect();
    runs.journal(&run, &more).await.unwrap();
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = runs
            .journal_entries(&run, "Account", after.as_ref(), 2)
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.salesforce_id.clone());
        seen.extend(page.into_iter().map(|entry| entry.salesforce_id));
    }
    assert_eq!(seen, (1..7).map(account_id).collect::<Vec<_>>());

    let deletion = PendingDeletion {
        object: "Account".to_owned(),
        entity: EntityKind::Company,
        salesforce_id: account_id(4),
        destination_id: DestinationId::new("4"),
    };
    runs.defer_deletions(&run, std::slice::from_ref(&deletion))
        .await
        .unwrap();
    assert_eq!(
        runs.pending_deletions(&run, "Account").await.unwrap(),
        vec![deletion]
    );
    let rollback = RollbackObject {
        object: "Account".to_owned(),
        deleted: 3,
        ..RollbackObject::default()
    };
    runs.record_rollback(&run, &rollback).await.unwrap();
    assert_eq!(runs.rollback_results(&run).await.unwrap(), vec![rollback]);
}

/// The load step's journal and a rollback on the DynamoDB adapters: a first run creates,
/// a second run skips the unchanged records and updates the changed one, and rolling both
/// back leaves the destination and the ID map empty again.
#[tokio::test]
async fn loads_journal_on_dynamodb_and_rollbacks_undo_them() {
    use ferry_core::steps::{LoadPorts, RollbackPorts, load_chunk, rollback_run};
    use ferry_model::model::FieldType;
    use ferry_model::plan::{FieldMapping, ObjectPlan};
    use ferry_model::ports::NoProgress;
    use ferry_model::ports::{ChunkMessage, Destination as _};

    let Some(clients) = clients().await else {
        return;
    };
    let (table, bucket) = fresh(&clients).await;
    let id_map = DynamoIdMap::new(clients.dynamodb.clone(), &table);
    let runs = DynamoRunStore::new(clients.dynamodb.clone(), &table);
    let staging = S3Staging::new(clients.s3.clone(), &bucket);
    let dir = tempfile::tempdir().unwrap();
    let destination =
        ferry_embedded::SqliteDestination::open(&dir.path().join("destination.db")).unwrap();
    let tenant = TenantId::new("acme");
    let plan = Plan {
        tenant: tenant.clone(),
        objects: vec![ObjectPlan {
            object: "Contact".to_owned(),
            entity: EntityKind::Contact,
            phase: 0,
            in_salesforce: 3,
            estimated: None,
            soft_deletes: false,
            select: vec![],
            fields: vec![FieldMapping {
                source: "LastName".to_owned(),
                target: "last_name".to_owned(),
                source_type: FieldType::String,
                components: Vec::new(),
            }],
            links: vec![],
            custom_fields: vec![],
            values: Default::default(),
            replaced_by: None,
            blob: None,
            source_object: None,
            filter: None,
            queue_to_default_owner: false,
            queue_objects: Default::default(),
            skipped_when: None,
            read_by_parent: None,
            stands_for: None,
        }],
        notes: vec![],
        validation: Default::default(),
        default_owner: None,
        merge_leads_by_email: false,
        delta: false,
        queue_owners: Default::default(),
    };
    let ports = LoadPorts {
        staging: &staging,
        id_map: &id_map,
        destination: &destination,
        runs: &runs,
    };
    let load = |run: &'static str, names: [&'static str; 3]| {
        let plan = plan.clone();
        let ports = &ports;
        let staging = &staging;
        let runs = &runs;
        async move {
            let run = RunId::new(run);
            runs.save_plan(&run, &plan).await.unwrap();
            let body: Vec<String> = names
                .iter()
                .enumerate()
                .map(|(index, name)| {
                    format!(
                        "{{\"Id\":\"{}\",\"LastName\":\"{name}\"}}",
                        SalesforceId::parse(&format!("003Dn{index:010}")).unwrap()
                    )
                })
                .collect();
            let key = format!("acme/{run}/chunks/Contact/000000.jsonl");
            staging
                .put(&key, body.join("\n").into_bytes())
                .await
                .unwrap();
            load_chunk(
                ports,
                &ChunkMessage {
                    run_id: run,
                    tenant: TenantId::new("acme"),
                    object: "Contact".to_owned(),
                    chunk: 0,
                    key,
                    records: 3,
                },
            )
            .await
            .unwrap()
        }
    };
    let first = load("run-1", ["Roth", "Kay", "Lee"]).await;
    assert_eq!((first.created, first.updated, first.unchanged), (3, 0, 0));
    let second = load("run-2", ["Roth", "Kayser", "Lee"]).await;
    assert_eq!(
        (second.created, second.updated, second.unchanged),
        (0, 1, 2)
    );

    let rollback_ports = RollbackPorts {
        id_map: &id_map,
        destination: &destination,
        runs: &runs,
    };
    let undone = rollback_run(
        &rollback_ports,
        &RunId::new("run-2"),
        &RunId::new("run-2-rollback"),
        &plan,
        &NoProgress,
    )
    .await
    .unwrap();
    assert_eq!((undone[0].restored, undone[0].deleted), (1, 0));
    let ids = [
        SalesforceId::parse("003Dn0000000001").unwrap(),
        SalesforceId::parse("003Dn0000000009").unwrap(),
    ];
    let entries = id_map.entries(&tenant, "Contact", &ids).await.unwrap();
    assert_eq!(entries.len(), 1);
    let kay = &entries[&ids[0]];
    assert_eq!(kay.last_run, RunId::new("run-1"));
    let record = destination
        .get(
            &tenant,
            EntityKind::Contact,
            std::slice::from_ref(&kay.destination_id),
        )
        .await
        .unwrap();
    assert_eq!(
        record[0].as_ref().unwrap().fields["last_name"],
        serde_json::json!("Kay")
    );

    let undone = rollback_run(
        &rollback_ports,
        &RunId::new("run-1"),
        &RunId::new("run-1-rollback"),
        &plan,
        &NoProgress,
    )
    .await
    .unwrap();
    assert_eq!((undone[0].deleted, undone[0].failed), (3, 0));
    assert_eq!(
        destination
            .count(&tenant, EntityKind::Contact)
            .await
            .unwrap(),
        0
    );
    assert!(
        id_map
            .entries(&tenant, "Contact", &ids)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        runs.rollback_results(&RunId::new("run-1-rollback"))
            .await
            .unwrap(),
        undone
    );
}

#[tokio::test]
async fn the_dynamodb_run_store_keeps_the_document_port_contract() {
    let Some(clients) = clients().await else {
        return;
    };
    let (table, _) = fresh(&clients).await;
    let runs = DynamoRunStore::new(clients.dynamodb.clone(), &table);
    if let Err(failure) = ferry_model::run_store::check_document_store(&runs).await {
        panic!("{}", failure.chain());
    }
}

/// Items stay what a support engineer can read in the console, and items written before
/// the run store was a document port (the same layout) read as they did.
#[tokio::test]
async fn run_items_keep_their_readable_layout() {
    use aws_sdk_dynamodb::types::AttributeValue;

    let Some(clients) = clients().await else {
        return;
    };
    let (table, _) = fresh(&clients).await;
    let runs = DynamoRunStore::new(clients.dynamodb.clone(), &table);
    let summary = RunSummary {
        run_id: RunId::new("run-7"),
        tenant: TenantId::new("acme"),
        sequence: 7,
        kind: RunKind::Full,
        status: RunStatus::Succeeded,
        started_at: "2026-01-01T00:00:00Z".to_owned(),
        finished_at: None,
        updated_at: None,
        high_water_marks: Default::default(),
        delta_of: None,
        rolls_back: None,
        rolled_back_by: None,
        error: None,
        api_calls_used: None,
        timings: Default::default(),
    };
    runs.save_run(&summary).await.unwrap();
    let item = |pk: &str, sk: &str| {
        let clients = clients.clone();
        let table = table.clone();
        let (pk, sk) = (pk.to_owned(), sk.to_owned());
        async move {
            clients
                .dynamodb
                .get_item()
                .table_name(&table)
                .key("pk", AttributeValue::S(pk))
                .key("sk", AttributeValue::S(sk))
                .send()
                .await
                .unwrap()
                .item()
                .cloned()
        }
    };
    for (pk, sk) in [
        ("RUN#run-7", "SUMMARY"),
        ("acme#RUNS", "RUN#0000000007#run-7"),
    ] {
        let stored = item(pk, sk).await.unwrap();
        let body: RunSummary = serde_json::from_str(stored["body"].as_s().unwrap()).unwrap();
        assert_eq!(body, summary, "{pk} {sk}");
    }

    // A chunk outcome as an earlier Ferry put it, straight into the table.
    let chunk = ChunkResult {
        object: "Account".to_owned(),
        chunk: 4,
        records: 1,
        created: 1,
        updated: 0,
        skipped: 0,
        failed: 0,
        unchanged: 0,
        deleted_in_salesforce: 0,
        deferred_links: 0,
        issues: vec![],
    };
    let run = RunId::new("run-7");
    runs.save_plan(
        &run,
        &Plan {
            tenant: TenantId::new("acme"),
            objects: vec![],
            notes: vec![],
            validation: Default::default(),
            default_owner: None,
            merge_leads_by_email: false,
            delta: false,
            queue_owners: Default::default(),
        },
    )
    .await
    .unwrap();
    clients
        .dynamodb
        .put_item()
        .table_name(&table)
        .item("pk", AttributeValue::S("RUN#run-7".to_owned()))
        .item("sk", AttributeValue::S("CHUNK#Account#000004".to_owned()))
        .item(
            "body",
            AttributeValue::S(serde_json::to_string(&chunk).unwrap()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(runs.run_records(&run).await.unwrap().chunks, vec![chunk]);
    assert_eq!(
        runs.run_summary(&run)
            .await
            .unwrap()
            .map(|found| found.sequence),
        Some(7)
    );
}

/// Listings page past DynamoDB's 1 MB per answer, with and without a limit.
#[tokio::test]
async fn listings_read_past_one_page_of_a_query() {
    use ferry_model::run_store::{
        Document, DocumentKey, DocumentPrefix, DocumentRange, DocumentStore,
    };

    let Some(clients) = clients().await else {
        return;
    };
    let (table, _) = fresh(&clients).await;
    let runs = DynamoRunStore::new(clients.dynamodb.clone(), &table);
    // 24 documents of 100 KB: 2.4 MB, three answers or more.
    let padding = "x".repeat(100_000);
    let documents: Vec<Document> = (0..24)
        .map(|index| Document {
            key: DocumentKey::new("RUN#big", format!("JOURNAL#Account#{index:03}")),
            body: format!("{{\"padding\":\"{padding}\"}}"),
        })
        .collect();
    runs.put_documents(documents).await.unwrap();
    let prefix = DocumentPrefix::new("RUN#big", "JOURNAL#Account#");
    assert_eq!(
        runs.list_documents(&DocumentRange::all(prefix.clone()))
            .await
            .unwrap()
            .len(),
        24
    );
    let page = runs
        .list_documents(&DocumentRange::page(
            prefix,
            Some("JOURNAL#Account#002".to_owned()),
            20,
        ))
        .await
        .unwrap();
    assert_eq!(page.len(), 20);
    assert_eq!(page[0].key.sort(), "JOURNAL#Account#003");
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
