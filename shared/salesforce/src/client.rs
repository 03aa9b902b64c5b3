use crate::error::{ApiErrorItem, SalesforceError};
use crate::wire;
use async_trait::async_trait;
use ferry_core::PortError;
use ferry_core::model::{ObjectDescription, ObjectSummary};
use ferry_core::ports::{QueryPage, QueryPageRequest, SalesforceApi};
use ferry_core::secret::Secret;
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::RwLock;
use url::Url;

/// How to reach and authenticate to one org.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `https://login.salesforce.com`, `https://test.salesforce.com` or a My Domain URL.
    pub login_url: String,
    pub client_id: String,
    pub client_secret: Option<Secret>,
    pub refresh_token: Secret,
    /// Such as "59.0".
    pub api_version: String,
    /// Hosts (`host` or `host:port`) allowed as instance URLs besides Salesforce's own domains;
    /// tests name the simulator here.
    pub allowed_hosts: Vec<String>,
    /// Timeout of one HTTP request. Salesforce ends REST calls after 10 minutes.
    pub request_timeout: Duration,
    /// Records per REST query page (`Sforce-Query-Options: batchSize`), 200 to 2000.
    pub query_batch_size: Option<u32>,
    /// How transient failures (transport errors, 5xx, `SERVER_UNAVAILABLE`) are retried.
    pub retry: RetryPolicy,
}

/// Exponential backoff with full jitter: before retry `n` (from 1) the client sleeps a random
/// time between zero and `min(max_delay, base_delay * 2^(n-1))`, so many clients that failed
/// together do not come back together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included; 1 means no retry.
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The ceiling of the sleep before retry number `retry` (1 for the first retry).
    pub fn ceiling(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.saturating_sub(1));
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }
}

impl ClientConfig {
    pub fn new(
        login_url: impl Into<String>,
        client_id: impl Into<String>,
        refresh_token: Secret,
    ) -> Self {
        Self {
            login_url: login_url.into(),
            client_id: client_id.into(),
            client_secret: None,
            refresh_token,
            api_version: "59.0".to_owned(),
            allowed_hosts: Vec::new(),
            request_timeout: Duration::from_secs(600),
            query_batch_size: None,
            retry: RetryPolicy::default(),
        }
    }
}

/// `Sforce-Limit-Info: api-usage=N/M`: calls used today and the daily limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiUsage {
    pub used: u64,
    pub limit: u64,
}

/// Reads `api-usage=N/M` from a `Sforce-Limit-Info` value, which may carry other entries
/// (`api-usage=18/15000; per-app-api-usage=...`).
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

struct Session {
    access_token: Secret,
    instance_url: Url,
}

pub struct SalesforceClient {
    http: reqwest::Client,
    config: ClientConfig,
    session: RwLock<Option<Session>>,
    usage: Mutex<Option<ApiUsage>>,
    /// Randomly keyed per client; hashing a counter with it gives the jitter.
    jitter: std::collections::hash_map::RandomState,
    retries: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for SalesforceClient {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("SalesforceClient")
            .field("login_url", &self.config.login_url)
            .field("api_version", &self.config.api_version)
            .finish_non_exhaustive()
    }
}

impl SalesforceClient {
    /// Builds the client and gets a first access token, so bad credentials fail here.
    pub async fn connect(config: ClientConfig) -> Result<Self, SalesforceError> {
        let http = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(Duration::from_secs(30))
            .build()
            .map_err(|source| SalesforceError::Transport {
                url: config.login_url.clone(),
                source,
            })?;
        let client = Self {
            http,
            config,
            session: RwLock::new(None),
            usage: Mutex::new(None),
            jitter: std::collections::hash_map::RandomState::new(),
            retries: std::sync::atomic::AtomicU64::new(0),
        };
        client.refresh().await?;
        Ok(client)
    }

    /// The API usage the last response reported.
    pub fn api_usage(&self) -> Option<ApiUsage> {
        self.usage.lock().ok().and_then(|usage| *usage)
    }

    /// Requests retried after a transient failure since the client was built.
    pub fn retries(&self) -> u64 {
        self.retries.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Sleeps before retry number `retry`, a random time under the policy's ceiling.
    async fn back_off(&self, retry: u32) {
        use std::hash::BuildHasher;
        let count = self
            .retries
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let ceiling = self.config.retry.ceiling(retry);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        let random = self.jitter.hash_one(count);
        let sleep = Duration::from_nanos(random.checked_rem(nanos.saturating_add(1)).unwrap_or(0));
        tokio::time::sleep(sleep).await;
    }

    /// The instance URL of the current session.
    pub async fn instance_url(&self) -> Option<String> {
        self.session
            .read()
            .await
            .as_ref()
            .map(|session| session.instance_url.to_string())
    }

    /// Trades the refresh token for a new access token.
    async fn refresh(&self) -> Result<(), SalesforceError> {
        let token_url = format!(
            "{}/services/oauth2/token",
            self.config.login_url.trim_end_matches('/')
        );
        let mut form = vec![
            ("grant_type", "refresh_token"),
            ("client_id", self.config.client_id.as_str()),
            ("refresh_token", self.config.refresh_token.expose()),
        ];
        if let Some(secret) = &self.config.client_secret {
            form.push(("client_secret", secret.expose()));
        }
        let response = self
            .http
            .post(&token_url)
            .form(&form)
            .send()
            .await
            .map_err(|source| SalesforceError::Transport {
                url: token_url.clone(),
                source,
            })?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|source| SalesforceError::Transport {
                url: token_url.clone(),
                source,
            })?;
        if !status.is_success() {
            let refused: wire::OAuthErrorResponse =
                serde_json::from_slice(&body).unwrap_or_else(|_| wire::OAuthErrorResponse {
                    error: format!("http_{}", status.as_u16()),
                    error_description: String::from_utf8_lossy(&body).chars().take(200).collect(),
                });
            return Err(SalesforceError::OAuth {
                status: status.as_u16(),
                error: refused.error,
                description: refused.error_description,
            });
        }
        let token: wire::TokenResponse =
            serde_json::from_slice(&body).map_err(|source| SalesforceError::Decode {
                url: token_url.clone(),
                source,
            })?;
        let instance_url = self.check_instance_url(&token.instance_url)?;
        if token.refresh_token.is_some() {
            // Rotation is handled with stored connections (`ferry login`); until then the
            // configured refresh token stays in use, which Salesforce allows unless the
            // connected app enforces rotation.
            tracing::debug!("Salesforce returned a rotated refresh token");
        }
        tracing::debug!(instance_url = %instance_url, "access token refreshed");
        *self.session.write().await = Some(Session {
            access_token: Secret::new(token.access_token),
            instance_url,
        });
        Ok(())
    }

    /// Accepts Salesforce's own https domains, and hosts the configuration names explicitly.
    fn check_instance_url(&self, value: &str) -> Result<Url, SalesforceError> {
        let url = Url::parse(value).map_err(|source| SalesforceError::InvalidUrl {
            url: value.to_owned(),
            source,
        })?;
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        let host_and_port = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.clone(),
        };
        let salesforce_domain = ["salesforce.com", "force.com", "cloudforce.com"]
            .iter()
            .any(|domain| host.ends_with(&format!(".{domain}")));
        let allowed = self.config.allowed_hosts.iter().any(|allowed| {
            allowed.eq_ignore_ascii_case(&host_and_port) || allowed.eq_ignore_ascii_case(&host)
        });
        if (url.scheme() == "https" && salesforce_domain) || allowed {
            Ok(url)
        } else {
            Err(SalesforceError::InstanceNotAllowed {
                url: value.to_owned(),
            })
        }
    }

    fn data_path(&self, rest: &str) -> String {
        format!("/services/data/v{}/{rest}", self.config.api_version)
    }

    /// GET a path of the instance as JSON. On `INVALID_SESSION_ID` the token is refreshed
    /// once and the call repeated, because access tokens expire mid-run.
    async fn get_json<T: DeserializeOwned>(
        &self,
        path_and_query: &str,
    ) -> Result<T, SalesforceError> {
        let mut refreshed = false;
        let mut attempt = 1;
        loop {
            match self.get_json_once(path_and_query, &mut refreshed).await {
                Err(error) if error.is_retryable() && attempt < self.config.retry.max_attempts => {
                    tracing::warn!(error = %error, attempt, "transient Salesforce failure; retrying");
                    self.back_off(attempt).await;
                    attempt += 1;
                }
                outcome => return outcome,
            }
        }
    }

    /// One GET, with one token refresh on `INVALID_SESSION_ID`.
    async fn get_json_once<T: DeserializeOwned>(
        &self,
        path_and_query: &str,
        refreshed: &mut bool,
    ) -> Result<T, SalesforceError> {
        loop {
            let (url, token) = {
                let session = self.session.read().await;
                let Some(session) = session.as_ref() else {
                    drop(session);
                    self.refresh().await?;
                    continue;
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
            let mut request = self.http.get(url.clone()).bearer_auth(token.expose());
            if let Some(batch_size) = self.config.query_batch_size {
                request = request.header("Sforce-Query-Options", format!("batchSize={batch_size}"));
            }
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
            let body = response
                .bytes()
                .await
                .map_err(|source| SalesforceError::Transport {
                    url: url.to_string(),
                    source,
                })?;
            if status.is_success() {
                return serde_json::from_slice(&body).map_err(|source| SalesforceError::Decode {
                    url: url.to_string(),
                    source,
                });
            }
            let error = api_error(status, &body);
            if status == StatusCode::UNAUTHORIZED
                && !*refreshed
                && error.error_code() == Some("INVALID_SESSION_ID")
            {
                tracing::info!("access token expired; refreshing once");
                *refreshed = true;
                self.refresh().await?;
                continue;
            }
            return Err(error);
        }
    }

    pub async fn describe_global(&self) -> Result<Vec<ObjectSummary>, SalesforceError> {
        let global: wire::DescribeGlobal = self.get_json(&self.data_path("sobjects")).await?;
        Ok(global
            .sobjects
            .into_iter()
            .map(ObjectSummary::from)
            .collect())
    }

    pub async fn describe(&self, object: &str) -> Result<ObjectDescription, SalesforceError> {
        let path = self.data_path(&format!("sobjects/{object}/describe"));
        let describe: wire::Describe = self.get_json(&path).await?;
        Ok(describe.into())
    }

    /// The first page of a SOQL query.
    pub async fn query(&self, soql: &str) -> Result<QueryPage, SalesforceError> {
        let mut path = self.data_path("query");
        path.push_str("?q=");
        path.push_str(&url::form_urlencoded::byte_serialize(soql.as_bytes()).collect::<String>());
        self.query_at(&path).await
    }

    /// The page at a `nextRecordsUrl`.
    pub async fn query_more(&self, next_records_url: &str) -> Result<QueryPage, SalesforceError> {
        self.query_at(next_records_url).await
    }

    async fn query_at(&self, path: &str) -> Result<QueryPage, SalesforceError> {
        let page: wire::QueryResponse = self.get_json(path).await?;
        Ok(QueryPage {
            total_size: page.total_size,
            records: page.records,
            next: if page.done {
                None
            } else {
                page.next_records_url
            },
        })
    }
}

/// Parses Salesforce's error array; a body in another shape is kept as one error item so the
/// status and text still reach the user.
fn api_error(status: StatusCode, body: &[u8]) -> SalesforceError {
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

#[async_trait]
impl SalesforceApi for SalesforceClient {
    async fn list_objects(&self) -> Result<Vec<ObjectSummary>, PortError> {
        self.describe_global()
            .await
            .map_err(|error| error.into_port_error("describeGlobal failed".to_owned()))
    }

    async fn describe_object(&self, name: &str) -> Result<ObjectDescription, PortError> {
        self.describe(name)
            .await
            .map_err(|error| error.into_port_error(format!("describe {name} failed")))
    }

    async fn count_records(&self, object: &str) -> Result<u64, PortError> {
        self.query(&format!("SELECT COUNT() FROM {object}"))
            .await
            .map(|page| page.total_size)
            .map_err(|error| error.into_port_error(format!("counting {object} failed")))
    }

    async fn query_page(&self, request: QueryPageRequest) -> Result<QueryPage, PortError> {
        match request {
            QueryPageRequest::Start { soql } => self
                .query(&soql)
                .await
                .map_err(|error| error.into_port_error(format!("query failed: {soql}"))),
            QueryPageRequest::Continue { cursor } => self
                .query_more(&cursor)
                .await
                .map_err(|error| error.into_port_error(format!("query page {cursor} failed"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_ceiling_doubles_up_to_the_cap() {
        let policy = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
        };
        let ceilings: Vec<u128> = (1..=6)
            .map(|retry| policy.ceiling(retry).as_millis())
            .collect();
        assert_eq!(ceilings, vec![100, 200, 400, 800, 1000, 1000]);
        assert_eq!(policy.ceiling(u32::MAX), Duration::from_secs(1));
    }

    #[test]
    fn limit_info_is_read_with_or_without_other_entries() {
        assert_eq!(
            parse_limit_info("api-usage=125/15000"),
            Some(ApiUsage {
                used: 125,
                limit: 15000
            })
        );
        assert_eq!(
            parse_limit_info("api-usage=18/15000; per-app-api-usage=17/250(appName=sample-app)"),
            Some(ApiUsage {
                used: 18,
                limit: 15000
            })
        );
        assert_eq!(parse_limit_info("per-app-api-usage=17/250"), None);
    }

    #[test]
    fn error_arrays_from_recorded_payloads_are_parsed() {
        let body =
            include_bytes!("../../../../shared/fixtures/salesforce/errors/amp_unknown-field.json");
        let error = api_error(StatusCode::BAD_REQUEST, body);
        assert_eq!(error.error_code(), Some("INVALID_FIELD"));
        assert!(!error.is_retryable());
        assert_eq!(
            error.to_string(),
            "Salesforce answered 400 INVALID_FIELD: No such column 'AccountNumer' on sobject of type Account"
        );
        let expired = include_bytes!(
            "../../../../shared/fixtures/salesforce/errors/restforce_expired_session_response.json"
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
