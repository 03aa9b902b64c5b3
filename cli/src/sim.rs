//! `ferry sim`: a simulated Salesforce org for tests, benchmarks and other clients.

use anyhow::Context;
use clap::Args;
use ferry_simulator::SimulatorConfig;
use std::io::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct SimArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub addr: SocketAddr,
    /// Records in the org, across all objects.
    #[arg(long, default_value_t = 1000)]
    pub records: u64,
    /// Seed of the generated data: the same seed serves the same org.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Fault injection: every Nth API call answers 503 SERVER_UNAVAILABLE.
    #[arg(long)]
    pub unavailable_every: Option<u64>,
}

pub async fn run(args: SimArgs) -> anyhow::Result<ExitCode> {
    let config = SimulatorConfig {
        records: args.records,
        seed: args.seed,
        unavailable_every: args.unavailable_every,
        ..SimulatorConfig::default()
    };
    let simulator = ferry_simulator::serve(config, args.addr)
        .await
        .with_context(|| format!("cannot start the simulator on {}", args.addr))?;
    // The first stdout line is the machine-readable connection info; tests read it.
    let info = serde_json::to_string(&simulator.startup_info())?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{info}")?;
    stdout.flush()?;
    drop(stdout);
    eprintln!(
        "ferry sim: serving {} records at {} (Ctrl-C to stop)",
        args.records,
        simulator.base_url()
    );
    tokio::signal::ctrl_c()
        .await
        .context("cannot wait for Ctrl-C")?;
    simulator.shutdown().await;
    Ok(ExitCode::SUCCESS)
}
