//! `ferry demo`: the whole migration on one machine, against a simulated org.

use crate::local::{Workspace, new_run_id};
use anyhow::Context;
use clap::Args;
use ferry_core::run::{LocalPorts, RunConfig, RunOptions, migrate_with};
use ferry_core::steps::{DiscoverOptions, ExtractConfig};
use ferry_embedded::TokioSleeper;
use ferry_model::mapping::FieldMap;
use ferry_model::secret::Secret;
use ferry_salesforce::{ClientConfig, SalesforceClient};
use ferry_simulator::SimulatorConfig;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Records in the simulated org, across all objects.
    #[arg(long, default_value_t = 50_000)]
    pub records: u64,
    /// Working directory: ID map, run store, staged chunks and the destination database.
    /// Run the demo twice on the same directory to see a re-run update instead of duplicate.
    #[arg(long, default_value = "ferry-demo")]
    pub dir: PathBuf,
    /// Seed of the simulated org.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// What the simulated org is mostly made of: `sales` or `activities`.
    #[arg(long, default_value = "sales", value_parser = crate::sim::parse_mix)]
    pub mix: ferry_simulator::org::Mix,
    /// Records per staged chunk.
    #[arg(long, default_value_t = 2000)]
    pub chunk_records: usize,
    /// The simulated org without person accounts (they are on by default, as in many
    /// business-to-consumer orgs).
    #[arg(long)]
    pub no_person_accounts: bool,
    /// The simulated org with one currency (several are on by default).
    #[arg(long)]
    pub single_currency: bool,
    #[command(flatten)]
    pub pseudonymise: crate::plan::PseudonymiseArgs,
    /// Where records a Salesforce queue owns (leads, cases) land: `team`, each queue as a
    /// destination team that owns them, or `default-owner`, no teams and the records to the
    /// default owner (`--default-owner`).
    #[arg(long, value_name = "team|default-owner", default_value = "team", value_parser = crate::migrate::parse_queues)]
    pub queues: ferry_model::plan::QueueOwners,
    /// Which versions of each file land: `latest` (superseded versions counted skipped) or
    /// `all`.
    #[arg(long, value_name = "latest|all", default_value = "latest", value_parser = ferry_core::steps::FileVersions::parse)]
    pub file_versions: ferry_core::steps::FileVersions,
}

impl DemoArgs {
    /// The simulated org's features: person accounts and multiple currencies unless turned
    /// off, so the demo meets an org shaped like real ones.
    fn features(&self) -> ferry_simulator::schema::Features {
        ferry_simulator::schema::Features {
            person_accounts: !self.no_person_accounts,
            multi_currency: !self.single_currency,
        }
    }
}

pub async fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let pseudonymise = args.pseudonymise.load()?;
    let simulator = ferry_simulator::serve(
        SimulatorConfig {
            records: args.records,
            mix: args.mix,
            seed: args.seed,
            features: args.features(),
            ..SimulatorConfig::default()
        },
        ([127, 0, 0, 1], 0).into(),
    )
    .await
    .context("cannot start the simulated org")?;
    let base_url = simulator.base_url().to_owned();
    let features = args.features();
    println!(
        "Simulated Salesforce org: {} records ({} mix, seed {}{}{}) at {base_url}",
        args.records,
        args.mix.name(),
        args.seed,
        if features.person_accounts {
            ", person accounts"
        } else {
            ""
        },
        if features.multi_currency {
            ", multiple currencies"
        } else {
            ""
        }
    );

    let credentials = simulator.credentials();
    let mut client_config = ClientConfig::new(
        simulator.login_url(),
        credentials.client_id.clone(),
        Secret::new(credentials.refresh_token.clone()),
    )
    .with_client_secret(Secret::new(credentials.client_secret.clone()));
    client_config.allowed_hosts = vec![host_and_port(&base_url)];
    let salesforce = SalesforceClient::connect(client_config)
        .await
        .context("cannot connect to the simulated org")?;

    let workspace = Workspace::open_exclusive(&args.dir, "demo")?;
    let tenant = crate::local::local_tenant();
    let (seeded, default_owner) = seed_destination_users(
        &workspace.destination,
        &tenant,
        args.seed,
        args.records,
        args.mix,
        features,
    )
    .await?;
    println!(
        "Destination users: {seeded}, matching part of the org's users by email; the rest own through the default owner {default_owner}"
    );
    let run_id = new_run_id();
    println!("Run {run_id} into {}", workspace.dir.display());
    let ports = LocalPorts {
        salesforce: &salesforce,
        staging: &workspace.staging,
        id_map: &workspace.store,
        runs: &workspace.store,
        destination: &workspace.destination,
        sleeper: &TokioSleeper,
    };
    let config = RunConfig {
        concurrency: Default::default(),
        tenant,
        run_id,
        map: FieldMap::builtin(),
        extract: ExtractConfig {
            chunk_records: args.chunk_records,
            ..ExtractConfig::default()
        },
        discover: DiscoverOptions {
            queues: args.queues,
            file_versions: args.file_versions,
            ..DiscoverOptions::default()
        },
        pseudonymise,
        validation: Default::default(),
        default_owner: Some(default_owner),
        merge_leads_by_email: false,
    };
    let progress = crate::progress::ProgressView::for_stderr();
    let migration = migrate_with(&ports, &config, &RunOptions::default(), &progress)
        .await
        .map_err(|error| anyhow::anyhow!(error))?;
    let report = &migration.report;

    crate::summary::print(
        report,
        Some(&migration.discovery),
        salesforce
            .api_usage()
            .map(|usage| (usage.used, usage.limit)),
    );
    println!(
        "Done in {:.1} s. Destination: {}",
        started.elapsed().as_secs_f64(),
        workspace.dir.join("destination.db").display()
    );
    simulator.shutdown().await;
    if !report.is_balanced() {
        eprintln!("ferry: the counts do not add up: some extracted records have no outcome");
        Ok(ExitCode::FAILURE)
    } else if !report.is_complete() {
        eprintln!(
            "ferry: not every record in Salesforce has an outcome: {}",
            differences(report)
        );
        Ok(ExitCode::FAILURE)
    } else {
        Ok(ExitCode::SUCCESS)
    }
}

/// Sets up the reference CRM's users the way its admin would before a migration: every other
/// user of the simulated org (by the same generator, so the emails are the org's) and the
/// integration user, who is the default owner. The users left out show owner reconciliation:
/// they are reported, and what they own goes to the default owner. Returns how many users
/// the destination has, and the default owner's email.
pub(crate) async fn seed_destination_users(
    destination: &ferry_embedded::SqliteDestination,
    tenant: &ferry_model::ids::TenantId,
    seed: u64,
    records: u64,
    mix: ferry_simulator::org::Mix,
    features: ferry_simulator::schema::Features,
) -> anyhow::Result<(usize, String)> {
    use ferry_simulator::org::{INTEGRATION_USERNAME, Org};
    use ferry_simulator::schema::{Generated, generated_object};
    use ferry_simulator::value::Val;
    let org = Org::with_features(seed, records, mix, features);
    let user = generated_object(Generated::User);
    let (Some(email_field), Some(name_field)) =
        (user.field_index("Email"), user.field_index("Name"))
    else {
        anyhow::bail!("the simulated User object has no Email or Name field");
    };
    let mut seeded = 0;
    for index in (0..org.count(Generated::User)).filter(|index| index % 2 == 1) {
        let values = org.record(Generated::User, index);
        if let (Some(Val::Str(email)), Some(Val::Str(name))) =
            (values.get(email_field), values.get(name_field))
        {
            destination
                .add_user(tenant, email, name)
                .await
                .map_err(|error| anyhow::anyhow!(error))
                .context("cannot add a destination user")?;
            seeded += 1;
        }
    }
    destination
        .add_user(tenant, INTEGRATION_USERNAME, "Integration User")
        .await
        .map_err(|error| anyhow::anyhow!(error))
        .context("cannot add the default owner")?;
    Ok((seeded + 1, INTEGRATION_USERNAME.to_owned()))
}

/// `http://127.0.0.1:40123` → `127.0.0.1:40123`: the simulator is allowed as an instance host
/// by name, the way a test or a consultant would allow it.
pub(crate) fn host_and_port(base_url: &str) -> String {
    let without_scheme = base_url
        .split_once("://")
        .map_or(base_url, |(_, rest)| rest);
    without_scheme
        .split('/')
        .next()
        .unwrap_or(without_scheme)
        .to_owned()
}

/// The objects whose Salesforce count and outcomes differ, in one line.
pub(crate) fn differences(report: &ferry_model::report::RunReport) -> String {
    report
        .salesforce_differences()
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
