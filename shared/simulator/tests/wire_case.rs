//! Header names on the wire. Salesforce answers over HTTP/1.1 with header names cased as
//! its documentation writes them, and widely used clients look them up case-sensitively
//! (a client that reads `Sforce-Locator` from a dictionary stops paging when it is
//! missing). These tests read the raw bytes of the answer, as such a client does, below
//! any library that would fold the case.

mod common;
#[path = "common/shape.rs"]
mod shape;

use common::{TestResult, access_token, query_path, start};
use ferry_simulator::{RunningSimulator, SimulatorConfig};
use reqwest::Method;
use serde_json::json;
use shape::{BoxError, call_json};
use std::time::Duration;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// A GET of `path` over a raw TCP connection: the status line and header lines exactly as
/// the server wrote them, and the body.
async fn raw_get(
    sim: &RunningSimulator,
    token: &str,
    path: &str,
) -> Result<(Vec<String>, String), BoxError> {
    let authority = sim
        .base_url()
        .strip_prefix("http://")
        .ok_or("the simulator runs without TLS here")?
        .to_string();
    let mut stream = tokio::net::TcpStream::connect(&authority).await?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nAuthorization: Bearer {token}\r\n\
         Accept: */*\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await?;
    let answer = String::from_utf8(answer)?;
    let (head, body) = answer.split_once("\r\n\r\n").ok_or("no end of headers")?;
    Ok((
        head.split("\r\n").map(str::to_string).collect(),
        body.to_string(),
    ))
}

/// The header lines named exactly `name` (case-sensitive), with their values.
fn exactly<'a>(head: &'a [String], name: &str) -> Vec<&'a str> {
    head.iter()
        .filter_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
        .map(str::trim)
        .collect()
}

#[tokio::test]
async fn rest_answers_carry_salesforce_cased_header_names() -> TestResult {
    let sim = start(SimulatorConfig::default()).await?;
    let client = reqwest::Client::new();
    let token = access_token(&client, &sim).await?;

    let (head, body) = raw_get(
        &sim,
        &token,
        &query_path("SELECT Id, Name FROM Account LIMIT 3"),
    )
    .await?;
    assert!(head[0].starts_with("HTTP/1.1 200"), "{head:?}");
    assert_eq!(
        exactly(&head, "Content-Type"),
        ["application/json;charset=UTF-8"],
        "{head:?}"
    );
    let limit = exactly(&head, "Sforce-Limit-Info");
    assert_eq!(limit.len(), 1, "{head:?}");
    assert!(limit[0].starts_with("api-usage="), "{limit:?}");
    // No header is written in hyper's default lower case.
    assert!(
        head[1..]
            .iter()
            .all(|line| line.chars().next().is_some_and(|c| c.is_ascii_uppercase())),
        "{head:?}"
    );
    assert!(body.contains("\"records\""), "{body}");
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn bulk_result_pages_carry_sforce_locator_and_number_of_records_as_salesforce_spells_them()
-> TestResult {
    let sim = start(SimulatorConfig::default()).await?;
    let client = reqwest::Client::new();
    let token = access_token(&client, &sim).await?;
    let jobs = "/services/data/v59.0/jobs/query";
    let (status, job) = call_json(
        &client,
        &sim,
        Method::POST,
        &token,
        jobs,
        Some(json!({"operation": "query", "query": "SELECT Id FROM Contact"})),
    )
    .await?;
    assert_eq!(status, 200, "{job}");
    let id = job["id"].as_str().ok_or("job id")?.to_string();
    // Generous bound: a loaded machine must not fail the test, only slow it.
    let mut state = String::new();
    for _ in 0..6000 {
        let (_, info) = call_json(
            &client,
            &sim,
            Method::GET,
            &token,
            &format!("{jobs}/{id}"),
            None,
        )
        .await?;
        state = info["state"].as_str().unwrap_or_default().to_string();
        if state == "JobComplete" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(state, "JobComplete");

    // Two pages of two rows: the first names a locator, which a case-sensitive reader
    // must find to ask for the second.
    let (head, body) = raw_get(&sim, &token, &format!("{jobs}/{id}/results?maxRecords=2")).await?;
    assert!(head[0].starts_with("HTTP/1.1 200"), "{head:?}");
    let locator = exactly(&head, "Sforce-Locator");
    assert_eq!(locator.len(), 1, "{head:?}");
    assert_ne!(locator[0], "null", "{head:?}");
    assert_eq!(exactly(&head, "Sforce-NumberOfRecords"), ["2"], "{head:?}");
    assert_eq!(exactly(&head, "Content-Type"), ["text/csv"], "{head:?}");
    assert_eq!(exactly(&head, "Sforce-Limit-Info").len(), 1, "{head:?}");
    // The body is untouched: the header and two rows, as the locator's page promises.
    assert_eq!(body.lines().count(), 3, "{body}");

    let (next, _) = raw_get(
        &sim,
        &token,
        &format!("{jobs}/{id}/results?maxRecords=2&locator={}", locator[0]),
    )
    .await?;
    assert!(next[0].starts_with("HTTP/1.1 200"), "{next:?}");
    assert_eq!(exactly(&next, "Sforce-NumberOfRecords"), ["2"], "{next:?}");
    sim.shutdown().await;
    Ok(())
}
