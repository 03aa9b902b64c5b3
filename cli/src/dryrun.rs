//! `ferry dry-run`: discovery, extraction and analysis of every record as a migration
//! would do it, writing nothing to the destination. Writes `dry-run.json`, `dry-run.md`
//! and `dry-run.html` and prints a summary.

use crate::connect::{TargetArgs, connect};
use crate::local::new_run_id;
use anyhow::Context;
use clap::Args;
use ferry_core::run::dry_run::{render_html, render_markdown};
use ferry_core::run::{DryRunPorts, RunConfig, dry_run};
use ferry_core::steps::{DiscoverOptions, ExtractConfig};
use ferry_embedded::{InProcessQueue, LocalStaging, SqliteStore, TokioSleeper};
use ferry_model::budget::BudgetPolicy;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct DryRunArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub map: crate::plan::MapArgs,
    #[command(flatten)]
    pub pseudonymise: crate::plan::PseudonymiseArgs,
    #[command(flatten)]
    pub policy: crate::plan::PolicyArgs,
    /// Only these objects, comma-separated (default: every object the map covers).
    #[arg(long, value_delimiter = ',')]
    pub objects: Option<Vec<String>>,
    /// Only records created on or after this date (YYYY-MM-DD, midnight UTC), in every
    /// object but users and stages; a link to an older record is reported if that record
    /// is not migrated anyway.
    #[arg(long, value_name = "DATE", value_parser = ferry_core::steps::parse_start_date)]
    pub since: Option<time::Date>,
    /// Where to write the reports (default: runs/RUN_ID in the state directory).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// A migration working directory whose ID map tells updates from creates (its
    /// `ferry.db`); without it every record counts as new.
    #[arg(long, value_name = "DIR")]
    pub workspace: Option<PathBuf>,
    /// Percent of the daily API limit to leave to other integrations.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub reserve_percent: u8,
    /// Records per chunk (and per Bulk API result page).
    #[arg(long, default_value_t = 2000)]
    pub chunk_records: usize,
    /// Count the leads `ferry migrate --merge-leads-by-email` would merge into the contact
    /// with the same email: skipped, with that reason, instead of created.
    #[arg(long)]
    pub merge_leads_by_email: bool,
    /// Where records a Salesforce queue owns (leads, cases) land: `team`, each queue as a
    /// destination team that owns them, or `default-owner`, no teams and the records to the
    /// default owner (`--default-owner`).
    #[arg(long, value_name = "team|default-owner", default_value = "team", value_parser = crate::migrate::parse_queues)]
    pub queues: ferry_model::plan::QueueOwners,
}

pub async fn run(args: DryRunArgs) -> anyhow::Result<ExitCode> {
    let (map, map_overrides) = args.map.load()?;
    let pseudonymise = args.pseudonymise.load()?;
    let connected = connect(&args.target).await?;
    let client = &connected.client;
    let run_id = new_run_id();
    let out = match &args.out {
        Some(dir) => dir.clone(),
        None => args
            .target
            .state
            .store()?
            .dir()
            .join("runs")
            .join(run_id.to_string()),
    };
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let store_path = args
        .workspace
        .as_ref()
        .map_or_else(|| out.join("ferry.db"), |dir| dir.join("ferry.db"));
    let store = SqliteStore::open(&store_path)
        .with_context(|| format!("cannot open {}", store_path.display()))?;
    let staging_dir = out.join("staging");
    let staging = LocalStaging::new(staging_dir.clone());
    let queue = InProcessQueue::new();
    // With a workspace, the org's users are matched against its destination's users.
    let destination = match &args.workspace {
        Some(dir) => Some(
            ferry_embedded::SqliteDestination::open(&dir.join("destination.db"))
                .with_context(|| format!("cannot open {}", dir.join("destination.db").display()))?,
        ),
        None => None,
    };
    let progress = crate::progress::ProgressView::for_stderr();
    let ports = DryRunPorts {
        salesforce: client,
        destination: destination
            .as_ref()
            .map(|destination| destination as &dyn ferry_model::ports::Destination),
        staging: &staging,
        id_map: &store,
        runs: &store,
        queue: &queue,
        sleeper: &TokioSleeper,
        progress: &progress,
    };
    let policy = BudgetPolicy {
        reserve_percent: args.reserve_percent,
        ..BudgetPolicy::default()
    };
    let config = RunConfig {
        concurrency: Default::default(),
        tenant: crate::local::local_tenant(),
        run_id: run_id.clone(),
        map,
        extract: ExtractConfig {
            chunk_records: args.chunk_records.max(1),
            budget: policy,
            ..ExtractConfig::default()
        },
        discover: DiscoverOptions {
            objects: args.objects.clone(),
            created_since: args.since,
            queues: args.queues,
            map_overrides,
            ..DiscoverOptions::default()
        },
        pseudonymise,
        validation: args.policy.load()?,
        default_owner: None,
        merge_leads_by_email: args.merge_leads_by_email,
    };
    eprintln!("Dry run {run_id}: reading the org (nothing is written to the destination)...");
    let outcome = dry_run(&ports, &config, &policy).await;
    progress.finish();
    // The extracted chunks were only needed for the analysis; customer data does not stay
    // on disk longer than that.
    let _ = std::fs::remove_dir_all(&staging_dir);
    let (_, mut report) = match outcome {
        Ok(outcome) => outcome,
        Err(error) => {
            eprintln!("ferry: the dry run failed: {}", error.chain());
            return Ok(crate::exit::for_step_error(&error));
        }
    };
    connected.save_rotated_token()?;
    report.instance_url = client.instance_url().await.unwrap_or_default();
    report.generated_at = crate::login::now_rfc3339();

    let json = serde_json::to_vec_pretty(&report)?;
    for (name, body) in [
        ("dry-run.json", json),
        ("dry-run.md", render_markdown(&report).into_bytes()),
        ("dry-run.html", render_html(&report).into_bytes()),
    ] {
        let path = out.join(name);
        std::fs::write(&path, body).with_context(|| format!("cannot write {}", path.display()))?;
    }
    println!(
        "{:<24} {:>12} {:>10} {:>10} {:>10}",
        "object", "extracted", "create", "update", "skip"
    );
    for object in &report.objects {
        println!(
            "{:<24} {:>12} {:>10} {:>10} {:>10}",
            object.object,
            object.extracted,
            object.will_create,
            object.will_update,
            object.will_skip
        );
    }
    println!(
        "Findings: {}; likely duplicates: {}; custom fields to create: {}; API calls used: {}.",
        report.findings_total,
        report.duplicates.len(),
        report.custom_fields.len(),
        report
            .api_calls_used
            .map_or("unknown".to_owned(), |n| n.to_string())
    );
    println!("Reports: {}", out.display());
    Ok(ExitCode::SUCCESS)
}
