//! Conformance of the protocol endpoints (OAuth, Bulk API 2.0, errors) with recorded
//! Salesforce payloads, by shape: same keys, same JSON types; real error bodies
//! identical. Where a recording is trimmed or comes from a neighbouring endpoint, the
//! keys the simulator may add or leave out are named, with the reason.

mod common;
#[path = "common/shape.rs"]
mod shape;

use base64::Engine as _;
use common::{TestResult, access_token, start};
use ferry_simulator::SimulatorConfig;
use reqwest::Method;
use serde_json::json;
use sha2::{Digest, Sha256};
use shape::{
    assert_shape, call, call_json, fixture, no_redirect_client, set_faults, token_request,
};
use std::time::Duration;

/// Keys today's token responses carry that the 2010s recordings predate.
const TOKEN_EXTRAS: &[&str] = &["scope", "token_type", "refresh_token"];

#[tokio::test]
async fn oauth_answers_match_recordings() -> TestResult {
    let sim = start(SimulatorConfig::default()).await?;
    let client = no_redirect_client()?;
    let creds = sim.credentials().clone();
    let login = sim.login_url().to_string();

    // Authorization code + PKCE.
    let verifier = "conformance-verifier-0123456789-abcdefghijklmnop";
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(verifier.as_bytes()));
    let redirect = "http://localhost:8080/callback";
    let response = client
        .get(format!("{login}/services/oauth2/authorize"))
        .query(&[
            ("response_type", "code"),
            ("client_id", &creds.client_id),
            ("redirect_uri", redirect),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ])
        .send()
        .await?;
    assert_eq!(response.status(), 302);
    let location = response.headers()["location"].to_str()?.to_string();
    let code = url::Url::parse(&location)?
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .ok_or("code")?;
    let (status, body) = token_request(
        &client,
        &login,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &creds.client_id),
            ("client_secret", &creds.client_secret),
            ("code", &code),
            ("redirect_uri", redirect),
            ("code_verifier", verifier),
        ],
    )
    .await?;
    assert_eq!(status, 200);
    for recorded in [
        "oauth/restforce_auth_success_response.json",
        "oauth/rdb_Restforce_DB__accessing_Salesforce__uses_the_configured_cred__00_post_oauth2_token.json",
    ] {
        assert_shape(&fixture(recorded)?, &body, recorded, TOKEN_EXTRAS, &[]);
    }
    let access = body["access_token"].as_str().ok_or("token")?.to_string();

    // Refresh grant, and its refusal, byte for byte.
    let (status, refreshed) = shape::refresh(&client, &sim, &login, &creds.refresh_token).await?;
    assert_eq!(status, 200);
    assert_shape(
        &fixture("oauth/restforce_refresh_success_response.json")?,
        &refreshed,
        "refresh",
        TOKEN_EXTRAS,
        &[],
    );
    let (status, refused) = shape::refresh(&client, &sim, &login, "stale").await?;
    assert_eq!(status, 400);
    assert_eq!(
        refused,
        fixture("oauth/restforce_refresh_error_response.json")?
    );
    assert_shape(
        &fixture("oauth/restforce_auth_error_response.json")?,
        &refused,
        "auth error",
        &[],
        &[],
    );

    // userinfo: the recording is trimmed to a few keys, all of which must be there with
    // the same types; the OpenID Connect claims Salesforce also sends are allowed.
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
    let openid = [
        "sub",
        "organization_id",
        "preferred_username",
        "nickname",
        "name",
        "email",
        "given_name",
        "family_name",
        "photos",
        "profile",
        "picture",
        "is_app_installed",
        // The recording's `urls` was emptied; these are the identity URL's.
        "enterprise",
        "metadata",
        "partner",
        "rest",
        "sobjects",
        "search",
        "query",
        "recent",
        "feeds",
        "groups",
        "users",
        "feed_items",
    ];
    assert_shape(
        &fixture("oauth/amp_metadata_write_user-info.json")?,
        &info,
        "userinfo",
        &openid,
        &[],
    );

    // The identity URL answers exactly the recorded keys.
    let id = body["id"].as_str().ok_or("id")?;
    let path = id.trim_start_matches(sim.base_url());
    let (status, identity) = call_json(&client, &sim, Method::GET, &access, path, None).await?;
    assert_eq!(status, 200);
    assert_shape(
        &fixture("oauth/rdb_identity_url_response.json")?,
        &identity,
        "identity",
        &[],
        &[],
    );

    // An expired session, byte for byte.
    set_faults(&client, &sim, json!({"token_ttl_secs": 0})).await?;
    let (status, expired) = call_json(
        &client,
        &sim,
        Method::GET,
        &access,
        "/services/data/v59.0/limits",
        None,
    )
    .await?;
    assert_eq!(status, 401);
    assert_eq!(
        expired,
        fixture("errors/restforce_expired_session_response.json")?
    );
    sim.shutdown().await;
    Ok(())
}

/// Keys of the recorded job infos that only ingest jobs have.
const INGEST_ONLY: &[&str] = &[
    "externalIdFieldName",
    "numberRecordsFailed",
    "apiActiveProcessingTime",
    "apexProcessingTime",
];

#[tokio::test]
async fn bulk_answers_match_recordings() -> TestResult {
    let sim = start(SimulatorConfig::default()).await?;
    let client = reqwest::Client::new();
    let token = access_token(&client, &sim).await?;
    let jobs = "/services/data/v59.0/jobs/query";
    let create = |soql: &'static str| {
        let client = client.clone();
        let token = token.clone();
        let sim = &sim;
        async move {
            call_json(
                &client,
                sim,
                Method::POST,
                &token,
                jobs,
                Some(json!({"operation": "query", "query": soql})),
            )
            .await
        }
    };
    let (status, job) = create("SELECT Id, Name FROM Account").await?;
    assert_eq!(status, 200);
    assert_shape(
        &fixture("bulk2/amp_bulk_read-launch-job-account.json")?,
        &job,
        "create",
        &[],
        &[],
    );
    assert_eq!(job["apiVersion"], json!(59.0));
    let id = job["id"].as_str().ok_or("id")?.to_string();
    let (_, info) = call_json(
        &client,
        &sim,
        Method::GET,
        &token,
        &format!("{jobs}/{id}"),
        None,
    )
    .await?;
    assert_eq!(info["state"], "JobComplete");
    // A query job's info: the recorded (ingest) job info less its ingest-only keys, plus
    // `isPkChunkingSupported`, which query jobs carry.
    assert_shape(
        &fixture("bulk2/amp_bulk_info_success.json")?,
        &info,
        "info",
        &["isPkChunkingSupported"],
        INGEST_ONLY,
    );

    let (status, headers, _) = call(
        &client,
        &sim,
        Method::GET,
        &token,
        &format!("{jobs}/{id}/results"),
        None,
    )
    .await?;
    assert_eq!(status, 200);
    for name in [
        "Sforce-Locator",
        "Sforce-NumberOfRecords",
        "Sforce-Limit-Info",
        "Content-Type",
    ] {
        assert!(headers.contains_key(name), "{name}");
    }

    // In progress and failed infos.
    set_faults(&client, &sim, json!({"bulk_rows_per_second": 1})).await?;
    let (_, slow) = create("SELECT Id FROM Contact").await?;
    let slow_id = slow["id"].as_str().ok_or("id")?.to_string();
    let mut seen_in_progress = false;
    for _ in 0..3000 {
        let (_, info) = call_json(
            &client,
            &sim,
            Method::GET,
            &token,
            &format!("{jobs}/{slow_id}"),
            None,
        )
        .await?;
        if info["state"] == "InProgress" {
            assert_shape(
                &fixture("bulk2/amp_bulk_info_in-progress.json")?,
                &info,
                "in progress",
                &["isPkChunkingSupported"],
                INGEST_ONLY,
            );
            seen_in_progress = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(seen_in_progress);
    set_faults(
        &client,
        &sim,
        json!({"bulk_rows_per_second": 0, "bulk_fail_every": 1}),
    )
    .await?;
    let (_, failed) = create("SELECT Id FROM Contact").await?;
    let failed_id = failed["id"].as_str().ok_or("id")?.to_string();
    let (_, info) = call_json(
        &client,
        &sim,
        Method::GET,
        &token,
        &format!("{jobs}/{failed_id}"),
        None,
    )
    .await?;
    assert_eq!(info["state"], "Failed");
    assert_shape(
        &fixture("bulk2/amp_bulk_info_complete-failure.json")?,
        &info,
        "failed",
        &["isPkChunkingSupported"],
        INGEST_ONLY,
    );

    // Errors come in Salesforce's REST error array.
    let (status, body) = call_json(
        &client,
        &sim,
        Method::GET,
        &token,
        &format!(
            "{jobs}/{}",
            ferry_simulator::ids::salesforce_id("750", 999_999)
        ),
        None,
    )
    .await?;
    assert_eq!(status, 404);
    assert_shape(
        &fixture("errors/restforce_expired_session_response.json")?,
        &body,
        "not found",
        &[],
        &[],
    );
    sim.shutdown().await;
    Ok(())
}
