//! The idempotency store: for each (key id, idempotency key), the request it was first used
//! for and the answer given, so a retried request is answered from here instead of being
//! carried out twice.
//!
//! It lives in SQLite (a file beside the destination, or memory for tests), so a restarted
//! server still recognises a request it already carried out. Entries expire after a time to
//! live and the table is capped, so it stays bounded however long the server runs.

use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS idempotency (
    key_id TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status INTEGER,
    answer BLOB,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (key_id, key)
);
CREATE INDEX IF NOT EXISTS idempotency_by_age ON idempotency (created_at);
";

/// How long entries are kept and how many at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdempotencyLimits {
    /// An entry older than this is forgotten; a request sent again after it is carried out
    /// again.
    pub time_to_live: Duration,
    /// The oldest entries are forgotten beyond this many.
    pub max_entries: u64,
    /// A request still marked in progress after this long is taken to have died with its
    /// server, and a retry may carry it out.
    pub abandoned_after: Duration,
}

impl Default for IdempotencyLimits {
    fn default() -> Self {
        Self {
            time_to_live: Duration::from_secs(24 * 60 * 60),
            max_entries: 100_000,
            abandoned_after: Duration::from_secs(5 * 60),
        }
    }
}

/// One stored row: the request's fingerprint and, once carried out, its answer.
struct Entry {
    fingerprint: String,
    /// `None` while the request is in progress.
    status: Option<u16>,
    answer: Option<Vec<u8>>,
    created_at: i64,
}

/// What to do with a request that carries an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begin {
    /// First time (or the earlier attempt was abandoned): carry it out, then
    /// [`IdempotencyStore::complete`] or [`IdempotencyStore::abandon`].
    Proceed,
    /// Already carried out: answer with this status and body.
    Replay { status: u16, answer: Vec<u8> },
    /// The same key is being carried out right now by another request.
    InProgress,
    /// The key was first used for a different request.
    Mismatch,
}

/// Why the store could not be used.
#[derive(Debug, thiserror::Error)]
pub enum IdempotencyError {
    #[error("the idempotency store (SQLite)")]
    Sqlite(#[from] rusqlite::Error),
    #[error("a previous idempotency store call panicked; the connection is unusable")]
    Poisoned,
    #[error("the blocking task of an idempotency store call was cancelled")]
    Cancelled,
}

/// See the module documentation.
#[derive(Clone)]
pub struct IdempotencyStore {
    connection: Arc<Mutex<Connection>>,
    limits: IdempotencyLimits,
}

impl std::fmt::Debug for IdempotencyStore {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("IdempotencyStore")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl IdempotencyStore {
    /// Opens (or creates) the store in an SQLite file.
    pub fn open(path: &Path, limits: IdempotencyLimits) -> Result<Self, IdempotencyError> {
        let connection = Connection::open(path)?;
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.busy_timeout(Duration::from_secs(30))?;
        Self::with_connection(connection, limits)
    }

    /// A store in memory, forgotten when the server stops.
    pub fn in_memory(limits: IdempotencyLimits) -> Result<Self, IdempotencyError> {
        Self::with_connection(Connection::open_in_memory()?, limits)
    }

    fn with_connection(
        connection: Connection,
        limits: IdempotencyLimits,
    ) -> Result<Self, IdempotencyError> {
        connection.execute_batch(SCHEMA)?;
        Ok(Self {
            connection: Arc::new(Mutex::new(connection)),
            limits,
        })
    }

    async fn call<T, F>(&self, work: F) -> Result<T, IdempotencyError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection, IdempotencyLimits) -> Result<T, IdempotencyError>
            + Send
            + 'static,
    {
        let connection = Arc::clone(&self.connection);
        let limits = self.limits;
        tokio::task::spawn_blocking(move || {
            let mut guard = connection.lock().map_err(|_| IdempotencyError::Poisoned)?;
            work(&mut guard, limits)
        })
        .await
        .map_err(|_| IdempotencyError::Cancelled)?
    }

    /// Looks the key up and, when the request is to be carried out, marks it in progress
    /// in the same transaction, so two concurrent requests with one key cannot both proceed.
    pub async fn begin(
        &self,
        key_id: &str,
        key: &str,
        fingerprint: &str,
        now: u64,
    ) -> Result<Begin, IdempotencyError> {
        let (key_id, key, fingerprint) =
            (key_id.to_owned(), key.to_owned(), fingerprint.to_owned());
        self.call(move |connection, limits| {
            let transaction = connection.transaction()?;
            let oldest = now.saturating_sub(limits.time_to_live.as_secs());
            transaction.execute(
                "DELETE FROM idempotency WHERE created_at < ?1",
                params![i64::try_from(oldest).unwrap_or(i64::MAX)],
            )?;
            let existing = transaction
                .query_row(
                    "SELECT fingerprint, status, answer, created_at FROM idempotency
                     WHERE key_id = ?1 AND key = ?2",
                    params![key_id, key],
                    |row| {
                        Ok(Entry {
                            fingerprint: row.get(0)?,
                            status: row.get(1)?,
                            answer: row.get(2)?,
                            created_at: row.get(3)?,
                        })
                    },
                )
                .optional()?;
            let now_sql = i64::try_from(now).unwrap_or(i64::MAX);
            let decision = match existing {
                Some(entry) if entry.fingerprint != fingerprint => Begin::Mismatch,
                Some(Entry {
                    status: Some(status),
                    answer,
                    ..
                }) => Begin::Replay {
                    status,
                    answer: answer.unwrap_or_default(),
                },
                Some(Entry {
                    status: None,
                    created_at,
                    ..
                }) if now_sql.saturating_sub(created_at)
                    < i64::try_from(limits.abandoned_after.as_secs()).unwrap_or(i64::MAX) =>
                {
                    Begin::InProgress
                }
                Some(_) => {
                    transaction.execute(
                        "UPDATE idempotency SET created_at = ?3 WHERE key_id = ?1 AND key = ?2",
                        params![key_id, key, now_sql],
                    )?;
                    Begin::Proceed
                }
                None => {
                    transaction.execute(
                        "INSERT INTO idempotency (key_id, key, fingerprint, created_at)
                         VALUES (?1, ?2, ?3, ?4)",
                        params![key_id, key, fingerprint, now_sql],
                    )?;
                    // Over the cap, the oldest entries go first.
                    transaction.execute(
                        "DELETE FROM idempotency WHERE rowid IN (
                           SELECT rowid FROM idempotency ORDER BY created_at DESC
                           LIMIT -1 OFFSET ?1)",
                        params![i64::try_from(limits.max_entries).unwrap_or(i64::MAX)],
                    )?;
                    Begin::Proceed
                }
            };
            transaction.commit()?;
            Ok(decision)
        })
        .await
    }

    /// Stores the answer of a request carried out, to replay for the same key.
    pub async fn complete(
        &self,
        key_id: &str,
        key: &str,
        status: u16,
        answer: Vec<u8>,
    ) -> Result<(), IdempotencyError> {
        let (key_id, key) = (key_id.to_owned(), key.to_owned());
        self.call(move |connection, _| {
            connection.execute(
                "UPDATE idempotency SET status = ?3, answer = ?4 WHERE key_id = ?1 AND key = ?2",
                params![key_id, key, status, answer],
            )?;
            Ok(())
        })
        .await
    }

    /// Forgets a request that failed in a way a retry may not (a 5xx), so the retry is
    /// carried out rather than answered with the failure.
    pub async fn abandon(&self, key_id: &str, key: &str) -> Result<(), IdempotencyError> {
        let (key_id, key) = (key_id.to_owned(), key.to_owned());
        self.call(move |connection, _| {
            connection.execute(
                "DELETE FROM idempotency WHERE key_id = ?1 AND key = ?2",
                params![key_id, key],
            )?;
            Ok(())
        })
        .await
    }

    /// Entries held, for tests and diagnostics.
    pub async fn len(&self) -> Result<u64, IdempotencyError> {
        self.call(|connection, _| {
            let count: i64 =
                connection.query_row("SELECT COUNT(*) FROM idempotency", [], |row| row.get(0))?;
            Ok(u64::try_from(count).unwrap_or(0))
        })
        .await
    }

    pub async fn is_empty(&self) -> Result<bool, IdempotencyError> {
        Ok(self.len().await? == 0)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn store(limits: IdempotencyLimits) -> IdempotencyStore {
        IdempotencyStore::in_memory(limits).unwrap()
    }

    #[tokio::test]
    async fn a_completed_key_replays_and_a_different_request_with_it_is_a_mismatch() {
        let store = store(IdempotencyLimits::default());
        assert_eq!(
            store.begin("k", "key-1", "fp-a", 1000).await.unwrap(),
            Begin::Proceed
        );
        assert_eq!(
            store.begin("k", "key-1", "fp-a", 1001).await.unwrap(),
            Begin::InProgress
        );
        store
            .complete("k", "key-1", 200, b"{}".to_vec())
            .await
            .unwrap();
        assert_eq!(
            store.begin("k", "key-1", "fp-a", 1002).await.unwrap(),
            Begin::Replay {
                status: 200,
                answer: b"{}".to_vec()
            }
        );
        assert_eq!(
            store.begin("k", "key-1", "fp-b", 1003).await.unwrap(),
            Begin::Mismatch
        );
        // Keys are per key id: another client's key of the same name is another entry.
        assert_eq!(
            store.begin("k2", "key-1", "fp-b", 1003).await.unwrap(),
            Begin::Proceed
        );
    }

    #[tokio::test]
    async fn abandoned_and_expired_entries_let_the_request_run_again() {
        let limits = IdempotencyLimits {
            time_to_live: Duration::from_secs(100),
            max_entries: 2,
            abandoned_after: Duration::from_secs(10),
        };
        let store = store(limits);
        assert_eq!(
            store.begin("k", "a", "fp", 1000).await.unwrap(),
            Begin::Proceed
        );
        // A server that died mid-request leaves the key in progress; after a while a retry
        // may take it over.
        assert_eq!(
            store.begin("k", "a", "fp", 1011).await.unwrap(),
            Begin::Proceed
        );
        store.complete("k", "a", 200, Vec::new()).await.unwrap();
        store.abandon("k", "a").await.unwrap();
        assert_eq!(
            store.begin("k", "a", "fp", 1012).await.unwrap(),
            Begin::Proceed
        );
        store.complete("k", "a", 200, Vec::new()).await.unwrap();
        assert!(matches!(
            store.begin("k", "a", "fp", 1013).await.unwrap(),
            Begin::Replay { .. }
        ));
        // Past the time to live the entry is forgotten.
        assert_eq!(
            store.begin("k", "a", "fp", 1200).await.unwrap(),
            Begin::Proceed
        );
        // The cap keeps the newest entries.
        store.begin("k", "b", "fp", 1201).await.unwrap();
        store.begin("k", "c", "fp", 1202).await.unwrap();
        assert_eq!(store.len().await.unwrap(), 2);
    }
}
