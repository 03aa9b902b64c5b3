//! What Ferry knows of the source org: objects, their fields, and records as extracted.
//!
//! These are Ferry's own types, not Salesforce's wire shapes: the Salesforce client crate maps
//! describe and query answers onto them, so the steps never see JSON from the wire.

use serde::{Deserialize, Serialize};

/// One entry of describeGlobal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectSummary {
    pub name: String,
    pub label: String,
    pub key_prefix: Option<String>,
    pub queryable: bool,
    pub custom: bool,
}

/// A described object with its fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectDescription {
    pub name: String,
    pub label: String,
    pub key_prefix: Option<String>,
    pub fields: Vec<FieldDescription>,
}

impl ObjectDescription {
    pub fn field(&self, name: &str) -> Option<&FieldDescription> {
        self.fields
            .iter()
            .find(|field| field.name.eq_ignore_ascii_case(name))
    }
}

/// One field of a described object, with the metadata the map and the transform need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldDescription {
    pub name: String,
    pub label: String,
    pub field_type: FieldType,
    pub custom: bool,
    pub nillable: bool,
    pub calculated: bool,
    pub length: u32,
    pub precision: u32,
    pub scale: u32,
    pub reference_to: Vec<String>,
    pub relationship_name: Option<String>,
    /// Set on the parts of a compound field (BillingCity is part of BillingAddress).
    pub compound_field_name: Option<String>,
    pub picklist_values: Vec<String>,
}

/// Salesforce's field types, as describe names them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    Id,
    Boolean,
    String,
    TextArea,
    Picklist,
    MultiPicklist,
    Combobox,
    Reference,
    Url,
    Phone,
    Email,
    Int,
    Long,
    Double,
    Currency,
    Percent,
    Date,
    DateTime,
    Time,
    Address,
    Location,
    Base64,
    EncryptedString,
    /// A type this version of Ferry does not know; kept by name so the plan can report it.
    Other(String),
}

impl FieldType {
    /// Maps describe's `type` value.
    pub fn from_describe(value: &str) -> Self {
        match value {
            "id" => Self::Id,
            "boolean" => Self::Boolean,
            "string" => Self::String,
            "textarea" => Self::TextArea,
            "picklist" => Self::Picklist,
            "multipicklist" => Self::MultiPicklist,
            "combobox" => Self::Combobox,
            "reference" => Self::Reference,
            "url" => Self::Url,
            "phone" => Self::Phone,
            "email" => Self::Email,
            "int" => Self::Int,
            "long" => Self::Long,
            "double" => Self::Double,
            "currency" => Self::Currency,
            "percent" => Self::Percent,
            "date" => Self::Date,
            "datetime" => Self::DateTime,
            "time" => Self::Time,
            "address" => Self::Address,
            "location" => Self::Location,
            "base64" => Self::Base64,
            "encryptedstring" => Self::EncryptedString,
            other => Self::Other(other.to_owned()),
        }
    }

    /// Compound fields are read through their parts; selecting both would double the data.
    pub fn is_compound(&self) -> bool {
        matches!(self, Self::Address | Self::Location)
    }
}

/// A record as extracted: field name to JSON value, without Salesforce's `attributes`.
pub type SourceRecord = serde_json::Map<String, serde_json::Value>;
