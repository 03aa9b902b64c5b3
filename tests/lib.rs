//! Shared helpers of the behaviour tests: a simulated org, a client connected to it, and the
//! embedded adapters in a temporary directory.

#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod wrappers;

use ferry_core::run::{DryRunPorts, LocalPorts, RunConfig, RunOutcome, migrate};
use ferry_core::steps::{
    DiscoverOptions, ExtractConfig, ExtractPorts, ExtractProgress, ExtractState, StepError,
    WaitReason, extract_step,
};
use ferry_embedded::{InProcessQueue, LocalStaging, SqliteDestination, SqliteStore, TokioSleeper};
use ferry_model::ids::{RunId, TenantId};
use ferry_model::mapping::FieldMap;
use ferry_model::plan::Plan;
use ferry_model::ports::SalesforceApi;
use ferry_model::report::ObjectExtraction;
use ferry_model::secret::Secret;
use ferry_salesforce::{ClientConfig, SalesforceClient};
use ferry_simulator::{RunningSimulator, SimulatorConfig};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const TENANT: &str = "acme";

pub async fn start_org(records: u64, seed: u64) -> RunningSimulator {
    ferry_simulator::serve(
        SimulatorConfig {
            records,
            seed,
            ..SimulatorConfig::default()
        },
        ([127, 0, 0, 1], 0).into(),
    )
    .await
    .expect("the simulator starts")
}

/// A client configuration for the simulator, with its host allowed explicitly.
pub fn client_config(simulator: &RunningSimulator) -> ClientConfig {
    let credentials = simulator.credentials();
    let mut config = ClientConfig::new(
        simulator.login_url(),
        credentials.client_id.clone(),
        Secret::new(credentials.refresh_token.clone()),
    )
    .with_client_secret(Secret::new(credentials.client_secret.clone()));
    let host = simulator
        .base_url()
        .trim_start_matches("http://")
        .trim_start_matches("https://")
        .trim_end_matches('/')
        .to_owned();
    config.allowed_hosts = vec![host];
    config
}

pub async fn connect(simulator: &RunningSimulator) -> SalesforceClient {
    SalesforceClient::connect(client_config(simulator))
        .await
        .expect("the client connects to the simulator")
}

/// The embedded adapters of one working directory, as `ferry` opens them.
pub struct Embedded {
    pub dir: PathBuf,
    pub store: SqliteStore,
    pub destination: SqliteDestination,
    pub staging: LocalStaging,
    pub queue: InProcessQueue,
}

impl Embedded {
    pub fn open(dir: &Path) -> Self {
        Self {
            dir: dir.to_owned(),
            store: SqliteStore::open(&dir.join("ferry.db")).unwrap(),
            destination: SqliteDestination::open(&dir.join("destination.db")).unwrap(),
            staging: LocalStaging::new(dir.join("staging")),
            queue: InProcessQueue::new(),
        }
    }

    /// Every record staged so far, in the order the queue announced the chunks; drains
    /// the queue.
    pub async fn drain_staged(&self) -> Vec<ferry_model::model::SourceRecord> {
        use ferry_model::ports::LocalQueue as _;
        use ferry_model::ports::Staging as _;
        let mut records = Vec::new();
        while let Some(message) = self.queue.receive().await.unwrap() {
            let body = self.staging.get(&message.key).await.unwrap();
            for line in body.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                records.push(serde_json::from_slice(line).unwrap());
            }
        }
        records
    }

    /// The ports a dry run needs, over these adapters.
    pub fn dry_run_ports<'a>(&'a self, salesforce: &'a dyn SalesforceApi) -> DryRunPorts<'a> {
        DryRunPorts {
            salesforce,
            destination: Some(&self.destination),
            staging: &self.staging,
            id_map: &self.store,
            runs: &self.store,
            queue: &self.queue,
            sleeper: &TokioSleeper,
            progress: &ferry_model::ports::NoProgress,
        }
    }

    /// The ports an extraction step needs, over these adapters.
    pub fn extract_ports<'a>(&'a self, salesforce: &'a dyn SalesforceApi) -> ExtractPorts<'a> {
        ExtractPorts {
            salesforce,
            staging: &self.staging,
            queue: &self.queue,
            runs: &self.store,
            pseudonymise: None,
        }
    }

    /// The migration's ports over these adapters, with the ID map, run store and destination
    /// given (wrapped ones, in tests that count or break calls).
    pub fn ports_with<'a>(
        &'a self,
        salesforce: &'a dyn SalesforceApi,
        id_map: &'a dyn ferry_model::ports::IdMap,
        runs: &'a dyn ferry_model::ports::RunStore,
        destination: &'a dyn ferry_model::ports::Destination,
    ) -> LocalPorts<'a> {
        LocalPorts {
            salesforce,
            staging: &self.staging,
            id_map,
            runs,
            destination,
            sleeper: &TokioSleeper,
        }
    }

    /// Every row of every destination table, as text, sorted: two snapshots are equal when
    /// the destination holds the same data. Custom field definitions are left out: they are
    /// the destination's schema, which a rollback keeps.
    pub fn destination_snapshot(&self) -> std::collections::BTreeMap<String, Vec<String>> {
        use std::collections::HashMap;
        let db = self.destination_db();
        let tables: Vec<String> = db
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name != 'custom_field_definitions' ORDER BY name")
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let columns_of = |table: &str| -> Vec<String> {
            db.prepare(&format!("PRAGMA table_info({table})"))
                .unwrap()
                .query_map([], |row| row.get::<_, String>(1))
                .unwrap()
                .map(Result::unwrap)
                .collect()
        };
        // Destination ids depend on the order records happened to land in (chunks load
        // concurrently), so every id is written as the Salesforce record it stands for.
        let mut keys: HashMap<(String, i64), String> = HashMap::new();
        for table in &tables {
            let columns = columns_of(table);
            if !(columns.iter().any(|c| c == "source_id") && columns.iter().any(|c| c == "id")) {
                continue;
            }
            let mut statement = db
                .prepare(&format!("SELECT id, source_object, source_id FROM {table}"))
                .unwrap();
            let rows = statement
                .query_map([], |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                    ))
                })
                .unwrap();
            for row in rows {
                let (id, object, source_id) = row.unwrap();
                keys.insert((table.clone(), id), format!("<{object}/{source_id}>"));
            }
        }
        let entity_table = |entity: &str| {
            ferry_model::mapping::EntityKind::from_name(entity)
                .map(|entity| entity.schema().table.to_owned())
                .unwrap_or_default()
        };
        let mut snapshot = std::collections::BTreeMap::new();
        for table in tables {
            let columns = columns_of(&table);
            let references: HashMap<String, String> = db
                .prepare(&format!("PRAGMA foreign_key_list({table})"))
                .unwrap()
                .query_map([], |row| {
                    Ok((row.get::<_, String>(3)?, row.get::<_, String>(2)?))
                })
                .unwrap()
                .map(Result::unwrap)
                .collect();
            let mut statement = db.prepare(&format!("SELECT * FROM {table}")).unwrap();
            let mut rows: Vec<String> = statement
                .query_map([], |row| {
                    let values: Vec<rusqlite::types::Value> = (0..columns.len())
                        .map(|index| row.get(index).unwrap())
                        .collect();
                    let text_of = |name: &str| {
                        columns
                            .iter()
                            .position(|column| column == name)
                            .and_then(|index| match &values[index] {
                                rusqlite::types::Value::Text(text) => Some(text.clone()),
                                _ => None,
                            })
                    };
                    Ok(columns
                        .iter()
                        .zip(&values)
                        .map(|(column, value)| {
                            let rusqlite::types::Value::Integer(id) = value else {
                                return format!("{value:?}");
                            };
                            let target = if column == "id" {
                                Some(table.clone())
                            } else if let Some(referenced) = references.get(column) {
                                Some(referenced.clone())
                            } else if column == "record_id" {
                                text_of("entity").map(|entity| entity_table(&entity))
                            } else if column == "target_id" {
                                text_of("target_entity").map(|entity| entity_table(&entity))
                            } else {
                                None
                            };
                            target
                                .and_then(|target| keys.get(&(target, *id)).cloned())
                                .unwrap_or_else(|| format!("{value:?}"))
                        })
                        .collect::<Vec<_>>()
                        .join(" | "))
                })
                .unwrap()
                .map(Result::unwrap)
                .collect();
            rows.sort();
            snapshot.insert(table, rows);
        }
        snapshot
    }

    /// The run configuration the helpers use, for run `run`.
    pub fn config(&self, run: &str, chunk_records: usize) -> RunConfig {
        RunConfig {
            // One object and one chunk at a time: the counts of links patched after load
            // depend on the order chunks land in, and these tests compare whole reports.
            concurrency: ferry_core::schedule::Concurrency {
                extract: 1,
                load: 1,
            },
            tenant: TenantId::new(TENANT),
            run_id: RunId::new(run),
            // Companies and contacts: the run mechanics (re-run, delta, rollback) with counts
            // the tests can state; crash tests set the whole map.
            map: companies_and_contacts_map(),
            extract: ExtractConfig {
                chunk_records,
                ..ExtractConfig::default()
            },
            discover: DiscoverOptions::default(),
            pseudonymise: None,
            validation: Default::default(),
            default_owner: None,
            merge_leads_by_email: false,
        }
    }

    /// The tenant's run history.
    pub async fn store_runs(&self) -> Vec<ferry_model::runs::RunSummary> {
        use ferry_model::ports::RunStore as _;
        self.store.list_runs(&TenantId::new(TENANT)).await.unwrap()
    }

    /// Every ID-map row, as text, sorted.
    pub fn id_map_rows(&self) -> Vec<String> {
        let db = rusqlite::Connection::open(self.dir.join("ferry.db")).unwrap();
        let mut statement = db
            .prepare("SELECT tenant, object, salesforce_id, destination_id, created_by_run, last_run, content_hash FROM id_map ORDER BY 1, 2, 3")
            .unwrap();
        statement
            .query_map([], |row| {
                Ok((0..7)
                    .map(|index| row.get::<_, String>(index).unwrap())
                    .collect::<Vec<_>>()
                    .join(" | "))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    pub fn destination_db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.dir.join("destination.db")).unwrap()
    }

    pub async fn migrate(
        &self,
        salesforce: &SalesforceClient,
        run: &str,
        map: FieldMap,
        chunk_records: usize,
    ) -> RunOutcome {
        let config = ExtractConfig {
            chunk_records,
            ..ExtractConfig::default()
        };
        self.try_migrate(salesforce, run, map, config)
            .await
            .expect("the migration completes")
    }

    pub async fn try_migrate(
        &self,
        salesforce: &SalesforceClient,
        run: &str,
        map: FieldMap,
        extract: ExtractConfig,
    ) -> Result<RunOutcome, StepError> {
        let config = RunConfig {
            concurrency: Default::default(),
            tenant: TenantId::new(TENANT),
            run_id: RunId::new(run),
            map,
            extract,
            discover: DiscoverOptions::default(),
            pseudonymise: None,
            validation: Default::default(),
            default_owner: None,
            merge_leads_by_email: false,
        };
        self.migrate_with(salesforce, &config).await
    }

    pub async fn migrate_with(
        &self,
        salesforce: &SalesforceClient,
        config: &RunConfig,
    ) -> Result<RunOutcome, StepError> {
        let ports = LocalPorts {
            salesforce,
            staging: &self.staging,
            id_map: &self.store,
            runs: &self.store,
            destination: &self.destination,
            sleeper: &TokioSleeper,
        };
        migrate(&ports, config).await
    }
}

/// What driving an extraction to its end went through.
#[derive(Debug)]
pub struct Steps {
    pub done: ObjectExtraction,
    /// Every state a step returned, in order.
    pub states: Vec<ExtractState>,
    pub waits: Vec<(Duration, WaitReason)>,
}

/// Runs [`extract_step`] from `state` to the end, sleeping through waits as the local
/// driver does, and records the way.
pub async fn run_steps(
    ports: &ExtractPorts<'_>,
    run: &RunId,
    plan: &Plan,
    object: &str,
    config: &ExtractConfig,
    mut state: ExtractState,
) -> Result<Steps, StepError> {
    let object = plan.object(object).expect("the plan has the object");
    let mut states = Vec::new();
    let mut waits = Vec::new();
    loop {
        match extract_step(ports, run, plan, object, config, state).await? {
            ExtractProgress::Continue(next) => {
                states.push(next.clone());
                state = next;
            }
            ExtractProgress::Wait {
                state: next,
                delay,
                reason,
            } => {
                waits.push((delay, reason));
                tokio::time::sleep(delay).await;
                states.push(next.clone());
                state = next;
            }
            ExtractProgress::Done(done) => {
                return Ok(Steps {
                    done,
                    states,
                    waits,
                });
            }
        }
    }
}

/// Every record of a SOQL query, through the client's paging.
pub async fn query_all(
    client: &SalesforceClient,
    soql: &str,
) -> Vec<ferry_model::model::SourceRecord> {
    let mut page = client.query(soql).await.unwrap();
    let mut records = std::mem::take(&mut page.records);
    while let Some(next) = page.next.take() {
        page = client.query_more(&next).await.unwrap();
        records.append(&mut page.records);
    }
    records
}

/// Renders an HTML file in headless Chromium and returns the DOM it built. `None` (the test
/// skips) when no browser is configured, unless `FERRY_REQUIRE_BROWSER=1` (set by
/// `scripts/test`), in which case a missing browser fails the test.
pub fn rendered_dom(path: &Path) -> Option<String> {
    let browser = std::env::var_os("FERRY_CHROMIUM").filter(|value| !value.is_empty());
    let required = std::env::var("FERRY_REQUIRE_BROWSER").is_ok_and(|value| value == "1");
    let Some(browser) = browser else {
        assert!(
            !required,
            "FERRY_REQUIRE_BROWSER=1 but FERRY_CHROMIUM is not set"
        );
        eprintln!("no FERRY_CHROMIUM: the HTML rendering check is skipped");
        return None;
    };
    let profile = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(browser)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom"])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("file://{}", path.display()))
        .output()
        .expect("the browser starts");
    assert!(
        output.status.success(),
        "the browser failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(String::from_utf8(output.stdout).unwrap())
}

/// The built-in map narrowed to accounts and contacts, without owner links and without
/// custom objects: what tests of extraction, validation and pseudonymisation migrate, so
/// their exact counts are about contacts alone. `tests/behaviour/entities.rs` checks the
/// whole map.
pub fn companies_and_contacts_map() -> FieldMap {
    let mut map = FieldMap::builtin();
    map.custom_objects = false;
    map.generic_objects = false;
    map.objects
        .retain(|name, _| name == "Account" || name == "Contact");
    for object in map.objects.values_mut() {
        object.links.remove("OwnerId");
        // No contact links to another, so a contact deleted in Salesforce can be deleted
        // from the destination (one that others still link to is refused, and reported).
        object.links.remove("ReportsToId");
    }
    map
}

/// Live records a delta reads again besides what changed: those stamped within
/// `ExtractConfig::delta_overlap` before (or at) the last run's high-water mark for
/// `object`, the newest `SystemModstamp` it read. They come back unchanged.
/// Changes the simulated org "now" (`POST /_sim/mutate`): `modify` records of `object`
/// modified and `delete` deleted; the answer names them.
pub async fn mutate(
    simulator: &RunningSimulator,
    object: &str,
    modify: u64,
    delete: u64,
) -> serde_json::Value {
    reqwest::Client::new()
        .post(format!(
            "{}/_sim/mutate",
            simulator.base_url().trim_end_matches('/')
        ))
        .json(&serde_json::json!({"object": object, "modify": modify, "delete": delete}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap()
}

pub async fn overlap_rows(client: &SalesforceClient, object: &str, mark: &str) -> u64 {
    use time::format_description::well_known::Rfc3339;
    let mark = time::OffsetDateTime::parse(mark, &Rfc3339).expect("an RFC 3339 mark");
    let from = mark - ExtractConfig::default().delta_overlap;
    let soql = format!(
        "SELECT COUNT() FROM {object} WHERE IsDeleted = false AND SystemModstamp >= {} AND SystemModstamp <= {}",
        from.format(&Rfc3339).unwrap(),
        mark.format(&Rfc3339).unwrap()
    );
    client.query_all(&soql).await.unwrap().total_size
}
