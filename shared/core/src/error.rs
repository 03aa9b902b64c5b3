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
