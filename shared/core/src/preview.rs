//! The plan as a person or a SaaS backend reviews it before anything moves: per object its
//! record count, destination, phase and extraction API; per field its Salesforce type and
//! where it goes (a standard destination field, a link, a new custom field, or skipped with
//! the reason); the objects left out and why; and the API budget against the run's
//! estimated calls. `ferry plan --json` prints it; the discover function stores it.

use crate::inventory::{InventoryKind, UserSummary};
use crate::propose::{FieldProposal, propose_for_object};
use crate::steps::{DiscoverOptions, Discovery, ExtractConfig, StepError, discover};
use ferry_model::budget::{BudgetPolicy, estimate_calls};
use ferry_model::ids::TenantId;
use ferry_model::mapping::FieldMap;
use ferry_model::model::{FieldDescription, FieldType};
use ferry_model::plan::{CurrencySource, ObjectPlan, OrgCurrencies, PlanNote, currency_source};
use ferry_model::ports::SalesforceApi;
use serde::Serialize;

/// The whole preview. Its JSON form is documented in the README (`ferry plan --json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanPreview {
    pub objects_in_org: usize,
    /// What the integration user cannot see that the migration needs: objects the map
    /// names that are unreadable, and fields field-level security hides, each in a sentence.
    pub permission_problems: Vec<String>,
    pub objects: Vec<ObjectPreview>,
    pub skipped_objects: Vec<SkippedObjectPreview>,
    /// Automation and analytics not migrated, for an admin to rebuild.
    pub not_migrated: Vec<InventoryKind>,
    /// The record owners, matched to destination users by email.
    pub users: UserSummary,
    /// The org's currency (`Organization.DefaultCurrencyIsoCode`) and, in a multi-currency
    /// org, its currencies (`CurrencyType`).
    pub currencies: OrgCurrencies,
    pub budget: BudgetPreview,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObjectPreview {
    pub name: String,
    pub label: String,
    pub records: u64,
    /// The destination entity, such as `company`.
    pub destination: String,
    /// Load order: phase 1 first; an object's links point at earlier phases.
    pub phase: u32,
    /// `bulk` (Bulk API 2.0) or `rest`.
    pub api: &'static str,
    pub fields: Vec<FieldPreview>,
    /// Custom fields that resemble a standard destination field: proposals for the user to
    /// confirm (in a map override file) or ignore; until then they stay custom fields.
    pub proposals: Vec<FieldProposal>,
    /// Fields the map names that the describe does not show (absent, or hidden by
    /// field-level security), with the reason.
    pub hidden_fields: Vec<HiddenField>,
    /// Where the currency of the object's money values comes from: each record's field (a
    /// multi-currency org) or one code for every record (the org's); `None` for an object
    /// without money, or whose currency is unknown (see `hidden_fields`).
    pub currency: Option<CurrencySource>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HiddenField {
    pub name: String,
    pub reason: String,
    /// Whether the field feeds a destination field every record must have.
    pub required: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldPreview {
    pub name: String,
    pub label: String,
    /// The Salesforce type as describe names it.
    #[serde(rename = "type")]
    pub field_type: String,
    pub goes_to: FieldDestination,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FieldDestination {
    /// The record's Salesforce id, kept in the ID map.
    SourceId,
    Standard {
        field: String,
    },
    Link {
        field: String,
        target_object: String,
    },
    Custom {
        field: String,
        #[serde(rename = "type")]
        field_type: &'static str,
    },
    Skipped {
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SkippedObjectPreview {
    pub name: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BudgetPreview {
    /// Calls used in the last 24 hours and the daily limit, when the org reports them.
    pub used: Option<u64>,
    pub limit: Option<u64>,
    pub reserve_percent: u8,
    /// Calls a run may make before reaching the reserve.
    pub available: Option<u64>,
    /// Calls the extraction of this plan is expected to make.
    pub estimated_calls: u64,
    /// Whether a run would start now.
    pub sufficient: bool,
}

/// Discovery only, and its preview: what `ferry plan` shows and the discover function's dry
/// run stores for `GET /migrations/{id}/plan`. Nothing is written anywhere.
pub async fn plan(
    salesforce: &dyn SalesforceApi,
    tenant: TenantId,
    map: &FieldMap,
    options: &DiscoverOptions,
    extract: &ExtractConfig,
    policy: &BudgetPolicy,
) -> Result<(Discovery, PlanPreview), StepError> {
    let discovery = discover(salesforce, tenant, map, options).await?;
    let preview = PlanPreview::build(&discovery, map, extract, policy);
    Ok((discovery, preview))
}

/// The plan as one JSON document (`ferry plan --json`, `GET /migrations/{id}/plan`): the
/// preview's fields, with the org's instance URL and the API version it was read with.
pub fn plan_document(
    preview: &PlanPreview,
    instance_url: &str,
    api_version: &str,
) -> serde_json::Value {
    let mut document = serde_json::to_value(preview).unwrap_or_default();
    if let Some(object) = document.as_object_mut() {
        object.insert("instance_url".into(), instance_url.into());
        object.insert("api_version".into(), api_version.into());
    }
    document
}

impl PlanPreview {
    pub fn build(
        discovery: &Discovery,
        map: &FieldMap,
        extract: &ExtractConfig,
        policy: &BudgetPolicy,
    ) -> Self {
        let plan = &discovery.plan;
        let mut objects: Vec<ObjectPreview> = plan
            .objects
            .iter()
            .map(|object| {
                let described = discovery.described.get(object.salesforce_object());
                let notes: Vec<&PlanNote> = plan
                    .notes
                    .iter()
                    .filter(|note| note.object == object.object)
                    .collect();
                ObjectPreview {
                    name: object.object.clone(),
                    label: described.map_or_else(
                        || object.object.clone(),
                        |found| found.description.label.clone(),
                    ),
                    records: object.in_salesforce,
                    destination: object.entity.as_str().to_owned(),
                    phase: object.phase + 1,
                    api: if object.size_hint() >= extract.bulk_threshold {
                        "bulk"
                    } else {
                        "rest"
                    },
                    fields: described
                        .map(|found| {
                            found
                                .description
                                .fields
                                .iter()
                                .map(|field| field_preview(object, field, &notes))
                                .collect()
                        })
                        .unwrap_or_default(),
                    hidden_fields: hidden_fields(object, map, described, &notes),
                    currency: currency_source(object),
                    proposals: match (map.objects.get(&object.object), described) {
                        (Some(object_map), Some(found)) => {
                            propose_for_object(object_map, &found.description)
                        }
                        _ => Vec::new(),
                    },
                }
            })
            .collect();
        objects.sort_by(|a, b| (a.phase, &a.name).cmp(&(b.phase, &b.name)));
        let mut skipped_objects: Vec<SkippedObjectPreview> = discovery
            .skipped
            .iter()
            .map(|skipped| SkippedObjectPreview {
                name: skipped.name.clone(),
                reason: skipped.reason.clone(),
            })
            .collect();
        // Objects the map names that discovery could not plan (missing, unreadable). A note
        // on an object that is planned (what a person account leaves behind) is about how
        // it lands, not a problem.
        let unplanned = |note: &&PlanNote| {
            note.field.is_none()
                && !plan
                    .objects
                    .iter()
                    .any(|object| object.object == note.object)
        };
        for note in plan.notes.iter().filter(unplanned) {
            if skipped_objects
                .iter()
                .any(|skipped| skipped.name == note.object)
            {
                continue;
            }
            skipped_objects.push(SkippedObjectPreview {
                name: note.object.clone(),
                reason: note.reason.clone(),
            });
        }
        skipped_objects.sort_by(|a, b| a.name.cmp(&b.name));
        let estimated_calls =
            estimate_calls(plan, extract.bulk_threshold, extract.chunk_records).extraction;
        let available = discovery.budget.map(|budget| policy.available(budget));
        let mut permission_problems = Vec::new();
        for object in &objects {
            for hidden in object.hidden_fields.iter().filter(|hidden| hidden.required) {
                permission_problems.push(format!(
                    "{}.{}: not visible to the integration user (field-level security, or the field does not exist), and every {} needs it",
                    object.name, hidden.name, object.destination
                ));
            }
        }
        for note in plan.notes.iter().filter(unplanned) {
            if discovery
                .skipped
                .iter()
                .any(|skipped| skipped.name == note.object)
            {
                continue;
            }
            permission_problems.push(format!("{}: {}", note.object, note.reason));
        }
        let budget = BudgetPreview {
            used: discovery.budget.map(|budget| budget.used),
            limit: discovery.budget.map(|budget| budget.limit),
            reserve_percent: policy.reserve_percent,
            available,
            estimated_calls,
            sufficient: available.is_none_or(|available| estimated_calls <= available),
        };
        PlanPreview {
            objects_in_org: discovery.objects_in_org,
            permission_problems,
            objects,
            skipped_objects,
            not_migrated: discovery.inventory.clone(),
            users: discovery.users.clone(),
            currencies: discovery.currencies.clone(),
            budget,
        }
    }
}

/// The org's currencies in a sentence: the corporate one, and every currency of a
/// multi-currency org with its rate. Nothing is converted.
pub fn currencies_summary(currencies: &OrgCurrencies) -> String {
    let default = currencies.default.as_deref().unwrap_or("unknown");
    let mut text = if currencies.multi_currency {
        let listed: Vec<String> = currencies
            .currencies
            .iter()
            .map(|currency| {
                if currency.corporate {
                    format!("{} (corporate)", currency.iso_code)
                } else {
                    format!("{} (rate {})", currency.iso_code, currency.conversion_rate)
                }
            })
            .collect();
        format!(
            "Multiple currencies, corporate currency {default}: {}. Each record keeps its own currency; amounts are not converted.",
            listed.join(", ")
        )
    } else {
        format!("One currency: {default}. Every money value lands in it.")
    };
    if let Some(error) = &currencies.error {
        text.push_str(&format!(" (Could not be read in full: {error}.)"));
    }
    text
}

/// Where an object's currency comes from, in words.
pub fn currency_text(source: &CurrencySource) -> String {
    match source {
        CurrencySource::Field { field } => format!("each record's {field}"),
        CurrencySource::Constant { code } => format!("{code} for every record"),
    }
}

fn hidden_fields(
    object: &ObjectPlan,
    map: &FieldMap,
    described: Option<&ferry_model::plan::DiscoveredObject>,
    notes: &[&PlanNote],
) -> Vec<HiddenField> {
    let Some(object_map) = map.objects.get(&object.object) else {
        return Vec::new();
    };
    let required = object.entity.required_fields();
    notes
        .iter()
        .filter_map(|note| {
            let field = note.field.as_deref()?;
            let visible = described.is_some_and(|found| found.description.field(field).is_some());
            if visible {
                return None;
            }
            let target = object_map.fields.get(field);
            Some(HiddenField {
                name: field.to_owned(),
                reason: note.reason.clone(),
                required: target.is_some_and(|target| required.clone().any(|name| name == target)),
            })
        })
        .collect()
}

fn field_preview(
    object: &ObjectPlan,
    field: &FieldDescription,
    notes: &[&PlanNote],
) -> FieldPreview {
    FieldPreview {
        name: field.name.clone(),
        label: field.label.clone(),
        field_type: field.field_type.describe_name().to_owned(),
        goes_to: destination_of(object, field, notes),
    }
}

fn destination_of(
    object: &ObjectPlan,
    field: &FieldDescription,
    notes: &[&PlanNote],
) -> FieldDestination {
    let name = field.name.as_str();
    if let Some(mapping) = object.fields.iter().find(|mapping| mapping.source == name) {
        return FieldDestination::Standard {
            field: mapping.target.clone(),
        };
    }
    if let Some(link) = object.links.iter().find(|link| link.source == name) {
        // A polymorphic reference fills one link per object it may name.
        if !link.polymorphic.is_empty() {
            let mut fields: Vec<&str> = link
                .polymorphic
                .iter()
                .map(|target| target.link.as_str())
                .collect();
            fields.dedup();
            return FieldDestination::Link {
                field: fields.join(", "),
                target_object: link.target_objects().join(", "),
            };
        }
        return FieldDestination::Link {
            field: link.target.clone(),
            target_object: link.target_object.clone(),
        };
    }
    if let Some(custom) = object
        .custom_fields
        .iter()
        .find(|custom| custom.source == name)
    {
        return FieldDestination::Custom {
            field: custom.name.clone(),
            field_type: custom.field_type.name(),
        };
    }
    if field.field_type == FieldType::Id {
        return FieldDestination::SourceId;
    }
    if let Some(blob) = object.blob.as_ref().filter(|blob| blob.source == name) {
        return FieldDestination::Standard {
            field: blob.target.clone(),
        };
    }
    if let Some(mapping) = object
        .fields
        .iter()
        .find(|mapping| mapping.components.iter().any(|part| part == name))
    {
        return FieldDestination::Standard {
            field: format!(
                "{}.{}",
                mapping.target,
                crate::transform::component_key(&mapping.source, name)
            ),
        };
    }
    let reason = if let Some(note) = notes
        .iter()
        .find(|note| note.field.as_deref() == Some(name))
    {
        note.reason.clone()
    } else if field.field_type.is_compound() {
        "compound field: read through its component fields".to_owned()
    } else if field.field_type == FieldType::Base64 {
        "binary body: moved with the object's files, not as a field".to_owned()
    } else if field.calculated {
        "formula or roll-up: computed by Salesforce, not stored data".to_owned()
    } else if field.field_type == FieldType::Reference {
        "link with no destination relationship in the map".to_owned()
    } else {
        format!("no {} field in the map for it", object.entity.as_str())
    };
    FieldDestination::Skipped { reason }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_model::ids::TenantId;
    use ferry_model::model::ObjectDescription;
    use ferry_model::plan::{DiscoveredObject, build_plan};
    use std::collections::BTreeMap;

    fn field(name: &str, field_type: FieldType) -> FieldDescription {
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
            reference_to: Vec::new(),
            relationship_name: None,
            compound_field_name: None,
            picklist_values: Vec::new(),
        }
    }

    fn preview(contact_fields: Vec<FieldDescription>) -> PlanPreview {
        let map = FieldMap::builtin();
        let described = BTreeMap::from([(
            "Contact".to_owned(),
            DiscoveredObject {
                description: ObjectDescription {
                    name: "Contact".to_owned(),
                    label: "Contact".to_owned(),
                    key_prefix: Some("003".to_owned()),
                    fields: contact_fields,
                },
                record_count: 3,
                estimated: None,
            },
        )]);
        let discovery = Discovery {
            plan: build_plan(TenantId::new("t"), &map, &described),
            objects_in_org: 1,
            object_names: vec!["Contact".to_owned()],
            described,
            skipped: Vec::new(),
            budget: None,
            inventory: Vec::new(),
            users: UserSummary::default(),
            currencies: OrgCurrencies::default(),
        };
        PlanPreview::build(
            &discovery,
            &map,
            &ExtractConfig::default(),
            &BudgetPolicy::default(),
        )
    }

    #[test]
    fn hidden_required_fields_and_unreadable_objects_are_permission_problems() {
        let preview = preview(vec![
            field("Id", FieldType::Id),
            field("FirstName", FieldType::String),
            field("Email", FieldType::Email),
            field("MailingAddress", FieldType::Address),
            field("Score__c", FieldType::Double),
        ]);
        assert!(
            preview
                .permission_problems
                .iter()
                .any(|p| p.starts_with("Contact.LastName: not visible")),
            "{:?}",
            preview.permission_problems
        );
        assert!(
            preview
                .permission_problems
                .iter()
                .any(|p| p.starts_with("Account: ")),
            "the map names Account, which the org does not show: {:?}",
            preview.permission_problems
        );
        let contact = &preview.objects[0];
        let last_name = contact.hidden_fields.iter().find(|h| h.name == "LastName");
        assert!(last_name.is_some_and(|h| h.required));
        let kinds: Vec<(&str, &str)> = contact
            .fields
            .iter()
            .map(|f| {
                let kind = match &f.goes_to {
                    FieldDestination::SourceId => "source_id",
                    FieldDestination::Standard { .. } => "standard",
                    FieldDestination::Link { .. } => "link",
                    FieldDestination::Custom { .. } => "custom",
                    FieldDestination::Skipped { .. } => "skipped",
                };
                (f.name.as_str(), kind)
            })
            .collect();
        assert_eq!(
            kinds,
            [
                ("Id", "source_id"),
                ("FirstName", "standard"),
                ("Email", "standard"),
                ("MailingAddress", "skipped"),
                ("Score__c", "custom"),
            ]
        );
    }

    #[test]
    fn a_visible_org_has_no_permission_problems_and_an_unknown_budget_is_sufficient() {
        let preview = preview(vec![
            field("Id", FieldType::Id),
            field("LastName", FieldType::String),
        ]);
        assert!(
            preview
                .permission_problems
                .iter()
                .all(|p| !p.starts_with("Contact")),
            "{:?}",
            preview.permission_problems
        );
        assert!(preview.budget.sufficient);
        assert_eq!(preview.budget.limit, None);
    }
}
