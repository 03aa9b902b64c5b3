//! Queue owners and inactive users (issue 15): a lead a Salesforce queue owns lands with
//! its team, each queue once, or, by option, with the run's default owner; the dry run
//! lists the queues beside the unmatched users; a matched user who left the company (an
//! inactive Salesforce user) reaches the destination as inactive.

use ferry_core::run::RunConfig;
use ferry_core::steps::{DiscoverOptions, ExtractConfig};
use ferry_model::ids::{RunId, TenantId};
use ferry_model::mapping::FieldMap;
use ferry_model::plan::QueueOwners;
use ferry_model::ports::Destination as _;
use ferry_salesforce::SalesforceClient;
use ferry_tests::{Embedded, TENANT, connect, query_all, start_org};
use std::collections::{BTreeMap, BTreeSet, HashMap};

const RECORDS: u64 = 1_500;
const SEED: u64 = 41;
const DEFAULT_OWNER: &str = "queues.fallback@example.com";

/// Users, queues and leads (with the accounts and contacts converted leads became).
fn map() -> FieldMap {
    let mut map = FieldMap::builtin();
    map.custom_objects = false;
    map.objects.retain(|name, _| {
        matches!(
            name.as_str(),
            "User" | "Group" | "Lead" | "Account" | "Contact"
        )
    });
    map
}

fn config(run: &str, queues: QueueOwners) -> RunConfig {
    RunConfig {
        concurrency: Default::default(),
        tenant: TenantId::new(TENANT),
        run_id: RunId::new(run),
        map: map(),
        extract: ExtractConfig {
            chunk_records: 113,
            ..ExtractConfig::default()
        },
        discover: DiscoverOptions {
            queues,
            ..DiscoverOptions::default()
        },
        pseudonymise: None,
        validation: Default::default(),
        default_owner: Some(DEFAULT_OWNER.to_owned()),
        merge_leads_by_email: false,
    }
}

fn text(record: &ferry_model::model::SourceRecord, field: &str) -> String {
    record
        .get(field)
        .and_then(|value| value.as_str())
        .unwrap_or_default()
        .to_owned()
}

/// Queue id → name, and public group ids, as Salesforce holds them.
async fn groups(client: &SalesforceClient) -> (BTreeMap<String, String>, BTreeSet<String>) {
    let rows = query_all(client, "SELECT Id, Name, Type FROM Group").await;
    let queues = rows
        .iter()
        .filter(|row| text(row, "Type") == "Queue")
        .map(|row| (text(row, "Id"), text(row, "Name")))
        .collect();
    let others = rows
        .iter()
        .filter(|row| text(row, "Type") != "Queue")
        .map(|row| text(row, "Id"))
        .collect();
    (queues, others)
}

/// Unconverted lead id → its queue's id, for the leads a queue owns.
async fn queued_leads(client: &SalesforceClient) -> BTreeMap<String, String> {
    query_all(
        client,
        "SELECT Id, OwnerId FROM Lead WHERE IsConverted = false",
    )
    .await
    .iter()
    .filter(|row| text(row, "OwnerId").starts_with("00G"))
    .map(|row| (text(row, "Id"), text(row, "OwnerId")))
    .collect()
}

/// Lead id → (owner_id, team_id) of its destination contact.
fn lead_links(db: &rusqlite::Connection) -> HashMap<String, (Option<i64>, Option<i64>)> {
    let mut statement = db
        .prepare("SELECT source_id, owner_id, team_id FROM contacts WHERE tenant = ?1 AND source_object = 'Lead'")
        .unwrap();
    statement
        .query_map([TENANT], |row| {
            Ok((row.get(0)?, (row.get(1)?, row.get(2)?)))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

async fn seed_users(embedded: &Embedded, client: &SalesforceClient) -> Option<i64> {
    let tenant = TenantId::new(TENANT);
    // Every other Salesforce user has a destination user with the same email.
    for (index, user) in query_all(client, "SELECT Id, Email, Name FROM User ORDER BY Id")
        .await
        .iter()
        .enumerate()
    {
        if index % 2 == 0 {
            embedded
                .destination
                .add_user(&tenant, &text(user, "Email"), &text(user, "Name"))
                .await
                .unwrap();
        }
    }
    let id = embedded
        .destination
        .add_user(&tenant, DEFAULT_OWNER, "Fallback Owner")
        .await
        .unwrap();
    id.as_str().parse().ok()
}

#[tokio::test]
async fn queue_owned_leads_land_with_their_team_and_each_queue_is_one_team() {
    let simulator = start_org(RECORDS, SEED).await;
    let client = connect(&simulator).await;
    let dir = tempfile::tempdir().unwrap();
    let embedded = Embedded::open(dir.path());
    seed_users(&embedded, &client).await;
    let outcome = embedded
        .migrate_with(&client, &config("queues-teams", QueueOwners::Team))
        .await
        .unwrap();
    assert!(outcome.report.is_balanced(), "{:?}", outcome.report);
    assert!(
        outcome.report.is_complete(),
        "{:?}",
        outcome.report.salesforce_differences()
    );

    let (queues, public_groups) = groups(&client).await;
    assert!(queues.len() >= 3 && !public_groups.is_empty());
    let group = outcome.report.object("Group").expect("Group is migrated");
    assert_eq!(group.in_salesforce, queues.len() as u64);
    assert_eq!(group.created, queues.len() as u64);
    assert!(
        outcome
            .discovery
            .plan
            .notes
            .iter()
            .any(|note| note.object == "Group" && note.reason.contains("Type = 'Queue'"))
    );

    // One team per queue, none for a public group.
    let db = embedded.destination_db();
    let mut statement = db
        .prepare(
            "SELECT source_id, id, name FROM teams WHERE tenant = ?1 AND source_object = 'Group'",
        )
        .unwrap();
    let teams: BTreeMap<String, (i64, String)> = statement
        .query_map([TENANT], |row| {
            Ok((row.get(0)?, (row.get(1)?, row.get(2)?)))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        teams.keys().cloned().collect::<BTreeSet<_>>(),
        queues.keys().cloned().collect::<BTreeSet<_>>()
    );
    for (id, (_, name)) in &teams {
        assert_eq!(Some(name), queues.get(id));
    }
    // Each team lists the objects its queue may own, as QueueSobject says.
    let mut may_own: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for row in query_all(&client, "SELECT QueueId, SobjectType FROM QueueSobject").await {
        may_own
            .entry(text(&row, "QueueId"))
            .or_default()
            .insert(text(&row, "SobjectType"));
    }
    let mut statement = db
        .prepare("SELECT source_id, objects FROM teams WHERE tenant = ?1")
        .unwrap();
    let listed: BTreeMap<String, String> = statement
        .query_map([TENANT], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for (id, objects) in &listed {
        let objects: BTreeSet<String> = serde_json::from_str(objects).unwrap();
        assert_eq!(Some(&objects), may_own.get(id), "team {id}");
    }
    assert_eq!(group.verified, queues.len() as u64);
    assert_eq!(group.mismatched, 0);

    // Every queue-owned lead lands with its queue's team and no owner; the others have no
    // team.
    let queued = queued_leads(&client).await;
    assert!(!queued.is_empty());
    let links = lead_links(&db);
    for (lead, queue) in &queued {
        let (owner, team) = links.get(lead).copied().expect("the lead landed");
        assert_eq!(team, teams.get(queue).map(|(id, _)| *id), "lead {lead}");
        assert_eq!(owner, None, "lead {lead}");
    }
    for (lead, (_, team)) in &links {
        if !queued.contains_key(lead) {
            assert_eq!(*team, None, "lead {lead} is a user's");
        }
    }
    let lead_counts = outcome.report.object("Lead").unwrap();
    assert_eq!(lead_counts.links_unresolved, 0, "{:?}", outcome.report);
}

#[tokio::test]
async fn with_the_option_queue_owned_leads_get_the_default_owner() {
    let simulator = start_org(RECORDS, SEED).await;
    let client = connect(&simulator).await;
    let dir = tempfile::tempdir().unwrap();
    let embedded = Embedded::open(dir.path());
    let fallback = seed_users(&embedded, &client).await;
    let outcome = embedded
        .migrate_with(
            &client,
            &config("queues-default-owner", QueueOwners::DefaultOwner),
        )
        .await
        .unwrap();
    assert!(outcome.report.is_balanced(), "{:?}", outcome.report);
    assert!(
        outcome.report.is_complete(),
        "{:?}",
        outcome.report.salesforce_differences()
    );

    let (queues, _) = groups(&client).await;
    let group = outcome.report.object("Group").expect("Group is read");
    assert_eq!(group.skipped, queues.len() as u64);
    assert_eq!(group.created, 0);
    let reasons: Vec<&str> = outcome
        .report
        .issues
        .iter()
        .filter(|issue| issue.object == "Group")
        .map(|issue| issue.reason.as_str())
        .collect();
    assert_eq!(reasons.len(), queues.len());
    assert!(
        reasons.iter().all(|reason| reason.contains(DEFAULT_OWNER)),
        "{reasons:?}"
    );

    let db = embedded.destination_db();
    let teams: i64 = db
        .query_row("SELECT COUNT(*) FROM teams", [], |row| row.get(0))
        .unwrap();
    assert_eq!(teams, 0);
    let queued = queued_leads(&client).await;
    let links = lead_links(&db);
    for lead in queued.keys() {
        assert_eq!(
            links.get(lead).copied(),
            Some((fallback, None)),
            "lead {lead}"
        );
    }
    assert_eq!(outcome.report.object("Lead").unwrap().links_unresolved, 0);
}

#[tokio::test]
async fn a_matched_inactive_user_lands_inactive() {
    let simulator = start_org(RECORDS, SEED).await;
    let client = connect(&simulator).await;
    let dir = tempfile::tempdir().unwrap();
    let embedded = Embedded::open(dir.path());
    let tenant = TenantId::new(TENANT);
    let users = query_all(&client, "SELECT Id, Email, Name, IsActive FROM User").await;
    for user in &users {
        embedded
            .destination
            .add_user(&tenant, &text(user, "Email"), &text(user, "Name"))
            .await
            .unwrap();
    }
    let inactive: BTreeSet<String> = users
        .iter()
        .filter(|user| user.get("IsActive") == Some(&serde_json::Value::Bool(false)))
        .map(|user| text(user, "Email").to_lowercase())
        .collect();
    assert!(!inactive.is_empty() && inactive.len() < users.len());
    let outcome = embedded
        .migrate_with(&client, &config("queues-inactive", QueueOwners::Team))
        .await
        .unwrap();
    assert!(outcome.report.is_balanced() && outcome.report.is_complete());
    let counts = outcome.report.object("User").unwrap();
    assert_eq!(counts.updated, users.len() as u64);
    assert_eq!(counts.mismatched, 0);
    assert_eq!(counts.verified, users.len() as u64);
    for user in embedded.destination.users(&tenant).await.unwrap() {
        let email = user.email.to_lowercase();
        if email == DEFAULT_OWNER {
            continue;
        }
        assert_eq!(user.active, Some(!inactive.contains(&email)), "{email}");
    }
}

#[tokio::test]
async fn the_dry_run_lists_queues_with_what_each_owns_and_where_it_goes() {
    use ferry_core::run::dry_run::{dry_run, render_html, render_markdown};
    let simulator = start_org(RECORDS, SEED).await;
    let client = connect(&simulator).await;
    let dir = tempfile::tempdir().unwrap();
    let embedded = Embedded::open(dir.path());
    seed_users(&embedded, &client).await;
    let (queues, public_groups) = groups(&client).await;
    let mut owned: BTreeMap<String, u64> = BTreeMap::new();
    for row in query_all(&client, "SELECT Id, OwnerId FROM Lead").await {
        let owner = text(&row, "OwnerId");
        if owner.starts_with("00G") {
            *owned.entry(owner).or_default() += 1;
        }
    }
    assert!(!owned.is_empty());

    for (queues_option, goes_to) in [
        (QueueOwners::Team, "team".to_owned()),
        (
            QueueOwners::DefaultOwner,
            format!("default owner {DEFAULT_OWNER}"),
        ),
    ] {
        let ports = embedded.dry_run_ports(&client);
        let run = format!("queues-dry-{}", queues_option.as_str());
        let (_, report) = dry_run(
            &ports,
            &config(&run, queues_option),
            &ferry_model::budget::BudgetPolicy::default(),
        )
        .await
        .unwrap();
        let listed: BTreeMap<&str, &ferry_core::run::dry_run::QueueEntry> = report
            .queues
            .iter()
            .map(|queue| (queue.salesforce_id.as_str(), queue))
            .collect();
        assert_eq!(
            listed
                .keys()
                .map(|id| (*id).to_owned())
                .collect::<BTreeSet<_>>(),
            queues.keys().cloned().collect::<BTreeSet<_>>(),
            "every queue, and no public group ({public_groups:?}), is listed"
        );
        for (id, queue) in &listed {
            assert_eq!(Some(&queue.name), queues.get(*id));
            let leads = owned.get(*id).copied().unwrap_or(0);
            assert_eq!(queue.owns.get("Lead").copied().unwrap_or(0), leads, "{id}");
            assert_eq!(queue.goes_to, goes_to);
        }
        let markdown = render_markdown(&report);
        let html = render_html(&report);
        for queue in queues.values() {
            assert!(markdown.contains(queue.as_str()), "{markdown}");
            assert!(html.contains(queue.as_str()));
        }
        assert!(markdown.contains("## Queues"));
        let group = report
            .objects
            .iter()
            .find(|object| object.object == "Group")
            .unwrap();
        match queues_option {
            QueueOwners::Team => assert_eq!(group.will_create, queues.len() as u64),
            QueueOwners::DefaultOwner => {
                assert_eq!(
                    (group.will_create, group.will_skip),
                    (0, queues.len() as u64)
                )
            }
        }
    }
}
