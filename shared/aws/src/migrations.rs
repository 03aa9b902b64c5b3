//! The API's migration records and the OAuth state records, in the same DynamoDB table as
//! the ID map and the run store (string keys `pk`, `sk`).
//!
//! Key design:
//!
//! | item | pk | sk | attributes |
//! |---|---|---|---|
//! | migration | `TENANT#{tenant}` | `MIGRATION#{id}` | `body` (the [`MigrationRecord`] as JSON), `version` (N), `created_at` |
//! | OAuth state | `OAUTH#{state}` | `STATE` | `body` (the [`OAuthState`] as JSON), `ttl` (N, epoch seconds) |
//! | idempotency key | `TENANT#{tenant}` | `IDEMPOTENCY#{key}` | `request` (method, path, body), `started` (N), `migration_id`, `status` (N) and `response` once answered, `ttl` |
//!
//! Tenant isolation is in the key: every read takes the tenant and addresses the partition
//! `TENANT#{tenant}` exactly (a `GetItem` by full key, a `Query` by partition), so no call
//! can reach another tenant's migration whatever id it names; the tenant inside the body is
//! checked again on the way out. The tenant must come from the authenticated caller (the
//! API's IAM identity), never from the request body. All of a tenant's migrations share one
//! small partition, so `list` is one query (sorted newest first in memory) and needs no
//! secondary index.
//!
//! Writes are conditional: `create` only if the key is absent, `update` only if the stored
//! `version` is the one the caller read (optimistic locking: the API and the functions race
//! on the same record, e.g. a callback parking a refresh token while `notify` parks a task
//! token), and it stores `version + 1`. Reads are strongly consistent so a read-modify-write
//! starts from the latest version; [`MigrationStore::modify`] is that loop, retrying a lost
//! race by reapplying the change to a fresh read.
//!
//! Idempotency keys live in the tenant's partition, so two tenants' keys never meet. A
//! request with a key first claims it (a conditional put: absent, or a claim left unanswered
//! for [`IDEMPOTENCY_TAKEOVER`]); a retry then finds the stored answer, or a different
//! request under the same key (see [`Claim`]). A claim records the migration id a
//! `POST /migrations` will create before it creates it, so a retry after a crash finds that
//! migration instead of creating a second one.
//!
//! OAuth states are keyed by the random `state` parameter alone, since the callback knows
//! nothing else. `take_oauth_state` deletes with `ReturnValues = ALL_OLD` under
//! `attribute_exists(pk)`, so of two callbacks with the same state only one gets it; an
//! expired state is deleted and refused. `ttl` lets DynamoDB's TTL (enabled on the table,
//! attribute `ttl`) remove states nobody came back for.

use crate::vault::SealedSecret;
use crate::{permanent, sdk_error};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use ferry_model::ids::{RunId, TenantId};
use ferry_model::{ErrorClass, PortError};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Where a migration is; `snake_case` in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MigrationStatus {
    AwaitingAuthorization,
    Discovering,
    DryRunReady,
    Running,
    Succeeded,
    Failed,
    RollingBack,
    RolledBack,
}

impl MigrationStatus {
    /// The JSON spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AwaitingAuthorization => "awaiting_authorization",
            Self::Discovering => "discovering",
            Self::DryRunReady => "dry_run_ready",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::RollingBack => "rolling_back",
            Self::RolledBack => "rolled_back",
        }
    }
}

impl std::fmt::Display for MigrationStatus {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// What the user chose on the API's selection screens (`PUT /migrations/{id}/selections`),
/// kept as validated: the functions build the run's settings from it (see
/// `ferry_lambda::Services::run_config`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Selections {
    /// Only these objects (`DiscoverOptions::objects`); `None`: every object the map covers.
    pub objects: Option<Vec<String>>,
    /// Only records created on or after this date, `YYYY-MM-DD` (as `--since`).
    pub created_since: Option<String>,
    /// Map overrides in the map file format, as JSON (`MapOverrides::from_json_str`).
    pub map: Option<serde_json::Value>,
    /// `Object` or `Object.Field` entries to pseudonymise (as `--pseudonymise`).
    pub pseudonymise: Vec<String>,
    /// Validation rule actions over the defaults (as `--policy`).
    pub validation: Option<ferry_model::policy::ValidationPolicy>,
    /// Counts the changes; a dry run records the revision it ran with.
    pub revision: u64,
}

/// What the execution's parked task token waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Waiting {
    /// The Salesforce OAuth callback.
    Authorisation,
    /// `POST /migrations/{id}/start` after the dry run.
    Start,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MigrationOptions {
    pub sandbox: bool,
    pub delta: bool,
    pub verify: bool,
    pub default_owner: Option<String>,
    /// Migrations of one customer org share a workspace: its ID map and run history.
    pub workspace: Option<String>,
    /// Leads with a contact's email are merged into that contact instead of created.
    pub merge_leads_by_email: bool,
}

/// One migration of one tenant, as the API shows it and the functions update it.
/// Timestamps are RFC 3339 strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MigrationRecord {
    pub tenant: TenantId,
    pub id: String,
    pub label: Option<String>,
    pub status: MigrationStatus,
    pub created_at: String,
    pub updated_at: String,
    /// The stored version; [`MigrationStore::update`] succeeds only if it is unchanged.
    pub version: u64,
    pub options: MigrationOptions,
    pub run_id: RunId,
    pub execution_arn: Option<String>,
    pub instance_url: Option<String>,
    /// Sealed for this record's tenant ([`crate::TokenVault`]).
    pub refresh_token: Option<SealedSecret>,
    /// The token the execution waits on.
    pub task_token: Option<String>,
    pub waiting_for: Option<Waiting>,
    pub dry_run_report: Option<String>,
    pub final_report: Option<String>,
    pub rollback_execution_arn: Option<String>,
    pub error: Option<String>,
    #[serde(default)]
    pub selections: Selections,
    /// The plan document the latest dry run stored (`GET /migrations/{id}/plan`).
    #[serde(default)]
    pub plan: Option<String>,
    /// The selections' revision the latest dry-run report was made with.
    #[serde(default)]
    pub dry_run_revision: Option<u64>,
}

/// A pending Salesforce authorisation: what the callback needs to finish it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthState {
    pub state: String,
    pub tenant: TenantId,
    pub migration_id: String,
    /// Sealed for `tenant`.
    pub pkce_verifier: SealedSecret,
    /// RFC 3339; a state taken after this is refused.
    pub expires_at: String,
}

/// Why a migration write did not happen.
#[derive(Debug, thiserror::Error)]
pub enum MigrationStoreError {
    /// `create` with an id the tenant already has.
    #[error("migration {id} of {tenant} already exists")]
    AlreadyExists { tenant: TenantId, id: String },
    /// `update` lost a race (or the record is gone): read it again and reapply the change.
    #[error("migration {id} of {tenant} is no longer at version {expected}")]
    Conflict {
        tenant: TenantId,
        id: String,
        expected: u64,
    },
    #[error(transparent)]
    Port(#[from] PortError),
}

impl MigrationStoreError {
    pub fn is_conflict(&self) -> bool {
        matches!(self, Self::Conflict { .. })
    }
}

/// So `?` works in code that returns `PortError`; conflicts become permanent errors (the
/// same write cannot succeed again) with the conflict as their source.
impl From<MigrationStoreError> for PortError {
    fn from(error: MigrationStoreError) -> Self {
        match error {
            MigrationStoreError::Port(error) => error,
            other => PortError::with_source(ErrorClass::Permanent, other.to_string(), other),
        }
    }
}

fn string(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn migration_key(tenant: &TenantId, id: &str) -> (String, String) {
    (format!("TENANT#{tenant}"), format!("MIGRATION#{id}"))
}

fn idempotency_key(tenant: &TenantId, key: &str) -> (String, String) {
    (format!("TENANT#{tenant}"), format!("IDEMPOTENCY#{key}"))
}

/// How long a claimed idempotency key without an answer holds off a retry (its request is
/// taken to be still under way); after that the retry takes the claim over.
pub const IDEMPOTENCY_TAKEOVER: std::time::Duration = std::time::Duration::from_secs(120);
/// How long an idempotency key and its answer are kept (DynamoDB TTL).
pub const IDEMPOTENCY_LIFETIME: std::time::Duration = std::time::Duration::from_secs(24 * 60 * 60);

/// What claiming an idempotency key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The request goes ahead under this key. `migration_id`: the id a `POST /migrations`
    /// must use — the one a previous, unanswered claim had chosen, else the one offered.
    Claimed { migration_id: Option<String> },
    /// The same request was answered: its answer again.
    Answered { status: u16, body: String },
    /// The key was used for another request (method, path or body).
    Mismatch,
    /// The same request is still under way.
    InProgress,
}

fn oauth_key(state: &str) -> String {
    format!("OAUTH#{state}")
}

fn body_of<T: serde::de::DeserializeOwned>(
    item: &HashMap<String, AttributeValue>,
    what: &str,
) -> Result<T, PortError> {
    match item.get("body") {
        Some(AttributeValue::S(body)) => serde_json::from_str(body)
            .map_err(|error| permanent(format!("an unreadable {what} item"), error)),
        _ => Err(PortError::permanent(format!(
            "a {what} item without a body"
        ))),
    }
}

fn timestamp(text: &str) -> Result<OffsetDateTime, PortError> {
    OffsetDateTime::parse(text, &Rfc3339)
        .map_err(|error| permanent(format!("{text:?} is not an RFC 3339 timestamp"), error))
}

/// How many times [`MigrationStore::modify`] reapplies a change that lost a race.
pub const MODIFY_ATTEMPTS: usize = 5;

/// Migration records and OAuth states on DynamoDB; the key design is in the module docs.
#[derive(Debug, Clone)]
pub struct MigrationStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl MigrationStore {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// Writes a new record as given (its `version` included, usually 0); fails with
    /// [`MigrationStoreError::AlreadyExists`] if the tenant has a migration of that id.
    pub async fn create(&self, record: &MigrationRecord) -> Result<(), MigrationStoreError> {
        match self.write(record, None).await {
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|service| service.is_conditional_check_failed_exception()) =>
            {
                Err(MigrationStoreError::AlreadyExists {
                    tenant: record.tenant.clone(),
                    id: record.id.clone(),
                })
            }
            Err(error) => Err(sdk_error(
                format!("creating migration {} of {}", record.id, record.tenant),
                error,
            )
            .into()),
            Ok(()) => Ok(()),
        }
    }

    /// Writes `record` if the stored version is still `record.version`, and returns what
    /// was stored: the record with `version + 1`. A lost race (or a deleted record) is
    /// [`MigrationStoreError::Conflict`]. `updated_at` is the caller's to set.
    pub async fn update(
        &self,
        record: &MigrationRecord,
    ) -> Result<MigrationRecord, MigrationStoreError> {
        let mut next = record.clone();
        next.version = record.version + 1;
        match self.write(&next, Some(record.version)).await {
            Ok(()) => Ok(next),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|service| service.is_conditional_check_failed_exception()) =>
            {
                Err(MigrationStoreError::Conflict {
                    tenant: record.tenant.clone(),
                    id: record.id.clone(),
                    expected: record.version,
                })
            }
            Err(error) => Err(sdk_error(
                format!("updating migration {} of {}", record.id, record.tenant),
                error,
            )
            .into()),
        }
    }

    /// Read-modify-write with the conflict handled: reads the tenant's migration, applies
    /// `change` and updates it; on a lost race reads again and reapplies `change` (so it must
    /// only depend on the record it is given), up to [`MODIFY_ATTEMPTS`] times. `change`
    /// returns `false` to leave the record as it is (nothing is written). Returns the record
    /// as stored, or `None` if the tenant has no such migration.
    pub async fn modify<F>(
        &self,
        tenant: &TenantId,
        id: &str,
        mut change: F,
    ) -> Result<Option<MigrationRecord>, MigrationStoreError>
    where
        F: FnMut(&mut MigrationRecord) -> bool + Send,
    {
        let mut expected = 0;
        for _ in 0..MODIFY_ATTEMPTS {
            let Some(mut record) = self.get(tenant, id).await? else {
                return Ok(None);
            };
            expected = record.version;
            if !change(&mut record) {
                return Ok(Some(record));
            }
            // The key and the version are not the closure's to change.
            record.tenant = tenant.clone();
            record.id = id.to_owned();
            record.version = expected;
            match self.update(&record).await {
                Ok(stored) => return Ok(Some(stored)),
                Err(error) if error.is_conflict() => continue,
                Err(error) => return Err(error),
            }
        }
        Err(MigrationStoreError::Conflict {
            tenant: tenant.clone(),
            id: id.to_owned(),
            expected,
        })
    }

    /// Puts the record; with `expected`, only over that version, else only if absent.
    async fn write(
        &self,
        record: &MigrationRecord,
        expected: Option<u64>,
    ) -> Result<
        (),
        aws_sdk_dynamodb::error::SdkError<
            aws_sdk_dynamodb::operation::put_item::PutItemError,
            aws_sdk_dynamodb::config::http::HttpResponse,
        >,
    > {
        let (pk, sk) = migration_key(&record.tenant, &record.id);
        // Serialising these plain types cannot fail; an empty body would be caught on read.
        let body = serde_json::to_string(record).unwrap_or_default();
        let mut request = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", string(pk))
            .item("sk", string(sk))
            .item("body", string(body))
            .item("version", AttributeValue::N(record.version.to_string()))
            .item("created_at", string(&record.created_at));
        request = match expected {
            None => request.condition_expression("attribute_not_exists(pk)"),
            Some(version) => request
                .condition_expression("version = :expected")
                .expression_attribute_values(":expected", AttributeValue::N(version.to_string())),
        };
        request.send().await.map(|_| ())
    }

    /// The tenant's migration of that id; `None` if it has none (whoever else does).
    pub async fn get(
        &self,
        tenant: &TenantId,
        id: &str,
    ) -> Result<Option<MigrationRecord>, PortError> {
        let (pk, sk) = migration_key(tenant, id);
        let answer = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", string(pk))
            .key("sk", string(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(|error| sdk_error(format!("reading migration {id} of {tenant}"), error))?;
        let Some(item) = answer.item() else {
            return Ok(None);
        };
        let record: MigrationRecord = body_of(item, "migration")?;
        Ok((record.tenant == *tenant && record.id == id).then_some(record))
    }

    /// The tenant's migrations, newest first.
    pub async fn list(&self, tenant: &TenantId) -> Result<Vec<MigrationRecord>, PortError> {
        let (pk, _) = migration_key(tenant, "");
        let items: Vec<HashMap<String, AttributeValue>> = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", string(pk))
            .expression_attribute_values(":prefix", string("MIGRATION#"))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|error| sdk_error(format!("listing the migrations of {tenant}"), error))?;
        let mut records = Vec::with_capacity(items.len());
        for item in &items {
            let record: MigrationRecord = body_of(item, "migration")?;
            if record.tenant == *tenant {
                records.push(record);
            }
        }
        // RFC 3339 timestamps in UTC sort as text; parse anyway, offsets may differ.
        records.sort_by(|a, b| {
            let when = |record: &MigrationRecord| timestamp(&record.created_at).ok();
            when(b)
                .cmp(&when(a))
                .then_with(|| b.created_at.cmp(&a.created_at))
                .then_with(|| b.id.cmp(&a.id))
        });
        Ok(records)
    }

    /// Claims `key` for `request` (the method, path and canonical body); see [`Claim`].
    /// `migration_id` is the id a create would use, kept with the claim.
    pub async fn claim_idempotency_key(
        &self,
        tenant: &TenantId,
        key: &str,
        request: &str,
        migration_id: Option<&str>,
    ) -> Result<Claim, PortError> {
        let (pk, sk) = idempotency_key(tenant, key);
        let now = OffsetDateTime::now_utc().unix_timestamp();
        for _ in 0..MODIFY_ATTEMPTS {
            let answer = self
                .client
                .get_item()
                .table_name(&self.table)
                .key("pk", string(&pk))
                .key("sk", string(&sk))
                .consistent_read(true)
                .send()
                .await
                .map_err(|error| sdk_error(format!("reading idempotency key {key}"), error))?;
            let mut chosen = migration_id.map(str::to_owned);
            let mut put = self
                .client
                .put_item()
                .table_name(&self.table)
                .item("pk", string(&pk))
                .item("sk", string(&sk))
                .item("request", string(request))
                .item("started", AttributeValue::N(now.to_string()))
                .item(
                    "ttl",
                    AttributeValue::N((now + IDEMPOTENCY_LIFETIME.as_secs() as i64).to_string()),
                );
            match answer.item() {
                None => put = put.condition_expression("attribute_not_exists(pk)"),
                Some(item) => {
                    let text = |name: &str| match item.get(name) {
                        Some(AttributeValue::S(value)) => Some(value.clone()),
                        _ => None,
                    };
                    let number = |name: &str| match item.get(name) {
                        Some(AttributeValue::N(value)) => value.parse::<i64>().ok(),
                        _ => None,
                    };
                    if text("request").as_deref() != Some(request) {
                        return Ok(Claim::Mismatch);
                    }
                    if let (Some(status), Some(body)) = (number("status"), text("response")) {
                        return Ok(Claim::Answered {
                            status: u16::try_from(status).unwrap_or(500),
                            body,
                        });
                    }
                    let started = number("started").unwrap_or(0);
                    if now - started < IDEMPOTENCY_TAKEOVER.as_secs() as i64 {
                        return Ok(Claim::InProgress);
                    }
                    // An unanswered claim whose request died: taken over, with its id.
                    if let Some(previous) = text("migration_id") {
                        chosen = Some(previous);
                    }
                    put = put
                        .condition_expression("started = :started")
                        .expression_attribute_values(
                            ":started",
                            AttributeValue::N(started.to_string()),
                        );
                }
            }
            if let Some(id) = &chosen {
                put = put.item("migration_id", string(id));
            }
            match put.send().await {
                Ok(_) => {
                    return Ok(Claim::Claimed {
                        migration_id: chosen,
                    });
                }
                Err(error)
                    if error
                        .as_service_error()
                        .is_some_and(|service| service.is_conditional_check_failed_exception()) =>
                {
                    continue;
                }
                Err(error) => {
                    return Err(sdk_error(format!("claiming idempotency key {key}"), error));
                }
            }
        }
        Ok(Claim::InProgress)
    }

    /// Stores the answer of the request that claimed `key`.
    pub async fn answer_idempotency_key(
        &self,
        tenant: &TenantId,
        key: &str,
        status: u16,
        body: &str,
    ) -> Result<(), PortError> {
        let (pk, sk) = idempotency_key(tenant, key);
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", string(pk))
            .key("sk", string(sk))
            .update_expression("SET #status = :status, #response = :response")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#response", "response")
            .expression_attribute_values(":status", AttributeValue::N(status.to_string()))
            .expression_attribute_values(":response", string(body))
            .send()
            .await
            .map_err(|error| sdk_error(format!("answering idempotency key {key}"), error))?;
        Ok(())
    }

    /// Lets a retry take the claim of `key` over at once (its request failed without an
    /// answer); the claim's migration id stays, so a retried create cannot make a second.
    pub async fn release_idempotency_key(
        &self,
        tenant: &TenantId,
        key: &str,
    ) -> Result<(), PortError> {
        let (pk, sk) = idempotency_key(tenant, key);
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", string(pk))
            .key("sk", string(sk))
            .update_expression("SET started = :zero")
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(#status)")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":zero", AttributeValue::N("0".to_owned()))
            .send()
            .await
            .map_err(|error| sdk_error(format!("releasing idempotency key {key}"), error))?;
        Ok(())
    }

    /// Stores a new OAuth state; fails if that state is already stored or `expires_at` is
    /// not RFC 3339.
    pub async fn put_oauth_state(&self, state: &OAuthState) -> Result<(), PortError> {
        let expires = timestamp(&state.expires_at)?;
        let body = serde_json::to_string(state)
            .map_err(|error| permanent("serialising an OAuth state", error))?;
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", string(oauth_key(&state.state)))
            .item("sk", string("STATE"))
            .item("body", string(body))
            .item(
                "ttl",
                AttributeValue::N(expires.unix_timestamp().to_string()),
            )
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(|error| {
                sdk_error(
                    format!("storing an OAuth state of migration {}", state.migration_id),
                    error,
                )
            })?;
        Ok(())
    }

    /// Takes the state: returns it and deletes it, once. `None` if it is unknown, was
    /// already taken, or has expired (an expired state is deleted all the same).
    pub async fn take_oauth_state(&self, state: &str) -> Result<Option<OAuthState>, PortError> {
        let answer = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", string(oauth_key(state)))
            .key("sk", string("STATE"))
            .condition_expression("attribute_exists(pk)")
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        let answer = match answer {
            Ok(answer) => answer,
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|service| service.is_conditional_check_failed_exception()) =>
            {
                return Ok(None);
            }
            Err(error) => return Err(sdk_error("taking an OAuth state".to_owned(), error)),
        };
        let Some(item) = answer.attributes() else {
            return Ok(None);
        };
        let taken: OAuthState = body_of(item, "OAuth state")?;
        let live = timestamp(&taken.expires_at)
            .is_ok_and(|expires| expires > OffsetDateTime::now_utc())
            && taken.state == state;
        Ok(live.then_some(taken))
    }
}
