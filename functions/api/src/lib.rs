//! The `api` Lambda: the HTTP API a SaaS backend calls (API Gateway HTTP API, IAM
//! authorisation; `infra/api.openapi.json` is its contract).
//!
//! | route | what it does |
//! |---|---|
//! | `POST /migrations` | creates a migration, starts its execution, answers the authorise URL |
//! | `GET /migrations` | the caller's migrations, newest first |
//! | `GET /migrations/{id}` | one migration, with its run's counts once it has them |
//! | `GET /migrations/{id}/report?kind=dry-run\|final` | a report, with short-lived links to its HTML and Markdown |
//! | `GET /migrations/{id}/plan` | what discovery found, as `ferry plan --json` shows it |
//! | `PUT /migrations/{id}/selections` | objects, start date, map, pseudonymisation, policy, owner, lead merge; the dry run again |
//! | `POST /migrations/{id}/dry-run` | the dry run again, with the selections as they are |
//! | `POST /migrations/{id}/start` | the user confirmed the dry run: the execution goes on |
//! | `POST /migrations/{id}/rollback` | starts the rollback of a succeeded migration |
//!
//! The execution waits after each dry run on a task token (`waiting_for: start`); `start`
//! completes it with `{"action": "start"}`, a change of selections or `dry-run` with
//! `{"action": "replan"}`, and the state machine's Choice goes back to the dry run (see
//! `infra/migration.asl.json`). Selections are allowed until the run starts (409 after);
//! selections changed while a dry run runs make it run again.
//!
//! Every mutating route takes an `Idempotency-Key` header: the first request with a key
//! claims it in the tenant's partition of the migrations table, and a retry with the same
//! key, method, path and body gets the stored answer (`idempotent-replayed: true`); the same
//! key with another request is 422, and while the first is still under way 409.
//!
//! The tenant is the AWS account that signed the request (API Gateway verified the
//! signature); every read is keyed by it, so a tenant never sees another's migrations: a
//! migration of another tenant is "not found", exactly like one that does not exist.

use ferry_aws::{
    Claim, Executions, MigrationOptions, MigrationRecord, MigrationStatus, MigrationStoreError,
    OAuthState, Selections, Waiting,
};
use ferry_core::run::now_rfc3339;
use ferry_lambda::http::{HttpRequest, HttpResponse};
use ferry_lambda::{Services, Task, port_failure};
use ferry_model::ids::{RunId, TenantId};
use ferry_model::ports::{RunStore, Staging};
use ferry_salesforce::oauth::{AuthorizeRequest, Pkce, authorize_url, random_state};
use lambda_runtime::Diagnostic;
use serde::Deserialize;
use std::time::Duration;

/// How long the authorise link stays valid.
const OAUTH_STATE_LIFETIME: Duration = Duration::from_secs(60 * 60);
/// How long a report link stays valid.
const REPORT_LINK_LIFETIME: Duration = Duration::from_secs(15 * 60);

pub struct Api {
    pub services: Services,
    pub executions: Executions,
    pub state_machine_arn: String,
    pub rollback_state_machine_arn: String,
    pub redirect_uri: String,
}

/// `POST /migrations`'s body.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateMigration {
    #[serde(default)]
    pub label: Option<String>,
    /// Sign in at the sandbox login host.
    #[serde(default)]
    pub sandbox: bool,
    /// Only what changed since the workspace's last successful run.
    #[serde(default)]
    pub delta: bool,
    /// Read every migrated record back (default true).
    #[serde(default)]
    pub verify: Option<bool>,
    /// The destination user who owns what unmatched Salesforce users owned.
    #[serde(default)]
    pub default_owner: Option<String>,
    /// Migrations of one customer org share a workspace (ID map and run history), so a
    /// second one updates instead of duplicating, and a delta has a run to start from.
    #[serde(default)]
    pub workspace: Option<String>,
    /// A lead whose email is a contact's is merged into that contact (off by default).
    #[serde(default)]
    pub merge_leads_by_email: bool,
}

fn random_id(prefix: &str) -> Result<String, Diagnostic> {
    let mut bytes = [0u8; 10];
    getrandom::fill(&mut bytes).map_err(|error| {
        ferry_lambda::failure(ferry_lambda::ErrorType::Retryable, error.to_string())
    })?;
    let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    Ok(format!("{prefix}{hex}"))
}

/// The caller: the AWS account that signed the request.
fn tenant_of(request: &HttpRequest) -> Option<TenantId> {
    request
        .request_context
        .authorizer
        .as_ref()?
        .iam
        .as_ref()?
        .account_id
        .as_ref()
        .filter(|account| !account.is_empty() && account.chars().all(|c| c.is_ascii_alphanumeric()))
        .map(|account| TenantId::new(account.clone()))
}

fn valid_name(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 64
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// What the API shows of a migration: never a token.
pub fn view(record: &MigrationRecord) -> serde_json::Value {
    serde_json::json!({
        "id": record.id,
        "label": record.label,
        "status": record.status,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
        "run_id": record.run_id,
        "instance_url": record.instance_url,
        "options": {
            "sandbox": record.options.sandbox,
            "delta": record.options.delta,
            "verify": record.options.verify,
            "default_owner": record.options.default_owner,
            "workspace": record.options.workspace,
            "merge_leads_by_email": record.options.merge_leads_by_email,
        },
        "waiting_for": record.waiting_for,
        "selections": selections_view(&record.selections),
        "plan_ready": record.plan.is_some(),
        "dry_run_revision": record.dry_run_revision,
        "dry_run_report": record.dry_run_report,
        "final_report": record.final_report,
        "error": record.error,
    })
}

/// What the API shows of the selections: as `PUT /migrations/{id}/selections` takes them,
/// with their revision.
pub fn selections_view(selections: &Selections) -> serde_json::Value {
    serde_json::json!({
        "objects": selections.objects,
        "created_since": selections.created_since,
        "map": selections.map,
        "pseudonymise": selections.pseudonymise,
        "validation": selections.validation,
        "revision": selections.revision,
    })
}

/// `PUT /migrations/{id}/selections`'s body, read field by field so that each error names
/// its field. Absent fields take their defaults (every object, no start date, the built-in
/// map, nothing pseudonymised, the default policy); `default_owner` and
/// `merge_leads_by_email`, options of the creation too, keep their value when absent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SelectionsInput {
    pub selections: Selections,
    pub default_owner: Option<Option<String>>,
    pub merge_leads_by_email: Option<bool>,
}

const SELECTION_FIELDS: [&str; 7] = [
    "objects",
    "created_since",
    "map",
    "pseudonymise",
    "validation",
    "default_owner",
    "merge_leads_by_email",
];

fn api_name(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 80
        && value.starts_with(|c: char| c.is_ascii_alphabetic())
        && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn invalid(field: &str, reason: impl std::fmt::Display) -> String {
    format!("{field}: {reason}")
}

/// Reads and checks the selections body on its own (the org's objects are checked against
/// the plan afterwards); the error names the field and the reason.
pub fn parse_selections(body: &[u8]) -> Result<SelectionsInput, String> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|error| format!("the body is not JSON: {error}"))?;
    let Some(fields) = value.as_object() else {
        return Err("the body must be a JSON object of selections".to_owned());
    };
    if let Some(unknown) = fields
        .keys()
        .find(|name| !SELECTION_FIELDS.contains(&name.as_str()))
    {
        return Err(invalid(
            unknown,
            format!("not a selection (one of {})", SELECTION_FIELDS.join(", ")),
        ));
    }
    let present = |name: &str| fields.get(name).filter(|value| !value.is_null());
    let mut input = SelectionsInput::default();
    if let Some(objects) = present("objects") {
        let names: Vec<String> = serde_json::from_value(objects.clone())
            .map_err(|_| invalid("objects", "a list of object API names"))?;
        if names.is_empty() {
            return Err(invalid(
                "objects",
                "empty; leave it out to migrate every object",
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        for name in &names {
            if !api_name(name) {
                return Err(invalid("objects", format!("{name:?} is not an API name")));
            }
            if !seen.insert(name) {
                return Err(invalid("objects", format!("{name} is named twice")));
            }
        }
        input.selections.objects = Some(names);
    }
    if let Some(since) = present("created_since") {
        let text = since
            .as_str()
            .ok_or_else(|| invalid("created_since", "a date written YYYY-MM-DD"))?;
        ferry_core::steps::parse_start_date(text)
            .map_err(|reason| invalid("created_since", reason))?;
        input.selections.created_since = Some(text.trim().to_owned());
    }
    if let Some(map) = present("map") {
        if !map.is_object() {
            return Err(invalid(
                "map",
                "a map override document (the map file format) as JSON",
            ));
        }
        let overrides = ferry_model::mapping::MapOverrides::from_json_str(&map.to_string())
            .map_err(|error| invalid("map", error))?;
        ferry_model::mapping::FieldMap::builtin()
            .overlay(&overrides)
            .map_err(|error| invalid("map", error))?;
        input.selections.map = Some(map.clone());
    }
    if let Some(entries) = present("pseudonymise") {
        let entries: Vec<String> = serde_json::from_value(entries.clone())
            .map_err(|_| invalid("pseudonymise", "a list of Object or Object.Field names"))?;
        for entry in &entries {
            let parts: Vec<&str> = entry.split('.').collect();
            if parts.len() > 2 || !parts.iter().all(|part| api_name(part)) {
                return Err(invalid(
                    "pseudonymise",
                    format!("{entry:?} is not Object or Object.Field"),
                ));
            }
        }
        input.selections.pseudonymise = entries;
    }
    if let Some(policy) = present("validation") {
        let overrides: ferry_model::policy::ValidationPolicy =
            serde_json::from_value(policy.clone()).map_err(|error| invalid("validation", error))?;
        ferry_model::policy::ValidationPolicy::with_overrides(&overrides)
            .map_err(|reason| invalid("validation", reason))?;
        input.selections.validation = Some(overrides);
    }
    if let Some(owner) = fields.get("default_owner") {
        input.default_owner = Some(match owner {
            serde_json::Value::Null => None,
            serde_json::Value::String(owner) if owner.contains('@') => Some(owner.clone()),
            other => {
                return Err(invalid(
                    "default_owner",
                    format!("{other} is not an email address"),
                ));
            }
        });
    }
    if let Some(merge) = present("merge_leads_by_email") {
        input.merge_leads_by_email = Some(
            merge
                .as_bool()
                .ok_or_else(|| invalid("merge_leads_by_email", "true or false"))?,
        );
    }
    Ok(input)
}

/// The objects the selections name that the org's plan does not offer: the error names the
/// object and why (not in the org, or left out with the plan's reason).
fn check_against_plan(selections: &Selections, plan: &serde_json::Value) -> Result<(), String> {
    let names = |list: &str| -> Vec<(String, Option<String>)> {
        plan[list]
            .as_array()
            .map(|entries| {
                entries
                    .iter()
                    .filter_map(|entry| {
                        Some((
                            entry["name"].as_str()?.to_owned(),
                            entry["reason"].as_str().map(str::to_owned),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let planned = names("objects");
    let skipped = names("skipped_objects");
    let known = |object: &str| -> Result<(), String> {
        if planned.iter().any(|(name, _)| name == object) {
            return Ok(());
        }
        match skipped.iter().find(|(name, _)| name == object) {
            Some((_, Some(reason))) if reason != "not selected" => {
                Err(format!("{object} is left out: {reason}"))
            }
            Some(_) => Ok(()),
            None => Err(format!("{object} is not an object of the org")),
        }
    };
    for object in selections.objects.iter().flatten() {
        known(object).map_err(|reason| invalid("objects", reason))?;
    }
    for entry in &selections.pseudonymise {
        let object = entry.split('.').next().unwrap_or_default();
        known(object).map_err(|reason| invalid("pseudonymise", reason))?;
    }
    Ok(())
}

/// Whether the migration's selections can still change: until its run starts.
fn selectable(status: MigrationStatus) -> bool {
    matches!(
        status,
        MigrationStatus::AwaitingAuthorization
            | MigrationStatus::Discovering
            | MigrationStatus::DryRunReady
    )
}

/// An `Idempotency-Key`: 1 to 255 visible ASCII characters.
fn idempotency_key(request: &HttpRequest) -> Option<Result<String, HttpResponse>> {
    let (_, value) = request
        .headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("idempotency-key"))?;
    let key = value.trim();
    Some(
        if !key.is_empty() && key.len() <= 255 && key.chars().all(|c| c.is_ascii_graphic()) {
            Ok(key.to_owned())
        } else {
            Err(HttpResponse::error(
                400,
                "invalid_header",
                "Idempotency-Key: 1 to 255 visible ASCII characters",
            ))
        },
    )
}

/// What a retry must repeat to get the stored answer: method, path and the body (as
/// canonical JSON when it is JSON, so spacing and key order do not matter).
fn request_fingerprint(method: &str, path: &str, request: &HttpRequest) -> String {
    let body = request.body_bytes().unwrap_or_default();
    let body = match serde_json::from_slice::<serde_json::Value>(&body) {
        Ok(value) => canonical_json(&value),
        Err(_) => String::from_utf8_lossy(&body).into_owned(),
    };
    format!("{method} {}\n{body}", path.trim_end_matches('/'))
}

/// JSON with every object's keys sorted and no spacing, whatever order `serde_json` keeps
/// keys in (its `preserve_order` feature may be on in a build that unifies features).
fn canonical_json(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let fields: Vec<String> = keys
                .into_iter()
                .map(|key| {
                    format!(
                        "{}:{}",
                        serde_json::Value::String(key.clone()),
                        canonical_json(&map[key])
                    )
                })
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        serde_json::Value::Array(items) => format!(
            "[{}]",
            items
                .iter()
                .map(canonical_json)
                .collect::<Vec<_>>()
                .join(",")
        ),
        other => other.to_string(),
    }
}

impl Api {
    pub async fn handle(&self, request: HttpRequest) -> Result<HttpResponse, Diagnostic> {
        let Some(tenant) = tenant_of(&request) else {
            return Ok(HttpResponse::error(
                403,
                "forbidden",
                "the request is not signed by an AWS account (IAM authorisation)",
            ));
        };
        let method = request.method().to_ascii_uppercase();
        let key = match idempotency_key(&request) {
            Some(Ok(key)) if method != "GET" => Some(key),
            Some(Err(response)) if method != "GET" => return Ok(response),
            _ => None,
        };
        let Some(key) = key else {
            return self.route(&tenant, &method, &request, None).await;
        };
        let fingerprint = request_fingerprint(&method, request.path(), &request);
        let creating = method == "POST" && request.path().trim_matches('/') == "migrations";
        let offered = if creating {
            Some(random_id("mig-")?)
        } else {
            None
        };
        let claim = self
            .services
            .migrations
            .claim_idempotency_key(&tenant, &key, &fingerprint, offered.as_deref())
            .await
            .map_err(|error| port_failure(&error))?;
        let migration_id = match claim {
            Claim::Answered { status, body } => {
                let mut response = HttpResponse::json(status, &serde_json::Value::Null);
                response.body = body;
                response
                    .headers
                    .insert("idempotent-replayed".to_owned(), "true".to_owned());
                return Ok(response);
            }
            Claim::Mismatch => {
                return Ok(HttpResponse::error(
                    422,
                    "idempotency_key_reused",
                    format!(
                        "Idempotency-Key {key:?} was used for another request (method, path or body)"
                    ),
                ));
            }
            Claim::InProgress => {
                return Ok(HttpResponse::error(
                    409,
                    "idempotency_key_in_progress",
                    format!(
                        "a request with Idempotency-Key {key:?} is still under way; retry later"
                    ),
                ));
            }
            Claim::Claimed { migration_id } => migration_id,
        };
        match self
            .route(&tenant, &method, &request, migration_id.as_deref())
            .await
        {
            Ok(response) => {
                self.services
                    .migrations
                    .answer_idempotency_key(&tenant, &key, response.status_code, &response.body)
                    .await
                    .map_err(|error| port_failure(&error))?;
                Ok(response)
            }
            Err(error) => {
                // No answer: a retry may try again (a create keeps its migration id).
                if let Err(release) = self
                    .services
                    .migrations
                    .release_idempotency_key(&tenant, &key)
                    .await
                {
                    tracing::warn!(error = %release, "idempotency key not released");
                }
                Err(error)
            }
        }
    }

    async fn route(
        &self,
        tenant: &TenantId,
        method: &str,
        request: &HttpRequest,
        migration_id: Option<&str>,
    ) -> Result<HttpResponse, Diagnostic> {
        let segments: Vec<&str> = request
            .path()
            .trim_matches('/')
            .split('/')
            .filter(|segment| !segment.is_empty())
            .collect();
        match (method, segments.as_slice()) {
            ("POST", ["migrations"]) => self.create(tenant, request, migration_id).await,
            ("GET", ["migrations"]) => self.list(tenant).await,
            ("GET", ["migrations", id]) => self.show(tenant, id).await,
            ("GET", ["migrations", id, "report"]) => self.report(tenant, id, request).await,
            ("GET", ["migrations", id, "plan"]) => self.plan(tenant, id).await,
            ("PUT", ["migrations", id, "selections"]) => self.select(tenant, id, request).await,
            ("POST", ["migrations", id, "dry-run"]) => self.replan(tenant, id, None).await,
            ("POST", ["migrations", id, "start"]) => self.start(tenant, id).await,
            ("POST", ["migrations", id, "rollback"]) => self.rollback(tenant, id).await,
            _ => Ok(HttpResponse::error(
                404,
                "not_found",
                format!("no route {method} {}", request.path()),
            )),
        }
    }

    async fn find(
        &self,
        tenant: &TenantId,
        id: &str,
    ) -> Result<Result<MigrationRecord, HttpResponse>, Diagnostic> {
        let record = self
            .services
            .migrations
            .get(tenant, id)
            .await
            .map_err(|error| port_failure(&error))?;
        Ok(record
            .ok_or_else(|| HttpResponse::error(404, "not_found", format!("no migration {id}"))))
    }

    async fn create(
        &self,
        tenant: &TenantId,
        request: &HttpRequest,
        migration_id: Option<&str>,
    ) -> Result<HttpResponse, Diagnostic> {
        let body = match request.body_bytes() {
            Ok(body) => body,
            Err(message) => return Ok(HttpResponse::error(400, "invalid_body", message)),
        };
        let input: CreateMigration = if body.iter().all(u8::is_ascii_whitespace) {
            CreateMigration::default()
        } else {
            match serde_json::from_slice(&body) {
                Ok(input) => input,
                Err(error) => {
                    return Ok(HttpResponse::error(
                        400,
                        "invalid_body",
                        format!("the body is not a migration request: {error}"),
                    ));
                }
            }
        };
        if let Some(workspace) = &input.workspace
            && !valid_name(workspace)
        {
            return Ok(HttpResponse::error(
                400,
                "invalid_body",
                "workspace: 1 to 64 letters, digits, '-' or '_'",
            ));
        }
        if let Some(owner) = &input.default_owner
            && !owner.contains('@')
        {
            return Ok(HttpResponse::error(
                400,
                "invalid_body",
                format!("default_owner: {owner:?} is not an email address"),
            ));
        }
        let settings = self.services.salesforce_settings()?;
        let vault = self.services.vault()?;
        let id = match migration_id {
            Some(id) => id.to_owned(),
            None => random_id("mig-")?,
        };
        let run_id = RunId::new(random_id("run-")?);
        let now = now_rfc3339();
        let record = MigrationRecord {
            tenant: tenant.clone(),
            id: id.clone(),
            label: input.label.clone(),
            status: MigrationStatus::AwaitingAuthorization,
            created_at: now.clone(),
            updated_at: now.clone(),
            version: 0,
            options: MigrationOptions {
                sandbox: input.sandbox,
                delta: input.delta,
                verify: input.verify.unwrap_or(true),
                default_owner: input.default_owner.clone(),
                workspace: input.workspace.clone(),
                merge_leads_by_email: input.merge_leads_by_email,
            },
            run_id: run_id.clone(),
            execution_arn: None,
            instance_url: None,
            refresh_token: None,
            task_token: None,
            waiting_for: None,
            dry_run_report: None,
            final_report: None,
            rollback_execution_arn: None,
            error: None,
            selections: Default::default(),
            plan: None,
            dry_run_revision: None,
        };
        match self.services.migrations.create(&record).await {
            Ok(()) => {}
            // Only a retry under an Idempotency-Key whose first request died half-way reuses
            // an id: that request's migration stands, and no second one is made.
            Err(MigrationStoreError::AlreadyExists { .. }) => {
                return Ok(HttpResponse::error(
                    409,
                    "conflict",
                    format!(
                        "the first request with this Idempotency-Key created migration {id} but did not finish; GET /migrations/{id}"
                    ),
                ));
            }
            Err(error) => return Err(ferry_lambda::store_failure(&error)),
        }
        let pkce = Pkce::generate()
            .map_err(|error| ferry_lambda::failure(ferry_lambda::ErrorType::Retryable, error))?;
        let state = random_state()
            .map_err(|error| ferry_lambda::failure(ferry_lambda::ErrorType::Retryable, error))?;
        let expires = time::OffsetDateTime::now_utc() + OAUTH_STATE_LIFETIME;
        self.services
            .migrations
            .put_oauth_state(&OAuthState {
                state: state.clone(),
                tenant: tenant.clone(),
                migration_id: id.clone(),
                pkce_verifier: vault
                    .seal(tenant, &pkce.verifier)
                    .await
                    .map_err(|error| port_failure(&error))?,
                expires_at: expires
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default(),
            })
            .await
            .map_err(|error| port_failure(&error))?;
        let authorize = authorize_url(&AuthorizeRequest {
            login_url: settings.login_url(input.sandbox),
            client_id: &settings.client_id,
            redirect_uri: &self.redirect_uri,
            state: &state,
            code_challenge: &pkce.challenge,
            scope: "api refresh_token",
        })
        .map_err(|error| ferry_lambda::failure(ferry_lambda::ErrorType::Fatal, error))?;
        let execution = self
            .executions
            .start(
                &self.state_machine_arn,
                &id,
                &serde_json::json!({
                    "tenant": tenant.as_str(),
                    "migration_id": id,
                    "run_id": run_id.as_str(),
                }),
            )
            .await
            .map_err(|error| port_failure(&error))?;
        let (record, ()) = self
            .services
            .modify(&Task::of(&record), |record| {
                record.execution_arn = Some(execution.clone());
            })
            .await?;
        tracing::info!(tenant = %tenant, migration_id = %id, "migration created");
        let mut answer = view(&record);
        answer["authorize_url"] = serde_json::Value::String(authorize);
        Ok(HttpResponse::json(201, &answer))
    }

    async fn list(&self, tenant: &TenantId) -> Result<HttpResponse, Diagnostic> {
        let records = self
            .services
            .migrations
            .list(tenant)
            .await
            .map_err(|error| port_failure(&error))?;
        let migrations: Vec<serde_json::Value> = records.iter().map(view).collect();
        Ok(HttpResponse::json(
            200,
            &serde_json::json!({ "migrations": migrations }),
        ))
    }

    async fn show(&self, tenant: &TenantId, id: &str) -> Result<HttpResponse, Diagnostic> {
        let record = match self.find(tenant, id).await? {
            Ok(record) => record,
            Err(response) => return Ok(response),
        };
        let mut answer = view(&record);
        if let Some(summary) = self
            .services
            .runs
            .run_summary(&record.run_id)
            .await
            .map_err(|error| port_failure(&error))?
        {
            answer["run"] = serde_json::to_value(&summary).unwrap_or_default();
        }
        Ok(HttpResponse::json(200, &answer))
    }

    async fn report(
        &self,
        tenant: &TenantId,
        id: &str,
        request: &HttpRequest,
    ) -> Result<HttpResponse, Diagnostic> {
        let record = match self.find(tenant, id).await? {
            Ok(record) => record,
            Err(response) => return Ok(response),
        };
        let kind = request
            .query_string_parameters
            .get("kind")
            .map_or("final", String::as_str);
        let key = match kind {
            "dry-run" => record.dry_run_report.clone(),
            "final" => record.final_report.clone(),
            other => {
                return Ok(HttpResponse::error(
                    400,
                    "invalid_query",
                    format!("kind must be dry-run or final, not {other:?}"),
                ));
            }
        };
        let Some(key) = key else {
            return Ok(HttpResponse::error(
                404,
                "not_found",
                format!("migration {id} has no {kind} report yet"),
            ));
        };
        let staging = self.services.staging()?;
        let body = staging
            .get(&key)
            .await
            .map_err(|error| port_failure(&error))?;
        let report: serde_json::Value = serde_json::from_slice(&body).map_err(|error| {
            ferry_lambda::failure(ferry_lambda::ErrorType::Fatal, format!("{key}: {error}"))
        })?;
        let stem = key.trim_end_matches(".json");
        let html_url = staging
            .presigned_get(&format!("{stem}.html"), REPORT_LINK_LIFETIME)
            .await
            .map_err(|error| port_failure(&error))?;
        let markdown_url = staging
            .presigned_get(&format!("{stem}.md"), REPORT_LINK_LIFETIME)
            .await
            .map_err(|error| port_failure(&error))?;
        Ok(HttpResponse::json(
            200,
            &serde_json::json!({
                "kind": kind,
                "report": report,
                "html_url": html_url,
                "markdown_url": markdown_url,
            }),
        ))
    }

    async fn start(&self, tenant: &TenantId, id: &str) -> Result<HttpResponse, Diagnostic> {
        let record = match self.find(tenant, id).await? {
            Ok(record) => record,
            Err(response) => return Ok(response),
        };
        // The token is taken in the same write that marks the migration running, so of two
        // starts only one finds it.
        let (record, token) = self
            .services
            .modify(&Task::of(&record), |record| {
                match (&record.waiting_for, record.task_token.clone()) {
                    (Some(Waiting::Start), Some(token)) => {
                        record.task_token = None;
                        record.waiting_for = None;
                        record.status = MigrationStatus::Running;
                        Some(token)
                    }
                    _ => None,
                }
            })
            .await?;
        let Some(token) = token else {
            return Ok(HttpResponse::error(
                409,
                "conflict",
                format!(
                    "migration {id} is {}, not waiting for its start",
                    record.status.as_str()
                ),
            ));
        };
        self.executions
            .succeed(&token, &serde_json::json!({"action": "start"}))
            .await
            .map_err(|error| port_failure(&error))?;
        Ok(HttpResponse::json(202, &view(&record)))
    }

    async fn plan(&self, tenant: &TenantId, id: &str) -> Result<HttpResponse, Diagnostic> {
        let record = match self.find(tenant, id).await? {
            Ok(record) => record,
            Err(response) => return Ok(response),
        };
        match self.plan_document(&record).await? {
            Some(document) => Ok(HttpResponse::json(200, &document)),
            None => Ok(HttpResponse::error(
                404,
                "not_found",
                format!(
                    "migration {id} has no plan yet: discovery runs once Salesforce is authorised ({})",
                    record.status.as_str()
                ),
            )),
        }
    }

    /// The plan document the latest dry run stored.
    async fn plan_document(
        &self,
        record: &MigrationRecord,
    ) -> Result<Option<serde_json::Value>, Diagnostic> {
        let Some(key) = &record.plan else {
            return Ok(None);
        };
        let body = self
            .services
            .staging()?
            .get(key)
            .await
            .map_err(|error| port_failure(&error))?;
        serde_json::from_slice(&body).map(Some).map_err(|error| {
            ferry_lambda::failure(ferry_lambda::ErrorType::Fatal, format!("{key}: {error}"))
        })
    }

    async fn select(
        &self,
        tenant: &TenantId,
        id: &str,
        request: &HttpRequest,
    ) -> Result<HttpResponse, Diagnostic> {
        let record = match self.find(tenant, id).await? {
            Ok(record) => record,
            Err(response) => return Ok(response),
        };
        let body = match request.body_bytes() {
            Ok(body) => body,
            Err(message) => return Ok(HttpResponse::error(400, "invalid_body", message)),
        };
        let input = match parse_selections(&body) {
            Ok(input) => input,
            Err(message) => return Ok(HttpResponse::error(400, "invalid_selections", message)),
        };
        if !selectable(record.status) {
            return Ok(not_selectable(id, record.status));
        }
        if let Some(plan) = self.plan_document(&record).await?
            && let Err(message) = check_against_plan(&input.selections, &plan)
        {
            return Ok(HttpResponse::error(400, "invalid_selections", message));
        }
        // What the run would use, with this deployment's key: a pseudonymisation without
        // one is refused now rather than failing the dry run.
        let mut candidate = record.clone();
        candidate.selections = input.selections.clone();
        if let Err(error) = ferry_lambda::migration_config(
            &candidate,
            &record.run_id,
            self.services.pseudonym_key.as_ref(),
        ) {
            return Ok(HttpResponse::error(
                400,
                "invalid_selections",
                error.to_string(),
            ));
        }
        self.replan(tenant, id, Some(&input)).await
    }

    /// Stores `input` (when given) and runs the dry run again: the execution parked after
    /// a dry run is resumed with "replan"; one still in its dry run sees the new revision
    /// and runs it again; one waiting for authorisation runs its first with them.
    async fn replan(
        &self,
        tenant: &TenantId,
        id: &str,
        input: Option<&SelectionsInput>,
    ) -> Result<HttpResponse, Diagnostic> {
        let record = match self.find(tenant, id).await? {
            Ok(record) => record,
            Err(response) => return Ok(response),
        };
        #[derive(PartialEq)]
        enum Outcome {
            NotSelectable,
            Unchanged,
            Stored,
            Resume(String),
            UnderWay,
        }
        let (record, outcome) = self
            .services
            .modify(&Task::of(&record), |record| {
                if !selectable(record.status) {
                    return Outcome::NotSelectable;
                }
                let mut changed = false;
                if let Some(input) = input {
                    let mut selections = input.selections.clone();
                    selections.revision = record.selections.revision;
                    if selections != record.selections {
                        record.selections = selections;
                        changed = true;
                    }
                    if let Some(owner) = &input.default_owner
                        && *owner != record.options.default_owner
                    {
                        record.options.default_owner = owner.clone();
                        changed = true;
                    }
                    if let Some(merge) = input.merge_leads_by_email
                        && merge != record.options.merge_leads_by_email
                    {
                        record.options.merge_leads_by_email = merge;
                        changed = true;
                    }
                    // Any change is a new revision: a dry run under way sees it is stale.
                    if changed {
                        record.selections.revision += 1;
                    }
                }
                match (&record.waiting_for, record.task_token.clone()) {
                    (Some(Waiting::Start), Some(token)) if changed || input.is_none() => {
                        record.task_token = None;
                        record.waiting_for = None;
                        record.status = MigrationStatus::Discovering;
                        Outcome::Resume(token)
                    }
                    _ if changed => Outcome::Stored,
                    _ if input.is_none() => Outcome::UnderWay,
                    _ => Outcome::Unchanged,
                }
            })
            .await?;
        match outcome {
            Outcome::NotSelectable => Ok(not_selectable(id, record.status)),
            Outcome::UnderWay => Ok(HttpResponse::error(
                409,
                "conflict",
                format!(
                    "migration {id} is {}: its dry run is not done yet, and dry_run_ready follows",
                    record.status.as_str()
                ),
            )),
            Outcome::Unchanged => Ok(HttpResponse::json(200, &view(&record))),
            Outcome::Stored => Ok(HttpResponse::json(202, &view(&record))),
            Outcome::Resume(token) => {
                self.executions
                    .succeed(&token, &serde_json::json!({"action": "replan"}))
                    .await
                    .map_err(|error| port_failure(&error))?;
                tracing::info!(migration_id = %id, revision = record.selections.revision, "dry run again");
                Ok(HttpResponse::json(202, &view(&record)))
            }
        }
    }

    async fn rollback(&self, tenant: &TenantId, id: &str) -> Result<HttpResponse, Diagnostic> {
        let record = match self.find(tenant, id).await? {
            Ok(record) => record,
            Err(response) => return Ok(response),
        };
        let (record, allowed) = self
            .services
            .modify(&Task::of(&record), |record| {
                if record.status == MigrationStatus::Succeeded {
                    record.status = MigrationStatus::RollingBack;
                    true
                } else {
                    false
                }
            })
            .await?;
        if !allowed {
            return Ok(HttpResponse::error(
                409,
                "conflict",
                format!(
                    "only a succeeded migration can be rolled back; {id} is {}",
                    record.status.as_str()
                ),
            ));
        }
        let execution = self
            .executions
            .start(
                &self.rollback_state_machine_arn,
                &format!("{id}-rollback-{}", record.version),
                &serde_json::json!({
                    "tenant": tenant.as_str(),
                    "migration_id": id,
                    "run_id": record.run_id.as_str(),
                }),
            )
            .await
            .map_err(|error| port_failure(&error))?;
        let (record, ()) = self
            .services
            .modify(&Task::of(&record), |record| {
                record.rollback_execution_arn = Some(execution.clone());
            })
            .await?;
        Ok(HttpResponse::json(202, &view(&record)))
    }
}

fn not_selectable(id: &str, status: MigrationStatus) -> HttpResponse {
    HttpResponse::error(
        409,
        "conflict",
        format!(
            "migration {id} is {}: selections and dry runs are only allowed until the run starts",
            status.as_str()
        ),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_events_name_their_caller_and_route() {
        for (sample, method, path) in [
            (
                include_str!("../../../events/api.json"),
                "POST",
                "/migrations",
            ),
            (
                include_str!("../../../events/api-list.json"),
                "GET",
                "/migrations",
            ),
            (
                include_str!("../../../events/api-plan.json"),
                "GET",
                "/migrations/mig-01HZX3K8Q2/plan",
            ),
            (
                include_str!("../../../events/api-selections.json"),
                "PUT",
                "/migrations/mig-01HZX3K8Q2/selections",
            ),
            (
                include_str!("../../../events/api-dry-run.json"),
                "POST",
                "/migrations/mig-01HZX3K8Q2/dry-run",
            ),
        ] {
            let request: HttpRequest = serde_json::from_str(sample).unwrap();
            assert_eq!(request.method(), method);
            assert_eq!(request.path(), path);
            assert!(tenant_of(&request).is_some());
        }
        let create: HttpRequest =
            serde_json::from_str(include_str!("../../../events/api.json")).unwrap();
        let body: CreateMigration = serde_json::from_slice(&create.body_bytes().unwrap()).unwrap();
        assert!(body.verify.unwrap_or(true));
        // The selections sample is a valid body, under an Idempotency-Key.
        let select: HttpRequest =
            serde_json::from_str(include_str!("../../../events/api-selections.json")).unwrap();
        let input = parse_selections(&select.body_bytes().unwrap()).unwrap();
        assert_eq!(input.selections.objects.as_ref().map(Vec::len), Some(5));
        assert_eq!(
            input.selections.created_since.as_deref(),
            Some("2024-01-01")
        );
        assert!(input.selections.map.is_some());
        assert_eq!(input.selections.pseudonymise, vec!["Contact.Email"]);
        assert_eq!(
            idempotency_key(&select).unwrap().unwrap(),
            "7b1f3c2e-selections-1"
        );
    }

    fn error_of(body: serde_json::Value) -> String {
        parse_selections(body.to_string().as_bytes()).unwrap_err()
    }

    #[test]
    fn a_selection_error_names_its_field_and_reason() {
        use serde_json::json;
        assert_eq!(
            error_of(json!({"object": ["Account"]})),
            "object: not a selection (one of objects, created_since, map, pseudonymise, validation, default_owner, merge_leads_by_email)"
        );
        assert!(error_of(json!({"objects": []})).starts_with("objects: empty"));
        assert!(error_of(json!({"objects": "Account"})).starts_with("objects: a list"));
        assert_eq!(
            error_of(json!({"objects": ["Account", "Account"]})),
            "objects: Account is named twice"
        );
        assert!(
            error_of(json!({"objects": ["Account; DROP"]}))
                .starts_with("objects: \"Account; DROP\" is not an API name")
        );
        assert!(
            error_of(json!({"created_since": "01/02/2024"}))
                .starts_with("created_since: \"01/02/2024\" is not a date written YYYY-MM-DD")
        );
        assert!(
            error_of(json!({"map": {"version": 4, "objects": {"Contact": {"feilds": {}}}}}))
                .starts_with("map: ")
        );
        assert!(error_of(json!({"map": []})).starts_with("map: a map override document"));
        assert!(
            error_of(json!({"pseudonymise": ["Contact.Email.Domain"]})).starts_with(
                "pseudonymise: \"Contact.Email.Domain\" is not Object or Object.Field"
            )
        );
        assert!(
            error_of(json!({"validation": {"actions": {"invalid_email": "explode"}}}))
                .starts_with("validation: ")
        );
        assert!(
            error_of(json!({"validation": {"actions": {"missing_required": "load_anyway"}}}))
                .starts_with("validation: sets missing_required to LoadAnyway, but that rule always uses SkipRecord")
        );
        assert_eq!(
            error_of(json!({"default_owner": "nobody"})),
            "default_owner: \"nobody\" is not an email address"
        );
        assert_eq!(
            error_of(json!({"merge_leads_by_email": "yes"})),
            "merge_leads_by_email: true or false"
        );
        // Absent fields are defaults; owner and merge keep their value unless given.
        let empty = parse_selections(b"{}").unwrap();
        assert_eq!(empty, SelectionsInput::default());
        let cleared = parse_selections(br#"{"default_owner": null}"#).unwrap();
        assert_eq!(cleared.default_owner, Some(None));
    }

    #[test]
    fn selected_objects_must_be_offered_by_the_plan() {
        let plan = serde_json::json!({
            "objects": [{"name": "Account"}, {"name": "Contact"}],
            "skipped_objects": [
                {"name": "Lead", "reason": "not selected"},
                {"name": "LoginHistory", "reason": "not exportable through the API"}
            ]
        });
        let selections = |objects: &[&str], pseudonymise: &[&str]| Selections {
            objects: Some(objects.iter().map(|name| (*name).to_owned()).collect()),
            pseudonymise: pseudonymise.iter().map(|name| (*name).to_owned()).collect(),
            ..Selections::default()
        };
        assert!(
            check_against_plan(&selections(&["Account", "Lead"], &["Contact.Email"]), &plan)
                .is_ok()
        );
        assert_eq!(
            check_against_plan(&selections(&["Acount"], &[]), &plan).unwrap_err(),
            "objects: Acount is not an object of the org"
        );
        assert_eq!(
            check_against_plan(&selections(&["LoginHistory"], &[]), &plan).unwrap_err(),
            "objects: LoginHistory is left out: not exportable through the API"
        );
        assert_eq!(
            check_against_plan(&selections(&["Account"], &["Contac.Email"]), &plan).unwrap_err(),
            "pseudonymise: Contac is not an object of the org"
        );
    }

    #[test]
    fn the_fingerprint_of_a_retry_ignores_json_spacing_and_key_order_but_not_the_body() {
        let mut request: HttpRequest =
            serde_json::from_str(include_str!("../../../events/api.json")).unwrap();
        request.body = Some(r#"{"label": "Acme", "workspace": "acme"}"#.to_owned());
        let first = request_fingerprint("POST", "/migrations", &request);
        request.body = Some(r#"{"workspace":"acme","label":"Acme"}"#.to_owned());
        assert_eq!(request_fingerprint("POST", "/migrations/", &request), first);
        request.body = Some(r#"{"workspace":"acme","label":"Globex"}"#.to_owned());
        assert_ne!(request_fingerprint("POST", "/migrations", &request), first);
        assert_ne!(request_fingerprint("PUT", "/migrations", &request), first);
        request
            .headers
            .insert("Idempotency-Key".to_owned(), " ".to_owned());
        assert!(idempotency_key(&request).unwrap().is_err());
    }

    #[test]
    fn selections_change_the_run_settings_as_the_cli_flags_would() {
        let mut record = MigrationRecord {
            tenant: TenantId::new("111122223333"),
            id: "mig-1".to_owned(),
            label: None,
            status: MigrationStatus::DryRunReady,
            created_at: String::new(),
            updated_at: String::new(),
            version: 1,
            options: MigrationOptions::default(),
            run_id: RunId::new("run-1"),
            execution_arn: None,
            instance_url: None,
            refresh_token: None,
            task_token: None,
            waiting_for: None,
            dry_run_report: None,
            final_report: None,
            rollback_execution_arn: None,
            error: None,
            selections: Default::default(),
            plan: None,
            dry_run_revision: None,
        };
        let select: HttpRequest =
            serde_json::from_str(include_str!("../../../events/api-selections.json")).unwrap();
        record.selections = parse_selections(&select.body_bytes().unwrap())
            .unwrap()
            .selections;
        let run = RunId::new("run-1");
        // No key: pseudonymising is refused, naming the field.
        let error = ferry_lambda::migration_config(&record, &run, None).unwrap_err();
        assert_eq!(error.field, "pseudonymise");
        let key = ferry_model::secret::Secret::new("a key of sixteen bytes or more");
        let config = ferry_lambda::migration_config(&record, &run, Some(&key)).unwrap();
        assert_eq!(config.discover.objects.as_ref().map(Vec::len), Some(5));
        assert_eq!(
            config.discover.created_since.map(|date| date.to_string()),
            Some("2024-01-01".to_owned())
        );
        let pseudonymise = config.pseudonymise.as_ref().unwrap();
        assert!(pseudonymise.config.is_pseudonymised("Contact", "Email"));
        assert!(!pseudonymise.config.is_pseudonymised("Contact", "LastName"));
        assert_eq!(
            config
                .validation
                .action(ferry_model::policy::Rule::InvalidEmail),
            ferry_model::policy::Action::SkipRecord
        );
        // The override dropped Contact.Phone from the map; the built-in map has it.
        let fields = |map: &ferry_model::mapping::FieldMap| {
            serde_json::to_value(map).unwrap()["objects"]["Contact"]["fields"].clone()
        };
        assert!(
            fields(&ferry_model::mapping::FieldMap::builtin())
                .get("Phone")
                .is_some()
        );
        assert!(
            fields(&config.map).get("Phone").is_none(),
            "{}",
            fields(&config.map)
        );
        assert!(selectable(record.status));
        record.status = MigrationStatus::Running;
        assert!(!selectable(record.status));
    }

    #[test]
    fn an_unsigned_request_has_no_tenant() {
        let mut request: HttpRequest =
            serde_json::from_str(include_str!("../../../events/api-list.json")).unwrap();
        request.request_context.authorizer = None;
        assert!(tenant_of(&request).is_none());
    }

    #[test]
    fn the_view_of_a_migration_never_holds_a_secret() {
        let record = MigrationRecord {
            tenant: TenantId::new("111122223333"),
            id: "mig-1".to_owned(),
            label: None,
            status: MigrationStatus::DryRunReady,
            created_at: String::new(),
            updated_at: String::new(),
            version: 3,
            options: MigrationOptions::default(),
            run_id: RunId::new("run-1"),
            execution_arn: None,
            instance_url: None,
            refresh_token: Some(ferry_aws::SealedSecret {
                key_id: "k".to_owned(),
                encrypted_data_key: "ZGF0YWtleQ==".to_owned(),
                nonce: "bm9uY2U=".to_owned(),
                ciphertext: "c2VjcmV0".to_owned(),
            }),
            task_token: Some("task-token-value".to_owned()),
            waiting_for: Some(Waiting::Start),
            dry_run_report: None,
            final_report: None,
            rollback_execution_arn: None,
            error: None,
            selections: Default::default(),
            plan: None,
            dry_run_revision: None,
        };
        let shown = view(&record).to_string();
        assert!(
            !shown.contains("c2VjcmV0") && !shown.contains("task-token-value"),
            "{shown}"
        );
        assert!(shown.contains("\"waiting_for\":\"start\""), "{shown}");
    }
}
