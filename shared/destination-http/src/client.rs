//! [`HttpDestination`]: the [`Destination`] port over the HTTP contract.

use crate::signing::{
    IDEMPOTENCY_KEY_HEADER, KEY_ID_HEADER, SIGNATURE_HEADER, SignedParts, TIMESTAMP_HEADER,
    idempotency_key, sha256_hex, sign, unix_now,
};
use crate::wire::{
    self, CustomFieldsAnswer, CustomFieldsRequest, ErrorBody, FileAnswer, FileQuery,
    FileUrlRequest, GetAnswer, IdsRequest, LinksRequest, ResultsAnswer, UpsertAnswer,
    UpsertRequest, UserStatusRequest, UsersAnswer,
};
use async_trait::async_trait;
use ferry_model::ids::{DestinationId, TenantId};
use ferry_model::mapping::EntityKind;
use ferry_model::plan::CustomFieldDefinition;
use ferry_model::ports::{
    Destination, DestinationUser, FileBody, FileUpload, LinkPatch, UpsertOutcome, UserStatus,
};
use ferry_model::records::DestinationRecord;
use ferry_model::secret::Secret;
use ferry_model::{ErrorClass, PortError};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub use ferry_model::retry::RetryPolicy;

/// How the client retries unless told otherwise: six attempts in all, the sleep before retry
/// `n` under `0.2 s * 2^(n-1)`, capped at 20 s; at most 6.2 s of sleeping over the five
/// retries of one request, unless the destination asks for longer with `Retry-After`.
pub const DEFAULT_RETRY_POLICY: RetryPolicy =
    RetryPolicy::new(6, Duration::from_millis(200), Duration::from_secs(20));

/// How to reach a destination that implements the contract.
///
/// `Debug` shows the secret as a placeholder ([`Secret`]), so the configuration can be logged.
#[derive(Debug, Clone)]
pub struct HttpDestinationConfig {
    /// Where the contract's `/v1/...` routes live, e.g. `https://crm.example.com/ferry`.
    pub base_url: String,
    /// Names the shared secret to the destination (`X-Ferry-Key-Id`).
    pub key_id: String,
    /// The shared secret requests are signed with. Never sent, never logged.
    pub secret: Secret,
    /// How long one attempt of one request may take, connection included.
    pub timeout: Duration,
    /// The most items per request; larger batches are split. At most [`wire::MAX_BATCH`].
    pub max_batch: usize,
    /// How retryable failures ([`HttpDestinationError::class`]) are retried. A `Retry-After`
    /// the destination sends is a floor under the policy's jittered sleep.
    pub retry: RetryPolicy,
    /// Mixed into every idempotency key. Within one scope, a request sent again with the same
    /// bytes is the same operation and the destination answers it from what it stored (a
    /// retry after a timeout, a chunk redelivered after a crash); across scopes it is carried
    /// out again. Set it to the run id, so the next run's identical upsert reports
    /// "updated" rather than replaying the first run's "created".
    pub idempotency_scope: String,
}

impl HttpDestinationConfig {
    /// A configuration with the default timeout (30 s), batch size ([`wire::MAX_BATCH`]),
    /// retries, and an empty idempotency scope.
    pub fn new(base_url: impl Into<String>, key_id: impl Into<String>, secret: Secret) -> Self {
        Self {
            base_url: base_url.into(),
            key_id: key_id.into(),
            secret,
            timeout: Duration::from_secs(30),
            max_batch: wire::MAX_BATCH,
            retry: DEFAULT_RETRY_POLICY,
            idempotency_scope: String::new(),
        }
    }
}

/// What can go wrong talking to an HTTP destination. Messages name the call, its method and
/// path, and the status and the destination's own message, never the secret or a file URL.
#[derive(Debug, thiserror::Error)]
pub enum HttpDestinationError {
    #[error("invalid HTTP destination configuration: {0}")]
    Config(String),
    #[error("{endpoint} ({method} {path}) could not be sent")]
    Transport {
        endpoint: &'static str,
        method: Method,
        path: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{endpoint} ({method} {path}) answered {status} {code}: {message}")]
    Status {
        endpoint: &'static str,
        method: Method,
        path: String,
        status: StatusCode,
        code: String,
        message: String,
    },
    #[error(
        "{endpoint} ({method} {path}) answered {status} with a body that is not the contract's"
    )]
    Answer {
        endpoint: &'static str,
        method: Method,
        path: String,
        status: StatusCode,
        #[source]
        source: serde_json::Error,
    },
    #[error("{endpoint} answered {answered} items for the {sent} sent")]
    Contract {
        endpoint: &'static str,
        sent: usize,
        answered: usize,
    },
    #[error("the {0} request body could not be encoded")]
    Encode(&'static str, #[source] serde_json::Error),
}

impl HttpDestinationError {
    /// Whether the same request may succeed later: transport failures, 408, 409 on an
    /// idempotency key still in progress, 425, 429 and 5xx other than 501.
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::Transport { source, .. } if !source.is_builder() => ErrorClass::Retryable,
            Self::Status { status, .. } => status_class(*status),
            _ => ErrorClass::Permanent,
        }
    }

    fn into_port_error(self) -> PortError {
        let class = self.class();
        let context = match &self {
            Self::Config(_) | Self::Encode(..) => "the HTTP destination".to_owned(),
            Self::Transport { endpoint, .. }
            | Self::Status { endpoint, .. }
            | Self::Answer { endpoint, .. }
            | Self::Contract { endpoint, .. } => {
                format!("the HTTP destination's {endpoint} call failed")
            }
        };
        PortError::with_source(class, context, self)
    }
}

fn status_class(status: StatusCode) -> ErrorClass {
    match status.as_u16() {
        408 | 409 | 425 | 429 => ErrorClass::Retryable,
        501 => ErrorClass::Permanent,
        500..=599 => ErrorClass::Retryable,
        _ => ErrorClass::Permanent,
    }
}

/// The destination at the other end of the HTTP contract. Built once per process and cloned
/// freely: clones share the connection pool.
#[derive(Clone)]
pub struct HttpDestination {
    inner: Arc<Inner>,
    /// See [`HttpDestinationConfig::idempotency_scope`]; per clone, so one process can serve
    /// several runs from one pool.
    scope: String,
}

struct Inner {
    config: HttpDestinationConfig,
    base: url::Url,
    http: reqwest::Client,
    /// Randomly keyed per client; hashing a counter with it gives the jitter.
    jitter: std::collections::hash_map::RandomState,
    retries: AtomicU64,
}

impl std::fmt::Debug for HttpDestination {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("HttpDestination")
            .field("base_url", &self.inner.config.base_url)
            .field("key_id", &self.inner.config.key_id)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// One request: which call, where, and what it carries.
struct Call {
    endpoint: &'static str,
    method: Method,
    url: url::Url,
    /// Shared, so each attempt sends the same bytes without copying them.
    body: bytes::Bytes,
    content_type: &'static str,
    tenant: String,
    /// Mutating requests carry an idempotency key.
    mutating: bool,
}

impl HttpDestination {
    pub fn new(config: HttpDestinationConfig) -> Result<Self, HttpDestinationError> {
        let mut base = url::Url::parse(&config.base_url).map_err(|error| {
            HttpDestinationError::Config(format!(
                "base_url {:?} is not a URL: {error}",
                config.base_url
            ))
        })?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(HttpDestinationError::Config(format!(
                "base_url {:?} must be an http or https URL",
                config.base_url
            )));
        }
        base.set_query(None);
        base.set_fragment(None);
        if config.max_batch == 0 || config.max_batch > wire::MAX_BATCH {
            return Err(HttpDestinationError::Config(format!(
                "max_batch is {}; it must be between 1 and {}",
                config.max_batch,
                wire::MAX_BATCH
            )));
        }
        if config.retry.max_attempts == 0 {
            return Err(HttpDestinationError::Config(
                "retry.max_attempts must be at least 1".into(),
            ));
        }
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .build()
            .map_err(|error| {
                HttpDestinationError::Config(format!("the HTTP client cannot be built: {error}"))
            })?;
        let scope = config.idempotency_scope.clone();
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                base,
                http,
                jitter: std::collections::hash_map::RandomState::new(),
                retries: AtomicU64::new(0),
            }),
            scope,
        })
    }

    /// A handle on the same connection pool whose idempotency keys are scoped to `scope`
    /// (a run id), for a process that loads chunks of several runs.
    pub fn scoped(&self, scope: impl Into<String>) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            scope: scope.into(),
        }
    }

    /// `base_url` + `/v1/tenants/{tenant}` + `rest`, each segment percent-encoded.
    fn url(&self, tenant: &TenantId, rest: &[&str]) -> url::Url {
        let mut url = self.inner.base.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments
                .pop_if_empty()
                .extend(["v1", "tenants", tenant.as_str()])
                .extend(rest);
        }
        url
    }

    fn entity_url(&self, tenant: &TenantId, entity: EntityKind, rest: &[&str]) -> url::Url {
        let mut segments = vec!["entities", entity.as_str()];
        segments.extend_from_slice(rest);
        self.url(tenant, &segments)
    }

    fn json_call(
        &self,
        endpoint: &'static str,
        method: Method,
        url: url::Url,
        tenant: &TenantId,
        body: &impl Serialize,
        mutating: bool,
    ) -> Result<Call, PortError> {
        let body = serde_json::to_vec(body)
            .map_err(|error| HttpDestinationError::Encode(endpoint, error).into_port_error())?
            .into();
        Ok(Call {
            endpoint,
            method,
            url,
            body,
            content_type: "application/json",
            tenant: tenant.to_string(),
            mutating,
        })
    }

    /// Sends a call, retrying what can be retried, and reads its answer.
    async fn send<A: DeserializeOwned>(&self, call: Call) -> Result<A, PortError> {
        let config = &self.inner.config;
        let path_and_query = match call.url.query() {
            Some(query) => format!("{}?{query}", call.url.path()),
            None => call.url.path().to_owned(),
        };
        let body_sha256 = sha256_hex(&call.body);
        // One key for every attempt: that is what lets the destination tell a retry from a
        // new request.
        let key = call.mutating.then(|| {
            idempotency_key(
                &self.scope,
                &call.tenant,
                call.method.as_str(),
                &path_and_query,
                &body_sha256,
            )
        });
        let mut attempt = 1;
        loop {
            let timestamp = unix_now();
            let signature = sign(
                config.secret.expose().as_bytes(),
                &SignedParts {
                    timestamp,
                    method: call.method.as_str(),
                    path_and_query: &path_and_query,
                    idempotency_key: key.as_deref(),
                    body_sha256: &body_sha256,
                },
            );
            let mut request = self
                .inner
                .http
                .request(call.method.clone(), call.url.clone())
                .header(KEY_ID_HEADER, &config.key_id)
                .header(TIMESTAMP_HEADER, timestamp.to_string())
                .header(SIGNATURE_HEADER, signature)
                .header(reqwest::header::ACCEPT, "application/json");
            if let Some(key) = &key {
                request = request.header(IDEMPOTENCY_KEY_HEADER, key);
            }
            if call.method != Method::GET {
                request = request
                    .header(reqwest::header::CONTENT_TYPE, call.content_type)
                    .body(call.body.clone());
            }
            let (error, retry_after) = match self.attempt::<A>(&call, request).await {
                Ok(answer) => return Ok(answer),
                Err(failure) => failure,
            };
            if error.class() == ErrorClass::Permanent
                || !config.retry.allows_another_attempt(attempt)
            {
                return Err(error.into_port_error());
            }
            tracing::debug!(
                endpoint = call.endpoint,
                attempt,
                error = %error,
                "retrying an HTTP destination call"
            );
            self.back_off(attempt, retry_after).await;
            attempt += 1;
        }
    }

    /// One attempt; on failure, the error and the `Retry-After` the destination asked for.
    async fn attempt<A: DeserializeOwned>(
        &self,
        call: &Call,
        request: reqwest::RequestBuilder,
    ) -> Result<A, (HttpDestinationError, Option<Duration>)> {
        let transport = |source| HttpDestinationError::Transport {
            endpoint: call.endpoint,
            method: call.method.clone(),
            path: call.url.path().to_owned(),
            source,
        };
        let response = request
            .send()
            .await
            .map_err(|error| (transport(error), None))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let bytes = response
            .bytes()
            .await
            .map_err(|error| (transport(error), retry_after))?;
        if status.is_success() {
            return serde_json::from_slice(&bytes).map_err(|source| {
                (
                    HttpDestinationError::Answer {
                        endpoint: call.endpoint,
                        method: call.method.clone(),
                        path: call.url.path().to_owned(),
                        status,
                        source,
                    },
                    None,
                )
            });
        }
        // A proxy in front of the destination may answer in its own format: keep what it
        // said, shortened, rather than lose it.
        let (code, message) = match serde_json::from_slice::<ErrorBody>(&bytes) {
            Ok(body) => (body.error.code, body.error.message),
            Err(_) => (
                "unknown".to_owned(),
                String::from_utf8_lossy(&bytes).chars().take(300).collect(),
            ),
        };
        Err((
            HttpDestinationError::Status {
                endpoint: call.endpoint,
                method: call.method.clone(),
                path: call.url.path().to_owned(),
                status,
                code,
                message,
            },
            retry_after,
        ))
    }

    /// Sleeps before retry number `retry`: a random time under the policy's ceiling, but
    /// not less than the destination's `Retry-After` (itself capped at the policy's maximum).
    async fn back_off(&self, retry: u32, retry_after: Option<Duration>) {
        use std::hash::BuildHasher;
        let policy = self.inner.config.retry;
        let count = self.inner.retries.fetch_add(1, Ordering::Relaxed);
        let random = self.inner.jitter.hash_one(count);
        let jittered = policy.delay_for(retry, random);
        let floor = retry_after.unwrap_or_default().min(policy.max_delay);
        tokio::time::sleep(jittered.max(floor)).await;
    }

    fn batch_size(&self) -> usize {
        self.inner.config.max_batch
    }
}

/// Checks that a batch's answer has one item per item sent.
fn same_length<T>(
    endpoint: &'static str,
    sent: usize,
    answered: Vec<T>,
) -> Result<Vec<T>, PortError> {
    if answered.len() == sent {
        Ok(answered)
    } else {
        Err(HttpDestinationError::Contract {
            endpoint,
            sent,
            answered: answered.len(),
        }
        .into_port_error())
    }
}

#[async_trait]
impl Destination for HttpDestination {
    async fn ensure_custom_fields(
        &self,
        tenant: &TenantId,
        definitions: &[CustomFieldDefinition],
    ) -> Result<(), PortError> {
        for batch in definitions.chunks(self.batch_size()) {
            let call = self.json_call(
                "custom-fields",
                Method::PUT,
                self.url(tenant, &["custom-fields"]),
                tenant,
                &CustomFieldsRequest {
                    definitions: Cow::Borrowed(batch),
                },
                true,
            )?;
            let _: CustomFieldsAnswer = self.send(call).await?;
        }
        Ok(())
    }

    async fn upsert(
        &self,
        tenant: &TenantId,
        entity: EntityKind,
        records: &[DestinationRecord],
    ) -> Result<Vec<UpsertOutcome>, PortError> {
        let mut outcomes = Vec::with_capacity(records.len());
        for batch in records.chunks(self.batch_size()) {
            let call = self.json_call(
                "upsert",
                Method::POST,
                self.entity_url(tenant, entity, &["upsert"]),
                tenant,
                &UpsertRequest {
                    records: Cow::Borrowed(batch),
                },
                true,
            )?;
            let answer: UpsertAnswer = self.send(call).await?;
            let answered = same_length("upsert", batch.len(), answer.outcomes)?;
            outcomes.extend(answered.into_iter().map(UpsertOutcome::from));
        }
        Ok(outcomes)
    }

    async fn patch_links(
        &self,
        tenant: &TenantId,
        entity: EntityKind,
        patches: &[LinkPatch],
    ) -> Result<Vec<Result<(), String>>, PortError> {
        let mut results = Vec::with_capacity(patches.len());
        for batch in patches.chunks(self.batch_size()) {
            let call = self.json_call(
                "links",
                Method::POST,
                self.entity_url(tenant, entity, &["links"]),
                tenant,
                &LinksRequest {
                    patches: Cow::Borrowed(batch),
                },
                true,
            )?;
            let answer: ResultsAnswer = self.send(call).await?;
            let answered = same_length("links", batch.len(), answer.results)?;
            results.extend(answered.into_iter().map(Result::from));
        }
        Ok(results)
    }

    async fn get(
        &self,
        tenant: &TenantId,
        entity: EntityKind,
        ids: &[DestinationId],
    ) -> Result<Vec<Option<DestinationRecord>>, PortError> {
        let mut records = Vec::with_capacity(ids.len());
        for batch in ids.chunks(self.batch_size()) {
            let call = self.json_call(
                "get",
                Method::POST,
                self.entity_url(tenant, entity, &["get"]),
                tenant,
                &IdsRequest {
                    ids: Cow::Borrowed(batch),
                },
                false,
            )?;
            let answer: GetAnswer = self.send(call).await?;
            records.extend(same_length("get", batch.len(), answer.records)?);
        }
        Ok(records)
    }

    async fn delete(
        &self,
        tenant: &TenantId,
        entity: EntityKind,
        ids: &[DestinationId],
    ) -> Result<Vec<Result<(), String>>, PortError> {
        let mut results = Vec::with_capacity(ids.len());
        for batch in ids.chunks(self.batch_size()) {
            let call = self.json_call(
                "delete",
                Method::POST,
                self.entity_url(tenant, entity, &["delete"]),
                tenant,
                &IdsRequest {
                    ids: Cow::Borrowed(batch),
                },
                true,
            )?;
            let answer: ResultsAnswer = self.send(call).await?;
            let answered = same_length("delete", batch.len(), answer.results)?;
            results.extend(answered.into_iter().map(Result::from));
        }
        Ok(results)
    }

    async fn users(&self, tenant: &TenantId) -> Result<Vec<DestinationUser>, PortError> {
        let call = Call {
            endpoint: "users",
            method: Method::GET,
            url: self.url(tenant, &["users"]),
            body: bytes::Bytes::new(),
            content_type: "application/json",
            tenant: tenant.to_string(),
            mutating: false,
        };
        let answer: UsersAnswer = self.send(call).await?;
        Ok(answer.users)
    }

    async fn set_user_status(
        &self,
        tenant: &TenantId,
        statuses: &[UserStatus],
    ) -> Result<Vec<Result<(), String>>, PortError> {
        let mut results = Vec::with_capacity(statuses.len());
        for batch in statuses.chunks(self.batch_size()) {
            let call = self.json_call(
                "users/status",
                Method::POST,
                self.url(tenant, &["users", "status"]),
                tenant,
                &UserStatusRequest {
                    users: Cow::Borrowed(batch),
                },
                true,
            )?;
            let answer: ResultsAnswer = self.send(call).await?;
            let answered = same_length("users/status", batch.len(), answer.results)?;
            results.extend(answered.into_iter().map(Result::from));
        }
        Ok(results)
    }

    async fn put_file(
        &self,
        tenant: &TenantId,
        entity: EntityKind,
        record: &DestinationId,
        upload: FileUpload,
    ) -> Result<(), PortError> {
        let answer: FileAnswer = match upload.body {
            FileBody::Bytes(bytes) => {
                let mut url =
                    self.entity_url(tenant, entity, &["records", record.as_str(), "file"]);
                let query = FileQuery {
                    file_name: upload.file_name,
                    size: upload.size,
                    sha256: upload.sha256,
                    content_type: upload.content_type,
                };
                {
                    let mut pairs = url.query_pairs_mut();
                    pairs
                        .append_pair("file_name", &query.file_name)
                        .append_pair("size", &query.size.to_string())
                        .append_pair("sha256", &query.sha256);
                    if let Some(content_type) = &query.content_type {
                        pairs.append_pair("content_type", content_type);
                    }
                }
                self.send(Call {
                    endpoint: "file",
                    method: Method::PUT,
                    url,
                    body: bytes.into(),
                    content_type: "application/octet-stream",
                    tenant: tenant.to_string(),
                    mutating: true,
                })
                .await?
            }
            FileBody::Url(location) => {
                let call = self.json_call(
                    "file-url",
                    Method::POST,
                    self.entity_url(tenant, entity, &["records", record.as_str(), "file-url"]),
                    tenant,
                    &FileUrlRequest {
                        url: location,
                        file_name: upload.file_name,
                        size: upload.size,
                        sha256: upload.sha256,
                        content_type: upload.content_type,
                    },
                    true,
                )?;
                self.send(call).await?
            }
        };
        tracing::debug!(
            tenant = %tenant,
            entity = %entity,
            record = %record,
            size = answer.size,
            "file stored at the HTTP destination"
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn config() -> HttpDestinationConfig {
        HttpDestinationConfig::new(
            "http://127.0.0.1:9/prefix/",
            "key-1",
            Secret::new("super-secret-value"),
        )
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let config = config();
        let destination = HttpDestination::new(config.clone()).unwrap();
        let shown = format!("{config:?} {destination:?}");
        assert!(!shown.contains("super-secret-value"), "{shown}");
        assert!(shown.contains("key-1"));
    }

    #[test]
    fn urls_keep_the_base_path_and_encode_segments() {
        let destination = HttpDestination::new(config()).unwrap();
        let url = destination.entity_url(
            &TenantId::new("acme corp/eu"),
            EntityKind::Company,
            &["records", "17", "file"],
        );
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:9/prefix/v1/tenants/acme%20corp%2Feu/entities/company/records/17/file"
        );
    }

    #[test]
    fn bad_configurations_are_refused_with_the_reason() {
        for (config, reason) in [
            (
                HttpDestinationConfig {
                    max_batch: 0,
                    ..config()
                },
                "max_batch",
            ),
            (
                HttpDestinationConfig {
                    base_url: "ftp://x".into(),
                    ..config()
                },
                "http or https",
            ),
            (
                HttpDestinationConfig {
                    base_url: "not a url".into(),
                    ..config()
                },
                "not a URL",
            ),
        ] {
            let error = HttpDestination::new(config).unwrap_err().to_string();
            assert!(error.contains(reason), "{error}");
        }
    }

    #[test]
    fn throttles_timeouts_and_server_errors_are_retryable_the_rest_permanent() {
        for (status, class) in [
            (400, ErrorClass::Permanent),
            (401, ErrorClass::Permanent),
            (404, ErrorClass::Permanent),
            (408, ErrorClass::Retryable),
            (409, ErrorClass::Retryable),
            (413, ErrorClass::Permanent),
            (422, ErrorClass::Permanent),
            (429, ErrorClass::Retryable),
            (500, ErrorClass::Retryable),
            (501, ErrorClass::Permanent),
            (503, ErrorClass::Retryable),
        ] {
            assert_eq!(
                status_class(StatusCode::from_u16(status).unwrap()),
                class,
                "{status}"
            );
        }
    }
}
