//! Salesforce's JSON shapes, as the recorded payloads in ../shared/fixtures show them. Only the
//! keys Ferry reads are declared; serde ignores the rest.

use ferry_core::model::{
    FieldDescription, FieldType, ObjectDescription, ObjectSummary, SourceRecord,
};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct DescribeGlobal {
    pub sobjects: Vec<GlobalSObject>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GlobalSObject {
    pub name: String,
    pub label: String,
    pub key_prefix: Option<String>,
    pub queryable: bool,
    pub custom: bool,
}

impl From<GlobalSObject> for ObjectSummary {
    fn from(wire: GlobalSObject) -> Self {
        Self {
            name: wire.name,
            label: wire.label,
            key_prefix: wire.key_prefix,
            queryable: wire.queryable,
            custom: wire.custom,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Describe {
    pub name: String,
    pub label: String,
    pub key_prefix: Option<String>,
    pub fields: Vec<DescribeField>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeField {
    pub name: String,
    pub label: String,
    #[serde(rename = "type")]
    pub field_type: String,
    pub custom: bool,
    pub nillable: bool,
    pub calculated: bool,
    pub length: u32,
    pub precision: u32,
    pub scale: u32,
    #[serde(default)]
    pub reference_to: Vec<String>,
    pub relationship_name: Option<String>,
    pub compound_field_name: Option<String>,
    #[serde(default)]
    pub picklist_values: Vec<PicklistValue>,
}

#[derive(Debug, Deserialize)]
pub struct PicklistValue {
    pub value: String,
    pub active: bool,
}

impl From<Describe> for ObjectDescription {
    fn from(wire: Describe) -> Self {
        Self {
            name: wire.name,
            label: wire.label,
            key_prefix: wire.key_prefix,
            fields: wire
                .fields
                .into_iter()
                .map(|field| FieldDescription {
                    field_type: FieldType::from_describe(&field.field_type),
                    name: field.name,
                    label: field.label,
                    custom: field.custom,
                    nillable: field.nillable,
                    calculated: field.calculated,
                    length: field.length,
                    precision: field.precision,
                    scale: field.scale,
                    reference_to: field.reference_to,
                    relationship_name: field.relationship_name,
                    compound_field_name: field.compound_field_name,
                    picklist_values: field
                        .picklist_values
                        .into_iter()
                        .filter(|value| value.active)
                        .map(|value| value.value)
                        .collect(),
                })
                .collect(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryResponse {
    pub total_size: u64,
    pub done: bool,
    #[serde(default)]
    pub next_records_url: Option<String>,
    pub records: Vec<SourceRecord>,
}
