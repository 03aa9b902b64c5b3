//! https with the self-signed certificate made at start.

mod common;

use common::{TestResult, start};
use ferry_simulator::SimulatorConfig;

#[tokio::test]
async fn a_client_trusting_the_certificate_gets_answers_over_https() -> TestResult {
    let dir = tempfile_dir()?;
    let pem_path = dir.join("sim-ca.pem");
    let sim = start(SimulatorConfig {
        tls: true,
        ca_cert_path: Some(pem_path.clone()),
        ..SimulatorConfig::default()
    })
    .await?;
    assert!(sim.base_url().starts_with("https://127.0.0.1:"));
    let info = sim.startup_info();
    assert_eq!(
        info.ca_cert_path.as_deref(),
        Some(pem_path.to_string_lossy().as_ref())
    );
    let pem = std::fs::read(&pem_path)?;
    assert_eq!(Some(pem.as_slice()), sim.ca_cert_pem().map(str::as_bytes));

    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&pem)?])
        .build()?;
    // A client that connects and never says a word holds up nobody.
    let addr = sim.base_url().trim_start_matches("https://").to_string();
    let _silent = tokio::net::TcpStream::connect(&addr).await?;
    let token = common::access_token(&client, &sim).await?;
    for host in ["127.0.0.1", "localhost"] {
        let url = sim.base_url().replace("127.0.0.1", host);
        let response = client
            .get(format!("{url}/services/data/v59.0/limits"))
            .bearer_auth(&token)
            .send()
            .await?;
        assert_eq!(response.status(), 200, "{host}");
        assert!(response.headers().contains_key("sforce-limit-info"));
    }

    // A client that does not trust the certificate is refused at the handshake.
    let untrusting = reqwest::Client::builder()
        .tls_certs_only(Vec::<reqwest::Certificate>::new())
        .build()?;
    assert!(
        untrusting
            .get(format!("{}/services/data", sim.base_url()))
            .send()
            .await
            .is_err()
    );
    // Plain http to the https port gets no answer either.
    let plain = reqwest::Client::new();
    let http = sim.base_url().replace("https://", "http://");
    assert!(
        plain
            .get(format!("{http}/services/data"))
            .send()
            .await
            .is_err()
    );
    sim.shutdown().await;
    std::fs::remove_dir_all(dir)?;
    Ok(())
}

fn tempfile_dir() -> Result<std::path::PathBuf, Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("ferry-sim-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
