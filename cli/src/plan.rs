//! `ferry plan`: discovery only. For each object: its record count, destination, phase and
//! extraction API, and every field with its Salesforce type and where it goes; the objects
//! left out with reasons; the API budget against the run's estimate. Nothing is written
//! anywhere, in Salesforce or locally.

use crate::connect::{TargetArgs, connect};
use anyhow::Context;
use clap::Args;
use ferry_core::preview::{FieldDestination, PlanPreview};
use ferry_core::steps::{DiscoverOptions, ExtractConfig};
use ferry_model::budget::BudgetPolicy;
use ferry_model::ids::TenantId;
use ferry_model::mapping::FieldMap;
use ferry_model::mapping::MapOverrides;
use std::fmt::Write as _;
use std::process::ExitCode;

/// The field map: the built-in one, overridden by a user's file.
#[derive(Debug, Clone, Args)]
pub struct MapArgs {
    /// A map override file (JSON or TOML, by extension) changing the built-in map object
    /// by object and field by field; see the README.
    #[arg(long = "map", value_name = "FILE")]
    pub map: Option<std::path::PathBuf>,
}

impl MapArgs {
    /// The map to migrate with, and the override it was built from (checked against the org
    /// at discovery: `DiscoverOptions::map_overrides`).
    pub fn load(&self) -> anyhow::Result<(FieldMap, Option<MapOverrides>)> {
        let builtin = FieldMap::builtin();
        let Some(path) = &self.map else {
            return Ok((builtin, None));
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the map file {}", path.display()))?;
        let overrides = MapOverrides::parse_file(path, &text)
            .with_context(|| format!("the map file {} is not valid", path.display()))?;
        let map = builtin
            .overlay(&overrides)
            .with_context(|| format!("the map file {} cannot apply", path.display()))?;
        Ok((map, Some(overrides)))
    }
}

/// The validation policy: what each rule does to a record.
#[derive(Debug, Clone, Args)]
pub struct PolicyArgs {
    /// A JSON file setting the action of validation rules, e.g.
    /// `{"actions": {"invalid_email": "skip_record", "invalid_phone": "drop_value"}}`.
    #[arg(long = "policy", value_name = "FILE")]
    pub policy: Option<std::path::PathBuf>,
}

impl PolicyArgs {
    pub fn load(&self) -> anyhow::Result<ferry_model::policy::ValidationPolicy> {
        let Some(path) = &self.policy else {
            return Ok(ferry_model::policy::ValidationPolicy::default());
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the policy file {}", path.display()))?;
        let overrides: ferry_model::policy::ValidationPolicy = serde_json::from_str(&text)
            .with_context(|| format!("the policy file {} is not valid", path.display()))?;
        ferry_model::policy::ValidationPolicy::with_overrides(&overrides)
            .map_err(|reason| anyhow::anyhow!("the policy file {} {reason}", path.display()))
    }
}

/// Pseudonymisation for test and sandbox imports.
#[derive(Debug, Clone, Args)]
pub struct PseudonymiseArgs {
    /// Pseudonymise these objects, or `Object.Field` values, comma-separated, before
    /// anything is staged. Deterministic within a key: duplicates stay duplicates, emails
    /// stay emails. Needs the key in FERRY_PSEUDONYM_KEY (16 bytes or more).
    #[arg(long, value_delimiter = ',', value_name = "OBJECT[.FIELD]")]
    pub pseudonymise: Vec<String>,
    #[arg(
        long,
        env = "FERRY_PSEUDONYM_KEY",
        hide_env_values = true,
        hide = true,
        value_parser = crate::connect::secret
    )]
    pub pseudonym_key: Option<ferry_model::secret::Secret>,
}

impl PseudonymiseArgs {
    pub fn load(&self) -> anyhow::Result<Option<ferry_core::pseudonymise::Pseudonymise>> {
        use ferry_core::pseudonymise::{Pseudonymise, PseudonymiseConfig, Pseudonymiser};
        if self.pseudonymise.is_empty() {
            return Ok(None);
        }
        let Some(key) = &self.pseudonym_key else {
            anyhow::bail!(
                "--pseudonymise needs a key: set FERRY_PSEUDONYM_KEY (16 bytes or more, kept secret; the same key gives the same pseudonyms)"
            );
        };
        let config = PseudonymiseConfig::from_entries(&self.pseudonymise);
        let pseudonymiser =
            Pseudonymiser::new(key).context("FERRY_PSEUDONYM_KEY cannot be used")?;
        Ok(Some(Pseudonymise {
            config,
            pseudonymiser,
        }))
    }
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub map: MapArgs,
    /// Only these objects, comma-separated (default: every object the map covers).
    #[arg(long, value_delimiter = ',')]
    pub objects: Option<Vec<String>>,
    /// Only records created on or after this date (YYYY-MM-DD, midnight UTC), in every
    /// object but users and stages; a link to an older record is reported if that record
    /// is not migrated anyway.
    #[arg(long, value_name = "DATE", value_parser = ferry_core::steps::parse_start_date)]
    pub since: Option<time::Date>,
    /// Percent of the daily API limit to leave to other integrations.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub reserve_percent: u8,
    /// Print one JSON document (schema in the README) instead of tables.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: PlanArgs) -> anyhow::Result<ExitCode> {
    let (map, map_overrides) = args.map.load()?;
    let connected = connect(&args.target).await?;
    let client = &connected.client;
    let policy = BudgetPolicy {
        reserve_percent: args.reserve_percent,
        ..BudgetPolicy::default()
    };
    let preview = match ferry_core::preview::plan(
        client,
        TenantId::new("plan"),
        &map,
        &DiscoverOptions {
            objects: args.objects.clone(),
            created_since: args.since,
            map_overrides,
            ..DiscoverOptions::default()
        },
        &ExtractConfig::default(),
        &policy,
    )
    .await
    {
        Ok((_, preview)) => preview,
        Err(error) => {
            eprintln!("ferry: discovery failed: {}", error.chain());
            return Ok(crate::exit::for_step_error(&error));
        }
    };
    connected.save_rotated_token()?;
    let instance_url = client.instance_url().await.unwrap_or_default();
    if args.json {
        let document =
            ferry_core::preview::plan_document(&preview, &instance_url, &args.target.api_version);
        println!("{}", serde_json::to_string_pretty(&document)?);
    } else {
        print!("{}", render(&preview, &instance_url));
    }
    // Discovery worked, but a run would fail or be refused: say so in the exit status too.
    Ok(if !preview.permission_problems.is_empty() {
        ExitCode::from(crate::exit::PERMISSION)
    } else if !preview.budget.sufficient {
        ExitCode::from(crate::exit::BUDGET)
    } else {
        ExitCode::SUCCESS
    })
}

fn render(preview: &PlanPreview, instance_url: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Org {instance_url}: {} objects, {} to migrate, {} left out.",
        preview.objects_in_org,
        preview.objects.len(),
        preview.skipped_objects.len()
    );
    if !preview.permission_problems.is_empty() {
        let _ = writeln!(
            out,
            "\nPermission problems (a run would fail; fix these first):"
        );
        for problem in &preview.permission_problems {
            let _ = writeln!(out, "  {problem}");
        }
    }
    for object in &preview.objects {
        let _ = writeln!(
            out,
            "\n{} ({}) -> {}, phase {}, {} records, via {}",
            object.name,
            object.label,
            object.destination,
            object.phase,
            object.records,
            if object.api == "bulk" {
                "Bulk API 2.0"
            } else {
                "REST"
            }
        );
        let width = object
            .fields
            .iter()
            .map(|f| f.name.len())
            .max()
            .unwrap_or(5)
            .max(5);
        let type_width = object
            .fields
            .iter()
            .map(|f| f.field_type.len())
            .max()
            .unwrap_or(4)
            .max(4);
        for field in &object.fields {
            let goes_to = match &field.goes_to {
                FieldDestination::SourceId => "source id (kept in the ID map)".to_owned(),
                FieldDestination::Standard { field } => format!("{}.{field}", object.destination),
                FieldDestination::Link {
                    field,
                    target_object,
                } => {
                    format!("{}.{field} (link to {target_object})", object.destination)
                }
                FieldDestination::Custom { field, field_type } => {
                    format!(
                        "new custom field {}.{field} ({field_type})",
                        object.destination
                    )
                }
                FieldDestination::Skipped { reason } => format!("skipped: {reason}"),
            };
            let _ = writeln!(
                out,
                "  {:<width$}  {:<type_width$}  {goes_to}",
                field.name, field.field_type
            );
        }
        for hidden in &object.hidden_fields {
            let _ = writeln!(
                out,
                "  {:<width$}  {:<type_width$}  not visible: {}",
                hidden.name, "?", hidden.reason
            );
        }
        if let Some(source) = &object.currency {
            let _ = writeln!(
                out,
                "  currency of its money values: {}",
                ferry_core::preview::currency_text(source)
            );
        }
    }
    if !preview.skipped_objects.is_empty() {
        let _ = writeln!(out, "\nLeft out ({}):", preview.skipped_objects.len());
        let width = preview
            .skipped_objects
            .iter()
            .map(|o| o.name.len())
            .max()
            .unwrap_or(0);
        for object in &preview.skipped_objects {
            let _ = writeln!(out, "  {:<width$}  {}", object.name, object.reason);
        }
    }
    if !preview.not_migrated.is_empty() {
        let _ = writeln!(out, "\nNot migrated, for an admin to rebuild:");
        for kind in &preview.not_migrated {
            let label = kind.kind.replace('_', " ");
            match &kind.error {
                Some(error) => {
                    let _ = writeln!(out, "  {label:<16} could not be read: {error}");
                }
                None => {
                    let names: Vec<&str> = kind
                        .items
                        .iter()
                        .take(5)
                        .map(|item| item.name.as_str())
                        .collect();
                    let more = if kind.count > names.len() as u64 {
                        ", ..."
                    } else {
                        ""
                    };
                    let _ = writeln!(
                        out,
                        "  {label:<16} {:>5}{}",
                        kind.count,
                        if names.is_empty() {
                            String::new()
                        } else {
                            format!("  ({}{more})", names.join(", "))
                        }
                    );
                }
            }
        }
    }
    let users = &preview.users;
    let _ = match &users.error {
        Some(error) => writeln!(out, "\nUsers: could not be read: {error}"),
        None => writeln!(
            out,
            "\nUsers (record owners, matched by email): {} active, {} inactive, {} without email{}.",
            users.active,
            users.inactive,
            users.without_email,
            if users.shared_emails.is_empty() {
                String::new()
            } else {
                format!(
                    "; {} emails shared by several users",
                    users.shared_emails.len()
                )
            }
        ),
    };
    let _ = writeln!(
        out,
        "\nCurrencies: {}",
        ferry_core::preview::currencies_summary(&preview.currencies)
    );
    let budget = &preview.budget;
    let _ = match (budget.used, budget.limit, budget.available) {
        (Some(used), Some(limit), Some(available)) => writeln!(
            out,
            "\nAPI budget: {used} of {limit} calls used in the last 24 hours; {available} available above the {}% reserve; a run needs about {}.{}",
            budget.reserve_percent,
            budget.estimated_calls,
            if budget.sufficient {
                ""
            } else {
                " NOT ENOUGH: a run would be refused now."
            }
        ),
        _ => writeln!(
            out,
            "\nAPI budget: the org did not report its limit; a run needs about {} calls.",
            budget.estimated_calls
        ),
    };
    out
}
