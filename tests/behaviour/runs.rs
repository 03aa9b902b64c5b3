//! Re-runs, delta runs, rollback, verification and the run history, on the embedded adapters
//! against the simulated org.

use ferry_core::run::{RollbackRunPorts, RunOptions, migrate_with, rollback};
use ferry_core::run_report::{render_html, render_markdown, run_document};
use ferry_model::ids::{RunId, TenantId};
use ferry_model::mapping::EntityKind;
use ferry_model::ports::NoProgress;
use ferry_model::ports::Progress;
use ferry_model::report::IssueKind;
use ferry_model::runs::{ProgressEvent, RunKind, RunStatus};
use std::sync::Mutex;

/// Progress that keeps every event.
#[derive(Default)]
struct Recorder {
    events: Mutex<Vec<ProgressEvent>>,
}

impl Progress for Recorder {
    fn event(&self, event: ProgressEvent) {
        self.events.lock().unwrap().push(event);
    }
}
use ferry_tests::wrappers::{Corrupting, Faults, Faulty};
use ferry_tests::{Embedded, TENANT, connect, mutate, start_org};

const CHUNK: usize = 25;

fn rollback_ports(embedded: &Embedded) -> RollbackRunPorts<'_> {
    RollbackRunPorts {
        id_map: &embedded.store,
        runs: &embedded.store,
        destination: &embedded.destination,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_re_run_sends_nothing_for_unchanged_records() {
    let simulator = start_org(120, 21).await;
    let client = connect(&simulator).await;
    let dir = tempfile::tempdir().unwrap();
    let embedded = Embedded::open(dir.path());
    let first = embedded
        .migrate(
            &client,
            "run-1",
            ferry_tests::companies_and_contacts_map(),
            CHUNK,
        )
        .await;
    assert!(first.report.is_balanced());
    let before = embedded.destination_snapshot();

    let faults = Faults::counting();
    let destination = Faulty::new(embedded.destination.clone(), faults.clone());
    let ports = embedded.ports_with(&client, &embedded.store, &embedded.store, &destination);
    let second = migrate_with(
        &ports,
        &embedded.config("run-2", CHUNK),
        &RunOptions::default(),
        &NoProgress,
    )
    .await
    .unwrap();
    assert!(second.report.is_balanced(), "{:?}", second.report);
    for object in &second.report.objects {
        let counts = &object.counts;
        assert_eq!(
            (counts.created, counts.updated),
            (0, 0),
            "{}",
            object.object
        );
        assert_eq!(
            counts.unchanged + counts.skipped + counts.failed,
            counts.extracted,
            "{}",
            object.object
        );
        assert_eq!(counts.verified, counts.unchanged, "{}", object.object);
    }
    // Not one record was sent, and the destination is as the first run left it.
    assert_eq!(faults.records_sent(), 0);
    assert_eq!(embedded.destination_snapshot(), before);

    let history = embedded.store_runs().await;
    assert_eq!(
        history
            .iter()
            .map(|run| (run.run_id.as_str(), run.kind, run.status, run.sequence))
            .collect::<Vec<_>>(),
        vec![
            ("run-1", RunKind::Full, RunStatus::Succeeded, 1),
            ("run-2", RunKind::Full, RunStatus::Succeeded, 2)
        ]
    );
    assert!(
        history
            .iter()
            .all(|run| run.finished_at.is_some() && !run.high_water_marks.is_empty())
    );
    simulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delta_updates_what_changed_and_deletes_what_was_deleted() {
    let simulator = start_org(120, 22).await;
    let client = connect(&simulator).await;
    let dir = tempfile::tempdir().unwrap();
    let embedded = Embedded::open(dir.path());
    let full = embedded
        .migrate(
            &client,
            "run-full",
            ferry_tests::companies_and_contacts_map(),
            CHUNK,
        )
        .await;
    assert!(full.report.is_balanced());
    // The delta also reads again what the overlap before the marks holds (unchanged).
    let marks = &full.run.high_water_marks;
    let contacts_again = ferry_tests::overlap_rows(&client, "Contact", &marks["Contact"]).await;
    let accounts_again = ferry_tests::overlap_rows(&client, "Account", &marks["Account"]).await;

    let contacts = mutate(&simulator, "Contact", 3, 2).await;
    let accounts = mutate(&simulator, "Account", 2, 0).await;
    let deleted: Vec<String> = serde_json::from_value(contacts["deleted"].clone()).unwrap();
    assert_eq!(deleted.len(), 2);

    let faults = Faults::counting();
    let destination = Faulty::new(embedded.destination.clone(), faults.clone());
    let ports = embedded.ports_with(&client, &embedded.store, &embedded.store, &destination);
    let progress = Recorder::default();
    let delta = migrate_with(
        &ports,
        &embedded.config("run-delta", CHUNK),
        &RunOptions {
            delta: true,
            ..RunOptions::default()
        },
        &progress,
    )
    .await
    .unwrap();
    let events = progress.events.lock().unwrap().clone();
    assert!(matches!(
        events.first(),
        Some(ProgressEvent::RunStarted {
            kind: RunKind::Delta,
            resumed: false,
            ..
        })
    ));
    assert!(matches!(
        events.last(),
        Some(ProgressEvent::RunFinished {
            status: RunStatus::Succeeded,
            ..
        })
    ));
    for expected in [
        "PhaseStarted",
        "ObjectExtracted",
        "ChunkLoaded",
        "PhaseReconciled",
        "Verified",
    ] {
        assert!(
            events
                .iter()
                .any(|event| format!("{event:?}").starts_with(expected)),
            "{expected}: {events:?}"
        );
    }
    assert!(events.iter().all(|event| !matches!(
        event,
        ProgressEvent::PhaseReconciled {
            balanced: false,
            ..
        }
    )));
    let report = &delta.report;
    assert!(report.is_balanced(), "{report:?}");
    assert_eq!(delta.run.kind, RunKind::Delta);
    assert_eq!(delta.run.delta_of, Some(RunId::new("run-full")));
    let contact = report.object("Contact").unwrap();
    assert_eq!(
        (
            contact.updated,
            contact.created,
            contact.deleted_in_salesforce,
            contact.deleted
        ),
        (3, 0, 2, 2),
        "{contact:?}"
    );
    let account = report.object("Account").unwrap();
    assert_eq!(
        (account.updated, account.created, account.deleted),
        (2, 0, 0),
        "{account:?}"
    );
    assert_eq!(
        (
            contact.verified,
            contact.mismatched,
            account.verified,
            account.mismatched
        ),
        (3 + contacts_again, 0, 2 + accounts_again, 0)
    );
    assert_eq!(
        (contact.unchanged, account.unchanged),
        (contacts_again, accounts_again)
    );
    assert_eq!(faults.records_sent(), 5, "only changed records are sent");

    // The deleted contacts are gone from the destination; the modified ones carry the change.
    let db = embedded.destination_db();
    for id in &deleted {
        let count: i64 = db
            .query_row(
                "SELECT COUNT(*) FROM contacts WHERE source_id = ?1",
                [id],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(count, 0, "{id} is deleted");
    }
    let modified: Vec<String> = serde_json::from_value(accounts["modified"].clone()).unwrap();
    for id in &modified {
        let description: Option<String> = db
            .query_row(
                "SELECT description FROM companies WHERE source_id = ?1",
                [id],
                |row| row.get(0),
            )
            .unwrap();
        assert!(
            description.unwrap_or_default().ends_with("(updated)"),
            "{id}"
        );
    }
    let entries = embedded
        .store
        .id_map_counts(&TenantId::new(TENANT))
        .await
        .unwrap();
    assert_eq!(
        entries["Contact"],
        full.report.object("Contact").unwrap().created - 2
    );

    // Rolling the delta back puts the deleted contacts back and the old values too.
    let before_delta_rows = |db: &rusqlite::Connection| -> i64 {
        db.query_row("SELECT COUNT(*) FROM contacts", [], |row| row.get(0))
            .unwrap()
    };
    let undone = rollback(
        &rollback_ports(&embedded),
        &TenantId::new(TENANT),
        &RunId::new("run-delta"),
        &NoProgress,
    )
    .await
    .unwrap();
    let total = undone.total();
    assert_eq!(
        (total.recreated, total.restored, total.deleted, total.failed),
        (2, 5, 0, 0),
        "{undone:?}"
    );
    assert_eq!(
        before_delta_rows(&db) as u64,
        full.report.object("Contact").unwrap().created
    );
    for id in &modified {
        let description: Option<String> = db
            .query_row(
                "SELECT description FROM companies WHERE source_id = ?1",
                [id],
                |row| row.get(0),
            )
            .unwrap();
        assert!(
            !description.unwrap_or_default().ends_with("(updated)"),
            "{id}"
        );
    }
    simulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_restores_the_destination_exactly_and_twice_changes_nothing() {
    let simulator = start_org(120, 23).await;
    let client = connect(&simulator).await;
    let dir = tempfile::tempdir().unwrap();
    let embedded = Embedded::open(dir.path());
    let empty = embedded.destination_snapshot();
    embedded
        .migrate(
            &client,
            "run-1",
            ferry_tests::companies_and_contacts_map(),
            CHUNK,
        )
        .await;
    let after_first = embedded.destination_snapshot();
    let id_map_after_first = embedded.id_map_rows();

    // The second run updates records of the first (the org changed in between).
    mutate(&simulator, "Account", 4, 0).await;
    mutate(&simulator, "Contact", 5, 0).await;
    let second = embedded
        .migrate(
            &client,
            "run-2",
            ferry_tests::companies_and_contacts_map(),
            CHUNK,
        )
        .await;
    assert_eq!(second.report.object("Account").unwrap().updated, 4);
    assert_ne!(embedded.destination_snapshot(), after_first);

    // Runs are rolled back newest first.
    let refused = rollback(
        &rollback_ports(&embedded),
        &TenantId::new(TENANT),
        &RunId::new("run-1"),
        &NoProgress,
    )
    .await;
    assert!(refused.unwrap_err().to_string().contains("run-2"));

    let undone = rollback(
        &rollback_ports(&embedded),
        &TenantId::new(TENANT),
        &RunId::new("run-2"),
        &NoProgress,
    )
    .await
    .unwrap();
    assert_eq!(undone.total().restored, 9, "{undone:?}");
    assert_eq!((undone.total().deleted, undone.total().failed), (0, 0));

    // The reports of both runs are rebuilt from the run store.
    let document = run_document(&embedded.store, &RunId::new("run-2"))
        .await
        .unwrap();
    assert_eq!(document.summary.status, RunStatus::RolledBack);
    assert!(document.is_balanced());
    let markdown = render_markdown(&document);
    assert!(markdown.contains("- **status**: rolled back"), "{markdown}");
    assert!(
        markdown.contains("- **rolled back by**: run-2-rollback"),
        "{markdown}"
    );
    assert!(markdown.contains("| 1 | Account | company |"), "{markdown}");
    let undo_document = run_document(&embedded.store, &RunId::new("run-2-rollback"))
        .await
        .unwrap();
    assert_eq!(undo_document.rollback.as_ref(), Some(&undone));
    let html = render_html(&undo_document);
    assert!(
        html.contains("<table id=\"rollback\">") && html.contains("<td class=\"n\">9</td>"),
        "{html}"
    );
    assert!(
        !html.contains("<script") && !html.contains("http"),
        "self-contained"
    );
    assert_eq!(embedded.destination_snapshot(), after_first);
    assert_eq!(embedded.id_map_rows(), id_map_after_first);

    // Twice: the stored report again, nothing touched.
    let again = rollback(
        &rollback_ports(&embedded),
        &TenantId::new(TENANT),
        &RunId::new("run-2"),
        &NoProgress,
    )
    .await
    .unwrap();
    assert_eq!(again, undone);

    let first = rollback(
        &rollback_ports(&embedded),
        &TenantId::new(TENANT),
        &RunId::new("run-1"),
        &NoProgress,
    )
    .await
    .unwrap();
    assert!(first.total().deleted > 0);
    assert_eq!(first.total().failed, 0, "{first:?}");
    assert_eq!(embedded.destination_snapshot(), empty);
    assert!(embedded.id_map_rows().is_empty());

    let history = embedded.store_runs().await;
    let statuses: Vec<(&str, RunKind, RunStatus)> = history
        .iter()
        .map(|run| (run.run_id.as_str(), run.kind, run.status))
        .collect();
    assert_eq!(
        statuses,
        vec![
            ("run-1", RunKind::Full, RunStatus::RolledBack),
            ("run-2", RunKind::Full, RunStatus::RolledBack),
            ("run-2-rollback", RunKind::Rollback, RunStatus::Succeeded),
            ("run-1-rollback", RunKind::Rollback, RunStatus::Succeeded),
        ]
    );
    simulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_rollback_finishes_when_asked_again() {
    let simulator = start_org(80, 24).await;
    let client = connect(&simulator).await;
    let dir = tempfile::tempdir().unwrap();
    let embedded = Embedded::open(dir.path());
    let empty = embedded.destination_snapshot();
    let migration = embedded
        .migrate(
            &client,
            "run-1",
            ferry_tests::companies_and_contacts_map(),
            CHUNK,
        )
        .await;
    let created: u64 = migration
        .report
        .objects
        .iter()
        .map(|object| object.counts.created)
        .sum();
    // The rich-text images the run landed as files of their records are deleted too.
    let images: i64 = embedded
        .destination_db()
        .query_row(
            "SELECT COUNT(*) FROM files WHERE source_object LIKE '%.RichTextImage'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    let created = created + images as u64;

    // Interrupted after 1, 2, 3, ... calls, each attempt getting further than the last,
    // until one finishes; then asked again, it reports the same.
    let mut interruptions = 0;
    let mut finished = None;
    for fail_at in 1..500u64 {
        let faults = Faults::failing_at(fail_at, ferry_tests::wrappers::FailPoint::After, false);
        let id_map = Faulty::new(embedded.store.clone(), faults.clone());
        let runs = Faulty::new(embedded.store.clone(), faults.clone());
        let destination = Faulty::new(embedded.destination.clone(), faults.clone());
        let ports = RollbackRunPorts {
            id_map: &id_map,
            runs: &runs,
            destination: &destination,
        };
        match rollback(
            &ports,
            &TenantId::new(TENANT),
            &RunId::new("run-1"),
            &NoProgress,
        )
        .await
        {
            Ok(report) => {
                finished = Some(report);
                break;
            }
            Err(_) => interruptions += 1,
        }
    }
    assert!(interruptions > 5, "{interruptions}");
    let finished = finished.expect("the rollback finishes");
    assert_eq!(finished.total().deleted, created, "{finished:?}");
    assert_eq!(finished.total().failed, 0, "{finished:?}");
    let again = rollback(
        &rollback_ports(&embedded),
        &TenantId::new(TENANT),
        &RunId::new("run-1"),
        &NoProgress,
    )
    .await
    .unwrap();
    assert_eq!(again, finished);
    assert_eq!(embedded.destination_snapshot(), empty);
    simulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verification_reports_a_value_the_destination_altered() {
    let simulator = start_org(60, 25).await;
    let client = connect(&simulator).await;
    let dir = tempfile::tempdir().unwrap();
    let embedded = Embedded::open(dir.path());
    let destination = Corrupting {
        inner: embedded.destination.clone(),
        entity: EntityKind::Company,
        field: "industry".to_owned(),
        value: serde_json::json!("Altered"),
    };
    let ports = embedded.ports_with(&client, &embedded.store, &embedded.store, &destination);
    let migration = migrate_with(
        &ports,
        &embedded.config("run-1", CHUNK),
        &RunOptions::default(),
        &NoProgress,
    )
    .await
    .unwrap();
    let accounts = migration.report.object("Account").unwrap();
    assert!(
        accounts.mismatched > 0 && accounts.mismatched <= accounts.verified,
        "{accounts:?}"
    );
    let contacts = migration.report.object("Contact").unwrap();
    assert_eq!(contacts.mismatched, 0);
    let mismatches: Vec<_> = migration
        .report
        .issues
        .iter()
        .filter(|issue| issue.kind == IssueKind::Mismatch)
        .collect();
    // The spot check, re-reading a sample from Salesforce, finds the altered values too.
    assert!(accounts.spot_mismatched > 0, "{accounts:?}");
    assert_eq!(
        mismatches.len() as u64,
        accounts.mismatched + accounts.spot_mismatched
    );
    for issue in mismatches {
        assert_eq!(
            (issue.object.as_str(), issue.field.as_deref()),
            ("Account", Some("industry"))
        );
        assert!(issue.salesforce_id.is_some());
        assert!(
            issue.reason.contains("read back \"Altered\""),
            "{}",
            issue.reason
        );
    }
    simulator.shutdown().await;
}

/// A destination that refuses every upsert of one entity, as an outage would.
struct DownFor<T> {
    inner: T,
    entity: EntityKind,
}

#[async_trait::async_trait]
impl<T: ferry_model::ports::Destination> ferry_model::ports::Destination for DownFor<T> {
    async fn ensure_custom_fields(
        &self,
        tenant: &TenantId,
        definitions: &[ferry_model::plan::CustomFieldDefinition],
    ) -> Result<(), ferry_model::PortError> {
        self.inner.ensure_custom_fields(tenant, definitions).await
    }
    async fn upsert(
        &self,
        tenant: &TenantId,
        entity: EntityKind,
        records: &[ferry_model::records::DestinationRecord],
    ) -> Result<Vec<ferry_model::ports::UpsertOutcome>, ferry_model::PortError> {
        if entity == self.entity {
            return Err(ferry_model::PortError::permanent(format!(
                "{entity} is unavailable"
            )));
        }
        self.inner.upsert(tenant, entity, records).await
    }
    async fn patch_links(
        &self,
        tenant: &TenantId,
        entity: EntityKind,
        patches: &[ferry_model::ports::LinkPatch],
    ) -> Result<Vec<Result<(), String>>, ferry_model::PortError> {
        self.inner.patch_links(tenant, entity, patches).await
    }
    async fn get(
        &self,
        tenant: &TenantId,
        entity: EntityKind,
        ids: &[ferry_model::ids::DestinationId],
    ) -> Result<Vec<Option<ferry_model::records::DestinationRecord>>, ferry_model::PortError> {
        self.inner.get(tenant, entity, ids).await
    }
    async fn delete(
        &self,
        tenant: &TenantId,
        entity: EntityKind,
        ids: &[ferry_model::ids::DestinationId],
    ) -> Result<Vec<Result<(), String>>, ferry_model::PortError> {
        self.inner.delete(tenant, entity, ids).await
    }
    async fn users(
        &self,
        tenant: &TenantId,
    ) -> Result<Vec<ferry_model::ports::DestinationUser>, ferry_model::PortError> {
        self.inner.users(tenant).await
    }
    async fn set_user_status(
        &self,
        tenant: &TenantId,
        statuses: &[ferry_model::ports::UserStatus],
    ) -> Result<Vec<Result<(), String>>, ferry_model::PortError> {
        self.inner.set_user_status(tenant, statuses).await
    }
    async fn put_file(
        &self,
        tenant: &TenantId,
        entity: EntityKind,
        record: &ferry_model::ids::DestinationId,
        upload: ferry_model::ports::FileUpload,
    ) -> Result<(), ferry_model::PortError> {
        self.inner.put_file(tenant, entity, record, upload).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_run_is_resumed_and_objects_already_loaded_are_not_extracted_again() {
    let simulator = start_org(80, 26).await;
    let client = connect(&simulator).await;
    let dir = tempfile::tempdir().unwrap();
    let embedded = Embedded::open(dir.path());
    let down = DownFor {
        inner: embedded.destination.clone(),
        entity: EntityKind::Contact,
    };
    let ports = embedded.ports_with(&client, &embedded.store, &embedded.store, &down);
    let error = migrate_with(
        &ports,
        &embedded.config("run-1", CHUNK),
        &RunOptions::default(),
        &NoProgress,
    )
    .await
    .unwrap_err();
    assert!(
        error.chain().contains("contact is unavailable"),
        "{}",
        error.chain()
    );
    let failed = embedded.store_runs().await;
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].status, RunStatus::Failed);
    assert!(
        failed[0]
            .error
            .as_deref()
            .unwrap_or("")
            .contains("contact is unavailable")
    );
    let document = run_document(&embedded.store, &RunId::new("run-1"))
        .await
        .unwrap();
    assert!(render_markdown(&document).contains("- **status**: failed"));

    // Asked for a new run, `migrate` resumes the unfinished one instead.
    let progress = Recorder::default();
    let ports = embedded.ports_with(
        &client,
        &embedded.store,
        &embedded.store,
        &embedded.destination,
    );
    let resumed = migrate_with(
        &ports,
        &embedded.config("run-2", CHUNK),
        &RunOptions::default(),
        &progress,
    )
    .await
    .unwrap();
    assert!(resumed.resumed);
    assert_eq!(resumed.run.run_id, RunId::new("run-1"));
    assert_eq!(resumed.run.status, RunStatus::Succeeded);
    assert!(resumed.report.is_balanced());
    let events = progress.events.lock().unwrap().clone();
    assert!(events.contains(&ProgressEvent::ObjectAlreadyDone {
        object: "Account".to_owned()
    }));
    assert!(!events.iter().any(|event| matches!(event, ProgressEvent::ObjectExtracted { object, .. } if object == "Account")));
    let accounts = resumed.report.object("Account").unwrap();
    assert_eq!(accounts.created, accounts.extracted);
    let contacts = resumed.report.object("Contact").unwrap();
    assert_eq!(contacts.created, contacts.extracted);
    assert_eq!(embedded.store_runs().await.len(), 1);
    simulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delta_through_bulk_tells_deleted_records_from_their_text_flag() {
    let simulator = start_org(120, 27).await;
    let client = connect(&simulator).await;
    let dir = tempfile::tempdir().unwrap();
    let embedded = Embedded::open(dir.path());
    let mut full = embedded.config("run-full", CHUNK);
    full.extract.bulk_threshold = 1;
    full.extract.bulk_poll_initial = std::time::Duration::from_millis(10);
    let ports = embedded.ports_with(
        &client,
        &embedded.store,
        &embedded.store,
        &embedded.destination,
    );
    let first = migrate_with(&ports, &full, &RunOptions::default(), &NoProgress)
        .await
        .unwrap();
    assert_eq!(
        first.report.objects[0].api.as_deref(),
        Some("bulk"),
        "{:?}",
        first.report.objects[0]
    );
    let again =
        ferry_tests::overlap_rows(&client, "Contact", &first.run.high_water_marks["Contact"]).await;
    let contacts = mutate(&simulator, "Contact", 1, 2).await;
    let deleted: Vec<String> = serde_json::from_value(contacts["deleted"].clone()).unwrap();

    let mut delta = full.clone();
    delta.run_id = RunId::new("run-delta");
    let migration = migrate_with(
        &ports,
        &delta,
        &RunOptions {
            delta: true,
            ..RunOptions::default()
        },
        &NoProgress,
    )
    .await
    .unwrap();
    let contact = migration.report.object("Contact").unwrap();
    assert_eq!(
        (
            contact.extracted,
            contact.updated,
            contact.deleted_in_salesforce,
            contact.deleted
        ),
        (3 + again, 1, 2, 2),
        "{contact:?}"
    );
    assert!(migration.report.is_balanced());
    let db = embedded.destination_db();
    for id in &deleted {
        let count: i64 = db
            .query_row(
                "SELECT COUNT(*) FROM contacts WHERE source_id = ?1",
                [id],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(count, 0, "{id} is deleted");
    }

    // The run's report renders in a real browser engine.
    let document = run_document(&embedded.store, &RunId::new("run-delta"))
        .await
        .unwrap();
    let page = dir.path().join("run.html");
    std::fs::write(&page, render_html(&document)).unwrap();
    if let Some(dom) = ferry_tests::rendered_dom(&page) {
        let table = dom
            .split("<table id=\"objects\">")
            .nth(1)
            .and_then(|rest| rest.split("</table>").next())
            .expect("the rendered page has the objects table");
        assert_eq!(
            table.matches("<tr><td>").count(),
            migration.report.objects.len(),
            "{table}"
        );
        assert!(table.contains("<td>Contact</td>"));
    }
    simulator.shutdown().await;
}

/// A delta starts from the largest `SystemModstamp` the last run read (Salesforce's clock),
/// less the overlap, never from Ferry's clock: a change Salesforce stamps an hour before
/// Ferry's "now" (clocks disagree, or a transaction committed late) is still picked up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delta_picks_up_a_change_stamped_before_ferrys_clock() {
    let simulator = start_org(120, 23).await;
    let client = connect(&simulator).await;
    let dir = tempfile::tempdir().unwrap();
    let embedded = Embedded::open(dir.path());
    let full = embedded
        .migrate(
            &client,
            "run-full",
            ferry_tests::companies_and_contacts_map(),
            CHUNK,
        )
        .await;
    assert!(full.report.is_complete());
    // The full run's marks are the newest stamps it read.
    let newest = ferry_tests::query_all(
        &client,
        "SELECT SystemModstamp FROM Contact ORDER BY SystemModstamp DESC LIMIT 1",
    )
    .await;
    let newest = ferry_core::transform::salesforce_datetime_to_utc(
        newest[0]["SystemModstamp"].as_str().unwrap(),
    )
    .unwrap();
    assert_eq!(full.run.high_water_marks["Contact"], newest);

    let an_hour_ago = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 3_600;
    let changed: serde_json::Value = reqwest::Client::new()
        .post(format!(
            "{}/_sim/mutate",
            simulator.base_url().trim_end_matches('/')
        ))
        .json(&serde_json::json!({"object": "Contact", "modify": 1, "at": an_hour_ago}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(changed["modified"].as_array().map(Vec::len), Some(1));

    let ports = embedded.ports_with(
        &client,
        &embedded.store,
        &embedded.store,
        &embedded.destination,
    );
    let delta = migrate_with(
        &ports,
        &embedded.config("run-delta", CHUNK),
        &RunOptions {
            delta: true,
            ..RunOptions::default()
        },
        &ferry_model::ports::NoProgress,
    )
    .await
    .unwrap();
    let contacts = delta.report.object("Contact").unwrap();
    assert_eq!(contacts.updated, 1, "{contacts:?}");
    // The delta's own mark moved to the change's stamp.
    let stamp = time::OffsetDateTime::from_unix_timestamp(an_hour_ago as i64)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    assert_eq!(delta.run.high_water_marks["Contact"], stamp);
}
