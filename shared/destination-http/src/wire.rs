//! The wire shapes of the destination contract: routes, limits, request and answer bodies,
//! and the error body. `infra/destination-api.openapi.json` documents the same shapes for
//! people; these types are what Ferry and the reference server actually exchange, and the
//! contract tests keep the two in step.
//!
//! Records, link patches, custom field definitions and users travel in the serde shapes of
//! `ferry_core` ([`DestinationRecord`], [`LinkPatch`], [`CustomFieldDefinition`],
//! [`DestinationUser`]); outcomes get their own tagged shapes here, because the core's
//! enums serialise in a form that is awkward to implement in another language.

use ferry_model::ids::DestinationId;
use ferry_model::plan::CustomFieldDefinition;
use ferry_model::ports::{DestinationUser, LinkPatch, UpsertOutcome, UserStatus};
use ferry_model::records::DestinationRecord;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// The routes of the contract, in OpenAPI's path-template syntax (which axum shares).
pub mod routes {
    pub const CUSTOM_FIELDS: &str = "/v1/tenants/{tenant}/custom-fields";
    pub const UPSERT: &str = "/v1/tenants/{tenant}/entities/{entity}/upsert";
    pub const GET: &str = "/v1/tenants/{tenant}/entities/{entity}/get";
    pub const DELETE: &str = "/v1/tenants/{tenant}/entities/{entity}/delete";
    pub const LINKS: &str = "/v1/tenants/{tenant}/entities/{entity}/links";
    pub const USERS: &str = "/v1/tenants/{tenant}/users";
    pub const USER_STATUS: &str = "/v1/tenants/{tenant}/users/status";
    pub const FILE: &str = "/v1/tenants/{tenant}/entities/{entity}/records/{id}/file";
    pub const FILE_URL: &str = "/v1/tenants/{tenant}/entities/{entity}/records/{id}/file-url";

    /// One route of the contract.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Route {
        pub method: &'static str,
        pub path: &'static str,
        /// Whether it changes the destination, and so must carry an `Idempotency-Key`.
        pub mutating: bool,
    }

    const fn route(method: &'static str, path: &'static str, mutating: bool) -> Route {
        Route {
            method,
            path,
            mutating,
        }
    }

    /// Every route of the contract: what the reference server serves and the OpenAPI
    /// document describes (the contract tests check both).
    pub const ALL: &[Route] = &[
        route("PUT", CUSTOM_FIELDS, true),
        route("POST", UPSERT, true),
        route("POST", GET, false),
        route("POST", DELETE, true),
        route("POST", LINKS, true),
        route("GET", USERS, false),
        route("PUT", FILE, true),
        route("POST", FILE_URL, true),
        route("POST", USER_STATUS, true),
    ];

    /// The route with this method and path template, if the contract has it.
    pub fn find(method: &str, path: &str) -> Option<Route> {
        ALL.iter()
            .copied()
            .find(|route| route.method.eq_ignore_ascii_case(method) && route.path == path)
    }
}

/// The most records, ids, link patches or custom field definitions one request may carry.
/// Ferry splits larger batches; a destination answers `413 batch_too_large` beyond it.
pub const MAX_BATCH: usize = 500;
/// The largest JSON body a destination must accept.
pub const MAX_JSON_BODY_BYTES: usize = 16 * 1024 * 1024;

/// `PUT .../custom-fields`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomFieldsRequest<'a> {
    pub definitions: Cow<'a, [CustomFieldDefinition]>,
}

/// The answer to `PUT .../custom-fields`: how many definitions are now in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomFieldsAnswer {
    pub defined: u64,
}

/// `POST .../upsert`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpsertRequest<'a> {
    pub records: Cow<'a, [DestinationRecord]>,
}

/// One outcome per record of an upsert, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpsertAnswer {
    pub outcomes: Vec<WireOutcome>,
}

/// What happened to one record of an upsert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum WireOutcome {
    /// No record had this (tenant, source object, source id); one was made.
    Created { id: DestinationId },
    /// The record existed and now holds what was sent.
    Updated { id: DestinationId },
    /// The record was not stored, and why (a field the entity lacks, a missing required
    /// value). The rest of the batch is unaffected.
    Rejected { reason: String },
}

impl From<UpsertOutcome> for WireOutcome {
    fn from(outcome: UpsertOutcome) -> Self {
        match outcome {
            UpsertOutcome::Created(id) => Self::Created { id },
            UpsertOutcome::Updated(id) => Self::Updated { id },
            UpsertOutcome::Rejected { reason } => Self::Rejected { reason },
        }
    }
}

impl From<WireOutcome> for UpsertOutcome {
    fn from(outcome: WireOutcome) -> Self {
        match outcome {
            WireOutcome::Created { id } => Self::Created(id),
            WireOutcome::Updated { id } => Self::Updated(id),
            WireOutcome::Rejected { reason } => Self::Rejected { reason },
        }
    }
}

/// `POST .../get` and `POST .../delete`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdsRequest<'a> {
    pub ids: Cow<'a, [DestinationId]>,
}

/// The answer to `POST .../get`: one entry per id, in order, `null` for an id the
/// destination does not hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GetAnswer {
    pub records: Vec<Option<DestinationRecord>>,
}

/// `POST .../links`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinksRequest<'a> {
    pub patches: Cow<'a, [LinkPatch]>,
}

/// The answer to `POST .../delete` and `POST .../links`: one result per item, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultsAnswer {
    pub results: Vec<ItemResult>,
}

/// What happened to one id of a delete or one patch of a link patch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ItemResult {
    Ok,
    Refused { reason: String },
}

impl From<Result<(), String>> for ItemResult {
    fn from(result: Result<(), String>) -> Self {
        match result {
            Ok(()) => Self::Ok,
            Err(reason) => Self::Refused { reason },
        }
    }
}

impl From<ItemResult> for Result<(), String> {
    fn from(result: ItemResult) -> Self {
        match result {
            ItemResult::Ok => Ok(()),
            ItemResult::Refused { reason } => Err(reason),
        }
    }
}

/// `POST .../users/status`: whether each matched user is still active in the source CRM.
/// Answered with a [`ResultsAnswer`], one result per status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserStatusRequest<'a> {
    pub users: Cow<'a, [UserStatus]>,
}

/// The answer to `GET .../users`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsersAnswer {
    pub users: Vec<DestinationUser>,
}

/// The query of `PUT .../file`: what the raw body must be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileQuery {
    pub file_name: String,
    pub size: u64,
    /// Lower-case hex SHA-256 of the body.
    pub sha256: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
}

/// `POST .../file-url`: a URL the destination fetches the bytes from, and what they must be.
/// The URL is usually presigned and so a credential: a destination must not log it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileUrlRequest {
    pub url: String,
    pub file_name: String,
    pub size: u64,
    /// Lower-case hex SHA-256 of the bytes at the URL.
    pub sha256: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
}

impl std::fmt::Debug for FileUrlRequest {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("FileUrlRequest")
            .field("url", &"<redacted>")
            .field("file_name", &self.file_name)
            .field("size", &self.size)
            .field("sha256", &self.sha256)
            .field("content_type", &self.content_type)
            .finish()
    }
}

/// The answer to both file uploads: what the destination stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileAnswer {
    pub size: u64,
    pub sha256: String,
}

/// Every error answer: `{"error": {"code": "...", "message": "..."}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// One of [`codes`]: stable, for programs.
    pub code: String,
    /// For people: what was wrong, naming the field or record.
    pub message: String,
}

/// The error codes of the contract, with the status each goes with.
pub mod codes {
    /// 400: the body is not the JSON the route takes, or a header or parameter is malformed.
    pub const INVALID_REQUEST: &str = "invalid_request";
    /// 401: missing, stale or wrong signature, or an unknown key id.
    pub const UNAUTHORIZED: &str = "unauthorized";
    /// 404: the entity or the record in the path does not exist.
    pub const NOT_FOUND: &str = "not_found";
    /// 409: a request with the same idempotency key is still being carried out; retry later.
    pub const IDEMPOTENCY_IN_PROGRESS: &str = "idempotency_in_progress";
    /// 413: more items than the batch limit, or a body over the size limit.
    pub const TOO_LARGE: &str = "too_large";
    /// 422: the idempotency key was used before for a different request.
    pub const IDEMPOTENCY_KEY_REUSED: &str = "idempotency_key_reused";
    /// 422: the file's bytes do not have the size or SHA-256 the request declared.
    pub const FILE_MISMATCH: &str = "file_mismatch";
    /// 422: the destination refused the request as a whole (not one item of it).
    pub const REFUSED: &str = "refused";
    /// 429: too many requests; honour Retry-After.
    pub const RATE_LIMITED: &str = "rate_limited";
    /// 502: the destination could not fetch a file URL; retrying may help.
    pub const FETCH_FAILED: &str = "fetch_failed";
    /// 503: the destination is temporarily unable to serve; retrying may help.
    pub const UNAVAILABLE: &str = "unavailable";
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn outcomes_are_tagged_by_status() {
        let answer = UpsertAnswer {
            outcomes: vec![
                WireOutcome::Created {
                    id: DestinationId::new("17"),
                },
                WireOutcome::Rejected {
                    reason: "company.name is required".into(),
                },
            ],
        };
        assert_eq!(
            serde_json::to_value(&answer).unwrap(),
            json!({"outcomes": [
                {"status": "created", "id": "17"},
                {"status": "rejected", "reason": "company.name is required"}
            ]})
        );
        let results: ResultsAnswer = serde_json::from_value(
            json!({"results": [{"status": "ok"}, {"status": "refused", "reason": "linked"}]}),
        )
        .unwrap();
        assert_eq!(
            results.results,
            vec![
                ItemResult::Ok,
                ItemResult::Refused {
                    reason: "linked".into()
                }
            ]
        );
    }

    #[test]
    fn a_file_url_request_never_prints_its_url() {
        let request = FileUrlRequest {
            url: "https://bucket.s3.amazonaws.com/f?X-Amz-Signature=abc".into(),
            file_name: "a.pdf".into(),
            size: 3,
            sha256: "00".into(),
            content_type: None,
        };
        assert!(!format!("{request:?}").contains("X-Amz"));
    }
}
