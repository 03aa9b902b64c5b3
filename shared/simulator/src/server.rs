//! The HTTP face of the simulator: the REST API routes, the gate every call passes
//! (session, API access, daily limit, injected faults, counters) and the control routes
//! `/_sim/faults` and `/_sim/counters`. OAuth lives in [`crate::oauth`], Bulk API 2.0 in
//! [`crate::bulk`].

use crate::Credentials;
use crate::faults::{self, CallKind, Counters, Knobs};
use crate::oauth::{self, OAuthState, SessionCheck};
use crate::org::Org;
use crate::query::{self, Page};
use crate::schema;
use crate::soql::{self, Query, Selection, SoqlError};
use crate::tls::Conn;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value as Json, json};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

/// Content type of every Salesforce JSON response.
const JSON_CONTENT_TYPE: &str = "application/json;charset=UTF-8";

/// Cursors kept at most; the oldest are dropped first, as Salesforce expires them.
const MAX_CURSORS: usize = 1_000;

/// Batch size bounds of `Sforce-Query-Options: batchSize=N`.
const MIN_BATCH: usize = 200;
const MAX_BATCH: usize = 2_000;

/// Shared state of a running simulator.
#[derive(Debug)]
pub struct AppState {
    pub org: Org,
    pub api_version: String,
    pub page_size: usize,
    pub credentials: Credentials,
    pub base_url: String,
    pub user_id: String,
    /// API calls counted against the daily limit.
    pub calls: AtomicU64,
    /// Calls by kind, for `/_sim/counters`.
    pub counters: Counters,
    /// Redirect URIs the authorize endpoint accepts; empty accepts any http(s) URL.
    pub redirect_uris: Vec<String>,
    pub auth_code_ttl: Duration,
    /// Default rows per Bulk results page.
    pub bulk_page_size: u64,
    pub oauth: OAuthState,
    pub bulk: crate::bulk::Jobs,
    knobs: RwLock<Knobs>,
    cursors: Mutex<BTreeMap<u64, Cursor>>,
    cursors_opened: AtomicU64,
}

/// A query cursor: the parsed query and where its pages are, never its records.
#[derive(Debug, Clone)]
struct Cursor {
    query: Arc<Query>,
    total: u64,
    batch: usize,
    /// Record indexes in ORDER BY order, for queries not in id order.
    sorted: Option<Arc<Vec<u64>>>,
    /// Row position -> (record index to scan from, matching rows before that index),
    /// so each page of an id-ordered query resumes where the previous one stopped.
    resume: BTreeMap<u64, (u64, u64)>,
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave these maps inconsistent, so a
    // poisoned lock is still safe to use.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What [`AppState::new`] needs besides the org.
#[derive(Debug)]
pub struct StateConfig {
    pub api_version: String,
    pub page_size: usize,
    pub knobs: Knobs,
    pub credentials: Credentials,
    pub base_url: String,
    pub redirect_uris: Vec<String>,
    pub auth_code_ttl: Duration,
    pub bulk_page_size: u64,
}

impl AppState {
    pub fn new(org: Org, config: StateConfig) -> Self {
        let user_id = org.id(schema::Generated::User, 0);
        AppState {
            org,
            api_version: config.api_version,
            page_size: config.page_size,
            oauth: OAuthState::new(&config.credentials.refresh_token),
            credentials: config.credentials,
            base_url: config.base_url,
            user_id,
            calls: AtomicU64::new(0),
            counters: Counters::default(),
            redirect_uris: config.redirect_uris,
            auth_code_ttl: config.auth_code_ttl,
            bulk_page_size: config.bulk_page_size.max(1),
            bulk: crate::bulk::Jobs::default(),
            knobs: RwLock::new(config.knobs),
            cursors: Mutex::new(BTreeMap::new()),
            cursors_opened: AtomicU64::new(0),
        }
    }

    /// The knobs in force now.
    pub fn knobs(&self) -> Knobs {
        self.knobs
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Replaces the knobs.
    pub fn set_knobs(&self, knobs: Knobs) {
        *self
            .knobs
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = knobs;
    }

    /// The `/_sim/counters` document.
    pub fn counters_json(&self) -> Json {
        faults::counters_json(
            self.counters.snapshot(),
            self.calls.load(Ordering::SeqCst),
            self.knobs().daily_api_limit,
        )
    }
}

/// Builds the router over the shared state.
pub fn router(state: Arc<AppState>) -> Router {
    let data = "/services/data/{version}";
    Router::new()
        .merge(oauth::routes())
        .merge(crate::bulk::routes())
        .route("/_sim/faults", get(get_faults).post(set_faults))
        .route("/_sim/counters", get(get_counters))
        .route("/services/data", get(versions))
        .route("/services/data/", get(versions))
        .route(data, get(resources))
        .route(&format!("{data}/"), get(resources))
        .route(&format!("{data}/limits"), get(limits))
        .route(&format!("{data}/sobjects"), get(describe_global))
        .route(&format!("{data}/sobjects/"), get(describe_global))
        .route(
            &format!("{data}/sobjects/{{object}}/describe"),
            get(describe),
        )
        .route(
            &format!("{data}/sobjects/{{object}}/describe/"),
            get(describe),
        )
        .route(&format!("{data}/query"), get(query_first))
        .route(&format!("{data}/query/"), get(query_first))
        .route(&format!("{data}/query/{{locator}}"), get(query_more))
        .route(&format!("{data}/queryAll"), get(query_all_first))
        .route(&format!("{data}/queryAll/"), get(query_all_first))
        .route(&format!("{data}/queryAll/{{locator}}"), get(query_more))
        .merge(crate::rest::routes())
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), api_gate))
        .with_state(state)
}

/// A JSON response with Salesforce's content type.
pub(crate) fn json_response(status: StatusCode, body: &Json) -> Response {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(JSON_CONTENT_TYPE),
    );
    response
}

/// Salesforce's REST error format: an array of `{message, errorCode}`.
pub(crate) fn api_error(status: StatusCode, code: &str, message: &str) -> Response {
    json_response(status, &json!([{"message": message, "errorCode": code}]))
}

fn not_found_body() -> Response {
    json_response(
        StatusCode::NOT_FOUND,
        &json!([{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]),
    )
}

async fn not_found() -> Response {
    not_found_body()
}

fn limit_header(response: &mut Response, used: u64, max: u64) {
    if let Ok(value) = HeaderValue::from_str(&format!("api-usage={used}/{max}")) {
        response.headers_mut().insert("Sforce-Limit-Info", value);
    }
}

/// Every call passes here: counted by kind, delayed by the configured latency; under
/// `/services/data` also authenticated, checked for API access, counted against the
/// daily limit, and possibly answered by an injected fault.
async fn api_gate(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    if path.starts_with("/_sim/") {
        return next.run(request).await;
    }
    state
        .counters
        .count(CallKind::of(request.method().as_str(), &path));
    let knobs = state.knobs();
    if knobs.faults.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(knobs.faults.latency_ms)).await;
    }
    if !path.starts_with("/services/data") {
        return next.run(request).await;
    }
    let max = knobs.daily_api_limit;
    // The version list is public in Salesforce; everything else needs a session.
    let public = path == "/services/data" || path == "/services/data/";
    if !public
        && state
            .oauth
            .check(request.headers(), knobs.faults.token_ttl_secs)
            != SessionCheck::Valid
    {
        let mut response = api_error(
            StatusCode::UNAUTHORIZED,
            "INVALID_SESSION_ID",
            "Session expired or invalid",
        );
        limit_header(&mut response, state.calls.load(Ordering::SeqCst), max);
        return response;
    }
    if !public && knobs.faults.api_disabled {
        let mut response = api_error(
            StatusCode::FORBIDDEN,
            "API_DISABLED_FOR_ORG",
            "The REST API is not enabled for this Organization.",
        );
        limit_header(&mut response, state.calls.load(Ordering::SeqCst), max);
        return response;
    }
    match state
        .calls
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
            (n < max).then_some(n + 1)
        }) {
        Ok(previous) => {
            let call = previous + 1;
            let faults = &knobs.faults;
            if faults::every(faults.drop_every, call) {
                if let Some(ConnectInfo(conn)) = request.extensions().get::<ConnectInfo<Conn>>() {
                    conn.drop_connection();
                }
                return api_error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "SERVER_UNAVAILABLE",
                    "Connection dropped.",
                );
            }
            let mut response = if faults::every(knobs.unavailable_every, call) {
                api_error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "SERVER_UNAVAILABLE",
                    "Server is temporarily unavailable. Please try again later.",
                )
            } else if faults::every(faults.server_error_every, call) {
                api_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "UNKNOWN_EXCEPTION",
                    "An unexpected error occurred. Please include this ErrorId if you contact support: 1234567890-12345 (-1234567890)",
                )
            } else {
                next.run(request).await
            };
            limit_header(&mut response, call, max);
            if faults::every(faults.cut_body_every, call) {
                response = cut_halfway(response);
            }
            if faults.bandwidth_bytes_per_second > 0 {
                response = paced(response, faults.bandwidth_bytes_per_second);
            }
            response
        }
        Err(used) => {
            let mut response = api_error(
                StatusCode::FORBIDDEN,
                "REQUEST_LIMIT_EXCEEDED",
                "TotalRequests Limit exceeded.",
            );
            limit_header(&mut response, used, max);
            response
        }
    }
}

/// `response` with its body cut off halfway: the first half of the bytes arrive, then the
/// stream fails and the connection closes.
fn cut_halfway(response: Response) -> Response {
    use futures::StreamExt as _;
    let (mut parts, body) = response.into_parts();
    // The length is no longer true; without it the cut reads as a broken stream.
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    let cut = futures::stream::once(async move {
        axum::body::to_bytes(body, usize::MAX)
            .await
            .map_err(|error| std::io::Error::other(error.to_string()))
    })
    .flat_map(|whole| match whole {
        Ok(mut bytes) => {
            let half = bytes.split_to(bytes.len() / 2);
            // The failure comes a moment after the first half, so the server has sent
            // that half before the connection closes.
            futures::stream::iter([Ok(half)])
                .chain(futures::stream::once(async {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    Err(std::io::Error::other("simulated network failure mid-body"))
                }))
                .boxed()
        }
        Err(error) => futures::stream::iter([Err(error)]).boxed(),
    });
    Response::from_parts(parts, Body::from_stream(cut))
}

/// Bytes sent per step of a paced body.
const PACE_STEP: usize = 16 * 1024;

/// `response` with its body sent at `bytes_per_second`: in steps of [`PACE_STEP`] bytes,
/// each held back until the time the bandwidth allows it, as a slow link would.
fn paced(response: Response, bytes_per_second: u64) -> Response {
    use futures::StreamExt as _;
    let (parts, body) = response.into_parts();
    let started = tokio::time::Instant::now();
    let sent = Arc::new(AtomicU64::new(0));
    let steps = body
        .into_data_stream()
        .flat_map(|item| {
            let pieces: Vec<Result<Bytes, axum::Error>> = match item {
                Ok(mut bytes) => {
                    let mut pieces = Vec::with_capacity(bytes.len() / PACE_STEP + 1);
                    while bytes.len() > PACE_STEP {
                        pieces.push(Ok(bytes.split_to(PACE_STEP)));
                    }
                    pieces.push(Ok(bytes));
                    pieces
                }
                Err(error) => vec![Err(error)],
            };
            futures::stream::iter(pieces)
        })
        .then(move |item| {
            let sent = sent.clone();
            async move {
                if let Ok(bytes) = &item {
                    let total =
                        sent.fetch_add(bytes.len() as u64, Ordering::SeqCst) + bytes.len() as u64;
                    let due = Duration::from_secs_f64(total as f64 / bytes_per_second as f64);
                    tokio::time::sleep_until(started + due).await;
                }
                item
            }
        });
    Response::from_parts(parts, Body::from_stream(steps))
}

async fn get_faults(State(state): State<Arc<AppState>>) -> Response {
    match serde_json::to_value(state.knobs()) {
        Ok(body) => json_response(StatusCode::OK, &body),
        Err(error) => control_error(&error.to_string()),
    }
}

/// `POST /_sim/faults`: a partial control document; answers the whole new document.
async fn set_faults(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    let patch: Json = match serde_json::from_slice(&body) {
        Ok(patch) => patch,
        Err(error) => return control_error(&error.to_string()),
    };
    match state.knobs().patched(&patch) {
        Ok(knobs) => {
            state.set_knobs(knobs);
            get_faults(State(state)).await
        }
        Err(error) => control_error(&error.to_string()),
    }
}

fn control_error(message: &str) -> Response {
    json_response(StatusCode::BAD_REQUEST, &json!({"error": message}))
}

async fn get_counters(State(state): State<Arc<AppState>>) -> Response {
    json_response(StatusCode::OK, &state.counters_json())
}

/// `v59.0` -> `59.0`, if the path segment is a version.
pub(crate) fn version_of(segment: &str) -> Option<&str> {
    let version = segment.strip_prefix('v')?;
    let (major, minor) = version.split_once('.')?;
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (numeric(major) && numeric(minor)).then_some(version)
}

/// Release name of an API version: v20.0 was Winter '11, and there are three a year.
fn release_label(major: u32) -> String {
    let k = major.saturating_sub(20);
    let season = ["Winter", "Spring", "Summer"][(k % 3) as usize];
    format!("{season} '{:02}", 11 + k / 3)
}

async fn versions(State(state): State<Arc<AppState>>) -> Response {
    let newest = state
        .api_version
        .split('.')
        .next()
        .and_then(|m| m.parse::<u32>().ok())
        .unwrap_or(20);
    let list: Vec<Json> = (20..=newest.max(20))
        .map(|major| {
            let version = format!("{major}.0");
            json!({"label": release_label(major), "url": format!("/services/data/v{version}"), "version": version})
        })
        .collect();
    json_response(StatusCode::OK, &Json::Array(list))
}

async fn resources(State(state): State<Arc<AppState>>, Path(version): Path<String>) -> Response {
    let Some(v) = version_of(&version) else {
        return not_found_body();
    };
    let base = format!("/services/data/v{v}");
    let identity = format!(
        "{}/id/{}/{}",
        state.base_url,
        state.org.org_id(),
        state.user_id
    );
    json_response(
        StatusCode::OK,
        &json!({
            "limits": format!("{base}/limits"),
            "sobjects": format!("{base}/sobjects"),
            "query": format!("{base}/query"),
            "queryAll": format!("{base}/queryAll"),
            "identity": identity,
        }),
    )
}

async fn limits(State(state): State<Arc<AppState>>, Path(version): Path<String>) -> Response {
    if version_of(&version).is_none() {
        return not_found_body();
    }
    let used = state.calls.load(Ordering::SeqCst);
    let max = state.knobs().daily_api_limit;
    json_response(
        StatusCode::OK,
        &json!({"DailyApiRequests": {"Max": max, "Remaining": max.saturating_sub(used)}}),
    )
}

async fn describe_global(
    State(state): State<Arc<AppState>>,
    Path(version): Path<String>,
) -> Response {
    match version_of(&version) {
        Some(v) => json_response(
            StatusCode::OK,
            &schema::describe_global_for(v, state.org.features()),
        ),
        None => not_found_body(),
    }
}

async fn describe(
    State(state): State<Arc<AppState>>,
    Path((version, object)): Path<(String, String)>,
) -> Response {
    if let Some((status, body)) = state.knobs().faults.describe_refusal(&object) {
        return json_response(
            StatusCode::from_u16(status).unwrap_or(StatusCode::NOT_FOUND),
            &body,
        );
    }
    let features = state.org.features();
    let def = schema::object_in(&object, features);
    match (version_of(&version), def) {
        (Some(v), Some(def)) => json_response(
            StatusCode::OK,
            &def.describe_for(v, &state.base_url, features),
        ),
        _ => not_found_body(),
    }
}

/// The batch size asked for with `Sforce-Query-Options: batchSize=N`, clamped to the
/// range Salesforce allows.
fn batch_size(headers: &HeaderMap) -> Option<usize> {
    let options = headers.get("Sforce-Query-Options")?.to_str().ok()?;
    options.split(',').find_map(|option| {
        let (key, value) = option.split_once('=')?;
        if !key.trim().eq_ignore_ascii_case("batchSize") {
            return None;
        }
        value
            .trim()
            .parse::<usize>()
            .ok()
            .map(|n| n.clamp(MIN_BATCH, MAX_BATCH))
    })
}

fn soql_error(error: SoqlError) -> Response {
    api_error(StatusCode::BAD_REQUEST, error.code, &error.message)
}

async fn query_first(
    State(state): State<Arc<AppState>>,
    Path(version): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    run_first(state, version, raw, headers, false).await
}

async fn query_all_first(
    State(state): State<Arc<AppState>>,
    Path(version): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    run_first(state, version, raw, headers, true).await
}

async fn run_first(
    state: Arc<AppState>,
    version: String,
    raw: Option<String>,
    headers: HeaderMap,
    all: bool,
) -> Response {
    let Some(v) = version_of(&version).map(str::to_string) else {
        return not_found_body();
    };
    let text = raw.as_deref().and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "q")
            .map(|(_, v)| v.into_owned())
    });
    let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
        return api_error(
            StatusCode::BAD_REQUEST,
            "MALFORMED_QUERY",
            "A query string has to be specified",
        );
    };
    let query = match soql::parse_for(&text, state.org.features()) {
        Ok(q) => Arc::new(Query { all_rows: all, ..q }),
        Err(e) => return soql_error(e),
    };
    let batch = batch_size(&headers).unwrap_or(state.page_size).max(1);
    let worker = state.clone();
    // Counting and sorting scan the whole object, so they run off the async workers.
    let result = tokio::task::spawn_blocking(move || first_page(&worker, query, &v, batch)).await;
    match result {
        Ok(response) => response,
        Err(_) => api_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "UNKNOWN_EXCEPTION",
            "An unexpected error occurred.",
        ),
    }
}

fn first_page(state: &AppState, query: Arc<Query>, version: &str, batch: usize) -> Response {
    let org = &state.org;
    match &query.selection {
        Selection::Count => {
            let total = query::total_size(&query, query::matching(org, &query));
            json_response(
                StatusCode::OK,
                &json!({"totalSize": total, "done": true, "records": []}),
            )
        }
        Selection::Aggregates(_) => {
            let row = query::aggregate_row(org, &query);
            json_response(
                StatusCode::OK,
                &json!({"totalSize": 1, "done": true, "records": [row]}),
            )
        }
        Selection::Fields(_) => {
            let sorted =
                (!query.index_ordered()).then(|| Arc::new(query::sorted_indexes(org, &query)));
            let matching = match &sorted {
                Some(list) => list.len() as u64,
                None => query::matching(org, &query),
            };
            let total = query::total_size(&query, matching);
            let mut resume = BTreeMap::new();
            resume.insert(0, (0, 0));
            let cursor = Cursor {
                query,
                total,
                batch,
                sorted,
                resume,
            };
            page(state, cursor, None, version, 0)
        }
    }
}

/// Renders the page at `position` of `cursor`, storing the cursor if more remains.
fn page(
    state: &AppState,
    mut cursor: Cursor,
    locator: Option<u64>,
    version: &str,
    position: u64,
) -> Response {
    let Selection::Fields(fields) = &cursor.query.selection else {
        return not_found_body();
    };
    let size = (cursor.batch as u64).min(cursor.total.saturating_sub(position));
    let records = match &cursor.sorted {
        Some(sorted) => {
            let start = (cursor.query.offset + position) as usize;
            let end = (start + size as usize).min(sorted.len());
            let slice = sorted.get(start..end).unwrap_or(&[]);
            query::render_indexes(&state.org, &cursor.query, version, fields, slice)
        }
        None => {
            let hint = cursor
                .resume
                .range(..=position)
                .next_back()
                .map_or((0, 0), |(_, h)| *h);
            let Page {
                records,
                resume_index,
            } = query::scan_page(
                &state.org,
                &cursor.query,
                version,
                fields,
                hint,
                position,
                size,
            );
            let next = position + records.len() as u64;
            cursor
                .resume
                .insert(next, (resume_index, cursor.query.offset + next));
            records
        }
    };
    let next = position + records.len() as u64;
    let done = next >= cursor.total || records.is_empty();
    let mut body = serde_json::Map::new();
    body.insert("totalSize".into(), json!(cursor.total));
    body.insert("done".into(), json!(done));
    if !done {
        let id = locator.unwrap_or_else(|| state.cursors_opened.fetch_add(1, Ordering::SeqCst));
        let name = crate::ids::salesforce_id("01g", id);
        body.insert(
            "nextRecordsUrl".into(),
            json!(format!("/services/data/v{version}/query/{name}-{next}")),
        );
        let mut cursors = lock(&state.cursors);
        cursors.insert(id, cursor);
        while cursors.len() > MAX_CURSORS {
            cursors.pop_first();
        }
    }
    body.insert("records".into(), Json::Array(records));
    json_response(StatusCode::OK, &Json::Object(body))
}

async fn query_more(
    State(state): State<Arc<AppState>>,
    Path((version, locator)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let Some(v) = version_of(&version).map(str::to_string) else {
        return not_found_body();
    };
    let invalid = || {
        api_error(
            StatusCode::BAD_REQUEST,
            "INVALID_QUERY_LOCATOR",
            "invalid query locator",
        )
    };
    let Some((name, position)) = locator.rsplit_once('-') else {
        return invalid();
    };
    let (Some(id), Ok(position)) = (
        crate::ids::parse_counter("01g", name),
        position.parse::<u64>(),
    ) else {
        return invalid();
    };
    let Some(mut cursor) = lock(&state.cursors).get(&id).cloned() else {
        return invalid();
    };
    if position > cursor.total {
        return invalid();
    }
    if let Some(batch) = batch_size(&headers) {
        cursor.batch = batch;
    }
    let worker = state.clone();
    match tokio::task::spawn_blocking(move || page(&worker, cursor, Some(id), &v, position)).await {
        Ok(response) => response,
        Err(_) => api_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "UNKNOWN_EXCEPTION",
            "An unexpected error occurred.",
        ),
    }
}

impl IntoResponse for SoqlError {
    fn into_response(self) -> Response {
        soql_error(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_labels_follow_salesforce() {
        assert_eq!(release_label(20), "Winter '11");
        assert_eq!(release_label(54), "Spring '22");
        assert_eq!(release_label(59), "Winter '24");
        assert_eq!(version_of("v59.0"), Some("59.0"));
        assert_eq!(version_of("59.0"), None);
        assert_eq!(version_of("vX.0"), None);
    }
}
