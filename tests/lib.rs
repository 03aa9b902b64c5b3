//! Shared helpers of the behaviour tests: a simulated org, a client connected to it, and the
//! embedded adapters in a temporary directory.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use ferry_core::ids::{RunId, TenantId};
use ferry_core::mapping::FieldMap;
use ferry_core::pipeline::{DryRunPorts, LocalPorts, Migration, MigrationConfig, migrate};
use ferry_core::plan::Plan;
use ferry_core::ports::SalesforceApi;
use ferry_core::report::ObjectExtraction;
use ferry_core::secret::Secret;
use ferry_core::steps::{
    DiscoverOptions, ExtractConfig, ExtractPorts, ExtractProgress, ExtractState, StepError,
    WaitReason, extract_step,
};
use ferry_embedded::{InProcessQueue, LocalStaging, SqliteDestination, SqliteStore, TokioSleeper};
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
    pub async fn drain_staged(&self) -> Vec<ferry_core::model::SourceRecord> {
        use ferry_core::pipeline::LocalQueue as _;
        use ferry_core::ports::Staging as _;
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

    pub fn destination_db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.dir.join("destination.db")).unwrap()
    }

    pub async fn migrate(
        &self,
        salesforce: &SalesforceClient,
        run: &str,
        map: FieldMap,
        chunk_records: usize,
    ) -> Migration {
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
    ) -> Result<Migration, StepError> {
        let config = MigrationConfig {
            tenant: TenantId::new(TENANT),
            run_id: RunId::new(run),
            map,
            extract,
            discover: DiscoverOptions::default(),
            pseudonymise: None,
            validation: Default::default(),
            default_owner: None,
        };
        self.migrate_with(salesforce, &config).await
    }

    pub async fn migrate_with(
        &self,
        salesforce: &SalesforceClient,
        config: &MigrationConfig,
    ) -> Result<Migration, StepError> {
        let ports = LocalPorts {
            salesforce,
            staging: &self.staging,
            id_map: &self.store,
            runs: &self.store,
            destination: &self.destination,
            queue: &self.queue,
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
) -> Vec<ferry_core::model::SourceRecord> {
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
    map.objects
        .retain(|name, _| name == "Account" || name == "Contact");
    for object in map.objects.values_mut() {
        object.links.remove("OwnerId");
    }
    map
}
