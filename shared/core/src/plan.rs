//! The plan of one run: which objects move, in which order, with which fields.
//!
//! A plan is built once, from the field map and what discovery read of the org, and stored in
//! the run store; every later step reads it from there, so the extract and load steps of one
//! run always agree on the fields, even when they run in different processes.

use crate::ids::TenantId;
use crate::mapping::{EntityKind, FieldMap};
use crate::model::{FieldType, ObjectDescription};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub tenant: TenantId,
    /// Objects in load order: every object comes after the objects its links point to.
    pub objects: Vec<ObjectPlan>,
    /// Everything the plan leaves out, with the reason, for the user to read before a run.
    pub notes: Vec<PlanNote>,
    /// What validation does with each kind of bad value.
    #[serde(default)]
    pub validation: crate::validate::ValidationPolicy,
}

impl Plan {
    pub fn object(&self, name: &str) -> Option<&ObjectPlan> {
        self.objects.iter().find(|object| object.object == name)
    }

    /// Phases in load order; objects of one phase depend only on earlier phases (or on
    /// themselves, which deferred links handle).
    pub fn phases(&self) -> Vec<Vec<&ObjectPlan>> {
        let mut phases: BTreeMap<u32, Vec<&ObjectPlan>> = BTreeMap::new();
        for object in &self.objects {
            phases.entry(object.phase).or_default().push(object);
        }
        phases.into_values().collect()
    }

    pub fn custom_fields(&self) -> impl Iterator<Item = &CustomFieldDefinition> {
        self.objects
            .iter()
            .flat_map(|object| object.custom_fields.iter())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectPlan {
    pub object: String,
    pub entity: EntityKind,
    pub phase: u32,
    /// Records the org reported for this object at discovery.
    pub in_salesforce: u64,
    /// Salesforce fields to extract, `Id` first.
    pub select: Vec<String>,
    pub fields: Vec<FieldMapping>,
    pub links: Vec<LinkMapping>,
    pub custom_fields: Vec<CustomFieldDefinition>,
}

impl ObjectPlan {
    /// The SOQL that extracts this object.
    pub fn soql(&self) -> String {
        format!("SELECT {} FROM {}", self.select.join(", "), self.object)
    }
}

/// A Salesforce field copied into a destination standard field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldMapping {
    pub source: String,
    pub target: String,
    pub source_type: FieldType,
    /// For a compound field (an address), the component fields extracted in its place:
    /// Bulk API 2.0 cannot select compound fields, and the parts are what Salesforce stores.
    #[serde(default)]
    pub components: Vec<String>,
}

/// A Salesforce reference resolved through the ID map into a destination link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkMapping {
    pub source: String,
    pub target: String,
    /// The Salesforce object the reference points to.
    pub target_object: String,
}

/// A destination custom field, created before any record uses it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomFieldDefinition {
    pub entity: EntityKind,
    pub name: String,
    pub label: String,
    pub field_type: DestinationFieldType,
    pub source: String,
    pub source_type: FieldType,
}

/// The destination's custom field types.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DestinationFieldType {
    Text { max_length: u32 },
    LongText { max_length: u32 },
    Number { precision: u32, scale: u32 },
    Currency { precision: u32, scale: u32 },
    Percent { precision: u32, scale: u32 },
    Date,
    DateTime,
    Checkbox,
    Picklist { values: Vec<String> },
    MultiPicklist { values: Vec<String> },
    Email,
    Phone,
    Url,
}

impl DestinationFieldType {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Text { .. } => "text",
            Self::LongText { .. } => "long_text",
            Self::Number { .. } => "number",
            Self::Currency { .. } => "currency",
            Self::Percent { .. } => "percent",
            Self::Date => "date",
            Self::DateTime => "datetime",
            Self::Checkbox => "checkbox",
            Self::Picklist { .. } => "picklist",
            Self::MultiPicklist { .. } => "multi_picklist",
            Self::Email => "email",
            Self::Phone => "phone",
            Self::Url => "url",
        }
    }
}

/// Something the plan leaves out, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanNote {
    pub object: String,
    pub field: Option<String>,
    pub reason: String,
}

/// An object the map names, with what discovery read of it.
#[derive(Debug, Clone)]
pub struct DiscoveredObject {
    pub description: ObjectDescription,
    pub record_count: u64,
}

/// Builds the plan from the map and the discovered objects. Objects the map names that the
/// org does not have, or does not let the integration user see, become notes.
pub fn build_plan(
    tenant: TenantId,
    map: &FieldMap,
    discovered: &BTreeMap<String, DiscoveredObject>,
) -> Plan {
    let mut notes = Vec::new();
    let mut objects = Vec::new();
    for (object_name, object_map) in &map.objects {
        let Some(found) = discovered.get(object_name) else {
            notes.push(PlanNote {
                object: object_name.clone(),
                field: None,
                reason:
                    "the org has no such queryable object, or the integration user cannot read it"
                        .to_owned(),
            });
            continue;
        };
        let description = &found.description;
        let mut select = vec!["Id".to_owned()];
        let mut add_select = |name: &str| {
            if !select.iter().any(|selected| selected == name) {
                select.push(name.to_owned());
            }
        };
        let mut fields = Vec::new();
        for (source, target) in &object_map.fields {
            match description.field(source) {
                Some(field) if field.field_type.is_compound() => {
                    let components: Vec<String> = description
                        .fields
                        .iter()
                        .filter(|part| {
                            part.compound_field_name
                                .as_deref()
                                .is_some_and(|name| name.eq_ignore_ascii_case(&field.name))
                        })
                        .map(|part| part.name.clone())
                        .collect();
                    if components.is_empty() {
                        notes.push(PlanNote {
                            object: object_name.clone(),
                            field: Some(field.name.clone()),
                            reason: "compound field whose component fields are not visible"
                                .to_owned(),
                        });
                        continue;
                    }
                    for component in &components {
                        add_select(component);
                    }
                    fields.push(FieldMapping {
                        source: field.name.clone(),
                        target: target.clone(),
                        source_type: field.field_type.clone(),
                        components,
                    });
                }
                Some(field) => {
                    add_select(&field.name);
                    fields.push(FieldMapping {
                        source: field.name.clone(),
                        target: target.clone(),
                        source_type: field.field_type.clone(),
                        components: Vec::new(),
                    });
                }
                None => notes.push(hidden_field_note(object_name, source)),
            }
        }
        let mut links = Vec::new();
        for (source, target) in &object_map.links {
            match description.field(source) {
                Some(field) if field.field_type == FieldType::Reference => {
                    let Some(target_object) = field.reference_to.first() else {
                        notes.push(PlanNote {
                            object: object_name.clone(),
                            field: Some(field.name.clone()),
                            reason: "reference field names no target object".to_owned(),
                        });
                        continue;
                    };
                    add_select(&field.name);
                    links.push(LinkMapping {
                        source: field.name.clone(),
                        target: target.clone(),
                        target_object: target_object.clone(),
                    });
                }
                Some(field) => notes.push(PlanNote {
                    object: object_name.clone(),
                    field: Some(field.name.clone()),
                    reason: format!(
                        "mapped as a link but its type is {:?}, not a reference",
                        field.field_type
                    ),
                }),
                None => notes.push(hidden_field_note(object_name, source)),
            }
        }
        let mut custom_fields = Vec::new();
        for field in description.fields.iter().filter(|field| field.custom) {
            if object_map.fields.contains_key(&field.name)
                || object_map.links.contains_key(&field.name)
            {
                continue;
            }
            match destination_type(&field.field_type, field) {
                Ok(field_type) => {
                    add_select(&field.name);
                    custom_fields.push(CustomFieldDefinition {
                        entity: object_map.entity,
                        name: custom_field_name(&field.name),
                        label: field.label.clone(),
                        field_type,
                        source: field.name.clone(),
                        source_type: field.field_type.clone(),
                    });
                }
                Err(reason) => notes.push(PlanNote {
                    object: object_name.clone(),
                    field: Some(field.name.clone()),
                    reason,
                }),
            }
        }
        objects.push(ObjectPlan {
            object: object_name.clone(),
            entity: object_map.entity,
            phase: 0,
            in_salesforce: found.record_count,
            select,
            fields,
            links,
            custom_fields,
        });
    }
    assign_phases(&mut objects, &mut notes);
    Plan {
        tenant,
        objects,
        notes,
        validation: crate::validate::ValidationPolicy::default(),
    }
}

fn hidden_field_note(object: &str, field: &str) -> PlanNote {
    PlanNote {
        object: object.to_owned(),
        field: Some(field.to_owned()),
        reason: "not in the object's describe: the field does not exist or field-level security hides it from the integration user".to_owned(),
    }
}

/// `Health_Score__c` becomes `health_score`; a namespace prefix is kept (`ns__Tier__c` → `ns_tier`).
pub fn custom_field_name(source: &str) -> String {
    let base = source.strip_suffix("__c").unwrap_or(source);
    base.replace("__", "_").to_ascii_lowercase()
}

/// The destination custom-field type a Salesforce field becomes, or why it has none.
pub fn destination_type(
    field_type: &FieldType,
    field: &crate::model::FieldDescription,
) -> Result<DestinationFieldType, String> {
    Ok(match field_type {
        FieldType::String | FieldType::Combobox | FieldType::EncryptedString => {
            DestinationFieldType::Text {
                max_length: field.length,
            }
        }
        FieldType::TextArea => DestinationFieldType::LongText {
            max_length: field.length,
        },
        FieldType::Int | FieldType::Long => DestinationFieldType::Number {
            precision: field.precision.max(field.length),
            scale: 0,
        },
        FieldType::Double => DestinationFieldType::Number {
            precision: field.precision,
            scale: field.scale,
        },
        FieldType::Currency => DestinationFieldType::Currency {
            precision: field.precision,
            scale: field.scale,
        },
        FieldType::Percent => DestinationFieldType::Percent {
            precision: field.precision,
            scale: field.scale,
        },
        FieldType::Date => DestinationFieldType::Date,
        FieldType::DateTime => DestinationFieldType::DateTime,
        FieldType::Boolean => DestinationFieldType::Checkbox,
        FieldType::Picklist => DestinationFieldType::Picklist {
            values: field.picklist_values.clone(),
        },
        FieldType::MultiPicklist => DestinationFieldType::MultiPicklist {
            values: field.picklist_values.clone(),
        },
        FieldType::Email => DestinationFieldType::Email,
        FieldType::Phone => DestinationFieldType::Phone,
        FieldType::Url => DestinationFieldType::Url,
        FieldType::Reference => {
            return Err(
                "custom lookup fields are not migrated yet (they will become links)".to_owned(),
            );
        }
        other => {
            return Err(format!(
                "field type {other:?} has no destination custom field type"
            ));
        }
    })
}

/// Orders objects so that each comes after the objects its links point to. Self links do not
/// count (deferred links handle them); a cycle between objects is broken by putting the rest
/// in one last phase and saying so, because deferred links handle that case too.
fn assign_phases(objects: &mut [ObjectPlan], notes: &mut Vec<PlanNote>) {
    let names: BTreeSet<String> = objects.iter().map(|object| object.object.clone()).collect();
    let mut placed: BTreeMap<String, u32> = BTreeMap::new();
    let mut phase = 0;
    while placed.len() < objects.len() {
        let ready: Vec<String> = objects
            .iter()
            .filter(|object| !placed.contains_key(&object.object))
            .filter(|object| {
                object.links.iter().all(|link| {
                    link.target_object == object.object
                        || !names.contains(&link.target_object)
                        || placed.contains_key(&link.target_object)
                })
            })
            .map(|object| object.object.clone())
            .collect();
        if ready.is_empty() {
            let cyclic: Vec<String> = objects
                .iter()
                .filter(|object| !placed.contains_key(&object.object))
                .map(|object| object.object.clone())
                .collect();
            for name in cyclic {
                notes.push(PlanNote {
                    object: name.clone(),
                    field: None,
                    reason: "part of a reference cycle between objects: its links are patched after load".to_owned(),
                });
                placed.insert(name, phase);
            }
            break;
        }
        for name in ready {
            placed.insert(name, phase);
        }
        phase += 1;
    }
    for object in objects.iter_mut() {
        object.phase = placed.get(&object.object).copied().unwrap_or(phase);
    }
    objects.sort_by(|left, right| (left.phase, &left.object).cmp(&(right.phase, &right.object)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FieldDescription;

    fn field(name: &str, field_type: FieldType, custom: bool) -> FieldDescription {
        FieldDescription {
            name: name.to_owned(),
            label: name.to_owned(),
            field_type,
            custom,
            nillable: true,
            calculated: false,
            length: 255,
            precision: 0,
            scale: 0,
            reference_to: Vec::new(),
            relationship_name: None,
            compound_field_name: None,
            picklist_values: Vec::new(),
        }
    }

    fn reference(name: &str, target: &str) -> FieldDescription {
        FieldDescription {
            reference_to: vec![target.to_owned()],
            ..field(name, FieldType::Reference, false)
        }
    }

    fn discovered(name: &str, fields: Vec<FieldDescription>) -> (String, DiscoveredObject) {
        (
            name.to_owned(),
            DiscoveredObject {
                description: ObjectDescription {
                    name: name.to_owned(),
                    label: name.to_owned(),
                    key_prefix: None,
                    fields,
                },
                record_count: 7,
            },
        )
    }

    #[test]
    fn contacts_come_after_companies_and_hidden_fields_become_notes() {
        let org = BTreeMap::from([
            discovered(
                "Contact",
                vec![
                    field("Id", FieldType::Id, false),
                    field("LastName", FieldType::String, false),
                    reference("AccountId", "Account"),
                    field("Newsletter_Opt_In__c", FieldType::Boolean, true),
                ],
            ),
            discovered(
                "Account",
                vec![
                    field("Id", FieldType::Id, false),
                    field("Name", FieldType::String, false),
                    reference("ParentId", "Account"),
                ],
            ),
        ]);
        let plan = build_plan(TenantId::new("t"), &FieldMap::builtin(), &org);
        let order: Vec<(&str, u32)> = plan
            .objects
            .iter()
            .map(|o| (o.object.as_str(), o.phase))
            .collect();
        assert_eq!(order, vec![("Account", 0), ("Contact", 1)]);
        let contact = &plan.objects[1];
        assert_eq!(
            contact.soql(),
            "SELECT Id, LastName, AccountId, Newsletter_Opt_In__c FROM Contact"
        );
        assert_eq!(contact.custom_fields[0].name, "newsletter_opt_in");
        assert!(
            plan.notes
                .iter()
                .any(|note| note.object == "Contact" && note.field.as_deref() == Some("Email"))
        );
    }

    #[test]
    fn custom_field_names_are_lowercased_without_suffix() {
        assert_eq!(custom_field_name("Health_Score__c"), "health_score");
        assert_eq!(custom_field_name("ns__Tier__c"), "ns_tier");
    }
}
