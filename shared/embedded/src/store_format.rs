//! The format of `ferry.db`, kept in SQLite's `user_version`, and the move of an older
//! Ferry's file to the current format.
//!
//! - Format 0 (no `user_version` set): every Ferry before the document run store. The ID
//!   map is the `id_map` table it still is; run records are in a table per kind
//!   (`run_plans`, `run_chunks`, `runs`, `run_journal`, ...).
//! - Format 1: the run records are documents in `run_documents`, under the core's key
//!   layout ([`ferry_model::run_store`]).
//!
//! A format-0 file is moved to format 1 when opened, in one transaction: each old row
//! becomes the document the typed run store would have written for it (its JSON body
//! unchanged, its key made by the core's key constructors, so no layout is restated here),
//! the old tables are dropped and `user_version` is set. A run history, a journal or an
//! unfinished run kept by an older Ferry is so still there for delta runs, rollbacks and
//! resumes. A file whose format is newer than this Ferry's is refused before anything is
//! created or moved in it.

use crate::db::EmbeddedError;
use ferry_model::ids::{RunId, SalesforceId, TenantId};
use ferry_model::run_store::DocumentKey;
use rusqlite::{Connection, Row, Transaction, TransactionBehavior, params};
use std::path::Path;

/// The format this Ferry writes and reads.
pub(crate) const CURRENT_FORMAT: i64 = 1;

/// Checks the file's format, creates `schema` (which must be idempotent) and moves an older
/// file's run tables to the current format.
pub(crate) fn prepare(
    connection: &mut Connection,
    path: &Path,
    schema: &str,
) -> Result<(), EmbeddedError> {
    // IMMEDIATE: the format is read and changed under the write lock, so two processes
    // opening one old file move it once (the second finds format 1 and does nothing).
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found: i64 = transaction.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if found > CURRENT_FORMAT {
        return Err(EmbeddedError::NewerStoreFormat {
            path: path.to_owned(),
            found,
            supported: CURRENT_FORMAT,
        });
    }
    transaction.execute_batch(schema)?;
    if found < CURRENT_FORMAT {
        move_format_0_tables(&transaction, path)?;
        transaction.pragma_update(None, "user_version", CURRENT_FORMAT)?;
    }
    transaction.commit()?;
    Ok(())
}

/// A format-0 table, how to read the key columns of its rows (the JSON body is always the
/// last column) and the documents each row becomes.
struct OldTable {
    name: &'static str,
    key_columns: &'static str,
    keys: fn(&OldRow<'_>) -> Result<Vec<DocumentKey>, EmbeddedError>,
}

/// One row of a format-0 table, with what an error about it names.
struct OldRow<'a> {
    row: &'a Row<'a>,
    table: &'static str,
    path: &'a Path,
}

impl OldRow<'_> {
    fn text(&self, index: usize) -> Result<String, EmbeddedError> {
        Ok(self.row.get::<_, String>(index)?)
    }

    /// Every format-0 table starts with the run id.
    fn run(&self) -> Result<RunId, EmbeddedError> {
        Ok(RunId::new(self.text(0)?))
    }

    fn unmovable(
        &self,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Result<EmbeddedError, EmbeddedError> {
        Ok(EmbeddedError::UnmovableOldRow {
            path: self.path.to_owned(),
            table: self.table,
            run: self.text(0)?,
            source: Box::new(source),
        })
    }

    fn salesforce_id(&self, index: usize) -> Result<SalesforceId, EmbeddedError> {
        let text = self.text(index)?;
        match SalesforceId::parse(&text) {
            Ok(id) => Ok(id),
            Err(error) => Err(self.unmovable(error)?),
        }
    }

    fn unsigned<T: TryFrom<i64, Error = std::num::TryFromIntError>>(
        &self,
        index: usize,
    ) -> Result<T, EmbeddedError> {
        let number: i64 = self.row.get(index)?;
        match T::try_from(number) {
            Ok(number) => Ok(number),
            Err(error) => Err(self.unmovable(error)?),
        }
    }
}

/// The tables of format 0, in the order they are moved. A file of a Ferry older still may
/// lack some of them (the journal and the outcome tables came later); those are skipped.
const FORMAT_0_TABLES: &[OldTable] = &[
    OldTable {
        name: "run_plans",
        key_columns: "run_id",
        keys: |row| Ok(vec![DocumentKey::plan(&row.run()?)]),
    },
    OldTable {
        name: "run_extractions",
        key_columns: "run_id, object",
        keys: |row| Ok(vec![DocumentKey::extraction(&row.run()?, &row.text(1)?)]),
    },
    OldTable {
        name: "run_chunks",
        key_columns: "run_id, object, chunk",
        keys: |row| {
            Ok(vec![DocumentKey::chunk(
                &row.run()?,
                &row.text(1)?,
                row.unsigned(2)?,
            )])
        },
    },
    OldTable {
        name: "run_deferred_links",
        key_columns: "run_id, object, salesforce_id, link",
        keys: |row| {
            Ok(vec![DocumentKey::deferred_link(
                &row.run()?,
                &row.text(1)?,
                &row.salesforce_id(2)?,
                &row.text(3)?,
            )])
        },
    },
    OldTable {
        name: "run_link_resolutions",
        key_columns: "run_id, object",
        keys: |row| {
            Ok(vec![DocumentKey::link_resolution(
                &row.run()?,
                &row.text(1)?,
            )])
        },
    },
    OldTable {
        // A run's line: its own copy and its line in the tenant's history, as `save_run`
        // writes them.
        name: "runs",
        key_columns: "run_id, tenant, sequence",
        keys: |row| {
            let run = row.run()?;
            Ok(vec![
                DocumentKey::run_summary(&run),
                DocumentKey::run_history_line(&TenantId::new(row.text(1)?), row.unsigned(2)?, &run),
            ])
        },
    },
    OldTable {
        name: "run_journal",
        key_columns: "run_id, object, salesforce_id",
        keys: |row| {
            Ok(vec![DocumentKey::journal_entry(
                &row.run()?,
                &row.text(1)?,
                &row.salesforce_id(2)?,
            )])
        },
    },
    OldTable {
        name: "run_pending_deletions",
        key_columns: "run_id, object, salesforce_id",
        keys: |row| {
            Ok(vec![DocumentKey::pending_deletion(
                &row.run()?,
                &row.text(1)?,
                &row.salesforce_id(2)?,
            )])
        },
    },
    OldTable {
        name: "run_deletions",
        key_columns: "run_id, object",
        keys: |row| Ok(vec![DocumentKey::deletions(&row.run()?, &row.text(1)?)]),
    },
    OldTable {
        name: "run_verifications",
        key_columns: "run_id, object",
        keys: |row| Ok(vec![DocumentKey::verification(&row.run()?, &row.text(1)?)]),
    },
    OldTable {
        name: "run_rollbacks",
        key_columns: "run_id, object",
        keys: |row| Ok(vec![DocumentKey::rollback(&row.run()?, &row.text(1)?)]),
    },
];

fn move_format_0_tables(transaction: &Transaction<'_>, path: &Path) -> Result<(), EmbeddedError> {
    let mut insert = transaction.prepare(
        "INSERT INTO run_documents (partition_key, sort_key, body) VALUES (?1, ?2, ?3)
         ON CONFLICT (partition_key, sort_key) DO UPDATE SET body = excluded.body",
    )?;
    for table in FORMAT_0_TABLES {
        let exists: bool = transaction.query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)",
            [table.name],
            |row| row.get(0),
        )?;
        if !exists {
            continue;
        }
        {
            let body_column = table.key_columns.split(',').count();
            let mut select = transaction.prepare(&format!(
                "SELECT {}, body FROM {}",
                table.key_columns, table.name
            ))?;
            let mut rows = select.query([])?;
            while let Some(row) = rows.next()? {
                let old = OldRow {
                    row,
                    table: table.name,
                    path,
                };
                let body: String = row.get(body_column)?;
                for key in (table.keys)(&old)? {
                    insert.execute(params![key.partition(), key.sort(), body])?;
                }
            }
        }
        // The index on `runs` goes with its table.
        transaction.execute_batch(&format!("DROP TABLE {}", table.name))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_0_table_is_known_once() {
        let mut names: Vec<&str> = FORMAT_0_TABLES.iter().map(|table| table.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), FORMAT_0_TABLES.len());
    }
}
