//! The `api` Lambda: the HTTP API a SaaS backend calls (API Gateway HTTP API, IAM
//! authorisation; `infra/api.openapi.json` is its contract).
//!
//! | route | what it does |
//! |---|---|
//! | `POST /migrations` | creates a migration, starts its execution, answers the authorise URL |
//! | `GET /migrations` | the caller's migrations, newest first |
//! | `GET /migrations/{id}` | one migration, with its run's counts once it has them |
//! | `GET /migrations/{id}/report?kind=dry-run\|final` | a report, with short-lived links to its HTML and Markdown |
//! | `POST /migrations/{id}/start` | the user confirmed the dry run: the execution goes on |
//! | `POST /migrations/{id}/rollback` | starts the rollback of a succeeded migration |
//!
//! The tenant is the AWS account that signed the request (API Gateway verified the
//! signature); every read is keyed by it, so a tenant never sees another's migrations: a
//! migration of another tenant is "not found", exactly like one that does not exist.

use ferry_aws::{
    Executions, MigrationOptions, MigrationRecord, MigrationStatus, OAuthState, Waiting,
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
        "dry_run_report": record.dry_run_report,
        "final_report": record.final_report,
        "error": record.error,
    })
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
        let segments: Vec<&str> = request
            .path()
            .trim_matches('/')
            .split('/')
            .filter(|segment| !segment.is_empty())
            .collect();
        match (method.as_str(), segments.as_slice()) {
            ("POST", ["migrations"]) => self.create(&tenant, &request).await,
            ("GET", ["migrations"]) => self.list(&tenant).await,
            ("GET", ["migrations", id]) => self.show(&tenant, id).await,
            ("GET", ["migrations", id, "report"]) => self.report(&tenant, id, &request).await,
            ("POST", ["migrations", id, "start"]) => self.start(&tenant, id).await,
            ("POST", ["migrations", id, "rollback"]) => self.rollback(&tenant, id).await,
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
        let id = random_id("mig-")?;
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
        };
        self.services
            .migrations
            .create(&record)
            .await
            .map_err(|error| ferry_lambda::store_failure(&error))?;
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
            .succeed(&token, &serde_json::json!({"started": true}))
            .await
            .map_err(|error| port_failure(&error))?;
        Ok(HttpResponse::json(202, &view(&record)))
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
        };
        let shown = view(&record).to_string();
        assert!(
            !shown.contains("c2VjcmV0") && !shown.contains("task-token-value"),
            "{shown}"
        );
        assert!(shown.contains("\"waiting_for\":\"start\""), "{shown}");
    }
}
