//! Knowledge articles and Contacts to Multiple Accounts (issue 16): Salesforce refuses a
//! query of article versions without a publication-state filter, and so does the simulator;
//! each online article lands once with its data categories, drafts and archived versions
//! never do; every indirect account-contact relation lands with the company and contact the
//! simulated org gives it, the direct ones (the contact's own company link) counted skipped
//! with their reason; the counts add up to Salesforce's.

use ferry_model::budget::BudgetPolicy;
use ferry_model::mapping::FieldMap;
use ferry_model::report::IssueKind;
use ferry_simulator::org::{Org, PublishStatus};
use ferry_simulator::schema::{Generated, generated_object};
use ferry_simulator::value::Val;
use ferry_tests::{Embedded, TENANT, connect, start_org};
use std::collections::{BTreeMap, BTreeSet, HashMap};

const RECORDS: u64 = 3_000;
const SEED: u64 = 16;

fn map() -> FieldMap {
    let mut map = FieldMap::builtin();
    map.custom_objects = false;
    map.generic_objects = false;
    map.objects.retain(|name, _| {
        matches!(
            name.as_str(),
            "User"
                | "Account"
                | "Contact"
                | "AccountContactRelation"
                | "Knowledge__kav"
                | "Knowledge__DataCategorySelection"
        )
    });
    map
}

fn value(org: &Org, kind: Generated, index: u64, field: &str) -> Val {
    let at = generated_object(kind)
        .field_index(field)
        .unwrap_or_else(|| panic!("{kind:?} has no {field}"));
    org.record(kind, index)[at].clone()
}

fn text(org: &Org, kind: Generated, index: u64, field: &str) -> String {
    value(org, kind, index, field)
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// `source_id` → destination row id of one table.
fn rows(db: &rusqlite::Connection, table: &str) -> HashMap<String, i64> {
    let mut statement = db
        .prepare(&format!(
            "SELECT source_id, id FROM {table} WHERE tenant = ?1"
        ))
        .unwrap();
    statement
        .query_map([TENANT], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[tokio::test]
async fn a_query_of_article_versions_without_a_publication_state_is_refused_like_salesforce() {
    let simulator = start_org(RECORDS, SEED).await;
    let client = connect(&simulator).await;
    for naive in [
        "SELECT Id, Title FROM Knowledge__kav",
        "SELECT COUNT() FROM Knowledge__kav WHERE IsDeleted = false",
        "SELECT Id FROM Knowledge__kav WHERE PublishStatus = 'Online' OR Language = 'en_US'",
    ] {
        let error = client
            .query(naive)
            .await
            .expect_err("Salesforce refuses the query");
        let message = error.to_string();
        assert!(
            message.contains("MALFORMED_QUERY")
                && message.contains("When querying or searching the Knowledge__kav object, you must filter using the following syntax")
                && message.contains("PublishStatus = [status]"),
            "{naive}: {message}"
        );
    }
    let online = client
        .query(
            "SELECT Id FROM Knowledge__kav WHERE PublishStatus = 'Online' AND Language = 'en_US'",
        )
        .await
        .expect("a filtered query reads");
    assert!(online.total_size > 0);
}

#[tokio::test]
async fn online_articles_land_once_with_their_categories_and_indirect_relations_with_their_links() {
    let simulator = start_org(RECORDS, SEED).await;
    let client = connect(&simulator).await;
    let org = Org::new(SEED, RECORDS);
    let dir = tempfile::tempdir().unwrap();
    let embedded = Embedded::open(dir.path());

    // The dry run reads every online article and every relation, and says what becomes of
    // the direct ones, before anything is written.
    let ports = embedded.dry_run_ports(&client);
    let config = ferry_core::run::RunConfig {
        map: map(),
        ..embedded.config("knowledge-dry", 97)
    };
    let (_, dry) = ferry_core::run::dry_run(&ports, &config, &BudgetPolicy::default())
        .await
        .unwrap();
    let planned = |name: &str| dry.objects.iter().find(|o| o.object == name).unwrap();
    let articles_planned = planned("Knowledge__kav");
    assert_eq!(articles_planned.destination, "knowledge_article");
    assert_eq!(articles_planned.in_salesforce, articles_planned.will_create);
    let relations_planned = planned("AccountContactRelation");
    assert!(relations_planned.will_skip > 0 && relations_planned.will_create > 0);
    assert!(
        relations_planned
            .skip_reasons
            .keys()
            .any(|reason| reason.contains("company link")),
        "{:?}",
        relations_planned.skip_reasons
    );

    let outcome = embedded.migrate(&client, "knowledge", map(), 97).await;
    let report = &outcome.report;
    assert!(report.is_balanced(), "{report:?}");
    assert!(
        report.is_complete(),
        "{:?}",
        report.salesforce_differences()
    );
    let db = embedded.destination_db();

    // Articles: exactly the online versions, each article once.
    let kind = Generated::KnowledgeArticleVersion;
    let mut online = BTreeMap::new();
    let mut others = BTreeSet::new();
    for index in 0..org.count(kind) {
        let id = org.id(kind, index);
        if org.article_version(index).status == PublishStatus::Online {
            online.insert(id, index);
        } else {
            others.insert(id);
        }
    }
    assert!(online.len() >= 10 && !others.is_empty());
    let articles = rows(&db, "knowledge_articles");
    assert_eq!(
        articles.keys().cloned().collect::<BTreeSet<_>>(),
        online.keys().cloned().collect::<BTreeSet<_>>(),
        "every online version lands, no draft or archived one"
    );
    let mut per_article = BTreeSet::new();
    for index in online.values() {
        assert!(
            per_article.insert(text(&org, kind, *index, "KnowledgeArticleId")),
            "one online version per article"
        );
    }
    let counts = report.object("Knowledge__kav").expect("articles migrated");
    assert_eq!(counts.in_salesforce, online.len() as u64);
    assert_eq!(counts.created, online.len() as u64);
    assert!(outcome.discovery.plan.notes.iter().any(|note| {
        note.object == "Knowledge__kav" && note.reason.contains("PublishStatus = 'Online'")
    }));
    // Title, body (rich text) and version as Salesforce holds them.
    let mut statement = db
        .prepare("SELECT source_id, title, body, version_number, article_number FROM knowledge_articles WHERE tenant = ?1")
        .unwrap();
    let landed: Vec<(String, String, String, i64, String)> = statement
        .query_map([TENANT], |row| {
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
            ))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for (id, title, body, version, number) in &landed {
        let index = online[id];
        assert_eq!(title, &text(&org, kind, index, "Title"));
        assert_eq!(body, &text(&org, kind, index, "Answer__c"));
        assert!(body.starts_with("<p>"));
        assert_eq!(
            Val::Int(*version),
            value(&org, kind, index, "VersionNumber")
        );
        assert_eq!(number, &text(&org, kind, index, "ArticleNumber"));
    }

    // Categories: those of the online versions, each linked to its article.
    let mut expected: BTreeSet<(i64, String, String)> = BTreeSet::new();
    let selections = Generated::DataCategorySelection;
    let mut selected = 0;
    for index in 0..org.count(selections) {
        let parent = text(&org, selections, index, "ParentId");
        if let Some(article) = articles.get(&parent) {
            selected += 1;
            expected.insert((
                *article,
                text(&org, selections, index, "DataCategoryGroupName"),
                text(&org, selections, index, "DataCategoryName"),
            ));
        }
    }
    let mut statement = db
        .prepare("SELECT article_id, group_name, category_name FROM article_categories WHERE tenant = ?1")
        .unwrap();
    let categories: BTreeSet<(i64, String, String)> = statement
        .query_map([TENANT], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(categories, expected);
    assert!(
        articles
            .values()
            .all(|article| categories.iter().any(|c| c.0 == *article)),
        "every article lands with its categories"
    );
    let counts = report
        .object("Knowledge__DataCategorySelection")
        .expect("categories migrated");
    assert_eq!(counts.created, selected);
    assert_eq!(counts.links_unresolved, 0);

    // Account-contact relations: each indirect one lands with its company and contact;
    // each direct one is skipped, with its reason, as the contact's company link.
    let companies = rows(&db, "companies");
    let contacts = rows(&db, "contacts");
    let relation = Generated::AccountContactRelation;
    let mut indirect = BTreeMap::new();
    let mut direct = BTreeSet::new();
    for index in 0..org.count(relation) {
        if org.is_deleted(relation, index) {
            continue;
        }
        let id = org.id(relation, index);
        if value(&org, relation, index, "IsDirect") == Val::Bool(true) {
            direct.insert(id);
        } else {
            indirect.insert(
                id,
                (
                    companies[&text(&org, relation, index, "AccountId")],
                    contacts[&text(&org, relation, index, "ContactId")],
                    value(&org, relation, index, "Roles").as_str().map(|roles| {
                        serde_json::to_string(&roles.split(';').collect::<Vec<_>>()).unwrap()
                    }),
                ),
            );
        }
    }
    assert!(indirect.len() >= 100 && direct.len() >= 500);
    let mut statement = db
        .prepare("SELECT source_id, company_id, contact_id, roles FROM account_contact_relations WHERE tenant = ?1")
        .unwrap();
    let landed: BTreeMap<String, (i64, i64, Option<String>)> = statement
        .query_map([TENANT], |row| {
            Ok((row.get(0)?, (row.get(1)?, row.get(2)?, row.get(3)?)))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(landed.len(), indirect.len());
    for (id, expected) in &indirect {
        assert_eq!(landed.get(id), Some(expected), "relation {id}");
    }
    let counts = report
        .object("AccountContactRelation")
        .expect("relations migrated");
    assert_eq!(counts.created, indirect.len() as u64);
    assert_eq!(counts.skipped, direct.len() as u64);
    assert_eq!(counts.in_salesforce, (indirect.len() + direct.len()) as u64);
    let skips: BTreeSet<String> = report
        .issues
        .iter()
        .filter(|issue| {
            issue.object == "AccountContactRelation" && issue.kind == IssueKind::Skipped
        })
        .inspect(|issue| assert!(issue.reason.contains("company link"), "{}", issue.reason))
        .filter_map(|issue| issue.salesforce_id.clone())
        .collect();
    assert_eq!(skips, direct);

    // Everything sent reads back as sent.
    for object in [
        "Knowledge__kav",
        "Knowledge__DataCategorySelection",
        "AccountContactRelation",
    ] {
        let counts = report.object(object).unwrap();
        assert_eq!(counts.verified, counts.created, "{object}");
        assert_eq!(counts.mismatched, 0, "{object}");
    }
    assert_eq!(
        (articles_planned.will_create, relations_planned.will_create),
        (
            report.object("Knowledge__kav").unwrap().created,
            report.object("AccountContactRelation").unwrap().created
        ),
        "the dry run said what the run did"
    );

    // A rollback takes the articles, their categories and the relations away.
    let undone = ferry_core::run::rollback(
        &ferry_core::run::RollbackRunPorts {
            id_map: &embedded.store,
            runs: &embedded.store,
            destination: &embedded.destination,
        },
        &ferry_model::ids::TenantId::new(TENANT),
        &ferry_model::ids::RunId::new("knowledge"),
        &ferry_model::ports::NoProgress,
    )
    .await
    .unwrap();
    assert_eq!(undone.total().failed, 0, "{undone:?}");
    for table in [
        "knowledge_articles",
        "article_categories",
        "account_contact_relations",
    ] {
        assert!(
            rows(&db, table).is_empty(),
            "{table} is empty after the rollback"
        );
    }
}
