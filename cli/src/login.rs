//! `ferry login`: connect an org with the OAuth 2.0 web-server flow and PKCE, and store the
//! connection with its refresh token encrypted. `ferry connections` lists what is stored.
//!
//! The browser is sent to Salesforce's authorize page; Salesforce redirects it back to a
//! one-shot listener on loopback (`http://localhost:PORT/OauthRedirect`, the callback URL
//! to register in the connected app). The `state` is random, single-use and expires with
//! the listener; a callback with any other state is refused.

use crate::connect::{NetworkArgs, StateArgs};
use anyhow::{Context, bail};
use clap::Args;
use ferry_embedded::connections::{Connection, ConnectionInfo};
use ferry_model::secret::Secret;
use ferry_salesforce::hosts::{check_instance_url, host_of};
use ferry_salesforce::oauth::{
    AuthorizeRequest, CodeExchange, PRODUCTION_LOGIN_URL, Pkce, SANDBOX_LOGIN_URL, authorize_url,
    exchange_code, random_state,
};
use std::collections::HashMap;
use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Log in to a sandbox (test.salesforce.com).
    #[arg(long, conflicts_with = "login_url")]
    pub sandbox: bool,
    /// Login host: a My Domain URL, or any other (default login.salesforce.com).
    #[arg(long)]
    pub login_url: Option<String>,
    /// The connected app's consumer key.
    #[arg(long, env = "FERRY_CLIENT_ID")]
    pub client_id: String,
    /// The connected app's consumer secret, if it requires one.
    #[arg(long, env = "FERRY_CLIENT_SECRET", hide_env_values = true, value_parser = crate::connect::secret)]
    pub client_secret: Option<Secret>,
    /// Name to store the connection under (default: the instance host).
    #[arg(long)]
    pub name: Option<String>,
    /// Loopback port of the callback listener; 0 picks a free one.
    #[arg(long, default_value_t = 1717)]
    pub port: u16,
    /// How long to wait for the browser to come back.
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    pub timeout: u64,
    #[command(flatten)]
    pub network: NetworkArgs,
    #[command(flatten)]
    pub state: StateArgs,
}

#[derive(Debug, Args)]
pub struct ConnectionsArgs {
    /// One JSON document instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub state: StateArgs,
}

pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

pub async fn run(args: LoginArgs) -> anyhow::Result<ExitCode> {
    let login_url = match (&args.login_url, args.sandbox) {
        (Some(url), _) => url.trim_end_matches('/').to_owned(),
        (None, true) => SANDBOX_LOGIN_URL.to_owned(),
        (None, false) => PRODUCTION_LOGIN_URL.to_owned(),
    };
    let allowed = args.network.allowed_hosts();
    // The login host receives the code verifier and secrets: it must pass the same check
    // as an instance URL.
    check_instance_url(&login_url, &allowed)
        .with_context(|| format!("refusing login host {login_url}"))?;
    let store = args.state.store()?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
        .await
        .with_context(|| {
            format!(
                "cannot listen on 127.0.0.1:{} for the OAuth callback",
                args.port
            )
        })?;
    let port = listener.local_addr()?.port();
    let redirect_uri = format!("http://localhost:{port}/OauthRedirect");
    let pkce = Pkce::generate()?;
    let state = random_state()?;
    let url = authorize_url(&AuthorizeRequest {
        login_url: &login_url,
        client_id: &args.client_id,
        redirect_uri: &redirect_uri,
        state: &state,
        code_challenge: &pkce.challenge,
        scope: "api refresh_token",
    })?;
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{url}")?;
        stdout.flush()?;
    }
    eprintln!(
        "Open the URL above in a browser and allow access. Waiting for Salesforce to redirect to {redirect_uri} ({} s)...",
        args.timeout
    );
    let code = tokio::time::timeout(
        Duration::from_secs(args.timeout),
        receive_code(&listener, &state),
    )
    .await
    .with_context(|| {
        format!(
            "no OAuth callback within {} seconds; the login expired",
            args.timeout
        )
    })??;
    drop(listener);

    let http =
        ferry_salesforce::http_client(&args.network.extra_roots()?, Duration::from_secs(60))?;
    let client_secret = args.client_secret.clone();
    let token = exchange_code(
        &http,
        &CodeExchange {
            login_url: &login_url,
            client_id: &args.client_id,
            client_secret: client_secret.as_ref(),
            redirect_uri: &redirect_uri,
            code: &code,
            code_verifier: &pkce.verifier,
        },
    )
    .await
    .context("Salesforce refused the authorization code")?;
    check_instance_url(&token.instance_url, &allowed)?;
    let Some(refresh_token) = token.refresh_token else {
        bail!(
            "Salesforce issued no refresh token: give the connected app the refresh_token (offline access) scope"
        );
    };
    let (org_id, user_id) = token
        .id
        .as_deref()
        .and_then(|id| {
            let mut parts = id.trim_end_matches('/').rsplit('/');
            let user = parts.next()?;
            let org = parts.next()?;
            Some((Some(org.to_owned()), Some(user.to_owned())))
        })
        .unwrap_or((None, None));
    let name = args
        .name
        .clone()
        .or_else(|| host_of(&token.instance_url))
        .unwrap_or_else(|| "default".to_owned());
    let connection = Connection {
        info: ConnectionInfo {
            name: name.clone(),
            login_url,
            instance_url: token.instance_url.clone(),
            client_id: args.client_id.clone(),
            user_id,
            org_id,
            saved_at: now_rfc3339(),
        },
        refresh_token,
        client_secret,
    };
    store.save(&connection)?;
    eprintln!(
        "Connected {} as connection {name:?} (stored in {}, refresh token encrypted).",
        token.instance_url,
        store.dir().display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Serves the loopback callback until one request carries the expected state, and
/// returns its code. A request with another state, or an error from Salesforce, ends the
/// login: a forged callback must not be retried into success.
async fn receive_code(
    listener: &tokio::net::TcpListener,
    expected_state: &str,
) -> anyhow::Result<String> {
    loop {
        let (mut socket, _) = listener.accept().await?;
        let mut request = Vec::new();
        let mut buffer = [0u8; 4096];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 64 * 1024 {
            let read = socket.read(&mut buffer).await?;
            if read == 0 {
                break;
            }
            request.extend_from_slice(&buffer[..read]);
        }
        let text = String::from_utf8_lossy(&request);
        let target = text
            .lines()
            .next()
            .and_then(|line| line.split_whitespace().nth(1))
            .unwrap_or("/");
        let Some((path, query)) = target.split_once('?') else {
            // A browser's favicon request or similar: not the callback.
            respond(&mut socket, 404, "Not the OAuth callback.").await;
            continue;
        };
        if path != "/OauthRedirect" {
            respond(&mut socket, 404, "Not the OAuth callback.").await;
            continue;
        }
        let params: HashMap<String, String> = url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        if params.get("state").map(String::as_str) != Some(expected_state) {
            respond(&mut socket, 400, "This login link is not the one Ferry started; close this tab and run ferry login again.").await;
            bail!("refused an OAuth callback whose state does not match the login Ferry started");
        }
        if let Some(error) = params.get("error") {
            let description = params.get("error_description").cloned().unwrap_or_default();
            respond(
                &mut socket,
                400,
                &format!("Salesforce refused: {error} {description}"),
            )
            .await;
            bail!("Salesforce refused the authorization: {error}: {description}");
        }
        let Some(code) = params.get("code") else {
            respond(&mut socket, 400, "The callback carries no code.").await;
            bail!("the OAuth callback carries no authorization code");
        };
        respond(
            &mut socket,
            200,
            "Ferry is connected. You can close this tab.",
        )
        .await;
        return Ok(code.clone());
    }
}

async fn respond(socket: &mut tokio::net::TcpStream, status: u16, message: &str) {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        _ => "Not Found",
    };
    let body = format!("<!doctype html><title>Ferry</title><p>{message}</p>\n");
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    // The browser may have gone; the login outcome does not depend on this answer.
    let _ = socket.write_all(response.as_bytes()).await;
    let _ = socket.shutdown().await;
}

pub async fn list(args: ConnectionsArgs) -> anyhow::Result<ExitCode> {
    let store = args.state.store()?;
    let connections = store.list()?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "connections": connections }))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    if connections.is_empty() {
        println!(
            "No connections in {}; `ferry login` adds one.",
            store.dir().display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<24} {:<44} {:<28} saved",
        "name", "instance", "login host"
    );
    for connection in connections {
        println!(
            "{:<24} {:<44} {:<28} {}",
            connection.name, connection.instance_url, connection.login_url, connection.saved_at
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// The connection to revoke and forget.
    pub name: String,
    /// Forget the connection without asking Salesforce to revoke its token (when the org
    /// is gone or unreachable).
    #[arg(long)]
    pub local_only: bool,
    #[command(flatten)]
    pub network: NetworkArgs,
    #[command(flatten)]
    pub state: StateArgs,
}

/// `ferry logout NAME`: revoke the refresh token at Salesforce, then forget it. If the
/// revoke fails the connection is kept, so the token is never forgotten while still valid.
pub async fn logout(args: LogoutArgs) -> anyhow::Result<ExitCode> {
    let store = args.state.store()?;
    let connection = store.load(&args.name)?;
    if !args.local_only {
        let login_url = &connection.info.login_url;
        check_instance_url(login_url, &args.network.allowed_hosts())
            .with_context(|| format!("refusing login host {login_url}"))?;
        let http =
            ferry_salesforce::http_client(&args.network.extra_roots()?, Duration::from_secs(60))?;
        ferry_salesforce::oauth::revoke(&http, login_url, &connection.refresh_token)
            .await
            .with_context(|| {
                format!(
                    "Salesforce did not revoke the token of {}; the connection is kept (--local-only forgets it anyway)",
                    args.name
                )
            })?;
    }
    store.remove(&args.name)?;
    eprintln!(
        "{} connection {}.",
        if args.local_only {
            "Forgot"
        } else {
            "Revoked and forgot"
        },
        args.name
    );
    Ok(ExitCode::SUCCESS)
}
