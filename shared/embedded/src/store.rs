//! The ID map and the run store in one SQLite file (`ferry.db`).
//!
//! The run store is the core's keyed-document port ([`DocumentStore`]) on one table,
//! `run_documents` (`partition_key`, `sort_key`, `body`), with the key layout the core
//! defines ([`ferry_model::run_store`]): `SELECT * FROM run_documents WHERE partition_key =
//! 'RUN#<run>'` shows everything a run recorded, under keys that say what each row is. The
//! file's format is its `user_version` ([`crate::store_format`]): a file of an older Ferry,
//! with a table per kind of record, is moved to this layout when opened.

use crate::db::{Db, EmbeddedError};
use crate::store_format;
use async_trait::async_trait;
use ferry_model::PortError;
use ferry_model::ids::{DestinationId, RunId, SalesforceId, TenantId};
use ferry_model::ports::{IdMap, IdMapEntry};
use ferry_model::run_store::{
    Document, DocumentKey, DocumentRange, DocumentStore, MAX_DOCUMENTS_TOGETHER, RangeStart,
};
use ferry_model::runs::StoredIdMapEntry;
use rusqlite::{OptionalExtension, params};
use std::collections::HashMap;
use std::path::Path;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS id_map (
    tenant TEXT NOT NULL,
    object TEXT NOT NULL,
    salesforce_id TEXT NOT NULL,
    destination_id TEXT NOT NULL,
    created_by_run TEXT NOT NULL,
    last_run TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    PRIMARY KEY (tenant, object, salesforce_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS run_documents (
    partition_key TEXT NOT NULL,
    sort_key TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (partition_key, sort_key)
);
";

/// The ID map and the run store in one SQLite file.
#[derive(Clone)]
pub struct SqliteStore {
    db: Db,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("SqliteStore")
    }
}

impl SqliteStore {
    /// Opens (or creates) the file, moving an older Ferry's run tables to the document
    /// table; refuses a file of a newer Ferry ([`EmbeddedError::NewerStoreFormat`]).
    pub fn open(path: &Path) -> Result<Self, EmbeddedError> {
        // No schema yet: the format is checked before anything is created in the file.
        let db = Db::open(path, "")?;
        db.with_connection(|connection| store_format::prepare(connection, path, SCHEMA))?;
        Ok(Self { db })
    }

    /// How many ID-map entries a tenant has, per object.
    pub async fn id_map_counts(
        &self,
        tenant: &TenantId,
    ) -> Result<HashMap<String, u64>, PortError> {
        let tenant = tenant.to_string();
        self.db
            .call("counting the ID map", move |connection| {
                let mut statement = connection.prepare(
                    "SELECT object, COUNT(*) FROM id_map WHERE tenant = ?1 GROUP BY object",
                )?;
                let rows = statement.query_map([tenant], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
                })?;
                let mut counts = HashMap::new();
                for row in rows {
                    let (object, count) = row?;
                    counts.insert(object, u64::try_from(count).unwrap_or(0));
                }
                Ok(counts)
            })
            .await
    }
}

#[async_trait]
impl IdMap for SqliteStore {
    async fn lookup(
        &self,
        tenant: &TenantId,
        object: &str,
        ids: &[SalesforceId],
    ) -> Result<HashMap<SalesforceId, DestinationId>, PortError> {
        let tenant = tenant.to_string();
        let object = object.to_owned();
        let ids = sorted_unique(ids);
        self.db
            .call("looking up the ID map", move |connection| {
                let mut statement = connection.prepare_cached(
                    "SELECT destination_id FROM id_map WHERE tenant = ?1 AND object = ?2 AND salesforce_id = ?3",
                )?;
                let mut found = HashMap::with_capacity(ids.len());
                for id in ids {
                    let destination: Option<String> = statement
                        .query_row(params![tenant, object, id.as_str()], |row| row.get(0))
                        .optional()?;
                    if let Some(destination) = destination {
                        found.insert(id, DestinationId::new(destination));
                    }
                }
                Ok(found)
            })
            .await
    }

    async fn record(&self, tenant: &TenantId, entries: &[IdMapEntry]) -> Result<(), PortError> {
        let tenant = tenant.to_string();
        let entries = entries.to_vec();
        self.db
            .call("writing the ID map", move |connection| {
                let transaction = connection.transaction()?;
                {
                    // The run that created an entry is kept across later runs: rollback of a
                    // run deletes only what that run created.
                    let mut statement = transaction.prepare_cached(
                        "INSERT INTO id_map (tenant, object, salesforce_id, destination_id, created_by_run, last_run, content_hash)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6)
                         ON CONFLICT (tenant, object, salesforce_id) DO UPDATE SET
                           destination_id = excluded.destination_id,
                           last_run = excluded.last_run,
                           content_hash = excluded.content_hash",
                    )?;
                    for entry in &entries {
                        statement.execute(params![
                            tenant,
                            entry.object,
                            entry.salesforce_id.as_str(),
                            entry.destination_id.as_str(),
                            entry.run_id.as_str(),
                            entry.content_hash,
                        ])?;
                    }
                }
                transaction.commit()?;
                Ok(())
            })
            .await
    }

    async fn entries(
        &self,
        tenant: &TenantId,
        object: &str,
        ids: &[SalesforceId],
    ) -> Result<HashMap<SalesforceId, StoredIdMapEntry>, PortError> {
        let tenant = tenant.to_string();
        let object = object.to_owned();
        let ids = sorted_unique(ids);
        self.db
            .call("reading ID-map entries", move |connection| {
                let mut statement = connection.prepare_cached(
                    "SELECT destination_id, created_by_run, last_run, content_hash FROM id_map
                     WHERE tenant = ?1 AND object = ?2 AND salesforce_id = ?3",
                )?;
                let mut found = HashMap::with_capacity(ids.len());
                for id in ids {
                    let row = statement
                        .query_row(params![tenant, object, id.as_str()], |row| {
                            Ok((
                                row.get::<_, String>(0)?,
                                row.get::<_, String>(1)?,
                                row.get::<_, String>(2)?,
                                row.get::<_, String>(3)?,
                            ))
                        })
                        .optional()?;
                    if let Some((destination, created_by, last, hash)) = row {
                        found.insert(
                            id.clone(),
                            StoredIdMapEntry {
                                object: object.clone(),
                                salesforce_id: id,
                                destination_id: DestinationId::new(destination),
                                created_by_run: RunId::new(created_by),
                                last_run: RunId::new(last),
                                content_hash: hash,
                            },
                        );
                    }
                }
                Ok(found)
            })
            .await
    }

    async fn remove(
        &self,
        tenant: &TenantId,
        object: &str,
        ids: &[SalesforceId],
    ) -> Result<(), PortError> {
        let tenant = tenant.to_string();
        let object = object.to_owned();
        let ids = ids.to_vec();
        self.db
            .call("removing ID-map entries", move |connection| {
                let transaction = connection.transaction()?;
                {
                    let mut statement = transaction.prepare_cached(
                        "DELETE FROM id_map WHERE tenant = ?1 AND object = ?2 AND salesforce_id = ?3",
                    )?;
                    for id in &ids {
                        statement.execute(params![tenant, object, id.as_str()])?;
                    }
                }
                transaction.commit()?;
                Ok(())
            })
            .await
    }

    async fn restore(
        &self,
        tenant: &TenantId,
        entries: &[StoredIdMapEntry],
    ) -> Result<(), PortError> {
        let tenant = tenant.to_string();
        let entries = entries.to_vec();
        self.db
            .call("restoring ID-map entries", move |connection| {
                let transaction = connection.transaction()?;
                {
                    let mut statement = transaction.prepare_cached(
                        "INSERT OR REPLACE INTO id_map (tenant, object, salesforce_id, destination_id, created_by_run, last_run, content_hash)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    )?;
                    for entry in &entries {
                        statement.execute(params![
                            tenant,
                            entry.object,
                            entry.salesforce_id.as_str(),
                            entry.destination_id.as_str(),
                            entry.created_by_run.as_str(),
                            entry.last_run.as_str(),
                            entry.content_hash,
                        ])?;
                    }
                }
                transaction.commit()?;
                Ok(())
            })
            .await
    }
}

#[async_trait]
impl DocumentStore for SqliteStore {
    async fn get_document(&self, key: &DocumentKey) -> Result<Option<String>, PortError> {
        let partition = key.partition().to_owned();
        let sort = key.sort().to_owned();
        self.db
            .call("reading a run document", move |connection| {
                let mut statement = connection.prepare_cached(
                    "SELECT body FROM run_documents WHERE partition_key = ?1 AND sort_key = ?2",
                )?;
                Ok(statement
                    .query_row(params![partition, sort], |row| row.get::<_, String>(0))
                    .optional()?)
            })
            .await
    }

    async fn put_documents(&self, documents: Vec<Document>) -> Result<(), PortError> {
        self.write_documents(
            "writing run documents",
            "INSERT INTO run_documents (partition_key, sort_key, body) VALUES (?1, ?2, ?3)
             ON CONFLICT (partition_key, sort_key) DO UPDATE SET body = excluded.body",
            documents,
        )
        .await
    }

    async fn put_documents_if_absent(&self, documents: Vec<Document>) -> Result<(), PortError> {
        // DO NOTHING on the key alone (not OR IGNORE, which would also swallow other
        // constraint failures): the first write of a key wins.
        self.write_documents(
            "writing run documents if absent",
            "INSERT INTO run_documents (partition_key, sort_key, body) VALUES (?1, ?2, ?3)
             ON CONFLICT (partition_key, sort_key) DO NOTHING",
            documents,
        )
        .await
    }

    async fn put_documents_together(&self, documents: Vec<Document>) -> Result<(), PortError> {
        // Every batch here is one transaction, so this is a put; the limit is checked all the
        // same, so a caller that breaks it fails on the embedded path too, not only on AWS.
        if documents.len() > MAX_DOCUMENTS_TOGETHER {
            return Err(PortError::permanent(format!(
                "{} documents cannot be written together; at most {MAX_DOCUMENTS_TOGETHER} can",
                documents.len()
            )));
        }
        self.put_documents(documents).await
    }

    async fn list_documents(&self, range: &DocumentRange) -> Result<Vec<Document>, PortError> {
        if range.limit == Some(0) {
            return Ok(Vec::new());
        }
        let partition = range.prefix.partition().to_owned();
        let (start_condition, start) = match range.start() {
            RangeStart::From(sort) => (">=", sort.to_owned()),
            RangeStart::After(sort) => (">", sort.to_owned()),
        };
        // The prefix as a key range, so the primary key's index bounds the scan at both ends
        // (a `LIKE` or `substr` test would read the rest of the partition).
        let end = prefix_end(range.prefix.sort_prefix());
        let end_condition = if end.is_some() {
            "AND sort_key < ?3"
        } else {
            "AND ?3 IS NULL"
        };
        let sql = format!(
            "SELECT sort_key, body FROM run_documents
             WHERE partition_key = ?1 AND sort_key {start_condition} ?2 {end_condition}
             ORDER BY sort_key LIMIT ?4"
        );
        // -1 is SQLite's "no limit".
        let limit = range
            .limit
            .map_or(-1, |limit| i64::try_from(limit).unwrap_or(i64::MAX));
        self.db
            .call("listing run documents", move |connection| {
                let mut statement = connection.prepare_cached(&sql)?;
                let rows = statement.query_map(params![partition, start, end, limit], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
                })?;
                let mut documents = Vec::new();
                for row in rows {
                    let (sort, body) = row?;
                    documents.push(Document {
                        key: DocumentKey::new(partition.clone(), sort),
                        body,
                    });
                }
                Ok(documents)
            })
            .await
    }
}

impl SqliteStore {
    /// Runs `sql` (an insert of partition, sort key and body) for each document, in one
    /// transaction.
    async fn write_documents(
        &self,
        context: &'static str,
        sql: &'static str,
        documents: Vec<Document>,
    ) -> Result<(), PortError> {
        if documents.is_empty() {
            return Ok(());
        }
        self.db
            .call(context, move |connection| {
                let transaction = connection.transaction()?;
                {
                    let mut statement = transaction.prepare_cached(sql)?;
                    for document in &documents {
                        statement.execute(params![
                            document.key.partition(),
                            document.key.sort(),
                            document.body
                        ])?;
                    }
                }
                transaction.commit()?;
                Ok(())
            })
            .await
    }
}

/// The least string greater than every string that starts with `prefix`, or `None` when
/// there is none (an empty prefix, or one of `char::MAX` only): the prefix with its last
/// character that can grow moved to the next character, and what follows it dropped.
/// SQLite compares text by its UTF-8 bytes, which is code-point order, so this bounds the
/// prefix's keys exactly.
fn prefix_end(prefix: &str) -> Option<String> {
    let mut characters: Vec<char> = prefix.chars().collect();
    while let Some(last) = characters.pop() {
        let next = match last {
            // Surrogates are not characters: the one after U+D7FF is U+E000.
            '\u{d7ff}' => Some('\u{e000}'),
            _ => char::from_u32(u32::from(last) + 1),
        };
        if let Some(next) = next {
            characters.push(next);
            return Some(characters.into_iter().collect());
        }
    }
    None
}

/// Ids in key order, each once: lookups in key order walk the B-tree's pages in order, so
/// each page is read once per batch rather than once per id.
fn sorted_unique(ids: &[SalesforceId]) -> Vec<SalesforceId> {
    let mut ids = ids.to_vec();
    ids.sort_unstable_by(|a, b| a.as_str().cmp(b.as_str()));
    ids.dedup();
    ids
}

#[cfg(test)]
mod tests {
    use super::prefix_end;

    #[test]
    fn a_prefix_ends_at_the_next_character() {
        assert_eq!(prefix_end("CHUNK#").as_deref(), Some("CHUNK$"));
        assert_eq!(prefix_end("a\u{d7ff}").as_deref(), Some("a\u{e000}"));
        assert_eq!(prefix_end("a\u{10ffff}").as_deref(), Some("b"));
        assert_eq!(prefix_end("\u{10ffff}"), None);
        assert_eq!(prefix_end(""), None);
        for key in ["CHUNK#", "CHUNK#\u{10ffff}\u{10ffff}", "CHUNK#z\u{e9}"] {
            assert!(key < "CHUNK$");
        }
    }
}
