//! Limits and fault injection, changeable while the simulator runs, and the per-kind
//! call counters.
//!
//! The knobs are one JSON document ([`Knobs`]): set at start from
//! [`SimulatorConfig`](crate::SimulatorConfig), read with `GET /_sim/faults` and changed with
//! `POST /_sim/faults` (a partial document: only the keys sent change; an unknown key is
//! rejected). Every fault is deterministic: "every Nth call" counts the calls that reach
//! the API gate, so a test knows in advance which call fails.
//!
//! The counters ([`Counters`]) count every call by [`CallKind`], including the ones the
//! simulator refused; `GET /_sim/counters` shows them.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

/// The knobs that can change mid-run, besides the daily limit and the 503 share that
/// [`SimulatorConfig`](crate::SimulatorConfig) has carried from the start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    /// Delay added to every API call (REST, Bulk, OAuth token), in milliseconds.
    pub latency_ms: u64,
    /// Every Nth API call answers `500 UNKNOWN_EXCEPTION`. `None` never does.
    pub server_error_every: Option<u64>,
    /// Every Nth API call closes the connection without answering. `None` never does.
    pub drop_every: Option<u64>,
    /// The integration user has no API access: every API call answers
    /// `403 API_DISABLED_FOR_ORG`.
    pub api_disabled: bool,
    /// Access tokens expire this many seconds after they were issued, then answer
    /// `401 INVALID_SESSION_ID`. `None`: they never expire.
    pub token_ttl_secs: Option<u64>,
    /// Each refresh-token grant returns a new refresh token and invalidates the old one.
    pub rotate_refresh_tokens: bool,
    /// Every refresh token is refused with `invalid_grant` ("expired access/refresh
    /// token"), as after an admin revoked the app's access.
    pub refresh_token_revoked: bool,
    /// Bulk query jobs process this many rows per second; `0` completes them at once.
    pub bulk_rows_per_second: u64,
    /// Every Nth Bulk query job ends `Failed`. `None` never fails one.
    pub bulk_fail_every: Option<u64>,
    /// The `errorMessage` of a failed Bulk job.
    pub bulk_fail_message: String,
    /// API response bodies (query pages, Bulk result pages, file bodies) are sent at this
    /// many bytes per second, each response on its own; `0` sends them as fast as the
    /// connection takes them.
    pub bandwidth_bytes_per_second: u64,
    /// Every Nth API call's response is cut off halfway through its body (the connection
    /// closes mid-body, as a failing network does). `None` never cuts one.
    pub cut_body_every: Option<u64>,
    /// Objects whose describe is refused although describeGlobal lists them, as real orgs
    /// do for an object the integration user's profile cannot see: object name to error
    /// code, `NOT_FOUND` (404) or `INSUFFICIENT_ACCESS` (403).
    pub describe_refused: BTreeMap<String, String>,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            latency_ms: 0,
            server_error_every: None,
            drop_every: None,
            api_disabled: false,
            token_ttl_secs: None,
            rotate_refresh_tokens: false,
            refresh_token_revoked: false,
            bulk_rows_per_second: 0,
            bulk_fail_every: None,
            bulk_fail_message: "InternalServerError : An unexpected error occurred.".to_string(),
            bandwidth_bytes_per_second: 0,
            cut_body_every: None,
            describe_refused: BTreeMap::new(),
        }
    }
}

impl Faults {
    /// The answer to a describe of `object` when [`Faults::describe_refused`] names it:
    /// status and Salesforce's error body.
    pub fn describe_refusal(&self, object: &str) -> Option<(u16, Json)> {
        let (_, code) = self
            .describe_refused
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(object))?;
        Some(if code == "INSUFFICIENT_ACCESS" {
            (
                403,
                serde_json::json!([{
                    "message": format!("insufficient access rights on object {object}"),
                    "errorCode": "INSUFFICIENT_ACCESS",
                }]),
            )
        } else {
            (
                404,
                serde_json::json!([{
                    "errorCode": "NOT_FOUND",
                    "message": "The requested resource does not exist",
                }]),
            )
        })
    }
}

/// The whole control document of `GET/POST /_sim/faults`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Knobs {
    /// API requests allowed before `REQUEST_LIMIT_EXCEEDED`.
    pub daily_api_limit: u64,
    /// Every Nth API call answers `503 SERVER_UNAVAILABLE`.
    pub unavailable_every: Option<u64>,
    #[serde(flatten)]
    pub faults: Faults,
}

/// Why a control document was refused.
#[derive(Debug, thiserror::Error)]
pub enum KnobsError {
    #[error("the control document must be a JSON object")]
    NotAnObject,
    #[error("unknown knob {0:?}")]
    UnknownKnob(String),
    #[error("invalid knob value: {0}")]
    Invalid(#[from] serde_json::Error),
}

impl Knobs {
    /// These knobs with the keys of `patch` replaced.
    pub fn patched(&self, patch: &Json) -> Result<Knobs, KnobsError> {
        let Json::Object(patch) = patch else {
            return Err(KnobsError::NotAnObject);
        };
        let Json::Object(mut current) = serde_json::to_value(self)? else {
            return Err(KnobsError::NotAnObject);
        };
        for (key, value) in patch {
            if !current.contains_key(key) {
                return Err(KnobsError::UnknownKnob(key.clone()));
            }
            current.insert(key.clone(), value.clone());
        }
        Ok(serde_json::from_value(Json::Object(current))?)
    }
}

/// What an API call was, for the counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CallKind {
    Oauth,
    Versions,
    Describe,
    Query,
    QueryMore,
    BulkCreate,
    BulkPoll,
    BulkResults,
    BulkOther,
    Limits,
    Blob,
    Composite,
    Tooling,
    Other,
}

impl CallKind {
    pub const ALL: [CallKind; 14] = [
        CallKind::Oauth,
        CallKind::Versions,
        CallKind::Describe,
        CallKind::Query,
        CallKind::QueryMore,
        CallKind::BulkCreate,
        CallKind::BulkPoll,
        CallKind::BulkResults,
        CallKind::BulkOther,
        CallKind::Limits,
        CallKind::Blob,
        CallKind::Composite,
        CallKind::Tooling,
        CallKind::Other,
    ];

    /// The counter's name in `/_sim/counters`.
    pub fn name(self) -> &'static str {
        match self {
            CallKind::Oauth => "oauth",
            CallKind::Versions => "versions",
            CallKind::Describe => "describe",
            CallKind::Query => "query",
            CallKind::QueryMore => "query_more",
            CallKind::BulkCreate => "bulk_create",
            CallKind::BulkPoll => "bulk_poll",
            CallKind::BulkResults => "bulk_results",
            CallKind::BulkOther => "bulk_other",
            CallKind::Limits => "limits",
            CallKind::Blob => "blob",
            CallKind::Composite => "composite",
            CallKind::Tooling => "tooling",
            CallKind::Other => "other",
        }
    }

    /// Classifies a request by method and path.
    pub fn of(method: &str, path: &str) -> CallKind {
        if path.contains("/services/oauth2/") || path.starts_with("/id/") {
            return CallKind::Oauth;
        }
        let Some(rest) = path.strip_prefix("/services/data") else {
            return CallKind::Other;
        };
        let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
        let Some((_, after)) = segments.split_first() else {
            return CallKind::Versions;
        };
        match after {
            [] => CallKind::Other,
            ["limits", ..] => CallKind::Limits,
            ["tooling", ..] => CallKind::Tooling,
            ["composite", ..] => CallKind::Composite,
            ["query" | "queryAll"] => CallKind::Query,
            ["query" | "queryAll", _] => CallKind::QueryMore,
            ["jobs", "query"] if method == "POST" => CallKind::BulkCreate,
            ["jobs", "query"] => CallKind::BulkPoll,
            ["jobs", "query", _] if method == "GET" => CallKind::BulkPoll,
            ["jobs", "query", _, "results"] => CallKind::BulkResults,
            ["jobs", ..] => CallKind::BulkOther,
            ["sobjects"] | ["sobjects", _] | ["sobjects", _, "describe", ..] => CallKind::Describe,
            ["sobjects", _, _, _] => CallKind::Blob,
            _ => CallKind::Other,
        }
    }
}

/// Calls by kind.
#[derive(Debug, Default)]
pub struct Counters {
    counts: [AtomicU64; CallKind::ALL.len()],
}

impl Counters {
    pub fn count(&self, kind: CallKind) {
        if let Some(counter) = CallKind::ALL
            .iter()
            .position(|k| *k == kind)
            .and_then(|i| self.counts.get(i))
        {
            counter.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Counter name to calls so far.
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        CallKind::ALL
            .iter()
            .zip(&self.counts)
            .map(|(kind, n)| (kind.name().to_string(), n.load(Ordering::SeqCst)))
            .collect()
    }
}

/// The JSON of `GET /_sim/counters`.
pub fn counters_json(calls: BTreeMap<String, u64>, api_usage: u64, api_limit: u64) -> Json {
    let total: u64 = calls.values().sum();
    let mut body = Map::new();
    body.insert("api_usage".into(), Json::from(api_usage));
    body.insert("api_limit".into(), Json::from(api_limit));
    body.insert("total".into(), Json::from(total));
    body.insert(
        "calls".into(),
        Json::Object(calls.into_iter().map(|(k, v)| (k, Json::from(v))).collect()),
    );
    Json::Object(body)
}

/// Whether call number `call` (from 1) is hit by an "every Nth" fault.
pub fn every(n: Option<u64>, call: u64) -> bool {
    n.is_some_and(|n| n > 0 && call.is_multiple_of(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_follow_the_path() {
        let v = "/services/data/v59.0";
        for (method, path, kind) in [
            ("POST", "/services/oauth2/token".to_string(), "oauth"),
            ("POST", "/test/services/oauth2/token".to_string(), "oauth"),
            ("GET", "/services/data".to_string(), "versions"),
            ("GET", format!("{v}/sobjects"), "describe"),
            ("GET", format!("{v}/sobjects/Account/describe"), "describe"),
            ("GET", format!("{v}/query"), "query"),
            ("GET", format!("{v}/query/01gXX-200"), "query_more"),
            ("POST", format!("{v}/jobs/query"), "bulk_create"),
            ("GET", format!("{v}/jobs/query/750x"), "bulk_poll"),
            (
                "GET",
                format!("{v}/jobs/query/750x/results"),
                "bulk_results",
            ),
            ("DELETE", format!("{v}/jobs/query/750x"), "bulk_other"),
            ("GET", format!("{v}/limits"), "limits"),
            ("GET", format!("{v}/sobjects/Attachment/00P/Body"), "blob"),
            ("POST", format!("{v}/composite/batch"), "composite"),
            ("GET", format!("{v}/tooling/query"), "tooling"),
        ] {
            assert_eq!(CallKind::of(method, &path).name(), kind, "{path}");
        }
    }

    #[test]
    fn patches_change_only_known_keys() -> Result<(), KnobsError> {
        let knobs = Knobs {
            daily_api_limit: 10,
            unavailable_every: None,
            faults: Faults::default(),
        };
        let patched = knobs.patched(&serde_json::json!({"latency_ms": 5, "api_disabled": true}))?;
        assert_eq!(patched.faults.latency_ms, 5);
        assert!(patched.faults.api_disabled);
        assert_eq!(patched.daily_api_limit, 10);
        assert!(matches!(
            knobs.patched(&serde_json::json!({"latency": 5})),
            Err(KnobsError::UnknownKnob(_))
        ));
        assert!(
            knobs
                .patched(&serde_json::json!({"latency_ms": "x"}))
                .is_err()
        );
        Ok(())
    }
}
