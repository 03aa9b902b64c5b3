//! `ferry`: move a Salesforce org into another CRM from one machine.
//!
//! A thin shell: it parses arguments, wires adapters to the pipeline steps of `ferry-core`,
//! and decides how to report. All migration logic lives in the library crates.

mod bench;
mod connect;
mod demo;
mod destination_server;
mod dryrun;
mod exit;
mod local;
mod login;
mod migrate;
mod plan;
mod progress;
mod runs;
mod sim;
mod summary;
mod table;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "ferry",
    version,
    about = "One-time, verifiable migration out of Salesforce"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start a simulated Salesforce org in this process and migrate it into a local SQLite CRM.
    Demo(demo::DemoArgs),
    /// Serve a simulated Salesforce org until stopped (Ctrl-C).
    Sim(sim::SimArgs),
    /// Connect an org (OAuth web-server flow with PKCE) and store the connection.
    Login(login::LoginArgs),
    /// List stored connections.
    Connections(login::ConnectionsArgs),
    /// Revoke a stored connection's token at Salesforce and forget the connection.
    Logout(login::LogoutArgs),
    /// Discover an org and show what a migration would do: objects, fields, budget.
    Plan(plan::PlanArgs),
    /// Read every record and report what a migration would create, update and skip, and
    /// why, writing nothing to the destination.
    DryRun(dryrun::DryRunArgs),
    /// Serve the HTTP destination contract over a local SQLite CRM until stopped (Ctrl-C).
    DestinationServer(destination_server::DestinationServerArgs),
    /// Migrate the org into the destination: every object in dependency order, then the
    /// report. Run it again to update what changed; it never creates a record twice.
    Migrate(migrate::MigrateArgs),
    /// Undo a run: delete what it created, children first, and put back what it changed.
    /// Resumable: run it again to finish an interrupted rollback.
    Rollback(runs::RollbackArgs),
    /// The run history of a workspace, newest last.
    Runs(runs::RunsArgs),
    /// Where a run stands: its line in the history and its per-object counts.
    Status(runs::StatusArgs),
    /// A run's report, rebuilt from the run history, as Markdown, HTML or JSON.
    Report(runs::ReportArgs),
    /// Benchmark: scenarios S (50k records) and L (1M) through the embedded path, against
    /// the download-only limit, on a simulated org with latency; JSON and Markdown out.
    Bench(bench::BenchArgs),
    /// One measured run of `ferry bench`, in its own process.
    #[command(hide = true)]
    BenchChild(bench::BenchChildArgs),
}

fn main() -> ExitCode {
    limit_malloc_arenas();
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("FERRY_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("ferry: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async {
        match cli.command {
            Command::Demo(args) => demo::run(args).await,
            Command::Sim(args) => sim::run(args).await,
            Command::Login(args) => login::run(args).await,
            Command::Connections(args) => login::list(args).await,
            Command::Logout(args) => login::logout(args).await,
            Command::Plan(args) => plan::run(args).await,
            Command::DryRun(args) => dryrun::run(args).await,
            Command::DestinationServer(args) => destination_server::run(args).await,
            Command::Migrate(args) => migrate::run(args).await,
            Command::Rollback(args) => runs::rollback_command(args).await,
            Command::Runs(args) => runs::runs(args).await,
            Command::Status(args) => runs::status(args).await,
            Command::Report(args) => runs::report(args).await,
            Command::Bench(args) => bench::run(args).await,
            Command::BenchChild(args) => bench::child(args).await,
        }
    });
    match outcome {
        Ok(code) => code,
        Err(error) => {
            eprintln!("ferry: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs `ferry` again, in the same process (`exec`), with `MALLOC_ARENA_MAX=2` unless the
/// environment already sets it. glibc's malloc gives each thread that allocates (tokio's
/// workers, the blocking threads that run SQLite and file IO) an arena of its own, up to 8
/// per core, and each arena keeps what it freed: a 50k-record migration held 107 MB of heap
/// at its peak but 280-320 MB resident; with two arenas, 135 MB (see the README's
/// benchmark section). The variable is read by glibc at start only, hence the `exec`; other
/// C libraries ignore it. If the `exec` fails, `ferry` goes on as it is.
fn limit_malloc_arenas() {
    #[cfg(all(unix, target_env = "gnu"))]
    {
        use std::os::unix::process::CommandExt as _;
        const VARIABLE: &str = "MALLOC_ARENA_MAX";
        if std::env::var_os(VARIABLE).is_some() {
            return;
        }
        let Ok(exe) = std::env::current_exe() else {
            return;
        };
        let mut args = std::env::args_os();
        let mut command = std::process::Command::new(exe);
        if let Some(name) = args.next() {
            command.arg0(name);
        }
        // Only returns when the exec failed.
        let _error = command.args(args).env(VARIABLE, "2").exec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_given_as_arguments_never_show_in_debug_output() {
        for args in [
            vec![
                "ferry",
                "plan",
                "--instance-url",
                "https://acme.my.salesforce.com",
                "--access-token",
                "00Dx!tok-SECRET",
            ],
            vec![
                "ferry",
                "login",
                "--client-id",
                "3MVG9",
                "--client-secret",
                "cs-SECRET",
            ],
            vec![
                "ferry",
                "demo",
                "--pseudonymise",
                "Contact",
                "--pseudonym-key",
                "key-SECRET-0123456789",
            ],
        ] {
            let cli = Cli::try_parse_from(&args).unwrap_or_else(|error| panic!("{error}"));
            let shown = format!("{cli:?}");
            assert!(!shown.contains("SECRET"), "{shown}");
        }
    }
}
