//! The embedded adapters of one working directory: `ferry.db` (ID map and runs),
//! `destination.db` (the reference CRM) and `staging/` (extracted chunks).

use anyhow::Context;
use ferry_embedded::{LocalStaging, SqliteDestination, SqliteStore};
use ferry_model::ids::RunId;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// The file that says a command is changing the workspace (`ferry.lock`).
pub const LOCK_FILE: &str = "ferry.lock";

pub struct Workspace {
    pub dir: PathBuf,
    pub store: SqliteStore,
    pub destination: SqliteDestination,
    pub staging: LocalStaging,
    /// Held while a command that changes the workspace runs; `None` for the commands that
    /// only read it (`ferry runs`, `status`, `report`).
    _lock: Option<WorkspaceLock>,
}

/// One command at a time changes a workspace: `ferry migrate`, `ferry rollback` and `ferry
/// demo` hold an exclusive lock on `ferry.lock` for as long as they run, so a second one is
/// refused at once, with the first one's process id, command and start time, instead of
/// interleaving with it (two runs writing one ID map, a rollback deleting what a running
/// migration is still linking to). The lock is the operating system's (`flock`), released
/// when its process ends however it ends, so a lock left by a killed process is never in
/// the way: the file stays, its lock does not.
#[derive(Debug)]
pub struct WorkspaceLock {
    _file: File,
}

impl WorkspaceLock {
    /// Takes the workspace's lock for `command`, or says who holds it.
    pub fn take(dir: &Path, command: &str) -> anyhow::Result<Self> {
        let path = dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                // The holder's own description; unreadable only in a race with its start.
                let _ = file.read_to_string(&mut holder);
                let holder = describe_holder(&holder);
                anyhow::bail!(
                    "the workspace {} is in use by {holder}; one command at a time changes a \
                     workspace: wait for it to finish (or stop it with Ctrl-C) and run this again",
                    dir.display()
                );
            }
            Err(TryLockError::Error(error)) => {
                return Err(error).with_context(|| format!("cannot lock {}", path.display()));
            }
        }
        let holder = serde_json::json!({
            "pid": std::process::id(),
            "command": format!("ferry {command}"),
            "started": crate::login::now_rfc3339(),
        });
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| file.write_all(holder.to_string().as_bytes()))
            .and_then(|()| file.flush())
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(Self { _file: file })
    }
}

/// "`ferry migrate` (process 1234, started 2026-12-03T16:00:00Z)" from a lock file's
/// contents.
fn describe_holder(contents: &str) -> String {
    let holder: serde_json::Value = serde_json::from_str(contents).unwrap_or_default();
    match (
        holder["command"].as_str(),
        holder["pid"].as_u64(),
        holder["started"].as_str(),
    ) {
        (Some(command), Some(pid), Some(started)) => {
            format!("`{command}` (process {pid}, started {started})")
        }
        _ => "another ferry command".to_owned(),
    }
}

impl Workspace {
    /// Opens the workspace to read it, alongside whatever command may be changing it.
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        Self::open_with(dir, None)
    }

    /// Opens the workspace for `command` to change it, refusing if another command is.
    pub fn open_exclusive(dir: &Path, command: &str) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let lock = WorkspaceLock::take(dir, command)?;
        Self::open_with(dir, Some(lock))
    }

    fn open_with(dir: &Path, lock: Option<WorkspaceLock>) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(Self {
            _lock: lock,
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_second_command_is_refused_while_the_first_holds_the_workspace() {
        let dir = tempfile::tempdir().unwrap();
        let first = WorkspaceLock::take(dir.path(), "migrate").unwrap();
        let refused = WorkspaceLock::take(dir.path(), "rollback run-1").unwrap_err();
        let message = refused.to_string();
        assert!(
            message.contains(&format!("`ferry migrate` (process {}", std::process::id())),
            "{message}"
        );
        assert!(message.contains("is in use by"), "{message}");
        drop(first);
        // Released (as when its process ends, killed or not): the file stays, and the next
        // command takes the lock without anyone cleaning up.
        assert!(dir.path().join(LOCK_FILE).exists());
        let _next = WorkspaceLock::take(dir.path(), "rollback run-1").unwrap();
        let contents = std::fs::read_to_string(dir.path().join(LOCK_FILE)).unwrap();
        assert!(contents.contains("ferry rollback run-1"), "{contents}");
    }

    #[test]
    fn an_unreadable_lock_file_still_names_a_ferry_command() {
        assert_eq!(describe_holder(""), "another ferry command");
        assert_eq!(
            describe_holder(r#"{"pid":7,"command":"ferry demo","started":"2026-12-03T16:00:00Z"}"#),
            "`ferry demo` (process 7, started 2026-12-03T16:00:00Z)"
        );
    }
}
