//! Bulk API 2.0 query jobs: create, poll, results paged by locator (plain and gzip),
//! slow, failing, aborted and deleted jobs, and what Bulk refuses.

mod common;
#[path = "common/shape.rs"]
mod shape;

use common::{TestResult, access_token, all_pages, start};
use ferry_simulator::{RunningSimulator, SimulatorConfig};
use reqwest::Method;
use serde_json::{Value, json};
use shape::{BoxError, call, call_json, parse_csv, set_faults};
use std::collections::HashSet;
use std::io::Read as _;
use std::time::Duration;

const JOBS: &str = "/services/data/v59.0/jobs/query";

async fn create(
    client: &reqwest::Client,
    sim: &RunningSimulator,
    token: &str,
    operation: &str,
    soql: &str,
) -> Result<(u16, Value), BoxError> {
    call_json(
        client,
        sim,
        Method::POST,
        token,
        JOBS,
        Some(json!({"operation": operation, "query": soql, "contentType": "CSV"})),
    )
    .await
}

/// Polls a job until it leaves the running states; returns every state seen, in order.
async fn wait(
    client: &reqwest::Client,
    sim: &RunningSimulator,
    token: &str,
    id: &str,
) -> Result<(Vec<String>, Value), BoxError> {
    let mut states: Vec<String> = Vec::new();
    // Generous bound: a loaded machine must not fail the test, only slow it.
    for _ in 0..6000 {
        let (status, info) = call_json(
            client,
            sim,
            Method::GET,
            token,
            &format!("{JOBS}/{id}"),
            None,
        )
        .await?;
        assert_eq!(status, 200, "{info}");
        let state = info["state"].as_str().ok_or("state")?.to_string();
        if states.last() != Some(&state) {
            states.push(state.clone());
        }
        if matches!(state.as_str(), "JobComplete" | "Failed" | "Aborted") {
            return Ok((states, info));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Err(format!("job {id} never finished: {states:?}").into())
}

/// Every results page of a job, following `Sforce-Locator` until `null`.
async fn all_results(
    client: &reqwest::Client,
    sim: &RunningSimulator,
    token: &str,
    id: &str,
    max_records: Option<u64>,
) -> Result<Vec<Vec<Vec<String>>>, BoxError> {
    let mut pages = Vec::new();
    let mut locator: Option<String> = None;
    loop {
        let mut path = format!("{JOBS}/{id}/results");
        let mut params = Vec::new();
        if let Some(n) = max_records {
            params.push(format!("maxRecords={n}"));
        }
        if let Some(l) = &locator {
            params.push(format!("locator={l}"));
        }
        if !params.is_empty() {
            path = format!("{path}?{}", params.join("&"));
        }
        let (status, headers, text) = call(client, sim, Method::GET, token, &path, None).await?;
        assert_eq!(status, 200, "{text}");
        assert_eq!(headers["content-type"], "text/csv");
        let rows = parse_csv(&text);
        let count: usize = headers["sforce-numberofrecords"].to_str()?.parse()?;
        assert_eq!(
            rows.len(),
            count + 1,
            "header row plus Sforce-NumberOfRecords rows"
        );
        pages.push(rows);
        let next = headers["sforce-locator"].to_str()?.to_string();
        if next == "null" {
            return Ok(pages);
        }
        assert!(pages.len() < 10_000, "runaway paging");
        locator = Some(next);
    }
}

#[tokio::test]
async fn query_job_pages_every_row_once() -> TestResult {
    let sim = start(SimulatorConfig {
        records: 3000,
        ..SimulatorConfig::default()
    })
    .await?;
    let client = reqwest::Client::new();
    let token = access_token(&client, &sim).await?;
    let contacts = sim.record_counts()["Contact"];

    let (status, job) = create(
        &client,
        &sim,
        &token,
        "query",
        "SELECT Id, Name, Email, Phone, CreatedDate, AccountId FROM Contact",
    )
    .await?;
    assert_eq!(status, 200, "{job}");
    assert_eq!(job["state"], "UploadComplete");
    assert_eq!(job["object"], "Contact");
    assert_eq!(job["operation"], "query");
    let id = job["id"].as_str().ok_or("id")?.to_string();
    assert!(id.starts_with("750") && id.len() == 18);
    let (states, info) = wait(&client, &sim, &token, &id).await?;
    assert_eq!(states, ["JobComplete"], "instant by default");
    assert_eq!(info["numberRecordsProcessed"].as_u64(), Some(contacts));
    assert_eq!(info["jobType"], "V2Query");

    let pages = all_results(&client, &sim, &token, &id, Some(400)).await?;
    assert!(pages.len() >= 3);
    let header = &pages[0][0];
    assert_eq!(
        header,
        &["Id", "Name", "Email", "Phone", "CreatedDate", "AccountId"]
    );
    let rows: Vec<&Vec<String>> = pages.iter().flat_map(|p| p.iter().skip(1)).collect();
    assert_eq!(rows.len() as u64, contacts);
    for page in &pages {
        assert_eq!(&page[0], header);
        assert!(page.len() <= 401);
    }
    let ids: HashSet<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(ids.len(), rows.len());
    // Bulk datetimes are UTC with a Z; dates plain; nulls empty.
    assert!(
        rows.iter()
            .all(|r| r[4].ends_with(".000Z") && r[4].len() == 24)
    );
    assert!(
        rows.iter()
            .all(|r| r[5].is_empty() || r[5].starts_with("001"))
    );

    // The same ids as the REST query, in the same order.
    let rest: Vec<String> = all_pages(&client, &sim, &token, "SELECT Id FROM Contact", None)
        .await?
        .iter()
        .flat_map(|p| p["records"].as_array().cloned().unwrap_or_default())
        .filter_map(|r| r["Id"].as_str().map(str::to_string))
        .collect();
    let bulk: Vec<String> = rows.iter().map(|r| r[0].clone()).collect();
    assert_eq!(rest, bulk);

    // The default page holds everything here; the last page's locator is "null".
    let pages = all_results(&client, &sim, &token, &id, None).await?;
    assert_eq!(pages.len(), 1);

    // gzip when asked for, same content.
    let plain = call(
        &client,
        &sim,
        Method::GET,
        &token,
        &format!("{JOBS}/{id}/results?maxRecords=500"),
        None,
    )
    .await?
    .2;
    // reqwest would decompress (and drop the header) itself; this client shows the wire.
    let raw = reqwest::Client::builder().no_gzip().build()?;
    let response = raw
        .get(format!(
            "{}{JOBS}/{id}/results?maxRecords=500",
            sim.base_url()
        ))
        .bearer_auth(&token)
        .header("Accept-Encoding", "gzip")
        .send()
        .await?;
    assert_eq!(response.headers()["content-encoding"], "gzip");
    assert!(response.headers().contains_key("sforce-locator"));
    let compressed = response.bytes().await?;
    let mut unzipped = String::new();
    flate2::read::GzDecoder::new(compressed.as_ref()).read_to_string(&mut unzipped)?;
    assert_eq!(unzipped, plain);

    // ORDER BY pages through the sorted rows.
    let (_, job) = create(
        &client,
        &sim,
        &token,
        "query",
        "SELECT Name, Id FROM Account ORDER BY Name DESC",
    )
    .await?;
    assert_eq!(job["operation"], "query");
    let id = job["id"].as_str().ok_or("id")?.to_string();
    wait(&client, &sim, &token, &id).await?;
    let pages = all_results(&client, &sim, &token, &id, Some(100)).await?;
    let names: Vec<String> = pages
        .iter()
        .flat_map(|p| p.iter().skip(1))
        .map(|r| r[0].to_lowercase())
        .collect();
    assert_eq!(names.len() as u64, sim.record_counts()["Account"]);
    assert!(names.windows(2).all(|w| w[0] >= w[1]));

    // A bad locator is refused; the job list shows both jobs.
    let (status, _) = call_json(
        &client,
        &sim,
        Method::GET,
        &token,
        &format!("{JOBS}/{id}/results?locator=%21%21"),
        None,
    )
    .await?;
    assert_eq!(status, 400);
    let (status, list) = call_json(&client, &sim, Method::GET, &token, JOBS, None).await?;
    assert_eq!(status, 200);
    assert_eq!(list["done"], true);
    assert_eq!(list["records"].as_array().map(Vec::len), Some(2));
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn csv_quotes_what_needs_quoting() -> TestResult {
    let sim = start(SimulatorConfig {
        records: 2000,
        ..SimulatorConfig::default()
    })
    .await?;
    let client = reqwest::Client::new();
    let token = access_token(&client, &sim).await?;
    let soql = "SELECT Id, Name, Description, AnnualRevenue, Is_Strategic__c, Customer_Since__c FROM Account";
    let (_, job) = create(&client, &sim, &token, "query", soql).await?;
    let id = job["id"].as_str().ok_or("id")?.to_string();
    wait(&client, &sim, &token, &id).await?;
    let rows: Vec<Vec<String>> = all_results(&client, &sim, &token, &id, None)
        .await?
        .into_iter()
        .flatten()
        .skip(1)
        .collect();
    let rest: Vec<Value> = all_pages(&client, &sim, &token, soql, None)
        .await?
        .iter()
        .flat_map(|p| p["records"].as_array().cloned().unwrap_or_default())
        .collect();
    assert_eq!(rows.len(), rest.len());
    for (csv, json) in rows.iter().zip(&rest) {
        assert_eq!(csv.len(), 6);
        assert_eq!(
            csv[5],
            json["Customer_Since__c"].as_str().unwrap_or_default()
        );
        assert_eq!(csv[0], json["Id"].as_str().unwrap_or_default());
        assert_eq!(csv[1], json["Name"].as_str().unwrap_or_default());
        assert_eq!(csv[2], json["Description"].as_str().unwrap_or_default());
        match json["AnnualRevenue"].as_f64() {
            Some(revenue) => assert_eq!(csv[3].parse::<f64>()?, revenue),
            None => assert_eq!(csv[3], ""),
        }
        assert!(matches!(csv[4].as_str(), "true" | "false"));
    }
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn slow_failing_aborted_and_deleted_jobs() -> TestResult {
    let sim = start(SimulatorConfig {
        records: 1000,
        ..SimulatorConfig::default()
    })
    .await?;
    let client = reqwest::Client::new();
    let token = access_token(&client, &sim).await?;

    // Slow: a job moves UploadComplete -> InProgress -> JobComplete; results before
    // completion are refused.
    let accounts = sim.record_counts()["Account"];
    set_faults(&client, &sim, json!({"bulk_rows_per_second": accounts})).await?;
    let (_, job) = create(&client, &sim, &token, "query", "SELECT Id FROM Account").await?;
    let id = job["id"].as_str().ok_or("id")?.to_string();
    let (states, info) = wait(&client, &sim, &token, &id).await?;
    assert_eq!(
        states.last().map(String::as_str),
        Some("JobComplete"),
        "{states:?}"
    );
    let order = ["UploadComplete", "InProgress", "JobComplete"];
    let ranks: Vec<usize> = states
        .iter()
        .filter_map(|s| order.iter().position(|o| o == s))
        .collect();
    assert_eq!(ranks.len(), states.len());
    assert!(ranks.windows(2).all(|w| w[0] < w[1]), "{states:?}");
    assert_eq!(info["numberRecordsProcessed"].as_u64(), Some(accounts));

    set_faults(&client, &sim, json!({"bulk_rows_per_second": 1})).await?;
    let (_, job) = create(&client, &sim, &token, "query", "SELECT Id FROM Account").await?;
    let slow = job["id"].as_str().ok_or("id")?.to_string();
    let (status, body) = call_json(
        &client,
        &sim,
        Method::GET,
        &token,
        &format!("{JOBS}/{slow}/results"),
        None,
    )
    .await?;
    assert_eq!(status, 400, "{body}");
    assert!(body[0]["errorCode"].is_string() && body[0]["message"].is_string());

    // Abort: the job says Aborted and has no results.
    let (status, aborted) = call_json(
        &client,
        &sim,
        Method::PATCH,
        &token,
        &format!("{JOBS}/{slow}"),
        Some(json!({"state": "Aborted"})),
    )
    .await?;
    assert_eq!(status, 200, "{aborted}");
    assert_eq!(aborted["state"], "Aborted");
    let (_, info) = call_json(
        &client,
        &sim,
        Method::GET,
        &token,
        &format!("{JOBS}/{slow}"),
        None,
    )
    .await?;
    assert_eq!(info["state"], "Aborted");
    assert_eq!(
        call(
            &client,
            &sim,
            Method::GET,
            &token,
            &format!("{JOBS}/{slow}/results"),
            None
        )
        .await?
        .0,
        400
    );
    let (status, _) = call_json(
        &client,
        &sim,
        Method::PATCH,
        &token,
        &format!("{JOBS}/{slow}"),
        Some(json!({"state": "Aborted"})),
    )
    .await?;
    assert_eq!(status, 400, "an aborted job cannot be aborted again");

    // Failing: every job fails with the configured message.
    set_faults(&client, &sim, json!({"bulk_rows_per_second": 0, "bulk_fail_every": 1, "bulk_fail_message": "InternalServerError : boom"})).await?;
    let (_, job) = create(&client, &sim, &token, "query", "SELECT Id FROM Contact").await?;
    let failed = job["id"].as_str().ok_or("id")?.to_string();
    let (states, info) = wait(&client, &sim, &token, &failed).await?;
    assert_eq!(states, ["Failed"]);
    assert_eq!(info["errorMessage"], "InternalServerError : boom");
    assert_eq!(
        call(
            &client,
            &sim,
            Method::GET,
            &token,
            &format!("{JOBS}/{failed}/results"),
            None
        )
        .await?
        .0,
        400
    );

    // Delete: 204, then the job is gone.
    let (status, _, body) = call(
        &client,
        &sim,
        Method::DELETE,
        &token,
        &format!("{JOBS}/{failed}"),
        None,
    )
    .await?;
    assert_eq!((status, body.as_str()), (204, ""));
    for method in [Method::GET, Method::DELETE] {
        let (status, body) = call_json(
            &client,
            &sim,
            method,
            &token,
            &format!("{JOBS}/{failed}"),
            None,
        )
        .await?;
        assert_eq!(status, 404);
        assert_eq!(
            body,
            json!([{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}])
        );
    }
    let (status, _) = call_json(
        &client,
        &sim,
        Method::GET,
        &token,
        &format!("{JOBS}/750Dn000000BOGUS/results"),
        None,
    )
    .await?;
    assert_eq!(status, 404);
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn bulk_refuses_what_salesforce_refuses() -> TestResult {
    let sim = start(SimulatorConfig::default()).await?;
    let client = reqwest::Client::new();
    let token = access_token(&client, &sim).await?;
    for (operation, soql, code, message) in [
        (
            "query",
            "SELECT Id, BillingAddress FROM Account",
            "API_ERROR",
            Some("Selecting compound data not supported in Bulk Query"),
        ),
        (
            "query",
            "SELECT Id, MailingAddress FROM Contact",
            "API_ERROR",
            Some("Selecting compound data not supported in Bulk Query"),
        ),
        ("query", "SELECT COUNT() FROM Account", "INVALIDJOB", None),
        (
            "query",
            "SELECT Id FROM Account LIMIT 5 OFFSET 2",
            "INVALIDJOB",
            None,
        ),
        ("query", "SELECT Nope FROM Account", "INVALIDJOB", None),
        ("query", "SELECT Id FROM Xyzzy", "INVALIDJOB", None),
        ("upsert", "SELECT Id FROM Account", "INVALIDJOB", None),
    ] {
        let (status, body) = create(&client, &sim, &token, operation, soql).await?;
        assert_eq!(status, 400, "{soql}: {body}");
        assert_eq!(body[0]["errorCode"], code, "{soql}: {body}");
        if let Some(message) = message {
            assert_eq!(body[0]["message"], message);
        }
    }
    // Base64 fields, on whichever objects the schema has them.
    for object in ferry_simulator::schema::objects() {
        if !object.flags.queryable {
            continue;
        }
        for field in object.fields.iter().filter(|f| f.ftype.name() == "base64") {
            let soql = format!("SELECT Id, {} FROM {}", field.name, object.name);
            let (status, body) = create(&client, &sim, &token, "query", &soql).await?;
            assert_eq!(status, 400, "{soql}: {body}");
            assert!(
                body[0]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("Base64")),
                "{body}"
            );
        }
    }
    let (status, _) = call_json(&client, &sim, Method::POST, &token, JOBS, None).await?;
    assert_eq!(status, 400);
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_million_record_org_serves_bulk_pages_without_materialising() -> TestResult {
    let sim = start(SimulatorConfig {
        records: 1_000_000,
        ..SimulatorConfig::default()
    })
    .await?;
    let client = reqwest::Client::new();
    let token = access_token(&client, &sim).await?;
    let (_, job) = create(
        &client,
        &sim,
        &token,
        "query",
        "SELECT Id, Name FROM Contact",
    )
    .await?;
    let id = job["id"].as_str().ok_or("id")?.to_string();
    let (_, info) = wait(&client, &sim, &token, &id).await?;
    let total = info["numberRecordsProcessed"].as_u64().ok_or("processed")?;
    assert_eq!(total, sim.record_counts()["Contact"]);
    // Two pages, and a jump straight to a far locator.
    let (status, headers, _) = call(
        &client,
        &sim,
        Method::GET,
        &token,
        &format!("{JOBS}/{id}/results?maxRecords=1000"),
        None,
    )
    .await?;
    assert_eq!(status, 200);
    assert_eq!(headers["sforce-numberofrecords"], "1000");
    let locator = headers["sforce-locator"].to_str()?.to_string();
    assert_ne!(locator, "null");
    let (status, headers, _) = call(
        &client,
        &sim,
        Method::GET,
        &token,
        &format!("{JOBS}/{id}/results?maxRecords=1000&locator={locator}"),
        None,
    )
    .await?;
    assert_eq!(status, 200);
    assert_eq!(headers["sforce-numberofrecords"], "1000");
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn column_delimiter_and_line_ending_are_honoured() -> TestResult {
    let sim = start(SimulatorConfig::default()).await?;
    let client = reqwest::Client::new();
    let token = access_token(&client, &sim).await?;
    let request = json!({
        "operation": "query",
        "query": "SELECT Id, Name, Description FROM Account",
        "columnDelimiter": "PIPE",
        "lineEnding": "CRLF",
    });
    let (status, job) = call_json(&client, &sim, Method::POST, &token, JOBS, Some(request)).await?;
    assert_eq!(status, 200, "{job}");
    assert_eq!(job["columnDelimiter"], "PIPE");
    assert_eq!(job["lineEnding"], "CRLF");
    let id = job["id"].as_str().ok_or("id")?.to_string();
    wait(&client, &sim, &token, &id).await?;
    let (_, _, text) = call(
        &client,
        &sim,
        Method::GET,
        &token,
        &format!("{JOBS}/{id}/results"),
        None,
    )
    .await?;
    assert!(text.starts_with("Id|Name|Description\r\n"), "{text}");
    for bad in [
        json!({"columnDelimiter": "COLON"}),
        json!({"lineEnding": "CR"}),
    ] {
        let mut request = json!({"operation": "query", "query": "SELECT Id FROM Account"});
        if let (Some(r), Some(b)) = (request.as_object_mut(), bad.as_object()) {
            r.extend(b.clone());
        }
        let (status, body) =
            call_json(&client, &sim, Method::POST, &token, JOBS, Some(request)).await?;
        assert_eq!(status, 400, "{bad}");
        assert_eq!(body[0]["errorCode"], "INVALIDJOB");
    }
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn query_all_jobs_add_deleted_rows_and_parent_fields_are_columns() -> TestResult {
    let sim = start(SimulatorConfig {
        records: 3000,
        ..SimulatorConfig::default()
    })
    .await?;
    let client = reqwest::Client::new();
    let token = access_token(&client, &sim).await?;
    let mut rows_by_operation = Vec::new();
    for operation in ["query", "queryAll"] {
        let (status, job) = create(
            &client,
            &sim,
            &token,
            operation,
            "SELECT Id, IsDeleted, Account.Name FROM Contact",
        )
        .await?;
        assert_eq!(status, 200, "{job}");
        let id = job["id"].as_str().ok_or("id")?.to_string();
        let (_, info) = wait(&client, &sim, &token, &id).await?;
        assert_eq!(info["state"], "JobComplete");
        let pages = all_results(&client, &sim, &token, &id, Some(700)).await?;
        assert_eq!(pages[0][0], ["Id", "IsDeleted", "Account.Name"]);
        let rows: Vec<Vec<String>> = pages
            .into_iter()
            .flat_map(|p| p.into_iter().skip(1))
            .collect();
        rows_by_operation.push(rows);
    }
    let (live, all) = (&rows_by_operation[0], &rows_by_operation[1]);
    assert_eq!(live.len() as u64, sim.record_counts()["Contact"]);
    assert!(live.iter().all(|row| row[1] == "false"));
    let deleted = all.iter().filter(|row| row[1] == "true").count();
    assert!(deleted > 0, "the org has soft-deleted contacts");
    assert_eq!(all.len(), live.len() + deleted);
    // The parent's name, as REST renders it under `Account`.
    let (_, page) = call_json(
        &client,
        &sim,
        Method::GET,
        &token,
        &format!(
            "/services/data/v59.0/query?q={}",
            url::form_urlencoded::byte_serialize(
                format!(
                    "SELECT Id, Account.Name FROM Contact WHERE Id = '{}'",
                    live[0][0]
                )
                .as_bytes()
            )
            .collect::<String>()
        ),
        None,
    )
    .await?;
    let rest_name = page["records"][0]["Account"]["Name"].as_str().unwrap_or("");
    assert_eq!(live[0][2], rest_name);
    Ok(())
}

#[tokio::test]
async fn archived_tasks_are_only_in_query_all_jobs() -> TestResult {
    let sim = start(SimulatorConfig {
        records: 3000,
        ..SimulatorConfig::default()
    })
    .await?;
    let client = reqwest::Client::new();
    let token = access_token(&client, &sim).await?;
    let mut rows_by_operation = Vec::new();
    for operation in ["query", "queryAll"] {
        let soql = "SELECT Id, IsArchived FROM Task WHERE IsDeleted = false";
        let (status, job) = create(&client, &sim, &token, operation, soql).await?;
        assert_eq!(status, 200, "{job}");
        let id = job["id"].as_str().ok_or("id")?.to_string();
        let (_, info) = wait(&client, &sim, &token, &id).await?;
        assert_eq!(info["state"], "JobComplete");
        let rows: Vec<Vec<String>> = all_results(&client, &sim, &token, &id, Some(700))
            .await?
            .into_iter()
            .flat_map(|p| p.into_iter().skip(1))
            .collect();
        rows_by_operation.push(rows);
    }
    let (live, all) = (&rows_by_operation[0], &rows_by_operation[1]);
    assert!(live.iter().all(|row| row[1] == "false"));
    let archived = all.iter().filter(|row| row[1] == "true").count();
    assert!(archived > 0, "the org has archived tasks");
    assert_eq!(all.len() as u64, sim.record_counts()["Task"]);
    assert_eq!(all.len(), live.len() + archived);
    sim.shutdown().await;
    Ok(())
}
