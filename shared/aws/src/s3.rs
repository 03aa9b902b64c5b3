use crate::sdk_error;
use async_trait::async_trait;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;
use ferry_core::PortError;
use ferry_core::ports::Staging;

/// Staging in an S3 bucket; keys are used as given (they start with the tenant).
#[derive(Debug, Clone)]
pub struct S3Staging {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3Staging {
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
        }
    }
}

#[async_trait]
impl Staging for S3Staging {
    async fn put(&self, key: &str, body: Vec<u8>) -> Result<(), PortError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(ByteStream::from(body))
            .server_side_encryption(ServerSideEncryption::Aes256)
            .send()
            .await
            .map_err(|error| sdk_error(format!("putting s3://{}/{key}", self.bucket), error))?;
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>, PortError> {
        let object = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|error| sdk_error(format!("getting s3://{}/{key}", self.bucket), error))?;
        let bytes = object.body.collect().await.map_err(|error| {
            PortError::with_source(
                ferry_core::ErrorClass::Retryable,
                format!("reading s3://{}/{key}", self.bucket),
                error,
            )
        })?;
        Ok(bytes.into_bytes().to_vec())
    }
}
