//! The contract end to end: `HttpDestination` against the reference server over a counting
//! in-memory destination, and the OpenAPI document against what the server serves.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use async_trait::async_trait;
use ferry_destination_http::signing::{self, SignedParts, sha256_hex};
use ferry_destination_http::wire::routes;
use ferry_destination_http::{HttpDestination, HttpDestinationConfig, RetryPolicy};
use ferry_model::ids::{DestinationId, SalesforceId, TenantId};
use ferry_model::mapping::EntityKind;
use ferry_model::plan::CustomFieldDefinition;
use ferry_model::ports::{
    Destination, DestinationUser, FileBody, FileUpload, LinkPatch, UpsertOutcome, UserStatus,
};
use ferry_model::records::DestinationRecord;
use ferry_model::secret::Secret;
use ferry_model::{ErrorClass, PortError};
use ferry_reference_server::{REPLAYED_HEADER, ReferenceServerConfig, RunningServer};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const KEY_ID: &str = "ferry-test";
const SECRET: &str = "test-secret-do-not-use";

/// A destination in memory that counts the calls it is given, and can be told to fail the
/// next few upserts as a busy backend would.
#[derive(Default)]
struct Counting {
    state: Mutex<CountingState>,
}

#[derive(Default)]
struct CountingState {
    upsert_calls: u32,
    upserted_records: u32,
    fail_next_upserts: u32,
    /// How long the next upsert takes, as a slow backend's would.
    delay_next_upsert: Option<Duration>,
    ids: BTreeMap<(String, String), DestinationId>,
    files: BTreeMap<String, Vec<u8>>,
}

impl Counting {
    fn upsert_calls(&self) -> u32 {
        self.state.lock().unwrap().upsert_calls
    }
}

#[async_trait]
impl Destination for Counting {
    async fn ensure_custom_fields(
        &self,
        _tenant: &TenantId,
        _definitions: &[CustomFieldDefinition],
    ) -> Result<(), PortError> {
        Ok(())
    }

    async fn upsert(
        &self,
        _tenant: &TenantId,
        _entity: EntityKind,
        records: &[DestinationRecord],
    ) -> Result<Vec<UpsertOutcome>, PortError> {
        let delay = self.state.lock().unwrap().delay_next_upsert.take();
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
        }
        let mut state = self.state.lock().unwrap();
        state.upsert_calls += 1;
        if state.fail_next_upserts > 0 {
            state.fail_next_upserts -= 1;
            return Err(PortError::new(
                ErrorClass::Retryable,
                "the database is busy",
            ));
        }
        let mut outcomes = Vec::new();
        for record in records {
            state.upserted_records += 1;
            if !record.fields.contains_key("name") {
                outcomes.push(UpsertOutcome::Rejected {
                    reason: "company.name is required".into(),
                });
                continue;
            }
            let key = (record.source_object.clone(), record.source_id.to_string());
            let next = DestinationId::new((state.ids.len() + 1).to_string());
            match state.ids.get(&key) {
                Some(id) => outcomes.push(UpsertOutcome::Updated(id.clone())),
                None => {
                    state.ids.insert(key, next.clone());
                    outcomes.push(UpsertOutcome::Created(next));
                }
            }
        }
        Ok(outcomes)
    }

    async fn patch_links(
        &self,
        _tenant: &TenantId,
        _entity: EntityKind,
        patches: &[LinkPatch],
    ) -> Result<Vec<Result<(), String>>, PortError> {
        Ok(patches.iter().map(|_| Ok(())).collect())
    }

    async fn get(
        &self,
        _tenant: &TenantId,
        _entity: EntityKind,
        ids: &[DestinationId],
    ) -> Result<Vec<Option<DestinationRecord>>, PortError> {
        Ok(ids.iter().map(|_| None).collect())
    }

    async fn delete(
        &self,
        _tenant: &TenantId,
        _entity: EntityKind,
        ids: &[DestinationId],
    ) -> Result<Vec<Result<(), String>>, PortError> {
        Ok(ids.iter().map(|_| Ok(())).collect())
    }

    async fn users(&self, _tenant: &TenantId) -> Result<Vec<DestinationUser>, PortError> {
        Ok(vec![DestinationUser {
            id: DestinationId::new("u1"),
            email: "ada@example.com".into(),
            name: "Ada".into(),
            active: None,
        }])
    }

    async fn set_user_status(
        &self,
        _tenant: &TenantId,
        statuses: &[UserStatus],
    ) -> Result<Vec<Result<(), String>>, PortError> {
        Ok(statuses
            .iter()
            .map(|status| {
                if status.id.as_str() == "u1" {
                    Ok(())
                } else {
                    Err(format!("no destination user has the id {}", status.id))
                }
            })
            .collect())
    }

    async fn put_file(
        &self,
        _tenant: &TenantId,
        _entity: EntityKind,
        record: &DestinationId,
        upload: FileUpload,
    ) -> Result<(), PortError> {
        let FileBody::Bytes(bytes) = upload.body else {
            return Err(PortError::permanent("bytes expected"));
        };
        self.state
            .lock()
            .unwrap()
            .files
            .insert(record.to_string(), bytes);
        Ok(())
    }
}

async fn start() -> (Arc<Counting>, RunningServer) {
    let destination = Arc::new(Counting::default());
    let config =
        ReferenceServerConfig::new(destination.clone(), KEY_ID, Secret::new(SECRET)).unwrap();
    let server = ferry_reference_server::serve(config, ([127, 0, 0, 1], 0).into())
        .await
        .unwrap();
    (destination, server)
}

fn client(server: &RunningServer, max_batch: usize) -> HttpDestination {
    HttpDestination::new(HttpDestinationConfig {
        max_batch,
        retry: RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
        },
        idempotency_scope: "run-1".into(),
        ..HttpDestinationConfig::new(server.base_url(), KEY_ID, Secret::new(SECRET))
    })
    .unwrap()
}

fn company(index: u32, name: Option<&str>) -> DestinationRecord {
    DestinationRecord {
        source_object: "Account".into(),
        source_id: SalesforceId::parse(&format!("001{index:012}")).unwrap(),
        fields: name
            .map(|name| BTreeMap::from([("name".to_owned(), serde_json::json!(name))]))
            .unwrap_or_default(),
        links: BTreeMap::new(),
        custom_fields: BTreeMap::new(),
    }
}

/// Sends a request signed as the contract says, with the given idempotency key.
async fn signed(
    server: &RunningServer,
    method: reqwest::Method,
    path: &str,
    key: Option<&str>,
    body: &[u8],
    secret: &str,
    timestamp: u64,
) -> reqwest::Response {
    let body_sha256 = sha256_hex(body);
    let signature = signing::sign(
        secret.as_bytes(),
        &SignedParts {
            timestamp,
            method: method.as_str(),
            path_and_query: path,
            idempotency_key: key,
            body_sha256: &body_sha256,
        },
    );
    let mut request = reqwest::Client::new()
        .request(method, format!("{}{path}", server.base_url()))
        .header(signing::KEY_ID_HEADER, KEY_ID)
        .header(signing::TIMESTAMP_HEADER, timestamp.to_string())
        .header(signing::SIGNATURE_HEADER, signature)
        .header("content-type", "application/json")
        .body(body.to_vec());
    if let Some(key) = key {
        request = request.header(signing::IDEMPOTENCY_KEY_HEADER, key);
    }
    request.send().await.unwrap()
}

async fn error_code(response: reqwest::Response) -> (u16, String, String) {
    let status = response.status().as_u16();
    let body: serde_json::Value = response.json().await.unwrap();
    (
        status,
        body["error"]["code"].as_str().unwrap().to_owned(),
        body["error"]["message"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn a_key_acts_only_for_its_tenants_and_any_other_is_not_found() {
    let destination = Arc::new(Counting::default());
    let config = ReferenceServerConfig::new(destination.clone(), KEY_ID, Secret::new(SECRET))
        .unwrap()
        .for_tenants(["acme"]);
    let server = ferry_reference_server::serve(config, ([127, 0, 0, 1], 0).into())
        .await
        .unwrap();
    let http = client(&server, 500);
    let landed = http
        .upsert(
            &TenantId::new("acme"),
            EntityKind::Company,
            &[company(1, Some("Acme"))],
        )
        .await
        .unwrap();
    assert_eq!(landed.len(), 1);
    assert_eq!(destination.upsert_calls(), 1);
    for tenant in ["other", "acme2"] {
        let refused = http
            .upsert(
                &TenantId::new(tenant),
                EntityKind::Company,
                &[company(2, Some("Not acme"))],
            )
            .await
            .unwrap_err();
        assert!(!refused.is_retryable());
        assert!(
            refused
                .chain()
                .contains(&format!("tenant \"{tenant}\" not found")),
            "{}",
            refused.chain()
        );
        let listed = http.users(&TenantId::new(tenant)).await.unwrap_err();
        assert!(listed.chain().contains("not_found"), "{}", listed.chain());
    }
    // Percent-encoding the tenant in the path does not get around it.
    let response = signed(
        &server,
        reqwest::Method::GET,
        "/v1/tenants/ot%68er/users",
        None,
        b"",
        SECRET,
        signing::unix_now(),
    )
    .await;
    let (status, code, _) = error_code(response).await;
    assert_eq!((status, code.as_str()), (404, "not_found"));
    assert_eq!(destination.upsert_calls(), 1);
    server.shutdown().await;
}

#[tokio::test]
async fn batches_are_split_and_outcomes_come_back_in_order() {
    let (destination, server) = start().await;
    let http = client(&server, 2);
    let tenant = TenantId::new("acme");
    let records: Vec<_> = (1..=5)
        .map(|index| company(index, (index != 3).then_some("Acme")))
        .collect();
    let outcomes = http
        .upsert(&tenant, EntityKind::Company, &records)
        .await
        .unwrap();
    assert_eq!(destination.upsert_calls(), 3, "5 records in batches of 2");
    assert_eq!(outcomes.len(), 5);
    assert!(matches!(&outcomes[0], UpsertOutcome::Created(id) if id.as_str() == "1"));
    assert_eq!(
        outcomes[2],
        UpsertOutcome::Rejected {
            reason: "company.name is required".into()
        }
    );
    assert!(matches!(&outcomes[4], UpsertOutcome::Created(id) if id.as_str() == "4"));
    assert_eq!(
        http.users(&tenant).await.unwrap()[0].email,
        "ada@example.com"
    );
    assert_eq!(
        http.delete(&tenant, EntityKind::Company, &[DestinationId::new("1")])
            .await
            .unwrap(),
        vec![Ok(())]
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_retried_request_is_answered_from_the_store_without_a_second_write() {
    let (destination, server) = start().await;
    let path = "/v1/tenants/acme/entities/company/upsert";
    let body =
        serde_json::to_vec(&serde_json::json!({"records": [company(1, Some("Acme"))]})).unwrap();
    let now = signing::unix_now();
    let first = signed(
        &server,
        reqwest::Method::POST,
        path,
        Some("key-1"),
        &body,
        SECRET,
        now,
    )
    .await;
    assert_eq!(first.status(), 200);
    assert!(first.headers().get(REPLAYED_HEADER).is_none());
    let first: serde_json::Value = first.json().await.unwrap();
    assert_eq!(first["outcomes"][0]["status"], "created");

    let again = signed(
        &server,
        reqwest::Method::POST,
        path,
        Some("key-1"),
        &body,
        SECRET,
        now,
    )
    .await;
    assert_eq!(again.status(), 200);
    assert_eq!(again.headers()[REPLAYED_HEADER], "true");
    assert_eq!(again.json::<serde_json::Value>().await.unwrap(), first);
    assert_eq!(destination.upsert_calls(), 1, "the replay wrote nothing");

    // The same key for another body is refused, and nothing is written.
    let other =
        serde_json::to_vec(&serde_json::json!({"records": [company(2, Some("Other"))]})).unwrap();
    let reused = signed(
        &server,
        reqwest::Method::POST,
        path,
        Some("key-1"),
        &other,
        SECRET,
        now,
    )
    .await;
    let (status, code, message) = error_code(reused).await;
    assert_eq!(
        (status, code.as_str()),
        (422, "idempotency_key_reused"),
        "{message}"
    );
    assert_eq!(destination.upsert_calls(), 1);

    // A mutating request without a key is refused.
    let keyless = signed(
        &server,
        reqwest::Method::POST,
        path,
        None,
        &body,
        SECRET,
        now,
    )
    .await;
    let (status, code, message) = error_code(keyless).await;
    assert_eq!((status, code.as_str()), (400, "invalid_request"));
    assert!(message.contains("Idempotency-Key"), "{message}");

    // Through the client: the same upsert in the same scope replays, in another scope it
    // is carried out again and reports an update.
    let http = client(&server, 500);
    let records = [company(7, Some("Seven"))];
    let tenant = TenantId::new("acme");
    let created = http
        .upsert(&tenant, EntityKind::Company, &records)
        .await
        .unwrap();
    let replayed = http
        .upsert(&tenant, EntityKind::Company, &records)
        .await
        .unwrap();
    assert_eq!(created, replayed);
    assert_eq!(destination.upsert_calls(), 2);
    let next_run = http
        .scoped("run-2")
        .upsert(&tenant, EntityKind::Company, &records)
        .await
        .unwrap();
    assert!(
        matches!(next_run[0], UpsertOutcome::Updated(_)),
        "{next_run:?}"
    );
    assert_eq!(destination.upsert_calls(), 3);
    server.shutdown().await;
}

#[tokio::test]
async fn a_busy_destination_is_retried_and_the_failure_is_not_replayed() {
    let (destination, server) = start().await;
    destination.state.lock().unwrap().fail_next_upserts = 2;
    let http = client(&server, 500);
    let outcomes = http
        .upsert(
            &TenantId::new("acme"),
            EntityKind::Company,
            &[company(1, Some("Acme"))],
        )
        .await
        .unwrap();
    assert!(matches!(outcomes[0], UpsertOutcome::Created(_)));
    assert_eq!(destination.upsert_calls(), 3);

    // Past the attempts, the error is retryable and names the call and the server's message.
    destination.state.lock().unwrap().fail_next_upserts = 10;
    let error = http
        .upsert(
            &TenantId::new("acme"),
            EntityKind::Company,
            &[company(2, Some("B"))],
        )
        .await
        .unwrap_err();
    assert!(error.is_retryable());
    let chain = error.chain();
    assert!(chain.contains("upsert"), "{chain}");
    assert!(chain.contains("503"), "{chain}");
    assert!(chain.contains("the database is busy"), "{chain}");
    assert!(!chain.contains(SECRET), "{chain}");
    server.shutdown().await;
}

#[tokio::test]
async fn a_request_the_client_gave_up_on_finishes_and_its_retry_gets_its_answer() {
    let (destination, server) = start().await;
    destination.state.lock().unwrap().delay_next_upsert = Some(Duration::from_millis(800));
    let http = HttpDestination::new(HttpDestinationConfig {
        timeout: Duration::from_millis(300),
        retry: RetryPolicy {
            max_attempts: 12,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(300),
        },
        idempotency_scope: "run-1".into(),
        ..HttpDestinationConfig::new(server.base_url(), KEY_ID, Secret::new(SECRET))
    })
    .unwrap();
    // The first attempt times out while the destination is still writing; the retries are
    // told to wait (409) and then get the answer the first attempt stored.
    let outcomes = http
        .upsert(
            &TenantId::new("acme"),
            EntityKind::Company,
            &[company(1, Some("Acme"))],
        )
        .await
        .unwrap();
    assert!(
        matches!(outcomes[0], UpsertOutcome::Created(_)),
        "{outcomes:?}"
    );
    assert_eq!(destination.upsert_calls(), 1);
    server.shutdown().await;
}

#[tokio::test]
async fn wrongly_signed_stale_and_unknown_key_requests_are_refused() {
    let (destination, server) = start().await;
    let path = "/v1/tenants/acme/entities/company/upsert";
    let body = br#"{"records":[]}"#;
    let now = signing::unix_now();
    for (secret, timestamp, expected) in [
        ("wrong-secret", now, "does not match"),
        (SECRET, now - 301, "seconds away"),
        (SECRET, now + 400, "seconds away"),
    ] {
        let response = signed(
            &server,
            reqwest::Method::POST,
            path,
            Some("k"),
            body,
            secret,
            timestamp,
        )
        .await;
        let (status, code, message) = error_code(response).await;
        assert_eq!((status, code.as_str()), (401, "unauthorized"));
        assert!(message.contains(expected), "{message}");
    }
    let http = HttpDestination::new(HttpDestinationConfig::new(
        server.base_url(),
        "someone-else",
        Secret::new(SECRET),
    ))
    .unwrap();
    let error = http.users(&TenantId::new("acme")).await.unwrap_err();
    assert!(!error.is_retryable());
    assert!(error.chain().contains("401"), "{}", error.chain());
    assert_eq!(destination.upsert_calls(), 0);
    server.shutdown().await;
}

#[tokio::test]
async fn oversized_batches_unknown_entities_and_bad_bodies_are_refused_by_name() {
    let (destination, server) = start().await;
    let now = signing::unix_now();
    let ids: Vec<String> = (0..501).map(|index| index.to_string()).collect();
    let body = serde_json::to_vec(&serde_json::json!({ "ids": ids })).unwrap();
    let response = signed(
        &server,
        reqwest::Method::POST,
        "/v1/tenants/acme/entities/company/get",
        None,
        &body,
        SECRET,
        now,
    )
    .await;
    let (status, code, message) = error_code(response).await;
    assert_eq!((status, code.as_str()), (413, "too_large"));
    assert!(
        message.contains("501 ids") && message.contains("500"),
        "{message}"
    );

    let response = signed(
        &server,
        reqwest::Method::POST,
        "/v1/tenants/acme/entities/widget/upsert",
        Some("key-widget"),
        br#"{"records":[]}"#,
        SECRET,
        now,
    )
    .await;
    let (status, code, message) = error_code(response).await;
    assert_eq!((status, code.as_str()), (404, "not_found"));
    for entity in EntityKind::ALL {
        assert!(message.contains(entity.as_str()), "{message}");
    }

    let response = signed(
        &server,
        reqwest::Method::POST,
        "/v1/tenants/acme/entities/company/upsert",
        Some("key-bad"),
        br#"{"rows":[]}"#,
        SECRET,
        now,
    )
    .await;
    let (status, code, message) = error_code(response).await;
    assert_eq!((status, code.as_str()), (400, "invalid_request"));
    assert!(message.contains("records"), "{message}");
    assert_eq!(destination.upsert_calls(), 0);
    server.shutdown().await;
}

#[tokio::test]
async fn file_bytes_are_checked_against_their_declared_hash_and_urls_must_be_http() {
    let (destination, server) = start().await;
    let http = client(&server, 500);
    let tenant = TenantId::new("acme");
    let record = DestinationId::new("5");
    let bytes = b"%PDF-1.7 hello".to_vec();
    let upload = |sha256: String, body: FileBody| FileUpload {
        file_name: "hello world.pdf".into(),
        content_type: Some("application/pdf".into()),
        size: bytes.len() as u64,
        sha256,
        body,
    };
    http.put_file(
        &tenant,
        EntityKind::Company,
        &record,
        upload(sha256_hex(&bytes), FileBody::Bytes(bytes.clone())),
    )
    .await
    .unwrap();
    assert_eq!(destination.state.lock().unwrap().files["5"], bytes);

    let wrong = http
        .put_file(
            &tenant,
            EntityKind::Company,
            &record,
            upload("00".repeat(32), FileBody::Bytes(bytes.clone())),
        )
        .await
        .unwrap_err();
    assert!(!wrong.is_retryable());
    assert!(wrong.chain().contains("file_mismatch"), "{}", wrong.chain());

    let presigned = "ftp://files.example.com/hello.pdf?X-Amz-Signature=secret-part";
    let refused = http
        .put_file(
            &tenant,
            EntityKind::Company,
            &record,
            upload(sha256_hex(&bytes), FileBody::Url(presigned.into())),
        )
        .await
        .unwrap_err();
    let chain = refused.chain();
    assert!(chain.contains("only http and https"), "{chain}");
    assert!(
        !chain.contains("secret-part"),
        "the URL is never echoed: {chain}"
    );

    // By default a file URL may not reach into the server's own network: loopback, private
    // and link-local (cloud metadata) addresses are refused, named, before any connection.
    for (location, what) in [
        (
            "http://127.0.0.1:9/hello.pdf?X-Amz-Signature=secret-part",
            "a loopback address (127.0.0.1)",
        ),
        (
            "http://169.254.169.254/latest/meta-data/",
            "a link-local address (cloud metadata services answer there) (169.254.169.254)",
        ),
        (
            "http://[fd00:ec2::254]/latest/",
            "a private (unique local) address (fd00:ec2::254)",
        ),
        ("http://localhost:9/hello.pdf", "a loopback address"),
    ] {
        let refused = http
            .put_file(
                &tenant,
                EntityKind::Company,
                &record,
                upload(sha256_hex(&bytes), FileBody::Url(location.into())),
            )
            .await
            .unwrap_err();
        let chain = refused.chain();
        assert!(!refused.is_retryable(), "{chain}");
        assert!(
            chain.contains(&format!("the file URL's host is {what}"))
                && chain.contains("this server fetches only public addresses")
                && !chain.contains("secret-part"),
            "{location}: {chain}"
        );
    }
    server.shutdown().await;

    // Allowed for a local stack, a fetch still never follows a redirect (it could point
    // anywhere).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let redirecting = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut request = [0u8; 2048];
            let _ = tokio::io::AsyncReadExt::read(&mut socket, &mut request).await;
            let _ = tokio::io::AsyncWriteExt::write_all(
                &mut socket,
                b"HTTP/1.1 302 Found\r\nLocation: http://169.254.169.254/\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            )
            .await;
        }
    });
    let config = ReferenceServerConfig {
        fetch_scope: ferry_reference_server::fetch::FetchScope::AnyAddress,
        ..ReferenceServerConfig::new(destination.clone(), KEY_ID, Secret::new(SECRET)).unwrap()
    };
    let server = ferry_reference_server::serve(config, ([127, 0, 0, 1], 0).into())
        .await
        .unwrap();
    let http = client(&server, 500);
    let refused = http
        .put_file(
            &tenant,
            EntityKind::Company,
            &record,
            upload(
                sha256_hex(&bytes),
                FileBody::Url(format!("http://{redirecting}/hello.pdf")),
            ),
        )
        .await
        .unwrap_err();
    let chain = refused.chain();
    assert!(
        chain.contains("answered a redirect (302), which is not followed"),
        "{chain}"
    );
    server.shutdown().await;
}

/// (METHOD, path) of every operation in the OpenAPI document.
fn documented_operations() -> BTreeSet<(String, String)> {
    let text = include_str!("../../../infra/destination-api.openapi.json");
    let document: serde_json::Value = serde_json::from_str(text).unwrap();
    assert_eq!(document["openapi"].as_str().unwrap().get(..3), Some("3.1"));
    let mut operations = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, _) in item.as_object().unwrap() {
            if ["get", "put", "post", "delete", "patch"].contains(&method.as_str()) {
                operations.insert((method.to_ascii_uppercase(), path.clone()));
            }
        }
    }
    operations
}

#[tokio::test]
async fn every_route_served_is_documented_and_every_documented_route_is_served() {
    let documented = documented_operations();
    let served: BTreeSet<(String, String)> = ferry_reference_server::served_routes()
        .into_iter()
        .map(|(method, path)| (method.to_owned(), path.to_owned()))
        .collect();
    let contract: BTreeSet<(String, String)> = routes::ALL
        .iter()
        .map(|route| (route.method.to_owned(), route.path.to_owned()))
        .collect();
    assert_eq!(served, documented, "served routes vs the OpenAPI document");
    assert_eq!(contract, documented, "wire::routes vs the OpenAPI document");

    // And the running server really routes each one: an unsigned request reaches the
    // signature check (401), where an unknown route or method would answer 404 or 405.
    let (_, server) = start().await;
    let client = reqwest::Client::new();
    for (method, path) in &documented {
        let concrete = path
            .replace("{tenant}", "acme")
            .replace("{entity}", EntityKind::ALL[0].as_str())
            .replace("{id}", "1");
        let response = client
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                format!("{}{concrete}", server.base_url()),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{method} {path}");
    }
    let unknown = client
        .get(format!("{}/v1/nothing", server.base_url()))
        .send()
        .await
        .unwrap();
    let (status, code, _) = error_code(unknown).await;
    assert_eq!((status, code.as_str()), (404, "not_found"));
    server.shutdown().await;
}

#[test]
fn every_schema_reference_in_the_document_resolves() {
    let text = include_str!("../../../infra/destination-api.openapi.json");
    let document: serde_json::Value = serde_json::from_str(text).unwrap();
    let mut references = Vec::new();
    collect_references(&document, &mut references);
    assert!(!references.is_empty());
    for reference in references {
        let pointer = reference.trim_start_matches('#');
        assert!(
            document.pointer(pointer).is_some(),
            "{reference} does not resolve"
        );
    }
    // The documented signing vector is the one the unit tests check.
    assert!(text.contains("e9e2b2f7ef9874ab941c6bcffde8f123decba6e41df193de8e1a0d2ffdf3f1d8"));
}

fn collect_references(value: &serde_json::Value, into: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, inner) in map {
                if key == "$ref" {
                    if let Some(text) = inner.as_str() {
                        into.push(text.to_owned());
                    }
                } else {
                    collect_references(inner, into);
                }
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                collect_references(item, into);
            }
        }
        _ => {}
    }
}

/// The document lists every entity of the destination with each of its standard fields and
/// links, so a SaaS team can build its tables from the document alone.
#[test]
fn every_entity_is_documented_with_its_fields_and_links() {
    let text = include_str!("../../../infra/destination-api.openapi.json");
    let document: serde_json::Value = serde_json::from_str(text).unwrap();
    let description = document["info"]["description"].as_str().unwrap();
    let section = description
        .split("## Entities")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("an Entities section");
    for entity in EntityKind::ALL {
        let line = section
            .lines()
            .find(|line| line.starts_with(&format!("- `{}`:", entity.as_str())))
            .unwrap_or_else(|| panic!("{} is not documented", entity.as_str()));
        for field in entity.standard_fields() {
            assert!(
                line.contains(&format!("`{field}`")),
                "{}.{field} is not documented",
                entity.as_str()
            );
        }
        for (link, target) in entity.links() {
            assert!(
                line.contains(&format!("`{link}` → `{}`", target.as_str())),
                "link {}.{link} is not documented",
                entity.as_str()
            );
        }
    }
}
