//! From an extracted Salesforce record to what the destination receives. Pure: no IO, so a
//! bad record becomes a [`RecordIssue`] naming the record, the field and the reason.

use ferry_model::ids::SalesforceId;
use ferry_model::model::{FieldType, SourceRecord};
use ferry_model::plan::ObjectPlan;
use ferry_model::records::DestinationRecord;
use ferry_model::report::{IssueKind, RecordIssue};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset, macros::format_description};

/// The team's field listing the Salesforce objects its queue may own.
pub const TEAM_OBJECTS_FIELD: &str = "objects";

/// A transformed record whose links still need the ID map.
#[derive(Debug, Clone, PartialEq)]
pub struct TransformedRecord {
    pub record: DestinationRecord,
    pub references: Vec<Reference>,
    /// Set when the record already lands as another record (a converted lead as its
    /// contact): it is not sent, and its ID-map entry points at that record.
    pub replaced_by: Option<Reference>,
    /// The file's bytes, staged at extraction, for the load step to deliver once the record
    /// exists.
    pub blob: Option<StagedBlob>,
    /// What the record lands without, and why (a link to an object the plan does not move).
    pub issues: Vec<RecordIssue>,
    /// The record this one also stands for (an email's companion task, its `ActivityId`):
    /// its ID-map entry, under this object, points at this record once it lands.
    pub stands_for: Option<SalesforceId>,
    /// The images of its rich-text values, staged at extraction, each to land as a file of
    /// the record once the record exists.
    pub images: Vec<StagedImage>,
}

/// An image of a rich-text value, staged at extraction: it lands as a `file` record (under
/// `id`, object [`ferry_model::records::rich_text_image_object`]) attached to its record,
/// which refers to it as `ferry-file:{id}`
/// ([`ferry_model::records::FILE_REFERENCE_SCHEME`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StagedImage {
    /// The rich-text field that shows it.
    pub field: String,
    /// Salesforce's `refid` of the image within the record's field.
    pub refid: String,
    /// The file record's Salesforce id: synthetic, derived from the record's id, the field
    /// and the refid, so every run names the same image the same way.
    pub id: SalesforceId,
    /// Where the bytes are staged.
    pub key: String,
    pub bytes: u64,
    pub content_type: String,
    /// SHA-256 of the bytes, hex (with the record it is attached to, its content hash in the ID map).
    pub sha256: String,
}

/// The field the extract step adds to a staged record with its staged rich-text images
/// (`[StagedImage]`).
pub(crate) const RICH_TEXT_IMAGES_FIELD: &str = "_ferry_rich_text_images";

/// Where the extract step staged a file's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagedBlob {
    pub source_field: String,
    /// The destination field that stands for the bytes (a file's `content`).
    pub target: String,
    pub key: String,
    pub bytes: u64,
}

/// The field the extract step adds to a staged record with what became of its file's bytes
/// ([`ferry_model::records::FileOutcome`]), or why text held in a binary field could not be read.
/// Salesforce field names never start with `_`.
pub(crate) const BLOB_FIELD: &str = "_ferry_blob";

/// The field the extract step adds to a staged record with the rich-text images it could
/// not bring out of Salesforce (`[{"field", "reason"}]`), each reported for the record and
/// field.
pub(crate) const RICH_TEXT_ISSUES_FIELD: &str = "_ferry_rich_text";

/// A Salesforce reference to resolve into a destination link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub source_field: String,
    pub link: String,
    pub target_object: String,
    pub target: SalesforceId,
    /// Variants the target may have landed as instead (a person account): (the variant's
    /// object in the plan, the link it then fills), tried in order when `target_object`
    /// does not hold the target.
    pub variants: Vec<(String, String)>,
}

impl Reference {
    /// Every (object, link) the target may have landed under, `target_object` first.
    pub fn candidates(&self) -> impl Iterator<Item = (&str, &str)> {
        std::iter::once((self.target_object.as_str(), self.link.as_str())).chain(
            self.variants
                .iter()
                .map(|(object, link)| (object.as_str(), link.as_str())),
        )
    }
}

/// The variants of `object` a link's target may have landed as.
fn variants_of(link: &ferry_model::plan::LinkMapping, object: &str) -> Vec<(String, String)> {
    link.variants
        .iter()
        .filter(|variant| variant.of == object)
        .map(|variant| (variant.object.clone(), variant.link.clone()))
        .collect()
}

pub fn transform_record(
    plan: &ObjectPlan,
    source: &SourceRecord,
) -> Result<TransformedRecord, RecordIssue> {
    let issue =
        |salesforce_id: Option<&str>, field: Option<&str>, kind, reason: String| RecordIssue {
            object: plan.object.clone(),
            salesforce_id: salesforce_id.map(str::to_owned),
            field: field.map(str::to_owned),
            kind,
            reason,
        };
    let raw_id = match source.get("Id") {
        Some(Value::String(id)) => id.as_str(),
        _ => {
            return Err(issue(
                None,
                Some("Id"),
                IssueKind::Failed,
                "the record has no Id".to_owned(),
            ));
        }
    };
    let source_id = SalesforceId::parse(raw_id).map_err(|error| {
        issue(
            Some(raw_id),
            Some("Id"),
            IssueKind::Failed,
            error.to_string(),
        )
    })?;
    let failed =
        |field: &str, reason: String| issue(Some(raw_id), Some(field), IssueKind::Failed, reason);
    if let Some(skip) = &plan.skipped_when
        && is_skipped(plan, source)
    {
        return Err(issue(
            Some(raw_id),
            skip.when.first().map(|(field, _)| field.as_str()),
            IssueKind::Skipped,
            skip.reason.clone(),
        ));
    }

    let mut fields = BTreeMap::new();
    for mapping in &plan.fields {
        let value = if mapping.components.is_empty() {
            convert(&mapping.source_type, field_value(source, &mapping.source))
                .map_err(|reason| failed(&mapping.source, reason))?
        } else {
            structured(&mapping.source, &mapping.components, source)
        };
        fields.insert(mapping.target.clone(), value);
    }
    let mut custom_fields = BTreeMap::new();
    for definition in &plan.custom_fields {
        // A custom lookup lands as a link (among `plan.links`), not as a value.
        if matches!(
            definition.field_type,
            ferry_model::plan::DestinationFieldType::Lookup { .. }
        ) {
            continue;
        }
        let value = convert(&definition.source_type, source.get(&definition.source))
            .map_err(|reason| failed(&definition.source, reason))?;
        custom_fields.insert(definition.name.clone(), value);
    }
    for (target, value) in &plan.values {
        fields.insert(target.clone(), value.clone());
    }
    // A queue's team holds the objects the queue may own (`QueueSobject`, read at discovery).
    if plan.entity == ferry_model::mapping::EntityKind::Team {
        let objects = plan
            .queue_objects
            .get(source_id.as_str())
            .cloned()
            .unwrap_or_default();
        fields.insert(TEAM_OBJECTS_FIELD.to_owned(), serde_json::json!(objects));
    }
    let mut references = Vec::new();
    let mut issues = Vec::new();
    if let Some(Value::Array(left_out)) = source.get(RICH_TEXT_ISSUES_FIELD) {
        for noted in left_out {
            issues.push(issue(
                Some(raw_id),
                noted.get("field").and_then(Value::as_str),
                IssueKind::ValueDropped,
                noted
                    .get("reason")
                    .and_then(Value::as_str)
                    .unwrap_or("a rich-text image was left out")
                    .to_owned(),
            ));
        }
    }
    let images = match source.get(RICH_TEXT_IMAGES_FIELD) {
        None => Vec::new(),
        Some(staged) => {
            serde_json::from_value::<Vec<StagedImage>>(staged.clone()).map_err(|error| {
                failed(
                    RICH_TEXT_IMAGES_FIELD,
                    format!(
                        "the staged record does not say where its rich-text images are: {error}"
                    ),
                )
            })?
        }
    };
    for link in &plan.links {
        let Some(target) =
            reference_value(source, &link.source).map_err(|reason| failed(&link.source, reason))?
        else {
            continue;
        };
        if link.polymorphic.is_empty() {
            references.push(Reference {
                source_field: link.source.clone(),
                link: link.target.clone(),
                target_object: link.target_object.clone(),
                target,
                variants: variants_of(link, &link.target_object),
            });
            continue;
        }
        let prefix = target.as_str().get(..3).unwrap_or_default();
        let object = link.prefixes.get(prefix);
        let chosen = object.and_then(|object| {
            link.polymorphic
                .iter()
                .find(|candidate| candidate.object == *object)
        });
        match chosen {
            Some(chosen) => references.push(Reference {
                source_field: link.source.clone(),
                link: chosen.link.clone(),
                target_object: chosen.object.clone(),
                target,
                variants: variants_of(link, &chosen.object),
            }),
            None => {
                let named = match object {
                    Some(object) => format!("{object} {target}"),
                    None => format!("{target} (an object with key prefix {prefix})"),
                };
                let reason = format!("points to {named}, which this migration does not move");
                if link.required {
                    return Err(issue(
                        Some(raw_id),
                        Some(&link.source),
                        IssueKind::Skipped,
                        format!("{reason}, and Salesforce requires it"),
                    ));
                }
                issues.push(issue(
                    Some(raw_id),
                    Some(&link.source),
                    IssueKind::ValueDropped,
                    format!("{reason}; the record lands without this link"),
                ));
            }
        }
    }
    let mut replaced_by = None;
    if let Some(replaced) = &plan.replaced_by
        && replaced
            .when
            .iter()
            .all(|(field, value)| has_value(source, field, value))
        && let Some(target) = reference_value(source, &replaced.source)
            .map_err(|reason| failed(&replaced.source, reason))?
    {
        replaced_by = Some(Reference {
            source_field: replaced.source.clone(),
            link: String::new(),
            target_object: replaced.target_object.clone(),
            target,
            variants: replaced
                .variants
                .iter()
                .map(|variant| (variant.clone(), String::new()))
                .collect(),
        });
    }
    let mut blob = None;
    if let Some(field) = &plan.blob {
        let text = plan.entity.field_kind(&field.target) != ferry_model::mapping::ValueKind::Bytes;
        let outcome = source
            .get(BLOB_FIELD)
            .cloned()
            .map(serde_json::from_value::<ferry_model::records::FileOutcome>);
        match outcome {
            // Text (a content note's body) was put in the record at extraction.
            None if text => {
                let value = convert(&FieldType::TextArea, source.get(&field.source))
                    .map_err(|reason| failed(&field.source, reason))?;
                if value.is_null() {
                    return Err(failed(
                        &field.source,
                        "the content was not fetched at extraction".to_owned(),
                    ));
                }
                fields.insert(field.target.clone(), value);
            }
            Some(Ok(ferry_model::records::FileOutcome::Staged { key, bytes })) => {
                blob = Some(StagedBlob {
                    source_field: field.source.clone(),
                    target: field.target.clone(),
                    key,
                    bytes,
                });
            }
            Some(Ok(ferry_model::records::FileOutcome::Skipped { reason })) => {
                return Err(issue(
                    Some(raw_id),
                    Some(&field.source),
                    IssueKind::Skipped,
                    reason,
                ));
            }
            Some(Err(error)) => {
                return Err(failed(
                    &field.source,
                    format!("the staged record does not say where its content is: {error}"),
                ));
            }
            None => {
                return Err(failed(
                    &field.source,
                    "the content was not fetched at extraction".to_owned(),
                ));
            }
        }
    }
    // Required values are what the destination refuses a record without. A replaced record
    // is not sent, nor is a user (matched, never created): a user without an email still
    // needs its ID-map entry, to the default owner.
    let sent = replaced_by.is_none() && plan.entity.created_by_migration();
    for required in plan.entity.required_fields().filter(|_| sent) {
        let present = match fields.get(required) {
            Some(Value::String(text)) => !text.trim().is_empty(),
            Some(Value::Null) | None => false,
            Some(_) => true,
        };
        if !present {
            let source_field = plan
                .fields
                .iter()
                .find(|mapping| mapping.target == *required)
                .map(|mapping| mapping.source.as_str());
            return Err(issue(
                Some(raw_id),
                source_field,
                IssueKind::Skipped,
                format!("missing required value for {}.{required}", plan.entity),
            ));
        }
    }
    // A value that is no Salesforce id names no record: nothing else is replaced.
    let stands_for = plan
        .stands_for
        .as_ref()
        .and_then(|field| reference_value(source, field).ok().flatten());
    Ok(TransformedRecord {
        stands_for,
        record: DestinationRecord {
            source_object: plan.salesforce_object().to_owned(),
            source_id,
            fields,
            links: BTreeMap::new(),
            custom_fields,
        },
        references,
        replaced_by,
        blob,
        images,
        issues,
    })
}

/// A field's value; for a parent's field (`RecordType.Name`), REST nests it under the
/// relationship while Bulk API 2.0 names its CSV column by the path, so both are read.
fn field_value<'a>(source: &'a SourceRecord, field: &str) -> Option<&'a Value> {
    if let Some(value) = source.get(field) {
        return Some(value);
    }
    let (relationship, parent_field) = field.split_once('.')?;
    match source.get(relationship)? {
        Value::Object(parent) => parent.get(parent_field),
        // No parent: the relationship itself is null.
        other => Some(other),
    }
}

/// The Salesforce id a reference field holds, or `None` when it is empty.
/// Whether `source` is left out by its plan's `skipped_when` (a superseded file version):
/// nothing of it is downloaded or sent.
pub fn is_skipped(plan: &ObjectPlan, source: &SourceRecord) -> bool {
    plan.skipped_when.as_ref().is_some_and(|skip| {
        skip.when
            .iter()
            .all(|(field, value)| has_value(source, field, value))
    })
}

/// Whether `source` lands as the record its plan's `replaced_by` names (a converted lead, a
/// person contact).
pub fn is_replaced(plan: &ObjectPlan, source: &SourceRecord) -> bool {
    plan.replaced_by.as_ref().is_some_and(|replaced| {
        replaced
            .when
            .iter()
            .all(|(field, value)| has_value(source, field, value))
            && matches!(reference_value(source, &replaced.source), Ok(Some(_)))
    })
}

/// Whether the record's `field` is `value`; a Bulk API CSV page's `true` (text, when the
/// field is not among those typed for the page) equals the boolean.
fn has_value(source: &SourceRecord, field: &str, value: &Value) -> bool {
    match (source.get(field), value) {
        (Some(Value::String(text)), Value::Bool(_) | Value::Number(_)) => {
            text.eq_ignore_ascii_case(&value.to_string())
        }
        (Some(found), _) => found == value,
        (None, Value::Null) => true,
        (None, _) => false,
    }
}

fn reference_value(source: &SourceRecord, field: &str) -> Result<Option<SalesforceId>, String> {
    // A parent's reference (`Activity.WhoId`) as REST nests it or Bulk names it.
    match field_value(source, field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(target)) if target.is_empty() => Ok(None),
        Some(Value::String(target)) => SalesforceId::parse(target)
            .map(Some)
            .map_err(|error| error.to_string()),
        Some(other) => Err(format!("expected a Salesforce id, found {other}")),
    }
}

/// A compound field (an address) as one object built from its component fields:
/// `BillingStreet`, `BillingPostalCode` of `BillingAddress` become `street`, `postal_code`.
/// Null when every component is empty.
pub fn structured(compound: &str, components: &[String], source: &SourceRecord) -> Value {
    let mut parts = serde_json::Map::new();
    for component in components {
        let value = match source.get(component) {
            None | Some(Value::Null) => continue,
            Some(Value::String(text)) if text.trim().is_empty() => continue,
            Some(value) => value.clone(),
        };
        parts.insert(component_key(compound, component), value);
    }
    if parts.is_empty() {
        Value::Null
    } else {
        Value::Object(parts)
    }
}

/// The key of a component in its compound's structured value: `BillingPostalCode` of
/// `BillingAddress` is `postal_code`.
pub(crate) fn component_key(compound: &str, component: &str) -> String {
    let stem = compound
        .strip_suffix("Address")
        .or_else(|| compound.strip_suffix("__c"))
        .unwrap_or(compound);
    let suffix = component.strip_prefix(stem).unwrap_or(component);
    snake_case(suffix.trim_start_matches('_').trim_end_matches("__s"))
}

/// `PostalCode` as `postal_code`.
fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (index, character) in name.chars().enumerate() {
        if character.is_uppercase() {
            if index > 0 && !out.ends_with('_') {
                out.push('_');
            }
            out.extend(character.to_lowercase());
        } else {
            out.push(character);
        }
    }
    out
}

/// `A;B` as `["A", "B"]`; an empty selection as null, as Salesforce stores it.
pub fn multi_picklist(text: &str) -> Value {
    let values: Vec<Value> = text
        .split(';')
        .map(str::trim)
        .filter(|value| !value.is_empty())
        .map(|value| Value::String(value.to_owned()))
        .collect();
    if values.is_empty() {
        Value::Null
    } else {
        Value::Array(values)
    }
}

/// Converts one Salesforce value for the destination. Datetimes become UTC RFC 3339;
/// multi-select picklists (`A;B`) become lists of their values; other values keep their
/// JSON type.
fn convert(field_type: &FieldType, value: Option<&Value>) -> Result<Value, String> {
    let Some(value) = value else {
        return Ok(Value::Null);
    };
    match (field_type, value) {
        (_, Value::Null) => Ok(Value::Null),
        (FieldType::DateTime, Value::String(text)) => {
            salesforce_datetime_to_utc(text).map(Value::String)
        }
        (FieldType::DateTime, other) => Err(format!("expected a datetime, found {other}")),
        (FieldType::MultiPicklist, Value::String(text)) => Ok(multi_picklist(text)),
        (_, Value::Object(_)) | (_, Value::Array(_)) => Err(format!(
            "a {field_type:?} field holds a structured value, which this map cannot store"
        )),
        (_, other) => Ok(other.clone()),
    }
}

/// Salesforce writes `2021-03-04T10:11:12.000+0000`; RFC 3339 forms are accepted too.
pub fn salesforce_datetime_to_utc(text: &str) -> Result<String, String> {
    let salesforce = format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3][offset_hour sign:mandatory][offset_minute]"
    );
    let parsed = OffsetDateTime::parse(text, &salesforce)
        .or_else(|_| OffsetDateTime::parse(text, &Rfc3339))
        .map_err(|_| format!("{text:?} is not a Salesforce datetime"))?;
    parsed
        .to_offset(UtcOffset::UTC)
        .format(&Rfc3339)
        .map_err(|error| format!("{text:?} cannot be written as RFC 3339: {error}"))
}

/// A stable hash of what the destination receives for a record, links included by their
/// Salesforce ids so that a moved parent changes the hash.
pub fn content_hash(transformed: &TransformedRecord) -> String {
    let mut hasher = Sha256::new();
    let body = serde_json::json!({
        "fields": transformed.record.fields,
        "custom_fields": transformed.record.custom_fields,
        "references": transformed
            .references
            .iter()
            .map(|reference| (reference.link.as_str(), reference.target.as_str()))
            .collect::<BTreeMap<_, _>>(),
    });
    hasher.update(body.to_string().as_bytes());
    hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_model::mapping::EntityKind;
    use ferry_model::plan::{FieldMapping, LinkMapping};
    use serde_json::json;

    fn contact_plan() -> ObjectPlan {
        ObjectPlan {
            object: "Contact".to_owned(),
            entity: EntityKind::Contact,
            phase: 1,
            in_salesforce: 0,
            estimated: None,
            soft_deletes: false,
            select: vec![],
            fields: vec![
                FieldMapping {
                    source: "LastName".to_owned(),
                    target: "last_name".to_owned(),
                    source_type: FieldType::String,
                    components: Vec::new(),
                },
                FieldMapping {
                    source: "CreatedDate".to_owned(),
                    target: "created_at".to_owned(),
                    source_type: FieldType::DateTime,
                    components: Vec::new(),
                },
            ],
            links: vec![LinkMapping {
                source: "AccountId".to_owned(),
                target: "company".to_owned(),
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
        }
    }

    fn check(record: Value, expect: Result<(Value, usize), (&str, Option<&str>, IssueKind)>) {
        let Value::Object(record) = record else {
            panic!("test records are objects");
        };
        match (transform_record(&contact_plan(), &record), expect) {
            (Ok(done), Ok((fields, references))) => {
                assert_eq!(serde_json::to_value(&done.record.fields).ok(), Some(fields));
                assert_eq!(done.references.len(), references);
            }
            (Err(issue), Err((reason, field, kind))) => {
                assert!(issue.reason.contains(reason), "{}", issue.reason);
                assert_eq!(issue.field.as_deref(), field);
                assert_eq!(issue.kind, kind);
            }
            (got, want) => panic!("got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn datetimes_become_utc_and_links_become_references() {
        check(
            json!({"Id": "0035g00000AbCdEAAV", "LastName": "Roth", "CreatedDate": "2021-03-04T10:11:12.000+0100", "AccountId": "001Da00000xnAiyIAE"}),
            Ok((
                json!({"last_name": "Roth", "created_at": "2021-03-04T09:11:12Z"}),
                1,
            )),
        );
    }

    #[test]
    fn decimals_pass_through_exactly() {
        for literal in [
            "12345678901234567.89",
            "0.1",
            "-0.000000000000000001",
            "1e+2",
        ] {
            let value: Value = serde_json::from_str(literal).unwrap_or_default();
            let converted = convert(&FieldType::Currency, Some(&value));
            assert_eq!(converted.map(|v| v.to_string()), Ok(literal.to_owned()));
        }
    }

    #[test]
    fn addresses_become_one_structured_value() {
        let source: SourceRecord = serde_json::from_value(json!({
            "BillingStreet": "1 Rue de l'Église\nBâtiment B",
            "BillingCity": "Zürich",
            "BillingPostalCode": "8001",
            "BillingCountry": "Switzerland",
            "BillingState": null,
            "BillingLatitude": 47.37,
            "BillingGeocodeAccuracy": ""
        }))
        .unwrap_or_default();
        let components: Vec<String> = [
            "BillingStreet",
            "BillingCity",
            "BillingState",
            "BillingPostalCode",
            "BillingCountry",
            "BillingLatitude",
            "BillingGeocodeAccuracy",
        ]
        .iter()
        .map(|c| (*c).to_owned())
        .collect();
        assert_eq!(
            structured("BillingAddress", &components, &source),
            json!({
                "street": "1 Rue de l'Église\nBâtiment B",
                "city": "Zürich",
                "postal_code": "8001",
                "country": "Switzerland",
                "latitude": 47.37
            })
        );
        let empty: SourceRecord =
            serde_json::from_value(json!({"BillingCity": " "})).unwrap_or_default();
        assert_eq!(
            structured("BillingAddress", &components, &empty),
            Value::Null
        );
    }

    #[test]
    fn multi_select_picklists_become_lists() {
        assert_eq!(multi_picklist("Email;SMS"), json!(["Email", "SMS"]));
        assert_eq!(multi_picklist(" Email ; ;SMS;"), json!(["Email", "SMS"]));
        assert_eq!(multi_picklist(""), Value::Null);
        assert_eq!(
            convert(&FieldType::MultiPicklist, Some(&json!("North;South"))),
            Ok(json!(["North", "South"]))
        );
        assert_eq!(
            convert(&FieldType::Picklist, Some(&json!("North;South"))),
            Ok(json!("North;South"))
        );
    }

    #[test]
    fn bad_records_name_the_field_and_reason() {
        check(
            json!({"LastName": "Roth"}),
            Err(("no Id", Some("Id"), IssueKind::Failed)),
        );
        check(
            json!({"Id": "0035g00000AbCdEAAV", "LastName": " "}),
            Err((
                "missing required value for contact.last_name",
                Some("LastName"),
                IssueKind::Skipped,
            )),
        );
        check(
            json!({"Id": "0035g00000AbCdEAAV", "LastName": "Roth", "CreatedDate": "yesterday"}),
            Err((
                "not a Salesforce datetime",
                Some("CreatedDate"),
                IssueKind::Failed,
            )),
        );
        check(
            json!({"Id": "0035g00000AbCdEAAV", "LastName": "Roth", "AccountId": "nope"}),
            Err(("not a Salesforce id", Some("AccountId"), IssueKind::Failed)),
        );
    }

    /// A task whose `WhoId` may be a contact or a lead and whose `WhatId` an account or an
    /// opportunity (opportunities not migrated), and a note whose required parent may be an
    /// account or a case (cases not migrated).
    fn polymorphic_plan(object: &str, entity: EntityKind, required: bool) -> ObjectPlan {
        let prefixes = BTreeMap::from([
            ("003".to_owned(), "Contact".to_owned()),
            ("00Q".to_owned(), "Lead".to_owned()),
            ("001".to_owned(), "Account".to_owned()),
            ("006".to_owned(), "Opportunity".to_owned()),
            ("500".to_owned(), "Case".to_owned()),
        ]);
        let target = |object: &str, link: &str| ferry_model::plan::PolymorphicTarget {
            object: object.to_owned(),
            link: link.to_owned(),
        };
        let link = |source: &str, targets: Vec<ferry_model::plan::PolymorphicTarget>| LinkMapping {
            source: source.to_owned(),
            target: targets[0].link.clone(),
            target_object: targets[0].object.clone(),
            polymorphic: targets,
            prefixes: prefixes.clone(),
            required,
            custom: false,
            variants: Vec::new(),
        };
        ObjectPlan {
            object: object.to_owned(),
            entity,
            links: vec![
                link(
                    "WhoId",
                    vec![target("Contact", "contact"), target("Lead", "contact")],
                ),
                link("WhatId", vec![target("Account", "company")]),
            ],
            values: BTreeMap::from([("tags".to_owned(), json!(["imported"]))]),
            replaced_by: Some(ferry_model::plan::ReplacedBy {
                source: "ConvertedContactId".to_owned(),
                target_object: "Contact".to_owned(),
                when: Vec::new(),
                variants: Vec::new(),
                own_id: false,
            }),
            ..contact_plan()
        }
    }

    fn record(value: Value) -> SourceRecord {
        let Value::Object(record) = value else {
            panic!("test records are objects");
        };
        record
    }

    #[test]
    fn polymorphic_references_resolve_by_key_prefix() {
        let plan = polymorphic_plan("Task", EntityKind::Contact, false);
        let done = transform_record(
            &plan,
            &record(
                json!({"Id": "00T000000000001", "LastName": "Roth", "WhoId": "00Q000000000001", "WhatId": "001000000000001"}),
            ),
        );
        let Ok(done) = done else { panic!("{done:?}") };
        let references: Vec<(&str, &str, &str)> = done
            .references
            .iter()
            .map(|r| {
                (
                    r.source_field.as_str(),
                    r.link.as_str(),
                    r.target_object.as_str(),
                )
            })
            .collect();
        assert_eq!(
            references,
            [
                ("WhoId", "contact", "Lead"),
                ("WhatId", "company", "Account")
            ]
        );
        assert_eq!(done.record.fields["tags"], json!(["imported"]));
        assert!(done.issues.is_empty());
        assert_eq!(done.replaced_by, None);
    }

    #[test]
    fn a_reference_to_an_object_left_out_drops_the_link_or_skips_a_record_that_needs_it() {
        let optional = polymorphic_plan("Task", EntityKind::Contact, false);
        let source = record(
            json!({"Id": "00T000000000001", "LastName": "Roth", "WhatId": "500000000000001"}),
        );
        let Ok(done) = transform_record(&optional, &source) else {
            panic!("the task lands")
        };
        assert!(done.references.is_empty());
        assert_eq!(done.issues.len(), 1);
        assert_eq!(done.issues[0].kind, IssueKind::ValueDropped);
        assert_eq!(
            done.issues[0].reason,
            "points to Case 500000000000001AAA, which this migration does not move; the record lands without this link"
        );
        let opportunity = record(
            json!({"Id": "00T000000000001", "LastName": "Roth", "WhatId": "006000000000001"}),
        );
        let Ok(done) = transform_record(&optional, &opportunity) else {
            panic!("the task lands")
        };
        assert!(done.issues[0].reason.starts_with("points to Opportunity "));

        let required = polymorphic_plan("Note", EntityKind::Contact, true);
        let issue = transform_record(&required, &source).map(|_| ());
        let Err(issue) = issue else {
            panic!("a note of a case is skipped")
        };
        assert_eq!(issue.kind, IssueKind::Skipped);
        assert_eq!(issue.field.as_deref(), Some("WhatId"));
        assert!(
            issue.reason.ends_with("and Salesforce requires it"),
            "{issue:?}"
        );
    }

    #[test]
    fn a_converted_record_is_replaced_even_without_its_required_values() {
        let plan = polymorphic_plan("Lead", EntityKind::Contact, false);
        let done = transform_record(
            &plan,
            &record(json!({"Id": "00Q000000000001", "ConvertedContactId": "003000000000001"})),
        );
        let Ok(done) = done else { panic!("{done:?}") };
        let Some(replaced) = done.replaced_by else {
            panic!("the lead is replaced by its contact")
        };
        assert_eq!(
            (replaced.target_object.as_str(), replaced.target.as_str()),
            ("Contact", "003000000000001AAA")
        );
    }

    #[test]
    fn content_hash_changes_with_content_only() {
        let Value::Object(record) = json!({"Id": "0035g00000AbCdEAAV", "LastName": "Roth"}) else {
            panic!("object");
        };
        let first = transform_record(&contact_plan(), &record).map(|done| content_hash(&done));
        let again = transform_record(&contact_plan(), &record).map(|done| content_hash(&done));
        assert_eq!(first, again);
        let Value::Object(changed) = json!({"Id": "0035g00000AbCdEAAV", "LastName": "Rother"})
        else {
            panic!("object");
        };
        let other = transform_record(&contact_plan(), &changed).map(|done| content_hash(&done));
        assert_ne!(first, other);
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use ferry_model::model::typed_text_value;
    use proptest::prelude::*;

    proptest! {
        /// Any decimal Salesforce can hold (18 digits, up to 18 after the point) arrives
        /// as exactly the digits it was sent with, through Bulk text or REST JSON.
        #[test]
        fn decimals_are_exact(
            negative in any::<bool>(),
            whole in "[1-9][0-9]{0,15}",
            fraction in "[0-9]{1,18}",
        ) {
            let literal = format!("{}{whole}.{fraction}", if negative { "-" } else { "" });
            let from_bulk = typed_text_value(&FieldType::Currency, &literal);
            prop_assert_eq!(from_bulk.to_string(), literal.clone());
            let from_rest: Value = serde_json::from_str(&literal).unwrap_or_default();
            let converted = convert(&FieldType::Currency, Some(&from_rest));
            prop_assert_eq!(converted.map(|v| v.to_string()), Ok(literal));
        }

        /// Conversions never panic, whatever text arrives, and a datetime either converts
        /// to UTC RFC 3339 or is refused with a reason.
        #[test]
        fn conversions_never_panic(text in any::<String>()) {
            for field_type in [
                FieldType::DateTime,
                FieldType::MultiPicklist,
                FieldType::Currency,
                FieldType::Boolean,
                FieldType::Int,
            ] {
                let _ = convert(&field_type, Some(&Value::String(text.clone())));
                let _ = typed_text_value(&field_type, &text);
            }
            match salesforce_datetime_to_utc(&text) {
                Ok(utc) => prop_assert!(utc.ends_with('Z'), "{}", utc),
                Err(reason) => prop_assert!(!reason.is_empty()),
            }
            if let Value::Array(values) = multi_picklist(&text) {
                prop_assert!(values.iter().all(|v| v.as_str().is_some_and(|s| !s.is_empty() && !s.contains(';'))));
            }
        }
    }
}
