//! `ferry bench`: speed, memory and API calls of the embedded path, measured against the
//! download-only limit, on a simulated org with realistic latency.
//!
//! The simulator runs in this process; every measurement runs in a child process of its
//! own (`ferry bench-child`), so each one's peak RSS (`VmHWM`) is its own and the
//! simulator's memory is not counted. Per scenario:
//!
//! - `limit`: the same client, plan, page sizes and concurrency (objects two at a time,
//!   files and rich-text images eight at a time, at most ten requests in flight),
//!   downloading every result page, file and rich-text image and doing nothing with them;
//! - `ferry`: the whole migration (discover, extract, load, finalize, verify) into a local
//!   SQLite destination.
//!
//! The figures go to `bench.json` and `bench.md` in the output directory.

use anyhow::Context;
use async_trait::async_trait;
use clap::{Args, ValueEnum};
use ferry_core::run::{LocalPorts, RunConfig, RunOptions, migrate_with};
use ferry_core::steps::{self, DiscoverOptions, ExtractConfig};
use ferry_embedded::{SqliteDestination, TokioSleeper};
use ferry_model::error::PortError;
use ferry_model::ids::{DestinationId, TenantId};
use ferry_model::mapping::{EntityKind, FieldMap};
use ferry_model::plan::CustomFieldDefinition;
use ferry_model::plan::ObjectPlan;
use ferry_model::ports::NoProgress;
use ferry_model::ports::{
    BulkJobState, Destination, DestinationUser, FileUpload, LinkPatch, QueryPageRequest,
    SalesforceApi, UpsertOutcome, UserStatus,
};
use ferry_model::records::DestinationRecord;
use ferry_model::secret::Secret;
use ferry_salesforce::{ClientConfig, SalesforceClient};
use ferry_simulator::org::Mix;
use ferry_simulator::{Faults, SimulatorConfig};
use futures::StreamExt as _;
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Records at which Salesforce's API-call allowance grants one more call
/// (`discovery + 4 per object + 1 per 50k records extracted + 1 per file`).
const RECORDS_PER_ALLOWED_CALL: u64 = 50_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scenario {
    /// The default simulated org, about 50k records with files.
    S,
    /// A 1,000,000-record org.
    L,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Scenarios to run, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "s,l")]
    pub scenarios: Vec<Scenario>,
    /// Records of scenario S.
    #[arg(long, default_value_t = 50_000)]
    pub records_s: u64,
    /// Records of scenario L.
    #[arg(long, default_value_t = 1_000_000)]
    pub records_l: u64,
    /// What scenario S's org is mostly made of.
    #[arg(long, default_value = "sales", value_parser = crate::sim::parse_mix)]
    pub mix_s: Mix,
    /// What scenario L's org is mostly made of (activities: tasks, emails, events).
    #[arg(long, default_value = "activities", value_parser = crate::sim::parse_mix)]
    pub mix_l: Mix,
    /// Where bench.json, bench.md and the scenarios' working directories go.
    #[arg(long, default_value = "target/bench")]
    pub out: PathBuf,
    /// Simulated latency of every API call, in milliseconds.
    #[arg(long, default_value_t = 50)]
    pub latency_ms: u64,
    /// Rows per second a simulated Bulk job processes (its completion time is
    /// proportional to its size).
    #[arg(long, default_value_t = 50_000)]
    pub bulk_rows_per_second: u64,
    /// Bytes per second each simulated response body (result pages, files) is sent at.
    #[arg(long, default_value_t = 8_000_000)]
    pub bandwidth_bytes_per_second: u64,
    /// Seed of the simulated orgs.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Records per staged chunk (also the Bulk result page size).
    #[arg(long, default_value_t = 2000)]
    pub chunk_records: usize,
    /// Keep the scenarios' working directories (destination, ID map, staged chunks).
    #[arg(long)]
    pub keep: bool,
}

/// What a child measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChildMode {
    /// The whole migration into a local destination.
    Migrate,
    /// Only download every result page and file.
    Download,
}

#[derive(Debug, Args)]
pub struct BenchChildArgs {
    #[arg(long, value_enum)]
    pub mode: ChildMode,
    /// JSON file with the simulator's connection info.
    #[arg(long)]
    pub connection: PathBuf,
    /// Working directory.
    #[arg(long)]
    pub dir: PathBuf,
    #[arg(long, default_value_t = 2000)]
    pub chunk_records: usize,
}

/// How a child reaches the simulator.
#[derive(Debug, Serialize, Deserialize)]
struct Connection {
    base_url: String,
    login_url: String,
    client_id: String,
    client_secret: String,
    refresh_token: String,
    seed: u64,
    records: u64,
    mix: String,
}

/// What a child reports on its last stdout line.
#[derive(Debug, Default, Serialize, Deserialize)]
struct ChildReport {
    mode: Option<ChildMode>,
    /// Seconds from connecting to the end (migration: verification included).
    wall_s: f64,
    /// Seconds of discovery (part of `wall_s`; the limit does not count it in `download_s`).
    discovery_s: f64,
    /// Download only: seconds from the first Bulk job or query to the last byte.
    download_s: f64,
    /// Peak resident set size (`VmHWM`), in KiB.
    peak_rss_kib: u64,
    objects: u64,
    records_in_salesforce: u64,
    records_extracted: u64,
    files: u64,
    /// Download only: rich-text images fetched (one call each).
    images: u64,
    created: u64,
    updated: u64,
    unchanged: u64,
    skipped: u64,
    failed: u64,
    verified: u64,
    mismatched: u64,
    balanced: bool,
    bytes_downloaded: u64,
    /// Download only: calls of discovery (describes, counts, limits, inventory).
    discovery_calls: u64,
    client_calls: u64,
    client_retries: u64,
    destination_calls: BTreeMap<String, u64>,
    destination_records: u64,
}

pub async fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let exe = std::env::current_exe().context("cannot find the ferry executable")?;
    let mut scenarios = Vec::new();
    for scenario in dedup(&args.scenarios) {
        let (records, mix) = match scenario {
            Scenario::S => (args.records_s, args.mix_s),
            Scenario::L => (args.records_l, args.mix_l),
        };
        eprintln!(
            "== scenario {scenario:?}: {records} records, {} mix",
            mix.name()
        );
        scenarios.push(run_scenario(&args, &exe, scenario, records, mix).await?);
    }
    let document = json!({
        "machine": machine(),
        "commit": commit(),
        "measured_at": now(),
        "settings": {
            "latency_ms": args.latency_ms,
            "bulk_rows_per_second": args.bulk_rows_per_second,
            "bandwidth_bytes_per_second": args.bandwidth_bytes_per_second,
            "chunk_records": args.chunk_records,
            "seed": args.seed,
            "extract_objects_at_once": ferry_core::schedule::Concurrency::default().extract,
            "load_chunks_at_once": ferry_core::schedule::Concurrency::default().load,
        },
        "targets": {
            "scenario_s_wall_s": 30.0,
            "ratio_to_limit": 1.3,
            "peak_rss_l_mib": 200.0,
            "peak_rss_l_over_s": 1.5,
            "api_calls": "discovery calls + 4 per object + 1 per 50k records extracted + 1 per file",
        },
        "scenarios": scenarios,
        "checks": checks(&scenarios),
    });
    let json_path = args.out.join("bench.json");
    std::fs::write(&json_path, serde_json::to_string_pretty(&document)?)
        .with_context(|| format!("cannot write {}", json_path.display()))?;
    let markdown = markdown(&document);
    let md_path = args.out.join("bench.md");
    std::fs::write(&md_path, &markdown)
        .with_context(|| format!("cannot write {}", md_path.display()))?;
    println!("{markdown}");
    println!("Written: {} and {}", json_path.display(), md_path.display());
    Ok(ExitCode::SUCCESS)
}

fn dedup(scenarios: &[Scenario]) -> Vec<Scenario> {
    let mut seen = Vec::new();
    for scenario in scenarios {
        if !seen.contains(scenario) {
            seen.push(*scenario);
        }
    }
    seen
}

/// The benchmark's orgs have person accounts and multiple currencies, as the demo's do, so
/// its figures carry what real orgs carry.
const BENCH_FEATURES: ferry_simulator::schema::Features = ferry_simulator::schema::Features {
    person_accounts: true,
    multi_currency: true,
};

async fn run_scenario(
    args: &BenchArgs,
    exe: &Path,
    scenario: Scenario,
    records: u64,
    mix: Mix,
) -> anyhow::Result<Json> {
    let simulator = ferry_simulator::serve(
        SimulatorConfig {
            records,
            mix,
            seed: args.seed,
            daily_api_limit: 10_000_000,
            features: BENCH_FEATURES,
            faults: Faults {
                latency_ms: args.latency_ms,
                bulk_rows_per_second: args.bulk_rows_per_second,
                bandwidth_bytes_per_second: args.bandwidth_bytes_per_second,
                ..Faults::default()
            },
            ..SimulatorConfig::default()
        },
        ([127, 0, 0, 1], 0).into(),
    )
    .await
    .context("cannot start the simulated org")?;
    let name = match scenario {
        Scenario::S => "s",
        Scenario::L => "l",
    };
    let work = args.out.join("work").join(name);
    if work.exists() {
        std::fs::remove_dir_all(&work)
            .with_context(|| format!("cannot clear {}", work.display()))?;
    }
    std::fs::create_dir_all(&work).with_context(|| format!("cannot create {}", work.display()))?;
    let credentials = simulator.credentials();
    let connection = Connection {
        base_url: simulator.base_url().to_owned(),
        login_url: simulator.login_url().to_owned(),
        client_id: credentials.client_id.clone(),
        client_secret: credentials.client_secret.clone(),
        refresh_token: credentials.refresh_token.clone(),
        seed: args.seed,
        records,
        mix: mix.name().to_owned(),
    };
    let connection_path = work.join("connection.json");
    std::fs::write(&connection_path, serde_json::to_vec(&connection)?)?;

    let mut runs = serde_json::Map::new();
    for mode in [ChildMode::Download, ChildMode::Migrate] {
        let label = match mode {
            ChildMode::Download => "limit",
            ChildMode::Migrate => "ferry",
        };
        eprintln!("-- {label}");
        let before = simulator.counters();
        let dir = work.join(label);
        let started = Instant::now();
        let mut command = std::process::Command::new(exe);
        command
            .arg("bench-child")
            .arg("--mode")
            .arg(match mode {
                ChildMode::Download => "download",
                ChildMode::Migrate => "migrate",
            })
            .arg("--connection")
            .arg(&connection_path)
            .arg("--dir")
            .arg(&dir)
            .arg("--chunk-records")
            .arg(args.chunk_records.to_string())
            .stderr(std::process::Stdio::inherit());
        let output = tokio::task::spawn_blocking(move || command.output())
            .await
            .context("the benchmark child's waiter failed")?
            .context("cannot run the benchmark child")?;
        let process_wall_s = started.elapsed().as_secs_f64();
        if !output.status.success() {
            anyhow::bail!(
                "the {label} run of scenario {name} failed: {}",
                output.status
            );
        }
        let stdout = String::from_utf8_lossy(&output.stdout);
        let report: ChildReport = stdout
            .lines()
            .rev()
            .find(|line| line.starts_with('{'))
            .context("the benchmark child printed no report")
            .and_then(|line| serde_json::from_str(line).context("unreadable child report"))?;
        let after = simulator.counters();
        let calls: BTreeMap<String, u64> = after
            .iter()
            .map(|(kind, n)| (kind.clone(), n - before.get(kind).copied().unwrap_or(0)))
            .filter(|(_, n)| *n > 0)
            .collect();
        let mut entry = serde_json::to_value(&report)?;
        if let Json::Object(map) = &mut entry {
            map.insert("process_wall_s".into(), json!(process_wall_s));
            map.insert("salesforce_calls".into(), json!(calls));
            map.insert(
                "salesforce_calls_total".into(),
                json!(calls.values().sum::<u64>()),
            );
            if mode == ChildMode::Migrate && report.wall_s > 0.0 {
                map.insert(
                    "records_per_s".into(),
                    json!(report.records_extracted as f64 / report.wall_s),
                );
            }
        }
        eprintln!(
            "   {label}: {:.1} s, peak RSS {:.0} MiB, {} Salesforce calls",
            report.wall_s,
            report.peak_rss_kib as f64 / 1024.0,
            calls.values().sum::<u64>()
        );
        runs.insert(label.to_owned(), entry);
        if !args.keep {
            // Best effort: a directory left behind only costs disk.
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
    simulator.shutdown().await;
    let ferry = runs.get("ferry").cloned().unwrap_or(Json::Null);
    let limit = runs.get("limit").cloned().unwrap_or(Json::Null);
    // Both clocks start at connecting: the limit discovers the org too (it cannot name the
    // fields to download otherwise); its `download_s` without discovery is reported too.
    let ratio = match (ferry["wall_s"].as_f64(), limit["wall_s"].as_f64()) {
        (Some(f), Some(l)) if l > 0.0 => Some(f / l),
        _ => None,
    };
    // The allowance: discovery calls + 4 per object + 1 per 50k records extracted +
    // 1 per file + 1 per rich-text image. Discovery calls are the migration's calls before extraction; the
    // limit child makes the same discovery, so its count is measured there.
    let discovery_calls = limit["discovery_calls"].as_u64().unwrap_or(0);
    let objects = ferry["objects"].as_u64().unwrap_or(0);
    let extracted = ferry["records_extracted"].as_u64().unwrap_or(0);
    let files = ferry["files"].as_u64().unwrap_or(0);
    // Rich-text images as the limit found them in the same records (one call each).
    let images = limit["images"].as_u64().unwrap_or(0);
    let allowed = discovery_calls
        + 4 * objects
        + extracted.div_ceil(RECORDS_PER_ALLOWED_CALL)
        + files
        + images;
    let used = ferry["salesforce_calls_total"].as_u64().unwrap_or(0);
    Ok(json!({
        "scenario": name,
        "records": records,
        "mix": mix.name(),
        "ferry": ferry,
        "limit": limit,
        "ratio_to_limit": ratio,
        "api_calls": {
            "used": used,
            "allowed": allowed,
            "discovery": discovery_calls,
            "objects": objects,
            "records_extracted": extracted,
            "files": files,
            "rich_text_images": images,
        },
    }))
}

fn checks(scenarios: &[Json]) -> Json {
    let find = |name: &str| scenarios.iter().find(|s| s["scenario"] == name);
    let mut checks = Vec::new();
    if let Some(s) = find("s") {
        let wall = s["ferry"]["wall_s"].as_f64().unwrap_or(f64::MAX);
        checks.push(json!({"target": "S end to end ≤ 30 s", "value": wall, "met": wall <= 30.0}));
    }
    for scenario in scenarios {
        let name = scenario["scenario"].as_str().unwrap_or("?").to_uppercase();
        if let Some(ratio) = scenario["ratio_to_limit"].as_f64() {
            checks.push(json!({"target": format!("{name} wall time ≤ 1.3 × limit"), "value": ratio, "met": ratio <= 1.3}));
        }
        let used = scenario["api_calls"]["used"].as_u64().unwrap_or(u64::MAX);
        let allowed = scenario["api_calls"]["allowed"].as_u64().unwrap_or(0);
        checks.push(json!({"target": format!("{name} Salesforce API calls ≤ allowance ({allowed})"), "value": used, "met": used <= allowed}));
    }
    if let Some(l) = find("l") {
        let peak_l = l["ferry"]["peak_rss_kib"].as_f64().unwrap_or(f64::MAX) / 1024.0;
        checks.push(
            json!({"target": "peak RSS at L ≤ 200 MiB", "value": peak_l, "met": peak_l <= 200.0}),
        );
        if let Some(s) = find("s") {
            let peak_s = s["ferry"]["peak_rss_kib"].as_f64().unwrap_or(0.0) / 1024.0;
            let ratio = if peak_s > 0.0 {
                peak_l / peak_s
            } else {
                f64::MAX
            };
            checks.push(json!({"target": "peak RSS at L ≤ 1.5 × at S", "value": ratio, "met": ratio <= 1.5}));
        }
    }
    Json::Array(checks)
}

fn markdown(document: &Json) -> String {
    let mut out = String::new();
    out.push_str("# Ferry benchmark\n\n");
    out.push_str(&format!(
        "Machine: {}. Commit: {}. Measured at {}.\n\n",
        document["machine"]["summary"].as_str().unwrap_or("?"),
        document["commit"].as_str().unwrap_or("?"),
        document["measured_at"].as_str().unwrap_or("?"),
    ));
    let settings = &document["settings"];
    out.push_str(&format!(
        "Simulator: {} ms per call, Bulk jobs at {} rows/s, responses at {} bytes/s; chunks of {} records.\n\n",
        settings["latency_ms"],
        settings["bulk_rows_per_second"],
        settings["bandwidth_bytes_per_second"],
        settings["chunk_records"],
    ));
    out.push_str("Both clocks start at connecting to the org: the limit is discovery plus downloading every result page and file, and nothing else; the ratio is Ferry's wall time over it.\n\n");
    out.push_str("| scenario | records | mix | Ferry wall (s) | records/s | limit (s) | ratio | Ferry peak RSS (MiB) | limit peak RSS (MiB) | SF calls | allowed | destination calls | verified |\n");
    out.push_str("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for s in document["scenarios"].as_array().into_iter().flatten() {
        let f = &s["ferry"];
        let l = &s["limit"];
        let dest: u64 = f["destination_calls"]
            .as_object()
            .map(|m| m.values().filter_map(Json::as_u64).sum())
            .unwrap_or(0);
        out.push_str(&format!(
            "| {} | {} | {} | {:.1} | {:.0} | {:.1} | {:.2} | {:.0} | {:.0} | {} | {} | {} | {} |\n",
            s["scenario"].as_str().unwrap_or("?").to_uppercase(),
            s["records"],
            s["mix"].as_str().unwrap_or("?"),
            f["wall_s"].as_f64().unwrap_or(0.0),
            f["records_per_s"].as_f64().unwrap_or(0.0),
            l["wall_s"].as_f64().unwrap_or(0.0),
            s["ratio_to_limit"].as_f64().unwrap_or(0.0),
            f["peak_rss_kib"].as_f64().unwrap_or(0.0) / 1024.0,
            l["peak_rss_kib"].as_f64().unwrap_or(0.0) / 1024.0,
            s["api_calls"]["used"],
            s["api_calls"]["allowed"],
            dest,
            f["verified"],
        ));
    }
    out.push_str("\nSalesforce calls by kind (Ferry / limit):\n\n");
    for s in document["scenarios"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "- {}: Ferry {}; limit {}; destination {}\n",
            s["scenario"].as_str().unwrap_or("?").to_uppercase(),
            s["ferry"]["salesforce_calls"],
            s["limit"]["salesforce_calls"],
            s["ferry"]["destination_calls"],
        ));
    }
    out.push_str("\n| target | value | met |\n|---|---:|---|\n");
    for check in document["checks"].as_array().into_iter().flatten() {
        let value = match &check["value"] {
            Json::Number(n) if n.is_f64() => format!("{:.2}", n.as_f64().unwrap_or(0.0)),
            other => other.to_string(),
        };
        out.push_str(&format!(
            "| {} | {} | {} |\n",
            check["target"].as_str().unwrap_or("?"),
            value,
            if check["met"] == true { "yes" } else { "no" },
        ));
    }
    out
}

fn machine() -> Json {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory_kib = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .unwrap_or(0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .unwrap_or_default()
        .trim()
        .to_owned();
    let summary = format!(
        "{model}, {cores} cores, {:.0} GiB, Linux {kernel}",
        memory_kib as f64 / 1024.0 / 1024.0
    );
    json!({"cpu": model, "cores": cores, "memory_kib": memory_kib, "kernel": kernel, "summary": summary})
}

fn commit() -> String {
    std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .map(|hash| {
            let dirty = std::process::Command::new("git")
                .args(["status", "--porcelain", "--untracked-files=no"])
                .output()
                .is_ok_and(|output| !output.stdout.is_empty());
            if dirty { format!("{hash}-dirty") } else { hash }
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Peak resident set size of this process, in KiB (`VmHWM` of `/proc/self/status`).
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

pub async fn child(args: BenchChildArgs) -> anyhow::Result<ExitCode> {
    let connection: Connection = serde_json::from_slice(
        &std::fs::read(&args.connection)
            .with_context(|| format!("cannot read {}", args.connection.display()))?,
    )?;
    let started = Instant::now();
    let mut client_config = ClientConfig::new(
        connection.login_url.clone(),
        connection.client_id.clone(),
        Secret::new(connection.refresh_token.clone()),
    )
    .with_client_secret(Secret::new(connection.client_secret.clone()));
    client_config.allowed_hosts = vec![crate::demo::host_and_port(&connection.base_url)];
    let salesforce = SalesforceClient::connect(client_config)
        .await
        .context("cannot connect to the simulated org")?;
    let extract = ExtractConfig {
        chunk_records: args.chunk_records,
        ..ExtractConfig::default()
    };
    let mut report = match args.mode {
        ChildMode::Migrate => migrate(&salesforce, &connection, &args.dir, extract).await?,
        ChildMode::Download => download(&salesforce, extract).await?,
    };
    report.mode = Some(args.mode);
    report.wall_s = started.elapsed().as_secs_f64();
    report.client_calls = salesforce.calls();
    report.client_retries = salesforce.retries();
    report.peak_rss_kib = peak_rss_kib();
    println!("{}", serde_json::to_string(&report)?);
    Ok(ExitCode::SUCCESS)
}

async fn migrate(
    salesforce: &SalesforceClient,
    connection: &Connection,
    dir: &Path,
    extract: ExtractConfig,
) -> anyhow::Result<ChildReport> {
    let workspace = crate::local::Workspace::open(dir)?;
    let tenant = crate::local::local_tenant();
    let (_, default_owner) = crate::demo::seed_destination_users(
        &workspace.destination,
        &tenant,
        connection.seed,
        connection.records,
        crate::sim::parse_mix(&connection.mix).map_err(|error| anyhow::anyhow!(error))?,
        BENCH_FEATURES,
    )
    .await?;
    let destination = CountingDestination::new(&workspace.destination);
    let ports = LocalPorts {
        salesforce,
        staging: &workspace.staging,
        id_map: &workspace.store,
        runs: &workspace.store,
        destination: &destination,
        sleeper: &TokioSleeper,
    };
    let config = RunConfig {
        concurrency: Default::default(),
        tenant,
        run_id: crate::local::new_run_id(),
        map: FieldMap::builtin(),
        extract,
        discover: DiscoverOptions::default(),
        pseudonymise: None,
        validation: Default::default(),
        default_owner: Some(default_owner),
        merge_leads_by_email: false,
    };
    let migration = migrate_with(&ports, &config, &RunOptions::default(), &NoProgress)
        .await
        .map_err(|error| anyhow::anyhow!(error))?;
    let mut report = ChildReport {
        balanced: migration.report.is_balanced(),
        objects: migration.report.objects.len() as u64,
        ..ChildReport::default()
    };
    for object in &migration.report.objects {
        let counts = &object.counts;
        report.records_in_salesforce += counts.in_salesforce;
        report.records_extracted += counts.extracted;
        report.created += counts.created;
        report.updated += counts.updated;
        report.unchanged += counts.unchanged;
        report.skipped += counts.skipped;
        report.failed += counts.failed;
        report.verified += counts.verified;
        report.mismatched += counts.mismatched;
    }
    report.files = migration
        .discovery
        .plan
        .objects
        .iter()
        .filter(|object| object.blob.is_some())
        .map(|object| object.in_salesforce)
        .sum();
    report.destination_calls = destination.calls();
    report.destination_records = destination.records.load(Ordering::Relaxed);
    Ok(report)
}

/// The limit: the same plan, queries, page size and concurrency as a migration, but every
/// page and file is only read, parsed by the client as it streams, and dropped.
async fn download(
    salesforce: &SalesforceClient,
    extract: ExtractConfig,
) -> anyhow::Result<ChildReport> {
    let discovery_started = Instant::now();
    let calls_before = salesforce.calls();
    let discovery = steps::discover(
        salesforce,
        TenantId::new("bench"),
        &FieldMap::builtin(),
        &DiscoverOptions::default(),
    )
    .await
    .map_err(|error| anyhow::anyhow!(error))?;
    let discovery_s = discovery_started.elapsed().as_secs_f64();
    let discovery_calls = salesforce.calls() - calls_before;
    let started = Instant::now();
    let totals = Totals::default();
    let objects = &discovery.plan.objects;
    // The migration's own schedule (objects in the same order, as many at once), with
    // nothing staged and nothing loaded.
    let phases = discovery.plan.phases();
    ferry_core::schedule::run(
        &phases,
        ferry_core::schedule::Concurrency::default(),
        |object: &&ObjectPlan| ferry_core::run::long_pole(object),
        &[],
        |_| None,
        |_| {},
        |object: &&ObjectPlan, _queue| {
            let (object, extract, totals) = (*object, &extract, &totals);
            async move {
                download_object(salesforce, object, extract, totals)
                    .await
                    .map_err(|error| {
                        steps::StepError::Salesforce(PortError::permanent(format!("{error:#}")))
                    })
            }
        },
        |_| async { Ok(()) },
        |_| {},
        |_| async { Ok(()) },
    )
    .await
    .map_err(|error| anyhow::anyhow!(error))?;
    let download_s = started.elapsed().as_secs_f64();
    let report = ChildReport {
        discovery_s,
        download_s,
        objects: objects.len() as u64,
        records_in_salesforce: objects.iter().map(|o| o.in_salesforce).sum(),
        records_extracted: totals.records.load(Ordering::Relaxed),
        files: totals.files.load(Ordering::Relaxed),
        images: totals.images.load(Ordering::Relaxed),
        bytes_downloaded: totals.bytes.load(Ordering::Relaxed),
        balanced: true,
        discovery_calls,
        ..ChildReport::default()
    };
    Ok(report)
}

#[derive(Default)]
struct Totals {
    records: AtomicU64,
    files: AtomicU64,
    images: AtomicU64,
    bytes: AtomicU64,
}

async fn download_object(
    salesforce: &SalesforceClient,
    object: &ObjectPlan,
    config: &ExtractConfig,
    totals: &Totals,
) -> anyhow::Result<()> {
    let state = steps::start_state(object, config);
    let mut bulk = state.method == steps::ExtractMethod::Bulk;
    let mut job = None;
    if bulk {
        match salesforce
            // Through queryAll, as extraction reads: `query` would leave archived
            // activities out and make the limit a smaller job than the migration.
            .start_bulk_query(&steps::extract_soql(object, config), true)
            .await
        {
            Ok(status) => job = Some(status.job),
            Err(_) => bulk = false,
        }
    }
    if let (true, Some(job)) = (bulk, job) {
        let mut polls = 0u32;
        loop {
            let status = salesforce
                .bulk_query_status(&job)
                .await
                .map_err(|e| anyhow::anyhow!(e))?;
            match status.state {
                BulkJobState::Complete => break,
                BulkJobState::Running => {
                    let delay = if polls == 0 {
                        config.bulk_poll_initial
                    } else {
                        config
                            .bulk_poll_initial
                            .saturating_mul(2u32.saturating_pow(polls.min(16)))
                            .min(config.bulk_poll_max)
                    };
                    tokio::time::sleep(delay).await;
                    polls += 1;
                }
                other => anyhow::bail!("Bulk job {job} for {} ended {other:?}", object.object),
            }
        }
        let mut locator: Option<String> = None;
        loop {
            // The same page size as extraction, read chunk by chunk as it streams in.
            let (sender, mut receiver) = futures::channel::mpsc::channel(1);
            let read = salesforce.bulk_query_results_chunked(
                &job,
                locator.as_deref(),
                steps::bulk_page_records(object, config),
                config.chunk_records.max(1),
                sender,
            );
            let take = async move {
                while let Some(records) = receiver.next().await {
                    totals
                        .records
                        .fetch_add(records.len() as u64, Ordering::Relaxed);
                    download_files(salesforce, object, &records, config, totals).await?;
                }
                Ok::<_, anyhow::Error>(())
            };
            let (next, taken) = futures::future::join(read, take).await;
            taken?;
            let next = next.map_err(|e| anyhow::anyhow!(e))?;
            match next {
                Some(next) => locator = Some(next),
                None => break,
            }
        }
        return Ok(());
    }
    // An object Salesforce lets a query read only by its parents (ContentDocumentLink): in
    // batches of parent Ids, as extraction reads it.
    if let Some(read_by) = &object.read_by_parent {
        let mut after: Option<String> = None;
        loop {
            let parents = steps::parent_batch(
                salesforce,
                &read_by.parent,
                after.as_deref(),
                config.include_deleted,
            )
            .await
            .map_err(|e| anyhow::anyhow!(e))?;
            let Some(last) = parents.last().cloned() else {
                return Ok(());
            };
            let mut request = QueryPageRequest::Start {
                soql: steps::by_parent_soql(object, config, &parents),
                include_deleted: true,
            };
            loop {
                let page = salesforce
                    .query_page(request)
                    .await
                    .map_err(|e| anyhow::anyhow!(e))?;
                totals
                    .records
                    .fetch_add(page.records.len() as u64, Ordering::Relaxed);
                match page.next {
                    Some(cursor) => request = QueryPageRequest::Continue { cursor },
                    None => break,
                }
            }
            after = Some(last);
        }
    }
    let mut request = QueryPageRequest::Start {
        soql: steps::rest_soql(object, config, None),
        include_deleted: true,
    };
    loop {
        let page = salesforce
            .query_page(request)
            .await
            .map_err(|e| anyhow::anyhow!(e))?;
        totals
            .records
            .fetch_add(page.records.len() as u64, Ordering::Relaxed);
        download_files(salesforce, object, &page.records, config, totals).await?;
        match page.next {
            Some(cursor) => request = QueryPageRequest::Continue { cursor },
            None => return Ok(()),
        }
    }
}

async fn download_files(
    salesforce: &SalesforceClient,
    object: &ObjectPlan,
    records: &[ferry_model::model::SourceRecord],
    config: &ExtractConfig,
    totals: &Totals,
) -> anyhow::Result<()> {
    download_rich_text_images(salesforce, object, records, totals).await?;
    let Some(blob) = &object.blob else {
        return Ok(());
    };
    let ids: Vec<&str> = records
        .iter()
        .filter_map(|record| record.get("Id").and_then(Json::as_str))
        .collect();
    let results: Vec<anyhow::Result<()>> = futures::stream::iter(ids)
        .map(|id| async move {
            let fetched = salesforce
                .fetch_blob(&object.object, id, &blob.source, config.max_file_bytes)
                .await
                .map_err(|e| anyhow::anyhow!(e))?;
            if let ferry_model::ports::BlobFetch::Fetched(bytes) = fetched {
                totals
                    .bytes
                    .fetch_add(bytes.len() as u64, Ordering::Relaxed);
            }
            totals.files.fetch_add(1, Ordering::Relaxed);
            Ok(())
        })
        .buffer_unordered(steps::FILE_DOWNLOADS_IN_FLIGHT)
        .collect()
        .await;
    results.into_iter().collect()
}

/// The images of the records' rich-text values, fetched as extraction fetches them (the
/// same resource, [`steps::FILE_DOWNLOADS_IN_FLIGHT`] at a time under the client's bound)
/// and dropped.
async fn download_rich_text_images(
    salesforce: &SalesforceClient,
    object: &ObjectPlan,
    records: &[ferry_model::model::SourceRecord],
    totals: &Totals,
) -> anyhow::Result<()> {
    let images: Vec<(&str, String, String)> = records
        .iter()
        .filter_map(|record| {
            let id = record.get("Id").and_then(Json::as_str)?;
            Some(
                steps::rich_text_images(object, record)
                    .into_iter()
                    .map(move |(field, refid)| (id, field, refid)),
            )
        })
        .flatten()
        .collect();
    if images.is_empty() {
        return Ok(());
    }
    let results: Vec<anyhow::Result<()>> = futures::stream::iter(images)
        .map(|(id, field, refid)| async move {
            let resource = format!("richTextImageFields/{field}/{refid}");
            let fetched = salesforce
                .fetch_blob(
                    object.salesforce_object(),
                    id,
                    &resource,
                    steps::MAX_RICH_TEXT_IMAGE_BYTES,
                )
                .await;
            totals.images.fetch_add(1, Ordering::Relaxed);
            match fetched {
                Ok(ferry_model::ports::BlobFetch::Fetched(bytes)) => {
                    totals
                        .bytes
                        .fetch_add(bytes.len() as u64, Ordering::Relaxed);
                    Ok(())
                }
                Ok(ferry_model::ports::BlobFetch::TooLarge { .. }) => Ok(()),
                // An image Salesforce refuses costs its call, as in a migration.
                Err(error) if error.class() == ferry_model::error::ErrorClass::Permanent => Ok(()),
                Err(error) => Err(anyhow::anyhow!(error)),
            }
        })
        .buffer_unordered(steps::FILE_DOWNLOADS_IN_FLIGHT)
        .collect()
        .await;
    results.into_iter().collect()
}

/// The SQLite destination, counting calls by kind and records sent.
struct CountingDestination<'a> {
    inner: &'a SqliteDestination,
    calls: [AtomicU64; 8],
    records: AtomicU64,
}

const DESTINATION_CALLS: [&str; 8] = [
    "ensure_custom_fields",
    "upsert",
    "patch_links",
    "get",
    "delete",
    "users",
    "put_file",
    "set_user_status",
];

impl<'a> CountingDestination<'a> {
    fn new(inner: &'a SqliteDestination) -> Self {
        Self {
            inner,
            calls: Default::default(),
            records: AtomicU64::new(0),
        }
    }

    fn count(&self, call: usize, records: usize) {
        if let Some(counter) = self.calls.get(call) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
        self.records.fetch_add(records as u64, Ordering::Relaxed);
    }

    fn calls(&self) -> BTreeMap<String, u64> {
        DESTINATION_CALLS
            .iter()
            .zip(&self.calls)
            .map(|(name, n)| ((*name).to_owned(), n.load(Ordering::Relaxed)))
            .filter(|(_, n)| *n > 0)
            .collect()
    }
}

#[async_trait]
impl Destination for CountingDestination<'_> {
    async fn ensure_custom_fields(
        &self,
        tenant: &TenantId,
        definitions: &[CustomFieldDefinition],
    ) -> Result<(), PortError> {
        self.count(0, 0);
        self.inner.ensure_custom_fields(tenant, definitions).await
    }

    async fn upsert(
        &self,
        tenant: &TenantId,
        entity: EntityKind,
        records: &[DestinationRecord],
    ) -> Result<Vec<UpsertOutcome>, PortError> {
        self.count(1, records.len());
        self.inner.upsert(tenant, entity, records).await
    }

    async fn patch_links(
        &self,
        tenant: &TenantId,
        entity: EntityKind,
        patches: &[LinkPatch],
    ) -> Result<Vec<Result<(), String>>, PortError> {
        self.count(2, 0);
        self.inner.patch_links(tenant, entity, patches).await
    }

    async fn get(
        &self,
        tenant: &TenantId,
        entity: EntityKind,
        ids: &[DestinationId],
    ) -> Result<Vec<Option<DestinationRecord>>, PortError> {
        self.count(3, 0);
        self.inner.get(tenant, entity, ids).await
    }

    async fn delete(
        &self,
        tenant: &TenantId,
        entity: EntityKind,
        ids: &[DestinationId],
    ) -> Result<Vec<Result<(), String>>, PortError> {
        self.count(4, 0);
        self.inner.delete(tenant, entity, ids).await
    }

    async fn users(&self, tenant: &TenantId) -> Result<Vec<DestinationUser>, PortError> {
        self.count(5, 0);
        self.inner.users(tenant).await
    }

    async fn set_user_status(
        &self,
        tenant: &TenantId,
        statuses: &[UserStatus],
    ) -> Result<Vec<Result<(), String>>, PortError> {
        self.count(7, statuses.len());
        self.inner.set_user_status(tenant, statuses).await
    }

    async fn put_file(
        &self,
        tenant: &TenantId,
        entity: EntityKind,
        record: &DestinationId,
        upload: FileUpload,
    ) -> Result<(), PortError> {
        self.count(6, 0);
        self.inner.put_file(tenant, entity, record, upload).await
    }
}
