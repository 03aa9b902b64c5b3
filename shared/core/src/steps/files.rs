//! File bodies: an Attachment's `Body` or a ContentVersion's `VersionData`, downloaded
//! through the blob resource (Bulk API 2.0 cannot carry base64 fields) and staged beside
//! the chunks. A file over the size cap is not downloaded; it is reported as skipped with
//! its size, so the count of files adds up like the count of records.

use super::StepError;
use crate::ids::RunId;
use crate::plan::Plan;
use crate::ports::{BlobFetch, SalesforceApi, Staging};
use serde::{Deserialize, Serialize};

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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum FileOutcome {
    Staged { key: String, bytes: u64 },
    Skipped { reason: String },
}

/// Where a file is staged: beside the run's chunks, keyed by object and record id.
pub fn file_key(plan: &Plan, run: &RunId, file: &FileRef) -> String {
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
