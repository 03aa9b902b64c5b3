//! The `ferry` binary as a user runs it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const FERRY: &str = env!("CARGO_BIN_EXE_ferry");

/// (object, created, updated) rows of the printed table.
fn table_rows(stdout: &str) -> Vec<(String, u64, u64, u64)> {
    stdout
        .lines()
        .skip_while(|line| !line.starts_with("object"))
        .skip(1)
        .take_while(|line| !line.trim().is_empty())
        .map(|line| {
            let cells: Vec<&str> = line.split_whitespace().collect();
            let number = |index: usize| cells[index].parse::<u64>().unwrap();
            (cells[0].to_owned(), number(2), number(4), number(5))
        })
        .collect()
}

#[test]
fn demo_creates_the_org_then_a_second_run_on_the_same_dir_only_updates() {
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
        table_rows(&stdout)
    };
    let first = run();
    assert_eq!(
        first.iter().map(|row| row.0.as_str()).collect::<Vec<_>>(),
        ["Account", "Contact"]
    );
    for (object, in_salesforce, created, updated) in &first {
        assert!(*in_salesforce > 0, "{object}");
        assert_eq!((created, updated), (in_salesforce, &0), "{object}");
    }
    for (object, in_salesforce, created, updated) in run() {
        assert_eq!((created, updated), (0, in_salesforce), "{object}");
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
