//! The plan of one run: which objects move, in which order, with which fields.
//!
//! A plan is built once, from the field map and what discovery read of the org, and stored in
//! the run store; every later step reads it from there, so the extract and load steps of one
//! run always agree on the fields, even when they run in different processes.

use crate::ids::TenantId;
use crate::mapping::{EntityKind, FieldMap, LinkTarget, ObjectMap, ObjectVariant};
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
    pub validation: crate::policy::ValidationPolicy,
    /// The email of the destination user who owns the records of Salesforce users no
    /// destination user matches; without one, those owner links are left empty and reported.
    #[serde(default)]
    pub default_owner: Option<String>,
    /// Merge-on-import: a lead whose normalised email is a landed contact's is not created,
    /// its ID-map entry points at that contact (`steps::merge`). Off by default.
    #[serde(default)]
    pub merge_leads_by_email: bool,
    /// The plan of a delta run: only changes are read, so the report does not compare its
    /// counts with what Salesforce holds.
    #[serde(default)]
    pub delta: bool,
    /// Where records a Salesforce queue owns land: with the queue's team (the default) or
    /// with the run's default owner ([`Plan::queues_to_default_owner`]).
    #[serde(default)]
    pub queue_owners: QueueOwners,
}

/// Where the records a Salesforce queue (a `Group` of `Type` `Queue`) owns land.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueOwners {
    /// Each queue lands as a team, and what it owns links to that team.
    #[default]
    Team,
    /// No team is created: what a queue owns goes to the run's default owner, as what an
    /// unmatched user owns does.
    DefaultOwner,
}

impl QueueOwners {
    /// The option's name on the command line (`--queues team|default-owner`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Team => "team",
            Self::DefaultOwner => "default-owner",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Team, Self::DefaultOwner]
            .into_iter()
            .find(|option| option.as_str() == name)
    }
}

impl Plan {
    /// Gives what queues own to the default owner instead of to teams: every object that
    /// lands as a team is planned like users (never created; each record's ID-map entry
    /// points at the default owner, [`ObjectPlan::queue_to_default_owner`]), and every link
    /// to it fills `owner` instead of `team`.
    pub fn queues_to_default_owner(&mut self) {
        self.queue_owners = QueueOwners::DefaultOwner;
        let queues: Vec<String> = self
            .objects
            .iter()
            .filter(|object| object.entity == EntityKind::Team)
            .map(|object| object.object.clone())
            .collect();
        for object in &mut self.objects {
            if queues.contains(&object.object) {
                object.entity = EntityKind::Owner;
                object.queue_to_default_owner = true;
            }
            for link in &mut object.links {
                let owner = EntityKind::Owner.as_str();
                if link.polymorphic.is_empty() {
                    if queues.contains(&link.target_object) {
                        link.target = owner.to_owned();
                    }
                    continue;
                }
                for target in &mut link.polymorphic {
                    if queues.contains(&target.object) {
                        target.link = owner.to_owned();
                    }
                }
                if let Some(first) = link.polymorphic.first() {
                    link.target = first.link.clone();
                }
            }
        }
        for queue in queues {
            self.notes.push(PlanNote {
                object: queue,
                field: None,
                reason: "queues land as no team (queues: default-owner): the records each queue owns go to the run's default owner".to_owned(),
            });
        }
    }

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
    /// Records in Salesforce at discovery, exactly: `SELECT COUNT()` through queryAll,
    /// with `IsDeleted = false` where the object has it (archived activities counted).
    pub in_salesforce: u64,
    /// `/limits/recordCount`'s figure, a periodic estimate that leaves out archived
    /// activities: it only chooses Bulk or REST ([`ObjectPlan::size_hint`]).
    #[serde(default)]
    pub estimated: Option<u64>,
    /// The object has `IsDeleted` (from its describe): a full run reads it through queryAll
    /// with `IsDeleted = false`, so archived rows come and recycle-bin rows do not.
    #[serde(default)]
    pub soft_deletes: bool,
    /// Salesforce fields to extract, `Id` first.
    pub select: Vec<String>,
    pub fields: Vec<FieldMapping>,
    pub links: Vec<LinkMapping>,
    pub custom_fields: Vec<CustomFieldDefinition>,
    /// Destination standard fields given the same value on every record (a lead's tag).
    #[serde(default)]
    pub values: BTreeMap<String, serde_json::Value>,
    /// The reference that, when set, means the record already lands as another (a converted
    /// lead's contact): see [`crate::mapping::ObjectMap::replaced_by`].
    #[serde(default)]
    pub replaced_by: Option<ReplacedBy>,
    /// A binary field (a file's body, a content note's text) fetched record by record at
    /// extraction, since neither Bulk API 2.0 nor a query can carry it.
    #[serde(default)]
    pub blob: Option<BlobField>,
    /// For a variant of an object ([`crate::mapping::ObjectMap::variants`], a person
    /// account): the Salesforce object its records are extracted from; `object` is then the
    /// variant's name, which keys its ID-map entries, chunks and counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_object: Option<String>,
    /// The SOQL condition that selects the object's records among its Salesforce object's
    /// (a variant's condition, or, for an object with variants, none of theirs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// The object's records are queues whose records go to the run's default owner
    /// ([`Plan::queues_to_default_owner`]): planned as owners, never created.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub queue_to_default_owner: bool,
    /// For an object that lands as a team: the Salesforce objects each queue may own
    /// (`QueueSobject`, read at discovery), by the queue's 18-character id, which land in the
    /// team's `objects`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub queue_objects: BTreeMap<String, Vec<String>>,
    /// Records counted as skipped rather than sent, by their own values (a superseded file
    /// version): see [`crate::mapping::ObjectMap::skipped_when`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped_when: Option<PlannedSkip>,
    /// Set for an object a query reads only with a filter on its parents' Ids
    /// (ContentDocumentLink): extraction and counting go through batches of parents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_by_parent: Option<ReadByParent>,
    /// A reference field naming a record each record also stands for (an email's
    /// `ActivityId`): see [`crate::mapping::ObjectMap::stands_for`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stands_for: Option<String>,
}

/// Objects whose records a query reads only through a filter on a parent's Id
/// (Salesforce: "Implementation restriction: ContentDocumentLink requires a filter by a
/// single Id on ContentDocumentId or LinkedEntityId ... or multiple Id's using the IN
/// operator"): (object, the filtered field, the parent object whose Ids it takes).
pub const READ_BY_PARENT: &[(&str, &str, &str)] = &[(
    "ContentDocumentLink",
    "ContentDocumentId",
    "ContentDocument",
)];

/// Whether `object` is a Knowledge article version object (`KnowledgeArticleVersion`, or
/// an article type's `*__kav`), which Salesforce queries only with a top-level filter on
/// `PublishStatus` (or by Id): "Implementation restriction: When querying or searching the
/// Knowledge__kav object, you must filter using the following syntax: Id = [single ID], Id
/// IN [list of ID's] or PublishStatus = [status]".
pub fn is_article_version(object: &str) -> bool {
    object.eq_ignore_ascii_case("KnowledgeArticleVersion")
        || object.to_ascii_lowercase().ends_with("__kav")
}

/// How an object Salesforce lets a query read only by its parents is read: in batches of
/// `field IN (...)` over the Ids of every `parent` record ([`READ_BY_PARENT`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadByParent {
    pub field: String,
    pub parent: String,
}

/// Records an object plan leaves out: the fields (as described) and values that select
/// them, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedSkip {
    pub when: Vec<(String, serde_json::Value)>,
    pub reason: String,
}

impl ObjectPlan {
    /// Every object this object's records may point at (its links' targets and the object
    /// a replaced record lands as), itself included when it points at itself.
    pub fn link_targets(&self) -> Vec<String> {
        let mut targets: Vec<String> = self
            .links
            .iter()
            .flat_map(|link| link.target_objects())
            .map(str::to_owned)
            .chain(self.replaced_by.iter().flat_map(|replaced| {
                std::iter::once(replaced.target_object.clone()).chain(replaced.variants.clone())
            }))
            .collect();
        targets.sort();
        targets.dedup();
        targets
    }
}

/// A reference that makes a record land as the record it names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplacedBy {
    pub source: String,
    pub target_object: String,
    /// The values the record's own fields must have for it to be replaced (a person
    /// contact's `IsPersonAccount = true`); empty: whenever the reference is set.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub when: Vec<(String, serde_json::Value)>,
    /// `source` is the record's own `Id`, looked up under `target_object`'s entries (a
    /// companion task under `EmailMessage`, [`crate::mapping::ObjectMap::replaced_by_object`]);
    /// a record none names lands as itself.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub own_id: bool,
    /// The variants of `target_object` ([`ObjectPlan::source_object`]) the named record may
    /// have landed as (a person account), looked up after `target_object` itself.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variants: Vec<String>,
}

/// A binary field and where its content goes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlobField {
    /// `Body`, `VersionData`, `Content`.
    pub source: String,
    /// The destination field: a file's `content` (its bytes, stored with the file) or a text
    /// field (a note's `body`), which receives the content as text.
    pub target: String,
}

impl ObjectPlan {
    /// The size that chooses Bulk or REST: the estimate, else the exact count. Both APIs
    /// read the same rows, so a stale estimate changes only the API, never what is read.
    pub fn size_hint(&self) -> u64 {
        self.estimated.unwrap_or(self.in_salesforce)
    }

    /// The SOQL that extracts this object.
    pub fn soql(&self) -> String {
        self.soql_where(&[])
    }

    /// The SOQL that extracts this object, its records narrowed by `conditions` too.
    pub fn soql_where(&self, conditions: &[String]) -> String {
        let mut soql = format!(
            "SELECT {} FROM {}",
            self.select.join(", "),
            self.salesforce_object()
        );
        let all: Vec<&str> = self
            .filter
            .iter()
            .chain(conditions)
            .map(String::as_str)
            .collect();
        if !all.is_empty() {
            soql.push_str(" WHERE ");
            soql.push_str(&all.join(" AND "));
        }
        soql
    }

    /// The Salesforce object the records come from: the object itself, or for a variant
    /// the object it is a variant of.
    pub fn salesforce_object(&self) -> &str {
        self.source_object.as_deref().unwrap_or(&self.object)
    }

    /// Whether this is a standard object the map does not name, landing as generic records
    /// (see [`generic_object_map`]).
    pub fn is_generic(&self) -> bool {
        self.entity == EntityKind::CustomRecord && !is_custom_object(&self.object)
    }
}

/// `when` as a SOQL condition: each field equal to its value.
fn soql_condition(when: &crate::mapping::When) -> String {
    let parts: Vec<String> = when
        .iter()
        .map(|(field, value)| {
            let literal = match value {
                serde_json::Value::String(text) => {
                    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
                }
                serde_json::Value::Null => "null".to_owned(),
                other => other.to_string(),
            };
            format!("{field} = {literal}")
        })
        .collect();
    parts.join(" AND ")
}

/// Points every link and replacement naming an object that has variants at those variants
/// too: a link to a person account fills the link its variant's `links_to_it` names (a
/// contact rather than a company), when the linking entity has it. A custom lookup, whose
/// destination custom link points to one entity, gets a second custom link for the
/// variant's entity (`partner_account` to companies, `partner_account_contact` to the
/// people's contacts), so a record pointing at a person keeps that link too.
fn link_variants(objects: &mut [ObjectPlan], maps: &BTreeMap<String, ObjectMap>) {
    let variants: Vec<(String, String, BTreeMap<String, String>, EntityKind)> = objects
        .iter()
        .filter_map(|object| {
            let source = object.source_object.clone()?;
            let links = maps
                .get(&source)
                .and_then(|map| map.variants.get(&object.object))
                .map(|variant| variant.links_to_it.clone())
                .unwrap_or_default();
            Some((source, object.object.clone(), links, object.entity))
        })
        .collect();
    if variants.is_empty() {
        return;
    }
    for object in objects.iter_mut() {
        let entity = object.entity;
        let mut variant_definitions = Vec::new();
        for link in &mut object.links {
            if link.custom {
                for (source, variant, _, variant_entity) in &variants {
                    if *source != link.target_object {
                        continue;
                    }
                    let Some(definition) = object
                        .custom_fields
                        .iter()
                        .find(|definition| definition.name == link.target)
                    else {
                        continue;
                    };
                    let name = format!("{}_{variant_entity}", link.target);
                    variant_definitions.push(CustomFieldDefinition {
                        name: name.clone(),
                        label: format!("{} ({variant})", definition.label),
                        field_type: DestinationFieldType::Lookup {
                            entity: *variant_entity,
                        },
                        ..definition.clone()
                    });
                    link.variants.push(VariantTarget {
                        of: source.clone(),
                        object: variant.clone(),
                        link: name,
                    });
                }
                continue;
            }
            let named: Vec<(String, String)> = if link.polymorphic.is_empty() {
                vec![(link.target_object.clone(), link.target.clone())]
            } else {
                link.polymorphic
                    .iter()
                    .map(|target| (target.object.clone(), target.link.clone()))
                    .collect()
            };
            for (target_object, target_link) in named {
                for (source, variant, links_to_it, _) in &variants {
                    let Some(instead) = links_to_it.get(&target_link) else {
                        continue;
                    };
                    if *source == target_object && entity.link_target(instead).is_some() {
                        link.variants.push(VariantTarget {
                            of: source.clone(),
                            object: variant.clone(),
                            link: instead.clone(),
                        });
                    }
                }
            }
        }
        object.custom_fields.extend(variant_definitions);
        if let Some(replaced) = &mut object.replaced_by {
            for (source, variant, _, _) in &variants {
                if *source == replaced.target_object {
                    replaced.variants.push(variant.clone());
                }
            }
        }
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
    /// For a polymorphic reference (`WhoId`, `WhatId`, a note's `ParentId`): the link for
    /// each object the id may name that the plan migrates, found by the id's key prefix.
    /// Empty for a reference to one object, which uses `target` and `target_object`.
    #[serde(default)]
    pub polymorphic: Vec<PolymorphicTarget>,
    /// Key prefix to object name, for every object the reference may name (migrated or
    /// not), so a reference to an object left out can be reported by name.
    #[serde(default)]
    pub prefixes: BTreeMap<String, String>,
    /// Salesforce requires the reference: a record whose reference names an object the plan
    /// does not migrate (a file attached to a case) is skipped rather than landing unlinked.
    #[serde(default)]
    pub required: bool,
    /// A custom lookup field, which lands as a destination custom link of the same name as
    /// its custom field definition.
    #[serde(default)]
    pub custom: bool,
    /// Variants of the objects the reference may name (a person account of `Account`): a
    /// reference to a record that landed as one fills the variant's link instead.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variants: Vec<VariantTarget>,
}

/// A variant a reference's target may have landed as, and the link it then fills.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariantTarget {
    /// The Salesforce object the reference names (`Account`).
    pub of: String,
    /// The variant, as the plan names it (`PersonAccount`).
    pub object: String,
    /// The link filled when the target landed as the variant (`contact`).
    pub link: String,
}

/// One object a polymorphic reference may name, and the link it fills.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolymorphicTarget {
    pub object: String,
    pub link: String,
}

impl LinkMapping {
    /// Every object this link may point to, variants included.
    pub fn target_objects(&self) -> Vec<&str> {
        let mut targets: Vec<&str> = if self.polymorphic.is_empty() {
            vec![self.target_object.as_str()]
        } else {
            self.polymorphic
                .iter()
                .map(|target| target.object.as_str())
                .collect()
        };
        targets.extend(self.variants.iter().map(|variant| variant.object.as_str()));
        targets
    }
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
    Text {
        max_length: u32,
    },
    LongText {
        max_length: u32,
    },
    Number {
        precision: u32,
        scale: u32,
    },
    Currency {
        precision: u32,
        scale: u32,
    },
    Percent {
        precision: u32,
        scale: u32,
    },
    Date,
    DateTime,
    Checkbox,
    Picklist {
        values: Vec<String>,
    },
    MultiPicklist {
        values: Vec<String>,
    },
    Email,
    Phone,
    Url,
    /// A custom lookup: a link to a record of `entity`.
    Lookup {
        entity: EntityKind,
    },
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
            Self::Lookup { .. } => "lookup",
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

/// The org's currencies, as discovery read them (`Organization`, and `CurrencyType` in a
/// multi-currency org).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OrgCurrencies {
    /// `Organization.DefaultCurrencyIsoCode`: the corporate currency, and in a
    /// single-currency org the currency of every amount. `None` when it could not be read.
    pub default: Option<String>,
    /// Whether the org has multiple currencies (its describeGlobal lists `CurrencyType`):
    /// then each record has its own `CurrencyIsoCode`.
    pub multi_currency: bool,
    /// The currencies of a multi-currency org (`CurrencyType`), in the org's order.
    pub currencies: Vec<CurrencyInfo>,
    /// Why the currencies could not be read, when they could not.
    pub error: Option<String>,
}

/// One currency of a multi-currency org, from `CurrencyType`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurrencyInfo {
    pub iso_code: String,
    /// Units of this currency per unit of the corporate currency (for information: Ferry
    /// converts nothing).
    pub conversion_rate: f64,
    pub decimal_places: u32,
    pub active: bool,
    pub corporate: bool,
}

/// Where the currency of an object's money values comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum CurrencySource {
    /// Each record's own field (`CurrencyIsoCode` in a multi-currency org).
    Field { field: String },
    /// One currency for every record: the org's, or a constant of the map.
    Constant { code: String },
}

/// Where the currency of `object`'s records comes from, or `None` for an object whose
/// entity carries no money, or whose currency is unknown (see the plan's notes).
pub fn currency_source(object: &ObjectPlan) -> Option<CurrencySource> {
    use crate::mapping::CURRENCY_FIELD;
    if !object.entity.carries_money() {
        return None;
    }
    if let Some(mapping) = object.fields.iter().find(|f| f.target == CURRENCY_FIELD) {
        return Some(CurrencySource::Field {
            field: mapping.source.clone(),
        });
    }
    match object.values.get(CURRENCY_FIELD) {
        Some(serde_json::Value::String(code)) => {
            Some(CurrencySource::Constant { code: code.clone() })
        }
        _ => None,
    }
}

/// Gives every money-carrying object of `plan` a currency. An object whose map fills the
/// currency from a field the describe has (`CurrencyIsoCode` of a multi-currency org) keeps
/// it per record. In a single-currency org, where `CurrencyIsoCode` does not exist, every
/// record lands with the org's currency (`Organization.DefaultCurrencyIsoCode`), and the
/// mapped field is no longer reported as hidden. In a multi-currency org whose currency field
/// the integration user cannot read, or when the org's currency is unknown, the records land
/// without one and a note says so.
pub fn apply_org_currency(plan: &mut Plan, currencies: &OrgCurrencies) {
    use crate::mapping::CURRENCY_FIELD;
    let mut settled = BTreeSet::new();
    let mut notes = Vec::new();
    for object in &mut plan.objects {
        if !object.entity.carries_money() || currency_source(object).is_some() {
            continue;
        }
        if let (false, Some(code)) = (currencies.multi_currency, &currencies.default) {
            object.values.insert(
                CURRENCY_FIELD.to_owned(),
                serde_json::Value::String(code.clone()),
            );
            settled.insert(object.object.clone());
            continue;
        }
        settled.insert(object.object.clone());
        let why = if currencies.multi_currency {
            format!(
                "the org has multiple currencies but the object's {MULTI_CURRENCY_FIELD} is not readable"
            )
        } else {
            format!(
                "the org's currency could not be read ({})",
                currencies
                    .error
                    .as_deref()
                    .unwrap_or("no Organization record")
            )
        };
        notes.push(PlanNote {
            object: object.object.clone(),
            field: Some(MULTI_CURRENCY_FIELD.to_owned()),
            reason: format!("money values land without their currency: {why}"),
        });
    }
    plan.notes.retain(|note| {
        !(settled.contains(&note.object) && note.field.as_deref() == Some(MULTI_CURRENCY_FIELD))
    });
    plan.notes.extend(notes);
}

/// The field a multi-currency org adds to every record with money.
pub const MULTI_CURRENCY_FIELD: &str = "CurrencyIsoCode";

/// An object the map names, with what discovery read of it.
#[derive(Debug, Clone)]
pub struct DiscoveredObject {
    pub description: ObjectDescription,
    /// Exact count of the records in Salesforce (see [`ObjectPlan::in_salesforce`]).
    pub record_count: u64,
    /// `/limits/recordCount`'s estimate, when the org gave one.
    pub estimated: Option<u64>,
}

/// Builds the plan from the map and the discovered objects. Objects the map names that the
/// org does not have, or does not let the integration user see, become notes. Custom objects
/// the map does not name land as custom records (see [`custom_object_map`]).
pub fn build_plan(
    tenant: TenantId,
    map: &FieldMap,
    discovered: &BTreeMap<String, DiscoveredObject>,
) -> Plan {
    build_plan_with_prefixes(tenant, map, discovered, &BTreeMap::new())
}

/// [`build_plan`], knowing the key prefix of every object of the org (`key_prefixes`, prefix
/// to object name, from describeGlobal), so that a polymorphic reference to an object the
/// plan does not migrate is reported by that object's name.
pub fn build_plan_with_prefixes(
    tenant: TenantId,
    map: &FieldMap,
    discovered: &BTreeMap<String, DiscoveredObject>,
    key_prefixes: &BTreeMap<String, String>,
) -> Plan {
    let mut notes = Vec::new();
    let mut objects = Vec::new();
    let mut object_maps: BTreeMap<String, ObjectMap> = map.objects.clone();
    for (name, found) in discovered {
        if object_maps.contains_key(name) || map.leaves_out(name) {
            continue;
        }
        if is_custom_object(name) {
            if map.custom_objects {
                let mut custom = custom_object_map();
                custom
                    .links
                    .insert("OwnerId".to_owned(), owner_link(&found.description));
                object_maps.insert(name.clone(), custom);
            }
        } else if map.generic_objects {
            object_maps.insert(name.clone(), generic_object_map(&found.description));
        }
    }
    // The objects this plan migrates, with their entity: a link may only point to these.
    let migrated: BTreeMap<&str, EntityKind> = object_maps
        .iter()
        .filter(|(name, _)| discovered.contains_key(*name))
        .map(|(name, object_map)| (name.as_str(), object_map.entity))
        .collect();
    let mut prefixes = key_prefixes.clone();
    prefixes.extend(discovered.values().filter_map(|found| {
        let prefix = found.description.key_prefix.clone()?;
        Some((prefix, found.description.name.clone()))
    }));
    for (object_name, object_map) in &object_maps {
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
        // A field of the record's own, or of a parent through its relationship
        // (`Parent.PublishStatus`), which Salesforce filters on alike.
        let has_fields = |when: &crate::mapping::When| {
            when.keys().all(|field| match field.split_once('.') {
                Some((relationship, _)) => description.fields.iter().any(|own| {
                    own.relationship_name
                        .as_deref()
                        .is_some_and(|name| name.eq_ignore_ascii_case(relationship))
                }),
                None => description.field(field).is_some(),
            })
        };
        let mut variants: Vec<(&String, &ObjectVariant)> = Vec::new();
        for (name, variant) in &object_map.variants {
            if has_fields(&variant.when) {
                variants.push((name, variant));
            } else {
                notes.push(PlanNote {
                    object: name.clone(),
                    field: variant.when.keys().find(|f| description.field(f).is_none()).cloned(),
                    reason: format!(
                        "the org's {object_name} has no such field, so none of its records is a {name}: all land as {object_name}"
                    ),
                });
            }
        }
        let own_custom = |field: &str| {
            !variants
                .iter()
                .any(|(_, variant)| variant.keeps_custom_field(field))
        };
        let mut main = plan_object(
            object_name,
            object_map,
            found,
            &migrated,
            &prefixes,
            &mut notes,
            &own_custom,
        );
        let mut conditions: Vec<String> = Vec::new();
        if !object_map.filter.is_empty() {
            let condition = soql_condition(&object_map.filter);
            if has_fields(&object_map.filter) {
                notes.push(PlanNote {
                    object: object_name.clone(),
                    field: None,
                    reason: format!(
                        "only the records with {condition} are migrated (as {}); the others are not read or counted",
                        object_map.entity
                    ),
                });
                conditions.push(condition);
            } else {
                notes.push(PlanNote {
                    object: object_name.clone(),
                    field: object_map.filter.keys().find(|f| description.field(f).is_none()).cloned(),
                    reason: format!(
                        "the org's {object_name} has no such field, so the map's condition {condition} cannot apply: every record is migrated"
                    ),
                });
            }
        }
        conditions.extend(
            variants
                .iter()
                .map(|(_, variant)| format!("NOT ({})", soql_condition(&variant.when))),
        );
        if !conditions.is_empty() {
            main.filter = Some(conditions.join(" AND "));
        }
        objects.push(main);
        for (name, variant) in variants {
            let keeps = |field: &str| variant.keeps_custom_field(field);
            let mut planned = plan_object(
                name,
                &variant.object_map(),
                found,
                &migrated,
                &prefixes,
                &mut notes,
                &keeps,
            );
            planned.source_object = Some(object_name.clone());
            planned.filter = Some(soql_condition(&variant.when));
            // What the object's records carry that the variant's do not is said once, here.
            let left: Vec<&str> = description
                .fields
                .iter()
                .filter(|field| field.custom && !variant.keeps_custom_field(&field.name))
                .map(|field| field.name.as_str())
                .collect();
            if !left.is_empty() {
                notes.push(PlanNote {
                    object: name.clone(),
                    field: None,
                    reason: format!(
                        "lands as a {}: {object_name}'s custom fields {} stay with the other {object_name} records and are not migrated for these",
                        variant.entity,
                        left.join(", ")
                    ),
                });
            }
            objects.push(planned);
        }
    }
    link_variants(&mut objects, &object_maps);
    assign_phases(&mut objects, &mut notes);
    Plan {
        tenant,
        objects,
        notes,
        validation: crate::policy::ValidationPolicy::default(),
        default_owner: None,
        merge_leads_by_email: false,
        delta: false,
        queue_owners: Default::default(),
    }
}

/// Plans one object (or one variant of an object) from its describe; `own_custom` tells
/// which of the describe's custom fields land on its records.
fn plan_object(
    object_name: &str,
    object_map: &ObjectMap,
    found: &DiscoveredObject,
    migrated: &BTreeMap<&str, EntityKind>,
    prefixes: &BTreeMap<String, String>,
    notes: &mut Vec<PlanNote>,
    own_custom: &dyn Fn(&str) -> bool,
) -> ObjectPlan {
    let description = &found.description;
    let mut select = vec!["Id".to_owned()];
    let mut add_select = |name: &str| {
        if !select.iter().any(|selected| selected == name) {
            select.push(name.to_owned());
        }
    };
    let mut fields = Vec::new();
    let mut blob = None;
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
                        object: object_name.to_owned(),
                        field: Some(field.name.clone()),
                        reason: "compound field whose component fields are not visible".to_owned(),
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
            // Binary fields are fetched record by record at extraction: a query cannot
            // carry them.
            Some(field) if field.field_type == FieldType::Base64 => {
                blob = Some(BlobField {
                    source: field.name.clone(),
                    target: target.clone(),
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
            // A parent's field through a relationship (`RecordType.Name`): selected as
            // the path, read as text, since the parent's describe is not at hand.
            None => match parent_field(description, source) {
                Some(path) => {
                    add_select(&path);
                    fields.push(FieldMapping {
                        source: path,
                        target: target.clone(),
                        source_type: FieldType::String,
                        components: Vec::new(),
                    });
                }
                None => notes.push(hidden_field_note(object_name, source)),
            },
        }
    }
    let mut links = Vec::new();
    for (source, target) in &object_map.links {
        match description.field(source) {
            Some(field) if field.field_type == FieldType::Reference => {
                match plan_link(field, target, object_map.entity, migrated, prefixes) {
                    Ok(link) => {
                        add_select(&field.name);
                        links.push(link);
                    }
                    Err(reason) => notes.push(PlanNote {
                        object: object_name.to_owned(),
                        field: Some(field.name.clone()),
                        reason,
                    }),
                }
            }
            Some(field) => notes.push(PlanNote {
                object: object_name.to_owned(),
                field: Some(field.name.clone()),
                reason: format!(
                    "mapped as a link but its type is {:?}, not a reference",
                    field.field_type
                ),
            }),
            // A parent's reference through a relationship (an email's `Activity.WhoId`, the
            // who of its task): selected as the path; the objects it may name are the
            // map's, told apart by key prefix, since the parent's describe is not at hand.
            None => match parent_field(description, source) {
                Some(path) => {
                    let reference_to: Vec<String> = match target {
                        LinkTarget::ByObject(by_object) => by_object.keys().cloned().collect(),
                        LinkTarget::One(_) => Vec::new(),
                    };
                    let parent = crate::model::FieldDescription {
                        name: path.clone(),
                        label: path.clone(),
                        field_type: FieldType::Reference,
                        custom: false,
                        nillable: true,
                        calculated: false,
                        length: 18,
                        precision: 0,
                        scale: 0,
                        reference_to,
                        relationship_name: None,
                        compound_field_name: None,
                        picklist_values: Vec::new(),
                    };
                    match plan_link(&parent, target, object_map.entity, migrated, prefixes) {
                        Ok(link) => {
                            add_select(&path);
                            links.push(link);
                        }
                        Err(reason) => notes.push(PlanNote {
                            object: object_name.to_owned(),
                            field: Some(path),
                            reason,
                        }),
                    }
                }
                None => notes.push(hidden_field_note(object_name, source)),
            },
        }
    }
    // An object Salesforce lets a query read only with a filter on a parent's Id.
    let read_by_parent = READ_BY_PARENT
        .iter()
        .find(|(object, _, _)| *object == object_name)
        .and_then(|(_, field, parent)| {
            let described = description.field(field)?;
            add_select(&described.name);
            Some(ReadByParent {
                field: described.name.clone(),
                parent: (*parent).to_owned(),
            })
        });
    let replaced_by = match &object_map.replaced_by {
        None => None,
        Some(source) => match description.field(source) {
            Some(field)
                if field.field_type == FieldType::Reference
                    || (object_map.replaced_by_object.is_some()
                        && field.field_type == FieldType::Id) =>
            {
                match object_map
                    .replaced_by_object
                    .as_ref()
                    .or(field.reference_to.first())
                {
                    Some(target_object) => {
                        let missing = object_map
                            .replaced_when
                            .keys()
                            .find(|name| description.field(name).is_none());
                        match missing {
                            Some(missing) => {
                                notes.push(PlanNote {
                                        object: object_name.to_owned(),
                                        field: Some(field.name.clone()),
                                        reason: format!(
                                            "replaced by the record it names only when {missing} is set so, and the org has no {missing}: no record is replaced"
                                        ),
                                    });
                                None
                            }
                            None => {
                                add_select(&field.name);
                                let mut when = Vec::new();
                                for (name, value) in &object_map.replaced_when {
                                    if let Some(described) = description.field(name) {
                                        add_select(&described.name);
                                        when.push((described.name.clone(), value.clone()));
                                    }
                                }
                                Some(ReplacedBy {
                                    source: field.name.clone(),
                                    target_object: target_object.clone(),
                                    when,
                                    variants: Vec::new(),
                                    own_id: object_map.replaced_by_object.is_some(),
                                })
                            }
                        }
                    }
                    None => {
                        notes.push(PlanNote {
                            object: object_name.to_owned(),
                            field: Some(field.name.clone()),
                            reason: "reference field names no target object".to_owned(),
                        });
                        None
                    }
                }
            }
            Some(field) => {
                notes.push(PlanNote {
                        object: object_name.to_owned(),
                        field: Some(field.name.clone()),
                        reason: format!(
                            "named as the record it is replaced by, but its type is {:?}, not a reference",
                            field.field_type
                        ),
                    });
                None
            }
            None => {
                notes.push(hidden_field_note(object_name, source));
                None
            }
        },
    };
    let skipped_when = object_map.skipped_when.as_ref().and_then(|rule| {
        let mut when = Vec::new();
        for (name, value) in &rule.when {
            match description.field(name) {
                Some(described) => {
                    add_select(&described.name);
                    when.push((described.name.clone(), value.clone()));
                }
                None => {
                    notes.push(PlanNote {
                        object: object_name.to_owned(),
                        field: Some(name.clone()),
                        reason: format!(
                            "records with {name} set so are left out ({}), but the org has no {name}: every record is migrated",
                            rule.reason
                        ),
                    });
                    return None;
                }
            }
        }
        Some(PlannedSkip {
            when,
            reason: rule.reason.clone(),
        })
    });
    let stands_for = match &object_map.stands_for {
        None => None,
        Some(source) => match description.field(source) {
            Some(field) if field.field_type == FieldType::Reference => {
                add_select(&field.name);
                Some(field.name.clone())
            }
            _ => {
                notes.push(PlanNote {
                    object: object_name.to_owned(),
                    field: Some(source.clone()),
                    reason: "named as a record this one stands for, but not a visible reference: that record is not replaced".to_owned(),
                });
                None
            }
        },
    };
    let mut custom_fields = Vec::new();
    // A generic record (a standard object the map does not name) keeps every field, not
    // only the custom ones: each becomes a custom field of the object.
    let generic = object_map.entity == EntityKind::CustomRecord && !is_custom_object(object_name);
    for field in description.fields.iter().filter(|field| {
        (field.custom || (generic && !GENERIC_SYSTEM_FIELDS.contains(&field.name.as_str())))
            && own_custom(&field.name)
    }) {
        if object_map.maps_source(&field.name) {
            continue;
        }
        let name = if object_map.entity == EntityKind::CustomRecord {
            // Custom records of every custom object share one entity; the object's name
            // keeps their custom fields apart.
            format!(
                "{}_{}",
                custom_field_name(object_name),
                custom_field_name(&field.name)
            )
        } else {
            custom_field_name(&field.name)
        };
        if field.field_type == FieldType::Reference {
            match custom_lookup(field, &name, migrated) {
                Ok((link, definition_type)) => {
                    add_select(&field.name);
                    custom_fields.push(CustomFieldDefinition {
                        entity: object_map.entity,
                        name,
                        label: field.label.clone(),
                        field_type: definition_type,
                        source: field.name.clone(),
                        source_type: field.field_type.clone(),
                    });
                    links.push(link);
                }
                Err(reason) => notes.push(PlanNote {
                    object: object_name.to_owned(),
                    field: Some(field.name.clone()),
                    reason,
                }),
            }
            continue;
        }
        match destination_type(&field.field_type, field) {
            Ok(field_type) => {
                add_select(&field.name);
                custom_fields.push(CustomFieldDefinition {
                    entity: object_map.entity,
                    name,
                    label: field.label.clone(),
                    field_type,
                    source: field.name.clone(),
                    source_type: field.field_type.clone(),
                });
            }
            Err(reason) => notes.push(PlanNote {
                object: object_name.to_owned(),
                field: Some(field.name.clone()),
                reason,
            }),
        }
    }
    ObjectPlan {
        object: object_name.to_owned(),
        entity: object_map.entity,
        phase: 0,
        in_salesforce: found.record_count,
        estimated: found.estimated,
        soft_deletes: found.description.field("IsDeleted").is_some(),
        select,
        fields,
        links,
        custom_fields,
        values: object_map.values.clone(),
        replaced_by,
        blob,
        source_object: None,
        filter: None,
        queue_to_default_owner: false,
        queue_objects: Default::default(),
        skipped_when,
        read_by_parent,
        stands_for,
    }
}

/// `RecordType.Name` as the path SOQL selects, when `RecordType` is the relationship of one
/// of the object's reference fields; `None` for anything else.
fn parent_field(description: &ObjectDescription, source: &str) -> Option<String> {
    let (relationship, field) = source.split_once('.')?;
    if field.is_empty() || field.contains('.') {
        return None;
    }
    let reference = description.fields.iter().find(|candidate| {
        candidate.field_type == FieldType::Reference
            && candidate
                .relationship_name
                .as_deref()
                .is_some_and(|name| name.eq_ignore_ascii_case(relationship))
    })?;
    reference
        .relationship_name
        .as_ref()
        .map(|name| format!("{name}.{field}"))
}

/// Whether `object` is a custom object (`Project__c`), as opposed to a standard one or a
/// custom metadata type, event or setting (`__mdt`, `__e`, ...).
pub fn is_custom_object(object: &str) -> bool {
    object.ends_with("__c")
}

/// Fields of every object that a generic record does not carry as its own: the id (the ID
/// map keeps it), the recycle-bin flag, and audit fields naming users.
const GENERIC_SYSTEM_FIELDS: &[&str] = &[
    "Id",
    "IsDeleted",
    "SystemModstamp",
    "CreatedById",
    "LastModifiedById",
    "LastViewedDate",
    "LastReferencedDate",
];

/// How a standard object with data that the map does not name lands (the map's
/// `generic_objects`, on by default): as custom records keeping the object's name, like a
/// custom object's, with every field of the describe as a custom field of the object and
/// every lookup to a migrated object as a custom link. Its name is the first of `Name`,
/// `Subject`, `Title` and `{Object}Number` (`CaseNumber`) it has.
pub fn generic_object_map(description: &ObjectDescription) -> ObjectMap {
    let mut map = custom_object_map();
    let number = format!("{}Number", description.name);
    map.fields.remove("Name");
    if let Some(name) = ["Name", "Subject", "Title", number.as_str()]
        .into_iter()
        .find_map(|candidate| description.field(candidate))
    {
        map.fields.insert(name.name.clone(), "name".to_owned());
    }
    // The currency stays mapped as for a custom object: an org with one currency gives
    // every record the org's (`apply_org_currency`).
    for source in ["CreatedDate", "LastModifiedDate"] {
        if description.field(source).is_none() {
            map.fields.remove(source);
        }
    }
    // Salesforce reads article versions only with a filter on their publication status:
    // an article type the map does not name lands as its online versions, each article
    // once, as the map's knowledge articles do.
    if is_article_version(&description.name) && description.field("PublishStatus").is_some() {
        map.filter
            .insert("PublishStatus".to_owned(), serde_json::json!("Online"));
    }
    if description.field("OwnerId").is_none() {
        map.links.remove("OwnerId");
    } else {
        map.links
            .insert("OwnerId".to_owned(), owner_link(description));
    }
    map
}

/// Where an object's `OwnerId` goes: a user's record to its owner; where queues may own
/// the object's records (the reference names `Group`), a queue's to its team.
fn owner_link(description: &ObjectDescription) -> LinkTarget {
    let by_queue = description.field("OwnerId").is_some_and(|field| {
        field
            .reference_to
            .iter()
            .any(|target| target.eq_ignore_ascii_case("Group"))
    });
    if by_queue {
        LinkTarget::ByObject(BTreeMap::from([
            ("User".to_owned(), "owner".to_owned()),
            ("Group".to_owned(), "team".to_owned()),
        ]))
    } else {
        LinkTarget::from("owner")
    }
}

/// How a custom object the map does not name lands: as custom records keeping the object's
/// name, with its name, timestamps and owner; its custom fields become custom fields and
/// its custom lookups custom links, like any object's.
pub fn custom_object_map() -> ObjectMap {
    ObjectMap {
        entity: EntityKind::CustomRecord,
        fields: BTreeMap::from([
            ("Name".to_owned(), "name".to_owned()),
            ("CreatedDate".to_owned(), "created_at".to_owned()),
            ("LastModifiedDate".to_owned(), "updated_at".to_owned()),
            (
                MULTI_CURRENCY_FIELD.to_owned(),
                crate::mapping::CURRENCY_FIELD.to_owned(),
            ),
        ]),
        links: BTreeMap::from([("OwnerId".to_owned(), LinkTarget::from("owner"))]),
        values: BTreeMap::new(),
        replaced_by: None,
        replaced_when: crate::mapping::When::new(),
        filter: crate::mapping::When::new(),
        variants: BTreeMap::new(),
        skipped_when: None,
        replaced_by_object: None,
        stands_for: None,
    }
}

/// Plans one mapped reference field. A reference to several objects (`WhoId`, an owner
/// that may be a user or a queue) is resolved by key prefix among the objects the plan
/// migrates; a reference to one object keeps the link even when that object is not
/// migrated, so each record's missing link is reported at finalize.
fn plan_link(
    field: &crate::model::FieldDescription,
    target: &LinkTarget,
    entity: EntityKind,
    migrated: &BTreeMap<&str, EntityKind>,
    prefixes: &BTreeMap<String, String>,
) -> Result<LinkMapping, String> {
    let Some(first) = field.reference_to.first() else {
        return Err("reference field names no target object".to_owned());
    };
    let polymorphic_field =
        field.reference_to.len() > 1 || matches!(target, LinkTarget::ByObject(_));
    // Salesforce requires an owner too, but a record owned by a queue still lands, without
    // its owner link; only a required parent (a note's record) makes a record pointless.
    let required = !field.nillable
        && target
            .link_names()
            .iter()
            .all(|link| entity.link_target(link) != Some(EntityKind::Owner));
    if !polymorphic_field {
        let link = target
            .link_for(first)
            .ok_or_else(|| format!("the map names no link for {first}"))?;
        return Ok(LinkMapping {
            source: field.name.clone(),
            target: link.to_owned(),
            target_object: first.clone(),
            polymorphic: Vec::new(),
            prefixes: BTreeMap::new(),
            required,
            custom: false,
            variants: Vec::new(),
        });
    }
    let polymorphic: Vec<PolymorphicTarget> = field
        .reference_to
        .iter()
        .filter(|object| migrated.contains_key(object.as_str()))
        .filter_map(|object| {
            target.link_for(object).map(|link| PolymorphicTarget {
                object: object.clone(),
                link: link.to_owned(),
            })
        })
        .collect();
    let Some(chosen) = polymorphic.first() else {
        return Err(format!(
            "none of the objects it may point to ({}) is migrated with a link in the map",
            field.reference_to.join(", ")
        ));
    };
    let reference_prefixes = prefixes
        .iter()
        .filter(|(_, object)| field.reference_to.contains(object))
        .map(|(prefix, object)| (prefix.clone(), object.clone()))
        .collect();
    Ok(LinkMapping {
        source: field.name.clone(),
        target: chosen.link.clone(),
        target_object: chosen.object.clone(),
        polymorphic,
        prefixes: reference_prefixes,
        required,
        custom: false,
        variants: Vec::new(),
    })
}

/// A custom lookup field as a destination custom link, when the object it points to is
/// migrated.
fn custom_lookup(
    field: &crate::model::FieldDescription,
    name: &str,
    migrated: &BTreeMap<&str, EntityKind>,
) -> Result<(LinkMapping, DestinationFieldType), String> {
    let Some(target_object) = field.reference_to.first() else {
        return Err("custom lookup names no target object".to_owned());
    };
    if field.reference_to.len() > 1 {
        return Err(format!(
            "custom lookup to several objects ({}); a destination custom link points to one entity",
            field.reference_to.join(", ")
        ));
    }
    let Some(entity) = migrated.get(target_object.as_str()) else {
        return Err(format!(
            "custom lookup to {target_object}, which this migration does not move"
        ));
    };
    Ok((
        LinkMapping {
            source: field.name.clone(),
            target: name.to_owned(),
            target_object: target_object.clone(),
            polymorphic: Vec::new(),
            prefixes: BTreeMap::new(),
            required: false,
            custom: true,
            variants: Vec::new(),
        },
        DestinationFieldType::Lookup { entity: *entity },
    ))
}

fn hidden_field_note(object: &str, field: &str) -> PlanNote {
    PlanNote {
        object: object.to_owned(),
        field: Some(field.to_owned()),
        reason: "not in the object's describe: the field does not exist or field-level security hides it from the integration user".to_owned(),
    }
}

/// `Health_Score__c` becomes `health_score`; a namespace prefix is kept (`ns__Tier__c` → `ns_tier`).
///
/// A person account's `__pc` field is its person contact's `__c` field, so both land as
/// one custom field of the contact (`Loyalty_Tier__pc` and `Loyalty_Tier__c`: `loyalty_tier`).
pub fn custom_field_name(source: &str) -> String {
    let base = source
        .strip_suffix("__c")
        .or_else(|| source.strip_suffix("__pc"))
        .unwrap_or(source);
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
                "a reference has no custom field type: it lands as a link, when the object it points to is migrated".to_owned(),
            );
        }
        other => {
            return Err(format!(
                "field type {other:?} has no destination custom field type"
            ));
        }
    })
}

/// Orders objects so that each comes after the objects its links point to (and a record
/// replaced by another after that other's object). Self links do not count: deferred links
/// handle them. Where objects point at each other (an account's custom lookup to its key
/// contact, a contact's account), one object of the cycle goes first: preferably one that
/// waits only through custom lookups, since those are what a CRM admin added on top of the
/// standard model. Its links to the objects still waiting are deferred and patched after
/// load, and a note on each such field says so.
fn assign_phases(objects: &mut [ObjectPlan], notes: &mut Vec<PlanNote>) {
    let names: BTreeSet<String> = objects.iter().map(|object| object.object.clone()).collect();
    // Each object's dependencies on other planned objects: (target, through a custom link).
    let dependencies: BTreeMap<String, Vec<(String, bool)>> = objects
        .iter()
        .map(|object| {
            let mut targets: Vec<(String, bool)> = object
                .links
                .iter()
                .flat_map(|link| {
                    link.target_objects()
                        .into_iter()
                        .map(move |target| (target.to_owned(), link.custom))
                })
                .chain(object.replaced_by.iter().flat_map(|replaced| {
                    std::iter::once(&replaced.target_object)
                        .chain(&replaced.variants)
                        .map(|target| (target.clone(), false))
                }))
                .filter(|(target, _)| *target != object.object && names.contains(target))
                .collect();
            targets.sort();
            targets.dedup();
            (object.object.clone(), targets)
        })
        .collect();
    let mut placed: BTreeMap<String, u32> = BTreeMap::new();
    let mut phase = 0;
    while placed.len() < objects.len() {
        let unplaced: Vec<&String> = names
            .iter()
            .filter(|name| !placed.contains_key(*name))
            .collect();
        let waiting_on = |name: &String, ignore_custom: bool| -> usize {
            dependencies
                .get(name)
                .map(|targets| {
                    targets
                        .iter()
                        .filter(|(target, custom)| {
                            !(placed.contains_key(target) || (ignore_custom && *custom))
                        })
                        .count()
                })
                .unwrap_or(0)
        };
        let mut ready: Vec<String> = unplaced
            .iter()
            .filter(|name| waiting_on(name, false) == 0)
            .map(|name| (*name).clone())
            .collect();
        if ready.is_empty() {
            // Stuck: the unplaced objects point at each other. Place one object of a cycle
            // next, preferring one that waits only through custom lookups, then the fewest
            // unplaced targets, then the name, so the choice is stable.
            let in_cycle = |name: &String| reaches(&dependencies, &placed, name, name);
            let chosen = unplaced
                .iter()
                .filter(|name| in_cycle(name))
                .min_by_key(|name| (waiting_on(name, true), waiting_on(name, false), **name))
                .map(|name| (*name).clone());
            if let Some(name) = &chosen {
                for link in objects
                    .iter()
                    .filter(|object| object.object == *name)
                    .flat_map(|object| object.links.iter())
                {
                    for target in link.target_objects() {
                        if target != name && names.contains(target) && !placed.contains_key(target)
                        {
                            notes.push(PlanNote {
                                object: name.clone(),
                                field: Some(link.source.clone()),
                                reason: format!(
                                    "points at {target}, which points back (directly or not) and so loads later: the link is patched after load"
                                ),
                            });
                        }
                    }
                }
            }
            ready = chosen.into_iter().collect();
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

/// Whether `from` reaches `to` through the dependencies of objects not placed yet.
fn reaches(
    dependencies: &BTreeMap<String, Vec<(String, bool)>>,
    placed: &BTreeMap<String, u32>,
    from: &str,
    to: &str,
) -> bool {
    let mut seen = BTreeSet::new();
    let mut stack = vec![from.to_owned()];
    while let Some(current) = stack.pop() {
        for (target, _) in dependencies.get(&current).into_iter().flatten() {
            if placed.contains_key(target) {
                continue;
            }
            if target == to {
                return true;
            }
            if seen.insert(target.clone()) {
                stack.push(target.clone());
            }
        }
    }
    false
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
                estimated: None,
            },
        )
    }

    fn planned<'a>(plan: &'a Plan, name: &str) -> &'a ObjectPlan {
        plan.object(name)
            .unwrap_or_else(|| panic!("{name} is not planned"))
    }

    #[test]
    fn money_carrying_objects_take_each_records_currency_or_the_orgs() {
        let account = |with_currency: bool| {
            let mut fields = vec![
                field("Id", FieldType::Id, false),
                field("Name", FieldType::String, false),
                field("AnnualRevenue", FieldType::Currency, false),
            ];
            if with_currency {
                fields.push(field(MULTI_CURRENCY_FIELD, FieldType::Picklist, false));
            }
            BTreeMap::from([
                discovered("Account", fields),
                discovered(
                    "OpportunityStage",
                    vec![
                        field("Id", FieldType::Id, false),
                        field("MasterLabel", FieldType::String, false),
                    ],
                ),
            ])
        };
        let map = FieldMap::builtin();
        let hidden = |plan: &Plan| {
            plan.notes
                .iter()
                .any(|n| n.object == "Account" && n.field.as_deref() == Some(MULTI_CURRENCY_FIELD))
        };
        let single = OrgCurrencies {
            default: Some("EUR".to_owned()),
            ..OrgCurrencies::default()
        };

        // A single-currency org: every account lands in the org's currency, and the field a
        // multi-currency org would have is not reported as hidden.
        let mut plan = build_plan(TenantId::new("t"), &map, &account(false));
        assert!(hidden(&plan));
        apply_org_currency(&mut plan, &single);
        let company = planned(&plan, "Account");
        assert_eq!(
            currency_source(company),
            Some(CurrencySource::Constant {
                code: "EUR".to_owned()
            })
        );
        assert_eq!(company.values["currency"], "EUR");
        assert!(!hidden(&plan), "{:?}", plan.notes);
        // Stages carry no money.
        let stage = planned(&plan, "OpportunityStage");
        assert_eq!(currency_source(stage), None);
        assert!(!stage.values.contains_key("currency"));

        // A multi-currency org: each record's CurrencyIsoCode.
        let multi = OrgCurrencies {
            multi_currency: true,
            ..single.clone()
        };
        let mut plan = build_plan(TenantId::new("t"), &map, &account(true));
        apply_org_currency(&mut plan, &multi);
        let company = planned(&plan, "Account");
        assert_eq!(
            currency_source(company),
            Some(CurrencySource::Field {
                field: MULTI_CURRENCY_FIELD.to_owned()
            })
        );
        assert!(company.select.iter().any(|f| f == MULTI_CURRENCY_FIELD));
        assert!(!company.values.contains_key("currency"));

        // A multi-currency org whose CurrencyIsoCode the user cannot read, or an org whose
        // currency is unknown: no currency is made up, and the plan says so.
        for currencies in [
            multi,
            OrgCurrencies {
                error: Some("INVALID_TYPE".to_owned()),
                ..OrgCurrencies::default()
            },
        ] {
            let mut plan = build_plan(TenantId::new("t"), &map, &account(false));
            apply_org_currency(&mut plan, &currencies);
            assert_eq!(currency_source(planned(&plan, "Account")), None);
            assert!(plan.notes.iter().any(|n| {
                n.object == "Account"
                    && n.reason
                        .starts_with("money values land without their currency")
            }));
        }
    }

    #[test]
    fn person_accounts_are_a_variant_of_account_that_lands_as_contacts() -> Result<(), String> {
        let person_org = |person: bool| {
            let flag = |fields: &mut Vec<FieldDescription>| {
                if person {
                    fields.push(field("IsPersonAccount", FieldType::Boolean, false));
                }
            };
            let mut account = vec![
                field("Id", FieldType::Id, false),
                field("Name", FieldType::String, false),
                field("Tier__c", FieldType::String, true),
                reference("OwnerId", "User"),
            ];
            flag(&mut account);
            if person {
                account.extend([
                    field("LastName", FieldType::String, false),
                    field("PersonEmail", FieldType::Email, false),
                    field("Loyalty_Tier__pc", FieldType::String, true),
                ]);
            }
            let mut contact = vec![
                field("Id", FieldType::Id, false),
                field("LastName", FieldType::String, false),
                reference("AccountId", "Account"),
            ];
            flag(&mut contact);
            let opportunity = vec![
                field("Id", FieldType::Id, false),
                field("Name", FieldType::String, false),
                reference("AccountId", "Account"),
            ];
            BTreeMap::from([
                discovered("Account", account),
                discovered("Contact", contact),
                discovered("Opportunity", opportunity),
                discovered(
                    "User",
                    vec![
                        field("Id", FieldType::Id, false),
                        field("Email", FieldType::Email, false),
                        field("Name", FieldType::String, false),
                    ],
                ),
            ])
        };
        let plan = build_plan(TenantId::new("t"), &FieldMap::builtin(), &person_org(true));
        let account = plan.object("Account").ok_or("no Account")?;
        assert_eq!(
            account.soql(),
            "SELECT Id, Name, OwnerId, Tier__c FROM Account WHERE NOT (IsPersonAccount = true)"
        );
        let person = plan.object("PersonAccount").ok_or("no PersonAccount")?;
        assert_eq!(person.entity, EntityKind::Contact);
        assert_eq!(person.salesforce_object(), "Account");
        assert_eq!(
            person.soql(),
            "SELECT Id, LastName, PersonEmail, OwnerId, Loyalty_Tier__pc FROM Account WHERE IsPersonAccount = true"
        );
        assert_eq!(person.custom_fields.len(), 1);
        assert_eq!(person.custom_fields[0].name, "loyalty_tier");
        assert!(
            plan.notes
                .iter()
                .any(|note| note.object == "PersonAccount" && note.reason.contains("Tier__c"))
        );
        // A person contact is replaced by its account's person, which loads first.
        let contact = plan.object("Contact").ok_or("no Contact")?;
        let replaced = contact.replaced_by.as_ref().ok_or("not replaced")?;
        assert_eq!(replaced.source, "AccountId");
        assert_eq!(
            replaced.when,
            vec![("IsPersonAccount".to_owned(), serde_json::json!(true))]
        );
        assert_eq!(replaced.variants, vec!["PersonAccount".to_owned()]);
        assert!(contact.phase > person.phase && contact.phase > account.phase);
        // A deal of a person links to its contact.
        let opportunity = plan.object("Opportunity").ok_or("no Opportunity")?;
        let link = opportunity
            .links
            .iter()
            .find(|l| l.source == "AccountId")
            .ok_or("no AccountId link")?;
        assert_eq!(
            link.variants,
            vec![VariantTarget {
                of: "Account".to_owned(),
                object: "PersonAccount".to_owned(),
                link: "contact".to_owned(),
            }]
        );
        assert!(opportunity.phase > person.phase);

        // An org without person accounts plans Account and Contact as ever.
        let plain = build_plan(TenantId::new("t"), &FieldMap::builtin(), &person_org(false));
        assert!(plain.object("PersonAccount").is_none());
        assert_eq!(plain.object("Account").ok_or("no Account")?.filter, None);
        assert_eq!(
            plain.object("Contact").ok_or("no Contact")?.replaced_by,
            None
        );
        assert!(
            plain
                .objects
                .iter()
                .all(|o| o.links.iter().all(|l| l.variants.is_empty()))
        );
        Ok(())
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

    fn with_prefix(
        (name, mut found): (String, DiscoveredObject),
        prefix: &str,
    ) -> (String, DiscoveredObject) {
        found.description.key_prefix = Some(prefix.to_owned());
        (name, found)
    }

    fn polymorphic(name: &str, targets: &[&str]) -> FieldDescription {
        FieldDescription {
            reference_to: targets.iter().map(|target| (*target).to_owned()).collect(),
            ..field(name, FieldType::Reference, false)
        }
    }

    fn object<'a>(plan: &'a Plan, name: &str) -> &'a ObjectPlan {
        plan.object(name)
            .unwrap_or_else(|| panic!("{name} is planned: {plan:?}"))
    }

    fn link<'a>(object: &'a ObjectPlan, source: &str) -> &'a LinkMapping {
        object
            .links
            .iter()
            .find(|link| link.source == source)
            .unwrap_or_else(|| panic!("{source} is a link of {}", object.object))
    }

    #[test]
    fn phases_follow_the_object_graph_and_a_custom_lookup_cycle_is_broken_and_noted() {
        let org = BTreeMap::from([
            with_prefix(
                discovered(
                    "User",
                    vec![
                        field("Id", FieldType::Id, false),
                        field("Email", FieldType::Email, false),
                        field("Name", FieldType::String, false),
                    ],
                ),
                "005",
            ),
            with_prefix(
                discovered(
                    "Account",
                    vec![
                        field("Id", FieldType::Id, false),
                        field("Name", FieldType::String, false),
                        reference("OwnerId", "User"),
                        FieldDescription {
                            custom: true,
                            ..reference("Key_Contact__c", "Contact")
                        },
                    ],
                ),
                "001",
            ),
            with_prefix(
                discovered(
                    "Contact",
                    vec![
                        field("Id", FieldType::Id, false),
                        field("LastName", FieldType::String, false),
                        reference("AccountId", "Account"),
                    ],
                ),
                "003",
            ),
            discovered(
                "Task",
                vec![
                    field("Id", FieldType::Id, false),
                    polymorphic("WhoId", &["Contact", "Lead"]),
                    polymorphic("WhatId", &["Account", "Opportunity"]),
                ],
            ),
        ]);
        let prefixes = BTreeMap::from([
            ("00Q".to_owned(), "Lead".to_owned()),
            ("006".to_owned(), "Opportunity".to_owned()),
        ]);
        let plan =
            build_plan_with_prefixes(TenantId::new("t"), &FieldMap::builtin(), &org, &prefixes);
        let order: Vec<(&str, u32)> = plan
            .objects
            .iter()
            .map(|o| (o.object.as_str(), o.phase))
            .collect();
        assert_eq!(
            order,
            vec![("User", 0), ("Account", 1), ("Contact", 2), ("Task", 3)]
        );
        assert!(
            plan.notes.iter().any(|note| note.object == "Account"
                && note.field.as_deref() == Some("Key_Contact__c")
                && note
                    .reason
                    .starts_with("points at Contact, which points back")),
            "{:?}",
            plan.notes
        );

        let account = object(&plan, "Account");
        let key_contact = link(account, "Key_Contact__c");
        assert!(key_contact.custom);
        assert_eq!(
            (
                key_contact.target.as_str(),
                key_contact.target_object.as_str()
            ),
            ("key_contact", "Contact")
        );
        assert_eq!(
            account.custom_fields[0].field_type,
            DestinationFieldType::Lookup {
                entity: EntityKind::Contact
            }
        );

        // Leads and opportunities are not in this org's plan: the polymorphic links keep
        // only the migrated targets, and the prefixes of all, to name what they leave out.
        let task = object(&plan, "Task");
        let who = link(task, "WhoId");
        assert_eq!(
            who.polymorphic,
            vec![PolymorphicTarget {
                object: "Contact".to_owned(),
                link: "contact".to_owned()
            }]
        );
        assert_eq!(who.prefixes["00Q"], "Lead");
        assert_eq!(who.prefixes["003"], "Contact");
        let what = link(task, "WhatId");
        assert_eq!(what.target_objects(), vec!["Account"]);
        assert_eq!(what.target, "company");
    }

    #[test]
    fn a_custom_object_lands_as_custom_records_unless_the_map_says_otherwise() {
        let org = BTreeMap::from([discovered(
            "Project__c",
            vec![
                field("Id", FieldType::Id, false),
                field("Name", FieldType::String, false),
                field("Status__c", FieldType::Picklist, true),
                FieldDescription {
                    custom: true,
                    ..reference("Account__c", "Account")
                },
            ],
        )]);
        let plan = build_plan(TenantId::new("t"), &FieldMap::builtin(), &org);
        let project = object(&plan, "Project__c");
        assert_eq!(project.entity, EntityKind::CustomRecord);
        assert_eq!(project.custom_fields[0].name, "project_status");
        // Accounts are not in this org, so the lookup has nothing to point at: a note says so.
        assert!(
            plan.notes
                .iter()
                .any(|note| note.field.as_deref() == Some("Account__c")
                    && note.reason
                        == "custom lookup to Account, which this migration does not move")
        );

        let mut map = FieldMap::builtin();
        map.custom_objects = false;
        assert!(
            build_plan(TenantId::new("t"), &map, &org)
                .object("Project__c")
                .is_none()
        );
    }

    #[test]
    fn custom_field_names_are_lowercased_without_suffix() {
        assert_eq!(custom_field_name("Health_Score__c"), "health_score");
        assert_eq!(custom_field_name("ns__Tier__c"), "ns_tier");
    }
}
