//! End-to-end tests of the simulator over HTTP with a real client.

mod common;

use common::{TestResult, access_token, all_pages, get, query_path, start};
use ferry_simulator::SimulatorConfig;
use serde_json::Value;
use std::collections::HashSet;

fn records(pages: &[Value]) -> Vec<Value> {
    pages
        .iter()
        .flat_map(|p| p["records"].as_array().cloned().unwrap_or_default())
        .collect()
}

fn usage(limit: &str) -> Option<(u64, u64)> {
    let (used, max) = limit.strip_prefix("api-usage=")?.split_once('/')?;
    Some((used.parse().ok()?, max.parse().ok()?))
}

#[tokio::test]
async fn token_describe_and_paged_queries() -> TestResult {
    let sim = start(SimulatorConfig::default()).await?;
    let client = reqwest::Client::new();
    let counts = sim.record_counts().clone();
    assert!(counts["Contact"] > 0 && counts["Account"] > 0);

    // Without a session every data endpoint answers 401 in Salesforce's format.
    let (status, _, body) = get(
        &client,
        &sim,
        "bogus",
        "/services/data/v59.0/sobjects",
        None,
    )
    .await?;
    assert_eq!(status, 401);
    assert_eq!(
        body,
        serde_json::json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}])
    );
    assert_eq!(sim.api_calls(), 0);

    let token = access_token(&client, &sim).await?;
    let second = access_token(&client, &sim).await?;
    assert_ne!(token, second, "each refresh issues a fresh token");

    let (status, limit, versions) = get(&client, &sim, "", "/services/data", None).await?;
    assert_eq!(status, 200);
    assert_eq!(usage(&limit), Some((1, 100_000)));
    assert_eq!(
        versions
            .as_array()
            .and_then(|v| v.last())
            .map(|v| v["version"].clone()),
        Some("59.0".into())
    );

    let (status, limit, global) =
        get(&client, &sim, &token, "/services/data/v59.0/sobjects", None).await?;
    assert_eq!(status, 200);
    assert_eq!(usage(&limit), Some((2, 100_000)));
    let sobjects = global["sobjects"].as_array().ok_or("sobjects")?;
    let find = |name: &str| {
        sobjects
            .iter()
            .find(|o| o["name"] == name)
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(find("Account")["keyPrefix"], "001");
    assert_eq!(find("AccountChangeEvent")["queryable"], false);
    assert_eq!(find("AccountHistory")["keyPrefix"], Value::Null);

    let (status, _, describe) = get(
        &client,
        &sim,
        &token,
        "/services/data/v59.0/sobjects/Account/describe",
        None,
    )
    .await?;
    assert_eq!(status, 200);
    let fields = describe["fields"].as_array().ok_or("fields")?;
    let field = |name: &str| {
        fields
            .iter()
            .find(|f| f["name"] == name)
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(field("Health_Score__c")["type"], "double");
    assert_eq!(field("Health_Score__c")["precision"], 5);
    assert_eq!(field("Health_Score__c")["scale"], 2);
    assert_eq!(
        field("ParentId")["referenceTo"],
        serde_json::json!(["Account"])
    );
    assert_eq!(field("BillingCity")["compoundFieldName"], "BillingAddress");
    assert_eq!(
        field("Tier__c")["picklistValues"].as_array().map(Vec::len),
        Some(3)
    );
    let children = describe["childRelationships"]
        .as_array()
        .ok_or("children")?;
    assert!(
        children
            .iter()
            .any(|c| c["childSObject"] == "Contact" && c["relationshipName"] == "Contacts")
    );
    assert!(
        children
            .iter()
            .any(|c| c["childSObject"] == "Account" && c["relationshipName"] == "ChildAccounts")
    );
    let (status, _, _) = get(
        &client,
        &sim,
        &token,
        "/services/data/v59.0/sobjects/Nope/describe",
        None,
    )
    .await?;
    assert_eq!(status, 404);

    // Paging with a small batch collects every contact exactly once, in id order.
    let pages = all_pages(
        &client,
        &sim,
        &token,
        "SELECT Id, Name, Email, MailingAddress FROM Contact",
        Some(200),
    )
    .await?;
    assert!(pages.len() >= 2);
    let rows = records(&pages);
    let ids: Vec<String> = rows
        .iter()
        .filter_map(|r| r["Id"].as_str().map(str::to_string))
        .collect();
    assert_eq!(ids.len() as u64, counts["Contact"]);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), ids.len());
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    for page in &pages {
        assert_eq!(page["totalSize"].as_u64(), Some(counts["Contact"]));
        assert!(page["records"].as_array().map_or(0, Vec::len) <= 200);
    }
    let first = &rows[0];
    let keys: Vec<&String> = first.as_object().ok_or("row")?.keys().collect();
    assert_eq!(
        keys,
        ["attributes", "Id", "Name", "Email", "MailingAddress"]
    );
    assert_eq!(first["attributes"]["type"], "Contact");

    // ORDER BY another field pages through the sorted rows, completely.
    let pages = all_pages(
        &client,
        &sim,
        &token,
        "select name, id from account order by Name desc",
        Some(200),
    )
    .await?;
    let rows = records(&pages);
    assert_eq!(rows.len() as u64, counts["Account"]);
    let names: Vec<String> = rows
        .iter()
        .map(|r| r["Name"].as_str().unwrap_or_default().to_lowercase())
        .collect();
    assert!(names.windows(2).all(|w| w[0] >= w[1]));

    // ContentDocumentLink cannot be counted without a filter, nor article versions without
    // one on PublishStatus, as in Salesforce. Archived activities are not counted by `query`.
    let config = SimulatorConfig::default();
    let org = ferry_simulator::org::Org::with_mix(config.seed, config.records, config.mix);
    for (object, live) in counts
        .iter()
        .filter(|(o, _)| *o != "ContentDocumentLink" && !o.ends_with("__kav"))
    {
        let count = ferry_simulator::schema::object(object)
            .and_then(|def| def.generated)
            .map_or(*live, |kind| org.visible_count(kind));
        let (status, _, body) = get(
            &client,
            &sim,
            &token,
            &query_path(&format!("SELECT COUNT() FROM {object}")),
            None,
        )
        .await?;
        assert_eq!(status, 200);
        assert_eq!(
            body,
            serde_json::json!({"totalSize": count, "done": true, "records": []})
        );
    }
    let (_, _, body) = get(
        &client,
        &sim,
        &token,
        &query_path("SELECT COUNT(Id) FROM Account"),
        None,
    )
    .await?;
    assert_eq!(
        body["records"][0]["expr0"].as_u64(),
        Some(counts["Account"])
    );

    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn where_filters_and_errors() -> TestResult {
    let sim = start(SimulatorConfig {
        records: 2000,
        ..SimulatorConfig::default()
    })
    .await?;
    let client = reqwest::Client::new();
    let token = access_token(&client, &sim).await?;
    let accounts = sim.record_counts()["Account"];

    let with_parent = records(
        &all_pages(
            &client,
            &sim,
            &token,
            "SELECT Id, ParentId FROM Account WHERE ParentId != null",
            None,
        )
        .await?,
    );
    assert!(!with_parent.is_empty() && (with_parent.len() as u64) < accounts);
    assert!(with_parent.iter().all(|r| r["ParentId"].is_string()));
    let roots = records(
        &all_pages(
            &client,
            &sim,
            &token,
            "SELECT Id FROM Account WHERE ParentId = null",
            None,
        )
        .await?,
    );
    assert_eq!((with_parent.len() + roots.len()) as u64, accounts);

    let soql = "SELECT Id, Tier__c, Is_Strategic__c, NumberOfEmployees FROM Account WHERE (Tier__c = 'gold' OR Tier__c IN ('Silver')) AND Is_Strategic__c = true AND NOT NumberOfEmployees < 50";
    let rows = records(&all_pages(&client, &sim, &token, soql, None).await?);
    assert!(!rows.is_empty());
    for row in &rows {
        assert!(
            row["Tier__c"] == "Gold" || row["Tier__c"] == "Silver",
            "{row}"
        );
        assert_eq!(row["Is_Strategic__c"], true);
        assert!(
            row["NumberOfEmployees"].is_null() || row["NumberOfEmployees"].as_i64() >= Some(50),
            "{row}"
        );
    }

    let rows = records(
        &all_pages(
            &client,
            &sim,
            &token,
            "SELECT Name FROM Contact WHERE Name LIKE 'zo%' LIMIT 7",
            None,
        )
        .await?,
    );
    assert!(!rows.is_empty() && rows.len() <= 7);
    assert!(
        rows.iter()
            .all(|r| r["Name"].as_str().is_some_and(|n| n.starts_with("Zoë")))
    );

    let rows = records(
        &all_pages(
            &client,
            &sim,
            &token,
            "SELECT Id, CreatedDate FROM Contact WHERE CreatedDate >= 2022-01-01T00:00:00Z",
            None,
        )
        .await?,
    );
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|r| {
        r["CreatedDate"]
            .as_str()
            .is_some_and(|d| d >= "2022" && d.ends_with(".000+0000"))
    }));

    let first = records(
        &all_pages(
            &client,
            &sim,
            &token,
            "SELECT Id FROM Contact LIMIT 1",
            None,
        )
        .await?,
    );
    let id = first[0]["Id"].as_str().ok_or("id")?;
    let by_id = records(
        &all_pages(
            &client,
            &sim,
            &token,
            &format!("SELECT Id FROM Contact WHERE Id = '{}'", &id[..15]),
            None,
        )
        .await?,
    );
    assert_eq!(by_id, first);

    for (soql, code) in [
        ("SELECT AccountNumer FROM Account", "INVALID_FIELD"),
        ("SELECT Id FROM Xyzzy", "INVALID_TYPE"),
        ("SELECT Id FROM Account WHERE", "MALFORMED_QUERY"),
        (
            "SELECT Id FROM Account WHERE Name = 'unterminated",
            "MALFORMED_QUERY",
        ),
    ] {
        let (status, _, body) = get(&client, &sim, &token, &query_path(soql), None).await?;
        assert_eq!(status, 400, "{soql}");
        assert_eq!(body[0]["errorCode"], code, "{soql}: {body}");
        assert!(body[0]["message"].is_string());
    }
    let (status, _, body) = get(
        &client,
        &sim,
        &token,
        "/services/data/v59.0/query/01gDn0000000000AAA-200",
        None,
    )
    .await?;
    assert_eq!(
        (status, body[0]["errorCode"].as_str()),
        (400, Some("INVALID_QUERY_LOCATOR"))
    );
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn oauth_errors_limits_and_usage_header() -> TestResult {
    let sim = start(SimulatorConfig {
        records: 100,
        daily_api_limit: 4,
        ..SimulatorConfig::default()
    })
    .await?;
    let client = reqwest::Client::new();
    let creds = sim.credentials().clone();
    let url = format!("{}/services/oauth2/token", sim.login_url());
    for (form, error) in [
        (vec![("grant_type", "password")], "unsupported_grant_type"),
        (
            vec![
                ("grant_type", "refresh_token"),
                ("client_id", "nope"),
                ("refresh_token", &creds.refresh_token),
            ],
            "invalid_client_id",
        ),
        (
            vec![
                ("grant_type", "refresh_token"),
                ("client_id", &creds.client_id),
                ("refresh_token", "nope"),
            ],
            "invalid_grant",
        ),
    ] {
        let response = client.post(&url).form(&form).send().await?;
        assert_eq!(response.status(), 400);
        let body: Value = response.json().await?;
        assert_eq!(body["error"], error);
    }
    let token = access_token(&client, &sim).await?;
    let mut last = 0;
    for _ in 0..4 {
        let (status, limit, _) =
            get(&client, &sim, &token, "/services/data/v59.0/limits", None).await?;
        assert_eq!(status, 200);
        let (used, max) = usage(&limit).ok_or("usage header")?;
        assert_eq!((used, max), (last + 1, 4));
        last = used;
    }
    let (status, limit, body) =
        get(&client, &sim, &token, "/services/data/v59.0/sobjects", None).await?;
    assert_eq!(status, 403);
    assert_eq!(usage(&limit), Some((4, 4)));
    assert_eq!(
        body,
        serde_json::json!([{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}])
    );
    assert_eq!(sim.api_calls(), 4);
    let info = serde_json::to_value(sim.startup_info())?;
    assert_eq!(info["username"], "integration@ferry-sim.example");
    assert!(
        info["client_id"]
            .as_str()
            .is_some_and(|c| c.starts_with("3MVG9sim"))
    );
    assert!(
        info["refresh_token"]
            .as_str()
            .is_some_and(|c| c.starts_with("5Aep861sim"))
    );
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn same_seed_serves_same_data() -> TestResult {
    let client = reqwest::Client::new();
    let mut firsts = Vec::new();
    for seed in [9, 9, 10] {
        let sim = start(SimulatorConfig {
            seed,
            records: 300,
            ..SimulatorConfig::default()
        })
        .await?;
        let token = access_token(&client, &sim).await?;
        let soql = "SELECT Id, Name, Type, BillingAddress, Description, AnnualRevenue, CreatedDate, Customer_Since__c FROM Account";
        firsts.push(records(
            &all_pages(&client, &sim, &token, soql, None).await?,
        ));
        assert_eq!(
            sim.credentials(),
            &ferry_simulator::Credentials::from_seed(seed)
        );
        sim.shutdown().await;
    }
    assert_eq!(firsts[0], firsts[1]);
    assert_ne!(firsts[0], firsts[2]);
    Ok(())
}
