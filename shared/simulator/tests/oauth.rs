//! OAuth against the simulator: the web-server flow with PKCE end to end, codes,
//! refresh-token rotation and revocation, userinfo, token expiry, the sandbox host.

mod common;
#[path = "common/shape.rs"]
mod shape;

use base64::Engine as _;
use common::{TestResult, start};
use ferry_simulator::{Faults, SimulatorConfig};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use shape::{BoxError, call_json, no_redirect_client, refresh, set_faults, token_request};
use std::collections::HashMap;

const REDIRECT: &str = "https://app.example.com/oauth/callback";
const VERIFIER: &str = "a-verifier-of-at-least-forty-three-characters-0123456789";

fn challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// GETs the authorize endpoint; returns the status and the redirect's query parameters.
async fn authorize(
    client: &reqwest::Client,
    login_url: &str,
    params: &[(&str, &str)],
) -> Result<(u16, HashMap<String, String>, String), BoxError> {
    let response = client
        .get(format!("{login_url}/services/oauth2/authorize"))
        .query(params)
        .send()
        .await?;
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let query = url::Url::parse(&location)
        .map(|u| u.query_pairs().into_owned().collect())
        .unwrap_or_default();
    Ok((status, query, location))
}

async fn code_for(
    client: &reqwest::Client,
    sim: &ferry_simulator::RunningSimulator,
    login_url: &str,
    verifier: &str,
) -> Result<String, BoxError> {
    let challenge = challenge(verifier);
    let (status, query, location) = authorize(
        client,
        login_url,
        &[
            ("response_type", "code"),
            ("client_id", &sim.credentials().client_id),
            ("redirect_uri", REDIRECT),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("state", "st4te"),
        ],
    )
    .await?;
    assert_eq!(status, 302);
    assert!(location.starts_with(REDIRECT), "{location}");
    assert_eq!(query.get("state").map(String::as_str), Some("st4te"));
    Ok(query.get("code").ok_or("no code")?.clone())
}

async fn exchange(
    client: &reqwest::Client,
    sim: &ferry_simulator::RunningSimulator,
    login_url: &str,
    code: &str,
    verifier: &str,
) -> Result<(u16, Value), BoxError> {
    let creds = sim.credentials();
    token_request(
        client,
        login_url,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &creds.client_id),
            ("client_secret", &creds.client_secret),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
        ],
    )
    .await
}

#[tokio::test]
async fn pkce_web_server_flow_end_to_end() -> TestResult {
    let sim = start(SimulatorConfig::default()).await?;
    let client = no_redirect_client()?;
    let login = sim.login_url().to_string();

    // A wrong verifier fails the S256 check, and the code is spent all the same.
    let code = code_for(&client, &sim, &login, VERIFIER).await?;
    let (status, body) = exchange(
        &client,
        &sim,
        &login,
        &code,
        "another-verifier-that-does-not-match-000000",
    )
    .await?;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"error": "invalid_grant", "error_description": "invalid code verifier"})
    );
    let (status, body) = exchange(&client, &sim, &login, &code, VERIFIER).await?;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    let code = code_for(&client, &sim, &login, VERIFIER).await?;
    let (status, body) = exchange(&client, &sim, &login, &code, VERIFIER).await?;
    assert_eq!(status, 200, "{body}");
    let access = body["access_token"]
        .as_str()
        .ok_or("access_token")?
        .to_string();
    let refresh_token = body["refresh_token"]
        .as_str()
        .ok_or("refresh_token")?
        .to_string();
    assert_eq!(body["instance_url"], sim.base_url());
    assert_eq!(body["token_type"], "Bearer");
    assert!(
        body["id"]
            .as_str()
            .is_some_and(|id| id.starts_with(&format!("{login}/id/00D")))
    );
    assert!(
        body["issued_at"]
            .as_str()
            .is_some_and(|t| t.parse::<u64>().is_ok())
    );
    assert!(body["signature"].as_str().is_some_and(|s| s.ends_with('=')));
    // Single use: the same code again is refused.
    let (status, _) = exchange(&client, &sim, &login, &code, VERIFIER).await?;
    assert_eq!(status, 400);

    let (status, limits) = call_json(
        &client,
        &sim,
        Method::GET,
        &access,
        "/services/data/v59.0/limits",
        None,
    )
    .await?;
    assert_eq!(status, 200, "{limits}");

    let (status, info) = call_json(
        &client,
        &sim,
        Method::GET,
        &access,
        "/services/oauth2/userinfo",
        None,
    )
    .await?;
    assert_eq!(status, 200);
    assert_eq!(info["preferred_username"], sim.credentials().username);
    assert!(
        info["user_id"]
            .as_str()
            .is_some_and(|u| u.starts_with("005"))
    );
    let id_path = body["id"]
        .as_str()
        .ok_or("id")?
        .trim_start_matches(sim.base_url())
        .to_string();
    let (status, identity) = call_json(&client, &sim, Method::GET, &access, &id_path, None).await?;
    assert_eq!(status, 200);
    assert_eq!(identity["username"], sim.credentials().username);
    let (status, _, _) = shape::call(
        &client,
        &sim,
        Method::GET,
        "bogus",
        "/services/oauth2/userinfo",
        None,
    )
    .await?;
    assert_eq!(status, 403);

    // The refresh token from the code works, without rotation keeping itself.
    let (status, refreshed) = refresh(&client, &sim, &login, &refresh_token).await?;
    assert_eq!(status, 200, "{refreshed}");
    assert!(refreshed.get("refresh_token").is_none());
    assert_ne!(refreshed["access_token"], body["access_token"]);
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn authorize_validates_its_request() -> TestResult {
    let sim = start(SimulatorConfig {
        redirect_uris: vec![REDIRECT.to_string()],
        ..SimulatorConfig::default()
    })
    .await?;
    let client = no_redirect_client()?;
    let login = sim.login_url().to_string();
    let client_id = sim.credentials().client_id.clone();
    let good = challenge(VERIFIER);
    let base = |overrides: &[(&'static str, &'static str)]| {
        let mut params: Vec<(&str, String)> = vec![
            ("response_type", "code".into()),
            ("client_id", client_id.clone()),
            ("redirect_uri", REDIRECT.into()),
            ("code_challenge", good.clone()),
            ("code_challenge_method", "S256".into()),
        ];
        for (k, v) in overrides {
            params.retain(|(key, _)| key != k);
            if !v.is_empty() {
                params.push((k, (*v).to_string()));
            }
        }
        params
    };
    let as_refs = |p: &Vec<(&'static str, String)>| -> Vec<(&'static str, String)> { p.clone() };
    for (overrides, status, error) in [
        (vec![("client_id", "nope")], 400, "invalid_client_id"),
        (
            vec![("redirect_uri", "https://evil.example.com/cb")],
            400,
            "redirect_uri_mismatch",
        ),
        (
            vec![("response_type", "token")],
            302,
            "unsupported_response_type",
        ),
        (vec![("code_challenge", "")], 302, "invalid_request"),
        (
            vec![("code_challenge_method", "plain")],
            302,
            "invalid_request",
        ),
    ] {
        let params = as_refs(&base(&overrides));
        let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let response = client
            .get(format!("{login}/services/oauth2/authorize"))
            .query(&pairs)
            .send()
            .await?;
        assert_eq!(response.status().as_u16(), status, "{overrides:?}");
        if status == 302 {
            let location = response
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            let query: HashMap<String, String> = url::Url::parse(location)?
                .query_pairs()
                .into_owned()
                .collect();
            assert_eq!(
                query.get("error").map(String::as_str),
                Some(error),
                "{overrides:?}"
            );
        } else {
            let body: Value = response.json().await?;
            assert_eq!(body["error"], error, "{overrides:?}");
        }
    }
    sim.shutdown().await;

    // Codes expire: with a zero lifetime every code is stale at once.
    let sim = start(SimulatorConfig {
        auth_code_ttl: std::time::Duration::ZERO,
        ..SimulatorConfig::default()
    })
    .await?;
    let code = code_for(&client, &sim, sim.login_url(), VERIFIER).await?;
    let (status, body) = exchange(&client, &sim, sim.login_url(), &code, VERIFIER).await?;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn sandbox_login_host() -> TestResult {
    let sim = start(SimulatorConfig::default()).await?;
    let client = no_redirect_client()?;
    let sandbox = sim.sandbox_login_url();
    assert_eq!(sandbox, format!("{}/test", sim.login_url()));
    assert_eq!(sim.startup_info().sandbox_login_url, sandbox);
    let code = code_for(&client, &sim, &sandbox, VERIFIER).await?;
    let (status, body) = exchange(&client, &sim, &sandbox, &code, VERIFIER).await?;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["id"]
            .as_str()
            .is_some_and(|id| id.contains("/test/id/00D"))
    );
    let refresh_token = body["refresh_token"].as_str().ok_or("refresh_token")?;
    // A sandbox refresh token is good at the sandbox host only.
    assert_eq!(
        refresh(&client, &sim, &sandbox, refresh_token).await?.0,
        200
    );
    let (status, body) = refresh(&client, &sim, sim.login_url(), refresh_token).await?;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    // The seed's refresh token works at both.
    let seed = sim.credentials().refresh_token.clone();
    assert_eq!(refresh(&client, &sim, &sandbox, &seed).await?.0, 200);
    assert_eq!(refresh(&client, &sim, sim.login_url(), &seed).await?.0, 200);
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn rotation_revocation_and_expiry() -> TestResult {
    let sim = start(SimulatorConfig {
        faults: Faults {
            rotate_refresh_tokens: true,
            ..Faults::default()
        },
        ..SimulatorConfig::default()
    })
    .await?;
    let client = reqwest::Client::new();
    let login = sim.login_url().to_string();
    let seed = sim.credentials().refresh_token.clone();

    // Rotation: each refresh answers a new refresh token; the old one stops working.
    let (status, first) = refresh(&client, &sim, &login, &seed).await?;
    assert_eq!(status, 200);
    let r1 = first["refresh_token"]
        .as_str()
        .ok_or("rotated token")?
        .to_string();
    assert_ne!(r1, seed);
    let (status, body) = refresh(&client, &sim, &login, &seed).await?;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        shape::fixture("oauth/restforce_refresh_error_response.json")?
    );
    let (status, second) = refresh(&client, &sim, &login, &r1).await?;
    assert_eq!(status, 200);
    let r2 = second["refresh_token"]
        .as_str()
        .ok_or("rotated token")?
        .to_string();
    assert_ne!(r2, r1);
    let access = second["access_token"].as_str().ok_or("access")?.to_string();

    // Expiry: with a zero lifetime every session is expired.
    let path = "/services/data/v59.0/sobjects";
    assert_eq!(
        call_json(&client, &sim, Method::GET, &access, path, None)
            .await?
            .0,
        200
    );
    set_faults(&client, &sim, json!({"token_ttl_secs": 0})).await?;
    let (status, body) = call_json(&client, &sim, Method::GET, &access, path, None).await?;
    assert_eq!(status, 401);
    assert_eq!(
        body,
        shape::fixture("errors/restforce_expired_session_response.json")?
    );
    set_faults(&client, &sim, json!({"token_ttl_secs": null})).await?;
    assert_eq!(
        call_json(&client, &sim, Method::GET, &access, path, None)
            .await?
            .0,
        200
    );

    // Revoking an access token ends that session.
    let revoke = |token: String| {
        let client = client.clone();
        let url = format!("{login}/services/oauth2/revoke");
        async move {
            let response = client.post(url).form(&[("token", token)]).send().await?;
            Ok::<u16, BoxError>(response.status().as_u16())
        }
    };
    assert_eq!(revoke(access.clone()).await?, 200);
    assert_eq!(
        call_json(&client, &sim, Method::GET, &access, path, None)
            .await?
            .0,
        401
    );
    // Revoking a refresh token ends it and the sessions it opened.
    let (_, third) = refresh(&client, &sim, &login, &r2).await?;
    let r3 = third["refresh_token"]
        .as_str()
        .ok_or("rotated")?
        .to_string();
    let access3 = third["access_token"].as_str().ok_or("access")?.to_string();
    assert_eq!(revoke(r3.clone()).await?, 200);
    assert_eq!(refresh(&client, &sim, &login, &r3).await?.0, 400);
    assert_eq!(
        call_json(&client, &sim, Method::GET, &access3, path, None)
            .await?
            .0,
        401
    );
    assert_eq!(revoke("unknown".into()).await?, 400);
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn revoked_refresh_token_fault() -> TestResult {
    let sim = start(SimulatorConfig::default()).await?;
    let client = reqwest::Client::new();
    let seed = sim.credentials().refresh_token.clone();
    assert_eq!(refresh(&client, &sim, sim.login_url(), &seed).await?.0, 200);
    set_faults(&client, &sim, json!({"refresh_token_revoked": true})).await?;
    let (status, body) = refresh(&client, &sim, sim.login_url(), &seed).await?;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"error": "invalid_grant", "error_description": "expired access/refresh token"})
    );
    sim.set_faults(Faults::default());
    assert_eq!(refresh(&client, &sim, sim.login_url(), &seed).await?.0, 200);
    assert!(sim.counters()["oauth"] >= 3);
    sim.shutdown().await;
    Ok(())
}
