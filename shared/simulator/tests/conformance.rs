//! Structural conformance with recorded Salesforce payloads.
//!
//! Each simulator response is compared with a recording of the same endpoint by shape:
//! same keys in every object, same JSON type for every value (null on either side
//! matches anything), arrays element-wise against the recording's elements. Where the
//! recording is a real error message, the body must be identical.

mod common;

use common::{TestResult, access_token, get, query_path, start};
use ferry_simulator::SimulatorConfig;
use serde_json::Value;
use std::path::PathBuf;

/// The recorded fixtures: `FERRY_FIXTURES`, or the shared folder beside the repo. A
/// missing folder fails the test rather than skipping it.
fn fixtures_dir() -> PathBuf {
    std::env::var_os("FERRY_FIXTURES").map_or_else(
        || {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../../shared/fixtures/salesforce"
            ))
        },
        PathBuf::from,
    )
}

fn fixture(name: &str) -> Result<Value, Box<dyn std::error::Error>> {
    let path = fixtures_dir().join(name);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("fixture {} unreadable: {e}", path.display()))?;
    Ok(serde_json::from_str(&text)?)
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Panics with the path of the first place where `actual` is not shaped like `fixture`.
fn assert_same_shape(fixture: &Value, actual: &Value, path: &str) {
    match (fixture, actual) {
        (Value::Null, _) | (_, Value::Null) => {}
        (Value::Object(expected), Value::Object(got)) => {
            let missing: Vec<&String> = expected.keys().filter(|k| !got.contains_key(*k)).collect();
            let extra: Vec<&String> = got.keys().filter(|k| !expected.contains_key(*k)).collect();
            assert!(
                missing.is_empty() && extra.is_empty(),
                "{path}: missing keys {missing:?}, unexpected keys {extra:?}"
            );
            for (key, value) in expected {
                assert_same_shape(value, &got[key], &format!("{path}.{key}"));
            }
        }
        (Value::Array(expected), Value::Array(got)) => {
            if let Some(last) = expected.len().checked_sub(1) {
                for (i, element) in got.iter().enumerate() {
                    assert_same_shape(&expected[i.min(last)], element, &format!("{path}[{i}]"));
                }
            }
        }
        _ => assert_eq!(kind(fixture), kind(actual), "{path}: JSON type differs"),
    }
}

/// A query page with each record reduced to its `attributes`, since the selected
/// fields differ between the recording and the simulator's query.
fn envelope(page: &Value) -> Value {
    let mut page = page.clone();
    if let Some(records) = page.get_mut("records").and_then(Value::as_array_mut) {
        for record in records {
            if let Some(object) = record.as_object_mut() {
                object.retain(|key, _| key == "attributes");
            }
        }
    }
    page
}

#[test]
fn shape_comparison_reports_differences() {
    let fixture = serde_json::json!({"a": [{"b": 1, "c": null}], "d": "x"});
    assert_same_shape(
        &fixture,
        &serde_json::json!({"a": [{"b": 2, "c": "y"}, {"b": 3, "c": null}], "d": null}),
        "$",
    );
    let extra = std::panic::catch_unwind(|| {
        assert_same_shape(
            &fixture,
            &serde_json::json!({"a": [], "d": "x", "e": 1}),
            "$",
        )
    });
    assert!(extra.is_err());
    let wrong_type = std::panic::catch_unwind(|| {
        assert_same_shape(
            &fixture,
            &serde_json::json!({"a": [{"b": "1", "c": 1}], "d": "x"}),
            "$",
        )
    });
    assert!(wrong_type.is_err());
}

#[tokio::test]
async fn responses_match_recorded_salesforce_shapes() -> TestResult {
    assert!(
        fixtures_dir().is_dir(),
        "fixtures folder {} is missing",
        fixtures_dir().display()
    );
    let sim = start(SimulatorConfig::default()).await?;
    let client = reqwest::Client::new();
    let creds = sim.credentials().clone();

    // OAuth: the real 2015 recording has no `scope`, which Salesforce sends today.
    let response = client
        .post(format!("{}/services/oauth2/token", sim.login_url()))
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", &creds.client_id),
            ("refresh_token", &creds.refresh_token),
        ])
        .send()
        .await?;
    let mut token_body: Value = response.json().await?;
    let token = token_body["access_token"]
        .as_str()
        .ok_or("token")?
        .to_string();
    if let Some(object) = token_body.as_object_mut() {
        assert_eq!(object.remove("scope"), Some("api refresh_token".into()));
    }
    assert_same_shape(
        &fixture(
            "oauth/rdb_Restforce_DB__accessing_Salesforce__uses_the_configured_cred__00_post_oauth2_token.json",
        )?,
        &token_body,
        "token",
    );
    let response = client
        .post(format!("{}/services/oauth2/token", sim.login_url()))
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", &creds.client_id),
            ("refresh_token", "stale"),
        ])
        .send()
        .await?;
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.json::<Value>().await?,
        fixture("oauth/restforce_refresh_error_response.json")?
    );
    assert_eq!(access_token(&client, &sim).await?.len(), token.len());

    let (_, _, versions) = get(&client, &sim, &token, "/services/data", None).await?;
    assert_same_shape(
        &fixture("versions/datahub_versions_response.json")?,
        &versions,
        "versions",
    );

    // describeGlobal: the envelope, then each object against the recorded entry of the
    // same name (their `urls` key sets differ by kind of object).
    let (_, _, global) = get(&client, &sim, &token, "/services/data/v59.0/sobjects", None).await?;
    let recorded = fixture("describe_global/cci_2020_global_describe.json")?;
    let mut recorded_envelope = recorded.clone();
    let mut global_envelope = global.clone();
    recorded_envelope["sobjects"] = Value::Array(Vec::new());
    global_envelope["sobjects"] = Value::Array(Vec::new());
    assert_same_shape(&recorded_envelope, &global_envelope, "sobjects");
    let recorded_objects = recorded["sobjects"].as_array().ok_or("recorded sobjects")?;
    for entry in global["sobjects"].as_array().ok_or("sobjects")? {
        let name = entry["name"].as_str().ok_or("name")?;
        // Objects the recording lacks are compared with a recorded object of their kind.
        let stand_in = match name {
            "ContentNote" => "ContentDocument",
            custom if custom.ends_with("__c") => "Account",
            recorded => recorded,
        };
        let real = recorded_objects
            .iter()
            .find(|o| o["name"] == stand_in)
            .ok_or(format!("{name} not recorded"))?;
        assert_same_shape(real, entry, &format!("sobjects[{name}]"));
        if stand_in != name {
            continue;
        }
        for flag in [
            "queryable",
            "keyPrefix",
            "createable",
            "deletable",
            "retrieveable",
            "triggerable",
        ] {
            assert_eq!(real[flag], entry[flag], "{name}.{flag}");
        }
    }

    for object in ["Account", "Contact"] {
        let path = format!("/services/data/v59.0/sobjects/{object}/describe");
        let (status, _, describe) = get(&client, &sim, &token, &path, None).await?;
        assert_eq!(status, 200);
        let real = fixture(&format!("describe/cci_2020_{object}.json"))?;
        assert_same_shape(&real, &describe, object);
        let real_fields = real["fields"].as_array().ok_or("fields")?;
        for field in describe["fields"].as_array().ok_or("fields")? {
            let name = field["name"].as_str().ok_or("field name")?;
            if let Some(real_field) = real_fields.iter().find(|f| f["name"] == name) {
                assert_same_shape(real_field, field, &format!("{object}.{name}"));
                for key in [
                    "type",
                    "soapType",
                    "nillable",
                    "referenceTo",
                    "relationshipName",
                ] {
                    assert_eq!(real_field[key], field[key], "{object}.{name}.{key}");
                }
            }
        }
    }
    let (status, _, missing) = get(
        &client,
        &sim,
        &token,
        "/services/data/v59.0/sobjects/Xyzzy/describe",
        None,
    )
    .await?;
    assert_eq!(status, 404);
    assert_eq!(
        missing,
        fixture("errors/restforce_sobject_describe_error_response.json")?
    );

    let (_, _, first) = get(
        &client,
        &sim,
        &token,
        &query_path("SELECT Id, Name FROM Contact"),
        Some(200),
    )
    .await?;
    assert!(
        first["nextRecordsUrl"]
            .as_str()
            .is_some_and(|u| u.starts_with("/services/data/v59.0/query/01g"))
    );
    assert_same_shape(
        &envelope(&fixture("query/plugindata_queryMore.json")?),
        &envelope(&first),
        "first page",
    );
    let (_, _, last) = get(
        &client,
        &sim,
        &token,
        &query_path("SELECT Name FROM Account LIMIT 3"),
        None,
    )
    .await?;
    assert_same_shape(
        &envelope(&fixture(
            "query/cci_TestUpsert.test_upsert__rest__12_GET_query_Account.json",
        )?),
        &envelope(&last),
        "last page",
    );
    let (_, _, count) = get(
        &client,
        &sim,
        &token,
        &query_path("SELECT COUNT() FROM Account"),
        None,
    )
    .await?;
    assert_same_shape(
        &fixture("query/restforce_query_empty_response.json")?,
        &count,
        "count",
    );
    let (_, _, aggregate) = get(
        &client,
        &sim,
        &token,
        &query_path("select count(Id) from Account"),
        None,
    )
    .await?;
    assert_same_shape(
        &fixture("query/cci_TestDatasetsE2E.test_datasets_e2e__00_GET_query_count_Account.json")?,
        &aggregate,
        "count(Id)",
    );

    // Errors whose recorded text the simulator reproduces exactly.
    for (soql, file) in [
        (
            "SELECT AccountNumer FROM Account",
            "errors/amp_unknown-field.json",
        ),
        (
            "SELECT Xyzzy FROM Xyzzy",
            "errors/snowfakery_TestSOQLDatasets.test_dataset_bad_query__01_GET_query_Xyzzy.json",
        ),
        (
            "SELECT Id, FirstName, LastName FROM XYZZY",
            "errors/snowfakery_TestSOQLDatasets.test_soql_dataset_error__03_GET_query_XYZZY.json",
        ),
        (
            "SELECT Id,Name,BillingCity,IsDeleted FROM Accout",
            "errors/amp_unknown-object.json",
        ),
    ] {
        let (status, _, body) = get(&client, &sim, &token, &query_path(soql), None).await?;
        assert_eq!(status, 400, "{soql}");
        assert_eq!(body, fixture(file)?, "{soql}");
    }
    let (_, _, malformed) = get(
        &client,
        &sim,
        &token,
        &query_path("SELECT Id FROM Account WHERE"),
        None,
    )
    .await?;
    assert_eq!(malformed[0]["errorCode"], "MALFORMED_QUERY");
    assert_same_shape(
        &fixture("errors/restforce_query_error_response.json")?,
        &malformed,
        "malformed",
    );
    let (status, _, expired) = get(
        &client,
        &sim,
        "00Dexpired!token",
        "/services/data/v59.0/query?q=SELECT+Id+FROM+Account",
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
