//! `ferry demo`: the whole migration on one machine, against a simulated org.

use crate::local::{Workspace, new_run_id};
use crate::table;
use anyhow::Context;
use clap::Args;
use ferry_core::mapping::FieldMap;
use ferry_core::pipeline::{LocalPorts, MigrationConfig, migrate};
use ferry_core::report::IssueKind;
use ferry_core::secret::Secret;
use ferry_core::steps::{DiscoverOptions, ExtractConfig};
use ferry_embedded::TokioSleeper;
use ferry_salesforce::{ClientConfig, SalesforceClient};
use ferry_simulator::SimulatorConfig;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Records in the simulated org, across all objects.
    #[arg(long, default_value_t = 1000)]
    pub records: u64,
    /// Working directory: ID map, run store, staged chunks and the destination database.
    /// Run the demo twice on the same directory to see a re-run update instead of duplicate.
    #[arg(long, default_value = "ferry-demo")]
    pub dir: PathBuf,
    /// Seed of the simulated org.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Records per staged chunk.
    #[arg(long, default_value_t = 2000)]
    pub chunk_records: usize,
    #[command(flatten)]
    pub pseudonymise: crate::plan::PseudonymiseArgs,
}

const ISSUES_SHOWN: usize = 10;

pub async fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let pseudonymise = args.pseudonymise.load()?;
    let simulator = ferry_simulator::serve(
        SimulatorConfig {
            records: args.records,
            seed: args.seed,
            ..SimulatorConfig::default()
        },
        ([127, 0, 0, 1], 0).into(),
    )
    .await
    .context("cannot start the simulated org")?;
    let base_url = simulator.base_url().to_owned();
    println!(
        "Simulated Salesforce org: {} records (seed {}) at {base_url}",
        args.records, args.seed
    );

    let credentials = simulator.credentials();
    let mut client_config = ClientConfig::new(
        simulator.login_url(),
        credentials.client_id.clone(),
        Secret::new(credentials.refresh_token.clone()),
    )
    .with_client_secret(Secret::new(credentials.client_secret.clone()));
    client_config.allowed_hosts = vec![host_and_port(&base_url)];
    let salesforce = SalesforceClient::connect(client_config)
        .await
        .context("cannot connect to the simulated org")?;

    let workspace = Workspace::open(&args.dir)?;
    let run_id = new_run_id();
    println!("Run {run_id} into {}", workspace.dir.display());
    let ports = LocalPorts {
        salesforce: &salesforce,
        staging: &workspace.staging,
        id_map: &workspace.store,
        runs: &workspace.store,
        destination: &workspace.destination,
        queue: &workspace.queue,
        sleeper: &TokioSleeper,
    };
    let config = MigrationConfig {
        tenant: crate::local::local_tenant(),
        run_id,
        map: FieldMap::builtin(),
        extract: ExtractConfig {
            chunk_records: args.chunk_records,
            ..ExtractConfig::default()
        },
        discover: DiscoverOptions::default(),
        pseudonymise,
        validation: Default::default(),
        default_owner: None,
    };
    let migration = migrate(&ports, &config)
        .await
        .map_err(|error| anyhow::anyhow!(error))?;
    let report = &migration.report;

    println!();
    print!("{}", table::render(report));
    println!();
    let patched: u64 = report
        .objects
        .iter()
        .map(|object| object.counts.links_patched)
        .sum();
    let unresolved: u64 = report
        .objects
        .iter()
        .map(|object| object.counts.links_unresolved)
        .sum();
    println!("Links patched after their target landed: {patched}; unresolved: {unresolved}.");
    for object in report
        .objects
        .iter()
        .filter(|object| object.fallback.is_some())
    {
        println!(
            "{}: Bulk API 2.0 could not serve it; read through REST instead ({}).",
            object.object,
            object.fallback.as_deref().unwrap_or_default()
        );
    }
    if report.issues.is_empty() {
        println!("Issues: none.");
    } else {
        println!("Issues ({}):", report.issues.len());
        for issue in report.issues.iter().take(ISSUES_SHOWN) {
            let kind = match issue.kind {
                IssueKind::Skipped => "skipped",
                IssueKind::Failed => "failed",
                IssueKind::UnresolvedLink => "unresolved link",
                IssueKind::ValueDropped => "value dropped",
                IssueKind::Warning => "warning",
            };
            println!(
                "  {kind}: {} {} {}: {}",
                issue.object,
                issue.salesforce_id.as_deref().unwrap_or("(no id)"),
                issue.field.as_deref().unwrap_or(""),
                issue.reason
            );
        }
        if report.issues.len() > ISSUES_SHOWN {
            println!("  ... and {} more", report.issues.len() - ISSUES_SHOWN);
        }
    }
    let discovery = &migration.discovery;
    println!(
        "Left out: {} of the org's {} objects (not in the map, or not exportable); {} plan notes.",
        discovery.skipped.len(),
        discovery.objects_in_org,
        discovery.plan.notes.len()
    );
    if let Some(usage) = salesforce.api_usage() {
        println!(
            "Salesforce API calls used today: {} of {}.",
            usage.used, usage.limit
        );
    }
    println!(
        "Done in {:.1} s. Destination: {}",
        started.elapsed().as_secs_f64(),
        workspace.dir.join("destination.db").display()
    );
    simulator.shutdown().await;
    if report.is_balanced() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("ferry: the counts do not add up: some extracted records have no outcome");
        Ok(ExitCode::FAILURE)
    }
}

/// `http://127.0.0.1:40123` → `127.0.0.1:40123`: the simulator is allowed as an instance host
/// by name, the way a test or a consultant would allow it.
fn host_and_port(base_url: &str) -> String {
    let without_scheme = base_url
        .split_once("://")
        .map_or(base_url, |(_, rest)| rest);
    without_scheme
        .split('/')
        .next()
        .unwrap_or(without_scheme)
        .to_owned()
}
