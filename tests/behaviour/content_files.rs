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
        ..DiscoverOptions::default()
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

/// Every ContentDocumentLink of the org, read as Salesforce allows: by batches of documents.
async fn salesforce_links(
    client: &ferry_salesforce::SalesforceClient,
    documents: &[String],
) -> Vec<ferry_model::model::SourceRecord> {
    let mut links = Vec::new();
    for batch in documents.chunks(100) {
        let ids: Vec<String> = batch.iter().map(|id| format!("'{id}'")).collect();
        links.extend(
            query_all(
                client,
                &format!(
                    "SELECT Id, LinkedEntityId, ContentDocumentId FROM ContentDocumentLink WHERE ContentDocumentId IN ({})",
                    ids.join(", ")
                ),
            )
            .await,
        );
    }
    links
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_shared_to_several_records_lands_once_attached_to_each_of_them() {
    let simulator = start_org(3_000, 43).await;
    let client = connect(&simulator).await;
    let versions = query_all(
        &client,
        "SELECT Id, ContentDocumentId FROM ContentVersion WHERE IsLatest = true",
    )
    .await;
    let latest_of: std::collections::BTreeMap<String, String> = versions
        .iter()
        .map(|v| {
            (
                v["ContentDocumentId"].as_str().unwrap().to_owned(),
                v["Id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let documents: Vec<String> = latest_of.keys().cloned().collect();
    let links = salesforce_links(&client, &documents).await;
    // (link, file's version, record) for every link to a migrated record; the rest are the
    // owners' own links and links to cases, which this migration does not move.
    let migrated_prefix = |id: &str| ["001", "003", "006"].contains(&&id[..3]);
    let expected: BTreeSet<(String, String, String)> = links
        .iter()
        .filter(|link| migrated_prefix(link["LinkedEntityId"].as_str().unwrap()))
        .map(|link| {
            (
                link["Id"].as_str().unwrap().to_owned(),
                latest_of[link["ContentDocumentId"].as_str().unwrap()].clone(),
                link["LinkedEntityId"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let not_moved = links.len() - expected.len();
    assert!(
        not_moved >= documents.len(),
        "every file has its owner's link"
    );
    // A document shared to an account, a contact and an opportunity.
    let mut per_document: std::collections::BTreeMap<&str, BTreeSet<&str>> = Default::default();
    for link in &links {
        let entity = link["LinkedEntityId"].as_str().unwrap();
        if migrated_prefix(entity) {
            per_document
                .entry(link["ContentDocumentId"].as_str().unwrap())
                .or_default()
                .insert(entity);
        }
    }
    let (shared, records) = per_document
        .iter()
        .find(|(_, records)| records.len() == 3)
        .expect("a document shared to three migrated records");

    let dir = tempfile::tempdir().unwrap();
    let embedded = Embedded::open(dir.path());
    let mut config = config(&embedded, "run-links", FileVersions::Latest);
    config.discover.objects = Some(
        OBJECTS
            .iter()
            .chain(&["ContentDocumentLink"])
            .map(|o| (*o).to_owned())
            .collect(),
    );
    let report = embedded
        .migrate_with(&client, &config)
        .await
        .unwrap()
        .report;
    assert!(report.is_balanced(), "{report:?}");
    assert!(
        report.is_complete(),
        "{:?}",
        report.salesforce_differences()
    );
    let counts = report.object("ContentDocumentLink").unwrap();
    assert_eq!(counts.in_salesforce, links.len() as u64);
    assert_eq!(counts.created, expected.len() as u64);
    assert_eq!(counts.skipped, not_moved as u64);
    let skipped_reasons = report
        .issues
        .iter()
        .filter(|issue| {
            issue.object == "ContentDocumentLink"
                && issue.kind == ferry_model::report::IssueKind::Skipped
        })
        .filter(|issue| issue.reason.contains("which this migration does not move"))
        .count();
    assert_eq!(skipped_reasons, not_moved, "each link not moved says why");

    let db = rusqlite::Connection::open(embedded.dir.join("destination.db")).unwrap();
    let mut statement = db
        .prepare(
            "SELECT l.source_id, f.source_id, COALESCE(c.source_id, p.source_id, o.source_id)
             FROM file_links l
             JOIN files f ON f.id = l.file_id
             LEFT JOIN companies c ON c.id = l.company_id
             LEFT JOIN contacts p ON p.id = l.contact_id
             LEFT JOIN opportunities o ON o.id = l.opportunity_id
             WHERE l.tenant = ?1",
        )
        .unwrap();
    let landed: BTreeSet<(String, String, String)> = statement
        .query_map([TENANT], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        landed, expected,
        "every link to a migrated record lands, to its file"
    );

    let file = &latest_of[*shared];
    let files: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM files WHERE tenant = ?1 AND source_id = ?2",
            [TENANT, file.as_str()],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(files, 1, "the shared document is one file");
    let attached: BTreeSet<&str> = landed
        .iter()
        .filter(|(_, f, _)| f == file)
        .map(|(_, _, record)| record.as_str())
        .collect();
    assert_eq!(&attached, records, "attached to each of its records");
    // Every link was read back as sent, and re-read from Salesforce alike.
    assert_eq!(
        (counts.verified, counts.mismatched),
        (expected.len() as u64, 0)
    );

    // A rollback takes the links away with the files and records they join.
    let undone = ferry_core::run::rollback(
        &ferry_core::run::RollbackRunPorts {
            id_map: &embedded.store,
            runs: &embedded.store,
            destination: &embedded.destination,
        },
        &ferry_model::ids::TenantId::new(TENANT),
        &ferry_model::ids::RunId::new("run-links"),
        &ferry_model::ports::NoProgress,
    )
    .await
    .unwrap();
    assert_eq!(undone.total().failed, 0, "{undone:?}");
    let left: i64 = db
        .query_row("SELECT COUNT(*) FROM file_links", [], |row| row.get(0))
        .unwrap();
    assert_eq!(left, 0);
    simulator.shutdown().await;
}

/// Every text cell of a destination table.
fn text_cells(db: &rusqlite::Connection, table: &str) -> Vec<String> {
    let mut statement = db.prepare(&format!("SELECT * FROM {table}")).unwrap();
    let columns = statement.column_count();
    statement
        .query_map([], |row| {
            Ok((0..columns)
                .filter_map(|i| match row.get_ref(i).unwrap() {
                    rusqlite::types::ValueRef::Text(text) => {
                        Some(String::from_utf8_lossy(text).into_owned())
                    }
                    _ => None,
                })
                .collect::<Vec<_>>())
        })
        .unwrap()
        .flat_map(Result::unwrap)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_in_rich_text_land_as_files_of_their_record_and_one_salesforce_refuses_is_reported()
{
    use ferry_simulator::org::{Org, RICH_TEXT_FIELD};
    use ferry_simulator::schema::Generated;
    let (records, seed) = (3_000, 47);
    let simulator = start_org(records, seed).await;
    let client = connect(&simulator).await;
    let org = Org::new(seed, records);
    // (record, refid, bytes) of every image Salesforce serves.
    let (mut served, mut refused) = (BTreeSet::new(), BTreeSet::new());
    for kind in [
        Generated::Account,
        Generated::Contact,
        Generated::Opportunity,
    ] {
        for index in 0..org.count(kind) {
            for image in org.rich_text_images(kind, index) {
                if image.refused {
                    refused.insert((org.id(kind, index), image.refid));
                } else {
                    served.insert((org.id(kind, index), image.refid, image.bytes as i64));
                }
            }
        }
    }
    assert!(
        !served.is_empty() && !refused.is_empty(),
        "{served:?} {refused:?}"
    );
    // The org's values point at Salesforce's image servlet.
    let embedded_in_org = query_all(
        &client,
        &format!("SELECT Id, {RICH_TEXT_FIELD} FROM Account"),
    )
    .await
    .iter()
    .filter(|record| {
        record[RICH_TEXT_FIELD]
            .as_str()
            .is_some_and(|html| html.contains(".file.force.com/servlet/rtaImage?"))
    })
    .count();
    assert!(embedded_in_org > 0);

    let dir = tempfile::tempdir().unwrap();
    let embedded = Embedded::open(dir.path());
    let config = |run: &str| {
        let mut config = embedded.config(run, 500);
        config.map = FieldMap::builtin();
        config.concurrency = Default::default();
        config.discover.objects = Some(
            ["Account", "Contact", "Opportunity"]
                .map(str::to_owned)
                .to_vec(),
        );
        config
    };
    let report = embedded
        .migrate_with(&client, &config("run-rich"))
        .await
        .unwrap()
        .report;
    assert!(report.is_balanced(), "{report:?}");
    assert!(
        report.is_complete(),
        "{:?}",
        report.salesforce_differences()
    );

    let db = rusqlite::Connection::open(embedded.dir.join("destination.db")).unwrap();
    // Each image Salesforce serves is a file attached to its record, with its bytes.
    let image_files = |db: &rusqlite::Connection| -> BTreeSet<(String, String, i64)> {
        let mut statement = db
            .prepare(
                "SELECT COALESCE(c.source_id, p.source_id, o.source_id), f.name, length(b.bytes)
                 FROM files f
                 JOIN file_contents b ON b.entity = 'file' AND b.record_id = f.id
                 LEFT JOIN companies c ON c.id = f.company_id
                 LEFT JOIN contacts p ON p.id = f.contact_id
                 LEFT JOIN opportunities o ON o.id = f.opportunity_id
                 WHERE f.tenant = ?1 AND f.source_object LIKE '%.RichTextImage'",
            )
            .unwrap();
        statement
            .query_map([TENANT], |row| {
                let name: String = row.get(1)?;
                Ok((
                    row.get::<_, Option<String>>(0)?.unwrap_or_default(),
                    name.trim_end_matches(".png").to_owned(),
                    row.get(2)?,
                ))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let landed = image_files(&db);
    assert_eq!(
        landed, served,
        "every image Salesforce serves lands as a file of its record, with its bytes"
    );
    // The values refer to them by the contract's reference, and nothing points at
    // Salesforce or holds an image's bytes inline.
    let mut references = BTreeSet::new();
    for table in [
        "companies",
        "contacts",
        "opportunities",
        "custom_field_values",
    ] {
        for cell in text_cells(&db, table) {
            assert!(
                !cell.contains("rtaImage")
                    && !cell.contains("force.com")
                    && !cell.contains("data:"),
                "{table} holds a Salesforce image URL or inline bytes: {cell}"
            );
            // (A custom field's value is stored as JSON, its quotes escaped.)
            for (at, _) in cell.match_indices("ferry-file:") {
                let id: String = cell[at + "ferry-file:".len()..]
                    .chars()
                    .take_while(char::is_ascii_alphanumeric)
                    .collect();
                references.insert(format!("ferry-file:{id}"));
            }
        }
    }
    assert_eq!(references.len(), served.len(), "one reference per image");
    let tenant = ferry_model::ids::TenantId::new(TENANT);
    for reference in &references {
        let file = embedded
            .destination
            .file_by_reference(&tenant, reference)
            .await
            .unwrap();
        assert!(file.is_some(), "{reference} resolves to its file");
    }
    let reported: BTreeSet<(String, String)> = report
        .issues
        .iter()
        .filter(|issue| {
            issue.kind == ferry_model::report::IssueKind::ValueDropped
                && issue.field.as_deref() == Some(RICH_TEXT_FIELD)
        })
        .filter_map(|issue| {
            let refid = refused
                .iter()
                .find(|(id, refid)| {
                    issue.salesforce_id.as_deref() == Some(id.as_str())
                        && issue.reason.contains(refid.as_str())
                })?
                .1
                .clone();
            Some((issue.salesforce_id.clone()?, refid))
        })
        .collect();
    assert_eq!(
        reported, refused,
        "each refused image is reported for its record and field"
    );
    // Verification reads the values and the image files back: nothing differs; the spot
    // check re-reads from Salesforce and finds the same references.
    for object in ["Account", "Contact", "Opportunity"] {
        let counts = report.object(object).unwrap();
        assert_eq!(
            (counts.mismatched, counts.spot_mismatched),
            (0, 0),
            "{object}"
        );
        assert!(counts.spot_checked > 0, "{object}");
    }

    // A second run finds the images in the ID map: no second file.
    let again = embedded
        .migrate_with(&client, &config("run-rich-again"))
        .await
        .unwrap()
        .report;
    assert!(again.is_balanced(), "{again:?}");
    assert_eq!(image_files(&db), served, "a re-run creates no second file");

    // A rollback of the first run (after the second's) removes the images with their records.
    for run in ["run-rich-again", "run-rich"] {
        let undone = ferry_core::run::rollback(
            &ferry_core::run::RollbackRunPorts {
                id_map: &embedded.store,
                runs: &embedded.store,
                destination: &embedded.destination,
            },
            &tenant,
            &ferry_model::ids::RunId::new(run),
            &ferry_model::ports::NoProgress,
        )
        .await
        .unwrap();
        assert_eq!(undone.total().failed, 0, "{undone:?}");
    }
    let left: i64 = db
        .query_row("SELECT COUNT(*) FROM files", [], |row| row.get(0))
        .unwrap();
    assert_eq!(left, 0, "the rollback removes the image files");
    simulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verification_reads_back_the_image_files_of_a_record() {
    use ferry_core::run::{RunOptions, migrate_with};
    use ferry_model::mapping::EntityKind;
    let simulator = start_org(1_000, 47).await;
    let client = connect(&simulator).await;
    let dir = tempfile::tempdir().unwrap();
    let embedded = Embedded::open(dir.path());
    // Only images land as files here (no ContentVersion), and the destination alters them.
    let destination = ferry_tests::wrappers::Corrupting {
        inner: embedded.destination.clone(),
        entity: EntityKind::File,
        field: "title".to_owned(),
        value: serde_json::json!("Altered"),
    };
    let ports = embedded.ports_with(&client, &embedded.store, &embedded.store, &destination);
    let mut config = embedded.config("run-images", 500);
    config.map = FieldMap::builtin();
    config.discover.objects = Some(vec!["Account".to_owned()]);
    let report = migrate_with(
        &ports,
        &config,
        &RunOptions::default(),
        &ferry_model::ports::NoProgress,
    )
    .await
    .unwrap()
    .report;
    let accounts = report.object("Account").unwrap();
    assert!(accounts.mismatched > 0, "{accounts:?}");
    let mismatches: Vec<_> = report
        .issues
        .iter()
        .filter(|issue| issue.kind == ferry_model::report::IssueKind::Mismatch)
        .filter(|issue| issue.reason.contains("rich-text image"))
        .collect();
    assert!(
        mismatches.len() as u64 >= accounts.mismatched,
        "{mismatches:?}"
    );
    for issue in mismatches {
        assert_eq!(issue.object, "Account");
        assert_eq!(issue.field.as_deref(), Some("title"));
        assert!(issue.reason.contains("Altered"), "{}", issue.reason);
    }
    simulator.shutdown().await;
}
