//! Parsing one Bulk API 2.0 result page: 2,000 contact-like rows of CSV into records.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

const ROWS: usize = 2_000;

fn page() -> Vec<u8> {
    let mut csv = String::from(
        "\"Id\",\"FirstName\",\"LastName\",\"Email\",\"Phone\",\"Title\",\"AccountId\",\"OwnerId\",\"MailingCity\",\"Description\",\"CreatedDate\",\"LastModifiedDate\",\"IsDeleted\",\"Score__c\"\n",
    );
    for row in 0..ROWS {
        csv.push_str(&format!(
            "\"003000000{row:06}AAA\",\"Ada{row}\",\"Lovelace\",\"ada{row}@example.com\",\"+1 555 {row:04}\",\"Chief \"\"Analyst\"\"\",\"001000000{:06}AAA\",\"005000000000001AAA\",\"London\",\"A note, with a comma\nand a second line\",\"2024-03-01T10:00:00.000Z\",\"2024-06-01T10:00:00.000Z\",\"false\",\"{}.5\"\n",
            row / 3,
            row % 100
        ));
    }
    csv.into_bytes()
}

fn parse_page(c: &mut Criterion) {
    let csv = page();
    let mut group = c.benchmark_group("bulk");
    group.throughput(Throughput::Elements(ROWS as u64));
    group.bench_function("parse_csv_page_2000_rows", |b| {
        b.iter(|| {
            let records = ferry_salesforce::parse_csv_page("750bench", black_box(&csv));
            black_box(records.map(|records| records.len()).unwrap_or(0))
        });
    });
    group.finish();
}

criterion_group!(benches, parse_page);
criterion_main!(benches);
