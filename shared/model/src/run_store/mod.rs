//! The run store as a small keyed-document port, and the typed [`RunStore`](crate::ports::RunStore) API written once
//! on top of it.
//!
//! Adapters implement only [`DocumentStore`]: get one document, put documents, put
//! documents only where their key is still empty, put a few documents all or none, and list
//! a partition's documents by sort-key prefix, in key order. Everything else a run records
//! (plan, extractions, chunk outcomes, deferred links, the history, the journal, deletions,
//! verifications, rollbacks) is [`RunStore`](crate::ports::RunStore), implemented here once for every document store
//! (`typed.rs`), so where each record lives and the rules about it are stated in one place
//! rather than once per adapter:
//!
//! - one outcome per (run, object, chunk), per (run, object) for the per-object outcomes:
//!   a later write replaces an earlier one;
//! - the journal's first write wins: an entry already journaled for a (run, object,
//!   Salesforce id) is kept, so a chunk loaded again cannot replace the true "before";
//! - a run's summary and its line in the tenant's history are written together, so
//!   `run_summary` and `list_runs` never disagree about a run's status.
//!
//! ## Keys
//!
//! A [`DocumentKey`] is a partition and a sort key within it; a listing reads one partition,
//! in sort-key order (the byte order of the UTF-8 text, which is code-point order), by
//! sort-key prefix ([`DocumentPrefix`]). Every partition starts with what scopes it, so runs
//! and tenants never mix. Keys are made only by the constructors of [`DocumentKey`] and
//! [`DocumentPrefix`], in this module:
//!
//! | document | partition | sort key |
//! |---|---|---|
//! | run plan | `RUN#{run}` | `PLAN` |
//! | extraction of an object | `RUN#{run}` | `EXTRACT#{object}` |
//! | chunk outcome | `RUN#{run}` | `CHUNK#{object}#{chunk:06}` |
//! | deferred link | `RUN#{run}` | `LINK#{object}#{salesforce id}#{link}` |
//! | link resolution of an object | `RUN#{run}` | `RESOLVED#{object}` |
//! | run summary | `RUN#{run}` | `SUMMARY` |
//! | tenant's run history | `{tenant}#RUNS` | `RUN#{sequence:010}#{run}` (the summary again) |
//! | journal entry | `RUN#{run}` | `JOURNAL#{object}#{salesforce id}` (first write wins) |
//! | pending deletion | `RUN#{run}` | `PENDINGDEL#{object}#{salesforce id}` |
//! | deletions of an object | `RUN#{run}` | `DELETIONS#{object}` |
//! | verification of an object | `RUN#{run}` | `VERIFIED#{object}` |
//! | rollback of an object | `RUN#{run}` | `ROLLBACK#{object}` |
//!
//! `#` sorts before every character of a Salesforce API name and id (letters, digits, `_`),
//! so key order is (object, chunk or id, ...) order: `Account#...` comes before
//! `Account_Team__c#...`, as `Account` comes before `Account_Team__c`. Salesforce ids are
//! always 18 characters, so they sort as the ids do. Chunk numbers are padded to six digits,
//! the layout DynamoDB tables have always had; a run of a million chunks or more would list
//! its later chunks out of numeric order (only the report's row order would show it).
//!
//! A document is JSON text, stored as it is, so a support engineer reading a DynamoDB item
//! or an SQLite row sees the record itself under a key that says what it is.

mod conformance;
mod memory;
mod typed;

pub use conformance::{DocumentStoreCheckFailed, check_document_store, sample_summary};
pub use memory::InMemoryDocumentStore;

use crate::error::PortError;
use crate::ids::{RunId, SalesforceId, TenantId};
use async_trait::async_trait;
use std::fmt;

/// The most documents [`DocumentStore::put_documents_together`] takes in one call. DynamoDB
/// transactions take 100 items; the typed layer writes two together.
pub const MAX_DOCUMENTS_TOGETHER: usize = 25;

/// Where a document lives: a partition and a sort key within it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DocumentKey {
    partition: String,
    sort: String,
}

/// The documents of one partition whose sort key starts with a prefix.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DocumentPrefix {
    partition: String,
    sort_prefix: String,
}

/// A JSON document under its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub key: DocumentKey,
    /// JSON text; adapters store it as it is.
    pub body: String,
}

/// Which documents a listing returns: those under `prefix`, past `after` when given, at
/// most `limit` of them when given, in sort-key order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentRange {
    pub prefix: DocumentPrefix,
    /// Only documents whose sort key is greater than this one: the page after the last
    /// document seen.
    pub after: Option<String>,
    /// At most this many documents; every one when `None`.
    pub limit: Option<usize>,
}

/// The keyed-document port every run store adapter implements. [`RunStore`] is written on
/// top of it, once, for every implementation.
///
/// Keys within one batch are distinct (the typed layer removes repeats before it calls),
/// so an adapter may write a batch's documents in any order or concurrently.
///
/// [`RunStore`]: crate::ports::RunStore
#[async_trait]
pub trait DocumentStore: Send + Sync {
    /// The document stored under `key`, or `None` when there is none.
    async fn get_document(&self, key: &DocumentKey) -> Result<Option<String>, PortError>;

    /// Stores each document, replacing whatever its key held. Each document is written whole
    /// or not at all, but the batch is not atomic: after an error some documents may be
    /// written and others not. Writing the same batch again is harmless, and that is how
    /// every caller recovers.
    async fn put_documents(&self, documents: Vec<Document>) -> Result<(), PortError>;

    /// Stores each document whose key holds nothing yet, and leaves the others as they are:
    /// the first write of a key wins, also against a concurrent writer (the check and the
    /// write are one step in the store). Not atomic as a batch, like
    /// [`DocumentStore::put_documents`].
    async fn put_documents_if_absent(&self, documents: Vec<Document>) -> Result<(), PortError>;

    /// Stores all of the documents or none of them, replacing what their keys held: for the
    /// few documents that must never disagree. Takes at most [`MAX_DOCUMENTS_TOGETHER`].
    async fn put_documents_together(&self, documents: Vec<Document>) -> Result<(), PortError>;

    /// The documents of `range`, in sort-key order. A listing with a limit returns fewer
    /// only when the range has no more.
    async fn list_documents(&self, range: &DocumentRange) -> Result<Vec<Document>, PortError>;
}

impl DocumentKey {
    pub fn new(partition: impl Into<String>, sort: impl Into<String>) -> Self {
        Self {
            partition: partition.into(),
            sort: sort.into(),
        }
    }

    pub fn partition(&self) -> &str {
        &self.partition
    }

    pub fn sort(&self) -> &str {
        &self.sort
    }

    pub fn plan(run: &RunId) -> Self {
        Self::new(run_partition(run), "PLAN")
    }

    pub fn extraction(run: &RunId, object: &str) -> Self {
        Self::new(run_partition(run), format!("EXTRACT#{object}"))
    }

    pub fn chunk(run: &RunId, object: &str, chunk: u32) -> Self {
        Self::new(run_partition(run), format!("CHUNK#{object}#{chunk:06}"))
    }

    pub fn deferred_link(
        run: &RunId,
        object: &str,
        salesforce_id: &SalesforceId,
        link: &str,
    ) -> Self {
        Self::new(
            run_partition(run),
            format!("LINK#{object}#{salesforce_id}#{link}"),
        )
    }

    pub fn link_resolution(run: &RunId, object: &str) -> Self {
        Self::new(run_partition(run), format!("RESOLVED#{object}"))
    }

    pub fn run_summary(run: &RunId) -> Self {
        Self::new(run_partition(run), "SUMMARY")
    }

    /// A run's line in its tenant's history: sorted by sequence, so the history lists
    /// oldest first without relying on clocks.
    pub fn run_history_line(tenant: &TenantId, sequence: u64, run: &RunId) -> Self {
        Self::new(
            history_partition(tenant),
            format!("RUN#{sequence:010}#{run}"),
        )
    }

    pub fn journal_entry(run: &RunId, object: &str, salesforce_id: &SalesforceId) -> Self {
        Self::new(
            run_partition(run),
            format!("JOURNAL#{object}#{salesforce_id}"),
        )
    }

    pub fn pending_deletion(run: &RunId, object: &str, salesforce_id: &SalesforceId) -> Self {
        Self::new(
            run_partition(run),
            format!("PENDINGDEL#{object}#{salesforce_id}"),
        )
    }

    pub fn deletions(run: &RunId, object: &str) -> Self {
        Self::new(run_partition(run), format!("DELETIONS#{object}"))
    }

    pub fn verification(run: &RunId, object: &str) -> Self {
        Self::new(run_partition(run), format!("VERIFIED#{object}"))
    }

    pub fn rollback(run: &RunId, object: &str) -> Self {
        Self::new(run_partition(run), format!("ROLLBACK#{object}"))
    }
}

/// Shown as `partition/sort key`, the way error messages name a document.
impl fmt::Display for DocumentKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}/{}", self.partition, self.sort)
    }
}

impl DocumentPrefix {
    pub fn new(partition: impl Into<String>, sort_prefix: impl Into<String>) -> Self {
        Self {
            partition: partition.into(),
            sort_prefix: sort_prefix.into(),
        }
    }

    pub fn partition(&self) -> &str {
        &self.partition
    }

    pub fn sort_prefix(&self) -> &str {
        &self.sort_prefix
    }

    /// Whether `key` is one of this prefix's documents.
    pub fn contains(&self, key: &DocumentKey) -> bool {
        key.partition == self.partition && key.sort.starts_with(&self.sort_prefix)
    }

    pub fn extractions(run: &RunId) -> Self {
        Self::new(run_partition(run), "EXTRACT#")
    }

    pub fn chunks(run: &RunId) -> Self {
        Self::new(run_partition(run), "CHUNK#")
    }

    pub fn deferred_links(run: &RunId) -> Self {
        Self::new(run_partition(run), "LINK#")
    }

    pub fn link_resolutions(run: &RunId) -> Self {
        Self::new(run_partition(run), "RESOLVED#")
    }

    pub fn run_history(tenant: &TenantId) -> Self {
        Self::new(history_partition(tenant), "RUN#")
    }

    /// The journal of one object; the trailing `#` keeps `Acc` from reading `Account`'s.
    pub fn journal(run: &RunId, object: &str) -> Self {
        Self::new(run_partition(run), format!("JOURNAL#{object}#"))
    }

    pub fn pending_deletions(run: &RunId, object: &str) -> Self {
        Self::new(run_partition(run), format!("PENDINGDEL#{object}#"))
    }

    pub fn deletions(run: &RunId) -> Self {
        Self::new(run_partition(run), "DELETIONS#")
    }

    pub fn verifications(run: &RunId) -> Self {
        Self::new(run_partition(run), "VERIFIED#")
    }

    pub fn rollbacks(run: &RunId) -> Self {
        Self::new(run_partition(run), "ROLLBACK#")
    }
}

impl DocumentRange {
    /// Every document under `prefix`.
    pub fn all(prefix: DocumentPrefix) -> Self {
        Self {
            prefix,
            after: None,
            limit: None,
        }
    }

    /// At most `limit` documents under `prefix`, after the sort key `after` when given.
    pub fn page(prefix: DocumentPrefix, after: Option<String>, limit: usize) -> Self {
        Self {
            prefix,
            after,
            limit: Some(limit),
        }
    }

    /// Whether `key` is one of the range's documents (the limit aside).
    pub fn contains(&self, key: &DocumentKey) -> bool {
        self.prefix.contains(key)
            && self
                .after
                .as_ref()
                .is_none_or(|after| key.sort.as_str() > after.as_str())
    }

    /// Where a store seeking in key order starts: `after` when it lies inside or past the
    /// prefix's keys (exclusive), else the prefix itself (inclusive). A store that seeks
    /// from `after` alone would start before the prefix when `after` sorts below it.
    pub fn start(&self) -> RangeStart<'_> {
        match &self.after {
            Some(after) if after.as_str() >= self.prefix.sort_prefix.as_str() => {
                RangeStart::After(after)
            }
            _ => RangeStart::From(&self.prefix.sort_prefix),
        }
    }
}

/// The first sort key of a [`DocumentRange`], as [`DocumentRange::start`] gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeStart<'a> {
    /// Sort keys from this one on, itself included.
    From(&'a str),
    /// Sort keys greater than this one.
    After(&'a str),
}

fn run_partition(run: &RunId) -> String {
    format!("RUN#{run}")
}

fn history_partition(tenant: &TenantId) -> String {
    format!("{tenant}#RUNS")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account_id(index: u32) -> SalesforceId {
        SalesforceId::parse(&format!("001Dn{index:010}")).unwrap_or_else(|error| panic!("{error}"))
    }

    /// The layout is what DynamoDB tables already hold: a change here strands their items.
    #[test]
    fn keys_keep_the_documented_layout() {
        let run = RunId::new("run-1");
        let id = account_id(7);
        let key = |key: DocumentKey| (key.partition, key.sort);
        let run_partition = || "RUN#run-1".to_owned();
        assert_eq!(
            key(DocumentKey::plan(&run)),
            (run_partition(), "PLAN".to_owned())
        );
        assert_eq!(
            key(DocumentKey::chunk(&run, "Account", 3)),
            (run_partition(), "CHUNK#Account#000003".to_owned())
        );
        assert_eq!(
            key(DocumentKey::deferred_link(
                &run,
                "Account",
                &id,
                "parent_company"
            )),
            (run_partition(), format!("LINK#Account#{id}#parent_company"))
        );
        assert_eq!(
            key(DocumentKey::run_history_line(
                &TenantId::new("acme"),
                12,
                &run
            )),
            ("acme#RUNS".to_owned(), "RUN#0000000012#run-1".to_owned())
        );
        assert_eq!(
            key(DocumentKey::journal_entry(&run, "Account", &id)),
            (run_partition(), format!("JOURNAL#Account#{id}"))
        );
        assert_eq!(
            key(DocumentKey::pending_deletion(&run, "Account", &id)),
            (run_partition(), format!("PENDINGDEL#Account#{id}"))
        );
        for (made, sort) in [
            (DocumentKey::extraction(&run, "Account"), "EXTRACT#Account"),
            (
                DocumentKey::link_resolution(&run, "Account"),
                "RESOLVED#Account",
            ),
            (DocumentKey::run_summary(&run), "SUMMARY"),
            (DocumentKey::deletions(&run, "Account"), "DELETIONS#Account"),
            (
                DocumentKey::verification(&run, "Account"),
                "VERIFIED#Account",
            ),
            (DocumentKey::rollback(&run, "Account"), "ROLLBACK#Account"),
        ] {
            assert_eq!(key(made), (run_partition(), sort.to_owned()));
        }
    }

    #[test]
    fn every_key_falls_under_the_prefix_it_is_listed_by() {
        let run = RunId::new("run-1");
        let tenant = TenantId::new("acme");
        let id = account_id(1);
        for (key, prefix) in [
            (
                DocumentKey::extraction(&run, "A"),
                DocumentPrefix::extractions(&run),
            ),
            (
                DocumentKey::chunk(&run, "A", 0),
                DocumentPrefix::chunks(&run),
            ),
            (
                DocumentKey::deferred_link(&run, "A", &id, "l"),
                DocumentPrefix::deferred_links(&run),
            ),
            (
                DocumentKey::link_resolution(&run, "A"),
                DocumentPrefix::link_resolutions(&run),
            ),
            (
                DocumentKey::run_history_line(&tenant, 1, &run),
                DocumentPrefix::run_history(&tenant),
            ),
            (
                DocumentKey::journal_entry(&run, "A", &id),
                DocumentPrefix::journal(&run, "A"),
            ),
            (
                DocumentKey::pending_deletion(&run, "A", &id),
                DocumentPrefix::pending_deletions(&run, "A"),
            ),
            (
                DocumentKey::deletions(&run, "A"),
                DocumentPrefix::deletions(&run),
            ),
            (
                DocumentKey::verification(&run, "A"),
                DocumentPrefix::verifications(&run),
            ),
            (
                DocumentKey::rollback(&run, "A"),
                DocumentPrefix::rollbacks(&run),
            ),
        ] {
            assert!(prefix.contains(&key), "{key} is not under {prefix:?}");
        }
        // Another run's documents and a longer object's journal are not.
        assert!(
            !DocumentPrefix::chunks(&RunId::new("run-10"))
                .contains(&DocumentKey::chunk(&run, "A", 0))
        );
        assert!(
            !DocumentPrefix::journal(&run, "Acc")
                .contains(&DocumentKey::journal_entry(&run, "Account", &id))
        );
    }

    #[test]
    fn a_range_starts_after_its_cursor_only_when_the_cursor_is_inside_the_prefix() {
        let prefix = DocumentPrefix::new("P", "JOURNAL#B#");
        assert_eq!(
            DocumentRange::all(prefix.clone()).start(),
            RangeStart::From("JOURNAL#B#")
        );
        assert_eq!(
            DocumentRange::page(prefix.clone(), Some("JOURNAL#A#z".to_owned()), 5).start(),
            RangeStart::From("JOURNAL#B#")
        );
        assert_eq!(
            DocumentRange::page(prefix.clone(), Some("JOURNAL#B#x".to_owned()), 5).start(),
            RangeStart::After("JOURNAL#B#x")
        );
        let range = DocumentRange::page(prefix, Some("JOURNAL#B#x".to_owned()), 5);
        assert!(range.contains(&DocumentKey::new("P", "JOURNAL#B#y")));
        assert!(!range.contains(&DocumentKey::new("P", "JOURNAL#B#x")));
        assert!(!range.contains(&DocumentKey::new("P", "JOURNAL#C#a")));
        assert!(!range.contains(&DocumentKey::new("Q", "JOURNAL#B#y")));
    }
}
