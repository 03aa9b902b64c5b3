use super::StepError;
use crate::inventory::{InventoryKind, UserSummary, read_currencies, read_inventory, read_users};
use ferry_model::budget::ApiBudget;
use ferry_model::error::PortError;
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
    /// The name of every object describeGlobal listed.
    pub object_names: Vec<String>,
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
    /// The start date (`--since`): only records created on or after it, in every object
    /// with a `CreatedDate` but the reference data every record may point at (users,
    /// stages). Counted, extracted and checked with the condition, so the run is complete
    /// against it; a link to an older record resolves if that record is migrated anyway,
    /// and is reported as unresolved otherwise.
    pub created_since: Option<time::Date>,
    /// Where the records a Salesforce queue owns land (`--queues`): with the queue's team,
    /// or with the run's default owner.
    pub queues: ferry_model::plan::QueueOwners,
    /// Which versions of a file land (`--file-versions`): the latest only (default; the
    /// superseded ones are counted skipped with the reason) or every version.
    pub file_versions: FileVersions,
    /// The map override the map was built with (a `--map` file), checked against the org
    /// ([`check_overrides`]): an object or field it names that the org lacks stops discovery
    /// with a [`StepError::Selection`] naming each.
    pub map_overrides: Option<ferry_model::mapping::MapOverrides>,
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

/// Standard objects with page layouts that are not records of their own: what they hold
/// reaches the destination another way, or is metadata an admin rebuilds. The map may
/// still name them; otherwise they are never read as generic records.
const REPRESENTED_ELSEWHERE: &[(&str, &str)] = &[
    (
        "ContentDocument",
        "a file's container: its files land through ContentVersion",
    ),
    (
        "Dashboard",
        "analytics, listed in the plan's inventory to rebuild: not record data",
    ),
    (
        "Report",
        "analytics, listed in the plan's inventory to rebuild: not record data",
    ),
    (
        "RecordType",
        "metadata: each record keeps its record type's name",
    ),
    (
        "Organization",
        "the org itself: its default currency is read at discovery",
    ),
    (
        "EmailTemplate",
        "metadata an admin rebuilds, not record data",
    ),
    (
        "KnowledgeArticle",
        "an article apart from its versions: articles land through their article type's __kav object, one online version each",
    ),
    (
        "KnowledgeArticleVersion",
        "every article type's versions at once: each type's articles land through its own __kav object",
    ),
];

/// The publication states of a Knowledge article version (`PublishStatus`).
const PUBLISH_STATUSES: [&str; 3] = ["Draft", "Online", "Archived"];

/// The exact count of an object's records (queryAll, `IsDeleted = false` where the object
/// has it). Salesforce counts Knowledge article versions (`*__kav`) only by publication
/// state ("you must filter using the following syntax: ... PublishStatus = [status]"), so
/// theirs is the sum over the states.
async fn count_object(
    salesforce: &dyn SalesforceApi,
    name: &str,
    soft_deletes: bool,
) -> Result<u64, PortError> {
    if !ferry_model::plan::is_article_version(name) {
        return salesforce.count_records(name, soft_deletes).await;
    }
    let mut total = 0;
    for status in PUBLISH_STATUSES {
        let counted = format!("{name} WHERE PublishStatus = '{status}'");
        total += salesforce.count_records(&counted, soft_deletes).await?;
    }
    Ok(total)
}

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

/// Where discovery puts one object of describeGlobal.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Placement {
    /// Named by the map, or a custom object landing as custom records: described and counted.
    Mapped,
    /// A standard object the map does not name, which people keep records in: a generic
    /// record object if it holds any.
    Generic,
    /// Left out, with the reason.
    Skipped(String),
}

fn placement(object: &ObjectSummary, map: &FieldMap, selected: Option<&[String]>) -> Placement {
    if let Some(reason) = unsupported_reason(object) {
        return Placement::Skipped(reason);
    }
    if let Some(selected) = selected
        && !selected
            .iter()
            .any(|name| name.eq_ignore_ascii_case(&object.name))
    {
        return Placement::Skipped("not selected".to_owned());
    }
    if map.leaves_out(&object.name) {
        return Placement::Skipped("left out by the map's overrides".to_owned());
    }
    // A custom object the map does not name lands as custom records (see
    // `plan::custom_object_map`), so it is discovered like a mapped one.
    let lands_as_custom_record =
        map.custom_objects && object.custom && ferry_model::plan::is_custom_object(&object.name);
    if map.objects.contains_key(&object.name) || lands_as_custom_record {
        return Placement::Mapped;
    }
    let reason = if !map.generic_objects || object.custom {
        "not in the field map"
    } else if !object.layoutable {
        "a setup or system object (no page layouts), not in the field map"
    } else if let Some((_, reason)) = REPRESENTED_ELSEWHERE
        .iter()
        .find(|(name, _)| *name == object.name)
    {
        reason
    } else {
        return Placement::Generic;
    };
    Placement::Skipped(reason.to_owned())
}

/// Why a standard object the map does not name is left out although Ferry could read it.
pub const NO_RECORDS: &str = "no records in Salesforce";

/// Requests in flight while finding which generic candidates hold records.
const PRESENCE_CHECKS_IN_FLIGHT: usize = 8;

/// Whether each object holds any record (recycle bin included: the exact count after the
/// describe leaves it out), by a `COUNT()` through queryAll: never `/limits/recordCount`,
/// whose stale estimate could leave an object with data behind. An object Salesforce
/// refuses to count is left out with its answer as the reason; a transient failure stops
/// discovery, as any other call's does.
async fn holding_records(
    salesforce: &dyn SalesforceApi,
    objects: &[String],
) -> Result<Vec<(String, Result<bool, String>)>, StepError> {
    use futures::StreamExt as _;
    let answers: Vec<_> = futures::stream::iter(objects.iter().cloned())
        .map(|name| async move {
            let answer = count_object(salesforce, &name, false).await;
            (name, answer)
        })
        .buffered(PRESENCE_CHECKS_IN_FLIGHT)
        .collect()
        .await;
    answers
        .into_iter()
        .map(|(name, answer)| match answer {
            Ok(count) => Ok((name, Ok(count > 0))),
            Err(error) if error.is_retryable() => Err(StepError::Salesforce(error)),
            Err(error) => {
                let reason = format!(
                    "Salesforce refused to count its records ({})",
                    error.chain()
                );
                Ok((name, Err(reason)))
            }
        })
        .collect()
}

/// Checks `--objects` against describeGlobal. A name describeGlobal lists but cannot be
/// queried, or one the map knows that describeGlobal does not list (a standard object such
/// as Contract hidden from the user), is a permission problem; a name neither lists, a
/// typo most likely, is a mistake in the selection, named with the closest object of the
/// org.
fn check_selection(
    selected: &[String],
    objects: &[ObjectSummary],
    map: &FieldMap,
) -> Result<(), StepError> {
    let mut unreadable = Vec::new();
    let mut unknown = Vec::new();
    for name in selected {
        let listed = objects
            .iter()
            .find(|object| object.name.eq_ignore_ascii_case(name));
        match listed {
            Some(object) if object.queryable => {}
            Some(_) => unreadable.push(format!(
                "{name}: the org has it, but the integration user cannot query it"
            )),
            None if map
                .objects
                .keys()
                .any(|known| known.eq_ignore_ascii_case(name)) =>
            {
                unreadable.push(format!(
                    "{name}: the org does not list it to the integration user (no read access, or the feature is off)"
                ));
            }
            None => {
                let hint = did_you_mean(name, objects.iter().map(|object| object.name.as_str()));
                unknown.push(format!("{name}: the org has no such object{hint}"));
            }
        }
    }
    if !unknown.is_empty() {
        unknown.extend(unreadable);
        return Err(StepError::Selection { problems: unknown });
    }
    if !unreadable.is_empty() {
        return Err(StepError::Permission {
            problems: unreadable,
        });
    }
    Ok(())
}

/// Checks a map override (a `--map` file, an API's map overrides) against what discovery
/// found: every object it names must be an object of the org, and every field or link it
/// sets or drops a field of that object's describe (a parent's field through a relationship,
/// `RecordType.Name`, is checked by its first part). Anything else is a mistake that would
/// otherwise pass unseen (a field mapped under a misspelt name maps nothing; an object
/// dropped under a misspelt name still lands), so each one is named, with the closest name
/// the org has. Objects a selection (`--objects`) leaves out are not checked.
pub fn check_overrides(
    overrides: &ferry_model::mapping::MapOverrides,
    discovery: &Discovery,
    selected: Option<&[String]>,
) -> Result<(), StepError> {
    use ferry_model::mapping::Change;
    let mut problems = Vec::new();
    for (object, change) in &overrides.objects {
        if selected.is_some_and(|selected| !selected.iter().any(|s| s.eq_ignore_ascii_case(object)))
        {
            continue;
        }
        let described = discovery
            .described
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(object))
            .map(|(_, described)| &described.description);
        if !discovery
            .object_names
            .iter()
            .any(|name| name.eq_ignore_ascii_case(object))
        {
            let hint = did_you_mean(object, discovery.object_names.iter().map(String::as_str));
            problems.push(format!("{object}: the org has no such object{hint}"));
            continue;
        }
        let (Change::Set(changes), Some(description)) = (change, described) else {
            continue;
        };
        for field in changes.fields.keys().chain(changes.links.keys()) {
            let own = field.split('.').next().unwrap_or(field);
            let known = if field.contains('.') {
                description.fields.iter().any(|described| {
                    described
                        .relationship_name
                        .as_deref()
                        .is_some_and(|relationship| relationship.eq_ignore_ascii_case(own))
                })
            } else {
                description.field(own).is_some()
            };
            if !known {
                let hint = did_you_mean(
                    own,
                    description
                        .fields
                        .iter()
                        .map(|described| described.name.as_str()),
                );
                problems.push(format!(
                    "{object}.{field}: {object} has no such field in this org{hint}"
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(StepError::Selection { problems })
    }
}

/// " (did you mean Account?)" for the candidate closest to a mistyped `name` (at most three
/// edits away, case aside), or nothing.
fn did_you_mean<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> String {
    let name = name.to_ascii_lowercase();
    candidates
        .map(|candidate| {
            (
                edit_distance(&candidate.to_ascii_lowercase(), &name),
                candidate,
            )
        })
        .min()
        .filter(|(distance, _)| *distance <= 3)
        .map(|(_, candidate)| format!(" (did you mean {candidate}?)"))
        .unwrap_or_default()
}

/// Levenshtein distance, for suggesting the object a mistyped name meant.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
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
        check_selection(selected, &objects, map)?;
    }
    let mut skipped = Vec::new();
    let mut wanted = Vec::new();
    // Standard objects the map does not name that people keep records in (they have page
    // layouts): read as generic records if they hold any.
    let mut generic = Vec::new();
    for object in &objects {
        match placement(object, map, options.objects.as_deref()) {
            Placement::Mapped => wanted.push(object.name.clone()),
            Placement::Generic => generic.push(object.name.clone()),
            Placement::Skipped(reason) => skipped.push(SkippedObject {
                name: object.name.clone(),
                reason,
            }),
        }
    }
    for (name, found) in holding_records(salesforce, &generic).await? {
        match found {
            Ok(true) => wanted.push(name),
            Ok(false) => skipped.push(SkippedObject {
                name,
                reason: NO_RECORDS.to_owned(),
            }),
            Err(reason) => skipped.push(SkippedObject { name, reason }),
        }
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
        let is_generic = generic.contains(&name);
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
            None => count_object(salesforce, &name, soft_deletes).await,
        }
        .map_err(StepError::Salesforce)?;
        tracing::info!(object = %name, records = record_count, ?estimated, "described");
        // Only its recycle bin held records: nothing to migrate.
        if is_generic && record_count == 0 {
            skipped.push(SkippedObject {
                name,
                reason: NO_RECORDS.to_owned(),
            });
            continue;
        }
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
    if plan
        .objects
        .iter()
        .any(|object| object.entity == ferry_model::mapping::EntityKind::Team)
    {
        let owned = match crate::inventory::read_queue_objects(salesforce).await {
            Ok(owned) => owned,
            Err(error) => {
                tracing::warn!(%error, "QueueSobject could not be read");
                plan.notes.push(ferry_model::plan::PlanNote {
                    object: "QueueSobject".to_owned(),
                    field: None,
                    reason: format!(
                        "which objects each queue may own could not be read ({error}): teams land with an empty list of objects"
                    ),
                });
                BTreeMap::new()
            }
        };
        for object in plan
            .objects
            .iter_mut()
            .filter(|object| object.entity == ferry_model::mapping::EntityKind::Team)
        {
            object.queue_objects = owned.clone();
        }
    }
    if options.queues == ferry_model::plan::QueueOwners::DefaultOwner {
        plan.queues_to_default_owner();
    }
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
    if let Some(since) = options.created_since {
        apply_start_date(&mut plan, &discovered, since);
    }
    // An object split by its variants (business and person accounts), or narrowed by the
    // start date, counts what is left.
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
    for object in plan.objects.iter_mut() {
        if let Some(filter) = &object.filter {
            let counted = format!("{} WHERE {filter}", object.salesforce_object());
            object.in_salesforce = salesforce
                .count_records(&counted, object.soft_deletes)
                .await
                .map_err(StepError::Salesforce)?;
        }
    }
    let discovery = Discovery {
        plan,
        objects_in_org: objects.len(),
        object_names: objects.iter().map(|object| object.name.clone()).collect(),
        described: discovered,
        skipped,
        budget,
        inventory,
        users,
        currencies,
    };
    if let Some(overrides) = &options.map_overrides {
        check_overrides(overrides, &discovery, options.objects.as_deref())?;
    }
    Ok(discovery)
}

/// A start date as users write it: `YYYY-MM-DD`.
pub fn parse_start_date(text: &str) -> Result<time::Date, String> {
    time::Date::parse(
        text.trim(),
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .map_err(|error| format!("{text:?} is not a date written YYYY-MM-DD ({error})"))
}

/// Narrows every object with a `CreatedDate` (reference data aside) to the records created
/// on or after `since` (midnight UTC), through its SOQL condition (`ObjectPlan::filter`),
/// so its count, extraction and completeness all follow. An object without `CreatedDate`
/// is read whole.
fn apply_start_date(
    plan: &mut ferry_model::plan::Plan,
    discovered: &BTreeMap<String, DiscoveredObject>,
    since: time::Date,
) {
    use ferry_model::mapping::EntityKind;
    let condition = format!("CreatedDate >= {since}T00:00:00Z");
    for object in plan.objects.iter_mut() {
        if matches!(object.entity, EntityKind::Owner | EntityKind::Stage) {
            continue;
        }
        let has_created_date = discovered
            .get(object.salesforce_object())
            .is_some_and(|found| found.description.field("CreatedDate").is_some());
        if has_created_date {
            object.filter = Some(match object.filter.take() {
                Some(filter) => format!("({filter}) AND {condition}"),
                None => condition.clone(),
            });
        }
    }
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
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn summary(name: &str, queryable: bool) -> ObjectSummary {
        ObjectSummary {
            name: name.to_owned(),
            label: name.to_owned(),
            key_prefix: None,
            queryable,
            custom: false,
            layoutable: false,
        }
    }

    #[test]
    fn a_selected_object_the_org_lacks_is_a_mistake_and_one_it_hides_a_permission_problem() {
        let map = FieldMap::builtin();
        let org = vec![
            summary("Account", true),
            summary("Opportunity", true),
            summary("Lead", false),
        ];
        let selection = |names: &[&str]| {
            check_selection(
                &names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>(),
                &org,
                &map,
            )
        };
        assert!(selection(&["account", "Opportunity"]).is_ok());
        match selection(&["Acount", "Contact"]) {
            Err(StepError::Selection { problems }) => assert_eq!(
                problems,
                [
                    "Acount: the org has no such object (did you mean Account?)",
                    "Contact: the org does not list it to the integration user (no read access, or the feature is off)",
                ]
            ),
            other => panic!("{other:?}"),
        }
        match selection(&["Lead", "Contact"]) {
            Err(StepError::Permission { problems }) => {
                assert_eq!(problems.len(), 2);
                assert!(
                    problems[0].starts_with("Lead: the org has it, but"),
                    "{problems:?}"
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    /// The recorded describeGlobal of a real org (787 objects).
    fn recorded_org() -> Vec<ObjectSummary> {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Listed {
            name: String,
            label: String,
            key_prefix: Option<String>,
            queryable: bool,
            custom: bool,
            layoutable: bool,
        }
        #[derive(serde::Deserialize)]
        struct Global {
            sobjects: Vec<Listed>,
        }
        let text = include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/salesforce/describe_global/cci_2020_global_describe.json"
        ));
        let global: Global = serde_json::from_str(text).unwrap();
        global
            .sobjects
            .into_iter()
            .map(|listed| ObjectSummary {
                name: listed.name,
                label: listed.label,
                key_prefix: listed.key_prefix,
                queryable: listed.queryable,
                custom: listed.custom,
                layoutable: listed.layoutable,
            })
            .collect()
    }

    #[test]
    fn every_object_of_a_real_orgs_describe_global_is_read_or_left_out_for_a_reason() {
        let objects = recorded_org();
        assert_eq!(objects.len(), 787);
        let map = FieldMap::builtin();
        let placed: BTreeMap<&str, Placement> = objects
            .iter()
            .map(|object| (object.name.as_str(), placement(object, &map, None)))
            .collect();
        assert_eq!(placed.len(), objects.len());
        // The data model beyond the map is read, to land as generic records if it holds any.
        for name in ["Solution", "Idea", "WorkOrder"] {
            assert_eq!(placed[name], Placement::Generic, "{name}");
        }
        for name in [
            "Account",
            "Contact",
            "Lead",
            "Opportunity",
            "Task",
            "User",
            "Campaign",
            "CampaignMember",
            "Product2",
            "PricebookEntry",
            "ContentDocumentLink",
            "Case",
            "CaseComment",
            "Asset",
            "Contract",
            "Order",
            "OrderItem",
        ] {
            assert_eq!(placed[name], Placement::Mapped, "{name}");
        }
        // Setup, system and metadata objects are not, each with its reason.
        for name in [
            "Profile",
            "PermissionSet",
            "ApexClass",
            "AsyncApexJob",
            "CronTrigger",
            "UserRole",
            "Organization",
            "AccountShare",
            "AccountHistory",
            "ContentDocument",
            "EmailTemplate",
        ] {
            assert!(
                matches!(&placed[name], Placement::Skipped(reason) if !reason.is_empty()),
                "{name}: {:?}",
                placed[name]
            );
        }
        let mut off = map.clone();
        off.generic_objects = false;
        assert_eq!(
            placement(
                &objects[objects.iter().position(|o| o.name == "Solution").unwrap()],
                &off,
                None
            ),
            Placement::Skipped("not in the field map".to_owned())
        );
    }

    #[test]
    fn a_knowledge_orgs_article_objects_are_placed_by_what_they_hold() {
        let listed = |name: &str, custom: bool, layoutable: bool| ObjectSummary {
            name: name.to_owned(),
            label: name.to_owned(),
            key_prefix: None,
            queryable: true,
            custom,
            layoutable,
        };
        let map = FieldMap::builtin();
        // Lightning Knowledge's one article object and its data categories are the map's.
        for name in ["Knowledge__kav", "Knowledge__DataCategorySelection"] {
            assert_eq!(
                placement(&listed(name, true, true), &map, None),
                Placement::Mapped,
                "{name}"
            );
        }
        // The article apart from its versions, and the view over every article type, land
        // through the `__kav` object: never read twice as generic records.
        for name in ["KnowledgeArticle", "KnowledgeArticleVersion"] {
            assert!(
                matches!(
                    placement(&listed(name, false, true), &map, None),
                    Placement::Skipped(reason) if reason.contains("__kav")
                ),
                "{name}"
            );
        }
        // A Classic article type the map does not name is left out, with the reason.
        assert_eq!(
            placement(&listed("FAQ__kav", true, true), &map, None),
            Placement::Skipped("not in the field map".to_owned())
        );
        assert!(ferry_model::plan::is_article_version("FAQ__kav"));
        assert!(!ferry_model::plan::is_article_version(
            "Knowledge__DataCategorySelection"
        ));
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
