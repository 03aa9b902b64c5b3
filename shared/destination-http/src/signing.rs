//! Request signing and idempotency keys, the two things both ends of the contract must
//! compute byte for byte alike.
//!
//! A request is signed with HMAC-SHA256 under a secret shared by Ferry and the destination,
//! over a canonical string of five lines:
//!
//! ```text
//! v1
//! {timestamp}            unix seconds, as sent in X-Ferry-Timestamp
//! {METHOD}               upper case: GET, POST, PUT
//! {path_and_query}       exactly as sent on the request line, percent-encoding included
//! {idempotency_key}      as sent in Idempotency-Key, or empty when there is none
//! {body_sha256}          lower-case hex SHA-256 of the body bytes (of the empty string
//!                        when there is no body)
//! ```
//!
//! joined with `\n` and no trailing newline. The signature travels as
//! `X-Ferry-Signature: v1=<lower-case hex HMAC>`. The timestamp bounds how long a captured
//! request can be replayed; the idempotency key is signed so that a replayed request cannot
//! be made to look like a new operation.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// The version prefix of the canonical string and of the signature header's value.
pub const SIGNATURE_VERSION: &str = "v1";
/// Header names are case-insensitive on the wire; these are the spellings messages use.
///
/// Names the shared secret the request was signed with, so secrets can be rotated.
pub const KEY_ID_HEADER: &str = "X-Ferry-Key-Id";
/// Unix seconds when the request was signed.
pub const TIMESTAMP_HEADER: &str = "X-Ferry-Timestamp";
/// `v1=<hex HMAC-SHA256>` over the canonical string.
pub const SIGNATURE_HEADER: &str = "X-Ferry-Signature";
/// Present on every request that changes the destination.
pub const IDEMPOTENCY_KEY_HEADER: &str = "Idempotency-Key";
/// How far a request's timestamp may be from the destination's clock, either way.
pub const MAX_CLOCK_SKEW_SECONDS: u64 = 300;

type HmacSha256 = Hmac<Sha256>;

/// Lower-case hex of some bytes.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    text
}

/// Bytes of a hex string, either case; `None` when it is not hex.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    text.as_bytes()
        .chunks(2)
        .map(|pair| {
            let high = char::from(pair[0]).to_digit(16)?;
            let low = char::from(pair[1]).to_digit(16)?;
            u8::try_from(high * 16 + low).ok()
        })
        .collect()
}

/// Lower-case hex SHA-256 of some bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// The parts of a request that are signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedParts<'a> {
    pub timestamp: u64,
    pub method: &'a str,
    pub path_and_query: &'a str,
    pub idempotency_key: Option<&'a str>,
    /// Lower-case hex SHA-256 of the body.
    pub body_sha256: &'a str,
}

impl SignedParts<'_> {
    /// The string the HMAC is computed over (see the module documentation).
    pub fn canonical(&self) -> String {
        format!(
            "{SIGNATURE_VERSION}\n{}\n{}\n{}\n{}\n{}",
            self.timestamp,
            self.method.to_ascii_uppercase(),
            self.path_and_query,
            self.idempotency_key.unwrap_or(""),
            self.body_sha256
        )
    }
}

/// The `X-Ferry-Signature` value for a request: `v1=<hex>`.
pub fn sign(secret: &[u8], parts: &SignedParts<'_>) -> String {
    format!(
        "{SIGNATURE_VERSION}={}",
        hex(&mac(secret, parts).finalize().into_bytes())
    )
}

fn mac(secret: &[u8], parts: &SignedParts<'_>) -> HmacSha256 {
    // HMAC takes a key of any length, so this cannot fail; the fallback keeps the code free
    // of a panic path all the same (an empty-key MAC never matches a real signature).
    let mut mac = HmacSha256::new_from_slice(secret)
        .unwrap_or_else(|_| <HmacSha256 as Mac>::new(&Default::default()));
    mac.update(parts.canonical().as_bytes());
    mac
}

/// Why a request's signature was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the {0} header is missing")]
    MissingHeader(&'static str),
    #[error("X-Ferry-Timestamp {0:?} is not unix seconds")]
    BadTimestamp(String),
    #[error(
        "X-Ferry-Timestamp is {skew} seconds away from the destination's clock; at most {MAX_CLOCK_SKEW_SECONDS} are accepted"
    )]
    Skew { skew: u64 },
    #[error("X-Ferry-Key-Id {0:?} names no key this destination holds")]
    UnknownKey(String),
    #[error("X-Ferry-Signature is not of the form v1=<hex>")]
    Malformed,
    #[error("X-Ferry-Signature does not match the request")]
    Mismatch,
}

/// Checks a request's signature header against the secret and the clock: the timestamp
/// within [`MAX_CLOCK_SKEW_SECONDS`] of `now`, and the HMAC compared in constant time, so the
/// time an answer takes says nothing about how much of a forged signature was right.
pub fn verify(
    secret: &[u8],
    parts: &SignedParts<'_>,
    signature_header: &str,
    now: u64,
) -> Result<(), SignatureError> {
    let skew = now.abs_diff(parts.timestamp);
    if skew > MAX_CLOCK_SKEW_SECONDS {
        return Err(SignatureError::Skew { skew });
    }
    let given = signature_header
        .trim()
        .strip_prefix(SIGNATURE_VERSION)
        .and_then(|rest| rest.strip_prefix('='))
        .and_then(unhex)
        .ok_or(SignatureError::Malformed)?;
    mac(secret, parts)
        .verify_slice(&given)
        .map_err(|_| SignatureError::Mismatch)
}

/// The idempotency key of a mutating request: a hash of (scope, tenant, method, path and
/// body hash), so the same request sent again (a retry after a timeout, a redelivered
/// chunk) carries the same key and the destination can answer it from what it stored,
/// while a different request can never collide with it. The scope separates operations
/// that happen to send identical bytes but must each be carried out (see
/// `HttpDestinationConfig::idempotency_scope`).
pub fn idempotency_key(
    scope: &str,
    tenant: &str,
    method: &str,
    path_and_query: &str,
    body_sha256: &str,
) -> String {
    // Each part is length-prefixed so that no two different tuples hash the same input.
    let mut hasher = Sha256::new();
    for part in [
        scope,
        tenant,
        &method.to_ascii_uppercase(),
        path_and_query,
        body_sha256,
    ] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    format!("ferry-{}", hex(&hasher.finalize()))
}

/// Seconds since the Unix epoch by the system clock (0 if the clock is before 1970).
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const SECRET: &[u8] = b"whsec-test-0123456789";

    fn parts<'a>(timestamp: u64, body_sha256: &'a str) -> SignedParts<'a> {
        SignedParts {
            timestamp,
            method: "POST",
            path_and_query: "/v1/tenants/acme/entities/company/upsert",
            idempotency_key: Some("ferry-abc"),
            body_sha256,
        }
    }

    #[test]
    fn the_signature_matches_the_documented_vector() {
        // The same vector is in infra/destination-api.openapi.json, so an implementer can
        // check their canonical string and HMAC against it.
        let body = br#"{"records":[]}"#;
        let body_hash = sha256_hex(body);
        assert_eq!(
            body_hash,
            "1b8b4c0b6f6ad1d32565952720bc004eeb1f188f62045e4d5525ae2af8c78432"
        );
        let request = parts(1_700_000_000, &body_hash);
        assert_eq!(
            request.canonical(),
            format!(
                "v1\n1700000000\nPOST\n/v1/tenants/acme/entities/company/upsert\nferry-abc\n{body_hash}"
            )
        );
        let signature = sign(SECRET, &request);
        assert_eq!(
            signature,
            KNOWN_SIGNATURE,
            "canonical: {:?}",
            request.canonical()
        );
        assert_eq!(verify(SECRET, &request, &signature, 1_700_000_100), Ok(()));
    }

    /// HMAC-SHA256(b"whsec-test-0123456789", canonical string of the vector above),
    /// computed independently with `openssl dgst -sha256 -hmac`.
    const KNOWN_SIGNATURE: &str =
        "v1=e9e2b2f7ef9874ab941c6bcffde8f123decba6e41df193de8e1a0d2ffdf3f1d8";

    #[test]
    fn a_timestamp_too_far_from_the_clock_is_refused_either_way() {
        let body_hash = sha256_hex(b"{}");
        let request = parts(1_700_000_000, &body_hash);
        let signature = sign(SECRET, &request);
        assert_eq!(
            verify(SECRET, &request, &signature, 1_700_000_301),
            Err(SignatureError::Skew { skew: 301 })
        );
        assert_eq!(
            verify(SECRET, &request, &signature, 1_699_999_699),
            Err(SignatureError::Skew { skew: 301 })
        );
        assert_eq!(verify(SECRET, &request, &signature, 1_700_000_300), Ok(()));
    }

    #[test]
    fn a_tampered_body_path_key_or_secret_is_refused() {
        let body_hash = sha256_hex(br#"{"records":[{"name":"Acme"}]}"#);
        let request = parts(1_700_000_000, &body_hash);
        let signature = sign(SECRET, &request);
        let tampered_hash = sha256_hex(br#"{"records":[{"name":"Evil"}]}"#);
        let now = 1_700_000_000;
        assert_eq!(
            verify(
                SECRET,
                &parts(1_700_000_000, &tampered_hash),
                &signature,
                now
            ),
            Err(SignatureError::Mismatch)
        );
        let other_path = SignedParts {
            path_and_query: "/v1/tenants/other/entities/company/upsert",
            ..request
        };
        assert_eq!(
            verify(SECRET, &other_path, &signature, now),
            Err(SignatureError::Mismatch)
        );
        let other_key = SignedParts {
            idempotency_key: Some("ferry-def"),
            ..request
        };
        assert_eq!(
            verify(SECRET, &other_key, &signature, now),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(b"another-secret", &request, &signature, now),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(SECRET, &request, "v1=zz", now),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(SECRET, &request, &signature.replace("v1=", "v2="), now),
            Err(SignatureError::Malformed)
        );
    }

    #[test]
    fn idempotency_keys_depend_on_every_part() {
        let base = idempotency_key("run-1", "acme", "POST", "/v1/x", "00");
        assert_eq!(
            base,
            idempotency_key("run-1", "acme", "post", "/v1/x", "00")
        );
        assert!(base.starts_with("ferry-") && base.len() == 6 + 64);
        for other in [
            idempotency_key("run-2", "acme", "POST", "/v1/x", "00"),
            idempotency_key("run-1", "acme2", "POST", "/v1/x", "00"),
            idempotency_key("run-1", "acme", "PUT", "/v1/x", "00"),
            idempotency_key("run-1", "acme", "POST", "/v1/y", "00"),
            idempotency_key("run-1", "acme", "POST", "/v1/x", "01"),
            // Length prefixes: moving a character between parts changes the key.
            idempotency_key("run-1a", "cme", "POST", "/v1/x", "00"),
        ] {
            assert_ne!(base, other);
        }
    }

    #[test]
    fn hex_round_trips() {
        assert_eq!(hex(&[0, 15, 16, 255]), "000f10ff");
        assert_eq!(unhex("000F10ff"), Some(vec![0, 15, 16, 255]));
        assert_eq!(unhex("0"), None);
        assert_eq!(unhex("0g"), None);
    }
}
