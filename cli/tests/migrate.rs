//! `ferry migrate` against the simulated org, as a consultant runs it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_twice_into_one_workspace_updates_and_never_duplicates() {
    let simulator = start(400).await;
    let work = tempfile::tempdir().unwrap();
    let workspace = work.path().join("acme");
    let args = ["--workspace", workspace.to_str().unwrap()];
    let first = plan_like(&simulator, "migrate", &args).await;
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(
        first.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let count = |table: &str| -> i64 {
        let connection = rusqlite::Connection::open(workspace.join("destination.db")).unwrap();
        connection
            .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |row| {
                row.get(0)
            })
            .unwrap()
    };
    let companies = count("companies");
    let contacts = count("contacts");
    assert!(companies > 0 && contacts > 0, "{stdout}");
    assert!(stdout.contains("Account"), "{stdout}");

    let second = plan_like(&simulator, "migrate", &args).await;
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    assert_eq!(
        (count("companies"), count("contacts")),
        (companies, contacts)
    );
    simulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_without_an_org_says_which_options_name_one() {
    let output = tokio::task::spawn_blocking(|| {
        std::process::Command::new(FERRY)
            .args(["migrate"])
            .env_remove("FERRY_ACCESS_TOKEN")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--connection"), "{stderr}");
}
