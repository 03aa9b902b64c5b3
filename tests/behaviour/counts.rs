//! "In Salesforce" is an exact count (COUNT() through queryAll, recycle bin left out), so a
//! run that read less than Salesforce holds is never reported complete, even when every
//! record it did read has an outcome.

use ferry_model::mapping::FieldMap;
use ferry_simulator::org::{INTEGRATION_USERNAME, Org};
use ferry_simulator::schema::Generated;
use ferry_tests::wrappers::{Reader, Reading};
use ferry_tests::{Embedded, connect, start_org};

/// Reads through `query` where Ferry asks for `queryAll`: the blind view Ferry used to read
/// through, which does not see archived activities.
struct QueryOnly;

impl Reading for QueryOnly {
    fn include_deleted(&self, _asked: bool) -> bool {
        false
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_read_less_than_salesforce_holds_is_not_complete() {
    const RECORDS: u64 = 800;
    const SEED: u64 = 31;
    let simulator = start_org(RECORDS, SEED).await;
    let salesforce = Reader {
        inner: connect(&simulator).await,
        reading: QueryOnly,
    };
    let dir = tempfile::tempdir().unwrap();
    let embedded = Embedded::open(dir.path());
    let mut config = embedded.config("run-blind", 200);
    config.map = FieldMap::builtin();
    config.default_owner = Some(INTEGRATION_USERNAME.to_owned());
    config.discover.objects = Some(
        ["User", "Account", "Contact", "Lead", "Opportunity", "Task"]
            .map(str::to_owned)
            .to_vec(),
    );
    let ports = embedded.ports_with(
        &salesforce,
        &embedded.store,
        &embedded.store,
        &embedded.destination,
    );
    let report = ferry_core::run::migrate(&ports, &config)
        .await
        .unwrap()
        .report;

    // Every record read has its outcome ...
    assert!(report.is_balanced(), "{report:?}");
    // ... but the archived tasks were never read, and the report says so by name.
    let org = Org::new(SEED, RECORDS);
    // The main records of recurring series are the TaskSeries variant, counted apart.
    let master = |i: u64| {
        org.series_of(Generated::Task, i) == Some(ferry_simulator::org::SeriesRole::Master)
            && !org.is_deleted(Generated::Task, i)
    };
    let masters = (0..org.count(Generated::Task))
        .filter(|&i| master(i))
        .count() as u64;
    let archived_masters = (0..org.count(Generated::Task))
        .filter(|&i| master(i) && org.is_archived(Generated::Task, i))
        .count() as u64;
    let archived = org.archived_count(Generated::Task) - archived_masters;
    assert!(archived > 0);
    let tasks = report.object("Task").unwrap();
    assert_eq!(
        tasks.in_salesforce,
        simulator.record_counts()["Task"] - masters
    );
    assert_eq!(tasks.extracted, tasks.in_salesforce - archived);
    let differences: Vec<_> = report.salesforce_differences().into_iter().collect();
    assert_eq!(
        differences.len(),
        1 + usize::from(archived_masters > 0),
        "{differences:?}"
    );
    let task = differences.iter().find(|d| d.object == "Task").unwrap();
    assert_eq!(task.missing(), i128::from(archived));
    assert!(
        task.to_string().starts_with(&format!(
            "Task: {} in Salesforce, {} accounted for",
            tasks.in_salesforce, tasks.extracted
        )),
        "{}",
        task
    );
    assert!(!report.is_complete());
}
