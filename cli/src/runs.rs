//! The run history of a workspace: `ferry runs`, `ferry status RUN_ID`,
//! `ferry report RUN_ID` and `ferry rollback RUN_ID`. None of them talks to Salesforce:
//! everything comes from the workspace's run store (and, for a rollback, the destination).

use crate::connect::StateArgs;
use crate::local::{Workspace, local_tenant};
use anyhow::Context;
use clap::{Args, ValueEnum};
use ferry_core::run::{RollbackRunPorts, mark_interrupted, rollback};
use ferry_core::run_report::{render_html, render_markdown, run_document};
use ferry_model::ids::{RunId, TenantId};
use ferry_model::ports::RunStore;
use ferry_model::runs::RunSummary;
use std::path::PathBuf;
use std::process::ExitCode;

/// Which workspace: named directly, or the default one of a connection.
#[derive(Debug, Clone, Args)]
pub struct WorkspaceSelect {
    /// The migration's working directory (as given to `ferry migrate --workspace`).
    #[arg(long, value_name = "DIR", required_unless_present = "connection")]
    pub workspace: Option<PathBuf>,
    /// The connection whose default workspace to use (`workspaces/NAME` in the state
    /// directory).
    #[arg(long, conflicts_with = "workspace")]
    pub connection: Option<String>,
    #[command(flatten)]
    pub state: StateArgs,
}

impl WorkspaceSelect {
    fn open(&self) -> anyhow::Result<Workspace> {
        Workspace::open(&self.existing_dir()?)
    }

    /// Opens the workspace for a command that changes it (a rollback), refused while another
    /// command (a migration, another rollback) is changing it.
    fn open_exclusive(&self, command: &str) -> anyhow::Result<Workspace> {
        Workspace::open_exclusive(&self.existing_dir()?, command)
    }

    fn existing_dir(&self) -> anyhow::Result<PathBuf> {
        let dir = match (&self.workspace, &self.connection) {
            (Some(dir), _) => dir.clone(),
            (None, Some(name)) => self.state.store()?.dir().join("workspaces").join(name),
            (None, None) => {
                anyhow::bail!("say which workspace: --workspace DIR or --connection NAME")
            }
        };
        if !dir.join("ferry.db").exists() {
            anyhow::bail!(
                "{} holds no migration (no ferry.db): run `ferry migrate` into it first",
                dir.display()
            );
        }
        Ok(dir)
    }
}

#[derive(Debug, Args)]
pub struct RunsArgs {
    #[command(flatten)]
    pub workspace: WorkspaceSelect,
    /// The history as JSON, one object per run.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    pub run_id: String,
    #[command(flatten)]
    pub workspace: WorkspaceSelect,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ReportFormat {
    Json,
    Md,
    Html,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    pub run_id: String,
    #[command(flatten)]
    pub workspace: WorkspaceSelect,
    #[arg(long, value_enum, default_value = "md")]
    pub format: ReportFormat,
    /// Write the report to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The run to undo: the newest run of the workspace that is not rolled back yet.
    pub run_id: String,
    #[command(flatten)]
    pub workspace: WorkspaceSelect,
    /// The HTTP destination the run wrote to, when it was not the workspace's own.
    #[command(flatten)]
    pub destination: crate::migrate::DestinationArgs,
}

fn summary_line(run: &RunSummary) -> String {
    let mut notes = Vec::new();
    if let Some(of) = &run.delta_of {
        notes.push(format!("delta of {of}"));
    }
    if let Some(target) = &run.rolls_back {
        notes.push(format!("undoes {target}"));
    }
    if let Some(by) = &run.rolled_back_by {
        notes.push(format!("rolled back by {by}"));
    }
    if let Some(error) = &run.error {
        notes.push(error.clone());
    }
    format!(
        "{:<30} {:<9} {:<12} {:<26} {:<26} {}",
        run.run_id,
        run.kind.as_str(),
        run.status.as_str(),
        run.started_at,
        run.finished_at.as_deref().unwrap_or("-"),
        notes.join("; ")
    )
}

pub async fn runs(args: RunsArgs) -> anyhow::Result<ExitCode> {
    let workspace = args.workspace.open()?;
    let history = workspace
        .store
        .list_runs(&local_tenant())
        .await
        .context("cannot read the run history")?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&history)?);
        return Ok(ExitCode::SUCCESS);
    }
    if history.is_empty() {
        println!("No runs yet in {}.", workspace.dir.display());
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<30} {:<9} {:<12} {:<26} {:<26} notes",
        "run", "kind", "status", "started", "finished"
    );
    for run in &history {
        println!("{}", summary_line(run));
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn status(args: StatusArgs) -> anyhow::Result<ExitCode> {
    let workspace = args
        .workspace
        .open_exclusive(&format!("rollback {}", args.run_id))?;
    let run = RunId::new(args.run_id.clone());
    let document = run_document(&workspace.store, &run)
        .await
        .map_err(|error| anyhow::anyhow!(error.chain()))?;
    println!("{}", summary_line(&document.summary));
    if let Some(report) = &document.report {
        print!("{}", crate::table::render(report));
        if !document.is_balanced() {
            println!("The counts do not add up yet: the run has records without an outcome.");
        }
    }
    if let Some(rollback) = &document.rollback {
        let total = rollback.total();
        println!(
            "Undid {}: {} deleted, {} restored, {} re-created, {} failed.",
            rollback.rolls_back, total.deleted, total.restored, total.recreated, total.failed
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn report(args: ReportArgs) -> anyhow::Result<ExitCode> {
    let workspace = args
        .workspace
        .open_exclusive(&format!("rollback {}", args.run_id))?;
    let run = RunId::new(args.run_id.clone());
    let document = run_document(&workspace.store, &run)
        .await
        .map_err(|error| anyhow::anyhow!(error.chain()))?;
    let body = match args.format {
        ReportFormat::Json => serde_json::to_string_pretty(&document)? + "\n",
        ReportFormat::Md => render_markdown(&document),
        ReportFormat::Html => render_html(&document),
    };
    match &args.out {
        Some(path) => std::fs::write(path, body)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => print!("{body}"),
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn rollback_command(args: RollbackArgs) -> anyhow::Result<ExitCode> {
    let workspace = args
        .workspace
        .open_exclusive(&format!("rollback {}", args.run_id))?;
    let run = RunId::new(args.run_id.clone());
    let http = args
        .destination
        .http(&ferry_core::run::rollback_run_id(&run))?;
    let destination: &dyn ferry_model::ports::Destination = match &http {
        Some(http) => http,
        None => &workspace.destination,
    };
    let progress = crate::progress::ProgressView::for_stderr();
    let ports = RollbackRunPorts {
        id_map: &workspace.store,
        runs: &workspace.store,
        destination,
    };
    let tenant = local_tenant();
    let outcome = tokio::select! {
        outcome = rollback(&ports, &tenant, &run, &progress) => outcome,
        _ = tokio::signal::ctrl_c() => {
            progress.finish();
            mark_unfinished_interrupted(&workspace.store, &tenant).await?;
            eprintln!("ferry: interrupted; run `ferry rollback {run}` again to finish it");
            return Ok(ExitCode::from(crate::exit::INTERRUPTED));
        }
    };
    progress.finish();
    let report = match outcome {
        Ok(report) => report,
        Err(error) => {
            eprintln!("ferry: the rollback stopped: {}", error.chain());
            return Ok(crate::exit::for_step_error(&error));
        }
    };
    println!(
        "{:<24} {:>9} {:>9} {:>11} {:>7}",
        "object", "deleted", "restored", "re-created", "failed"
    );
    for object in report.objects.iter().chain([&report.total()]) {
        println!(
            "{:<24} {:>9} {:>9} {:>11} {:>7}",
            object.object, object.deleted, object.restored, object.recreated, object.failed
        );
    }
    let total = report.total();
    for issue in report
        .objects
        .iter()
        .flat_map(|object| &object.issues)
        .take(10)
    {
        println!(
            "  {} {}: {}",
            issue.object,
            issue.salesforce_id.as_deref().unwrap_or("(no id)"),
            issue.reason
        );
    }
    println!(
        "Run {} is rolled back by {}.",
        report.rolls_back, report.run_id
    );
    Ok(if total.failed > 0 {
        ExitCode::from(crate::exit::INCOMPLETE)
    } else {
        ExitCode::SUCCESS
    })
}

/// Marks the tenant's unfinished runs interrupted, after Ctrl-C dropped the one under way.
pub async fn mark_unfinished_interrupted(
    runs: &dyn RunStore,
    tenant: &TenantId,
) -> anyhow::Result<()> {
    let history = runs
        .list_runs(tenant)
        .await
        .context("cannot read the run history")?;
    for run in history.iter().filter(|run| run.status.is_unfinished()) {
        mark_interrupted(runs, &run.run_id)
            .await
            .map_err(|error| anyhow::anyhow!(error.chain()))?;
    }
    Ok(())
}
