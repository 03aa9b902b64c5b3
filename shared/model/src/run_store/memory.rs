//! A document store in memory: the reference the adapters are checked against, and a run
//! store for tests that need no file.

use super::{
    Document, DocumentKey, DocumentRange, DocumentStore, MAX_DOCUMENTS_TOGETHER, RangeStart,
};
use crate::error::PortError;
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Mutex, MutexGuard};

/// Documents in an ordered map. `DocumentKey` orders by partition, then sort key, both by
/// `String`'s byte order: the order the port promises.
#[derive(Debug, Default)]
pub struct InMemoryDocumentStore {
    documents: Mutex<BTreeMap<DocumentKey, String>>,
}

impl InMemoryDocumentStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn documents(&self) -> Result<MutexGuard<'_, BTreeMap<DocumentKey, String>>, PortError> {
        self.documents.lock().map_err(|_| {
            PortError::permanent("the in-memory document store is unusable after a panic")
        })
    }
}

#[async_trait]
impl DocumentStore for InMemoryDocumentStore {
    async fn get_document(&self, key: &DocumentKey) -> Result<Option<String>, PortError> {
        Ok(self.documents()?.get(key).cloned())
    }

    async fn put_documents(&self, documents: Vec<Document>) -> Result<(), PortError> {
        let mut stored = self.documents()?;
        for document in documents {
            stored.insert(document.key, document.body);
        }
        Ok(())
    }

    async fn put_documents_if_absent(&self, documents: Vec<Document>) -> Result<(), PortError> {
        let mut stored = self.documents()?;
        for document in documents {
            stored.entry(document.key).or_insert(document.body);
        }
        Ok(())
    }

    async fn put_documents_together(&self, documents: Vec<Document>) -> Result<(), PortError> {
        if documents.len() > MAX_DOCUMENTS_TOGETHER {
            return Err(PortError::permanent(format!(
                "{} documents cannot be written together; at most {MAX_DOCUMENTS_TOGETHER} can",
                documents.len()
            )));
        }
        // One lock for the whole batch: no reader sees half of it.
        self.put_documents(documents).await
    }

    async fn list_documents(&self, range: &DocumentRange) -> Result<Vec<Document>, PortError> {
        let partition = range.prefix.partition();
        let start = match range.start() {
            RangeStart::From(sort) => Bound::Included(DocumentKey::new(partition, sort)),
            RangeStart::After(sort) => Bound::Excluded(DocumentKey::new(partition, sort)),
        };
        let stored = self.documents()?;
        Ok(stored
            .range((start, Bound::Unbounded))
            .take_while(|(key, _)| range.prefix.contains(key))
            .take(range.limit.unwrap_or(usize::MAX))
            .map(|(key, body)| Document {
                key: key.clone(),
                body: body.clone(),
            })
            .collect())
    }
}
