use ferry_model::{ErrorClass, PortError};
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// What can go wrong in an embedded adapter.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error("SQLite")]
    Sqlite(#[from] rusqlite::Error),
    #[error("file system")]
    Io(#[from] std::io::Error),
    #[error("stored JSON is unreadable")]
    Json(#[from] serde_json::Error),
    #[error("a previous database call panicked; the connection is unusable")]
    Poisoned,
    #[error("the blocking task running a database call was cancelled")]
    Cancelled,
    #[error("{0}")]
    Invalid(String),
    /// The file's `user_version` is past what this Ferry knows: a newer Ferry wrote it, and
    /// reading it as an older format could lose what it holds.
    #[error(
        "{path} was written by a newer Ferry (store format {found}; this Ferry reads formats up to {supported}): use that Ferry or a newer one"
    )]
    NewerStoreFormat {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    /// A row of an older Ferry's run tables that cannot be given a key of this one's layout.
    #[error("{path}: a row of {table} (run {run}) cannot be moved to this Ferry's store format")]
    UnmovableOldRow {
        path: PathBuf,
        table: &'static str,
        run: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
}

impl EmbeddedError {
    pub(crate) fn into_port_error(self, context: &str) -> PortError {
        let class = match &self {
            Self::Sqlite(rusqlite::Error::SqliteFailure(failure, _))
                if matches!(
                    failure.code,
                    rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                ) =>
            {
                ErrorClass::Retryable
            }
            _ => ErrorClass::Permanent,
        };
        PortError::with_source(class, context.to_owned(), self)
    }
}

/// One SQLite connection shared by an adapter, used from tokio's blocking pool.
#[derive(Clone)]
pub(crate) struct Db(Arc<Mutex<Connection>>);

impl Db {
    pub(crate) fn open(path: &Path, schema: &str) -> Result<Self, EmbeddedError> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let connection = Connection::open(path)?;
        // WAL keeps readers (a report, a test) from blocking the loader; NORMAL sync is safe
        // with WAL: a power loss can lose the last transactions, never corrupt the file.
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "synchronous", "NORMAL")?;
        connection.pragma_update(None, "foreign_keys", "ON")?;
        connection.busy_timeout(std::time::Duration::from_secs(30))?;
        connection.execute_batch(schema)?;
        Ok(Self(Arc::new(Mutex::new(connection))))
    }

    /// Adds each (table, column, type) the file's table lacks: an older file gains the
    /// columns a newer schema has, keeping its rows.
    pub(crate) fn add_missing_columns(
        &self,
        columns: &[(&str, &str, &str)],
    ) -> Result<(), EmbeddedError> {
        let connection = self.0.lock().map_err(|_| EmbeddedError::Poisoned)?;
        for (table, column, sql_type) in columns {
            let mut statement = connection.prepare(&format!("PRAGMA table_info({table})"))?;
            let present = statement
                .query_map([], |row| row.get::<_, String>(1))?
                .collect::<Result<Vec<_>, _>>()?
                .iter()
                .any(|name| name == column);
            if !present {
                connection.execute_batch(&format!(
                    "ALTER TABLE {table} ADD COLUMN {column} {sql_type}"
                ))?;
            }
        }
        Ok(())
    }

    /// Runs `work` on the connection now, on this thread: for opening a file, before any
    /// async work uses it.
    pub(crate) fn with_connection<T>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T, EmbeddedError>,
    ) -> Result<T, EmbeddedError> {
        let mut connection = self.0.lock().map_err(|_| EmbeddedError::Poisoned)?;
        work(&mut connection)
    }

    pub(crate) async fn call<T, F>(&self, context: &'static str, work: F) -> Result<T, PortError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, EmbeddedError> + Send + 'static,
    {
        let connection = Arc::clone(&self.0);
        tokio::task::spawn_blocking(move || {
            let mut guard = connection.lock().map_err(|_| EmbeddedError::Poisoned)?;
            work(&mut guard)
        })
        .await
        .map_err(|_| EmbeddedError::Cancelled.into_port_error(context))?
        .map_err(|error| error.into_port_error(context))
    }
}
