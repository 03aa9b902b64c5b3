//! [`SalesforceApi`] over [`SalesforceClient`]: the pipeline's view of the org.

use crate::bulk::{BulkJob, BulkJobState as WireState};
use crate::client::SalesforceClient;
use crate::error::SalesforceError;
use crate::rest::BlobDownload;
use async_trait::async_trait;
use ferry_model::PortError;
use ferry_model::budget::ApiBudget;
use ferry_model::model::{ObjectDescription, ObjectSummary};
use ferry_model::ports::{
    BlobFetch, BulkJobState, BulkJobStatus, Descriptions, QueryPage, QueryPageRequest,
    RecordChunks, RefusedDescribe, SalesforceApi, chunks_consumer_gone,
};
use std::collections::BTreeMap;

fn status(job: BulkJob) -> BulkJobStatus {
    let state = match job.state {
        WireState::JobComplete => BulkJobState::Complete,
        WireState::Failed => BulkJobState::Failed,
        WireState::Aborted => BulkJobState::Aborted,
        WireState::Open
        | WireState::UploadComplete
        | WireState::InProgress
        | WireState::Unknown => BulkJobState::Running,
    };
    BulkJobStatus {
        job: job.id,
        state,
        records_processed: job.number_records_processed,
        error: job.error_message,
    }
}

#[async_trait]
impl SalesforceApi for SalesforceClient {
    async fn list_objects(&self) -> Result<Vec<ObjectSummary>, PortError> {
        self.describe_global()
            .await
            .map_err(|error| error.into_port_error("describeGlobal failed".to_owned()))
    }

    async fn describe_object(&self, name: &str) -> Result<ObjectDescription, PortError> {
        self.describe(name)
            .await
            .map_err(|error| error.into_port_error(format!("describe {name} failed")))
    }

    async fn describe_objects(&self, names: &[String]) -> Result<Descriptions, PortError> {
        let answers = self.describe_many(names).await.map_err(|error| {
            error.into_port_error(format!("describing {} objects failed", names.len()))
        })?;
        let mut descriptions = Descriptions::default();
        for (name, answer) in names.iter().zip(answers) {
            match answer {
                Ok(description) => descriptions.described.push(description),
                Err(error) => descriptions.refused.push(RefusedDescribe {
                    object: name.clone(),
                    reason: match &error {
                        SalesforceError::Describe { source, .. } => source.to_string(),
                        other => other.to_string(),
                    },
                }),
            }
        }
        Ok(descriptions)
    }

    async fn count_records(&self, object: &str, soft_deletes: bool) -> Result<u64, PortError> {
        self.count(object, soft_deletes)
            .await
            .map_err(|error| error.into_port_error(format!("counting {object} failed")))
    }

    async fn record_counts(&self, objects: &[String]) -> Result<BTreeMap<String, u64>, PortError> {
        self.record_counts(objects)
            .await
            .map_err(|error| error.into_port_error("reading /limits/recordCount failed".to_owned()))
    }

    async fn api_budget(&self) -> Result<Option<ApiBudget>, PortError> {
        if let Some(usage) = self.api_usage() {
            return Ok(Some(ApiBudget {
                used: usage.used,
                limit: usage.limit,
            }));
        }
        let daily = self
            .daily_api_requests()
            .await
            .map_err(|error| error.into_port_error("reading /limits failed".to_owned()))?;
        // The call just made reported usage in its header when the org sends one; that is
        // the fresher figure.
        Ok(Some(self.api_usage().map_or(
            ApiBudget {
                used: daily.max.saturating_sub(daily.remaining),
                limit: daily.max,
            },
            |usage| ApiBudget {
                used: usage.used,
                limit: usage.limit,
            },
        )))
    }

    async fn fresh_api_budget(&self) -> Result<Option<ApiBudget>, PortError> {
        let daily = self
            .daily_api_requests()
            .await
            .map_err(|error| error.into_port_error("reading /limits failed".to_owned()))?;
        Ok(Some(ApiBudget {
            used: daily.max.saturating_sub(daily.remaining),
            limit: daily.max,
        }))
    }

    async fn query_page(&self, request: QueryPageRequest) -> Result<QueryPage, PortError> {
        match request {
            QueryPageRequest::Start {
                soql,
                include_deleted,
            } => {
                let page = if include_deleted {
                    self.query_all(&soql).await
                } else {
                    self.query(&soql).await
                };
                page.map_err(|error| error.into_port_error(format!("query failed: {soql}")))
            }
            QueryPageRequest::Continue { cursor } => self
                .query_more(&cursor)
                .await
                .map_err(|error| error.into_port_error(format!("query page {cursor} failed"))),
        }
    }

    async fn tooling_query(&self, soql: &str) -> Result<QueryPage, PortError> {
        self.tooling_query(soql)
            .await
            .map_err(|error| error.into_port_error(format!("tooling query failed: {soql}")))
    }

    async fn fetch_blob(
        &self,
        object: &str,
        id: &str,
        field: &str,
        max_bytes: u64,
    ) -> Result<BlobFetch, PortError> {
        match self.download_blob(object, id, field, max_bytes).await {
            Ok(BlobDownload::Fetched(body)) => Ok(BlobFetch::Fetched(body)),
            Ok(BlobDownload::TooLarge { size }) => Ok(BlobFetch::TooLarge { size }),
            Err(error) => {
                Err(error.into_port_error(format!("downloading {object} {id} {field} failed")))
            }
        }
    }

    async fn start_bulk_query(
        &self,
        soql: &str,
        include_deleted: bool,
    ) -> Result<BulkJobStatus, PortError> {
        self.bulk_create_query(soql, include_deleted)
            .await
            .map(status)
            .map_err(|error| {
                error.into_port_error(format!("creating a Bulk API query job failed: {soql}"))
            })
    }

    async fn bulk_query_status(&self, job: &str) -> Result<BulkJobStatus, PortError> {
        self.bulk_job(job)
            .await
            .map(status)
            .map_err(|error| error.into_port_error(format!("reading Bulk API job {job} failed")))
    }

    async fn bulk_query_results(
        &self,
        job: &str,
        locator: Option<&str>,
        max_records: u32,
    ) -> Result<QueryPage, PortError> {
        let page = self
            .bulk_results(job, locator, max_records)
            .await
            .map_err(|error| {
                error.into_port_error(format!("reading results of Bulk API job {job} failed"))
            })?;
        Ok(QueryPage {
            total_size: page.records.len() as u64,
            records: page.records,
            next: page.next_locator,
        })
    }

    async fn bulk_query_results_chunked(
        &self,
        job: &str,
        locator: Option<&str>,
        max_records: u32,
        chunk_records: usize,
        chunks: RecordChunks,
    ) -> Result<Option<String>, PortError> {
        self.bulk_results_chunked(job, locator, max_records, chunk_records, &chunks)
            .await
            .map_err(|error| match error {
                SalesforceError::ConsumerStopped { .. } => chunks_consumer_gone(),
                error => {
                    error.into_port_error(format!("reading results of Bulk API job {job} failed"))
                }
            })
    }
}
