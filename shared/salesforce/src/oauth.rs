//! The OAuth 2.0 flows Ferry uses: the web-server flow with PKCE (S256) and a single-use
//! `state` to connect an org, the refresh-token grant to keep a session, and revoke.
//!
//! Tokens are [`Secret`]s from the moment they are parsed, so they never reach a log.

use crate::error::SalesforceError;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ferry_model::secret::Secret;
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// Production login host.
pub const PRODUCTION_LOGIN_URL: &str = "https://login.salesforce.com";
/// Sandbox login host.
pub const SANDBOX_LOGIN_URL: &str = "https://test.salesforce.com";

/// An answer of the token endpoint.
#[derive(Debug, Deserialize)]
pub struct TokenResponse {
    pub access_token: Secret,
    pub instance_url: String,
    /// Identity URL, `https://login.salesforce.com/id/{org}/{user}`.
    #[serde(default)]
    pub id: Option<String>,
    /// Present on the authorization-code grant, and on refresh when the org rotates them.
    #[serde(default)]
    pub refresh_token: Option<Secret>,
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub issued_at: Option<String>,
}

#[derive(Debug, Deserialize)]
struct OAuthErrorResponse {
    error: String,
    #[serde(default)]
    error_description: String,
}

/// A PKCE pair (RFC 7636): the verifier stays with Ferry, the S256 challenge goes in the
/// authorize URL.
#[derive(Debug, Clone)]
pub struct Pkce {
    pub verifier: Secret,
    pub challenge: String,
}

impl Pkce {
    /// A fresh verifier of 64 random bytes (86 characters, within RFC 7636's 43..=128).
    pub fn generate() -> Result<Self, SalesforceError> {
        let mut bytes = [0u8; 64];
        getrandom::fill(&mut bytes).map_err(|error| SalesforceError::Random(error.to_string()))?;
        Ok(Self::from_verifier(URL_SAFE_NO_PAD.encode(bytes)))
    }

    pub fn from_verifier(verifier: String) -> Self {
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        Self {
            verifier: Secret::new(verifier),
            challenge,
        }
    }
}

/// A random, unguessable `state` value.
pub fn random_state() -> Result<String, SalesforceError> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).map_err(|error| SalesforceError::Random(error.to_string()))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// What the authorize URL carries.
#[derive(Debug, Clone)]
pub struct AuthorizeRequest<'a> {
    pub login_url: &'a str,
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub state: &'a str,
    pub code_challenge: &'a str,
    /// Space-separated scopes; `api refresh_token` is what Ferry needs.
    pub scope: &'a str,
}

/// The URL to send the user's browser to.
pub fn authorize_url(request: &AuthorizeRequest<'_>) -> Result<String, SalesforceError> {
    let base = format!(
        "{}/services/oauth2/authorize",
        request.login_url.trim_end_matches('/')
    );
    let mut url = url::Url::parse(&base).map_err(|source| SalesforceError::InvalidUrl {
        url: base.clone(),
        source,
    })?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", request.client_id)
        .append_pair("redirect_uri", request.redirect_uri)
        .append_pair("scope", request.scope)
        .append_pair("state", request.state)
        .append_pair("code_challenge", request.code_challenge)
        .append_pair("code_challenge_method", "S256");
    Ok(url.to_string())
}

fn token_url(login_url: &str) -> String {
    format!("{}/services/oauth2/token", login_url.trim_end_matches('/'))
}

async fn token_call(
    http: &reqwest::Client,
    url: &str,
    form: &[(&str, &str)],
) -> Result<TokenResponse, SalesforceError> {
    let transport = |source| SalesforceError::Transport {
        url: url.to_owned(),
        source,
    };
    let response = http.post(url).form(form).send().await.map_err(transport)?;
    let status = response.status();
    let body = response.bytes().await.map_err(transport)?;
    if !status.is_success() {
        let refused: OAuthErrorResponse =
            serde_json::from_slice(&body).unwrap_or_else(|_| OAuthErrorResponse {
                error: format!("http_{}", status.as_u16()),
                error_description: String::from_utf8_lossy(&body).chars().take(200).collect(),
            });
        return Err(SalesforceError::OAuth {
            status: status.as_u16(),
            error: refused.error,
            description: refused.error_description,
        });
    }
    serde_json::from_slice(&body).map_err(|source| SalesforceError::Decode {
        url: url.to_owned(),
        source,
    })
}

/// The refresh-token grant.
pub async fn refresh_grant(
    http: &reqwest::Client,
    login_url: &str,
    client_id: &str,
    client_secret: Option<&Secret>,
    refresh_token: &Secret,
) -> Result<TokenResponse, SalesforceError> {
    let mut form = vec![
        ("grant_type", "refresh_token"),
        ("client_id", client_id),
        ("refresh_token", refresh_token.expose()),
    ];
    if let Some(secret) = client_secret {
        form.push(("client_secret", secret.expose()));
    }
    token_call(http, &token_url(login_url), &form).await
}

/// What the authorization-code grant needs.
#[derive(Debug, Clone)]
pub struct CodeExchange<'a> {
    pub login_url: &'a str,
    pub client_id: &'a str,
    pub client_secret: Option<&'a Secret>,
    pub redirect_uri: &'a str,
    pub code: &'a str,
    pub code_verifier: &'a Secret,
}

/// Trades an authorization code and its PKCE verifier for tokens.
pub async fn exchange_code(
    http: &reqwest::Client,
    exchange: &CodeExchange<'_>,
) -> Result<TokenResponse, SalesforceError> {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", exchange.code),
        ("client_id", exchange.client_id),
        ("redirect_uri", exchange.redirect_uri),
        ("code_verifier", exchange.code_verifier.expose()),
    ];
    if let Some(secret) = exchange.client_secret {
        form.push(("client_secret", secret.expose()));
    }
    token_call(http, &token_url(exchange.login_url), &form).await
}

/// Revokes a refresh or access token (and, for a refresh token, the sessions it issued).
pub async fn revoke(
    http: &reqwest::Client,
    login_url: &str,
    token: &Secret,
) -> Result<(), SalesforceError> {
    let url = format!("{}/services/oauth2/revoke", login_url.trim_end_matches('/'));
    let transport = |source| SalesforceError::Transport {
        url: url.clone(),
        source,
    };
    let response = http
        .post(&url)
        .form(&[("token", token.expose())])
        .send()
        .await
        .map_err(transport)?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let body = response.bytes().await.map_err(transport)?;
    let refused: OAuthErrorResponse =
        serde_json::from_slice(&body).unwrap_or_else(|_| OAuthErrorResponse {
            error: format!("http_{}", status.as_u16()),
            error_description: String::from_utf8_lossy(&body).chars().take(200).collect(),
        });
    Err(SalesforceError::OAuth {
        status: status.as_u16(),
        error: refused.error,
        description: refused.error_description,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_challenge_matches_rfc_7636_appendix_b() {
        let pkce = Pkce::from_verifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".to_owned());
        assert_eq!(
            pkce.challenge,
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        let fresh = Pkce::generate().unwrap_or_else(|_| Pkce::from_verifier(String::new()));
        assert_eq!(fresh.verifier.expose().len(), 86);
        assert_ne!(fresh.challenge, pkce.challenge);
    }

    #[test]
    fn authorize_url_carries_pkce_and_state() {
        let url = authorize_url(&AuthorizeRequest {
            login_url: "https://test.salesforce.com/",
            client_id: "3MVG9abc",
            redirect_uri: "http://127.0.0.1:1717/callback",
            state: "s t",
            code_challenge: "E9Mel",
            scope: "api refresh_token",
        })
        .unwrap_or_default();
        assert_eq!(
            url,
            "https://test.salesforce.com/services/oauth2/authorize?response_type=code&client_id=3MVG9abc&redirect_uri=http%3A%2F%2F127.0.0.1%3A1717%2Fcallback&scope=api+refresh_token&state=s+t&code_challenge=E9Mel&code_challenge_method=S256"
        );
    }

    #[test]
    fn recorded_token_answers_parse_and_hide_the_token() {
        for body in [
            &include_bytes!(
                "../../../tests/fixtures/salesforce/oauth/restforce_auth_success_response.json"
            )[..],
            &include_bytes!(
                "../../../tests/fixtures/salesforce/oauth/restforce_refresh_success_response.json"
            )[..],
            &include_bytes!(
                "../../../tests/fixtures/salesforce/oauth/rdb_Restforce_DB__accessing_Salesforce__uses_the_configured_cred__00_post_oauth2_token.json"
            )[..],
        ] {
            let token: TokenResponse =
                serde_json::from_slice(body).unwrap_or_else(|error| panic!("{error}"));
            assert!(!token.instance_url.is_empty());
            assert!(!format!("{token:?}").contains(token.access_token.expose()));
        }
        let refused: OAuthErrorResponse = serde_json::from_slice(include_bytes!(
            "../../../tests/fixtures/salesforce/oauth/restforce_refresh_error_response.json"
        ))
        .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(refused.error, "invalid_grant");
    }
}
