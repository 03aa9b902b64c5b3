//! `ferry migrate` against the simulated org, as a consultant runs it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_twice_into_one_workspace_updates_and_never_duplicates() {
    let simulator = start(400).await;
    let work = tempfile::tempdir().unwrap();
    let workspace = work.path().join("acme");
    seed_default_owner(&workspace.join("destination.db")).await;
    let args = [
        "--workspace",
        workspace.to_str().unwrap(),
        "--default-owner",
        DEFAULT_OWNER,
    ];
    let first = plan_like(&simulator, "migrate", &args).await;
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(
        first.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let count = |table: &str| -> i64 {
        let connection = rusqlite::Connection::open(workspace.join("destination.db")).unwrap();
        connection
            .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |row| {
                row.get(0)
            })
            .unwrap()
    };
    let companies = count("companies");
    let contacts = count("contacts");
    assert!(companies > 0 && contacts > 0, "{stdout}");
    assert!(stdout.contains("Account"), "{stdout}");

    let second = plan_like(&simulator, "migrate", &args).await;
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    assert_eq!(
        (count("companies"), count("contacts")),
        (companies, contacts)
    );
    simulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_without_an_org_says_which_options_name_one() {
    let output = tokio::task::spawn_blocking(|| {
        std::process::Command::new(FERRY)
            .args(["migrate"])
            .env_remove("FERRY_ACCESS_TOKEN")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--connection"), "{stderr}");
}

/// Runs `ferry migrate` and kills it (SIGKILL, no chance to clean up) after `delay`;
/// returns whether it finished before the kill.
fn migrate_killed_after(
    args: &[String],
    token: &str,
    delay: std::time::Duration,
) -> Option<std::process::ExitStatus> {
    let mut child = std::process::Command::new(FERRY)
        .args(args)
        .env("FERRY_ACCESS_TOKEN", token)
        .env_remove("FERRY_ALLOWED_HOSTS")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + delay;
    while std::time::Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_at_random_points_then_resumed_leaves_what_one_clean_run_leaves() {
    let simulator = start(600).await;
    // A little latency spreads the run over time, so kills land in every step of it.
    let mut knobs = simulator.knobs();
    knobs.faults.latency_ms = 15;
    simulator.set_knobs(knobs);
    let token = access_token(&simulator).await;
    let work = tempfile::tempdir().unwrap();
    let args = |workspace: &std::path::Path| -> Vec<String> {
        [
            "migrate",
            "--instance-url",
            simulator.base_url(),
            "--allow-host",
            &host(&simulator),
            "--chunk-records",
            "40",
            "--workspace",
            workspace.to_str().unwrap(),
            "--default-owner",
            DEFAULT_OWNER,
        ]
        .iter()
        .map(|arg| (*arg).to_owned())
        .collect()
    };

    let clean = work.path().join("clean");
    seed_default_owner(&clean.join("destination.db")).await;
    let clean_args = args(&clean);
    let clean_token = token.clone();
    let started = std::time::Instant::now();
    let status = tokio::task::spawn_blocking(move || {
        migrate_killed_after(
            &clean_args,
            &clean_token,
            std::time::Duration::from_secs(600),
        )
    })
    .await
    .unwrap();
    assert_eq!(status.and_then(|status| status.code()), Some(0));
    let clean_duration = started.elapsed();

    // Kill points spread over the clean run's duration by a fixed sequence, so every run
    // of this test tries the same spread; the assertion holds wherever a kill lands.
    let crashed = work.path().join("crashed");
    seed_default_owner(&crashed.join("destination.db")).await;
    let crashed_args = args(&crashed);
    let kill_token = token.clone();
    let kills = tokio::task::spawn_blocking(move || {
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut killed = 0;
        for _ in 0..12 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let fraction = (state >> 33) as f64 / (1u64 << 31) as f64;
            let delay = clean_duration.mul_f64(0.05 + 0.9 * fraction);
            if migrate_killed_after(&crashed_args, &kill_token, delay).is_none() {
                killed += 1;
            }
        }
        killed
    })
    .await
    .unwrap();
    assert!(kills > 0, "no run was killed before it finished");
    let final_args = args(&crashed);
    let status = tokio::task::spawn_blocking(move || {
        migrate_killed_after(&final_args, &token, std::time::Duration::from_secs(600))
    })
    .await
    .unwrap();
    assert_eq!(status.and_then(|status| status.code()), Some(0));

    let expected = destination_snapshot(&clean.join("destination.db"), "local").await;
    let actual = destination_snapshot(&crashed.join("destination.db"), "local").await;
    assert!(expected.as_object().unwrap().len() > 100);
    if expected != actual {
        let (expected, actual) = (expected.as_object().unwrap(), actual.as_object().unwrap());
        let differing: Vec<&String> = expected
            .keys()
            .chain(actual.keys())
            .filter(|key| expected.get(*key) != actual.get(*key))
            .take(5)
            .collect();
        panic!(
            "after {kills} kills the destination differs from a clean run's ({} vs {} records); first differences: {differing:?}",
            expected.len(),
            actual.len()
        );
    }
    simulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_into_an_http_destination_lands_what_the_embedded_one_does() {
    use ferry_model::secret::Secret;
    use std::sync::Arc;
    let simulator = start(400).await;
    let work = tempfile::tempdir().unwrap();
    let served = work.path().join("served");
    std::fs::create_dir_all(&served).unwrap();
    seed_default_owner(&served.join("destination.db")).await;
    let destination =
        ferry_embedded::SqliteDestination::open(&served.join("destination.db")).unwrap();
    let server = ferry_reference_server::serve(
        ferry_reference_server::ReferenceServerConfig::new(
            Arc::new(destination),
            "test-key",
            Secret::new("s3cret-for-tests"),
        )
        .unwrap(),
        ([127, 0, 0, 1], 0).into(),
    )
    .await
    .unwrap();

    let embedded = work.path().join("embedded");
    seed_default_owner(&embedded.join("destination.db")).await;
    let output = plan_like(
        &simulator,
        "migrate",
        &[
            "--workspace",
            embedded.to_str().unwrap(),
            "--default-owner",
            DEFAULT_OWNER,
        ],
    )
    .await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    // Without the secret, the command says where to put it.
    let over_http = work.path().join("over-http");
    let url = server.base_url().to_owned();
    let http_args = [
        "--default-owner",
        DEFAULT_OWNER,
        "--workspace",
        over_http.to_str().unwrap(),
        "--destination-url",
        url.as_str(),
        "--destination-key-id",
        "test-key",
    ];
    let refused = plan_like(&simulator, "migrate", &http_args).await;
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("FERRY_DESTINATION_SECRET"), "{stderr}");

    let mut with_secret: Vec<&str> = http_args.to_vec();
    with_secret.extend(["--destination-secret", "s3cret-for-tests"]);
    for _ in 0..2 {
        let output = plan_like(&simulator, "migrate", &with_secret).await;
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    assert!(
        !over_http.join("destination.db").exists() || {
            let snapshot = destination_snapshot(&over_http.join("destination.db"), "local").await;
            snapshot.as_object().unwrap().is_empty()
        }
    );
    let expected = destination_snapshot(&embedded.join("destination.db"), "local").await;
    let actual = destination_snapshot(&served.join("destination.db"), "local").await;
    assert!(expected.as_object().unwrap().len() > 100);
    assert_eq!(expected, actual);
    server.shutdown().await;
    simulator.shutdown().await;
}

/// Runs a `ferry` command that needs no org, off the async runtime.
async fn ferry(args: Vec<String>) -> std::process::Output {
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(FERRY)
            .args(&args)
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

fn words(args: &[&str]) -> Vec<String> {
    args.iter().map(|arg| (*arg).to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_status_report_delta_and_rollback_from_the_command_line() {
    let simulator = start(400).await;
    let work = tempfile::tempdir().unwrap();
    let workspace = work.path().join("acme");
    let dir = workspace.to_str().unwrap().to_owned();
    seed_default_owner(&workspace.join("destination.db")).await;
    let first = plan_like(
        &simulator,
        "migrate",
        &["--workspace", &dir, "--default-owner", DEFAULT_OWNER],
    )
    .await;
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let stdout = String::from_utf8_lossy(&first.stdout).into_owned();
    assert!(stdout.contains("Verification: all"), "{stdout}");

    let history = |output: &std::process::Output| -> Vec<serde_json::Value> {
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap()
    };
    // One command at a time changes a workspace: while another process holds its lock, a
    // rollback and a migration are refused at once, naming the holder, and nothing is run;
    // reading the history goes on. Once the holder is gone (as a killed process's lock is),
    // the next command runs without anyone removing the file.
    {
        let lock_path = workspace.join("ferry.lock");
        let mut held = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&lock_path)
            .unwrap();
        held.try_lock().unwrap();
        std::io::Write::write_all(
            &mut held,
            br#"{"pid":4242,"command":"ferry migrate","started":"2026-12-03T16:00:00Z"}"#,
        )
        .unwrap();
        let refused_runs = history(&ferry(words(&["runs", "--workspace", &dir, "--json"])).await);
        let refused_rollback = ferry(words(&["rollback", "run-x", "--workspace", &dir])).await;
        let refused_migrate = plan_like(
            &simulator,
            "migrate",
            &["--workspace", &dir, "--default-owner", DEFAULT_OWNER],
        )
        .await;
        for refused in [refused_rollback, refused_migrate] {
            let stderr = String::from_utf8_lossy(&refused.stderr);
            assert_eq!(refused.status.code(), Some(1), "{stderr}");
            assert!(
                stderr.contains(
                    "is in use by `ferry migrate` (process 4242, started 2026-12-03T16:00:00Z)"
                ),
                "{stderr}"
            );
        }
        let after = history(&ferry(words(&["runs", "--workspace", &dir, "--json"])).await);
        assert_eq!(after, refused_runs, "a refused command adds no run");
        drop(held);
        assert!(lock_path.exists());
    }

    let runs = history(&ferry(words(&["runs", "--workspace", &dir, "--json"])).await);
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["kind"], "full");
    assert_eq!(runs[0]["status"], "succeeded");
    let full_run = runs[0]["run_id"].as_str().unwrap().to_owned();

    let status = ferry(words(&["status", &full_run, "--workspace", &dir])).await;
    let shown = String::from_utf8_lossy(&status.stdout);
    assert!(
        status.status.success() && shown.contains("Account"),
        "{shown}"
    );

    let html = work.path().join("report.html");
    let report = ferry(words(&[
        "report",
        &full_run,
        "--workspace",
        &dir,
        "--format",
        "html",
        "--out",
        html.to_str().unwrap(),
    ]))
    .await;
    assert!(
        report.status.success(),
        "{}",
        String::from_utf8_lossy(&report.stderr)
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains("<table") && page.contains("Account"),
        "{page}"
    );
    let json = ferry(words(&[
        "report",
        &full_run,
        "--workspace",
        &dir,
        "--format",
        "json",
    ]))
    .await;
    let document: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(document["summary"]["run_id"], full_run.as_str());

    // Three contacts change in Salesforce and two tasks are deleted: the delta run takes
    // only those.
    let http = reqwest::Client::new();
    for (object, modify, delete) in [("Contact", 3, 0), ("Task", 0, 2)] {
        let mutation: serde_json::Value = http
            .post(format!("{}/_sim/mutate", simulator.base_url()))
            .json(&serde_json::json!({"object": object, "modify": modify, "delete": delete}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            mutation["deleted"].as_array().unwrap().len(),
            delete,
            "{mutation}"
        );
    }
    let count = |table: &str| -> i64 {
        rusqlite::Connection::open(workspace.join("destination.db"))
            .unwrap()
            .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |row| {
                row.get(0)
            })
            .unwrap()
    };
    let tasks_before = count("tasks");
    let delta = plan_like(
        &simulator,
        "migrate",
        &[
            "--workspace",
            &dir,
            "--delta",
            "--default-owner",
            DEFAULT_OWNER,
        ],
    )
    .await;
    assert!(
        delta.status.success(),
        "{}",
        String::from_utf8_lossy(&delta.stderr)
    );
    assert_eq!(count("tasks"), tasks_before - 2);
    let runs = history(&ferry(words(&["runs", "--workspace", &dir, "--json"])).await);
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[1]["kind"], "delta");
    assert_eq!(runs[1]["delta_of"], full_run.as_str());
    let delta_run = runs[1]["run_id"].as_str().unwrap().to_owned();

    // Runs are undone newest first.
    let refused = ferry(words(&["rollback", &full_run, "--workspace", &dir])).await;
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("newest first"));
    for run in [&delta_run, &full_run] {
        let undone = ferry(words(&["rollback", run, "--workspace", &dir])).await;
        assert!(
            undone.status.success(),
            "{}",
            String::from_utf8_lossy(&undone.stderr)
        );
    }
    assert_eq!(
        (count("contacts"), count("tasks"), count("companies")),
        (0, 0, 0)
    );
    let again = ferry(words(&["rollback", &full_run, "--workspace", &dir])).await;
    assert!(again.status.success(), "a second rollback only reports");
    let runs = history(&ferry(words(&["runs", "--workspace", &dir, "--json"])).await);
    assert!(
        runs.iter()
            .filter(|run| run["kind"] != "rollback")
            .all(|run| run["status"] == "rolled_back"),
        "{runs:?}"
    );
    simulator.shutdown().await;
}

/// Real orgs list objects in describeGlobal whose describe the integration user is refused
/// (NOT_FOUND or INSUFFICIENT_ACCESS). Such an object is left out with Salesforce's answer
/// as a permission problem; the rest of the org migrates; `ferry plan` and `ferry migrate`
/// exit with the same status for the same org.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_object_whose_describe_is_refused_is_left_out_and_plan_and_migrate_agree() {
    let simulator = start(300).await;
    let mut faults = simulator.knobs().faults;
    faults.describe_refused = [
        ("Note".to_owned(), "INSUFFICIENT_ACCESS".to_owned()),
        ("ContentNote".to_owned(), "NOT_FOUND".to_owned()),
    ]
    .into();
    simulator.set_faults(faults);

    let planned = plan(&simulator, &["--json"], true).await;
    let stderr = String::from_utf8_lossy(&planned.stderr);
    assert_eq!(planned.status.code(), Some(4), "{stderr}");
    let document: serde_json::Value = serde_json::from_slice(&planned.stdout).unwrap();
    let problems: Vec<&str> = document["permission_problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    let note = problems
        .iter()
        .find(|p| p.starts_with("Note: "))
        .unwrap_or_else(|| panic!("{problems:?}"));
    assert!(
        note.contains("describe was refused") && note.contains("INSUFFICIENT_ACCESS"),
        "{note}"
    );
    let objects = &document["objects"];
    assert!(
        objects
            .as_array()
            .unwrap()
            .iter()
            .all(|object| object["name"] != "Note"),
        "{objects}"
    );
    named(objects, "name", "Account");
    named(&document["skipped_objects"], "name", "Note");
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("ContentNote: ") && p.contains("NOT_FOUND")),
        "{problems:?}"
    );

    let work = tempfile::tempdir().unwrap();
    let workspace = work.path().join("acme");
    seed_default_owner(&workspace.join("destination.db")).await;
    let migrated = plan_like(
        &simulator,
        "migrate",
        &[
            "--workspace",
            workspace.to_str().unwrap(),
            "--default-owner",
            DEFAULT_OWNER,
        ],
    )
    .await;
    let stdout = String::from_utf8_lossy(&migrated.stdout);
    let stderr = String::from_utf8_lossy(&migrated.stderr);
    assert_eq!(
        migrated.status.code(),
        planned.status.code(),
        "{stdout}\n{stderr}"
    );
    assert!(
        stderr.contains("not migrated: Note: listed by describeGlobal"),
        "{stderr}"
    );
    // The rest of the org landed.
    let connection = rusqlite::Connection::open(workspace.join("destination.db")).unwrap();
    let companies: i64 = connection
        .query_row("SELECT COUNT(*) FROM companies", [], |row| row.get(0))
        .unwrap();
    assert_eq!(
        companies as u64,
        simulator.record_counts()["Account"],
        "{stdout}"
    );
    let notes: i64 = connection
        .query_row(
            "SELECT COUNT(*) FROM notes WHERE source_object = 'Note'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(notes, 0, "{stdout}");
    simulator.shutdown().await;
}
