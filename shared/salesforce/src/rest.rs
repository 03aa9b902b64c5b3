//! The REST resources Ferry reads: describeGlobal, describe (one by one or batched through
//! the composite batch resource), paged SOQL queries, `/limits` and `/limits/recordCount`.

use crate::client::{Replay, SalesforceClient, next_chunk};
use crate::error::SalesforceError;
use crate::wire;
use ferry_model::model::{ObjectDescription, ObjectSummary};
use ferry_model::ports::QueryPage;
use reqwest::Method;
use serde::Deserialize;
use std::collections::BTreeMap;

/// Subrequests the composite batch resource takes per call.
const COMPOSITE_BATCH_LIMIT: usize = 25;

/// A binary field's body, or the fact that it is over the size cap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlobDownload {
    Fetched(Vec<u8>),
    /// At least `size` bytes: the whole size when Salesforce announced it, otherwise how far
    /// the download got before passing the cap.
    TooLarge {
        size: u64,
    },
}

/// `/limits`: the daily API request allowance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailyApiRequests {
    pub max: u64,
    pub remaining: u64,
}

#[derive(Debug, Deserialize)]
struct Limits {
    #[serde(rename = "DailyApiRequests")]
    daily_api_requests: LimitValue,
}

#[derive(Debug, Deserialize)]
struct LimitValue {
    #[serde(rename = "Max")]
    max: u64,
    #[serde(rename = "Remaining")]
    remaining: u64,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RecordCountsWire {
    #[serde(rename = "sObjects")]
    pub(crate) objects: Vec<RecordCount>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RecordCount {
    pub(crate) name: String,
    count: u64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BatchResponse {
    results: Vec<BatchResult>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BatchResult {
    status_code: u16,
    result: serde_json::Value,
}

fn query_path(client: &SalesforceClient, resource: &str, soql: &str) -> String {
    let mut path = client.data_path(resource);
    path.push_str("?q=");
    path.push_str(&url::form_urlencoded::byte_serialize(soql.as_bytes()).collect::<String>());
    path
}

impl SalesforceClient {
    pub async fn describe_global(&self) -> Result<Vec<ObjectSummary>, SalesforceError> {
        let global: wire::DescribeGlobal = self.get_json(&self.data_path("sobjects"), &[]).await?;
        Ok(global
            .sobjects
            .into_iter()
            .map(ObjectSummary::from)
            .collect())
    }

    pub async fn describe(&self, object: &str) -> Result<ObjectDescription, SalesforceError> {
        let path = self.data_path(&format!("sobjects/{object}/describe"));
        let describe: wire::Describe = self.get_json(&path, &[]).await?;
        Ok(describe.into())
    }

    /// Describes many objects, 25 per call through the composite batch resource. Each
    /// object's answer is its own: a describe Salesforce refuses for that object
    /// ([`SalesforceError::is_describe_refusal`]) is that object's `Err`, with the object
    /// named; any other failure fails the whole call.
    pub async fn describe_many(
        &self,
        objects: &[String],
    ) -> Result<Vec<Result<ObjectDescription, SalesforceError>>, SalesforceError> {
        if objects.len() <= 1 {
            let mut described = Vec::new();
            for object in objects {
                described.push(self.describe_one(object).await?);
            }
            return Ok(described);
        }
        let version = &self.config.api_version;
        let mut described = Vec::with_capacity(objects.len());
        for batch in objects.chunks(COMPOSITE_BATCH_LIMIT) {
            let requests: Vec<serde_json::Value> = batch
                .iter()
                .map(|object| {
                    serde_json::json!({
                        "method": "GET",
                        "url": format!("v{version}/sobjects/{object}/describe"),
                    })
                })
                .collect();
            let body = serde_json::json!({ "batchRequests": requests });
            let response: BatchResponse = match self
                // Describes change nothing: the batch may be sent again.
                .send_json(
                    Method::POST,
                    &self.data_path("composite/batch"),
                    &body,
                    Replay::Safe,
                )
                .await
            {
                Ok(response) => response,
                // An org (or proxy) without the composite resource: describe one by one.
                Err(error) if error.error_code() == Some("NOT_FOUND") => {
                    tracing::debug!("composite batch unavailable; describing one by one");
                    for object in batch {
                        described.push(self.describe_one(object).await?);
                    }
                    continue;
                }
                Err(error) => return Err(error),
            };
            if response.results.len() != batch.len() {
                return Err(SalesforceError::Unexpected(format!(
                    "composite batch answered {} results for {} describes",
                    response.results.len(),
                    batch.len()
                )));
            }
            for (object, result) in batch.iter().zip(response.results) {
                if !(200..300).contains(&result.status_code) {
                    let body = serde_json::to_vec(&result.result).unwrap_or_default();
                    let status = reqwest::StatusCode::from_u16(result.status_code)
                        .unwrap_or(reqwest::StatusCode::BAD_GATEWAY);
                    let error = SalesforceError::Describe {
                        object: object.clone(),
                        source: Box::new(crate::client::api_error(status, &body)),
                    };
                    if error.is_describe_refusal() {
                        described.push(Err(error));
                        continue;
                    }
                    return Err(error);
                }
                let describe: wire::Describe =
                    serde_json::from_value(result.result).map_err(|source| {
                        SalesforceError::Decode {
                            url: format!("composite/batch describe {object}"),
                            source,
                        }
                    })?;
                described.push(Ok(describe.into()));
            }
        }
        Ok(described)
    }

    /// One describe, for [`Self::describe_many`]: a refusal is the object's own `Err`.
    async fn describe_one(
        &self,
        object: &str,
    ) -> Result<Result<ObjectDescription, SalesforceError>, SalesforceError> {
        match self.describe(object).await {
            Ok(description) => Ok(Ok(description)),
            Err(error) => {
                let error = SalesforceError::Describe {
                    object: object.to_owned(),
                    source: Box::new(error),
                };
                if error.is_describe_refusal() {
                    Ok(Err(error))
                } else {
                    Err(error)
                }
            }
        }
    }

    /// The first page of a SOQL query; `include_deleted` uses queryAll, which also returns
    /// soft-deleted (`IsDeleted = true`) and archived records.
    pub async fn query(&self, soql: &str) -> Result<QueryPage, SalesforceError> {
        self.query_at(&query_path(self, "query", soql)).await
    }

    /// queryAll: deleted and archived records included.
    pub async fn query_all(&self, soql: &str) -> Result<QueryPage, SalesforceError> {
        self.query_at(&query_path(self, "queryAll", soql)).await
    }

    /// The first page of a Tooling API query (automation metadata: ApexClass, Flow, ...).
    /// Later pages come from [`SalesforceClient::query_more`] like any query's.
    pub async fn tooling_query(&self, soql: &str) -> Result<QueryPage, SalesforceError> {
        self.query_at(&query_path(self, "tooling/query", soql))
            .await
    }

    /// The page at a `nextRecordsUrl`.
    pub async fn query_more(&self, next_records_url: &str) -> Result<QueryPage, SalesforceError> {
        self.query_at(next_records_url).await
    }

    async fn query_at(&self, path: &str) -> Result<QueryPage, SalesforceError> {
        let headers: Vec<(&'static str, String)> = self
            .config
            .query_batch_size
            .map(|size| ("Sforce-Query-Options", format!("batchSize={size}")))
            .into_iter()
            .collect();
        let page: wire::QueryResponse = self.get_json(path, &headers).await?;
        Ok(QueryPage {
            total_size: page.total_size,
            records: page.records,
            next: if page.done {
                None
            } else {
                page.next_records_url
            },
        })
    }

    /// Downloads a binary field (Attachment `Body`, ContentVersion `VersionData`, Document
    /// `Body`) through the sObject blob resource, streaming, and stops as soon as the body
    /// is known to exceed `max_bytes`: an oversized file costs neither memory nor transfer.
    pub async fn download_blob(
        &self,
        object: &str,
        id: &str,
        field: &str,
        max_bytes: u64,
    ) -> Result<BlobDownload, SalesforceError> {
        let path = self.data_path(&format!("sobjects/{object}/{id}/{field}"));
        self.send(
            Method::GET,
            &path,
            None,
            &[],
            Replay::Safe,
            |mut response| async move {
                if let Some(size) = response.content_length()
                    && size > max_bytes
                {
                    return Ok(BlobDownload::TooLarge { size });
                }
                let mut body = Vec::new();
                while let Some(chunk) = next_chunk(&mut response).await? {
                    body.extend_from_slice(&chunk);
                    if body.len() as u64 > max_bytes {
                        return Ok(BlobDownload::TooLarge {
                            size: body.len() as u64,
                        });
                    }
                }
                Ok(BlobDownload::Fetched(body))
            },
        )
        .await
    }

    /// `SELECT COUNT() FROM object` through queryAll: every record, archived activities
    /// included (`query` leaves them out), less the recycle bin when `soft_deletes`
    /// (`WHERE IsDeleted = false`; only for an object that has the field).
    pub async fn count(&self, object: &str, soft_deletes: bool) -> Result<u64, SalesforceError> {
        // `object` may carry its own condition (`Account WHERE IsPersonAccount = true`).
        let joiner = if object.contains(" WHERE ") {
            " AND"
        } else {
            " WHERE"
        };
        let filter = if soft_deletes {
            format!("{joiner} IsDeleted = false")
        } else {
            String::new()
        };
        Ok(self
            .query_all(&format!("SELECT COUNT() FROM {object}{filter}"))
            .await?
            .total_size)
    }

    /// The daily API allowance from `/limits`.
    pub async fn daily_api_requests(&self) -> Result<DailyApiRequests, SalesforceError> {
        let limits: Limits = self.get_json(&self.data_path("limits"), &[]).await?;
        Ok(DailyApiRequests {
            max: limits.daily_api_requests.max,
            remaining: limits.daily_api_requests.remaining,
        })
    }

    /// Record counts from `/limits/recordCount`, one call for many objects. Salesforce
    /// computes them periodically, so they are estimates; an object it leaves out (new or
    /// never counted) is absent from the map.
    pub async fn record_counts(
        &self,
        objects: &[String],
    ) -> Result<BTreeMap<String, u64>, SalesforceError> {
        let mut counts = BTreeMap::new();
        // Object names are short; 100 per call keeps the URL well under limits.
        for batch in objects.chunks(100) {
            let path = format!(
                "{}?sObjects={}",
                self.data_path("limits/recordCount"),
                batch.join(",")
            );
            let answer: RecordCountsWire = self.get_json(&path, &[]).await?;
            counts.extend(
                answer
                    .objects
                    .into_iter()
                    .map(|count| (count.name, count.count)),
            );
        }
        Ok(counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_record_counts_parse() {
        let counts: RecordCountsWire = serde_json::from_slice(include_bytes!(
            "../../../tests/fixtures/salesforce/limits/cci_TestDatasetsE2E.test_datasets_e2e__02_GET_limits_recordCount.json"
        ))
        .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(counts.objects[0].name, "Account");
        assert_eq!(counts.objects[0].count, 1);
    }
}
