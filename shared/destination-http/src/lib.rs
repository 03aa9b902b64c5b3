//! The HTTP destination: the contract a SaaS backend implements to receive a migration, and
//! the [`Destination`](ferry_model::ports::Destination) that speaks it.
//!
//! The contract is written down for people in `infra/destination-api.openapi.json`: batch
//! upsert keyed by (tenant, Salesforce object, Salesforce id) answering destination ids,
//! batch get and delete, link patches, custom field definitions, the user list, and file
//! bytes either uploaded or fetched by the destination from a URL. This crate holds the
//! same contract as code:
//!
//! - [`wire`]: routes, batch and size limits, request and answer bodies, error codes;
//! - [`signing`]: the HMAC-SHA256 request signature (timestamped, checked in constant time)
//!   and the deterministic idempotency keys, which both ends must compute alike;
//! - [`HttpDestination`]: the client, which splits batches above the limit, signs every
//!   request, retries transport failures, 408/409/429 and 5xx with exponential backoff and
//!   full jitter under one idempotency key, and turns failures into `PortError`s naming the
//!   call, the status and the destination's message.
//!
//! `ferry-reference-server` implements the server side over any `Destination`.
//!
//! **Invariant:** the secret is only ever used to compute a signature; it is never sent,
//! logged or put in an error. A file URL (usually presigned) is never logged either.

mod client;
pub mod signing;
pub mod wire;

pub use client::{
    DEFAULT_RETRY_POLICY, HttpDestination, HttpDestinationConfig, HttpDestinationError, RetryPolicy,
};
