//! The data half of the simulator over HTTP: soft-deleted records, the mutation control
//! call, blobs, composite batch, record counts, the Tooling API, parent fields in SOQL
//! and the objects beyond Account and Contact. Expected values are computed from the
//! same generator (`Org`) the server uses, never hard-coded from a run.

mod common;

use common::{TestResult, access_token, all_pages, get, query_path, start};
use ferry_simulator::org::Org;
use ferry_simulator::schema::{self, Generated};
use ferry_simulator::value::Val;
use ferry_simulator::{RunningSimulator, SimulatorConfig};
use serde_json::{Value, json};

const RECORDS: u64 = 3000;
const SEED: u64 = 11;

async fn sim() -> Result<RunningSimulator, Box<dyn std::error::Error>> {
    start(SimulatorConfig {
        records: RECORDS,
        seed: SEED,
        ..SimulatorConfig::default()
    })
    .await
}

fn records(pages: &[Value]) -> Vec<Value> {
    pages
        .iter()
        .flat_map(|p| p["records"].as_array().cloned().unwrap_or_default())
        .collect()
}

/// Every page of a `queryAll`, following `nextRecordsUrl`.
async fn query_all_pages(
    client: &reqwest::Client,
    sim: &RunningSimulator,
    token: &str,
    soql: &str,
) -> Result<Vec<Value>, Box<dyn std::error::Error>> {
    let mut path = query_path(soql).replacen("/query?", "/queryAll?", 1);
    let mut pages = Vec::new();
    loop {
        let (status, _, page) = get(client, sim, token, &path, Some(500)).await?;
        assert_eq!(status, 200, "{soql}: {page}");
        let next = page["nextRecordsUrl"].as_str().map(str::to_string);
        pages.push(page);
        match next {
            Some(next) => path = next,
            None => return Ok(pages),
        }
    }
}

async fn count(
    client: &reqwest::Client,
    sim: &RunningSimulator,
    token: &str,
    soql: &str,
) -> Result<u64, Box<dyn std::error::Error>> {
    let (status, _, body) = get(client, sim, token, &query_path(soql), None).await?;
    assert_eq!(status, 200, "{soql}: {body}");
    Ok(body["totalSize"].as_u64().ok_or("totalSize")?)
}

async fn post_json(
    client: &reqwest::Client,
    url: String,
    token: Option<&str>,
    body: &Value,
) -> Result<(u16, Value), Box<dyn std::error::Error>> {
    let mut request = client.post(url).json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    Ok((status, response.json().await?))
}

/// The value of `field` in record `index` of the generator's `kind`.
fn value(org: &Org, kind: Generated, index: u64, field: &str) -> Val {
    let object = schema::generated_object(kind);
    object
        .field_index(field)
        .map_or(Val::Null, |f| org.record(kind, index)[f].clone())
}

#[tokio::test]
async fn deleted_records_are_only_in_query_all() -> TestResult {
    let sim = sim().await?;
    let client = reqwest::Client::new();
    let token = access_token(&client, &sim).await?;
    let org = Org::new(SEED, RECORDS);
    for (object, kind) in [
        ("Contact", Generated::Contact),
        // Tasks and events are also archived: `archived_activities_are_only_in_query_all`.
        ("Case", Generated::Case),
        ("Opportunity", Generated::Opportunity),
    ] {
        let live = sim.record_counts()[object];
        assert_eq!(live, org.live_count(kind));
        assert!(org.deleted_count(kind) > 0, "{object} has deleted records");
        let soql = format!("SELECT COUNT() FROM {object}");
        assert_eq!(count(&client, &sim, &token, &soql).await?, live);

        let rows = records(
            &all_pages(
                &client,
                &sim,
                &token,
                &format!("SELECT Id, IsDeleted FROM {object}"),
                Some(500),
            )
            .await?,
        );
        assert_eq!(rows.len() as u64, live);
        assert!(rows.iter().all(|r| r["IsDeleted"] == false));

        let all = records(
            &query_all_pages(
                &client,
                &sim,
                &token,
                &format!("SELECT Id, IsDeleted FROM {object}"),
            )
            .await?,
        );
        assert_eq!(all.len() as u64, org.count(kind));
        let deleted = all.iter().filter(|r| r["IsDeleted"] == true).count() as u64;
        assert_eq!(deleted, org.deleted_count(kind));

        // A filter on IsDeleted finds nothing through query, everything through queryAll.
        let soql = format!("SELECT Id FROM {object} WHERE IsDeleted = true");
        assert_eq!(count(&client, &sim, &token, &soql).await?, 0);
        let via_all = records(&query_all_pages(&client, &sim, &token, &soql).await?);
        assert_eq!(via_all.len() as u64, org.deleted_count(kind));
    }
    sim.shutdown().await;
    Ok(())
}

/// Count through `queryAll` (`totalSize` of its first page).
async fn count_all(
    client: &reqwest::Client,
    sim: &RunningSimulator,
    token: &str,
    soql: &str,
) -> Result<u64, Box<dyn std::error::Error>> {
    let path = query_path(soql).replacen("/query?", "/queryAll?", 1);
    let (status, _, body) = get(client, sim, token, &path, None).await?;
    assert_eq!(status, 200, "{soql}: {body}");
    Ok(body["totalSize"].as_u64().ok_or("totalSize")?)
}

#[tokio::test]
async fn archived_activities_are_only_in_query_all() -> TestResult {
    let sim = sim().await?;
    let client = reqwest::Client::new();
    let token = access_token(&client, &sim).await?;
    let org = Org::new(SEED, RECORDS);
    for (object, kind) in [("Task", Generated::Task), ("Event", Generated::Event)] {
        let flag = |i: u64| value(&org, kind, i, "IsArchived") == Val::Bool(true);
        let archived = (0..org.count(kind)).filter(|&i| flag(i)).count() as u64;
        let archived_live = (0..org.count(kind))
            .filter(|&i| flag(i) && !org.is_deleted(kind, i))
            .count() as u64;
        let live = sim.record_counts()[object];
        assert_eq!(
            live,
            org.live_count(kind),
            "{object}: live rows, archived included"
        );
        // A substantial share is archived, as in an org that has logged for years: most
        // events (all but the last year's), tasks only when closed (the companion tasks of
        // emails, always closed, raise the share to about three in four).
        let (most, of) = if kind == Generated::Task {
            (4, 5)
        } else {
            (3, 3)
        };
        assert!(
            archived_live * 4 >= live && archived_live * of <= live * most && archived_live < live,
            "{object}: {archived_live} of {live} archived"
        );

        // A reader through `query` misses them: rows and COUNT().
        let soql = format!("SELECT COUNT() FROM {object}");
        assert_eq!(
            count(&client, &sim, &token, &soql).await?,
            live - archived_live
        );
        let rows = records(
            &all_pages(
                &client,
                &sim,
                &token,
                &format!("SELECT Id, IsArchived FROM {object}"),
                Some(500),
            )
            .await?,
        );
        assert_eq!(rows.len() as u64, live - archived_live, "{object}");
        assert!(rows.iter().all(|r| r["IsArchived"] == false));
        let soql = format!("SELECT COUNT() FROM {object} WHERE IsArchived = true");
        assert_eq!(count(&client, &sim, &token, &soql).await?, 0);

        // `queryAll` sees them, deleted rows too; `IsDeleted = false` leaves the live ones.
        let soql = format!("SELECT COUNT() FROM {object} WHERE IsDeleted = false");
        assert_eq!(count_all(&client, &sim, &token, &soql).await?, live);
        let soql = format!("SELECT COUNT() FROM {object}");
        assert_eq!(
            count_all(&client, &sim, &token, &soql).await?,
            org.count(kind)
        );
        let soql = format!("SELECT Id, IsArchived FROM {object} WHERE IsArchived = true");
        let only = records(&query_all_pages(&client, &sim, &token, &soql).await?);
        assert_eq!(only.len() as u64, archived, "{object}");
        assert!(only.iter().all(|r| r["IsArchived"] == true));
        let soql = format!("SELECT Id, IsArchived FROM {object} WHERE IsDeleted = false");
        let all = records(&query_all_pages(&client, &sim, &token, &soql).await?);
        assert_eq!(all.len() as u64, live);
        assert_eq!(
            all.iter().filter(|r| r["IsArchived"] == true).count() as u64,
            archived_live
        );

        // recordCount is Salesforce's stale estimate: archived rows are not in it.
        let (status, _, body) = get(
            &client,
            &sim,
            &token,
            &format!("/services/data/v59.0/limits/recordCount?sObjects={object}"),
            None,
        )
        .await?;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["sObjects"][0]["count"], json!(live - archived_live));
    }
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn mutate_stamps_now_and_deletes_for_delta_runs() -> TestResult {
    let sim = sim().await?;
    let client = reqwest::Client::new();
    let token = access_token(&client, &sim).await?;
    let before = count(&client, &sim, &token, "SELECT COUNT() FROM Contact").await?;
    let calls = sim.api_calls();

    // The control call needs no session and is no API call.
    let (status, body) = post_json(
        &client,
        format!("{}/_sim/mutate", sim.base_url()),
        None,
        &json!({"object": "contact", "modify": 3, "delete": 2}),
    )
    .await?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(sim.api_calls(), calls);
    assert_eq!(body["object"], "Contact");
    let ids = |key: &str| -> Vec<String> {
        body[key]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (modified, deleted) = (ids("modified"), ids("deleted"));
    assert_eq!((modified.len(), deleted.len()), (3, 2));

    let after = count(&client, &sim, &token, "SELECT COUNT() FROM Contact").await?;
    assert_eq!(after, before - 2);

    // Generated history ends in 2024; only the mutated records are newer.
    let delta = "SELECT Id, IsDeleted, SystemModstamp FROM Contact WHERE SystemModstamp >= 2025-01-01T00:00:00Z";
    let changed = records(&all_pages(&client, &sim, &token, delta, None).await?);
    let mut changed_ids: Vec<String> = changed
        .iter()
        .filter_map(|r| r["Id"].as_str().map(String::from))
        .collect();
    changed_ids.sort();
    let mut expected = modified.clone();
    expected.sort();
    assert_eq!(changed_ids, expected);
    assert!(
        changed
            .iter()
            .all(|r| r["SystemModstamp"] == body["systemModstamp"])
    );

    let with_deleted = records(&query_all_pages(&client, &sim, &token, delta).await?);
    assert_eq!(with_deleted.len(), 5);
    for row in &with_deleted {
        let id = row["Id"].as_str().unwrap_or_default().to_string();
        assert_eq!(row["IsDeleted"] == true, deleted.contains(&id), "{row}");
    }

    // Users cannot be deleted; unknown objects are refused.
    for request in [
        json!({"object": "User", "delete": 1}),
        json!({"object": "Xyzzy", "modify": 1}),
        json!({"modify": 1}),
    ] {
        let (status, body) = post_json(
            &client,
            format!("{}/_sim/mutate", sim.base_url()),
            None,
            &request,
        )
        .await?;
        assert_eq!(status, 400, "{request}: {body}");
        assert!(body[0]["errorCode"].is_string());
    }
    sim.shutdown().await;
    Ok(())
}

/// GETs a blob URL, returning status, content type, Content-Length and the bytes.
async fn blob(
    client: &reqwest::Client,
    sim: &RunningSimulator,
    token: &str,
    path: &str,
) -> Result<(u16, String, Option<u64>, Vec<u8>), Box<dyn std::error::Error>> {
    let response = client
        .get(format!("{}{path}", sim.base_url()))
        .bearer_auth(token)
        .send()
        .await?;
    let status = response.status().as_u16();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(String::from)
    };
    let content_type = header("content-type").unwrap_or_default();
    let length = header("content-length").and_then(|v| v.parse().ok());
    Ok((
        status,
        content_type,
        length,
        response.bytes().await?.to_vec(),
    ))
}

#[tokio::test]
async fn blobs_stream_exactly_their_declared_length() -> TestResult {
    let sim = start(SimulatorConfig {
        records: 30_000,
        seed: SEED,
        ..SimulatorConfig::default()
    })
    .await?;
    let client = reqwest::Client::new();
    let token = access_token(&client, &sim).await?;
    for (soql, length_field, body_field) in [
        (
            "SELECT Id, BodyLength, Body FROM Attachment ORDER BY BodyLength DESC LIMIT 3",
            "BodyLength",
            "Body",
        ),
        (
            "SELECT Id, BodyLength, Body FROM Attachment WHERE BodyLength < 2000 LIMIT 3",
            "BodyLength",
            "Body",
        ),
        (
            "SELECT Id, ContentSize, VersionData FROM ContentVersion LIMIT 3",
            "ContentSize",
            "VersionData",
        ),
        (
            "SELECT Id, ContentSize, Content FROM ContentNote LIMIT 2",
            "ContentSize",
            "Content",
        ),
    ] {
        let rows = records(&all_pages(&client, &sim, &token, soql, None).await?);
        assert!(!rows.is_empty(), "{soql}");
        for row in rows {
            let url = row[body_field].as_str().ok_or("blob url")?;
            let declared = row[length_field].as_u64().ok_or("length")?;
            let (status, content_type, length, bytes) = blob(&client, &sim, &token, url).await?;
            assert_eq!(status, 200, "{url}");
            assert_eq!(content_type, "application/octetstream");
            assert_eq!(length, Some(declared), "{url}");
            assert_eq!(bytes.len() as u64, declared, "{url}");
            let (_, _, _, again) = blob(&client, &sim, &token, url).await?;
            assert!(again == bytes, "{url} differs between two downloads");
        }
    }
    // A batched query too large for one page is refused rather than cut short.
    let (status, body) = post_json(
        &client,
        format!("{}/services/data/v59.0/composite/batch", sim.base_url()),
        Some(&token),
        &json!({"batchRequests": [{"method": "GET", "url": "v59.0/query?q=SELECT+Id+FROM+Contact"}]}),
    )
    .await?;
    assert_eq!(status, 200);
    assert_eq!(body["results"][0]["statusCode"], 400, "{body}");

    let biggest = records(
        &all_pages(
            &client,
            &sim,
            &token,
            "SELECT Id, BodyLength FROM Attachment ORDER BY BodyLength DESC LIMIT 1",
            None,
        )
        .await?,
    );
    assert!(biggest[0]["BodyLength"].as_u64() > Some(1_000_000));

    let org = Org::new(SEED, 30_000);
    let id = org.id(Generated::Attachment, 0);
    for path in [
        format!("/services/data/v59.0/sobjects/Attachment/{id}/Name"),
        format!("/services/data/v59.0/sobjects/Attachment/{id}x/Body"),
        format!(
            "/services/data/v59.0/sobjects/Attachment/{}/Body",
            org.id(Generated::Attachment, 37)
        ),
        format!("/services/data/v59.0/sobjects/Account/{id}/Body"),
    ] {
        let (status, _, _, _) = blob(&client, &sim, &token, &path).await?;
        assert_eq!(status, 404, "{path}");
    }
    let (status, _, _, _) = blob(
        &client,
        &sim,
        "bogus",
        &format!("/services/data/v59.0/sobjects/Attachment/{id}/Body"),
    )
    .await?;
    assert_eq!(status, 401);
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn composite_batch_record_count_and_tooling() -> TestResult {
    let sim = sim().await?;
    let client = reqwest::Client::new();
    let token = access_token(&client, &sim).await?;
    let url = format!("{}/services/data/v59.0/composite/batch", sim.base_url());
    let calls = sim.api_calls();
    let (status, body) = post_json(
        &client,
        url.clone(),
        Some(&token),
        &json!({"batchRequests": [
            {"method": "GET", "url": "v59.0/sobjects/Account/describe"},
            {"method": "GET", "url": "/services/data/v59.0/sobjects/Opportunity/describe"},
            {"method": "GET", "url": "v59.0/limits/recordCount?sObjects=Lead"},
        ]}),
    )
    .await?;
    assert_eq!(status, 200);
    assert_eq!(sim.api_calls(), calls + 1, "a batch is one API call");
    assert_eq!(body["hasErrors"], false);
    let (_, _, account) = get(
        &client,
        &sim,
        &token,
        "/services/data/v59.0/sobjects/Account/describe",
        None,
    )
    .await?;
    assert_eq!(
        body["results"][0],
        json!({"statusCode": 200, "result": account})
    );
    assert_eq!(body["results"][1]["result"]["name"], "Opportunity");
    assert_eq!(
        body["results"][2]["result"]["sObjects"][0]["count"],
        json!(sim.record_counts()["Lead"])
    );

    let (status, body) = post_json(
        &client,
        url.clone(),
        Some(&token),
        &json!({"batchRequests": [
            {"method": "GET", "url": "v59.0/sobjects/Xyzzy/describe"},
            {"method": "PATCH", "url": "v59.0/sobjects/Account/001"},
            {"method": "GET", "url": "v59.0/sobjects/Contact/describe"},
        ]}),
    )
    .await?;
    assert_eq!(status, 200);
    assert_eq!(body["hasErrors"], true);
    let statuses: Vec<u64> = body["results"]
        .as_array()
        .ok_or("results")?
        .iter()
        .filter_map(|r| r["statusCode"].as_u64())
        .collect();
    assert_eq!(statuses, [404, 405, 200]);
    // Queries in a batch: counts, and results small enough for one page.
    let (status, body) = post_json(
        &client,
        url.clone(),
        Some(&token),
        &json!({"batchRequests": [
            {"method": "GET", "url": "v59.0/query?q=SELECT+COUNT()+FROM+Lead"},
            {"method": "GET", "url": "v59.0/query?q=SELECT+Id,+Name+FROM+RecordType+WHERE+SobjectType+=+'Case'"},
            {"method": "GET", "url": "v59.0/queryAll?q=SELECT+COUNT()+FROM+Lead+WHERE+IsDeleted+=+true"},
            {"method": "GET", "url": "v59.0/query?q=SELECT+Id+FROM+Contact"},
            {"method": "GET", "url": "v59.0/query?q=SELECT+Nope+FROM+Lead"},
        ]}),
    )
    .await?;
    assert_eq!(status, 200);
    let results = body["results"].as_array().ok_or("results")?;
    assert_eq!(
        results[0],
        json!({"statusCode": 200, "result": {"totalSize": sim.record_counts()["Lead"], "done": true, "records": []}})
    );
    assert_eq!(results[1]["result"]["totalSize"], 2);
    assert_eq!(
        results[1]["result"]["records"][0]["attributes"]["type"],
        "RecordType"
    );
    let org = Org::new(SEED, RECORDS);
    assert_eq!(
        results[2]["result"]["totalSize"],
        json!(org.deleted_count(Generated::Lead))
    );
    assert_eq!(
        results[3]["result"]["records"].as_array().map(Vec::len),
        Some(sim.record_counts()["Contact"] as usize)
    );
    assert_eq!(results[4]["statusCode"], 400);
    assert_eq!(results[4]["result"][0]["errorCode"], "INVALID_FIELD");
    assert_eq!(body["hasErrors"], true);

    let too_many: Vec<Value> = (0..26)
        .map(|_| json!({"method": "GET", "url": "v59.0/sobjects"}))
        .collect();
    let (status, _) = post_json(
        &client,
        url.clone(),
        Some(&token),
        &json!({"batchRequests": too_many}),
    )
    .await?;
    assert_eq!(status, 400);
    let (status, _) = post_json(&client, url, Some("bogus"), &json!({"batchRequests": []})).await?;
    assert_eq!(status, 401);

    // Record counts.
    let (status, _, counts) = get(
        &client,
        &sim,
        &token,
        "/services/data/v59.0/limits/recordCount?sObjects=Account,Contact,Xyzzy",
        None,
    )
    .await?;
    assert_eq!(status, 200);
    assert_eq!(
        counts,
        json!({"sObjects": [
            {"count": sim.record_counts()["Account"], "name": "Account"},
            {"count": sim.record_counts()["Contact"], "name": "Contact"},
        ]})
    );

    // Tooling API: the automation inventory, in one page.
    let tooling = |soql: &str| query_path(soql).replacen("/query?", "/tooling/query?", 1);
    let (status, _, classes) = get(
        &client,
        &sim,
        &token,
        &tooling("SELECT Id, Name, Status, ApiVersion FROM ApexClass ORDER BY Name"),
        None,
    )
    .await?;
    assert_eq!(status, 200, "{classes}");
    assert_eq!(classes["entityTypeName"], "ApexClass");
    let names: Vec<&str> = classes["records"]
        .as_array()
        .ok_or("records")?
        .iter()
        .filter_map(|r| r["Name"].as_str())
        .collect();
    let mut sorted = names.clone();
    sorted.sort_by_key(|n| n.to_lowercase());
    assert_eq!(names, sorted);
    assert_eq!(classes["totalSize"], json!(names.len()));
    for object in [
        "ApexTrigger",
        "FlowDefinitionView",
        "ValidationRule",
        "WorkflowRule",
        "ApexPage",
    ] {
        let (status, _, body) = get(
            &client,
            &sim,
            &token,
            &tooling(&format!("SELECT COUNT() FROM {object}")),
            None,
        )
        .await?;
        assert_eq!(status, 200, "{object}: {body}");
        assert!(body["totalSize"].as_u64() > Some(0), "{object}");
    }
    // Tooling objects are not data objects, and the other way round.
    let (status, _, body) = get(
        &client,
        &sim,
        &token,
        &query_path("SELECT Id FROM ApexClass"),
        None,
    )
    .await?;
    assert_eq!(
        (status, body[0]["errorCode"].clone()),
        (400, json!("INVALID_TYPE"))
    );
    let (status, _, body) = get(
        &client,
        &sim,
        &token,
        &tooling("SELECT Id FROM Account"),
        None,
    )
    .await?;
    assert_eq!(
        (status, body[0]["errorCode"].clone()),
        (400, json!("INVALID_TYPE"))
    );
    // Reports and dashboards are ordinary queryable objects.
    for object in ["Report", "Dashboard"] {
        let soql = format!("SELECT COUNT() FROM {object}");
        assert_eq!(
            count(&client, &sim, &token, &soql).await?,
            sim.record_counts()[object]
        );
    }
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn parent_fields_render_as_nested_records() -> TestResult {
    let sim = sim().await?;
    let client = reqwest::Client::new();
    let token = access_token(&client, &sim).await?;
    let org = Org::new(SEED, RECORDS);
    let rows = records(
        &all_pages(
            &client,
            &sim,
            &token,
            "SELECT Id, Account.Name, LastName, Owner.Email, Account.Industry, AccountId FROM Contact LIMIT 300",
            None,
        )
        .await?,
    );
    assert_eq!(rows.len(), 300);
    let mut with_account = 0;
    for row in &rows {
        let keys: Vec<&String> = row.as_object().ok_or("row")?.keys().collect();
        assert_eq!(
            keys,
            [
                "attributes",
                "Id",
                "Account",
                "LastName",
                "Owner",
                "AccountId"
            ],
            "{row}"
        );
        match row["AccountId"].as_str() {
            None => assert!(row["Account"].is_null(), "{row}"),
            Some(account) => {
                with_account += 1;
                let index = org
                    .index_of(Generated::Account, account)
                    .ok_or("account index")?;
                assert_eq!(
                    row["Account"],
                    json!({
                        "attributes": {"type": "Account", "url": format!("/services/data/v59.0/sobjects/Account/{account}")},
                        "Name": value(&org, Generated::Account, index, "Name").to_json(),
                        "Industry": value(&org, Generated::Account, index, "Industry").to_json(),
                    })
                );
            }
        }
        assert_eq!(row["Owner"]["attributes"]["type"], "User");
        assert!(row["Owner"]["Email"].is_string());
    }
    assert!(with_account > 200);

    // Polymorphic WhoId: the nested record says which object it is.
    let tasks = records(
        &all_pages(
            &client,
            &sim,
            &token,
            "SELECT Id, WhoId, Who.Name, What.Name FROM Task WHERE WhoId != null LIMIT 200",
            None,
        )
        .await?,
    );
    let mut kinds = std::collections::BTreeSet::new();
    for task in &tasks {
        let who = task["WhoId"].as_str().ok_or("who")?;
        let kind = task["Who"]["attributes"]["type"].as_str().ok_or("type")?;
        assert_eq!(
            kind,
            if who.starts_with("003") {
                "Contact"
            } else {
                "Lead"
            }
        );
        assert!(task["Who"]["Name"].is_string());
        kinds.insert(kind.to_string());
    }
    assert_eq!(kinds.len(), 2, "tasks relate to contacts and leads");

    for (soql, code, message) in [
        (
            "SELECT Id, Acount.Name FROM Contact",
            "INVALID_FIELD",
            "Didn't understand relationship 'Acount' in field path.",
        ),
        (
            "SELECT Id, Account.Nme FROM Contact",
            "INVALID_FIELD",
            "No such column 'Nme' on entity 'Account'.",
        ),
        (
            "SELECT Id, Salary__c FROM Contact",
            "INVALID_FIELD",
            "No such column 'Salary__c' on sobject of type Contact",
        ),
    ] {
        let (status, _, body) = get(&client, &sim, &token, &query_path(soql), None).await?;
        assert_eq!(status, 400, "{soql}");
        assert_eq!(body[0]["errorCode"], code, "{soql}");
        let text = body[0]["message"].as_str().unwrap_or_default();
        assert!(text.contains(message), "{soql}: {text}");
    }
    // The field hidden by field-level security is not described either.
    let (_, _, describe) = get(
        &client,
        &sim,
        &token,
        "/services/data/v59.0/sobjects/Contact/describe",
        None,
    )
    .await?;
    for (object, field) in schema::HIDDEN_FIELDS {
        assert_eq!(*object, "Contact");
        let fields = describe["fields"].as_array().ok_or("fields")?;
        assert!(fields.iter().all(|f| f["name"] != *field));
    }
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn soql_filters_and_orders_the_new_objects_like_the_generator() -> TestResult {
    let sim = sim().await?;
    let client = reqwest::Client::new();
    let token = access_token(&client, &sim).await?;
    let org = Org::new(SEED, RECORDS);
    let org = &org;
    let live = |kind: Generated| (0..org.count(kind)).filter(move |&i| !org.is_deleted(kind, i));

    // Datetime, number, picklist and boolean comparisons with AND/OR/NOT and IN.
    let cutoff = ferry_simulator::value::days_from_civil(2024, 1, 1) * 86_400;
    let expected = live(Generated::Opportunity)
        .filter(|&i| {
            let stamp = value(org, Generated::Opportunity, i, "SystemModstamp");
            let stage = value(org, Generated::Opportunity, i, "StageName");
            let amount = value(org, Generated::Opportunity, i, "Amount");
            let won = value(org, Generated::Opportunity, i, "IsWon");
            let recent = matches!(stamp, Val::DateTime(s) if s >= cutoff);
            let big = matches!(amount, Val::Num(a) if a > 250_000.0);
            let early = matches!(&stage, Val::Str(s) if s == "Prospecting" || s == "Qualification");
            (recent || big) && !early && won != Val::Bool(true)
        })
        .count() as u64;
    let soql = "SELECT COUNT() FROM Opportunity WHERE (SystemModstamp >= 2024-01-01T00:00:00Z OR Amount > 250000) AND StageName NOT IN ('Prospecting', 'qualification') AND NOT IsWon = true";
    assert_eq!(count(&client, &sim, &token, soql).await?, expected);
    assert!(expected > 0);

    // Date and LIKE on leads.
    let expected = live(Generated::Lead)
        .filter(|&i| {
            let converted = value(org, Generated::Lead, i, "ConvertedDate");
            let company = value(org, Generated::Lead, i, "Company");
            matches!(converted, Val::Date(_))
                && matches!(&company, Val::Str(c) if c.to_lowercase().contains("gmbh"))
        })
        .count() as u64;
    let soql = "SELECT COUNT() FROM Lead WHERE ConvertedDate != null AND Company LIKE '%GmbH%'";
    assert_eq!(count(&client, &sim, &token, soql).await?, expected);

    // ORDER BY a number, DESC NULLS LAST, with LIMIT and OFFSET.
    let mut amounts: Vec<(f64, String)> = live(Generated::Opportunity)
        .filter_map(|i| match value(org, Generated::Opportunity, i, "Amount") {
            Val::Num(a) => Some((a, org.id(Generated::Opportunity, i))),
            _ => None,
        })
        .collect();
    amounts.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let rows = records(
        &all_pages(
            &client,
            &sim,
            &token,
            "SELECT Id, Amount FROM Opportunity ORDER BY Amount DESC NULLS LAST LIMIT 10 OFFSET 5",
            None,
        )
        .await?,
    );
    let ids: Vec<&str> = rows.iter().filter_map(|r| r["Id"].as_str()).collect();
    let expected: Vec<&str> = amounts[5..15].iter().map(|(_, id)| id.as_str()).collect();
    assert_eq!(ids, expected);

    // Id ranges, as chunked extraction queries them, including 15-character ids and
    // ids of another object (which compare as text).
    let contacts = org.count(Generated::Contact);
    let id = |i: u64| org.id(Generated::Contact, i);
    let live_between = |from: u64, to: u64| {
        (from..to)
            .filter(|&i| !org.is_deleted(Generated::Contact, i))
            .count() as u64
    };
    let account = org.id(Generated::Account, 3);
    for (soql, expected) in [
        (
            format!(
                "SELECT COUNT() FROM Contact WHERE Id > '{}' AND Id <= '{}'",
                id(10),
                id(200)
            ),
            live_between(11, 201),
        ),
        (
            format!(
                "SELECT COUNT() FROM Contact WHERE Id >= '{}' AND Id < '{}' AND Email != null",
                id(0),
                id(contacts)
            ),
            live(Generated::Contact)
                .filter(|&i| !value(org, Generated::Contact, i, "Email").is_null())
                .count() as u64,
        ),
        (
            format!("SELECT COUNT() FROM Contact WHERE Id = '{}'", &id(5)[..15]),
            live_between(5, 6),
        ),
        (
            format!("SELECT COUNT() FROM Contact WHERE Id > '{account}'"),
            if account < id(0) {
                live_between(0, contacts)
            } else {
                0
            },
        ),
        (
            format!(
                "SELECT COUNT() FROM Contact WHERE Id < '{}' OR Id > '{}'",
                id(10),
                id(contacts - 10)
            ),
            live_between(0, 10) + live_between(contacts - 9, contacts),
        ),
    ] {
        assert_eq!(
            count(&client, &sim, &token, &soql).await?,
            expected,
            "{soql}"
        );
    }
    let rows = records(
        &all_pages(
            &client,
            &sim,
            &token,
            &format!(
                "SELECT Id FROM Contact WHERE Id > '{}' ORDER BY Id LIMIT 3",
                id(99)
            ),
            None,
        )
        .await?,
    );
    let expected: Vec<String> = (100..)
        .filter(|&i| !org.is_deleted(Generated::Contact, i))
        .take(3)
        .map(id)
        .collect();
    let got: Vec<String> = rows
        .iter()
        .filter_map(|r| r["Id"].as_str().map(String::from))
        .collect();
    assert_eq!(got, expected);

    // Conditions on parent fields; a missing parent has only nulls.
    let parent_value =
        |kind: Generated, i: u64, reference: &str, target: Generated, field: &str| match value(
            org, kind, i, reference,
        ) {
            Val::Str(id) => org
                .index_of(target, &id)
                .map_or(Val::Null, |p| value(org, target, p, field)),
            _ => Val::Null,
        };
    let banking = live(Generated::Contact)
        .filter(|&i| {
            parent_value(
                Generated::Contact,
                i,
                "AccountId",
                Generated::Account,
                "Industry",
            ) == Val::Str("Banking".into())
        })
        .count() as u64;
    let orphans = live(Generated::Contact)
        .filter(|&i| value(org, Generated::Contact, i, "AccountId").is_null())
        .count() as u64;
    let inactive_owners = live(Generated::Opportunity)
        .filter(|&i| {
            parent_value(
                Generated::Opportunity,
                i,
                "OwnerId",
                Generated::User,
                "IsActive",
            ) == Val::Bool(false)
        })
        .count() as u64;
    for (soql, expected) in [
        (
            "SELECT COUNT() FROM Contact WHERE Account.Industry = 'banking'",
            banking,
        ),
        (
            "SELECT COUNT() FROM Contact WHERE Account.Name = null",
            orphans,
        ),
        (
            "SELECT COUNT() FROM Opportunity WHERE Owner.IsActive = false AND (Amount > 0 OR Amount = null)",
            inactive_owners,
        ),
    ] {
        assert_eq!(
            count(&client, &sim, &token, soql).await?,
            expected,
            "{soql}"
        );
    }
    assert!(banking > 0 && orphans > 0 && inactive_owners > 0);

    // File links are listed per parent or per document only, as in Salesforce.
    let (status, _, body) = get(
        &client,
        &sim,
        &token,
        &query_path("SELECT Id FROM ContentDocumentLink"),
        None,
    )
    .await?;
    assert_eq!(
        (status, body[0]["errorCode"].clone()),
        (400, json!("MALFORMED_QUERY"))
    );
    let parent = value(org, Generated::ContentDocumentLink, 0, "LinkedEntityId");
    let Val::Str(parent) = parent else {
        return Err("file link without parent".into());
    };
    let expected = live(Generated::ContentDocumentLink)
        .filter(|&i| {
            value(org, Generated::ContentDocumentLink, i, "LinkedEntityId")
                == Val::Str(parent.clone())
        })
        .count();
    let links = records(
        &all_pages(
            &client,
            &sim,
            &token,
            &format!("SELECT Id, ContentDocumentId, ContentDocument.Title FROM ContentDocumentLink WHERE LinkedEntityId = '{parent}'"),
            None,
        )
        .await?,
    );
    assert_eq!(links.len(), expected);
    assert!(
        links
            .iter()
            .all(|l| l["ContentDocument"]["Title"].is_string())
    );

    // Stages, record types and the org's objects' counts.
    let stages = records(
        &all_pages(
            &client,
            &sim,
            &token,
            "SELECT MasterLabel, DefaultProbability, SortOrder, IsClosed, IsWon FROM OpportunityStage ORDER BY SortOrder",
            None,
        )
        .await?,
    );
    assert_eq!(stages.len(), schema::STAGES.len());
    assert_eq!(stages[0]["MasterLabel"], "Prospecting");
    assert_eq!(
        stages.last().map(|s| s["IsWon"].clone()),
        Some(json!(false))
    );
    let types = records(
        &all_pages(
            &client,
            &sim,
            &token,
            "SELECT Id, DeveloperName FROM RecordType WHERE SobjectType = 'Opportunity'",
            None,
        )
        .await?,
    );
    assert_eq!(types.len(), 2);
    // Unicode, quotes and newlines survive the JSON round trip unchanged.
    let emails = records(
        &all_pages(
            &client,
            &sim,
            &token,
            "SELECT Id, TextBody FROM EmailMessage LIMIT 50",
            None,
        )
        .await?,
    );
    for row in &emails {
        let id = row["Id"].as_str().ok_or("id")?;
        let index = org
            .index_of(Generated::EmailMessage, id)
            .ok_or("email index")?;
        assert_eq!(
            row["TextBody"],
            value(org, Generated::EmailMessage, index, "TextBody").to_json()
        );
    }
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn same_seed_serves_the_same_bytes() -> TestResult {
    let client = reqwest::Client::new();
    let mut answers: Vec<Vec<u8>> = Vec::new();
    for _ in 0..2 {
        let sim = sim().await?;
        let token = access_token(&client, &sim).await?;
        let mut bytes = Vec::new();
        for soql in [
            "SELECT Id, Subject, Who.Name, WhatId, ActivityDate, CallDurationInSeconds, SystemModstamp FROM Task",
            "SELECT Id, Subject, TextBody, HtmlBody, MessageDate, RelatedToId FROM EmailMessage",
            "SELECT Id, Account.Name, StageName, Amount, Regions__c, Long_Notes__c FROM Opportunity",
            "SELECT Id, Body, BodyLength FROM Attachment ORDER BY BodyLength DESC LIMIT 2",
        ] {
            for page in all_pages(&client, &sim, &token, soql, None).await? {
                bytes.extend(serde_json::to_vec(&page)?);
                for row in page["records"].as_array().cloned().unwrap_or_default() {
                    if let Some(url) = row["Body"].as_str() {
                        let body = client
                            .get(format!("{}{url}", sim.base_url()))
                            .bearer_auth(&token)
                            .send()
                            .await?
                            .bytes()
                            .await?;
                        bytes.extend(body);
                    }
                }
            }
        }
        answers.push(bytes);
        sim.shutdown().await;
    }
    assert!(answers[0].len() > 100_000);
    assert!(
        answers[0] == answers[1],
        "two orgs of one seed answered differently"
    );
    Ok(())
}
