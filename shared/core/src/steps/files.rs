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

/// Where an image embedded in a rich-text value is served from in Salesforce
/// (`https://{org}.file.force.com/servlet/rtaImage?eid=...&feoid=...&refid=...`): a URL
/// that needs a Salesforce session and dies with the org.
pub const RTA_IMAGE_PATH: &str = "/servlet/rtaImage?";

/// The largest rich-text image inlined; a larger one is reported and left out.
pub const MAX_RICH_TEXT_IMAGE_BYTES: u64 = 5 * 1024 * 1024;

/// The `refid` of an rtaImage URL (`&` possibly escaped as `&amp;` in HTML).
fn rta_refid(url: &str) -> Option<String> {
    let (_, query) = url.split_once(RTA_IMAGE_PATH)?;
    query
        .replace("&amp;", "&")
        .split('&')
        .find_map(|pair| pair.strip_prefix("refid="))
        .map(|refid| refid.chars().filter(char::is_ascii_alphanumeric).collect())
        .filter(|refid: &String| !refid.is_empty())
}

/// The content type of image bytes, by their signature.
fn image_type(bytes: &[u8]) -> &'static str {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        "image/png"
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        "image/jpeg"
    } else if bytes.starts_with(b"GIF8") {
        "image/gif"
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        "image/webp"
    } else {
        "application/octet-stream"
    }
}

/// Standard base64 with padding.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for group in bytes.chunks(3) {
        let n = group
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, byte)| n | u32::from(*byte) << (16 - 8 * i));
        for i in 0..4 {
            if i <= group.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Images embedded in a record's rich-text values, brought out of Salesforce at extraction:
/// each `<img src>` pointing at Salesforce's rtaImage servlet is fetched through the REST
/// resource `sobjects/{object}/{id}/richTextImageFields/{field}/{refid}` (with the
/// session, as every call) and the URL replaced by a `data:` URI of the bytes, the
/// destination-neutral reference the contract defines. An image Salesforce refuses, or
/// one over [`MAX_RICH_TEXT_IMAGE_BYTES`], is left out (`src=""`) and noted in the record
/// ([`crate::transform::RICH_TEXT_ISSUES_FIELD`]), for the load step to report for the
/// record and field. No value keeps a Salesforce image URL.
pub(super) async fn inline_rich_text_images(
    salesforce: &dyn SalesforceApi,
    object: &ObjectPlan,
    record: &mut SourceRecord,
) -> Result<(), StepError> {
    let Some(id) = record.get("Id").and_then(Value::as_str).map(str::to_owned) else {
        return Ok(());
    };
    let sent: Vec<String> = object
        .fields
        .iter()
        .map(|field| field.source.clone())
        .chain(
            object
                .custom_fields
                .iter()
                .map(|field| field.source.clone()),
        )
        .collect();
    let mut issues = Vec::new();
    for field in sent {
        let Some(Value::String(html)) = record.get(&field) else {
            continue;
        };
        if !html.contains(RTA_IMAGE_PATH) {
            continue;
        }
        let html = html.clone();
        let mut out = String::with_capacity(html.len());
        let mut rest = html.as_str();
        while let Some(at) = rest.find("src=\"") {
            let start = at + "src=\"".len();
            out.push_str(&rest[..start]);
            let after = &rest[start..];
            let Some(end) = after.find('"') else {
                rest = after;
                break;
            };
            let url = &after[..end];
            rest = &after[end..];
            let Some(refid) = rta_refid(url) else {
                out.push_str(url);
                continue;
            };
            let resource = format!("richTextImageFields/{field}/{refid}");
            let fetched = salesforce
                .fetch_blob(
                    object.salesforce_object(),
                    &id,
                    &resource,
                    MAX_RICH_TEXT_IMAGE_BYTES,
                )
                .await;
            let reason = match fetched {
                Ok(BlobFetch::Fetched(bytes)) => {
                    out.push_str(&format!(
                        "data:{};base64,{}",
                        image_type(&bytes),
                        base64(&bytes)
                    ));
                    continue;
                }
                Ok(BlobFetch::TooLarge { size }) => format!(
                    "image {refid} is {size} bytes or more, over the {MAX_RICH_TEXT_IMAGE_BYTES}-byte cap"
                ),
                Err(error) if error.class() == ErrorClass::Permanent => {
                    format!("Salesforce does not serve image {refid}: {}", error.chain())
                }
                Err(error) => return Err(StepError::Salesforce(error)),
            };
            tracing::warn!(object = %object.object, id = %id, field = %field, refid = %refid, "rich-text image left out");
            issues.push(serde_json::json!({
                "field": field,
                "reason": format!("{reason}; the value lands without it (its src emptied, never pointing at Salesforce)"),
            }));
        }
        out.push_str(rest);
        record.insert(field.clone(), Value::String(out));
    }
    if !issues.is_empty() {
        record.insert(
            crate::transform::RICH_TEXT_ISSUES_FIELD.to_owned(),
            Value::Array(issues),
        );
    }
    Ok(())
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
    // A record left out by rule (a superseded version) costs no download.
    if crate::transform::is_skipped(object, record) {
        return Ok(());
    }
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
    // A record left out by rule (a superseded version) costs no download.
    if crate::transform::is_skipped(object, record) {
        return Ok(());
    }
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
