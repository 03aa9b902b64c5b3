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

use crate::error::PortError;
use crate::ids::{SalesforceId, TenantId};
use crate::inventory::{InventoryKind, UserSummary};
use crate::model::SourceRecord;
use crate::plan::{CustomFieldDefinition, ObjectPlan, Plan};
use crate::ports::IdMap;
use crate::preview::BudgetPreview;
use crate::report::{IssueKind, RecordIssue};
use crate::steps::{CheckedRecord, SkippedObject, check_record};
use crate::validate::{Action, Finding, Rule, Verdict, orphan_finding};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;

/// Findings listed one by one at most; the counts are always complete.
pub const MAX_LISTED_FINDINGS: usize = 5_000;

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
    /// How the org's users match the destination's, by email: the owners to reconcile.
    pub owners: OwnerMatching,
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

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnmatchedOwner {
    pub salesforce_id: String,
    pub email: Option<String>,
    pub name: Option<String>,
}

/// Matches Salesforce users (id, email, name) to the destination's users by email,
/// ignoring case, as the load step does.
pub fn match_owners(
    users: &[(String, Option<String>, Option<String>)],
    destination: Option<&[crate::ports::DestinationUser]>,
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
            let landing = self
                .landing
                .get(&link.target_object)
                .is_some_and(|ids| ids.contains(&link.target));
            if !landing {
                outside
                    .entry(link.target_object.clone())
                    .or_default()
                    .insert(link.target.clone());
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
            let resolved = self
                .landing
                .get(&link.target_object)
                .is_some_and(|ids| ids.contains(&link.target))
                || known
                    .get(&link.target_object)
                    .is_some_and(|ids| ids.contains(&link.target));
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

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn md(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// The report as Markdown.
pub fn render_markdown(report: &DryRunReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Dry run {}\n", report.run_id);
    let _ = writeln!(
        out,
        "Org {} · generated {} · nothing was written to the destination.\n",
        report.instance_url, report.generated_at
    );
    let _ = writeln!(out, "## Objects\n");
    let _ = writeln!(
        out,
        "| object | destination | phase | in Salesforce | extracted | will create | will update | will skip |"
    );
    let _ = writeln!(out, "|---|---|---:|---:|---:|---:|---:|---:|");
    for object in &report.objects {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            object.object,
            object.destination,
            object.phase,
            object.in_salesforce,
            object.extracted,
            object.will_create,
            object.will_update,
            object.will_skip
        );
    }
    let skip_lines: Vec<String> = report
        .objects
        .iter()
        .flat_map(|object| {
            object.skip_reasons.iter().map(move |(reason, count)| {
                format!("| {} | {} | {count} |", object.object, md(reason))
            })
        })
        .collect();
    if !skip_lines.is_empty() {
        let _ = writeln!(
            out,
            "\n### Records that will be skipped\n\n| object | reason | records |\n|---|---|---:|"
        );
        for line in skip_lines {
            let _ = writeln!(out, "{line}");
        }
    }
    let _ = writeln!(out, "\n## Findings ({} in all)\n", report.findings_total);
    let _ = writeln!(out, "| rule | findings |\n|---|---:|");
    for rule in rule_names() {
        let _ = writeln!(
            out,
            "| {rule} | {} |",
            report.findings_by_rule.get(rule).copied().unwrap_or(0)
        );
    }
    if !report.findings.is_empty() {
        let _ = writeln!(
            out,
            "\n| object | Salesforce id | field | rule | action | reason |\n|---|---|---|---|---|---|"
        );
        for finding in &report.findings {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                finding.object,
                finding.salesforce_id.as_deref().unwrap_or("-"),
                finding.field.as_deref().unwrap_or("-"),
                finding.rule,
                finding.action,
                md(&finding.reason)
            );
        }
        if report.findings_total > report.findings.len() as u64 {
            let _ = writeln!(
                out,
                "\n({} more in dry-run.json's counts; the first {} are listed.)",
                report.findings_total - report.findings.len() as u64,
                report.findings.len()
            );
        }
    }
    let _ = writeln!(
        out,
        "\n## Likely duplicates ({})\n",
        report.duplicates.len()
    );
    for group in &report.duplicates {
        let members: Vec<String> = group
            .records
            .iter()
            .map(|m| format!("{} {}", m.object, m.salesforce_id))
            .collect();
        let _ = writeln!(
            out,
            "- {} `{}`: {}",
            group.kind,
            md(&group.key),
            members.join(", ")
        );
    }
    let _ = writeln!(
        out,
        "\n## Custom fields to create ({})\n",
        report.custom_fields.len()
    );
    for field in &report.custom_fields {
        let _ = writeln!(
            out,
            "- {}.{} ({}) from {}",
            field.entity,
            field.name,
            field.field_type.name(),
            field.source
        );
    }
    let _ = writeln!(out, "\n## Not migrated: rebuild these in the new CRM\n");
    for kind in &report.not_migrated {
        match &kind.error {
            Some(error) => {
                let _ = writeln!(out, "- {}: could not be read ({})", kind.kind, md(error));
            }
            None => {
                let names: Vec<&str> = kind.items.iter().map(|item| item.name.as_str()).collect();
                let _ = writeln!(
                    out,
                    "- {} ({}): {}",
                    kind.kind,
                    kind.count,
                    md(&names.join(", "))
                );
            }
        }
    }
    let users = &report.users;
    let _ = writeln!(
        out,
        "\n## Owners\n\n{} active and {} inactive users; {} without email; {} emails shared by several users.",
        users.active,
        users.inactive,
        users.without_email,
        users.shared_emails.len()
    );
    let owners = &report.owners;
    let _ = writeln!(out, "\n{}", owners_summary(owners));
    for owner in &owners.unmatched {
        let _ = writeln!(
            out,
            "- {} {} ({})",
            owner.salesforce_id,
            md(owner.name.as_deref().unwrap_or("(no name)")),
            md(owner.email.as_deref().unwrap_or("no email"))
        );
    }
    let budget = &report.budget;
    let _ = writeln!(
        out,
        "\n## API budget\n\nA run needs about {} calls; {} of {} used in the last 24 hours; {} available above the {}% reserve.",
        budget.estimated_calls,
        budget.used.map_or("?".to_owned(), |n| n.to_string()),
        budget.limit.map_or("?".to_owned(), |n| n.to_string()),
        budget.available.map_or("?".to_owned(), |n| n.to_string()),
        budget.reserve_percent
    );
    if !report.skipped_objects.is_empty() {
        let _ = writeln!(
            out,
            "\n## Objects left out ({})\n",
            report.skipped_objects.len()
        );
        for object in &report.skipped_objects {
            let _ = writeln!(out, "- {}: {}", object.name, md(&object.reason));
        }
    }
    out
}

/// The report as one self-contained HTML page: inline style, no scripts, no external assets.
pub fn render_html(report: &DryRunReport) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Dry run {}</title><style>{}</style></head><body>",
        escape(&report.run_id),
        STYLE
    );
    let total: u64 = report.objects.iter().map(|o| o.extracted).sum();
    let create: u64 = report.objects.iter().map(|o| o.will_create).sum();
    let update: u64 = report.objects.iter().map(|o| o.will_update).sum();
    let skip: u64 = report.objects.iter().map(|o| o.will_skip).sum();
    let _ = write!(
        out,
        "<header><h1>Dry run</h1><p>{} · {} · nothing was written to the destination.</p>\
         <div class=\"cards\"><div><b>{total}</b>records read</div><div><b>{create}</b>will be created</div>\
         <div><b>{update}</b>will be updated</div><div><b>{skip}</b>will be skipped</div>\
         <div><b>{}</b>findings</div><div><b>{}</b>likely duplicates</div></div></header>",
        escape(&report.instance_url),
        escape(&report.generated_at),
        report.findings_total,
        report.duplicates.len()
    );
    let _ = write!(
        out,
        "<section><h2>Objects</h2><table id=\"objects\"><thead><tr><th>object</th><th>destination</th>\
         <th>phase</th><th class=\"n\">in Salesforce</th><th class=\"n\">extracted</th><th class=\"n\">create</th>\
         <th class=\"n\">update</th><th class=\"n\">skip</th><th>share</th></tr></thead><tbody>"
    );
    for object in &report.objects {
        let share = |n: u64| {
            if object.extracted == 0 {
                0.0
            } else {
                n as f64 * 100.0 / object.extracted as f64
            }
        };
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td><div class=\"bar\" \
             title=\"create {} / update {} / skip {}\"><span class=\"c\" style=\"width:{:.1}%\"></span>\
             <span class=\"u\" style=\"width:{:.1}%\"></span><span class=\"s\" style=\"width:{:.1}%\"></span></div></td></tr>",
            escape(&object.object),
            escape(&object.destination),
            object.phase,
            object.in_salesforce,
            object.extracted,
            object.will_create,
            object.will_update,
            object.will_skip,
            object.will_create,
            object.will_update,
            object.will_skip,
            share(object.will_create),
            share(object.will_update),
            share(object.will_skip)
        );
    }
    out.push_str("</tbody></table><p class=\"legend\"><span class=\"c\"></span>create <span class=\"u\"></span>update <span class=\"s\"></span>skip</p></section>");
    out.push_str("<section><h2>Findings by rule</h2><table id=\"rules\"><tbody>");
    for rule in rule_names() {
        let _ = write!(
            out,
            "<tr><td>{rule}</td><td class=\"n\">{}</td></tr>",
            report.findings_by_rule.get(rule).copied().unwrap_or(0)
        );
    }
    out.push_str("</tbody></table>");
    if !report.findings.is_empty() {
        out.push_str("<details><summary>Every finding listed</summary><table id=\"findings\"><thead><tr><th>object</th><th>Salesforce id</th><th>field</th><th>rule</th><th>action</th><th>reason</th></tr></thead><tbody>");
        for finding in &report.findings {
            let _ = write!(
                out,
                "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&finding.object),
                escape(finding.salesforce_id.as_deref().unwrap_or("-")),
                escape(finding.field.as_deref().unwrap_or("-")),
                escape(&finding.rule),
                escape(&finding.action),
                escape(&finding.reason)
            );
        }
        out.push_str("</tbody></table></details>");
    }
    out.push_str("</section>");
    let _ = write!(
        out,
        "<section><h2>Likely duplicates ({})</h2><ul>",
        report.duplicates.len()
    );
    for group in report.duplicates.iter().take(500) {
        let members: Vec<String> = group
            .records
            .iter()
            .map(|m| {
                format!(
                    "{} <code>{}</code>",
                    escape(&m.object),
                    escape(&m.salesforce_id)
                )
            })
            .collect();
        let _ = write!(
            out,
            "<li>{} <b>{}</b>: {}</li>",
            group.kind,
            escape(&group.key),
            members.join(", ")
        );
    }
    out.push_str("</ul></section>");
    let _ = write!(
        out,
        "<section><h2>Custom fields to create ({})</h2><ul>",
        report.custom_fields.len()
    );
    for field in &report.custom_fields {
        let _ = write!(
            out,
            "<li>{}.{} ({}) from <code>{}</code></li>",
            field.entity,
            escape(&field.name),
            field.field_type.name(),
            escape(&field.source)
        );
    }
    out.push_str("</ul></section><section><h2>Not migrated: rebuild these in the new CRM</h2><ul>");
    for kind in &report.not_migrated {
        match &kind.error {
            Some(error) => {
                let _ = write!(
                    out,
                    "<li>{}: could not be read ({})</li>",
                    kind.kind,
                    escape(error)
                );
            }
            None => {
                let names: Vec<String> = kind.items.iter().map(|item| escape(&item.name)).collect();
                let _ = write!(
                    out,
                    "<li>{} ({}): {}</li>",
                    kind.kind,
                    kind.count,
                    names.join(", ")
                );
            }
        }
    }
    let budget = &report.budget;
    let _ = write!(
        out,
        "</ul></section><section><h2>Unmatched owners</h2><p>{}</p><ul>",
        escape(&owners_summary(&report.owners))
    );
    for owner in &report.owners.unmatched {
        let _ = write!(
            out,
            "<li>{} {} ({})</li>",
            escape(&owner.salesforce_id),
            escape(owner.name.as_deref().unwrap_or("(no name)")),
            escape(owner.email.as_deref().unwrap_or("no email"))
        );
    }
    let _ = write!(
        out,
        "</ul></section><section><h2>Owners and budget</h2><p>{} active and {} inactive users, {} without email.</p>\
         <p>A run needs about {} API calls; {} of {} used in the last 24 hours; {} available above the {}% reserve.</p></section>",
        report.users.active,
        report.users.inactive,
        report.users.without_email,
        budget.estimated_calls,
        budget.used.map_or("?".to_owned(), |n| n.to_string()),
        budget.limit.map_or("?".to_owned(), |n| n.to_string()),
        budget.available.map_or("?".to_owned(), |n| n.to_string()),
        budget.reserve_percent
    );
    out.push_str("</body></html>\n");
    out
}

const STYLE: &str = "body{font:15px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:70rem;padding:0 1rem;color:#1d2430}\
h1{margin:0 0 .25rem}h2{margin-top:2rem;border-bottom:1px solid #dde3ea;padding-bottom:.25rem}\
.cards{display:flex;flex-wrap:wrap;gap:.75rem;margin-top:1rem}.cards div{background:#f3f6f9;border-radius:8px;padding:.6rem 1rem;min-width:8rem}\
.cards b{display:block;font-size:1.4rem}table{border-collapse:collapse;width:100%}th,td{padding:.35rem .5rem;border-bottom:1px solid #eef1f4;text-align:left;vertical-align:top}\
.n{text-align:right;font-variant-numeric:tabular-nums}.bar{display:flex;width:12rem;height:.8rem;background:#eef1f4;border-radius:4px;overflow:hidden}\
.c{background:#2e8b57}.u{background:#3b6fd8}.s{background:#d8783b}.legend span{display:inline-block;width:.8rem;height:.8rem;margin:0 .25rem 0 1rem;vertical-align:middle}\
code{font-size:.9em}details{margin-top:1rem}";

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
}
