//! The API Gateway HTTP API (payload format 2.0) event and answer, reduced to what Ferry's
//! functions read and write.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpRequest {
    #[serde(default)]
    pub raw_path: String,
    #[serde(default)]
    pub query_string_parameters: BTreeMap<String, String>,
    #[serde(default)]
    pub path_parameters: BTreeMap<String, String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub is_base64_encoded: bool,
    #[serde(default)]
    pub request_context: RequestContext,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestContext {
    #[serde(default)]
    pub http: HttpDescription,
    #[serde(default)]
    pub authorizer: Option<Authorizer>,
    #[serde(default)]
    pub request_id: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpDescription {
    #[serde(default)]
    pub method: String,
    #[serde(default)]
    pub path: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Authorizer {
    #[serde(default)]
    pub iam: Option<IamIdentity>,
}

/// Who signed the request, as API Gateway's IAM authorisation verified it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IamIdentity {
    #[serde(default)]
    pub account_id: Option<String>,
    #[serde(default)]
    pub user_arn: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
}

impl HttpRequest {
    pub fn method(&self) -> &str {
        &self.request_context.http.method
    }

    pub fn path(&self) -> &str {
        if self.request_context.http.path.is_empty() {
            &self.raw_path
        } else {
            &self.request_context.http.path
        }
    }

    /// The body as bytes, decoded when API Gateway base64-encoded it.
    pub fn body_bytes(&self) -> Result<Vec<u8>, String> {
        let body = self.body.as_deref().unwrap_or_default();
        if self.is_base64_encoded {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD
                .decode(body)
                .map_err(|error| format!("the body is not valid base64: {error}"))
        } else {
            Ok(body.as_bytes().to_vec())
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpResponse {
    pub status_code: u16,
    pub headers: BTreeMap<String, String>,
    pub body: String,
    pub is_base64_encoded: bool,
}

impl HttpResponse {
    pub fn json(status_code: u16, body: &impl Serialize) -> Self {
        Self {
            status_code,
            headers: BTreeMap::from([("content-type".to_owned(), "application/json".to_owned())]),
            body: serde_json::to_string(body).unwrap_or_default(),
            is_base64_encoded: false,
        }
    }

    /// `{"error": {"code", "message"}}`, the API's one error shape.
    pub fn error(status_code: u16, code: &str, message: impl Into<String>) -> Self {
        Self::json(
            status_code,
            &serde_json::json!({"error": {"code": code, "message": message.into()}}),
        )
    }

    pub fn html(status_code: u16, body: String) -> Self {
        Self {
            status_code,
            headers: BTreeMap::from([
                (
                    "content-type".to_owned(),
                    "text/html; charset=utf-8".to_owned(),
                ),
                ("cache-control".to_owned(), "no-store".to_owned()),
            ]),
            body,
            is_base64_encoded: false,
        }
    }
}
