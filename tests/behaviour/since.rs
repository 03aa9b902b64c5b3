//! The start date (`--since`): only records created on or after it are migrated; the run is
//! complete against Salesforce's count of those; a link to an older record that is not
//! migrated is reported per record, never silently empty.

use ferry_model::report::IssueKind;
use ferry_tests::{Embedded, connect, query_all, start_org};
use std::collections::{BTreeMap, BTreeSet};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_created_before_the_start_date_are_left_out_and_links_to_them_are_reported() {
    let simulator = start_org(1_200, 52).await;
    let client = connect(&simulator).await;
    let contacts = query_all(&client, "SELECT Id, CreatedDate, AccountId FROM Contact").await;
    let accounts = query_all(&client, "SELECT Id, CreatedDate FROM Account").await;
    // The start date: the day of the median contact, so both sides have records.
    let mut days: Vec<&str> = contacts
        .iter()
        .map(|contact| &contact["CreatedDate"].as_str().unwrap()[..10])
        .collect();
    days.sort_unstable();
    let since_text = days[days.len() / 2];
    let since = ferry_core::steps::parse_start_date(since_text).unwrap();
    let on_or_after = |record: &ferry_model::model::SourceRecord| {
        &record["CreatedDate"].as_str().unwrap()[..10] >= since_text
    };
    let kept_accounts: BTreeSet<&str> = accounts
        .iter()
        .filter(|account| on_or_after(account))
        .map(|account| account["Id"].as_str().unwrap())
        .collect();
    let kept_contacts: Vec<&ferry_model::model::SourceRecord> = contacts
        .iter()
        .filter(|contact| on_or_after(contact))
        .collect();
    assert!(!kept_contacts.is_empty() && kept_contacts.len() < contacts.len());

    let dir = tempfile::tempdir().unwrap();
    let embedded = Embedded::open(dir.path());
    let mut config = embedded.config("run-since", 200);
    config.discover.created_since = Some(since);
    let report = embedded
        .migrate_with(&client, &config)
        .await
        .unwrap()
        .report;
    assert!(report.is_balanced(), "{report:?}");
    assert!(
        report.is_complete(),
        "{:?}",
        report.salesforce_differences()
    );
    let counts = report.object("Contact").unwrap();
    assert_eq!(counts.in_salesforce, kept_contacts.len() as u64);
    assert_eq!(counts.created, kept_contacts.len() as u64);
    assert_eq!(
        report.object("Account").unwrap().created,
        kept_accounts.len() as u64
    );

    // Exactly the kept contacts landed, each linked to its company when that company was
    // created after the start date too, and reported otherwise.
    let db = embedded.destination_db();
    let mut statement = db
        .prepare("SELECT c.source_id, p.source_id FROM contacts c LEFT JOIN companies p ON p.id = c.company_id")
        .unwrap();
    let landed: BTreeMap<String, Option<String>> = statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(landed.len(), kept_contacts.len());
    let unresolved: BTreeSet<&str> = report
        .issues
        .iter()
        .filter(|issue| {
            issue.kind == IssueKind::UnresolvedLink
                && issue.object == "Contact"
                && issue.field.as_deref() == Some("AccountId")
        })
        .filter_map(|issue| issue.salesforce_id.as_deref())
        .collect();
    let mut older_parents = 0;
    for contact in &kept_contacts {
        let id = contact["Id"].as_str().unwrap();
        let account = contact["AccountId"].as_str();
        let company = landed[id].as_deref();
        match account {
            Some(account) if kept_accounts.contains(account) => {
                assert_eq!(company, Some(account), "{id}");
            }
            Some(_) => {
                assert_eq!(company, None, "{id}");
                assert!(
                    unresolved.contains(id),
                    "{id}: the older company is reported"
                );
                older_parents += 1;
            }
            None => assert_eq!(company, None, "{id}"),
        }
    }
    assert!(older_parents > 0);
    assert_eq!(unresolved.len(), older_parents);
    simulator.shutdown().await;
}
