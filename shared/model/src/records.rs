//! Records between the steps: a record as the destination receives it, and what became of a
//! record's file at extraction. Plain data, below the transform that makes them and the
//! ports that carry them.

use crate::ids::{DestinationId, SalesforceId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A record as the destination receives it. On an entity that carries money
/// ([`crate::mapping::EntityKind::carries_money`]), `fields` holds the record's currency under
/// [`crate::mapping::CURRENCY_FIELD`]: the ISO code all of its money values are in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DestinationRecord {
    pub source_object: String,
    pub source_id: SalesforceId,
    pub fields: BTreeMap<String, serde_json::Value>,
    pub links: BTreeMap<String, DestinationId>,
    pub custom_fields: BTreeMap<String, serde_json::Value>,
}

/// What became of a record's file at extraction, kept in the staged record in place of the
/// body: staged under `key` (the bytes travel beside the chunk), or skipped with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum FileOutcome {
    Staged { key: String, bytes: u64 },
    Skipped { reason: String },
}

/// How a rich-text value refers to an image that landed as a file of its record:
/// `<img src="ferry-file:{id}">`, where `{id}` is the Salesforce id the file record was sent
/// under (its `source_id`; object `{Object}.RichTextImage`). A destination resolves it by
/// looking up its file with that source id (the reference CRM:
/// `SqliteDestination::file_by_reference`). The contract defines it
/// (`infra/destination-api.openapi.json`).
pub const FILE_REFERENCE_SCHEME: &str = "ferry-file:";

/// The object a record's rich-text images are sent, mapped and journaled under: the
/// record's object followed by `.RichTextImage` (`Account.RichTextImage`).
pub fn rich_text_image_object(object: &str) -> String {
    format!("{object}.RichTextImage")
}
