//! The one error type every port returns.
//!
//! Adapters keep their own typed errors (a Salesforce error array, an SQLite error, an SDK
//! error) and wrap them here with a class, so that the steps can decide whether to retry
//! without knowing which adapter failed, and the source chain is never flattened to a string.

use std::error::Error as StdError;

/// Whether trying the same call again can succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ErrorClass {
    /// A transient failure: a timeout, a throttle, a 5xx. The caller may retry.
    Retryable,
    /// The request itself is wrong or the resource is gone; retrying cannot help.
    Permanent,
}

/// A failure reported by an adapter behind a port.
#[derive(Debug, thiserror::Error)]
#[error("{context}")]
pub struct PortError {
    class: ErrorClass,
    context: String,
    #[source]
    source: Option<Box<dyn StdError + Send + Sync + 'static>>,
}

impl PortError {
    pub fn new(class: ErrorClass, context: impl Into<String>) -> Self {
        Self {
            class,
            context: context.into(),
            source: None,
        }
    }

    pub fn with_source(
        class: ErrorClass,
        context: impl Into<String>,
        source: impl StdError + Send + Sync + 'static,
    ) -> Self {
        Self {
            class,
            context: context.into(),
            source: Some(Box::new(source)),
        }
    }

    pub fn permanent(context: impl Into<String>) -> Self {
        Self::new(ErrorClass::Permanent, context)
    }

    pub fn class(&self) -> ErrorClass {
        self.class
    }

    pub fn is_retryable(&self) -> bool {
        self.class == ErrorClass::Retryable
    }

    /// The message with every cause in the chain, for the one place that reports it.
    pub fn chain(&self) -> String {
        let mut text = self.context.clone();
        let mut cause = StdError::source(self);
        while let Some(inner) = cause {
            text.push_str(": ");
            text.push_str(&inner.to_string());
            cause = inner.source();
        }
        text
    }
}

/// The small, stable names of a failure's kind that a Lambda function reports as its
/// `errorType`, and that the state machines (`infra/*.asl.json`) match in their Retry and
/// Catch rules. The names are a contract with those files: renaming one breaks a rule
/// silently, which is why the tests below read the ASL and `infra/README.md`.
///
/// It lives in `ferry-model`, not the Lambda crate, because `ferry_core::steps::StepError` names its
/// kind with it and the core must not depend on the Lambda runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorType {
    /// A transient failure (a timeout, a throttle, a 5xx, a lost race): the state machines
    /// retry the task.
    Retryable,
    /// A failure retrying cannot mend: a permanent port error, a missing setting, a
    /// destination that broke the contract.
    Fatal,
    /// A request that cannot be honoured as asked: an unknown run or object, a malformed
    /// task input or message.
    InvalidInput,
    /// The migration has no usable Salesforce authorisation.
    NotAuthorised,
    /// The run would spend more of the org's API budget than it may.
    BudgetExceeded,
    /// The integration user lacks permissions the migration needs.
    PermissionDenied,
}

impl ErrorType {
    /// Every variant, for [`ErrorType::from_name`] and for the tests that hold the state
    /// machines and the documentation to the enum. A new variant goes here as well as in
    /// [`ErrorType::as_str`], whose exhaustive match is the reminder.
    pub const ALL: [ErrorType; 6] = [
        ErrorType::Retryable,
        ErrorType::Fatal,
        ErrorType::InvalidInput,
        ErrorType::NotAuthorised,
        ErrorType::BudgetExceeded,
        ErrorType::PermissionDenied,
    ];

    /// The name as Lambda reports it and the state machines match it.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorType::Retryable => "Retryable",
            ErrorType::Fatal => "Fatal",
            ErrorType::InvalidInput => "InvalidInput",
            ErrorType::NotAuthorised => "NotAuthorised",
            ErrorType::BudgetExceeded => "BudgetExceeded",
            ErrorType::PermissionDenied => "PermissionDenied",
        }
    }

    /// The variant of a name, exactly as [`ErrorType::as_str`] spells it.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|error_type| error_type.as_str() == name)
    }
}

impl std::fmt::Display for ErrorType {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

// Comparing with a name directly keeps checks such as `error.error_type() == "Fatal"`
// readable in tests.
impl PartialEq<str> for ErrorType {
    fn eq(&self, name: &str) -> bool {
        self.as_str() == name
    }
}

impl PartialEq<&str> for ErrorType {
    fn eq(&self, name: &&str) -> bool {
        self.as_str() == *name
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    /// The state machines, as deployed (`infra/template.yaml` reads the same files).
    const STATE_MACHINES: [(&str, &str); 2] = [
        (
            "infra/migration.asl.json",
            include_str!("../../../infra/migration.asl.json"),
        ),
        (
            "infra/rollback.asl.json",
            include_str!("../../../infra/rollback.asl.json"),
        ),
    ];

    const INFRA_README: &str = include_str!("../../../infra/README.md");

    /// Names Step Functions and the Lambda service raise themselves (`States.ALL`,
    /// `States.Timeout`, `Lambda.ServiceException`...): a rule may match them, but no Ferry
    /// function reports them, so they are not `ErrorType`s.
    const AWS_PREFIXES: [&str; 2] = ["States.", "Lambda."];

    /// Every name in every `ErrorEquals` of `value`, however deeply nested: the states of a
    /// Map's `ItemProcessor` (or a Parallel's `Branches`) have Retry and Catch rules too.
    fn matched_names(value: &serde_json::Value, names: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(object) => {
                for (key, inner) in object {
                    if key == "ErrorEquals" {
                        let list = inner.as_array().expect("ErrorEquals is a list");
                        for name in list {
                            names.push(name.as_str().expect("an error name").to_owned());
                        }
                    } else {
                        matched_names(inner, names);
                    }
                }
            }
            serde_json::Value::Array(items) => {
                for item in items {
                    matched_names(item, names);
                }
            }
            _ => {}
        }
    }

    /// The first column of the table whose header's first cell is `errorType`, without the
    /// backticks.
    fn documented_names(markdown: &str) -> Vec<String> {
        let cells = |line: &str| -> Vec<String> {
            line.trim()
                .trim_matches('|')
                .split('|')
                .map(|cell| cell.trim().trim_matches('`').to_owned())
                .collect()
        };
        let mut lines = markdown.lines().skip_while(|line| {
            !(line.trim_start().starts_with('|')
                && cells(line).first().is_some_and(|cell| cell == "errorType"))
        });
        // The header, then the `|---|` line under it.
        lines.next();
        lines.next();
        lines
            .take_while(|line| line.trim_start().starts_with('|'))
            .filter_map(|line| cells(line).into_iter().next())
            .collect()
    }

    #[test]
    fn every_name_round_trips_and_is_distinct() {
        for error_type in ErrorType::ALL {
            assert_eq!(ErrorType::from_name(error_type.as_str()), Some(error_type));
            assert_eq!(error_type.to_string(), error_type.as_str());
            assert_eq!(error_type, error_type.as_str());
        }
        let mut names: Vec<&str> = ErrorType::ALL.iter().map(|error| error.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ErrorType::ALL.len());
        assert_eq!(ErrorType::from_name("retryable"), None);
    }

    #[test]
    fn every_name_the_state_machines_match_is_an_error_type() {
        for (file, text) in STATE_MACHINES {
            let definition: serde_json::Value = serde_json::from_str(text).expect(file);
            let mut names = Vec::new();
            matched_names(&definition, &mut names);
            assert!(!names.is_empty(), "{file} has no ErrorEquals at all");
            let unknown: Vec<&String> = names
                .iter()
                .filter(|name| !AWS_PREFIXES.iter().any(|prefix| name.starts_with(prefix)))
                .filter(|name| ErrorType::from_name(name).is_none())
                .collect();
            assert!(
                unknown.is_empty(),
                "{file} matches errorType names no function reports: {unknown:?} (known: {:?})",
                ErrorType::ALL.map(ErrorType::as_str)
            );
        }
    }

    #[test]
    fn every_error_type_is_in_the_infra_readme_table() {
        let documented = documented_names(INFRA_README);
        assert!(
            !documented.is_empty(),
            "infra/README.md has no table whose first column is `errorType`"
        );
        for error_type in ErrorType::ALL {
            assert!(
                documented.iter().any(|name| name == error_type.as_str()),
                "infra/README.md's errorType table lacks {error_type}"
            );
        }
        for name in &documented {
            assert!(
                ErrorType::from_name(name).is_some(),
                "infra/README.md documents {name}, which is not an ErrorType"
            );
        }
    }
}
