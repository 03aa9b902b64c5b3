use crate::db::{Db, EmbeddedError};
use async_trait::async_trait;
use ferry_core::PortError;
use ferry_core::ids::{DestinationId, RunId, SalesforceId, TenantId};
use ferry_core::plan::Plan;
use ferry_core::ports::{DeferredLink, IdMap, IdMapEntry, RunRecords, RunStore};
use ferry_core::report::{ChunkResult, LinkResolution, ObjectExtraction};
use ferry_core::runs::{
    DeletionResult, JournalEntry, ObjectVerification, PendingDeletion, RollbackObject, RunSummary,
    StoredIdMapEntry,
};
use rusqlite::{OptionalExtension, params};
use serde::de::DeserializeOwned;
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
CREATE TABLE IF NOT EXISTS run_plans (run_id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS run_extractions (
    run_id TEXT NOT NULL, object TEXT NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (run_id, object)
);
CREATE TABLE IF NOT EXISTS run_chunks (
    run_id TEXT NOT NULL, object TEXT NOT NULL, chunk INTEGER NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (run_id, object, chunk)
);
CREATE TABLE IF NOT EXISTS run_deferred_links (
    run_id TEXT NOT NULL, object TEXT NOT NULL, salesforce_id TEXT NOT NULL, link TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (run_id, object, salesforce_id, link)
);
CREATE TABLE IF NOT EXISTS run_link_resolutions (
    run_id TEXT NOT NULL, object TEXT NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (run_id, object)
);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, tenant TEXT NOT NULL, sequence INTEGER NOT NULL, body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_by_tenant ON runs (tenant, sequence);
CREATE TABLE IF NOT EXISTS run_journal (
    run_id TEXT NOT NULL, object TEXT NOT NULL, salesforce_id TEXT NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (run_id, object, salesforce_id)
);
CREATE TABLE IF NOT EXISTS run_pending_deletions (
    run_id TEXT NOT NULL, object TEXT NOT NULL, salesforce_id TEXT NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (run_id, object, salesforce_id)
);
CREATE TABLE IF NOT EXISTS run_deletions (
    run_id TEXT NOT NULL, object TEXT NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (run_id, object)
);
CREATE TABLE IF NOT EXISTS run_verifications (
    run_id TEXT NOT NULL, object TEXT NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (run_id, object)
);
CREATE TABLE IF NOT EXISTS run_rollbacks (
    run_id TEXT NOT NULL, object TEXT NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (run_id, object)
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
    pub fn open(path: &Path) -> Result<Self, EmbeddedError> {
        Ok(Self {
            db: Db::open(path, SCHEMA)?,
        })
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

    async fn put_body(
        &self,
        context: &'static str,
        sql: &'static str,
        keys: Vec<String>,
        body: String,
    ) -> Result<(), PortError> {
        self.db
            .call(context, move |connection| {
                let mut values: Vec<&dyn rusqlite::ToSql> =
                    keys.iter().map(|key| key as &dyn rusqlite::ToSql).collect();
                values.push(&body);
                connection.execute(sql, values.as_slice())?;
                Ok(())
            })
            .await
    }

    async fn bodies<T: DeserializeOwned + Send + 'static>(
        &self,
        context: &'static str,
        sql: &'static str,
        run: &RunId,
    ) -> Result<Vec<T>, PortError> {
        let run = run.to_string();
        self.db
            .call(context, move |connection| {
                let mut statement = connection.prepare(sql)?;
                let rows = statement.query_map([run], |row| row.get::<_, String>(0))?;
                let mut bodies = Vec::new();
                for row in rows {
                    bodies.push(serde_json::from_str(&row?)?);
                }
                Ok(bodies)
            })
            .await
    }
}

impl SqliteStore {
    /// Bodies of one (run, object), in key order.
    async fn object_bodies<T: DeserializeOwned + Send + 'static>(
        &self,
        context: &'static str,
        sql: &'static str,
        run: &RunId,
        object: &str,
    ) -> Result<Vec<T>, PortError> {
        let run = run.to_string();
        let object = object.to_owned();
        self.db
            .call(context, move |connection| {
                let mut statement = connection.prepare_cached(sql)?;
                let rows = statement.query_map([run, object], |row| row.get::<_, String>(0))?;
                let mut bodies = Vec::new();
                for row in rows {
                    bodies.push(serde_json::from_str(&row?)?);
                }
                Ok(bodies)
            })
            .await
    }

    /// Writes (run, object, Salesforce id, body) rows in one transaction with `sql`.
    async fn put_record_bodies(
        &self,
        context: &'static str,
        sql: &'static str,
        run: &RunId,
        rows: Vec<(String, String, String)>,
    ) -> Result<(), PortError> {
        let run = run.to_string();
        self.db
            .call(context, move |connection| {
                let transaction = connection.transaction()?;
                {
                    let mut statement = transaction.prepare_cached(sql)?;
                    for (object, salesforce_id, body) in &rows {
                        statement.execute(params![run, object, salesforce_id, body])?;
                    }
                }
                transaction.commit()?;
                Ok(())
            })
            .await
    }
}

fn to_json<T: serde::Serialize>(value: &T, context: &str) -> Result<String, PortError> {
    serde_json::to_string(value)
        .map_err(|error| EmbeddedError::Json(error).into_port_error(context))
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
impl RunStore for SqliteStore {
    async fn save_plan(&self, run: &RunId, plan: &Plan) -> Result<(), PortError> {
        let body = to_json(plan, "saving the plan")?;
        self.put_body(
            "saving the plan",
            "INSERT OR REPLACE INTO run_plans (run_id, body) VALUES (?1, ?2)",
            vec![run.to_string()],
            body,
        )
        .await
    }

    async fn load_plan(&self, run: &RunId) -> Result<Plan, PortError> {
        let mut plans: Vec<Plan> = self
            .bodies(
                "loading the plan",
                "SELECT body FROM run_plans WHERE run_id = ?1",
                run,
            )
            .await?;
        plans
            .pop()
            .ok_or_else(|| PortError::permanent(format!("run {run} has no plan in the run store")))
    }

    async fn record_extraction(
        &self,
        run: &RunId,
        extraction: &ObjectExtraction,
    ) -> Result<(), PortError> {
        let body = to_json(extraction, "recording an extraction")?;
        self.put_body(
            "recording an extraction",
            "INSERT OR REPLACE INTO run_extractions (run_id, object, body) VALUES (?1, ?2, ?3)",
            vec![run.to_string(), extraction.object.clone()],
            body,
        )
        .await
    }

    async fn record_chunk(&self, run: &RunId, result: &ChunkResult) -> Result<(), PortError> {
        let body = to_json(result, "recording a chunk")?;
        self.put_body(
            "recording a chunk",
            "INSERT OR REPLACE INTO run_chunks (run_id, object, chunk, body) VALUES (?1, ?2, ?3, ?4)",
            vec![run.to_string(), result.object.clone(), result.chunk.to_string()],
            body,
        )
        .await
    }

    async fn defer_links(&self, run: &RunId, links: &[DeferredLink]) -> Result<(), PortError> {
        let run = run.to_string();
        let mut rows = Vec::with_capacity(links.len());
        for link in links {
            rows.push((link.clone(), to_json(link, "deferring links")?));
        }
        self.db
            .call("deferring links", move |connection| {
                let transaction = connection.transaction()?;
                {
                    let mut statement = transaction.prepare_cached(
                        "INSERT OR REPLACE INTO run_deferred_links (run_id, object, salesforce_id, link, body)
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                    )?;
                    for (link, body) in &rows {
                        statement.execute(params![run, link.object, link.salesforce_id.as_str(), link.link, body])?;
                    }
                }
                transaction.commit()?;
                Ok(())
            })
            .await
    }

    async fn deferred_links(&self, run: &RunId) -> Result<Vec<DeferredLink>, PortError> {
        self.bodies(
            "reading deferred links",
            "SELECT body FROM run_deferred_links WHERE run_id = ?1 ORDER BY object, salesforce_id, link",
            run,
        )
        .await
    }

    async fn record_link_resolution(
        &self,
        run: &RunId,
        resolution: &LinkResolution,
    ) -> Result<(), PortError> {
        let body = to_json(resolution, "recording link resolution")?;
        self.put_body(
            "recording link resolution",
            "INSERT OR REPLACE INTO run_link_resolutions (run_id, object, body) VALUES (?1, ?2, ?3)",
            vec![run.to_string(), resolution.object.clone()],
            body,
        )
        .await
    }

    async fn run_records(&self, run: &RunId) -> Result<RunRecords, PortError> {
        Ok(RunRecords {
            plan: self.load_plan(run).await?,
            extractions: self
                .bodies(
                    "reading extractions",
                    "SELECT body FROM run_extractions WHERE run_id = ?1 ORDER BY object",
                    run,
                )
                .await?,
            chunks: self
                .bodies(
                    "reading chunk results",
                    "SELECT body FROM run_chunks WHERE run_id = ?1 ORDER BY object, chunk",
                    run,
                )
                .await?,
            link_resolutions: self
                .bodies(
                    "reading link resolutions",
                    "SELECT body FROM run_link_resolutions WHERE run_id = ?1 ORDER BY object",
                    run,
                )
                .await?,
            deletions: self
                .bodies(
                    "reading deletions",
                    "SELECT body FROM run_deletions WHERE run_id = ?1 ORDER BY object",
                    run,
                )
                .await?,
            verifications: self
                .bodies(
                    "reading verifications",
                    "SELECT body FROM run_verifications WHERE run_id = ?1 ORDER BY object",
                    run,
                )
                .await?,
        })
    }

    async fn save_run(&self, summary: &RunSummary) -> Result<(), PortError> {
        let body = to_json(summary, "saving a run")?;
        let run = summary.run_id.to_string();
        let tenant = summary.tenant.to_string();
        let sequence = i64::try_from(summary.sequence).unwrap_or(i64::MAX);
        self.db
            .call("saving a run", move |connection| {
                connection.execute(
                    "INSERT OR REPLACE INTO runs (run_id, tenant, sequence, body) VALUES (?1, ?2, ?3, ?4)",
                    params![run, tenant, sequence, body],
                )?;
                Ok(())
            })
            .await
    }

    async fn run_summary(&self, run: &RunId) -> Result<Option<RunSummary>, PortError> {
        let mut found: Vec<RunSummary> = self
            .bodies(
                "reading a run",
                "SELECT body FROM runs WHERE run_id = ?1",
                run,
            )
            .await?;
        Ok(found.pop())
    }

    async fn list_runs(&self, tenant: &TenantId) -> Result<Vec<RunSummary>, PortError> {
        // `bodies` binds one key; the tenant stands in for the run here.
        self.bodies(
            "listing runs",
            "SELECT body FROM runs WHERE tenant = ?1 ORDER BY sequence",
            &RunId::new(tenant.as_str()),
        )
        .await
    }

    async fn journal(&self, run: &RunId, entries: &[JournalEntry]) -> Result<(), PortError> {
        let mut rows = Vec::with_capacity(entries.len());
        for entry in entries {
            rows.push((
                entry.object.clone(),
                entry.salesforce_id.to_string(),
                to_json(entry, "journaling records")?,
            ));
        }
        // OR IGNORE: the first entry of a record in a run is the true "before".
        self.put_record_bodies(
            "journaling records",
            "INSERT OR IGNORE INTO run_journal (run_id, object, salesforce_id, body) VALUES (?1, ?2, ?3, ?4)",
            run,
            rows,
        )
        .await
    }

    async fn journal_entries(
        &self,
        run: &RunId,
        object: &str,
        after: Option<&SalesforceId>,
        limit: usize,
    ) -> Result<Vec<JournalEntry>, PortError> {
        let run = run.to_string();
        let object = object.to_owned();
        // Every id sorts after the empty string.
        let after = after.map(|id| id.to_string()).unwrap_or_default();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.db
            .call("reading the journal", move |connection| {
                let mut statement = connection.prepare_cached(
                    "SELECT body FROM run_journal WHERE run_id = ?1 AND object = ?2 AND salesforce_id > ?3
                     ORDER BY salesforce_id LIMIT ?4",
                )?;
                let rows = statement
                    .query_map(params![run, object, after, limit], |row| row.get::<_, String>(0))?;
                let mut entries = Vec::new();
                for row in rows {
                    entries.push(serde_json::from_str(&row?)?);
                }
                Ok(entries)
            })
            .await
    }

    async fn defer_deletions(
        &self,
        run: &RunId,
        deletions: &[PendingDeletion],
    ) -> Result<(), PortError> {
        let mut rows = Vec::with_capacity(deletions.len());
        for deletion in deletions {
            rows.push((
                deletion.object.clone(),
                deletion.salesforce_id.to_string(),
                to_json(deletion, "deferring deletions")?,
            ));
        }
        self.put_record_bodies(
            "deferring deletions",
            "INSERT OR REPLACE INTO run_pending_deletions (run_id, object, salesforce_id, body) VALUES (?1, ?2, ?3, ?4)",
            run,
            rows,
        )
        .await
    }

    async fn pending_deletions(
        &self,
        run: &RunId,
        object: &str,
    ) -> Result<Vec<PendingDeletion>, PortError> {
        self.object_bodies(
            "reading pending deletions",
            "SELECT body FROM run_pending_deletions WHERE run_id = ?1 AND object = ?2 ORDER BY salesforce_id",
            run,
            object,
        )
        .await
    }

    async fn record_deletions(
        &self,
        run: &RunId,
        result: &DeletionResult,
    ) -> Result<(), PortError> {
        let body = to_json(result, "recording deletions")?;
        self.put_body(
            "recording deletions",
            "INSERT OR REPLACE INTO run_deletions (run_id, object, body) VALUES (?1, ?2, ?3)",
            vec![run.to_string(), result.object.clone()],
            body,
        )
        .await
    }

    async fn record_verification(
        &self,
        run: &RunId,
        verification: &ObjectVerification,
    ) -> Result<(), PortError> {
        let body = to_json(verification, "recording a verification")?;
        self.put_body(
            "recording a verification",
            "INSERT OR REPLACE INTO run_verifications (run_id, object, body) VALUES (?1, ?2, ?3)",
            vec![run.to_string(), verification.object.clone()],
            body,
        )
        .await
    }

    async fn record_rollback(&self, run: &RunId, result: &RollbackObject) -> Result<(), PortError> {
        let body = to_json(result, "recording a rollback")?;
        self.put_body(
            "recording a rollback",
            "INSERT OR REPLACE INTO run_rollbacks (run_id, object, body) VALUES (?1, ?2, ?3)",
            vec![run.to_string(), result.object.clone()],
            body,
        )
        .await
    }

    async fn rollback_results(&self, run: &RunId) -> Result<Vec<RollbackObject>, PortError> {
        self.bodies(
            "reading a rollback",
            "SELECT body FROM run_rollbacks WHERE run_id = ?1 ORDER BY object",
            run,
        )
        .await
    }
}

/// Ids in key order, each once: lookups in key order walk the B-tree's pages in order, so
/// each page is read once per batch rather than once per id.
fn sorted_unique(ids: &[SalesforceId]) -> Vec<SalesforceId> {
    let mut ids = ids.to_vec();
    ids.sort_unstable_by(|a, b| a.as_str().cmp(b.as_str()));
    ids.dedup();
    ids
}
