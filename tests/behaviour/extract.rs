//! Extraction as resumable steps: the API budget's reserve, pausing and resuming in another
//! process after the query locator expired, and the refusal of a run the budget cannot
//! carry.

use ferry_core::steps::{
    DiscoverOptions, ExtractConfig, ExtractMethod, ExtractProgress, ExtractState, Position,
    WaitReason, discover, extract_step, start_state,
};
use ferry_model::budget::BudgetPolicy;
use ferry_model::ids::{RunId, TenantId};
use ferry_model::mapping::FieldMap;
use ferry_simulator::SimulatorConfig;
use ferry_tests::{Embedded, client_config, run_steps, start_org};
use std::collections::HashSet;

#[tokio::test]
async fn a_run_the_budget_cannot_carry_is_refused_before_any_record_moves() {
    let simulator = start_org(300, 5).await;
    let client = ferry_tests::connect(&simulator).await;
    let dir = tempfile::tempdir().unwrap();
    let embedded = Embedded::open(dir.path());
    let config = ExtractConfig {
        budget: BudgetPolicy {
            reserve_percent: 100,
            ..BudgetPolicy::default()
        },
        ..ExtractConfig::default()
    };
    let error = embedded
        .try_migrate(&client, "run-budget", FieldMap::builtin(), config)
        .await
        .unwrap_err();
    assert_eq!(error.error_type(), "BudgetExceeded");
    let message = error.chain();
    assert!(
        message.contains("API calls but only 0 are left today above the 100% reserve"),
        "{message}"
    );
    let companies: i64 = embedded
        .destination_db()
        .query_row("SELECT COUNT(*) FROM companies", [], |row| row.get(0))
        .unwrap();
    assert_eq!(companies, 0);
    simulator.shutdown().await;
}

#[tokio::test]
async fn extraction_pauses_at_the_reserve_and_resumes_in_another_process_without_duplicates() {
    // Plan against one org, then extract from a twin (same seed, same data) whose daily
    // limit is just above what the extraction needs, so the reserve is reached half way.
    let probe = start_org(5_000, 8).await;
    let probe_client = ferry_tests::connect(&probe).await;
    let discovery = discover(
        &probe_client,
        TenantId::new("acme"),
        &FieldMap::builtin(),
        &DiscoverOptions::default(),
    )
    .await
    .unwrap();
    let plan = &discovery.plan;
    let contacts = plan.object("Contact").unwrap();
    let expected = probe.record_counts()["Contact"];
    probe.shutdown().await;
    let pages = expected.div_ceil(200);
    // Each image in a contact's rich text is one more call (fetched at extraction).
    let org = ferry_simulator::org::Org::new(8, 5_000);
    let kind = ferry_simulator::schema::Generated::Contact;
    let images: u64 = (0..org.count(kind))
        .map(|index| org.rich_text_images(kind, index).len() as u64)
        .sum();
    let limit = pages + images + 5;
    let simulator = ferry_simulator::serve(
        SimulatorConfig {
            records: 5_000,
            seed: 8,
            daily_api_limit: limit,
            ..SimulatorConfig::default()
        },
        ([127, 0, 0, 1], 0).into(),
    )
    .await
    .unwrap();
    let mut client_config = client_config(&simulator);
    client_config.query_batch_size = Some(200);
    let client = ferry_salesforce::SalesforceClient::connect(client_config.clone())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let embedded = Embedded::open(dir.path());
    let ports = embedded.extract_ports(&client);
    let run = RunId::new("run-pause");
    let config = ExtractConfig {
        chunk_records: 200,
        budget: BudgetPolicy {
            reserve_percent: 50,
            ..BudgetPolicy::default()
        },
        ..ExtractConfig::default()
    };
    // Run until the reserve (half the limit) stops the extraction.
    let mut state = start_state(contacts, &config);
    assert_eq!(state.method, ExtractMethod::Rest);
    let paused: ExtractState = loop {
        match extract_step(&ports, &run, plan, contacts, &config, state)
            .await
            .unwrap()
        {
            ExtractProgress::Continue(next) => state = next,
            ExtractProgress::Wait {
                state,
                delay,
                reason,
            } => {
                assert_eq!(delay, config.budget.pause);
                assert!(
                    matches!(reason, WaitReason::ApiBudgetReserve { used, limit: l } if l == limit && used >= limit - limit / 2),
                    "{reason:?}"
                );
                break state;
            }
            ExtractProgress::Done(done) => panic!("finished before the reserve: {done:?}"),
        }
    };
    assert!(
        paused.extracted > 0 && paused.extracted < expected,
        "{paused:?}"
    );

    // Waiting changes nothing while the org's usage stays where it is... (these probes
    // stage into a scratch directory, so the resumption below starts from `paused`)
    let scratch_dir = tempfile::tempdir().unwrap();
    let scratch = Embedded::open(scratch_dir.path());
    let probe_ports = scratch.extract_ports(&client);
    let again = extract_step(&probe_ports, &run, plan, contacts, &config, paused.clone())
        .await
        .unwrap();
    assert!(matches!(again, ExtractProgress::Wait { .. }), "{again:?}");
    // ...and once calls have aged out of the 24-hour window (here: a larger allowance), the
    // same client looks again instead of trusting its last figure, and goes on.
    let mut knobs = simulator.knobs();
    knobs.daily_api_limit = limit * 4;
    simulator.set_knobs(knobs);
    let again = extract_step(&probe_ports, &run, plan, contacts, &config, paused.clone())
        .await
        .unwrap();
    assert!(matches!(again, ExtractProgress::Continue(_)), "{again:?}");

    // The state crosses a process boundary as JSON; a new client resumes where it stopped.
    let json = serde_json::to_string(&paused).unwrap();
    let mut state: ExtractState = serde_json::from_str(&json).unwrap();
    // By the time it resumes, the paused query's locator has expired in Salesforce: the
    // step starts a new query after the last Id it staged.
    let Position::Rest {
        next: Some(cursor),
        after: Some(_),
    } = &mut state.position
    else {
        panic!("paused mid-query: {:?}", state.position);
    };
    let (prefix, _) = cursor.rsplit_once('/').unwrap();
    *cursor = format!("{prefix}/01gZZZZZZZZZZZZZZZ-{}", paused.extracted);
    let resumed_client = ferry_salesforce::SalesforceClient::connect(client_config)
        .await
        .unwrap();
    let ports = embedded.extract_ports(&resumed_client);
    let steps = run_steps(&ports, &run, plan, "Contact", &config, state)
        .await
        .unwrap_or_else(|error| panic!("{}", error.chain()));
    assert!(steps.waits.is_empty(), "{:?}", steps.waits);
    let done = steps.done;
    assert_eq!(done.extracted, expected);
    let ids: Vec<String> = embedded
        .drain_staged()
        .await
        .iter()
        .map(|record| record["Id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len() as u64, expected);
    assert_eq!(
        ids.iter().collect::<HashSet<_>>().len(),
        ids.len(),
        "no record staged twice"
    );
    simulator.shutdown().await;
}

/// Raises the org's daily limit when the extraction sleeps, as an admin raising it (or calls
/// ageing out of the 24-hour window) would, and keeps what it was asked to sleep.
struct RaiseLimitOnSleep<'a> {
    simulator: &'a ferry_simulator::RunningSimulator,
    slept: std::sync::Mutex<Vec<std::time::Duration>>,
}

#[async_trait::async_trait]
impl ferry_model::ports::Sleeper for RaiseLimitOnSleep<'_> {
    async fn sleep(&self, duration: std::time::Duration) {
        self.slept.lock().unwrap().push(duration);
        let mut knobs = self.simulator.knobs();
        knobs.daily_api_limit *= 10;
        self.simulator.set_knobs(knobs);
    }
}

#[derive(Default)]
struct Events(std::sync::Mutex<Vec<ferry_model::runs::ProgressEvent>>);

impl ferry_model::ports::Progress for Events {
    fn event(&self, event: ferry_model::runs::ProgressEvent) {
        self.0.lock().unwrap().push(event);
    }
}

#[tokio::test]
async fn a_budget_pause_says_what_it_waits_for_until_when_and_wakes_within_a_minute_of_a_raise() {
    let simulator = start_org(2_000, 8).await;
    let mut config = client_config(&simulator);
    config.query_batch_size = Some(200);
    let client = ferry_salesforce::SalesforceClient::connect(config)
        .await
        .unwrap();
    let plan = discover(
        &client,
        TenantId::new("acme"),
        &FieldMap::builtin(),
        &DiscoverOptions::default(),
    )
    .await
    .unwrap()
    .plan;
    let contacts = plan.object("Contact").unwrap().clone();
    // Half the limit is reserve; the other half leaves room for a few calls only.
    let used = client.api_usage().unwrap().used;
    let limit = 2 * (used + 3);
    let mut knobs = simulator.knobs();
    knobs.daily_api_limit = limit;
    simulator.set_knobs(knobs);
    let dir = tempfile::tempdir().unwrap();
    let embedded = Embedded::open(dir.path());
    let sleeper = RaiseLimitOnSleep {
        simulator: &simulator,
        slept: Default::default(),
    };
    let events = Events::default();
    let extract_config = ExtractConfig {
        chunk_records: 200,
        budget: BudgetPolicy {
            reserve_percent: 50,
            ..BudgetPolicy::default()
        },
        ..ExtractConfig::default()
    };
    let before = time::OffsetDateTime::now_utc();
    let done = ferry_core::steps::extract_object(
        &embedded.extract_ports(&client),
        &sleeper,
        &events,
        &RunId::new("run-pause-raise"),
        &plan,
        &contacts,
        extract_config,
    )
    .await
    .unwrap_or_else(|error| panic!("{}", error.chain()));
    assert_eq!(done.extracted, contacts.in_salesforce);
    // One pause of a minute (the default: the budget is read afresh each time), after which
    // the raised limit lets it finish.
    assert_eq!(
        *sleeper.slept.lock().unwrap(),
        [std::time::Duration::from_secs(60)]
    );
    let events = events.0.into_inner().unwrap();
    let pauses: Vec<_> = events
        .iter()
        .filter_map(|event| match event {
            ferry_model::runs::ProgressEvent::BudgetPause {
                object,
                used,
                limit: l,
                reserve,
                until,
            } => Some((object.clone(), *used, *l, *reserve, until.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(pauses.len(), 1, "{events:?}");
    let (object, used, reported_limit, reserve, until) = &pauses[0];
    assert_eq!(object, "Contact");
    assert_eq!((*reported_limit, *reserve), (limit, limit / 2));
    assert!(*used >= limit / 2, "{used} of {limit}");
    let until =
        time::OffsetDateTime::parse(until, &time::format_description::well_known::Rfc3339).unwrap();
    assert!(
        until >= before + time::Duration::seconds(59)
            && until <= time::OffsetDateTime::now_utc() + time::Duration::seconds(61),
        "{until}"
    );
    simulator.shutdown().await;
}

#[tokio::test]
async fn a_delta_takes_only_records_changed_since_the_last_run_deleted_ones_included() {
    let simulator = start_org(2_000, 9).await;
    let client = ferry_tests::connect(&simulator).await;
    let plan = discover(
        &client,
        TenantId::new("acme"),
        &FieldMap::builtin(),
        &DiscoverOptions::default(),
    )
    .await
    .unwrap()
    .plan;
    let last_run = time::OffsetDateTime::now_utc();
    // The org changes after the last run: some contacts edited, some deleted.
    let http = reqwest::Client::new();
    let mutation: serde_json::Value = http
        .post(format!("{}/_sim/mutate", simulator.base_url()))
        .json(&serde_json::json!({"object": "Contact", "modify": 6, "delete": 3}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids = |key: &str| -> HashSet<String> {
        mutation[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|id| id.as_str().unwrap().to_owned())
            .collect()
    };
    let (modified, deleted) = (ids("modified"), ids("deleted"));
    assert_eq!((modified.len(), deleted.len()), (6, 3));

    for include_deleted in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let embedded = Embedded::open(dir.path());
        let config = ExtractConfig {
            since: Some(last_run),
            include_deleted,
            ..ExtractConfig::default()
        };
        let state = start_state(plan.object("Contact").unwrap(), &config);
        let ports = embedded.extract_ports(&client);
        let steps = run_steps(
            &ports,
            &RunId::new("run-delta"),
            &plan,
            "Contact",
            &config,
            state,
        )
        .await
        .unwrap();
        let staged: HashSet<String> = embedded
            .drain_staged()
            .await
            .iter()
            .map(|record| record["Id"].as_str().unwrap().to_owned())
            .collect();
        let mut expected = modified.clone();
        if include_deleted {
            expected.extend(deleted.iter().cloned());
        }
        assert_eq!(staged, expected, "include_deleted: {include_deleted}");
        assert_eq!(steps.done.extracted, expected.len() as u64);
    }
    simulator.shutdown().await;
}
