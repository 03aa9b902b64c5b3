use ferry_model::{ErrorClass, PortError};
use serde::Deserialize;

/// One element of Salesforce's error array: `[{"message": "...", "errorCode": "..."}]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ApiErrorItem {
    #[serde(rename = "errorCode")]
    pub error_code: String,
    pub message: String,
    #[serde(default)]
    pub fields: Vec<String>,
}

/// Everything that can go wrong talking to Salesforce.
#[derive(Debug, thiserror::Error)]
pub enum SalesforceError {
    #[error(
        "Salesforce answered {status} {}: {}",
        first_code(errors),
        first_message(errors)
    )]
    Api {
        status: u16,
        errors: Vec<ApiErrorItem>,
    },
    #[error("Salesforce refused the OAuth request ({status}): {error}: {description}")]
    OAuth {
        status: u16,
        error: String,
        description: String,
    },
    #[error("could not reach Salesforce at {url}")]
    Transport {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("Salesforce's answer from {url} is not what the API documents")]
    Decode {
        url: String,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "refusing instance URL {url}: it must be https on a Salesforce domain, or its host be allowed explicitly (FERRY_ALLOWED_HOSTS)"
    )]
    InstanceNotAllowed { url: String },
    /// The session expired and cannot be renewed (an access token given directly, without
    /// a refresh token).
    #[error(
        "the Salesforce session expired or is invalid, and this client holds no refresh token to renew it"
    )]
    SessionExpired,
    #[error("the operating system's random number generator failed: {0}")]
    Random(String),
    #[error("Bulk API job {job} failed: {message}")]
    BulkJobFailed { job: String, message: String },
    #[error("Bulk API results of job {job} are not valid CSV: {message}")]
    Csv { job: String, message: String },
    /// Whoever took a Bulk results page's chunks stopped taking them (its own failure is
    /// the one to report).
    #[error("the reader of Bulk API job {job}'s results stopped taking them")]
    ConsumerStopped { job: String },
    #[error("describing {object} failed")]
    Describe {
        object: String,
        #[source]
        source: Box<SalesforceError>,
    },
    #[error("Salesforce's answer is not what the API documents: {0}")]
    Unexpected(String),
    #[error("{url} is not a valid URL")]
    InvalidUrl {
        url: String,
        #[source]
        source: url::ParseError,
    },
}

/// Salesforce's concurrent-request limit answers `REQUEST_LIMIT_EXCEEDED` like the daily
/// limit does, but names `ConcurrentPerOrgLongTxn` (or similar) in the message; unlike the
/// daily limit it clears within seconds.
fn is_concurrency_limit(error: &ApiErrorItem) -> bool {
    error.error_code == "REQUEST_LIMIT_EXCEEDED" && error.message.contains("Concurrent")
}

fn first_code(errors: &[ApiErrorItem]) -> &str {
    errors
        .first()
        .map_or("(no error code)", |error| error.error_code.as_str())
}

fn first_message(errors: &[ApiErrorItem]) -> &str {
    errors
        .first()
        .map_or("(no message)", |error| error.message.as_str())
}

impl SalesforceError {
    /// The first Salesforce error code, such as `INVALID_FIELD`.
    pub fn error_code(&self) -> Option<&str> {
        match self {
            Self::Api { errors, .. } => errors.first().map(|error| error.error_code.as_str()),
            Self::OAuth { error, .. } => Some(error),
            Self::Describe { source, .. } => source.error_code(),
            _ => None,
        }
    }

    /// Whether this is Salesforce refusing to describe one object that describeGlobal
    /// lists, as real orgs do for objects hidden from the user's profile: `NOT_FOUND` or
    /// `INSUFFICIENT_ACCESS` for that object's describe.
    pub fn is_describe_refusal(&self) -> bool {
        matches!(self, Self::Describe { .. })
            && matches!(self.error_code(), Some("NOT_FOUND" | "INSUFFICIENT_ACCESS"))
    }

    /// Whether the same call may succeed later: transport failures, 5xx answers and
    /// Salesforce's concurrency and server-busy errors.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Transport { .. } => true,
            Self::Describe { source, .. } => source.is_retryable(),
            Self::Api { status, errors } => {
                *status >= 500
                    || errors.iter().any(|error| {
                        matches!(
                            error.error_code.as_str(),
                            "SERVER_UNAVAILABLE" | "UNABLE_TO_LOCK_ROW"
                        ) || is_concurrency_limit(error)
                    })
            }
            _ => false,
        }
    }

    pub(crate) fn into_port_error(self, context: String) -> PortError {
        let class = if self.is_retryable() {
            ErrorClass::Retryable
        } else {
            ErrorClass::Permanent
        };
        PortError::with_source(class, context, self)
    }
}
