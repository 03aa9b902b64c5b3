//! The embedded adapters' hot paths: a batch of 2,000 ID-map lookups, and a batch write of
//! 2,000 contacts into the SQLite destination (one load step's chunk).

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use ferry_embedded::{SqliteDestination, SqliteStore};
use ferry_model::ids::{DestinationId, RunId, SalesforceId, TenantId};
use ferry_model::mapping::EntityKind;
use ferry_model::ports::{Destination, IdMap, IdMapEntry};
use ferry_model::records::DestinationRecord;
use serde_json::Value;
use std::collections::BTreeMap;
use std::hint::black_box;

const BATCH: usize = 2_000;

fn salesforce_id(prefix: &str, n: usize) -> SalesforceId {
    match SalesforceId::parse(&format!("{prefix}{n:012}")) {
        Ok(id) => id,
        Err(error) => panic!("{error}"),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => panic!("{error}"),
    }
}

fn id_map_lookups(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
    let store = SqliteStore::open(&dir.path().join("ferry.db")).unwrap_or_else(|e| panic!("{e}"));
    let tenant = TenantId::new("bench");
    let run = RunId::new("run-bench");
    let rt = runtime();
    // An ID map of 50 batches (100,000 entries), of which one batch is looked up.
    for batch in 0..50 {
        let entries: Vec<IdMapEntry> = (0..BATCH)
            .map(|i| {
                let n = batch * BATCH + i;
                IdMapEntry {
                    object: "Account".to_owned(),
                    salesforce_id: salesforce_id("001", n),
                    destination_id: DestinationId::new(format!("company-{n}")),
                    run_id: run.clone(),
                    content_hash: format!("{n:064x}"),
                }
            })
            .collect();
        rt.block_on(store.record(&tenant, &entries))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let ids: Vec<SalesforceId> = (0..BATCH).map(|i| salesforce_id("001", i * 50)).collect();
    let mut group = c.benchmark_group("id_map");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("lookup_2000_of_100k", |b| {
        b.iter(|| {
            let found = rt
                .block_on(store.lookup(&tenant, "Account", black_box(&ids)))
                .map(|found| found.len())
                .unwrap_or(0);
            black_box(found)
        });
    });
    group.finish();
}

fn contact(n: usize) -> DestinationRecord {
    let fields = BTreeMap::from([
        ("first_name".to_owned(), Value::from(format!("Ada{n}"))),
        ("last_name".to_owned(), Value::from("Lovelace")),
        (
            "email".to_owned(),
            Value::from(format!("ada{n}@example.com")),
        ),
        ("phone".to_owned(), Value::from("+44 20 7946 0000")),
        ("job_title".to_owned(), Value::from("Chief Analyst")),
        ("created_at".to_owned(), Value::from("2024-03-01T10:00:00Z")),
        ("updated_at".to_owned(), Value::from("2024-06-01T10:00:00Z")),
    ]);
    DestinationRecord {
        source_object: "Contact".to_owned(),
        source_id: salesforce_id("003", n),
        fields,
        links: BTreeMap::new(),
        custom_fields: BTreeMap::new(),
    }
}

fn destination_batch_write(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
    let destination = SqliteDestination::open(&dir.path().join("destination.db"))
        .unwrap_or_else(|e| panic!("{e}"));
    let tenant = TenantId::new("bench");
    let rt = runtime();
    let mut next = 0usize;
    let mut group = c.benchmark_group("sqlite_destination");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.sample_size(20);
    group.bench_function("upsert_2000_new_contacts", |b| {
        b.iter_batched(
            || {
                let batch: Vec<DestinationRecord> = (next..next + BATCH).map(contact).collect();
                next += BATCH;
                batch
            },
            |batch| {
                let outcomes = rt
                    .block_on(destination.upsert(&tenant, EntityKind::Contact, &batch))
                    .map(|outcomes| outcomes.len())
                    .unwrap_or(0);
                black_box(outcomes)
            },
            BatchSize::LargeInput,
        );
    });
    group.finish();
}

criterion_group!(benches, id_map_lookups, destination_batch_write);
criterion_main!(benches);
