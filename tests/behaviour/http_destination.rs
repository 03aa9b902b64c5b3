//! The HTTP destination end to end: a migration through `HttpDestination`, the reference
//! server and the SQLite destination lands exactly what the direct SQLite run lands, a re-run
//! creates nothing, and every other call of the port works over the wire.

use ferry_core::run::{LocalPorts, RunConfig, migrate};
use ferry_core::steps::{DiscoverOptions, ExtractConfig};
use ferry_destination_http::signing::sha256_hex;
use ferry_destination_http::{HttpDestination, HttpDestinationConfig};
use ferry_embedded::TokioSleeper;
use ferry_model::ids::{DestinationId, RunId, TenantId};
use ferry_model::mapping::EntityKind;
use ferry_model::ports::{Destination, FileBody, FileUpload};
use ferry_model::report::RunReport;
use ferry_model::secret::Secret;
use ferry_reference_server::ReferenceServerConfig;
use ferry_salesforce::SalesforceClient;
use ferry_tests::{Embedded, TENANT, connect, start_org};
use std::collections::BTreeMap;
use std::sync::Arc;

const KEY_ID: &str = "ferry-behaviour";
const SECRET: &str = "behaviour-test-secret";

/// Migrates through `destination` with the adapters of `embedded` for everything else, as
/// `Embedded::migrate` does with its SQLite destination.
async fn migrate_through(
    embedded: &Embedded,
    destination: &dyn Destination,
    salesforce: &SalesforceClient,
    run: &str,
) -> RunReport {
    let config = RunConfig {
        concurrency: Default::default(),
        tenant: TenantId::new(TENANT),
        run_id: RunId::new(run),
        map: ferry_tests::companies_and_contacts_map(),
        extract: ExtractConfig {
            chunk_records: 37,
            ..ExtractConfig::default()
        },
        discover: DiscoverOptions::default(),
        pseudonymise: None,
        validation: Default::default(),
        default_owner: None,
        merge_leads_by_email: false,
    };
    let ports = LocalPorts {
        salesforce,
        staging: &embedded.staging,
        id_map: &embedded.store,
        runs: &embedded.store,
        destination,
        sleeper: &TokioSleeper,
    };
    migrate(&ports, &config)
        .await
        .expect("the migration completes")
        .report
}

fn http_destination(base_url: &str, secret: &str, run: &str) -> HttpDestination {
    HttpDestination::new(HttpDestinationConfig {
        // Small batches, so the chunks of 37 are split too.
        max_batch: 16,
        idempotency_scope: run.to_owned(),
        ..HttpDestinationConfig::new(base_url, KEY_ID, Secret::new(secret))
    })
    .unwrap()
}

/// Every row of a table, keyed by Salesforce id, without the destination's own ids: the row
/// id is dropped and each link column holds the Salesforce id of the row it points to.
fn rows_by_source(
    db: &rusqlite::Connection,
    table: &str,
    links: &[(&str, &str)],
) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut statement = db
        .prepare(&format!("SELECT * FROM {table} WHERE tenant = ?1"))
        .unwrap();
    let columns: Vec<String> = statement.column_names().map(str::to_owned).collect();
    let rows: Vec<Vec<rusqlite::types::Value>> = statement
        .query_map([TENANT], |row| {
            (0..columns.len()).map(|index| row.get(index)).collect()
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut by_source = BTreeMap::new();
    for values in rows {
        let mut row = BTreeMap::new();
        for (column, value) in columns.iter().zip(values) {
            if column == "id" {
                continue;
            }
            let shown = match links.iter().find(|(link, _)| link == column) {
                Some((_, target_table)) => match value {
                    rusqlite::types::Value::Integer(id) => db
                        .query_row(
                            &format!("SELECT source_id FROM {target_table} WHERE id = ?1"),
                            [id],
                            |row| row.get::<_, String>(0),
                        )
                        .unwrap(),
                    other => format!("{other:?}"),
                },
                None => format!("{value:?}"),
            };
            row.insert(column.clone(), shown);
        }
        by_source.insert(row["source_id"].clone(), row);
    }
    by_source
}

/// (entity, Salesforce id of the record, field) to value, for every custom field value.
fn custom_values(db: &rusqlite::Connection) -> BTreeMap<(String, String, String), String> {
    let mut values = BTreeMap::new();
    for (entity, table) in [("company", "companies"), ("contact", "contacts")] {
        let mut statement = db
            .prepare(&format!(
                "SELECT r.source_id, v.name, v.value FROM custom_field_values v
                 JOIN {table} r ON r.id = v.record_id WHERE v.entity = ?1"
            ))
            .unwrap();
        for row in statement
            .query_map([entity], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                ))
            })
            .unwrap()
        {
            let (source, name, value) = row.unwrap();
            values.insert((entity.to_owned(), source, name), value);
        }
    }
    values
}

fn counts(report: &RunReport, object: &str) -> (u64, u64, u64, u64) {
    let counts = report.object(object).unwrap();
    (
        counts.created,
        counts.updated,
        counts.skipped,
        counts.failed,
    )
}

/// Serves `bytes` at `/file.bin` on loopback, as object storage serves a presigned URL.
async fn serve_bytes(bytes: Vec<u8>) -> String {
    let app = axum::Router::new().route(
        "/file.bin",
        axum::routing::get(move || {
            let bytes = bytes.clone();
            async move { bytes }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}/file.bin")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_migration_over_http_lands_exactly_what_the_direct_run_lands() {
    let simulator = start_org(600, 7).await;
    let client = connect(&simulator).await;

    let direct_dir = tempfile::tempdir().unwrap();
    let direct = Embedded::open(direct_dir.path());
    let direct_report = direct
        .migrate(
            &client,
            "run-1",
            ferry_tests::companies_and_contacts_map(),
            37,
        )
        .await
        .report;

    let http_dir = tempfile::tempdir().unwrap();
    let behind = Embedded::open(http_dir.path());
    let config = ReferenceServerConfig {
        // The file URLs of this test are served on loopback.
        fetch_scope: ferry_reference_server::fetch::FetchScope::AnyAddress,
        ..ReferenceServerConfig::new(
            Arc::new(behind.destination.clone()),
            KEY_ID,
            Secret::new(SECRET),
        )
        .unwrap()
    };
    let server = ferry_reference_server::serve(config, ([127, 0, 0, 1], 0).into())
        .await
        .unwrap();
    let http = http_destination(server.base_url(), SECRET, "run-1");
    let http_report = migrate_through(&behind, &http, &client, "run-1").await;

    assert!(http_report.is_balanced(), "{http_report:?}");
    for object in ["Account", "Contact"] {
        assert_eq!(
            counts(&http_report, object),
            counts(&direct_report, object),
            "{object}"
        );
        assert_eq!(
            counts(&http_report, object).0,
            simulator.record_counts()[object],
            "{object}"
        );
    }
    assert_eq!(http_report.issues, direct_report.issues);

    let direct_db = direct.destination_db();
    let http_db = behind.destination_db();
    let company_links = [("parent_company_id", "companies")];
    let contact_links = [("company_id", "companies"), ("reports_to_id", "contacts")];
    let companies = rows_by_source(&http_db, "companies", &company_links);
    assert_eq!(companies.len() as u64, simulator.record_counts()["Account"]);
    assert_eq!(
        companies,
        rows_by_source(&direct_db, "companies", &company_links)
    );
    assert_eq!(
        rows_by_source(&http_db, "contacts", &contact_links),
        rows_by_source(&direct_db, "contacts", &contact_links)
    );
    assert_eq!(custom_values(&http_db), custom_values(&direct_db));
    assert!(!custom_values(&http_db).is_empty());

    // A second run through HTTP (a new idempotency scope) creates nothing and finds every
    // record unchanged, so it sends none of them.
    let rerun = migrate_through(
        &behind,
        &http_destination(server.base_url(), SECRET, "run-2"),
        &client,
        "run-2",
    )
    .await;
    assert!(rerun.is_balanced());
    for object in ["Account", "Contact"] {
        assert_eq!(counts(&rerun, object), (0, 0, 0, 0), "{object}");
        assert_eq!(
            rerun.object(object).unwrap().unchanged,
            simulator.record_counts()[object],
            "{object}"
        );
    }
    assert_eq!(
        rows_by_source(&http_db, "companies", &company_links),
        companies
    );

    // get answers over HTTP what the SQLite destination answers directly.
    let tenant = TenantId::new(TENANT);
    let company_ids: Vec<DestinationId> = http_db
        .prepare("SELECT id FROM companies ORDER BY id LIMIT 40")
        .unwrap()
        .query_map([], |row| row.get::<_, i64>(0))
        .unwrap()
        .map(|id| DestinationId::new(id.unwrap().to_string()))
        .chain([DestinationId::new("999999")])
        .collect();
    let over_http = http
        .get(&tenant, EntityKind::Company, &company_ids)
        .await
        .unwrap();
    let direct_get = behind
        .destination
        .get(&tenant, EntityKind::Company, &company_ids)
        .await
        .unwrap();
    assert_eq!(over_http, direct_get);
    assert!(over_http[0].is_some() && over_http[40].is_none());

    // users.
    let ada = behind
        .destination
        .add_user(&tenant, "ada@example.com", "Ada Lovelace")
        .await
        .unwrap();
    let users = http.users(&tenant).await.unwrap();
    assert!(
        users
            .iter()
            .any(|user| user.id == ada && user.email == "ada@example.com"),
        "{users:?}"
    );

    // put_file, by bytes and by a URL the server fetches.
    let record = company_ids[0].clone();
    let upload = |bytes: &[u8], body: FileBody| FileUpload {
        file_name: "contract #1.pdf".to_owned(),
        content_type: Some("application/pdf".to_owned()),
        size: bytes.len() as u64,
        sha256: sha256_hex(bytes),
        body,
    };
    let stored = |db: &rusqlite::Connection| -> Vec<u8> {
        db.query_row(
            "SELECT bytes FROM file_contents WHERE entity = 'company' AND record_id = ?1",
            [record.as_str().parse::<i64>().unwrap()],
            |row| row.get(0),
        )
        .unwrap()
    };
    let by_bytes = b"%PDF-1.7 uploaded".to_vec();
    http.put_file(
        &tenant,
        EntityKind::Company,
        &record,
        upload(&by_bytes, FileBody::Bytes(by_bytes.clone())),
    )
    .await
    .unwrap();
    assert_eq!(stored(&http_db), by_bytes);
    let by_url: Vec<u8> = (0..70_000u32).map(|index| (index % 251) as u8).collect();
    let location = serve_bytes(by_url.clone()).await;
    http.put_file(
        &tenant,
        EntityKind::Company,
        &record,
        upload(&by_url, FileBody::Url(location.clone())),
    )
    .await
    .unwrap();
    assert_eq!(stored(&http_db), by_url);
    let mut wrong = upload(&by_url, FileBody::Url(location));
    wrong.sha256 = sha256_hex(b"something else");
    let mismatch = http
        .put_file(&tenant, EntityKind::Company, &record, wrong)
        .await
        .unwrap_err();
    assert!(!mismatch.is_retryable());
    assert!(
        mismatch.chain().contains("file_mismatch"),
        "{}",
        mismatch.chain()
    );

    // delete: a contact, which nothing links to in this map, goes (twice is harmless); a
    // company other records link to is refused with the reason.
    let contact: i64 = http_db
        .query_row("SELECT MIN(id) FROM contacts", [], |row| row.get(0))
        .unwrap();
    let contact = DestinationId::new(contact.to_string());
    for _ in 0..2 {
        assert_eq!(
            http.delete(&tenant, EntityKind::Contact, std::slice::from_ref(&contact))
                .await
                .unwrap(),
            vec![Ok(())]
        );
    }
    assert_eq!(
        http.get(&tenant, EntityKind::Contact, std::slice::from_ref(&contact))
            .await
            .unwrap(),
        vec![None]
    );
    let parent: i64 = http_db
        .query_row(
            "SELECT parent_company_id FROM companies WHERE parent_company_id IS NOT NULL LIMIT 1",
            [],
            |row| row.get(0),
        )
        .unwrap();
    let refused = http
        .delete(
            &tenant,
            EntityKind::Company,
            &[DestinationId::new(parent.to_string())],
        )
        .await
        .unwrap();
    assert!(
        matches!(&refused[0], Err(reason) if reason.contains("linked")),
        "{refused:?}"
    );

    // A wrongly signed request is refused with 401, and says why.
    let forged = http_destination(server.base_url(), "not-the-secret", "run-1")
        .users(&tenant)
        .await
        .unwrap_err();
    assert!(!forged.is_retryable());
    let chain = forged.chain();
    assert!(
        chain.contains("401") && chain.contains("unauthorized"),
        "{chain}"
    );
    assert!(
        !chain.contains("not-the-secret") && !chain.contains(SECRET),
        "{chain}"
    );
    let raw = reqwest::Client::new()
        .get(format!("{}/v1/tenants/{TENANT}/users", server.base_url()))
        .header("X-Ferry-Key-Id", KEY_ID)
        .header(
            "X-Ferry-Timestamp",
            ferry_destination_http::signing::unix_now().to_string(),
        )
        .header("X-Ferry-Signature", format!("v1={}", "0".repeat(64)))
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 401);

    server.shutdown().await;
    simulator.shutdown().await;
}
