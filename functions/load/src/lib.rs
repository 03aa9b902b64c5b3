//! The `load` Lambda: an SQS consumer that loads one staged chunk per message.
//!
//! Only this crate knows the SQS event shape. Each message body is a
//! [`ferry_model::ports::ChunkMessage`]; the work is [`ferry_core::steps::load_chunk`], the same
//! step `ferry` runs locally. Failed messages are returned as batch item failures, so SQS
//! redelivers only those (and, past the queue's receive limit, moves them to the dead-letter
//! queue); a redelivered chunk updates what it created the first time, never duplicates it.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use ferry_core::steps::{LoadPorts, load_chunk};
use ferry_model::ErrorType;
use ferry_model::ids::RunId;
use ferry_model::ports::{ChunkMessage, Destination, IdMap, RunStore, Staging};
use lambda_runtime::{Diagnostic, LambdaEvent};
use tracing::Instrument;

/// Ferry's own stores a load uses.
pub struct Stores<'a> {
    pub staging: &'a dyn Staging,
    pub id_map: &'a dyn IdMap,
    pub runs: &'a dyn RunStore,
}

/// Loads every message of the batch into the destination `destination_for` gives for the
/// message's run (its idempotency keys are scoped to the run); answers with the ids of the
/// messages that failed.
pub async fn handle<D: Destination>(
    stores: &Stores<'_>,
    destination_for: &(dyn Fn(&RunId) -> D + Sync),
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, Diagnostic> {
    let mut response = SqsBatchResponse::default();
    for record in event.payload.records {
        let message_id = record.message_id.clone().unwrap_or_default();
        let span = tracing::info_span!("chunk_message", message_id = %message_id);
        let outcome = async {
            let body = record.body.as_deref().unwrap_or_default();
            let message: ChunkMessage = match serde_json::from_str(body) {
                Ok(message) => message,
                Err(error) => {
                    // A body that is not a chunk message will never load; failing it sends it
                    // to the dead-letter queue after the receive limit, where an alarm fires.
                    tracing::error!(error = %error, "message body is not a chunk message");
                    return Err(ErrorType::InvalidInput);
                }
            };
            let span = tracing::info_span!("load", run_id = %message.run_id, object = %message.object, chunk = message.chunk);
            let destination = destination_for(&message.run_id);
            let ports = LoadPorts {
                staging: stores.staging,
                id_map: stores.id_map,
                destination: &destination,
                runs: stores.runs,
            };
            match load_chunk(&ports, &message).instrument(span).await {
                Ok(result) => {
                    tracing::info!(created = result.created, updated = result.updated, skipped = result.skipped, failed = result.failed, "chunk loaded");
                    Ok(())
                }
                Err(error) => {
                    tracing::error!(error = %error.chain(), error_type = %error.error_type(), "chunk failed");
                    Err(error.error_type())
                }
            }
        }
        .instrument(span)
        .await;
        if outcome.is_err() {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = message_id;
            response.batch_item_failures.push(failure);
        }
    }
    Ok(response)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use ferry_embedded::{LocalStaging, SqliteDestination, SqliteStore};
    use ferry_model::ids::{RunId, TenantId};
    use ferry_model::mapping::EntityKind;
    use ferry_model::model::FieldType;
    use ferry_model::plan::{FieldMapping, LinkMapping, ObjectPlan, Plan};
    use ferry_model::ports::{RunStore, Staging};

    const SAMPLE_EVENT: &str = include_str!("../../../events/load-sqs.json");

    fn account_plan() -> Plan {
        Plan {
            tenant: TenantId::new("acme"),
            objects: vec![ObjectPlan {
                object: "Account".to_owned(),
                entity: EntityKind::Company,
                phase: 0,
                in_salesforce: 2,
                estimated: None,
                soft_deletes: false,
                select: vec!["Id".to_owned(), "Name".to_owned(), "ParentId".to_owned()],
                fields: vec![FieldMapping {
                    source: "Name".to_owned(),
                    target: "name".to_owned(),
                    source_type: FieldType::String,
                    components: Vec::new(),
                }],
                links: vec![LinkMapping {
                    source: "ParentId".to_owned(),
                    target: "parent_company".to_owned(),
                    target_object: "Account".to_owned(),
                    polymorphic: Vec::new(),
                    prefixes: Default::default(),
                    required: false,
                    custom: false,
                    variants: Vec::new(),
                }],
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

    #[tokio::test]
    async fn the_sample_event_loads_its_chunk_and_a_bad_message_is_reported_alone() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("ferry.db")).unwrap();
        let destination = SqliteDestination::open(&dir.path().join("destination.db")).unwrap();
        let staging = LocalStaging::new(dir.path().join("staging"));

        let mut event: SqsEvent = serde_json::from_str(SAMPLE_EVENT).unwrap();
        let message: ChunkMessage =
            serde_json::from_str(event.records[0].body.as_deref().unwrap()).unwrap();
        store
            .save_plan(&RunId::new(message.run_id.as_str()), &account_plan())
            .await
            .unwrap();
        let chunk = concat!(
            r#"{"Id":"001Dn00000A1b2cIAB","Name":"Müller & Söhne GmbH","ParentId":"001Dn00000A1b2dIAB"}"#,
            "\n",
            r#"{"Id":"001Dn00000A1b2dIAB","Name":"Acme, \"Holdings\"","ParentId":null}"#,
            "\n"
        );
        staging
            .put(&message.key, chunk.as_bytes().to_vec())
            .await
            .unwrap();

        let mut bad = event.records[0].clone();
        bad.message_id = Some("not-a-chunk".to_owned());
        bad.body = Some("{\"hello\":1}".to_owned());
        event.records.push(bad);

        let stores = Stores {
            staging: &staging,
            id_map: &store,
            runs: &store,
        };
        let destination_path = dir.path().join("destination.db");
        let response = handle(
            &stores,
            &|_: &RunId| SqliteDestination::open(&destination_path).unwrap(),
            LambdaEvent::new(event, lambda_runtime::Context::default()),
        )
        .await
        .unwrap();
        let failed: Vec<&str> = response
            .batch_item_failures
            .iter()
            .map(|failure| failure.item_identifier.as_str())
            .collect();
        assert_eq!(failed, vec!["not-a-chunk"]);
        assert_eq!(
            destination
                .count(&TenantId::new("acme"), EntityKind::Company)
                .await
                .unwrap(),
            2
        );
        let records = store.run_records(&message.run_id).await.unwrap();
        assert_eq!(records.chunks.len(), 1);
        assert_eq!(records.chunks[0].created, 2);
        // The child came before its parent in the chunk, so its parent link waits for finalize.
        assert_eq!(
            store.deferred_links(&message.run_id).await.unwrap().len(),
            1
        );
    }
}
