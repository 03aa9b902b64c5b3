//! Recurring series and Enhanced Email over the wire: the recurrence fields of tasks and
//! events, the series' main records and occurrences, every email's companion task and its
//! relations, as queryAll returns them.

mod common;

use common::{TestResult, access_token, get, query_path, start};
use ferry_simulator::SimulatorConfig;
use serde_json::Value;
use std::collections::BTreeMap;

fn org() -> SimulatorConfig {
    SimulatorConfig {
        records: 6000,
        ..SimulatorConfig::default()
    }
}

async fn rows(
    client: &reqwest::Client,
    sim: &ferry_simulator::RunningSimulator,
    token: &str,
    soql: &str,
) -> Result<Vec<Value>, Box<dyn std::error::Error>> {
    // queryAll: archived activities and deleted rows too, so every email finds its task.
    let mut records = Vec::new();
    let mut path = query_path(soql).replace("/query?", "/queryAll?");
    loop {
        let (status, _, page) = get(client, sim, token, &path, None).await?;
        assert_eq!(status, 200, "{soql}: {page}");
        records.extend(page["records"].as_array().cloned().unwrap_or_default());
        match page["nextRecordsUrl"].as_str() {
            Some(next) => path = next.to_owned(),
            None => return Ok(records),
        }
    }
}

async fn count(
    client: &reqwest::Client,
    sim: &ferry_simulator::RunningSimulator,
    token: &str,
    soql: &str,
) -> Result<u64, Box<dyn std::error::Error>> {
    let path = query_path(soql).replace("/query?", "/queryAll?");
    let (status, _, body) = get(client, sim, token, &path, None).await?;
    assert_eq!(status, 200, "{soql}: {body}");
    Ok(body["totalSize"].as_u64().unwrap_or_default())
}

fn field_names(describe: &Value) -> Vec<String> {
    describe["fields"]
        .as_array()
        .map(|fields| {
            fields
                .iter()
                .filter_map(|f| f["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn tasks_and_events_describe_the_recurrence_fields_after_their_own() -> TestResult {
    let sim = start(org()).await?;
    let client = reqwest::Client::new();
    let token = access_token(&client, &sim).await?;
    for (object, start_field, last) in [
        (
            "Task",
            "RecurrenceStartDateOnly",
            "RecurrenceRegeneratedType",
        ),
        ("Event", "RecurrenceStartDateTime", "RecurrenceMonthOfYear"),
    ] {
        let path = format!("/services/data/v59.0/sobjects/{object}/describe");
        let (status, _, describe) = get(&client, &sim, &token, &path, None).await?;
        assert_eq!(status, 200);
        let names = field_names(&describe);
        let archived = names.iter().position(|n| n == "IsArchived");
        let series = names.iter().position(|n| n == "RecurrenceActivityId");
        assert_eq!(series, archived.map(|a| a + 1), "{object}: {names:?}");
        assert!(
            names.iter().any(|n| n == start_field),
            "{object}: {names:?}"
        );
        assert_eq!(names.last().map(String::as_str), Some(last), "{object}");
        let fields = describe["fields"].as_array().cloned().unwrap_or_default();
        let reference = fields
            .iter()
            .find(|f| f["name"] == "RecurrenceActivityId")
            .cloned()
            .unwrap_or_default();
        assert_eq!(reference["referenceTo"], serde_json::json!([object]));
        assert_eq!(reference["updateable"], false);
    }
    Ok(())
}

#[tokio::test]
async fn a_series_is_a_main_record_with_the_rule_and_occurrences_naming_it() -> TestResult {
    let sim = start(org()).await?;
    let client = reqwest::Client::new();
    let token = access_token(&client, &sim).await?;
    for object in ["Task", "Event"] {
        let soql = format!(
            "SELECT Id, IsRecurrence, RecurrenceActivityId, RecurrenceType, \
             RecurrenceInterval, RecurrenceEndDateOnly FROM {object}"
        );
        let records = rows(&client, &sim, &token, &soql).await?;
        let masters: Vec<&Value> = records
            .iter()
            .filter(|r| r["IsRecurrence"] == true)
            .collect();
        assert!(masters.len() >= 2, "{object}: {} series", masters.len());
        let mut occurrences: BTreeMap<String, usize> = BTreeMap::new();
        for record in &records {
            let series = record["RecurrenceActivityId"].as_str();
            if record["IsRecurrence"] == true {
                // Salesforce names the main record in its own RecurrenceActivityId.
                assert_eq!(series, record["Id"].as_str(), "{record}");
                assert!(record["RecurrenceType"].is_string(), "{record}");
                assert!(record["RecurrenceInterval"].as_i64() >= Some(1), "{record}");
                assert!(record["RecurrenceEndDateOnly"].is_string(), "{record}");
            } else {
                // An occurrence carries no rule.
                assert!(record["RecurrenceType"].is_null(), "{record}");
                if let Some(series) = series {
                    *occurrences.entry(series.to_owned()).or_default() += 1;
                }
            }
        }
        for master in &masters {
            let id = master["Id"].as_str().unwrap_or_default();
            assert_eq!(occurrences.get(id), Some(&4), "{object} {id}");
        }
        assert_eq!(occurrences.len(), masters.len(), "{object}");
        // SOQL filters on the flag, as the variant of a plan does.
        let masters_counted = count(
            &client,
            &sim,
            &token,
            &format!("SELECT COUNT() FROM {object} WHERE IsRecurrence = true"),
        )
        .await?;
        let visible = records.len() as u64;
        assert!(masters_counted > 0 && masters_counted < visible);
    }
    Ok(())
}

#[tokio::test]
async fn every_email_has_a_companion_task_and_its_relations() -> TestResult {
    let sim = start(org()).await?;
    let client = reqwest::Client::new();
    let token = access_token(&client, &sim).await?;
    let emails = rows(
        &client,
        &sim,
        &token,
        "SELECT Id, Subject, ParentId, RelatedToId, ActivityId FROM EmailMessage",
    )
    .await?;
    let tasks: BTreeMap<String, Value> = rows(
        &client,
        &sim,
        &token,
        "SELECT Id, Subject, WhoId, WhatId, TaskSubtype, IsClosed FROM Task",
    )
    .await?
    .into_iter()
    .filter_map(|t| Some((t["Id"].as_str()?.to_owned(), t)))
    .collect();
    let relations = rows(
        &client,
        &sim,
        &token,
        "SELECT Id, EmailMessageId, RelationId, RelationObjectType, RelationType, \
         RelationAddress FROM EmailMessageRelation",
    )
    .await?;
    assert!(!emails.is_empty());
    assert_eq!(relations.len(), emails.len() * 2);
    let mut by_email: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for relation in &relations {
        assert!(
            relation["Id"]
                .as_str()
                .is_some_and(|id| id.starts_with("0CZ")),
            "{relation}"
        );
        let email = relation["EmailMessageId"].as_str().unwrap_or_default();
        by_email.entry(email.to_owned()).or_default().push(relation);
    }
    for email in &emails {
        let id = email["Id"].as_str().unwrap_or_default();
        let task_id = email["ActivityId"].as_str().unwrap_or_default();
        let task = tasks.get(task_id).cloned().unwrap_or_default();
        assert_eq!(task["TaskSubtype"], "Email", "{email} {task}");
        assert_eq!(task["Subject"], email["Subject"], "{email} {task}");
        assert_eq!(task["IsClosed"], true);
        if email["ParentId"].is_null() {
            assert_eq!(task["WhatId"], email["RelatedToId"], "{email} {task}");
        }
        let relations = by_email.get(id).cloned().unwrap_or_default();
        let types: Vec<&str> = relations
            .iter()
            .filter_map(|r| r["RelationType"].as_str())
            .collect();
        assert!(
            types.contains(&"FromAddress") && types.contains(&"ToAddress"),
            "{types:?}"
        );
        let contact = relations
            .iter()
            .find(|r| r["RelationObjectType"] == "Contact")
            .map(|r| r["RelationId"].clone())
            .unwrap_or_default();
        assert_eq!(task["WhoId"], contact, "{email} {task}");
        assert!(
            relations.iter().any(|r| r["RelationObjectType"] == "User"
                && r["RelationId"]
                    .as_str()
                    .is_some_and(|u| u.starts_with("005"))),
            "{relations:?}"
        );
    }
    // The companion tasks are Task rows, counted like the rest.
    let all = count(&client, &sim, &token, "SELECT COUNT() FROM Task").await?;
    assert_eq!(all, tasks.len() as u64);
    Ok(())
}
