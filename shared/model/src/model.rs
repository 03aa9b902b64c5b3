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
    /// Whether the object has page layouts: records people work with, as opposed to setup
    /// and system objects. Standard objects the map does not name are read as generic
    /// records only when they are.
    #[serde(default)]
    pub layoutable: bool,
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

    /// The name describe gives the type (`textarea`, `datetime`, ...).
    pub fn describe_name(&self) -> &str {
        match self {
            Self::Id => "id",
            Self::Boolean => "boolean",
            Self::String => "string",
            Self::TextArea => "textarea",
            Self::Picklist => "picklist",
            Self::MultiPicklist => "multipicklist",
            Self::Combobox => "combobox",
            Self::Reference => "reference",
            Self::Url => "url",
            Self::Phone => "phone",
            Self::Email => "email",
            Self::Int => "int",
            Self::Long => "long",
            Self::Double => "double",
            Self::Currency => "currency",
            Self::Percent => "percent",
            Self::Date => "date",
            Self::DateTime => "datetime",
            Self::Time => "time",
            Self::Address => "address",
            Self::Location => "location",
            Self::Base64 => "base64",
            Self::EncryptedString => "encryptedstring",
            Self::Other(name) => name,
        }
    }

    /// Compound fields are read through their parts; selecting both would double the data.
    pub fn is_compound(&self) -> bool {
        matches!(self, Self::Address | Self::Location)
    }
}

/// A record as extracted: field name to JSON value, without Salesforce's `attributes`.
pub type SourceRecord = serde_json::Map<String, serde_json::Value>;

/// A field value that arrived as text (Bulk API CSV) as the JSON value the REST API would
/// have sent: booleans and numbers typed, everything else text. Text that does not parse
/// as its type stays text, so the transform reports it against the record and field.
pub fn typed_text_value(field_type: &FieldType, text: &str) -> serde_json::Value {
    use serde_json::Value;
    match field_type {
        FieldType::Boolean => match text {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::String(text.to_owned()),
        },
        FieldType::Int | FieldType::Long => text
            .parse::<i64>()
            .map_or_else(|_| Value::String(text.to_owned()), Value::from),
        // serde_json keeps numbers as their decimal text (`arbitrary_precision`), so a
        // currency of 18 digits arrives exactly, never through a float.
        FieldType::Double | FieldType::Currency | FieldType::Percent => text
            .parse::<serde_json::Number>()
            .map_or_else(|_| Value::String(text.to_owned()), Value::Number),
        _ => Value::String(text.to_owned()),
    }
}

#[cfg(test)]
mod typed_text_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn csv_text_gets_the_json_type_rest_would_send() {
        assert_eq!(typed_text_value(&FieldType::Boolean, "true"), json!(true));
        assert_eq!(typed_text_value(&FieldType::Int, "42"), json!(42));
        assert_eq!(
            typed_text_value(&FieldType::Currency, "1234.5"),
            json!(1234.5)
        );
        assert_eq!(typed_text_value(&FieldType::Double, "n/a"), json!("n/a"));
        let exact = typed_text_value(&FieldType::Currency, "12345678901234567.89");
        assert_eq!(exact.to_string(), "12345678901234567.89");
        assert_eq!(
            typed_text_value(&FieldType::Date, "2024-01-31"),
            json!("2024-01-31")
        );
        assert_eq!(typed_text_value(&FieldType::String, "007"), json!("007"));
    }
}
