//! What a migration does not move: automation and analytics an admin must rebuild in the
//! new CRM (Apex classes and triggers, Visualforce pages, flows, validation and workflow
//! rules, reports and dashboards). Read through the Tooling API and queries at discovery, reported in the plan.
//!
//! Reading the inventory never stops a migration: a kind the user cannot read is reported
//! with the reason instead of its items.

use ferry_model::ports::{QueryPageRequest, SalesforceApi};
use serde::Serialize;

/// One kind of metadata and how to read it.
struct Kind {
    kind: &'static str,
    tooling: bool,
    object: &'static str,
    name_field: &'static str,
    /// The object the item belongs to, when the metadata says.
    object_field: Option<&'static str>,
    /// Whether the item is active, when the metadata says.
    active_field: Option<&'static str>,
}

const KINDS: &[Kind] = &[
    Kind {
        kind: "apex_class",
        tooling: true,
        object: "ApexClass",
        name_field: "Name",
        object_field: None,
        active_field: None,
    },
    Kind {
        kind: "apex_trigger",
        tooling: true,
        object: "ApexTrigger",
        name_field: "Name",
        object_field: Some("TableEnumOrId"),
        active_field: None,
    },
    Kind {
        kind: "flow",
        tooling: true,
        object: "FlowDefinitionView",
        name_field: "ApiName",
        object_field: None,
        active_field: Some("IsActive"),
    },
    Kind {
        kind: "validation_rule",
        tooling: true,
        object: "ValidationRule",
        name_field: "ValidationName",
        object_field: None,
        active_field: Some("Active"),
    },
    Kind {
        kind: "workflow_rule",
        tooling: true,
        object: "WorkflowRule",
        name_field: "Name",
        object_field: Some("TableEnumOrId"),
        active_field: None,
    },
    Kind {
        kind: "visualforce_page",
        tooling: true,
        object: "ApexPage",
        name_field: "Name",
        object_field: None,
        active_field: None,
    },
    Kind {
        kind: "report",
        tooling: false,
        object: "Report",
        name_field: "Name",
        object_field: None,
        active_field: None,
    },
    Kind {
        kind: "dashboard",
        tooling: false,
        object: "Dashboard",
        name_field: "Title",
        object_field: None,
        active_field: None,
    },
];

/// Items listed per kind at most; the count is always complete.
const MAX_ITEMS: usize = 200;

/// The inventory of one kind.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InventoryKind {
    /// `apex_class`, `apex_trigger`, `flow`, `validation_rule`, `workflow_rule`, `report`,
    /// `dashboard`.
    pub kind: &'static str,
    pub count: u64,
    /// The first items, by name.
    pub items: Vec<InventoryItem>,
    /// Why the kind could not be read, when it could not.
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InventoryItem {
    pub name: String,
    pub object: Option<String>,
    pub active: Option<bool>,
}

/// Reads every kind; failures are kept per kind.
pub(crate) async fn read_inventory(salesforce: &dyn SalesforceApi) -> Vec<InventoryKind> {
    let mut kinds = Vec::with_capacity(KINDS.len());
    for kind in KINDS {
        kinds.push(match read_kind(salesforce, kind).await {
            Ok(found) => found,
            Err(error) => {
                tracing::warn!(kind = kind.kind, error = %error, "automation inventory incomplete");
                InventoryKind {
                    kind: kind.kind,
                    count: 0,
                    items: Vec::new(),
                    error: Some(error),
                }
            }
        });
    }
    kinds
}

async fn read_kind(salesforce: &dyn SalesforceApi, kind: &Kind) -> Result<InventoryKind, String> {
    let mut fields = vec!["Id", kind.name_field];
    fields.extend(kind.object_field);
    fields.extend(kind.active_field);
    let soql = format!("SELECT {} FROM {}", fields.join(", "), kind.object);
    let mut page = if kind.tooling {
        salesforce.tooling_query(&soql).await
    } else {
        salesforce
            .query_page(QueryPageRequest::Start {
                soql,
                include_deleted: false,
            })
            .await
    }
    .map_err(|error| error.chain())?;
    let count = page.total_size;
    let mut items = Vec::new();
    loop {
        for record in &page.records {
            if items.len() >= MAX_ITEMS {
                break;
            }
            let text = |field: Option<&str>| {
                field
                    .and_then(|field| record.get(field))
                    .and_then(|value| value.as_str())
                    .map(str::to_owned)
            };
            items.push(InventoryItem {
                name: text(Some(kind.name_field)).unwrap_or_default(),
                object: text(kind.object_field),
                active: kind
                    .active_field
                    .and_then(|field| record.get(field))
                    .and_then(serde_json::Value::as_bool),
            });
        }
        match page.next.take() {
            Some(cursor) if items.len() < MAX_ITEMS => {
                page = salesforce
                    .query_page(QueryPageRequest::Continue { cursor })
                    .await
                    .map_err(|error| error.chain())?;
            }
            _ => break,
        }
    }
    items.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(InventoryKind {
        kind: kind.kind,
        count,
        items,
        error: None,
    })
}

/// The org's users: the owners of records, matched to destination users by email.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UserSummary {
    pub active: u64,
    pub inactive: u64,
    /// Users without an email address, who cannot be matched to a destination owner.
    pub without_email: u64,
    /// Email addresses used by more than one user (matching by email is ambiguous).
    pub shared_emails: Vec<String>,
    /// Why the users could not be read, when they could not.
    pub error: Option<String>,
}

/// Reads every user (Id, email, active) page by page; only the summary is kept.
pub(crate) async fn read_users(salesforce: &dyn SalesforceApi) -> UserSummary {
    match read_users_inner(salesforce).await {
        Ok(summary) => summary,
        Err(error) => {
            tracing::warn!(error = %error, "users could not be read");
            UserSummary {
                error: Some(error),
                ..UserSummary::default()
            }
        }
    }
}

async fn read_users_inner(salesforce: &dyn SalesforceApi) -> Result<UserSummary, String> {
    let mut summary = UserSummary::default();
    let mut emails: std::collections::BTreeMap<String, u32> = std::collections::BTreeMap::new();
    let mut request = QueryPageRequest::Start {
        soql: "SELECT Id, Email, IsActive FROM User".to_owned(),
        include_deleted: false,
    };
    loop {
        let page = salesforce
            .query_page(request)
            .await
            .map_err(|error| error.chain())?;
        for record in &page.records {
            if record.get("IsActive").and_then(serde_json::Value::as_bool) == Some(false) {
                summary.inactive += 1;
            } else {
                summary.active += 1;
            }
            match record.get("Email").and_then(serde_json::Value::as_str) {
                Some(email) if !email.trim().is_empty() => {
                    *emails.entry(email.trim().to_ascii_lowercase()).or_default() += 1;
                }
                _ => summary.without_email += 1,
            }
        }
        match page.next {
            Some(cursor) => request = QueryPageRequest::Continue { cursor },
            None => break,
        }
    }
    summary.shared_emails = emails
        .into_iter()
        .filter(|(_, count)| *count > 1)
        .map(|(email, _)| email)
        .collect();
    Ok(summary)
}

/// The Salesforce objects each queue may own (`QueueSobject`), by the queue's 18-character
/// id, in name order: what a queue's team lists as its `objects`.
pub(crate) async fn read_queue_objects(
    salesforce: &dyn SalesforceApi,
) -> Result<std::collections::BTreeMap<String, Vec<String>>, String> {
    let records = query_all(salesforce, "SELECT QueueId, SobjectType FROM QueueSobject").await?;
    let mut owned: std::collections::BTreeMap<String, Vec<String>> =
        std::collections::BTreeMap::new();
    for record in &records {
        let queue = record.get("QueueId").and_then(serde_json::Value::as_str);
        let object = record
            .get("SobjectType")
            .and_then(serde_json::Value::as_str);
        if let (Some(queue), Some(object)) = (queue, object)
            && let Ok(queue) = ferry_model::ids::SalesforceId::parse(queue)
        {
            owned
                .entry(queue.as_str().to_owned())
                .or_default()
                .push(object.to_owned());
        }
    }
    for objects in owned.values_mut() {
        objects.sort();
        objects.dedup();
    }
    Ok(owned)
}

/// The org's currencies: `Organization.DefaultCurrencyIsoCode` (every org has one), and in a
/// multi-currency org (whose describeGlobal lists `CurrencyType`) its currencies. Never
/// stops discovery: what cannot be read is kept as the error.
pub(crate) async fn read_currencies(
    salesforce: &dyn SalesforceApi,
    objects: &[ferry_model::model::ObjectSummary],
) -> ferry_model::plan::OrgCurrencies {
    let multi_currency = objects
        .iter()
        .any(|object| object.name == "CurrencyType" && object.queryable);
    let mut currencies = ferry_model::plan::OrgCurrencies {
        multi_currency,
        ..Default::default()
    };
    match query_all(
        salesforce,
        "SELECT DefaultCurrencyIsoCode FROM Organization",
    )
    .await
    {
        Ok(records) => {
            currencies.default = records
                .first()
                .and_then(|record| record.get("DefaultCurrencyIsoCode"))
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned);
        }
        Err(error) => {
            tracing::warn!(error = %error, "the org's currency could not be read");
            currencies.error = Some(error);
        }
    }
    if multi_currency {
        let soql = "SELECT IsoCode, ConversionRate, DecimalPlaces, IsActive, IsCorporate FROM CurrencyType";
        match query_all(salesforce, soql).await {
            Ok(records) => {
                currencies.currencies = records
                    .iter()
                    .filter_map(|record| {
                        Some(ferry_model::plan::CurrencyInfo {
                            iso_code: record.get("IsoCode")?.as_str()?.to_owned(),
                            conversion_rate: record
                                .get("ConversionRate")
                                .and_then(serde_json::Value::as_f64)
                                .unwrap_or(1.0),
                            decimal_places: record
                                .get("DecimalPlaces")
                                .and_then(serde_json::Value::as_u64)
                                .map_or(2, |places| places as u32),
                            active: record.get("IsActive").and_then(serde_json::Value::as_bool)
                                == Some(true),
                            corporate: record
                                .get("IsCorporate")
                                .and_then(serde_json::Value::as_bool)
                                == Some(true),
                        })
                    })
                    .collect();
            }
            Err(error) => {
                tracing::warn!(error = %error, "the org's currencies could not be read");
                currencies.error = Some(error);
            }
        }
    }
    currencies
}

/// Every record of a small query, page by page.
async fn query_all(
    salesforce: &dyn SalesforceApi,
    soql: &str,
) -> Result<Vec<ferry_model::model::SourceRecord>, String> {
    let mut records = Vec::new();
    let mut request = QueryPageRequest::Start {
        soql: soql.to_owned(),
        include_deleted: false,
    };
    loop {
        let page = salesforce
            .query_page(request)
            .await
            .map_err(|error| error.chain())?;
        records.extend(page.records);
        match page.next {
            Some(cursor) => request = QueryPageRequest::Continue { cursor },
            None => return Ok(records),
        }
    }
}
