//! File bodies through the blob resource: staged byte for byte, or skipped over the cap
//! without being downloaded.

use ferry_core::steps::{DiscoverOptions, FileRef, discover, stage_file};
use ferry_model::ids::{RunId, TenantId};
use ferry_model::mapping::FieldMap;
use ferry_model::ports::Staging;
use ferry_model::records::FileOutcome;
use ferry_tests::{Embedded, connect, query_all, start_org};

#[tokio::test]
async fn files_under_the_cap_are_staged_whole_and_larger_ones_skipped_with_their_size() {
    let simulator = start_org(3_000, 41).await;
    let client = connect(&simulator).await;
    let plan = discover(
        &client,
        TenantId::new("acme"),
        &FieldMap::builtin(),
        &DiscoverOptions::default(),
    )
    .await
    .unwrap()
    .plan;
    let attachments = query_all(&client, "SELECT Id, BodyLength FROM Attachment").await;
    assert!(!attachments.is_empty());
    let cap = 64 * 1024;
    let dir = tempfile::tempdir().unwrap();
    let embedded = Embedded::open(dir.path());
    let run = RunId::new("run-files");
    let (mut staged, mut skipped) = (0, 0);
    for attachment in &attachments {
        let id = attachment["Id"].as_str().unwrap().to_owned();
        let length = attachment["BodyLength"].as_u64().unwrap();
        let file = FileRef {
            object: "Attachment".to_owned(),
            id: id.clone(),
            field: "Body".to_owned(),
        };
        match stage_file(&client, &embedded.staging, &run, &plan, &file, cap)
            .await
            .unwrap()
        {
            FileOutcome::Staged { key, bytes } => {
                assert!(length <= cap, "{id}: {length} bytes staged over the cap");
                assert_eq!(bytes, length, "{id}");
                assert_eq!(
                    embedded.staging.get(&key).await.unwrap().len() as u64,
                    length
                );
                staged += 1;
            }
            FileOutcome::Skipped { reason } => {
                assert!(length > cap, "{id}: {length} bytes skipped under the cap");
                assert!(
                    reason.contains(&id) && reason.contains("65536-byte cap"),
                    "{reason}"
                );
                skipped += 1;
            }
        }
    }
    assert_eq!(staged + skipped, attachments.len());
    assert!(
        staged > 0 && skipped > 0,
        "the org has files on both sides of the cap: {staged} {skipped}"
    );
    simulator.shutdown().await;
}
