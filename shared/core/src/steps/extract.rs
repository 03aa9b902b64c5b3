//! Extraction of one object, as a resumable sequence of small steps.
//!
//! [`extract_step`] does one unit of work (create a Bulk API job, poll it once, read and
//! stage one page of results, or read and stage one REST page) and returns where it got to
//! as a serialisable [`ExtractState`]. A Lambda function runs steps until its time is nearly
//! up and hands the state to the state machine; `ferry` runs them in a loop
//! ([`extract_object`]). Waits (a Bulk job still running, the API budget's reserve reached)
//! come back as [`ExtractProgress::Wait`] with a delay, which a state machine turns into a
//! Wait state and the local driver into a sleep.
//!
//! Objects with at least [`ExtractConfig::bulk_threshold`] records go through Bulk API 2.0;
//! smaller ones, and objects Bulk rejects, through the REST query API. Either way at most one
//! page of records is in memory.

use super::StepError;
use crate::pseudonymise::Pseudonymise;
use ferry_model::budget::BudgetPolicy;
use ferry_model::error::{ErrorClass, PortError};
use ferry_model::ids::RunId;
use ferry_model::model::{FieldType, SourceRecord, typed_text_value};
use ferry_model::plan::{ObjectPlan, Plan};
use ferry_model::ports::{
    BulkJobState, ChunkMessage, QueryPage, QueryPageRequest, RunStore, SalesforceApi, Sleeper,
    Staging, WorkQueue,
};
use ferry_model::report::ObjectExtraction;
use futures::StreamExt as _;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::time::Duration;
use time::OffsetDateTime;

pub struct ExtractPorts<'a> {
    pub salesforce: &'a dyn SalesforceApi,
    pub staging: &'a dyn Staging,
    pub queue: &'a dyn WorkQueue,
    pub runs: &'a dyn RunStore,
    /// Pseudonymisation applied before anything is staged, for test and sandbox imports:
    /// the chosen values never reach staging in clear.
    pub pseudonymise: Option<&'a Pseudonymise>,
}

#[derive(Debug, Clone, Copy)]
pub struct ExtractConfig {
    /// Records per staged chunk; also the load step's batch size.
    pub chunk_records: usize,
    /// A chunk is cut short once its JSON reaches this many bytes, so a chunk of wide
    /// records (emails with their bodies) costs the load and verify steps no more memory
    /// than a chunk of narrow ones.
    pub chunk_bytes: usize,
    /// Rows per Bulk API results page (one call each), staged as chunks while the page
    /// streams in; see [`bulk_page_records`].
    pub bulk_page_records: usize,
    /// Objects with at least this many records are extracted through Bulk API 2.0. A Bulk
    /// job costs a few calls before its first record, so small objects go through REST.
    pub bulk_threshold: u64,
    /// Soft-deleted records too (a delta). Every extraction reads through queryAll, which
    /// alone sees archived activities; without this, `IsDeleted = false` leaves out the
    /// recycle bin.
    pub include_deleted: bool,
    /// Delta: only records changed since then (`SystemModstamp`), less
    /// [`ExtractConfig::delta_overlap`].
    pub since: Option<OffsetDateTime>,
    /// How far before `since` a delta starts, so records sharing a timestamp with the last
    /// run's high-water mark, or committed late with an earlier stamp, are not skipped.
    pub delta_overlap: Duration,
    /// Delay before the first re-poll of a running Bulk job; it doubles per poll.
    pub bulk_poll_initial: Duration,
    /// The longest delay between polls. There is no overall timeout: a big job may take
    /// hours, and the progress is reported at every poll.
    pub bulk_poll_max: Duration,
    pub budget: BudgetPolicy,
    /// Files (an attachment's body, a content version's data) larger than this are not
    /// downloaded: they are counted as skipped with their size.
    pub max_file_bytes: u64,
}

impl Default for ExtractConfig {
    fn default() -> Self {
        Self {
            chunk_records: 2_000,
            chunk_bytes: 2 << 20,
            bulk_page_records: BULK_PAGE_RECORDS,
            bulk_threshold: 10_000,
            include_deleted: false,
            since: None,
            delta_overlap: Duration::from_secs(300),
            bulk_poll_initial: Duration::from_millis(500),
            bulk_poll_max: Duration::from_secs(30),
            budget: BudgetPolicy::default(),
            max_file_bytes: super::files::DEFAULT_MAX_FILE_BYTES,
        }
    }
}

/// Rows per Bulk API results page by default: the allowance of one call per 50k records.
pub(crate) const BULK_PAGE_RECORDS: usize = 50_000;

/// Which API an object is read through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExtractMethod {
    Bulk,
    Rest,
}

/// Where extraction of an object stands: small, serialisable, resumable in another process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtractState {
    pub object: String,
    pub method: ExtractMethod,
    pub position: Position,
    pub extracted: u64,
    pub chunks: u32,
    /// Why REST is used for an object big enough for Bulk, when Bulk rejected it.
    pub fallback: Option<String>,
    /// The newest `SystemModstamp` staged so far (RFC 3339, UTC).
    #[serde(default)]
    pub high_water_mark: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "at", rename_all = "snake_case")]
pub enum Position {
    NotStarted,
    /// A Bulk job was created and is not finished; `polls` so far.
    BulkRunning {
        job: String,
        polls: u32,
    },
    /// The job finished; the next page is at `locator` (`None`: the first page).
    BulkResults {
        job: String,
        locator: Option<String>,
    },
    /// REST paging in Id order; `next` is the next page's URL (`None`: the first page) and
    /// `after` the Id of the last record staged. Query locators expire (after about 15
    /// minutes idle, or when an org holds too many); a resumption whose locator has expired
    /// starts a new query at `Id > after`, so a long pause loses nothing and repeats nothing.
    Rest {
        next: Option<String>,
        #[serde(default)]
        after: Option<String>,
    },
    /// An object read only by its parents' Ids (ContentDocumentLink, see
    /// [`ObjectPlan::read_by_parent`]): parents are taken in Id order, [`PARENTS_PER_QUERY`]
    /// at a time, after `after` (the last parent whose records are all staged); `next` is
    /// the next page of the current batch's records, whose last parent is `batch_last`.
    ByParent {
        after: Option<String>,
        #[serde(default)]
        next: Option<String>,
        #[serde(default)]
        batch_last: Option<String>,
    },
}

/// Parent Ids per `field IN (...)` query of an object read by its parents: a few kB of
/// SOQL, well under the URL limit.
pub const PARENTS_PER_QUERY: usize = 200;

/// Ids are [0-9A-Za-z] only; anything else is dropped rather than quoted.
fn clean_id(id: &str) -> String {
    id.chars().filter(char::is_ascii_alphanumeric).collect()
}

/// One batch of parent Ids (at most [`PARENTS_PER_QUERY`]) after `after`, in Id order:
/// one call. `include_deleted` reads the recycle bin's parents too (a delta, whose deleted
/// children must come back).
pub async fn parent_batch(
    salesforce: &dyn SalesforceApi,
    parent: &str,
    after: Option<&str>,
    include_deleted: bool,
) -> Result<Vec<String>, PortError> {
    let condition = after
        .map(|after| format!(" WHERE Id > '{}'", clean_id(after)))
        .unwrap_or_default();
    let page = salesforce
        .query_page(QueryPageRequest::Start {
            soql: format!(
                "SELECT Id FROM {parent}{condition} ORDER BY Id LIMIT {PARENTS_PER_QUERY}"
            ),
            include_deleted,
        })
        .await?;
    Ok(page
        .records
        .iter()
        .filter_map(|record| record.get("Id").and_then(|id| id.as_str()))
        .map(str::to_owned)
        .collect())
}

/// The condition that narrows an object read by its parents to one batch of them.
/// The SOQL reading the records of an object read by its parents
/// ([`ObjectPlan::read_by_parent`]) whose parents are `parents`, in Id order.
pub fn by_parent_soql(object: &ObjectPlan, config: &ExtractConfig, parents: &[String]) -> String {
    let mut conditions = conditions(object, config);
    if let Some(read_by) = &object.read_by_parent {
        conditions.push(parent_condition(&read_by.field, parents));
    }
    let mut soql = object.soql_where(&conditions);
    soql.push_str(" ORDER BY Id");
    soql
}

pub(crate) fn parent_condition(field: &str, parents: &[String]) -> String {
    let ids: Vec<String> = parents
        .iter()
        .map(|id| format!("'{}'", clean_id(id)))
        .collect();
    format!("{field} IN ({})", ids.join(", "))
}

/// The exact count of an object read only by its parents: `COUNT()` per batch of parents,
/// since Salesforce refuses a count of the whole object as it refuses the query.
pub async fn count_by_parent(
    salesforce: &dyn SalesforceApi,
    object: &str,
    field: &str,
    parent: &str,
    soft_deletes: bool,
) -> Result<u64, PortError> {
    let mut total = 0;
    let mut after: Option<String> = None;
    loop {
        let parents = parent_batch(salesforce, parent, after.as_deref(), false).await?;
        let Some(last) = parents.last().cloned() else {
            return Ok(total);
        };
        let counted = format!("{object} WHERE {}", parent_condition(field, &parents));
        total += salesforce.count_records(&counted, soft_deletes).await?;
        after = Some(last);
    }
}

/// Why an extraction asks to be called again later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitReason {
    /// A Bulk job is still running.
    BulkJobRunning { records_processed: u64 },
    /// The API budget's reserve is reached: resume when calls have aged out of the
    /// rolling 24-hour window.
    ApiBudgetReserve { used: u64, limit: u64 },
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExtractProgress {
    /// More to do: call again at once.
    Continue(ExtractState),
    /// Call again after `delay`.
    Wait {
        state: ExtractState,
        delay: Duration,
        reason: WaitReason,
    },
    Done(ObjectExtraction),
}

/// Where a chunk is staged. Keys start with the tenant so one bucket can serve many tenants.
pub(crate) fn chunk_key(plan: &Plan, run: &RunId, object: &str, chunk: u32) -> String {
    format!("{}/{run}/chunks/{object}/{chunk:06}.jsonl", plan.tenant)
}

/// The state an extraction starts from.
pub fn start_state(object: &ObjectPlan, config: &ExtractConfig) -> ExtractState {
    // Bulk cannot take the batches of parent Ids an object read by its parents needs.
    let method = if object.size_hint() >= config.bulk_threshold && object.read_by_parent.is_none() {
        ExtractMethod::Bulk
    } else {
        ExtractMethod::Rest
    };
    ExtractState {
        object: object.object.clone(),
        method,
        position: Position::NotStarted,
        extracted: 0,
        chunks: 0,
        fallback: None,
        high_water_mark: None,
    }
}

/// The SOQL extracting `object`, run through queryAll (REST `/queryAll`, Bulk
/// `queryAll`): `query` leaves out archived activities, which are records like any other.
/// Unless deleted records are wanted (a delta), `IsDeleted = false` leaves out the
/// recycle bin queryAll also returns. A delta is narrowed to records changed since its
/// start.
pub fn extract_soql(object: &ObjectPlan, config: &ExtractConfig) -> String {
    object.soql_where(&conditions(object, config))
}

/// The WHERE clause of [`extract_soql`], one condition each (a variant's own condition is
/// added by [`ObjectPlan::soql_where`]).
fn conditions(object: &ObjectPlan, config: &ExtractConfig) -> Vec<String> {
    let mut conditions = Vec::new();
    if !config.include_deleted && object.soft_deletes {
        conditions.push("IsDeleted = false".to_owned());
    }
    if let Some(since) = config.since {
        let from = since - config.delta_overlap;
        let from = from
            .to_offset(time::UtcOffset::UTC)
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        conditions.push(format!("SystemModstamp >= {from}"));
    }
    conditions
}

/// The SOQL of REST extraction: Id order, so a query can resume after the last Id staged.
pub fn rest_soql(object: &ObjectPlan, config: &ExtractConfig, after: Option<&str>) -> String {
    let mut conditions = conditions(object, config);
    if let Some(after) = after {
        // Ids are [0-9A-Za-z] only; anything else is dropped rather than quoted.
        let after: String = after.chars().filter(char::is_ascii_alphanumeric).collect();
        conditions.push(format!("Id > '{after}'"));
    }
    let mut soql = object.soql_where(&conditions);
    soql.push_str(" ORDER BY Id");
    soql
}

/// Runs [`extract_step`] to the end, sleeping through waits; a pause for the API budget is
/// reported to `progress` with what it waits for and until when.
#[allow(clippy::too_many_arguments)]
pub async fn extract_object(
    ports: &ExtractPorts<'_>,
    sleeper: &dyn Sleeper,
    progress: &dyn ferry_model::ports::Progress,
    run: &RunId,
    plan: &Plan,
    object: &ObjectPlan,
    config: ExtractConfig,
) -> Result<ObjectExtraction, StepError> {
    let mut state = start_state(object, &config);
    loop {
        match extract_step(ports, run, plan, object, &config, state).await? {
            ExtractProgress::Continue(next) => state = next,
            ExtractProgress::Wait {
                state: next,
                delay,
                reason,
            } => {
                tracing::info!(run_id = %run, object = %object.object, ?reason, delay_ms = delay.as_millis() as u64, "waiting");
                if let WaitReason::ApiBudgetReserve { used, limit } = reason {
                    let until = time::OffsetDateTime::now_utc()
                        + time::Duration::try_from(delay).unwrap_or(time::Duration::ZERO);
                    progress.event(ferry_model::runs::ProgressEvent::BudgetPause {
                        object: object.object.clone(),
                        used,
                        limit,
                        reserve: config.budget.reserve(limit),
                        until: until
                            .replace_nanosecond(0)
                            .unwrap_or(until)
                            .format(&time::format_description::well_known::Rfc3339)
                            .unwrap_or_default(),
                    });
                }
                sleeper.sleep(delay).await;
                state = next;
            }
            ExtractProgress::Done(extraction) => return Ok(extraction),
        }
    }
}

/// One unit of extraction work; see the module documentation.
pub async fn extract_step(
    ports: &ExtractPorts<'_>,
    run: &RunId,
    plan: &Plan,
    object: &ObjectPlan,
    config: &ExtractConfig,
    mut state: ExtractState,
) -> Result<ExtractProgress, StepError> {
    // The last answer's figure decides cheaply; when it says the reserve is reached, the
    // org is asked again, since calls age out of the 24-hour window during a pause.
    let cached = ports
        .salesforce
        .api_budget()
        .await
        .map_err(StepError::Salesforce)?;
    let reached = match cached {
        Some(budget) if config.budget.reserve_reached(budget) => ports
            .salesforce
            .fresh_api_budget()
            .await
            .map_err(StepError::Salesforce)?
            .filter(|fresh| config.budget.reserve_reached(*fresh)),
        _ => None,
    };
    if let Some(budget) = reached {
        return Ok(ExtractProgress::Wait {
            state,
            delay: config.budget.pause,
            reason: WaitReason::ApiBudgetReserve {
                used: budget.used,
                limit: budget.limit,
            },
        });
    }
    let position = std::mem::replace(&mut state.position, Position::NotStarted);
    match position {
        Position::NotStarted if state.method == ExtractMethod::Bulk => {
            let soql = extract_soql(object, config);
            match ports
                .salesforce
                // queryAll always: see `extract_soql`.
                .start_bulk_query(&soql, true)
                .await
            {
                Ok(job) => {
                    tracing::info!(run_id = %run, object = %object.object, job = %job.job, "Bulk API query job created");
                    state.position = Position::BulkRunning {
                        job: job.job,
                        polls: 0,
                    };
                    Ok(ExtractProgress::Continue(state))
                }
                Err(error) if error.class() == ErrorClass::Permanent => Ok(
                    ExtractProgress::Continue(fall_back(state, run, &error.chain(), &error)),
                ),
                Err(error) => Err(StepError::Salesforce(error)),
            }
        }
        Position::NotStarted if object.read_by_parent.is_some() => {
            state.position = Position::ByParent {
                after: None,
                next: None,
                batch_last: None,
            };
            Ok(ExtractProgress::Continue(state))
        }
        Position::NotStarted => {
            state.position = Position::Rest {
                next: None,
                after: None,
            };
            Ok(ExtractProgress::Continue(state))
        }
        Position::ByParent {
            after,
            next,
            batch_last,
        } => {
            let Some(read_by) = &object.read_by_parent else {
                return Err(StepError::Salesforce(PortError::permanent(format!(
                    "{} is not read by its parents",
                    object.object
                ))));
            };
            let (page, batch_last) = match next {
                Some(cursor) => (
                    ports
                        .salesforce
                        .query_page(QueryPageRequest::Continue { cursor })
                        .await
                        .map_err(StepError::Salesforce)?,
                    batch_last,
                ),
                None => {
                    let parents = parent_batch(
                        ports.salesforce,
                        &read_by.parent,
                        after.as_deref(),
                        config.include_deleted,
                    )
                    .await
                    .map_err(StepError::Salesforce)?;
                    let Some(last) = parents.last().cloned() else {
                        return finish(ports, run, state).await;
                    };
                    let soql = by_parent_soql(object, config, &parents);
                    let page = ports
                        .salesforce
                        .query_page(QueryPageRequest::Start {
                            soql,
                            include_deleted: true,
                        })
                        .await
                        .map_err(StepError::Salesforce)?;
                    (page, Some(last))
                }
            };
            let more = page.next.clone();
            stage_page(ports, run, plan, object, config, &mut state, page, None).await?;
            state.position = match more {
                Some(cursor) => Position::ByParent {
                    after,
                    next: Some(cursor),
                    batch_last,
                },
                None => Position::ByParent {
                    after: batch_last,
                    next: None,
                    batch_last: None,
                },
            };
            Ok(ExtractProgress::Continue(state))
        }
        Position::BulkRunning { job, polls } => {
            let status = ports
                .salesforce
                .bulk_query_status(&job)
                .await
                .map_err(StepError::Salesforce)?;
            match status.state {
                BulkJobState::Complete => {
                    tracing::info!(run_id = %run, object = %object.object, job = %job, records = status.records_processed, "Bulk API job complete");
                    state.position = Position::BulkResults { job, locator: None };
                    Ok(ExtractProgress::Continue(state))
                }
                BulkJobState::Running => {
                    tracing::info!(run_id = %run, object = %object.object, job = %job, records = status.records_processed, polls, "Bulk API job running");
                    let delay = poll_delay(config, polls);
                    state.position = Position::BulkRunning {
                        job,
                        polls: polls + 1,
                    };
                    Ok(ExtractProgress::Wait {
                        state,
                        delay,
                        reason: WaitReason::BulkJobRunning {
                            records_processed: status.records_processed,
                        },
                    })
                }
                BulkJobState::Failed => {
                    let reason = status.error.unwrap_or_else(|| "no reason given".to_owned());
                    let error =
                        PortError::permanent(format!("Bulk API job {job} failed: {reason}"));
                    Ok(ExtractProgress::Continue(fall_back(
                        state, run, &reason, &error,
                    )))
                }
                BulkJobState::Aborted => Err(StepError::Salesforce(PortError::permanent(format!(
                    "Bulk API job {job} extracting {} was aborted in Salesforce",
                    object.object
                )))),
            }
        }
        Position::BulkResults { job, locator } => {
            let next = stage_bulk_page(
                ports,
                run,
                plan,
                object,
                config,
                &mut state,
                &job,
                locator.as_deref(),
            )
            .await?;
            match next {
                Some(locator) => {
                    state.position = Position::BulkResults {
                        job,
                        locator: Some(locator),
                    };
                    Ok(ExtractProgress::Continue(state))
                }
                None => finish(ports, run, state).await,
            }
        }
        Position::Rest { next, after } => {
            let start = |after: Option<&str>| QueryPageRequest::Start {
                soql: rest_soql(object, config, after),
                include_deleted: true,
            };
            let request = match &next {
                Some(cursor) => QueryPageRequest::Continue {
                    cursor: cursor.clone(),
                },
                None => start(after.as_deref()),
            };
            let page = match ports.salesforce.query_page(request).await {
                Ok(page) => page,
                Err(error) if next.is_some() && error.chain().contains("INVALID_QUERY_LOCATOR") => {
                    tracing::info!(run_id = %run, object = %object.object, after = ?after, "query locator expired; resuming after the last Id staged");
                    ports
                        .salesforce
                        .query_page(start(after.as_deref()))
                        .await
                        .map_err(StepError::Salesforce)?
                }
                Err(error) => return Err(StepError::Salesforce(error)),
            };
            let next = page.next.clone();
            let last = page
                .records
                .last()
                .and_then(|record| record.get("Id"))
                .and_then(|id| id.as_str())
                .map(str::to_owned)
                .or(after);
            stage_page(ports, run, plan, object, config, &mut state, page, None).await?;
            match next {
                Some(cursor) => {
                    state.position = Position::Rest {
                        next: Some(cursor),
                        after: last,
                    };
                    Ok(ExtractProgress::Continue(state))
                }
                None => finish(ports, run, state).await,
            }
        }
    }
}

/// Switches an object Bulk cannot serve to REST, keeping the reason for the report. This
/// happens before any Bulk result is staged, so REST starts from the first record.
fn fall_back(
    mut state: ExtractState,
    run: &RunId,
    reason: &str,
    error: &PortError,
) -> ExtractState {
    tracing::warn!(run_id = %run, object = %state.object, reason, error = %error, "Bulk API cannot serve this object; falling back to REST");
    state.method = ExtractMethod::Rest;
    state.fallback = Some(reason.to_owned());
    state.position = Position::Rest {
        next: None,
        after: None,
    };
    state
}

fn poll_delay(config: &ExtractConfig, polls: u32) -> Duration {
    if polls == 0 {
        // The first re-poll comes soon: small jobs finish within a second.
        return config.bulk_poll_initial;
    }
    config
        .bulk_poll_initial
        .saturating_mul(2u32.saturating_pow(polls.min(16)))
        .min(config.bulk_poll_max)
}

async fn finish(
    ports: &ExtractPorts<'_>,
    run: &RunId,
    state: ExtractState,
) -> Result<ExtractProgress, StepError> {
    let extraction = ObjectExtraction {
        object: state.object.clone(),
        extracted: state.extracted,
        chunks: state.chunks,
        api: Some(
            match state.method {
                ExtractMethod::Bulk => "bulk",
                ExtractMethod::Rest => "rest",
            }
            .to_owned(),
        ),
        fallback: state.fallback.clone(),
        high_water_mark: state.high_water_mark.clone(),
    };
    ports
        .runs
        .record_extraction(run, &extraction)
        .await
        .map_err(StepError::RunStore)?;
    tracing::info!(run_id = %run, object = %state.object, extracted = state.extracted, chunks = state.chunks, method = ?state.method, fallback = ?state.fallback, "extracted");
    Ok(ExtractProgress::Done(extraction))
}

/// The Salesforce type of each selected field, for turning Bulk CSV text into JSON values.
/// The field types pseudonymisation goes by: the object's fields, with its id, links and
/// replacement reference as references (kept, never pseudonymised).
pub(super) fn pseudonymise_types(object: &ObjectPlan) -> HashMap<String, FieldType> {
    let mut types = field_types(object);
    types.insert("Id".to_owned(), FieldType::Reference);
    for link in &object.links {
        types.insert(link.source.clone(), FieldType::Reference);
    }
    if let Some(replaced) = &object.replaced_by {
        types.insert(replaced.source.clone(), FieldType::Reference);
    }
    types
}

fn field_types(object: &ObjectPlan) -> HashMap<String, FieldType> {
    let mut types = HashMap::new();
    for field in &object.fields {
        types.insert(field.source.clone(), field.source_type.clone());
    }
    for field in &object.custom_fields {
        types.insert(field.source.clone(), field.source_type.clone());
    }
    if let Some(blob) = &object.blob {
        types.insert(blob.source.clone(), FieldType::TextArea);
    }
    types
}

/// File bodies downloaded at once while staging one object's chunk. A download is mostly
/// waiting (the call's latency), so several run at once; the Salesforce client bounds the
/// requests in flight across objects.
pub const FILE_DOWNLOADS_IN_FLIGHT: usize = 8;

/// Stages a page as one or more chunks of at most `chunk_records` records.
#[allow(clippy::too_many_arguments)]
async fn stage_page(
    ports: &ExtractPorts<'_>,
    run: &RunId,
    plan: &Plan,
    object: &ObjectPlan,
    config: &ExtractConfig,
    state: &mut ExtractState,
    page: QueryPage,
    csv_types: Option<&HashMap<String, FieldType>>,
) -> Result<(), StepError> {
    let chunk_records = config.chunk_records.max(1);
    let mut records = page.records.into_iter().peekable();
    while records.peek().is_some() {
        let chunk: Vec<SourceRecord> = records.by_ref().take(chunk_records).collect();
        stage_chunk(ports, run, plan, object, config, state, chunk, csv_types).await?;
    }
    Ok(())
}

/// Reads one Bulk results page of `page_records` rows at most and stages it chunk by chunk
/// as it streams in (see [`SalesforceApi::bulk_query_results_chunked`]). Returns the next
/// page's locator.
#[allow(clippy::too_many_arguments)]
async fn stage_bulk_page(
    ports: &ExtractPorts<'_>,
    run: &RunId,
    plan: &Plan,
    object: &ObjectPlan,
    config: &ExtractConfig,
    state: &mut ExtractState,
    job: &str,
    locator: Option<&str>,
) -> Result<Option<String>, StepError> {
    let types = field_types(object);
    // One chunk read ahead while the previous one is staged.
    let (sender, mut receiver) = futures::channel::mpsc::channel::<Vec<SourceRecord>>(1);
    let read = ports.salesforce.bulk_query_results_chunked(
        job,
        locator,
        bulk_page_records(object, config),
        config.chunk_records.max(1),
        sender,
    );
    let types = &types;
    // The receiver moves in, so a failed staging drops it and the reader stops too.
    let stage = async move {
        while let Some(chunk) = receiver.next().await {
            stage_chunk(ports, run, plan, object, config, state, chunk, Some(types)).await?;
        }
        Ok::<_, StepError>(())
    };
    // The reader's error is only "the consumer stopped" when staging failed, so staging's
    // error is the one returned then.
    let (read, staged) = futures::future::join(read, stage).await;
    staged?;
    read.map_err(StepError::Salesforce)
}

/// Rows per Bulk results page: Salesforce's 50k (one call each), except for objects whose
/// records each carry a file to download, whose pages stay one chunk long so that a step
/// (one page) stays short in a Lambda function's time.
pub fn bulk_page_records(object: &ObjectPlan, config: &ExtractConfig) -> u32 {
    let rows = if object.blob.is_some() {
        config.chunk_records
    } else {
        config.bulk_page_records.max(config.chunk_records)
    };
    u32::try_from(rows.max(1)).unwrap_or(u32::MAX)
}

/// Stages one chunk: types CSV values, fetches file bodies, pseudonymises, writes the
/// chunk to staging and sends its message to the load queue; a chunk whose JSON reaches
/// [`ExtractConfig::chunk_bytes`] is staged as several.
#[allow(clippy::too_many_arguments)]
async fn stage_chunk(
    ports: &ExtractPorts<'_>,
    run: &RunId,
    plan: &Plan,
    object: &ObjectPlan,
    config: &ExtractConfig,
    state: &mut ExtractState,
    chunk: Vec<SourceRecord>,
    csv_types: Option<&HashMap<String, FieldType>>,
) -> Result<(), StepError> {
    // Salesforce's clock, read before anything (pseudonymisation) can touch the records.
    note_high_water_mark(state, &chunk);
    // What pseudonymisation needs is worked out once per chunk, not per record.
    let pseudonymise = ports
        .pseudonymise
        .map(|pseudonymise| {
            (
                &pseudonymise.pseudonymiser,
                pseudonymise.config.for_object(plan, object),
            )
        })
        .filter(|(_, config)| config.touches_object(object.salesforce_object()))
        .map(|(pseudonymiser, config)| (pseudonymiser, config, pseudonymise_types(object)));
    // Records whose object has a binary field each cost a download; those run a few at
    // a time (the client bounds requests in flight).
    let concurrency = if object.blob.is_some() || super::files::has_long_text(object) {
        FILE_DOWNLOADS_IN_FLIGHT
    } else {
        1
    };
    let prepare = |mut record: SourceRecord| {
        let pseudonymise = &pseudonymise;
        async move {
            record.remove("attributes");
            if let Some(types) = csv_types {
                type_csv_record(&mut record, types);
            }
            // Text held in a binary field (a content note's body) joins the record before
            // pseudonymisation, so it is never staged in clear when its object is chosen.
            super::files::inline_text_blob(
                ports.salesforce,
                object,
                &mut record,
                config.max_file_bytes,
            )
            .await?;
            // Images in rich-text values are brought out of Salesforce (staged as files of
            // the record) before anything is staged: a staged value never points at the org.
            super::files::stage_rich_text_images(
                ports.salesforce,
                Some((ports.staging, run, plan)),
                object,
                &mut record,
            )
            .await?;
            if let Some((pseudonymiser, config, types)) = pseudonymise {
                pseudonymiser.apply(config, object.salesforce_object(), &mut record, |field| {
                    types.get(field).cloned()
                });
            }
            super::files::stage_record_blob(
                ports.salesforce,
                ports.staging,
                run,
                plan,
                object,
                &mut record,
                config.max_file_bytes,
            )
            .await?;
            Ok::<_, StepError>(record)
        }
    };
    // Downloads finish out of order (a large file takes longer than its neighbours), so
    // they are not made to wait for one another; the records are staged in their order
    // all the same.
    let chunk_len = chunk.len();
    let mut prepared: Vec<Option<SourceRecord>> = vec![None; chunk_len];
    let mut preparing = futures::stream::iter(chunk.into_iter().enumerate())
        .map(|(index, record)| {
            let prepare = &prepare;
            async move { (index, prepare(record).await) }
        })
        .buffer_unordered(concurrency);
    while let Some((index, record)) = preparing.next().await {
        prepared[index] = Some(record?);
    }
    drop(preparing);
    let mut body = Vec::with_capacity(chunk_len * 256);
    let mut count = 0u64;
    for record in prepared.iter().flatten() {
        write_record(&mut body, record, &object.object)?;
        count += 1;
        if body.len() >= config.chunk_bytes {
            let full = std::mem::replace(&mut body, Vec::with_capacity(chunk_len * 256));
            stage_body(ports, run, plan, object, state, full, count).await?;
            count = 0;
        }
    }
    if count > 0 {
        stage_body(ports, run, plan, object, state, body, count).await?;
    }
    Ok(())
}

/// Raises the state's high-water mark to the newest `SystemModstamp` of `records`.
fn note_high_water_mark(state: &mut ExtractState, records: &[SourceRecord]) {
    let rfc3339 = &time::format_description::well_known::Rfc3339;
    let newest = records
        .iter()
        .filter_map(|record| record.get("SystemModstamp")?.as_str())
        .filter_map(|text| crate::transform::salesforce_datetime_to_utc(text).ok())
        .filter_map(|text| OffsetDateTime::parse(&text, rfc3339).ok())
        .max();
    let current = state
        .high_water_mark
        .as_deref()
        .and_then(|mark| OffsetDateTime::parse(mark, rfc3339).ok());
    if let Some(newest) = newest
        && current.is_none_or(|current| newest > current)
    {
        state.high_water_mark = newest.format(rfc3339).ok();
    }
}

/// Stages one chunk's JSON Lines and sends its message to the load queue.
async fn stage_body(
    ports: &ExtractPorts<'_>,
    run: &RunId,
    plan: &Plan,
    object: &ObjectPlan,
    state: &mut ExtractState,
    body: Vec<u8>,
    count: u64,
) -> Result<(), StepError> {
    let chunk = state.chunks;
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
        records: count,
    };
    ports.queue.send(&message).await.map_err(StepError::Queue)?;
    tracing::debug!(run_id = %run, object = %object.object, chunk, records = count, "staged chunk");
    state.chunks += 1;
    state.extracted += count;
    Ok(())
}

/// Bulk CSV carries every value as text; numbers and booleans get their JSON types back,
/// so a record reads the same whichever API extracted it.
fn type_csv_record(record: &mut SourceRecord, types: &HashMap<String, FieldType>) {
    for (name, value) in record.iter_mut() {
        if let (Some(field_type), serde_json::Value::String(text)) = (types.get(name), &*value) {
            *value = typed_text_value(field_type, text);
        }
    }
}

fn write_record(body: &mut Vec<u8>, record: &SourceRecord, object: &str) -> Result<(), StepError> {
    // Writing a JSON map into a Vec does not fail in practice; if it ever did, the chunk
    // fails whole rather than being staged with a record missing.
    serde_json::to_writer(&mut *body, record).map_err(|error| {
        StepError::Staging(PortError::with_source(
            ErrorClass::Permanent,
            format!("serialising a {object} record for staging"),
            error,
        ))
    })?;
    body.push(b'\n');
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bulk_polls_back_off_to_the_cap() {
        let config = ExtractConfig {
            bulk_poll_initial: Duration::from_millis(500),
            bulk_poll_max: Duration::from_secs(5),
            ..ExtractConfig::default()
        };
        let delays: Vec<u128> = (0..6).map(|p| poll_delay(&config, p).as_millis()).collect();
        assert_eq!(delays, vec![500, 1000, 2000, 4000, 5000, 5000]);
        assert_eq!(poll_delay(&config, u32::MAX), Duration::from_secs(5));
    }

    #[test]
    fn state_round_trips_through_json_for_the_state_machine() {
        let state = ExtractState {
            object: "Contact".to_owned(),
            method: ExtractMethod::Bulk,
            position: Position::BulkResults {
                job: "750x".to_owned(),
                locator: Some("MTAwMDA".to_owned()),
            },
            extracted: 10_000,
            chunks: 5,
            fallback: None,
            high_water_mark: None,
        };
        let json = serde_json::to_string(&state).unwrap_or_default();
        assert!(
            json.contains(r#""position":{"at":"bulk_results","job":"750x","locator":"MTAwMDA"}"#),
            "{json}"
        );
        assert_eq!(
            serde_json::from_str::<ExtractState>(&json).ok(),
            Some(state)
        );
    }
}
