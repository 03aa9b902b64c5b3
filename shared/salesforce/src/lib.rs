//! A Salesforce client for what a migration reads: OAuth (web-server flow with PKCE,
//! refresh with rotation, revoke), describeGlobal and describes, paged SOQL queries,
//! Bulk API 2.0 query jobs, `/limits` and record counts, with Salesforce's error arrays
//! parsed into [`SalesforceError`].
//!
//! [`SalesforceClient`] implements [`ferry_model::ports::SalesforceApi`], so the pipeline
//! steps use it without knowing HTTP. Every response's `Sforce-Limit-Info` header is read,
//! so the API budget used so far is always known ([`SalesforceClient::api_usage`]). Tokens
//! are held as [`ferry_model::secret::Secret`] and never logged. Instance URLs are checked
//! against Salesforce's domains and an explicit allow-list ([`hosts`]) before any token is
//! sent. Module map: `client` (transport: session, retries, concurrency), [`oauth`],
//! `rest`, `bulk`, [`hosts`], `port` (the port implementation).

mod bulk;
mod client;
mod error;
pub mod hosts;
pub mod oauth;
mod port;
mod rest;
mod wire;

pub use bulk::{BulkJob, BulkJobState, BulkPage, parse_csv_page};
pub use client::{
    ApiUsage, Auth, ClientConfig, DEFAULT_MAX_CONCURRENT_REQUESTS, DEFAULT_RETRY_POLICY,
    RetryPolicy, SalesforceClient, http_client, parse_limit_info,
};
pub use error::{ApiErrorItem, SalesforceError};
pub use rest::{BlobDownload, DailyApiRequests};
