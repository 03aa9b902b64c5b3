//! AWS adapters: the same ports as the embedded adapters, on DynamoDB, S3 and SQS, plus
//! the pieces only the serverless path needs (KMS, Step Functions, the migration records).
//!
//! - [`S3Staging`]: chunk, file and report staging in one bucket, server-side encrypted;
//!   bodies over [`MULTIPART_PART_SIZE`] go up as multipart uploads
//!   ([`S3Staging::put_stream`]); reports are handed out as presigned GET URLs
//!   ([`S3Staging::presigned_get`]).
//! - [`DynamoIdMap`] and [`DynamoRunStore`]: the ID map and the run store in one DynamoDB
//!   table (`pk`, `sk` strings). The run store is the core's document port
//!   ([`ferry_model::run_store::DocumentStore`]), one item per document under the core's key
//!   layout; the ID map's key design is in the `dynamo` module's docs.
//! - [`MigrationStore`]: the API's tenant-scoped migration records and the single-use OAuth
//!   state records, in the same table (key design in [`migrations`]).
//! - [`SqsQueue`]: the chunk queue ([`ferry_model::ports::WorkQueue`]).
//! - [`TokenVault`]: KMS envelope encryption of refresh tokens and PKCE verifiers, bound to
//!   the tenant ([`SealedSecret`]).
//! - [`Executions`]: starts Step Functions executions and completes their task tokens.
//!
//! Clients are built once per process by [`AwsClients::from_env`], which honours
//! `AWS_ENDPOINT_URL` so the same code talks to moto in tests and to AWS in production.
//! Every SDK failure becomes a [`PortError`] classed retryable (throttling, timeouts, 5xx)
//! or permanent.

mod dynamo;
mod executions;
pub mod migrations;
mod s3;
mod sqs;
mod vault;

pub use dynamo::{DynamoIdMap, DynamoRunStore};
pub use executions::Executions;
pub use migrations::{
    Claim, MODIFY_ATTEMPTS, MigrationOptions, MigrationRecord, MigrationStatus, MigrationStore,
    MigrationStoreError, OAuthState, Selections, Waiting,
};
pub use s3::{MULTIPART_PART_SIZE, S3Staging};
pub use sqs::SqsQueue;
pub use vault::{SealedSecret, TokenVault};

use ferry_model::{ErrorClass, PortError};

/// SDK clients, built once and cloned into adapters.
#[derive(Debug, Clone)]
pub struct AwsClients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub s3: aws_sdk_s3::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub kms: aws_sdk_kms::Client,
    pub sfn: aws_sdk_sfn::Client,
}

impl AwsClients {
    /// Loads region, credentials and endpoint from the environment, the way every AWS SDK does.
    pub async fn from_env() -> Self {
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Self::from_sdk_config(&config)
    }

    /// Builds the clients from a loaded SDK configuration.
    pub fn from_sdk_config(config: &aws_config::SdkConfig) -> Self {
        // Path-style addressing works with S3 and with emulators that cannot resolve
        // bucket subdomains.
        let s3_config = aws_sdk_s3::config::Builder::from(config)
            .force_path_style(true)
            .build();
        Self {
            dynamodb: aws_sdk_dynamodb::Client::new(config),
            s3: aws_sdk_s3::Client::from_conf(s3_config),
            sqs: aws_sdk_sqs::Client::new(config),
            kms: aws_sdk_kms::Client::new(config),
            sfn: aws_sdk_sfn::Client::new(config),
        }
    }
}

/// Service error codes that mean "try again later", across DynamoDB, S3, SQS, KMS and Step
/// Functions.
const RETRYABLE_CODES: &[&str] = &[
    // DynamoDB
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "InternalServerError",
    "TransactionInProgressException",
    // S3
    "SlowDown",
    "InternalError",
    "RequestTimeout",
    // SQS (including the KMS errors of an encrypted queue)
    "RequestThrottled",
    "KmsThrottled",
    "KMS.ThrottlingException",
    "KmsUnavailable",
    // KMS
    "KMSInternalException",
    "DependencyTimeoutException",
    "KeyUnavailableException",
    "LimitExceededException",
    // Step Functions and everyone
    "ServiceUnavailable",
    "InternalFailure",
    "RequestTimeoutException",
];

/// Classifies an SDK error of any AWS client (they share one `SdkError` type): throttling,
/// timeouts, dispatch failures, 429 and 5xx (even with a body the SDK cannot read) are
/// retryable; the rest is not.
pub(crate) fn sdk_error<E>(
    context: String,
    error: aws_sdk_dynamodb::error::SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>,
) -> PortError
where
    E: std::error::Error + Send + Sync + 'static + aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    use aws_sdk_dynamodb::error::SdkError;
    let class = match &error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            ErrorClass::Retryable
        }
        SdkError::ServiceError(service) => {
            let code = aws_sdk_dynamodb::error::ProvideErrorMetadata::code(service.err())
                .unwrap_or_default();
            let status = service.raw().status().as_u16();
            if code.contains("Throttl")
                || RETRYABLE_CODES.contains(&code)
                || status == 429
                || status >= 500
            {
                ErrorClass::Retryable
            } else {
                ErrorClass::Permanent
            }
        }
        _ => ErrorClass::Permanent,
    };
    PortError::with_source(class, context, error)
}

/// A [`PortError`] for a failure that is not the SDK's (serialising, a malformed answer).
pub(crate) fn permanent(
    context: impl Into<String>,
    source: impl std::error::Error + Send + Sync + 'static,
) -> PortError {
    PortError::with_source(ErrorClass::Permanent, context, source)
}

#[cfg(test)]
mod tests {
    use super::{RETRYABLE_CODES, sdk_error};
    use aws_sdk_dynamodb::config::http::HttpResponse;
    use aws_sdk_dynamodb::error::{ErrorMetadata, SdkError};

    fn service_error<E>(error: E, status: u16) -> SdkError<E, HttpResponse> {
        let status = status.try_into().unwrap_or_else(|_| unreachable!());
        SdkError::service_error(error, HttpResponse::new(status, "".into()))
    }

    #[test]
    fn throttles_and_server_errors_are_retryable_the_rest_is_not() {
        let sqs = |code: &str, status| {
            sdk_error(
                "sending".to_owned(),
                service_error(
                    aws_sdk_sqs::operation::send_message::SendMessageError::generic(
                        ErrorMetadata::builder().code(code).build(),
                    ),
                    status,
                ),
            )
            .is_retryable()
        };
        assert!(sqs("RequestThrottled", 400));
        assert!(sqs("KmsThrottled", 400));
        assert!(sqs("Unrecognised", 503));
        assert!(sqs("", 429));
        assert!(!sqs("QueueDoesNotExist", 400));
        assert!(!sqs("AccessDenied", 403));

        let kms = |code: &str, status| {
            sdk_error(
                "decrypting".to_owned(),
                service_error(
                    aws_sdk_kms::operation::decrypt::DecryptError::generic(
                        ErrorMetadata::builder().code(code).build(),
                    ),
                    status,
                ),
            )
            .is_retryable()
        };
        assert!(kms("ThrottlingException", 400));
        assert!(kms("KMSInternalException", 500));
        assert!(!kms("InvalidCiphertextException", 400));
        assert!(!kms("AccessDeniedException", 400));

        let sfn = |code: &str, status| {
            sdk_error(
                "completing".to_owned(),
                service_error(
                    aws_sdk_sfn::operation::send_task_success::SendTaskSuccessError::generic(
                        ErrorMetadata::builder().code(code).build(),
                    ),
                    status,
                ),
            )
            .is_retryable()
        };
        assert!(sfn("ThrottlingException", 400));
        assert!(sfn("ServiceUnavailable", 503));
        assert!(!sfn("TaskDoesNotExist", 400));
        assert!(!sfn("InvalidToken", 400));
        assert!(!sfn("TaskTimedOut", 400));
    }

    #[test]
    fn retryable_codes_are_distinct() {
        let mut codes = RETRYABLE_CODES.to_vec();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), RETRYABLE_CODES.len());
    }
}
