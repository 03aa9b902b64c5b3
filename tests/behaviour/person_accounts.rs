//! Person accounts (an org with the feature on): each person lands as one destination
//! contact, its person contact is skipped as replaced by it, and everything that points at
//! either resolves to that contact.

use ferry_core::run::RunConfig;
use ferry_core::steps::{DiscoverOptions, ExtractConfig};
use ferry_model::ids::{RunId, TenantId};
use ferry_model::mapping::FieldMap;
use ferry_model::report::IssueKind;
use ferry_simulator::SimulatorConfig;
use ferry_simulator::schema::Features;
use ferry_tests::{Embedded, TENANT, connect, mutate, query_all};
use std::collections::{BTreeMap, BTreeSet, HashMap};

async fn start(
    records: u64,
    seed: u64,
    person_accounts: bool,
) -> ferry_simulator::RunningSimulator {
    ferry_simulator::serve(
        SimulatorConfig {
            records,
            seed,
            features: Features {
                person_accounts,
                ..Features::default()
            },
            ..SimulatorConfig::default()
        },
        ([127, 0, 0, 1], 0).into(),
    )
    .await
    .expect("the simulator starts")
}

fn config(run: &str) -> RunConfig {
    config_with(run, ExtractConfig::default().bulk_threshold)
}

fn config_with(run: &str, bulk_threshold: u64) -> RunConfig {
    RunConfig {
        concurrency: Default::default(),
        tenant: TenantId::new(TENANT),
        run_id: RunId::new(run),
        map: FieldMap::builtin(),
        extract: ExtractConfig {
            chunk_records: 97,
            bulk_threshold,
            ..ExtractConfig::default()
        },
        discover: DiscoverOptions::default(),
        pseudonymise: None,
        validation: Default::default(),
        default_owner: None,
        merge_leads_by_email: false,
    }
}

/// (source object, Salesforce id) → destination row id of `table`.
fn row_ids(db: &rusqlite::Connection, table: &str) -> HashMap<(String, String), i64> {
    let mut statement = db
        .prepare(&format!(
            "SELECT source_object, source_id, id FROM {table} WHERE tenant = ?1"
        ))
        .unwrap();
    statement
        .query_map([TENANT], |row| {
            Ok(((row.get(0)?, row.get(1)?), row.get(2)?))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Salesforce id → (company link, contact link) of `table`'s rows.
fn company_and_contact(
    db: &rusqlite::Connection,
    table: &str,
) -> HashMap<String, (Option<i64>, Option<i64>)> {
    let mut statement = db
        .prepare(&format!(
            "SELECT source_id, company_id, contact_id FROM {table} WHERE tenant = ?1"
        ))
        .unwrap();
    statement
        .query_map([TENANT], |row| {
            Ok((row.get(0)?, (row.get(1)?, row.get(2)?)))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// A person's contact row: Salesforce id, first and last name, email, company link and
/// loyalty tier (a custom field value, as JSON).
type LandedPerson = (
    String,
    Option<String>,
    String,
    Option<String>,
    Option<i64>,
    Option<String>,
);

fn text(record: &ferry_model::model::SourceRecord, field: &str) -> Option<String> {
    record
        .get(field)
        .and_then(|v| v.as_str())
        .map(str::to_owned)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_account_lands_as_one_contact_and_links_to_it_resolve() {
    person_accounts_land_as_contacts(config("run-persons")).await;
}

/// The same through Bulk API 2.0, whose CSV pages carry `IsPersonAccount` as text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn person_accounts_land_as_contacts_through_bulk() {
    person_accounts_land_as_contacts(config_with("run-persons-bulk", 1)).await;
}

async fn person_accounts_land_as_contacts(config: RunConfig) {
    let simulator = start(2000, 11, true).await;
    let client = connect(&simulator).await;
    let dir = tempfile::tempdir().unwrap();
    let embedded = Embedded::open(dir.path());

    let accounts = query_all(
        &client,
        "SELECT Id, IsPersonAccount, FirstName, LastName, PersonEmail, PersonContactId, Loyalty_Tier__pc FROM Account",
    )
    .await;
    let persons: BTreeMap<String, ferry_model::model::SourceRecord> = accounts
        .iter()
        .filter(|a| a["IsPersonAccount"] == true)
        .map(|a| (text(a, "Id").unwrap(), a.clone()))
        .collect();
    let person_contacts: BTreeMap<String, String> = persons
        .iter()
        .map(|(id, a)| (text(a, "PersonContactId").unwrap(), id.clone()))
        .collect();
    assert!(persons.len() > 10, "the org has person accounts");
    let business = accounts.len() - persons.len();
    let contacts = query_all(&client, "SELECT Id FROM Contact").await.len();

    let migration = embedded.migrate_with(&client, &config).await.unwrap();
    let report = &migration.report;
    assert!(report.is_balanced(), "{report:?}");
    if config.extract.bulk_threshold <= 1 {
        // Every object went through a Bulk job of its own, the two kinds of account each
        // with its condition: none fell back to REST.
        // (An object read by its parents, ContentDocumentLink, is never a Bulk job.)
        let planned = migration
            .discovery
            .plan
            .objects
            .iter()
            .filter(|object| object.read_by_parent.is_none())
            .count() as u64;
        assert_eq!(simulator.counters()["bulk_create"], planned);
    }

    // Business accounts land as companies, person accounts as contacts, each once.
    let account = report.object("Account").unwrap();
    assert_eq!(
        (account.in_salesforce, account.extracted, account.created),
        (business as u64, business as u64, business as u64)
    );
    let person = report.object("PersonAccount").unwrap();
    assert_eq!(
        (person.in_salesforce, person.extracted, person.created),
        (
            persons.len() as u64,
            persons.len() as u64,
            persons.len() as u64
        )
    );
    assert_eq!(
        (person.failed, person.skipped, person.mismatched),
        (0, 0, 0)
    );
    assert_eq!(person.verified, persons.len() as u64);
    // Person contacts are skipped, each with the reason, the others land.
    let contact = report.object("Contact").unwrap();
    assert_eq!(contact.extracted, contacts as u64);
    assert_eq!(contact.skipped, person_contacts.len() as u64);
    assert_eq!(contact.created, (contacts - person_contacts.len()) as u64);
    assert_eq!(contact.mismatched, 0);
    let skipped: BTreeMap<String, String> = report
        .issues
        .iter()
        .filter(|issue| issue.object == "Contact" && issue.kind == IssueKind::Skipped)
        .map(|issue| (issue.salesforce_id.clone().unwrap(), issue.reason.clone()))
        .collect();
    assert_eq!(
        skipped.keys().cloned().collect::<BTreeSet<_>>(),
        person_contacts.keys().cloned().collect::<BTreeSet<_>>()
    );
    for (contact, reason) in &skipped {
        let account = &person_contacts[contact];
        assert!(
            reason.contains("replaced by its Account") && reason.contains(account.as_str()),
            "{contact}: {reason}"
        );
    }

    // No company is named after a person; each person is one contact with its values.
    let db = embedded.destination_db();
    let companies = row_ids(&db, "companies");
    let people = row_ids(&db, "contacts");
    for id in persons.keys() {
        assert!(
            !companies.contains_key(&("Account".to_owned(), id.clone())),
            "{id}"
        );
        assert!(
            people.contains_key(&("Account".to_owned(), id.clone())),
            "{id}"
        );
    }
    for id in person_contacts.keys() {
        assert!(
            !people.contains_key(&("Contact".to_owned(), id.clone())),
            "{id}"
        );
    }
    let mut statement = db
        .prepare(
            "SELECT c.source_id, c.first_name, c.last_name, c.email, c.company_id,
                    (SELECT value FROM custom_field_values v
                     WHERE v.entity = 'contact' AND v.record_id = c.id AND v.name = 'loyalty_tier')
             FROM contacts c WHERE c.source_object = 'Account'",
        )
        .unwrap();
    let landed: Vec<LandedPerson> = statement
        .query_map([], |row| {
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
                row.get(5)?,
            ))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(landed.len(), persons.len());
    let mut tiers = 0;
    for (id, first, last, email, company, tier) in landed {
        let source = &persons[&id];
        assert_eq!(first, text(source, "FirstName"), "{id}");
        assert_eq!(Some(last), text(source, "LastName"), "{id}");
        let valid_email =
            text(source, "PersonEmail").filter(|email| ferry_core::validate::valid_email(email));
        assert_eq!(email, valid_email, "{id}");
        assert_eq!(company, None, "a person belongs to no company: {id}");
        let expected_tier =
            text(source, "Loyalty_Tier__pc").map(|t| serde_json::json!(t).to_string());
        assert_eq!(tier, expected_tier, "{id}");
        tiers += usize::from(expected_tier.is_some());
    }
    assert!(tiers > 0, "the __pc custom field is kept");

    // Both Salesforce ids map to the one destination contact.
    let rows = embedded.id_map_rows();
    let destination_of = |object: &str, id: &str| -> String {
        let prefix = format!("{TENANT} | {object} | {id} | ");
        let row = rows
            .iter()
            .find(|row| row.starts_with(&prefix))
            .unwrap_or_else(|| panic!("no ID-map entry of {object} {id}"));
        row[prefix.len()..].split(" | ").next().unwrap().to_owned()
    };
    for (contact, account) in &person_contacts {
        let landed = people[&("Account".to_owned(), account.clone())].to_string();
        assert_eq!(destination_of("PersonAccount", account), landed);
        assert_eq!(destination_of("Contact", contact), landed);
    }

    // Opportunities of a person link to its contact, not to a company.
    let person_row = |id: &str| people.get(&("Account".to_owned(), id.to_owned())).copied();
    let opportunities = company_and_contact(&db, "opportunities");
    let mut on_persons = 0;
    for opportunity in query_all(&client, "SELECT Id, AccountId FROM Opportunity").await {
        let id = text(&opportunity, "Id").unwrap();
        let Some(account) = text(&opportunity, "AccountId") else {
            continue;
        };
        let expected = match person_row(&account) {
            Some(row) => {
                on_persons += 1;
                (None, Some(row))
            }
            None => (
                companies.get(&("Account".to_owned(), account)).copied(),
                None,
            ),
        };
        assert_eq!(opportunities[&id], expected, "{id}");
    }
    assert!(on_persons > 0, "some opportunities are a person's");

    // Tasks whose WhatId is a person account, or whose WhoId is a person contact, link to
    // the person's contact.
    let tasks = company_and_contact(&db, "tasks");
    let mut resolved = 0;
    for task in query_all(
        &client,
        "SELECT Id, WhoId, WhatId, IsRecurrence, TaskSubtype FROM Task",
    )
    .await
    {
        let id = text(&task, "Id").unwrap();
        // A series' main record is the series; an email's task is its conversation.
        let Some(&(company, contact)) = tasks.get(&id) else {
            assert!(
                task["IsRecurrence"] == true || task["TaskSubtype"] == "Email",
                "{id}"
            );
            continue;
        };
        if let Some(account) =
            text(&task, "WhoId").and_then(|who| person_contacts.get(&who).cloned())
        {
            assert_eq!(contact, person_row(&account), "{id}");
            resolved += 1;
        }
        if let Some(row) = text(&task, "WhatId").and_then(|what| person_row(&what)) {
            assert_eq!(company, None, "{id}");
            if text(&task, "WhoId").is_none() {
                assert_eq!(contact, Some(row), "{id}");
            }
            assert!(contact.is_some(), "{id}");
            resolved += 1;
        }
    }
    assert!(resolved > 0, "some tasks are a person's");

    // Contact roles of a person contact name the person's contact.
    let mut statement = db
        .prepare("SELECT source_id, contact_id FROM contact_roles WHERE tenant = ?1")
        .unwrap();
    let roles: HashMap<String, Option<i64>> = statement
        .query_map([TENANT], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut person_roles = 0;
    for role in query_all(&client, "SELECT Id, ContactId FROM OpportunityContactRole").await {
        let contact = text(&role, "ContactId").unwrap();
        if let Some(account) = person_contacts.get(&contact) {
            assert_eq!(roles[&text(&role, "Id").unwrap()], person_row(account));
            person_roles += 1;
        }
    }
    assert!(person_roles > 0, "some contact roles are a person's");

    // Every object verified without a difference.
    for object in &report.objects {
        assert_eq!(object.counts.mismatched, 0, "{}", object.object);
    }
    simulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_org_without_person_accounts_plans_as_before() {
    let simulator = start(300, 11, false).await;
    let client = connect(&simulator).await;
    let dir = tempfile::tempdir().unwrap();
    let embedded = Embedded::open(dir.path());
    let migration = embedded
        .migrate_with(&client, &config("run-plain"))
        .await
        .unwrap();
    let report = &migration.report;
    assert!(report.is_balanced(), "{report:?}");
    let plan = &migration.discovery.plan;
    assert!(plan.object("PersonAccount").is_none());
    for object in &plan.objects {
        // (Tasks and events have conditions of their own: their series.)
        assert!(
            object
                .filter
                .as_deref()
                .is_none_or(|filter| !filter.contains("IsPersonAccount")),
            "{}",
            object.object
        );
        assert!(
            !object.soql().contains("IsPersonAccount"),
            "{}",
            object.object
        );
    }
    assert!(plan.object("Contact").unwrap().replaced_by.is_none());
    let live = simulator.record_counts();
    for object in ["Account", "Contact"] {
        let counts = report.object(object).unwrap();
        assert_eq!(counts.created, live[object], "{object}");
        assert_eq!(counts.skipped, 0, "{object}");
    }
    simulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delta_deletes_a_deleted_person_once_through_its_account() {
    let simulator = start(600, 5, true).await;
    let client = connect(&simulator).await;
    let dir = tempfile::tempdir().unwrap();
    let embedded = Embedded::open(dir.path());
    // Salesforce deletes a contact's campaign memberships and account relations with it;
    // the simulated org deletes no child with its parent, so members and relations would
    // hold every deleted person here.
    let config = |run: &str| {
        let mut config = config(run);
        config.map.objects.remove("CampaignMember");
        config.map.objects.remove("AccountContactRelation");
        config
    };
    let full = embedded
        .migrate_with(&client, &config("run-full"))
        .await
        .unwrap();
    assert!(full.report.is_balanced(), "{:?}", full.report);
    let persons = || async {
        query_all(
            &client,
            "SELECT Id, PersonContactId FROM Account WHERE IsPersonAccount = true",
        )
        .await
    };
    let before: BTreeMap<String, String> = persons()
        .await
        .iter()
        .map(|a| (text(a, "Id").unwrap(), text(a, "PersonContactId").unwrap()))
        .collect();
    let changed = mutate(&simulator, "Account", 6, 12).await;
    let deleted: BTreeSet<String> = serde_json::from_value(changed["deleted"].clone()).unwrap();
    let gone: Vec<&String> = before.keys().filter(|id| deleted.contains(*id)).collect();
    assert!(!gone.is_empty(), "some deleted accounts are persons");
    for account in &gone {
        assert!(
            deleted.contains(&before[*account]),
            "its person contact goes too"
        );
    }

    let ports = embedded.ports_with(
        &client,
        &embedded.store,
        &embedded.store,
        &embedded.destination,
    );
    let delta = ferry_core::run::migrate_with(
        &ports,
        &config("run-delta"),
        &ferry_core::run::RunOptions {
            delta: true,
            ..ferry_core::run::RunOptions::default()
        },
        &ferry_model::ports::NoProgress,
    )
    .await
    .unwrap();
    let report = &delta.report;
    assert!(report.is_balanced(), "{report:?}");
    let person = report.object("PersonAccount").unwrap();
    assert_eq!(person.deleted_in_salesforce, gone.len() as u64);
    // The simulated org deletes no child with its account, so a person whose deals or
    // activities are still there is refused by the destination, with the reason.
    assert_eq!(person.deleted + person.delete_failed, gone.len() as u64);
    assert!(person.deleted > 0);
    let refused = report
        .issues
        .iter()
        .filter(|i| i.object == "PersonAccount" && i.kind == IssueKind::Failed)
        .count() as u64;
    assert_eq!(refused, person.delete_failed);
    // The person contacts went with their accounts; the person's one destination contact is
    // deleted once, by its account.
    let contact = report.object("Contact").unwrap();
    assert_eq!(contact.deleted_in_salesforce, gone.len() as u64);
    assert_eq!(contact.deleted, 0, "{contact:?}");
    let modified: BTreeSet<String> = serde_json::from_value(changed["modified"].clone()).unwrap();
    let changed_persons = before.keys().filter(|id| modified.contains(*id)).count() as u64;
    // A changed person is sent again as an update of its contact. So is every other person
    // the delta reads again in the overlap before its mark: the org's owners match no
    // destination user here, so each person landed with its owner link unresolved and its
    // hash cleared, to be sent again by the next run.
    assert!(person.updated >= changed_persons, "{person:?}");
    assert_eq!(
        person.updated,
        person.extracted - person.deleted_in_salesforce,
        "{person:?}"
    );
    assert_eq!(person.created, 0);
    let db = embedded.destination_db();
    let people = row_ids(&db, "contacts");
    let left = gone
        .iter()
        .filter(|account| people.contains_key(&("Account".to_owned(), (**account).clone())))
        .count() as u64;
    assert_eq!(left, person.delete_failed);
    let live = persons().await.len() as u64;
    assert_eq!(
        people
            .keys()
            .filter(|(object, _)| object == "Account")
            .count() as u64,
        live + person.delete_failed
    );
    simulator.shutdown().await;
}

/// What a person account leaves with the business accounts (their custom fields) is a note
/// on how it lands, not a permission problem: `ferry plan` of such an org exits 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plan_of_an_org_with_person_accounts_has_no_permission_problem() {
    let simulator = start(600, 11, true).await;
    let client = connect(&simulator).await;
    let map = FieldMap::builtin();
    let discovery = ferry_core::steps::discover(
        &client,
        TenantId::new(TENANT),
        &map,
        &DiscoverOptions::default(),
    )
    .await
    .unwrap();
    assert!(
        discovery
            .plan
            .notes
            .iter()
            .any(|note| note.object == "PersonAccount" && note.field.is_none())
    );
    let preview = ferry_core::preview::PlanPreview::build(
        &discovery,
        &map,
        &ExtractConfig::default(),
        &Default::default(),
    );
    assert_eq!(preview.permission_problems, Vec::<String>::new());
    assert!(
        !preview
            .skipped_objects
            .iter()
            .any(|skipped| skipped.name == "PersonAccount")
    );
    assert!(
        preview
            .objects
            .iter()
            .any(|object| object.name == "PersonAccount")
    );
    simulator.shutdown().await;
}
