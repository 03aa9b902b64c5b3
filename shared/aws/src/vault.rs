//! KMS envelope encryption of the secrets the serverless path keeps at rest (Salesforce
//! refresh tokens, PKCE verifiers).
//!
//! Each seal asks KMS for a fresh AES-256 data key (`GenerateDataKey`), encrypts the secret
//! locally with AES-256-GCM under a random 96-bit nonce, and keeps only the data key as KMS
//! encrypted it. Opening asks KMS to decrypt the data key. Plaintext data keys live only for
//! the duration of one call, are overwritten before they are dropped and are never logged.
//!
//! Both KMS calls carry the encryption context `{"purpose": "ferry-refresh-token",
//! "tenant": <tenant>}`. KMS binds the encrypted data key to it, so a sealed secret copied
//! onto another tenant's record cannot be opened there: opening needs the tenant the caller
//! is acting for, not one read from the sealed value. The context also appears in
//! CloudTrail, which says whose token each `Decrypt` was for.

use crate::{permanent, sdk_error};
use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ferry_model::ids::TenantId;
use ferry_model::secret::Secret;
use ferry_model::{ErrorClass, PortError};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

const NONCE_LEN: usize = 12;
const PURPOSE: &str = "ferry-refresh-token";

/// A secret sealed by [`TokenVault::seal`]: safe to store and to print (it holds ciphertext
/// only). All binary fields are standard base64.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedSecret {
    /// The KMS key that encrypted the data key (its ARN, as KMS reports it).
    pub key_id: String,
    /// The data key, encrypted by KMS under `key_id` and the tenant's encryption context.
    pub encrypted_data_key: String,
    pub nonce: String,
    /// AES-256-GCM ciphertext of the secret, tag included.
    pub ciphertext: String,
}

/// Seals and opens secrets with KMS envelope encryption, bound to a tenant.
#[derive(Debug, Clone)]
pub struct TokenVault {
    client: aws_sdk_kms::Client,
    key_id: String,
}

fn context(tenant: &TenantId) -> HashMap<String, String> {
    HashMap::from([
        ("purpose".to_owned(), PURPOSE.to_owned()),
        ("tenant".to_owned(), tenant.as_str().to_owned()),
    ])
}

fn decode(field: &str, text: &str) -> Result<Vec<u8>, PortError> {
    STANDARD
        .decode(text)
        .map_err(|error| permanent(format!("a sealed secret has a malformed {field}"), error))
}

/// Overwrites key material before it is dropped.
fn wipe(bytes: &mut [u8]) {
    for byte in bytes.iter_mut() {
        // A volatile write is not available without unsafe code; black_box keeps the
        // compiler from proving the stores dead.
        *byte = std::hint::black_box(0);
    }
}

impl TokenVault {
    /// `key_id`: a key id, ARN or alias of a symmetric KMS key (`FERRY_KMS_KEY_ID`).
    pub fn new(client: aws_sdk_kms::Client, key_id: impl Into<String>) -> Self {
        Self {
            client,
            key_id: key_id.into(),
        }
    }

    /// Seals `secret` for `tenant`; only [`TokenVault::open`] with the same tenant opens it.
    pub async fn seal(
        &self,
        tenant: &TenantId,
        secret: &Secret,
    ) -> Result<SealedSecret, PortError> {
        let mut data_key = self
            .client
            .generate_data_key()
            .key_id(&self.key_id)
            .key_spec(DataKeySpec::Aes256)
            .set_encryption_context(Some(context(tenant)))
            .send()
            .await
            .map_err(|error| sdk_error(format!("generating a data key for {tenant}"), error))?;
        // Taken out of the answer, so the one copy of the plain key is wiped below.
        let (Some(plaintext), Some(encrypted)) =
            (data_key.plaintext.take(), data_key.ciphertext_blob())
        else {
            return Err(PortError::permanent(
                "KMS answered GenerateDataKey without a key",
            ));
        };
        let mut key = plaintext.into_inner();
        let mut nonce = [0u8; NONCE_LEN];
        let sealed = getrandom::fill(&mut nonce)
            .map_err(|error| {
                PortError::new(
                    ErrorClass::Retryable,
                    format!("no randomness for a nonce: {error}"),
                )
            })
            .and_then(|()| {
                Aes256Gcm::new_from_slice(&key)
                    .map_err(|_| PortError::permanent("KMS returned a data key of the wrong size"))
            })
            .and_then(|cipher| {
                cipher
                    .encrypt(Nonce::from_slice(&nonce), secret.expose().as_bytes())
                    .map_err(|_| PortError::permanent("AES-GCM encryption failed"))
            });
        wipe(&mut key);
        let ciphertext = sealed?;
        Ok(SealedSecret {
            key_id: data_key.key_id().unwrap_or(&self.key_id).to_owned(),
            encrypted_data_key: STANDARD.encode(encrypted.as_ref()),
            nonce: STANDARD.encode(nonce),
            ciphertext: STANDARD.encode(ciphertext),
        })
    }

    /// Opens a secret sealed for `tenant`. A secret sealed for another tenant (or altered)
    /// fails with a permanent error: KMS refuses to decrypt its data key.
    pub async fn open(
        &self,
        tenant: &TenantId,
        sealed: &SealedSecret,
    ) -> Result<Secret, PortError> {
        let encrypted = decode("data key", &sealed.encrypted_data_key)?;
        let nonce = decode("nonce", &sealed.nonce)?;
        let ciphertext = decode("ciphertext", &sealed.ciphertext)?;
        if nonce.len() != NONCE_LEN {
            return Err(PortError::permanent(
                "a sealed secret has a malformed nonce",
            ));
        }
        let mut data_key = self
            .client
            .decrypt()
            .key_id(&sealed.key_id)
            .ciphertext_blob(Blob::new(encrypted))
            .set_encryption_context(Some(context(tenant)))
            .send()
            .await
            .map_err(|error| sdk_error(format!("opening a secret of {tenant}"), error))?;
        let Some(plaintext) = data_key.plaintext.take() else {
            return Err(PortError::permanent("KMS answered Decrypt without a key"));
        };
        let mut key = plaintext.into_inner();
        let opened = Aes256Gcm::new_from_slice(&key)
            .map_err(|_| PortError::permanent("KMS returned a data key of the wrong size"))
            .and_then(|cipher| {
                cipher
                    .decrypt(Nonce::from_slice(&nonce), ciphertext.as_slice())
                    .map_err(|_| {
                        PortError::permanent(format!(
                            "a sealed secret of {tenant} does not authenticate"
                        ))
                    })
            });
        wipe(&mut key);
        let mut bytes = opened?;
        let secret = std::str::from_utf8(&bytes)
            .map(Secret::new)
            .map_err(|_| PortError::permanent("a sealed secret is not UTF-8"));
        wipe(&mut bytes);
        secret
    }
}
