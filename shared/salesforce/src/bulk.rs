//! Bulk API 2.0 query jobs: create, poll, read the results page by page, abort, delete.
//!
//! Results come as CSV. Each page (`maxRecords` rows at most) is parsed as the bytes arrive
//! ([`csv_core`] keeps the parser's state across network chunks), so neither a page's body
//! nor an object's results are ever held whole; only the page's records are.

use crate::client::{Replay, SalesforceClient, next_chunk};
use crate::error::SalesforceError;
use ferry_model::model::SourceRecord;
use ferry_model::ports::RecordChunks;
use futures::SinkExt as _;
use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A query job as `GET /jobs/query/{id}` describes it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkJob {
    pub id: String,
    #[serde(default)]
    pub object: String,
    pub state: BulkJobState,
    #[serde(default)]
    pub number_records_processed: u64,
    #[serde(default)]
    pub error_message: Option<String>,
}

/// The life of a query job: `UploadComplete` → `InProgress` → `JobComplete`, or `Failed`
/// or `Aborted`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub enum BulkJobState {
    Open,
    UploadComplete,
    InProgress,
    JobComplete,
    Failed,
    Aborted,
    #[serde(other)]
    Unknown,
}

impl BulkJobState {
    /// Whether the job will not change any more.
    pub fn is_final(&self) -> bool {
        matches!(self, Self::JobComplete | Self::Failed | Self::Aborted)
    }
}

/// One page of a job's results.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkPage {
    pub records: Vec<SourceRecord>,
    /// The locator of the next page; `None` after the last (Salesforce sends `null`).
    pub next_locator: Option<String>,
}

impl SalesforceClient {
    fn jobs_path(&self, rest: &str) -> String {
        self.data_path(&format!("jobs/query{rest}"))
    }

    /// Creates a query job; `include_deleted` makes it a queryAll job.
    pub async fn bulk_create_query(
        &self,
        soql: &str,
        include_deleted: bool,
    ) -> Result<BulkJob, SalesforceError> {
        let body = serde_json::json!({
            "operation": if include_deleted { "queryAll" } else { "query" },
            "query": soql,
            "contentType": "CSV",
            "columnDelimiter": "COMMA",
            "lineEnding": "LF",
        });
        self.send_json(Method::POST, &self.jobs_path(""), &body, Replay::Once)
            .await
    }

    /// The job's state and progress.
    pub async fn bulk_job(&self, job: &str) -> Result<BulkJob, SalesforceError> {
        self.get_json(&self.jobs_path(&format!("/{job}")), &[])
            .await
    }

    /// Asks Salesforce to stop a job it is still running.
    pub async fn bulk_abort(&self, job: &str) -> Result<BulkJob, SalesforceError> {
        let body = serde_json::json!({"state": "Aborted"});
        self.send_json(
            Method::PATCH,
            &self.jobs_path(&format!("/{job}")),
            &body,
            Replay::Safe,
        )
        .await
    }

    /// Deletes a finished job and its results.
    pub async fn bulk_delete(&self, job: &str) -> Result<(), SalesforceError> {
        self.send(
            Method::DELETE,
            &self.jobs_path(&format!("/{job}")),
            None,
            &[],
            Replay::Safe,
            |_| async { Ok(()) },
        )
        .await
    }

    /// One page of results: the first when `locator` is `None`. The page is parsed as it
    /// streams in; a failure mid-page re-reads the same page, which Salesforce allows.
    pub async fn bulk_results(
        &self,
        job: &str,
        locator: Option<&str>,
        max_records: u32,
    ) -> Result<BulkPage, SalesforceError> {
        let path = self.results_path(job, locator, max_records);
        let headers = [("Accept-Encoding", "gzip".to_owned())];
        self.send(
            Method::GET,
            &path,
            None,
            &headers,
            Replay::Safe,
            |response| read_page(job, response),
        )
        .await
    }

    /// Like [`SalesforceClient::bulk_results`], but the page's records go to `chunks` in
    /// chunks of at most `chunk_records` as they are parsed, so only a chunk or two of the
    /// page is in memory. A page re-read after a failure mid-page skips the rows already
    /// sent (a locator's page is the same on every read). Returns the next page's locator.
    pub async fn bulk_results_chunked(
        &self,
        job: &str,
        locator: Option<&str>,
        max_records: u32,
        chunk_records: usize,
        chunks: &RecordChunks,
    ) -> Result<Option<String>, SalesforceError> {
        let path = self.results_path(job, locator, max_records);
        let headers = [("Accept-Encoding", "gzip".to_owned())];
        let sent = AtomicUsize::new(0);
        self.send(
            Method::GET,
            &path,
            None,
            &headers,
            Replay::Safe,
            |response| {
                read_page_chunked(job, response, chunk_records.max(1), &sent, chunks.clone())
            },
        )
        .await
    }

    fn results_path(&self, job: &str, locator: Option<&str>, max_records: u32) -> String {
        let mut path = self.jobs_path(&format!("/{job}/results?maxRecords={max_records}"));
        if let Some(locator) = locator {
            path.push_str("&locator=");
            path.push_str(
                &url::form_urlencoded::byte_serialize(locator.as_bytes()).collect::<String>(),
            );
        }
        path
    }
}

fn next_locator(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get("Sforce-Locator")
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|value| !value.is_empty() && *value != "null")
        .map(str::to_owned)
}

async fn read_page_chunked(
    job: &str,
    mut response: reqwest::Response,
    chunk_records: usize,
    sent: &AtomicUsize,
    mut chunks: RecordChunks,
) -> Result<Option<String>, SalesforceError> {
    let next_locator = next_locator(&response);
    // Rows an earlier read of this page already sent.
    let mut skip = sent.load(Ordering::Relaxed);
    let mut records = Vec::with_capacity(chunk_records);
    let mut parser = CsvRecords::new(job);
    let mut done = false;
    while !done {
        match next_chunk(&mut response).await? {
            Some(bytes) => parser.feed(&bytes, &mut records)?,
            None => {
                parser.finish(&mut records)?;
                done = true;
            }
        }
        if skip > 0 {
            let n = skip.min(records.len());
            records.drain(..n);
            skip -= n;
        }
        while records.len() >= chunk_records || (done && !records.is_empty()) {
            let rest = records.split_off(chunk_records.min(records.len()));
            let chunk = std::mem::replace(&mut records, rest);
            let n = chunk.len();
            chunks
                .send(chunk)
                .await
                .map_err(|_| SalesforceError::ConsumerStopped {
                    job: job.to_owned(),
                })?;
            sent.fetch_add(n, Ordering::Relaxed);
        }
        if records.capacity() < chunk_records {
            records.reserve(chunk_records - records.len());
        }
    }
    Ok(next_locator)
}

async fn read_page(
    job: &str,
    mut response: reqwest::Response,
) -> Result<BulkPage, SalesforceError> {
    let next_locator = next_locator(&response);
    let mut parser = CsvRecords::new(job);
    let mut records = Vec::new();
    while let Some(chunk) = next_chunk(&mut response).await? {
        parser.feed(&chunk, &mut records)?;
    }
    parser.finish(&mut records)?;
    Ok(BulkPage {
        records,
        next_locator,
    })
}

/// Parses a whole Bulk API 2.0 result page (CSV with a header row) into records, as
/// [`SalesforceClient::bulk_results`] does while the page streams in. For benchmarks and
/// tools that hold a page already; `job` names the job in errors.
pub fn parse_csv_page(job: &str, csv: &[u8]) -> Result<Vec<SourceRecord>, SalesforceError> {
    let mut parser = CsvRecords::new(job);
    let mut records = Vec::new();
    parser.feed(csv, &mut records)?;
    parser.finish(&mut records)?;
    Ok(records)
}

/// An incremental CSV reader that turns rows into records keyed by the header row.
pub(crate) struct CsvRecords {
    job: String,
    reader: csv_core::Reader,
    header: Option<Vec<String>>,
    /// Bytes of the current row's fields, and where each field ends.
    output: Vec<u8>,
    ends: Vec<usize>,
    out_len: usize,
    ends_len: usize,
}

impl CsvRecords {
    pub(crate) fn new(job: &str) -> Self {
        Self {
            job: job.to_owned(),
            reader: csv_core::Reader::new(),
            header: None,
            output: vec![0; 4096],
            ends: vec![0; 64],
            out_len: 0,
            ends_len: 0,
        }
    }

    pub(crate) fn feed(
        &mut self,
        input: &[u8],
        records: &mut Vec<SourceRecord>,
    ) -> Result<(), SalesforceError> {
        if input.is_empty() {
            // An empty input means the end of the data to the reader; only `finish` says so.
            return Ok(());
        }
        self.parse(input, records)
    }

    fn parse(
        &mut self,
        mut input: &[u8],
        records: &mut Vec<SourceRecord>,
    ) -> Result<(), SalesforceError> {
        let at_end = input.is_empty();
        loop {
            if input.is_empty() && !at_end {
                return Ok(());
            }
            let (result, read, written, ends) = self.reader.read_record(
                input,
                &mut self.output[self.out_len..],
                &mut self.ends[self.ends_len..],
            );
            input = &input[read..];
            // Field ends count from the start of the row, across calls.
            self.out_len += written;
            self.ends_len += ends;
            match result {
                csv_core::ReadRecordResult::InputEmpty => return Ok(()),
                csv_core::ReadRecordResult::OutputFull => {
                    let size = self.output.len() * 2;
                    self.output.resize(size, 0);
                }
                csv_core::ReadRecordResult::OutputEndsFull => {
                    let size = self.ends.len() * 2;
                    self.ends.resize(size, 0);
                }
                csv_core::ReadRecordResult::Record => self.row(records)?,
                csv_core::ReadRecordResult::End => return Ok(()),
            }
        }
    }

    pub(crate) fn finish(
        &mut self,
        records: &mut Vec<SourceRecord>,
    ) -> Result<(), SalesforceError> {
        // An empty input tells the reader the data ended, flushing a last row without a
        // line ending.
        self.parse(&[], records)
    }

    fn row(&mut self, records: &mut Vec<SourceRecord>) -> Result<(), SalesforceError> {
        let mut fields = Vec::with_capacity(self.ends_len);
        let mut start = 0;
        for &end in &self.ends[..self.ends_len] {
            let bytes = &self.output[start..end];
            let text = std::str::from_utf8(bytes).map_err(|_| SalesforceError::Csv {
                job: self.job.clone(),
                message: format!("row {} is not UTF-8", records.len() + 1),
            })?;
            fields.push(text.to_owned());
            start = end;
        }
        self.out_len = 0;
        self.ends_len = 0;
        let Some(header) = &self.header else {
            self.header = Some(fields);
            return Ok(());
        };
        if fields.len() != header.len() {
            return Err(SalesforceError::Csv {
                job: self.job.clone(),
                message: format!(
                    "row {} has {} fields but the header has {}",
                    records.len() + 1,
                    fields.len(),
                    header.len()
                ),
            });
        }
        let mut record = SourceRecord::new();
        for (name, value) in header.iter().zip(fields) {
            // Bulk CSV cannot tell an empty string from null; Salesforce stores neither
            // distinctly, so empty is null.
            let value = if value.is_empty() {
                Value::Null
            } else {
                Value::String(value)
            };
            insert_path(&mut record, name, value);
        }
        records.push(record);
        Ok(())
    }
}

/// Puts `Account.Owner.Name` as nested objects, as the REST API renders relationship fields.
fn insert_path(record: &mut SourceRecord, name: &str, value: Value) {
    match name.split_once('.') {
        None => {
            record.insert(name.to_owned(), value);
        }
        Some((head, rest)) => {
            let entry = record
                .entry(head.to_owned())
                .or_insert_with(|| Value::Object(SourceRecord::new()));
            if let Value::Object(inner) = entry {
                insert_path(inner, rest, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_in_pieces(csv: &[u8], piece: usize) -> Vec<SourceRecord> {
        let mut parser = CsvRecords::new("750x");
        let mut records = Vec::new();
        for chunk in csv.chunks(piece.max(1)) {
            parser
                .feed(chunk, &mut records)
                .unwrap_or_else(|e| panic!("{e}"));
        }
        parser
            .finish(&mut records)
            .unwrap_or_else(|e| panic!("{e}"));
        records
    }

    #[test]
    fn rows_split_anywhere_across_network_chunks_parse_the_same() {
        let csv = "\"Id\",\"Name\",\"Description\",\"Account.Name\"\n\"001A\",\"Smith, Jones & \"\"Co\"\"\",\"line one\nline two\",\"Zürich AG\"\n\"001B\",\"\",\"x\",\"\"\n".as_bytes();
        let whole = parse_in_pieces(csv, csv.len());
        assert_eq!(whole.len(), 2);
        assert_eq!(whole[0]["Name"], "Smith, Jones & \"Co\"");
        assert_eq!(whole[0]["Description"], "line one\nline two");
        assert_eq!(whole[0]["Account"]["Name"], "Zürich AG");
        assert_eq!(whole[1]["Name"], Value::Null);
        for piece in [1, 2, 3, 7, 64] {
            assert_eq!(
                parse_in_pieces(csv, piece),
                whole,
                "pieces of {piece} bytes"
            );
        }
    }

    #[test]
    fn a_last_row_without_line_ending_is_kept_and_a_ragged_row_is_an_error() {
        assert_eq!(parse_in_pieces(b"Id,Name\n001A,Acme", 4).len(), 1);
        let mut parser = CsvRecords::new("750x");
        let error = parser
            .feed(b"Id,Name\n001A\n", &mut Vec::new())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            error.contains("row 1 has 1 fields but the header has 2"),
            "{error}"
        );
    }

    #[test]
    fn recorded_job_answers_parse() {
        for body in [
            &include_bytes!(
                "../../../tests/fixtures/salesforce/bulk2/amp_bulk_read-launch-job-account.json"
            )[..],
            &include_bytes!(
                "../../../tests/fixtures/salesforce/bulk2/amp_bulk_info_in-progress.json"
            )[..],
            &include_bytes!("../../../tests/fixtures/salesforce/bulk2/amp_bulk_info_success.json")
                [..],
            &include_bytes!(
                "../../../tests/fixtures/salesforce/bulk2/amp_bulk_info_complete-failure.json"
            )[..],
        ] {
            let job: BulkJob = serde_json::from_slice(body).unwrap_or_else(|e| panic!("{e}"));
            assert!(job.id.starts_with("750"));
            assert_ne!(job.state, BulkJobState::Unknown);
        }
        let failed: BulkJob = serde_json::from_slice(include_bytes!(
            "../../../tests/fixtures/salesforce/bulk2/amp_bulk_info_complete-failure.json"
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(failed.state, BulkJobState::Failed);
        assert!(
            failed
                .error_message
                .unwrap_or_default()
                .contains("InvalidBatch")
        );
    }
}
