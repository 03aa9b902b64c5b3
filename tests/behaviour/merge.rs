//! Merge-on-import of a lead into the contact with the same email (`merge_leads_by_email`).
//!
//! The simulated org never gives a lead a contact's email, so a thin wrapper around the real
//! client rewrites one lead's `Email` (in other case, with spaces) to an email two contacts
//! share: the winner (oldest CreatedDate, then lowest Id) is computed from the org's data.

use async_trait::async_trait;
use ferry_core::run::RunOptions;
use ferry_core::run::{RunConfig, dry_run};
use ferry_core::steps::{DiscoverOptions, ExtractConfig};
use ferry_model::budget::ApiBudget;
use ferry_model::budget::BudgetPolicy;
use ferry_model::error::PortError;
use ferry_model::ids::{RunId, SalesforceId, TenantId};
use ferry_model::mapping::FieldMap;
use ferry_model::model::{ObjectDescription, ObjectSummary};
use ferry_model::ports::NoProgress;
use ferry_model::ports::{
    BlobFetch, BulkJobStatus, IdMap as _, QueryPage, QueryPageRequest, SalesforceApi,
};
use ferry_model::report::IssueKind;
use ferry_salesforce::SalesforceClient;
use ferry_tests::{Embedded, TENANT, connect, query_all, start_org};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;

const RECORDS: u64 = 1_500;
const SEED: u64 = 33;

/// The real client, with some leads' `Email` rewritten and some leads hidden.
struct Rewriting {
    inner: SalesforceClient,
    emails: HashMap<String, String>,
    hidden: Mutex<HashSet<String>>,
}

impl Rewriting {
    fn rewrite(&self, mut page: QueryPage) -> QueryPage {
        let hidden = self.hidden.lock().unwrap().clone();
        page.records.retain(|record| {
            record
                .get("Id")
                .and_then(|id| id.as_str())
                .is_none_or(|id| !hidden.contains(id))
        });
        for record in &mut page.records {
            let id = record
                .get("Id")
                .and_then(|id| id.as_str())
                .map(str::to_owned);
            if let Some(email) = id.and_then(|id| self.emails.get(&id))
                && record.contains_key("Email")
            {
                record.insert("Email".to_owned(), serde_json::json!(email));
            }
        }
        page
    }
}

#[async_trait]
impl SalesforceApi for Rewriting {
    async fn list_objects(&self) -> Result<Vec<ObjectSummary>, PortError> {
        SalesforceApi::list_objects(&self.inner).await
    }
    async fn describe_object(&self, name: &str) -> Result<ObjectDescription, PortError> {
        SalesforceApi::describe_object(&self.inner, name).await
    }
    async fn describe_objects(
        &self,
        names: &[String],
    ) -> Result<ferry_model::ports::Descriptions, PortError> {
        SalesforceApi::describe_objects(&self.inner, names).await
    }
    async fn count_records(&self, object: &str, soft_deletes: bool) -> Result<u64, PortError> {
        SalesforceApi::count_records(&self.inner, object, soft_deletes).await
    }
    async fn record_counts(&self, objects: &[String]) -> Result<BTreeMap<String, u64>, PortError> {
        SalesforceApi::record_counts(&self.inner, objects).await
    }
    async fn api_budget(&self) -> Result<Option<ApiBudget>, PortError> {
        SalesforceApi::api_budget(&self.inner).await
    }
    async fn fresh_api_budget(&self) -> Result<Option<ApiBudget>, PortError> {
        SalesforceApi::fresh_api_budget(&self.inner).await
    }
    async fn query_page(&self, request: QueryPageRequest) -> Result<QueryPage, PortError> {
        Ok(self.rewrite(SalesforceApi::query_page(&self.inner, request).await?))
    }
    async fn tooling_query(&self, soql: &str) -> Result<QueryPage, PortError> {
        SalesforceApi::tooling_query(&self.inner, soql).await
    }
    async fn fetch_blob(
        &self,
        object: &str,
        id: &str,
        field: &str,
        max_bytes: u64,
    ) -> Result<BlobFetch, PortError> {
        SalesforceApi::fetch_blob(&self.inner, object, id, field, max_bytes).await
    }
    async fn start_bulk_query(
        &self,
        soql: &str,
        include_deleted: bool,
    ) -> Result<BulkJobStatus, PortError> {
        SalesforceApi::start_bulk_query(&self.inner, soql, include_deleted).await
    }
    async fn bulk_query_status(&self, job: &str) -> Result<BulkJobStatus, PortError> {
        SalesforceApi::bulk_query_status(&self.inner, job).await
    }
    async fn bulk_query_results(
        &self,
        job: &str,
        locator: Option<&str>,
        max_records: u32,
    ) -> Result<QueryPage, PortError> {
        Ok(self.rewrite(
            self.inner
                .bulk_query_results(job, locator, max_records)
                .await?,
        ))
    }
}

fn text(record: &ferry_model::model::SourceRecord, field: &str) -> Option<String> {
    record
        .get(field)
        .and_then(|value| value.as_str())
        .map(str::to_owned)
}

/// The chosen duplicate: a lead with tasks, not converted, and an email two or more contacts
/// share, with the contact that must win it.
struct Chosen {
    lead: String,
    lead_tasks: Vec<String>,
    email: String,
    winner: String,
    others: Vec<String>,
}

async fn choose(client: &SalesforceClient) -> Chosen {
    let contacts = query_all(client, "SELECT Id, Email, CreatedDate FROM Contact").await;
    let mut by_email: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for contact in &contacts {
        if let (Some(email), Some(created), Some(id)) = (
            text(contact, "Email"),
            text(contact, "CreatedDate"),
            text(contact, "Id"),
        ) && email.contains('@')
            && email.contains('.')
        {
            by_email
                .entry(email.trim().to_lowercase())
                .or_default()
                .push((created, id));
        }
    }
    let (email, mut sharing) = by_email
        .into_iter()
        .find(|(_, sharing)| sharing.len() > 1)
        .expect("the generator makes contacts that share an email");
    sharing.sort();
    let winner = sharing[0].1.clone();
    let others = sharing[1..].iter().map(|(_, id)| id.clone()).collect();

    let leads = query_all(client, "SELECT Id, ConvertedContactId FROM Lead").await;
    let open: HashSet<String> = leads
        .iter()
        .filter(|lead| text(lead, "ConvertedContactId").is_none())
        .filter_map(|lead| text(lead, "Id"))
        .collect();
    let tasks = query_all(client, "SELECT Id, WhoId FROM Task").await;
    let mut tasks_of: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for task in &tasks {
        if let (Some(who), Some(id)) = (text(task, "WhoId"), text(task, "Id"))
            && open.contains(&who)
        {
            tasks_of.entry(who).or_default().push(id);
        }
    }
    let (lead, lead_tasks) = tasks_of
        .into_iter()
        .next()
        .expect("some open lead has tasks");
    Chosen {
        lead,
        lead_tasks,
        email,
        winner,
        others,
    }
}

fn config(run: &str, merge: bool) -> RunConfig {
    RunConfig {
        concurrency: Default::default(),
        tenant: TenantId::new(TENANT),
        run_id: RunId::new(run),
        map: FieldMap::builtin(),
        extract: ExtractConfig {
            chunk_records: 200,
            ..ExtractConfig::default()
        },
        discover: DiscoverOptions {
            objects: Some(
                ["User", "Account", "Contact", "Lead", "Task"]
                    .map(str::to_owned)
                    .to_vec(),
            ),
            ..DiscoverOptions::default()
        },
        pseudonymise: None,
        validation: Default::default(),
        default_owner: None,
        merge_leads_by_email: merge,
    }
}

async fn rewriting(client: SalesforceClient, chosen: &Chosen) -> Rewriting {
    // Other case, spaces around: the normalised email is the contacts'.
    let messy = format!("  {}  ", chosen.email.to_uppercase());
    Rewriting {
        inner: client,
        emails: HashMap::from([(chosen.lead.clone(), messy)]),
        hidden: Mutex::new(HashSet::new()),
    }
}

async fn migrate(
    embedded: &Embedded,
    salesforce: &Rewriting,
    config: &RunConfig,
    delta: bool,
) -> ferry_core::run::RunOutcome {
    let ports = embedded.ports_with(
        salesforce,
        &embedded.store,
        &embedded.store,
        &embedded.destination,
    );
    ferry_core::run::migrate_with(
        &ports,
        config,
        &RunOptions {
            delta,
            ..RunOptions::default()
        },
        &NoProgress,
    )
    .await
    .expect("the migration completes")
}

async fn destination_of(embedded: &Embedded, object: &str, id: &str) -> Option<String> {
    let id = SalesforceId::parse(id).unwrap();
    embedded
        .store
        .lookup(&TenantId::new(TENANT), object, std::slice::from_ref(&id))
        .await
        .unwrap()
        .remove(&id)
        .map(|destination| destination.to_string())
}

fn contact_rows_of(embedded: &Embedded, source_id: &str) -> i64 {
    embedded
        .destination_db()
        .query_row(
            "SELECT COUNT(*) FROM contacts WHERE source_id = ?1",
            [source_id],
            |row| row.get(0),
        )
        .unwrap()
}

fn task_contact(embedded: &Embedded, task: &str) -> Option<String> {
    embedded
        .destination_db()
        .query_row(
            "SELECT contact_id FROM tasks WHERE source_id = ?1",
            [task],
            |row| row.get::<_, Option<i64>>(0),
        )
        .unwrap()
        .map(|id| id.to_string())
}

fn merged_issues<'a>(
    report: &'a ferry_model::report::RunReport,
    lead: &str,
) -> Vec<&'a ferry_model::report::RecordIssue> {
    report
        .issues
        .iter()
        .filter(|issue| issue.object == "Lead" && issue.salesforce_id.as_deref() == Some(lead))
        .filter(|issue| issue.reason.starts_with("merged into Contact"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lead_with_a_contacts_email_is_merged_into_the_oldest_such_contact() {
    let simulator = start_org(RECORDS, SEED).await;
    let client = connect(&simulator).await;
    let chosen = choose(&client).await;
    let salesforce = rewriting(client, &chosen).await;
    let dir = tempfile::tempdir().unwrap();
    let embedded = Embedded::open(dir.path());

    let migration = migrate(&embedded, &salesforce, &config("merge-1", true), false).await;
    let report = &migration.report;
    assert!(report.is_balanced(), "{report:?}");

    // Skipped once, with the winning contact named.
    let issues = merged_issues(report, &chosen.lead);
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!(issues[0].kind, IssueKind::Skipped);
    assert!(
        issues[0].reason.contains(&chosen.winner) && issues[0].reason.contains("same email"),
        "{}",
        issues[0].reason
    );
    let leads = report.object("Lead").unwrap();
    let merged_count = report
        .issues
        .iter()
        .filter(|issue| issue.object == "Lead" && issue.reason.starts_with("merged into"))
        .count();
    assert_eq!(
        merged_count, 1,
        "only the rewritten lead shares a contact's email"
    );
    assert!(leads.skipped >= 1);

    // Verification reads the contact as the contact, not as the lead merged into it.
    let mismatches: Vec<_> = report
        .issues
        .iter()
        .filter(|issue| issue.kind == IssueKind::Mismatch)
        .collect();
    assert!(mismatches.is_empty(), "{mismatches:?}");

    // One person in the destination: no row for the lead, its ID-map entry is the winner's.
    assert_eq!(contact_rows_of(&embedded, &chosen.lead), 0);
    assert_eq!(contact_rows_of(&embedded, &chosen.winner), 1);
    let winner = destination_of(&embedded, "Contact", &chosen.winner)
        .await
        .expect("the winner landed");
    assert_eq!(
        destination_of(&embedded, "Lead", &chosen.lead).await,
        Some(winner.clone())
    );
    for other in &chosen.others {
        assert_ne!(
            destination_of(&embedded, "Contact", other).await,
            Some(winner.clone())
        );
    }
    // The lead's tasks link to the contact.
    for task in &chosen.lead_tasks {
        assert_eq!(
            task_contact(&embedded, task),
            Some(winner.clone()),
            "{task}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_option_a_lead_sharing_a_contacts_email_is_created() {
    let simulator = start_org(RECORDS, SEED).await;
    let client = connect(&simulator).await;
    let chosen = choose(&client).await;
    let salesforce = rewriting(client, &chosen).await;
    let dir = tempfile::tempdir().unwrap();
    let embedded = Embedded::open(dir.path());

    let migration = migrate(&embedded, &salesforce, &config("merge-off", false), false).await;
    let report = &migration.report;
    assert!(report.is_balanced(), "{report:?}");
    assert!(merged_issues(report, &chosen.lead).is_empty());
    assert_eq!(contact_rows_of(&embedded, &chosen.lead), 1);
    let lead = destination_of(&embedded, "Lead", &chosen.lead)
        .await
        .expect("the lead landed");
    assert_ne!(
        destination_of(&embedded, "Contact", &chosen.winner).await,
        Some(lead.clone())
    );
    for task in &chosen.lead_tasks {
        assert_eq!(task_contact(&embedded, task), Some(lead.clone()), "{task}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delta_in_which_only_the_lead_changed_merges_it_into_the_contact_of_an_earlier_run() {
    let simulator = start_org(RECORDS, SEED).await;
    let client = connect(&simulator).await;
    let mut chosen = choose(&client).await;
    // Leads changed "now": the delta (high-water mark less its overlap) reads them again.
    let mutation: serde_json::Value = reqwest::Client::new()
        .post(format!(
            "{}/_sim/mutate",
            simulator.base_url().trim_end_matches('/')
        ))
        .json(&serde_json::json!({"object": "Lead", "modify": 20, "delete": 0}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    let leads = query_all(&client, "SELECT Id, ConvertedContactId FROM Lead").await;
    let open: HashSet<String> = leads
        .iter()
        .filter(|lead| text(lead, "ConvertedContactId").is_none())
        .filter_map(|lead| text(lead, "Id"))
        .collect();
    chosen.lead = mutation["modified"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|id| id.as_str())
        .find(|id| open.contains(*id))
        .expect("a changed lead is open")
        .to_owned();
    let salesforce = rewriting(client, &chosen).await;
    // The first run does not see the lead (as if it were created after it).
    salesforce
        .hidden
        .lock()
        .unwrap()
        .insert(chosen.lead.clone());
    let dir = tempfile::tempdir().unwrap();
    let embedded = Embedded::open(dir.path());
    let first = migrate(&embedded, &salesforce, &config("merge-d1", true), false).await;
    assert!(first.report.is_balanced());
    assert_eq!(contact_rows_of(&embedded, &chosen.lead), 0);
    assert_eq!(destination_of(&embedded, "Lead", &chosen.lead).await, None);

    // The delta sees the lead and none of the contacts again.
    salesforce.hidden.lock().unwrap().clear();
    let delta = migrate(&embedded, &salesforce, &config("merge-d2", true), true).await;
    let report = &delta.report;
    assert!(report.is_balanced(), "{report:?}");
    let contacts = report.object("Contact").unwrap();
    // Only the contacts of the overlap before the mark.
    let again = ferry_tests::overlap_rows(
        &salesforce.inner,
        "Contact",
        &first.run.high_water_marks["Contact"],
    )
    .await;
    assert_eq!(
        contacts.extracted, again,
        "the delta does not read the other contacts again"
    );
    assert_eq!(merged_issues(report, &chosen.lead).len(), 1);
    let winner = destination_of(&embedded, "Contact", &chosen.winner).await;
    assert!(winner.is_some());
    assert_eq!(
        destination_of(&embedded, "Lead", &chosen.lead).await,
        winner
    );
    assert_eq!(contact_rows_of(&embedded, &chosen.lead), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dry_run_counts_the_leads_the_merge_would_skip() {
    let simulator = start_org(RECORDS, SEED).await;
    let client = connect(&simulator).await;
    let chosen = choose(&client).await;
    let salesforce = rewriting(client, &chosen).await;
    let mut counts = Vec::new();
    for (run, merge) in [("dry-off", false), ("dry-on", true)] {
        let dir = tempfile::tempdir().unwrap();
        let embedded = Embedded::open(dir.path());
        let ports = embedded.dry_run_ports(&salesforce);
        let (_, report) = dry_run(&ports, &config(run, merge), &BudgetPolicy::default())
            .await
            .unwrap();
        let lead = report
            .objects
            .iter()
            .find(|object| object.object == "Lead")
            .unwrap()
            .clone();
        assert_eq!(
            lead.will_create + lead.will_update + lead.will_skip,
            lead.extracted
        );
        counts.push(lead);
    }
    let (off, on) = (&counts[0], &counts[1]);
    assert_eq!(
        off.skip_reasons
            .get(ferry_core::run::dry_run::MERGED_REASON),
        None
    );
    assert_eq!(
        on.skip_reasons.get(ferry_core::run::dry_run::MERGED_REASON),
        Some(&1)
    );
    assert_eq!(on.will_skip, off.will_skip + 1);
    assert_eq!(on.will_create + 1, off.will_create);
}
