//! File bodies: an Attachment's `Body` or a ContentVersion's `VersionData`, downloaded
//! through the blob resource (Bulk API 2.0 cannot carry base64 fields) and staged beside
//! the chunks. A file over the size cap is not downloaded; it is reported as skipped with
//! its size, so the count of files adds up like the count of records.

use super::StepError;
use crate::transform::{BLOB_FIELD, StagedBlob, StagedImage};
use ferry_model::error::{ErrorClass, PortError};
use ferry_model::ids::{DestinationId, RunId, SalesforceId, TenantId};
use ferry_model::mapping::{EntityKind, ValueKind};
use ferry_model::model::SourceRecord;
use ferry_model::plan::{BlobField, ObjectPlan, Plan};
use ferry_model::ports::{
    BlobFetch, Destination, FileBody, FileUpload, IdMapEntry, SalesforceApi, Staging, UpsertOutcome,
};
use ferry_model::records::{
    DestinationRecord, FILE_REFERENCE_SCHEME, FileOutcome, rich_text_image_object,
};
use ferry_model::report::{IssueKind, RecordIssue};
use ferry_model::runs::{JournalAction, JournalEntry};
use futures::StreamExt as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

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

/// The largest rich-text image brought over; a larger one is reported and left out.
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

/// Key prefix of the synthetic ids rich-text images are sent under (no Salesforce object
/// uses it).
const IMAGE_KEY_PREFIX: &str = "0RT";

/// The synthetic Salesforce id of a rich-text image: derived from the record's id, the
/// field and the refid, so every run (and the spot check) names the same image the same
/// way and a re-run finds its ID-map entry instead of creating a second file.
pub(crate) fn rich_text_image_id(record: &str, field: &str, refid: &str) -> Option<SalesforceId> {
    const ALPHANUMERIC: &[u8; 62] =
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let digest = Sha256::digest(format!("{record}/{field}/{refid}").as_bytes());
    let body: String = digest
        .iter()
        .take(12)
        .map(|byte| char::from(ALPHANUMERIC[usize::from(*byte) % ALPHANUMERIC.len()]))
        .collect();
    SalesforceId::parse(&format!("{IMAGE_KEY_PREFIX}{body}")).ok()
}

/// Where a rich-text image's bytes are staged: beside the run's other files, under the
/// image object and the image's own id (never under its record's file key, which may be
/// a file of its own).
fn image_key(plan: &Plan, run: &RunId, object: &ObjectPlan, id: &SalesforceId) -> String {
    format!(
        "{}/{run}/files/{}/{id}",
        plan.tenant,
        rich_text_image_object(&object.object)
    )
}

/// What became of one image at extraction.
enum ImageOutcome {
    /// Fetched (and staged, at extraction): the value refers to it.
    Landing(StagedImage),
    /// Refused by Salesforce or over the cap: left out, with the reason.
    LeftOut(String),
}

/// Whether the object sends a long-text field, which may embed rich-text images.
pub(crate) fn has_long_text(object: &ObjectPlan) -> bool {
    object
        .fields
        .iter()
        .map(|field| &field.source_type)
        .chain(object.custom_fields.iter().map(|field| &field.source_type))
        .any(|kind| *kind == ferry_model::model::FieldType::TextArea)
}

/// Images embedded in a record's rich-text values, brought out of Salesforce at extraction
/// as files of the record: each `<img src>` pointing at Salesforce's rtaImage servlet is
/// fetched through the REST resource
/// `sobjects/{object}/{id}/richTextImageFields/{field}/{refid}` (with the session, as every
/// call; a record's images [`super::FILE_DOWNLOADS_IN_FLIGHT`] at a time, under the
/// client's bound), its bytes staged beside the chunk (`staging`; the spot check passes
/// none and only learns what became of each), and the URL replaced by
/// `ferry-file:{id}` ([`FILE_REFERENCE_SCHEME`]), the destination-neutral reference the
/// contract defines; the staged images are listed in the record
/// ([`crate::transform::RICH_TEXT_IMAGES_FIELD`]) for the load step to land as `file`
/// records attached to it. An image Salesforce refuses, or one over
/// [`MAX_RICH_TEXT_IMAGE_BYTES`], is left out (`src=""`) and noted in the record
/// ([`crate::transform::RICH_TEXT_ISSUES_FIELD`]), for the load step to report for the
/// record and field. No value keeps a Salesforce image URL.
pub(super) async fn stage_rich_text_images(
    salesforce: &dyn SalesforceApi,
    staging: Option<(&dyn Staging, &RunId, &Plan)>,
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
        .filter(|field| {
            matches!(record.get(field), Some(Value::String(html)) if html.contains(RTA_IMAGE_PATH))
        })
        .collect();
    if sent.is_empty() {
        return Ok(());
    }
    // Every image of the record, once (a value may show one image twice).
    let wanted = rich_text_images(object, record);
    let id = id.as_str();
    let fetch = |(field, refid): (String, String)| async move {
        let outcome = fetch_image(salesforce, staging, object, id, &field, &refid).await?;
        Ok::<_, StepError>(((field, refid), outcome))
    };
    let outcomes: Vec<Result<_, StepError>> = futures::stream::iter(wanted)
        .map(fetch)
        .buffer_unordered(super::FILE_DOWNLOADS_IN_FLIGHT)
        .collect()
        .await;
    let mut fetched: HashMap<(String, String), ImageOutcome> = HashMap::new();
    for outcome in outcomes {
        let (pair, outcome) = outcome?;
        fetched.insert(pair, outcome);
    }
    let mut issues = Vec::new();
    let mut images = Vec::new();
    for field in sent {
        let Some(Value::String(html)) = record.get(&field) else {
            continue;
        };
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
            match fetched.get(&(field.clone(), refid.clone())) {
                Some(ImageOutcome::Landing(image)) => {
                    out.push_str(FILE_REFERENCE_SCHEME);
                    out.push_str(image.id.as_str());
                    if !images.contains(image) {
                        images.push(image.clone());
                    }
                }
                Some(ImageOutcome::LeftOut(reason)) => {
                    tracing::warn!(object = %object.object, id = %id, field = %field, refid = %refid, "rich-text image left out");
                    issues.push(serde_json::json!({
                        "field": field,
                        "reason": format!("{reason}; the value lands without it (its src emptied, never pointing at Salesforce)"),
                    }));
                }
                // Every rtaImage URL of the value was asked for above.
                None => {}
            }
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
    if !images.is_empty() {
        let images = serde_json::to_value(&images).map_err(|error| {
            StepError::Staging(PortError::with_source(
                ErrorClass::Permanent,
                format!("noting where {} {id}'s rich-text images are", object.object),
                error,
            ))
        })?;
        record.insert(crate::transform::RICH_TEXT_IMAGES_FIELD.to_owned(), images);
    }
    Ok(())
}

/// The rich-text images a record shows, as extraction fetches them: `(field, refid)`,
/// each once, from `sobjects/{object}/{id}/richTextImageFields/{field}/{refid}` (the
/// benchmark's limit downloads the same).
pub fn rich_text_images(object: &ObjectPlan, record: &SourceRecord) -> Vec<(String, String)> {
    let mut wanted: Vec<(String, String)> = Vec::new();
    let fields = object
        .fields
        .iter()
        .map(|field| &field.source)
        .chain(object.custom_fields.iter().map(|field| &field.source));
    for field in fields {
        let Some(Value::String(html)) = record.get(field) else {
            continue;
        };
        if !html.contains(RTA_IMAGE_PATH) {
            continue;
        }
        for url in image_sources(html) {
            if let Some(refid) = rta_refid(url) {
                let pair = (field.clone(), refid);
                if !wanted.contains(&pair) {
                    wanted.push(pair);
                }
            }
        }
    }
    wanted
}

/// The `src` values of a value's `<img>` tags (and any other `src="..."`).
fn image_sources(html: &str) -> impl Iterator<Item = &str> {
    html.split("src=\"")
        .skip(1)
        .filter_map(|after| after.split_once('"').map(|(url, _)| url))
}

/// Fetches one rich-text image and, when given a staging, stages its bytes.
async fn fetch_image(
    salesforce: &dyn SalesforceApi,
    staging: Option<(&dyn Staging, &RunId, &Plan)>,
    object: &ObjectPlan,
    id: &str,
    field: &str,
    refid: &str,
) -> Result<ImageOutcome, StepError> {
    let Some(image_id) = rich_text_image_id(id, field, refid) else {
        return Ok(ImageOutcome::LeftOut(format!(
            "image {refid} cannot be named: {id} is no Salesforce id"
        )));
    };
    let resource = format!("richTextImageFields/{field}/{refid}");
    let fetched = salesforce
        .fetch_blob(
            object.salesforce_object(),
            id,
            &resource,
            MAX_RICH_TEXT_IMAGE_BYTES,
        )
        .await;
    let bytes = match fetched {
        Ok(BlobFetch::Fetched(bytes)) => bytes,
        Ok(BlobFetch::TooLarge { size }) => {
            return Ok(ImageOutcome::LeftOut(format!(
                "image {refid} is {size} bytes or more, over the {MAX_RICH_TEXT_IMAGE_BYTES}-byte cap"
            )));
        }
        Err(error) if error.class() == ErrorClass::Permanent => {
            return Ok(ImageOutcome::LeftOut(format!(
                "Salesforce does not serve image {refid}: {}",
                error.chain()
            )));
        }
        Err(error) => return Err(StepError::Salesforce(error)),
    };
    let sha256 = Sha256::digest(&bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    let content_type = image_type(&bytes).to_owned();
    let size = bytes.len() as u64;
    let key = match staging {
        Some((staging, run, plan)) => {
            let key = image_key(plan, run, object, &image_id);
            staging.put(&key, bytes).await.map_err(StepError::Staging)?;
            key
        }
        None => String::new(),
    };
    Ok(ImageOutcome::Landing(StagedImage {
        field: field.to_owned(),
        refid: refid.to_owned(),
        id: image_id,
        key,
        bytes: size,
        content_type,
        sha256,
    }))
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

/// A landed record's rich-text images, to land as files attached to it.
#[derive(Debug)]
pub(super) struct ImagesOf<'a> {
    pub record: &'a DestinationRecord,
    pub destination_id: DestinationId,
    pub images: &'a [StagedImage],
}

/// What landing a chunk's rich-text images leaves for the commit to write.
#[derive(Debug, Default)]
pub(super) struct LandedImages {
    /// ID-map entries of the image files, under the image object.
    pub entries: Vec<IdMapEntry>,
    /// Images that did not land, reported for their record and field.
    pub issues: Vec<RecordIssue>,
}

/// The link of a `file` record to a record of `entity` (`company`, `contact`,
/// `opportunity`), if the destination's files have one.
pub(super) fn file_link_to(entity: EntityKind) -> Option<&'static str> {
    EntityKind::File
        .links()
        .iter()
        .find(|(_, target)| *target == entity)
        .map(|(link, _)| *link)
}

/// The `file` record a rich-text image lands as: named by its refid, of its type and size,
/// attached to its record (`link` to `parent`).
pub(super) fn image_record(
    object: &str,
    image: &StagedImage,
    link: &str,
    parent: &DestinationId,
) -> DestinationRecord {
    let extension = match image.content_type.as_str() {
        "image/png" => ".png",
        "image/jpeg" => ".jpg",
        "image/gif" => ".gif",
        "image/webp" => ".webp",
        _ => "",
    };
    DestinationRecord {
        source_object: rich_text_image_object(object),
        source_id: image.id.clone(),
        fields: [
            (
                "name".to_owned(),
                Value::String(format!("{}{extension}", image.refid)),
            ),
            (
                "title".to_owned(),
                Value::String(format!("Image in {}", image.field)),
            ),
            (
                "content_type".to_owned(),
                Value::String(image.content_type.clone()),
            ),
            ("size".to_owned(), Value::from(image.bytes)),
        ]
        .into_iter()
        .collect(),
        links: [(link.to_owned(), parent.clone())].into_iter().collect(),
        custom_fields: Default::default(),
    }
}

fn image_issue(
    object: &str,
    record: &DestinationRecord,
    image: &StagedImage,
    reason: String,
) -> RecordIssue {
    RecordIssue {
        object: object.to_owned(),
        salesforce_id: Some(record.source_id.to_string()),
        field: Some(image.field.clone()),
        kind: IssueKind::ValueDropped,
        reason: format!(
            "image {} ({}): {reason}; its reference ({FILE_REFERENCE_SCHEME}{}) names no file",
            image.refid, image.key, image.id
        ),
    }
}

/// An image file's content hash in the ID map: its bytes and the record it is attached to.
fn image_hash(image: &StagedImage, record: &DestinationRecord) -> String {
    let links: Vec<&str> = record.links.values().map(|id| id.as_str()).collect();
    format!("{}@{}", image.sha256, links.join(","))
}

/// Lands a chunk's rich-text images, each as a `file` record attached to its record (which
/// exists by now), under the image object ([`rich_text_image_object`]) and the image's
/// synthetic id, so a re-run updates the same file instead of creating another; journaled
/// first like any record (created, or updated with what the destination held), so a
/// rollback removes them, then upserted, then given their staged bytes. An image the
/// destination refuses is reported for its record and field.
pub(super) async fn land_rich_text_images(
    ports: &super::load::LoadPorts<'_>,
    tenant: &TenantId,
    run: &RunId,
    object: &str,
    entity: EntityKind,
    images: &[ImagesOf<'_>],
) -> Result<LandedImages, StepError> {
    let mut landed = LandedImages::default();
    let image_object = rich_text_image_object(object);
    let mut to_send: Vec<(&DestinationRecord, &StagedImage, DestinationRecord)> = Vec::new();
    for of in images {
        for image in of.images {
            match file_link_to(entity) {
                Some(link) => to_send.push((
                    of.record,
                    image,
                    image_record(object, image, link, &of.destination_id),
                )),
                None => landed.issues.push(image_issue(
                    object,
                    of.record,
                    image,
                    format!("the destination's files cannot be attached to a {entity}"),
                )),
            }
        }
    }
    for batch in to_send.chunks(super::delete::BATCH) {
        let ids: Vec<SalesforceId> = batch.iter().map(|(_, image, _)| image.id.clone()).collect();
        let previous = ports
            .id_map
            .entries(tenant, &image_object, &ids)
            .await
            .map_err(StepError::IdMap)?;
        // An image an earlier run landed with the same bytes is left as it is (its record
        // was updated, not the image): its file, link and entry are unchanged.
        let batch: Vec<&(&DestinationRecord, &StagedImage, DestinationRecord)> = batch
            .iter()
            .filter(|(_, image, record)| {
                !previous.get(&image.id).is_some_and(|entry| {
                    entry.content_hash == image_hash(image, record) && entry.last_run != *run
                })
            })
            .collect();
        let ids: Vec<SalesforceId> = batch.iter().map(|(_, image, _)| image.id.clone()).collect();
        if ids.is_empty() {
            continue;
        }
        // Journal first: created, or updated with what the destination holds now; one
        // this run already wrote is journaled already.
        let mut journal = Vec::new();
        let mut existing = Vec::new();
        for id in &ids {
            match previous.get(id) {
                Some(entry) if entry.last_run == *run => {}
                Some(entry) => existing.push(entry),
                None => journal.push(JournalEntry {
                    object: image_object.clone(),
                    entity: EntityKind::File,
                    salesforce_id: id.clone(),
                    action: JournalAction::Created,
                    previous_entry: None,
                    previous_record: None,
                }),
            }
        }
        if !existing.is_empty() {
            let destination_ids: Vec<DestinationId> = existing
                .iter()
                .map(|entry| entry.destination_id.clone())
                .collect();
            let before = ports
                .destination
                .get(tenant, EntityKind::File, &destination_ids)
                .await
                .map_err(StepError::Destination)?;
            if before.len() != destination_ids.len() {
                return Err(StepError::DestinationContract {
                    sent: destination_ids.len(),
                    answered: before.len(),
                });
            }
            for (entry, previous_record) in existing.into_iter().zip(before) {
                journal.push(JournalEntry {
                    object: image_object.clone(),
                    entity: EntityKind::File,
                    salesforce_id: entry.salesforce_id.clone(),
                    action: JournalAction::Updated,
                    previous_entry: Some(entry.clone()),
                    previous_record,
                });
            }
        }
        if !journal.is_empty() {
            ports
                .runs
                .journal(run, &journal)
                .await
                .map_err(StepError::RunStore)?;
        }
        let records: Vec<DestinationRecord> =
            batch.iter().map(|(_, _, record)| record.clone()).collect();
        let outcomes = ports
            .destination
            .upsert(tenant, EntityKind::File, &records)
            .await
            .map_err(StepError::Destination)?;
        if outcomes.len() != records.len() {
            return Err(StepError::DestinationContract {
                sent: records.len(),
                answered: outcomes.len(),
            });
        }
        for ((parent, image, record), outcome) in batch.iter().copied().zip(outcomes) {
            let destination_id = match outcome {
                UpsertOutcome::Created(id) | UpsertOutcome::Updated(id) => id,
                UpsertOutcome::Rejected { reason } => {
                    landed.issues.push(image_issue(
                        object,
                        parent,
                        image,
                        format!("the destination refused its file: {reason}"),
                    ));
                    continue;
                }
            };
            let blob = StagedBlob {
                source_field: image.field.clone(),
                target: "content".to_owned(),
                key: image.key.clone(),
                bytes: image.bytes,
            };
            deliver_file(
                ports.staging,
                ports.destination,
                tenant,
                EntityKind::File,
                record,
                &destination_id,
                &blob,
            )
            .await?;
            landed.entries.push(IdMapEntry {
                object: image_object.clone(),
                salesforce_id: image.id.clone(),
                destination_id,
                run_id: run.clone(),
                content_hash: image_hash(image, record),
            });
        }
    }
    Ok(landed)
}
