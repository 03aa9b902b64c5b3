//! Queues and inactive users as Salesforce documents them: `Group` records (key prefix
//! `00G`) of `Type` `Queue` own leads and cases (`OwnerId` is a reference to Group or
//! User), `QueueSobject` says which objects each queue may own, public groups (`Regular`)
//! own nothing, a converted lead is always a user's, and inactive users keep what they own.

mod common;

use common::{TestResult, access_token, all_pages, get, query_path, start};
use ferry_simulator::{RunningSimulator, SimulatorConfig};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

const RECORDS: u64 = 3000;
const SEED: u64 = 23;

async fn sim() -> Result<RunningSimulator, Box<dyn std::error::Error>> {
    start(SimulatorConfig {
        records: RECORDS,
        seed: SEED,
        ..SimulatorConfig::default()
    })
    .await
}

async fn rows(
    client: &reqwest::Client,
    sim: &RunningSimulator,
    token: &str,
    soql: &str,
) -> Result<Vec<Value>, Box<dyn std::error::Error>> {
    Ok(all_pages(client, sim, token, soql, None)
        .await?
        .iter()
        .flat_map(|page| page["records"].as_array().cloned().unwrap_or_default())
        .collect())
}

fn text<'a>(row: &'a Value, field: &str) -> &'a str {
    row[field].as_str().unwrap_or_default()
}

#[tokio::test]
async fn queues_own_leads_and_cases_and_public_groups_own_nothing() -> TestResult {
    let sim = sim().await?;
    let client = reqwest::Client::new();
    let token = access_token(&client, &sim).await?;

    // describeGlobal lists Group and QueueSobject, queryable, with their key prefixes.
    let (status, _, global) =
        get(&client, &sim, &token, "/services/data/v59.0/sobjects", None).await?;
    assert_eq!(status, 200);
    let listed = |name: &str| {
        global["sobjects"]
            .as_array()
            .and_then(|all| all.iter().find(|o| o["name"] == name).cloned())
    };
    let group = listed("Group").ok_or("describeGlobal lacks Group")?;
    assert_eq!(group["keyPrefix"], "00G");
    assert_eq!(group["queryable"], true);
    let queue_sobject = listed("QueueSobject").ok_or("describeGlobal lacks QueueSobject")?;
    assert_eq!(queue_sobject["keyPrefix"], "03g");
    let (status, _, lead) = get(
        &client,
        &sim,
        &token,
        "/services/data/v59.0/sobjects/Lead/describe",
        None,
    )
    .await?;
    assert_eq!(status, 200);
    let owner = lead["fields"]
        .as_array()
        .and_then(|fields| fields.iter().find(|f| f["name"] == "OwnerId"))
        .ok_or("Lead.OwnerId")?;
    assert_eq!(owner["referenceTo"], serde_json::json!(["Group", "User"]));
    assert_eq!(owner["polymorphicForeignKey"], true);

    let groups = rows(
        &client,
        &sim,
        &token,
        "SELECT Id, Name, DeveloperName, Type, Email FROM Group",
    )
    .await?;
    let queues: BTreeMap<String, String> = groups
        .iter()
        .filter(|g| text(g, "Type") == "Queue")
        .map(|g| (text(g, "Id").to_owned(), text(g, "Name").to_owned()))
        .collect();
    let regular: BTreeSet<String> = groups
        .iter()
        .filter(|g| text(g, "Type") == "Regular")
        .map(|g| text(g, "Id").to_owned())
        .collect();
    assert!(queues.len() >= 3 && regular.len() >= 2, "{groups:?}");
    assert!(
        groups
            .iter()
            .all(|g| text(g, "Id").starts_with("00G") && !text(g, "DeveloperName").is_empty())
    );
    assert!(
        groups
            .iter()
            .any(|g| text(g, "Type") == "Queue" && g["Email"].is_string())
    );

    // Which objects each queue may own.
    let sobjects = rows(
        &client,
        &sim,
        &token,
        "SELECT QueueId, SobjectType FROM QueueSobject",
    )
    .await?;
    let mut owns: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for row in &sobjects {
        owns.entry(text(row, "QueueId"))
            .or_default()
            .insert(text(row, "SobjectType"));
    }
    assert!(
        owns.keys().all(|queue| queues.contains_key(*queue)),
        "{owns:?}"
    );
    assert_eq!(owns.len(), queues.len());

    // A share of unconverted leads is a queue's; no converted lead is; queues own only
    // what their QueueSobject rows allow; public groups own nothing.
    let leads = rows(
        &client,
        &sim,
        &token,
        "SELECT Id, OwnerId, Owner.Name, IsConverted FROM Lead",
    )
    .await?;
    let unconverted: Vec<&Value> = leads.iter().filter(|l| l["IsConverted"] == false).collect();
    let queued: Vec<&Value> = leads
        .iter()
        .filter(|l| text(l, "OwnerId").starts_with("00G"))
        .collect();
    assert!(queued.iter().all(|l| l["IsConverted"] == false));
    let share = queued.len() * 100 / unconverted.len().max(1);
    assert!(
        (10..=22).contains(&share),
        "{} of {} unconverted leads queued",
        queued.len(),
        unconverted.len()
    );
    for lead in &queued {
        let queue = text(lead, "OwnerId");
        assert!(
            owns.get(queue)
                .is_some_and(|objects| objects.contains("Lead")),
            "{lead}"
        );
        assert_eq!(
            lead["Owner"]["Name"].as_str(),
            queues.get(queue).map(String::as_str)
        );
        assert!(!regular.contains(queue));
    }
    let (status, _, counted) = get(
        &client,
        &sim,
        &token,
        &query_path("SELECT COUNT() FROM Lead WHERE IsConverted = false"),
        None,
    )
    .await?;
    assert_eq!(status, 200);
    assert_eq!(
        counted["totalSize"].as_u64(),
        Some(unconverted.len() as u64)
    );

    let cases = rows(&client, &sim, &token, "SELECT Id, OwnerId FROM Case").await?;
    let queued_cases: Vec<&Value> = cases
        .iter()
        .filter(|c| text(c, "OwnerId").starts_with("00G"))
        .collect();
    let share = queued_cases.len() * 100 / cases.len().max(1);
    assert!(
        (25..=42).contains(&share),
        "{} of {} cases queued",
        queued_cases.len(),
        cases.len()
    );
    assert!(queued_cases.iter().all(|c| {
        owns.get(text(c, "OwnerId"))
            .is_some_and(|o| o.contains("Case"))
    }));
    Ok(())
}

#[tokio::test]
async fn inactive_users_keep_owning_records() -> TestResult {
    let sim = sim().await?;
    let client = reqwest::Client::new();
    let token = access_token(&client, &sim).await?;
    let users = rows(&client, &sim, &token, "SELECT Id, IsActive FROM User").await?;
    let inactive: BTreeSet<&str> = users
        .iter()
        .filter(|u| u["IsActive"] == false)
        .map(|u| text(u, "Id"))
        .collect();
    assert!(!inactive.is_empty() && inactive.len() < users.len());
    let leads = rows(
        &client,
        &sim,
        &token,
        "SELECT Id, OwnerId, Owner.IsActive FROM Lead",
    )
    .await?;
    let owned: Vec<&Value> = leads
        .iter()
        .filter(|l| inactive.contains(text(l, "OwnerId")))
        .collect();
    assert!(!owned.is_empty());
    assert!(owned.iter().all(|l| l["Owner"]["IsActive"] == false));
    // A queue is no user: the Name entity's IsActive is null for it.
    assert!(
        leads
            .iter()
            .filter(|l| text(l, "OwnerId").starts_with("00G"))
            .all(|l| l["Owner"]["IsActive"].is_null())
    );
    Ok(())
}
