//! A seeded, deterministic Salesforce org served over HTTP on loopback.
//!
//! Ferry's tests and demos run against this simulator instead of a real org. It answers
//! in the JSON shapes real Salesforce sends (checked against recorded payloads), so a
//! real Salesforce REST client works against it unchanged:
//!
//! - OAuth 2.0 ([`oauth`]): `/services/oauth2/authorize` (web-server flow with PKCE,
//!   auto-approved), `token` (authorization-code and refresh-token grants, optional
//!   rotation), `revoke`, `userinfo` and the identity URL, for a production login host
//!   at `/` and a sandbox one at `/test`;
//! - `GET /services/data`: the API versions;
//! - `GET /services/data/vXX.X/sobjects` and `.../sobjects/{Object}/describe`;
//! - `GET /services/data/vXX.X/query?q=...` and `queryAll` (soft-deleted records too),
//!   with paging through `nextRecordsUrl` and a SOQL subset (see [`soql`]): parent fields,
//!   AND/OR/NOT, IN, LIKE, ORDER BY, LIMIT, OFFSET, COUNT();
//! - [`rest`]: `/limits/recordCount`, composite batch (describes and small queries), blob
//!   bodies (`sobjects/Attachment/{id}/Body`, `.../ContentVersion/{id}/VersionData`),
//!   `/tooling/query` over the automation inventory, and `POST /_sim/mutate` (modify or
//!   soft-delete records "now", for delta tests);
//! - Bulk API 2.0 query jobs ([`bulk`]): `/services/data/vXX.X/jobs/query`, results as
//!   CSV pages chained by `Sforce-Locator`, gzip on request;
//! - `Sforce-Limit-Info` on every API response, and the daily request limit;
//! - limits and faults ([`faults`]) set at start and changed mid-run through
//!   `GET/POST /_sim/faults`; calls by kind at `GET /_sim/counters`;
//! - plain http, or https with a self-signed certificate made at start ([`tls`]).
//!
//! Data is generated on demand from (seed, object, index) by [`org::Org`], so the size
//! of the org costs no memory (a million records serve in about 50 MB); only records
//! changed through `/_sim/mutate` are held, in an overlay. Module map: [`ids`] (18-character ids), [`org`] (the data
//! generator), [`schema`] (metadata and describe JSON), [`soql`] (query language),
//! [`query`] (paging and rendering), and `server` (the axum routes).
//!
//! ```no_run
//! # async fn demo() -> Result<(), ferry_simulator::SimulatorError> {
//! let sim = ferry_simulator::serve(Default::default(), "127.0.0.1:0".parse().unwrap_or_else(|_| unreachable!())).await?;
//! println!("token endpoint: {}/services/oauth2/token", sim.login_url());
//! sim.shutdown().await;
//! # Ok(())
//! # }
//! ```

// describe builds JSON objects of ~60 keys with `json!`, which recurses once per key.
#![recursion_limit = "256"]

pub mod bulk;
pub mod faults;
pub mod ids;
pub mod oauth;
pub mod org;
pub mod query;
pub mod rest;
mod rng;
pub mod schema;
mod server;
pub mod soql;
pub mod tls;
pub mod value;

pub use faults::{Faults, Knobs};

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// How the simulated org is generated and served.
#[derive(Debug, Clone)]
pub struct SimulatorConfig {
    /// Total records across all generated objects.
    pub records: u64,
    /// What the org is mostly made of.
    pub mix: org::Mix,
    /// Seed every generated value derives from.
    pub seed: u64,
    /// Newest API version served, e.g. `59.0`.
    pub api_version: String,
    /// Default REST query batch size.
    pub page_size: usize,
    /// API requests allowed before `REQUEST_LIMIT_EXCEEDED`.
    pub daily_api_limit: u64,
    /// Fault injection: every Nth API call answers `503 SERVER_UNAVAILABLE`, as a busy org
    /// does, so clients' retries can be tested deterministically. `None` never fails.
    pub unavailable_every: Option<u64>,
    /// The other limits and faults (latency, 500s, dropped connections, token expiry,
    /// API access, refresh-token rotation and revocation, slow and failing Bulk jobs),
    /// all changeable mid-run through `/_sim/faults`. The default injects nothing.
    pub faults: Faults,
    /// Serve https with a self-signed certificate for 127.0.0.1/localhost.
    pub tls: bool,
    /// Where to write the certificate's PEM with `tls`; `None` writes it to the
    /// temporary directory, named after the port.
    pub ca_cert_path: Option<PathBuf>,
    /// Redirect URIs the authorize endpoint accepts (the connected app's callback URLs);
    /// empty accepts any http(s) URL.
    pub redirect_uris: Vec<String>,
    /// How long an authorization code can be exchanged.
    pub auth_code_ttl: Duration,
    /// Rows of a Bulk results page when the request sets no `maxRecords`.
    pub bulk_page_size: u64,
    /// Org features switched on (person accounts, multiple currencies): they change the
    /// schema and the data, as in a real org.
    pub features: schema::Features,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        SimulatorConfig {
            records: 1000,
            mix: org::Mix::Sales,
            seed: 42,
            api_version: "59.0".to_string(),
            page_size: 2000,
            daily_api_limit: 100_000,
            unavailable_every: None,
            faults: Faults::default(),
            tls: false,
            ca_cert_path: None,
            redirect_uris: Vec::new(),
            auth_code_ttl: oauth::AUTH_CODE_TTL,
            bulk_page_size: 50_000,
            features: schema::Features::default(),
        }
    }
}

/// The connected-app and user credentials the simulator accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub client_id: String,
    pub client_secret: String,
    pub refresh_token: String,
    pub username: String,
}

impl Credentials {
    /// Credentials derived from the seed, so the same seed always accepts the same ones.
    pub fn from_seed(seed: u64) -> Self {
        const KEY_CHARS: &[u8] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._";
        let mut rng = rng::Rng::from_key(seed, 0x6372_6564);
        Credentials {
            client_id: format!("3MVG9sim{}", rng.string(KEY_CHARS, 77)),
            client_secret: rng.string(b"0123456789ABCDEF", 64),
            refresh_token: format!("5Aep861sim{}", rng.string(KEY_CHARS, 77)),
            username: org::INTEGRATION_USERNAME.to_string(),
        }
    }
}

/// What a started simulator tells its user, e.g. printed as JSON by the CLI.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StartupInfo {
    pub base_url: String,
    /// Production login host: the token endpoint is `{login_url}/services/oauth2/token`.
    pub login_url: String,
    /// Sandbox login host (`test.salesforce.com`'s part): `{base_url}/test`.
    pub sandbox_login_url: String,
    /// PEM of the self-signed certificate to trust, with `--tls`.
    pub ca_cert_path: Option<String>,
    /// `GET/POST` the limits and faults document here.
    pub faults_url: String,
    /// `GET` calls by kind here.
    pub counters_url: String,
    pub client_id: String,
    pub client_secret: String,
    pub refresh_token: String,
    pub username: String,
    pub api_version: String,
    pub records: BTreeMap<String, u64>,
}

/// Errors starting the simulator.
#[derive(Debug, thiserror::Error)]
pub enum SimulatorError {
    /// The listening socket could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    /// The configuration cannot describe an org.
    #[error("invalid simulator configuration: {0}")]
    InvalidConfig(String),
    /// The TLS certificate could not be made or written.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
}

/// A simulator serving in the background of the current tokio runtime.
pub struct RunningSimulator {
    state: Arc<server::AppState>,
    login_url: String,
    ca_cert: Option<(String, PathBuf)>,
    records: BTreeMap<String, u64>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl RunningSimulator {
    /// The instance URL, e.g. `http://127.0.0.1:40123`.
    pub fn base_url(&self) -> &str {
        &self.state.base_url
    }

    /// The login host; the token endpoint is `{login_url}/services/oauth2/token`.
    pub fn login_url(&self) -> &str {
        &self.login_url
    }

    /// The sandbox login host: `{base_url}/test`.
    pub fn sandbox_login_url(&self) -> String {
        format!("{}{}", self.login_url, oauth::SANDBOX_PREFIX)
    }

    /// PEM of the self-signed certificate, when serving https.
    pub fn ca_cert_pem(&self) -> Option<&str> {
        self.ca_cert.as_ref().map(|(pem, _)| pem.as_str())
    }

    /// Where the certificate's PEM was written, when serving https.
    pub fn ca_cert_path(&self) -> Option<&std::path::Path> {
        self.ca_cert.as_ref().map(|(_, path)| path.as_path())
    }

    /// Calls by kind so far (`oauth`, `describe`, `query`, `query_more`, `bulk_create`,
    /// `bulk_poll`, `bulk_results`, `limits`, ...), refused ones included.
    pub fn counters(&self) -> BTreeMap<String, u64> {
        self.state.counters.snapshot()
    }

    /// The limits and faults in force.
    pub fn knobs(&self) -> Knobs {
        self.state.knobs()
    }

    /// Changes the limits and faults mid-run, as `POST /_sim/faults` does.
    pub fn set_knobs(&self, knobs: Knobs) {
        self.state.set_knobs(knobs);
    }

    /// Changes only the faults, keeping the daily limit and the 503 share.
    pub fn set_faults(&self, faults: Faults) {
        let mut knobs = self.state.knobs();
        knobs.faults = faults;
        self.state.set_knobs(knobs);
    }

    /// The credentials the token endpoint accepts.
    pub fn credentials(&self) -> &Credentials {
        &self.state.credentials
    }

    /// Object name to number of (non-deleted) generated records.
    pub fn record_counts(&self) -> &BTreeMap<String, u64> {
        &self.records
    }

    /// Everything a client needs to connect.
    pub fn startup_info(&self) -> StartupInfo {
        let credentials = self.credentials().clone();
        StartupInfo {
            base_url: self.base_url().to_string(),
            login_url: self.login_url.clone(),
            sandbox_login_url: self.sandbox_login_url(),
            ca_cert_path: self.ca_cert_path().map(|p| p.display().to_string()),
            faults_url: format!("{}/_sim/faults", self.base_url()),
            counters_url: format!("{}/_sim/counters", self.base_url()),
            client_id: credentials.client_id,
            client_secret: credentials.client_secret,
            refresh_token: credentials.refresh_token,
            username: credentials.username,
            api_version: self.state.api_version.clone(),
            records: self.records.clone(),
        }
    }

    /// REST API calls served so far, not counting OAuth token requests.
    pub fn api_calls(&self) -> u64 {
        self.state.calls.load(Ordering::SeqCst)
    }

    /// Stops accepting connections and waits for the server to finish.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            // The server may already be gone, in which case there is nothing to stop.
            let _ = stop.send(());
        }
        // Idle keep-alive connections close at once; a stuck client must not hang the
        // caller forever, so the task is aborted after a grace period.
        if tokio::time::timeout(Duration::from_secs(10), &mut self.task)
            .await
            .is_err()
        {
            self.task.abort();
        }
    }
}

/// Accepts connections until `stopped`, then waits for the open ones to finish.
///
/// Salesforce answers over HTTP/1.1 with header names cased as its documentation writes
/// them (`Content-Type`, `Sforce-Locator`, `Sforce-Limit-Info`, `Sforce-NumberOfRecords`),
/// and widely used clients read them case-sensitively. hyper writes every name lower-case
/// unless told otherwise, so connections are served by hyper directly (axum's `serve`
/// cannot set this) with title-cased names; the names whose Salesforce spelling is not
/// title case are put right by the stream (`tls::SimStream`).
async fn serve_connections(
    mut listener: tls::SimListener,
    app: axum::Router,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
) {
    use axum::serve::Listener as _;
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    loop {
        let (stream, conn) = tokio::select! {
            _ = &mut stopped => break,
            accepted = listener.accept() => accepted,
        };
        let app = app.clone();
        let service = hyper::service::service_fn(
            move |mut request: hyper::Request<hyper::body::Incoming>| {
                request
                    .extensions_mut()
                    .insert(axum::extract::ConnectInfo(conn.clone()));
                let mut app = app.clone();
                async move { tower_service::Service::call(&mut app, request).await }
            },
        );
        let connection = hyper::server::conn::http1::Builder::new()
            .title_case_headers(true)
            .keep_alive(true)
            .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "simulator connection ended with an error");
            }
        });
    }
    graceful.shutdown().await;
}

/// Binds `addr` (port 0 picks a free port), starts serving on the current tokio runtime
/// and returns at once.
pub async fn serve(
    config: SimulatorConfig,
    addr: SocketAddr,
) -> Result<RunningSimulator, SimulatorError> {
    let version_ok = config
        .api_version
        .split_once('.')
        .is_some_and(|(a, b)| a.parse::<u32>().is_ok() && b.parse::<u32>().is_ok());
    if !version_ok {
        return Err(SimulatorError::InvalidConfig(format!(
            "api_version {:?} is not like 59.0",
            config.api_version
        )));
    }
    if config.page_size == 0 {
        return Err(SimulatorError::InvalidConfig(
            "page_size must be positive".into(),
        ));
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| SimulatorError::Bind { addr, source })?;
    let local = listener
        .local_addr()
        .map_err(|source| SimulatorError::Bind { addr, source })?;
    let (acceptor, ca_cert) = if config.tls {
        let made = tls::self_signed()?;
        let path = config.ca_cert_path.clone().unwrap_or_else(|| {
            std::env::temp_dir().join(format!(
                "ferry-sim-{}-{}.pem",
                std::process::id(),
                local.port()
            ))
        });
        std::fs::write(&path, &made.cert_pem).map_err(|source| tls::TlsError::Write {
            path: path.display().to_string(),
            source,
        })?;
        (Some(made.acceptor), Some((made.cert_pem, path)))
    } else {
        (None, None)
    };
    let scheme = if config.tls { "https" } else { "http" };
    let base_url = format!("{scheme}://{local}");
    let org = org::Org::with_features(config.seed, config.records, config.mix, config.features);
    let records = org.record_counts();
    let knobs = Knobs {
        daily_api_limit: config.daily_api_limit,
        unavailable_every: config.unavailable_every,
        faults: config.faults,
    };
    let state = Arc::new(server::AppState::new(
        org,
        server::StateConfig {
            api_version: config.api_version,
            page_size: config.page_size,
            knobs,
            credentials: Credentials::from_seed(config.seed),
            base_url: base_url.clone(),
            redirect_uris: config.redirect_uris,
            auth_code_ttl: config.auth_code_ttl,
            bulk_page_size: config.bulk_page_size,
        },
    ));
    let app = server::router(state.clone());
    let listener = tls::SimListener::new(listener, acceptor);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(serve_connections(listener, app, stopped));
    tracing::info!(%base_url, "Salesforce simulator listening");
    Ok(RunningSimulator {
        state,
        login_url: base_url,
        ca_cert,
        records,
        stop: Some(stop),
        task,
    })
}
