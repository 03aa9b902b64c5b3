//! The transport every call goes through: one session, the API budget seen so far, bounded
//! concurrency, retries with backoff and jitter, and one token refresh on an expired session.

use crate::error::{ApiErrorItem, SalesforceError};
use crate::hosts;
use crate::oauth;
use ferry_model::secret::Secret;
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{RwLock, Semaphore};
use url::Url;

/// How the client gets its session.
#[derive(Debug, Clone)]
pub enum Auth {
    /// The OAuth refresh-token grant against a login host (`https://login.salesforce.com`,
    /// `https://test.salesforce.com` or a My Domain URL). Expired sessions are renewed.
    RefreshToken {
        login_url: String,
        client_id: String,
        client_secret: Option<Secret>,
        refresh_token: Secret,
    },
    /// A session obtained elsewhere (`sf org display`, another tool), used as it is. It
    /// cannot be renewed: when it expires, calls fail with `INVALID_SESSION_ID`.
    AccessToken {
        instance_url: String,
        access_token: Secret,
    },
}

/// How to reach and authenticate to one org.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub auth: Auth,
    /// Such as "59.0".
    pub api_version: String,
    /// Hosts (`host` or `host:port`) allowed as instance URLs besides Salesforce's own
    /// domains; tests name the simulator here. See [`hosts::allowed_hosts_from_env`].
    pub allowed_hosts: Vec<String>,
    /// Extra certificate authorities (PEM) to trust, such as the simulator's `--tls`
    /// certificate. Salesforce's own certificates need none.
    pub extra_root_certificates: Vec<Vec<u8>>,
    /// Timeout of one HTTP request. Salesforce ends REST calls after 10 minutes.
    pub request_timeout: Duration,
    /// Records per REST query page (`Sforce-Query-Options: batchSize`), 200 to 2000.
    pub query_batch_size: Option<u32>,
    /// How transient failures (transport errors, 5xx, `SERVER_UNAVAILABLE`) are retried.
    pub retry: RetryPolicy,
    /// Requests in flight at once. Salesforce allows 25 long-running requests per org,
    /// shared with the customer's other integrations, so Ferry stays well under.
    pub max_concurrent_requests: usize,
}

pub use ferry_model::retry::RetryPolicy;

/// How the client retries unless told otherwise: six attempts in all, the sleep before retry
/// `n` under `0.5 s * 2^(n-1)`, capped at 30 s; at most 15.5 s of sleeping over the five
/// retries of one request.
pub const DEFAULT_RETRY_POLICY: RetryPolicy =
    RetryPolicy::new(6, Duration::from_millis(500), Duration::from_secs(30));

/// Requests in flight at once by default: two fifths of Salesforce's 25 long-running
/// requests, though Ferry's requests (a page, a file) last well under the 20 seconds that
/// make a request long-running. Downloads of file bodies are latency-bound, so they need
/// this many in flight to use the bandwidth.
pub const DEFAULT_MAX_CONCURRENT_REQUESTS: usize = 10;

impl ClientConfig {
    /// A client that renews its session with a refresh token.
    pub fn new(
        login_url: impl Into<String>,
        client_id: impl Into<String>,
        refresh_token: Secret,
    ) -> Self {
        Self::with_auth(Auth::RefreshToken {
            login_url: login_url.into(),
            client_id: client_id.into(),
            client_secret: None,
            refresh_token,
        })
    }

    /// A client over an existing session.
    pub fn access_token(instance_url: impl Into<String>, access_token: Secret) -> Self {
        Self::with_auth(Auth::AccessToken {
            instance_url: instance_url.into(),
            access_token,
        })
    }

    pub fn with_auth(auth: Auth) -> Self {
        Self {
            auth,
            api_version: "59.0".to_owned(),
            allowed_hosts: Vec::new(),
            extra_root_certificates: Vec::new(),
            request_timeout: Duration::from_secs(600),
            query_batch_size: None,
            retry: DEFAULT_RETRY_POLICY,
            max_concurrent_requests: DEFAULT_MAX_CONCURRENT_REQUESTS,
        }
    }

    /// Sets the connected app's secret, for refresh-token authentication.
    pub fn with_client_secret(mut self, secret: Secret) -> Self {
        if let Auth::RefreshToken { client_secret, .. } = &mut self.auth {
            *client_secret = Some(secret);
        }
        self
    }

    /// Where the session comes from, for messages: the login host or the instance.
    pub fn origin(&self) -> &str {
        match &self.auth {
            Auth::RefreshToken { login_url, .. } => login_url,
            Auth::AccessToken { instance_url, .. } => instance_url,
        }
    }
}

/// `Sforce-Limit-Info: api-usage=N/M`: calls used in the last 24 hours and the daily limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiUsage {
    pub used: u64,
    pub limit: u64,
}

/// Reads `api-usage=N/M` from a `Sforce-Limit-Info` value, which may carry other entries
/// (`api-usage=18/15000; per-app-api-usage=...`, `api-usage=18/15000; api-bursts=...`).
pub fn parse_limit_info(value: &str) -> Option<ApiUsage> {
    value.split(';').find_map(|entry| {
        let usage = entry.trim().strip_prefix("api-usage=")?;
        let (used, limit) = usage.split_once('/')?;
        Some(ApiUsage {
            used: used.trim().parse().ok()?,
            limit: limit.trim().parse().ok()?,
        })
    })
}

pub(crate) struct Session {
    pub(crate) access_token: Secret,
    pub(crate) instance_url: Url,
}

/// A client of one org. Cheap to share by reference across tasks.
pub struct SalesforceClient {
    pub(crate) http: reqwest::Client,
    pub(crate) config: ClientConfig,
    session: RwLock<Option<Session>>,
    /// The refresh token in use: the configured one, or the one Salesforce rotated it to.
    refresh_token: Mutex<Option<Secret>>,
    rotated: AtomicBool,
    usage: Mutex<Option<ApiUsage>>,
    /// Randomly keyed per client; hashing a counter with it gives the jitter.
    jitter: std::collections::hash_map::RandomState,
    retries: AtomicU64,
    calls: AtomicU64,
    permits: Semaphore,
}

impl std::fmt::Debug for SalesforceClient {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("SalesforceClient")
            .field("origin", &self.config.origin())
            .field("api_version", &self.config.api_version)
            .finish_non_exhaustive()
    }
}

/// Extra headers of one request.
pub(crate) type Headers<'a> = &'a [(&'static str, String)];

/// Whether a request may be sent again after a failure that leaves unknown whether the
/// server acted on it (a lost answer, a 5xx).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Replay {
    /// Reads, and writes that end in the same state however often they run.
    Safe,
    /// Creates something (a Bulk job): sent once, so a lost answer cannot leave a second
    /// job running. Only an expired session, refused before any work, is retried.
    Once,
}

impl SalesforceClient {
    /// Builds the client and establishes a session: with a refresh token, a first access
    /// token is fetched so bad credentials fail here; with an access token, its instance
    /// URL is checked.
    pub async fn connect(config: ClientConfig) -> Result<Self, SalesforceError> {
        let http = http_client(&config.extra_root_certificates, config.request_timeout)?;
        let refresh_token = match &config.auth {
            Auth::RefreshToken { refresh_token, .. } => Some(refresh_token.clone()),
            Auth::AccessToken { .. } => None,
        };
        let client = Self {
            http,
            permits: Semaphore::new(config.max_concurrent_requests.max(1)),
            config,
            session: RwLock::new(None),
            refresh_token: Mutex::new(refresh_token),
            rotated: AtomicBool::new(false),
            usage: Mutex::new(None),
            jitter: std::collections::hash_map::RandomState::new(),
            retries: AtomicU64::new(0),
            calls: AtomicU64::new(0),
        };
        match &client.config.auth {
            Auth::RefreshToken { .. } => client.refresh().await?,
            Auth::AccessToken {
                instance_url,
                access_token,
            } => {
                let instance_url =
                    hosts::check_instance_url(instance_url, &client.config.allowed_hosts)?;
                *client.session.write().await = Some(Session {
                    access_token: access_token.clone(),
                    instance_url,
                });
            }
        }
        Ok(client)
    }

    /// The API usage the last response reported.
    pub fn api_usage(&self) -> Option<ApiUsage> {
        self.usage.lock().ok().and_then(|usage| *usage)
    }

    /// Requests retried after a transient failure since the client was built.
    pub fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }

    /// REST and Bulk requests sent since the client was built, retries included, token
    /// requests not.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// The refresh token Salesforce rotated to, if it did: the caller must store it in
    /// place of the old one, which stops working.
    pub fn rotated_refresh_token(&self) -> Option<Secret> {
        if !self.rotated.load(Ordering::SeqCst) {
            return None;
        }
        self.refresh_token
            .lock()
            .ok()
            .and_then(|token| token.clone())
    }

    /// The REST API version the client speaks, such as `59.0`.
    pub fn api_version(&self) -> &str {
        &self.config.api_version
    }

    /// The instance URL of the current session.
    pub async fn instance_url(&self) -> Option<String> {
        self.session
            .read()
            .await
            .as_ref()
            .map(|session| session.instance_url.to_string())
    }

    /// Sleeps before retry number `retry`, a random time under the policy's ceiling.
    async fn back_off(&self, retry: u32) {
        use std::hash::BuildHasher;
        let count = self.retries.fetch_add(1, Ordering::Relaxed);
        let random = self.jitter.hash_one(count);
        tokio::time::sleep(self.config.retry.delay_for(retry, random)).await;
    }

    /// Trades the refresh token for a new access token, keeping a rotated refresh token.
    async fn refresh(&self) -> Result<(), SalesforceError> {
        let Auth::RefreshToken {
            login_url,
            client_id,
            client_secret,
            ..
        } = &self.config.auth
        else {
            return Err(SalesforceError::SessionExpired);
        };
        let refresh_token = self
            .refresh_token
            .lock()
            .ok()
            .and_then(|token| token.clone())
            .ok_or(SalesforceError::SessionExpired)?;
        let token = oauth::refresh_grant(
            &self.http,
            login_url,
            client_id,
            client_secret.as_ref(),
            &refresh_token,
        )
        .await?;
        let instance_url =
            hosts::check_instance_url(&token.instance_url, &self.config.allowed_hosts)?;
        if let Some(rotated) = token.refresh_token
            && rotated.expose() != refresh_token.expose()
        {
            tracing::info!("Salesforce rotated the refresh token");
            if let Ok(mut slot) = self.refresh_token.lock() {
                *slot = Some(rotated);
                self.rotated.store(true, Ordering::SeqCst);
            }
        }
        tracing::debug!(instance_url = %instance_url, "access token refreshed");
        *self.session.write().await = Some(Session {
            access_token: token.access_token,
            instance_url,
        });
        Ok(())
    }

    pub(crate) fn data_path(&self, rest: &str) -> String {
        format!("/services/data/v{}/{rest}", self.config.api_version)
    }

    /// Sends one request and hands a successful response to `read`. Transient failures
    /// (including ones while `read` consumes the body) are retried with backoff; on
    /// `INVALID_SESSION_ID` the token is refreshed once and the call repeated, because
    /// access tokens expire mid-run. Errors that cannot succeed are returned at once.
    pub(crate) async fn send<T, F, Fut>(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<&serde_json::Value>,
        headers: Headers<'_>,
        replay: Replay,
        read: F,
    ) -> Result<T, SalesforceError>
    where
        F: Fn(reqwest::Response) -> Fut,
        Fut: Future<Output = Result<T, SalesforceError>>,
    {
        let mut refreshed = false;
        let mut attempt = 1;
        loop {
            let outcome = self
                .send_once(&method, path_and_query, body, headers, &read)
                .await;
            match outcome {
                Err(error)
                    if !refreshed
                        && error.error_code() == Some("INVALID_SESSION_ID")
                        && matches!(self.config.auth, Auth::RefreshToken { .. }) =>
                {
                    tracing::info!("access token expired; refreshing once");
                    refreshed = true;
                    self.refresh().await?;
                }
                Err(error)
                    if replay == Replay::Safe
                        && error.is_retryable()
                        && self.config.retry.allows_another_attempt(attempt) =>
                {
                    tracing::warn!(error = %error, attempt, path = path_and_query, "transient Salesforce failure; retrying");
                    self.back_off(attempt).await;
                    attempt += 1;
                }
                outcome => return outcome,
            }
        }
    }

    async fn send_once<T, F, Fut>(
        &self,
        method: &Method,
        path_and_query: &str,
        body: Option<&serde_json::Value>,
        headers: Headers<'_>,
        read: &F,
    ) -> Result<T, SalesforceError>
    where
        F: Fn(reqwest::Response) -> Fut,
        Fut: Future<Output = Result<T, SalesforceError>>,
    {
        let (url, token) = {
            let session = self.session.read().await;
            let Some(session) = session.as_ref() else {
                return Err(SalesforceError::SessionExpired);
            };
            let url = session
                .instance_url
                .join(path_and_query)
                .map_err(|source| SalesforceError::InvalidUrl {
                    url: path_and_query.to_owned(),
                    source,
                })?;
            (url, session.access_token.clone())
        };
        // The permit is held until the body is read: a response being streamed still
        // occupies one of the org's long-running request slots.
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| SalesforceError::SessionExpired)?;
        let mut request = self
            .http
            .request(method.clone(), url.clone())
            .bearer_auth(token.expose());
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        self.calls.fetch_add(1, Ordering::Relaxed);
        let response = request
            .send()
            .await
            .map_err(|source| SalesforceError::Transport {
                url: url.to_string(),
                source,
            })?;
        if let Some(usage) = response
            .headers()
            .get("Sforce-Limit-Info")
            .and_then(|value| value.to_str().ok())
            .and_then(parse_limit_info)
            && let Ok(mut slot) = self.usage.lock()
        {
            *slot = Some(usage);
        }
        let status = response.status();
        if status.is_success() {
            return read(response).await;
        }
        let body = response
            .bytes()
            .await
            .map_err(|source| SalesforceError::Transport {
                url: url.to_string(),
                source,
            })?;
        Err(api_error(status, &body))
    }

    /// GET a path of the instance as JSON.
    pub(crate) async fn get_json<T: DeserializeOwned>(
        &self,
        path_and_query: &str,
        headers: Headers<'_>,
    ) -> Result<T, SalesforceError> {
        self.send(
            Method::GET,
            path_and_query,
            None,
            headers,
            Replay::Safe,
            |response| read_json(response),
        )
        .await
    }

    /// Sends a JSON body and reads a JSON answer.
    pub(crate) async fn send_json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &serde_json::Value,
        replay: Replay,
    ) -> Result<T, SalesforceError> {
        self.send(method, path, Some(body), &[], replay, |response| {
            read_json(response)
        })
        .await
    }
}

/// The HTTP client every Salesforce call uses: rustls with the platform's roots plus
/// `extra_roots` (PEM), connect timeout 30 s, `timeout` per request, gzip accepted.
pub fn http_client(
    extra_roots: &[Vec<u8>],
    timeout: Duration,
) -> Result<reqwest::Client, SalesforceError> {
    let mut builder = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(30));
    for pem in extra_roots {
        let certificate =
            reqwest::Certificate::from_pem(pem).map_err(|source| SalesforceError::Transport {
                url: "(extra root certificate)".to_owned(),
                source,
            })?;
        builder = builder.add_root_certificate(certificate);
    }
    builder
        .build()
        .map_err(|source| SalesforceError::Transport {
            url: "(building the HTTP client)".to_owned(),
            source,
        })
}

/// The next piece of a streamed body; a failure while reading is a transport error, so the
/// request is retried.
pub(crate) async fn next_chunk(
    response: &mut reqwest::Response,
) -> Result<Option<bytes::Bytes>, SalesforceError> {
    response
        .chunk()
        .await
        .map_err(|source| SalesforceError::Transport {
            url: response.url().to_string(),
            source,
        })
}

/// Reads a whole JSON body; a failure while reading is a transport error, so it is retried.
pub(crate) async fn read_json<T: DeserializeOwned>(
    response: reqwest::Response,
) -> Result<T, SalesforceError> {
    let url = response.url().to_string();
    let body = response
        .bytes()
        .await
        .map_err(|source| SalesforceError::Transport {
            url: url.clone(),
            source,
        })?;
    serde_json::from_slice(&body).map_err(|source| SalesforceError::Decode { url, source })
}

/// Parses Salesforce's error array; a body in another shape is kept as one error item so the
/// status and text still reach the user.
pub(crate) fn api_error(status: StatusCode, body: &[u8]) -> SalesforceError {
    let errors = serde_json::from_slice::<Vec<ApiErrorItem>>(body).unwrap_or_else(|_| {
        vec![ApiErrorItem {
            error_code: format!("HTTP_{}", status.as_u16()),
            message: String::from_utf8_lossy(body).chars().take(500).collect(),
            fields: Vec::new(),
        }]
    });
    SalesforceError::Api {
        status: status.as_u16(),
        errors,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_info_is_read_with_or_without_other_entries() {
        let usage = |used, limit| Some(ApiUsage { used, limit });
        assert_eq!(parse_limit_info("api-usage=125/15000"), usage(125, 15000));
        assert_eq!(
            parse_limit_info("api-usage=18/15000; per-app-api-usage=17/250(appName=sample-app)"),
            usage(18, 15000)
        );
        assert_eq!(
            parse_limit_info("api-usage=18/15000; api-bursts=2/40"),
            usage(18, 15000)
        );
        assert_eq!(parse_limit_info("per-app-api-usage=17/250"), None);
    }

    #[test]
    fn error_arrays_from_recorded_payloads_are_parsed() {
        let body =
            include_bytes!("../../../tests/fixtures/salesforce/errors/amp_unknown-field.json");
        let error = api_error(StatusCode::BAD_REQUEST, body);
        assert_eq!(error.error_code(), Some("INVALID_FIELD"));
        assert!(!error.is_retryable());
        assert_eq!(
            error.to_string(),
            "Salesforce answered 400 INVALID_FIELD: No such column 'AccountNumer' on sobject of type Account"
        );
        let expired = include_bytes!(
            "../../../tests/fixtures/salesforce/errors/restforce_expired_session_response.json"
        );
        assert_eq!(
            api_error(StatusCode::UNAUTHORIZED, expired).error_code(),
            Some("INVALID_SESSION_ID")
        );
        let not_json = api_error(StatusCode::SERVICE_UNAVAILABLE, b"<html>down</html>");
        assert_eq!(not_json.error_code(), Some("HTTP_503"));
        assert!(not_json.is_retryable());
    }
}
