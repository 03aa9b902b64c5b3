use ferry_model::report::IssueKind;
use ferry_tests::{Embedded, TENANT, connect, query_all, start_org};
use std::collections::HashMap;

/// (Salesforce id → destination row id) and (Salesforce id → linked destination row id).
fn rows(
    db: &rusqlite::Connection,
    table: &str,
    link: &str,
) -> (HashMap<String, i64>, HashMap<String, Option<i64>>) {
    let mut statement = db
        .prepare(&format!(
            "SELECT source_id, id, {link} FROM {table} WHERE tenant = ?1"
        ))
        .unwrap();
    let mut ids = HashMap::new();
    let mut links = HashMap::new();
    let rows = statement
        .query_map([TENANT], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, Option<i64>>(2)?,
            ))
        })
        .unwrap();
    for row in rows {
        let (source, id, linked) = row.unwrap();
        ids.insert(source.clone(), id);
        links.insert(source, linked);
    }
    (ids, links)
}

/// Every destination link points to the row that came from the Salesforce record the source
/// reference names.
fn assert_links_match_source(
    source: &[ferry_model::model::SourceRecord],
    reference_field: &str,
    links: &HashMap<String, Option<i64>>,
    targets: &HashMap<String, i64>,
) -> usize {
    let mut linked = 0;
    for record in source {
        let id = record["Id"].as_str().unwrap();
        let expected = record[reference_field]
            .as_str()
            .map(|target| targets[target]);
        assert_eq!(links[id], expected, "{reference_field} of {id}");
        linked += usize::from(expected.is_some());
    }
    linked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_creates_every_record_with_its_links_and_a_second_run_changes_nothing() {
    let simulator = start_org(600, 7).await;
    let client = connect(&simulator).await;
    let dir = tempfile::tempdir().unwrap();
    let embedded = Embedded::open(dir.path());
    let expected = simulator.record_counts().clone();

    // Small chunks, so children land in chunks before their parents' chunks.
    let first = embedded
        .migrate(
            &client,
            "run-1",
            ferry_tests::companies_and_contacts_map(),
            37,
        )
        .await
        .report;
    assert!(first.is_balanced(), "{first:?}");
    for object in ["Account", "Contact"] {
        let counts = first.object(object).unwrap();
        assert_eq!(counts.in_salesforce, expected[object], "{object}");
        assert_eq!(counts.extracted, expected[object], "{object}");
        assert_eq!(counts.created, expected[object], "{object}");
        assert_eq!(
            (counts.updated, counts.skipped, counts.failed),
            (0, 0, 0),
            "{object}"
        );
        // Every record was read back and arrived as sent.
        assert_eq!(
            (counts.verified, counts.mismatched),
            (expected[object], 0),
            "{object}"
        );
    }
    // The only findings are invalid contact emails, dropped from records that still landed:
    // one per contact whose address fails the check, none silently.
    let invalid_emails = query_all(&client, "SELECT Id, Email FROM Contact")
        .await
        .iter()
        .filter(|contact| {
            contact["Email"]
                .as_str()
                .is_some_and(|email| !ferry_core::validate::valid_email(email))
        })
        .count();
    assert!(invalid_emails > 0, "the org has invalid emails");
    // And the rich-text images Salesforce refuses, each reported for its record and field
    // (tests/behaviour/content_files.rs).
    let org = &ferry_simulator::org::Org::new(7, 600);
    let refused_images = [
        ferry_simulator::schema::Generated::Account,
        ferry_simulator::schema::Generated::Contact,
    ]
    .into_iter()
    .flat_map(|kind| (0..org.count(kind)).flat_map(move |index| org.rich_text_images(kind, index)))
    .filter(|image| image.refused)
    .count();
    let (images, issues): (Vec<_>, Vec<_>) = first
        .issues
        .iter()
        .partition(|issue| issue.field.as_deref() == Some(ferry_simulator::org::RICH_TEXT_FIELD));
    assert_eq!(images.len(), refused_images, "{images:?}");
    assert_eq!(issues.len(), invalid_emails, "{:?}", first.issues);
    for issue in issues {
        assert_eq!(
            issue.kind,
            ferry_model::report::IssueKind::ValueDropped,
            "{issue:?}"
        );
        assert_eq!(
            (issue.object.as_str(), issue.field.as_deref()),
            ("Contact", Some("Email"))
        );
        assert!(issue.reason.starts_with("invalid_email: "), "{issue:?}");
    }

    let db = embedded.destination_db();
    let (companies, parents) = rows(&db, "companies", "parent_company_id");
    let (_, contact_companies) = rows(&db, "contacts", "company_id");
    let accounts = query_all(&client, "SELECT Id, ParentId FROM Account").await;
    let contacts = query_all(&client, "SELECT Id, AccountId FROM Contact").await;
    let with_parent = assert_links_match_source(&accounts, "ParentId", &parents, &companies);
    let with_company =
        assert_links_match_source(&contacts, "AccountId", &contact_companies, &companies);
    assert!(with_parent > 0 && with_company > 0);
    // Parents later in Id order than their children were patched after load, not dropped,
    // and so were the accounts' key contacts (a custom lookup), since contacts load after
    // accounts.
    let accounts_counts = first.object("Account").unwrap();
    let key_contacts = query_all(
        &client,
        "SELECT Id FROM Account WHERE Key_Contact__c != null",
    )
    .await
    .len();
    assert!(
        accounts_counts.links_patched > 0
            && accounts_counts.links_patched <= (with_parent + key_contacts) as u64
    );
    assert_eq!(accounts_counts.links_unresolved, 0);

    // Addresses land as one structured value each, built from their components.
    let mut statement = db
        .prepare("SELECT source_id, billing_address FROM companies")
        .unwrap();
    let addresses: std::collections::BTreeMap<String, Option<String>> = statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut with_address = 0;
    for account in query_all(
        &client,
        "SELECT Id, BillingStreet, BillingCity, BillingState, BillingPostalCode, BillingCountry FROM Account",
    )
    .await
    {
        let id = account["Id"].as_str().unwrap();
        let landed: serde_json::Value = addresses[id]
            .as_deref()
            .map_or(serde_json::Value::Null, |text| serde_json::from_str(text).unwrap());
        for (key, component) in [
            ("street", "BillingStreet"),
            ("city", "BillingCity"),
            ("state", "BillingState"),
            ("postal_code", "BillingPostalCode"),
            ("country", "BillingCountry"),
        ] {
            let source = account[component].as_str().filter(|text| !text.trim().is_empty());
            assert_eq!(landed.get(key).and_then(|v| v.as_str()), source, "{id} {key}");
        }
        with_address += usize::from(landed.is_object());
    }
    assert!(with_address > 0, "the org has billing addresses");

    // Multi-select picklists land as lists of their values.
    let mut regions = std::collections::BTreeMap::new();
    let mut statement = db
        .prepare(
            "SELECT c.source_id, v.value FROM custom_field_values v
             JOIN companies c ON c.id = v.record_id
             WHERE v.entity = 'company' AND v.name = 'regions'",
        )
        .unwrap();
    for row in statement
        .query_map([], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
        })
        .unwrap()
    {
        let (id, value) = row.unwrap();
        regions.insert(
            id,
            serde_json::from_str::<serde_json::Value>(&value).unwrap(),
        );
    }
    let mut compared = 0;
    for account in query_all(&client, "SELECT Id, Regions__c FROM Account").await {
        let id = account["Id"].as_str().unwrap();
        let expected =
            ferry_core::transform::multi_picklist(account["Regions__c"].as_str().unwrap_or(""));
        assert_eq!(
            regions.get(id).unwrap_or(&serde_json::Value::Null),
            &expected,
            "{id}"
        );
        compared += usize::from(expected.is_array());
    }
    assert!(compared > 0, "the org has multi-select values");

    let second = embedded
        .migrate(
            &client,
            "run-2",
            ferry_tests::companies_and_contacts_map(),
            37,
        )
        .await
        .report;
    assert!(second.is_balanced());
    for object in ["Account", "Contact"] {
        let counts = second.object(object).unwrap();
        // Unchanged records are recognised by their content hash and not sent again.
        assert_eq!(
            (counts.created, counts.updated, counts.unchanged),
            (0, 0, expected[object]),
            "{object}"
        );
    }
    let (companies_again, parents_again) = rows(&db, "companies", "parent_company_id");
    assert_eq!(
        companies_again, companies,
        "a re-run keeps every destination id"
    );
    assert_eq!(parents_again, parents);
    assert_eq!(rows(&db, "contacts", "company_id").1, contact_companies);
    simulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_to_objects_left_out_of_the_map_are_reported_per_record() {
    let simulator = start_org(300, 11).await;
    let client = connect(&simulator).await;
    let dir = tempfile::tempdir().unwrap();
    let embedded = Embedded::open(dir.path());
    let mut map = ferry_tests::companies_and_contacts_map();
    map.objects.remove("Account");

    let report = embedded
        .migrate(&client, "run-contacts-only", map, 500)
        .await
        .report;
    let contacts = query_all(&client, "SELECT Id, AccountId FROM Contact").await;
    let with_account: Vec<&str> = contacts
        .iter()
        .filter(|record| record["AccountId"].is_string())
        .map(|record| record["Id"].as_str().unwrap())
        .collect();
    let counts = report.object("Contact").unwrap();
    assert_eq!(counts.created, contacts.len() as u64);
    assert_eq!(counts.links_unresolved, with_account.len() as u64);
    let unresolved: Vec<&str> = report
        .issues
        .iter()
        .filter(|issue| issue.kind == IssueKind::UnresolvedLink)
        .map(|issue| {
            assert_eq!(issue.field.as_deref(), Some("AccountId"));
            assert!(
                issue.reason.contains("was not migrated"),
                "{}",
                issue.reason
            );
            issue.salesforce_id.as_deref().unwrap()
        })
        .collect();
    assert_eq!(unresolved, with_account);
    simulator.shutdown().await;
}

/// Salesforce archives old closed tasks and old events: `query` does not see them, only
/// `queryAll` does, which sees the recycle bin too. A full run lands every archived
/// activity and no deleted row, and its counts say so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archived_activities_land_and_deleted_rows_do_not() {
    use ferry_simulator::org::{INTEGRATION_USERNAME, Org};
    use ferry_simulator::schema::Generated;
    const RECORDS: u64 = 800;
    const SEED: u64 = 29;
    let simulator = start_org(RECORDS, SEED).await;
    let client = connect(&simulator).await;
    let dir = tempfile::tempdir().unwrap();
    let embedded = Embedded::open(dir.path());
    let mut config = embedded.config("run-archived", 200);
    config.map = ferry_model::mapping::FieldMap::builtin();
    config.default_owner = Some(INTEGRATION_USERNAME.to_owned());
    config.discover.objects = Some(
        [
            "User",
            "Account",
            "Contact",
            "Lead",
            "Opportunity",
            "Task",
            "Event",
        ]
        .map(str::to_owned)
        .to_vec(),
    );
    let report = embedded
        .migrate_with(&client, &config)
        .await
        .unwrap()
        .report;
    assert!(report.is_balanced(), "{report:?}");
    // Every record in Salesforce, counted exactly, has its outcome.
    assert!(
        report.is_complete(),
        "{:?}",
        report.salesforce_differences()
    );
    let org = Org::new(SEED, RECORDS);
    let db = embedded.destination_db();
    for (object, kind, table) in [
        ("Task", Generated::Task, "tasks"),
        ("Event", Generated::Event, "events"),
    ] {
        let landed: std::collections::HashSet<String> = db
            .prepare(&format!("SELECT source_id FROM {table} WHERE tenant = ?1"))
            .unwrap()
            .query_map([TENANT], |row| row.get::<_, String>(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        // A recurring series' main record lands as the series, not as one more activity.
        let series: std::collections::HashSet<String> = db
            .prepare("SELECT source_id FROM activity_series WHERE tenant = ?1 AND kind = ?2")
            .unwrap()
            .query_map([TENANT, object], |row| row.get::<_, String>(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let (mut archived, mut deleted, mut masters) = (0, 0, 0);
        for index in 0..org.count(kind) {
            let id = org.id(kind, index);
            let master =
                org.series_of(kind, index) == Some(ferry_simulator::org::SeriesRole::Master);
            if org.is_deleted(kind, index) {
                deleted += 1;
                assert!(!landed.contains(&id), "deleted {object} {id} landed");
            } else if master {
                masters += 1;
                assert!(series.contains(&id), "{object} series {id} did not land");
                assert!(
                    !landed.contains(&id),
                    "{object} series {id} landed as an activity"
                );
            } else {
                archived += u64::from(org.is_archived(kind, index));
                assert!(landed.contains(&id), "{object} {id} did not land");
            }
        }
        // (An org this small has too few events for a series.)
        assert!(
            masters > 0 || kind == Generated::Event,
            "{object}: the org has series"
        );
        // (An org this small has too few events for a deleted one.)
        assert!(
            archived > 0 && (deleted > 0 || kind == Generated::Event),
            "{object}: {archived} archived, {deleted} deleted"
        );
        let live = simulator.record_counts()[object] - masters;
        assert_eq!(landed.len() as u64, live, "{object}");
        let counts = report.object(object).unwrap();
        assert_eq!(
            (counts.in_salesforce, counts.extracted),
            (live, live),
            "{object}"
        );
        assert_eq!(counts.created + counts.skipped, live, "{object}");
    }
}
