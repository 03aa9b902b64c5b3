//! A Salesforce REST client: OAuth refresh, describeGlobal, describe, paged SOQL query, with
//! Salesforce's error arrays parsed into [`SalesforceError`].
//!
//! [`SalesforceClient`] implements [`ferry_core::ports::SalesforceApi`], so the pipeline steps
//! use it without knowing HTTP. Every response's `Sforce-Limit-Info` header is read, so the
//! API budget used so far is always known ([`SalesforceClient::api_usage`]). Tokens are held
//! as [`ferry_core::secret::Secret`] and never logged.

mod client;
mod error;
mod wire;

pub use client::{ApiUsage, ClientConfig, RetryPolicy, SalesforceClient, parse_limit_info};
pub use error::{ApiErrorItem, SalesforceError};
