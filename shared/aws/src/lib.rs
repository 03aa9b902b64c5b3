//! AWS adapters: the same ports as the embedded adapters, on DynamoDB and S3.
//!
//! - [`S3Staging`]: chunk staging in one bucket, server-side encrypted.
//! - [`DynamoIdMap`] and [`DynamoRunStore`]: the ID map and the run store in one DynamoDB
//!   table (`pk`, `sk` strings); the key design is documented on each type.
//!
//! Clients are built once per process by [`AwsClients::from_env`], which honours
//! `AWS_ENDPOINT_URL` so the same code talks to moto in tests and to AWS in production.

mod dynamo;
mod s3;

pub use dynamo::{DynamoIdMap, DynamoRunStore};
pub use s3::S3Staging;

use ferry_core::{ErrorClass, PortError};

/// SDK clients, built once and cloned into adapters.
#[derive(Debug, Clone)]
pub struct AwsClients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub s3: aws_sdk_s3::Client,
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
        }
    }
}

/// Classifies an SDK error: throttling, timeouts and 5xx are retryable; the rest is not.
pub(crate) fn sdk_error<E, R>(
    context: String,
    error: aws_sdk_dynamodb::error::SdkError<E, R>,
) -> PortError
where
    E: std::error::Error + Send + Sync + 'static + aws_sdk_dynamodb::error::ProvideErrorMetadata,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    use aws_sdk_dynamodb::error::SdkError;
    let class = match &error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            ErrorClass::Retryable
        }
        SdkError::ServiceError(service) => {
            let code = aws_sdk_dynamodb::error::ProvideErrorMetadata::code(service.err())
                .unwrap_or_default();
            if code.contains("Throttl")
                || code == "ProvisionedThroughputExceededException"
                || code == "RequestLimitExceeded"
                || code == "InternalServerError"
                || code == "ServiceUnavailable"
                || code == "SlowDown"
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
