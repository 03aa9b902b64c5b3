//! Helpers shared by the HTTP tests: start a simulator and get a session.

#![allow(dead_code)]

use ferry_simulator::{RunningSimulator, SimulatorConfig, serve};
use serde_json::Value;

pub type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Starts a simulator on a free loopback port.
pub async fn start(
    config: SimulatorConfig,
) -> Result<RunningSimulator, Box<dyn std::error::Error>> {
    Ok(serve(config, "127.0.0.1:0".parse()?).await?)
}

/// Exchanges the simulator's refresh token for an access token.
pub async fn access_token(
    client: &reqwest::Client,
    sim: &RunningSimulator,
) -> Result<String, Box<dyn std::error::Error>> {
    let creds = sim.credentials();
    let response = client
        .post(format!("{}/services/oauth2/token", sim.login_url()))
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", creds.client_id.as_str()),
            ("client_secret", creds.client_secret.as_str()),
            ("refresh_token", creds.refresh_token.as_str()),
        ])
        .send()
        .await?;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await?;
    Ok(body["access_token"]
        .as_str()
        .ok_or("no access_token")?
        .to_string())
}

/// An authenticated GET of `path` (relative to the instance URL), returning status,
/// the `Sforce-Limit-Info` header and the JSON body.
pub async fn get(
    client: &reqwest::Client,
    sim: &RunningSimulator,
    token: &str,
    path: &str,
    batch: Option<u32>,
) -> Result<(u16, String, Value), Box<dyn std::error::Error>> {
    let mut request = client
        .get(format!("{}{path}", sim.base_url()))
        .bearer_auth(token);
    if let Some(n) = batch {
        request = request.header("Sforce-Query-Options", format!("batchSize={n}"));
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    let limit = response
        .headers()
        .get("Sforce-Limit-Info")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert_eq!(content_type, "application/json;charset=UTF-8", "{path}");
    Ok((status, limit, response.json().await?))
}

/// The path of a query for `soql`.
pub fn query_path(soql: &str) -> String {
    let encoded: String = url_encode(soql);
    format!("/services/data/v59.0/query?q={encoded}")
}

fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            b' ' => "+".to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// Runs a query and follows `nextRecordsUrl` to the end, returning every page.
pub async fn all_pages(
    client: &reqwest::Client,
    sim: &RunningSimulator,
    token: &str,
    soql: &str,
    batch: Option<u32>,
) -> Result<Vec<Value>, Box<dyn std::error::Error>> {
    let mut pages = Vec::new();
    let mut path = query_path(soql);
    loop {
        let (status, _, page) = get(client, sim, token, &path, batch).await?;
        assert_eq!(status, 200, "{soql}: {page}");
        let next = page
            .get("nextRecordsUrl")
            .and_then(Value::as_str)
            .map(str::to_string);
        let done = page["done"].as_bool();
        pages.push(page);
        match next {
            Some(next) => {
                assert_eq!(done, Some(false));
                path = next;
            }
            None => {
                assert_eq!(done, Some(true));
                return Ok(pages);
            }
        }
    }
}
