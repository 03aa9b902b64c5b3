//! Transforming one extracted Contact record into what the destination receives.

use criterion::{Criterion, criterion_group, criterion_main};
use ferry_core::transform::transform_record;
use ferry_model::ids::TenantId;
use ferry_model::mapping::FieldMap;
use ferry_model::model::{FieldDescription, FieldType, ObjectDescription, SourceRecord};
use ferry_model::plan::{DiscoveredObject, build_plan};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::hint::black_box;

fn field(name: &str, field_type: FieldType, reference_to: &[&str]) -> FieldDescription {
    FieldDescription {
        name: name.to_owned(),
        label: name.to_owned(),
        field_type,
        custom: name.ends_with("__c"),
        nillable: true,
        calculated: false,
        length: 80,
        precision: 0,
        scale: 0,
        reference_to: reference_to.iter().map(|s| (*s).to_owned()).collect(),
        relationship_name: None,
        compound_field_name: None,
        picklist_values: Vec::new(),
    }
}

fn contact_fields() -> Vec<FieldDescription> {
    vec![
        field("Id", FieldType::Id, &[]),
        field("FirstName", FieldType::String, &[]),
        field("LastName", FieldType::String, &[]),
        field("Email", FieldType::Email, &[]),
        field("Phone", FieldType::Phone, &[]),
        field("Title", FieldType::String, &[]),
        field("AccountId", FieldType::Reference, &["Account"]),
        field("ReportsToId", FieldType::Reference, &["Contact"]),
        field("OwnerId", FieldType::Reference, &["User"]),
        field("Description", FieldType::TextArea, &[]),
        field("CreatedDate", FieldType::DateTime, &[]),
        field("LastModifiedDate", FieldType::DateTime, &[]),
        field("Score__c", FieldType::Double, &[]),
        field("Tier__c", FieldType::Picklist, &[]),
    ]
}

fn described(name: &str, prefix: &str, fields: Vec<FieldDescription>) -> DiscoveredObject {
    DiscoveredObject {
        description: ObjectDescription {
            name: name.to_owned(),
            label: name.to_owned(),
            key_prefix: Some(prefix.to_owned()),
            fields,
        },
        record_count: 1_000,
        estimated: None,
    }
}

fn record() -> SourceRecord {
    let value = json!({
        "Id": "003000000000123AAA",
        "FirstName": "Ada",
        "LastName": "Lovelace",
        "Email": "ada@example.com",
        "Phone": "+44 20 7946 0000",
        "Title": "Chief Analyst",
        "AccountId": "001000000000041AAA",
        "ReportsToId": null,
        "OwnerId": "005000000000001AAA",
        "Description": "A note, with a comma\nand a second line",
        "CreatedDate": "2024-03-01T10:00:00.000+0000",
        "LastModifiedDate": "2024-06-01T10:00:00.000+0000",
        "Score__c": 42.5,
        "Tier__c": "Gold",
    });
    match value {
        Value::Object(map) => map,
        _ => SourceRecord::default(),
    }
}

fn transform(c: &mut Criterion) {
    let id = |name: &str| field(name, FieldType::Id, &[]);
    let discovered = BTreeMap::from([
        (
            "Contact".to_owned(),
            described("Contact", "003", contact_fields()),
        ),
        (
            "Account".to_owned(),
            described(
                "Account",
                "001",
                vec![id("Id"), field("Name", FieldType::String, &[])],
            ),
        ),
        (
            "User".to_owned(),
            described(
                "User",
                "005",
                vec![id("Id"), field("Email", FieldType::Email, &[])],
            ),
        ),
    ]);
    let plan = build_plan(TenantId::new("bench"), &FieldMap::builtin(), &discovered);
    let Some(contact) = plan.object("Contact") else {
        panic!("the plan has no Contact: {:?}", plan.notes);
    };
    let source = record();
    c.bench_function("transform_contact_record", |b| {
        b.iter(|| black_box(transform_record(black_box(contact), black_box(&source)).is_ok()));
    });
}

criterion_group!(benches, transform);
criterion_main!(benches);
