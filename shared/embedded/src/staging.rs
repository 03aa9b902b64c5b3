use crate::db::EmbeddedError;
use async_trait::async_trait;
use ferry_model::PortError;
use ferry_model::ports::Staging;
use std::path::{Component, Path, PathBuf};

/// Staging as files under one directory; keys are relative paths.
#[derive(Debug, Clone)]
pub struct LocalStaging {
    root: PathBuf,
}

impl LocalStaging {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// Refuses keys that would leave the staging directory.
    fn path_of(&self, key: &str) -> Result<PathBuf, PortError> {
        let relative = Path::new(key);
        let safe = !key.is_empty()
            && relative
                .components()
                .all(|component| matches!(component, Component::Normal(_)));
        if safe {
            Ok(self.root.join(relative))
        } else {
            Err(PortError::permanent(format!(
                "staging key {key:?} is not a relative path inside the staging directory"
            )))
        }
    }
}

#[async_trait]
impl Staging for LocalStaging {
    async fn put(&self, key: &str, body: Vec<u8>) -> Result<(), PortError> {
        let path = self.path_of(key)?;
        let context = "writing a staged chunk";
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(|error| EmbeddedError::Io(error).into_port_error(context))?;
        }
        // Write then rename, so a crash never leaves a half-written chunk under the real key.
        let partial = path.with_extension("partial");
        tokio::fs::write(&partial, body)
            .await
            .map_err(|error| EmbeddedError::Io(error).into_port_error(context))?;
        tokio::fs::rename(&partial, &path)
            .await
            .map_err(|error| EmbeddedError::Io(error).into_port_error(context))
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>, PortError> {
        let path = self.path_of(key)?;
        tokio::fs::read(&path)
            .await
            .map_err(|error| EmbeddedError::Io(error).into_port_error("reading a staged chunk"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn chunks_round_trip_and_escaping_keys_are_refused()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let staging = LocalStaging::new(dir.path());
        staging
            .put("t/run/chunks/Account/000000.jsonl", b"{}\n".to_vec())
            .await?;
        assert_eq!(
            staging.get("t/run/chunks/Account/000000.jsonl").await?,
            b"{}\n"
        );
        assert!(staging.put("../outside", Vec::new()).await.is_err());
        assert!(staging.get("/etc/passwd").await.is_err());
        assert!(staging.get("t/run/missing.jsonl").await.is_err());
        Ok(())
    }
}
