//! Shape comparison of JSON answers with recorded payloads, and protocol helpers shared
//! by the OAuth, Bulk and fault tests (included with `#[path]`, beside `common`).

#![allow(dead_code)]

use ferry_simulator::RunningSimulator;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;

pub type BoxError = Box<dyn std::error::Error>;

/// The recorded fixtures, carried in the repository (`tests/fixtures/salesforce`, with
/// their manifest and licences). A missing folder fails the test rather than skipping it.
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/salesforce"
    ))
}

pub fn fixture(name: &str) -> Result<Value, BoxError> {
    let path = fixtures_dir().join(name);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("fixture {} unreadable: {e}", path.display()))?;
    Ok(serde_json::from_str(&text)?)
}

pub fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Checks that `actual` is shaped like `recorded`: every recorded key present with the
/// same JSON type (null on either side matches anything), recursively; keys the
/// simulator adds must be in `extra_ok`, and recorded keys it may leave out in
/// `missing_ok`. Returns the first difference.
pub fn shape_diff(
    recorded: &Value,
    actual: &Value,
    path: &str,
    extra_ok: &[&str],
    missing_ok: &[&str],
) -> Option<String> {
    match (recorded, actual) {
        (Value::Null, _) | (_, Value::Null) => None,
        (Value::Object(expected), Value::Object(got)) => {
            let missing: BTreeSet<&String> = expected
                .keys()
                .filter(|k| !got.contains_key(*k) && !missing_ok.contains(&k.as_str()))
                .collect();
            let extra: BTreeSet<&String> = got
                .keys()
                .filter(|k| !expected.contains_key(*k) && !extra_ok.contains(&k.as_str()))
                .collect();
            if !missing.is_empty() || !extra.is_empty() {
                return Some(format!(
                    "{path}: missing keys {missing:?}, unexpected keys {extra:?}"
                ));
            }
            expected.iter().find_map(|(key, value)| {
                got.get(key).and_then(|g| {
                    shape_diff(value, g, &format!("{path}.{key}"), extra_ok, missing_ok)
                })
            })
        }
        (Value::Array(expected), Value::Array(got)) => {
            let last = expected.len().checked_sub(1)?;
            got.iter().enumerate().find_map(|(i, element)| {
                shape_diff(
                    &expected[i.min(last)],
                    element,
                    &format!("{path}[{i}]"),
                    extra_ok,
                    missing_ok,
                )
            })
        }
        _ if kind(recorded) == kind(actual) => None,
        _ => Some(format!(
            "{path}: JSON type differs: recorded {}, got {}",
            kind(recorded),
            kind(actual)
        )),
    }
}

/// Panics with the difference if `actual` is not shaped like `recorded`.
pub fn assert_shape(
    recorded: &Value,
    actual: &Value,
    what: &str,
    extra_ok: &[&str],
    missing_ok: &[&str],
) {
    if let Some(diff) = shape_diff(recorded, actual, what, extra_ok, missing_ok) {
        panic!("{diff}\nrecorded: {recorded}\nactual: {actual}");
    }
}

/// A client that does not follow redirects (the authorize endpoint answers 302).
pub fn no_redirect_client() -> Result<reqwest::Client, BoxError> {
    Ok(reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?)
}

/// POSTs a form to the token endpoint of `login_url`: (status, JSON body).
pub async fn token_request(
    client: &reqwest::Client,
    login_url: &str,
    form: &[(&str, &str)],
) -> Result<(u16, Value), BoxError> {
    let response = client
        .post(format!("{login_url}/services/oauth2/token"))
        .form(form)
        .send()
        .await?;
    let status = response.status().as_u16();
    Ok((status, response.json().await?))
}

/// The refresh-token grant with `refresh_token`.
pub async fn refresh(
    client: &reqwest::Client,
    sim: &RunningSimulator,
    login_url: &str,
    refresh_token: &str,
) -> Result<(u16, Value), BoxError> {
    let creds = sim.credentials();
    token_request(
        client,
        login_url,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", &creds.client_id),
            ("client_secret", &creds.client_secret),
            ("refresh_token", refresh_token),
        ],
    )
    .await
}

/// An authenticated request: (status, headers, body text).
pub async fn call(
    client: &reqwest::Client,
    sim: &RunningSimulator,
    method: reqwest::Method,
    token: &str,
    path: &str,
    body: Option<Value>,
) -> Result<(u16, reqwest::header::HeaderMap, String), BoxError> {
    let mut request = client
        .request(method, format!("{}{path}", sim.base_url()))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    Ok((status, headers, response.text().await?))
}

/// Like [`call`], with the body parsed as JSON (`Null` when empty).
pub async fn call_json(
    client: &reqwest::Client,
    sim: &RunningSimulator,
    method: reqwest::Method,
    token: &str,
    path: &str,
    body: Option<Value>,
) -> Result<(u16, Value), BoxError> {
    let (status, _, text) = call(client, sim, method, token, path, body).await?;
    let json = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).map_err(|e| format!("{path}: {e}: {text}"))?
    };
    Ok((status, json))
}

/// Changes the simulator's knobs through its control endpoint.
pub async fn set_faults(
    client: &reqwest::Client,
    sim: &RunningSimulator,
    patch: Value,
) -> Result<Value, BoxError> {
    let response = client
        .post(format!("{}/_sim/faults", sim.base_url()))
        .json(&patch)
        .send()
        .await?;
    assert_eq!(response.status(), 200, "control endpoint refused {patch}");
    Ok(response.json().await?)
}

/// Parses RFC 4180 CSV (quoted fields may hold commas, quotes and newlines).
pub fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, '\r') => {}
            (false, c) => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}
