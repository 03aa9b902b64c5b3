//! Pseudonymised imports: chosen values never reach staging or the destination in clear,
//! stay valid of their kind, and duplicates stay duplicates.

use ferry_core::pseudonymise::{Pseudonymise, PseudonymiseConfig, Pseudonymiser};
use ferry_core::run::RunConfig;
use ferry_core::steps::{DiscoverOptions, ExtractConfig};
use ferry_model::ids::{RunId, TenantId};
use ferry_model::secret::Secret;
use ferry_tests::{Embedded, TENANT, connect, query_all, start_org};
use std::collections::{BTreeMap, HashSet};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pseudonymised_migration_hides_contacts_but_keeps_their_shape_and_duplicates() {
    let simulator = start_org(2_000, 12).await;
    let client = connect(&simulator).await;
    let dir = tempfile::tempdir().unwrap();
    let embedded = Embedded::open(dir.path());
    let config: PseudonymiseConfig = serde_json::from_str(r#"{"objects": ["Contact"]}"#).unwrap();
    let key = Secret::new("a test key of at least sixteen bytes");
    let run = RunConfig {
        concurrency: Default::default(),
        tenant: TenantId::new(TENANT),
        run_id: RunId::new("run-pseudo"),
        map: ferry_tests::companies_and_contacts_map(),
        extract: ExtractConfig::default(),
        discover: DiscoverOptions::default(),
        pseudonymise: Some(Pseudonymise {
            config,
            pseudonymiser: Pseudonymiser::new(&key).unwrap(),
        }),
        validation: Default::default(),
        default_owner: None,
        merge_leads_by_email: false,
    };
    let report = embedded.migrate_with(&client, &run).await.unwrap().report;
    assert!(report.is_balanced());

    let source = query_all(&client, "SELECT Id, LastName, Email FROM Contact").await;
    let db = embedded.destination_db();
    let mut statement = db
        .prepare("SELECT source_id, last_name, email FROM contacts")
        .unwrap();
    let landed: BTreeMap<String, (Option<String>, Option<String>)> = statement
        .query_map([], |row| Ok((row.get(0)?, (row.get(1)?, row.get(2)?))))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(landed.len(), source.len());
    let mut source_emails: BTreeMap<String, usize> = BTreeMap::new();
    let mut landed_emails: BTreeMap<String, usize> = BTreeMap::new();
    for contact in &source {
        let id = contact["Id"].as_str().unwrap();
        let (last_name, email) = &landed[id];
        let original = contact["LastName"].as_str().unwrap();
        assert_ne!(
            last_name.as_deref(),
            Some(original),
            "{id}: the name is hidden"
        );
        if let (Some(original), Some(email)) = (contact["Email"].as_str(), email) {
            assert_ne!(original, email);
            assert!(ferry_core::validate::valid_email(email), "{email}");
            *source_emails.entry(original.to_lowercase()).or_default() += 1;
            *landed_emails.entry(email.clone()).or_default() += 1;
        }
    }
    // The same duplicate structure: as many addresses shared, by as many contacts.
    let shape = |counts: &BTreeMap<String, usize>| {
        let mut sizes: Vec<usize> = counts.values().copied().filter(|n| *n > 1).collect();
        sizes.sort_unstable();
        sizes
    };
    assert!(!shape(&source_emails).is_empty());
    assert_eq!(shape(&landed_emails), shape(&source_emails));
    // Companies were not chosen: they land as they are.
    let accounts: HashSet<String> = query_all(&client, "SELECT Name FROM Account")
        .await
        .iter()
        .map(|a| a["Name"].as_str().unwrap().to_owned())
        .collect();
    let mut names = db.prepare("SELECT name FROM companies").unwrap();
    let landed_names: HashSet<String> = names
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(landed_names, accounts);
    simulator.shutdown().await;
}

/// A person account is a person: choosing `Contact` hides people, whether Salesforce keeps
/// them as contacts or as person accounts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pseudonymising_contacts_hides_person_accounts_too() {
    let simulator = ferry_simulator::serve(
        ferry_simulator::SimulatorConfig {
            records: 1_500,
            seed: 14,
            features: ferry_simulator::schema::Features {
                person_accounts: true,
                ..Default::default()
            },
            ..Default::default()
        },
        ([127, 0, 0, 1], 0).into(),
    )
    .await
    .unwrap();
    let client = connect(&simulator).await;
    let dir = tempfile::tempdir().unwrap();
    let embedded = Embedded::open(dir.path());
    let config: PseudonymiseConfig = serde_json::from_str(r#"{"objects": ["Contact"]}"#).unwrap();
    let key = Secret::new("a test key of at least sixteen bytes");
    let mut run = embedded.config("run-pseudo-persons", 500);
    run.pseudonymise = Some(Pseudonymise {
        config,
        pseudonymiser: Pseudonymiser::new(&key).unwrap(),
    });
    let report = embedded.migrate_with(&client, &run).await.unwrap().report;
    assert!(report.is_balanced());
    let persons = report.object("PersonAccount").unwrap();
    assert!(persons.created > 0);
    // The spot check re-reads people from Salesforce and pseudonymises them alike.
    assert!(persons.spot_checked > 0);
    assert_eq!(persons.spot_mismatched, 0);

    let people = query_all(
        &client,
        "SELECT Id, Name, LastName, PersonEmail FROM Account WHERE IsPersonAccount = true",
    )
    .await;
    assert!(!people.is_empty());
    let db = embedded.destination_db();
    for person in &people {
        let id = person["Id"].as_str().unwrap();
        let (last_name, email): (Option<String>, Option<String>) = db
            .query_row(
                "SELECT last_name, email FROM contacts WHERE source_object = 'Account' AND source_id = ?1",
                [id],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .unwrap();
        assert_ne!(last_name.as_deref(), person["LastName"].as_str(), "{id}");
        if let Some(original) = person["PersonEmail"].as_str() {
            assert_ne!(email.as_deref(), Some(original), "{id}");
        }
    }
    // Business accounts were not chosen: they land as they are.
    let companies = query_all(
        &client,
        "SELECT Id, Name FROM Account WHERE IsPersonAccount = false",
    )
    .await;
    for company in &companies {
        let name: String = db
            .query_row(
                "SELECT name FROM companies WHERE source_id = ?1",
                [company["Id"].as_str().unwrap()],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(Some(name.as_str()), company["Name"].as_str());
    }
    simulator.shutdown().await;
}
