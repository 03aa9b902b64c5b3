//! How a command reaches an org: a stored connection (`--connection NAME`) or a session
//! given directly (`--instance-url` and `--access-token`), with the hosts allowed besides
//! Salesforce's own and extra certificate authorities to trust.

use anyhow::{Context, bail};
use clap::Args;
use ferry_embedded::connections::ConnectionStore;
use ferry_model::secret::Secret;
use ferry_salesforce::hosts::{allowed_hosts_from_env, parse_allowed_hosts};
use ferry_salesforce::{ClientConfig, SalesforceClient};
use std::path::PathBuf;

/// Options every command that talks to Salesforce takes.
#[derive(Debug, Clone, Args)]
pub struct NetworkArgs {
    /// Also allow this instance host (`host` or `host:port`), e.g. a simulator on
    /// loopback; repeatable. Added to FERRY_ALLOWED_HOSTS.
    #[arg(long = "allow-host", value_name = "HOST[:PORT]")]
    pub allow_host: Vec<String>,
    /// Trust this certificate authority (PEM) too, e.g. `ferry sim --tls`'s certificate.
    #[arg(long, env = "FERRY_CA_CERT", value_name = "PEM")]
    pub ca_cert: Option<PathBuf>,
}

impl NetworkArgs {
    pub fn allowed_hosts(&self) -> Vec<String> {
        let mut hosts = allowed_hosts_from_env();
        for host in &self.allow_host {
            hosts.extend(parse_allowed_hosts(host));
        }
        hosts
    }

    pub fn extra_roots(&self) -> anyhow::Result<Vec<Vec<u8>>> {
        self.ca_cert
            .iter()
            .map(|path| {
                std::fs::read(path)
                    .with_context(|| format!("cannot read the certificate {}", path.display()))
            })
            .collect()
    }

    pub fn apply(&self, config: &mut ClientConfig) -> anyhow::Result<()> {
        config.allowed_hosts = self.allowed_hosts();
        config.extra_root_certificates = self.extra_roots()?;
        Ok(())
    }
}

/// Where connections and their key live: `--state-dir`, `FERRY_STATE_DIR`, or
/// `$XDG_STATE_HOME/ferry` (`~/.local/state/ferry`).
#[derive(Debug, Clone, Args)]
pub struct StateArgs {
    #[arg(long, env = "FERRY_STATE_DIR", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
}

impl StateArgs {
    pub fn store(&self) -> anyhow::Result<ConnectionStore> {
        if let Some(dir) = &self.state_dir {
            return Ok(ConnectionStore::new(dir));
        }
        let base = match std::env::var_os("XDG_STATE_HOME").filter(|v| !v.is_empty()) {
            Some(dir) => PathBuf::from(dir),
            None => {
                let home = std::env::var_os("HOME")
                    .filter(|v| !v.is_empty())
                    .context("cannot find a state directory: set FERRY_STATE_DIR or HOME")?;
                PathBuf::from(home).join(".local").join("state")
            }
        };
        Ok(ConnectionStore::new(base.join("ferry")))
    }
}

/// Parses a command-line secret straight into a [`Secret`], so the arguments' `Debug` form
/// never holds it in clear.
pub fn secret(value: &str) -> Result<Secret, std::convert::Infallible> {
    Ok(Secret::new(value))
}

/// The environment variable holding an access token for `--instance-url`.
pub const ACCESS_TOKEN_VAR: &str = "FERRY_ACCESS_TOKEN";

/// Which org: a stored connection, or a session given directly.
#[derive(Debug, Clone, Args)]
pub struct TargetArgs {
    /// A connection saved by `ferry login`.
    #[arg(long, conflicts_with_all = ["instance_url", "access_token"])]
    pub connection: Option<String>,
    /// The org's instance URL, with an access token in FERRY_ACCESS_TOKEN or
    /// --access-token.
    #[arg(long)]
    pub instance_url: Option<String>,
    /// An access token of the org (e.g. from `sf org display`); prefer FERRY_ACCESS_TOKEN to
    /// the command line, which other users of the machine can see. The variable is read
    /// only with --instance-url, so an exported token does not get in the way of
    /// --connection.
    #[arg(long, requires = "instance_url", value_parser = secret)]
    pub access_token: Option<Secret>,
    /// Salesforce API version.
    #[arg(long, default_value = "59.0")]
    pub api_version: String,
    #[command(flatten)]
    pub network: NetworkArgs,
    #[command(flatten)]
    pub state: StateArgs,
}

/// A connected client, and the stored connection it came from so a rotated refresh token
/// can be saved back.
pub struct Connected {
    pub client: SalesforceClient,
    pub connection: Option<ferry_embedded::connections::Connection>,
    pub store: Option<ConnectionStore>,
    /// The refresh token the connection file holds now, once a rotation has been saved.
    saved: std::sync::Mutex<Option<Secret>>,
}

impl Connected {
    /// Saves the refresh token Salesforce rotated to, if it did: the old one stops working.
    pub fn save_rotated_token(&self) -> anyhow::Result<()> {
        if let (Some(token), Some(connection), Some(store)) = (
            self.client.rotated_refresh_token(),
            &self.connection,
            &self.store,
        ) {
            let mut saved = self.saved.lock().unwrap_or_else(|e| e.into_inner());
            if saved.as_ref() == Some(&token) {
                return Ok(());
            }
            let mut updated = connection.clone();
            updated.refresh_token = token.clone();
            updated.info.saved_at = crate::login::now_rfc3339();
            store
                .save(&updated)
                .context("Salesforce rotated the refresh token but it could not be saved")?;
            *saved = Some(token);
        }
        Ok(())
    }
}

pub async fn connect(target: &TargetArgs) -> anyhow::Result<Connected> {
    let (mut config, connection, store) = match (
        &target.connection,
        &target.instance_url,
        &target.access_token,
    ) {
        (Some(name), _, _) => {
            let store = target.state.store()?;
            let connection = store
                .load(name)
                .with_context(|| format!("cannot use connection {name}"))?;
            let mut config = ClientConfig::new(
                connection.info.login_url.clone(),
                connection.info.client_id.clone(),
                connection.refresh_token.clone(),
            );
            if let Some(secret) = &connection.client_secret {
                config = config.with_client_secret(secret.clone());
            }
            (config, Some(connection), Some(store))
        }
        (None, Some(instance_url), token) => {
            let token = match token {
                Some(token) => token.clone(),
                None => Secret::new(std::env::var(ACCESS_TOKEN_VAR).with_context(|| {
                    format!(
                        "--instance-url needs an access token: set {ACCESS_TOKEN_VAR} or pass --access-token"
                    )
                })?),
            };
            (
                ClientConfig::access_token(instance_url.clone(), token),
                None,
                None,
            )
        }
        _ => bail!(
            "say which org: --connection NAME, or --instance-url URL with --access-token TOKEN (or FERRY_ACCESS_TOKEN)"
        ),
    };
    config.api_version = target.api_version.clone();
    target.network.apply(&mut config)?;
    let origin = config.origin().to_owned();
    let client = SalesforceClient::connect(config)
        .await
        .with_context(|| format!("cannot connect to Salesforce at {origin}"))?;
    let connected = Connected {
        client,
        connection,
        store,
        saved: std::sync::Mutex::new(None),
    };
    // Connecting refreshed the session; if Salesforce rotated the refresh token, the old one
    // is already dead, so the new one is saved now, before anything else can fail.
    connected.save_rotated_token()?;
    Ok(connected)
}
