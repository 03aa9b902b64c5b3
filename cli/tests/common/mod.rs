//! Helpers of the command-line tests: a simulated org, a token for it, and `ferry` run as a
//! user runs it.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use ferry_core::secret::Secret;
use ferry_simulator::{RunningSimulator, SimulatorConfig};
use serde_json::Value;
use std::process::{Command, Output};
use std::time::Duration;

pub const FERRY: &str = env!("CARGO_BIN_EXE_ferry");

pub async fn start(records: u64) -> RunningSimulator {
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

pub async fn access_token(simulator: &RunningSimulator) -> String {
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

/// The element of a JSON array whose `key` is `value`.
pub fn named<'a>(list: &'a Value, key: &str, value: &str) -> &'a Value {
    list.as_array()
        .and_then(|items| items.iter().find(|item| item[key] == value))
        .unwrap_or_else(|| panic!("no element with {key} = {value} in {list}"))
}

pub fn host(simulator: &RunningSimulator) -> String {
    simulator
        .base_url()
        .trim_start_matches("http://")
        .to_owned()
}

/// Runs `ferry plan` with the token in the environment, off the async runtime.
pub async fn plan(simulator: &RunningSimulator, extra: &[&str], allow: bool) -> Output {
    run_with_token(simulator, "plan", extra, allow).await
}

/// Runs another command that takes the org like `ferry plan` does.
pub async fn plan_like(simulator: &RunningSimulator, command: &str, extra: &[&str]) -> Output {
    run_with_token(simulator, command, extra, true).await
}

pub async fn run_with_token(
    simulator: &RunningSimulator,
    command: &str,
    extra: &[&str],
    allow: bool,
) -> Output {
    let token = access_token(simulator).await;
    let mut args = vec![
        command.to_owned(),
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
