//! A reference implementation of the HTTP destination contract
//! (`infra/destination-api.openapi.json`), over any [`Destination`].
//!
//! In practice the destination behind it is the embedded `SqliteDestination`, so Ferry's
//! tests can run a whole migration through `HttpDestination`, this server and SQLite, and a
//! SaaS team has a working server to read and to test their own client against. It does
//! everything the contract asks of a destination:
//!
//! - checks every request's HMAC signature and timestamp ([`ferry_destination_http::signing`])
//!   before it reads more than the headers, and refuses with `401` otherwise;
//! - reads bodies within a limit per route (JSON 16 MiB, raw file bytes
//!   [`ReferenceServerConfig::max_file_bytes`]) and batches within
//!   [`wire::MAX_BATCH`](ferry_destination_http::wire::MAX_BATCH);
//! - carries out each mutating request once per `Idempotency-Key`, replaying the stored
//!   answer for a retry and refusing the key's reuse for another request with `422`
//!   ([`idempotency`]);
//! - fetches `file-url` bytes itself over http(s), within a timeout, from public addresses
//!   only unless configured otherwise, without following redirects, and checks their size
//!   and SHA-256 before storing them ([`fetch`]);
//! - answers per-record outcomes, and errors as `{"error": {"code", "message"}}`.
//!
//! ```no_run
//! # async fn demo(destination: std::sync::Arc<dyn ferry_model::ports::Destination>)
//! #     -> Result<(), ferry_reference_server::ServerError> {
//! use ferry_model::secret::Secret;
//! let config = ferry_reference_server::ReferenceServerConfig::new(
//!     destination,
//!     "ferry-1",
//!     Secret::new("shared secret"),
//! )?;
//! let server = ferry_reference_server::serve(config, ([127, 0, 0, 1], 0).into()).await?;
//! println!("the destination contract is served at {}", server.base_url());
//! server.shutdown().await;
//! # Ok(())
//! # }
//! ```

pub mod fetch;
pub mod idempotency;
mod server;

pub use idempotency::{IdempotencyLimits, IdempotencyStore};
pub use server::{REPLAYED_HEADER, served_routes};

use ferry_model::ports::Destination;
use ferry_model::secret::Secret;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// What the server serves and how.
#[derive(Clone)]
pub struct ReferenceServerConfig {
    /// Where the requests land.
    pub destination: Arc<dyn Destination>,
    /// Key id to shared secret. More than one lets a secret be rotated without downtime:
    /// add the new key, move the clients, remove the old one.
    pub keys: BTreeMap<String, Secret>,
    /// The tenants a key may act for ([`ReferenceServerConfig::for_tenants`]): requests it
    /// signs for any other tenant are answered `404 not_found`. A key not listed acts for
    /// every tenant, which suits one-tenant setups only.
    pub key_tenants: BTreeMap<String, std::collections::BTreeSet<String>>,
    pub idempotency: IdempotencyStore,
    /// The largest file the server takes, uploaded or fetched.
    pub max_file_bytes: u64,
    /// How long fetching a `file-url` may take.
    pub fetch_timeout: Duration,
    /// Which addresses a `file-url` may point at: public ones only unless a local setup
    /// allows every address ([`fetch::FetchScope`]).
    pub fetch_scope: fetch::FetchScope,
}

impl std::fmt::Debug for ReferenceServerConfig {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secrets are `Secret`s and print as placeholders; the key ids are not secret.
        formatter
            .debug_struct("ReferenceServerConfig")
            .field("keys", &self.keys)
            .field("key_tenants", &self.key_tenants)
            .field("idempotency", &self.idempotency)
            .field("max_file_bytes", &self.max_file_bytes)
            .field("fetch_timeout", &self.fetch_timeout)
            .field("fetch_scope", &self.fetch_scope)
            .finish_non_exhaustive()
    }
}

/// The largest file taken by default: 100 MiB.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 100 * 1024 * 1024;

impl ReferenceServerConfig {
    /// One key, idempotency answers kept in memory, the default file limit
    /// ([`DEFAULT_MAX_FILE_BYTES`]), a 60-second fetch timeout and file URLs fetched from
    /// public addresses only.
    pub fn new(
        destination: Arc<dyn Destination>,
        key_id: impl Into<String>,
        secret: Secret,
    ) -> Result<Self, ServerError> {
        Ok(Self {
            destination,
            keys: BTreeMap::from([(key_id.into(), secret)]),
            key_tenants: BTreeMap::new(),
            idempotency: IdempotencyStore::in_memory(IdempotencyLimits::default())?,
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            fetch_timeout: Duration::from_secs(60),
            fetch_scope: fetch::FetchScope::PublicOnly,
        })
    }
}

impl ReferenceServerConfig {
    /// Limits every key to `tenants`.
    pub fn for_tenants<I, T>(mut self, tenants: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        let tenants: std::collections::BTreeSet<String> =
            tenants.into_iter().map(Into::into).collect();
        for key_id in self.keys.keys() {
            self.key_tenants.insert(key_id.clone(), tenants.clone());
        }
        self
    }
}

/// Errors starting the server.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot listen on {addr}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid reference server configuration: {0}")]
    InvalidConfig(String),
    #[error("the idempotency store cannot be opened")]
    Idempotency(#[from] idempotency::IdempotencyError),
}

/// The contract's routes as an axum router, for embedding in another server.
pub fn router(config: ReferenceServerConfig) -> Result<axum::Router, ServerError> {
    if config.keys.is_empty() {
        return Err(ServerError::InvalidConfig(
            "at least one key id and secret are needed to check signatures".into(),
        ));
    }
    if let Some((key_id, _)) = config
        .keys
        .iter()
        .find(|(_, secret)| secret.expose().is_empty())
    {
        return Err(ServerError::InvalidConfig(format!(
            "the secret of key {key_id:?} is empty"
        )));
    }
    Ok(server::router(Arc::new(server::AppState {
        destination: config.destination,
        keys: config.keys,
        key_tenants: config.key_tenants,
        idempotency: config.idempotency,
        fetch_scope: config.fetch_scope,
        max_file_bytes: config.max_file_bytes,
        fetch_timeout: config.fetch_timeout,
    })))
}

/// A reference server serving in the background of the current tokio runtime.
pub struct RunningServer {
    base_url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for RunningServer {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("RunningServer")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl RunningServer {
    /// Where the contract's `/v1/...` routes are, e.g. `http://127.0.0.1:40123`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Stops accepting connections and waits for the server to finish.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            // The server may already be gone, in which case there is nothing to stop.
            let _ = stop.send(());
        }
        // A stuck client must not hang the caller forever, so the task is aborted after a
        // grace period.
        if tokio::time::timeout(Duration::from_secs(10), &mut self.task)
            .await
            .is_err()
        {
            self.task.abort();
        }
    }
}

/// Binds `addr` (port 0 picks a free port), starts serving on the current tokio runtime and
/// returns at once.
pub async fn serve(
    config: ReferenceServerConfig,
    addr: SocketAddr,
) -> Result<RunningServer, ServerError> {
    let app = router(config)?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServerError::Bind { addr, source })?;
    let local = listener
        .local_addr()
        .map_err(|source| ServerError::Bind { addr, source })?;
    let base_url = format!("http://{local}");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let shutdown = async {
            let _ = stopped.await;
        };
        if let Err(error) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!(%error, "reference destination server stopped");
        }
    });
    tracing::info!(%base_url, "reference destination server listening");
    Ok(RunningServer {
        base_url,
        stop: Some(stop),
        task,
    })
}
