use crate::{permanent, sdk_error};
use async_trait::async_trait;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, ServerSideEncryption};
use ferry_model::PortError;
use ferry_model::ports::Staging;
use futures::{Stream, StreamExt};
use std::time::Duration;

/// Bodies larger than this go up as multipart uploads, in parts of this size (S3 takes
/// parts of 5 MiB to 5 GiB, at most 10 000 of them: 80 GB at this size).
pub const MULTIPART_PART_SIZE: usize = 8 * 1024 * 1024;

/// Staging in an S3 bucket; keys are used as given (they start with the tenant). Every
/// object is written with SSE-S3 (`AES256`), single-part or multipart.
#[derive(Debug, Clone)]
pub struct S3Staging {
    client: aws_sdk_s3::Client,
    bucket: String,
}

/// How long a destination has to fetch a file from its presigned URL.
pub const FILE_URL_LIFETIME: Duration = Duration::from_secs(15 * 60);

impl S3Staging {
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
        }
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// A URL anyone can GET the object at until `expires` has passed (at most 7 days; the
    /// signing credentials' own expiry also ends it, which for a Lambda role is hours).
    /// Nothing is checked against S3: a missing key gives a URL that answers 404.
    pub async fn presigned_get(&self, key: &str, expires: Duration) -> Result<String, PortError> {
        let config = PresigningConfig::expires_in(expires)
            .map_err(|error| permanent(format!("presigning s3://{}/{key}", self.bucket), error))?;
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(config)
            .await
            .map_err(|error| sdk_error(format!("presigning s3://{}/{key}", self.bucket), error))?;
        Ok(request.uri().to_owned())
    }

    /// Writes a body that arrives in pieces (a file downloaded from Salesforce, a report
    /// being written), never holding more than one part in memory. Up to
    /// [`MULTIPART_PART_SIZE`] in all it is one `PutObject`; beyond, a multipart upload,
    /// aborted if the stream or a part fails. Returns the number of bytes written.
    pub async fn put_stream<S>(&self, key: &str, body: S) -> Result<u64, PortError>
    where
        S: Stream<Item = Result<Vec<u8>, PortError>> + Send,
    {
        let mut upload = None;
        let mut parts = Vec::new();
        match self.stream_parts(key, body, &mut upload, &mut parts).await {
            Ok(written) => Ok(written),
            Err(error) => {
                if let Some(upload_id) = upload {
                    // Best effort: a lifecycle rule on the bucket cleans up what this misses.
                    let _ = self
                        .client
                        .abort_multipart_upload()
                        .bucket(&self.bucket)
                        .key(key)
                        .upload_id(upload_id)
                        .send()
                        .await;
                }
                Err(error)
            }
        }
    }

    async fn stream_parts<S>(
        &self,
        key: &str,
        body: S,
        upload: &mut Option<String>,
        parts: &mut Vec<CompletedPart>,
    ) -> Result<u64, PortError>
    where
        S: Stream<Item = Result<Vec<u8>, PortError>> + Send,
    {
        let mut body = std::pin::pin!(body);
        let mut buffer: Vec<u8> = Vec::new();
        let mut written: u64 = 0;
        while let Some(piece) = body.next().await {
            let piece = piece?;
            written += piece.len() as u64;
            buffer.extend_from_slice(&piece);
            // Keep at least one byte back, so the last part is never empty.
            while buffer.len() > MULTIPART_PART_SIZE {
                let rest = buffer.split_off(MULTIPART_PART_SIZE);
                let part = std::mem::replace(&mut buffer, rest);
                let upload_id = match upload {
                    Some(upload_id) => upload_id.clone(),
                    None => upload.insert(self.create_upload(key).await?).clone(),
                };
                parts.push(self.upload_part(key, &upload_id, parts.len(), part).await?);
            }
        }
        let Some(upload_id) = upload.clone() else {
            self.put_single(key, buffer).await?;
            return Ok(written);
        };
        parts.push(
            self.upload_part(key, &upload_id, parts.len(), buffer)
                .await?,
        );
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(&upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts.clone()))
                    .build(),
            )
            .send()
            .await
            .map_err(|error| {
                sdk_error(
                    format!("completing the upload of s3://{}/{key}", self.bucket),
                    error,
                )
            })?;
        Ok(written)
    }

    async fn create_upload(&self, key: &str) -> Result<String, PortError> {
        let created = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .server_side_encryption(ServerSideEncryption::Aes256)
            .send()
            .await
            .map_err(|error| {
                sdk_error(
                    format!("starting an upload of s3://{}/{key}", self.bucket),
                    error,
                )
            })?;
        created.upload_id().map(str::to_owned).ok_or_else(|| {
            PortError::permanent(format!(
                "S3 started an upload of s3://{}/{key} without an id",
                self.bucket
            ))
        })
    }

    /// Uploads the part after `previous` parts (part numbers start at 1).
    async fn upload_part(
        &self,
        key: &str,
        upload_id: &str,
        previous: usize,
        body: Vec<u8>,
    ) -> Result<CompletedPart, PortError> {
        let number = i32::try_from(previous + 1).map_err(|_| {
            PortError::permanent(format!("s3://{}/{key} has too many parts", self.bucket))
        })?;
        let uploaded = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .part_number(number)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|error| {
                sdk_error(
                    format!("uploading part {number} of s3://{}/{key}", self.bucket),
                    error,
                )
            })?;
        Ok(CompletedPart::builder()
            .part_number(number)
            .set_e_tag(uploaded.e_tag().map(str::to_owned))
            .build())
    }

    async fn put_single(&self, key: &str, body: Vec<u8>) -> Result<(), PortError> {
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
}

#[async_trait]
impl Staging for S3Staging {
    /// A presigned GET valid for [`FILE_URL_LIFETIME`]: the destination fetches a file's
    /// bytes from S3 itself, so they do not pass through the load function's request.
    async fn fetch_url(&self, key: &str) -> Result<Option<String>, PortError> {
        self.presigned_get(key, FILE_URL_LIFETIME).await.map(Some)
    }

    /// One `PutObject`, or a multipart upload for a body over [`MULTIPART_PART_SIZE`].
    async fn put(&self, key: &str, body: Vec<u8>) -> Result<(), PortError> {
        if body.len() <= MULTIPART_PART_SIZE {
            return self.put_single(key, body).await;
        }
        // Fed a part at a time, so the upload buffer never holds a second copy of the body.
        let parts = body.len().div_ceil(MULTIPART_PART_SIZE);
        let pieces = (0..parts).map(move |index| {
            let start = index * MULTIPART_PART_SIZE;
            let end = body.len().min(start + MULTIPART_PART_SIZE);
            Ok(body[start..end].to_vec())
        });
        self.put_stream(key, futures::stream::iter(pieces))
            .await
            .map(|_| ())
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
                ferry_model::ErrorClass::Retryable,
                format!("reading s3://{}/{key}", self.bucket),
                error,
            )
        })?;
        Ok(bytes.into_bytes().to_vec())
    }
}
