//! A crash at any point of a run, followed by a re-run, leaves the destination exactly as one
//! clean run would. The ID map, the run store and the destination are wrapped so that every
//! call from the N-th on fails (an error, or a panic in a spawned task, before or after the
//! adapter did its work), for many N spread over the whole run; then `migrate` runs again
//! on fresh adapters over the same files, as a new process would.

use ferry_core::run::{RunOptions, RunOutcome, migrate_with};
use ferry_model::ports::NoProgress;
use ferry_model::runs::RunStatus;
use ferry_simulator::RunningSimulator;
use ferry_tests::wrappers::{FailPoint, Faults, Faulty};
use ferry_tests::{Embedded, connect, start_org};
use std::path::Path;
use std::sync::Arc;

const CHUNK: usize = 9;

/// Every object of the default map: a crash can land in any of their steps.
fn whole_map(mut config: ferry_core::run::RunConfig) -> ferry_core::run::RunConfig {
    config.map = ferry_model::mapping::FieldMap::builtin();
    config
}

/// One `migrate` asking for a run `run` in `dir`, on unwrapped adapters.
async fn migrate_in_as(
    simulator: &RunningSimulator,
    dir: &Path,
    run: &str,
) -> Result<RunOutcome, ferry_core::steps::StepError> {
    let client = connect(simulator).await;
    let embedded = Embedded::open(dir);
    let ports = embedded.ports_with(
        &client,
        &embedded.store,
        &embedded.store,
        &embedded.destination,
    );
    migrate_with(
        &ports,
        &whole_map(embedded.config(run, CHUNK)),
        &RunOptions::default(),
        &NoProgress,
    )
    .await
}

/// One `migrate` of run-1 in `dir`, every port call going through `faults`.
async fn migrate_in(
    simulator: &RunningSimulator,
    dir: &Path,
    faults: Arc<Faults>,
) -> Result<RunOutcome, ferry_core::steps::StepError> {
    let client = connect(simulator).await;
    let embedded = Embedded::open(dir);
    let store = Faulty::new(embedded.store.clone(), faults.clone());
    let destination = Faulty::new(embedded.destination.clone(), faults);
    let ports = embedded.ports_with(&client, &store, &store, &destination);
    migrate_with(
        &ports,
        &whole_map(embedded.config("run-1", CHUNK)),
        &RunOptions::default(),
        &NoProgress,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_at_any_point_then_a_re_run_equals_one_clean_run() {
    let simulator = Arc::new(start_org(40, 31).await);
    let clean_dir = tempfile::tempdir().unwrap();
    let counting = Faults::counting();
    let clean = migrate_in(&simulator, clean_dir.path(), counting.clone())
        .await
        .unwrap();
    assert!(clean.report.is_balanced());
    let clean_snapshot = Embedded::open(clean_dir.path()).destination_snapshot();
    let total_calls = counting.calls();
    assert!(total_calls > 30, "{total_calls} calls");

    // At most about 120 crash points spread over the whole run (every call of a small
    // run), before and after the adapter's work, as an error or as a panic.
    let step = (total_calls / 120).max(1);
    let mut crashes = 0;
    for (iteration, fail_at) in (1..=total_calls).step_by(step as usize).enumerate() {
        let point = if iteration % 2 == 0 {
            FailPoint::Before
        } else {
            FailPoint::After
        };
        let panic = iteration % 3 == 0;
        let dir = tempfile::tempdir().unwrap();
        let faults = Faults::failing_at(fail_at, point, panic);
        let crashed = if panic {
            let simulator = Arc::clone(&simulator);
            let path = dir.path().to_owned();
            let task = tokio::spawn(async move {
                migrate_in(&simulator, &path, faults)
                    .await
                    .map(|_| ())
                    .map_err(|error| error.chain())
            });
            !matches!(task.await, Ok(Ok(())))
        } else {
            migrate_in(&simulator, dir.path(), faults).await.is_err()
        };
        assert!(
            crashed,
            "call {fail_at} of {total_calls} ({point:?}) stopped the run"
        );
        crashes += 1;

        // The re-run, as the next `ferry migrate` would start it: with a new run id, which
        // gives way to the unfinished run. A crash after the run was recorded as succeeded
        // leaves nothing to resume, and the new run must then change nothing.
        let recorded = Embedded::open(dir.path()).store_runs().await;
        let finished_before = recorded
            .iter()
            .any(|run| run.status == RunStatus::Succeeded);
        let rerun = migrate_in_as(&simulator, dir.path(), "run-after-crash")
            .await
            .unwrap_or_else(|error| {
                panic!(
                    "re-run after call {fail_at} ({point:?}, panic {panic}): {}",
                    error.chain()
                )
            });
        let context =
            format!("crash at call {fail_at} of {total_calls} ({point:?}, panic {panic})");
        assert_eq!(rerun.run.status, RunStatus::Succeeded, "{context}");
        assert_eq!(
            Embedded::open(dir.path()).destination_snapshot(),
            clean_snapshot,
            "{context}"
        );
        if finished_before {
            assert_eq!(rerun.run.run_id.as_str(), "run-after-crash", "{context}");
            // The new run creates nothing; it sends again only the records that landed
            // with a link unresolved (their hash was cleared, in case the target has
            // landed since), which changes nothing in the destination (checked above).
            for object in &rerun.report.objects {
                let unresolved: std::collections::BTreeSet<&str> = clean
                    .report
                    .issues
                    .iter()
                    .filter(|issue| {
                        issue.object == object.object
                            && issue.kind == ferry_model::report::IssueKind::UnresolvedLink
                    })
                    .filter_map(|issue| issue.salesforce_id.as_deref())
                    .collect();
                assert_eq!(
                    (object.counts.created, object.counts.updated),
                    (0, unresolved.len() as u64),
                    "{context}: {}",
                    object.object
                );
            }
        } else if recorded.is_empty() {
            // Stopped before the run was recorded: the re-run is a first run.
            assert!(!rerun.resumed, "{context}");
            let mut report = rerun.report.clone();
            report.run_id = clean.report.run_id.clone();
            assert_eq!(report, clean.report, "{context}");
        } else {
            assert_eq!(rerun.run.run_id, clean.run.run_id, "{context}");
            assert!(rerun.resumed, "{context}");
            assert_eq!(rerun.report, clean.report, "{context}");
        }
    }
    assert!(crashes >= total_calls.min(100), "{crashes} crashes");
}

/// Copies a working directory (closed databases and staged chunks), so every crash of a
/// delta starts from the same full run.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A delta of run-delta in `dir`, every port call going through `faults`.
async fn delta_in(
    simulator: &RunningSimulator,
    dir: &Path,
    faults: Arc<Faults>,
    run: &str,
) -> Result<RunOutcome, ferry_core::steps::StepError> {
    let client = connect(simulator).await;
    let embedded = Embedded::open(dir);
    let store = Faulty::new(embedded.store.clone(), faults.clone());
    let destination = Faulty::new(embedded.destination.clone(), faults);
    let ports = embedded.ports_with(&client, &store, &store, &destination);
    migrate_with(
        &ports,
        &whole_map(embedded.config(run, CHUNK)),
        &RunOptions {
            delta: true,
            ..RunOptions::default()
        },
        &NoProgress,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_during_a_delta_then_a_re_run_equals_one_clean_delta() {
    let simulator = start_org(40, 32).await;
    let template = tempfile::tempdir().unwrap();
    let full = migrate_in(&simulator, template.path(), Faults::counting())
        .await
        .unwrap();
    // Contacts the delta reads again in the overlap before the mark, besides the changes.
    let again = ferry_tests::overlap_rows(
        &connect(&simulator).await,
        "Contact",
        &full.run.high_water_marks["Contact"],
    )
    .await;
    // Tasks are deleted, not contacts: nothing links to a task, so the destination can delete
    // each one (a contact other records link to is refused, and reported so).
    for (object, modify, delete) in [("Account", 2, 0), ("Contact", 3, 0), ("Task", 0, 3)] {
        reqwest::Client::new()
            .post(format!(
                "{}/_sim/mutate",
                simulator.base_url().trim_end_matches('/')
            ))
            .json(&serde_json::json!({"object": object, "modify": modify, "delete": delete}))
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap();
    }

    let clean_dir = tempfile::tempdir().unwrap();
    copy_dir(template.path(), clean_dir.path());
    let counting = Faults::counting();
    let clean = delta_in(&simulator, clean_dir.path(), counting.clone(), "run-delta")
        .await
        .unwrap();
    let contact = clean.report.object("Contact").unwrap();
    // Read again, a contact with a link left unresolved is sent again (its hash was
    // cleared); others are unchanged.
    assert_eq!(
        contact.updated + contact.unchanged,
        3 + again,
        "{contact:?}"
    );
    let task = clean.report.object("Task").unwrap();
    assert_eq!(task.deleted, 3, "{task:?}");
    let clean_snapshot = Embedded::open(clean_dir.path()).destination_snapshot();
    let total_calls = counting.calls();

    // As for the full run: at most about 120 crash points spread over the whole delta
    // (every call of a small one), before and after the adapter's work. The delta of the
    // whole map makes some thousand port calls; each crash costs two deltas.
    let step = (total_calls / 120).max(1);
    for (iteration, fail_at) in (1..=total_calls).step_by(step as usize).enumerate() {
        let point = if iteration % 2 == 0 {
            FailPoint::Before
        } else {
            FailPoint::After
        };
        let dir = tempfile::tempdir().unwrap();
        copy_dir(template.path(), dir.path());
        let faults = Faults::failing_at(fail_at, point, false);
        assert!(
            delta_in(&simulator, dir.path(), faults, "run-delta")
                .await
                .is_err()
        );
        let rerun = delta_in(&simulator, dir.path(), Faults::counting(), "run-again")
            .await
            .unwrap_or_else(|error| panic!("re-run after call {fail_at}: {}", error.chain()));
        let context = format!("crash at call {fail_at} of {total_calls} ({point:?})");
        assert_eq!(rerun.run.status, RunStatus::Succeeded, "{context}");
        assert_eq!(
            Embedded::open(dir.path()).destination_snapshot(),
            clean_snapshot,
            "{context}"
        );
        if rerun.run.run_id.as_str() == "run-delta" {
            assert_eq!(rerun.report, clean.report, "{context}");
        }
    }
}
