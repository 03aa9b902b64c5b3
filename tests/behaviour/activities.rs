//! Recurring series and Enhanced Email (issue 15): a series' main record is the series, not
//! one more activity, and each occurrence lands once linked to it; an email lands once, as
//! its conversation, and its companion task is not a second record.

use ferry_core::run::RunConfig;
use ferry_core::steps::{DiscoverOptions, ExtractConfig};
use ferry_model::ids::{RunId, TenantId};
use ferry_model::mapping::FieldMap;
use ferry_model::model::SourceRecord;
use ferry_model::report::IssueKind;
use ferry_tests::{Embedded, TENANT, connect, start_org};
use std::collections::{BTreeMap, BTreeSet};

fn config(run: &str, bulk_threshold: u64) -> RunConfig {
    RunConfig {
        concurrency: Default::default(),
        tenant: TenantId::new(TENANT),
        run_id: RunId::new(run),
        map: FieldMap::builtin(),
        extract: ExtractConfig {
            chunk_records: 97,
            bulk_threshold,
            ..ExtractConfig::default()
        },
        discover: DiscoverOptions::default(),
        pseudonymise: None,
        validation: Default::default(),
        default_owner: None,
        merge_leads_by_email: false,
    }
}

/// Every live record of a SOQL query through queryAll (archived activities included).
async fn query_all(client: &ferry_salesforce::SalesforceClient, soql: &str) -> Vec<SourceRecord> {
    let mut page = client.query_all(soql).await.unwrap();
    let mut records = std::mem::take(&mut page.records);
    while let Some(next) = page.next.take() {
        page = client.query_more(&next).await.unwrap();
        records.append(&mut page.records);
    }
    records
        .into_iter()
        .filter(|r| r.get("IsDeleted").and_then(|v| v.as_bool()) != Some(true))
        .collect()
}

fn text(record: &SourceRecord, field: &str) -> Option<String> {
    record
        .get(field)
        .and_then(|v| v.as_str())
        .map(str::to_owned)
}

/// (source object, Salesforce id) of every row of `table`, with the values of `columns`.
fn rows(
    db: &rusqlite::Connection,
    table: &str,
    columns: &[&str],
) -> BTreeMap<(String, String), Vec<Option<String>>> {
    let select = if columns.is_empty() {
        String::new()
    } else {
        format!(
            ", {}",
            columns
                .iter()
                .map(|c| format!("CAST({c} AS TEXT)"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let mut statement = db
        .prepare(&format!(
            "SELECT source_object, source_id{select} FROM {table} WHERE tenant = ?1"
        ))
        .unwrap();
    statement
        .query_map([TENANT], |row| {
            let values = (0..columns.len())
                .map(|i| row.get::<_, Option<String>>(i + 2))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(((row.get(0)?, row.get(1)?), values))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// The destination id of each row of `table`, by (source object, Salesforce id).
fn ids(db: &rusqlite::Connection, table: &str) -> BTreeMap<(String, String), String> {
    rows(db, table, &["id"])
        .into_iter()
        .map(|(key, values)| (key, values[0].clone().unwrap_or_default()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_series_lands_once_as_its_rule_and_each_occurrence_links_to_it() {
    series_land_once(config(
        "run-series",
        ExtractConfig::default().bulk_threshold,
    ))
    .await;
}

/// The same through Bulk API 2.0, whose CSV pages carry `IsRecurrence` as text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_series_lands_once_through_bulk() {
    series_land_once(config("run-series-bulk", 1)).await;
}

async fn series_land_once(config: RunConfig) {
    let simulator = start_org(6000, 15).await;
    let client = connect(&simulator).await;
    let dir = tempfile::tempdir().unwrap();
    let embedded = Embedded::open(dir.path());

    let migration = embedded.migrate_with(&client, &config).await.unwrap();
    let report = &migration.report;
    assert!(report.is_balanced(), "{report:?}");
    assert!(
        report.is_complete(),
        "{:?}",
        report.salesforce_differences()
    );
    let db = embedded.destination_db();

    for (object, table, series_object) in [
        ("Task", "tasks", "TaskSeries"),
        ("Event", "events", "EventSeries"),
    ] {
        let records = query_all(
            &client,
            &format!(
                "SELECT Id, IsDeleted, IsRecurrence, RecurrenceActivityId, RecurrenceType, \
                 RecurrenceInterval FROM {object}"
            ),
        )
        .await;
        let masters: BTreeMap<String, SourceRecord> = records
            .iter()
            .filter(|r| r["IsRecurrence"] == true)
            .map(|r| (text(r, "Id").unwrap(), r.clone()))
            .collect();
        let occurrences: BTreeMap<String, String> = records
            .iter()
            .filter(|r| r["IsRecurrence"] != true)
            .filter_map(|r| Some((text(r, "Id")?, text(r, "RecurrenceActivityId")?)))
            .collect();
        assert!(masters.len() >= 2, "{object}: the org has series");
        assert_eq!(occurrences.len(), masters.len() * 4, "{object}");

        // No main record lands as an activity; each is one series row with its rule.
        let activities = rows(&db, table, &["series_id"]);
        for id in masters.keys() {
            assert!(
                !activities.contains_key(&(object.to_owned(), id.clone())),
                "{object} {id} landed as an activity"
            );
        }
        let series = rows(
            &db,
            "activity_series",
            &["recurrence_type", "recurrence_interval", "kind"],
        );
        let series_ids = ids(&db, "activity_series");
        for (id, master) in &masters {
            // A variant's rows keep their Salesforce object, as person accounts do.
            let landed = &series[&(object.to_owned(), id.clone())];
            assert_eq!(landed[0], text(master, "RecurrenceType"), "{id}");
            assert_eq!(
                landed[1],
                master["RecurrenceInterval"].as_i64().map(|n| n.to_string()),
                "{id}"
            );
            assert_eq!(landed[2].as_deref(), Some(object), "{id}");
        }
        let counts = report.object(series_object).unwrap();
        assert_eq!(
            (counts.in_salesforce, counts.created, counts.failed),
            (masters.len() as u64, masters.len() as u64, 0),
            "{series_object}"
        );
        // Every occurrence lands once, linked to its series.
        for (id, master) in &occurrences {
            let landed = &activities[&(object.to_owned(), id.clone())];
            assert_eq!(
                landed[0].as_ref(),
                series_ids.get(&(object.to_owned(), master.clone())),
                "{object} {id}"
            );
        }
        let counts = report.object(object).unwrap();
        assert_eq!(counts.mismatched, 0, "{object}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_lands_once_as_its_conversation_with_the_links_of_its_task() {
    let simulator = start_org(3000, 16).await;
    let client = connect(&simulator).await;
    let dir = tempfile::tempdir().unwrap();
    let embedded = Embedded::open(dir.path());
    let config = config("run-emails", ExtractConfig::default().bulk_threshold);

    let emails = query_all(
        &client,
        "SELECT Id, IsDeleted, ActivityId, RelatedToId FROM EmailMessage",
    )
    .await;
    let tasks: BTreeMap<String, SourceRecord> = query_all(
        &client,
        "SELECT Id, IsDeleted, WhoId, WhatId, TaskSubtype, IsRecurrence FROM Task",
    )
    .await
    .into_iter()
    .map(|t| (text(&t, "Id").unwrap(), t))
    .collect();
    let companions: BTreeMap<String, String> = emails
        .iter()
        .map(|e| (text(e, "ActivityId").unwrap(), text(e, "Id").unwrap()))
        .collect();
    assert!(companions.len() > 20);
    // Tasks logged as emails without an EmailMessage stay tasks.
    let logged = tasks
        .iter()
        .filter(|(id, t)| t["TaskSubtype"] == "Email" && !companions.contains_key(*id))
        .count();
    assert!(logged > 0);

    let migration = embedded.migrate_with(&client, &config).await.unwrap();
    let report = &migration.report;
    assert!(report.is_balanced(), "{report:?}");
    assert!(
        report.is_complete(),
        "{:?}",
        report.salesforce_differences()
    );

    let db = embedded.destination_db();
    let landed_tasks = ids(&db, "tasks");
    for task in companions.keys() {
        assert!(
            !landed_tasks.contains_key(&("Task".to_owned(), task.clone())),
            "the companion task {task} landed as a task"
        );
    }
    // Each companion task is counted skipped, with the reason: its email stands for it.
    let skipped: BTreeMap<String, String> = report
        .issues
        .iter()
        .filter(|i| i.kind == IssueKind::Skipped && i.object.starts_with("Task"))
        .filter_map(|i| Some((i.salesforce_id.clone()?, i.reason.clone())))
        .collect();
    for task in companions.keys() {
        let reason = skipped.get(task).cloned().unwrap_or_default();
        assert!(
            reason.contains("replaced by its EmailMessage"),
            "{task}: {reason}"
        );
    }
    let task_counts = report.object("Task").unwrap();
    assert_eq!(task_counts.skipped, companions.len() as u64);
    // Its ID-map entry points at the conversation, so links to it resolve there.
    let conversation_ids = ids(&db, "conversations");
    let entries: BTreeMap<String, String> = {
        let store = rusqlite::Connection::open(dir.path().join("ferry.db")).unwrap();
        let mut statement = store
            .prepare("SELECT salesforce_id, destination_id FROM id_map WHERE object = 'Task'")
            .unwrap();
        statement
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    for (task, email) in &companions {
        assert_eq!(
            entries.get(task),
            conversation_ids.get(&("EmailMessage".to_owned(), email.clone())),
            "{task}"
        );
    }
    // Each email is one conversation with its task's who and what.
    let conversations = rows(
        &db,
        "conversations",
        &["contact_id", "company_id", "opportunity_id"],
    );
    let contacts = ids(&db, "contacts");
    let companies = ids(&db, "companies");
    let opportunities = ids(&db, "opportunities");
    assert_eq!(conversations.len(), emails.len());
    let mut with_contact = 0;
    for email in &emails {
        let id = text(email, "Id").unwrap();
        let task = &tasks[&text(email, "ActivityId").unwrap()];
        let landed = &conversations[&("EmailMessage".to_owned(), id.clone())];
        let who = text(task, "WhoId").and_then(|c| contacts.get(&("Contact".to_owned(), c)));
        assert_eq!(landed[0].as_ref(), who, "{id}");
        with_contact += usize::from(who.is_some());
        let what = text(email, "RelatedToId");
        let company = what
            .clone()
            .and_then(|a| companies.get(&("Account".to_owned(), a)));
        let opportunity = what.and_then(|o| opportunities.get(&("Opportunity".to_owned(), o)));
        assert_eq!(landed[1].as_ref(), company, "{id}");
        assert_eq!(landed[2].as_ref(), opportunity, "{id}");
    }
    assert!(with_contact * 2 > emails.len(), "{with_contact}");
    // Nothing else about tasks changed: ordinary tasks, logged emails included, land.
    let skipped_tasks: BTreeSet<&String> = skipped.keys().collect();
    for (id, task) in &tasks {
        if !companions.contains_key(id) && task["IsRecurrence"] != true {
            assert!(!skipped_tasks.contains(id), "{id}");
        }
    }
}
