//! Limits and faults: the control endpoint, API access, the daily budget, 500/503
//! shares, dropped connections, latency, and the per-kind counters.

mod common;
#[path = "common/shape.rs"]
mod shape;

use common::{TestResult, access_token, start};
use ferry_simulator::{Faults, SimulatorConfig};
use reqwest::Method;
use serde_json::json;
use shape::{call, call_json, set_faults};

const LIMITS: &str = "/services/data/v59.0/limits";

#[tokio::test]
async fn control_endpoint_reads_and_patches_every_knob() -> TestResult {
    let sim = start(SimulatorConfig::default()).await?;
    let client = reqwest::Client::new();
    let url = format!("{}/_sim/faults", sim.base_url());
    let knobs: serde_json::Value = client.get(&url).send().await?.json().await?;
    assert_eq!(
        knobs,
        json!({
            "daily_api_limit": 100_000,
            "unavailable_every": null,
            "latency_ms": 0,
            "server_error_every": null,
            "drop_every": null,
            "api_disabled": false,
            "token_ttl_secs": null,
            "rotate_refresh_tokens": false,
            "refresh_token_revoked": false,
            "bulk_rows_per_second": 0,
            "bulk_fail_every": null,
            "bulk_fail_message": "InternalServerError : An unexpected error occurred.",
            "bandwidth_bytes_per_second": 0,
            "cut_body_every": null,
            "describe_refused": {},
        })
    );
    let patched = set_faults(
        &client,
        &sim,
        json!({"latency_ms": 5, "daily_api_limit": 7}),
    )
    .await?;
    assert_eq!(patched["latency_ms"], 5);
    assert_eq!(patched["daily_api_limit"], 7);
    assert_eq!(sim.knobs().daily_api_limit, 7);
    for bad in [
        json!({"latency": 5}),
        json!({"latency_ms": "slow"}),
        json!([1]),
    ] {
        let response = client.post(&url).json(&bad).send().await?;
        assert_eq!(response.status(), 400, "{bad}");
    }
    // Control calls are neither API calls nor counted.
    assert_eq!(sim.api_calls(), 0);
    assert_eq!(sim.counters().values().sum::<u64>(), 0);
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn api_disabled_and_budget_exhaustion() -> TestResult {
    let sim = start(SimulatorConfig {
        faults: Faults {
            api_disabled: true,
            ..Faults::default()
        },
        ..SimulatorConfig::default()
    })
    .await?;
    let client = reqwest::Client::new();
    let token = access_token(&client, &sim).await?;
    let (status, body) = call_json(&client, &sim, Method::GET, &token, LIMITS, None).await?;
    assert_eq!(status, 403);
    assert_eq!(
        body,
        json!([{"message": "The REST API is not enabled for this Organization.", "errorCode": "API_DISABLED_FOR_ORG"}])
    );
    assert_eq!(sim.api_calls(), 0);

    set_faults(
        &client,
        &sim,
        json!({"api_disabled": false, "daily_api_limit": 3}),
    )
    .await?;
    for n in 1..=3 {
        let (status, headers, _) = call(&client, &sim, Method::GET, &token, LIMITS, None).await?;
        assert_eq!(status, 200);
        assert_eq!(
            headers["sforce-limit-info"],
            format!("api-usage={n}/3").as_str()
        );
    }
    let (status, headers, text) = call(&client, &sim, Method::GET, &token, LIMITS, None).await?;
    assert_eq!(status, 403);
    assert_eq!(headers["sforce-limit-info"], "api-usage=3/3");
    let body: serde_json::Value = serde_json::from_str(&text)?;
    assert_eq!(body[0]["errorCode"], "REQUEST_LIMIT_EXCEEDED");
    // Raising the limit mid-run lets calls through again.
    set_faults(&client, &sim, json!({"daily_api_limit": 10})).await?;
    assert_eq!(
        call(&client, &sim, Method::GET, &token, LIMITS, None)
            .await?
            .0,
        200
    );
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn server_errors_unavailable_and_latency() -> TestResult {
    let sim = start(SimulatorConfig::default()).await?;
    let client = reqwest::Client::new();
    let token = access_token(&client, &sim).await?;
    set_faults(
        &client,
        &sim,
        json!({"server_error_every": 3, "unavailable_every": 4, "latency_ms": 20}),
    )
    .await?;
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let (status, body) = call_json(&client, &sim, Method::GET, &token, LIMITS, None).await?;
        match status {
            500 => assert_eq!(body[0]["errorCode"], "UNKNOWN_EXCEPTION"),
            503 => assert_eq!(body[0]["errorCode"], "SERVER_UNAVAILABLE"),
            _ => {}
        }
        statuses.push(status);
    }
    assert_eq!(statuses, [200, 200, 500, 503, 200, 500, 200, 503]);
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn bodies_are_sent_at_the_set_bandwidth() -> TestResult {
    let sim = start(SimulatorConfig::default()).await?;
    let client = reqwest::Client::new();
    let token = access_token(&client, &sim).await?;
    let path = "/services/data/v59.0/sobjects";
    let (status, _, unpaced) = call(&client, &sim, Method::GET, &token, path, None).await?;
    assert_eq!(status, 200);
    let bandwidth = 100_000u64;
    set_faults(
        &client,
        &sim,
        json!({"bandwidth_bytes_per_second": bandwidth}),
    )
    .await?;
    let started = std::time::Instant::now();
    let (status, _, paced) = call(&client, &sim, Method::GET, &token, path, None).await?;
    let elapsed = started.elapsed().as_secs_f64();
    assert_eq!(status, 200);
    assert_eq!(
        paced, unpaced,
        "pacing changes when bytes arrive, not what arrives"
    );
    let expected = unpaced.len() as f64 / bandwidth as f64;
    assert!(
        expected > 0.1,
        "a body of {} bytes is too small to time",
        unpaced.len()
    );
    assert!(
        elapsed >= expected * 0.9 && elapsed < expected + 2.0,
        "{} bytes at {bandwidth} B/s took {elapsed:.3} s, expected about {expected:.3} s",
        unpaced.len()
    );
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn dropped_connections_answer_nothing() -> TestResult {
    let sim = start(SimulatorConfig {
        faults: Faults {
            drop_every: Some(2),
            ..Faults::default()
        },
        ..SimulatorConfig::default()
    })
    .await?;
    let client = reqwest::Client::new();
    let token = access_token(&client, &sim).await?;
    assert_eq!(
        call(&client, &sim, Method::GET, &token, LIMITS, None)
            .await?
            .0,
        200
    );
    let dropped = call(&client, &sim, Method::GET, &token, LIMITS, None).await;
    let error = dropped
        .err()
        .ok_or("the second call should have been dropped")?;
    let error = error
        .downcast::<reqwest::Error>()
        .map_err(|e| format!("not a transport error: {e}"))?;
    assert!(
        error.is_request() || error.is_body() || error.is_connect(),
        "{error:?}"
    );
    // The next call, on a new connection, is answered.
    assert_eq!(
        call(&client, &sim, Method::GET, &token, LIMITS, None)
            .await?
            .0,
        200
    );
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn counters_by_kind() -> TestResult {
    let sim = start(SimulatorConfig::default()).await?;
    let client = reqwest::Client::new();
    let token = access_token(&client, &sim).await?;
    let v = "/services/data/v59.0";
    for path in [
        format!("{v}/sobjects"),
        format!("{v}/sobjects/Account/describe"),
        format!("{v}/limits"),
        format!("{v}/query?q=SELECT+Id+FROM+Contact"),
    ] {
        assert_eq!(
            call(&client, &sim, Method::GET, &token, &path, None)
                .await?
                .0,
            200,
            "{path}"
        );
    }
    let (status, job) = call_json(
        &client,
        &sim,
        Method::POST,
        &token,
        &format!("{v}/jobs/query"),
        Some(json!({"operation": "query", "query": "SELECT Id FROM Account"})),
    )
    .await?;
    assert_eq!(status, 200, "{job}");
    let id = job["id"].as_str().ok_or("job id")?;
    call(
        &client,
        &sim,
        Method::GET,
        &token,
        &format!("{v}/jobs/query/{id}"),
        None,
    )
    .await?;
    call(
        &client,
        &sim,
        Method::GET,
        &token,
        &format!("{v}/jobs/query/{id}/results"),
        None,
    )
    .await?;
    let counters = sim.counters();
    for (kind, n) in [
        ("oauth", 1),
        ("describe", 2),
        ("limits", 1),
        ("query", 1),
        ("bulk_create", 1),
        ("bulk_poll", 1),
        ("bulk_results", 1),
        ("query_more", 0),
    ] {
        assert_eq!(counters[kind], n, "{kind}: {counters:?}");
    }
    let body: serde_json::Value = client
        .get(format!("{}/_sim/counters", sim.base_url()))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(body["calls"]["describe"], 2);
    assert_eq!(body["api_usage"], sim.api_calls());
    assert_eq!(body["api_limit"], 100_000);
    assert_eq!(body["total"], counters.values().sum::<u64>());
    sim.shutdown().await;
    Ok(())
}
