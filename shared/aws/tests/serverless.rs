//! The serverless-only adapters (SQS, KMS, Step Functions, presigned and multipart S3, the
//! migration store) against the AWS emulator; skipped and required exactly like
//! `emulator.rs`: run alone with plain `cargo test` they say they were not run, under the
//! test command (`FERRY_REQUIRE_AWS_EMULATOR=1`) a missing emulator fails them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use ferry_aws::{
    AwsClients, Executions, MULTIPART_PART_SIZE, MigrationOptions, MigrationRecord,
    MigrationStatus, MigrationStore, MigrationStoreError, OAuthState, S3Staging, SealedSecret,
    SqsQueue, TokenVault, Waiting,
};
use ferry_model::ids::{RunId, TenantId};
use ferry_model::ports::{ChunkMessage, Staging, WorkQueue};
use ferry_model::secret::Secret;
use std::time::Duration;

mod common;

use common::{clients, unique};

async fn table(clients: &AwsClients) -> String {
    common::table(clients, "ferry-serverless").await
}

async fn bucket(clients: &AwsClients) -> String {
    common::bucket(clients, "ferry-serverless").await
}

async fn vault(clients: &AwsClients) -> TokenVault {
    let key = clients
        .kms
        .create_key()
        .description("ferry tests")
        .send()
        .await
        .unwrap();
    TokenVault::new(
        clients.kms.clone(),
        key.key_metadata().unwrap().key_id().to_owned(),
    )
}

#[tokio::test]
async fn chunk_messages_round_trip_through_sqs() {
    let Some(clients) = clients().await else {
        return;
    };
    let queue_url = clients
        .sqs
        .create_queue()
        .queue_name(unique("ferry-chunks"))
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    let queue = SqsQueue::new(clients.sqs.clone(), &queue_url);
    let message = ChunkMessage {
        run_id: RunId::new("run-1"),
        tenant: TenantId::new("acme"),
        object: "Account".to_owned(),
        chunk: 3,
        key: "acme/run-1/Account/000003.jsonl".to_owned(),
        records: 2000,
    };
    queue.send(&message).await.unwrap();

    let received = clients
        .sqs
        .receive_message()
        .queue_url(&queue_url)
        .max_number_of_messages(10)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    let bodies: Vec<ChunkMessage> = received
        .messages()
        .iter()
        .map(|message| serde_json::from_str(message.body().unwrap()).unwrap())
        .collect();
    assert_eq!(bodies, vec![message]);
}

#[tokio::test]
async fn sealed_secrets_open_only_for_their_tenant() {
    let Some(clients) = clients().await else {
        return;
    };
    let vault = vault(&clients).await;
    let acme = TenantId::new("acme");
    let token = "5Aep861refresh-token-of-acme";
    let sealed = vault.seal(&acme, &Secret::new(token)).await.unwrap();

    // What gets stored holds no plaintext.
    let stored = serde_json::to_string(&sealed).unwrap();
    assert!(!stored.contains(token), "{stored}");
    assert!(!stored.contains("5Aep861"));
    assert!(!format!("{sealed:?}").contains(token));
    let stored: SealedSecret = serde_json::from_str(&stored).unwrap();

    assert_eq!(vault.open(&acme, &stored).await.unwrap().expose(), token);
    // Each seal has its own data key and nonce.
    let again = vault.seal(&acme, &Secret::new(token)).await.unwrap();
    assert_ne!(again.nonce, sealed.nonce);
    assert_ne!(again.ciphertext, sealed.ciphertext);

    // Moved to another tenant's record, it does not open.
    let error = vault
        .open(&TenantId::new("globex"), &stored)
        .await
        .unwrap_err();
    assert!(!error.is_retryable(), "{}", error.chain());

    // An altered ciphertext does not open either.
    let mut altered = stored.clone();
    let mut bytes: Vec<u8> = altered.ciphertext.into_bytes();
    bytes[0] = if bytes[0] == b'A' { b'B' } else { b'A' };
    altered.ciphertext = String::from_utf8(bytes).unwrap();
    assert!(vault.open(&acme, &altered).await.is_err());
}

/// Polls until the execution is no longer running (moto runs it in a thread).
async fn finished(executions: &Executions, arn: &str) -> String {
    for _ in 0..100 {
        let status = executions.status(arn).await.unwrap();
        if status != "RUNNING" {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{arn} is still running");
}

/// The next task token the execution parked on the queue.
async fn next_token(clients: &AwsClients, queue_url: &str) -> String {
    for _ in 0..50 {
        let received = clients
            .sqs
            .receive_message()
            .queue_url(queue_url)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        if let Some(message) = received.messages().first() {
            let body: serde_json::Value = serde_json::from_str(message.body().unwrap()).unwrap();
            clients
                .sqs
                .delete_message()
                .queue_url(queue_url)
                .receipt_handle(message.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
            return body["task_token"].as_str().unwrap().to_owned();
        }
    }
    panic!("the execution never parked a task token");
}

/// One execution only: moto 5.1.14 deep-copies every state machine, backend included, when
/// an execution starts, which fails once any execution exists (the harness's moto patches
/// that; plain `moto_server` does not).
#[tokio::test]
async fn executions_wait_on_task_tokens_and_report_their_status() {
    let Some(clients) = clients().await else {
        return;
    };
    // moto runs state machines only when told to; otherwise task tokens are not checked.
    let endpoint = std::env::var("FERRY_TEST_AWS_ENDPOINT").unwrap();
    let configured = reqwest::Client::new()
        .post(format!("{endpoint}/moto-api/config"))
        .json(&serde_json::json!({"stepfunctions": {"execute_state_machine": true}}))
        .send()
        .await
        .unwrap();
    assert!(configured.status().is_success());

    // Two waits, each parking its task token on a queue (the real machine hands it to the
    // `notify` function, which the emulator cannot run).
    let queue_url = clients
        .sqs
        .create_queue()
        .queue_name(unique("ferry-tokens"))
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    let wait = |next: Option<&str>| {
        let mut state = serde_json::json!({
            "Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {
                "QueueUrl": queue_url,
                "MessageBody": {"task_token.$": "$$.Task.Token"}
            },
            "TimeoutSeconds": 60
        });
        match next {
            Some(next) => state["Next"] = next.into(),
            None => state["End"] = true.into(),
        }
        state
    };
    let definition = serde_json::json!({
        "StartAt": "Wait for authorisation",
        "States": {
            "Wait for authorisation": wait(Some("Wait for start")),
            "Wait for start": wait(None)
        }
    });
    let name = unique("ferry-migration");
    // moto answers with a creation date the SDK cannot parse; the machine exists all the same.
    let _ = clients
        .sfn
        .create_state_machine()
        .name(&name)
        .definition(definition.to_string())
        .role_arn("arn:aws:iam::123456789012:role/ferry-states")
        .send()
        .await;
    let state_machine = format!("arn:aws:states:us-east-1:123456789012:stateMachine:{name}");

    let executions = Executions::new(clients.sfn.clone());
    let input = serde_json::json!({"tenant": "acme", "migration_id": "m-1", "run_id": "run-1"});
    let arn = executions
        .start(&state_machine, "run-1", &input)
        .await
        .unwrap();
    assert!(arn.ends_with(":run-1"), "{arn}");
    assert_eq!(executions.status(&arn).await.unwrap(), "RUNNING");
    assert!(
        executions
            .status(&arn.replace(":run-1", ":run-404"))
            .await
            .is_err()
    );

    // No task waits on an unknown token.
    let error = executions
        .succeed("no-such-token", &serde_json::json!({"authorised": true}))
        .await
        .unwrap_err();
    assert!(!error.is_retryable(), "{}", error.chain());
    assert!(
        executions
            .fail("no-such-token", "NotAuthorised", "the user declined")
            .await
            .is_err()
    );

    // Authorised: the first wait completes and the second parks a new token.
    let authorisation = next_token(&clients, &queue_url).await;
    executions
        .succeed(&authorisation, &serde_json::json!({"authorised": true}))
        .await
        .unwrap();
    let start = next_token(&clients, &queue_url).await;
    assert_ne!(start, authorisation);
    assert_eq!(executions.status(&arn).await.unwrap(), "RUNNING");
    // (Step Functions refuses a completed token again; moto accepts it, so that is not
    // asserted here.)

    // Failing the second wait fails the execution.
    executions
        .fail(&start, "NotAuthorised", &"a long cause ".repeat(5000))
        .await
        .unwrap();
    assert_eq!(finished(&executions, &arn).await, "FAILED");
}

#[tokio::test]
async fn presigned_urls_fetch_the_object_with_a_plain_get() {
    let Some(clients) = clients().await else {
        return;
    };
    let staging = S3Staging::new(clients.s3.clone(), bucket(&clients).await);
    let key = "acme/run-1/report.json";
    staging
        .put(key, br#"{"status":"succeeded"}"#.to_vec())
        .await
        .unwrap();
    let url = staging
        .presigned_get(key, Duration::from_secs(300))
        .await
        .unwrap();
    assert!(url.contains("X-Amz-Signature"), "{url}");
    let answer = reqwest::get(&url).await.unwrap();
    assert!(answer.status().is_success(), "{}", answer.status());
    assert_eq!(
        answer.bytes().await.unwrap().as_ref(),
        br#"{"status":"succeeded"}"#
    );
    // More than the seven days S3 allows is refused here, not at download time.
    assert!(
        staging
            .presigned_get(key, Duration::from_secs(8 * 24 * 3600))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn large_bodies_round_trip_through_multipart_uploads() {
    let Some(clients) = clients().await else {
        return;
    };
    let bucket = bucket(&clients).await;
    let staging = S3Staging::new(clients.s3.clone(), &bucket);
    let size = 2 * MULTIPART_PART_SIZE + 12_345;
    let body: Vec<u8> = (0..size).map(|index| (index % 251) as u8).collect();

    // Pieces of an odd size, so parts are cut across them.
    let pieces: Vec<Result<Vec<u8>, ferry_model::PortError>> = body
        .chunks(3 * 1024 * 1024 + 17)
        .map(|piece| Ok(piece.to_vec()))
        .collect();
    let written = staging
        .put_stream("acme/run-1/files/big.bin", futures::stream::iter(pieces))
        .await
        .unwrap();
    assert_eq!(written, size as u64);
    assert_eq!(staging.get("acme/run-1/files/big.bin").await.unwrap(), body);
    let head = clients
        .s3
        .head_object()
        .bucket(&bucket)
        .key("acme/run-1/files/big.bin")
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.server_side_encryption().map(|sse| sse.as_str()),
        Some("AES256")
    );

    // The Staging port takes the same road for a large body.
    staging
        .put("acme/run-1/files/big-2.bin", body.clone())
        .await
        .unwrap();
    assert_eq!(
        staging.get("acme/run-1/files/big-2.bin").await.unwrap(),
        body
    );

    // A small stream is one PutObject.
    let written = staging
        .put_stream(
            "acme/run-1/files/small.txt",
            futures::stream::iter([Ok(b"small ".to_vec()), Ok(b"file".to_vec())]),
        )
        .await
        .unwrap();
    assert_eq!(written, 10);
    assert_eq!(
        staging.get("acme/run-1/files/small.txt").await.unwrap(),
        b"small file"
    );

    // A failing stream leaves no object behind.
    let failing = futures::stream::iter([
        Ok(vec![0u8; MULTIPART_PART_SIZE + 1]),
        Err(ferry_model::PortError::permanent("the download broke")),
    ]);
    assert!(
        staging
            .put_stream("acme/run-1/files/broken.bin", failing)
            .await
            .is_err()
    );
    assert!(staging.get("acme/run-1/files/broken.bin").await.is_err());
}

fn record(tenant: &str, id: &str, created_at: &str) -> MigrationRecord {
    MigrationRecord {
        tenant: TenantId::new(tenant),
        id: id.to_owned(),
        label: Some(format!("{tenant} {id}")),
        status: MigrationStatus::AwaitingAuthorization,
        created_at: created_at.to_owned(),
        updated_at: created_at.to_owned(),
        version: 0,
        options: MigrationOptions {
            sandbox: false,
            delta: false,
            verify: true,
            default_owner: Some("owner@example.com".to_owned()),
            workspace: None,
            merge_leads_by_email: false,
        },
        run_id: RunId::new(format!("run-{id}")),
        execution_arn: None,
        instance_url: None,
        refresh_token: None,
        task_token: None,
        waiting_for: None,
        dry_run_report: None,
        final_report: None,
        rollback_execution_arn: None,
        error: None,
        selections: Default::default(),
        plan: None,
        dry_run_revision: None,
    }
}

#[tokio::test]
async fn migrations_are_created_read_and_listed_newest_first() {
    let Some(clients) = clients().await else {
        return;
    };
    let store = MigrationStore::new(clients.dynamodb.clone(), table(&clients).await);
    let acme = TenantId::new("acme");
    for (id, created_at) in [
        ("m-b", "2026-11-20T10:00:00Z"),
        ("m-c", "2026-11-22T10:00:00Z"),
        ("m-a", "2026-11-21T10:00:00Z"),
    ] {
        store.create(&record("acme", id, created_at)).await.unwrap();
    }
    assert_eq!(
        store.get(&acme, "m-a").await.unwrap(),
        Some(record("acme", "m-a", "2026-11-21T10:00:00Z"))
    );
    assert_eq!(store.get(&acme, "m-404").await.unwrap(), None);
    let listed: Vec<String> = store
        .list(&acme)
        .await
        .unwrap()
        .into_iter()
        .map(|record| record.id)
        .collect();
    assert_eq!(listed, ["m-c", "m-a", "m-b"]);

    let error = store
        .create(&record("acme", "m-a", "2026-11-22T11:00:00Z"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, MigrationStoreError::AlreadyExists { .. }),
        "{error}"
    );
    // The first record is untouched.
    assert_eq!(
        store.get(&acme, "m-a").await.unwrap().unwrap().created_at,
        "2026-11-21T10:00:00Z"
    );

    // The JSON spelling the API and the state machines rely on.
    let json = serde_json::to_value(record("acme", "m-a", "2026-11-21T10:00:00Z")).unwrap();
    assert_eq!(json["status"], "awaiting_authorization");
    let mut waiting = record("acme", "m-a", "2026-11-21T10:00:00Z");
    waiting.waiting_for = Some(Waiting::Authorisation);
    waiting.status = MigrationStatus::DryRunReady;
    let json = serde_json::to_value(&waiting).unwrap();
    assert_eq!(json["waiting_for"], "authorisation");
    assert_eq!(json["status"], "dry_run_ready");
}

#[tokio::test]
async fn a_tenant_never_sees_another_tenants_migrations() {
    let Some(clients) = clients().await else {
        return;
    };
    let store = MigrationStore::new(clients.dynamodb.clone(), table(&clients).await);
    store
        .create(&record("acme", "m-1", "2026-11-22T10:00:00Z"))
        .await
        .unwrap();
    let globex = TenantId::new("globex");
    assert_eq!(store.get(&globex, "m-1").await.unwrap(), None);
    assert!(store.list(&globex).await.unwrap().is_empty());
    // A tenant whose name is a prefix of another's, or looks like a key, sees nothing either.
    assert!(store.list(&TenantId::new("acm")).await.unwrap().is_empty());
    assert_eq!(
        store
            .get(&TenantId::new("acme#MIGRATION"), "m-1")
            .await
            .unwrap(),
        None
    );

    // The same id in another tenant is another migration.
    store
        .create(&record("globex", "m-1", "2026-11-22T11:00:00Z"))
        .await
        .unwrap();
    assert_eq!(
        store
            .get(&TenantId::new("acme"), "m-1")
            .await
            .unwrap()
            .unwrap()
            .label
            .as_deref(),
        Some("acme m-1")
    );
    assert_eq!(store.list(&globex).await.unwrap().len(), 1);
    assert_eq!(store.list(&TenantId::new("acme")).await.unwrap().len(), 1);
}

#[tokio::test]
async fn updates_are_optimistic_on_the_version() {
    let Some(clients) = clients().await else {
        return;
    };
    let store = MigrationStore::new(clients.dynamodb.clone(), table(&clients).await);
    let acme = TenantId::new("acme");
    store
        .create(&record("acme", "m-1", "2026-11-22T10:00:00Z"))
        .await
        .unwrap();

    // Two writers read version 0.
    let mut first = store.get(&acme, "m-1").await.unwrap().unwrap();
    let mut second = first.clone();
    first.status = MigrationStatus::Discovering;
    first.task_token = Some("token-1".to_owned());
    let stored = store.update(&first).await.unwrap();
    assert_eq!(stored.version, 1);

    second.status = MigrationStatus::Failed;
    let error = store.update(&second).await.unwrap_err();
    assert!(error.is_conflict(), "{error}");
    let as_port: ferry_model::PortError = error.into();
    assert!(!as_port.is_retryable());

    let current = store.get(&acme, "m-1").await.unwrap().unwrap();
    assert_eq!(current, stored);
    assert_eq!(current.status, MigrationStatus::Discovering);

    // Reapplied on the fresh read, it goes through.
    let mut retried = current.clone();
    retried.status = MigrationStatus::Failed;
    assert_eq!(store.update(&retried).await.unwrap().version, 2);

    // modify reapplies a change over a concurrent write instead of failing.
    let mut attempts = 0;
    let stored = store
        .modify(&acme, "m-1", |record| {
            attempts += 1;
            record.task_token = Some(format!("token-{attempts}"));
            record.waiting_for = Some(Waiting::Start);
            true
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!((stored.version, attempts), (3, 1));
    // Concurrent changes to different fields all land: none is lost to another's write.
    let set = |field: &'static str| {
        let store = store.clone();
        let acme = acme.clone();
        async move {
            store
                .modify(&acme, "m-1", |record| {
                    let value = Some(format!("{field}-value"));
                    match field {
                        "instance_url" => record.instance_url = value,
                        "dry_run_report" => record.dry_run_report = value,
                        "final_report" => record.final_report = value,
                        _ => record.error = value,
                    }
                    true
                })
                .await
                .unwrap()
                .unwrap()
        }
    };
    tokio::join!(
        set("instance_url"),
        set("dry_run_report"),
        set("final_report"),
        set("error")
    );
    let racing = store.get(&acme, "m-1").await.unwrap().unwrap();
    assert_eq!(racing.version, 7);
    assert_eq!(racing.instance_url.as_deref(), Some("instance_url-value"));
    assert_eq!(
        racing.dry_run_report.as_deref(),
        Some("dry_run_report-value")
    );
    assert_eq!(racing.final_report.as_deref(), Some("final_report-value"));
    assert_eq!(racing.error.as_deref(), Some("error-value"));
    assert_eq!(racing.task_token.as_deref(), Some("token-1"));
    // A change that declines writes nothing.
    let untouched = store
        .modify(&acme, "m-1", |_| false)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(untouched, racing);
    assert_eq!(store.modify(&acme, "m-404", |_| true).await.unwrap(), None);
    assert_eq!(
        store
            .modify(&TenantId::new("globex"), "m-1", |_| true)
            .await
            .unwrap(),
        None
    );

    // An update of a migration that does not exist is a conflict, not a create.
    let ghost = record("acme", "m-404", "2026-11-22T10:00:00Z");
    assert!(store.update(&ghost).await.unwrap_err().is_conflict());
    assert_eq!(store.get(&acme, "m-404").await.unwrap(), None);
}

#[tokio::test]
async fn oauth_states_are_single_use_and_expire() {
    let Some(clients) = clients().await else {
        return;
    };
    let store = MigrationStore::new(clients.dynamodb.clone(), table(&clients).await);
    let sealed = SealedSecret {
        key_id: "key".to_owned(),
        encrypted_data_key: "a2V5".to_owned(),
        nonce: "bm9uY2U=".to_owned(),
        ciphertext: "Y2lwaGVy".to_owned(),
    };
    let state = |state: &str, expires_at: &str| OAuthState {
        state: state.to_owned(),
        tenant: TenantId::new("acme"),
        migration_id: "m-1".to_owned(),
        pkce_verifier: sealed.clone(),
        expires_at: expires_at.to_owned(),
    };
    let live = state("state-live", "2099-01-01T00:00:00Z");
    store.put_oauth_state(&live).await.unwrap();
    // A state is stored once.
    assert!(store.put_oauth_state(&live).await.is_err());

    assert_eq!(
        store.take_oauth_state("state-live").await.unwrap(),
        Some(live)
    );
    assert_eq!(store.take_oauth_state("state-live").await.unwrap(), None);
    assert_eq!(store.take_oauth_state("state-unknown").await.unwrap(), None);

    let expired = state("state-expired", "2020-01-01T00:00:00Z");
    store.put_oauth_state(&expired).await.unwrap();
    assert_eq!(store.take_oauth_state("state-expired").await.unwrap(), None);

    // Not a timestamp: refused when stored.
    assert!(
        store
            .put_oauth_state(&state("state-bad", "tomorrow"))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn idempotency_keys_answer_once_per_tenant_and_refuse_another_request() {
    use ferry_aws::Claim;
    let Some(clients) = clients().await else {
        return;
    };
    let store = MigrationStore::new(clients.dynamodb.clone(), table(&clients).await);
    let (acme, globex) = (TenantId::new("acme"), TenantId::new("globex"));
    let request = "POST /migrations\n{\"label\":\"Acme\"}";

    // The first claim goes ahead with the id it offered; a retry meanwhile waits.
    assert_eq!(
        store
            .claim_idempotency_key(&acme, "k-1", request, Some("mig-a"))
            .await
            .unwrap(),
        Claim::Claimed {
            migration_id: Some("mig-a".to_owned())
        }
    );
    assert_eq!(
        store
            .claim_idempotency_key(&acme, "k-1", request, Some("mig-b"))
            .await
            .unwrap(),
        Claim::InProgress
    );
    // Another tenant's key of the same name is its own.
    assert_eq!(
        store
            .claim_idempotency_key(&globex, "k-1", request, Some("mig-c"))
            .await
            .unwrap(),
        Claim::Claimed {
            migration_id: Some("mig-c".to_owned())
        }
    );
    // A failed request lets the retry through at once, with the first claim's id.
    store.release_idempotency_key(&acme, "k-1").await.unwrap();
    assert_eq!(
        store
            .claim_idempotency_key(&acme, "k-1", request, Some("mig-d"))
            .await
            .unwrap(),
        Claim::Claimed {
            migration_id: Some("mig-a".to_owned())
        }
    );
    store
        .answer_idempotency_key(&acme, "k-1", 201, "{\"id\":\"mig-a\"}")
        .await
        .unwrap();
    assert_eq!(
        store
            .claim_idempotency_key(&acme, "k-1", request, Some("mig-e"))
            .await
            .unwrap(),
        Claim::Answered {
            status: 201,
            body: "{\"id\":\"mig-a\"}".to_owned()
        }
    );
    // An answered key is not released again, and another body under it is refused.
    assert!(store.release_idempotency_key(&acme, "k-1").await.is_err());
    assert_eq!(
        store
            .claim_idempotency_key(&acme, "k-1", "POST /migrations\n{}", None)
            .await
            .unwrap(),
        Claim::Mismatch
    );
}
