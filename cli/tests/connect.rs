//! `ferry login`, `ferry connections` and `ferry plan` against the simulated org, as a user runs them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use ferry_simulator::{RunningSimulator, SimulatorConfig};
use serde_json::Value;
use std::process::Command;
use std::time::Duration;

mod common;

use common::*;

/// The simulator's org here has no optional feature: what a feature adds is not described.
fn org_features() -> ferry_simulator::schema::Features {
    ferry_simulator::schema::Features::default()
}

/// Every object the org's describeGlobal lists.
fn org_objects() -> impl Iterator<Item = &'static ferry_simulator::schema::ObjectDef> {
    ferry_simulator::schema::objects()
        .iter()
        .filter(|object| org_features().allows(object.feature))
}

fn describe_fields(object: &str) -> Vec<String> {
    ferry_simulator::schema::object(object)
        .unwrap()
        .fields
        .iter()
        .filter(|field| org_features().allows(field.feature))
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
    for object in org_objects() {
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
    assert_eq!(document["objects_in_org"], org_objects().count());

    // A single-currency org: its currency, read from Organization, is every amount's.
    let currency =
        ferry_simulator::org::Org::new(SimulatorConfig::default().seed, 2_000).corporate_currency();
    assert_eq!(document["currencies"]["default"], currency);
    assert_eq!(document["currencies"]["multi_currency"], false);
    for object in document["objects"].as_array().unwrap() {
        let expected = match object["destination"].as_str().unwrap() {
            "company" | "contact" | "opportunity" | "custom_record" | "price_book_entry"
            | "line_item" | "campaign" | "contract" | "order" | "order_item" | "quote"
            | "quote_line_item" | "asset" => {
                serde_json::json!({"from": "constant", "code": currency})
            }
            _ => Value::Null,
        };
        assert_eq!(object["currency"], expected, "{}", object["name"]);
    }

    // Each planned object lists every field of its describe, with a destination.
    let planned: Vec<(String, u64)> = document["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|object| {
            (
                object["name"].as_str().unwrap().to_owned(),
                object["records"].as_u64().unwrap(),
            )
        })
        .collect();
    check_counts(&simulator, &planned);
    for object in document["objects"].as_array().unwrap() {
        let name = object["name"].as_str().unwrap();
        let fields: Vec<&str> = object["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap())
            .collect();
        // A series' main records are a variant of their object (`TaskSeries` of `Task`).
        let described = match ferry_simulator::schema::object(name) {
            Some(_) => name,
            None => name.strip_suffix("Series").unwrap_or(name),
        };
        assert_eq!(fields, describe_fields(described), "{name}");
        for field in object["fields"].as_array().unwrap() {
            let kind = field["goes_to"]["kind"].as_str().unwrap();
            let field_name = field["name"].as_str().unwrap();
            match kind {
                "source_id" => assert_eq!(field_name, "Id"),
                "standard" | "link" | "custom" => assert!(field["goes_to"]["field"].is_string()),
                "skipped" => assert!(!field["goes_to"]["reason"].as_str().unwrap().is_empty()),
                other => panic!("{name}.{field_name}: unknown destination kind {other}"),
            }
            // Custom fields become custom fields, custom lookups links, unless the map names
            // them (a knowledge article's `Answer__c` is its body).
            let mapped = ferry_model::mapping::FieldMap::builtin()
                .objects
                .get(name)
                .is_some_and(|map| map.fields.contains_key(field_name));
            if field_name.ends_with("__c") && kind != "skipped" && !mapped {
                let expected = if field["type"] == "reference" {
                    "link"
                } else {
                    "custom"
                };
                assert_eq!(kind, expected, "{name}.{field_name}");
            }
        }
    }
    let account = named(&document["objects"], "name", "Account");
    let contact = named(&document["objects"], "name", "Contact");
    assert!(
        account["phase"].as_u64() < contact["phase"].as_u64(),
        "companies load before contacts"
    );
    let city = named(&account["fields"], "name", "BillingCity");
    assert_eq!(city["goes_to"]["kind"], "standard", "{city}");
    assert_eq!(city["goes_to"]["field"], "billing_address.city");
    let link = named(&contact["fields"], "name", "AccountId");
    assert_eq!(link["goes_to"]["kind"], "link");
    assert_eq!(link["goes_to"]["target_object"], "Account");

    let users = &document["users"];
    assert_eq!(
        users["active"].as_u64().unwrap() + users["inactive"].as_u64().unwrap(),
        simulator.record_counts()["User"]
    );
    assert!(users["inactive"].as_u64().unwrap() > 0, "{users}");
    let kinds: Vec<&str> = document["not_migrated"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "apex_class",
            "apex_trigger",
            "flow",
            "validation_rule",
            "workflow_rule",
            "visualforce_page",
            "report",
            "dashboard"
        ]
    );
    for kind in document["not_migrated"].as_array().unwrap() {
        assert!(kind["error"].is_null(), "{kind}");
        assert!(kind["count"].as_u64().unwrap() > 0, "{kind}");
        assert_eq!(
            kind["items"].as_array().unwrap().len() as u64,
            kind["count"].as_u64().unwrap().min(200)
        );
    }
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

    // A name the org does not have is a mistake in the command line (exit status 2), named
    // with the closest object the org has; it is not a permission problem (4).
    let output = plan(
        &simulator,
        &["--objects", "Account,Xyzzy__c,Oportunity"],
        true,
    )
    .await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("Xyzzy__c: the org has no such object\n")
            && stderr
                .contains("Oportunity: the org has no such object (did you mean Opportunity?)"),
        "{stderr}"
    );

    // A map file naming an object or field the org lacks would map nothing (or, dropping a
    // misspelt object, leave the real one to land): refused before anything runs, each
    // mistake named with the closest name the org has.
    let dir = tempfile::tempdir().unwrap();
    let map_file = dir.path().join("map.json");
    std::fs::write(
        &map_file,
        r#"{"version":4,"objects":{"Csae":null,"Account":{"fields":{"Description":null,"Descripton":"description","Owner.Email":"website","Website":null}}}}"#,
    )
    .unwrap();
    let output = plan(&simulator, &["--map", map_file.to_str().unwrap()], true).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("Csae: the org has no such object (did you mean Case?)")
            && stderr.contains(
                "Account.Descripton: Account has no such field in this org (did you mean Description?)"
            )
            && !stderr.contains("Owner.Email:"),
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

/// Starts `ferry login` against the simulator and returns the child and the authorize URL
/// it printed.
fn start_login(
    simulator: &RunningSimulator,
    state_dir: &std::path::Path,
) -> (std::process::Child, String) {
    use std::io::BufRead as _;
    let credentials = simulator.credentials();
    let mut child = Command::new(FERRY)
        .args([
            "login",
            "--login-url",
            simulator.login_url(),
            "--client-id",
            &credentials.client_id,
        ])
        .args([
            "--client-secret",
            &credentials.client_secret,
            "--allow-host",
            &host(simulator),
        ])
        .args([
            "--port",
            "0",
            "--timeout",
            "60",
            "--name",
            "simorg",
            "--state-dir",
        ])
        .arg(state_dir)
        .env_remove("FERRY_ALLOWED_HOSTS")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (child, line.trim().to_owned())
}

/// What a browser does with the authorize URL: follow Salesforce's redirect to the
/// loopback callback, returning the callback's status.
async fn browse(authorize: &str, tamper_state: bool) -> u16 {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = http.get(authorize).send().await.unwrap();
    assert_eq!(response.status(), 302, "authorize redirects");
    let mut location = response.headers()["location"].to_str().unwrap().to_owned();
    if tamper_state {
        let (base, query) = location.split_once('?').unwrap();
        let forged: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(url::form_urlencoded::parse(query.as_bytes()).map(|(k, v)| {
                let v = if k == "state" { "forged".into() } else { v };
                (k.into_owned(), v.into_owned())
            }))
            .finish();
        location = format!("{base}?{forged}");
    }
    assert!(location.starts_with("http://localhost:"), "{location}");
    http.get(location).send().await.unwrap().status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_with_pkce_stores_an_encrypted_connection_that_plan_can_use() {
    let simulator = start(300).await;
    let state_dir = tempfile::tempdir().unwrap();
    let (child, authorize) = start_login(&simulator, state_dir.path());
    assert!(
        authorize.contains("code_challenge_method=S256") && authorize.contains("state="),
        "{authorize}"
    );
    assert_eq!(browse(&authorize, false).await, 200);
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let stored = std::fs::read_to_string(state_dir.path().join("connections.json")).unwrap();
    let stored: Value = serde_json::from_str(&stored).unwrap();
    let connection = &stored["connections"]["simorg"];
    assert!(
        connection["refresh_token_encrypted"].is_string(),
        "{stored}"
    );
    assert!(connection.get("refresh_token").is_none(), "{stored}");
    assert_eq!(connection["instance_url"], simulator.base_url());

    let dir = state_dir.path().to_owned();
    let listed = tokio::task::spawn_blocking(move || {
        Command::new(FERRY)
            .args(["connections", "--json", "--state-dir"])
            .arg(&dir)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(listed["connections"][0]["name"], "simorg");
    assert!(
        !listed.to_string().contains("encrypted"),
        "no secrets listed: {listed}"
    );

    let dir = state_dir.path().to_owned();
    let allow = host(&simulator);
    let plan = tokio::task::spawn_blocking(move || {
        Command::new(FERRY)
            // An exported access token does not get in the way of --connection.
            .env("FERRY_ACCESS_TOKEN", "an-unrelated-token")
            .args([
                "plan",
                "--connection",
                "simorg",
                "--json",
                "--allow-host",
                &allow,
                "--state-dir",
            ])
            .arg(&dir)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        plan.status.success(),
        "{}",
        String::from_utf8_lossy(&plan.stderr)
    );
    let document: Value = serde_json::from_slice(&plan.stdout).unwrap();
    assert_eq!(document["objects_in_org"], org_objects().count());

    // The org starts rotating refresh tokens. A command that fails after connecting still
    // keeps the rotated token, so the next command connects.
    simulator.set_faults(ferry_simulator::faults::Faults {
        rotate_refresh_tokens: true,
        ..Default::default()
    });
    let run_plan = |extra: &'static [&'static str]| {
        let dir = state_dir.path().to_owned();
        let allow = host(&simulator);
        tokio::task::spawn_blocking(move || {
            Command::new(FERRY)
                .args(["plan", "--connection", "simorg", "--allow-host", &allow])
                .args(extra)
                .arg("--state-dir")
                .arg(&dir)
                .output()
                .unwrap()
        })
    };
    let failed = run_plan(&["--objects", "Xyzzy__c"]).await.unwrap();
    assert!(!failed.status.success());
    let second = run_plan(&[]).await.unwrap();
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    simulator.set_faults(ferry_simulator::faults::Faults::default());

    // Logout revokes the token at Salesforce: the org refuses it afterwards.
    let saved = ferry_embedded::connections::ConnectionStore::new(state_dir.path())
        .load("simorg")
        .unwrap();
    let dir = state_dir.path().to_owned();
    let allow = host(&simulator);
    let logout = tokio::task::spawn_blocking(move || {
        Command::new(FERRY)
            .args(["logout", "simorg", "--allow-host", &allow, "--state-dir"])
            .arg(&dir)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        logout.status.success(),
        "{}",
        String::from_utf8_lossy(&logout.stderr)
    );
    let after = std::fs::read_to_string(state_dir.path().join("connections.json")).unwrap();
    assert!(!after.contains("simorg"), "{after}");
    let http = ferry_salesforce::http_client(&[], Duration::from_secs(30)).unwrap();
    let refused = ferry_salesforce::oauth::refresh_grant(
        &http,
        simulator.login_url(),
        &simulator.credentials().client_id,
        saved.client_secret.as_ref(),
        &saved.refresh_token,
    )
    .await
    .unwrap_err();
    assert_eq!(refused.error_code(), Some("invalid_grant"));
    simulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_with_a_forged_state_ends_the_login_and_stores_nothing() {
    let simulator = start(100).await;
    let state_dir = tempfile::tempdir().unwrap();
    let (child, authorize) = start_login(&simulator, state_dir.path());
    assert_eq!(browse(&authorize, true).await, 400);
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("state does not match"), "{stderr}");
    assert!(!state_dir.path().join("connections.json").exists());
    simulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_writes_the_three_reports_and_leaves_no_extracted_data_behind() {
    let simulator = start(1_500).await;
    let out = tempfile::tempdir().unwrap();
    let output = plan_like(
        &simulator,
        "dry-run",
        &["--out", out.path().to_str().unwrap()],
    )
    .await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value =
        serde_json::from_slice(&std::fs::read(out.path().join("dry-run.json")).unwrap()).unwrap();
    let objects = report["objects"].as_array().unwrap();
    let names: Vec<&str> = objects
        .iter()
        .map(|object| object["object"].as_str().unwrap())
        .collect();
    for object in ["User", "Account", "Contact", "Lead", "Task", "Project__c"] {
        assert!(names.contains(&object), "{object}: {names:?}");
    }
    let extracted: Vec<(String, u64)> = objects
        .iter()
        .map(|object| {
            (
                object["object"].as_str().unwrap().to_owned(),
                object["extracted"].as_u64().unwrap(),
            )
        })
        .collect();
    check_counts(&simulator, &extracted);
    let markdown = std::fs::read_to_string(out.path().join("dry-run.md")).unwrap();
    assert!(markdown.starts_with("# Dry run "));
    let html = std::fs::read_to_string(out.path().join("dry-run.html")).unwrap();
    assert!(html.contains("<table id=\"objects\">"));
    assert!(
        !out.path().join("staging").exists(),
        "extracted chunks are removed"
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("Reports: "), "{stdout}");
    simulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_map_file_overrides_the_built_in_map_and_frees_targets_for_proposals() {
    let simulator = start(300).await;
    let dir = tempfile::tempdir().unwrap();
    let map = dir.path().join("map.toml");
    std::fs::write(
        &map,
        "version = 4\n[objects.Contact.fields]\nPhone = false\n",
    )
    .unwrap();
    let output = plan(
        &simulator,
        &["--json", "--map", map.to_str().unwrap()],
        true,
    )
    .await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let document: Value = serde_json::from_slice(&output.stdout).unwrap();
    let contact = named(&document["objects"], "name", "Contact");
    let phone = named(&contact["fields"], "name", "Phone");
    assert_eq!(phone["goes_to"]["kind"], "skipped", "{phone}");
    // With contact.phone free, the custom phone field is proposed for it.
    let proposals = contact["proposals"].as_array().unwrap();
    let proposal = proposals
        .iter()
        .find(|p| p["field"] == "Alternate_Phone__c");
    assert!(
        proposal.is_some_and(|p| p["target"] == "phone"),
        "{proposals:?}"
    );

    std::fs::write(
        &map,
        "version = 4\n[objects.Contact.fields]\nPhone = \"no_such_field\"\n",
    )
    .unwrap();
    let output = plan(&simulator, &["--map", map.to_str().unwrap()], true).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("map.toml") && stderr.contains("no_such_field"),
        "{stderr}"
    );
    simulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_against_a_migrated_workspace_counts_updates() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().to_owned();
    let demo = tokio::task::spawn_blocking(move || {
        Command::new(FERRY)
            // The demo's org has person accounts and several currencies; the one the
            // dry run reads below (`start`) has neither.
            .args([
                "demo",
                "--records",
                "400",
                "--no-person-accounts",
                "--single-currency",
                "--dir",
            ])
            .arg(&dir)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        demo.status.success(),
        "{}",
        String::from_utf8_lossy(&demo.stderr)
    );
    // The demo's org again: the same seed and size give the same records.
    let simulator = start(400).await;
    let out = tempfile::tempdir().unwrap();
    let output = plan_like(
        &simulator,
        "dry-run",
        &[
            "--out",
            out.path().to_str().unwrap(),
            "--workspace",
            work.path().to_str().unwrap(),
        ],
    )
    .await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value =
        serde_json::from_slice(&std::fs::read(out.path().join("dry-run.json")).unwrap()).unwrap();
    for object in report["objects"].as_array().unwrap() {
        // A small org has no campaign (one in 500 records is one).
        let in_salesforce = object["in_salesforce"].as_u64().unwrap();
        assert_eq!(
            object["extracted"].as_u64().unwrap() > 0,
            in_salesforce > 0,
            "{object}"
        );
        assert_eq!(object["will_create"], 0, "{object}");
        assert_eq!(
            object["will_update"].as_u64().unwrap() + object["will_skip"].as_u64().unwrap(),
            object["extracted"].as_u64().unwrap(),
            "{object}"
        );
    }
    simulator.shutdown().await;
}

/// Each object's records, as planned or extracted, against what the simulator holds: a
/// series' main records are a variant of their object (`TaskSeries` of `Task`), so the two
/// add up to the object's count; of the groups only the queues are read.
fn check_counts(simulator: &ferry_simulator::RunningSimulator, counts: &[(String, u64)]) {
    let of = |name: &str| {
        counts
            .iter()
            .find(|(object, _)| object == name)
            .map_or(0, |(_, records)| *records)
    };
    for (name, records) in counts {
        if name.ends_with("Series") {
            continue;
        }
        // Only the online versions of articles (and their categories) are read: the map's
        // filter; the knowledge behaviour test checks those counts exactly.
        if name.starts_with("Knowledge__") {
            let all = simulator.record_counts()[name.as_str()];
            assert!(*records > 0 && *records < all, "{name}: {records} of {all}");
            continue;
        }
        let expected = if name == "Group" {
            ferry_simulator::schema::GROUPS
                .iter()
                .filter(|group| group.2 == "Queue")
                .count() as u64
        } else {
            simulator.record_counts()[name.as_str()]
        };
        assert_eq!(records + of(&format!("{name}Series")), expected, "{name}");
    }
}
