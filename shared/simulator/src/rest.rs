//! The data endpoints beyond describe and query:
//!
//! - `GET /services/data/vXX.X/limits/recordCount?sObjects=A,B`: record counts;
//! - `POST /services/data/vXX.X/composite/batch`: up to 25 GET subrequests (describes,
//!   describeGlobal, record counts, and queries whose result fits in one page) in one
//!   call;
//! - `GET /services/data/vXX.X/sobjects/{Object}/{id}/{Field}`: the bytes of a `base64`
//!   field (`Attachment.Body`, `ContentVersion.VersionData`, `ContentNote.Content`),
//!   streamed in chunks generated on the fly;
//! - `GET /services/data/vXX.X/sobjects/{Object}/{id}/richTextImageFields/{Field}/{refid}`:
//!   an image embedded in a rich-text field (`Org::rich_text_images`), `404` for one
//!   Salesforce no longer serves;
//! - `GET /services/data/vXX.X/tooling/query?q=`: SOQL over the automation inventory
//!   (ApexClass, ApexPage, ApexTrigger, FlowDefinitionView, ValidationRule, WorkflowRule);
//! - `POST /_sim/mutate`: a control call, outside the API and its authentication, that
//!   modifies or soft-deletes records "now" (or at `at`, Unix seconds: Salesforce's clock,
//!   which may lag the client's) so that delta runs can be tested.
//!
//! Everything under `/services/data` goes through the server's API gate (session,
//! daily limit, faults) like the other REST routes.

use crate::org::{Blob, Org};
use crate::query;
use crate::schema::{self, FieldType, Generated};
use crate::server::AppState;
use crate::soql::{self, Selection, SoqlError};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value as Json, json};
use std::sync::Arc;

/// Content type of every Salesforce JSON response.
const JSON_CONTENT_TYPE: &str = "application/json;charset=UTF-8";

/// Content type Salesforce sends for blob fields (sic, without the hyphen).
const BLOB_CONTENT_TYPE: &str = "application/octetstream";

/// Bytes generated per chunk of a streamed blob.
const BLOB_CHUNK: u64 = 64 * 1024;

/// Most rows a query subrequest of a batch answers; larger results need `/query`.
const BATCH_QUERY_ROWS: u64 = 2_000;

/// Most subrequests one composite batch may carry.
const MAX_BATCH_REQUESTS: usize = 25;

/// The routes of this module, to be merged into the server's router before its API
/// gate layer.
pub fn routes() -> Router<Arc<AppState>> {
    let data = "/services/data/{version}";
    Router::new()
        .route(&format!("{data}/limits/recordCount"), get(record_count))
        .route(&format!("{data}/composite/batch"), post(composite_batch))
        .route(
            &format!("{data}/sobjects/{{object}}/{{id}}/{{field}}"),
            get(blob),
        )
        .route(
            &format!("{data}/sobjects/{{object}}/{{id}}/richTextImageFields/{{field}}/{{refid}}"),
            get(rich_text_image),
        )
        .route(&format!("{data}/tooling/query"), get(tooling_query))
        .route(&format!("{data}/tooling/query/"), get(tooling_query))
        .route("/_sim/mutate", post(mutate))
}

/// A JSON response with Salesforce's content type.
fn json_response(status: StatusCode, body: &Json) -> Response {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(JSON_CONTENT_TYPE),
    );
    response
}

/// Salesforce's REST error body: an array of `{message, errorCode}`.
fn error_body(code: &str, message: &str) -> Json {
    json!([{"message": message, "errorCode": code}])
}

fn api_error(status: StatusCode, code: &str, message: &str) -> Response {
    json_response(status, &error_body(code, message))
}

fn not_found_body() -> Json {
    json!([{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}])
}

fn not_found() -> Response {
    json_response(StatusCode::NOT_FOUND, &not_found_body())
}

/// `v59.0` -> `59.0`, if the path segment is a version.
fn version_of(segment: &str) -> Option<&str> {
    let version = segment.strip_prefix('v')?;
    let (major, minor) = version.split_once('.')?;
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (numeric(major) && numeric(minor)).then_some(version)
}

/// The value of query parameter `name`, decoded.
fn param(raw: Option<&str>, name: &str) -> Option<String> {
    url::form_urlencoded::parse(raw?.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The `limits/recordCount` document for the named objects (every object with records
/// when `objects` is `None`). Unknown names are left out, as Salesforce does.
pub fn record_count_json(org: &Org, objects: Option<&str>) -> Json {
    let counts = org.record_count_estimates();
    let entries: Vec<Json> = match objects {
        Some(list) => list
            .split(',')
            .map(str::trim)
            .filter_map(|name| {
                let def = schema::object(name)?;
                let count = counts.get(def.name).copied().unwrap_or(0);
                Some(json!({"count": count, "name": def.name}))
            })
            .collect(),
        None => counts
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(name, count)| json!({"count": count, "name": name}))
            .collect(),
    };
    json!({"sObjects": entries})
}

async fn record_count(
    State(state): State<Arc<AppState>>,
    Path(version): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    if version_of(&version).is_none() {
        return not_found();
    }
    let objects = param(raw.as_deref(), "sObjects");
    json_response(
        StatusCode::OK,
        &record_count_json(&state.org, objects.as_deref()),
    )
}

/// One subrequest of a composite batch, answered as `(statusCode, result)`.
fn batch_subrequest(state: &AppState, method: &str, url: &str) -> (u16, Json) {
    if !method.eq_ignore_ascii_case("GET") {
        let message = format!("HTTP Method '{method}' not allowed. Allowed are GET");
        return (405, error_body("METHOD_NOT_ALLOWED", &message));
    }
    let url = url.trim_start_matches('/');
    let url = url.strip_prefix("services/data/").unwrap_or(url);
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let mut segments = path.trim_end_matches('/').split('/');
    let Some(version) = segments.next().and_then(version_of) else {
        return (404, not_found_body());
    };
    let rest: Vec<&str> = segments.collect();
    match rest.as_slice() {
        ["sobjects"] => (
            200,
            schema::describe_global_for(version, state.org.features()),
        ),
        ["sobjects", object, "describe"] => {
            if let Some(refusal) = state.knobs().faults.describe_refusal(object) {
                return refusal;
            }
            match schema::object_in(object, state.org.features()) {
                Some(def) => (
                    200,
                    def.describe_for(version, &state.base_url, state.org.features()),
                ),
                None => (404, not_found_body()),
            }
        }
        ["limits", "recordCount"] => {
            let objects = param(Some(query), "sObjects");
            (200, record_count_json(&state.org, objects.as_deref()))
        }
        ["query"] | ["queryAll"] => {
            let Some(text) = param(Some(query), "q") else {
                let message = "A query string has to be specified";
                return (400, error_body("MALFORMED_QUERY", message));
            };
            batch_query(state, &text, version, rest == ["queryAll"])
        }
        _ => (404, not_found_body()),
    }
}

/// A query subrequest of a batch: counts, aggregates and results that fit in one page.
/// Larger results need a cursor, which only `/query` keeps.
fn batch_query(state: &AppState, text: &str, version: &str, all: bool) -> (u16, Json) {
    let query = match soql::parse_for(text, state.org.features()) {
        Ok(q) => soql::Query { all_rows: all, ..q },
        Err(e) => return (400, error_body(e.code, &e.message)),
    };
    let org = &state.org;
    match &query.selection {
        Selection::Count => {
            let total = query::total_size(&query, query::matching(org, &query));
            (
                200,
                json!({"totalSize": total, "done": true, "records": []}),
            )
        }
        Selection::Aggregates(_) => {
            let row = query::aggregate_row(org, &query);
            (200, json!({"totalSize": 1, "done": true, "records": [row]}))
        }
        Selection::Fields(fields) => {
            let sorted = query::sorted_indexes(org, &query);
            let total = query::total_size(&query, sorted.len() as u64);
            if total > BATCH_QUERY_ROWS {
                let message = format!(
                    "The simulator answers batched queries of at most {BATCH_QUERY_ROWS} rows; page this one through /query."
                );
                return (400, error_body("QUERY_TOO_COMPLICATED", &message));
            }
            let start = (query.offset as usize).min(sorted.len());
            let page = sorted.get(start..start + total as usize).unwrap_or(&[]);
            let records = query::render_indexes(org, &query, version, fields, page);
            (
                200,
                json!({"totalSize": total, "done": true, "records": records}),
            )
        }
    }
}

async fn composite_batch(
    State(state): State<Arc<AppState>>,
    Path(version): Path<String>,
    body: Bytes,
) -> Response {
    if version_of(&version).is_none() {
        return not_found();
    }
    let parsed: Result<Json, _> = serde_json::from_slice(&body);
    let requests = match &parsed {
        Ok(json) => json.get("batchRequests").and_then(Json::as_array),
        Err(_) => None,
    };
    let Some(requests) = requests else {
        return api_error(
            StatusCode::BAD_REQUEST,
            "JSON_PARSER_ERROR",
            "The request body must be a JSON object with a batchRequests array.",
        );
    };
    if requests.is_empty() || requests.len() > MAX_BATCH_REQUESTS {
        return api_error(
            StatusCode::BAD_REQUEST,
            "INVALID_BATCH_REQUEST",
            "A batch must contain between 1 and 25 subrequests.",
        );
    }
    let halt = parsed
        .as_ref()
        .ok()
        .and_then(|j| j.get("haltOnError"))
        .and_then(Json::as_bool)
        .unwrap_or(false);
    // Queries in the batch may scan whole objects, so the batch runs off the async
    // workers.
    let requests = requests.clone();
    let worker = state.clone();
    let answer = tokio::task::spawn_blocking(move || run_batch(&worker, &requests, halt)).await;
    match answer {
        Ok(body) => json_response(StatusCode::OK, &body),
        Err(_) => api_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "UNKNOWN_EXCEPTION",
            "An unexpected error occurred.",
        ),
    }
}

/// The `{hasErrors, results}` answer of a batch.
fn run_batch(state: &AppState, requests: &[Json], halt: bool) -> Json {
    let mut results = Vec::new();
    let mut has_errors = false;
    for request in requests {
        if halt && has_errors {
            let message = "The transaction was rolled back since another operation in the same transaction failed.";
            results.push(json!({"statusCode": 412, "result": error_body("BATCH_PROCESSING_HALTED", message)}));
            continue;
        }
        let method = request.get("method").and_then(Json::as_str).unwrap_or("");
        let url = request.get("url").and_then(Json::as_str).unwrap_or("");
        let (status, result) = batch_subrequest(state, method, url);
        has_errors |= status >= 400;
        results.push(json!({"statusCode": status, "result": result}));
    }
    json!({"hasErrors": has_errors, "results": results})
}

/// The blob behind `/sobjects/{object}/{id}/{field}`, if that is a `base64` field of a
/// live generated record.
fn find_blob(org: &Org, object: &str, id: &str, field: &str) -> Option<Blob> {
    let def = schema::object(object)?;
    let kind = def.generated?;
    let index = def.field_index(field)?;
    if def.fields[index].ftype != FieldType::Base64 {
        return None;
    }
    let record = org.index_of(kind, id)?;
    if org.is_deleted(kind, record) {
        return None;
    }
    org.blob(kind, record)
}

async fn blob(
    State(state): State<Arc<AppState>>,
    Path((version, object, id, field)): Path<(String, String, String, String)>,
) -> Response {
    if version_of(&version).is_none() {
        return not_found();
    }
    let Some(blob) = find_blob(&state.org, &object, &id, &field) else {
        return not_found();
    };
    let org = state.org.clone();
    let chunks = futures::stream::unfold(0u64, move |offset| {
        let org = org.clone();
        async move {
            if offset >= blob.len {
                return None;
            }
            let bytes = org.blob_bytes(&blob, offset, BLOB_CHUNK);
            let next = offset + bytes.len() as u64;
            Some((Ok::<_, std::io::Error>(Bytes::from(bytes)), next))
        }
    });
    let mut response = Response::new(Body::from_stream(chunks));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(BLOB_CONTENT_TYPE),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(blob.len));
    response
}

/// `GET .../sobjects/{object}/{id}/richTextImageFields/{field}/{refid}`: an image of a
/// record's rich-text field (Salesforce's "sObject Rich Text Image Get"); `404` for an
/// image the record does not have, or one Salesforce no longer serves.
async fn rich_text_image(
    State(state): State<Arc<AppState>>,
    Path((version, object, id, field, refid)): Path<(String, String, String, String, String)>,
) -> Response {
    if version_of(&version).is_none() || !field.eq_ignore_ascii_case(crate::org::RICH_TEXT_FIELD) {
        return not_found();
    }
    let Some(kind) = schema::object(&object).and_then(|def| def.generated) else {
        return not_found();
    };
    let Some(index) = state.org.index_of(kind, &id) else {
        return not_found();
    };
    if state.org.is_deleted(kind, index) {
        return not_found();
    }
    let Some(bytes) = state.org.rich_text_image_bytes(kind, index, &refid) else {
        return not_found();
    };
    let mut response = Response::new(Body::from(bytes));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("image/png"));
    response
}

/// Answers a Tooling API query in one page: the tooling objects are small fixed sets.
fn tooling_answer(org: &Org, text: &str, version: &str) -> Result<Json, SoqlError> {
    let query = soql::parse_tooling(text)?;
    Ok(match &query.selection {
        Selection::Count => {
            let total = query::total_size(&query, query::matching(org, &query));
            json!({"size": total, "totalSize": total, "done": true, "queryLocator": null, "entityTypeName": null, "records": []})
        }
        Selection::Aggregates(_) => {
            let row = query::aggregate_row(org, &query);
            json!({"size": 1, "totalSize": 1, "done": true, "queryLocator": null, "entityTypeName": "AggregateResult", "records": [row]})
        }
        Selection::Fields(fields) => {
            let sorted = query::sorted_indexes(org, &query);
            let total = query::total_size(&query, sorted.len() as u64);
            let start = (query.offset as usize).min(sorted.len());
            let end = start + total as usize;
            let page = sorted.get(start..end).unwrap_or(&[]);
            let mut records = query::render_indexes(org, &query, version, fields, page);
            // Tooling records live under /tooling/sobjects.
            for record in &mut records {
                if let Some(url) = record
                    .get_mut("attributes")
                    .and_then(|a| a.get_mut("url"))
                    .and_then(|u| u.as_str().map(str::to_string))
                {
                    record["attributes"]["url"] =
                        Json::String(url.replacen("/sobjects/", "/tooling/sobjects/", 1));
                }
            }
            json!({
                "size": total,
                "totalSize": total,
                "done": true,
                "queryLocator": null,
                "entityTypeName": query.object.name,
                "records": records,
            })
        }
    })
}

async fn tooling_query(
    State(state): State<Arc<AppState>>,
    Path(version): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let Some(v) = version_of(&version) else {
        return not_found();
    };
    let Some(text) = param(raw.as_deref(), "q").filter(|t| !t.trim().is_empty()) else {
        return api_error(
            StatusCode::BAD_REQUEST,
            "MALFORMED_QUERY",
            "A query string has to be specified",
        );
    };
    match tooling_answer(&state.org, &text, v) {
        Ok(body) => json_response(StatusCode::OK, &body),
        Err(e) => api_error(StatusCode::BAD_REQUEST, e.code, &e.message),
    }
}

/// The body of `POST /_sim/mutate`.
#[derive(Debug, serde::Deserialize)]
struct MutateRequest {
    object: String,
    #[serde(default)]
    modify: u64,
    #[serde(default)]
    delete: u64,
    /// Unix seconds to stamp the changes with, in place of now: Salesforce's clock, which
    /// need not agree with the client's.
    #[serde(default)]
    at: Option<i64>,
}

/// Seconds since the Unix epoch, now.
fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

async fn mutate(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    let request: MutateRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return api_error(StatusCode::BAD_REQUEST, "JSON_PARSER_ERROR", &e.to_string());
        }
    };
    let now = request.at.unwrap_or_else(now_secs);
    match state
        .org
        .mutate(&request.object, request.modify, request.delete, now)
    {
        Ok(mutation) => {
            let object = Generated::ALL
                .into_iter()
                .find(|k| k.object_name().eq_ignore_ascii_case(&request.object))
                .map_or_else(|| request.object.clone(), |k| k.object_name().to_string());
            json_response(
                StatusCode::OK,
                &json!({
                    "object": object,
                    "modified": mutation.modified,
                    "deleted": mutation.deleted,
                    "systemModstamp": crate::value::format_datetime(now),
                }),
            )
        }
        Err(e) => api_error(StatusCode::BAD_REQUEST, "INVALID_TYPE", &e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_counts_follow_the_recorded_shape() {
        let org = Org::new(1, 1000);
        let body = record_count_json(&org, Some("Account,Nope,contact"));
        let entries = body["sObjects"].as_array().cloned().unwrap_or_default();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0]["name"], "Account");
        assert_eq!(
            entries[0]["count"],
            json!(org.live_count(Generated::Account))
        );
        assert_eq!(entries[1]["name"], "Contact");
        let all = record_count_json(&org, None);
        assert!(all["sObjects"].as_array().is_some_and(|a| a.len() > 20));
    }

    #[test]
    fn tooling_queries_answer_in_one_page() -> Result<(), SoqlError> {
        let org = Org::new(1, 100);
        let body = tooling_answer(
            &org,
            "SELECT Id, Name FROM ApexClass WHERE Status = 'Active' ORDER BY Name LIMIT 3",
            "59.0",
        )?;
        assert_eq!(body["totalSize"], 3);
        assert_eq!(body["done"], true);
        let url = body["records"][0]["attributes"]["url"]
            .as_str()
            .unwrap_or("");
        assert!(url.starts_with("/services/data/v59.0/tooling/sobjects/ApexClass/01p"));
        let count = tooling_answer(&org, "SELECT COUNT() FROM ValidationRule", "59.0")?;
        assert_eq!(count["totalSize"], 5);
        let error = tooling_answer(&org, "SELECT Id FROM Account", "59.0");
        assert!(error.is_err_and(|e| e.code == "INVALID_TYPE"));
        Ok(())
    }
}
