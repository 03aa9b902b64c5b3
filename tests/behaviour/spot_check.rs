//! The spot check: sampled records re-read from Salesforce by Id after the load and compared,
//! through the map, with the destination. It catches what verification cannot: verification
//! compares the destination with what Ferry sent, so a value lost while reading the org
//! (here: a reader that drops every contact's `Phone` from the pages extraction reads) was
//! sent without it and verifies; the spot check, going back to Salesforce, finds it.

use async_trait::async_trait;
use ferry_core::run::{RunConfig, RunOptions};
use ferry_core::steps::{DEFAULT_SPOT_CHECK_RECORDS, DiscoverOptions, ExtractConfig};
use ferry_model::budget::ApiBudget;
use ferry_model::error::PortError;
use ferry_model::ids::{RunId, TenantId};
use ferry_model::mapping::FieldMap;
use ferry_model::model::{ObjectDescription, ObjectSummary};
use ferry_model::ports::{
    BlobFetch, BulkJobStatus, Descriptions, NoProgress, QueryPage, QueryPageRequest, SalesforceApi,
};
use ferry_model::report::{IssueKind, RunReport};
use ferry_salesforce::SalesforceClient;
use ferry_tests::{Embedded, TENANT, connect, start_org};
use std::collections::BTreeMap;

/// The real client, except that the pages extraction reads of `object` (every query but the
/// spot check's `WHERE Id IN (...)`) come without `field`: a reader with a bug.
struct Lossy {
    inner: SalesforceClient,
    object: &'static str,
    field: &'static str,
}

impl Lossy {
    fn lose(&self, soql: Option<&str>, mut page: QueryPage) -> QueryPage {
        let extracting = soql.is_none_or(|soql| !soql.contains("WHERE Id IN"));
        for record in &mut page.records {
            let of_object = record
                .get("attributes")
                .and_then(|attributes| attributes.get("type"))
                .and_then(|kind| kind.as_str())
                == Some(self.object);
            if extracting && of_object && record.contains_key(self.field) {
                record.insert(self.field.to_owned(), serde_json::Value::Null);
            }
        }
        page
    }
}

#[async_trait]
impl SalesforceApi for Lossy {
    async fn list_objects(&self) -> Result<Vec<ObjectSummary>, PortError> {
        SalesforceApi::list_objects(&self.inner).await
    }
    async fn describe_object(&self, name: &str) -> Result<ObjectDescription, PortError> {
        SalesforceApi::describe_object(&self.inner, name).await
    }
    async fn describe_objects(&self, names: &[String]) -> Result<Descriptions, PortError> {
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
        let soql = match &request {
            QueryPageRequest::Start { soql, .. } => Some(soql.clone()),
            QueryPageRequest::Continue { .. } => None,
        };
        let page = SalesforceApi::query_page(&self.inner, request).await?;
        Ok(self.lose(soql.as_deref(), page))
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
        SalesforceApi::bulk_query_results(&self.inner, job, locator, max_records).await
    }
}

fn config(run: &str) -> RunConfig {
    RunConfig {
        concurrency: Default::default(),
        tenant: TenantId::new(TENANT),
        run_id: RunId::new(run),
        map: FieldMap::builtin(),
        extract: ExtractConfig {
            chunk_records: 100,
            // Every object through REST pages, where the lossy reader sits.
            bulk_threshold: u64::MAX,
            ..ExtractConfig::default()
        },
        discover: DiscoverOptions {
            objects: Some(
                ["User", "Account", "Contact", "Opportunity"]
                    .map(str::to_owned)
                    .to_vec(),
            ),
            ..DiscoverOptions::default()
        },
        pseudonymise: None,
        validation: Default::default(),
        default_owner: None,
        merge_leads_by_email: false,
    }
}

async fn migrate(dir: &std::path::Path, salesforce: &dyn SalesforceApi, run: &str) -> RunReport {
    let embedded = Embedded::open(dir);
    let ports = embedded.ports_with(
        salesforce,
        &embedded.store,
        &embedded.store,
        &embedded.destination,
    );
    ferry_core::run::migrate_with(&ports, &config(run), &RunOptions::default(), &NoProgress)
        .await
        .expect("the migration completes")
        .report
}

fn counts<'a>(report: &'a RunReport, object: &str) -> &'a ferry_model::report::ObjectCounts {
    &report
        .objects
        .iter()
        .find(|o| o.object == object)
        .unwrap_or_else(|| panic!("{object} is in the report"))
        .counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_run_spot_checks_a_sample_of_every_object_and_finds_nothing() {
    let simulator = start_org(600, 17).await;
    let client = connect(&simulator).await;
    let dir = tempfile::tempdir().unwrap();
    let report = migrate(dir.path(), &client, "clean").await;
    for object in ["Account", "Contact", "Opportunity"] {
        let counts = counts(&report, object);
        assert_eq!(
            counts.spot_checked,
            (DEFAULT_SPOT_CHECK_RECORDS as u64).min(counts.created),
            "{object}: {counts:?}"
        );
        assert_eq!(counts.spot_mismatched, 0, "{object}: {:?}", report.issues);
    }
    // Users are matched, never sent: nothing of theirs to re-read.
    assert_eq!(counts(&report, "User").spot_checked, 0);
    simulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_spot_check_finds_a_value_lost_at_extraction_that_verification_cannot() {
    let simulator = start_org(600, 17).await;
    let lossy = Lossy {
        inner: connect(&simulator).await,
        object: "Contact",
        field: "Phone",
    };
    let dir = tempfile::tempdir().unwrap();
    let report = migrate(dir.path(), &lossy, "lossy").await;

    let contacts = counts(&report, "Contact");
    // Verification compares with what was sent, which already lacked the phones.
    assert!(contacts.verified > 0, "{contacts:?}");
    assert_eq!(contacts.mismatched, 0, "{contacts:?}");
    // The spot check read them again from Salesforce.
    assert_eq!(
        contacts.spot_checked, DEFAULT_SPOT_CHECK_RECORDS as u64,
        "{contacts:?}"
    );
    assert!(contacts.spot_mismatched > 0, "{contacts:?}");
    let phone_issues: Vec<_> = report
        .issues
        .iter()
        .filter(|issue| issue.object == "Contact" && issue.kind == IssueKind::Mismatch)
        .collect();
    assert_eq!(phone_issues.len() as u64, contacts.spot_mismatched);
    for issue in phone_issues {
        assert_eq!(issue.field.as_deref(), Some("phone"), "{issue:?}");
        assert!(
            issue
                .reason
                .starts_with("spot check (re-read from Salesforce): field phone of contact")
                && issue.reason.contains("read back nothing"),
            "{}",
            issue.reason
        );
        assert!(issue.salesforce_id.is_some());
    }
    // Other objects were read right.
    assert_eq!(counts(&report, "Account").spot_mismatched, 0);
    simulator.shutdown().await;
}
