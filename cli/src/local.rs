//! The embedded adapters of one working directory: `ferry.db` (ID map and runs),
//! `destination.db` (the reference CRM) and `staging/` (extracted chunks).

use anyhow::Context;
use ferry_embedded::{LocalStaging, SqliteDestination, SqliteStore};
use ferry_model::ids::RunId;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

pub struct Workspace {
    pub dir: PathBuf,
    pub store: SqliteStore,
    pub destination: SqliteDestination,
    pub staging: LocalStaging,
}

impl Workspace {
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(Self {
            dir: dir.to_owned(),
            store: SqliteStore::open(&dir.join("ferry.db"))
                .with_context(|| format!("cannot open {}", dir.join("ferry.db").display()))?,
            destination: SqliteDestination::open(&dir.join("destination.db"))
                .with_context(|| format!("cannot open {}", dir.join("destination.db").display()))?,
            staging: LocalStaging::new(dir.join("staging")),
        })
    }
}

/// The tenant of every local command: one working directory holds one org's migration,
/// so `demo` and `dry-run --workspace` read and write the same ID map entries.
pub fn local_tenant() -> ferry_model::ids::TenantId {
    ferry_model::ids::TenantId::new("local")
}

/// A run id that sorts by start time: `run-<unix seconds>-<nanoseconds>`.
pub fn new_run_id() -> RunId {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    RunId::new(format!("run-{}-{:09}", now.as_secs(), now.subsec_nanos()))
}
