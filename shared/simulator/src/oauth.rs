//! OAuth 2.0 as Salesforce's login hosts answer it: the web-server flow with PKCE
//! (`/services/oauth2/authorize`, auto-approved), the token endpoint (authorization-code
//! and refresh-token grants, optional refresh-token rotation), revocation, userinfo and
//! the identity URL.
//!
//! The same server is both login hosts: production at `/services/oauth2/...` (as
//! `login.salesforce.com`) and sandbox under the `/test` prefix (as `test.salesforce.com`),
//! so `sandbox_login_url` is `{base_url}/test`. Both issue sessions for the same org; the
//! identity URL (`id`) of a token names the login host that issued it.
//!
//! Access tokens expire after [`Faults::token_ttl_secs`](crate::faults::Faults) and are
//! then refused with `401 INVALID_SESSION_ID`. Codes are single-use and expire after
//! [`AUTH_CODE_TTL`].

use crate::server::{AppState, json_response, lock};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value as Json, json};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long an authorization code can be exchanged (Salesforce: 15 minutes).
pub const AUTH_CODE_TTL: Duration = Duration::from_secs(15 * 60);

/// Path prefix of the sandbox login host.
pub const SANDBOX_PREFIX: &str = "/test";

const TOKEN_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._";

/// Which login host answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    Production,
    Sandbox,
}

impl Flavour {
    fn prefix(self) -> &'static str {
        match self {
            Flavour::Production => "",
            Flavour::Sandbox => SANDBOX_PREFIX,
        }
    }
}

#[derive(Debug)]
struct AuthCode {
    client_id: String,
    redirect_uri: String,
    challenge: String,
    expires: Instant,
    flavour: Flavour,
}

#[derive(Debug)]
struct Session {
    issued: Instant,
    /// The refresh token whose family this session belongs to.
    refresh: Option<String>,
}

/// What the simulator knows of codes and tokens.
#[derive(Debug, Default)]
pub struct OAuthState {
    codes: Mutex<HashMap<String, AuthCode>>,
    /// Refresh token -> the login host it came from (`None`: the seed's token, good at
    /// both); removed when revoked or rotated.
    refresh: Mutex<HashMap<String, Option<Flavour>>>,
    sessions: Mutex<HashMap<String, Session>>,
    issued: AtomicU64,
}

/// Whether a bearer token may call the API.
#[derive(Debug, PartialEq, Eq)]
pub enum SessionCheck {
    Valid,
    Invalid,
}

impl OAuthState {
    /// Starts with the seed's refresh token valid at both login hosts.
    pub fn new(seed_refresh_token: &str) -> Self {
        let state = OAuthState::default();
        lock(&state.refresh).insert(seed_refresh_token.to_string(), None);
        state
    }

    /// Checks the `Authorization` header against the live sessions.
    pub fn check(&self, headers: &HeaderMap, ttl: Option<u64>) -> SessionCheck {
        let Some(token) = bearer(headers) else {
            return SessionCheck::Invalid;
        };
        let sessions = lock(&self.sessions);
        match sessions.get(token) {
            Some(session)
                if ttl.is_none_or(|ttl| session.issued.elapsed() < Duration::from_secs(ttl)) =>
            {
                SessionCheck::Valid
            }
            _ => SessionCheck::Invalid,
        }
    }

    fn next_rng(&self, seed: u64, salt: u64) -> crate::rng::Rng {
        let n = self.issued.fetch_add(1, Ordering::SeqCst);
        crate::rng::Rng::from_key(seed, salt ^ n.wrapping_mul(0x9E37_79B9))
    }
}

/// The bearer token of a request (Salesforce also accepts its legacy `OAuth` scheme).
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("OAuth "))?
        .trim();
    (!token.is_empty()).then_some(token)
}

/// The OAuth routes of both login hosts.
pub(crate) fn routes() -> Router<Arc<AppState>> {
    let mut router = Router::new();
    for flavour in [Flavour::Production, Flavour::Sandbox] {
        let p = flavour.prefix();
        router = router
            .route(
                &format!("{p}/services/oauth2/authorize"),
                get(move |s, q| authorize(s, q, flavour)),
            )
            .route(
                &format!("{p}/services/oauth2/token"),
                axum::routing::post(move |s, q, b| token(s, q, b, flavour)),
            )
            .route(
                &format!("{p}/services/oauth2/revoke"),
                axum::routing::post(revoke).get(revoke),
            )
            .route(
                &format!("{p}/services/oauth2/userinfo"),
                get(move |s, h| userinfo(s, h, flavour)).post(move |s, h| userinfo(s, h, flavour)),
            )
            .route(
                &format!("{p}/id/{{org}}/{{user}}"),
                get(move |s, path, h| identity(s, path, h, flavour)),
            );
    }
    router
}

/// Form fields from the body and, as Salesforce also allows, from the query string.
pub fn form_params(query: Option<&str>, body: &[u8]) -> HashMap<String, String> {
    let mut params: HashMap<String, String> =
        url::form_urlencoded::parse(body).into_owned().collect();
    if let Some(q) = query {
        for (k, v) in url::form_urlencoded::parse(q.as_bytes()).into_owned() {
            params.entry(k).or_insert(v);
        }
    }
    params
}

/// Salesforce's OAuth error body.
pub fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    json_response(
        status,
        &json!({"error": error, "error_description": description}),
    )
}

fn bad_request(error: &str, description: &str) -> Response {
    oauth_error(StatusCode::BAD_REQUEST, error, description)
}

/// `BASE64URL(SHA256(verifier))`, the S256 code challenge.
pub fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// HMAC-SHA256, for the token response's `signature`.
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(block.map(|b| b ^ 0x36));
    inner.update(message);
    let mut outer = Sha256::new();
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

fn redirect(location: &str) -> Response {
    let mut response = StatusCode::FOUND.into_response();
    if let Ok(value) = location.parse() {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

fn with_params(uri: &str, params: &[(&str, &str)]) -> String {
    let encoded = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    let separator = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{separator}{encoded}")
}

fn redirect_uri_allowed(state: &AppState, uri: &str) -> bool {
    let allowed = &state.redirect_uris;
    if allowed.is_empty() {
        url::Url::parse(uri).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
    } else {
        allowed.iter().any(|a| a == uri)
    }
}

async fn authorize(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
    flavour: Flavour,
) -> Response {
    let params = form_params(query.as_deref(), b"");
    let get = |k: &str| params.get(k).map(String::as_str).unwrap_or_default();
    if get("client_id") != state.credentials.client_id {
        return bad_request("invalid_client_id", "client identifier invalid");
    }
    let redirect_uri = get("redirect_uri");
    if !redirect_uri_allowed(&state, redirect_uri) {
        return bad_request(
            "redirect_uri_mismatch",
            "redirect_uri must match configuration",
        );
    }
    let state_param = get("state");
    let fail = |error: &str, description: &str| {
        let mut params = vec![("error", error), ("error_description", description)];
        if !state_param.is_empty() {
            params.push(("state", state_param));
        }
        redirect(&with_params(redirect_uri, &params))
    };
    if get("response_type") != "code" {
        return fail("unsupported_response_type", "response type not supported");
    }
    let challenge = get("code_challenge");
    if challenge.is_empty() {
        return fail("invalid_request", "missing required code challenge");
    }
    let method = get("code_challenge_method");
    if !(method.is_empty() || method == "S256") || challenge.len() != 43 {
        return fail("invalid_request", "invalid code challenge");
    }
    let mut rng = state.oauth.next_rng(state.org.seed(), 0x636f_6465);
    let code = format!("aPrx{}==", rng.string(TOKEN_CHARS, 80));
    let mut codes = lock(&state.oauth.codes);
    // Codes nobody exchanged are forgotten once stale.
    let now = Instant::now();
    codes.retain(|_, c| c.expires > now);
    codes.insert(
        code.clone(),
        AuthCode {
            client_id: state.credentials.client_id.clone(),
            redirect_uri: redirect_uri.to_string(),
            challenge: challenge.to_string(),
            expires: Instant::now() + state.auth_code_ttl,
            flavour,
        },
    );
    drop(codes);
    let mut params = vec![("code", code.as_str())];
    if !state_param.is_empty() {
        params.push(("state", state_param));
    }
    redirect(&with_params(redirect_uri, &params))
}

fn identity_url(state: &AppState, flavour: Flavour) -> String {
    format!(
        "{}{}/id/{}/{}",
        state.base_url,
        flavour.prefix(),
        state.org.org_id(),
        state.user_id
    )
}

/// Issues a session and answers in the token response's shape.
fn grant(state: &AppState, flavour: Flavour, refresh_token: Option<(&str, bool)>) -> Response {
    let mut rng = state.oauth.next_rng(state.org.seed(), 0x746f_6b65_6e00);
    let org15 = &state.org.org_id()[..15];
    let access_token = format!("{org15}!AQ{}", rng.string(TOKEN_CHARS, 94));
    lock(&state.oauth.sessions).insert(
        access_token.clone(),
        Session {
            issued: Instant::now(),
            refresh: refresh_token.map(|(t, _)| t.to_string()),
        },
    );
    let issued_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
        .to_string();
    let id = identity_url(state, flavour);
    let signature = STANDARD.encode(hmac_sha256(
        state.credentials.client_secret.as_bytes(),
        format!("{id}{issued_at}").as_bytes(),
    ));
    let mut body = serde_json::Map::new();
    body.insert("access_token".into(), json!(access_token));
    if let Some((token, true)) = refresh_token {
        body.insert("refresh_token".into(), json!(token));
    }
    body.insert("signature".into(), json!(signature));
    body.insert("scope".into(), json!("api refresh_token"));
    body.insert("instance_url".into(), json!(state.base_url));
    body.insert("id".into(), json!(id));
    body.insert("token_type".into(), json!("Bearer"));
    body.insert("issued_at".into(), json!(issued_at));
    json_response(StatusCode::OK, &Json::Object(body))
}

async fn token(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
    body: Bytes,
    flavour: Flavour,
) -> Response {
    let params = form_params(query.as_deref(), &body);
    let get = |k: &str| params.get(k).map(String::as_str);
    let creds = &state.credentials;
    let grant_type = get("grant_type").unwrap_or_default();
    if !matches!(grant_type, "refresh_token" | "authorization_code") {
        return bad_request("unsupported_grant_type", "grant type not supported");
    }
    if get("client_id") != Some(creds.client_id.as_str()) {
        return bad_request("invalid_client_id", "client identifier invalid");
    }
    if get("client_secret").is_some_and(|s| s != creds.client_secret) {
        return bad_request("invalid_client", "invalid client credentials");
    }
    let faults = state.knobs().faults;
    if grant_type == "authorization_code" {
        let code = get("code").unwrap_or_default();
        // Single use: the code is gone whether or not the exchange succeeds.
        let Some(issued) = lock(&state.oauth.codes).remove(code) else {
            return bad_request("invalid_grant", "invalid authorization code");
        };
        if issued.expires <= Instant::now() || issued.client_id != creds.client_id {
            return bad_request("invalid_grant", "expired authorization code");
        }
        if get("redirect_uri") != Some(issued.redirect_uri.as_str()) {
            return bad_request(
                "redirect_uri_mismatch",
                "redirect_uri must match configuration",
            );
        }
        let verifier = get("code_verifier").unwrap_or_default();
        if verifier.is_empty() || s256(verifier) != issued.challenge {
            return bad_request("invalid_grant", "invalid code verifier");
        }
        let refresh = new_refresh_token(&state);
        lock(&state.oauth.refresh).insert(refresh.clone(), Some(issued.flavour));
        return grant(&state, issued.flavour, Some((&refresh, true)));
    }
    let presented = get("refresh_token").unwrap_or_default();
    let known = lock(&state.oauth.refresh).get(presented).copied();
    let Some(origin) = known.filter(|_| !faults.refresh_token_revoked) else {
        return bad_request("invalid_grant", "expired access/refresh token");
    };
    // A sandbox token is only good at the sandbox login host, and the other way round.
    if origin.is_some_and(|origin| origin != flavour) {
        return bad_request("invalid_grant", "expired access/refresh token");
    }
    if faults.rotate_refresh_tokens {
        let next = new_refresh_token(&state);
        {
            let mut refresh = lock(&state.oauth.refresh);
            refresh.remove(presented);
            refresh.insert(next.clone(), origin);
        }
        grant(&state, flavour, Some((&next, true)))
    } else {
        grant(&state, flavour, Some((presented, false)))
    }
}

fn new_refresh_token(state: &AppState) -> String {
    let mut rng = state.oauth.next_rng(state.org.seed(), 0x7265_6672);
    format!("5Aep861sim{}", rng.string(TOKEN_CHARS, 77))
}

async fn revoke(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let params = form_params(query.as_deref(), &body);
    let token = params.get("token").map(String::as_str).unwrap_or_default();
    let oauth = &state.oauth;
    let revoked_session = lock(&oauth.sessions).remove(token).is_some();
    let revoked_refresh = lock(&oauth.refresh).remove(token).is_some();
    if revoked_refresh {
        // Revoking a refresh token ends the sessions it opened.
        lock(&oauth.sessions).retain(|_, s| s.refresh.as_deref() != Some(token));
    }
    if revoked_session || revoked_refresh {
        StatusCode::OK.into_response()
    } else {
        bad_request("invalid_token", "invalid token")
    }
}

/// Salesforce answers an unusable token on the OAuth resources with a bare 403.
fn bad_token() -> Response {
    (StatusCode::FORBIDDEN, "Bad_OAuth_Token").into_response()
}

fn display_name() -> (&'static str, &'static str) {
    ("Ferry", "Integration")
}

fn user_urls(state: &AppState) -> Json {
    let base = &state.base_url;
    let org15 = &state.org.org_id()[..15];
    let v = "{version}";
    json!({
        "enterprise": format!("{base}/services/Soap/c/{v}/{org15}"),
        "metadata": format!("{base}/services/Soap/m/{v}/{org15}"),
        "partner": format!("{base}/services/Soap/u/{v}/{org15}"),
        "rest": format!("{base}/services/data/v{v}/"),
        "sobjects": format!("{base}/services/data/v{v}/sobjects/"),
        "search": format!("{base}/services/data/v{v}/search/"),
        "query": format!("{base}/services/data/v{v}/query/"),
        "recent": format!("{base}/services/data/v{v}/recent/"),
        "profile": format!("{base}/{}", state.user_id),
        "feeds": format!("{base}/services/data/v{v}/chatter/feeds"),
        "groups": format!("{base}/services/data/v{v}/chatter/groups"),
        "users": format!("{base}/services/data/v{v}/chatter/users"),
        "feed_items": format!("{base}/services/data/v{v}/chatter/feed-items"),
    })
}

async fn userinfo(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    flavour: Flavour,
) -> Response {
    let ttl = state.knobs().faults.token_ttl_secs;
    if state.oauth.check(&headers, ttl) != SessionCheck::Valid {
        return bad_token();
    }
    let (first, last) = display_name();
    let username = &state.credentials.username;
    json_response(
        StatusCode::OK,
        &json!({
            "sub": identity_url(&state, flavour),
            "user_id": state.user_id,
            "organization_id": state.org.org_id(),
            "preferred_username": username,
            "nickname": "integration",
            "name": format!("{first} {last}"),
            "email": username,
            "email_verified": true,
            "given_name": first,
            "family_name": last,
            "zoneinfo": "America/New_York",
            "photos": {
                "picture": format!("{}/profilephoto/005/F", state.base_url),
                "thumbnail": format!("{}/profilephoto/005/T", state.base_url),
            },
            "profile": format!("{}/{}", state.base_url, state.user_id),
            "picture": format!("{}/profilephoto/005/F", state.base_url),
            "address": {"country": "US"},
            "is_salesforce_integration_user": false,
            "urls": user_urls(&state),
            "active": true,
            "user_type": "STANDARD",
            "language": "en_US",
            "locale": "en_US",
            "utcOffset": -18_000_000,
            "updated_at": "2024-01-02T03:04:05Z",
            "is_app_installed": true,
        }),
    )
}

async fn identity(
    State(state): State<Arc<AppState>>,
    Path((org, user)): Path<(String, String)>,
    headers: HeaderMap,
    flavour: Flavour,
) -> Response {
    let ttl = state.knobs().faults.token_ttl_secs;
    if state.oauth.check(&headers, ttl) != SessionCheck::Valid {
        return bad_token();
    }
    if org != state.org.org_id() || user != state.user_id {
        return (StatusCode::NOT_FOUND, "Bad_Id").into_response();
    }
    let (first, last) = display_name();
    let username = &state.credentials.username;
    json_response(
        StatusCode::OK,
        &json!({
            "id": identity_url(&state, flavour),
            "asserted_user": true,
            "user_id": state.user_id,
            "organization_id": state.org.org_id(),
            "username": username,
            "nick_name": "integration",
            "display_name": format!("{first} {last}"),
            "email": username,
            "email_verified": true,
            "first_name": first,
            "last_name": last,
            "timezone": "America/New_York",
            "photos": {
                "picture": format!("{}/profilephoto/005/F", state.base_url),
                "thumbnail": format!("{}/profilephoto/005/T", state.base_url),
            },
            "addr_street": null,
            "addr_city": null,
            "addr_state": null,
            "addr_country": "US",
            "addr_zip": null,
            "mobile_phone": null,
            "mobile_phone_verified": false,
            "status": {"created_date": null, "body": null},
            "urls": user_urls(&state),
            "active": true,
            "user_type": "STANDARD",
            "language": "en_US",
            "locale": "en_US",
            "utcOffset": -18_000_000,
            "last_modified_date": "2024-01-02T03:04:05.000+0000",
            "is_app_installed": true,
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_matches_rfc7636_appendix_b() {
        assert_eq!(
            s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn hmac_matches_rfc4231_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
