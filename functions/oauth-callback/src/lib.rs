//! The `oauth-callback` Lambda, `GET /oauth/callback`: where Salesforce sends the customer's
//! browser after they granted (or refused) access. It takes the single-use `state` (an
//! unknown, used or expired state is refused, so a forged or replayed redirect does
//! nothing), exchanges the code with the PKCE verifier sealed beside the state, seals the
//! refresh token with KMS into the migration's record, and completes the task token the
//! execution waits on. The access token is not kept: each function renews its own session.

use ferry_aws::{Executions, MigrationStatus, Waiting};
use ferry_lambda::http::{HttpRequest, HttpResponse};
use ferry_lambda::{ErrorType, Services, Task, failure, port_failure};
use ferry_salesforce::oauth::{CodeExchange, exchange_code};
use lambda_runtime::Diagnostic;

pub struct Callback {
    pub services: Services,
    pub executions: Executions,
    pub http: reqwest::Client,
    pub redirect_uri: String,
}

fn page(status: u16, title: &str, text: &str) -> HttpResponse {
    let escape = |value: &str| {
        value
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    HttpResponse::html(
        status,
        format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{0}</title></head>\
             <body style=\"font-family: system-ui, sans-serif; max-width: 36rem; margin: 4rem auto\">\
             <h1>{0}</h1><p>{1}</p></body></html>",
            escape(title),
            escape(text)
        ),
    )
}

impl Callback {
    /// Answers the browser; only Ferry's own failures (stores, KMS) are Lambda errors.
    pub async fn handle(&self, request: HttpRequest) -> Result<HttpResponse, Diagnostic> {
        let query = &request.query_string_parameters;
        let Some(state) = query.get("state").filter(|state| !state.is_empty()) else {
            return Ok(page(
                400,
                "Link not valid",
                "This link has no state parameter.",
            ));
        };
        let Some(oauth) = self
            .services
            .migrations
            .take_oauth_state(state)
            .await
            .map_err(|error| port_failure(&error))?
        else {
            return Ok(page(
                400,
                "Link not valid",
                "This authorisation link was already used or has expired. Start again from the application.",
            ));
        };
        let task = Task {
            tenant: oauth.tenant.to_string(),
            migration_id: oauth.migration_id.clone(),
            run_id: String::new(),
        };
        let record = self.services.migration(&task).await?;
        if let Some(error) = query.get("error") {
            let description = query.get("error_description").cloned().unwrap_or_default();
            tracing::warn!(migration_id = %record.id, error = %error, "authorisation refused");
            return Ok(page(
                400,
                "Access not granted",
                &format!("Salesforce answered {error}: {description}"),
            ));
        }
        let Some(code) = query.get("code").filter(|code| !code.is_empty()) else {
            return Ok(page(
                400,
                "Link not valid",
                "This link has no code parameter.",
            ));
        };
        let vault = self.services.vault()?;
        let verifier = vault
            .open(&oauth.tenant, &oauth.pkce_verifier)
            .await
            .map_err(|error| port_failure(&error))?;
        let settings = self.services.salesforce_settings()?;
        let tokens = match exchange_code(
            &self.http,
            &CodeExchange {
                login_url: settings.login_url(record.options.sandbox),
                client_id: &settings.client_id,
                client_secret: None,
                redirect_uri: &self.redirect_uri,
                code,
                code_verifier: &verifier,
            },
        )
        .await
        {
            Ok(tokens) => tokens,
            Err(error) if error.is_retryable() => {
                return Err(failure(
                    ErrorType::Retryable,
                    format!("Salesforce's token endpoint: {error}"),
                ));
            }
            Err(error) => {
                tracing::warn!(migration_id = %record.id, error = %error, "code exchange refused");
                return Ok(page(
                    400,
                    "Access not granted",
                    &format!("Salesforce refused the authorisation code: {error}"),
                ));
            }
        };
        let Some(refresh_token) = tokens.refresh_token else {
            return Ok(page(
                400,
                "Access not granted",
                "Salesforce gave no refresh token: the connected app needs the refresh_token scope.",
            ));
        };
        let sealed = vault
            .seal(&record.tenant, &refresh_token)
            .await
            .map_err(|error| port_failure(&error))?;
        // The execution may not have reached its wait yet: `notify` then finds the token
        // already sealed and goes on at once.
        let (record, token) = self
            .services
            .modify(&task, |record| {
                record.refresh_token = Some(sealed.clone());
                record.instance_url = Some(tokens.instance_url.clone());
                record.status = MigrationStatus::Discovering;
                if record.waiting_for == Some(Waiting::Authorisation) {
                    record.waiting_for = None;
                    record.task_token.take()
                } else {
                    None
                }
            })
            .await?;
        if let Some(token) = token {
            self.executions
                .succeed(&token, &serde_json::json!({"authorised": true}))
                .await
                .map_err(|error| port_failure(&error))?;
        }
        tracing::info!(migration_id = %record.id, "authorised");
        Ok(page(
            200,
            "Salesforce is connected",
            "Ferry can now read your organisation. You can close this window.",
        ))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_events_are_requests() {
        let granted: HttpRequest =
            serde_json::from_str(include_str!("../../../events/oauth-callback.json")).unwrap();
        assert!(granted.query_string_parameters.contains_key("code"));
        assert!(granted.query_string_parameters.contains_key("state"));
        let denied: HttpRequest =
            serde_json::from_str(include_str!("../../../events/oauth-callback-denied.json"))
                .unwrap();
        assert!(denied.query_string_parameters.contains_key("error"));
    }

    #[test]
    fn the_page_escapes_what_salesforce_sent() {
        let answer = page(400, "Access not granted", "<script>alert(1)</script>");
        assert!(!answer.body.contains("<script>"));
        assert!(answer.body.contains("&lt;script&gt;"));
    }
}
