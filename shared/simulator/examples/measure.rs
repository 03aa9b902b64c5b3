//! Measures the simulator at a given size: start-up, then every Contact paged through
//! the REST API, a delta-style WHERE query, and one large blob.
//!
//! ```text
//! cargo build --release -p ferry-simulator --example measure
//! /usr/bin/time -v target/release/examples/measure 1000000
//! ```

use ferry_simulator::SimulatorConfig;
use serde_json::Value;
use std::time::Instant;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

async fn get(client: &reqwest::Client, url: &str, token: &str) -> Result<Value> {
    Ok(client
        .get(url)
        .bearer_auth(token)
        .header("Sforce-Query-Options", "batchSize=2000")
        .send()
        .await?
        .json()
        .await?)
}

/// Pages through a query, returning (rows, pages).
async fn page_all(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    soql: &str,
) -> Result<(u64, u64)> {
    let mut url = format!(
        "{base}/services/data/v59.0/query?q={}",
        soql.replace(' ', "+")
            .replace('>', "%3E")
            .replace('=', "%3D")
    );
    let (mut rows, mut pages) = (0, 0);
    loop {
        let page = get(client, &url, token).await?;
        pages += 1;
        rows += page["records"].as_array().map_or(0, Vec::len) as u64;
        match page["nextRecordsUrl"].as_str() {
            Some(next) => url = format!("{base}{next}"),
            None => return Ok((rows, pages)),
        }
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let records: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let started = Instant::now();
    let sim = ferry_simulator::serve(
        SimulatorConfig {
            records,
            ..SimulatorConfig::default()
        },
        "127.0.0.1:0".parse()?,
    )
    .await?;
    println!("records {records}: started in {:?}", started.elapsed());
    let client = reqwest::Client::new();
    let creds = sim.credentials().clone();
    let token: Value = client
        .post(format!("{}/services/oauth2/token", sim.login_url()))
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", creds.client_id.as_str()),
            ("client_secret", creds.client_secret.as_str()),
            ("refresh_token", creds.refresh_token.as_str()),
        ])
        .send()
        .await?
        .json()
        .await?;
    let token = token["access_token"]
        .as_str()
        .ok_or("no token")?
        .to_string();
    let base = sim.base_url().to_string();

    let t = Instant::now();
    let (rows, pages) = page_all(
        &client,
        &base,
        &token,
        "SELECT Id, Name, Email, AccountId, MailingAddress, SystemModstamp FROM Contact",
    )
    .await?;
    println!(
        "all {rows} contacts ({} expected) in {pages} pages: {:?}",
        sim.record_counts()["Contact"],
        t.elapsed()
    );
    let t = Instant::now();
    let (rows, pages) = page_all(
        &client,
        &base,
        &token,
        "SELECT Id, Name FROM Contact WHERE SystemModstamp >= 2024-06-01T00:00:00Z",
    )
    .await?;
    println!(
        "delta WHERE: {rows} contacts in {pages} pages: {:?}",
        t.elapsed()
    );
    let t = Instant::now();
    let (rows, pages) = page_all(
        &client,
        &base,
        &token,
        "SELECT Id, Account.Name FROM Contact WHERE Account.Industry = 'Banking'",
    )
    .await?;
    println!(
        "parent WHERE: {rows} contacts in {pages} pages: {:?}",
        t.elapsed()
    );
    let t = Instant::now();
    let (rows, pages) = page_all(
        &client,
        &base,
        &token,
        "SELECT Id FROM Task ORDER BY SystemModstamp DESC LIMIT 5000",
    )
    .await?;
    println!(
        "sorted tasks: {rows} rows in {pages} pages: {:?}",
        t.elapsed()
    );

    let biggest = get(
        &client,
        &format!("{base}/services/data/v59.0/query?q=SELECT+Id,Body,BodyLength+FROM+Attachment+ORDER+BY+BodyLength+DESC+LIMIT+1"),
        &token,
    )
    .await?;
    if let Some(url) = biggest["records"][0]["Body"].as_str() {
        let t = Instant::now();
        let bytes = client
            .get(format!("{base}{url}"))
            .bearer_auth(&token)
            .send()
            .await?
            .bytes()
            .await?;
        println!(
            "largest attachment: {} bytes (BodyLength {}) in {:?}",
            bytes.len(),
            biggest["records"][0]["BodyLength"],
            t.elapsed()
        );
    }
    sim.shutdown().await;
    Ok(())
}
