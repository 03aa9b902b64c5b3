use super::StepError;
use crate::error::{ErrorClass, PortError};
use crate::ids::RunId;
use crate::model::SourceRecord;
use crate::plan::{ObjectPlan, Plan};
use crate::ports::{ChunkMessage, QueryPageRequest, RunStore, SalesforceApi, Staging, WorkQueue};
use crate::report::ObjectExtraction;

pub struct ExtractPorts<'a> {
    pub salesforce: &'a dyn SalesforceApi,
    pub staging: &'a dyn Staging,
    pub queue: &'a dyn WorkQueue,
    pub runs: &'a dyn RunStore,
}

#[derive(Debug, Clone, Copy)]
pub struct ExtractConfig {
    /// Records per staged chunk; also the load step's batch size.
    pub chunk_records: usize,
}

impl Default for ExtractConfig {
    fn default() -> Self {
        Self {
            chunk_records: 2_000,
        }
    }
}

/// Where a chunk is staged. Keys start with the tenant so one bucket can serve many tenants.
pub fn chunk_key(plan: &Plan, run: &RunId, object: &str, chunk: u32) -> String {
    format!("{}/{run}/chunks/{object}/{chunk:06}.jsonl", plan.tenant)
}

/// Pages through one object and stages it in chunks, one queue message per chunk. At most one
/// chunk is held in memory, whatever the size of the object.
pub async fn extract_object(
    ports: &ExtractPorts<'_>,
    run: &RunId,
    plan: &Plan,
    object: &ObjectPlan,
    config: ExtractConfig,
) -> Result<ObjectExtraction, StepError> {
    let chunk_records = config.chunk_records.max(1);
    let mut request = QueryPageRequest::Start {
        soql: object.soql(),
    };
    let mut buffer: Vec<SourceRecord> = Vec::with_capacity(chunk_records);
    let mut extracted = 0u64;
    let mut chunks = 0u32;
    loop {
        let page = ports
            .salesforce
            .query_page(request)
            .await
            .map_err(StepError::Salesforce)?;
        for mut record in page.records {
            record.remove("attributes");
            buffer.push(record);
            if buffer.len() >= chunk_records {
                extracted += stage_chunk(ports, run, plan, object, chunks, &mut buffer).await?;
                chunks += 1;
            }
        }
        match page.next {
            Some(cursor) => request = QueryPageRequest::Continue { cursor },
            None => break,
        }
    }
    if !buffer.is_empty() {
        extracted += stage_chunk(ports, run, plan, object, chunks, &mut buffer).await?;
        chunks += 1;
    }
    let extraction = ObjectExtraction {
        object: object.object.clone(),
        extracted,
        chunks,
    };
    ports
        .runs
        .record_extraction(run, &extraction)
        .await
        .map_err(StepError::RunStore)?;
    tracing::info!(run_id = %run, object = %object.object, extracted, chunks, "extracted");
    Ok(extraction)
}

async fn stage_chunk(
    ports: &ExtractPorts<'_>,
    run: &RunId,
    plan: &Plan,
    object: &ObjectPlan,
    chunk: u32,
    buffer: &mut Vec<SourceRecord>,
) -> Result<u64, StepError> {
    let mut body = Vec::with_capacity(buffer.len() * 256);
    for record in buffer.iter() {
        // Writing a JSON map into a Vec does not fail in practice; if it ever did, the chunk
        // fails whole rather than being staged with a record missing.
        serde_json::to_writer(&mut body, record).map_err(|error| {
            StepError::Staging(PortError::with_source(
                ErrorClass::Permanent,
                format!("serialising a {} record for staging", object.object),
                error,
            ))
        })?;
        body.push(b'\n');
    }
    let records = buffer.len() as u64;
    buffer.clear();
    let key = chunk_key(plan, run, &object.object, chunk);
    ports
        .staging
        .put(&key, body)
        .await
        .map_err(StepError::Staging)?;
    let message = ChunkMessage {
        run_id: run.clone(),
        tenant: plan.tenant.clone(),
        object: object.object.clone(),
        chunk,
        key,
        records,
    };
    ports.queue.send(&message).await.map_err(StepError::Queue)?;
    tracing::debug!(run_id = %run, object = %object.object, chunk, records, "staged chunk");
    Ok(records)
}
