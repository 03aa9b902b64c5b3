//! The routes: a guard in front of every route of the contract (signature, body size,
//! idempotency), then one handler per route that decodes, calls the destination and answers.

use crate::fetch::{FetchError, fetch};
use crate::idempotency::{Begin, IdempotencyStore};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, on};
use ferry_destination_http::signing::{
    self, IDEMPOTENCY_KEY_HEADER, KEY_ID_HEADER, SIGNATURE_HEADER, SignatureError, SignedParts,
    TIMESTAMP_HEADER, sha256_hex,
};
use ferry_destination_http::wire::{
    self, CustomFieldsAnswer, CustomFieldsRequest, ErrorBody, ErrorDetail, FileAnswer, FileQuery,
    FileUrlRequest, GetAnswer, IdsRequest, ItemResult, LinksRequest, ResultsAnswer, UpsertAnswer,
    UpsertRequest, UserStatusRequest, UsersAnswer, WireOutcome, codes, routes,
};
use ferry_model::PortError;
use ferry_model::ids::{DestinationId, TenantId};
use ferry_model::mapping::EntityKind;
use ferry_model::ports::{Destination, FileBody, FileUpload};
use ferry_model::secret::Secret;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Set on an answer replayed from the idempotency store.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";

pub(crate) struct AppState {
    pub(crate) destination: Arc<dyn Destination>,
    pub(crate) keys: BTreeMap<String, Secret>,
    /// The tenants each key may act for; a key not listed acts for any.
    pub(crate) key_tenants: BTreeMap<String, std::collections::BTreeSet<String>>,
    pub(crate) idempotency: IdempotencyStore,
    /// Which addresses `file-url` fetches may reach.
    pub(crate) fetch_scope: crate::fetch::FetchScope,
    pub(crate) max_file_bytes: u64,
    pub(crate) fetch_timeout: Duration,
}

/// An error answer: `{"error": {"code", "message"}}` with its status.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, codes::INVALID_REQUEST, message)
    }

    fn unauthorized(error: SignatureError) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            codes::UNAUTHORIZED,
            error.to_string(),
        )
    }

    /// A failure of the destination behind the server: retryable ones become 503 (the
    /// client retries), permanent ones 422 (it does not).
    fn destination(error: &PortError) -> Self {
        if error.is_retryable() {
            Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                codes::UNAVAILABLE,
                error.chain(),
            )
        } else {
            Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                codes::REFUSED,
                error.chain(),
            )
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message,
            },
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        if matches!(
            self.status,
            StatusCode::SERVICE_UNAVAILABLE | StatusCode::CONFLICT
        ) {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

/// The router: every route of [`routes::ALL`], behind the guard.
pub(crate) fn router(state: Arc<AppState>) -> Router {
    let mut router = Router::new();
    for route in routes::ALL {
        // The guard is per route, so it knows statically which route it guards (its body
        // limit, whether it needs an idempotency key).
        let guarded = method_router(route)
            .route_layer(from_fn_with_state((Arc::clone(&state), *route), guard));
        router = router.route(route.path, guarded);
    }
    router
        .fallback(|| async {
            ApiError::new(
                StatusCode::NOT_FOUND,
                codes::NOT_FOUND,
                "no route of the destination contract has this path",
            )
        })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                codes::INVALID_REQUEST,
                "the route does not take this method",
            )
        })
        // The guard reads bodies itself, with a limit per route.
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(state)
}

/// The (method, path) pairs this server serves, from the same table the router is built
/// from, for the contract test.
pub fn served_routes() -> Vec<(&'static str, &'static str)> {
    routes::ALL
        .iter()
        .filter(|route| handler_for(route.path).is_some())
        .map(|route| (route.method, route.path))
        .collect()
}

fn method_router(route: &routes::Route) -> MethodRouter<Arc<AppState>> {
    let filter = match route.method {
        "GET" => MethodFilter::GET,
        "PUT" => MethodFilter::PUT,
        _ => MethodFilter::POST,
    };
    handler_for(route.path)
        .map(|handler| handler(filter))
        .unwrap_or_default()
}

type HandlerFor = fn(MethodFilter) -> MethodRouter<Arc<AppState>>;

/// The handler of a route of the contract; `None` for one this server lacks (which the
/// contract test would catch).
fn handler_for(path: &str) -> Option<HandlerFor> {
    Some(match path {
        routes::CUSTOM_FIELDS => |filter| on(filter, custom_fields),
        routes::UPSERT => |filter| on(filter, upsert),
        routes::GET => |filter| on(filter, get),
        routes::DELETE => |filter| on(filter, delete),
        routes::LINKS => |filter| on(filter, links),
        routes::USERS => |filter| on(filter, users),
        routes::FILE => |filter| on(filter, put_file),
        routes::FILE_URL => |filter| on(filter, put_file_url),
        routes::USER_STATUS => |filter| on(filter, user_status),
        _ => return None,
    })
}

async fn guard(
    State((state, route)): State<(Arc<AppState>, routes::Route)>,
    request: Request,
    next: Next,
) -> Response {
    match guarded(&state, route, request, next).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

/// Checks the signature, reads the body within the route's limit, and runs the request
/// once per idempotency key.
async fn guarded(
    state: &AppState,
    route: routes::Route,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    let header = |name: &'static str| -> Result<String, ApiError> {
        parts
            .headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
            .ok_or(ApiError::unauthorized(SignatureError::MissingHeader(name)))
    };
    let key_id = header(KEY_ID_HEADER)?;
    let timestamp_text = header(TIMESTAMP_HEADER)?;
    let signature = header(SIGNATURE_HEADER)?;
    let timestamp: u64 = timestamp_text.trim().parse().map_err(|_| {
        ApiError::unauthorized(SignatureError::BadTimestamp(timestamp_text.clone()))
    })?;
    let now = signing::unix_now();
    // Cheap refusals come before the body is read, so an unsigned client cannot make the
    // server buffer a large body.
    let skew = now.abs_diff(timestamp);
    if skew > signing::MAX_CLOCK_SKEW_SECONDS {
        return Err(ApiError::unauthorized(SignatureError::Skew { skew }));
    }
    let secret = state
        .keys
        .get(&key_id)
        .ok_or_else(|| ApiError::unauthorized(SignatureError::UnknownKey(key_id.clone())))?;
    let limit = if route.path == routes::FILE {
        usize::try_from(state.max_file_bytes).unwrap_or(usize::MAX)
    } else {
        wire::MAX_JSON_BODY_BYTES
    };
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            codes::TOO_LARGE,
            format!("the body could not be read within this route's limit of {limit} bytes"),
        )
    })?;
    let idempotency_key = parts
        .headers
        .get(IDEMPOTENCY_KEY_HEADER)
        .map(|value| {
            value
                .to_str()
                .map(str::to_owned)
                .map_err(|_| ApiError::invalid("Idempotency-Key is not visible ASCII"))
        })
        .transpose()?;
    let path_and_query = parts.uri.path_and_query().map_or_else(
        || parts.uri.path().to_owned(),
        |value| value.as_str().to_owned(),
    );
    let body_sha256 = sha256_hex(&bytes);
    signing::verify(
        secret.expose().as_bytes(),
        &SignedParts {
            timestamp,
            method: parts.method.as_str(),
            path_and_query: &path_and_query,
            idempotency_key: idempotency_key.as_deref(),
            body_sha256: &body_sha256,
        },
        &signature,
        now,
    )
    .map_err(ApiError::unauthorized)?;
    // A key acts for the tenants it is configured for; any other tenant is "not found", as if
    // it did not exist, so a key cannot even learn which tenants the destination holds.
    if let (Some(allowed), Some(tenant)) = (
        state.key_tenants.get(&key_id),
        path_tenant(parts.uri.path()),
    ) && !allowed.contains(&tenant)
    {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            codes::NOT_FOUND,
            format!("tenant {tenant:?} not found"),
        ));
    }
    let method = parts.method.clone();
    let request = Request::from_parts(parts, Body::from(bytes));
    if !route.mutating {
        return Ok(next.run(request).await);
    }

    let key = match idempotency_key {
        Some(key) if !key.is_empty() && key.len() <= 255 => key,
        _ => {
            return Err(ApiError::invalid(format!(
                "{method} {} changes the destination and needs an Idempotency-Key header of 1 to 255 characters",
                route.path
            )));
        }
    };
    let fingerprint = sha256_hex(format!("{method}\n{path_and_query}\n{body_sha256}").as_bytes());
    let store_failed = |error: crate::idempotency::IdempotencyError| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            codes::UNAVAILABLE,
            format!("the idempotency store failed: {error}"),
        )
    };
    match state
        .idempotency
        .begin(&key_id, &key, &fingerprint, now)
        .await
        .map_err(store_failed)?
    {
        Begin::Proceed => {}
        Begin::Replay { status, answer } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            let mut response = (status, answer).into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            headers.insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
            return Ok(response);
        }
        Begin::InProgress => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                codes::IDEMPOTENCY_IN_PROGRESS,
                format!("a request with Idempotency-Key {key} is still being carried out"),
            ));
        }
        Begin::Mismatch => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                codes::IDEMPOTENCY_KEY_REUSED,
                format!(
                    "Idempotency-Key {key} was first used for a different request (method, path or body)"
                ),
            ));
        }
    }
    // The request runs in its own task, so a client that gives up (a timeout) does not
    // cancel it halfway: it finishes and its answer is stored, and the client's retry is
    // told to wait (409) and then gets the stored answer, rather than a second attempt
    // reporting "updated" for what the first one created.
    let store = state.idempotency.clone();
    let (task_key_id, task_key) = (key_id.clone(), key.clone());
    let task =
        tokio::spawn(
            async move { run_and_store(&store, &task_key_id, &task_key, request, next).await },
        );
    match task.await {
        Ok(result) => result,
        Err(error) => {
            // The handler panicked: release the key so a retry runs again.
            if let Err(error) = state.idempotency.abandon(&key_id, &key).await {
                tracing::warn!(%error, "an idempotency key could not be released");
            }
            Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                codes::UNAVAILABLE,
                format!("the request failed inside the server: {error}"),
            ))
        }
    }
}

/// Runs a mutating request and stores its answer under its idempotency key (or releases the
/// key after a 5xx, which may be gone on the next attempt and so is not kept to be replayed).
async fn run_and_store(
    store: &IdempotencyStore,
    key_id: &str,
    key: &str,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let response = next.run(request).await;
    let (parts, body) = response.into_parts();
    // The answers are the server's own JSON, bounded by the batch limit.
    let answer = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(answer) => answer,
        Err(error) => {
            if let Err(error) = store.abandon(key_id, key).await {
                tracing::warn!(%error, "an idempotency key could not be released");
            }
            return Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                codes::UNAVAILABLE,
                format!("the answer could not be produced: {error}"),
            ));
        }
    };
    let stored = if parts.status.is_server_error() {
        store.abandon(key_id, key).await
    } else {
        store
            .complete(key_id, key, parts.status.as_u16(), answer.to_vec())
            .await
    };
    if let Err(error) = stored {
        // The request was carried out; a retry will find the key in progress (409) until
        // it counts as abandoned, and then run again, which the destination's upserts by
        // Salesforce id make harmless.
        tracing::warn!(%error, "an idempotency answer could not be stored");
    }
    Ok(Response::from_parts(parts, Body::from(answer)))
}

fn entity(name: &str) -> Result<EntityKind, ApiError> {
    EntityKind::from_name(name).ok_or_else(|| {
        let known: Vec<&str> = EntityKind::ALL
            .iter()
            .map(|entity| entity.as_str())
            .collect();
        ApiError::new(
            StatusCode::NOT_FOUND,
            codes::NOT_FOUND,
            format!(
                "no entity is named {name:?}; this destination has {}",
                known.join(", ")
            ),
        )
    })
}

fn json<T: DeserializeOwned>(route: &str, bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes)
        .map_err(|error| ApiError::invalid(format!("the body of {route} is not valid: {error}")))
}

fn within_batch(what: &str, count: usize) -> Result<(), ApiError> {
    if count > wire::MAX_BATCH {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            codes::TOO_LARGE,
            format!(
                "{count} {what} in one request; at most {} are accepted",
                wire::MAX_BATCH
            ),
        ));
    }
    Ok(())
}

fn answer<T: Serialize>(body: T) -> Response {
    (StatusCode::OK, axum::Json(body)).into_response()
}

async fn custom_fields(
    State(state): State<Arc<AppState>>,
    Path(tenant): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request: CustomFieldsRequest<'static> = json(routes::CUSTOM_FIELDS, &body)?;
    within_batch("custom field definitions", request.definitions.len())?;
    state
        .destination
        .ensure_custom_fields(&TenantId::new(tenant), &request.definitions)
        .await
        .map_err(|error| ApiError::destination(&error))?;
    Ok(answer(CustomFieldsAnswer {
        defined: request.definitions.len() as u64,
    }))
}

async fn upsert(
    State(state): State<Arc<AppState>>,
    Path((tenant, entity_name)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let entity = entity(&entity_name)?;
    let request: UpsertRequest<'static> = json(routes::UPSERT, &body)?;
    within_batch("records", request.records.len())?;
    let outcomes = state
        .destination
        .upsert(&TenantId::new(tenant), entity, &request.records)
        .await
        .map_err(|error| ApiError::destination(&error))?;
    Ok(answer(UpsertAnswer {
        outcomes: outcomes.into_iter().map(WireOutcome::from).collect(),
    }))
}

async fn get(
    State(state): State<Arc<AppState>>,
    Path((tenant, entity_name)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let entity = entity(&entity_name)?;
    let request: IdsRequest<'static> = json(routes::GET, &body)?;
    within_batch("ids", request.ids.len())?;
    let records = state
        .destination
        .get(&TenantId::new(tenant), entity, &request.ids)
        .await
        .map_err(|error| ApiError::destination(&error))?;
    Ok(answer(GetAnswer { records }))
}

async fn delete(
    State(state): State<Arc<AppState>>,
    Path((tenant, entity_name)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let entity = entity(&entity_name)?;
    let request: IdsRequest<'static> = json(routes::DELETE, &body)?;
    within_batch("ids", request.ids.len())?;
    let results = state
        .destination
        .delete(&TenantId::new(tenant), entity, &request.ids)
        .await
        .map_err(|error| ApiError::destination(&error))?;
    Ok(answer(ResultsAnswer {
        results: results.into_iter().map(ItemResult::from).collect(),
    }))
}

async fn links(
    State(state): State<Arc<AppState>>,
    Path((tenant, entity_name)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let entity = entity(&entity_name)?;
    let request: LinksRequest<'static> = json(routes::LINKS, &body)?;
    within_batch("link patches", request.patches.len())?;
    let results = state
        .destination
        .patch_links(&TenantId::new(tenant), entity, &request.patches)
        .await
        .map_err(|error| ApiError::destination(&error))?;
    Ok(answer(ResultsAnswer {
        results: results.into_iter().map(ItemResult::from).collect(),
    }))
}

async fn users(
    State(state): State<Arc<AppState>>,
    Path(tenant): Path<String>,
) -> Result<Response, ApiError> {
    let users = state
        .destination
        .users(&TenantId::new(tenant))
        .await
        .map_err(|error| ApiError::destination(&error))?;
    Ok(answer(UsersAnswer { users }))
}

async fn user_status(
    State(state): State<Arc<AppState>>,
    Path(tenant): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request: UserStatusRequest<'static> = json(routes::USER_STATUS, &body)?;
    within_batch("user statuses", request.users.len())?;
    let results = state
        .destination
        .set_user_status(&TenantId::new(tenant), &request.users)
        .await
        .map_err(|error| ApiError::destination(&error))?;
    Ok(answer(ResultsAnswer {
        results: results.into_iter().map(ItemResult::from).collect(),
    }))
}

/// The query of the raw upload, read by hand so a missing or malformed parameter is named
/// in the contract's error shape.
fn file_query(query: Option<&str>) -> Result<FileQuery, ApiError> {
    let mut pairs: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        pairs.insert(name.into_owned(), value.into_owned());
    }
    let required = |name: &str| {
        pairs
            .get(name)
            .cloned()
            .ok_or_else(|| ApiError::invalid(format!("the query parameter {name} is required")))
    };
    let size_text = required("size")?;
    Ok(FileQuery {
        file_name: required("file_name")?,
        size: size_text.parse().map_err(|_| {
            ApiError::invalid(format!(
                "the query parameter size is {size_text:?}, not a byte count"
            ))
        })?,
        sha256: required("sha256")?,
        content_type: pairs.get("content_type").cloned(),
    })
}

/// Checks bytes against the declared size and hash, then stores them.
async fn store_file(
    state: &AppState,
    tenant: String,
    entity: EntityKind,
    record: String,
    declared: FileQuery,
    bytes: Vec<u8>,
) -> Result<Response, ApiError> {
    let mismatch = |message: String| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            codes::FILE_MISMATCH,
            message,
        )
    };
    if bytes.len() as u64 != declared.size {
        return Err(mismatch(format!(
            "file {:?} of {entity} {record} has {} bytes, not the {} declared",
            declared.file_name,
            bytes.len(),
            declared.size
        )));
    }
    let actual = sha256_hex(&bytes);
    if !actual.eq_ignore_ascii_case(&declared.sha256) {
        return Err(mismatch(format!(
            "file {:?} of {entity} {record} has SHA-256 {actual}, not the {} declared",
            declared.file_name, declared.sha256
        )));
    }
    state
        .destination
        .put_file(
            &TenantId::new(tenant),
            entity,
            &DestinationId::new(record),
            FileUpload {
                file_name: declared.file_name,
                content_type: declared.content_type,
                size: declared.size,
                sha256: actual.clone(),
                body: FileBody::Bytes(bytes),
            },
        )
        .await
        .map_err(|error| ApiError::destination(&error))?;
    Ok(answer(FileAnswer {
        size: declared.size,
        sha256: actual,
    }))
}

async fn put_file(
    State(state): State<Arc<AppState>>,
    Path((tenant, entity_name, record)): Path<(String, String, String)>,
    uri: axum::http::Uri,
    body: Bytes,
) -> Result<Response, ApiError> {
    let entity = entity(&entity_name)?;
    let declared = file_query(uri.query())?;
    store_file(&state, tenant, entity, record, declared, body.to_vec()).await
}

async fn put_file_url(
    State(state): State<Arc<AppState>>,
    Path((tenant, entity_name, record)): Path<(String, String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let entity = entity(&entity_name)?;
    let request: FileUrlRequest = json(routes::FILE_URL, &body)?;
    let bytes = fetch(
        &request.url,
        request.size,
        state.max_file_bytes,
        state.fetch_timeout,
        state.fetch_scope,
    )
    .await
    .map_err(|error| {
        let context = format!("file {:?} of {entity} {record}: {error}", request.file_name);
        match error {
            FetchError::NotAUrl | FetchError::Scheme(_) | FetchError::Forbidden { .. } => {
                ApiError::invalid(context)
            }
            FetchError::Redirect(_) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                codes::FETCH_FAILED,
                context,
            ),
            FetchError::TooLarge { .. } | FetchError::Size { .. } => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                codes::FILE_MISMATCH,
                context,
            ),
            // The URL's host refusing (an expired presigned URL) will not change on a retry.
            FetchError::Status(status) if status < 500 => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                codes::FETCH_FAILED,
                context,
            ),
            FetchError::Status(_) | FetchError::Transport(_) => {
                ApiError::new(StatusCode::BAD_GATEWAY, codes::FETCH_FAILED, context)
            }
        }
    })?;
    let declared = FileQuery {
        file_name: request.file_name,
        size: request.size,
        sha256: request.sha256,
        content_type: request.content_type,
    };
    store_file(&state, tenant, entity, record, declared, bytes).await
}

/// The tenant of a contract path (`/v1/tenants/{tenant}/...`), percent-decoded.
fn path_tenant(path: &str) -> Option<String> {
    let raw = path.strip_prefix("/v1/tenants/")?.split('/').next()?;
    let bytes = raw.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            decoded.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            decoded.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(decoded).ok()
}

#[cfg(test)]
mod tenant_tests {
    #[test]
    fn the_tenant_of_a_path_is_decoded() {
        assert_eq!(
            super::path_tenant("/v1/tenants/ac%6De/entities/company/upsert").as_deref(),
            Some("acme")
        );
        assert_eq!(super::path_tenant("/v1/other"), None);
    }
}
