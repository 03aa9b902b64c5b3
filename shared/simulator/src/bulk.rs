//! Bulk API 2.0 query jobs: `/services/data/vXX.X/jobs/query`.
//!
//! A job is created from a SOQL query (`query` or `queryAll`), moves `UploadComplete` →
//! `InProgress` → `JobComplete` (or `Failed`) in time proportional to its row count
//! ([`Faults::bulk_rows_per_second`](crate::faults::Faults); `0` completes at once), and
//! serves its results as CSV pages chained by `Sforce-Locator`. A job keeps its parsed
//! query, its row count and a cursor (where each page's scan resumes; for ORDER BY
//! queries, the sorted record indexes), never its rows: each page is rendered when asked
//! for, from [`query::scan_page`] or [`query::render_indexes`].
//!
//! What Bulk refuses, it refuses as Salesforce does: compound (address, geolocation) and
//! base64 fields, aggregates (`COUNT()`), `OFFSET`.

use crate::faults;
use crate::query::{self, Page};
use crate::schema::FieldType;
use crate::server::{AppState, api_error, json_response, lock, version_of};
use crate::soql::{self, Column, Query, Selection};
use crate::value::format_datetime;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use serde_json::{Value as Json, json};
use std::collections::BTreeMap;
use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Jobs kept at most; the oldest are forgotten first (Salesforce keeps them 7 days).
const MAX_JOBS: usize = 1_000;

/// The largest results page served, whatever `maxRecords` asks for.
const MAX_PAGE: u64 = 250_000;

/// The Bulk jobs of a running simulator.
#[derive(Debug, Default)]
pub struct Jobs {
    jobs: std::sync::Mutex<BTreeMap<u64, Job>>,
    created: AtomicU64,
}

#[derive(Debug, Clone)]
struct Job {
    id: String,
    operation: &'static str,
    object: &'static str,
    api_version: String,
    created_secs: i64,
    created_at: Instant,
    query: Arc<Query>,
    fields: Arc<Vec<usize>>,
    total: u64,
    sorted: Option<Arc<Vec<u64>>>,
    /// Row position -> (record index to scan from, matching rows before it).
    resume: BTreeMap<u64, (u64, u64)>,
    rows_per_second: u64,
    fail: Option<String>,
    aborted: bool,
    format: CsvFormat,
}

/// The CSV dialect of a job: `columnDelimiter` and `lineEnding` of its create request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CsvFormat {
    pub delimiter: char,
    pub crlf: bool,
}

impl Default for CsvFormat {
    fn default() -> Self {
        CsvFormat {
            delimiter: ',',
            crlf: false,
        }
    }
}

/// Bulk API 2.0's column delimiters by name.
const DELIMITERS: [(&str, char); 6] = [
    ("BACKQUOTE", '`'),
    ("CARET", '^'),
    ("COMMA", ','),
    ("PIPE", '|'),
    ("SEMICOLON", ';'),
    ("TAB", '\t'),
];

impl CsvFormat {
    fn delimiter_name(self) -> &'static str {
        DELIMITERS
            .iter()
            .find(|(_, c)| *c == self.delimiter)
            .map_or("COMMA", |(name, _)| name)
    }

    fn line_ending(self) -> &'static str {
        if self.crlf { "\r\n" } else { "\n" }
    }

    fn line_ending_name(self) -> &'static str {
        if self.crlf { "CRLF" } else { "LF" }
    }

    /// The dialect a create request asks for, or the name of what is not valid in it.
    fn from_request(request: &Json) -> Result<CsvFormat, String> {
        let delimiter = match request["columnDelimiter"].as_str() {
            None => ',',
            Some(name) => DELIMITERS
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, c)| *c)
                .ok_or_else(|| format!("InvalidJob : Invalid column delimiter: {name}"))?,
        };
        let crlf = match request["lineEnding"].as_str() {
            None | Some("LF") => false,
            Some("CRLF") => true,
            Some(other) => return Err(format!("InvalidJob : Invalid line ending: {other}")),
        };
        Ok(CsvFormat { delimiter, crlf })
    }
}

impl Job {
    fn processing(&self) -> Duration {
        Duration::from_millis(
            self.total
                .saturating_mul(1000)
                .checked_div(self.rows_per_second)
                .unwrap_or(0),
        )
    }

    /// (state, rows processed so far) at this moment.
    fn progress(&self) -> (&'static str, u64) {
        if self.aborted {
            return ("Aborted", 0);
        }
        let elapsed = self.created_at.elapsed();
        let processing = self.processing();
        // A slow job first waits in the queue: a tenth of its processing time, at
        // most half a second.
        if elapsed < (processing / 10).min(Duration::from_millis(500)) {
            return ("UploadComplete", 0);
        }
        if elapsed >= processing {
            return match self.fail {
                Some(_) => ("Failed", 0),
                None => ("JobComplete", self.total),
            };
        }
        let done = (elapsed.as_millis() as u64).saturating_mul(self.rows_per_second) / 1000;
        ("InProgress", done.min(self.total))
    }

    /// The job as create and list answer it.
    fn summary(&self, state: &str, created_by: &str) -> serde_json::Map<String, Json> {
        let api_version: f64 = self.api_version.parse().unwrap_or(0.0);
        let date = format_datetime(self.created_secs);
        let mut body = serde_json::Map::new();
        body.insert("id".into(), json!(self.id));
        body.insert("operation".into(), json!(self.operation));
        body.insert("object".into(), json!(self.object));
        body.insert("createdById".into(), json!(created_by));
        body.insert("createdDate".into(), json!(date));
        body.insert("systemModstamp".into(), json!(date));
        body.insert("state".into(), json!(state));
        body.insert("concurrencyMode".into(), json!("Parallel"));
        body.insert("contentType".into(), json!("CSV"));
        body.insert("apiVersion".into(), json!(api_version));
        body.insert("lineEnding".into(), json!(self.format.line_ending_name()));
        body.insert(
            "columnDelimiter".into(),
            json!(self.format.delimiter_name()),
        );
        body
    }

    /// The job as `GET /jobs/query/{id}` answers it.
    fn info(&self, created_by: &str) -> Json {
        let (state, processed) = self.progress();
        let mut body = self.summary(state, created_by);
        let ms = self.processing().as_millis() as u64;
        let modstamp = if matches!(state, "JobComplete" | "Failed") {
            self.created_secs + (ms / 1000) as i64
        } else {
            self.created_secs
        };
        body.insert("systemModstamp".into(), json!(format_datetime(modstamp)));
        let lean = serde_json::Map::from_iter(
            body.into_iter()
                .filter(|(k, _)| !matches!(k.as_str(), "lineEnding" | "columnDelimiter")),
        );
        let mut body = lean;
        body.insert("jobType".into(), json!("V2Query"));
        body.insert("lineEnding".into(), json!(self.format.line_ending_name()));
        body.insert(
            "columnDelimiter".into(),
            json!(self.format.delimiter_name()),
        );
        body.insert("numberRecordsProcessed".into(), json!(processed));
        body.insert("retries".into(), json!(0));
        let total_ms = if state == "JobComplete" { ms } else { 0 };
        body.insert("totalProcessingTime".into(), json!(total_ms));
        body.insert(
            "isPkChunkingSupported".into(),
            json!(self.query.order.is_empty() && self.query.limit.is_none()),
        );
        if state == "Failed" {
            body.insert(
                "errorMessage".into(),
                json!(self.fail.clone().unwrap_or_default()),
            );
        }
        Json::Object(body)
    }
}

/// The Bulk 2.0 query routes.
pub(crate) fn routes() -> Router<Arc<AppState>> {
    let base = "/services/data/{version}/jobs/query";
    Router::new()
        .route(base, get(list).post(create))
        .route(&format!("{base}/"), get(list).post(create))
        .route(
            &format!("{base}/{{job}}"),
            get(info).patch(abort).delete(delete),
        )
        .route(&format!("{base}/{{job}}/results"), get(results))
}

fn not_found() -> Response {
    api_error(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "The requested resource does not exist",
    )
}

fn internal() -> Response {
    api_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "UNKNOWN_EXCEPTION",
        "An unexpected error occurred.",
    )
}

/// Why Bulk refuses a query that REST would run, in Salesforce's words.
fn bulk_unsupported(query: &Query) -> Option<(&'static str, String)> {
    let fields = match &query.selection {
        Selection::Fields(fields) => fields,
        Selection::Count | Selection::Aggregates(_) => {
            return Some((
                "INVALIDJOB",
                "Failed to process query: FUNCTIONALITY_NOT_ENABLED: Aggregate queries are not supported in Bulk Query".into(),
            ));
        }
    };
    if query.offset > 0 {
        return Some((
            "INVALIDJOB",
            "Failed to process query: FUNCTIONALITY_NOT_ENABLED: OFFSET clause is not supported in Bulk Query".into(),
        ));
    }
    for &field in fields {
        let Some(def) = query.object.fields.get(field) else {
            continue;
        };
        if def.ftype == FieldType::Address || def.ftype.soap_type().starts_with("urn:") {
            return Some((
                "API_ERROR",
                "Selecting compound data not supported in Bulk Query".into(),
            ));
        }
        if def.ftype.name() == "base64" {
            return Some((
                "API_ERROR",
                format!(
                    "Failed to process query: FUNCTIONALITY_NOT_ENABLED: Base64 fields are not supported in Bulk Query: {}.{}",
                    query.object.name, def.name
                ),
            ));
        }
    }
    None
}

async fn create(
    State(state): State<Arc<AppState>>,
    Path(version): Path<String>,
    body: Bytes,
) -> Response {
    let Some(version) = version_of(&version).map(str::to_string) else {
        return not_found();
    };
    let request: Json = match serde_json::from_slice(&body) {
        Ok(json) => json,
        Err(error) => {
            return api_error(
                StatusCode::BAD_REQUEST,
                "JSON_PARSER_ERROR",
                &format!("Cannot deserialize the request body: {error}"),
            );
        }
    };
    let operation = match request["operation"].as_str() {
        Some("query") => "query",
        Some("queryAll") => "queryAll",
        other => {
            return api_error(
                StatusCode::BAD_REQUEST,
                "INVALIDJOB",
                &format!(
                    "InvalidJob : Invalid operation: {}",
                    other.unwrap_or("null")
                ),
            );
        }
    };
    if let Some(content) = request["contentType"].as_str().filter(|c| *c != "CSV") {
        return api_error(
            StatusCode::BAD_REQUEST,
            "INVALIDJOB",
            &format!("InvalidJob : Invalid content type: {content}"),
        );
    }
    let format = match CsvFormat::from_request(&request) {
        Ok(format) => format,
        Err(message) => return api_error(StatusCode::BAD_REQUEST, "INVALIDJOB", &message),
    };
    let Some(text) = request["query"].as_str().filter(|q| !q.trim().is_empty()) else {
        return api_error(
            StatusCode::BAD_REQUEST,
            "INVALIDJOB",
            "InvalidJob : The query is required",
        );
    };
    let mut query = match soql::parse_for(text, state.org.features()) {
        Ok(query) => query,
        Err(error) => {
            return api_error(
                StatusCode::BAD_REQUEST,
                "INVALIDJOB",
                &format!("{}: {}", error.code, error.message),
            );
        }
    };
    // queryAll jobs return soft-deleted records too.
    query.all_rows = operation == "queryAll";
    if let Some((code, message)) = bulk_unsupported(&query) {
        return api_error(StatusCode::BAD_REQUEST, code, &message);
    }
    let Selection::Fields(fields) = &query.selection else {
        return internal();
    };
    let fields = Arc::new(fields.clone());
    let query = Arc::new(query);
    let knobs = state.knobs();
    let worker = state.clone();
    let counted = query.clone();
    // Counting and sorting scan the whole object, so they run off the async workers.
    let scanned = tokio::task::spawn_blocking(move || {
        let org = &worker.org;
        let sorted =
            (!counted.index_ordered()).then(|| Arc::new(query::sorted_indexes(org, &counted)));
        let matching = match &sorted {
            Some(list) => list.len() as u64,
            None => query::matching(org, &counted),
        };
        (query::total_size(&counted, matching), sorted)
    })
    .await;
    let Ok((total, sorted)) = scanned else {
        return internal();
    };
    let n = state.bulk.created.fetch_add(1, Ordering::SeqCst);
    let fail = faults::every(knobs.faults.bulk_fail_every, n + 1)
        .then(|| knobs.faults.bulk_fail_message.clone());
    let mut resume = BTreeMap::new();
    resume.insert(0, (0, 0));
    let created_secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let job = Job {
        id: crate::ids::salesforce_id("750", n),
        operation,
        object: query.object.name,
        api_version: version,
        created_secs,
        created_at: Instant::now(),
        query,
        fields,
        total,
        sorted,
        resume,
        rows_per_second: knobs.faults.bulk_rows_per_second,
        fail,
        aborted: false,
        format,
    };
    let body = Json::Object(job.summary("UploadComplete", &state.user_id));
    let mut jobs = lock(&state.bulk.jobs);
    jobs.insert(n, job);
    while jobs.len() > MAX_JOBS {
        jobs.pop_first();
    }
    json_response(StatusCode::OK, &body)
}

fn job_key(id: &str) -> Option<u64> {
    crate::ids::parse_counter("750", id)
}

fn find(state: &AppState, version: &str, id: &str) -> Option<Job> {
    version_of(version)?;
    let key = job_key(id)?;
    lock(&state.bulk.jobs).get(&key).cloned()
}

async fn list(State(state): State<Arc<AppState>>, Path(version): Path<String>) -> Response {
    if version_of(&version).is_none() {
        return not_found();
    }
    let records: Vec<Json> = lock(&state.bulk.jobs)
        .values()
        .map(|job| {
            let mut summary = job.summary(job.progress().0, &state.user_id);
            summary.insert("jobType".into(), json!("V2Query"));
            Json::Object(summary)
        })
        .collect();
    json_response(
        StatusCode::OK,
        &json!({"done": true, "records": records, "nextRecordsUrl": null}),
    )
}

async fn info(
    State(state): State<Arc<AppState>>,
    Path((version, id)): Path<(String, String)>,
) -> Response {
    match find(&state, &version, &id) {
        Some(job) => json_response(StatusCode::OK, &job.info(&state.user_id)),
        None => not_found(),
    }
}

async fn abort(
    State(state): State<Arc<AppState>>,
    Path((version, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let Some(job) = find(&state, &version, &id) else {
        return not_found();
    };
    let request: Json = serde_json::from_slice(&body).unwrap_or(Json::Null);
    if request["state"].as_str() != Some("Aborted") {
        return api_error(
            StatusCode::BAD_REQUEST,
            "INVALIDJOBSTATE",
            "InvalidJobState : Invalid state: only Aborted can be set on a query job",
        );
    }
    let (current, _) = job.progress();
    if matches!(current, "JobComplete" | "Failed" | "Aborted") {
        return api_error(
            StatusCode::BAD_REQUEST,
            "INVALIDJOBSTATE",
            &format!("InvalidJobState : Job is already in a terminal state: {current}"),
        );
    }
    let mut jobs = lock(&state.bulk.jobs);
    let Some(stored) = job_key(&id).and_then(|k| jobs.get_mut(&k)) else {
        return not_found();
    };
    stored.aborted = true;
    let body = Json::Object(stored.summary("Aborted", &state.user_id));
    json_response(StatusCode::OK, &body)
}

async fn delete(
    State(state): State<Arc<AppState>>,
    Path((version, id)): Path<(String, String)>,
) -> Response {
    if version_of(&version).is_none() {
        return not_found();
    }
    let removed = job_key(&id).and_then(|k| lock(&state.bulk.jobs).remove(&k));
    match removed {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => not_found(),
    }
}

/// `10000` <-> `MTAwMDA`: Salesforce's locators are base64 row positions.
fn encode_locator(position: u64) -> String {
    STANDARD_NO_PAD.encode(position.to_string())
}

fn decode_locator(locator: &str) -> Option<u64> {
    let bytes = STANDARD_NO_PAD.decode(locator.trim_end_matches('=')).ok()?;
    String::from_utf8(bytes).ok()?.parse().ok()
}

async fn results(
    State(state): State<Arc<AppState>>,
    Path((version, id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    let Some(job) = find(&state, &version, &id) else {
        return not_found();
    };
    let (current, _) = job.progress();
    if current != "JobComplete" {
        return api_error(
            StatusCode::BAD_REQUEST,
            "INVALIDJOBSTATE",
            &format!("InvalidJobState : Job is not complete, its state is {current}"),
        );
    }
    let params = crate::oauth::form_params(raw.as_deref(), b"");
    let size = match params.get("maxRecords").map(|m| m.parse::<u64>()) {
        None => state.bulk_page_size,
        Some(Ok(n)) if n > 0 => n.min(MAX_PAGE),
        Some(_) => {
            return api_error(
                StatusCode::BAD_REQUEST,
                "INVALIDREQUEST",
                "maxRecords must be a positive integer",
            );
        }
    };
    let position = match params.get("locator").filter(|l| !l.is_empty()) {
        None => 0,
        Some(locator) => match decode_locator(locator).filter(|p| *p <= job.total) {
            Some(position) => position,
            None => {
                return api_error(
                    StatusCode::BAD_REQUEST,
                    "INVALIDREQUEST",
                    &format!("Invalid locator: {locator}"),
                );
            }
        },
    };
    let gzip = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
    let total = job.total;
    let worker = state.clone();
    let rendered =
        tokio::task::spawn_blocking(move || render_page(&worker, &job, position, size)).await;
    let Ok((csv, rows, resume)) = rendered else {
        return internal();
    };
    let next = position + rows;
    if let Some(hint) = resume {
        let mut jobs = lock(&state.bulk.jobs);
        if let Some(stored) = job_key(&id).and_then(|k| jobs.get_mut(&k)) {
            stored.resume.insert(next, hint);
            while stored.resume.len() > 64 {
                stored.resume.pop_first();
            }
        }
    }
    let locator = if next >= total || rows == 0 {
        "null".to_string()
    } else {
        encode_locator(next)
    };
    let body = if gzip {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        match encoder
            .write_all(csv.as_bytes())
            .and_then(|()| encoder.finish())
        {
            Ok(bytes) => bytes,
            Err(_) => return internal(),
        }
    } else {
        csv.into_bytes()
    };
    let mut response = Response::new(Body::from(body));
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv"));
    if gzip {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    if let Ok(value) = HeaderValue::from_str(&locator) {
        h.insert("Sforce-Locator", value);
    }
    h.insert("Sforce-NumberOfRecords", HeaderValue::from(rows));
    response
}

/// Renders rows `position..position + size` of a job as CSV (header row first), with
/// the number of rows and, for scanned pages, where the next page's scan resumes.
fn render_page(
    state: &AppState,
    job: &Job,
    position: u64,
    size: u64,
) -> (String, u64, Option<(u64, u64)>) {
    let size = size.min(job.total.saturating_sub(position));
    let query = &job.query;
    let version = &job.api_version;
    let (records, resume) = match &job.sorted {
        Some(sorted) => {
            let start = (query.offset + position) as usize;
            let end = (start + size as usize).min(sorted.len());
            let slice = sorted.get(start..end).unwrap_or(&[]);
            (
                query::render_indexes(&state.org, query, version, &job.fields, slice),
                None,
            )
        }
        None => {
            let hint = job
                .resume
                .range(..=position)
                .next_back()
                .map_or((0, 0), |(_, h)| *h);
            let Page {
                records,
                resume_index,
            } = query::scan_page(
                &state.org,
                query,
                version,
                &job.fields,
                hint,
                position,
                size,
            );
            let next = position + records.len() as u64;
            (records, Some((resume_index, query.offset + next)))
        }
    };
    let csv = to_csv(query, &records, job.format);
    (csv, records.len() as u64, resume)
}

/// CSV of rendered query rows: RFC 4180 in the job's dialect (delimiter, line ending),
/// a header row of the selected fields in SELECT order, empty for null, values as Bulk
/// API 2.0 writes them.
pub fn to_csv(query: &Query, rows: &[Json], format: CsvFormat) -> String {
    let object = query.object;
    // (header, field type, where the value sits in a rendered row)
    let columns: Vec<(String, FieldType, &'static str, Option<&'static str>)> = query
        .columns
        .iter()
        .filter_map(|column| match column {
            Column::Field(index) => object
                .fields
                .get(*index)
                .map(|def| (def.name.to_string(), def.ftype, def.name, None)),
            Column::Parent(parent) => {
                // The parent field's type decides how numbers are written; a polymorphic
                // reference takes the type from its first target.
                let ftype = object
                    .fields
                    .get(parent.reference)
                    .and_then(|reference| reference.reference_to.first())
                    .and_then(|target| crate::schema::object(target))
                    .and_then(|target| {
                        target
                            .field_index(parent.field)
                            .and_then(|i| target.fields.get(i))
                    })
                    .map_or(FieldType::String, |def| def.ftype);
                Some((
                    format!("{}.{}", parent.relationship, parent.field),
                    ftype,
                    parent.relationship,
                    Some(parent.field),
                ))
            }
        })
        .collect();
    let separator = format.delimiter.to_string();
    let eol = format.line_ending();
    let mut out = String::new();
    let header: Vec<String> = columns
        .iter()
        .map(|(name, ..)| quote(name, format))
        .collect();
    out.push_str(&header.join(&separator));
    out.push_str(eol);
    for row in rows {
        let cells: Vec<String> = columns
            .iter()
            .map(|(_, ftype, key, inner)| {
                let value = match inner {
                    None => &row[*key],
                    Some(field) => &row[*key][*field],
                };
                cell(*ftype, value, format)
            })
            .collect();
        out.push_str(&cells.join(&separator));
        out.push_str(eol);
    }
    out
}

fn quote(text: &str, format: CsvFormat) -> String {
    if text.contains([format.delimiter, '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

fn cell(ftype: FieldType, value: &Json, format: CsvFormat) -> String {
    match value {
        Json::Null => String::new(),
        Json::Bool(b) => b.to_string(),
        Json::Number(n) => {
            if matches!(ftype, FieldType::Double | FieldType::Currency)
                && let Some(f) = n.as_f64()
            {
                if f.fract() == 0.0 && f.abs() < 1e15 {
                    format!("{f:.1}")
                } else {
                    f.to_string()
                }
            } else {
                n.to_string()
            }
        }
        // Bulk writes datetimes in UTC with a `Z`, where REST writes `+0000`.
        Json::String(s) if ftype == FieldType::Datetime => quote(
            &s.strip_suffix("+0000")
                .map_or_else(|| s.clone(), |d| format!("{d}Z")),
            format,
        ),
        Json::String(s) => quote(s, format),
        other => quote(&other.to_string(), format),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locators_are_base64_positions() {
        assert_eq!(encode_locator(10_000), "MTAwMDA");
        assert_eq!(decode_locator("MTAwMDA"), Some(10_000));
        assert_eq!(decode_locator("not a locator!"), None);
    }

    #[test]
    fn cells_follow_rfc4180_and_bulk_formats() {
        let f = CsvFormat::default();
        assert_eq!(cell(FieldType::String, &json!("a,b"), f), "\"a,b\"");
        let pipe = CsvFormat {
            delimiter: '|',
            crlf: true,
        };
        assert_eq!(cell(FieldType::String, &json!("a,b"), pipe), "a,b");
        assert_eq!(cell(FieldType::String, &json!("a|b"), pipe), "\"a|b\"");
        assert_eq!(
            cell(FieldType::String, &json!("say \"hi\""), f),
            "\"say \"\"hi\"\"\""
        );
        assert_eq!(cell(FieldType::Textarea, &json!("l1\nl2"), f), "\"l1\nl2\"");
        assert_eq!(cell(FieldType::String, &Json::Null, f), "");
        assert_eq!(cell(FieldType::Boolean, &json!(true), f), "true");
        assert_eq!(cell(FieldType::Currency, &json!(100), f), "100.0");
        assert_eq!(cell(FieldType::Double, &json!(12.5), f), "12.5");
        assert_eq!(cell(FieldType::Int, &json!(7), f), "7");
        assert_eq!(
            cell(
                FieldType::Datetime,
                &json!("2024-04-16T19:00:00.000+0000"),
                f
            ),
            "2024-04-16T19:00:00.000Z"
        );
        assert_eq!(cell(FieldType::Date, &json!("2024-04-16"), f), "2024-04-16");
    }
}
