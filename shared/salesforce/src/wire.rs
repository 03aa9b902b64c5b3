//! Salesforce's JSON shapes, as the recorded payloads in tests/fixtures/salesforce show them. Only the
//! keys Ferry reads are declared; serde ignores the rest.

use ferry_model::model::{
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
    #[serde(default)]
    pub layoutable: bool,
}

impl From<GlobalSObject> for ObjectSummary {
    fn from(wire: GlobalSObject) -> Self {
        Self {
            name: wire.name,
            label: wire.label,
            key_prefix: wire.key_prefix,
            queryable: wire.queryable,
            custom: wire.custom,
            layoutable: wire.layoutable,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Describe {
    pub name: String,
    #[serde(default)]
    pub label: String,
    pub key_prefix: Option<String>,
    pub fields: Vec<DescribeField>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeField {
    pub name: String,
    #[serde(default)]
    pub label: String,
    #[serde(rename = "type")]
    pub field_type: String,
    // Trimmed describes (client libraries' mocks, sampled recordings) leave these out;
    // Salesforce's own defaults apply.
    #[serde(default)]
    pub custom: bool,
    #[serde(default = "yes")]
    pub nillable: bool,
    #[serde(default)]
    pub calculated: bool,
    #[serde(default)]
    pub length: u32,
    #[serde(default)]
    pub precision: u32,
    #[serde(default)]
    pub scale: u32,
    #[serde(default)]
    pub reference_to: Vec<String>,
    pub relationship_name: Option<String>,
    pub compound_field_name: Option<String>,
    #[serde(default)]
    pub picklist_values: Vec<PicklistValue>,
}

fn yes() -> bool {
    true
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

#[cfg(test)]
mod fixture_tests {
    //! Every recorded payload of tests/fixtures/salesforce parses into the client type
    //! that reads its endpoint; unknown keys are tolerated.

    use super::*;
    use std::path::PathBuf;

    fn fixtures(folder: &str) -> Vec<(String, Vec<u8>)> {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/salesforce")
            .join(folder);
        let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
            .unwrap_or_else(|error| panic!("fixtures {} unreadable: {error}", dir.display()))
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
            .map(|path| {
                let name = path
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned();
                let bytes = std::fs::read(&path).unwrap_or_default();
                (name, bytes)
            })
            .collect();
        files.sort();
        assert!(!files.is_empty(), "no fixtures in {}", dir.display());
        files
    }

    /// The describes of a recording: itself, or the successful parts of a composite answer
    /// that wraps several.
    fn describe_bodies(value: serde_json::Value) -> Vec<serde_json::Value> {
        match value.get("compositeResponse") {
            Some(parts) => parts
                .as_array()
                .into_iter()
                .flatten()
                .filter(|part| part["httpStatusCode"] == 200)
                .map(|part| part["body"].clone())
                .collect(),
            None => vec![value],
        }
    }

    fn parse<T: serde::de::DeserializeOwned>(folder: &str, name: &str, bytes: &[u8]) -> T {
        serde_json::from_slice(bytes).unwrap_or_else(|error| panic!("{folder}/{name}: {error}"))
    }

    #[test]
    fn describes_and_global_describes_parse() {
        let mut described = 0;
        for (name, bytes) in fixtures("describe") {
            for body in describe_bodies(parse("describe", &name, &bytes)) {
                let describe: Describe = serde_json::from_value(body)
                    .unwrap_or_else(|error| panic!("describe/{name}: {error}"));
                let object: ObjectDescription = describe.into();
                assert!(!object.fields.is_empty(), "{name}");
                described += 1;
            }
        }
        assert!(described >= 25, "{described}");
        for (name, bytes) in fixtures("describe_global") {
            let global: DescribeGlobal = parse("describe_global", &name, &bytes);
            assert!(!global.sobjects.is_empty(), "{name}");
        }
    }

    /// Every field of every recorded describe has a known Salesforce type, and maps to a
    /// destination custom-field type or is refused with a reason; sizes and values carry
    /// over from the describe.
    #[test]
    fn every_recorded_field_type_maps_or_is_refused_with_a_reason() {
        use ferry_model::plan::{DestinationFieldType, destination_type};
        let mut seen = std::collections::BTreeSet::new();
        for (name, bytes) in fixtures("describe") {
            for body in describe_bodies(parse("describe", &name, &bytes)) {
                let describe: Describe = serde_json::from_value(body)
                    .unwrap_or_else(|error| panic!("describe/{name}: {error}"));
                let object: ObjectDescription = describe.into();
                for field in &object.fields {
                    let at = format!("{name}: {}.{}", object.name, field.name);
                    assert!(
                        !matches!(field.field_type, FieldType::Other(_)),
                        "{at}: unknown type {:?}",
                        field.field_type
                    );
                    seen.insert(field.field_type.describe_name().to_owned());
                    match destination_type(&field.field_type, field) {
                        Ok(DestinationFieldType::Text { max_length })
                        | Ok(DestinationFieldType::LongText { max_length }) => {
                            assert_eq!(max_length, field.length, "{at}");
                        }
                        Ok(DestinationFieldType::Currency { precision, scale })
                        | Ok(DestinationFieldType::Percent { precision, scale }) => {
                            assert_eq!((precision, scale), (field.precision, field.scale), "{at}");
                        }
                        Ok(DestinationFieldType::Picklist { values })
                        | Ok(DestinationFieldType::MultiPicklist { values }) => {
                            assert_eq!(values, field.picklist_values, "{at}");
                        }
                        Ok(_) => {}
                        Err(reason) => {
                            assert!(
                                matches!(
                                    field.field_type,
                                    FieldType::Id
                                        | FieldType::Reference
                                        | FieldType::Address
                                        | FieldType::Location
                                        | FieldType::Base64
                                        | FieldType::Time
                                ),
                                "{at}: {reason}"
                            );
                            assert!(!reason.is_empty(), "{at}");
                        }
                    }
                }
            }
        }
        // The recordings cover the types the map must handle.
        for wanted in [
            "string",
            "textarea",
            "picklist",
            "multipicklist",
            "reference",
            "url",
            "phone",
            "email",
            "double",
            "currency",
            "percent",
            "date",
            "datetime",
            "boolean",
            "address",
            "int",
            "base64",
        ] {
            assert!(
                seen.contains(wanted),
                "no recorded field of type {wanted}: {seen:?}"
            );
        }
    }

    #[test]
    fn query_pages_parse() {
        for (name, bytes) in fixtures("query") {
            let page: QueryResponse = parse("query", &name, &bytes);
            assert!(page.done || page.next_records_url.is_some(), "{name}");
            assert!(page.records.len() as u64 <= page.total_size.max(page.records.len() as u64));
        }
    }

    #[test]
    fn bulk_jobs_oauth_answers_limits_and_errors_parse() {
        for (name, bytes) in fixtures("bulk2") {
            let job: crate::bulk::BulkJob = parse("bulk2", &name, &bytes);
            assert_ne!(job.state, crate::bulk::BulkJobState::Unknown, "{name}");
        }
        for (name, bytes) in fixtures("oauth") {
            let value: serde_json::Value = parse("oauth", &name, &bytes);
            if value.get("access_token").is_some() {
                let token: crate::oauth::TokenResponse = parse("oauth", &name, &bytes);
                assert!(token.instance_url.starts_with("https://"), "{name}");
            } else if value.get("error").is_some() {
                assert!(value["error"].is_string(), "{name}");
            }
        }
        for (name, bytes) in fixtures("limits") {
            let counts: crate::rest::RecordCountsWire = parse("limits", &name, &bytes);
            assert!(
                counts.objects.iter().all(|count| !count.name.is_empty()),
                "{name}"
            );
        }
        for (name, bytes) in fixtures("errors") {
            let value: serde_json::Value = parse("errors", &name, &bytes);
            // Plain REST errors are arrays of {errorCode, message}; composite answers wrap
            // them; DML results carry them per record.
            if value.is_array() && value[0].get("errorCode").is_some() {
                let errors: Vec<crate::error::ApiErrorItem> = parse("errors", &name, &bytes);
                assert!(!errors[0].error_code.is_empty(), "{name}");
            }
        }
    }
}
