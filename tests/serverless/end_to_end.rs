//! The serverless deployment end to end, locally: a SaaS backend creates a migration through
//! the `api` function, the customer authorises it through `oauth-callback` against the
//! simulated org, the backend confirms the dry run, and the Step Functions execution (moto
//! running the real ASL of `infra/`, invoking the real functions under `cargo lambda watch`)
//! migrates into the reference destination. The destination must then hold exactly what the
//! embedded path (`ferry migrate`'s pipeline) lands for the same org with the same options.
//! Between authorisation and start the backend reads the plan and changes the selections
//! (objects, start date, a map override, a pseudonymised field) twice, each time waiting
//! for the dry run of its selections.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ferry_core::run::{LocalPorts, RunConfig, RunOptions, migrate_with};
use ferry_core::steps::{DiscoverOptions, ExtractConfig};
use ferry_model::ids::{RunId, TenantId};
use ferry_model::mapping::FieldMap;
use ferry_model::secret::Secret;
use ferry_reference_server::ReferenceServerConfig;
use ferry_serverless_tests::{Stack, emulator};
use ferry_tests::{Embedded, connect, start_org};
use hmac::Mac;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const ACCOUNT: &str = "111122223333";
const OTHER_ACCOUNT: &str = "444455556666";
const WORKSPACE: &str = "acme";
const KEY_ID: &str = "ferry-serverless";
const DESTINATION_SECRET: &str = "serverless-destination-secret";
const WEBHOOK_SECRET: &str = "serverless-webhook-secret";
const PSEUDONYM_KEY: &str = "serverless-pseudonym-key";
/// The objects the backend selects at first, and after its change of mind.
const FIRST_SELECTION: [&str; 5] = ["Account", "Contact", "Opportunity", "Task", "Lead"];
const SECOND_SELECTION: [&str; 5] = ["Account", "Contact", "Opportunity", "Lead", "Event"];

type Webhooks = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// A SaaS backend's webhook endpoint: keeps every delivery (signature header, body).
async fn webhook_receiver() -> (String, Webhooks) {
    let received: Webhooks = Arc::default();
    let kept = received.clone();
    let app = axum::Router::new().route(
        "/hooks",
        axum::routing::post(
            move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let kept = kept.clone();
                async move {
                    let signature = headers
                        .get("x-ferry-signature")
                        .and_then(|value| value.to_str().ok())
                        .unwrap_or_default()
                        .to_owned();
                    kept.lock().unwrap().push((signature, body.to_vec()));
                    axum::http::StatusCode::NO_CONTENT
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{address}/hooks"), received)
}

/// The reference destination server over the SQLite destination of an `Embedded` in `dir`.
async fn reference_destination(
    dir: &std::path::Path,
) -> (Embedded, ferry_reference_server::RunningServer) {
    let behind = Embedded::open(dir);
    let server = ferry_reference_server::serve(
        ReferenceServerConfig {
            // Staged files are presigned URLs of the emulator's S3, on loopback.
            fetch_scope: ferry_reference_server::fetch::FetchScope::AnyAddress,
            ..ReferenceServerConfig::new(
                Arc::new(behind.destination.clone()),
                KEY_ID,
                Secret::new(DESTINATION_SECRET),
            )
            .unwrap()
        },
        ([127, 0, 0, 1], 0).into(),
    )
    .await
    .unwrap();
    (behind, server)
}

/// The `event` of every webhook received so far, in order.
fn webhook_events(webhooks: &Webhooks) -> Vec<String> {
    webhooks
        .lock()
        .unwrap()
        .iter()
        .map(|(_, body)| {
            serde_json::from_slice::<Value>(body).unwrap()["event"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

fn verify_signature(signature: &str, body: &[u8]) -> bool {
    let Some((timestamp, digest)) = signature
        .strip_prefix("t=")
        .and_then(|rest| rest.split_once(",v1="))
    else {
        return false;
    };
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(WEBHOOK_SECRET.as_bytes()).unwrap();
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    expected == digest
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_migration_through_the_serverless_stack_lands_what_the_embedded_path_lands() {
    let Some(endpoint) = emulator() else { return };
    let simulator = start_org(400, 11).await;
    let dir = tempfile::tempdir().unwrap();

    // The destination the functions write to: the reference server over its own SQLite.
    let (behind, server) = reference_destination(&dir.path().join("serverless")).await;
    let (webhook_url, webhooks) = webhook_receiver().await;
    let simulator_host = simulator
        .base_url()
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let settings = BTreeMap::from([
        (
            "FERRY_SALESFORCE_LOGIN_URL".to_owned(),
            simulator.login_url().to_owned(),
        ),
        (
            "FERRY_SALESFORCE_CLIENT_ID".to_owned(),
            simulator.credentials().client_id.clone(),
        ),
        (
            "FERRY_OAUTH_REDIRECT_URI".to_owned(),
            "https://ferry.example.com/oauth/callback".to_owned(),
        ),
        ("FERRY_ALLOWED_HOSTS".to_owned(), simulator_host),
        (
            "FERRY_DESTINATION_URL".to_owned(),
            server.base_url().to_owned(),
        ),
        ("FERRY_DESTINATION_KEY_ID".to_owned(), KEY_ID.to_owned()),
        (
            "FERRY_DESTINATION_SECRET".to_owned(),
            DESTINATION_SECRET.to_owned(),
        ),
        ("FERRY_WEBHOOK_URL".to_owned(), webhook_url),
        ("FERRY_WEBHOOK_SECRET".to_owned(), WEBHOOK_SECRET.to_owned()),
        ("FERRY_PSEUDONYM_KEY".to_owned(), PSEUDONYM_KEY.to_owned()),
    ]);
    let suffix = format!("e2e{}", std::process::id());
    let stack = Stack::start(&endpoint, &suffix, &settings).await;

    // The SaaS backend creates the migration, and retries as if the answer was lost: the
    // same key answers the same migration, and no second one exists.
    let create = json!({"label": "Acme", "workspace": WORKSPACE});
    let (status, created, replayed) = stack
        .api_keyed(
            ACCOUNT,
            "POST",
            "/migrations",
            "create-1",
            Some(create.clone()),
        )
        .await;
    assert_eq!((status, replayed), (201, false), "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let (status, again, replayed) = stack
        .api_keyed(
            ACCOUNT,
            "POST",
            "/migrations",
            "create-1",
            Some(create.clone()),
        )
        .await;
    assert_eq!((status, replayed), (201, true), "{again}");
    assert_eq!(again, created);
    let (status, body, _) = stack
        .api_keyed(
            ACCOUNT,
            "POST",
            "/migrations",
            "create-1",
            Some(json!({"label": "Globex", "workspace": WORKSPACE})),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    let (_, listed) = stack.get(ACCOUNT, "/migrations").await;
    assert_eq!(
        listed["migrations"].as_array().unwrap().len(),
        1,
        "{listed}"
    );
    assert_eq!(created["status"], "awaiting_authorization");
    let authorize_url = created["authorize_url"].as_str().unwrap().to_owned();
    assert!(
        authorize_url.starts_with(simulator.login_url()),
        "{authorize_url}"
    );
    // Nothing of a token in the answer: the record's sealed fields are not shown.
    assert!(!created.to_string().contains("ciphertext"), "{created}");
    assert!(created.get("task_token").is_none(), "{created}");

    // Another tenant sees nothing of it.
    let (status, body) = stack.get(OTHER_ACCOUNT, &format!("/migrations/{id}")).await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = stack.get(OTHER_ACCOUNT, "/migrations").await;
    assert_eq!(
        (status, body["migrations"].as_array().unwrap().len()),
        (200, 0)
    );
    let (status, body) = stack
        .post(OTHER_ACCOUNT, &format!("/migrations/{id}/start"))
        .await;
    assert_eq!(status, 404, "{body}");
    // Another tenant's key of the same name is its own: it creates its own migration.
    let (status, theirs, replayed) = stack
        .api_keyed(
            OTHER_ACCOUNT,
            "POST",
            "/migrations",
            "create-1",
            Some(create.clone()),
        )
        .await;
    assert_eq!((status, replayed), (201, false), "{theirs}");
    assert_ne!(theirs["id"], created["id"]);
    // Before the first dry run there is no plan yet.
    let (status, body) = stack.get(ACCOUNT, &format!("/migrations/{id}/plan")).await;
    assert_eq!(status, 404, "{body}");

    // The customer's browser goes to Salesforce, which redirects back with a code.
    let redirect = stack.http.get(&authorize_url).send().await.unwrap();
    assert_eq!(redirect.status().as_u16(), 302);
    let location = url::Url::parse(
        redirect
            .headers()
            .get("location")
            .unwrap()
            .to_str()
            .unwrap(),
    )
    .unwrap();
    let query: BTreeMap<String, String> = location.query_pairs().into_owned().collect();
    let callback = |query: &BTreeMap<String, String>| {
        json!({
            "version": "2.0",
            "rawPath": "/oauth/callback",
            "queryStringParameters": query,
            "requestContext": {"http": {"method": "GET", "path": "/oauth/callback"}}
        })
    };
    let answer = stack
        .invoke("oauth-callback", &callback(&query))
        .await
        .unwrap_or_else(|error| panic!("{error}\n{}", stack.watch_log()));
    assert_eq!(answer["statusCode"], 200, "{answer}");
    // The state is single use: the same redirect again is refused.
    let again = stack
        .invoke("oauth-callback", &callback(&query))
        .await
        .unwrap();
    assert_eq!(again["statusCode"], 400, "{again}");

    // Discovery and the dry run, then the execution waits for the backend's go.
    let ready = stack
        .wait_for_status(ACCOUNT, &id, &["dry_run_ready"], Duration::from_secs(600))
        .await;
    assert_eq!(ready["waiting_for"], "start", "{ready}");
    let (status, report) = stack
        .api(
            ACCOUNT,
            "GET",
            &format!("/migrations/{id}/report"),
            &[("kind", "dry-run")],
            None,
        )
        .await;
    assert_eq!(status, 200, "{report}");
    let html = stack
        .http
        .get(report["html_url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert!(html.status().is_success());
    assert!(html.text().await.unwrap().contains("<table"));
    let dry_run_objects = report["report"]["objects"].as_array().unwrap().len();
    assert!(dry_run_objects > 5, "{report}");

    // The plan, as `ferry plan --json` shows it; another tenant sees none of it.
    let (status, plan) = stack.get(ACCOUNT, &format!("/migrations/{id}/plan")).await;
    assert_eq!(status, 200, "{plan}");
    let planned = |plan: &Value| -> Vec<String> {
        plan["objects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|object| object["name"].as_str().unwrap().to_owned())
            .collect()
    };
    for object in FIRST_SELECTION.iter().chain(&SECOND_SELECTION) {
        assert!(
            planned(&plan).iter().any(|name| name == object),
            "{object}: {plan}"
        );
    }
    assert!(
        plan["budget"]["estimated_calls"].as_u64().unwrap() > 0,
        "{plan}"
    );
    assert!(
        plan["instance_url"].as_str().unwrap().starts_with("http"),
        "{plan}"
    );
    let plan_path = format!("/migrations/{id}/plan");
    let selections_path = format!("/migrations/{id}/selections");
    let dry_run_path = format!("/migrations/{id}/dry-run");
    for (method, path) in [
        ("GET", plan_path.as_str()),
        ("PUT", selections_path.as_str()),
        ("POST", dry_run_path.as_str()),
    ] {
        let (status, body) = stack
            .api(OTHER_ACCOUNT, method, path, &[], Some(json!({})))
            .await;
        assert_eq!(status, 404, "{method} {path}: {body}");
    }

    // The start date: the day of the median contact, so both sides have records.
    let client = connect(&simulator).await;
    // This org has no person accounts (Contact has no IsPersonAccount): every contact
    // lands in the contacts table.
    let contacts = ferry_tests::query_all(&client, "SELECT Id, CreatedDate FROM Contact").await;
    let day_of = |contact: &ferry_model::model::SourceRecord| {
        contact["CreatedDate"].as_str().unwrap()[..10].to_owned()
    };
    let mut days: Vec<String> = contacts.iter().map(day_of).collect();
    days.sort_unstable();
    let since = days[days.len() / 2].clone();
    let kept_contacts = contacts
        .iter()
        .filter(|contact| day_of(contact) >= since)
        .count();
    assert!(kept_contacts > 0 && kept_contacts < days.len());
    let map_override = json!({"version": 4, "objects": {"Contact": {"fields": {"Phone": false}}}});
    let selections = |objects: &[&str]| {
        json!({
            "objects": objects,
            "created_since": since,
            "map": map_override,
            "pseudonymise": ["Contact.Email"],
        })
    };

    // Errors name the field and the reason.
    let (status, body) = stack
        .api(
            ACCOUNT,
            "PUT",
            &selections_path,
            &[],
            Some(json!({"objects": ["Acount"]})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["error"]["message"], "objects: Acount is not an object of the org",
        "{body}"
    );
    let (status, body) = stack
        .api(
            ACCOUNT,
            "PUT",
            &selections_path,
            &[],
            Some(json!({"created_since": "yesterday"})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("created_since: ")
    );

    // The first selection, under a key; its retry changes nothing more.
    let (status, body, _) = stack
        .api_keyed(
            ACCOUNT,
            "PUT",
            &selections_path,
            "select-1",
            Some(selections(&FIRST_SELECTION)),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let first_revision = body["selections"]["revision"].as_u64().unwrap();
    let (status, again, replayed) = stack
        .api_keyed(
            ACCOUNT,
            "PUT",
            &selections_path,
            "select-1",
            Some(selections(&FIRST_SELECTION)),
        )
        .await;
    assert_eq!((status, replayed), (202, true), "{again}");
    let ready = stack
        .wait_for_dry_run(ACCOUNT, &id, Duration::from_secs(600))
        .await;
    assert_eq!(
        ready["selections"]["revision"].as_u64(),
        Some(first_revision)
    );
    let (_, plan) = stack.get(ACCOUNT, &plan_path).await;
    let skipped_reason = |plan: &Value, object: &str| {
        plan["skipped_objects"]
            .as_array()
            .unwrap()
            .iter()
            .find(|entry| entry["name"] == object)
            .map(|entry| entry["reason"].as_str().unwrap().to_owned())
    };
    assert!(planned(&plan).contains(&"Task".to_owned()), "{plan}");
    assert_eq!(
        skipped_reason(&plan, "Event").as_deref(),
        Some("not selected"),
        "{plan}"
    );
    // The same selections again are no change: no dry run.
    let (status, body) = stack
        .api(
            ACCOUNT,
            "PUT",
            &selections_path,
            &[],
            Some(selections(&FIRST_SELECTION)),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    // The backend changes its mind: events instead of tasks; the dry run runs again.
    let (status, body) = stack
        .api(
            ACCOUNT,
            "PUT",
            &selections_path,
            &[],
            Some(selections(&SECOND_SELECTION)),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    assert!(body["selections"]["revision"].as_u64().unwrap() > first_revision);
    stack
        .wait_for_dry_run(ACCOUNT, &id, Duration::from_secs(600))
        .await;
    let (_, plan) = stack.get(ACCOUNT, &plan_path).await;
    assert!(planned(&plan).contains(&"Event".to_owned()), "{plan}");
    assert_eq!(
        skipped_reason(&plan, "Task").as_deref(),
        Some("not selected"),
        "{plan}"
    );
    let contact_plan = plan["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|object| object["name"] == "Contact")
        .unwrap()
        .clone();
    let counted = contact_plan["records"].as_u64().unwrap() as usize;
    assert!(
        counted >= kept_contacts && counted < days.len(),
        "the start date narrows the count: {contact_plan}"
    );
    let (status, report) = stack
        .api(
            ACCOUNT,
            "GET",
            &format!("/migrations/{id}/report"),
            &[("kind", "dry-run")],
            None,
        )
        .await;
    assert_eq!(status, 200, "{report}");
    let reported: Vec<&str> = report["report"]["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|object| object["object"].as_str())
        .collect();
    assert!(
        reported.contains(&"Event") && !reported.contains(&"Task"),
        "{reported:?}"
    );

    let (status, body) = stack
        .post(ACCOUNT, &format!("/migrations/{id}/start"))
        .await;
    assert_eq!(status, 202, "{body}");
    let (status, body) = stack
        .post(ACCOUNT, &format!("/migrations/{id}/start"))
        .await;
    assert_eq!(status, 409, "a second start finds nothing to start: {body}");
    // Once the run has started, selections and dry runs no longer change it.
    let (status, body) = stack
        .api(
            ACCOUNT,
            "PUT",
            &selections_path,
            &[],
            Some(selections(&FIRST_SELECTION)),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    let (status, body) = stack.post(ACCOUNT, &dry_run_path).await;
    assert_eq!(status, 409, "{body}");
    let done = stack
        .wait_for_status(ACCOUNT, &id, &["succeeded"], Duration::from_secs(900))
        .await;
    let run_id = done["run_id"].as_str().unwrap().to_owned();
    let (status, final_report) = stack
        .api(
            ACCOUNT,
            "GET",
            &format!("/migrations/{id}/report"),
            &[("kind", "final")],
            None,
        )
        .await;
    assert_eq!(status, 200, "{final_report}");

    // The embedded path, same org, same selections as the CLI's flags, same tenant, its own
    // destination.
    let embedded = Embedded::open(&dir.path().join("embedded"));
    let tenant = TenantId::new(format!("{ACCOUNT}.{WORKSPACE}"));
    let config = RunConfig {
        tenant: tenant.clone(),
        run_id: RunId::new("embedded-run"),
        map: FieldMap::builtin()
            .overlay(
                &ferry_model::mapping::MapOverrides::from_json_str(&map_override.to_string())
                    .unwrap(),
            )
            .unwrap(),
        extract: ExtractConfig::default(),
        discover: DiscoverOptions {
            objects: Some(
                SECOND_SELECTION
                    .iter()
                    .map(|name| (*name).to_owned())
                    .collect(),
            ),
            created_since: Some(ferry_core::steps::parse_start_date(&since).unwrap()),
            ..DiscoverOptions::default()
        },
        pseudonymise: Some(ferry_core::pseudonymise::Pseudonymise {
            config: ferry_core::pseudonymise::PseudonymiseConfig::from_entries(&["Contact.Email"]),
            pseudonymiser: ferry_core::pseudonymise::Pseudonymiser::new(&Secret::new(
                PSEUDONYM_KEY,
            ))
            .unwrap(),
        }),
        concurrency: Default::default(),
        validation: Default::default(),
        default_owner: None,
        merge_leads_by_email: false,
    };
    let local = migrate_with(
        &LocalPorts {
            salesforce: &client,
            staging: &embedded.staging,
            id_map: &embedded.store,
            runs: &embedded.store,
            destination: &embedded.destination,
            sleeper: &ferry_embedded::TokioSleeper,
        },
        &config,
        &RunOptions::default(),
        &ferry_model::ports::NoProgress,
    )
    .await
    .expect("the embedded migration completes");

    let serverless_snapshot = behind.destination_snapshot();
    let embedded_snapshot = embedded.destination_snapshot();
    assert_eq!(
        serverless_snapshot.keys().collect::<Vec<_>>(),
        embedded_snapshot.keys().collect::<Vec<_>>()
    );
    for (table, rows) in &embedded_snapshot {
        assert_eq!(
            serverless_snapshot[table].len(),
            rows.len(),
            "rows of {table}"
        );
        assert_eq!(&serverless_snapshot[table], rows, "{table}");
    }
    // What the selections mean: the contacts created since the date, without phones, with
    // pseudonymised emails; no tasks (events instead). Leads land as contacts too: only the
    // Salesforce contacts are counted here.
    let db = behind.destination_db();
    let landed: Vec<(String, Option<String>, Option<String>)> = db
        .prepare("SELECT source_id, email, phone FROM contacts WHERE source_object = 'Contact'")
        .unwrap()
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let emails: BTreeMap<String, String> =
        ferry_tests::query_all(&client, "SELECT Id, Email FROM Contact")
            .await
            .iter()
            .filter_map(|contact| {
                Some((
                    contact["Id"].as_str()?.to_owned(),
                    contact["Email"].as_str()?.to_owned(),
                ))
            })
            .collect();
    assert_eq!(landed.len(), kept_contacts);
    let mut pseudonymised = 0;
    for (source_id, email, phone) in &landed {
        assert_eq!(phone, &None, "{source_id}: the override dropped Phone");
        if let (Some(email), Some(original)) = (email, emails.get(source_id)) {
            assert_ne!(email, original, "{source_id}");
            assert!(email.contains('@'), "{email}");
            pseudonymised += 1;
        }
    }
    assert!(pseudonymised > 0);
    assert!(
        embedded_snapshot["tasks"].is_empty(),
        "{:?}",
        embedded_snapshot["tasks"].first()
    );

    // Per object, the serverless run's report counts what the embedded run counted.
    let objects = final_report["report"]["report"]["objects"]
        .as_array()
        .or_else(|| final_report["report"]["objects"].as_array())
        .cloned()
        .unwrap_or_default();
    assert!(!objects.is_empty(), "{final_report}");
    for object in &local.report.objects {
        let found = objects
            .iter()
            .find(|entry| entry["object"] == object.object.as_str())
            .unwrap_or_else(|| panic!("{} missing from {final_report}", object.object));
        assert_eq!(
            found["counts"]["created"].as_u64(),
            Some(object.counts.created),
            "{}: {found}",
            object.object
        );
    }

    // The backend heard of the dry run and the completion, signed.
    let received = webhooks.lock().unwrap().clone();
    let events = webhook_events(&webhooks);
    // One dry_run_ready per dry run: the first, and one for each change of selections.
    assert_eq!(
        events,
        vec![
            "dry_run_ready",
            "dry_run_ready",
            "dry_run_ready",
            "completed"
        ],
        "{events:?}"
    );
    for (signature, body) in &received {
        assert!(verify_signature(signature, body), "{signature}");
    }
    assert!(!run_id.is_empty());

    // Rolled back through the API and the rollback state machine, the destination holds
    // what the embedded rollback of the embedded run leaves.
    let (status, body) = stack
        .post(OTHER_ACCOUNT, &format!("/migrations/{id}/rollback"))
        .await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = stack
        .post(ACCOUNT, &format!("/migrations/{id}/rollback"))
        .await;
    assert_eq!(status, 202, "{body}");
    stack
        .wait_for_status(ACCOUNT, &id, &["rolled_back"], Duration::from_secs(600))
        .await;
    let (status, body) = stack
        .post(ACCOUNT, &format!("/migrations/{id}/rollback"))
        .await;
    assert_eq!(
        status, 409,
        "only a succeeded migration is rolled back: {body}"
    );
    ferry_core::run::rollback(
        &ferry_core::run::RollbackRunPorts {
            id_map: &embedded.store,
            runs: &embedded.store,
            destination: &embedded.destination,
        },
        &tenant,
        &local.run.run_id,
        &ferry_model::ports::NoProgress,
    )
    .await
    .expect("the embedded rollback completes");
    let serverless_rolled_back = behind.destination_snapshot();
    let embedded_rolled_back = embedded.destination_snapshot();
    assert_eq!(serverless_rolled_back, embedded_rolled_back);
    assert!(
        embedded_rolled_back["contacts"].is_empty(),
        "{:?}",
        embedded_rolled_back["contacts"].first()
    );
    let events = webhook_events(&webhooks);
    assert_eq!(events.last().map(String::as_str), Some("rolled_back"));
    drop(stack);
    server.shutdown().await;
}

/// The same SQS chunk delivered twice, and a `load` killed after the destination took a
/// batch but before the chunk was recorded: SQS delivers the chunk again, and the
/// destination ends with every record once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_chunk_delivered_twice_or_after_a_killed_load_lands_once() {
    use ferry_aws::{DynamoRunStore, S3Staging};
    use ferry_model::ports::RunStore;
    use ferry_serverless_tests::HoldingProxy;

    let Some(endpoint) = emulator() else { return };
    let simulator = start_org(300, 5).await;
    let dir = tempfile::tempdir().unwrap();
    let (behind, server) = reference_destination(&dir.path().join("destination")).await;
    let proxy = HoldingProxy::start(server.base_url()).await;
    let settings = BTreeMap::from([
        ("FERRY_DESTINATION_URL".to_owned(), proxy.url.clone()),
        ("FERRY_DESTINATION_KEY_ID".to_owned(), KEY_ID.to_owned()),
        (
            "FERRY_DESTINATION_SECRET".to_owned(),
            DESTINATION_SECRET.to_owned(),
        ),
    ]);
    let suffix = format!("sqs{}", std::process::id());
    let stack = Stack::start(&endpoint, &suffix, &settings).await;

    // A run's plan and its staged chunks, as `discover` and `extract` leave them.
    let runs = DynamoRunStore::new(stack.clients.dynamodb.clone(), &stack.resources.table);
    let staging = S3Staging::new(stack.clients.s3.clone(), &stack.resources.bucket);
    let client = connect(&simulator).await;
    let tenant = TenantId::new("111122223333.chunks");
    let run = RunId::new("run-chunks");
    let discovery = ferry_core::steps::discover(
        &client,
        tenant.clone(),
        &ferry_tests::companies_and_contacts_map(),
        &DiscoverOptions::default(),
    )
    .await
    .unwrap();
    let plan = discovery.plan;
    runs.save_plan(&run, &plan).await.unwrap();
    // The destination's custom fields, as `discover` prepares them when it opens a run.
    let direct = ferry_destination_http::HttpDestination::new(
        ferry_destination_http::HttpDestinationConfig::new(
            server.base_url(),
            KEY_ID,
            Secret::new(DESTINATION_SECRET),
        ),
    )
    .unwrap();
    ferry_core::steps::prepare_destination(&direct, &plan)
        .await
        .unwrap();
    let queue = ferry_embedded::InProcessQueue::new();
    let extract = ExtractConfig {
        chunk_records: 12,
        ..ExtractConfig::default()
    };
    let mut messages = Vec::new();
    for object in &plan.objects {
        ferry_core::steps::extract_object(
            &ferry_core::steps::ExtractPorts {
                salesforce: &client,
                staging: &staging,
                queue: &queue,
                runs: &runs,
                pseudonymise: None,
            },
            &ferry_embedded::TokioSleeper,
            &ferry_model::ports::NoProgress,
            &run,
            &plan,
            object,
            extract,
        )
        .await
        .unwrap();
        while let Some(message) = ferry_model::ports::LocalQueue::receive(&queue)
            .await
            .unwrap()
        {
            messages.push(message);
        }
    }
    let accounts: Vec<_> = messages.iter().filter(|m| m.object == "Account").collect();
    let contacts: Vec<_> = messages.iter().filter(|m| m.object == "Contact").collect();
    assert!(accounts.len() >= 2 && contacts.len() >= 3, "{messages:?}");

    // Every account chunk, each sent twice.
    for message in &accounts {
        stack.send_chunk(message).await;
        stack.send_chunk(message).await;
    }
    let companies = |behind: &Embedded| behind.destination_snapshot()["companies"].clone();
    let after_accounts = companies(&behind);
    assert_eq!(
        after_accounts.len() as u64,
        simulator.record_counts()["Account"],
        "{}",
        stack.watch_log()
    );

    // The first contact chunk: the destination takes its upsert, then the load dies.
    let armed = proxy.arm("/entities/contact/upsert");
    let first = contacts[0].clone();
    let sending = {
        let sqs = stack.clients.sqs.clone();
        let queue_url = stack.resources.queue_url.clone();
        let body = serde_json::to_string(&first).unwrap();
        tokio::spawn(async move {
            sqs.send_message()
                .queue_url(queue_url)
                .message_body(body)
                .send()
                .await
        })
    };
    tokio::time::timeout(Duration::from_secs(300), armed.held)
        .await
        .expect("the contact upsert reaches the destination")
        .unwrap();
    assert_eq!(stack.kill_function("load"), 1, "{}", stack.watch_log());
    // watch does not restart a killed function: a fresh one, as Lambda starts a new sandbox.
    // The invocation in flight fails with it, and the message is due again.
    let mut stack = stack;
    stack.restart_watch().await;
    let _ = armed.release.send(());
    sending.await.unwrap().unwrap();
    let records = runs.run_records(&run).await.unwrap();
    assert!(
        !records
            .chunks
            .iter()
            .any(|chunk| chunk.object == "Contact" && chunk.chunk == first.chunk),
        "the killed load recorded nothing"
    );

    // The remaining contact chunks; moto hands the failed message to `load` again with them.
    for message in &contacts[1..] {
        stack.send_chunk(message).await;
    }
    let records = runs.run_records(&run).await.unwrap();
    for message in accounts.iter().chain(&contacts) {
        assert!(
            records
                .chunks
                .iter()
                .any(|chunk| chunk.object == message.object && chunk.chunk == message.chunk),
            "chunk {} of {} recorded\n{}",
            message.chunk,
            message.object,
            stack.watch_log()
        );
    }
    let snapshot = behind.destination_snapshot();
    assert_eq!(snapshot["companies"], after_accounts);
    let contact_rows = &snapshot["contacts"];
    assert_eq!(
        contact_rows.len() as u64,
        simulator.record_counts()["Contact"],
        "every contact once"
    );
    let mut unique = contact_rows.clone();
    unique.dedup();
    assert_eq!(&unique, contact_rows);
    // Nothing went to the dead-letter queue.
    let attributes = stack
        .clients
        .sqs
        .get_queue_attributes()
        .queue_url(&stack.resources.dead_letter_queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .unwrap();
    assert_eq!(
        attributes
            .attributes()
            .and_then(|attributes| attributes
                .get(&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages))
            .map(String::as_str),
        Some("0")
    );
    drop(stack);
    server.shutdown().await;
}
