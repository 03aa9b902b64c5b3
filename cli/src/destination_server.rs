//! `ferry destination-server`: the reference implementation of the HTTP destination contract
//! (`infra/destination-api.openapi.json`) over a local SQLite CRM, for trying the contract
//! out and for testing a client against it.
//!
//! The records land in `destination.db` in the given directory (the same file `ferry demo`
//! writes), and the answers kept for idempotency in `destination-idempotency.db` beside it,
//! so a restarted server still recognises a request it already carried out. The first
//! stdout line is `{"base_url", "key_id", "destination_db"}` as JSON.

use anyhow::Context;
use clap::Args;
use ferry_embedded::SqliteDestination;
use ferry_model::secret::Secret;
use ferry_reference_server::{IdempotencyLimits, IdempotencyStore, ReferenceServerConfig};
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// The environment variable holding the shared secret.
pub const SECRET_VAR: &str = "FERRY_DESTINATION_SECRET";

#[derive(Debug, Args)]
pub struct DestinationServerArgs {
    /// Directory of `destination.db` (created if missing).
    #[arg(long, default_value = ".")]
    pub dir: PathBuf,
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub addr: SocketAddr,
    /// Names the shared secret; clients send it as X-Ferry-Key-Id.
    #[arg(long, default_value = "ferry")]
    pub key_id: String,
    /// The shared secret requests must be signed with. Prefer FERRY_DESTINATION_SECRET to
    /// the command line, which other users of the machine can see.
    #[arg(long, env = SECRET_VAR, hide_env_values = true, value_parser = crate::connect::secret)]
    pub secret: Secret,
    /// The largest file taken, uploaded or fetched from a URL, in bytes.
    #[arg(long, default_value_t = ferry_reference_server::DEFAULT_MAX_FILE_BYTES)]
    pub max_file_bytes: u64,
    /// Seconds a file-url fetch may take.
    #[arg(long, default_value_t = 60)]
    pub fetch_timeout_secs: u64,
    /// Fetch file URLs from any address, loopback and private networks included (a local
    /// stack whose storage is on this machine). By default only public addresses are
    /// fetched, as a production server must.
    #[arg(long)]
    pub allow_private_file_urls: bool,
    /// The tenants the key may act for (repeat the option, or separate with commas);
    /// requests for any other tenant are answered 404. `ferry migrate` writes as tenant
    /// `local`.
    #[arg(long = "tenant", value_delimiter = ',', default_value = "local")]
    pub tenants: Vec<String>,
}

/// What a started server prints first, for scripts and tests.
#[derive(Debug, serde::Serialize)]
struct StartupInfo {
    base_url: String,
    key_id: String,
    destination_db: String,
}

pub async fn run(args: DestinationServerArgs) -> anyhow::Result<ExitCode> {
    if args.secret.expose().is_empty() {
        anyhow::bail!("the shared secret is empty: give --secret or {SECRET_VAR}");
    }
    let destination_db = args.dir.join("destination.db");
    let destination = SqliteDestination::open(&destination_db)
        .with_context(|| format!("cannot open {}", destination_db.display()))?;
    let idempotency_db = args.dir.join("destination-idempotency.db");
    let idempotency = IdempotencyStore::open(&idempotency_db, IdempotencyLimits::default())
        .with_context(|| format!("cannot open {}", idempotency_db.display()))?;
    let config = ReferenceServerConfig {
        idempotency,
        max_file_bytes: args.max_file_bytes,
        fetch_timeout: Duration::from_secs(args.fetch_timeout_secs),
        fetch_scope: if args.allow_private_file_urls {
            ferry_reference_server::fetch::FetchScope::AnyAddress
        } else {
            ferry_reference_server::fetch::FetchScope::PublicOnly
        },
        ..ReferenceServerConfig::new(Arc::new(destination), args.key_id.clone(), args.secret)?
    };
    let config = config.for_tenants(args.tenants.iter().cloned());
    let server = ferry_reference_server::serve(config, args.addr)
        .await
        .with_context(|| format!("cannot start the destination server on {}", args.addr))?;
    // The first stdout line is machine-readable; tests and scripts read it.
    let info = serde_json::to_string(&StartupInfo {
        base_url: server.base_url().to_owned(),
        key_id: args.key_id,
        destination_db: destination_db.display().to_string(),
    })?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{info}")?;
    stdout.flush()?;
    drop(stdout);
    eprintln!(
        "ferry destination-server: serving {} at {} (Ctrl-C to stop)",
        destination_db.display(),
        server.base_url()
    );
    tokio::signal::ctrl_c()
        .await
        .context("cannot wait for Ctrl-C")?;
    server.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: DestinationServerArgs,
    }

    #[test]
    fn the_secret_never_shows_in_debug_output() {
        let parsed = Wrapper::try_parse_from(["x", "--secret", "shared-SECRET-value"])
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(parsed.args.secret.expose(), "shared-SECRET-value");
        assert_eq!(parsed.args.key_id, "ferry");
        assert!(!format!("{parsed:?}").contains("SECRET"));
    }
}
