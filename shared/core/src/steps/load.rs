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
use crate::ids::{DestinationId, RunId, SalesforceId, TenantId};
use crate::mapping::EntityKind;
use crate::model::SourceRecord;
use crate::plan::{ObjectPlan, Plan};
use crate::ports::{
    ChunkMessage, DeferredLink, Destination, DestinationRecord, DestinationUser, IdMap, IdMapEntry,
    RunStore, Staging, UpsertOutcome,
};
use crate::report::{ChunkResult, IssueKind, RecordIssue};
use crate::runs::{JournalAction, JournalEntry, PendingDeletion, StoredIdMapEntry};
use crate::transform::{Reference, StagedBlob, TransformedRecord, content_hash, transform_record};
use crate::validate::{Action, Finding, ValidationPolicy, Verdict, validate_record};
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
    /// Reported deleted by Salesforce (a delta's `IsDeleted`).
    Deleted { salesforce_id: SalesforceId },
    /// Lands as another record (a converted lead as its contact), which it names.
    Replaced {
        record: Box<TransformedRecord>,
        replacement: Reference,
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
            Some(salesforce_id) => ReadRecord::Deleted { salesforce_id },
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
        } => ReadRecord::Replaced {
            record: Box::new(record),
            replacement,
        },
        CheckedRecord::Validated {
            mut record,
            findings,
            verdict,
        } => {
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
            wanted
                .entry(reference.target_object.clone())
                .or_default()
                .insert(reference.target.clone());
        }
    }
    wanted
}

impl ReadChunk {
    /// The records that replace the chunk's converted records.
    pub fn replacement_targets(&self) -> WantedIds {
        let mut wanted = WantedIds::new();
        for record in &self.records {
            if let ReadRecord::Replaced { replacement, .. } = record {
                wanted
                    .entry(replacement.target_object.clone())
                    .or_default()
                    .insert(replacement.target.clone());
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
        self.records.iter().filter_map(move |record| match record {
            ReadRecord::Valid { record, email, .. }
                if !self.matches_users()
                    && merge_winner(self.merging, email, merge_winners).is_none() =>
            {
                Some(record.as_ref())
            }
            _ => None,
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
            ReadRecord::Deleted { salesforce_id } => Some(salesforce_id.clone()),
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
    /// destination record exists and now stands for it.
    MatchedUser { id_map_entry: IdMapEntry },
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
        let (decision, notes) = match record {
            ReadRecord::Refused { reason, notes } if reason.kind == IssueKind::Skipped => (
                RecordDecision::Skipped {
                    reason,
                    id_map_entry: None,
                },
                notes,
            ),
            ReadRecord::Refused { reason, notes } => (RecordDecision::Failed { reason }, notes),
            ReadRecord::Deleted { salesforce_id } => {
                let pending_deletion =
                    looked_up
                        .own_entries
                        .get(&salesforce_id)
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
        let target = landed
            .get(reference.target_object.as_str())
            .and_then(|found| found.get(&reference.target));
        match target {
            Some(target) => {
                record.links.insert(reference.link.clone(), target.clone());
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
    let settled = settle(&prepared, outcomes)?;
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
    deferred: Vec<DeferredLink>,
    deletions: Vec<PendingDeletion>,
    entries: Vec<IdMapEntry>,
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
        deferred: Vec::new(),
        deletions: Vec::new(),
        entries: Vec::new(),
    };
    let mut answered = prepared.batch.iter().zip(outcomes);
    let result = &mut settled.result;
    for record in &prepared.records {
        match &record.decision {
            RecordDecision::Send(details) => {
                // `prepare_chunk` puts one record in the batch per `Send`, and the destination
                // answered once per record of the batch (checked above).
                let Some((sent, outcome)) = answered.next() else {
                    return Err(StepError::DestinationContract {
                        sent: prepared.batch.len() + 1,
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
                settled.entries.push(IdMapEntry {
                    object: prepared.object.clone(),
                    salesforce_id: sent.source_id.clone(),
                    destination_id,
                    run_id: prepared.run.clone(),
                    content_hash: details.content_hash.clone(),
                });
            }
            RecordDecision::Unchanged { .. } => result.unchanged += 1,
            RecordDecision::MatchedUser { id_map_entry } => {
                result.updated += 1;
                settled.entries.push(id_map_entry.clone());
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
