use super::StepError;
use crate::inventory::{InventoryKind, UserSummary, read_currencies, read_inventory, read_users};
use ferry_model::budget::ApiBudget;
use ferry_model::ids::TenantId;
use ferry_model::mapping::FieldMap;
use ferry_model::model::ObjectSummary;
use ferry_model::plan::{
    DiscoveredObject, OrgCurrencies, Plan, apply_org_currency, build_plan_with_prefixes,
};
use ferry_model::ports::{Descriptions, Destination, SalesforceApi};
use std::collections::BTreeMap;

/// What discovery found: the plan, what was read of each planned object, every object of
/// the org left out with the reason, and the API budget at the end of discovery.
#[derive(Debug, Clone)]
pub struct Discovery {
    pub plan: Plan,
    pub objects_in_org: usize,
    pub described: BTreeMap<String, DiscoveredObject>,
    pub skipped: Vec<SkippedObject>,
    pub budget: Option<ApiBudget>,
    /// Automation and analytics the migration does not move.
    pub inventory: Vec<InventoryKind>,
    /// The org's users, who own records.
    pub users: UserSummary,
    /// The org's currency, and in a multi-currency org its currencies.
    pub currencies: OrgCurrencies,
}

/// What to discover.
#[derive(Debug, Clone, Default)]
pub struct DiscoverOptions {
    /// Only these objects (`--objects`); `None`: every object the map names. Naming an
    /// object the org does not have, or the user cannot read, is an error.
    pub objects: Option<Vec<String>>,
    /// Which versions of a file land (`--file-versions`): the latest only (default; the
    /// superseded ones are counted skipped with the reason) or every version.
    pub file_versions: FileVersions,
}

/// Which `ContentVersion`s of a file are migrated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FileVersions {
    /// Only the version with `IsLatest = true`: the file as Salesforce shows it.
    #[default]
    Latest,
    /// Every version, each a file of its own.
    All,
}

impl FileVersions {
    /// `latest` or `all`.
    pub fn parse(text: &str) -> Result<FileVersions, String> {
        match text {
            "latest" => Ok(FileVersions::Latest),
            "all" => Ok(FileVersions::All),
            other => Err(format!("expected `latest` or `all`, not `{other}`")),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedObject {
    pub name: String,
    pub reason: String,
}

/// Objects no API can export as data (from the importer documentation in seed 002): views,
/// relations and metadata that Salesforce exposes as objects.
const UNSUPPORTED_OBJECTS: &[&str] = &[
    "AssetTokenEvent",
    "AttachedContentNote",
    "EventWhoRelation",
    "QuoteTemplateRichTextData",
    "TaskWhoRelation",
    "SolutionStatus",
    "ContractStatus",
    "RecentlyViewed",
    "DeclinedEventRelation",
    "AcceptedEventRelation",
    "TaskStatus",
    "PartnerRole",
    "TaskPriority",
    "CaseStatus",
    "UndecidedEventRelation",
    "Announcement",
    "CollaborationGroupRecord",
    "Vote",
    "IdeaComment",
    "FieldDefinition",
    "PlatformAction",
    "UserEntityAccess",
    "RelationshipInfo",
    "ContentFolderMember",
    "ContentFolderItem",
    "SearchLayout",
    "SiteDetail",
    "EntityParticle",
    "OwnerChangeOptionInfo",
    "DataStatistics",
    "UserFieldAccess",
    "PicklistValueInfo",
    "RelationshipDomain",
    "FlexQueueItem",
    "ListViewChartInstance",
    "FeedLike",
    "OutgoingEmail",
    "OutgoingEmailRelation",
    "FeedSignal",
    "ActivityHistory",
    "EmailStatus",
    "UserRecordAccess",
    "Name",
    "AggregateResult",
    "OpenActivity",
    "ProcessInstanceHistory",
    "OwnedContentDocument",
    "FolderedContentDocument",
    "FeedTrackedChange",
    "CombinedAttachment",
    "AttachedContentDocument",
    "ContentBody",
    "NoteAndAttachment",
    "LookedUpFromActivity",
];

/// Why an object of describeGlobal cannot be migrated, or `None` when it can.
pub(crate) fn unsupported_reason(object: &ObjectSummary) -> Option<String> {
    let name = object.name.as_str();
    if UNSUPPORTED_OBJECTS.contains(&name) {
        return Some(
            "not exportable through the API (a view, relation or metadata object)".to_owned(),
        );
    }
    for (suffix, what) in [
        ("ChangeEvent", "a change-data-capture event stream"),
        ("History", "a field history feed"),
        ("Share", "a sharing rule table"),
        ("Feed", "a Chatter feed"),
    ] {
        if name.ends_with(suffix) && name != suffix {
            return Some(format!("{what}, not record data"));
        }
    }
    if !object.queryable {
        return Some("not queryable".to_owned());
    }
    None
}

/// Reads the org: which objects exist, the describes and record counts of the mapped ones, and
/// builds the plan. Describes are batched and counts read in one call where the org allows.
pub async fn discover(
    salesforce: &dyn SalesforceApi,
    tenant: TenantId,
    map: &FieldMap,
    options: &DiscoverOptions,
) -> Result<Discovery, StepError> {
    let objects = salesforce.list_objects().await.map_err(|error| {
        if error.chain().contains("API_DISABLED_FOR_ORG") {
            StepError::Permission {
                problems: vec![format!(
                    "API access: the integration user's profile or permission sets lack \"API Enabled\" ({})",
                    error.chain()
                )],
            }
        } else {
            StepError::Salesforce(error)
        }
    })?;
    if let Some(selected) = &options.objects {
        let missing: Vec<String> = selected
            .iter()
            .filter(|name| {
                !objects
                    .iter()
                    .any(|object| object.name.eq_ignore_ascii_case(name) && object.queryable)
            })
            .cloned()
            .collect();
        if !missing.is_empty() {
            return Err(StepError::Permission {
                problems: missing
                    .into_iter()
                    .map(|name| format!("{name}: the org has no such object, or the integration user has no read access to it"))
                    .collect(),
            });
        }
    }
    let mut skipped = Vec::new();
    let mut wanted = Vec::new();
    for object in &objects {
        if let Some(reason) = unsupported_reason(object) {
            skipped.push(SkippedObject {
                name: object.name.clone(),
                reason,
            });
            continue;
        }
        if let Some(selected) = &options.objects
            && !selected
                .iter()
                .any(|name| name.eq_ignore_ascii_case(&object.name))
        {
            skipped.push(SkippedObject {
                name: object.name.clone(),
                reason: "not selected".to_owned(),
            });
            continue;
        }
        // A custom object the map does not name lands as custom records (see
        // `plan::custom_object_map`), so it is discovered like a mapped one.
        let lands_as_custom_record = map.custom_objects
            && object.custom
            && ferry_model::plan::is_custom_object(&object.name);
        if !(map.objects.contains_key(&object.name) || lands_as_custom_record) {
            skipped.push(SkippedObject {
                name: object.name.clone(),
                reason: "not in the field map".to_owned(),
            });
            continue;
        }
        wanted.push(object.name.clone());
    }
    if let Some(selected) = &options.objects {
        let unmapped: Vec<&String> = selected
            .iter()
            .filter(|name| !wanted.iter().any(|w| w.eq_ignore_ascii_case(name)))
            .collect();
        if !unmapped.is_empty() {
            tracing::warn!(
                ?unmapped,
                "selected objects Ferry cannot migrate; see the skipped list"
            );
        }
    }
    let Descriptions {
        described: descriptions,
        refused,
    } = salesforce
        .describe_objects(&wanted)
        .await
        .map_err(StepError::Salesforce)?;
    for refusal in &refused {
        tracing::warn!(object = %refusal.object, reason = %refusal.reason, "describe refused; the object is left out");
    }
    let mut counts = match salesforce.record_counts(&wanted).await {
        Ok(counts) => counts,
        Err(error) => {
            tracing::warn!(error = %error, "record counts unavailable; counting object by object");
            BTreeMap::new()
        }
    };
    let mut discovered = BTreeMap::new();
    for description in descriptions {
        let name = description.name.clone();
        // recordCount is an estimate (periodic, archived activities left out): it only
        // chooses Bulk or REST. What is in Salesforce is counted exactly.
        let estimated = counts.remove(&name);
        let soft_deletes = description.field("IsDeleted").is_some();
        let read_by_parent = ferry_model::plan::READ_BY_PARENT
            .iter()
            .find(|(object, _, _)| *object == name);
        let record_count = match read_by_parent {
            // Salesforce counts it only by batches of its parents, as it queries it.
            Some((_, field, parent)) => {
                super::extract::count_by_parent(salesforce, &name, field, parent, soft_deletes)
                    .await
            }
            None => salesforce.count_records(&name, soft_deletes).await,
        }
        .map_err(StepError::Salesforce)?;
        tracing::info!(object = %name, records = record_count, ?estimated, "described");
        discovered.insert(
            name,
            DiscoveredObject {
                description,
                record_count,
                estimated,
            },
        );
    }
    let inventory = read_inventory(salesforce).await;
    let users = read_users(salesforce).await;
    let currencies = read_currencies(salesforce, &objects).await;
    let budget = salesforce
        .api_budget()
        .await
        .map_err(StepError::Salesforce)?;
    // Objects left out by the selection are not missing from the org: only the selected
    // part of the map is planned, so the plan does not report them as unreadable.
    let selected_map;
    let map = match &options.objects {
        Some(selected) => {
            let mut narrowed = map.clone();
            narrowed
                .objects
                .retain(|name, _| selected.iter().any(|s| s.eq_ignore_ascii_case(name)));
            selected_map = narrowed;
            &selected_map
        }
        None => map,
    };
    let key_prefixes: BTreeMap<String, String> = objects
        .iter()
        .filter_map(|object| Some((object.key_prefix.clone()?, object.name.clone())))
        .collect();
    let mut plan = build_plan_with_prefixes(tenant, map, &discovered, &key_prefixes);
    // The plan notes every mapped object it could not plan; for one whose describe was
    // refused, the note says what Salesforce answered, so the fix is plain.
    for note in plan.notes.iter_mut().filter(|note| note.field.is_none()) {
        if let Some(refusal) = refused.iter().find(|r| r.object == note.object) {
            note.reason = format!(
                "listed by describeGlobal, but its describe was refused ({}): the integration user cannot read it; grant it read access to migrate it",
                refusal.reason
            );
        }
    }
    apply_org_currency(&mut plan, &currencies);
    if options.file_versions == FileVersions::All {
        // Superseded versions are left out by the map's rule on IsLatest: every version lands.
        for object in plan.objects.iter_mut() {
            if object
                .skipped_when
                .as_ref()
                .is_some_and(|skip| skip.when.iter().any(|(field, _)| field == "IsLatest"))
            {
                object.skipped_when = None;
            }
        }
    }
    // An object split by its variants (business and person accounts) counts each part.
    for object in plan.objects.iter_mut() {
        if let Some(filter) = &object.filter {
            let counted = format!("{} WHERE {filter}", object.salesforce_object());
            object.in_salesforce = salesforce
                .count_records(&counted, object.soft_deletes)
                .await
                .map_err(StepError::Salesforce)?;
        }
    }
    Ok(Discovery {
        plan,
        objects_in_org: objects.len(),
        described: discovered,
        skipped,
        budget,
        inventory,
        users,
        currencies,
    })
}

/// Creates the plan's custom fields in the destination before any record uses them.
pub async fn prepare_destination(
    destination: &dyn Destination,
    plan: &Plan,
) -> Result<(), StepError> {
    let definitions: Vec<_> = plan.custom_fields().cloned().collect();
    destination
        .ensure_custom_fields(&plan.tenant, &definitions)
        .await
        .map_err(StepError::Destination)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(name: &str, queryable: bool) -> ObjectSummary {
        ObjectSummary {
            name: name.to_owned(),
            label: name.to_owned(),
            key_prefix: None,
            queryable,
            custom: false,
        }
    }

    #[test]
    fn feeds_histories_shares_events_and_listed_objects_are_skipped() {
        for name in [
            "AccountChangeEvent",
            "AccountHistory",
            "AccountShare",
            "AccountFeed",
            "RecentlyViewed",
        ] {
            assert!(unsupported_reason(&summary(name, true)).is_some(), "{name}");
        }
        assert_eq!(unsupported_reason(&summary("Account", true)), None);
        assert_eq!(
            unsupported_reason(&summary("Thing__c", false)),
            Some("not queryable".to_owned())
        );
    }
}
