//! The SQLite run store: the document port's contract, the typed run store on it, and files
//! of an older Ferry (a table per kind of record) moved to the document table when opened.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use ferry_embedded::{EmbeddedError, SqliteStore};
use ferry_model::ids::{DestinationId, RunId, SalesforceId, TenantId};
use ferry_model::mapping::EntityKind;
use ferry_model::plan::Plan;
use ferry_model::ports::{DeferredLink, IdMap, RunStore};
use ferry_model::report::{ChunkResult, ObjectExtraction};
use ferry_model::run_store::check_document_store;
use ferry_model::run_store::sample_summary;
use ferry_model::runs::{
    JournalAction, JournalEntry, PendingDeletion, RollbackObject, RunStatus, RunSummary,
};
use rusqlite::Connection;
use std::path::Path;

fn account_id(index: u32) -> SalesforceId {
    SalesforceId::parse(&format!("001Dn{index:010}")).unwrap()
}

fn plan() -> Plan {
    Plan {
        tenant: TenantId::new("acme"),
        objects: vec![],
        notes: vec![],
        validation: Default::default(),
        default_owner: None,
        merge_leads_by_email: false,
        delta: false,
        queue_owners: Default::default(),
    }
}

fn summary(run: &str, sequence: u64, status: RunStatus) -> RunSummary {
    sample_summary(&TenantId::new("acme"), run, sequence, status)
}

fn chunk(object: &str, chunk: u32, created: u64) -> ChunkResult {
    ChunkResult {
        object: object.to_owned(),
        chunk,
        records: created,
        created,
        updated: 0,
        skipped: 0,
        failed: 0,
        unchanged: 0,
        deleted_in_salesforce: 0,
        deferred_links: 0,
        issues: vec![],
    }
}

fn journal_entry(index: u32, action: JournalAction) -> JournalEntry {
    JournalEntry {
        object: "Account".to_owned(),
        entity: EntityKind::Company,
        salesforce_id: account_id(index),
        action,
        previous_entry: None,
        previous_record: None,
    }
}

fn link(index: u32) -> DeferredLink {
    DeferredLink {
        object: "Account".to_owned(),
        entity: EntityKind::Company,
        record: DestinationId::new(index.to_string()),
        salesforce_id: account_id(index),
        source_field: "ParentId".to_owned(),
        link: "parent_company".to_owned(),
        target_object: "Account".to_owned(),
        target: account_id(index + 1),
    }
}

fn deletion(index: u32) -> PendingDeletion {
    PendingDeletion {
        object: "Account".to_owned(),
        entity: EntityKind::Company,
        salesforce_id: account_id(index),
        destination_id: DestinationId::new(index.to_string()),
    }
}

fn tables(path: &Path) -> Vec<String> {
    let connection = Connection::open(path).unwrap();
    let mut statement = connection
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap();
    statement
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn user_version(path: &Path) -> i64 {
    Connection::open(path)
        .unwrap()
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .unwrap()
}

#[tokio::test]
async fn the_sqlite_store_keeps_the_document_port_contract() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("ferry.db")).unwrap();
    if let Err(failure) = check_document_store(&store).await {
        panic!("{}", failure.chain());
    }
}

#[tokio::test]
async fn a_new_file_has_the_document_table_and_keeps_runs_across_opens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ferry.db");
    let run = RunId::new("run-1");
    {
        let store = SqliteStore::open(&path).unwrap();
        store.save_plan(&run, &plan()).await.unwrap();
        store
            .save_run(&summary("run-1", 1, RunStatus::Running))
            .await
            .unwrap();
        store
            .journal(&run, &[journal_entry(1, JournalAction::Created)])
            .await
            .unwrap();
    }
    assert_eq!(tables(&path), vec!["id_map", "run_documents"]);
    assert_eq!(user_version(&path), 1);
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.load_plan(&run).await.unwrap(), plan());
    assert_eq!(
        store.list_runs(&TenantId::new("acme")).await.unwrap(),
        vec![summary("run-1", 1, RunStatus::Running)]
    );
    store
        .journal(&run, &[journal_entry(1, JournalAction::Updated)])
        .await
        .unwrap();
    assert_eq!(
        store
            .journal_entries(&run, "Account", None, 10)
            .await
            .unwrap(),
        vec![journal_entry(1, JournalAction::Created)]
    );
    // Rows a support engineer can read: the key says what the row is.
    let connection = Connection::open(&path).unwrap();
    let keys: Vec<(String, String)> = connection
        .prepare("SELECT partition_key, sort_key FROM run_documents ORDER BY 1, 2")
        .unwrap()
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        keys,
        vec![
            (
                "RUN#run-1".to_owned(),
                format!("JOURNAL#Account#{}", account_id(1))
            ),
            ("RUN#run-1".to_owned(), "PLAN".to_owned()),
            ("RUN#run-1".to_owned(), "SUMMARY".to_owned()),
            ("acme#RUNS".to_owned(), "RUN#0000000001#run-1".to_owned()),
        ]
    );
}

/// The run tables of every Ferry before the document run store, as it created them.
const FORMAT_0_SCHEMA: &str = "
CREATE TABLE id_map (
    tenant TEXT NOT NULL,
    object TEXT NOT NULL,
    salesforce_id TEXT NOT NULL,
    destination_id TEXT NOT NULL,
    created_by_run TEXT NOT NULL,
    last_run TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    PRIMARY KEY (tenant, object, salesforce_id)
) WITHOUT ROWID;
CREATE TABLE run_plans (run_id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE run_extractions (
    run_id TEXT NOT NULL, object TEXT NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (run_id, object)
);
CREATE TABLE run_chunks (
    run_id TEXT NOT NULL, object TEXT NOT NULL, chunk INTEGER NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (run_id, object, chunk)
);
CREATE TABLE run_deferred_links (
    run_id TEXT NOT NULL, object TEXT NOT NULL, salesforce_id TEXT NOT NULL, link TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (run_id, object, salesforce_id, link)
);
CREATE TABLE run_link_resolutions (
    run_id TEXT NOT NULL, object TEXT NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (run_id, object)
);
CREATE TABLE runs (
    run_id TEXT PRIMARY KEY, tenant TEXT NOT NULL, sequence INTEGER NOT NULL, body TEXT NOT NULL
);
CREATE INDEX runs_by_tenant ON runs (tenant, sequence);
CREATE TABLE run_journal (
    run_id TEXT NOT NULL, object TEXT NOT NULL, salesforce_id TEXT NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (run_id, object, salesforce_id)
);
CREATE TABLE run_pending_deletions (
    run_id TEXT NOT NULL, object TEXT NOT NULL, salesforce_id TEXT NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (run_id, object, salesforce_id)
);
CREATE TABLE run_deletions (
    run_id TEXT NOT NULL, object TEXT NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (run_id, object)
);
CREATE TABLE run_verifications (
    run_id TEXT NOT NULL, object TEXT NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (run_id, object)
);
CREATE TABLE run_rollbacks (
    run_id TEXT NOT NULL, object TEXT NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (run_id, object)
);
";

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap()
}

/// A file as an older Ferry left it after a run and the start of its rollback.
fn write_format_0_file(path: &Path) {
    let connection = Connection::open(path).unwrap();
    connection.execute_batch(FORMAT_0_SCHEMA).unwrap();
    let insert = |sql: &str, values: &[&dyn rusqlite::ToSql]| {
        connection.execute(sql, values).unwrap();
    };
    insert(
        "INSERT INTO id_map VALUES ('acme', 'Account', ?1, 'company-1', 'run-1', 'run-1', 'h')",
        &[&account_id(1).to_string()],
    );
    insert(
        "INSERT INTO run_plans VALUES ('run-1', ?1)",
        &[&json(&plan())],
    );
    let extraction = ObjectExtraction {
        object: "Account".to_owned(),
        extracted: 3,
        chunks: 2,
        api: Some("bulk".to_owned()),
        fallback: None,
        high_water_mark: None,
    };
    insert(
        "INSERT INTO run_extractions VALUES ('run-1', 'Account', ?1)",
        &[&json(&extraction)],
    );
    for (object, number) in [("Account", 10), ("Account", 2), ("Account_Team__c", 0)] {
        insert(
            "INSERT INTO run_chunks VALUES ('run-1', ?1, ?2, ?3)",
            &[&object, &number, &json(&chunk(object, number, 1))],
        );
    }
    for index in [2, 1] {
        insert(
            "INSERT INTO run_deferred_links VALUES ('run-1', 'Account', ?1, 'parent_company', ?2)",
            &[&account_id(index).to_string(), &json(&link(index))],
        );
    }
    for (run, sequence, status) in [
        ("run-1", 1, RunStatus::Succeeded),
        ("run-1-rollback", 2, RunStatus::Running),
    ] {
        insert(
            "INSERT INTO runs VALUES (?1, 'acme', ?2, ?3)",
            &[
                &run,
                &i64::try_from(sequence).unwrap(),
                &json(&summary(run, sequence, status)),
            ],
        );
    }
    for index in [3, 1, 2] {
        insert(
            "INSERT INTO run_journal VALUES ('run-1', 'Account', ?1, ?2)",
            &[
                &account_id(index).to_string(),
                &json(&journal_entry(index, JournalAction::Created)),
            ],
        );
    }
    insert(
        "INSERT INTO run_pending_deletions VALUES ('run-1', 'Account', ?1, ?2)",
        &[&account_id(4).to_string(), &json(&deletion(4))],
    );
    let rollback = RollbackObject {
        object: "Account".to_owned(),
        deleted: 2,
        ..RollbackObject::default()
    };
    insert(
        "INSERT INTO run_rollbacks VALUES ('run-1-rollback', 'Account', ?1)",
        &[&json(&rollback)],
    );
}

#[tokio::test]
async fn a_file_of_an_older_ferry_is_moved_to_documents_and_reads_as_it_did() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ferry.db");
    write_format_0_file(&path);
    assert_eq!(user_version(&path), 0);

    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(tables(&path), vec!["id_map", "run_documents"]);
    assert_eq!(user_version(&path), 1);

    let run = RunId::new("run-1");
    let records = store.run_records(&run).await.unwrap();
    assert_eq!(records.plan, plan());
    assert_eq!(records.extractions[0].chunks, 2);
    assert_eq!(
        records.chunks,
        vec![
            chunk("Account", 2, 1),
            chunk("Account", 10, 1),
            chunk("Account_Team__c", 0, 1),
        ]
    );
    assert_eq!(
        store.deferred_links(&run).await.unwrap(),
        vec![link(1), link(2)]
    );
    assert_eq!(
        store.list_runs(&TenantId::new("acme")).await.unwrap(),
        vec![
            summary("run-1", 1, RunStatus::Succeeded),
            summary("run-1-rollback", 2, RunStatus::Running),
        ]
    );
    assert_eq!(
        store
            .run_summary(&RunId::new("run-1-rollback"))
            .await
            .unwrap(),
        Some(summary("run-1-rollback", 2, RunStatus::Running))
    );
    assert_eq!(
        store
            .journal_entries(&run, "Account", Some(&account_id(1)), 10)
            .await
            .unwrap(),
        vec![
            journal_entry(2, JournalAction::Created),
            journal_entry(3, JournalAction::Created),
        ]
    );
    // The journal's first write still wins over what the older Ferry wrote.
    store
        .journal(&run, &[journal_entry(1, JournalAction::Updated)])
        .await
        .unwrap();
    assert_eq!(
        store
            .journal_entries(&run, "Account", None, 1)
            .await
            .unwrap(),
        vec![journal_entry(1, JournalAction::Created)]
    );
    assert_eq!(
        store.pending_deletions(&run, "Account").await.unwrap(),
        vec![deletion(4)]
    );
    assert_eq!(
        store
            .rollback_results(&RunId::new("run-1-rollback"))
            .await
            .unwrap()[0]
            .deleted,
        2
    );
    // The ID map is untouched.
    let entries = store
        .entries(&TenantId::new("acme"), "Account", &[account_id(1)])
        .await
        .unwrap();
    assert_eq!(
        entries[&account_id(1)].destination_id,
        DestinationId::new("company-1")
    );
    drop(store);

    // Opening again moves nothing and loses nothing.
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.run_records(&run).await.unwrap(), records);
}

#[tokio::test]
async fn a_file_of_an_older_ferry_still_older_lacking_tables_is_moved_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ferry.db");
    {
        let connection = Connection::open(&path).unwrap();
        connection
            .execute_batch(
                "CREATE TABLE run_plans (run_id TEXT PRIMARY KEY, body TEXT NOT NULL);
                 CREATE TABLE runs (
                     run_id TEXT PRIMARY KEY, tenant TEXT NOT NULL, sequence INTEGER NOT NULL,
                     body TEXT NOT NULL
                 );",
            )
            .unwrap();
        connection
            .execute(
                "INSERT INTO run_plans VALUES ('run-1', ?1)",
                [json(&plan())],
            )
            .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.load_plan(&RunId::new("run-1")).await.unwrap(), plan());
    assert!(
        store
            .list_runs(&TenantId::new("acme"))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(tables(&path), vec!["id_map", "run_documents"]);
}

#[tokio::test]
async fn a_file_of_a_newer_ferry_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ferry.db");
    {
        let connection = Connection::open(&path).unwrap();
        connection
            .execute_batch("CREATE TABLE future (x TEXT); PRAGMA user_version = 7;")
            .unwrap();
    }
    match SqliteStore::open(&path) {
        Err(error @ EmbeddedError::NewerStoreFormat { found: 7, .. }) => {
            assert!(error.to_string().contains("newer Ferry"), "{error}");
        }
        Err(other) => panic!("refused for another reason: {other}"),
        Ok(_) => panic!("a file of a newer Ferry was opened"),
    }
    assert_eq!(tables(&path), vec!["future"]);
    assert_eq!(user_version(&path), 7);
}
