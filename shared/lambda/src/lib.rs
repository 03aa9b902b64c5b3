//! What every Ferry Lambda function shares, so that each function's crate is wiring and one
//! handler: its settings, read once from the environment ([`Services::from_env`]); the ports
//! over AWS and the HTTP destination; the Salesforce client of a migration, from its sealed
//! refresh token; the identity every state-machine task carries ([`Task`]); and how a step's
//! error becomes a Lambda error whose `errorType` the state machine matches ([`failure`]).

pub mod http;

use anyhow::Context;
use ferry_aws::migrations::MigrationStoreError;
use ferry_aws::{
    AwsClients, DynamoIdMap, DynamoRunStore, MigrationRecord, MigrationStore, S3Staging, TokenVault,
};
use ferry_core::run::RunConfig;
use ferry_core::steps::{DiscoverOptions, ExtractConfig, StepError};
use ferry_destination_http::{HttpDestination, HttpDestinationConfig};
use ferry_model::ids::{RunId, TenantId};
use ferry_model::mapping::{FieldMap, MapOverrides};
use ferry_salesforce::{ClientConfig, SalesforceClient};
use lambda_runtime::Diagnostic;
use serde::{Deserialize, Serialize};

/// The stable `errorType` names the state machines match (see `infra/README.md`); the core
/// defines them, since its `StepError` names its failures with them.
pub use ferry_model::ErrorType;

/// A Lambda error with an explicit, stable `errorType` (the default would be a Rust type
/// path, which no Retry or Catch rule can name).
pub fn failure(error_type: ErrorType, message: impl std::fmt::Display) -> Diagnostic {
    Diagnostic {
        error_type: error_type.as_str().to_owned(),
        error_message: message.to_string(),
    }
}

/// A step's error, with its whole cause chain, named by [`StepError::error_type`].
pub fn step_failure(error: &StepError) -> Diagnostic {
    tracing::error!(error = %error.chain(), error_type = %error.error_type(), "step failed");
    failure(error.error_type(), error.chain())
}

/// A failure of Ferry's own stores (DynamoDB, S3, KMS): retryable or not as the port says.
pub fn port_failure(error: &ferry_model::PortError) -> Diagnostic {
    let error_type = match error.class() {
        ferry_model::ErrorClass::Retryable => ErrorType::Retryable,
        ferry_model::ErrorClass::Permanent => ErrorType::Fatal,
    };
    tracing::error!(error = %error, error_type = %error_type, "store failed");
    failure(error_type, error)
}

/// A failure of the migration store: a lost race is retryable, as the state machine
/// retries it.
pub fn store_failure(error: &MigrationStoreError) -> Diagnostic {
    match error {
        MigrationStoreError::Port(error) => port_failure(error),
        MigrationStoreError::Conflict { .. } => failure(ErrorType::Retryable, error),
        other => failure(ErrorType::Fatal, other),
    }
}

/// Structured JSON logs, filtered by `RUST_LOG` (default `info`).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .without_time()
        .init();
}

/// A required setting; a missing one names itself.
pub fn variable(name: &str) -> anyhow::Result<String> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.is_empty())
        .with_context(|| format!("environment variable {name} is not set"))
}

/// An optional setting.
pub fn optional(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

/// What every state-machine task's input carries: the API caller (`tenant`), its migration,
/// and the run the migration works on.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Task {
    pub tenant: String,
    pub migration_id: String,
    pub run_id: String,
}

impl Task {
    pub fn tenant(&self) -> TenantId {
        TenantId::new(self.tenant.clone())
    }

    pub fn run(&self) -> RunId {
        RunId::new(self.run_id.clone())
    }

    /// The identity of `record`'s migration and run.
    pub fn of(record: &MigrationRecord) -> Self {
        Self {
            tenant: record.tenant.to_string(),
            migration_id: record.id.clone(),
            run_id: record.run_id.to_string(),
        }
    }
}

/// The Salesforce side of the deployment: one connected app.
#[derive(Debug, Clone)]
pub struct SalesforceSettings {
    /// `https://login.salesforce.com`, or the simulator locally.
    pub login_url: String,
    /// Used instead of `login_url` for migrations that asked for a sandbox.
    pub sandbox_login_url: String,
    pub client_id: String,
}

impl SalesforceSettings {
    pub fn from_env() -> anyhow::Result<Self> {
        let login_url = variable("FERRY_SALESFORCE_LOGIN_URL")?;
        Ok(Self {
            sandbox_login_url: optional("FERRY_SALESFORCE_SANDBOX_LOGIN_URL")
                .unwrap_or_else(|| login_url.clone()),
            login_url,
            client_id: variable("FERRY_SALESFORCE_CLIENT_ID")?,
        })
    }

    pub fn login_url(&self, sandbox: bool) -> &str {
        if sandbox {
            &self.sandbox_login_url
        } else {
            &self.login_url
        }
    }
}

/// The clients and stores of one function process, built once at start-up.
pub struct Services {
    pub clients: AwsClients,
    pub migrations: MigrationStore,
    pub id_map: DynamoIdMap,
    pub runs: DynamoRunStore,
    /// Present when `FERRY_STAGING_BUCKET` is set.
    pub staging: Option<S3Staging>,
    /// Present when `FERRY_KMS_KEY_ID` is set.
    pub vault: Option<TokenVault>,
    /// Present when `FERRY_SALESFORCE_LOGIN_URL` and `FERRY_SALESFORCE_CLIENT_ID` are set.
    pub salesforce: Option<SalesforceSettings>,
    /// Present when `FERRY_DESTINATION_URL` is set (with its key id and secret).
    pub destination: Option<HttpDestinationConfig>,
    /// `FERRY_PSEUDONYM_KEY`: the key of the migrations that pseudonymise (16 bytes or more).
    pub pseudonym_key: Option<ferry_model::secret::Secret>,
}

impl Services {
    /// Reads the settings and builds the clients; `FERRY_TABLE` is required, the rest only
    /// by the functions that use it (see `infra/README.md`).
    pub async fn from_env() -> anyhow::Result<Self> {
        let clients = AwsClients::from_env().await;
        let table = variable("FERRY_TABLE")?;
        let staging = optional("FERRY_STAGING_BUCKET")
            .map(|bucket| S3Staging::new(clients.s3.clone(), bucket));
        let vault =
            optional("FERRY_KMS_KEY_ID").map(|key| TokenVault::new(clients.kms.clone(), key));
        let salesforce = if optional("FERRY_SALESFORCE_LOGIN_URL").is_some() {
            Some(SalesforceSettings::from_env()?)
        } else {
            None
        };
        let destination = match optional("FERRY_DESTINATION_URL") {
            Some(url) => Some(HttpDestinationConfig::new(
                url,
                variable("FERRY_DESTINATION_KEY_ID")?,
                ferry_model::secret::Secret::new(variable("FERRY_DESTINATION_SECRET")?),
            )),
            None => None,
        };
        Ok(Self {
            migrations: MigrationStore::new(clients.dynamodb.clone(), table.clone()),
            id_map: DynamoIdMap::new(clients.dynamodb.clone(), table.clone()),
            runs: DynamoRunStore::new(clients.dynamodb.clone(), table),
            clients,
            staging,
            vault,
            salesforce,
            destination,
            pseudonym_key: optional("FERRY_PSEUDONYM_KEY").map(ferry_model::secret::Secret::new),
        })
    }

    /// [`migration_config`] with this deployment's pseudonymisation key; a selection that
    /// no longer applies (validated when chosen) fails the step as invalid input.
    pub fn run_config(
        &self,
        record: &MigrationRecord,
        run: &RunId,
    ) -> Result<RunConfig, Diagnostic> {
        migration_config(record, run, self.pseudonym_key.as_ref()).map_err(|error| {
            failure(
                ErrorType::InvalidInput,
                format!("migration {}'s selections: {error}", record.id),
            )
        })
    }

    pub fn staging(&self) -> Result<&S3Staging, Diagnostic> {
        self.staging
            .as_ref()
            .ok_or_else(|| failure(ErrorType::Fatal, "FERRY_STAGING_BUCKET is not set"))
    }

    pub fn vault(&self) -> Result<&TokenVault, Diagnostic> {
        self.vault
            .as_ref()
            .ok_or_else(|| failure(ErrorType::Fatal, "FERRY_KMS_KEY_ID is not set"))
    }

    pub fn salesforce_settings(&self) -> Result<&SalesforceSettings, Diagnostic> {
        self.salesforce.as_ref().ok_or_else(|| {
            failure(
                ErrorType::Fatal,
                "FERRY_SALESFORCE_LOGIN_URL and FERRY_SALESFORCE_CLIENT_ID are not set",
            )
        })
    }

    /// The destination, with its idempotency keys scoped to `run` (a retried request of the
    /// same run is recognised; another run's is not).
    pub fn destination(&self, run: &RunId) -> Result<HttpDestination, Diagnostic> {
        let mut config = self.destination.clone().ok_or_else(|| {
            failure(
                ErrorType::Fatal,
                "FERRY_DESTINATION_URL, FERRY_DESTINATION_KEY_ID and FERRY_DESTINATION_SECRET are not set",
            )
        })?;
        config.idempotency_scope = run.to_string();
        HttpDestination::new(config).map_err(|error| failure(ErrorType::Fatal, error))
    }

    /// The caller's migration; another tenant's is "not found", like one that does not exist.
    pub async fn migration(&self, task: &Task) -> Result<MigrationRecord, Diagnostic> {
        self.migrations
            .get(&task.tenant(), &task.migration_id)
            .await
            .map_err(|error| port_failure(&error))?
            .ok_or_else(|| {
                failure(
                    ErrorType::InvalidInput,
                    format!(
                        "tenant {} has no migration {}",
                        task.tenant, task.migration_id
                    ),
                )
            })
    }

    /// Reads the caller's migration, applies `change` and writes it back, stamped; when
    /// another function changed it in between, reads it again and applies `change` again.
    /// Answers what was stored and what `change` answered the last time.
    pub async fn modify<R>(
        &self,
        task: &Task,
        mut change: impl FnMut(&mut MigrationRecord) -> R,
    ) -> Result<(MigrationRecord, R), Diagnostic> {
        for _ in 0..8 {
            let mut record = self.migration(task).await?;
            let outcome = change(&mut record);
            record.updated_at = ferry_core::run::now_rfc3339();
            match self.migrations.update(&record).await {
                Ok(stored) => return Ok((stored, outcome)),
                Err(error) if error.is_conflict() => continue,
                Err(error) => return Err(store_failure(&error)),
            }
        }
        Err(failure(
            ErrorType::Retryable,
            format!(
                "migration {} kept changing during this update",
                task.migration_id
            ),
        ))
    }

    /// A client for the migration's org, renewing its session with the sealed refresh
    /// token. A refresh token Salesforce rotated on the way is sealed and stored at once,
    /// since the old one no longer works.
    pub async fn salesforce_client(
        &self,
        record: &MigrationRecord,
    ) -> Result<SalesforceClient, Diagnostic> {
        let settings = self.salesforce_settings()?;
        let sealed = record.refresh_token.as_ref().ok_or_else(|| {
            failure(
                ErrorType::NotAuthorised,
                format!("migration {} has not been authorised yet", record.id),
            )
        })?;
        let vault = self.vault()?;
        let refresh_token = vault
            .open(&record.tenant, sealed)
            .await
            .map_err(|error| port_failure(&error))?;
        let mut config = ClientConfig::new(
            settings.login_url(record.options.sandbox),
            settings.client_id.clone(),
            refresh_token,
        );
        config.allowed_hosts = ferry_salesforce::hosts::allowed_hosts_from_env();
        let client = SalesforceClient::connect(config).await.map_err(|error| {
            let error_type = if error.is_retryable() {
                ErrorType::Retryable
            } else {
                ErrorType::NotAuthorised
            };
            failure(error_type, format!("cannot connect to Salesforce: {error}"))
        })?;
        if let Some(rotated) = client.rotated_refresh_token() {
            let sealed = vault
                .seal(&record.tenant, &rotated)
                .await
                .map_err(|error| port_failure(&error))?;
            self.modify(&Task::of(record), |stored| {
                stored.refresh_token = Some(sealed.clone());
            })
            .await?;
        }
        Ok(client)
    }
}

/// The scope of a migration's ID map and run history inside Ferry: the caller's tenant and
/// the migration's workspace (its own id unless it named one), so that re-runs of one
/// customer org share an ID map and two customers never do.
pub fn core_tenant(record: &MigrationRecord) -> TenantId {
    let workspace = record
        .options
        .workspace
        .clone()
        .unwrap_or_else(|| record.id.clone());
    TenantId::new(format!("{}.{workspace}", record.tenant))
}

/// A selection the run cannot use: the field of `PUT /migrations/{id}/selections` and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectionError {
    pub field: &'static str,
    pub reason: String,
}

impl std::fmt::Display for SelectionError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{}: {}", self.field, self.reason)
    }
}

fn selection_error(field: &'static str, reason: impl std::fmt::Display) -> SelectionError {
    SelectionError {
        field,
        reason: reason.to_string(),
    }
}

/// The migration's settings: `ferry migrate`'s with the built-in map, changed by its
/// selections as the CLI's flags would change them (`--objects`, `--since`, `--map`,
/// `--pseudonymise`, `--policy`). Pseudonymising needs the deployment's key
/// (`FERRY_PSEUDONYM_KEY`).
pub fn migration_config(
    record: &MigrationRecord,
    run: &RunId,
    pseudonym_key: Option<&ferry_model::secret::Secret>,
) -> Result<RunConfig, SelectionError> {
    let selections = &record.selections;
    let map = match &selections.map {
        None => FieldMap::builtin(),
        Some(overrides) => {
            let overrides = MapOverrides::from_json_str(&overrides.to_string())
                .map_err(|error| selection_error("map", error))?;
            FieldMap::builtin()
                .overlay(&overrides)
                .map_err(|error| selection_error("map", error))?
        }
    };
    let created_since = selections
        .created_since
        .as_deref()
        .map(ferry_core::steps::parse_start_date)
        .transpose()
        .map_err(|reason| selection_error("created_since", reason))?;
    let validation = match &selections.validation {
        None => Default::default(),
        Some(overrides) => ferry_model::policy::ValidationPolicy::with_overrides(overrides)
            .map_err(|reason| selection_error("validation", reason))?,
    };
    let pseudonymise = if selections.pseudonymise.is_empty() {
        None
    } else {
        let key = pseudonym_key.ok_or_else(|| {
            selection_error(
                "pseudonymise",
                "this deployment has no pseudonymisation key (FERRY_PSEUDONYM_KEY)",
            )
        })?;
        Some(ferry_core::pseudonymise::Pseudonymise {
            config: ferry_core::pseudonymise::PseudonymiseConfig::from_entries(
                &selections.pseudonymise,
            ),
            pseudonymiser: ferry_core::pseudonymise::Pseudonymiser::new(key)
                .map_err(|error| selection_error("pseudonymise", error))?,
        })
    };
    Ok(RunConfig {
        tenant: core_tenant(record),
        run_id: run.clone(),
        map,
        extract: ExtractConfig::default(),
        discover: DiscoverOptions {
            objects: selections.objects.clone(),
            created_since,
            ..DiscoverOptions::default()
        },
        pseudonymise,
        concurrency: Default::default(),
        validation,
        default_owner: record.options.default_owner.clone(),
        merge_leads_by_email: record.options.merge_leads_by_email,
    })
}

/// The run id of a migration's dry run: its own, so the dry run's staging and records
/// never count as the migration's.
pub fn dry_run_id(run: &RunId) -> RunId {
    RunId::new(format!("{run}-dry-run"))
}

/// Writes a report's three renderings beside each other under `prefix` (`.json`, `.md`,
/// `.html`) and returns the JSON's key.
pub async fn write_reports(
    staging: &dyn ferry_model::ports::Staging,
    prefix: &str,
    json: &impl Serialize,
    markdown: String,
    html: String,
) -> Result<String, Diagnostic> {
    let body = serde_json::to_vec_pretty(json)
        .map_err(|error| failure(ErrorType::Fatal, format!("report: {error}")))?;
    let key = format!("{prefix}.json");
    for (key, body) in [
        (key.clone(), body),
        (format!("{prefix}.md"), markdown.into_bytes()),
        (format!("{prefix}.html"), html.into_bytes()),
    ] {
        staging
            .put(&key, body)
            .await
            .map_err(|error| port_failure(&error))?;
    }
    Ok(key)
}

/// Sleeps of a step (Bulk polls, retries) inside one invocation: `ferry_embedded`'s
/// `TokioSleeper` again, since depending on that crate would build SQLite into every
/// function.
#[derive(Debug, Default, Clone, Copy)]
pub struct TokioSleeper;

#[async_trait::async_trait]
impl ferry_model::ports::Sleeper for TokioSleeper {
    async fn sleep(&self, duration: std::time::Duration) {
        tokio::time::sleep(duration).await;
    }
}
