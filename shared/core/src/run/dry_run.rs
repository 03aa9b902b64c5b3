//! The dry run: what a migration would do, computed from the real data without writing to
//! the destination. Every extracted record is transformed and validated as a load would;
//! the ID map tells creates from updates; links are checked against what is migrated and
//! what the destination already holds; likely duplicates are grouped. The per-object counts
//! add up: extracted = will create + will update + will skip.
//!
//! [`DryRunAnalysis`] is fed chunk by chunk ([`DryRunAnalysis::add_chunk`]) and finished
//! once every object is in ([`DryRunAnalysis::finish`]); the report renders as JSON (its
//! serde form), Markdown ([`render_markdown`]) and one self-contained HTML page
//! ([`render_html`]).

use super::{RunConfig, plan_run};
use crate::inventory::{InventoryKind, UserSummary};
use crate::preview::{BudgetPreview, currencies_summary, currency_text};
use crate::render::{
    Column, Html, HtmlPage, HtmlTable, MarkdownDocument, MarkdownTable, count_or_unknown,
    escape_html, escape_markdown, html_cards, html_list, html_page, html_section,
    markdown_code_span, percent_of,
};
use crate::steps::{CheckedRecord, SkippedObject, check_record};
use crate::steps::{Discovery, ExtractPorts, StepError};
use crate::validate::{Finding, Verdict, orphan_finding};
use ferry_model::error::PortError;
use ferry_model::ids::{SalesforceId, TenantId};
use ferry_model::model::SourceRecord;
use ferry_model::plan::{
    CurrencySource, CustomFieldDefinition, ObjectPlan, OrgCurrencies, Plan, currency_source,
};
use ferry_model::policy::Action;
use ferry_model::policy::Rule;
use ferry_model::ports::IdMap;
use ferry_model::ports::Sleeper;
use ferry_model::ports::{Destination, LocalQueue, RunStore, SalesforceApi, Staging};
use ferry_model::report::{IssueKind, RecordIssue};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// The key prefix of Salesforce's `Group`: an `OwnerId` with it names a queue.
const GROUP_KEY_PREFIX: &str = "00G";

/// Findings listed one by one at most; the counts are always complete.
pub(crate) const MAX_LISTED_FINDINGS: usize = 5_000;

/// The dry-run report. Its JSON form is documented in the README (`ferry dry-run`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DryRunReport {
    pub run_id: String,
    pub generated_at: String,
    pub instance_url: String,
    pub objects: Vec<DryRunObject>,
    /// Findings by rule across all objects.
    pub findings_by_rule: BTreeMap<String, u64>,
    /// The first [`MAX_LISTED_FINDINGS`] findings and record issues, for review.
    pub findings: Vec<ListedFinding>,
    pub findings_total: u64,
    pub duplicates: Vec<DuplicateGroup>,
    pub custom_fields: Vec<CustomFieldDefinition>,
    pub skipped_objects: Vec<SkippedObjectEntry>,
    pub not_migrated: Vec<InventoryKind>,
    pub users: UserSummary,
    /// The org's currency and, in a multi-currency org, its currencies.
    pub currencies: OrgCurrencies,
    /// How the org's users match the destination's, by email: the owners to reconcile.
    pub owners: OwnerMatching,
    /// The org's queues (records a team owns rather than a person), what each owns among
    /// the records read, and where those go.
    pub queues: Vec<QueueEntry>,
    pub budget: BudgetPreview,
    /// API calls the dry run used after discovery (extraction), when the org reports usage.
    pub api_calls_used: Option<u64>,
}

/// Salesforce users matched to destination users by email, as the import will match them.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct OwnerMatching {
    /// Users the destination has; `None` when the dry run had no destination to ask, in
    /// which case every user is listed as unmatched.
    pub destination_users: Option<u64>,
    pub matched: u64,
    /// Users no destination user matches: what they own goes to `default_owner`, or lands
    /// without an owner when there is none.
    pub unmatched: Vec<UnmatchedOwner>,
    pub default_owner: Option<String>,
}

/// A Salesforce queue, as the dry run lists it beside the unmatched users.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueEntry {
    pub salesforce_id: String,
    pub name: String,
    pub email: Option<String>,
    /// Records it owns, by Salesforce object, among the objects read.
    pub owns: BTreeMap<String, u64>,
    /// `team` (it lands as a team that owns them), `default owner {email}`, or `no owner
    /// (no default owner named)`.
    pub goes_to: String,
}

/// The queues of the staged queue records, with the records each owns (by `OwnerId`).
fn queue_entries(
    plan: &Plan,
    queues: &[(String, Option<String>, Option<String>)],
    owned: &HashMap<(String, String), u64>,
) -> Vec<QueueEntry> {
    let goes_to = match (plan.queue_owners, &plan.default_owner) {
        (ferry_model::plan::QueueOwners::Team, _) => "team".to_owned(),
        (ferry_model::plan::QueueOwners::DefaultOwner, Some(email)) => {
            format!("default owner {email}")
        }
        (ferry_model::plan::QueueOwners::DefaultOwner, None) => {
            "no owner (no default owner named)".to_owned()
        }
    };
    queues
        .iter()
        .map(|(id, email, name)| QueueEntry {
            salesforce_id: id.clone(),
            name: name.clone().unwrap_or_default(),
            email: email.clone(),
            owns: owned
                .iter()
                .filter(|((owner, _), _)| owner == id)
                .map(|((_, object), count)| (object.clone(), *count))
                .collect(),
            goes_to: goes_to.clone(),
        })
        .collect()
}

/// One line per queue, for both renderings.
fn queue_line(queue: &QueueEntry) -> String {
    let owns: Vec<String> = queue
        .owns
        .iter()
        .map(|(object, count)| format!("{count} {object}"))
        .collect();
    let owns = if owns.is_empty() {
        "owns nothing read".to_owned()
    } else {
        format!("owns {}", owns.join(", "))
    };
    format!(
        "{} {} ({}): {owns}; goes to {}",
        queue.salesforce_id,
        queue.name,
        queue.email.as_deref().unwrap_or("no email"),
        queue.goes_to
    )
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnmatchedOwner {
    pub salesforce_id: String,
    pub email: Option<String>,
    pub name: Option<String>,
}

/// Matches Salesforce users (id, email, name) to the destination's users by email,
/// ignoring case, as the load step does.
pub(crate) fn match_owners(
    users: &[(String, Option<String>, Option<String>)],
    destination: Option<&[ferry_model::ports::DestinationUser]>,
    default_owner: Option<&str>,
) -> OwnerMatching {
    let emails: std::collections::BTreeSet<String> = destination
        .unwrap_or_default()
        .iter()
        .map(|user| user.email.to_lowercase())
        .collect();
    let mut matching = OwnerMatching {
        destination_users: destination.map(|users| users.len() as u64),
        default_owner: default_owner.map(str::to_owned),
        ..OwnerMatching::default()
    };
    for (salesforce_id, email, name) in users {
        let matched = email
            .as_deref()
            .is_some_and(|email| emails.contains(&email.to_lowercase()));
        if matched {
            matching.matched += 1;
        } else {
            matching.unmatched.push(UnmatchedOwner {
                salesforce_id: salesforce_id.clone(),
                email: email.clone(),
                name: name.clone(),
            });
        }
    }
    matching
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DryRunObject {
    pub object: String,
    pub destination: String,
    pub phase: u32,
    pub in_salesforce: u64,
    pub extracted: u64,
    pub will_create: u64,
    pub will_update: u64,
    pub will_skip: u64,
    /// Why records would be skipped, with counts.
    pub skip_reasons: BTreeMap<String, u64>,
    /// Findings by rule (values dropped or flagged on records that still load, and skips).
    pub findings: BTreeMap<String, u64>,
    /// Where the currency of the object's money values comes from; `None` for an object
    /// without money or whose currency is unknown.
    pub currency: Option<CurrencySource>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ListedFinding {
    pub object: String,
    pub salesforce_id: Option<String>,
    pub field: Option<String>,
    /// A validation rule name, or, for what the transform found, `unreadable`,
    /// `missing_required`, `skipped` (a required parent not migrated, a file over the cap) or
    /// `link_not_migrated` (a link to an object the run does not move, dropped).
    pub rule: String,
    /// `skip_record`, `drop_value` or `load_anyway`.
    pub action: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DuplicateGroup {
    /// `email` (contacts sharing a normalised address) or `website_domain` (companies).
    pub kind: &'static str,
    pub key: String,
    pub records: Vec<DuplicateMember>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct DuplicateMember {
    pub object: String,
    pub salesforce_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedObjectEntry {
    pub name: String,
    pub reason: String,
}

impl From<&SkippedObject> for SkippedObjectEntry {
    fn from(skipped: &SkippedObject) -> Self {
        Self {
            name: skipped.name.clone(),
            reason: skipped.reason.clone(),
        }
    }
}

/// A link to check once every object is in.
struct PendingLink {
    object: String,
    salesforce_id: String,
    field: String,
    target_object: String,
    target: SalesforceId,
    /// The variants the target may land as instead (a series' main record as `TaskSeries`).
    variants: Vec<String>,
}

impl PendingLink {
    fn candidates(&self) -> impl Iterator<Item = &String> {
        std::iter::once(&self.target_object).chain(&self.variants)
    }
}

/// The running analysis of a dry run.
pub struct DryRunAnalysis<'a> {
    plan: &'a Plan,
    objects: BTreeMap<String, DryRunObject>,
    /// Records that would land, per object: the targets links may point to.
    landing: BTreeMap<String, HashSet<SalesforceId>>,
    links: Vec<PendingLink>,
    findings: Vec<ListedFinding>,
    findings_total: u64,
    findings_by_rule: BTreeMap<String, u64>,
    emails: BTreeMap<String, BTreeSet<DuplicateMember>>,
    domains: BTreeMap<String, BTreeSet<DuplicateMember>>,
    /// With merge-on-import, the leads that would land, each with whether the ID map already
    /// has it (an update) or not (a create): a lead sharing a contact's email is moved from
    /// those counts to the skips at `finish`.
    landing_leads: HashMap<String, bool>,
}

impl<'a> DryRunAnalysis<'a> {
    pub fn new(plan: &'a Plan) -> Self {
        let objects = plan
            .objects
            .iter()
            .map(|object| {
                (
                    object.object.clone(),
                    DryRunObject {
                        object: object.object.clone(),
                        destination: object.entity.as_str().to_owned(),
                        phase: object.phase + 1,
                        in_salesforce: object.in_salesforce,
                        extracted: 0,
                        will_create: 0,
                        will_update: 0,
                        will_skip: 0,
                        skip_reasons: BTreeMap::new(),
                        findings: BTreeMap::new(),
                        currency: currency_source(object),
                    },
                )
            })
            .collect();
        Self {
            plan,
            objects,
            landing: BTreeMap::new(),
            links: Vec::new(),
            findings: Vec::new(),
            findings_total: 0,
            findings_by_rule: BTreeMap::new(),
            emails: BTreeMap::new(),
            domains: BTreeMap::new(),
            landing_leads: HashMap::new(),
        }
    }

    fn list(&mut self, finding: ListedFinding) {
        self.findings_total += 1;
        *self
            .findings_by_rule
            .entry(finding.rule.clone())
            .or_default() += 1;
        if let Some(object) = self.objects.get_mut(&finding.object) {
            *object.findings.entry(finding.rule.clone()).or_default() += 1;
        }
        if self.findings.len() < MAX_LISTED_FINDINGS {
            self.findings.push(finding);
        }
    }

    fn list_validation(&mut self, finding: &Finding) {
        self.list(ListedFinding {
            object: finding.object.clone(),
            salesforce_id: Some(finding.salesforce_id.clone()),
            field: Some(finding.field.clone()),
            rule: finding.rule.as_str().to_owned(),
            action: action_name(finding.action).to_owned(),
            reason: finding.reason.clone(),
        });
    }

    fn list_issue(&mut self, issue: &RecordIssue) {
        let (rule, action) = match issue.kind {
            IssueKind::Skipped if issue.reason.starts_with("missing required value") => {
                ("missing_required", "skip_record")
            }
            IssueKind::Skipped => ("skipped", "skip_record"),
            // The transform drops only links to objects the run does not move.
            IssueKind::ValueDropped => ("link_not_migrated", "drop_value"),
            _ => ("unreadable", "skip_record"),
        };
        self.list(ListedFinding {
            object: issue.object.clone(),
            salesforce_id: issue.salesforce_id.clone(),
            field: issue.field.clone(),
            rule: rule.to_owned(),
            action: action.to_owned(),
            reason: issue.reason.clone(),
        });
    }

    /// Analyses one chunk of `object`'s extracted records.
    pub async fn add_chunk(
        &mut self,
        object: &ObjectPlan,
        records: Vec<SourceRecord>,
        id_map: &dyn IdMap,
        tenant: &TenantId,
    ) -> Result<(), PortError> {
        let policy = &self.plan.validation;
        let mut landing = Vec::new();
        let mut skipped = Vec::new();
        let mut findings = Vec::new();
        let mut issues = Vec::new();
        let mut replaced = Vec::new();
        for source in &records {
            match check_record(object, policy, source) {
                // A converted lead is not imported, but links to it resolve to the contact
                // it became, so it counts among the records links may point at.
                CheckedRecord::Replaced {
                    record,
                    replacement,
                } => {
                    skipped.push(format!(
                        "replaced by the record its {} names (not imported twice)",
                        replacement.source_field
                    ));
                    replaced.push(record.record.source_id);
                }
                CheckedRecord::Validated {
                    mut record,
                    findings: found,
                    verdict,
                } => {
                    issues.append(&mut record.issues);
                    let skip_reason = found
                        .iter()
                        .find(|finding| finding.action == Action::SkipRecord)
                        .map(|finding| finding.rule.as_str().to_owned());
                    findings.extend(found);
                    if verdict == Verdict::Skip {
                        skipped.push(skip_reason.unwrap_or_else(|| "validation".to_owned()));
                        continue;
                    }
                    if let Some(serde_json::Value::String(email)) =
                        record.record.fields.get("email")
                        && let Some(key) = crate::steps::normalise_email(email)
                    {
                        self.emails.entry(key).or_default().insert(DuplicateMember {
                            object: object.object.clone(),
                            salesforce_id: record.record.source_id.to_string(),
                        });
                    }
                    if let Some(serde_json::Value::String(website)) =
                        record.record.fields.get("website")
                        && let Some(domain) = website_domain(website)
                    {
                        self.domains
                            .entry(domain)
                            .or_default()
                            .insert(DuplicateMember {
                                object: object.object.clone(),
                                salesforce_id: record.record.source_id.to_string(),
                            });
                    }
                    for reference in &record.references {
                        self.links.push(PendingLink {
                            object: object.object.clone(),
                            salesforce_id: record.record.source_id.to_string(),
                            field: reference.source_field.clone(),
                            target_object: reference.target_object.clone(),
                            target: reference.target.clone(),
                            variants: reference
                                .variants
                                .iter()
                                .map(|(object, _)| object.clone())
                                .collect(),
                        });
                    }
                    landing.push(record.record.source_id);
                }
                CheckedRecord::Refused(issue) => {
                    skipped.push(issue.reason.clone());
                    issues.push(issue);
                }
            }
        }
        for finding in &findings {
            self.list_validation(finding);
        }
        for issue in &issues {
            self.list_issue(issue);
        }
        let existing = if landing.is_empty() {
            Default::default()
        } else {
            id_map.lookup(tenant, &object.object, &landing).await?
        };
        let entry = self
            .objects
            .get_mut(&object.object)
            .ok_or_else(|| PortError::permanent(format!("{} is not in the plan", object.object)))?;
        entry.extracted += records.len() as u64;
        entry.will_skip += skipped.len() as u64;
        for reason in skipped {
            *entry.skip_reasons.entry(reason).or_default() += 1;
        }
        let merging = self.plan.merge_leads_by_email && object.object == crate::steps::merge::LEAD;
        for id in &landing {
            if merging {
                self.landing_leads
                    .insert(id.to_string(), existing.contains_key(id));
            }
            if existing.contains_key(id) {
                entry.will_update += 1;
            } else {
                entry.will_create += 1;
            }
        }
        self.landing
            .entry(object.object.clone())
            .or_default()
            .extend(landing.into_iter().chain(replaced));
        Ok(())
    }

    /// Checks links against the records that would land and the ID map, groups duplicates,
    /// and returns the per-object part of the report.
    pub async fn finish(
        mut self,
        id_map: &dyn IdMap,
        tenant: &TenantId,
    ) -> Result<Analysed, PortError> {
        let policy = self.plan.validation.clone();
        // Links whose target is not landing in this run may still point at a record an
        // earlier run put in the destination.
        let mut outside: BTreeMap<String, BTreeSet<SalesforceId>> = BTreeMap::new();
        for link in &self.links {
            let landing = link.candidates().any(|object| {
                self.landing
                    .get(object)
                    .is_some_and(|ids| ids.contains(&link.target))
            });
            if !landing {
                for object in link.candidates() {
                    outside
                        .entry(object.clone())
                        .or_default()
                        .insert(link.target.clone());
                }
            }
        }
        let mut known: BTreeMap<String, HashSet<SalesforceId>> = BTreeMap::new();
        for (object, ids) in outside {
            let ids: Vec<SalesforceId> = ids.into_iter().collect();
            let mut found = HashSet::new();
            for batch in ids.chunks(1_000) {
                found.extend(id_map.lookup(tenant, &object, batch).await?.into_keys());
            }
            known.insert(object, found);
        }
        let links = std::mem::take(&mut self.links);
        for link in links {
            let resolved = link.candidates().any(|object| {
                self.landing
                    .get(object)
                    .is_some_and(|ids| ids.contains(&link.target))
                    || known
                        .get(object)
                        .is_some_and(|ids| ids.contains(&link.target))
            });
            if !resolved {
                let finding = orphan_finding(
                    &link.object,
                    &link.salesforce_id,
                    &link.field,
                    &link.target_object,
                    link.target.as_str(),
                    &policy,
                );
                self.list_validation(&finding);
            }
        }
        let mut duplicates = Vec::new();
        for (kind, groups) in [("email", &self.emails), ("website_domain", &self.domains)] {
            for (key, members) in groups {
                if members.len() > 1 {
                    duplicates.push(DuplicateGroup {
                        kind,
                        key: key.clone(),
                        records: members.iter().cloned().collect(),
                    });
                }
            }
        }
        if self.plan.merge_leads_by_email {
            self.count_merged_leads();
        }
        let mut objects: Vec<DryRunObject> = self.objects.into_values().collect();
        objects.sort_by(|a, b| (a.phase, &a.object).cmp(&(b.phase, &b.object)));
        Ok(Analysed {
            objects,
            findings: self.findings,
            findings_total: self.findings_total,
            findings_by_rule: self.findings_by_rule,
            duplicates,
        })
    }
}

impl DryRunAnalysis<'_> {
    /// Merge-on-import: a landing lead whose email a landing contact shares would be merged
    /// into it, so it counts as skipped with that reason instead of created or updated.
    fn count_merged_leads(&mut self) {
        use crate::steps::merge::{CONTACT, LEAD};
        let mut created = 0u64;
        let mut updated = 0u64;
        for members in self.emails.values() {
            if !members.iter().any(|member| member.object == CONTACT) {
                continue;
            }
            for member in members.iter().filter(|member| member.object == LEAD) {
                match self.landing_leads.get(&member.salesforce_id) {
                    Some(true) => updated += 1,
                    Some(false) => created += 1,
                    None => {}
                }
            }
        }
        if let Some(entry) = self.objects.get_mut(LEAD)
            && created + updated > 0
        {
            entry.will_create -= created;
            entry.will_update -= updated;
            entry.will_skip += created + updated;
            *entry
                .skip_reasons
                .entry(MERGED_REASON.to_owned())
                .or_default() += created + updated;
        }
    }
}

/// The dry run's skip reason for a lead merge-on-import would merge into a contact.
pub const MERGED_REASON: &str = "merged into the contact with the same email (merge-on-import), not imported as a second person";

/// The data part of a dry run, before the org-level context is added.
#[derive(Debug, Clone, PartialEq)]
pub struct Analysed {
    pub objects: Vec<DryRunObject>,
    pub findings: Vec<ListedFinding>,
    pub findings_total: u64,
    pub findings_by_rule: BTreeMap<String, u64>,
    pub duplicates: Vec<DuplicateGroup>,
}

fn action_name(action: Action) -> &'static str {
    match action {
        Action::SkipRecord => "skip_record",
        Action::DropValue => "drop_value",
        Action::LoadAnyway => "load_anyway",
    }
}

/// `https://www.Acme.com/about` → `acme.com`.
fn website_domain(website: &str) -> Option<String> {
    let text = website.trim().to_lowercase();
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"))
        .unwrap_or(&text);
    let host = rest.split(['/', '?', '#', ':']).next()?;
    let host = host.strip_prefix("www.").unwrap_or(host);
    (host.contains('.') && !host.is_empty()).then(|| host.to_owned())
}

/// All rules, for tables that list each even when it has no finding.
pub fn rule_names() -> impl Iterator<Item = &'static str> {
    Rule::ALL
        .iter()
        .map(|rule| rule.as_str())
        .chain(["unreadable"])
}

/// One sentence on how owners match, for both renderings.
fn owners_summary(owners: &OwnerMatching) -> String {
    if owners.matched == 0 && owners.unmatched.is_empty() {
        return "The plan moves no users, so no owners are matched.".to_owned();
    }
    let fallback = match &owners.default_owner {
        Some(email) => format!("what they own goes to the default owner {email}"),
        None => "what they own lands without an owner unless a default owner is named".to_owned(),
    };
    match owners.destination_users {
        Some(count) => format!(
            "{} users match one of the destination's {count} users by email; {} match none, and {fallback}:",
            owners.matched,
            owners.unmatched.len()
        ),
        None => format!(
            "No destination was given to match users against, so all {} users are listed; {fallback}:",
            owners.unmatched.len()
        ),
    }
}

/// The report as Markdown.
pub fn render_markdown(report: &DryRunReport) -> String {
    let mut markdown = MarkdownDocument::new();
    markdown.heading(1, &format!("Dry run {}", report.run_id));
    markdown.paragraph(&format!(
        "Org {} · generated {} · nothing was written to the destination.",
        escape_markdown(&report.instance_url),
        escape_markdown(&report.generated_at)
    ));
    markdown.heading(2, "Objects");
    let mut objects = MarkdownTable::new([
        Column::text("object"),
        Column::text("destination"),
        Column::text("phase"),
        Column::number("in Salesforce"),
        Column::number("extracted"),
        Column::number("will create"),
        Column::number("will update"),
        Column::number("will skip"),
    ]);
    for object in &report.objects {
        objects.row([
            object.object.clone(),
            object.destination.clone(),
            object.phase.to_string(),
            object.in_salesforce.to_string(),
            object.extracted.to_string(),
            object.will_create.to_string(),
            object.will_update.to_string(),
            object.will_skip.to_string(),
        ]);
    }
    markdown.table(&objects);
    let mut skips = MarkdownTable::new([
        Column::text("object"),
        Column::text("reason"),
        Column::number("records"),
    ]);
    for object in &report.objects {
        for (reason, count) in &object.skip_reasons {
            skips.row([object.object.as_str(), reason, &count.to_string()]);
        }
    }
    if !skips.is_empty() {
        markdown.heading(3, "Records that will be skipped");
        markdown.table(&skips);
    }
    markdown.heading(2, "Currencies");
    markdown.paragraph(&escape_markdown(&currencies_summary(&report.currencies)));
    markdown.bullet_list(
        report
            .objects
            .iter()
            .filter_map(|object| Some((object, currency_text(object.currency.as_ref()?))))
            .map(|(object, text)| {
                format!(
                    "{}: {}",
                    escape_markdown(&object.object),
                    escape_markdown(&text)
                )
            }),
    );
    markdown.heading(2, &format!("Findings ({} in all)", report.findings_total));
    let mut rules = MarkdownTable::new([Column::text("rule"), Column::number("findings")]);
    for rule in rule_names() {
        let count = report.findings_by_rule.get(rule).copied().unwrap_or(0);
        rules.row([rule, &count.to_string()]);
    }
    markdown.table(&rules);
    if !report.findings.is_empty() {
        let mut findings = MarkdownTable::new(FINDING_COLUMNS);
        for finding in &report.findings {
            findings.row([
                finding.object.as_str(),
                finding.salesforce_id.as_deref().unwrap_or("-"),
                finding.field.as_deref().unwrap_or("-"),
                &finding.rule,
                &finding.action,
                &finding.reason,
            ]);
        }
        markdown.table(&findings);
        if report.findings_total > report.findings.len() as u64 {
            markdown.paragraph(&format!(
                "({} more in dry-run.json's counts; the first {} are listed.)",
                report.findings_total - report.findings.len() as u64,
                report.findings.len()
            ));
        }
    }
    markdown.heading(
        2,
        &format!("Likely duplicates ({})", report.duplicates.len()),
    );
    markdown.bullet_list(report.duplicates.iter().map(|group| {
        let members: Vec<String> = group
            .records
            .iter()
            .map(|member| {
                format!(
                    "{} {}",
                    escape_markdown(&member.object),
                    escape_markdown(&member.salesforce_id)
                )
            })
            .collect();
        format!(
            "{} {}: {}",
            escape_markdown(group.kind),
            markdown_code_span(&group.key),
            members.join(", ")
        )
    }));
    markdown.heading(
        2,
        &format!("Custom fields to create ({})", report.custom_fields.len()),
    );
    markdown.bullet_list(report.custom_fields.iter().map(|field| {
        format!(
            "{}.{} ({}) from {}",
            escape_markdown(&field.entity.to_string()),
            escape_markdown(&field.name),
            escape_markdown(field.field_type.name()),
            escape_markdown(&field.source)
        )
    }));
    markdown.heading(2, "Not migrated: rebuild these in the new CRM");
    markdown.bullet_list(report.not_migrated.iter().map(|kind| match &kind.error {
        Some(error) => format!(
            "{}: could not be read ({})",
            escape_markdown(kind.kind),
            escape_markdown(error)
        ),
        None => {
            let names: Vec<&str> = kind.items.iter().map(|item| item.name.as_str()).collect();
            format!(
                "{} ({}): {}",
                escape_markdown(kind.kind),
                kind.count,
                escape_markdown(&names.join(", "))
            )
        }
    }));
    let users = &report.users;
    markdown.heading(2, "Owners");
    markdown.paragraph(&format!(
        "{} active and {} inactive users; {} without email; {} emails shared by several users.",
        users.active,
        users.inactive,
        users.without_email,
        users.shared_emails.len()
    ));
    let owners = &report.owners;
    markdown.paragraph(&escape_markdown(&owners_summary(owners)));
    markdown.bullet_list(owners.unmatched.iter().map(|owner| {
        format!(
            "{} {} ({})",
            escape_markdown(&owner.salesforce_id),
            escape_markdown(owner.name.as_deref().unwrap_or("(no name)")),
            escape_markdown(owner.email.as_deref().unwrap_or("no email"))
        )
    }));
    markdown.heading(2, "Queues");
    markdown.paragraph(if report.queues.is_empty() {
        "No queue is migrated."
    } else {
        "Queues own records as a team rather than a person:"
    });
    markdown.bullet_list(
        report
            .queues
            .iter()
            .map(|queue| escape_markdown(&queue_line(queue))),
    );
    let budget = &report.budget;
    markdown.heading(2, "API budget");
    markdown.paragraph(&format!(
        "A run needs about {} calls; {} of {} used in the last 24 hours; {} available above the {}% reserve.",
        budget.estimated_calls,
        count_or_unknown(budget.used),
        count_or_unknown(budget.limit),
        count_or_unknown(budget.available),
        budget.reserve_percent
    ));
    if !report.skipped_objects.is_empty() {
        markdown.heading(
            2,
            &format!("Objects left out ({})", report.skipped_objects.len()),
        );
        markdown.bullet_list(report.skipped_objects.iter().map(|object| {
            format!(
                "{}: {}",
                escape_markdown(&object.name),
                escape_markdown(&object.reason)
            )
        }));
    }
    markdown.finish()
}

/// The columns of the listed findings, in both renderings.
const FINDING_COLUMNS: [Column; 6] = [
    Column::text("object"),
    Column::text("Salesforce id"),
    Column::text("field"),
    Column::text("rule"),
    Column::text("action"),
    Column::text("reason"),
];

/// The report as one self-contained HTML page: inline style, no scripts, no external assets.
pub fn render_html(report: &DryRunReport) -> String {
    let total: u64 = report.objects.iter().map(|o| o.extracted).sum();
    let create: u64 = report.objects.iter().map(|o| o.will_create).sum();
    let update: u64 = report.objects.iter().map(|o| o.will_update).sum();
    let skip: u64 = report.objects.iter().map(|o| o.will_skip).sum();
    let mut body = Html::from_markup(format!(
        "<header><h1>Dry run</h1><p>{} · {} · nothing was written to the destination.</p>{}</header>",
        Html::text(&report.instance_url),
        Html::text(&report.generated_at),
        html_cards(&[
            (total, "records read"),
            (create, "will be created"),
            (update, "will be updated"),
            (skip, "will be skipped"),
            (report.findings_total, "findings"),
            (report.duplicates.len() as u64, "likely duplicates"),
        ])
    ));

    let mut objects = HtmlTable::new(
        "objects",
        [
            Column::text("object"),
            Column::text("destination"),
            Column::text("phase"),
            Column::number("in Salesforce"),
            Column::number("extracted"),
            Column::number("create"),
            Column::number("update"),
            Column::number("skip"),
            Column::text("share"),
        ],
    );
    for object in &report.objects {
        objects.row([
            Html::text(&object.object),
            Html::text(&object.destination),
            object.phase.into(),
            object.in_salesforce.into(),
            object.extracted.into(),
            object.will_create.into(),
            object.will_update.into(),
            object.will_skip.into(),
            share_bar(object),
        ]);
    }
    let mut objects_section = objects.finish();
    objects_section.push(&Html::from_markup(
        "<p class=\"legend\"><span class=\"c\"></span>create <span class=\"u\"></span>update \
         <span class=\"s\"></span>skip</p>"
            .to_owned(),
    ));
    body.push(&html_section("Objects", &objects_section));

    let mut currencies_section = Html::from_markup(format!(
        "<p>{}</p>",
        Html::text(&currencies_summary(&report.currencies))
    ));
    currencies_section.push(&html_list(
        Some("currencies"),
        report.objects.iter().filter_map(|object| {
            let text = currency_text(object.currency.as_ref()?);
            Some(Html::text(&format!("{}: {text}", object.object)))
        }),
    ));
    body.push(&html_section("Currencies", &currencies_section));

    let mut rules =
        HtmlTable::without_head("rules", [Column::text("rule"), Column::number("findings")]);
    for rule in rule_names() {
        let count = report.findings_by_rule.get(rule).copied().unwrap_or(0);
        rules.row([Html::text(rule), count.into()]);
    }
    let mut findings_section = rules.finish();
    if !report.findings.is_empty() {
        let mut findings = HtmlTable::new("findings", FINDING_COLUMNS);
        for finding in &report.findings {
            findings.row([
                Html::text(&finding.object),
                Html::code(finding.salesforce_id.as_deref().unwrap_or("-")),
                Html::text(finding.field.as_deref().unwrap_or("-")),
                Html::text(&finding.rule),
                Html::text(&finding.action),
                Html::text(&finding.reason),
            ]);
        }
        findings_section.push(&Html::from_markup(format!(
            "<details><summary>Every finding listed</summary>{}</details>",
            findings.finish()
        )));
    }
    body.push(&html_section("Findings by rule", &findings_section));

    // The Markdown lists every group; the page stops at 500 to stay quick to open.
    let duplicates = report.duplicates.iter().take(500).map(|group| {
        let members: Vec<String> = group
            .records
            .iter()
            .map(|member| {
                format!(
                    "{} {}",
                    Html::text(&member.object),
                    Html::code(&member.salesforce_id)
                )
            })
            .collect();
        Html::from_markup(format!(
            "{} <b>{}</b>: {}",
            Html::text(group.kind),
            Html::text(&group.key),
            members.join(", ")
        ))
    });
    body.push(&html_section(
        &format!("Likely duplicates ({})", report.duplicates.len()),
        &html_list(None, duplicates),
    ));

    let custom_fields = report.custom_fields.iter().map(|field| {
        Html::from_markup(format!(
            "{}.{} ({}) from {}",
            Html::text(&field.entity.to_string()),
            Html::text(&field.name),
            Html::text(field.field_type.name()),
            Html::code(&field.source)
        ))
    });
    body.push(&html_section(
        &format!("Custom fields to create ({})", report.custom_fields.len()),
        &html_list(None, custom_fields),
    ));

    let not_migrated = report.not_migrated.iter().map(|kind| match &kind.error {
        Some(error) => Html::from_markup(format!(
            "{}: could not be read ({})",
            Html::text(kind.kind),
            Html::text(error)
        )),
        None => {
            let names: Vec<String> = kind
                .items
                .iter()
                .map(|item| escape_html(&item.name))
                .collect();
            Html::from_markup(format!(
                "{} ({}): {}",
                Html::text(kind.kind),
                kind.count,
                names.join(", ")
            ))
        }
    });
    body.push(&html_section(
        "Not migrated: rebuild these in the new CRM",
        &html_list(None, not_migrated),
    ));

    let unmatched = report.owners.unmatched.iter().map(|owner| {
        Html::from_markup(format!(
            "{} {} ({})",
            Html::text(&owner.salesforce_id),
            Html::text(owner.name.as_deref().unwrap_or("(no name)")),
            Html::text(owner.email.as_deref().unwrap_or("no email"))
        ))
    });
    let mut owners = Html::from_markup(format!(
        "<p>{}</p>",
        Html::text(&owners_summary(&report.owners))
    ));
    owners.push(&html_list(None, unmatched));
    body.push(&html_section("Unmatched owners", &owners));
    let queues = report
        .queues
        .iter()
        .map(|queue| Html::text(&queue_line(queue)));
    body.push(&html_section("Queues", &html_list(None, queues)));

    let budget = &report.budget;
    body.push(&html_section(
        "Owners and budget",
        &Html::from_markup(format!(
            "<p>{} active and {} inactive users, {} without email.</p>\
             <p>A run needs about {} API calls; {} of {} used in the last 24 hours; {} available above the {}% reserve.</p>",
            report.users.active,
            report.users.inactive,
            report.users.without_email,
            budget.estimated_calls,
            count_or_unknown(budget.used),
            count_or_unknown(budget.limit),
            count_or_unknown(budget.available),
            budget.reserve_percent
        )),
    ));
    html_page(
        &HtmlPage {
            title: &format!("Dry run {}", report.run_id),
            max_width_rem: 70,
            extra_style: STYLE,
        },
        &body,
    )
}

/// One bar of the object's records split into create, update and skip.
fn share_bar(object: &DryRunObject) -> Html {
    let share = |count: u64| percent_of(count, object.extracted);
    Html::from_markup(format!(
        "<div class=\"bar\" title=\"create {} / update {} / skip {}\">\
         <span class=\"c\" style=\"width:{}%\"></span><span class=\"u\" style=\"width:{}%\"></span>\
         <span class=\"s\" style=\"width:{}%\"></span></div>",
        object.will_create,
        object.will_update,
        object.will_skip,
        share(object.will_create),
        share(object.will_update),
        share(object.will_skip)
    ))
}

/// The style of what only the dry run's page has: the share bars, their legend, the findings
/// folded away.
const STYLE: &str = ".bar{display:flex;width:12rem;height:.8rem;background:#eef1f4;border-radius:4px;overflow:hidden}\
.c{background:#2e8b57}.u{background:#3b6fd8}.s{background:#d8783b}.legend span{display:inline-block;width:.8rem;height:.8rem;margin:0 .25rem 0 1rem;vertical-align:middle}\
details{margin-top:1rem}";

/// What a dry run needs: a migration's ports, the destination only to read its users.
pub struct DryRunPorts<'a> {
    pub salesforce: &'a dyn SalesforceApi,
    /// The destination whose users the org's users are matched against; `None` lists every
    /// user as unmatched. Nothing is written to it.
    pub destination: Option<&'a dyn Destination>,
    pub staging: &'a dyn Staging,
    pub id_map: &'a dyn IdMap,
    pub runs: &'a dyn RunStore,
    pub queue: &'a dyn LocalQueue,
    pub sleeper: &'a dyn Sleeper,
    /// Where a pause for the API budget is reported.
    pub progress: &'a dyn ferry_model::ports::Progress,
}

/// Discovers, extracts every planned object to staging, and analyses the records as a load
/// would, writing nothing to the destination. The report's `instance_url` and
/// `generated_at` are left for the caller, which knows them.
pub async fn dry_run(
    ports: &DryRunPorts<'_>,
    config: &RunConfig,
    policy: &ferry_model::budget::BudgetPolicy,
) -> Result<(Discovery, DryRunReport), StepError> {
    let run = &config.run_id;
    let discovery = plan_run(ports.salesforce, ports.runs, config, false).await?;
    let plan = &discovery.plan;
    let extract_ports = ExtractPorts {
        salesforce: ports.salesforce,
        staging: ports.staging,
        queue: ports.queue,
        runs: ports.runs,
        pseudonymise: config.pseudonymise.as_ref(),
    };
    let mut analysis = DryRunAnalysis::new(plan);
    let mut users = Vec::new();
    let mut queues = Vec::new();
    // (OwnerId, object) → records, for the owners that are queues (`Group` ids).
    let mut queue_owned: HashMap<(String, String), u64> = HashMap::new();
    let queue_objects: Vec<&str> = plan
        .objects
        .iter()
        .filter(|object| {
            object.entity == ferry_model::mapping::EntityKind::Team || object.queue_to_default_owner
        })
        .map(|object| object.object.as_str())
        .collect();
    for object in &plan.objects {
        crate::steps::extract_object(
            &extract_ports,
            ports.sleeper,
            ports.progress,
            run,
            plan,
            object,
            config.extract,
        )
        .await?;
        while let Some(message) = ports.queue.receive().await.map_err(StepError::Queue)? {
            let body = ports
                .staging
                .get(&message.key)
                .await
                .map_err(StepError::Staging)?;
            let mut records = Vec::new();
            for (line_number, line) in body.split(|byte| *byte == b'\n').enumerate() {
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let record: ferry_model::model::SourceRecord = serde_json::from_slice(line)
                    .map_err(|error| {
                        StepError::Staging(PortError::with_source(
                            ferry_model::ErrorClass::Permanent,
                            format!(
                                "line {} of {} is not a JSON record",
                                line_number + 1,
                                message.key
                            ),
                            error,
                        ))
                    })?;
                if queue_objects.contains(&object.object.as_str()) {
                    queues.push(owner_of(object, &record));
                } else if object.entity == ferry_model::mapping::EntityKind::Owner {
                    users.push(owner_of(object, &record));
                }
                if let Some(owner) = record
                    .get("OwnerId")
                    .and_then(serde_json::Value::as_str)
                    .filter(|owner| owner.starts_with(GROUP_KEY_PREFIX))
                {
                    *queue_owned
                        .entry((owner.to_owned(), object.salesforce_object().to_owned()))
                        .or_default() += 1;
                }
                records.push(record);
            }
            analysis
                .add_chunk(object, records, ports.id_map, &plan.tenant)
                .await
                .map_err(StepError::IdMap)?;
        }
        tracing::info!(run_id = %run, object = %object.object, "analysed");
    }
    let analysed = analysis
        .finish(ports.id_map, &plan.tenant)
        .await
        .map_err(StepError::IdMap)?;
    let destination_users = match ports.destination {
        Some(destination) => Some(
            destination
                .users(&plan.tenant)
                .await
                .map_err(StepError::Destination)?,
        ),
        None => None,
    };
    let owners = match_owners(
        &users,
        destination_users.as_deref(),
        plan.default_owner.as_deref(),
    );
    let mut analysed = analysed;
    // Users are matched, never created: their counts are the matching's, not a load's.
    for entry in analysed.objects.iter_mut() {
        if plan
            .object(&entry.object)
            .is_some_and(|object| object.queue_to_default_owner)
        {
            entry.will_create = 0;
            entry.will_update = 0;
            entry.will_skip = queues.len() as u64;
            entry.skip_reasons = std::collections::BTreeMap::from([(
                "a queue: what it owns goes to the default owner".to_owned(),
                queues.len() as u64,
            )]);
            entry.skip_reasons.retain(|_, count| *count > 0);
            continue;
        }
        if plan
            .object(&entry.object)
            .is_some_and(|object| !object.entity.created_by_migration())
        {
            let unmatched = owners.unmatched.len() as u64;
            entry.will_create = 0;
            entry.will_update = owners.matched;
            entry.will_skip = unmatched;
            entry.skip_reasons = std::collections::BTreeMap::from([(
                "no destination user has the email".to_owned(),
                unmatched,
            )]);
            entry.skip_reasons.retain(|_, count| *count > 0);
        }
    }
    let preview =
        crate::preview::PlanPreview::build(&discovery, &config.map, &config.extract, policy);
    let budget_now = ports
        .salesforce
        .api_budget()
        .await
        .map_err(StepError::Salesforce)?;
    let report = DryRunReport {
        run_id: run.to_string(),
        generated_at: String::new(),
        instance_url: String::new(),
        objects: analysed.objects,
        findings_by_rule: analysed.findings_by_rule,
        findings: analysed.findings,
        findings_total: analysed.findings_total,
        duplicates: analysed.duplicates,
        custom_fields: plan.custom_fields().cloned().collect(),
        skipped_objects: preview
            .skipped_objects
            .iter()
            .map(|skipped| SkippedObjectEntry {
                name: skipped.name.clone(),
                reason: skipped.reason.clone(),
            })
            .collect(),
        not_migrated: discovery.inventory.clone(),
        users: discovery.users.clone(),
        currencies: discovery.currencies.clone(),
        owners,
        queues: queue_entries(plan, &queues, &queue_owned),
        budget: preview.budget,
        api_calls_used: match (discovery.budget, budget_now) {
            (Some(before), Some(after)) => Some(after.used.saturating_sub(before.used)),
            _ => None,
        },
    };
    Ok((discovery, report))
}

/// A staged user as (id, email, name), read through the plan's map as the load step reads it.
fn owner_of(
    object: &ferry_model::plan::ObjectPlan,
    record: &ferry_model::model::SourceRecord,
) -> (String, Option<String>, Option<String>) {
    let id = record
        .get("Id")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let field = |target: &str| {
        object
            .fields
            .iter()
            .find(|mapping| mapping.target == target)
            .and_then(|mapping| record.get(&mapping.source))
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
    };
    (id, field("email"), field("name"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn website_domains_are_normalised() {
        assert_eq!(
            website_domain("https://www.Acme.com/about"),
            Some("acme.com".to_owned())
        );
        assert_eq!(website_domain("acme.com:8080"), Some("acme.com".to_owned()));
        assert_eq!(website_domain("not a site"), None);
    }

    /// A report whose every text comes from an org that put markup and table syntax in it.
    fn report_with_awkward_text() -> DryRunReport {
        let awkward = "A|B <i>'x'</i> & \"y\"\nnext line";
        DryRunReport {
            run_id: "dry|1".to_owned(),
            generated_at: "2026-01-01T00:00:00Z".to_owned(),
            instance_url: "https://acme.my.salesforce.com".to_owned(),
            objects: vec![DryRunObject {
                object: "Odd|Object__c".to_owned(),
                destination: "contact".to_owned(),
                phase: 1,
                in_salesforce: 3,
                extracted: 3,
                will_create: 2,
                will_update: 0,
                will_skip: 1,
                skip_reasons: BTreeMap::from([(awkward.to_owned(), 1)]),
                findings: BTreeMap::new(),
                currency: Some(CurrencySource::Field {
                    field: awkward.to_owned(),
                }),
            }],
            findings_by_rule: BTreeMap::from([("invalid_email".to_owned(), 1)]),
            findings: vec![ListedFinding {
                object: "Odd|Object__c".to_owned(),
                salesforce_id: Some("003|x".to_owned()),
                field: Some("Email|2".to_owned()),
                rule: "invalid_email".to_owned(),
                action: "drop_value".to_owned(),
                reason: awkward.to_owned(),
            }],
            findings_total: 1,
            duplicates: vec![DuplicateGroup {
                kind: "email",
                key: "a`b@example.com".to_owned(),
                records: vec![DuplicateMember {
                    object: "Contact".to_owned(),
                    salesforce_id: "003<1>".to_owned(),
                }],
            }],
            custom_fields: Vec::new(),
            skipped_objects: vec![SkippedObjectEntry {
                name: "Left|Out".to_owned(),
                reason: awkward.to_owned(),
            }],
            not_migrated: Vec::new(),
            users: UserSummary::default(),
            currencies: OrgCurrencies {
                default: Some("EUR".to_owned()),
                multi_currency: true,
                currencies: vec![ferry_model::plan::CurrencyInfo {
                    iso_code: awkward.to_owned(),
                    conversion_rate: 1.0,
                    decimal_places: 2,
                    active: true,
                    corporate: true,
                }],
                error: None,
            },
            owners: OwnerMatching {
                destination_users: Some(1),
                matched: 0,
                unmatched: vec![UnmatchedOwner {
                    salesforce_id: "005|1".to_owned(),
                    email: None,
                    name: Some(awkward.to_owned()),
                }],
                default_owner: None,
            },
            queues: vec![QueueEntry {
                salesforce_id: "00G|1".to_owned(),
                name: awkward.to_owned(),
                email: None,
                owns: BTreeMap::from([("Lead".to_owned(), 2)]),
                goes_to: "team".to_owned(),
            }],
            budget: BudgetPreview {
                used: None,
                limit: Some(100),
                reserve_percent: 20,
                available: None,
                estimated_calls: 2,
                sufficient: true,
            },
            api_calls_used: None,
        }
    }

    #[test]
    fn every_markdown_table_row_keeps_its_cells_whatever_the_org_wrote() {
        let markdown = render_markdown(&report_with_awkward_text());
        assert!(markdown.starts_with("# Dry run dry\\|1\n"), "{markdown}");
        // Each row of a table has as many unescaped `|` as its header: no value split a cell
        // or broke a row.
        for table in markdown
            .split("\n\n")
            .filter(|block| block.starts_with('|'))
        {
            let mut lines = table.lines();
            let separators = |line: &str| line.replace("\\|", "").matches('|').count();
            let header = lines.next().map(separators).unwrap_or(0);
            for line in lines {
                assert_eq!(separators(line), header, "{line}");
            }
        }
        assert!(
            markdown.contains("| Odd\\|Object__c | contact | 1 | 3 | 3 | 2 | 0 | 1 |"),
            "{markdown}"
        );
        assert!(markdown.contains(
            "| Odd\\|Object__c | 003\\|x | Email\\|2 | invalid_email | drop_value | A\\|B <i>'x'</i> & \"y\" next line |"
        ));
        assert!(markdown.contains("- email ``a`b@example.com``: Contact 003<1>"));
        assert!(markdown.contains("- 005\\|1 A\\|B"));
        assert!(markdown.contains("- Left\\|Out: A\\|B"));
        assert!(
            markdown.contains("about 2 calls; ? of 100 used in the last 24 hours; ? available")
        );
    }

    #[test]
    fn the_page_shows_what_the_org_wrote_as_text() {
        let html = render_html(&report_with_awkward_text());
        assert!(!html.contains("<i>"), "{html}");
        assert!(html.contains("<title>Dry run dry|1</title>"));
        assert!(html.contains("<tr><td>Odd|Object__c</td><td>contact</td><td>1</td>"));
        assert!(html.contains(
            "<td>A|B &lt;i&gt;&#39;x&#39;&lt;/i&gt; &amp; &quot;y&quot;\nnext line</td></tr>"
        ));
        assert!(html.contains("email <b>a`b@example.com</b>: Contact <code>003&lt;1&gt;</code>"));
        assert!(html.contains("style=\"width:66.7%\""), "{html}");
    }
}
