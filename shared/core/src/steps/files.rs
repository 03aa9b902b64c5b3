//! File bodies: an Attachment's `Body` or a ContentVersion's `VersionData`, downloaded
//! through the blob resource (Bulk API 2.0 cannot carry base64 fields) and staged beside
//! the chunks. A file over the size cap is not downloaded; it is reported as skipped with
//! its size, so the count of files adds up like the count of records.

use super::StepError;
use crate::transform::{BLOB_FIELD, StagedBlob};
use ferry_model::error::{ErrorClass, PortError};
use ferry_model::ids::{DestinationId, RunId, TenantId};
use ferry_model::mapping::{EntityKind, ValueKind};
use ferry_model::model::SourceRecord;
use ferry_model::plan::{BlobField, ObjectPlan, Plan};
use ferry_model::ports::{BlobFetch, Destination, FileBody, FileUpload, SalesforceApi, Staging};
use ferry_model::records::{DestinationRecord, FileOutcome};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The default cap, 256 MiB. A file is held in memory between download and staging, so the
/// cap also bounds memory; larger files are reported as skipped with their size, and the
/// cap can be raised where memory allows.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// One file to move.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRef {
    /// `Attachment`, `ContentVersion`, ...
    pub object: String,
    pub id: String,
    /// `Body`, `VersionData`.
    pub field: String,
}

/// Where a file is staged: beside the run's chunks, keyed by object and record id.
pub(crate) fn file_key(plan: &Plan, run: &RunId, file: &FileRef) -> String {
    format!("{}/{run}/files/{}/{}", plan.tenant, file.object, file.id)
}

/// Downloads one file body, capped at `max_bytes`, and stages it.
pub async fn stage_file(
    salesforce: &dyn SalesforceApi,
    staging: &dyn Staging,
    run: &RunId,
    plan: &Plan,
    file: &FileRef,
    max_bytes: u64,
) -> Result<FileOutcome, StepError> {
    let body = salesforce
        .fetch_blob(&file.object, &file.id, &file.field, max_bytes)
        .await
        .map_err(StepError::Salesforce)?;
    match body {
        BlobFetch::TooLarge { size } => {
            tracing::info!(object = %file.object, id = %file.id, size, max_bytes, "file over the size cap; skipped");
            Ok(FileOutcome::Skipped {
                reason: format!(
                    "{} {}.{} is {} bytes or more, over the {max_bytes}-byte cap",
                    file.object, file.id, file.field, size
                ),
            })
        }
        BlobFetch::Fetched(body) => {
            let key = file_key(plan, run, file);
            let bytes = body.len() as u64;
            staging.put(&key, body).await.map_err(StepError::Staging)?;
            Ok(FileOutcome::Staged { key, bytes })
        }
    }
}

/// Whether the object's binary field goes to a text field (a content note's body) rather
/// than being a file's bytes.
fn is_text(object: &ObjectPlan, blob: &BlobField) -> bool {
    object.entity.field_kind(&blob.target) != ValueKind::Bytes
}

/// Fetches a binary field that becomes text (a content note's HTML) and puts it in the
/// record under the field's own name, so it goes through pseudonymisation and staging like
/// any text. Content over the cap, or not UTF-8 text, is noted instead
/// ([`crate::transform::BLOB_FIELD`]), for the load step to skip the record with the reason.
pub(super) async fn inline_text_blob(
    salesforce: &dyn SalesforceApi,
    object: &ObjectPlan,
    record: &mut SourceRecord,
    max_bytes: u64,
) -> Result<(), StepError> {
    let Some(blob) = object.blob.as_ref().filter(|blob| is_text(object, blob)) else {
        return Ok(());
    };
    let Some(id) = record.get("Id").and_then(Value::as_str).map(str::to_owned) else {
        // A record without an Id fails at load, with the reason; nothing to fetch for it.
        return Ok(());
    };
    let fetched = salesforce
        .fetch_blob(object.salesforce_object(), &id, &blob.source, max_bytes)
        .await
        .map_err(StepError::Salesforce)?;
    let skipped = match fetched {
        BlobFetch::Fetched(bytes) => match String::from_utf8(bytes) {
            Ok(text) => {
                record.insert(blob.source.clone(), Value::String(text));
                return Ok(());
            }
            Err(error) => format!(
                "{} {id}.{} is not UTF-8 text, so it cannot become {}.{}: {error}",
                object.object, blob.source, object.entity, blob.target
            ),
        },
        BlobFetch::TooLarge { size } => format!(
            "{} {id}.{} is {size} bytes or more, over the {max_bytes}-byte cap",
            object.object, blob.source
        ),
    };
    note_outcome(
        object,
        &id,
        record,
        &FileOutcome::Skipped { reason: skipped },
    )
}

/// Fetches a file's bytes at extraction, stages them, and notes in the record what became of
/// them ([`crate::transform::BLOB_FIELD`]): staged under a key, or skipped over the size cap.
/// The load step then reads them from staging, whichever process runs it.
pub(super) async fn stage_record_blob(
    salesforce: &dyn SalesforceApi,
    staging: &dyn Staging,
    run: &RunId,
    plan: &Plan,
    object: &ObjectPlan,
    record: &mut SourceRecord,
    max_bytes: u64,
) -> Result<(), StepError> {
    let Some(blob) = object.blob.as_ref().filter(|blob| !is_text(object, blob)) else {
        return Ok(());
    };
    let Some(id) = record.get("Id").and_then(Value::as_str).map(str::to_owned) else {
        return Ok(());
    };
    let file = FileRef {
        object: object.salesforce_object().to_owned(),
        id: id.clone(),
        field: blob.source.clone(),
    };
    let outcome = stage_file(salesforce, staging, run, plan, &file, max_bytes).await?;
    note_outcome(object, &id, record, &outcome)
}

fn note_outcome(
    object: &ObjectPlan,
    id: &str,
    record: &mut SourceRecord,
    outcome: &FileOutcome,
) -> Result<(), StepError> {
    let outcome = serde_json::to_value(outcome).map_err(|error| {
        StepError::Staging(PortError::with_source(
            ErrorClass::Permanent,
            format!("noting where {} {id}'s content is", object.object),
            error,
        ))
    })?;
    record.insert(BLOB_FIELD.to_owned(), outcome);
    Ok(())
}

/// Sends a file record's staged bytes to the destination, once the record exists there.
pub(super) async fn deliver_file(
    staging: &dyn Staging,
    destination: &dyn Destination,
    tenant: &TenantId,
    entity: EntityKind,
    record: &DestinationRecord,
    destination_id: &DestinationId,
    blob: &StagedBlob,
) -> Result<(), StepError> {
    let bytes = staging.get(&blob.key).await.map_err(StepError::Staging)?;
    let text = |field: &str| {
        record
            .fields
            .get(field)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let sha256 = Sha256::digest(&bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    let size = bytes.len() as u64;
    // A staging the destination can fetch from by itself (S3) hands it a short-lived URL
    // instead of the bytes; the hash still says what the bytes must be.
    let body = match staging
        .fetch_url(&blob.key)
        .await
        .map_err(StepError::Staging)?
    {
        Some(url) => FileBody::Url(url),
        None => FileBody::Bytes(bytes),
    };
    let upload = FileUpload {
        file_name: text("name").unwrap_or_else(|| record.source_id.to_string()),
        content_type: text("content_type"),
        size,
        sha256,
        body,
    };
    destination
        .put_file(tenant, entity, destination_id, upload)
        .await
        .map_err(StepError::Destination)
}
