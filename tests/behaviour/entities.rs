//! Every object of the default map lands, and every link in the destination points at the
//! record the simulated org's generator says it should: the generator of the same seed is
//! the ground truth, not what Ferry extracted.

use ferry_core::run::RunConfig;
use ferry_core::steps::{DiscoverOptions, ExtractConfig};
use ferry_model::ids::{RunId, TenantId};
use ferry_model::mapping::FieldMap;
use ferry_model::report::IssueKind;
use ferry_simulator::org::{INTEGRATION_USERNAME, Org, SeriesRole};
use ferry_simulator::schema::{Generated, generated_object};
use ferry_simulator::value::Val;
use ferry_tests::{Embedded, TENANT, connect, start_org};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};

const RECORDS: u64 = 3_000;
const SEED: u64 = 21;

/// The destination row of every Salesforce id, across the entity tables.
fn destination_rows(db: &rusqlite::Connection) -> HashMap<String, i64> {
    let mut rows = HashMap::new();
    for table in [
        "companies",
        "contacts",
        "opportunities",
        "stages",
        "contact_roles",
        "tasks",
        "events",
        "attendees",
        "notes",
        "files",
        "conversations",
        "custom_records",
        "products",
        "price_books",
        "price_book_entries",
        "line_items",
        "campaigns",
        "campaign_members",
        "activity_series",
        "teams",
        "cases",
        "case_comments",
        "contracts",
        "orders",
        "order_items",
        "quotes",
        "quote_line_items",
        "assets",
        "account_contact_relations",
        "knowledge_articles",
        "article_categories",
    ] {
        let mut statement = db
            .prepare(&format!(
                "SELECT source_id, id FROM {table} WHERE tenant = ?1"
            ))
            .unwrap();
        let found = statement
            .query_map([TENANT], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
            })
            .unwrap();
        for row in found {
            let (source, id) = row.unwrap();
            assert!(rows.insert(source, id).is_none(), "one row per record");
        }
    }
    rows
}

/// A generated record's value of `field`.
fn value(org: &Org, kind: Generated, index: u64, field: &str) -> Val {
    let position = generated_object(kind)
        .field_index(field)
        .unwrap_or_else(|| panic!("{kind:?} has no {field}"));
    org.record(kind, index)[position].clone()
}

fn text(org: &Org, kind: Generated, index: u64, field: &str) -> Option<String> {
    match value(org, kind, index, field) {
        Val::Str(text) => Some(text),
        _ => None,
    }
}

/// Where a reference to each object lands among an entity's link columns.
fn link_column(kind: Generated) -> Option<&'static str> {
    match kind {
        Generated::Account => Some("company_id"),
        Generated::Contact | Generated::Lead => Some("contact_id"),
        Generated::Opportunity => Some("opportunity_id"),
        Generated::User => Some("owner_id"),
        Generated::Event => Some("event_id"),
        Generated::Product2 => Some("product_id"),
        Generated::Pricebook2 => Some("price_book_id"),
        Generated::PricebookEntry => Some("price_book_entry_id"),
        Generated::Campaign => Some("campaign_id"),
        Generated::Case => Some("case_id"),
        // A queue: the team that owns the record.
        Generated::Group => Some("team_id"),
        Generated::Contract => Some("contract_id"),
        Generated::Order => Some("order_id"),
        Generated::Quote => Some("quote_id"),
        Generated::Asset => Some("asset_id"),
        _ => None,
    }
}

struct GroundTruth {
    org: Org,
    rows: HashMap<String, i64>,
    /// Salesforce user id to the destination owner it must resolve to.
    owners: HashMap<String, i64>,
}

impl GroundTruth {
    /// The destination row a reference to `id` must link to, or `None` when its object is
    /// not migrated (a case).
    fn expected(&self, id: &str) -> Option<(&'static str, i64)> {
        let (kind, index) = self
            .org
            .locate(id)
            .expect("references name generated records");
        // A link to a series' main record goes to the series.
        if matches!(kind, Generated::Task | Generated::Event)
            && self.org.series_of(kind, index) == Some(SeriesRole::Master)
        {
            return Some(("series_id", self.rows[id]));
        }
        let column = link_column(kind)?;
        let row = match kind {
            Generated::User => self.owners[id],
            // A converted lead landed as the contact it became.
            Generated::Lead => match text(&self.org, kind, index, "ConvertedContactId") {
                Some(contact) => self.rows[&contact],
                None => self.rows[id],
            },
            _ => self.rows[id],
        };
        Some((column, row))
    }

    /// Checks the link columns of every landed record of `kind` in `table` against the
    /// record's `references`; returns how many links were compared and how many records of
    /// the object did not land.
    fn check(
        &self,
        db: &rusqlite::Connection,
        kind: Generated,
        table: &str,
        columns: &[&str],
        references: &[&str],
    ) -> (usize, u64) {
        let select = format!("SELECT {} FROM {table} WHERE id = ?1", columns.join(", "));
        let (mut compared, mut missing) = (0, 0);
        for index in 0..self.org.count(kind) {
            if self.org.is_deleted(kind, index) {
                continue;
            }
            let id = self.org.id(kind, index);
            // A series' main record is the series, checked on its own.
            if self.org.series_of(kind, index) == Some(SeriesRole::Master) {
                continue;
            }
            let Some(row) = self.rows.get(&id) else {
                missing += 1;
                continue;
            };
            let landed: Vec<Option<i64>> = db
                .query_row(&select, [row], |row| {
                    (0..columns.len()).map(|i| row.get(i)).collect()
                })
                .unwrap();
            let mut expected: BTreeMap<&str, i64> = BTreeMap::new();
            for field in references {
                // A parent's reference: an email's `Activity.WhoId` is its task's who.
                let target = match field.split_once('.') {
                    Some(("Activity", parent_field)) => text(&self.org, kind, index, "ActivityId")
                        .and_then(|task| self.org.locate(&task))
                        .and_then(|(task, at)| text(&self.org, task, at, parent_field)),
                    _ => text(&self.org, kind, index, field),
                };
                if let Some(target) = target
                    && let Some((column, row)) = self.expected(&target)
                {
                    // A company's link to a company is its parent.
                    let column = match (table, column, *field) {
                        ("companies", "company_id", _) => "parent_company_id",
                        ("campaigns", "campaign_id", _) => "parent_campaign_id",
                        ("cases", "case_id", _) => "parent_case_id",
                        // A comment's user is its author.
                        ("case_comments", "owner_id", _) => "author_id",
                        // A member's lead has a link of its own beside its contact.
                        ("campaign_members", "contact_id", "LeadId") => "lead_id",
                        // An asset's links to assets: its parent and its hierarchy's root.
                        ("assets", "asset_id", "ParentId") => "parent_asset_id",
                        ("assets", "asset_id", "RootAssetId") => "root_asset_id",
                        _ => column,
                    };
                    expected.insert(column, row);
                }
            }
            for (column, landed) in columns.iter().zip(landed) {
                assert_eq!(
                    landed,
                    expected.get(column).copied(),
                    "{table}.{column} of {kind:?} {id}"
                );
                compared += usize::from(landed.is_some());
            }
        }
        (compared, missing)
    }

    /// Checks a custom lookup, which lands in `custom_links`.
    fn check_custom_link(
        &self,
        db: &rusqlite::Connection,
        kind: Generated,
        entity: &str,
        field: &str,
        name: &str,
    ) -> usize {
        let mut compared = 0;
        for index in 0..self.org.count(kind) {
            if self.org.is_deleted(kind, index) {
                continue;
            }
            let id = self.org.id(kind, index);
            let row = self.rows[&id];
            let landed: Option<i64> = db
                .query_row(
                    "SELECT target_id FROM custom_links WHERE entity = ?1 AND record_id = ?2 AND name = ?3",
                    rusqlite::params![entity, row, name],
                    |row| row.get(0),
                )
                .ok();
            let expected = text(&self.org, kind, index, field).map(|target| self.rows[&target]);
            assert_eq!(landed, expected, "{entity}.{name} of {kind:?} {id}");
            compared += usize::from(expected.is_some());
        }
        compared
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_object_lands_and_every_link_points_where_the_org_says() {
    let simulator = start_org(RECORDS, SEED).await;
    let client = connect(&simulator).await;
    let dir = tempfile::tempdir().unwrap();
    let embedded = Embedded::open(dir.path());
    let tenant = TenantId::new(TENANT);
    let org = Org::new(SEED, RECORDS);

    // Every other user has a destination account; the rest own through the default owner.
    let mut owners = HashMap::new();
    let default_owner = embedded
        .destination
        .add_user(&tenant, INTEGRATION_USERNAME, "Integration User")
        .await
        .unwrap();
    let mut matched_users = 0;
    for index in 0..org.count(Generated::User) {
        let email = text(&org, Generated::User, index, "Email").unwrap();
        let id = org.id(Generated::User, index);
        let owner = if index % 2 == 1 {
            matched_users += 1;
            embedded
                .destination
                .add_user(&tenant, &email, "someone")
                .await
                .unwrap()
        } else if email == INTEGRATION_USERNAME {
            matched_users += 1;
            default_owner.clone()
        } else {
            default_owner.clone()
        };
        owners.insert(id, owner.as_str().parse::<i64>().unwrap());
    }

    let config = RunConfig {
        concurrency: Default::default(),
        tenant: tenant.clone(),
        run_id: RunId::new("run-entities"),
        map: FieldMap::builtin(),
        extract: ExtractConfig {
            chunk_records: 250,
            ..ExtractConfig::default()
        },
        discover: DiscoverOptions::default(),
        pseudonymise: None,
        validation: Default::default(),
        default_owner: Some(INTEGRATION_USERNAME.to_owned()),
        merge_leads_by_email: false,
    };
    let migration = embedded.migrate_with(&client, &config).await.unwrap();
    let report = &migration.report;
    assert!(report.is_balanced(), "{report:?}");

    // Every object of the map, and the custom object, was extracted whole.
    let live = simulator.record_counts();
    // Of the groups, the map reads the queues only (`Type = 'Queue'`). A series' main
    // records are the variant of their object (TaskSeries of Task): the two together are
    // the object's records.
    let queues = ferry_simulator::schema::GROUPS
        .iter()
        .filter(|group| group.2 == "Queue")
        .count() as u64;
    let online: std::collections::HashSet<String> = (0..org
        .count(Generated::KnowledgeArticleVersion))
        .filter(|&v| org.article_version(v).status == ferry_simulator::org::PublishStatus::Online)
        .map(|v| org.id(Generated::KnowledgeArticleVersion, v))
        .collect();
    let online_versions = online.len() as u64;
    let online_categories = (0..org.count(Generated::DataCategorySelection))
        .filter(|&s| {
            text(&org, Generated::DataCategorySelection, s, "ParentId")
                .is_some_and(|parent| online.contains(&parent))
        })
        .count() as u64;
    assert!(online_versions > 0 && online_categories >= online_versions);
    for object in report.objects.iter() {
        if object.object.strip_suffix("Series").is_none() {
            let expected = match object.object.as_str() {
                "Group" => queues,
                // Of the article versions, the map reads the online ones (`PublishStatus =
                // 'Online'`), and their data categories.
                "Knowledge__kav" => online_versions,
                "Knowledge__DataCategorySelection" => online_categories,
                _ => live[&object.object],
            };
            let series = report
                .object(&format!("{}Series", object.object))
                .map_or(0, |series| series.extracted);
            assert_eq!(
                object.counts.extracted + series,
                expected,
                "{}",
                object.object
            );
        }
        assert_eq!(object.counts.failed, 0, "{}", object.object);
        assert_eq!(object.counts.links_unresolved, 0, "{}", object.object);
    }
    let migrated: Vec<&str> = report.objects.iter().map(|o| o.object.as_str()).collect();
    for object in [
        "User",
        "Account",
        "Contact",
        "Lead",
        "Opportunity",
        "OpportunityStage",
        "OpportunityContactRole",
        "Task",
        "Event",
        "EventRelation",
        "Note",
        "ContentNote",
        "Attachment",
        "ContentVersion",
        "EmailMessage",
        "Project__c",
        "Group",
        "Product2",
        "Pricebook2",
        "PricebookEntry",
        "OpportunityLineItem",
        "Campaign",
        "CampaignMember",
        "Case",
        "CaseComment",
        "Contract",
        "Order",
        "OrderItem",
        "Quote",
        "QuoteLineItem",
        "Asset",
        "AccountContactRelation",
        "Knowledge__kav",
        "Knowledge__DataCategorySelection",
    ] {
        assert!(migrated.contains(&object), "{object} is migrated");
    }
    for object in ["RecordType", "Report"] {
        assert!(
            migration
                .discovery
                .skipped
                .iter()
                .any(|skipped| skipped.name == object && !skipped.reason.is_empty()),
            "{object} is left out with its reason"
        );
    }

    // Users are matched, never created; unmatched ones are listed and own through the default.
    let users = report.object("User").unwrap();
    assert_eq!(
        (users.created, users.updated, users.skipped),
        (0, matched_users, live["User"] - matched_users)
    );

    // Converted leads are skipped with their contact named; the others land tagged `lead`.
    let converted: Vec<u64> = (0..org.count(Generated::Lead))
        .filter(|&i| !org.is_deleted(Generated::Lead, i))
        .filter(|&i| text(&org, Generated::Lead, i, "ConvertedContactId").is_some())
        .collect();
    assert!(!converted.is_empty());
    let leads = report.object("Lead").unwrap();
    assert_eq!(leads.skipped, converted.len() as u64);
    assert_eq!(leads.created, live["Lead"] - converted.len() as u64);
    for &index in &converted {
        let id = org.id(Generated::Lead, index);
        let contact = text(&org, Generated::Lead, index, "ConvertedContactId").unwrap();
        let issue = report
            .issues
            .iter()
            .find(|issue| issue.salesforce_id.as_deref() == Some(id.as_str()))
            .unwrap();
        assert_eq!(issue.kind, IssueKind::Skipped);
        assert!(
            issue
                .reason
                .starts_with(&format!("converted into Contact {contact}")),
            "{issue:?}"
        );
    }

    let db = embedded.destination_db();
    let truth = GroundTruth {
        rows: destination_rows(&db),
        org,
        owners,
    };
    let tags: Vec<String> = db
        .prepare("SELECT tags FROM contacts WHERE source_object = 'Lead'")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(tags.len() as u64, leads.created);
    assert!(tags.iter().all(|tags| tags == r#"["lead"]"#));

    let activity = [
        "contact_id",
        "company_id",
        "opportunity_id",
        "owner_id",
        "case_id",
    ];
    let occurrence = [
        "contact_id",
        "company_id",
        "opportunity_id",
        "owner_id",
        "series_id",
        "case_id",
    ];
    let checks: &[(Generated, &str, &[&str], &[&str])] = &[
        (Generated::Account, "companies", &["owner_id"], &["OwnerId"]),
        (
            Generated::Contact,
            "contacts",
            &["company_id", "owner_id"],
            &["AccountId", "OwnerId"],
        ),
        (
            Generated::Opportunity,
            "opportunities",
            &["company_id", "owner_id"],
            &["AccountId", "OwnerId"],
        ),
        (
            Generated::Opportunity,
            "opportunities",
            &["price_book_id"],
            &["Pricebook2Id"],
        ),
        (
            Generated::OpportunityContactRole,
            "contact_roles",
            &["opportunity_id", "contact_id"],
            &["OpportunityId", "ContactId"],
        ),
        (
            Generated::Task,
            "tasks",
            &occurrence,
            &["WhoId", "WhatId", "OwnerId", "RecurrenceActivityId"],
        ),
        (
            Generated::Event,
            "events",
            &occurrence,
            &["WhoId", "WhatId", "OwnerId", "RecurrenceActivityId"],
        ),
        (
            Generated::EventRelation,
            "attendees",
            &["event_id", "contact_id", "owner_id", "series_id"],
            &["EventId", "RelationId"],
        ),
        (
            Generated::Note,
            "notes",
            &activity,
            &["ParentId", "OwnerId"],
        ),
        (Generated::ContentNote, "notes", &activity, &["OwnerId"]),
        (
            Generated::Attachment,
            "files",
            &activity,
            &["ParentId", "OwnerId"],
        ),
        (
            Generated::ContentVersion,
            "files",
            &activity,
            &["FirstPublishLocationId", "OwnerId"],
        ),
        (
            Generated::EmailMessage,
            "conversations",
            &["company_id", "opportunity_id", "contact_id", "case_id"],
            &["RelatedToId", "Activity.WhoId"],
        ),
        // A case email's case is its ParentId (its RelatedToId too).
        (
            Generated::EmailMessage,
            "conversations",
            &["case_id"],
            &["ParentId"],
        ),
        (
            Generated::Case,
            "cases",
            &[
                "company_id",
                "contact_id",
                "owner_id",
                "team_id",
                "parent_case_id",
            ],
            &["AccountId", "ContactId", "OwnerId", "ParentId"],
        ),
        (
            Generated::CaseComment,
            "case_comments",
            &["case_id", "author_id"],
            &["ParentId", "CreatedById"],
        ),
        (
            Generated::Project,
            "custom_records",
            &["owner_id"],
            &["OwnerId"],
        ),
        (
            Generated::PricebookEntry,
            "price_book_entries",
            &["price_book_id", "product_id"],
            &["Pricebook2Id", "Product2Id"],
        ),
        (
            Generated::OpportunityLineItem,
            "line_items",
            &["opportunity_id", "price_book_entry_id", "product_id"],
            &["OpportunityId", "PricebookEntryId", "Product2Id"],
        ),
        (
            Generated::Campaign,
            "campaigns",
            &["owner_id", "parent_campaign_id"],
            &["OwnerId", "ParentId"],
        ),
        (
            Generated::CampaignMember,
            "campaign_members",
            &["campaign_id", "contact_id", "lead_id"],
            &["CampaignId", "ContactId", "LeadId"],
        ),
        (
            Generated::Contract,
            "contracts",
            &["company_id", "owner_id", "price_book_id"],
            &["AccountId", "OwnerId", "Pricebook2Id"],
        ),
        (
            Generated::Order,
            "orders",
            &["company_id", "contract_id", "price_book_id", "owner_id"],
            &["AccountId", "ContractId", "Pricebook2Id", "OwnerId"],
        ),
        (
            Generated::OrderItem,
            "order_items",
            &["order_id", "price_book_entry_id", "product_id"],
            &["OrderId", "PricebookEntryId", "Product2Id"],
        ),
        (
            Generated::Quote,
            "quotes",
            &["opportunity_id", "price_book_id", "contact_id"],
            &["OpportunityId", "Pricebook2Id", "ContactId"],
        ),
        (
            Generated::QuoteLineItem,
            "quote_line_items",
            &["quote_id", "price_book_entry_id", "product_id"],
            &["QuoteId", "PricebookEntryId", "Product2Id"],
        ),
        (
            Generated::Asset,
            "assets",
            &[
                "company_id",
                "contact_id",
                "product_id",
                "owner_id",
                "parent_asset_id",
                "root_asset_id",
            ],
            &[
                "AccountId",
                "ContactId",
                "Product2Id",
                "OwnerId",
                "ParentId",
                "RootAssetId",
            ],
        ),
        // The direct relations (the contact's own account) are skipped: its company link.
        (
            Generated::AccountContactRelation,
            "account_contact_relations",
            &["company_id", "contact_id"],
            &["AccountId", "ContactId"],
        ),
    ];
    for (kind, table, columns, references) in checks {
        let (compared, missing) = truth.check(&db, *kind, table, columns, references);
        assert!(compared > 0, "{kind:?} has links");
        let object = generated_object(*kind).name;
        let counts = report.object(object).unwrap();
        assert_eq!(
            missing, counts.skipped,
            "{object}: only skipped records are missing"
        );
    }
    // A converted lead's membership (LeadId and ContactId both set) is one member, linked to
    // the lead's contact and to its own contact.
    let (members, both): (i64, i64) = db
        .query_row(
            "SELECT COUNT(*), COUNT(lead_id IS NOT NULL AND contact_id IS NOT NULL OR NULL) FROM campaign_members",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    assert_eq!(members as u64, live["CampaignMember"]);
    assert!(both > 0, "no member with both a lead and a contact");
    for object in [
        "Product2",
        "Pricebook2",
        "PricebookEntry",
        "OpportunityLineItem",
        "Campaign",
        "Contract",
        "Order",
        "OrderItem",
        "Quote",
        "QuoteLineItem",
        "Asset",
    ] {
        assert_eq!(
            report.object(object).unwrap().created,
            live[object],
            "{object}"
        );
    }
    // Orders land with their amount and quote lines with theirs, as Salesforce computed
    // them; a root asset is its own root.
    for (kind, table, field, column) in [
        (Generated::Order, "orders", "TotalAmount", "total_amount"),
        (
            Generated::OrderItem,
            "order_items",
            "TotalPrice",
            "total_price",
        ),
        (Generated::Quote, "quotes", "GrandTotal", "grand_total"),
        (
            Generated::QuoteLineItem,
            "quote_line_items",
            "TotalPrice",
            "total_price",
        ),
        (Generated::Asset, "assets", "Price", "price"),
    ] {
        for index in 0..truth.org.count(kind) {
            let id = truth.org.id(kind, index);
            let landed: Option<String> = db
                .query_row(
                    &format!("SELECT {column} FROM {table} WHERE id = ?1"),
                    [truth.rows[&id]],
                    |row| row.get(0),
                )
                .unwrap();
            let expected = match value(&truth.org, kind, index, field) {
                Val::Num(n) => Some(n),
                _ => None,
            };
            assert_eq!(
                landed.map(|text| text.parse::<f64>().unwrap()),
                expected,
                "{table}.{column} of {id}"
            );
        }
    }
    let roots: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM assets WHERE root_asset_id = id AND parent_asset_id IS NULL",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(roots as u64, truth.org.count(Generated::Asset).div_ceil(3));
    // Account parents are checked on their own: ParentId is a self link, patched after load.
    let (parents, _) = truth.check(
        &db,
        Generated::Account,
        "companies",
        &["parent_company_id"],
        &["ParentId"],
    );
    assert!(parents > 0);
    // Attachments to a case land attached to it, none skipped; no record of any object
    // loses a link to a case.
    let to_cases = truth.check(
        &db,
        Generated::Attachment,
        "files",
        &["case_id"],
        &["ParentId"],
    );
    assert!(to_cases.0 > 0, "no attachment to a case");
    assert_eq!(report.object("Attachment").unwrap().skipped, 0);
    for issue in &report.issues {
        assert!(!issue.reason.contains("points to Case "), "{issue:?}");
    }

    // Custom lookups land as custom links.
    for (kind, entity, field, name) in [
        (
            Generated::Account,
            "company",
            "Key_Contact__c",
            "key_contact",
        ),
        (
            Generated::Contact,
            "contact",
            "Referred_By__c",
            "referred_by",
        ),
        (
            Generated::Opportunity,
            "opportunity",
            "Partner_Account__c",
            "partner_account",
        ),
        (
            Generated::Project,
            "custom_record",
            "Account__c",
            "project_account",
        ),
    ] {
        assert!(
            truth.check_custom_link(&db, kind, entity, field, name) > 0,
            "{entity}.{name}"
        );
    }

    // Files carry their bytes; content notes their text; stages their order and probability.
    let mut files = 0;
    for kind in [Generated::Attachment, Generated::ContentVersion] {
        for index in 0..truth.org.count(kind) {
            let Some(row) = truth.rows.get(&truth.org.id(kind, index)) else {
                continue;
            };
            let blob = truth.org.blob(kind, index).unwrap();
            let bytes = truth.org.blob_bytes(&blob, 0, blob.len);
            let stored: String = db
                .query_row(
                    "SELECT sha256 FROM file_contents WHERE entity = 'file' AND record_id = ?1",
                    [row],
                    |row| row.get(0),
                )
                .unwrap();
            let expected: String = Sha256::digest(&bytes)
                .iter()
                .map(|byte| format!("{byte:02x}"))
                .collect();
            assert_eq!(stored, expected, "{kind:?} {index}");
            files += 1;
        }
    }
    assert!(files > 0);
    for index in 0..truth.org.count(Generated::ContentNote) {
        let row = truth.rows[&truth.org.id(Generated::ContentNote, index)];
        let blob = truth.org.blob(Generated::ContentNote, index).unwrap();
        let html = String::from_utf8(truth.org.blob_bytes(&blob, 0, blob.len)).unwrap();
        let body: String = db
            .query_row("SELECT body FROM notes WHERE id = ?1", [row], |row| {
                row.get(0)
            })
            .unwrap();
        assert_eq!(body, html);
    }
    let stages: Vec<(String, i64, String)> = db
        .prepare("SELECT name, sort_order, probability FROM stages ORDER BY sort_order")
        .unwrap()
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(stages.len(), 10);
    assert_eq!(stages[0], ("Prospecting".to_owned(), 1, "10.0".to_owned()));
    assert_eq!(stages[8].0, "Closed Won");
    // Original timestamps are kept.
    let account = truth.org.id(Generated::Account, 0);
    let created: String = db
        .query_row(
            "SELECT created_at FROM companies WHERE source_id = ?1",
            [&account],
            |row| row.get(0),
        )
        .unwrap();
    let Val::DateTime(seconds) = value(&truth.org, Generated::Account, 0, "CreatedDate") else {
        panic!("accounts have a creation time");
    };
    assert_eq!(
        time::OffsetDateTime::from_unix_timestamp(seconds)
            .unwrap()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap(),
        created
    );
    simulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dry_run_lists_the_owners_no_destination_user_matches() {
    let (records, seed) = (500, 5);
    let simulator = start_org(records, seed).await;
    let client = connect(&simulator).await;
    let dir = tempfile::tempdir().unwrap();
    let embedded = Embedded::open(dir.path());
    let tenant = TenantId::new(TENANT);
    let org = Org::new(seed, records);
    let mut unmatched = Vec::new();
    for index in 0..org.count(Generated::User) {
        let email = text(&org, Generated::User, index, "Email").unwrap();
        if index % 3 == 0 {
            embedded
                .destination
                .add_user(&tenant, &email.to_uppercase(), "someone")
                .await
                .unwrap();
        } else {
            unmatched.push(org.id(Generated::User, index));
        }
    }
    let config = RunConfig {
        concurrency: Default::default(),
        tenant,
        run_id: RunId::new("dry-owners"),
        map: FieldMap::builtin(),
        extract: ExtractConfig::default(),
        discover: DiscoverOptions::default(),
        pseudonymise: None,
        validation: Default::default(),
        default_owner: Some("owner@example.com".to_owned()),
        merge_leads_by_email: false,
    };
    let ports = embedded.dry_run_ports(&client);
    let (_, report) = ferry_core::run::dry_run(
        &ports,
        &config,
        &ferry_model::budget::BudgetPolicy::default(),
    )
    .await
    .unwrap();
    let owners = &report.owners;
    let listed: Vec<&str> = owners
        .unmatched
        .iter()
        .map(|owner| owner.salesforce_id.as_str())
        .collect();
    assert_eq!(listed, unmatched);
    assert_eq!(
        owners.matched + unmatched.len() as u64,
        org.count(Generated::User)
    );
    let object = |name: &str| report.objects.iter().find(|o| o.object == name).unwrap();
    let users = object("User");
    assert_eq!(
        (users.will_create, users.will_update, users.will_skip),
        (0, owners.matched, unmatched.len() as u64)
    );
    let converted = (0..org.count(Generated::Lead))
        .filter(|&i| !org.is_deleted(Generated::Lead, i))
        .filter(|&i| text(&org, Generated::Lead, i, "ConvertedContactId").is_some())
        .count() as u64;
    let leads = object("Lead");
    assert_eq!(
        leads.skip_reasons["replaced by the record its ConvertedContactId names (not imported twice)"],
        converted
    );
    // Tasks of converted leads are not orphans: the lead resolves to its contact.
    assert_eq!(report.findings_by_rule.get("orphan_link"), None);
    let markdown = ferry_core::run::dry_run::render_markdown(&report);
    assert!(
        markdown.contains(&format!(
            "{} users match one of the destination's {} users by email; {} match none, and what they own goes to the default owner owner@example.com:",
            owners.matched,
            owners.matched,
            unmatched.len()
        )),
        "{markdown}"
    );
    assert!(markdown.contains(&unmatched[0]));
    // Nothing was written to the destination.
    assert_eq!(
        embedded
            .destination
            .count(
                &TenantId::new(TENANT),
                ferry_model::mapping::EntityKind::Contact
            )
            .await
            .unwrap(),
        0
    );
    simulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_types_become_pipelines_when_the_map_asks() {
    let (records, seed) = (600, 8);
    let simulator = start_org(records, seed).await;
    let client = connect(&simulator).await;
    let dir = tempfile::tempdir().unwrap();
    let embedded = Embedded::open(dir.path());
    let overrides = ferry_model::mapping::MapOverrides::from_json_str(
        r#"{"version": 4, "objects": {"Opportunity": {
            "fields": {"RecordType.Name": "pipeline"},
            "values": {"pipeline": null}
        }}}"#,
    )
    .unwrap();
    let mut map = FieldMap::builtin().overlay(&overrides).unwrap();
    map.custom_objects = false;
    map.generic_objects = false;
    map.objects
        .retain(|name, _| name == "Opportunity" || name == "OpportunityStage");
    map.objects.get_mut("Opportunity").unwrap().links.clear();
    let report = embedded
        .migrate(&client, "run-pipelines", map, 100)
        .await
        .report;
    assert!(report.is_balanced());
    let org = Org::new(seed, records);
    let db = embedded.destination_db();
    let mut compared = 0;
    for index in 0..org.count(Generated::Opportunity) {
        if org.is_deleted(Generated::Opportunity, index) {
            continue;
        }
        let record_type = text(&org, Generated::Opportunity, index, "RecordTypeId").unwrap();
        let (_, type_index) = org.locate(&record_type).unwrap();
        let expected = ferry_simulator::schema::RECORD_TYPES[type_index as usize].1;
        let pipeline: String = db
            .query_row(
                "SELECT pipeline FROM opportunities WHERE source_id = ?1",
                [org.id(Generated::Opportunity, index)],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(pipeline, expected);
        compared += 1;
    }
    assert!(compared > 0);
    let pipelines: Vec<String> = db
        .prepare("SELECT name FROM pipelines ORDER BY name")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(pipelines, ["Default", "New Business", "Renewal"]);
    simulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_over_the_cap_is_skipped_with_its_size() {
    let (records, seed) = (1_500, 9);
    let cap = 50_000;
    let simulator = start_org(records, seed).await;
    let client = connect(&simulator).await;
    let dir = tempfile::tempdir().unwrap();
    let embedded = Embedded::open(dir.path());
    let mut map = FieldMap::builtin();
    map.custom_objects = false;
    map.generic_objects = false;
    let config = RunConfig {
        concurrency: Default::default(),
        tenant: TenantId::new(TENANT),
        run_id: RunId::new("run-cap"),
        map,
        extract: ExtractConfig {
            max_file_bytes: cap,
            ..ExtractConfig::default()
        },
        discover: DiscoverOptions::default(),
        pseudonymise: None,
        validation: Default::default(),
        default_owner: None,
        merge_leads_by_email: false,
    };
    let report = embedded
        .migrate_with(&client, &config)
        .await
        .unwrap()
        .report;
    assert!(report.is_balanced());
    let org = Org::new(seed, records);
    let db = embedded.destination_db();
    let mut over = 0;
    for kind in [Generated::Attachment, Generated::ContentVersion] {
        for index in 0..org.count(kind) {
            // A superseded version is skipped as such, never downloaded.
            if org.is_deleted(kind, index)
                || (kind == Generated::ContentVersion && {
                    let (_, number, versions) = org.version_of(index);
                    number < versions
                })
            {
                continue;
            }
            let id = org.id(kind, index);
            let size = org.blob(kind, index).unwrap().len;
            let landed: Option<i64> = db
                .query_row(
                    "SELECT c.size FROM files f JOIN file_contents c ON c.entity = 'file' AND c.record_id = f.id WHERE f.source_id = ?1",
                    [&id],
                    |row| row.get(0),
                )
                .ok();
            let issue = report
                .issues
                .iter()
                .find(|issue| issue.salesforce_id.as_deref() == Some(id.as_str()));
            if size > cap {
                over += 1;
                assert_eq!(landed, None, "{id}");
                let issue = issue.unwrap();
                assert_eq!(issue.kind, IssueKind::Skipped);
                assert!(
                    issue
                        .reason
                        .contains(&format!("is {size} bytes or more, over the {cap}-byte cap")),
                    "{issue:?}"
                );
            } else if issue.is_none_or(|issue| issue.kind != IssueKind::Skipped) {
                assert_eq!(landed, Some(size as i64), "{id}");
            }
        }
    }
    assert!(over > 0, "some files are over the cap");

    // No destination user and no default owner: every user is listed for reconciliation, and
    // every owner link stays empty, reported per record with that reason.
    let users = report.object("User").unwrap();
    assert_eq!(users.skipped, simulator.record_counts()["User"]);
    let unresolved: Vec<_> = report
        .issues
        .iter()
        .filter(|issue| issue.kind == IssueKind::UnresolvedLink)
        .collect();
    assert!(!unresolved.is_empty());
    for issue in unresolved {
        // A link of a file skipped over the cap lands without its file, and says so.
        if issue.object == "ContentDocumentLink" {
            assert!(
                issue
                    .reason
                    .contains("was not migrated, so the record landed without its file link"),
                "{issue:?}"
            );
            continue;
        }
        assert!(
            issue
                .reason
                .contains("matches no destination user and the run names no default owner"),
            "{issue:?}"
        );
    }
    let owned: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM companies WHERE owner_id IS NOT NULL",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(owned, 0);
    simulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_content_notes_body_is_pseudonymised_before_it_is_staged() {
    use ferry_core::pseudonymise::{Pseudonymise, PseudonymiseConfig, Pseudonymiser};
    let (records, seed) = (1_000, 4);
    let simulator = start_org(records, seed).await;
    let client = connect(&simulator).await;
    let dir = tempfile::tempdir().unwrap();
    let embedded = Embedded::open(dir.path());
    let mut map = FieldMap::builtin();
    map.custom_objects = false;
    map.generic_objects = false;
    map.objects.retain(|name, _| name == "ContentNote");
    map.objects.get_mut("ContentNote").unwrap().links.clear();
    let key = ferry_model::secret::Secret::new("a test key of at least sixteen bytes");
    let config = RunConfig {
        concurrency: Default::default(),
        tenant: TenantId::new(TENANT),
        run_id: RunId::new("run-notes"),
        map,
        extract: ExtractConfig::default(),
        discover: DiscoverOptions::default(),
        pseudonymise: Some(Pseudonymise {
            config: serde_json::from_str::<PseudonymiseConfig>(r#"{"objects": ["ContentNote"]}"#)
                .unwrap(),
            pseudonymiser: Pseudonymiser::new(&key).unwrap(),
        }),
        validation: Default::default(),
        default_owner: None,
        merge_leads_by_email: false,
    };
    let report = embedded
        .migrate_with(&client, &config)
        .await
        .unwrap()
        .report;
    assert!(report.is_balanced());
    let org = Org::new(seed, records);
    let db = embedded.destination_db();
    let mut compared = 0;
    for index in 0..org.count(Generated::ContentNote) {
        let blob = org.blob(Generated::ContentNote, index).unwrap();
        let html = String::from_utf8(org.blob_bytes(&blob, 0, blob.len)).unwrap();
        let body: Option<String> = db
            .query_row(
                "SELECT body FROM notes WHERE source_id = ?1",
                [org.id(Generated::ContentNote, index)],
                |row| row.get(0),
            )
            .unwrap();
        assert_ne!(body.as_deref(), Some(html.as_str()));
        compared += 1;
    }
    assert!(compared > 0);
    // Nothing staged holds a body in clear either.
    for entry in walk(&dir.path().join("staging")) {
        let staged = std::fs::read_to_string(&entry).unwrap_or_default();
        for index in 0..org.count(Generated::ContentNote) {
            let blob = org.blob(Generated::ContentNote, index).unwrap();
            let html = String::from_utf8(org.blob_bytes(&blob, 0, blob.len)).unwrap();
            assert!(!staged.contains(&html), "{}", entry.display());
        }
    }
    simulator.shutdown().await;
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return files;
    };
    for entry in entries.map(Result::unwrap) {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}
