//! Stored Salesforce connections: what `ferry login` saves and `--connection NAME` reads.
//!
//! A connection is the login host, the connected app's client id, the org's instance URL
//! and the refresh token. The refresh token (and a client secret, when given) is encrypted
//! at rest with AES-256-GCM under a key kept in its own file beside the connections, created
//! with 0600 permissions; the connections file never holds a secret in plain text. The key
//! file is the local stand-in for a KMS key on the serverless path.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ferry_model::secret::Secret;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

const KEY_FILE: &str = "connections.key";
const CONNECTIONS_FILE: &str = "connections.json";
const NONCE_LEN: usize = 12;

/// Errors of the connection store.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    #[error("cannot use {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a valid connections file")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("the key file {path} must hold 32 bytes; it was changed or truncated")]
    BadKey { path: PathBuf },
    #[error(
        "the stored secret of connection {name} cannot be decrypted: the key file was replaced, or the connection was written with another key"
    )]
    Decrypt { name: String },
    #[error(
        "no connection named {name}; `ferry connections` lists them and `ferry login` adds one"
    )]
    NotFound { name: String },
    #[error("the operating system's random number generator failed: {0}")]
    Random(String),
}

/// A connection as `ferry connections` shows it: no secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionInfo {
    pub name: String,
    pub login_url: String,
    pub instance_url: String,
    pub client_id: String,
    /// Who logged in, from the identity URL (`.../id/{org}/{user}`), when known.
    pub user_id: Option<String>,
    pub org_id: Option<String>,
    /// RFC 3339 time the connection was saved or its token last rotated.
    pub saved_at: String,
}

/// A connection with its secrets, decrypted for use.
#[derive(Debug, Clone)]
pub struct Connection {
    pub info: ConnectionInfo,
    pub refresh_token: Secret,
    pub client_secret: Option<Secret>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct StoredFile {
    connections: BTreeMap<String, StoredConnection>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredConnection {
    #[serde(flatten)]
    info: ConnectionInfo,
    /// base64(nonce || AES-256-GCM ciphertext).
    refresh_token_encrypted: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    client_secret_encrypted: Option<String>,
}

/// The connections of one state directory.
#[derive(Debug, Clone)]
pub struct ConnectionStore {
    dir: PathBuf,
}

impl ConnectionStore {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ConnectionError + '_ {
        move |source| ConnectionError::Io {
            path: path.to_owned(),
            source,
        }
    }

    /// The encryption key, created (0600) on first use.
    fn key(&self) -> Result<Aes256Gcm, ConnectionError> {
        let path = self.dir.join(KEY_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(&self.dir).map_err(Self::io(&self.dir))?;
                let mut key = [0u8; 32];
                getrandom::fill(&mut key).map_err(|e| ConnectionError::Random(e.to_string()))?;
                write_private(&path, &key)?;
                key.to_vec()
            }
            Err(error) => return Err(Self::io(&path)(error)),
        };
        Aes256Gcm::new_from_slice(&bytes).map_err(|_| ConnectionError::BadKey { path })
    }

    fn read_file(&self) -> Result<StoredFile, ConnectionError> {
        let path = self.dir.join(CONNECTIONS_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|source| ConnectionError::Json { path, source }),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(StoredFile::default()),
            Err(error) => Err(Self::io(&path)(error)),
        }
    }

    fn write_file(&self, file: &StoredFile) -> Result<(), ConnectionError> {
        let path = self.dir.join(CONNECTIONS_FILE);
        let body = serde_json::to_vec_pretty(file).map_err(|source| ConnectionError::Json {
            path: path.clone(),
            source,
        })?;
        write_private(&path, &body)
    }

    /// Saves (or replaces) a connection.
    pub fn save(&self, connection: &Connection) -> Result<(), ConnectionError> {
        let key = self.key()?;
        let mut file = self.read_file()?;
        let stored = StoredConnection {
            info: connection.info.clone(),
            refresh_token_encrypted: encrypt(&key, connection.refresh_token.expose())?,
            client_secret_encrypted: connection
                .client_secret
                .as_ref()
                .map(|secret| encrypt(&key, secret.expose()))
                .transpose()?,
        };
        file.connections
            .insert(connection.info.name.clone(), stored);
        self.write_file(&file)
    }

    /// Every connection, without secrets.
    pub fn list(&self) -> Result<Vec<ConnectionInfo>, ConnectionError> {
        Ok(self
            .read_file()?
            .connections
            .into_values()
            .map(|stored| stored.info)
            .collect())
    }

    /// A connection with its secrets decrypted.
    pub fn load(&self, name: &str) -> Result<Connection, ConnectionError> {
        let stored = self.read_file()?.connections.remove(name).ok_or_else(|| {
            ConnectionError::NotFound {
                name: name.to_owned(),
            }
        })?;
        let key = self.key()?;
        let decrypt_named = |text: &str| {
            decrypt(&key, text).ok_or_else(|| ConnectionError::Decrypt {
                name: name.to_owned(),
            })
        };
        Ok(Connection {
            refresh_token: Secret::new(decrypt_named(&stored.refresh_token_encrypted)?),
            client_secret: stored
                .client_secret_encrypted
                .as_deref()
                .map(decrypt_named)
                .transpose()?
                .map(Secret::new),
            info: stored.info,
        })
    }

    /// Removes a connection; `false` when there was none of that name.
    pub fn remove(&self, name: &str) -> Result<bool, ConnectionError> {
        let mut file = self.read_file()?;
        let removed = file.connections.remove(name).is_some();
        if removed {
            self.write_file(&file)?;
        }
        Ok(removed)
    }
}

fn encrypt(key: &Aes256Gcm, plain: &str) -> Result<String, ConnectionError> {
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::fill(&mut nonce).map_err(|e| ConnectionError::Random(e.to_string()))?;
    let ciphertext = key
        .encrypt(Nonce::from_slice(&nonce), plain.as_bytes())
        .map_err(|_| ConnectionError::Random("AES-GCM encryption failed".to_owned()))?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&ciphertext);
    Ok(STANDARD.encode(out))
}

fn decrypt(key: &Aes256Gcm, text: &str) -> Option<String> {
    let bytes = STANDARD.decode(text).ok()?;
    if bytes.len() <= NONCE_LEN {
        return None;
    }
    let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
    let plain = key.decrypt(Nonce::from_slice(nonce), ciphertext).ok()?;
    String::from_utf8(plain).ok()
}

/// Writes a file readable by its owner only, replacing it atomically.
fn write_private(path: &Path, body: &[u8]) -> Result<(), ConnectionError> {
    let temporary = path.with_extension("tmp");
    let io = ConnectionStore::io(path);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let result = (|| {
        let mut file = options.open(&temporary)?;
        file.write_all(body)?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)
    })();
    result.map_err(io)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn connection(name: &str) -> Connection {
        Connection {
            info: ConnectionInfo {
                name: name.to_owned(),
                login_url: "https://login.salesforce.com".to_owned(),
                instance_url: "https://acme.my.salesforce.com".to_owned(),
                client_id: "3MVG9".to_owned(),
                user_id: Some("005x".to_owned()),
                org_id: Some("00Dx".to_owned()),
                saved_at: "2026-11-22T18:00:00Z".to_owned(),
            },
            refresh_token: Secret::new("5Aep861-very-secret-refresh-token"),
            client_secret: Some(Secret::new("client-secret-value")),
        }
    }

    #[test]
    fn secrets_are_encrypted_at_rest_and_the_key_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let store = ConnectionStore::new(dir.path().join("state"));
        store.save(&connection("acme")).unwrap();
        let on_disk = std::fs::read_to_string(store.dir().join(CONNECTIONS_FILE)).unwrap();
        assert!(!on_disk.contains("very-secret"), "{on_disk}");
        assert!(!on_disk.contains("client-secret-value"), "{on_disk}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for file in [KEY_FILE, CONNECTIONS_FILE] {
                let mode = std::fs::metadata(store.dir().join(file))
                    .unwrap()
                    .permissions()
                    .mode();
                assert_eq!(mode & 0o777, 0o600, "{file}");
            }
        }
        let loaded = store.load("acme").unwrap();
        assert_eq!(
            loaded.refresh_token.expose(),
            "5Aep861-very-secret-refresh-token"
        );
        assert_eq!(
            loaded.client_secret.unwrap().expose(),
            "client-secret-value"
        );
        assert_eq!(store.list().unwrap(), vec![connection("acme").info]);
    }

    #[test]
    fn another_key_or_a_missing_name_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let store = ConnectionStore::new(dir.path());
        store.save(&connection("acme")).unwrap();
        assert!(matches!(
            store.load("globex"),
            Err(ConnectionError::NotFound { .. })
        ));
        std::fs::write(dir.path().join(KEY_FILE), [7u8; 32]).unwrap();
        let error = store.load("acme").unwrap_err();
        assert!(error.to_string().contains("cannot be decrypted"), "{error}");
        assert!(store.remove("acme").unwrap());
        assert!(!store.remove("acme").unwrap());
    }
}
