//! `ferry migrate`: the whole migration of a connected org into the embedded reference CRM,
//! in a working directory that keeps the ID map, the run history and the destination, so a
//! second `ferry migrate` updates instead of duplicating.

use crate::connect::{TargetArgs, connect};
use crate::local::{Workspace, local_tenant, new_run_id};
use anyhow::Context;
use clap::Args;
use ferry_core::run::{LocalPorts, RunConfig, RunOptions, migrate_with};
use ferry_core::steps::{DiscoverOptions, ExtractConfig};
use ferry_embedded::TokioSleeper;
use ferry_model::budget::BudgetPolicy;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Debug, Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub map: crate::plan::MapArgs,
    #[command(flatten)]
    pub pseudonymise: crate::plan::PseudonymiseArgs,
    #[command(flatten)]
    pub policy: crate::plan::PolicyArgs,
    #[command(flatten)]
    pub workspace: WorkspaceArgs,
    #[command(flatten)]
    pub destination: DestinationArgs,
    /// Only these objects, comma-separated (default: every object the map covers).
    #[arg(long, value_delimiter = ',')]
    pub objects: Option<Vec<String>>,
    /// Only records created on or after this date (YYYY-MM-DD, midnight UTC), in every
    /// object but users and stages; a link to an older record is reported if that record
    /// is not migrated anyway.
    #[arg(long, value_name = "DATE", value_parser = ferry_core::steps::parse_start_date)]
    pub since: Option<time::Date>,
    /// Percent of the daily API limit to leave to other integrations.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub reserve_percent: u8,
    /// Records per chunk (and per Bulk API result page).
    #[arg(long, default_value_t = 2000)]
    pub chunk_records: usize,
    /// Only what changed since the last successful run: records modified since its
    /// high-water marks (with a small overlap), and records deleted in Salesforce since,
    /// which are deleted from the destination when Ferry created them.
    #[arg(long)]
    pub delta: bool,
    /// Skip reading every migrated record back from the destination to compare it with what
    /// was sent.
    #[arg(long)]
    pub no_verify: bool,
    /// Records per object re-read from Salesforce by Id after the load and compared with
    /// the destination (the spot check, part of verification); 0 turns it off.
    #[arg(long, value_name = "N", default_value_t = ferry_core::steps::DEFAULT_SPOT_CHECK_RECORDS)]
    pub spot_check: usize,
    /// The destination user (by email) who owns records whose Salesforce owner has no
    /// destination user with the same email. Without it, those owner links stay empty and
    /// each is reported.
    #[arg(long, value_name = "EMAIL")]
    pub default_owner: Option<String>,
    /// Merge each lead whose email (trimmed, any case) is a migrated contact's into that
    /// contact instead of creating it: the lead is reported skipped, naming the contact, and
    /// its tasks and events link to the contact. Several contacts with the email: the oldest
    /// (CreatedDate, then Id) wins. The contact's own values are kept. Off by default.
    #[arg(long)]
    pub merge_leads_by_email: bool,
    /// Which versions of each file land: `latest` (the file as Salesforce shows it; the
    /// superseded versions are counted skipped, with the reason) or `all` (every version,
    /// each a file of its own).
    #[arg(long, value_name = "latest|all", default_value = "latest", value_parser = ferry_core::steps::FileVersions::parse)]
    pub file_versions: ferry_core::steps::FileVersions,
    /// Where records a Salesforce queue owns (leads, cases) land: `team`, each queue as a
    /// destination team that owns them, or `default-owner`, no teams and the records to the
    /// default owner (`--default-owner`).
    #[arg(long, value_name = "team|default-owner", default_value = "team", value_parser = crate::migrate::parse_queues)]
    pub queues: ferry_model::plan::QueueOwners,
}

/// `--queues`: `team` or `default-owner`.
pub(crate) fn parse_queues(name: &str) -> Result<ferry_model::plan::QueueOwners, String> {
    ferry_model::plan::QueueOwners::from_name(name)
        .ok_or_else(|| format!("{name:?} is not one of team, default-owner"))
}

/// Where the records go: the workspace's SQLite CRM, or a destination that implements the
/// HTTP contract (`infra/destination-api.openapi.json`).
#[derive(Debug, Clone, Args)]
pub struct DestinationArgs {
    /// The base URL of an HTTP destination (its `/v1/...` routes), e.g. a SaaS backend or
    /// `ferry destination-server`. Default: `destination.db` in the workspace.
    #[arg(long, value_name = "URL")]
    pub destination_url: Option<String>,
    /// Names the shared secret to the HTTP destination (X-Ferry-Key-Id).
    #[arg(long, default_value = "ferry", requires = "destination_url")]
    pub destination_key_id: String,
    /// The secret requests to the HTTP destination are signed with. Prefer
    /// FERRY_DESTINATION_SECRET to the command line, which other users can see.
    #[arg(
        long,
        env = crate::destination_server::SECRET_VAR,
        hide_env_values = true,
        value_parser = crate::connect::secret
    )]
    pub destination_secret: Option<ferry_model::secret::Secret>,
}

impl DestinationArgs {
    /// The HTTP destination named, with its idempotency keys scoped to the run: a retried
    /// or resumed request of this run is answered from what the destination stored, the
    /// next run's is carried out again.
    pub fn http(
        &self,
        run: &ferry_model::ids::RunId,
    ) -> anyhow::Result<Option<ferry_destination_http::HttpDestination>> {
        let Some(url) = &self.destination_url else {
            return Ok(None);
        };
        let secret = self
            .destination_secret
            .clone()
            .filter(|secret| !secret.expose().is_empty())
            .with_context(|| {
                format!(
                    "--destination-url needs the shared secret: set {} or pass --destination-secret",
                    crate::destination_server::SECRET_VAR
                )
            })?;
        let mut config = ferry_destination_http::HttpDestinationConfig::new(
            url.clone(),
            self.destination_key_id.clone(),
            secret,
        );
        config.idempotency_scope = run.to_string();
        let destination = ferry_destination_http::HttpDestination::new(config)
            .with_context(|| format!("cannot use the destination at {url}"))?;
        Ok(Some(destination))
    }
}

/// Where a migration keeps its state.
#[derive(Debug, Clone, Args)]
pub struct WorkspaceArgs {
    /// The migration's working directory: ID map and run history (`ferry.db`), the
    /// destination (`destination.db`) and staged chunks. Default: `workspaces/NAME` in the
    /// state directory, NAME being the connection (or the instance's host).
    #[arg(long, value_name = "DIR")]
    pub workspace: Option<PathBuf>,
}

impl WorkspaceArgs {
    pub fn dir(&self, target: &TargetArgs) -> anyhow::Result<PathBuf> {
        if let Some(dir) = &self.workspace {
            return Ok(dir.clone());
        }
        let name = match (&target.connection, &target.instance_url) {
            (Some(name), _) => name.clone(),
            (None, Some(url)) => url::Url::parse(url)
                .ok()
                .and_then(|url| url.host_str().map(str::to_owned))
                .with_context(|| format!("{url} is not a URL"))?,
            (None, None) => anyhow::bail!(
                "say which org: --connection NAME, or --instance-url URL with an access token"
            ),
        };
        Ok(target.state.store()?.dir().join("workspaces").join(name))
    }
}

pub async fn run(args: MigrateArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let (map, map_overrides) = args.map.load()?;
    let pseudonymise = args.pseudonymise.load()?;
    let validation = args.policy.load()?;
    let dir = args.workspace.dir(&args.target)?;
    let workspace = Workspace::open_exclusive(&dir, "migrate")?;
    let connected = connect(&args.target).await?;
    let client = &connected.client;
    let run_id = new_run_id();
    let http = args.destination.http(&run_id)?;
    let destination: &dyn ferry_model::ports::Destination = match &http {
        Some(http) => http,
        None => &workspace.destination,
    };
    eprintln!(
        "Run {run_id} into {}",
        args.destination
            .destination_url
            .as_deref()
            .map_or_else(|| workspace.dir.display().to_string(), str::to_owned)
    );
    let ports = LocalPorts {
        salesforce: client,
        staging: &workspace.staging,
        id_map: &workspace.store,
        runs: &workspace.store,
        destination,
        sleeper: &TokioSleeper,
    };
    let policy = BudgetPolicy {
        reserve_percent: args.reserve_percent,
        ..BudgetPolicy::default()
    };
    let config = RunConfig {
        concurrency: Default::default(),
        tenant: local_tenant(),
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
            file_versions: args.file_versions,
            map_overrides,
        },
        pseudonymise,
        validation,
        default_owner: args.default_owner.clone(),
        merge_leads_by_email: args.merge_leads_by_email,
    };
    let options = RunOptions {
        delta: args.delta,
        verify: !args.no_verify,
        spot_check: args.spot_check,
    };
    let progress = crate::progress::ProgressView::for_stderr();
    // Ctrl-C drops the run where it stands. Every step is safe to repeat and each SQLite
    // write is one transaction that finishes even when its caller is gone, so what is left
    // is what a crash leaves; the run is marked interrupted and the next `ferry migrate`
    // resumes it.
    let outcome = tokio::select! {
        outcome = migrate_with(&ports, &config, &options, &progress) => outcome,
        _ = tokio::signal::ctrl_c() => {
            progress.finish();
            connected.save_rotated_token()?;
            crate::runs::mark_unfinished_interrupted(&workspace.store, &config.tenant).await?;
            eprintln!("ferry: interrupted; run `ferry migrate` again with the same workspace to resume");
            return Ok(ExitCode::from(crate::exit::INTERRUPTED));
        }
    };
    progress.finish();
    connected.save_rotated_token()?;
    let migration = match outcome {
        Ok(migration) => migration,
        Err(error) => {
            eprintln!("ferry: the migration stopped: {}", error.chain());
            return Ok(crate::exit::for_step_error(&error));
        }
    };
    let report = &migration.report;
    println!(
        "Run {} ({}{}): {}",
        migration.run.run_id,
        migration.run.kind.as_str(),
        if migration.resumed { ", resumed" } else { "" },
        migration.run.status.as_str()
    );
    crate::summary::print(
        report,
        Some(&migration.discovery),
        client.api_usage().map(|usage| (usage.used, usage.limit)),
    );
    println!(
        "Done in {:.1} s. Destination: {}",
        started.elapsed().as_secs_f64(),
        args.destination.destination_url.as_deref().map_or_else(
            || workspace.dir.join("destination.db").display().to_string(),
            str::to_owned
        )
    );
    let failed: u64 = report
        .objects
        .iter()
        .map(|object| object.counts.failed)
        .sum();
    let unresolved: u64 = report
        .objects
        .iter()
        .map(|object| object.counts.links_unresolved)
        .sum();
    if !report.is_balanced() {
        eprintln!("ferry: the counts do not add up: some extracted records have no outcome");
        return Ok(ExitCode::from(crate::exit::INCOMPLETE));
    }
    if !report.is_complete() {
        eprintln!(
            "ferry: not every record in Salesforce has an outcome: {}",
            crate::demo::differences(report)
        );
        return Ok(ExitCode::from(crate::exit::INCOMPLETE));
    }
    let mismatched: u64 = report
        .objects
        .iter()
        .map(|object| object.counts.mismatched + object.counts.spot_mismatched)
        .sum();
    // What `ferry plan` calls permission problems (an object or a required field the
    // integration user cannot read) left part of the org behind: the rest migrated, and
    // the exit status says what `ferry plan` says for the same org.
    let permission_problems = ferry_core::preview::PlanPreview::build(
        &migration.discovery,
        &config.map,
        &config.extract,
        &config.extract.budget,
    )
    .permission_problems;
    for problem in &permission_problems {
        eprintln!("ferry: not migrated: {problem}");
    }
    if failed > 0 || unresolved > 0 || mismatched > 0 {
        eprintln!(
            "ferry: {failed} records failed, {unresolved} links stayed unresolved and {mismatched} records did not verify; the issues above say why (`ferry report {}` has them all)",
            migration.run.run_id
        );
    }
    if !permission_problems.is_empty() {
        return Ok(ExitCode::from(crate::exit::PERMISSION));
    }
    if failed > 0 || unresolved > 0 || mismatched > 0 {
        return Ok(ExitCode::from(crate::exit::INCOMPLETE));
    }
    Ok(ExitCode::SUCCESS)
}
