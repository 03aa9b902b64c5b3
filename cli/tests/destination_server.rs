//! `ferry destination-server` run as a user runs it: the startup line, signed requests through
//! `HttpDestination`, and idempotency answers that survive a restart.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use ferry_destination_http::{HttpDestination, HttpDestinationConfig};
use ferry_model::ids::{SalesforceId, TenantId};
use ferry_model::mapping::EntityKind;
use ferry_model::ports::{Destination, UpsertOutcome};
use ferry_model::records::DestinationRecord;
use ferry_model::secret::Secret;
use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

const FERRY: &str = env!("CARGO_BIN_EXE_ferry");
const SECRET: &str = "cli-test-SECRET-value";

/// Starts the server over `dir` and returns the child and its startup JSON line.
fn start(dir: &Path) -> (Child, serde_json::Value) {
    let mut child = Command::new(FERRY)
        .args([
            "destination-server",
            "--key-id",
            "cli",
            "--tenant",
            "acme",
            "--dir",
        ])
        .arg(dir)
        .env("FERRY_DESTINATION_SECRET", SECRET)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(!line.contains(SECRET), "{line}");
    (child, serde_json::from_str(&line).unwrap())
}

fn client(info: &serde_json::Value, scope: &str) -> HttpDestination {
    HttpDestination::new(HttpDestinationConfig {
        idempotency_scope: scope.to_owned(),
        ..HttpDestinationConfig::new(
            info["base_url"].as_str().unwrap(),
            info["key_id"].as_str().unwrap(),
            Secret::new(SECRET),
        )
    })
    .unwrap()
}

fn acme() -> DestinationRecord {
    DestinationRecord {
        source_object: "Account".to_owned(),
        source_id: SalesforceId::parse("001000000000001AAA").unwrap(),
        fields: BTreeMap::from([("name".to_owned(), serde_json::json!("Acme"))]),
        links: BTreeMap::new(),
        custom_fields: BTreeMap::new(),
    }
}

#[tokio::test]
async fn the_server_takes_signed_upserts_and_replays_them_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let tenant = TenantId::new("acme");
    let (mut first, info) = start(dir.path());
    assert_eq!(info["key_id"], "cli");
    assert_eq!(
        info["destination_db"].as_str().unwrap(),
        dir.path().join("destination.db").display().to_string()
    );
    let created = client(&info, "run-1")
        .upsert(&tenant, EntityKind::Company, &[acme()])
        .await
        .unwrap();
    assert!(
        matches!(created[0], UpsertOutcome::Created(_)),
        "{created:?}"
    );
    // The key acts for acme only: another tenant is not found, and nothing of it lands.
    let refused = client(&info, "run-1")
        .upsert(&TenantId::new("other"), EntityKind::Company, &[acme()])
        .await
        .unwrap_err();
    assert!(
        refused.chain().contains("tenant \"other\" not found"),
        "{}",
        refused.chain()
    );
    first.kill().unwrap();
    first.wait().unwrap();

    // The answers kept for idempotency are in SQLite beside the destination: the same
    // request after a restart gets the same answer, a new run's request is carried out.
    let (mut second, info) = start(dir.path());
    let replayed = client(&info, "run-1")
        .upsert(&tenant, EntityKind::Company, &[acme()])
        .await
        .unwrap();
    assert_eq!(replayed, created);
    let updated = client(&info, "run-2")
        .upsert(&tenant, EntityKind::Company, &[acme()])
        .await
        .unwrap();
    assert!(
        matches!(updated[0], UpsertOutcome::Updated(_)),
        "{updated:?}"
    );
    second.kill().unwrap();
    second.wait().unwrap();

    let db = rusqlite::Connection::open(dir.path().join("destination.db")).unwrap();
    let rows: i64 = db
        .query_row("SELECT COUNT(*) FROM companies", [], |row| row.get(0))
        .unwrap();
    assert_eq!(rows, 1);
}

#[test]
fn an_empty_secret_is_refused_before_serving() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(FERRY)
        .args(["destination-server", "--secret", "", "--dir"])
        .arg(dir.path())
        .env_remove("FERRY_DESTINATION_SECRET")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("FERRY_DESTINATION_SECRET"), "{stderr}");
}
