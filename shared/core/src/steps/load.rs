//! Loading one staged chunk, in four phases:
//!
//! 1. **Read** ([`read_chunk`], pure): parse each line, transform it, validate it. What a
//!    record needs from the ID map and the destination is then known: the targets of its
//!    links, the record a converted record became, the contact a lead may merge into, its
//!    own ID-map entry.
//! 2. **Look up** (async, reads only): those keys, in a few batched calls.
//! 3. **Prepare** ([`prepare_chunk`], pure): resolve links against what was looked up,
//!    match users to destination users, merge leads, tell unchanged records (same content
//!    hash as their ID-map entry) from the ones to send, and give every record of the chunk
//!    exactly one [`RecordDecision`].
//! 4. **Commit** (async, the writes): journal, upsert, files, deferred links, pending
//!    deletions, ID map, chunk result.
//!
//! The pure phases take and return owned values and touch no port, so they can run on
//! another thread (a blocking pool) while the async phases wait on the network; they are
//! also what the unit tests below exercise without any adapter.
//!
//! # Write order, and why
//!
//! Every write is safe to repeat (a redelivered message, a resumed run), and a crash
//! between any two of them leaves a state from which loading the chunk again ends where one
//! clean load would:
//!
//! 1. **Journal** (after reading what the destination holds now for records it already has):
//!    before anything changes, so a rollback can undo it. The journal keeps its first entry
//!    per record, so a reload cannot replace the true "before" with this run's own write;
//!    records this run already wrote are journaled already and cost no read.
//! 2. **Upsert**: the destination upserts by Salesforce id, so a second attempt updates
//!    instead of duplicating.
//! 3. **Files**: a file's bytes go after its record, which must exist to receive them.
//! 4. **Deferred links, then pending deletions**: before the ID map, so that once the ID map
//!    holds a record with this run's hash, everything finalize needs for it is stored.
//! 5. **ID map**: after the destination answered (an entry always names a record that
//!    exists) and before the chunk result. A crash before it leaves the chunk to be loaded
//!    again; a crash after it leaves entries whose last run is this run, which are sent
//!    again rather than skipped as unchanged, so the reload rebuilds the deferred links and
//!    counts exactly (and counts by the ID map, so a record this run created stays
//!    "created").
//! 6. **Chunk result**: last, as the mark that the chunk is done; the run store replaces an
//!    earlier result for the same chunk, so counts never double.
//!
//! # Counts
//!
//! Each non-blank line of the chunk becomes one [`PreparedRecord`] with one decision, and
//! each decision adds to exactly one count of the [`ChunkResult`]: created, updated,
//! unchanged, skipped, failed or deleted in Salesforce. A record sent to the destination is
//! created or updated, or failed when the destination refuses it. A skipped or failed record
//! carries its reason; the chunk's issues list, record by record in line order, the reason
//! first and then what else was found (values dropped, warnings).

use super::StepError;
use crate::transform::{
    Reference, StagedBlob, StagedImage, TransformedRecord, content_hash, transform_record,
};
use crate::validate::{Finding, Verdict, validate_record};
use ferry_model::ids::{DestinationId, RunId, SalesforceId, TenantId};
use ferry_model::mapping::EntityKind;
use ferry_model::model::SourceRecord;
use ferry_model::plan::{ObjectPlan, Plan};
use ferry_model::policy::Action;
use ferry_model::policy::ValidationPolicy;
use ferry_model::ports::{
    ChunkMessage, DeferredLink, Destination, DestinationUser, IdMap, IdMapEntry, RunStore, Staging,
    UpsertOutcome, UserStatus,
};
use ferry_model::records::DestinationRecord;
use ferry_model::report::{ChunkResult, IssueKind, RecordIssue};
use ferry_model::runs::{JournalAction, JournalEntry, PendingDeletion, StoredIdMapEntry};
use std::collections::{BTreeMap, BTreeSet, HashMap};

pub struct LoadPorts<'a> {
    pub staging: &'a dyn Staging,
    pub id_map: &'a dyn IdMap,
    pub destination: &'a dyn Destination,
    pub runs: &'a dyn RunStore,
}

/// Loads one staged chunk: read it, look up what its records need, decide per record, and
/// commit (see the module documentation for the phases and the write order).
///
/// Safe to run twice for the same message: the destination upserts by Salesforce id, the
/// journal keeps its first entry per record, and the run store replaces the chunk's earlier
/// result.
pub async fn load_chunk(
    ports: &LoadPorts<'_>,
    message: &ChunkMessage,
) -> Result<ChunkResult, StepError> {
    let run = &message.run_id;
    let plan = ports
        .runs
        .load_plan(run)
        .await
        .map_err(StepError::RunStore)?;
    let object = plan
        .object(&message.object)
        .ok_or_else(|| StepError::UnknownObject {
            run: run.to_string(),
            object: message.object.clone(),
        })?;
    let body = ports
        .staging
        .get(&message.key)
        .await
        .map_err(StepError::Staging)?;
    let read = read_chunk(ChunkToRead {
        object: object.clone(),
        validation: plan.validation.clone(),
        merging: plan.merge_leads_by_email && object.object == super::merge::LEAD,
        key: message.key.clone(),
        body,
    });
    let looked_up = look_up(ports, &plan, run, &read).await?;
    let prepared = prepare_chunk(LoadInput {
        read,
        run: run.clone(),
        chunk: message.chunk,
        default_owner: plan.default_owner.clone(),
        looked_up,
    });
    commit_chunk(ports, &plan.tenant, prepared).await
}

// ---------------------------------------------------------------------------------------
// Phase 1: read (pure).

/// What reading a chunk needs, owned, so that reading can move to another thread.
#[derive(Debug, Clone)]
pub struct ChunkToRead {
    pub object: ObjectPlan,
    pub validation: ValidationPolicy,
    /// Merge-on-import applies to this chunk (`Plan::merge_leads_by_email`, and the object
    /// is the lead): each lead's normalised email is kept for the look-up.
    pub merging: bool,
    /// The chunk's staging key, named in the reason of a line that is not JSON.
    pub key: String,
    /// The chunk's JSON Lines. Dropped once read: the records are all that is needed after.
    pub body: Vec<u8>,
}

/// A chunk read: one [`ReadRecord`] per non-blank line, in line order.
#[derive(Debug, Clone)]
pub struct ReadChunk {
    pub object: ObjectPlan,
    pub merging: bool,
    pub records: Vec<ReadRecord>,
}

/// What reading made of one line.
#[derive(Debug, Clone)]
pub enum ReadRecord {
    /// Skipped or failed already: not JSON, refused by the transform (the issue's kind says
    /// which), skipped by validation, or deleted in Salesforce without a readable Id.
    Refused {
        reason: RecordIssue,
        /// What else was found about the record (values dropped, further findings).
        notes: Vec<RecordIssue>,
    },
    /// Reported deleted by Salesforce (a delta's `IsDeleted`). A replaced record (a person
    /// contact) stands for the record that replaced it, whose own deletion deletes the
    /// destination record: deleting it deletes nothing.
    Deleted {
        salesforce_id: SalesforceId,
        replaced: bool,
    },
    /// Lands as another record (a converted lead as its contact), which it names.
    Replaced {
        record: Box<TransformedRecord>,
        replacement: Reference,
        /// For a record replaced only when the ID map names its replacement by the record's
        /// own id ([`ferry_model::plan::ReplacedBy::own_id`]: a task an email stands for),
        /// the record as it lands when none does.
        fallback: Option<Box<ReadRecord>>,
    },
    /// Transformed and valid: it lands, or stands for a destination record (a user, a
    /// merged lead), once the look-up says how.
    Valid {
        record: Box<TransformedRecord>,
        /// Values dropped by the transform or validation, and validation's warnings.
        notes: Vec<RecordIssue>,
        /// The record's normalised email, kept only when the chunk is merging.
        email: Option<String>,
    },
}

/// One record through the transform and validation, before anything is looked up. Shared
/// by the load, the verification (which rebuilds what was sent) and the dry run.
#[derive(Debug, Clone)]
pub(crate) enum CheckedRecord {
    /// The transform refused the record.
    Refused(RecordIssue),
    /// The record lands as another; it is not validated, since it is not sent.
    Replaced {
        record: TransformedRecord,
        replacement: Reference,
    },
    /// Validated. The transform's own issues (links dropped) are still in `record.issues`.
    Validated {
        record: TransformedRecord,
        findings: Vec<Finding>,
        verdict: Verdict,
    },
}

/// Transforms and validates one record.
pub(crate) fn check_record(
    object: &ObjectPlan,
    policy: &ValidationPolicy,
    source: &SourceRecord,
) -> CheckedRecord {
    match transform_record(object, source) {
        Err(issue) => CheckedRecord::Refused(issue),
        Ok(mut record) => match record.replaced_by.take() {
            Some(replacement) => CheckedRecord::Replaced {
                record,
                replacement,
            },
            None => {
                let (findings, verdict) = validate_record(object, &mut record, policy);
                CheckedRecord::Validated {
                    record,
                    findings,
                    verdict,
                }
            }
        },
    }
}

/// Reads a chunk: every non-blank line becomes one [`ReadRecord`].
pub fn read_chunk(chunk: ChunkToRead) -> ReadChunk {
    let ChunkToRead {
        object,
        validation,
        merging,
        key,
        body,
    } = chunk;
    let mut records = Vec::new();
    for (line_number, line) in body.split(|byte| *byte == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let read = match serde_json::from_slice::<SourceRecord>(line) {
            Ok(source) => read_record(&object, &validation, merging, &source),
            Err(error) => ReadRecord::Refused {
                reason: RecordIssue {
                    object: object.object.clone(),
                    salesforce_id: None,
                    field: None,
                    kind: IssueKind::Failed,
                    reason: format!(
                        "line {} of {key} is not a JSON record: {error}",
                        line_number + 1
                    ),
                },
                notes: Vec::new(),
            },
        };
        records.push(read);
    }
    ReadChunk {
        object,
        merging,
        records,
    }
}

fn read_record(
    object: &ObjectPlan,
    policy: &ValidationPolicy,
    merging: bool,
    source: &SourceRecord,
) -> ReadRecord {
    if is_deleted(source) {
        return match deleted_id(source) {
            Some(salesforce_id) => ReadRecord::Deleted {
                salesforce_id,
                // Whether a record replaced by its own id was replaced, the ID map says.
                replaced: crate::transform::is_replaced(object, source) && !own_id_replaced(object),
            },
            None => ReadRecord::Refused {
                reason: RecordIssue {
                    object: object.object.clone(),
                    salesforce_id: source
                        .get("Id")
                        .and_then(|id| id.as_str())
                        .map(str::to_owned),
                    field: Some("Id".to_owned()),
                    kind: IssueKind::Failed,
                    reason: "deleted in Salesforce, but its Id is not a Salesforce id".to_owned(),
                },
                notes: Vec::new(),
            },
        };
    }
    match check_record(object, policy, source) {
        CheckedRecord::Refused(reason) => ReadRecord::Refused {
            reason,
            notes: Vec::new(),
        },
        // What the transform dropped from a replaced record does not matter: it is not sent.
        CheckedRecord::Replaced {
            record,
            replacement,
        } => {
            let fallback = object
                .replaced_by
                .as_ref()
                .is_some_and(|replaced| replaced.own_id)
                .then(|| {
                    let mut record = record.clone();
                    let (findings, verdict) = validate_record(object, &mut record, policy);
                    Box::new(validated_read(
                        object, merging, source, record, findings, verdict,
                    ))
                });
            ReadRecord::Replaced {
                record: Box::new(record),
                replacement,
                fallback,
            }
        }
        CheckedRecord::Validated {
            record,
            findings,
            verdict,
        } => validated_read(object, merging, source, record, findings, verdict),
    }
}

/// Whether the object's records are replaced by the record that names them by their own id
/// ([`ferry_model::plan::ReplacedBy::own_id`]), when the ID map has it.
fn own_id_replaced(object: &ObjectPlan) -> bool {
    object.replaced_by.as_ref().is_some_and(|r| r.own_id)
}

/// A transformed and validated record as the load reads it.
fn validated_read(
    object: &ObjectPlan,
    merging: bool,
    source: &SourceRecord,
    mut record: TransformedRecord,
    findings: Vec<Finding>,
    verdict: Verdict,
) -> ReadRecord {
    {
        {
            let mut notes = std::mem::take(&mut record.issues);
            let (skip, mut reported) = report_findings(&findings, verdict);
            notes.append(&mut reported);
            match (verdict, skip) {
                (Verdict::Load, _) => ReadRecord::Valid {
                    email: merging
                        .then(|| super::merge::source_email(source))
                        .flatten(),
                    record: Box::new(record),
                    notes,
                },
                (Verdict::Skip, Some(reason)) => ReadRecord::Refused { reason, notes },
                // Validation says Skip only with a skipping finding; should that ever change,
                // the record is still counted, with a reason.
                (Verdict::Skip, None) => ReadRecord::Refused {
                    reason: RecordIssue {
                        object: object.object.clone(),
                        salesforce_id: Some(record.record.source_id.to_string()),
                        field: None,
                        kind: IssueKind::Skipped,
                        reason: "validation skipped the record".to_owned(),
                    },
                    notes,
                },
            }
        }
    }
}

/// Reports a record's validation findings: the reason it is skipped, if it is, and the
/// rest. A skipped record counts once: its first skipping finding is the skip, any further
/// ones are reported as warnings beside it.
fn report_findings(
    findings: &[Finding],
    verdict: Verdict,
) -> (Option<RecordIssue>, Vec<RecordIssue>) {
    let mut skip = None;
    let mut notes = Vec::new();
    for finding in findings {
        let mut issue = finding.to_issue();
        if finding.action == Action::SkipRecord {
            if skip.is_none() && verdict == Verdict::Skip {
                skip = Some(issue);
                continue;
            }
            issue.kind = IssueKind::Warning;
        }
        notes.push(issue);
    }
    (skip, notes)
}

/// True for a record Salesforce reports deleted (`IsDeleted`, selected by delta runs through
/// queryAll). Bulk results carry it as text.
pub(crate) fn is_deleted(source: &SourceRecord) -> bool {
    match source.get("IsDeleted") {
        Some(serde_json::Value::Bool(deleted)) => *deleted,
        Some(serde_json::Value::String(text)) => text.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

fn deleted_id(source: &SourceRecord) -> Option<SalesforceId> {
    source
        .get("Id")
        .and_then(|id| id.as_str())
        .and_then(|id| SalesforceId::parse(id).ok())
}

/// Salesforce ids to look up in the ID map, by Salesforce object.
pub type WantedIds = BTreeMap<String, BTreeSet<SalesforceId>>;

/// What the ID map holds for looked-up ids: destination ids by Salesforce object and id.
pub type Landed = HashMap<String, HashMap<SalesforceId, DestinationId>>;

/// For each email a lead may merge on, the contact that wins it and its destination id
/// ([`super::merge`]).
pub type MergeWinners = BTreeMap<String, (SalesforceId, DestinationId)>;

/// The targets of the records' links.
pub(crate) fn link_targets<'a>(
    records: impl IntoIterator<Item = &'a TransformedRecord>,
) -> WantedIds {
    let mut wanted = WantedIds::new();
    for record in records {
        for reference in &record.references {
            for (object, _) in reference.candidates() {
                wanted
                    .entry(object.to_owned())
                    .or_default()
                    .insert(reference.target.clone());
            }
        }
    }
    wanted
}

impl ReadChunk {
    /// The records that replace the chunk's converted records.
    pub fn replacement_targets(&self) -> WantedIds {
        let mut wanted = WantedIds::new();
        for record in &self.records {
            // A deleted record replaced by its own id (an email's task) was replaced if the
            // replacing object's entries name it: its deletion then deletes nothing.
            if let (ReadRecord::Deleted { salesforce_id, .. }, Some(replaced)) = (
                record,
                self.object.replaced_by.as_ref().filter(|r| r.own_id),
            ) {
                wanted
                    .entry(replaced.target_object.clone())
                    .or_default()
                    .insert(salesforce_id.clone());
            }
            if let ReadRecord::Replaced { replacement, .. } = record {
                for (object, _) in replacement.candidates() {
                    wanted
                        .entry(object.to_owned())
                        .or_default()
                        .insert(replacement.target.clone());
                }
            }
        }
        wanted
    }

    /// Whether the chunk's users are matched to the destination's users (so their list is
    /// needed): users are never created.
    pub fn matches_users(&self) -> bool {
        !self.object.entity.created_by_migration()
    }

    /// The emails on which the chunk's valid leads may merge into a contact.
    pub fn merge_emails(&self) -> BTreeSet<&str> {
        self.records
            .iter()
            .filter_map(|record| match record {
                ReadRecord::Valid {
                    email: Some(email), ..
                } if self.merging => Some(email.as_str()),
                _ => None,
            })
            .collect()
    }

    /// The valid records that go to the destination (unless unchanged): neither users nor
    /// leads merged into a contact. [`prepare_chunk`] decides by the same rule.
    fn records_to_send<'a>(
        &'a self,
        merge_winners: &'a MergeWinners,
    ) -> impl Iterator<Item = &'a TransformedRecord> + 'a {
        self.records.iter().filter_map(move |record| {
            // A record that lands as itself when no replacement is found may be sent too.
            let record = match record {
                ReadRecord::Replaced {
                    fallback: Some(fallback),
                    ..
                } => fallback.as_ref(),
                other => other,
            };
            match record {
                ReadRecord::Valid { record, email, .. }
                    if !self.matches_users()
                        && merge_winner(self.merging, email, merge_winners).is_none() =>
                {
                    Some(record.as_ref())
                }
                _ => None,
            }
        })
    }

    /// The targets of the links of the records to send.
    pub fn link_targets(&self, merge_winners: &MergeWinners) -> WantedIds {
        link_targets(self.records_to_send(merge_winners))
    }

    /// The records whose own ID-map entry matters: the ones to send (unchanged or not,
    /// created or updated, and what to journal) and the ones deleted in Salesforce (what to
    /// delete from the destination).
    pub fn own_ids(&self, merge_winners: &MergeWinners) -> Vec<SalesforceId> {
        let mut ids: Vec<SalesforceId> = self
            .records_to_send(merge_winners)
            .map(|record| record.record.source_id.clone())
            .collect();
        ids.extend(self.records.iter().filter_map(|record| match record {
            ReadRecord::Deleted {
                salesforce_id,
                replaced: false,
            } => Some(salesforce_id.clone()),
            _ => None,
        }));
        ids
    }
}

/// The contact a valid lead merges into, if the chunk is merging and one has its email.
fn merge_winner<'a>(
    merging: bool,
    email: &Option<String>,
    merge_winners: &'a MergeWinners,
) -> Option<&'a (SalesforceId, DestinationId)> {
    if !merging {
        return None;
    }
    email.as_deref().and_then(|email| merge_winners.get(email))
}

// ---------------------------------------------------------------------------------------
// Phase 2: look up (reads only).

/// What the ID map and the destination hold for a chunk's keys.
#[derive(Debug, Clone, Default)]
pub struct LookedUp {
    /// Destination ids of the records that replace converted records.
    pub replacements: Landed,
    /// The destination's users, when the chunk is of users ([`ReadChunk::matches_users`]).
    pub destination_users: Vec<DestinationUser>,
    /// The contacts leads merge into, when the chunk is merging.
    pub merge_winners: MergeWinners,
    /// Destination ids of the link targets that have landed.
    pub link_targets: Landed,
    /// The ID-map entries of the chunk's own records ([`ReadChunk::own_ids`]).
    pub own_entries: HashMap<SalesforceId, StoredIdMapEntry>,
}

/// Looks up what [`prepare_chunk`] needs. The merge winners come before the links, since a
/// lead merged into a contact is not sent and its links need no look-up.
async fn look_up(
    ports: &LoadPorts<'_>,
    plan: &Plan,
    run: &RunId,
    read: &ReadChunk,
) -> Result<LookedUp, StepError> {
    let replacements =
        look_up_landed(ports.id_map, &plan.tenant, read.replacement_targets()).await?;
    let destination_users = if read.matches_users() {
        ports
            .destination
            .users(&plan.tenant)
            .await
            .map_err(StepError::Destination)?
    } else {
        Vec::new()
    };
    let merge_emails = read.merge_emails();
    let merge_winners = if merge_emails.is_empty() {
        MergeWinners::new()
    } else {
        super::merge::contact_index(ports, plan, run, &merge_emails).await?
    };
    let link_targets = look_up_landed(
        ports.id_map,
        &plan.tenant,
        read.link_targets(&merge_winners),
    )
    .await?;
    let own_ids = read.own_ids(&merge_winners);
    let own_entries = if own_ids.is_empty() {
        HashMap::new()
    } else {
        ports
            .id_map
            .entries(&plan.tenant, &read.object.object, &own_ids)
            .await
            .map_err(StepError::IdMap)?
    };
    Ok(LookedUp {
        replacements,
        destination_users,
        merge_winners,
        link_targets,
        own_entries,
    })
}

/// Looks up wanted ids with one ID-map call per Salesforce object, in key order.
pub(crate) async fn look_up_landed(
    id_map: &dyn IdMap,
    tenant: &TenantId,
    wanted: WantedIds,
) -> Result<Landed, StepError> {
    let mut landed = Landed::new();
    for (object, ids) in wanted {
        let ids: Vec<SalesforceId> = ids.into_iter().collect();
        let found = id_map
            .lookup(tenant, &object, &ids)
            .await
            .map_err(StepError::IdMap)?;
        landed.insert(object, found);
    }
    Ok(landed)
}

// ---------------------------------------------------------------------------------------
// Phase 3: prepare (pure).

/// Everything deciding a chunk's records needs, owned.
#[derive(Debug, Clone)]
pub struct LoadInput {
    pub read: ReadChunk,
    pub run: RunId,
    pub chunk: u32,
    /// The run's default owner (`Plan::default_owner`), for users no destination user matches.
    pub default_owner: Option<String>,
    pub looked_up: LookedUp,
}

/// A chunk decided: one [`PreparedRecord`] per non-blank line, in line order, and the batch
/// to send. Only [`prepare_chunk`] makes one, so the batch always matches the decisions.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedChunk {
    run: RunId,
    object: String,
    entity: EntityKind,
    chunk: u32,
    records: Vec<PreparedRecord>,
    /// What the destination receives, in line order: the record of the i-th
    /// [`RecordDecision::Send`] of `records` is `batch[i]`. Kept apart from the decisions
    /// because the destination takes the batch as one slice.
    batch: Vec<DestinationRecord>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PreparedRecord {
    pub decision: RecordDecision,
    /// What else was found about the record, reported beside its decision: values dropped,
    /// validation's warnings.
    pub notes: Vec<RecordIssue>,
}

/// What becomes of one record. Each adds to exactly one count of the chunk's result.
#[derive(Debug, Clone, PartialEq)]
pub enum RecordDecision {
    /// Sent to the destination (its record is in [`PreparedChunk::batch`]): counted as
    /// `counted_as` says, or as failed if the destination refuses it.
    Send(SendDetails),
    /// Same content as the run that last sent it, every link resolvable: nothing is sent.
    Unchanged { salesforce_id: SalesforceId },
    /// A user matched to a destination user by email: counted as updated, since the
    /// destination record exists and now stands for it. `active` is the Salesforce user's
    /// `IsActive`, which the destination user is given (`false`: the person left).
    MatchedUser {
        id_map_entry: IdMapEntry,
        active: Option<bool>,
    },
    /// Not sent, with the reason. Some skipped records still stand for a destination record
    /// (a converted lead for its contact, a lead merged into a contact, an unmatched user
    /// for the default owner) and leave that ID-map entry.
    Skipped {
        reason: RecordIssue,
        id_map_entry: Option<IdMapEntry>,
    },
    /// Could not be read or transformed.
    Failed { reason: RecordIssue },
    /// Deleted in Salesforce; if an earlier run put it in the destination (its ID-map entry),
    /// it is deleted there at finalize.
    DeletedInSalesforce {
        salesforce_id: SalesforceId,
        pending_deletion: Option<PendingDeletion>,
    },
}

/// How a record to send is counted, decided by the ID map rather than by the destination's
/// answer, so a chunk loaded again after a crash counts as its first attempt did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountedAs {
    Created,
    Updated,
}

/// What the commit needs about a record it sends, besides the record itself.
#[derive(Debug, Clone, PartialEq)]
pub struct SendDetails {
    pub counted_as: CountedAs,
    /// The record's ID-map entry before this load, for the journal.
    pub previous_entry: Option<StoredIdMapEntry>,
    /// Links whose target has not landed: sent empty, patched at finalize.
    pub deferred: Vec<Reference>,
    pub content_hash: String,
    /// The file's staged bytes, delivered once the record exists.
    pub file: Option<StagedBlob>,
    /// The record this one also stands for ([`TransformedRecord::stands_for`]).
    pub stands_for: Option<SalesforceId>,
    /// Its rich-text images, landed as files of the record once it exists.
    pub images: Vec<StagedImage>,
}

impl PreparedChunk {
    pub fn run(&self) -> &RunId {
        &self.run
    }

    pub fn object(&self) -> &str {
        &self.object
    }

    pub fn chunk(&self) -> u32 {
        self.chunk
    }

    /// One decision per non-blank line of the chunk, in line order.
    pub fn records(&self) -> &[PreparedRecord] {
        &self.records
    }

    /// What the destination receives, in line order.
    pub fn batch(&self) -> &[DestinationRecord] {
        &self.batch
    }

    /// How many records were decided to be sent (the batch's length, by construction).
    fn sends_decided(&self) -> usize {
        self.records
            .iter()
            .filter(|record| matches!(record.decision, RecordDecision::Send(_)))
            .count()
    }

    /// Each record to send with what the commit needs about it, in line order.
    pub fn sends(&self) -> impl Iterator<Item = (&DestinationRecord, &SendDetails)> {
        let details = self
            .records
            .iter()
            .filter_map(|record| match &record.decision {
                RecordDecision::Send(details) => Some(details),
                _ => None,
            });
        self.batch.iter().zip(details)
    }
}

/// Decides every record of a chunk from what was read and looked up.
pub fn prepare_chunk(input: LoadInput) -> PreparedChunk {
    let LoadInput {
        read,
        run,
        chunk,
        default_owner,
        looked_up,
    } = input;
    let matches_users = read.matches_users();
    let ReadChunk {
        object,
        merging,
        records,
    } = read;
    let owners =
        super::owners::OwnerMatcher::new(&looked_up.destination_users, default_owner.as_deref());
    let mut prepared = PreparedChunk {
        run,
        object: object.object.clone(),
        entity: object.entity,
        chunk,
        records: Vec::with_capacity(records.len()),
        batch: Vec::new(),
    };
    let run = &prepared.run;
    for record in records {
        // A record replaced by its own id that no replacement names lands as itself.
        let record = match record {
            ReadRecord::Replaced {
                fallback: Some(fallback),
                replacement,
                ..
            } if !super::replaced::found(&replacement, &looked_up.replacements) => *fallback,
            other => other,
        };
        let (decision, notes) = match record {
            ReadRecord::Refused { reason, notes } if reason.kind == IssueKind::Skipped => (
                RecordDecision::Skipped {
                    reason,
                    id_map_entry: None,
                },
                notes,
            ),
            ReadRecord::Refused { reason, notes } => (RecordDecision::Failed { reason }, notes),
            ReadRecord::Deleted { salesforce_id, .. } => {
                let stood_for = object
                    .replaced_by
                    .as_ref()
                    .filter(|r| r.own_id)
                    .is_some_and(|r| {
                        looked_up
                            .replacements
                            .get(&r.target_object)
                            .is_some_and(|found| found.contains_key(&salesforce_id))
                    });
                let pending_deletion = looked_up
                    .own_entries
                    .get(&salesforce_id)
                    .filter(|_| !stood_for)
                    .map(|entry| PendingDeletion {
                        object: object.object.clone(),
                        entity: object.entity,
                        salesforce_id: entry.salesforce_id.clone(),
                        destination_id: entry.destination_id.clone(),
                    });
                let decision = RecordDecision::DeletedInSalesforce {
                    salesforce_id,
                    pending_deletion,
                };
                (decision, Vec::new())
            }
            ReadRecord::Replaced {
                record,
                replacement,
                ..
            } => {
                let decision = super::replaced::decide(
                    &object,
                    run,
                    &record,
                    &replacement,
                    &looked_up.replacements,
                );
                (decision, Vec::new())
            }
            ReadRecord::Valid {
                record,
                notes,
                email,
            } => {
                let decision = if matches_users {
                    owners.decide(&object, run, &record)
                } else if let Some(contact) =
                    merge_winner(merging, &email, &looked_up.merge_winners)
                {
                    super::merge::decide(&object, run, &record, contact)
                } else {
                    let (decision, sent) = send_or_skip_unchanged(run, *record, &looked_up);
                    prepared.batch.extend(sent);
                    decision
                };
                (decision, notes)
            }
        };
        prepared.records.push(PreparedRecord { decision, notes });
    }
    prepared
}

/// Resolves a valid record's links and decides whether it is sent: not when its content is
/// the same as the run that last sent it, every link resolvable, and it is not this run's
/// own earlier write (a chunk loaded again after a crash is sent again, so its deferred
/// links and counts are rebuilt exactly).
fn send_or_skip_unchanged(
    run: &RunId,
    record: TransformedRecord,
    looked_up: &LookedUp,
) -> (RecordDecision, Option<DestinationRecord>) {
    // The hash covers the references as Salesforce ids, so it is taken before they resolve.
    let content_hash = content_hash(&record);
    let TransformedRecord {
        record: mut destination_record,
        references,
        blob,
        stands_for,
        images,
        ..
    } = record;
    let deferred = resolve_links(&mut destination_record, references, &looked_up.link_targets);
    let previous_entry = looked_up.own_entries.get(&destination_record.source_id);
    let unchanged = previous_entry.is_some_and(|entry| {
        entry.content_hash == content_hash && entry.last_run != *run && deferred.is_empty()
    });
    if unchanged {
        let salesforce_id = destination_record.source_id;
        return (RecordDecision::Unchanged { salesforce_id }, None);
    }
    let counted_as = match previous_entry {
        Some(entry) if entry.created_by_run != *run => CountedAs::Updated,
        _ => CountedAs::Created,
    };
    let details = SendDetails {
        counted_as,
        previous_entry: previous_entry.cloned(),
        deferred,
        content_hash,
        file: blob,
        stands_for,
        images,
    };
    (RecordDecision::Send(details), Some(destination_record))
}

/// Puts each reference whose target has landed into the record's links, and returns the
/// references whose target has not.
pub(crate) fn resolve_links(
    record: &mut DestinationRecord,
    references: Vec<Reference>,
    landed: &Landed,
) -> Vec<Reference> {
    let mut unresolved = Vec::new();
    for reference in references {
        // The target as it landed: under its own object, or as one of its variants (a
        // person account), which fills the variant's link (a contact, not a company).
        let target = reference.candidates().find_map(|(object, link)| {
            landed
                .get(object)
                .and_then(|found| found.get(&reference.target))
                .map(|target| (link, target))
        });
        match target {
            // A variant's link already filled by another reference (a task's contact from
            // its `WhoId`) keeps that one.
            Some((link, target)) if link != reference.link => {
                record
                    .links
                    .entry(link.to_owned())
                    .or_insert_with(|| target.clone());
            }
            Some((link, target)) => {
                record.links.insert(link.to_owned(), target.clone());
            }
            None => unresolved.push(reference),
        }
    }
    unresolved
}

// ---------------------------------------------------------------------------------------
// Phase 4: commit (the writes, in the order the module documentation gives).

async fn commit_chunk(
    ports: &LoadPorts<'_>,
    tenant: &TenantId,
    prepared: PreparedChunk,
) -> Result<ChunkResult, StepError> {
    journal_before_upsert(ports, tenant, &prepared).await?;
    let outcomes = if prepared.batch.is_empty() {
        Vec::new()
    } else {
        ports
            .destination
            .upsert(tenant, prepared.entity, &prepared.batch)
            .await
            .map_err(StepError::Destination)?
    };
    let mut settled = settle(&prepared, outcomes)?;
    set_user_statuses(ports, tenant, &prepared, &mut settled).await?;
    for file in &settled.files {
        super::files::deliver_file(
            ports.staging,
            ports.destination,
            tenant,
            prepared.entity,
            file.record,
            &file.destination_id,
            file.blob,
        )
        .await?;
    }
    if !settled.images.is_empty() {
        let landed = super::files::land_rich_text_images(
            ports,
            tenant,
            &prepared.run,
            &prepared.object,
            prepared.entity,
            &settled.images,
        )
        .await?;
        settled.entries.extend(landed.entries);
        settled.result.issues.extend(landed.issues);
    }
    let run = &prepared.run;
    if !settled.deferred.is_empty() {
        ports
            .runs
            .defer_links(run, &settled.deferred)
            .await
            .map_err(StepError::RunStore)?;
    }
    if !settled.deletions.is_empty() {
        ports
            .runs
            .defer_deletions(run, &settled.deletions)
            .await
            .map_err(StepError::RunStore)?;
    }
    ports
        .id_map
        .record(tenant, &settled.entries)
        .await
        .map_err(StepError::IdMap)?;
    let result = settled.result;
    ports
        .runs
        .record_chunk(run, &result)
        .await
        .map_err(StepError::RunStore)?;
    tracing::info!(
        run_id = %run,
        object = %result.object,
        chunk = result.chunk,
        created = result.created,
        updated = result.updated,
        unchanged = result.unchanged,
        skipped = result.skipped,
        failed = result.failed,
        deleted_in_salesforce = result.deleted_in_salesforce,
        deferred_links = result.deferred_links,
        "loaded chunk"
    );
    Ok(result)
}

/// Journals the records about to be sent, before they are: a created record as created, an
/// existing one with its ID-map entry and what the destination holds now (read in one
/// batch). Records this run already wrote are journaled already and skipped, so a chunk
/// loaded again costs no extra read.
async fn journal_before_upsert(
    ports: &LoadPorts<'_>,
    tenant: &TenantId,
    prepared: &PreparedChunk,
) -> Result<(), StepError> {
    let run = &prepared.run;
    let mut journal = Vec::new();
    let mut existing: Vec<&StoredIdMapEntry> = Vec::new();
    for (record, details) in prepared.sends() {
        match &details.previous_entry {
            Some(entry) if entry.last_run == *run => {}
            Some(entry) => existing.push(entry),
            None => journal.push(JournalEntry {
                object: prepared.object.clone(),
                entity: prepared.entity,
                salesforce_id: record.source_id.clone(),
                action: JournalAction::Created,
                previous_entry: None,
                previous_record: None,
            }),
        }
    }
    if !existing.is_empty() {
        let ids: Vec<DestinationId> = existing
            .iter()
            .map(|entry| entry.destination_id.clone())
            .collect();
        let before = ports
            .destination
            .get(tenant, prepared.entity, &ids)
            .await
            .map_err(StepError::Destination)?;
        if before.len() != ids.len() {
            return Err(StepError::DestinationContract {
                sent: ids.len(),
                answered: before.len(),
            });
        }
        for (entry, previous_record) in existing.into_iter().zip(before) {
            journal.push(JournalEntry {
                object: prepared.object.clone(),
                entity: prepared.entity,
                salesforce_id: entry.salesforce_id.clone(),
                action: JournalAction::Updated,
                previous_entry: Some(entry.clone()),
                previous_record,
            });
        }
    }
    if journal.is_empty() {
        return Ok(());
    }
    ports
        .runs
        .journal(run, &journal)
        .await
        .map_err(StepError::RunStore)
}

/// A file to deliver once its record exists.
#[derive(Debug)]
struct FileToDeliver<'a> {
    record: &'a DestinationRecord,
    destination_id: DestinationId,
    blob: &'a StagedBlob,
}

/// What the commit writes after the destination answered.
#[derive(Debug)]
struct Settled<'a> {
    result: ChunkResult,
    files: Vec<FileToDeliver<'a>>,
    /// Rich-text images to land as files of their records, once those exist.
    images: Vec<super::files::ImagesOf<'a>>,
    deferred: Vec<DeferredLink>,
    deletions: Vec<PendingDeletion>,
    entries: Vec<IdMapEntry>,
    /// Whether each matched user is still active, for the destination.
    statuses: Vec<(SalesforceId, UserStatus)>,
}

/// Tells the destination whether each matched user is still active in Salesforce. A status
/// the destination refuses makes its user failed, with the destination's reason.
async fn set_user_statuses(
    ports: &LoadPorts<'_>,
    tenant: &TenantId,
    prepared: &PreparedChunk,
    settled: &mut Settled<'_>,
) -> Result<(), StepError> {
    if settled.statuses.is_empty() {
        return Ok(());
    }
    let statuses: Vec<UserStatus> = settled
        .statuses
        .iter()
        .map(|(_, status)| status.clone())
        .collect();
    let results = ports
        .destination
        .set_user_status(tenant, &statuses)
        .await
        .map_err(StepError::Destination)?;
    if results.len() != statuses.len() {
        return Err(StepError::DestinationContract {
            sent: statuses.len(),
            answered: results.len(),
        });
    }
    for ((salesforce_id, status), result) in settled.statuses.iter().zip(results) {
        if let Err(reason) = result {
            settled.result.updated -= 1;
            settled.result.failed += 1;
            settled.result.issues.push(RecordIssue {
                object: prepared.object.clone(),
                salesforce_id: Some(salesforce_id.to_string()),
                field: Some("IsActive".to_owned()),
                kind: IssueKind::Failed,
                reason: format!(
                    "matched to destination user {}, whose status (active: {}) the destination refused: {reason}",
                    status.id, status.active
                ),
            });
        }
    }
    Ok(())
}

/// Counts every decision, with the destination's answer for the records sent, and gathers
/// what is left to write. Pure: the one place where decisions become counts.
fn settle(
    prepared: &PreparedChunk,
    outcomes: Vec<UpsertOutcome>,
) -> Result<Settled<'_>, StepError> {
    if outcomes.len() != prepared.batch.len() {
        return Err(StepError::DestinationContract {
            sent: prepared.batch.len(),
            answered: outcomes.len(),
        });
    }
    let mut settled = Settled {
        result: ChunkResult {
            object: prepared.object.clone(),
            chunk: prepared.chunk,
            records: prepared.records.len() as u64,
            created: 0,
            updated: 0,
            skipped: 0,
            failed: 0,
            unchanged: 0,
            deleted_in_salesforce: 0,
            deferred_links: 0,
            issues: Vec::new(),
        },
        files: Vec::new(),
        images: Vec::new(),
        deferred: Vec::new(),
        deletions: Vec::new(),
        entries: Vec::new(),
        statuses: Vec::new(),
    };
    let mut answered = prepared.batch.iter().zip(outcomes);
    let result = &mut settled.result;
    for record in &prepared.records {
        match &record.decision {
            RecordDecision::Send(details) => {
                // `prepare_chunk` puts one record in the batch per `Send`, and the destination
                // answered once per record of the batch (checked above), so every `Send`
                // has its answer; were it not so, the decisions would count more records
                // sent than answered.
                let Some((sent, outcome)) = answered.next() else {
                    return Err(StepError::DestinationContract {
                        sent: prepared.sends_decided(),
                        answered: prepared.batch.len(),
                    });
                };
                let destination_id = match outcome {
                    UpsertOutcome::Created(id) | UpsertOutcome::Updated(id) => id,
                    UpsertOutcome::Rejected { reason } => {
                        result.failed += 1;
                        result.issues.push(RecordIssue {
                            object: prepared.object.clone(),
                            salesforce_id: Some(sent.source_id.to_string()),
                            field: None,
                            kind: IssueKind::Failed,
                            reason: format!("the destination refused the record: {reason}"),
                        });
                        result.issues.extend(record.notes.iter().cloned());
                        continue;
                    }
                };
                match details.counted_as {
                    CountedAs::Created => result.created += 1,
                    CountedAs::Updated => result.updated += 1,
                }
                if let Some(blob) = &details.file {
                    settled.files.push(FileToDeliver {
                        record: sent,
                        destination_id: destination_id.clone(),
                        blob,
                    });
                }
                if !details.images.is_empty() {
                    settled.images.push(super::files::ImagesOf {
                        record: sent,
                        destination_id: destination_id.clone(),
                        images: &details.images,
                    });
                }
                for reference in &details.deferred {
                    settled.deferred.push(DeferredLink {
                        object: prepared.object.clone(),
                        entity: prepared.entity,
                        record: destination_id.clone(),
                        salesforce_id: sent.source_id.clone(),
                        source_field: reference.source_field.clone(),
                        link: reference.link.clone(),
                        target_object: reference.target_object.clone(),
                        target: reference.target.clone(),
                    });
                }
                // The record it also stands for (an email's task) points at it too, under
                // this object, for that record's replacement.
                if let Some(also) = &details.stands_for {
                    settled.entries.push(IdMapEntry {
                        object: prepared.object.clone(),
                        salesforce_id: also.clone(),
                        destination_id: destination_id.clone(),
                        run_id: prepared.run.clone(),
                        content_hash: details.content_hash.clone(),
                    });
                }
                settled.entries.push(IdMapEntry {
                    object: prepared.object.clone(),
                    salesforce_id: sent.source_id.clone(),
                    destination_id,
                    run_id: prepared.run.clone(),
                    content_hash: details.content_hash.clone(),
                });
            }
            RecordDecision::Unchanged { .. } => result.unchanged += 1,
            RecordDecision::MatchedUser {
                id_map_entry,
                active,
            } => {
                result.updated += 1;
                settled.entries.push(id_map_entry.clone());
                if let Some(active) = active {
                    settled.statuses.push((
                        id_map_entry.salesforce_id.clone(),
                        UserStatus {
                            id: id_map_entry.destination_id.clone(),
                            active: *active,
                        },
                    ));
                }
            }
            RecordDecision::Skipped {
                reason,
                id_map_entry,
            } => {
                result.skipped += 1;
                result.issues.push(reason.clone());
                settled.entries.extend(id_map_entry.iter().cloned());
            }
            RecordDecision::Failed { reason } => {
                result.failed += 1;
                result.issues.push(reason.clone());
            }
            RecordDecision::DeletedInSalesforce {
                pending_deletion, ..
            } => {
                result.deleted_in_salesforce += 1;
                settled.deletions.extend(pending_deletion.iter().cloned());
            }
        }
        result.issues.extend(record.notes.iter().cloned());
    }
    result.deferred_links = settled.deferred.len() as u64;
    Ok(settled)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use ferry_model::model::FieldType;
    use ferry_model::plan::{FieldMapping, LinkMapping, ReplacedBy};
    use serde_json::json;

    const RUN: &str = "run-2";
    const EARLIER_RUN: &str = "run-1";

    fn id(text: &str) -> SalesforceId {
        SalesforceId::parse(text).unwrap()
    }

    fn field(source: &str, target: &str, source_type: FieldType) -> FieldMapping {
        FieldMapping {
            source: source.to_owned(),
            target: target.to_owned(),
            source_type,
            components: Vec::new(),
        }
    }

    fn object(name: &str, entity: EntityKind) -> ObjectPlan {
        ObjectPlan {
            object: name.to_owned(),
            entity,
            phase: 0,
            in_salesforce: 0,
            estimated: None,
            soft_deletes: false,
            select: vec![],
            fields: vec![],
            links: vec![],
            custom_fields: vec![],
            values: BTreeMap::new(),
            replaced_by: None,
            blob: None,
            source_object: None,
            filter: None,
            queue_to_default_owner: false,
            queue_objects: Default::default(),
            skipped_when: None,
            read_by_parent: None,
            stands_for: None,
        }
    }

    /// Contacts with a name, an email and a link to their account.
    fn contacts() -> ObjectPlan {
        ObjectPlan {
            fields: vec![
                field("LastName", "last_name", FieldType::String),
                field("Email", "email", FieldType::Email),
            ],
            links: vec![LinkMapping {
                source: "AccountId".to_owned(),
                target: "company".to_owned(),
                target_object: "Account".to_owned(),
                polymorphic: vec![],
                prefixes: BTreeMap::new(),
                required: false,
                custom: false,
                variants: Vec::new(),
            }],
            ..object("Contact", EntityKind::Contact)
        }
    }

    /// Leads land as contacts, unless converted into one.
    fn leads() -> ObjectPlan {
        ObjectPlan {
            replaced_by: Some(ReplacedBy {
                source: "ConvertedContactId".to_owned(),
                target_object: "Contact".to_owned(),
                when: Vec::new(),
                variants: Vec::new(),
                own_id: false,
            }),
            ..ObjectPlan {
                object: "Lead".to_owned(),
                ..contacts()
            }
        }
    }

    fn users() -> ObjectPlan {
        ObjectPlan {
            fields: vec![field("Email", "email", FieldType::Email)],
            ..object("User", EntityKind::Owner)
        }
    }

    fn read(object: ObjectPlan, merging: bool, lines: &[serde_json::Value]) -> ReadChunk {
        let mut body = Vec::new();
        for line in lines {
            body.extend(line.to_string().into_bytes());
            // Blank lines are not records.
            body.extend(b"\n\n");
        }
        read_chunk(ChunkToRead {
            object,
            validation: ValidationPolicy::default(),
            merging,
            key: "acme/run-2/chunks/Contact/000000.jsonl".to_owned(),
            body,
        })
    }

    fn prepare(read: ReadChunk, looked_up: LookedUp) -> PreparedChunk {
        prepare_chunk(LoadInput {
            read,
            run: RunId::new(RUN),
            chunk: 0,
            default_owner: Some("fallback@example.com".to_owned()),
            looked_up,
        })
    }

    /// One line per record: its decision, and what the decision carries that matters.
    fn describe(prepared: &PreparedChunk) -> Vec<String> {
        prepared
            .records()
            .iter()
            .map(|record| {
                let notes: Vec<String> = record
                    .notes
                    .iter()
                    .map(|note| format!("{:?} {}", note.kind, note.field.as_deref().unwrap_or("")))
                    .collect();
                let notes = if notes.is_empty() {
                    String::new()
                } else {
                    format!(" [{}]", notes.join(", "))
                };
                let decision = match &record.decision {
                    RecordDecision::Send(details) => format!(
                        "send {:?}, deferred {:?}",
                        details.counted_as,
                        details
                            .deferred
                            .iter()
                            .map(|reference| reference.source_field.as_str())
                            .collect::<Vec<_>>()
                    ),
                    RecordDecision::Unchanged { salesforce_id } => {
                        format!("unchanged {salesforce_id}")
                    }
                    RecordDecision::MatchedUser { id_map_entry, .. } => {
                        format!("matched user -> {}", id_map_entry.destination_id)
                    }
                    RecordDecision::Skipped {
                        reason,
                        id_map_entry,
                    } => format!(
                        "skipped {}: {} -> {}",
                        reason.field.as_deref().unwrap_or(""),
                        reason.reason,
                        id_map_entry
                            .as_ref()
                            .map_or("nothing".to_owned(), |entry| entry
                                .destination_id
                                .to_string())
                    ),
                    RecordDecision::Failed { reason } => format!(
                        "failed {}: {}",
                        reason.field.as_deref().unwrap_or(""),
                        reason.reason
                    ),
                    RecordDecision::DeletedInSalesforce {
                        salesforce_id,
                        pending_deletion,
                    } => format!(
                        "deleted {salesforce_id}, delete {}",
                        pending_deletion
                            .as_ref()
                            .map_or("nothing".to_owned(), |deletion| deletion
                                .destination_id
                                .to_string())
                    ),
                };
                format!("{decision}{notes}")
            })
            .collect()
    }

    /// Prepares the chunk and compares each record's decision with `expect`; then checks
    /// the batch matches the decisions and that the counts of the settled chunk add up.
    fn check(read: ReadChunk, looked_up: LookedUp, expect: &[&str]) -> PreparedChunk {
        let lines = read.records.len();
        let prepared = prepare(read, looked_up);
        assert_eq!(describe(&prepared), expect);
        assert_eq!(prepared.records().len(), lines, "one decision per record");
        assert_eq!(prepared.batch().len(), prepared.sends_decided());
        let answers = prepared
            .batch()
            .iter()
            .enumerate()
            .map(|(index, _)| UpsertOutcome::Created(DestinationId::new(format!("d{index}"))))
            .collect();
        let result = settle(&prepared, answers).unwrap().result;
        assert_counts_add_up(&result);
        prepared
    }

    fn assert_counts_add_up(result: &ChunkResult) {
        let counted = result.created
            + result.updated
            + result.unchanged
            + result.skipped
            + result.failed
            + result.deleted_in_salesforce;
        assert_eq!(counted, result.records, "{result:?}");
        let issues_of = |kind| {
            result
                .issues
                .iter()
                .filter(|issue| issue.kind == kind)
                .count() as u64
        };
        assert_eq!(issues_of(IssueKind::Skipped), result.skipped, "{result:?}");
        assert_eq!(issues_of(IssueKind::Failed), result.failed, "{result:?}");
    }

    fn entry(salesforce_id: &str, destination: &str, hash: &str, run: &str) -> StoredIdMapEntry {
        StoredIdMapEntry {
            object: "Contact".to_owned(),
            salesforce_id: id(salesforce_id),
            destination_id: DestinationId::new(destination),
            created_by_run: RunId::new(run),
            last_run: RunId::new(run),
            content_hash: hash.to_owned(),
        }
    }

    /// The content hash a record gets, read alone.
    fn hash_of(object: ObjectPlan, line: serde_json::Value) -> String {
        let prepared = prepare(read(object, false, &[line]), LookedUp::default());
        match &prepared.records()[0].decision {
            RecordDecision::Send(details) => details.content_hash.clone(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn records_are_transformed_and_unchanged_ones_are_not_sent() {
        let same = json!({"Id": "003000000000001", "LastName": "Roth"});
        let changed = json!({"Id": "003000000000002", "LastName": "Kay"});
        let rewritten = json!({"Id": "003000000000003", "LastName": "Lee"});
        let new = json!({"Id": "003000000000004", "LastName": "Ng"});
        let hash = |line: &serde_json::Value| hash_of(contacts(), line.clone());
        let mut written_by_this_run = entry("003000000000003", "d3", &hash(&rewritten), RUN);
        written_by_this_run.created_by_run = RunId::new(EARLIER_RUN);
        let looked_up = LookedUp {
            own_entries: HashMap::from([
                (
                    id("003000000000001"),
                    entry("003000000000001", "d1", &hash(&same), EARLIER_RUN),
                ),
                (
                    id("003000000000002"),
                    entry("003000000000002", "d2", "an older hash", EARLIER_RUN),
                ),
                // Same content, but this run wrote it (a reload after a crash): sent again.
                (id("003000000000003"), written_by_this_run),
            ]),
            ..LookedUp::default()
        };
        let prepared = check(
            read(contacts(), false, &[same, changed, rewritten, new]),
            looked_up,
            &[
                &format!("unchanged {}", id("003000000000001")),
                "send Updated, deferred []",
                "send Updated, deferred []",
                "send Created, deferred []",
            ],
        );
        let names: Vec<(String, Option<&serde_json::Value>)> = prepared
            .batch()
            .iter()
            .map(|record| (record.source_id.to_string(), record.fields.get("last_name")))
            .collect();
        assert_eq!(
            names,
            vec![
                (id("003000000000002").to_string(), Some(&json!("Kay"))),
                (id("003000000000003").to_string(), Some(&json!("Lee"))),
                (id("003000000000004").to_string(), Some(&json!("Ng"))),
            ]
        );
        // The journal needs what the ID map held before.
        let previous: Vec<Option<&str>> = prepared
            .sends()
            .map(|(_, details)| {
                details
                    .previous_entry
                    .as_ref()
                    .map(|entry| entry.destination_id.as_str())
            })
            .collect();
        assert_eq!(previous, vec![Some("d2"), Some("d3"), None]);
    }

    #[test]
    fn a_link_whose_target_has_not_landed_is_deferred_and_reported() {
        let linked =
            json!({"Id": "003000000000001", "LastName": "Roth", "AccountId": "001000000000001"});
        let orphan =
            json!({"Id": "003000000000002", "LastName": "Kay", "AccountId": "001000000000002"});
        let read = read(contacts(), false, &[linked, orphan.clone()]);
        assert_eq!(
            read.link_targets(&MergeWinners::new()),
            WantedIds::from([(
                "Account".to_owned(),
                BTreeSet::from([id("001000000000001"), id("001000000000002")])
            )])
        );
        // Even with the content of its last run, a record with a link to patch is sent, so
        // finalize can patch it.
        let looked_up = LookedUp {
            link_targets: Landed::from([(
                "Account".to_owned(),
                HashMap::from([(id("001000000000001"), DestinationId::new("c1"))]),
            )]),
            own_entries: HashMap::from([(
                id("003000000000002"),
                entry(
                    "003000000000002",
                    "d2",
                    &hash_of(contacts(), orphan),
                    EARLIER_RUN,
                ),
            )]),
            ..LookedUp::default()
        };
        let prepared = check(
            read,
            looked_up,
            &[
                "send Created, deferred []",
                "send Updated, deferred [\"AccountId\"]",
            ],
        );
        let links: Vec<Option<&str>> = prepared
            .batch()
            .iter()
            .map(|record| record.links.get("company").map(DestinationId::as_str))
            .collect();
        assert_eq!(links, vec![Some("c1"), None]);

        let answers = vec![
            UpsertOutcome::Created(DestinationId::new("d1")),
            UpsertOutcome::Updated(DestinationId::new("d2")),
        ];
        let settled = settle(&prepared, answers).unwrap();
        assert_eq!(settled.result.deferred_links, 1);
        assert_eq!(
            settled.deferred,
            vec![DeferredLink {
                object: "Contact".to_owned(),
                entity: EntityKind::Contact,
                record: DestinationId::new("d2"),
                salesforce_id: id("003000000000002"),
                source_field: "AccountId".to_owned(),
                link: "company".to_owned(),
                target_object: "Account".to_owned(),
                target: id("001000000000002"),
            }]
        );
    }

    #[test]
    fn bad_records_are_skipped_or_failed_with_the_reason() {
        let lines = [
            json!({"Id": "003000000000001", "LastName": ""}),
            json!({"Id": "not-an-id", "LastName": "Lee"}),
            json!({"LastName": "Nobody"}),
            json!({"Id": "003000000000004", "LastName": "Kay", "Email": "kay.example.com"}),
        ];
        let mut read = read(contacts(), false, &lines);
        // A line that is not JSON, at the end of the chunk.
        read.records.extend(
            read_chunk(ChunkToRead {
                object: contacts(),
                validation: ValidationPolicy::default(),
                merging: false,
                key: "acme/run-2/chunks/Contact/000000.jsonl".to_owned(),
                body: b"\n{\"Id\": \"003000000000005\", \"LastName\": ".to_vec(),
            })
            .records,
        );
        let prepared = check(
            read,
            LookedUp::default(),
            &[
                "skipped LastName: missing required value for contact.last_name -> nothing",
                "failed Id: \"not-an-id\" is not a Salesforce id: it contains characters other than A-Z, a-z, 0-9",
                "failed Id: the record has no Id",
                // The invalid email is dropped and reported; the record still loads.
                "send Created, deferred [] [ValueDropped Email]",
                "failed : line 2 of acme/run-2/chunks/Contact/000000.jsonl is not a JSON record: EOF while parsing a value at line 1 column 38",
            ],
        );
        assert_eq!(prepared.batch()[0].fields.get("email"), Some(&json!(null)));
    }

    #[test]
    fn records_deleted_in_salesforce_are_deleted_if_an_earlier_run_sent_them() {
        let read = read(
            contacts(),
            false,
            &[
                json!({"Id": "003000000000001", "IsDeleted": true}),
                json!({"Id": "003000000000002", "IsDeleted": "true"}),
                json!({"Id": "bad", "IsDeleted": true}),
            ],
        );
        assert_eq!(
            read.own_ids(&MergeWinners::new()),
            vec![id("003000000000001"), id("003000000000002")]
        );
        let looked_up = LookedUp {
            own_entries: HashMap::from([(
                id("003000000000001"),
                entry("003000000000001", "d1", "hash", EARLIER_RUN),
            )]),
            ..LookedUp::default()
        };
        check(
            read,
            looked_up,
            &[
                &format!("deleted {}, delete d1", id("003000000000001")),
                &format!("deleted {}, delete nothing", id("003000000000002")),
                "failed Id: deleted in Salesforce, but its Id is not a Salesforce id",
            ],
        );
    }

    #[test]
    fn users_are_matched_by_email_never_sent() {
        let read = read(
            users(),
            false,
            &[
                json!({"Id": "005000000000001", "Email": "Ada@Example.com"}),
                json!({"Id": "005000000000002", "Email": "nobody@example.com"}),
            ],
        );
        assert!(read.matches_users());
        assert!(read.own_ids(&MergeWinners::new()).is_empty());
        let user = |id: &str, email: &str| DestinationUser {
            id: DestinationId::new(id),
            email: email.to_owned(),
            name: String::new(),
            active: None,
        };
        let looked_up = LookedUp {
            destination_users: vec![
                user("u1", "ada@example.com"),
                user("u9", "fallback@example.com"),
            ],
            ..LookedUp::default()
        };
        check(
            read,
            looked_up,
            &[
                "matched user -> u1",
                "skipped Email: no destination user has the email \"nobody@example.com\"; the records this user owns go to the default owner fallback@example.com -> u9",
            ],
        );
    }

    #[test]
    fn converted_and_merged_leads_stand_for_their_contact() {
        let contact = id("003000000000009");
        let read = read(
            leads(),
            true,
            &[
                json!({"Id": "00Q000000000001", "LastName": "Roth", "ConvertedContactId": "003000000000009"}),
                json!({"Id": "00Q000000000002", "LastName": "Kay", "ConvertedContactId": "003000000000008"}),
                json!({"Id": "00Q000000000003", "LastName": "Lee", "Email": " Lee@Example.com", "AccountId": "001000000000001"}),
                json!({"Id": "00Q000000000004", "LastName": "Ng", "Email": "ng@example.com"}),
            ],
        );
        assert_eq!(
            read.replacement_targets(),
            WantedIds::from([(
                "Contact".to_owned(),
                BTreeSet::from([id("003000000000008"), contact.clone()])
            )])
        );
        assert_eq!(
            read.merge_emails(),
            BTreeSet::from(["lee@example.com", "ng@example.com"])
        );
        let merge_winners = MergeWinners::from([(
            "lee@example.com".to_owned(),
            (id("003000000000007"), DestinationId::new("d7")),
        )]);
        // The merged lead is not sent, so neither its links nor its entry are looked up.
        assert!(read.link_targets(&merge_winners).is_empty());
        assert_eq!(read.own_ids(&merge_winners), vec![id("00Q000000000004")]);
        let looked_up = LookedUp {
            replacements: Landed::from([(
                "Contact".to_owned(),
                HashMap::from([(contact.clone(), DestinationId::new("d9"))]),
            )]),
            merge_winners,
            ..LookedUp::default()
        };
        check(
            read,
            looked_up,
            &[
                &format!(
                    "skipped ConvertedContactId: converted into Contact {contact}: not imported twice; links to it go to that record -> d9"
                ),
                &format!(
                    "skipped ConvertedContactId: converted into Contact {}, which did not land; not imported twice, and links to it stay empty -> nothing",
                    id("003000000000008")
                ),
                &format!(
                    "skipped Email: merged into Contact {} with the same email: not imported as a second person; links to it go to that contact -> d7",
                    id("003000000000007")
                ),
                "send Created, deferred []",
            ],
        );
    }

    #[test]
    fn settling_counts_each_decision_once_and_refusals_as_failed() {
        let lines = [
            json!({"Id": "003000000000001", "LastName": "Roth", "Email": "bad"}),
            json!({"Id": "003000000000002", "LastName": ""}),
            json!({"Id": "003000000000003", "LastName": "Kay"}),
        ];
        let prepared = prepare(read(contacts(), false, &lines), LookedUp::default());
        let answers = vec![
            UpsertOutcome::Rejected {
                reason: "no".to_owned(),
            },
            UpsertOutcome::Created(DestinationId::new("d3")),
        ];
        let settled = settle(&prepared, answers).unwrap();
        let result = &settled.result;
        assert_counts_add_up(result);
        assert_eq!(
            (
                result.records,
                result.created,
                result.skipped,
                result.failed
            ),
            (3, 1, 1, 1)
        );
        // Record by record, the reason first, then what else was found.
        let issues: Vec<(IssueKind, String)> = result
            .issues
            .iter()
            .map(|issue| (issue.kind, issue.salesforce_id.clone().unwrap_or_default()))
            .collect();
        assert_eq!(
            issues,
            vec![
                (IssueKind::Failed, id("003000000000001").to_string()),
                (IssueKind::ValueDropped, id("003000000000001").to_string()),
                // The transform names a record by the Id as Salesforce gave it.
                (IssueKind::Skipped, "003000000000002".to_owned()),
            ]
        );
        let entries: Vec<&str> = settled
            .entries
            .iter()
            .map(|entry| entry.destination_id.as_str())
            .collect();
        assert_eq!(entries, vec!["d3"]);

        let too_few = settle(&prepared, Vec::new());
        assert!(matches!(
            too_few,
            Err(StepError::DestinationContract {
                sent: 2,
                answered: 0
            })
        ));
    }

    #[test]
    fn a_skipped_record_counts_once_however_many_findings_skip_it() {
        let policy = ValidationPolicy {
            actions: BTreeMap::from([(
                ferry_model::policy::Rule::InvalidEmail,
                Action::SkipRecord,
            )]),
        };
        let two_emails = ObjectPlan {
            fields: vec![
                field("LastName", "last_name", FieldType::String),
                field("Email", "email", FieldType::Email),
                field("Other_Email__c", "other_email", FieldType::Email),
            ],
            ..contacts()
        };
        let read = read_chunk(ChunkToRead {
            object: two_emails,
            validation: policy,
            merging: false,
            key: "chunk".to_owned(),
            body: json!({"Id": "003000000000001", "LastName": "Roth", "Email": "a", "Other_Email__c": "b"})
                .to_string()
                .into_bytes(),
        });
        check(
            read,
            LookedUp::default(),
            &[
                "skipped Email: invalid_email: \"a\" is not an email address (destination field email) -> nothing [Warning Other_Email__c]",
            ],
        );
    }

    /// The pure phases can move to another thread (a blocking pool): their inputs and
    /// outputs own everything they hold.
    #[test]
    fn the_pure_phases_take_and_return_owned_values() {
        fn movable<T: Send + 'static>() {}
        movable::<ChunkToRead>();
        movable::<ReadChunk>();
        movable::<LoadInput>();
        movable::<PreparedChunk>();
        let _: fn(ChunkToRead) -> ReadChunk = read_chunk;
        let _: fn(LoadInput) -> PreparedChunk = prepare_chunk;
    }
}
