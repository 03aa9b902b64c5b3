//! Nothing with data is left behind: a standard object the map does not name lands as
//! generic records (custom records keeping the object's name, every field a custom field of
//! the object, lookups to migrated records as custom links), and the plan says of every
//! object of the org where it goes or why it does not.

use ferry_core::steps::{DiscoverOptions, NO_RECORDS, discover};
use ferry_model::ids::TenantId;
use ferry_model::mapping::{EntityKind, FieldMap};
use ferry_simulator::org::INTEGRATION_USERNAME;
use ferry_tests::{Embedded, TENANT, connect, query_all, start_org};
use std::collections::{BTreeMap, HashMap};

const RECORDS: u64 = 600;
const SEED: u64 = 41;

/// Destination row ids by Salesforce id, for one table.
fn rows(db: &rusqlite::Connection, sql: &str) -> HashMap<String, i64> {
    let mut statement = db.prepare(sql).unwrap();
    statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standard_object_the_map_does_not_name_lands_as_generic_records_with_its_fields_and_links()
 {
    let simulator = start_org(RECORDS, SEED).await;
    let client = connect(&simulator).await;
    let dir = tempfile::tempdir().unwrap();
    let embedded = Embedded::open(dir.path());
    // Opportunity is a standard object with data that this map does not name.
    let mut map = FieldMap::builtin();
    map.custom_objects = false;
    map.objects
        .retain(|name, _| name == "User" || name == "Account");
    let mut config = embedded.config("run-generic", 100);
    config.map = map;
    config.default_owner = Some(INTEGRATION_USERNAME.to_owned());
    config.discover.objects = Some(
        ["User", "Account", "Opportunity"]
            .map(str::to_owned)
            .to_vec(),
    );
    let ports = embedded.ports_with(
        &client,
        &embedded.store,
        &embedded.store,
        &embedded.destination,
    );
    let outcome = ferry_core::run::migrate(&ports, &config).await.unwrap();
    let report = &outcome.report;
    assert!(report.is_balanced(), "{report:?}");
    assert!(
        report.is_complete(),
        "{:?}",
        report.salesforce_differences()
    );
    let planned = outcome.discovery.plan.object("Opportunity").unwrap();
    assert_eq!(planned.entity, EntityKind::CustomRecord);

    let in_org = query_all(
        &client,
        "SELECT Id, Name, StageName, CloseDate, AccountId, OwnerId FROM Opportunity",
    )
    .await;
    assert!(!in_org.is_empty());
    let counts = report.object("Opportunity").unwrap();
    assert_eq!(counts.in_salesforce, in_org.len() as u64);
    assert_eq!(counts.created, in_org.len() as u64);
    assert_eq!(counts.verified, in_org.len() as u64);

    let db = rusqlite::Connection::open(dir.path().join("destination.db")).unwrap();
    let records = rows(
        &db,
        "SELECT source_id, id FROM custom_records WHERE source_object = 'Opportunity'",
    );
    let companies = rows(&db, "SELECT source_id, id FROM companies");
    assert_eq!(records.len(), in_org.len());
    let value = |record: i64, name: &str| -> Option<String> {
        db.query_row(
            "SELECT value FROM custom_field_values WHERE entity = 'custom_record' AND record_id = ?1 AND name = ?2",
            rusqlite::params![record, name],
            |row| row.get(0),
        )
        .ok()
    };
    let mut linked = 0;
    for opportunity in &in_org {
        let id = opportunity["Id"].as_str().unwrap();
        let row = records[id];
        let name: String = db
            .query_row(
                "SELECT name FROM custom_records WHERE id = ?1",
                [row],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(name, opportunity["Name"].as_str().unwrap(), "{id}");
        // Standard fields the map knows nothing of arrive as the object's custom fields.
        let stage = value(row, "opportunity_stagename").map(|v| {
            serde_json::from_str::<serde_json::Value>(&v).unwrap_or(serde_json::Value::String(v))
        });
        assert_eq!(
            stage.as_ref(),
            Some(&opportunity["StageName"]),
            "{id} StageName"
        );
        let close = value(row, "opportunity_closedate").map(|v| {
            serde_json::from_str::<serde_json::Value>(&v).unwrap_or(serde_json::Value::String(v))
        });
        assert_eq!(
            close.as_ref(),
            Some(&opportunity["CloseDate"]),
            "{id} CloseDate"
        );
        // A lookup to a migrated object resolves to the record it landed as.
        let account: Option<i64> = db
            .query_row(
                "SELECT target_id FROM custom_links WHERE entity = 'custom_record' AND record_id = ?1 AND name = 'opportunity_accountid'",
                [row],
                |row| row.get(0),
            )
            .ok();
        let expected = opportunity["AccountId"]
            .as_str()
            .map(|account| companies[account]);
        assert_eq!(account, expected, "{id} AccountId");
        linked += usize::from(expected.is_some());
    }
    assert!(linked > 0);
    simulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plan_says_of_every_object_with_records_where_it_goes_or_why_not() {
    let simulator = start_org(RECORDS, SEED).await;
    let client = connect(&simulator).await;
    let discovery = discover(
        &client,
        TenantId::new(TENANT),
        &FieldMap::builtin(),
        &DiscoverOptions::default(),
    )
    .await
    .unwrap();
    // Every object of describeGlobal is planned or skipped, once.
    let mut placed: BTreeMap<String, String> = BTreeMap::new();
    for object in &discovery.plan.objects {
        let name = object.salesforce_object().to_owned();
        placed.insert(name, format!("lands as {}", object.entity));
    }
    for skipped in &discovery.skipped {
        assert!(
            placed
                .insert(skipped.name.clone(), skipped.reason.clone())
                .is_none(),
            "{} is both planned and skipped",
            skipped.name
        );
    }
    assert_eq!(placed.len(), discovery.objects_in_org);
    // An object that holds records is never left out for want of a map entry, nor said
    // to be empty.
    for (object, records) in simulator.record_counts() {
        let Some(placement) = placed.get(object) else {
            continue;
        };
        if *records > 0 {
            assert_ne!(placement, "not in the field map", "{object}");
            assert_ne!(placement, NO_RECORDS, "{object}");
        }
    }
    // Cases and campaigns are in no entry of the map this test was written against, and
    // land all the same.
    for object in ["Case", "Campaign", "CampaignMember"] {
        let planned = discovery
            .plan
            .objects
            .iter()
            .find(|planned| planned.object == object)
            .unwrap_or_else(|| panic!("{object}: {:?}", placed.get(object)));
        assert_eq!(
            planned.in_salesforce,
            simulator.record_counts()[object],
            "{object}"
        );
    }
    simulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_object_the_map_does_not_name_whose_records_are_all_deleted_is_said_to_hold_none() {
    let simulator = start_org(RECORDS, SEED).await;
    let client = connect(&simulator).await;
    let mut map = FieldMap::builtin();
    map.objects
        .retain(|name, _| name == "User" || name == "Account");
    let options = DiscoverOptions {
        objects: Some(
            ["User", "Account", "Opportunity"]
                .map(str::to_owned)
                .to_vec(),
        ),
        ..DiscoverOptions::default()
    };
    let tenant = TenantId::new(TENANT);
    let before = discover(&client, tenant.clone(), &map, &options)
        .await
        .unwrap();
    let live = before.plan.object("Opportunity").unwrap().in_salesforce;
    assert!(live > 0);
    // Every opportunity goes to the recycle bin: queryAll still sees them, none is live.
    let deleted = ferry_tests::mutate(&simulator, "Opportunity", 0, live).await;
    assert_eq!(deleted["deleted"].as_array().unwrap().len() as u64, live);
    let after = discover(&client, tenant, &map, &options).await.unwrap();
    assert!(after.plan.object("Opportunity").is_none());
    let skipped = after
        .skipped
        .iter()
        .find(|skipped| skipped.name == "Opportunity")
        .unwrap();
    assert_eq!(skipped.reason, NO_RECORDS);
    simulator.shutdown().await;
}
