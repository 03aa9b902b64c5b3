//! What every [`DocumentStore`] must do, as one check the adapters' tests run against a
//! fresh store: the in-memory store in this crate, SQLite in `ferry-embedded`, DynamoDB in
//! `ferry-aws` against the emulator. The typed run store is correct on an adapter exactly
//! when this holds, since the typed layer is the same code on all of them.

use super::{
    Document, DocumentKey, DocumentPrefix, DocumentRange, DocumentStore, MAX_DOCUMENTS_TOGETHER,
};
use crate::error::PortError;

/// Where a store broke the port's contract.
#[derive(Debug, thiserror::Error)]
pub enum DocumentStoreCheckFailed {
    #[error("the store failed while {step}")]
    Port {
        step: &'static str,
        #[source]
        source: PortError,
    },
    #[error("{step}: expected {expected}, found {found}")]
    Wrong {
        step: &'static str,
        expected: String,
        found: String,
    },
}

impl DocumentStoreCheckFailed {
    /// The message with every cause in the chain, for a test to show.
    pub fn chain(&self) -> String {
        match self {
            Self::Port { step, source } => {
                format!("the store failed while {step}: {}", source.chain())
            }
            Self::Wrong { .. } => self.to_string(),
        }
    }
}

fn port(step: &'static str) -> impl FnOnce(PortError) -> DocumentStoreCheckFailed {
    move |source| DocumentStoreCheckFailed::Port { step, source }
}

fn expect<T: PartialEq + std::fmt::Debug>(
    step: &'static str,
    found: T,
    expected: T,
) -> Result<(), DocumentStoreCheckFailed> {
    if found == expected {
        Ok(())
    } else {
        Err(DocumentStoreCheckFailed::Wrong {
            step,
            expected: format!("{expected:?}"),
            found: format!("{found:?}"),
        })
    }
}

/// A full run's line in the history, as the run store tests of every adapter save it.
pub fn sample_summary(
    tenant: &crate::ids::TenantId,
    run: &str,
    sequence: u64,
    status: crate::runs::RunStatus,
) -> crate::runs::RunSummary {
    crate::runs::RunSummary {
        run_id: crate::ids::RunId::new(run),
        tenant: tenant.clone(),
        sequence,
        kind: crate::runs::RunKind::Full,
        status,
        started_at: "2026-01-01T00:00:00Z".to_owned(),
        finished_at: None,
        updated_at: None,
        high_water_marks: Default::default(),
        delta_of: None,
        rolls_back: None,
        rolled_back_by: None,
        error: None,
        api_calls_used: None,
        timings: Default::default(),
    }
}

fn document(partition: &str, sort: &str, body: &str) -> Document {
    Document {
        key: DocumentKey::new(partition, sort),
        body: body.to_owned(),
    }
}

fn sort_keys(documents: &[Document]) -> Vec<String> {
    documents
        .iter()
        .map(|document| document.key.sort().to_owned())
        .collect()
}

/// Checks `store`, which must hold nothing under partitions starting with `CHECK#`.
pub async fn check_document_store(
    store: &dyn DocumentStore,
) -> Result<(), DocumentStoreCheckFailed> {
    check_writes(store).await?;
    check_listings(store).await?;
    check_many(store).await
}

async fn check_writes(store: &dyn DocumentStore) -> Result<(), DocumentStoreCheckFailed> {
    let get = |step| async move {
        store
            .get_document(&DocumentKey::new("CHECK#writes", "ONE"))
            .await
            .map_err(port(step))
    };
    expect("reading a key never written", get("reading").await?, None)?;
    store
        .put_documents(Vec::new())
        .await
        .map_err(port("putting an empty batch"))?;
    store
        .put_documents_if_absent(Vec::new())
        .await
        .map_err(port("putting an empty batch if absent"))?;

    store
        .put_documents(vec![document("CHECK#writes", "ONE", r#"{"v":1}"#)])
        .await
        .map_err(port("putting a document"))?;
    expect(
        "reading a document back",
        get("reading").await?,
        Some(r#"{"v":1}"#.to_owned()),
    )?;
    store
        .put_documents(vec![document("CHECK#writes", "ONE", r#"{"v":2}"#)])
        .await
        .map_err(port("replacing a document"))?;
    expect(
        "a put replaces",
        get("reading").await?,
        Some(r#"{"v":2}"#.to_owned()),
    )?;

    store
        .put_documents_if_absent(vec![
            document("CHECK#writes", "ONE", r#"{"v":3}"#),
            document("CHECK#writes", "TWO", r#"{"v":1}"#),
        ])
        .await
        .map_err(port("putting documents if absent"))?;
    expect(
        "a put if absent keeps what is stored",
        get("reading").await?,
        Some(r#"{"v":2}"#.to_owned()),
    )?;
    expect(
        "a put if absent writes an empty key",
        store
            .get_document(&DocumentKey::new("CHECK#writes", "TWO"))
            .await
            .map_err(port("reading"))?,
        Some(r#"{"v":1}"#.to_owned()),
    )?;
    // Another partition with the same sort key is another document.
    expect(
        "partitions are separate",
        store
            .get_document(&DocumentKey::new("CHECK#writes-other", "ONE"))
            .await
            .map_err(port("reading"))?,
        None,
    )?;

    let together: Vec<Document> = (0..MAX_DOCUMENTS_TOGETHER)
        .map(|index| {
            let partition = if index % 2 == 0 {
                "CHECK#together-a"
            } else {
                "CHECK#together-b"
            };
            document(
                partition,
                &format!("DOC#{index:02}"),
                &format!("{{\"i\":{index}}}"),
            )
        })
        .collect();
    store
        .put_documents_together(together.clone())
        .await
        .map_err(port("putting documents together"))?;
    for written in &together {
        expect(
            "documents put together are all stored",
            store
                .get_document(&written.key)
                .await
                .map_err(port("reading"))?,
            Some(written.body.clone()),
        )?;
    }
    Ok(())
}

async fn check_listings(store: &dyn DocumentStore) -> Result<(), DocumentStoreCheckFailed> {
    let partition = "CHECK#list";
    // Written out of order, with neighbours that must not be listed: a longer prefix
    // (`CHUNKY`), keys before and after the prefix, and another partition.
    let sorts = [
        "CHUNK#z",
        "DONE",
        "CHUNK#Account#000010",
        "CHUNKY",
        "CHUNK#\u{e9}",
        "ALPHA",
        "CHUNK#Account_Team__c#000001",
        "CHUNK#Account#000002",
    ];
    store
        .put_documents(
            sorts
                .iter()
                .map(|sort| document(partition, sort, &format!("{{\"sort\":{sort:?}}}")))
                .collect(),
        )
        .await
        .map_err(port("putting documents to list"))?;
    store
        .put_documents(vec![document(
            "CHECK#list-other",
            "CHUNK#Account#000001",
            "{}",
        )])
        .await
        .map_err(port("putting documents to list"))?;

    let list = |range: DocumentRange| async move {
        store
            .list_documents(&range)
            .await
            .map(|documents| sort_keys(&documents))
            .map_err(port("listing"))
    };
    let prefix = DocumentPrefix::new(partition, "CHUNK#");
    // `#` sorts before `_`, and `z` (0x7a) before `é` (0xc3 0xa9 in UTF-8).
    let in_order = vec![
        "CHUNK#Account#000002".to_owned(),
        "CHUNK#Account#000010".to_owned(),
        "CHUNK#Account_Team__c#000001".to_owned(),
        "CHUNK#z".to_owned(),
        "CHUNK#\u{e9}".to_owned(),
    ];
    expect(
        "a listing is the prefix's documents in key order",
        list(DocumentRange::all(prefix.clone())).await?,
        in_order.clone(),
    )?;
    let listed = store
        .list_documents(&DocumentRange::all(prefix.clone()))
        .await
        .map_err(port("listing"))?;
    expect(
        "a listing carries the documents' keys and bodies",
        listed.first().cloned(),
        Some(document(
            partition,
            "CHUNK#Account#000002",
            r#"{"sort":"CHUNK#Account#000002"}"#,
        )),
    )?;
    let mut whole: Vec<String> = sorts.iter().map(|sort| (*sort).to_owned()).collect();
    whole.sort();
    expect(
        "an empty prefix lists the whole partition",
        list(DocumentRange::all(DocumentPrefix::new(partition, ""))).await?,
        whole,
    )?;
    expect(
        "a first page",
        list(DocumentRange::page(prefix.clone(), None, 2)).await?,
        in_order[..2].to_vec(),
    )?;
    expect(
        "the page after a key",
        list(DocumentRange::page(
            prefix.clone(),
            Some(in_order[1].clone()),
            2,
        ))
        .await?,
        in_order[2..4].to_vec(),
    )?;
    expect(
        "the last page",
        list(DocumentRange::page(
            prefix.clone(),
            Some(in_order[3].clone()),
            2,
        ))
        .await?,
        in_order[4..].to_vec(),
    )?;
    expect(
        "the page after the last key",
        list(DocumentRange::page(
            prefix.clone(),
            Some(in_order[4].clone()),
            2,
        ))
        .await?,
        Vec::new(),
    )?;
    expect(
        "a page after a key below the prefix starts at the prefix",
        list(DocumentRange::page(
            prefix.clone(),
            Some("ALPHA".to_owned()),
            10,
        ))
        .await?,
        in_order.clone(),
    )?;
    expect(
        "a page after a key past the prefix is empty",
        list(DocumentRange::page(
            prefix.clone(),
            Some("CHUNKA".to_owned()),
            10,
        ))
        .await?,
        Vec::new(),
    )?;
    expect(
        "a page of none",
        list(DocumentRange::page(prefix.clone(), None, 0)).await?,
        Vec::new(),
    )?;
    expect(
        "a prefix nothing is under",
        list(DocumentRange::all(DocumentPrefix::new(
            partition, "CHUNK#B",
        )))
        .await?,
        Vec::new(),
    )?;
    expect(
        "a partition nothing is in",
        list(DocumentRange::all(DocumentPrefix::new(
            "CHECK#list-none",
            "",
        )))
        .await?,
        Vec::new(),
    )?;
    Ok(())
}

/// More documents than one DynamoDB batch or page of a small limit holds.
async fn check_many(store: &dyn DocumentStore) -> Result<(), DocumentStoreCheckFailed> {
    let partition = "CHECK#many";
    let documents: Vec<Document> = (0..130)
        .rev()
        .map(|index| document(partition, &format!("JOURNAL#Account#{index:04}"), "{}"))
        .collect();
    let expected: Vec<String> = (0..130)
        .map(|index| format!("JOURNAL#Account#{index:04}"))
        .collect();
    store
        .put_documents_if_absent(documents)
        .await
        .map_err(port("putting many documents if absent"))?;
    let prefix = DocumentPrefix::new(partition, "JOURNAL#Account#");
    let all = store
        .list_documents(&DocumentRange::all(prefix.clone()))
        .await
        .map_err(port("listing many documents"))?;
    expect(
        "many documents listed in key order",
        sort_keys(&all),
        expected.clone(),
    )?;

    let mut paged = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .list_documents(&DocumentRange::page(prefix.clone(), after.clone(), 40))
            .await
            .map_err(port("listing many documents a page at a time"))?;
        let Some(last) = page.last() else { break };
        after = Some(last.key.sort().to_owned());
        let full = page.len() == 40 || paged.len() + page.len() == expected.len();
        paged.extend(sort_keys(&page));
        expect("a page is full unless it is the last", full, true)?;
    }
    expect("pages add up to the listing", paged, expected)
}
