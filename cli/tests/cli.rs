//! The `ferry` binary as a user runs it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const FERRY: &str = env!("CARGO_BIN_EXE_ferry");

/// One row of the printed table: object, then in Salesforce, extracted, created, updated,
/// unchanged, skipped and failed.
type Row = (String, [u64; 7]);

fn table_rows(stdout: &str) -> Vec<Row> {
    stdout
        .lines()
        .skip_while(|line| !line.starts_with("object"))
        .skip(1)
        .take_while(|line| !line.trim().is_empty())
        .map(|line| {
            let cells: Vec<&str> = line.split_whitespace().collect();
            let number = |index: usize| cells[index].parse::<u64>().unwrap();
            (cells[0].to_owned(), [2, 3, 4, 5, 6, 7, 8].map(number))
        })
        .collect()
}

#[test]
fn demo_migrates_every_object_then_a_second_run_on_the_same_dir_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let run = || {
        let output = Command::new(FERRY)
            .args(["demo", "--records", "500", "--dir"])
            .arg(dir.path())
            .output()
            .unwrap();
        let stdout = String::from_utf8(output.stdout).unwrap();
        assert!(
            output.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            stdout.contains("; unresolved: 0."),
            "every link resolves: {stdout}"
        );
        (table_rows(&stdout), stdout)
    };
    let (first, stdout) = run();
    let objects: Vec<&str> = first.iter().map(|row| row.0.as_str()).collect();
    for object in [
        "User",
        "Account",
        "Contact",
        "Lead",
        "Opportunity",
        "OpportunityStage",
        "OpportunityContactRole",
        "Task",
        "Event",
        "EventRelation",
        "Note",
        "ContentNote",
        "Attachment",
        "ContentVersion",
        "EmailMessage",
        "Project__c",
        "Product2",
        "Pricebook2",
        "PricebookEntry",
        "OpportunityLineItem",
        "Campaign",
        "CampaignMember",
        "Case",
        "CaseComment",
        "Contract",
        "Order",
        "OrderItem",
        "Quote",
        "QuoteLineItem",
        "Asset",
        "AccountContactRelation",
        "Knowledge__kav",
        "Knowledge__DataCategorySelection",
    ] {
        assert!(objects.contains(&object), "{object}: {stdout}");
    }
    for (
        object,
        [
            in_salesforce,
            extracted,
            created,
            updated,
            unchanged,
            skipped,
            failed,
        ],
    ) in &first
    {
        assert_eq!(in_salesforce, extracted, "{object}");
        assert_eq!(
            created + updated + unchanged + skipped + failed,
            *extracted,
            "{object}"
        );
        assert_eq!(*failed, 0, "{object}");
        if object != "User" {
            assert_eq!(*updated, 0, "{object}: a first run creates");
        }
    }
    assert!(stdout.contains("Verification: all"), "{stdout}");
    // Nothing changed in the org: a second run creates nothing and sends nothing; what
    // landed is unchanged (users are matched again), what was skipped is skipped again.
    let (second, _) = run();
    for ((object, first), (_, second)) in first.iter().zip(&second) {
        let [_, _, created, updated, _, skipped, _] = *first;
        let [
            _,
            _,
            created_again,
            updated_again,
            unchanged_again,
            skipped_again,
            _,
        ] = *second;
        assert_eq!(created_again, 0, "{object}");
        assert_eq!(
            updated_again + unchanged_again,
            created + updated,
            "{object}"
        );
        if object != "User" {
            assert_eq!(updated_again, 0, "{object}: nothing changed");
        }
        assert_eq!(skipped_again, skipped, "{object}");
    }
}

#[test]
fn sim_prints_its_connection_info_as_the_first_line() {
    let mut child = Command::new(FERRY)
        .args([
            "sim",
            "--addr",
            "127.0.0.1:0",
            "--records",
            "100",
            "--seed",
            "5",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let info: serde_json::Value = serde_json::from_str(&line).unwrap();
    for key in [
        "base_url",
        "login_url",
        "client_id",
        "client_secret",
        "refresh_token",
        "username",
        "sandbox_login_url",
        "faults_url",
        "counters_url",
    ] {
        assert!(
            info[key].as_str().is_some_and(|value| !value.is_empty()),
            "{key} in {line}"
        );
    }
    assert!(
        info["base_url"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:")
    );
}

/// Starts `ferry sim` with `args` and returns the child and its startup JSON line.
fn start_sim(args: &[&str]) -> (std::process::Child, serde_json::Value) {
    let mut child = Command::new(FERRY)
        .arg("sim")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let info = serde_json::from_str(&line).unwrap();
    (child, info)
}

/// A plain HTTP/1.1 GET with the standard library: (status line, body).
fn http_get(url: &str) -> (String, String) {
    use std::io::{Read as _, Write as _};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    (head.lines().next().unwrap().to_owned(), body.to_owned())
}

#[test]
fn sim_flags_set_every_knob_and_a_million_records_start_at_once() {
    let (mut child, info) = start_sim(&[
        "--records",
        "1000000",
        "--daily-api-limit",
        "500",
        "--unavailable-every",
        "7",
        "--server-error-every",
        "11",
        "--drop-every",
        "13",
        "--latency-ms",
        "3",
        "--api-disabled",
        "--token-ttl-secs",
        "60",
        "--rotate-refresh-tokens",
        "--refresh-token-revoked",
        "--bulk-rows-per-second",
        "1000",
        "--bulk-fail-every",
        "5",
        "--bandwidth-bytes-per-second",
        "8000000",
    ]);
    let records: u64 = info["records"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    // The counts are of live records: about 2% of the million are soft-deleted (visible to
    // queryAll only), and a few fixed sets (stages, record types, reports, products, price
    // books and their entries, groups), the opportunities' line items (two per second
    // opportunity, about 50,000), the emails' relations (two per email, about 58,000), the
    // cases' comments (two per case, about 78,000), the contracts, orders, quotes and assets
    // with their items (about 46,000), the account-contact relations (one per contact and one
    // more for a contact in four, about 430,000) and the knowledge base (articles, versions,
    // categories: about 21,000) come on top.
    assert!((1_500_000..=1_750_000).contains(&records), "{records}");
    let base = info["base_url"].as_str().unwrap();
    assert_eq!(info["sandbox_login_url"], format!("{base}/test").as_str());
    assert_eq!(info["faults_url"], format!("{base}/_sim/faults").as_str());
    assert_eq!(
        info["counters_url"],
        format!("{base}/_sim/counters").as_str()
    );
    assert!(info["ca_cert_path"].is_null());
    let (status, body) = http_get(info["faults_url"].as_str().unwrap());
    let knobs: serde_json::Value = serde_json::from_str(&body).unwrap();
    let (counters_status, counters) = http_get(info["counters_url"].as_str().unwrap());
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(status.contains("200"), "{status}");
    for (key, value) in [
        ("daily_api_limit", serde_json::json!(500)),
        ("unavailable_every", serde_json::json!(7)),
        ("server_error_every", serde_json::json!(11)),
        ("drop_every", serde_json::json!(13)),
        ("latency_ms", serde_json::json!(3)),
        ("api_disabled", serde_json::json!(true)),
        ("token_ttl_secs", serde_json::json!(60)),
        ("rotate_refresh_tokens", serde_json::json!(true)),
        ("refresh_token_revoked", serde_json::json!(true)),
        ("bulk_rows_per_second", serde_json::json!(1000)),
        ("bulk_fail_every", serde_json::json!(5)),
        ("bandwidth_bytes_per_second", serde_json::json!(8_000_000)),
    ] {
        assert_eq!(knobs[key], value, "{key} in {knobs}");
    }
    assert!(counters_status.contains("200"), "{counters_status}");
    assert!(counters.contains("\"bulk_create\":0"), "{counters}");
}

#[test]
fn sim_serves_https_with_its_certificate_written_out() {
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("ca.pem");
    let (mut child, info) = start_sim(&["--tls", "--ca-cert-path", pem.to_str().unwrap()]);
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        info["base_url"]
            .as_str()
            .unwrap()
            .starts_with("https://127.0.0.1:")
    );
    assert_eq!(info["ca_cert_path"], pem.to_str().unwrap());
    let text = std::fs::read_to_string(&pem).unwrap();
    assert!(text.starts_with("-----BEGIN CERTIFICATE-----"), "{text}");
}
