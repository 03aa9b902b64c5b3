//! `ferry sim`: a simulated Salesforce org for tests, benchmarks and other clients.
//!
//! The first stdout line is the connection info as one JSON object (`base_url`,
//! `login_url`, `sandbox_login_url`, `client_id`, `client_secret`, `refresh_token`,
//! `username`, `api_version`, `records`, `ca_cert_path`, `faults_url`, `counters_url`).
//! Every fault flag can also be changed while the simulator runs, with
//! `POST {faults_url}` and a JSON document of the knobs to change.

use anyhow::Context;
use clap::Args;
use ferry_simulator::org::Mix;
use ferry_simulator::{Faults, SimulatorConfig};
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct SimArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub addr: SocketAddr,
    /// Records in the org, across all objects.
    #[arg(long, default_value_t = 1000)]
    pub records: u64,
    /// What the org is mostly made of: `sales` (contacts, leads, deals, tasks, files) or
    /// `activities` (80% tasks, emails and events).
    #[arg(long, default_value = "sales", value_parser = parse_mix)]
    pub mix: Mix,
    /// Seed of the generated data: the same seed serves the same org.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Serve https with a self-signed certificate (its PEM path is `ca_cert_path`).
    #[arg(long)]
    pub tls: bool,
    /// Where to write the certificate's PEM with --tls (default: the temp directory).
    #[arg(long, requires = "tls")]
    pub ca_cert_path: Option<PathBuf>,
    /// Daily API request limit; calls past it answer 403 REQUEST_LIMIT_EXCEEDED.
    #[arg(long, default_value_t = 100_000)]
    pub daily_api_limit: u64,
    /// Default REST query batch size.
    #[arg(long, default_value_t = 2000)]
    pub page_size: usize,
    /// Rows of a Bulk results page when the request sets no maxRecords.
    #[arg(long, default_value_t = 50_000)]
    pub bulk_page_size: u64,
    /// Callback URL the authorize endpoint accepts (repeatable; none accepts any).
    #[arg(long = "redirect-uri")]
    pub redirect_uris: Vec<String>,
    /// Fault injection: every Nth API call answers 503 SERVER_UNAVAILABLE.
    #[arg(long)]
    pub unavailable_every: Option<u64>,
    /// Every Nth API call answers 500 UNKNOWN_EXCEPTION.
    #[arg(long)]
    pub server_error_every: Option<u64>,
    /// Every Nth API call closes the connection without answering.
    #[arg(long)]
    pub drop_every: Option<u64>,
    /// Milliseconds added to every call.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// The integration user has no API access (403 API_DISABLED_FOR_ORG).
    #[arg(long)]
    pub api_disabled: bool,
    /// Access tokens expire after this many seconds (401 INVALID_SESSION_ID).
    #[arg(long)]
    pub token_ttl_secs: Option<u64>,
    /// Each refresh returns a new refresh token and invalidates the old one.
    #[arg(long)]
    pub rotate_refresh_tokens: bool,
    /// Every refresh token is refused (invalid_grant), as after a revocation.
    #[arg(long)]
    pub refresh_token_revoked: bool,
    /// Bulk query jobs process this many rows per second (0: complete at once).
    #[arg(long, default_value_t = 0)]
    pub bulk_rows_per_second: u64,
    /// API response bodies (query and Bulk result pages, files) are sent at this many
    /// bytes per second each (0: unlimited).
    #[arg(long, default_value_t = 0)]
    pub bandwidth_bytes_per_second: u64,
    /// Every Nth API call's response is cut off halfway through its body.
    #[arg(long)]
    pub cut_body_every: Option<u64>,
    /// Every Nth Bulk query job ends Failed.
    #[arg(long)]
    pub bulk_fail_every: Option<u64>,
    /// The describe of this object is refused although describeGlobal lists it, as real
    /// orgs do for objects the integration user cannot see: `OBJECT` (404 NOT_FOUND) or
    /// `OBJECT=INSUFFICIENT_ACCESS` (403). Repeatable.
    #[arg(long, value_name = "OBJECT[=CODE]")]
    pub describe_refused: Vec<String>,
    /// Seconds an authorization code can be exchanged.
    #[arg(long, default_value_t = 900)]
    pub auth_code_ttl_secs: u64,
    /// The org has person accounts: accounts that are people (`IsPersonAccount`), each
    /// with a hidden person contact.
    #[arg(long)]
    pub person_accounts: bool,
    /// The org has multiple currencies: every record carries `CurrencyIsoCode`.
    #[arg(long)]
    pub multi_currency: bool,
}

/// The [`Mix`] of a `--mix` name.
pub(crate) fn parse_mix(name: &str) -> Result<Mix, String> {
    Mix::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = Mix::ALL.iter().map(|mix| mix.name()).collect();
        format!("unknown mix {name:?}; expected one of {}", names.join(", "))
    })
}

impl SimArgs {
    fn config(&self) -> SimulatorConfig {
        let defaults = SimulatorConfig::default();
        SimulatorConfig {
            records: self.records,
            mix: self.mix,
            seed: self.seed,
            page_size: self.page_size,
            daily_api_limit: self.daily_api_limit,
            unavailable_every: self.unavailable_every,
            faults: Faults {
                latency_ms: self.latency_ms,
                server_error_every: self.server_error_every,
                drop_every: self.drop_every,
                api_disabled: self.api_disabled,
                token_ttl_secs: self.token_ttl_secs,
                rotate_refresh_tokens: self.rotate_refresh_tokens,
                refresh_token_revoked: self.refresh_token_revoked,
                bulk_rows_per_second: self.bulk_rows_per_second,
                bulk_fail_every: self.bulk_fail_every,
                bandwidth_bytes_per_second: self.bandwidth_bytes_per_second,
                cut_body_every: self.cut_body_every,
                describe_refused: self
                    .describe_refused
                    .iter()
                    .map(|entry| match entry.split_once('=') {
                        Some((object, code)) => (object.to_string(), code.to_string()),
                        None => (entry.clone(), "NOT_FOUND".to_string()),
                    })
                    .collect(),
                ..Faults::default()
            },
            tls: self.tls,
            ca_cert_path: self.ca_cert_path.clone(),
            redirect_uris: self.redirect_uris.clone(),
            auth_code_ttl: Duration::from_secs(self.auth_code_ttl_secs),
            bulk_page_size: self.bulk_page_size,
            features: ferry_simulator::schema::Features {
                person_accounts: self.person_accounts,
                multi_currency: self.multi_currency,
            },
            ..defaults
        }
    }
}

pub async fn run(args: SimArgs) -> anyhow::Result<ExitCode> {
    let simulator = ferry_simulator::serve(args.config(), args.addr)
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
