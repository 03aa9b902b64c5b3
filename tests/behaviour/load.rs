use ferry_core::steps::{LoadPorts, load_chunk};
use ferry_model::ids::{RunId, TenantId};
use ferry_model::mapping::EntityKind;
use ferry_model::model::FieldType;
use ferry_model::plan::{FieldMapping, ObjectPlan, Plan};
use ferry_model::ports::{ChunkMessage, RunStore, Staging};
use ferry_model::report::IssueKind;
use ferry_tests::{Embedded, TENANT};

fn contact_plan() -> Plan {
    let field = |source: &str, target: &str, source_type| FieldMapping {
        source: source.to_owned(),
        target: target.to_owned(),
        source_type,
        components: Vec::new(),
    };
    Plan {
        tenant: TenantId::new(TENANT),
        objects: vec![ObjectPlan {
            object: "Contact".to_owned(),
            entity: EntityKind::Contact,
            phase: 0,
            in_salesforce: 5,
            estimated: None,
            soft_deletes: false,
            select: vec![],
            fields: vec![
                field("LastName", "last_name", FieldType::String),
                field("CreatedDate", "created_at", FieldType::DateTime),
            ],
            links: vec![],
            custom_fields: vec![],
            values: Default::default(),
            replaced_by: None,
            blob: None,
            source_object: None,
            filter: None,
            queue_to_default_owner: false,
            queue_objects: Default::default(),
            skipped_when: None,
            read_by_parent: None,
            stands_for: None,
        }],
        notes: vec![],
        validation: Default::default(),
        default_owner: None,
        merge_leads_by_email: false,
        delta: false,
        queue_owners: Default::default(),
    }
}

/// Every line of a chunk ends as exactly one outcome, and each bad one names its record,
/// field and reason.
#[tokio::test]
async fn every_record_of_a_chunk_is_counted_and_bad_ones_say_why() {
    let dir = tempfile::tempdir().unwrap();
    let embedded = Embedded::open(dir.path());
    let run = RunId::new("run-bad-input");
    embedded
        .store
        .save_plan(&run, &contact_plan())
        .await
        .unwrap();
    let chunk = [
        r#"{"Id":"0035g00000AbCdEAAV","LastName":"Roth","CreatedDate":"2021-03-04T10:11:12.000+0000"}"#,
        r#"{"Id":"0035g00000AbCdFAAV","LastName":"","CreatedDate":null}"#,
        r#"{"Id":"0035g00000AbCdGAAV","LastName":"Kay","CreatedDate":"last tuesday"}"#,
        r#"{"Id":"not-an-id","LastName":"Lee"}"#,
        r#"{"Id": "0035g00000AbCdHAAV", "LastName": "#,
    ]
    .join("\n");
    let key = "acme/run-bad-input/chunks/Contact/000000.jsonl";
    embedded.staging.put(key, chunk.into_bytes()).await.unwrap();
    let ports = LoadPorts {
        staging: &embedded.staging,
        id_map: &embedded.store,
        destination: &embedded.destination,
        runs: &embedded.store,
    };
    let message = ChunkMessage {
        run_id: run.clone(),
        tenant: TenantId::new(TENANT),
        object: "Contact".to_owned(),
        chunk: 0,
        key: key.to_owned(),
        records: 5,
    };
    let result = load_chunk(&ports, &message).await.unwrap();
    assert_eq!(
        (
            result.records,
            result.created,
            result.updated,
            result.skipped,
            result.failed
        ),
        (5, 1, 0, 1, 3)
    );
    let described: Vec<(IssueKind, Option<&str>, Option<&str>)> = result
        .issues
        .iter()
        .map(|issue| {
            (
                issue.kind,
                issue.salesforce_id.as_deref(),
                issue.field.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        described,
        vec![
            (
                IssueKind::Skipped,
                Some("0035g00000AbCdFAAV"),
                Some("LastName")
            ),
            (
                IssueKind::Failed,
                Some("0035g00000AbCdGAAV"),
                Some("CreatedDate")
            ),
            (IssueKind::Failed, Some("not-an-id"), Some("Id")),
            (IssueKind::Failed, None, None),
        ]
    );
    assert!(
        result.issues[3].reason.contains("line 5"),
        "{}",
        result.issues[3].reason
    );

    // Loading the same chunk again (a redelivered message) creates nothing and counts as the
    // first attempt did: the record this run created stays "created", once.
    let again = load_chunk(&ports, &message).await.unwrap();
    assert_eq!(again, result);
    let records = embedded.store.run_records(&run).await.unwrap();
    assert_eq!(records.chunks.len(), 1);
    assert_eq!(
        embedded
            .destination
            .count(&TenantId::new(TENANT), EntityKind::Contact)
            .await
            .unwrap(),
        1
    );
}
