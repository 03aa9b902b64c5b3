//! Cases land as cases: their comments, emails and attachments attached to them, queue
//! owners as teams, the case hierarchy patched after load; rollback removes them and a
//! delta picks up what changed. The generator of the same seed is the ground truth.

use ferry_core::run::{RollbackRunPorts, RunConfig, RunOptions, migrate_with, rollback};
use ferry_core::steps::{DiscoverOptions, ExtractConfig};
use ferry_model::ids::{RunId, TenantId};
use ferry_model::mapping::FieldMap;
use ferry_model::ports::NoProgress;
use ferry_simulator::org::{CASE_COMMENTS, INTEGRATION_USERNAME, Org};
use ferry_simulator::schema::{Generated, generated_object};
use ferry_simulator::value::Val;
use ferry_tests::{Embedded, TENANT, connect, mutate, start_org};
use std::collections::HashMap;

const RECORDS: u64 = 1_500;
const SEED: u64 = 31;

const OBJECTS: &[&str] = &[
    "User",
    "Group",
    "Account",
    "Contact",
    "Lead",
    "Opportunity",
    "Case",
    "CaseComment",
    "EmailMessage",
    "Attachment",
];

fn config(run: &str) -> RunConfig {
    RunConfig {
        concurrency: Default::default(),
        tenant: TenantId::new(TENANT),
        run_id: RunId::new(run),
        map: FieldMap::builtin(),
        extract: ExtractConfig {
            // Small chunks: a case and its parent often share one, so the parent link is
            // deferred and patched.
            chunk_records: 20,
            ..ExtractConfig::default()
        },
        discover: DiscoverOptions {
            objects: Some(OBJECTS.iter().map(|o| o.to_string()).collect()),
            ..DiscoverOptions::default()
        },
        pseudonymise: None,
        validation: Default::default(),
        default_owner: Some(INTEGRATION_USERNAME.to_owned()),
        merge_leads_by_email: false,
    }
}

fn text(org: &Org, kind: Generated, index: u64, field: &str) -> Option<String> {
    let at = generated_object(kind).field_index(field).unwrap();
    match &org.record(kind, index)[at] {
        Val::Str(s) => Some(s.clone()),
        _ => None,
    }
}

/// Salesforce id to destination row of a table.
fn rows(db: &rusqlite::Connection, table: &str) -> HashMap<String, i64> {
    let mut statement = db
        .prepare(&format!("SELECT source_id, id FROM {table}"))
        .unwrap();
    statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// One link column of a row.
fn link(db: &rusqlite::Connection, table: &str, column: &str, row: i64) -> Option<i64> {
    db.query_row(
        &format!("SELECT {column} FROM {table} WHERE id = ?1"),
        [row],
        |r| r.get(0),
    )
    .unwrap()
}

fn count(db: &rusqlite::Connection, table: &str) -> u64 {
    db.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| {
        r.get::<_, i64>(0)
    })
    .unwrap() as u64
}

fn live(org: &Org, kind: Generated) -> Vec<u64> {
    (0..org.count(kind))
        .filter(|&i| !org.is_deleted(kind, i))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cases_land_with_their_comments_emails_files_teams_and_parents_and_roll_back() {
    let simulator = start_org(RECORDS, SEED).await;
    let client = connect(&simulator).await;
    let dir = tempfile::tempdir().unwrap();
    let embedded = Embedded::open(dir.path());
    let tenant = TenantId::new(TENANT);
    embedded
        .destination
        .add_user(&tenant, INTEGRATION_USERNAME, "Integration User")
        .await
        .unwrap();
    let org = Org::new(SEED, RECORDS);

    let migration = embedded
        .migrate_with(&client, &config("run-cases"))
        .await
        .unwrap();
    let report = &migration.report;
    assert!(report.is_balanced(), "{report:?}");
    assert!(
        report.is_complete(),
        "{:?}",
        report.salesforce_differences()
    );
    let cases = live(&org, Generated::Case);
    let comments = live(&org, Generated::CaseComment);
    // Every live case has its comments (a soft-deleted case's are in the recycle bin with it).
    assert_eq!(comments.len() as u64, cases.len() as u64 * CASE_COMMENTS);
    for (object, expected) in [
        ("Case", cases.len() as u64),
        ("CaseComment", comments.len() as u64),
        (
            "EmailMessage",
            live(&org, Generated::EmailMessage).len() as u64,
        ),
        ("Attachment", live(&org, Generated::Attachment).len() as u64),
    ] {
        let counts = report.object(object).unwrap();
        assert_eq!(counts.created, expected, "{object}: {counts:?}");
        assert_eq!(
            (
                counts.failed,
                counts.skipped,
                counts.links_unresolved,
                counts.mismatched
            ),
            (0, 0, 0, 0),
            "{object}: {counts:?}"
        );
        assert_eq!(counts.verified, expected, "{object}: {counts:?}");
    }
    for issue in &report.issues {
        assert!(!issue.reason.contains("points to Case "), "{issue:?}");
    }

    let db = embedded.destination_db();
    let case_rows = rows(&db, "cases");
    let teams = rows(&db, "teams");
    let companies = rows(&db, "companies");
    let contacts = rows(&db, "contacts");
    assert_eq!(case_rows.len(), cases.len());
    // Every case link is the org's: company, contact, parent case, and the queue that owns
    // it as its team (a user owner is an owner, checked by the entities test).
    let (mut queued, mut children) = (0, 0);
    for &c in &cases {
        let id = org.id(Generated::Case, c);
        let row = case_rows[&id];
        let owner = text(&org, Generated::Case, c, "OwnerId").unwrap();
        let team = owner.starts_with("00G").then(|| teams[&owner]);
        assert_eq!(link(&db, "cases", "team_id", row), team, "case {id}");
        if team.is_some() {
            queued += 1;
            assert_eq!(link(&db, "cases", "owner_id", row), None, "case {id}");
        }
        let parent = text(&org, Generated::Case, c, "ParentId").map(|p| case_rows[&p]);
        assert_eq!(
            link(&db, "cases", "parent_case_id", row),
            parent,
            "case {id}"
        );
        children += usize::from(parent.is_some());
        let account = text(&org, Generated::Case, c, "AccountId").map(|a| companies[&a]);
        assert_eq!(link(&db, "cases", "company_id", row), account, "case {id}");
        let contact = text(&org, Generated::Case, c, "ContactId").map(|a| contacts[&a]);
        assert_eq!(link(&db, "cases", "contact_id", row), contact, "case {id}");
    }
    assert!(
        queued > 0 && children > 0,
        "{queued} queued, {children} children"
    );
    // A parent case later in its chunk, or in a later one, is patched after load.
    assert!(report.object("Case").unwrap().links_patched > 0);

    // Comments, case emails and attachments to a case name their case.
    let comment_rows = rows(&db, "case_comments");
    assert_eq!(comment_rows.len(), comments.len());
    for &m in &comments {
        let id = org.id(Generated::CaseComment, m);
        let case = case_rows[&text(&org, Generated::CaseComment, m, "ParentId").unwrap()];
        assert_eq!(
            link(&db, "case_comments", "case_id", comment_rows[&id]),
            Some(case)
        );
    }
    let emails = rows(&db, "conversations");
    let mut case_emails = 0;
    for e in live(&org, Generated::EmailMessage) {
        let id = org.id(Generated::EmailMessage, e);
        let case = text(&org, Generated::EmailMessage, e, "ParentId").map(|c| case_rows[&c]);
        assert_eq!(
            link(&db, "conversations", "case_id", emails[&id]),
            case,
            "{id}"
        );
        case_emails += usize::from(case.is_some());
    }
    let files = rows(&db, "files");
    let mut case_files = 0;
    for a in live(&org, Generated::Attachment) {
        let id = org.id(Generated::Attachment, a);
        let parent = text(&org, Generated::Attachment, a, "ParentId").unwrap();
        let case = parent.starts_with("500").then(|| case_rows[&parent]);
        assert_eq!(link(&db, "files", "case_id", files[&id]), case, "{id}");
        case_files += usize::from(case.is_some());
    }
    assert!(case_emails > 0 && case_files > 0);

    // Rolling the run back removes every case, comment and case email.
    rollback(
        &RollbackRunPorts {
            id_map: &embedded.store,
            runs: &embedded.store,
            destination: &embedded.destination,
        },
        &tenant,
        &RunId::new("run-cases"),
        &NoProgress,
    )
    .await
    .unwrap();
    for table in ["cases", "case_comments", "conversations", "files", "teams"] {
        assert_eq!(count(&db, table), 0, "{table}");
    }
    simulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delta_updates_changed_cases_and_deletes_a_deleted_comment() {
    let simulator = start_org(RECORDS, SEED + 1).await;
    let client = connect(&simulator).await;
    let dir = tempfile::tempdir().unwrap();
    let embedded = Embedded::open(dir.path());
    embedded
        .destination
        .add_user(
            &TenantId::new(TENANT),
            INTEGRATION_USERNAME,
            "Integration User",
        )
        .await
        .unwrap();
    let full = embedded
        .migrate_with(&client, &config("run-full"))
        .await
        .unwrap();
    assert!(full.report.is_balanced());
    let db = embedded.destination_db();
    let comments_before = count(&db, "case_comments");
    assert_eq!(
        comments_before,
        full.report.object("CaseComment").unwrap().created
    );

    let changed = mutate(&simulator, "Case", 2, 0).await;
    let changed: Vec<String> = serde_json::from_value(changed["modified"].clone()).unwrap();
    let deleted = mutate(&simulator, "CaseComment", 0, 1).await;
    let deleted: Vec<String> = serde_json::from_value(deleted["deleted"].clone()).unwrap();
    assert_eq!((changed.len(), deleted.len()), (2, 1));

    let delta = migrate_with(
        &embedded.ports_with(
            &client,
            &embedded.store,
            &embedded.store,
            &embedded.destination,
        ),
        &config("run-delta"),
        &RunOptions {
            delta: true,
            ..RunOptions::default()
        },
        &NoProgress,
    )
    .await
    .unwrap();
    let report = &delta.report;
    assert!(report.is_balanced(), "{report:?}");
    let cases = report.object("Case").unwrap();
    let case_issues: Vec<_> = report
        .issues
        .iter()
        .filter(|i| i.object == "Case")
        .collect();
    assert_eq!(
        (cases.updated, cases.created, cases.failed),
        (2, 0, 0),
        "{cases:?} {case_issues:?}"
    );
    let comments = report.object("CaseComment").unwrap();
    assert_eq!(
        (
            comments.deleted_in_salesforce,
            comments.deleted,
            comments.created
        ),
        (1, 1, 0),
        "{comments:?}"
    );
    assert_eq!(count(&db, "case_comments"), comments_before - 1);
    let gone: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM case_comments WHERE source_id = ?1",
            [&deleted[0]],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(gone, 0);
    simulator.shutdown().await;
}
