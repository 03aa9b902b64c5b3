//! Salesforce Files as real orgs have them: a document with several versions, of which only
//! the latest is the file; a document shared to several records (ContentDocumentLink).

use ferry_core::run::RunConfig;
use ferry_core::steps::{DiscoverOptions, FileVersions};
use ferry_model::mapping::FieldMap;
use ferry_tests::{Embedded, TENANT, connect, query_all, start_org};
use std::collections::BTreeSet;

const OBJECTS: [&str; 4] = ["Account", "Contact", "Opportunity", "ContentVersion"];

fn config(embedded: &Embedded, run: &str, file_versions: FileVersions) -> RunConfig {
    let mut config = embedded.config(run, 500);
    config.map = FieldMap::builtin();
    config.concurrency = Default::default();
    config.discover = DiscoverOptions {
        objects: Some(OBJECTS.iter().map(|o| (*o).to_owned()).collect()),
        file_versions,
    };
    config
}

/// The Salesforce ids of the destination's rows of `table` from `object`.
fn landed(embedded: &Embedded, table: &str, object: &str) -> BTreeSet<String> {
    let db = rusqlite::Connection::open(embedded.dir.join("destination.db")).unwrap();
    let mut statement = db
        .prepare(&format!(
            "SELECT source_id FROM {table} WHERE tenant = ?1 AND source_object = ?2"
        ))
        .unwrap();
    statement
        .query_map([TENANT, object], |row| row.get::<_, String>(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_latest_version_of_a_file_lands_by_default_and_every_version_with_the_option() {
    let simulator = start_org(3_000, 41).await;
    let client = connect(&simulator).await;
    let versions = query_all(
        &client,
        "SELECT Id, IsLatest, ContentDocumentId FROM ContentVersion",
    )
    .await;
    let latest: BTreeSet<String> = versions
        .iter()
        .filter(|v| v["IsLatest"] == serde_json::json!(true))
        .map(|v| v["Id"].as_str().unwrap().to_owned())
        .collect();
    let superseded: BTreeSet<String> = versions
        .iter()
        .filter(|v| v["IsLatest"] == serde_json::json!(false))
        .map(|v| v["Id"].as_str().unwrap().to_owned())
        .collect();
    assert!(!superseded.is_empty(), "the org has superseded versions");
    let documents: BTreeSet<&str> = versions
        .iter()
        .map(|v| v["ContentDocumentId"].as_str().unwrap())
        .collect();
    assert_eq!(
        latest.len(),
        documents.len(),
        "one latest version per document"
    );

    let dir = tempfile::tempdir().unwrap();
    let embedded = Embedded::open(dir.path());
    let report = embedded
        .migrate_with(
            &client,
            &config(&embedded, "run-latest", FileVersions::Latest),
        )
        .await
        .unwrap()
        .report;
    assert!(report.is_balanced(), "{report:?}");
    assert!(
        report.is_complete(),
        "{:?}",
        report.salesforce_differences()
    );
    let counts = report.object("ContentVersion").unwrap();
    assert_eq!(counts.in_salesforce, versions.len() as u64);
    assert_eq!(counts.skipped, superseded.len() as u64);
    let files = landed(&embedded, "files", "ContentVersion");
    assert_eq!(files, latest, "exactly the latest versions land");
    let skipped: BTreeSet<String> = report
        .issues
        .iter()
        .filter(|issue| issue.object == "ContentVersion" && issue.reason.contains("superseded"))
        .filter_map(|issue| issue.salesforce_id.clone())
        .collect();
    assert_eq!(skipped, superseded, "each superseded version is reported");

    let dir = tempfile::tempdir().unwrap();
    let embedded = Embedded::open(dir.path());
    let report = embedded
        .migrate_with(&client, &config(&embedded, "run-all", FileVersions::All))
        .await
        .unwrap()
        .report;
    assert!(report.is_balanced(), "{report:?}");
    assert!(
        report.is_complete(),
        "{:?}",
        report.salesforce_differences()
    );
    let files = landed(&embedded, "files", "ContentVersion");
    let all: BTreeSet<String> = latest.union(&superseded).cloned().collect();
    assert_eq!(files, all, "every version lands with --file-versions all");
    simulator.shutdown().await;
}
