//! Helpers of the command-line tests: a simulated org, a token for it, and `ferry` run as a
//! user runs it.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use ferry_model::secret::Secret;
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

/// Everything a tenant has in a destination file, keyed by (entity, Salesforce object,
/// Salesforce id), links written as the Salesforce record they point to: two runs that
/// left the same data compare equal whatever destination ids they happened to assign.
pub async fn destination_snapshot(path: &std::path::Path, tenant: &str) -> Value {
    use ferry_model::ids::TenantId;
    use ferry_model::mapping::EntityKind;
    use ferry_model::ports::Destination;
    use std::collections::BTreeMap;
    let destination = ferry_embedded::SqliteDestination::open(path).unwrap();
    let tenant = TenantId::new(tenant);
    let mut records = BTreeMap::new();
    let mut source_of = BTreeMap::new();
    for entity in EntityKind::ALL {
        let ids = destination.all_ids(&tenant, entity).await.unwrap();
        let read = destination.get(&tenant, entity, &ids).await.unwrap();
        for (id, record) in ids.into_iter().zip(read) {
            // Users (owners) are the destination's own, not migrated records: they are
            // named by id, which the tests' seeding makes the same in every destination.
            let Some(record) = record else {
                source_of.insert((entity, id.to_string()), format!("{entity} #{id}"));
                continue;
            };
            source_of.insert(
                (entity, id.to_string()),
                format!("{}/{}", record.source_object, record.source_id),
            );
            records.insert((entity, id.to_string()), record);
        }
    }
    // Custom links (from custom lookup fields) name their target entity per record.
    let sql = rusqlite::Connection::open(path).unwrap();
    let mut snapshot = serde_json::Map::new();
    for ((entity, id), record) in &records {
        let links: BTreeMap<&String, String> = record
            .links
            .iter()
            .map(|(link, target)| {
                let target_entity = entity
                    .links()
                    .iter()
                    .find(|(name, _)| name == link)
                    .map(|(_, target_entity)| *target_entity)
                    .unwrap_or_else(|| {
                        let name: String = sql
                            .query_row(
                                "SELECT target_entity FROM custom_links WHERE entity = ?1 AND record_id = ?2 AND name = ?3",
                                rusqlite::params![entity.as_str(), id.parse::<i64>().unwrap(), link],
                                |row| row.get(0),
                            )
                            .unwrap();
                        EntityKind::from_name(&name).unwrap()
                    });
                let source = source_of
                    .get(&(target_entity, target.to_string()))
                    .cloned()
                    .unwrap_or_else(|| format!("missing {target_entity} {target}"));
                (link, source)
            })
            .collect();
        // A record landed twice shows as a second key, so a duplicate cannot hide.
        let mut key = format!("{entity} {}/{}", record.source_object, record.source_id);
        while snapshot.contains_key(&key) {
            key.push_str(" (again)");
        }
        snapshot.insert(
            key,
            serde_json::json!({
                "fields": record.fields,
                "custom_fields": record.custom_fields,
                "links": links,
            }),
        );
    }
    Value::Object(snapshot)
}

/// The destination user that owns what has no matching owner, as `--default-owner` names it.
pub const DEFAULT_OWNER: &str = "owner@example.com";

/// Sets up a workspace's destination with its one user, the default owner, as an admin
/// would before a migration: Ferry matches Salesforce users to destination users and never
/// creates them.
pub async fn seed_default_owner(destination_db: &std::path::Path) {
    let destination = ferry_embedded::SqliteDestination::open(destination_db).unwrap();
    destination
        .add_user(
            &ferry_model::ids::TenantId::new("local"),
            DEFAULT_OWNER,
            "Default Owner",
        )
        .await
        .unwrap();
}
