//! `ferry plan` against the simulated org: discovery as a user runs it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use ferry_core::secret::Secret;
use ferry_simulator::{RunningSimulator, SimulatorConfig};
use serde_json::Value;
use std::process::{Command, Output};
use std::time::Duration;

const FERRY: &str = env!("CARGO_BIN_EXE_ferry");

async fn start(records: u64) -> RunningSimulator {
    ferry_simulator::serve(
        SimulatorConfig {
            records,
            ..SimulatorConfig::default()
        },
        ([127, 0, 0, 1], 0).into(),
    )
    .await
    .unwrap()
}

async fn access_token(simulator: &RunningSimulator) -> String {
    let credentials = simulator.credentials();
    let http = ferry_salesforce::http_client(&[], Duration::from_secs(30)).unwrap();
    let token = ferry_salesforce::oauth::refresh_grant(
        &http,
        simulator.login_url(),
        &credentials.client_id,
        Some(&Secret::new(credentials.client_secret.clone())),
        &Secret::new(credentials.refresh_token.clone()),
    )
    .await
    .unwrap();
    token.access_token.expose().to_owned()
}

fn host(simulator: &RunningSimulator) -> String {
    simulator
        .base_url()
        .trim_start_matches("http://")
        .to_owned()
}

/// Runs `ferry plan` with the token in the environment, off the async runtime.
async fn plan(simulator: &RunningSimulator, extra: &[&str], allow: bool) -> Output {
    let token = access_token(simulator).await;
    let mut args = vec![
        "plan".to_owned(),
        "--instance-url".to_owned(),
        simulator.base_url().to_owned(),
    ];
    if allow {
        args.push("--allow-host".to_owned());
        args.push(host(simulator));
    }
    args.extend(extra.iter().map(|a| (*a).to_owned()));
    tokio::task::spawn_blocking(move || {
        Command::new(FERRY)
            .args(&args)
            .env("FERRY_ACCESS_TOKEN", token)
            .env_remove("FERRY_ALLOWED_HOSTS")
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

fn describe_fields(object: &str) -> Vec<String> {
    ferry_simulator::schema::object(object)
        .unwrap()
        .fields
        .iter()
        .map(|field| field.name.to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_json_accounts_for_every_object_and_field_of_the_org() {
    let simulator = start(2_000).await;
    let output = plan(&simulator, &["--json"], true).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let document: Value = serde_json::from_slice(&output.stdout).unwrap();

    // Every object of describeGlobal is either planned or left out with a reason.
    let planned: Vec<&str> = document["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    let skipped = document["skipped_objects"].as_array().unwrap();
    for object in ferry_simulator::schema::objects() {
        let in_plan = planned.contains(&object.name);
        let left_out = skipped.iter().find(|s| s["name"] == object.name);
        assert!(
            in_plan ^ left_out.is_some(),
            "{} must be planned or left out, not both or neither",
            object.name
        );
        if let Some(left_out) = left_out {
            assert!(
                !left_out["reason"].as_str().unwrap().is_empty(),
                "{}",
                object.name
            );
        }
    }
    assert_eq!(
        document["objects_in_org"],
        ferry_simulator::schema::objects().len()
    );

    // Each planned object lists every field of its describe, with a destination.
    for object in document["objects"].as_array().unwrap() {
        let name = object["name"].as_str().unwrap();
        assert_eq!(object["records"], simulator.record_counts()[name], "{name}");
        let fields: Vec<&str> = object["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap())
            .collect();
        assert_eq!(fields, describe_fields(name), "{name}");
        for field in object["fields"].as_array().unwrap() {
            let kind = field["goes_to"]["kind"].as_str().unwrap();
            let field_name = field["name"].as_str().unwrap();
            match kind {
                "source_id" => assert_eq!(field_name, "Id"),
                "standard" | "link" | "custom" => assert!(field["goes_to"]["field"].is_string()),
                "skipped" => assert!(!field["goes_to"]["reason"].as_str().unwrap().is_empty()),
                other => panic!("{name}.{field_name}: unknown destination kind {other}"),
            }
            if field_name.ends_with("__c") && kind != "skipped" {
                assert_eq!(kind, "custom", "{name}.{field_name}");
            }
        }
    }
    let account = document["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "Account")
        .unwrap();
    let contact = document["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "Contact")
        .unwrap();
    assert!(
        account["phase"].as_u64() < contact["phase"].as_u64(),
        "companies load before contacts"
    );
    let link = contact["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "AccountId")
        .unwrap();
    assert_eq!(link["goes_to"]["kind"], "link");
    assert_eq!(link["goes_to"]["target_object"], "Account");

    let budget = &document["budget"];
    assert_eq!(budget["limit"], 100_000);
    assert!(budget["used"].as_u64().unwrap() > 0);
    assert_eq!(budget["sufficient"], true);
    assert!(budget["estimated_calls"].as_u64().unwrap() >= 2);
    simulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_refuses_unlisted_hosts_and_unknown_objects_with_clear_messages() {
    let simulator = start(200).await;
    let output = plan(&simulator, &[], false).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("refusing instance URL") && stderr.contains("FERRY_ALLOWED_HOSTS"),
        "{stderr}"
    );

    let output = plan(&simulator, &["--objects", "Account,Xyzzy__c"], true).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("Xyzzy__c: the org has no such object"),
        "{stderr}"
    );

    let output = plan(&simulator, &["--objects", "Account"], true).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("Account (Account) -> company, phase 1"),
        "{stdout}"
    );
    assert!(!stdout.contains("Contact (Contact)"), "{stdout}");
    assert!(
        stdout.lines().any(|line| line.trim_start().starts_with("Contact ") && line.ends_with("not selected")),
        "{stdout}"
    );
    simulator.shutdown().await;
}
