//! Multiple currencies: every money value lands with its currency. In a multi-currency org
//! each record keeps its own `CurrencyIsoCode` and its amount unchanged (no conversion); in a
//! single-currency org every money-carrying record lands with the org's currency
//! (`Organization.DefaultCurrencyIsoCode`). The simulated org's generator is the ground truth.

use ferry_core::preview::PlanPreview;
use ferry_core::steps::ExtractConfig;
use ferry_model::budget::BudgetPolicy;
use ferry_model::mapping::FieldMap;
use ferry_model::plan::CurrencySource;
use ferry_simulator::org::{Mix, Org};
use ferry_simulator::schema::{self, Features, Generated};
use ferry_simulator::value::Val;
use ferry_simulator::{RunningSimulator, SimulatorConfig};
use ferry_tests::{Embedded, connect};
use std::collections::BTreeSet;

const RECORDS: u64 = 1_500;

async fn start(seed: u64, features: Features) -> RunningSimulator {
    ferry_simulator::serve(
        SimulatorConfig {
            records: RECORDS,
            seed,
            features,
            ..SimulatorConfig::default()
        },
        ([127, 0, 0, 1], 0).into(),
    )
    .await
    .expect("the simulator starts")
}

/// The built-in map, narrowed to owners, companies, contacts, stages and opportunities.
fn money_map() -> FieldMap {
    let mut map = FieldMap::builtin();
    map.custom_objects = false;
    map.generic_objects = false;
    map.objects.retain(|name, _| {
        [
            "User",
            "Account",
            "Contact",
            "OpportunityStage",
            "Opportunity",
        ]
        .contains(&name.as_str())
    });
    map
}

fn amount(org: &Org, index: u64) -> Option<f64> {
    let object = schema::generated_object(Generated::Opportunity);
    let at = object.field_index("Amount").unwrap();
    match &org.record(Generated::Opportunity, index)[at] {
        Val::Num(amount) => Some(*amount),
        _ => None,
    }
}

/// (amount, currency) of every opportunity in the destination, by Salesforce id.
fn landed_opportunities(
    embedded: &Embedded,
) -> std::collections::HashMap<String, (Option<f64>, Option<String>)> {
    let db = embedded.destination_db();
    let mut statement = db
        .prepare("SELECT source_id, amount, currency FROM opportunities")
        .unwrap();
    statement
        .query_map([], |row| {
            // Decimals are kept as their decimal text.
            let amount: Option<String> = row.get(1)?;
            let amount = amount.map(|text| text.parse::<f64>().unwrap());
            Ok((row.get(0)?, (amount, row.get(2)?)))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn currencies_of(embedded: &Embedded, table: &str) -> Vec<(String, Option<String>)> {
    let db = embedded.destination_db();
    let mut statement = db
        .prepare(&format!("SELECT source_id, currency FROM {table}"))
        .unwrap();
    statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multi_currency_org_lands_every_opportunity_with_its_own_currency_and_amount() {
    let seed = 31;
    let features = Features {
        multi_currency: true,
        ..Features::default()
    };
    let simulator = start(seed, features).await;
    let client = connect(&simulator).await;
    let dir = tempfile::tempdir().unwrap();
    let embedded = Embedded::open(dir.path());
    let outcome = embedded
        .migrate(&client, "run-currencies", money_map(), 200)
        .await;
    let report = &outcome.report;
    assert!(report.is_balanced(), "{report:?}");
    let org = Org::with_features(seed, RECORDS, Mix::Sales, features);

    let landed = landed_opportunities(&embedded);
    let mut seen = BTreeSet::new();
    let mut compared = 0;
    for index in 0..org.count(Generated::Opportunity) {
        if org.is_deleted(Generated::Opportunity, index) {
            continue;
        }
        let id = org.id(Generated::Opportunity, index);
        let (landed_amount, landed_currency) = &landed[&id];
        let currency = org.record_currency(Generated::Opportunity, index).unwrap();
        assert_eq!(landed_currency.as_deref(), Some(currency), "{id}");
        // The amount is Salesforce's, in the record's currency: nothing converted.
        assert_eq!(*landed_amount, amount(&org, index), "{id}");
        seen.insert(currency);
        compared += 1;
    }
    assert_eq!(compared, landed.len());
    assert_eq!(seen.len(), schema::CURRENCY_CODES.len(), "{seen:?}");
    // Companies and contacts keep their own currencies too.
    for (table, kind) in [
        ("companies", Generated::Account),
        ("contacts", Generated::Contact),
    ] {
        for (id, currency) in currencies_of(&embedded, table) {
            let (_, index) = org.locate(&id).unwrap();
            assert_eq!(
                currency.as_deref(),
                org.record_currency(kind, index),
                "{table} {id}"
            );
        }
    }
    // Verification read every record back, currency included, and found it as sent.
    for object in ["Account", "Contact", "Opportunity"] {
        let counts = report.object(object).unwrap();
        assert_eq!(counts.mismatched, 0, "{object}");
        assert!(counts.verified > 0, "{object}");
    }

    // The plan shows where each object's currency comes from, and the org's currencies.
    let preview = PlanPreview::build(
        &outcome.discovery,
        &money_map(),
        &ExtractConfig::default(),
        &BudgetPolicy::default(),
    );
    let opportunity = preview
        .objects
        .iter()
        .find(|o| o.name == "Opportunity")
        .unwrap();
    assert_eq!(
        opportunity.currency,
        Some(CurrencySource::Field {
            field: "CurrencyIsoCode".to_owned()
        })
    );
    assert!(preview.currencies.multi_currency);
    assert_eq!(
        preview.currencies.default.as_deref(),
        Some(org.corporate_currency())
    );
    let codes: Vec<&str> = preview
        .currencies
        .currencies
        .iter()
        .map(|c| c.iso_code.as_str())
        .collect();
    assert_eq!(codes, schema::CURRENCY_CODES);
    let corporate: Vec<&str> = preview
        .currencies
        .currencies
        .iter()
        .filter(|c| c.corporate)
        .map(|c| c.iso_code.as_str())
        .collect();
    assert_eq!(corporate, [org.corporate_currency()]);
    simulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_currency_orgs_amounts_land_with_the_org_default() {
    // A seed whose org is not in dollars, so no default of Ferry's own could pass.
    let seed = (1..100)
        .find(|&seed| Org::new(seed, RECORDS).corporate_currency() != "USD")
        .unwrap();
    let org = Org::new(seed, RECORDS);
    let currency = org.corporate_currency();
    let simulator = start(seed, Features::default()).await;
    let client = connect(&simulator).await;
    let dir = tempfile::tempdir().unwrap();
    let embedded = Embedded::open(dir.path());
    let outcome = embedded
        .migrate(&client, "run-one-currency", money_map(), 200)
        .await;
    assert!(outcome.report.is_balanced(), "{:?}", outcome.report);

    let landed = landed_opportunities(&embedded);
    assert!(!landed.is_empty());
    for index in 0..org.count(Generated::Opportunity) {
        if org.is_deleted(Generated::Opportunity, index) {
            continue;
        }
        let id = org.id(Generated::Opportunity, index);
        assert_eq!(
            landed[&id],
            (amount(&org, index), Some(currency.to_owned())),
            "{id}"
        );
    }
    for table in ["companies", "contacts"] {
        let rows = currencies_of(&embedded, table);
        assert!(!rows.is_empty());
        assert!(
            rows.iter().all(|(_, c)| c.as_deref() == Some(currency)),
            "{table}"
        );
    }
    // Stages carry no money, and have no currency column.
    let stage_columns: Vec<String> = embedded
        .destination_db()
        .prepare("SELECT name FROM pragma_table_info('stages')")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(!stage_columns.iter().any(|c| c == "currency"));

    // The plan names the org's currency as every record's, and reports no field as hidden
    // for it: a single-currency org has no CurrencyIsoCode.
    let preview = PlanPreview::build(
        &outcome.discovery,
        &money_map(),
        &ExtractConfig::default(),
        &BudgetPolicy::default(),
    );
    assert!(!preview.currencies.multi_currency);
    assert!(preview.currencies.currencies.is_empty());
    assert_eq!(preview.currencies.default.as_deref(), Some(currency));
    for object in &preview.objects {
        let expected = ["Account", "Contact", "Opportunity"]
            .contains(&object.name.as_str())
            .then(|| CurrencySource::Constant {
                code: currency.to_owned(),
            });
        assert_eq!(object.currency, expected, "{}", object.name);
        assert!(
            object
                .hidden_fields
                .iter()
                .all(|h| h.name != "CurrencyIsoCode"),
            "{}",
            object.name
        );
    }
    assert!(
        preview.permission_problems.is_empty(),
        "{:?}",
        preview.permission_problems
    );
    simulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dry_run_shows_the_orgs_currencies_and_where_each_objects_currency_comes_from() {
    use ferry_core::run::dry_run::{render_html, render_markdown};
    let seed = 31;
    let features = Features {
        multi_currency: true,
        ..Features::default()
    };
    let org = Org::with_features(seed, RECORDS, Mix::Sales, features);
    let simulator = start(seed, features).await;
    let client = connect(&simulator).await;
    let dir = tempfile::tempdir().unwrap();
    let embedded = Embedded::open(dir.path());
    let config = ferry_core::run::RunConfig {
        map: money_map(),
        ..embedded.config("dry-currency", 500)
    };
    let ports = embedded.dry_run_ports(&client);
    let (_, report) = ferry_core::run::dry_run(&ports, &config, &BudgetPolicy::default())
        .await
        .unwrap();
    let source = |name: &str| {
        report
            .objects
            .iter()
            .find(|o| o.object == name)
            .unwrap()
            .currency
            .clone()
    };
    assert_eq!(
        source("Opportunity"),
        Some(CurrencySource::Field {
            field: "CurrencyIsoCode".to_owned()
        })
    );
    assert_eq!(source("OpportunityStage"), None);
    assert!(report.currencies.multi_currency);
    assert_eq!(
        report.currencies.currencies.len(),
        schema::CURRENCY_CODES.len()
    );
    let markdown = render_markdown(&report);
    assert!(markdown.contains("## Currencies"), "{markdown}");
    assert!(markdown.contains(&format!("{} (corporate)", org.corporate_currency())));
    assert!(markdown.contains("Opportunity: each record's CurrencyIsoCode"));
    let html = render_html(&report);
    assert!(html.contains("<h2>Currencies</h2>"));
    assert!(html.contains("JPY (rate "));
    simulator.shutdown().await;
}

/// A generated record's number `field`.
fn number(org: &Org, kind: Generated, index: u64, field: &str) -> Option<f64> {
    let at = schema::generated_object(kind).field_index(field).unwrap();
    match &org.record(kind, index)[at] {
        Val::Num(value) => Some(*value),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multi_currency_orgs_price_book_entries_line_items_and_campaigns_keep_their_currency() {
    let seed = 33;
    let features = Features {
        multi_currency: true,
        ..Features::default()
    };
    let simulator = start(seed, features).await;
    let client = connect(&simulator).await;
    let dir = tempfile::tempdir().unwrap();
    let embedded = Embedded::open(dir.path());
    let mut map = money_map();
    let builtin = FieldMap::builtin();
    for object in [
        "Product2",
        "Pricebook2",
        "PricebookEntry",
        "OpportunityLineItem",
        "Campaign",
    ] {
        map.objects
            .insert(object.to_owned(), builtin.objects[object].clone());
    }
    let outcome = embedded.migrate(&client, "run-priced", map, 200).await;
    let report = &outcome.report;
    assert!(report.is_balanced(), "{report:?}");
    assert!(report.is_complete(), "{report:?}");
    let org = Org::with_features(seed, RECORDS, Mix::Sales, features);
    let db = embedded.destination_db();

    // Every entry of every currency landed, with its price in that currency.
    let entries: std::collections::HashMap<String, (i64, String, Option<String>)> = db
        .prepare("SELECT source_id, id, unit_price, currency FROM price_book_entries")
        .unwrap()
        .query_map([], |row| {
            Ok((row.get(0)?, (row.get(1)?, row.get(2)?, row.get(3)?)))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(entries.len() as u64, org.count(Generated::PricebookEntry));
    let mut entry_currencies = BTreeSet::new();
    for index in 0..org.count(Generated::PricebookEntry) {
        let id = org.id(Generated::PricebookEntry, index);
        let (_, price, currency) = &entries[&id];
        let expected = org.record_currency(Generated::PricebookEntry, index);
        assert_eq!(currency.as_deref(), expected, "{id}");
        entry_currencies.insert(expected.unwrap());
        assert_eq!(
            price.parse::<f64>().ok(),
            number(&org, Generated::PricebookEntry, index, "UnitPrice"),
            "{id}"
        );
    }
    assert_eq!(entry_currencies.len(), schema::CURRENCY_CODES.len());

    // A line item is in its opportunity's currency, sold from an entry of that currency, and
    // its prices are Salesforce's, unconverted.
    let mut statement = db
        .prepare(
            "SELECT l.source_id, l.currency, o.currency, e.currency, l.total_price, l.unit_price, l.quantity
             FROM line_items l JOIN opportunities o ON o.id = l.opportunity_id
             JOIN price_book_entries e ON e.id = l.price_book_entry_id",
        )
        .unwrap();
    let items: Vec<(String, [Option<String>; 3], [String; 3])> = statement
        .query_map([], |row| {
            Ok((
                row.get(0)?,
                [row.get(1)?, row.get(2)?, row.get(3)?],
                [row.get(4)?, row.get(5)?, row.get(6)?],
            ))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        items.len() as u64,
        org.count(Generated::OpportunityLineItem)
    );
    let mut item_currencies = BTreeSet::new();
    for (id, currencies, prices) in &items {
        let (_, index) = org.locate(id).unwrap();
        let expected = org.record_currency(Generated::OpportunityLineItem, index);
        for currency in currencies {
            assert_eq!(currency.as_deref(), expected, "{id}");
        }
        item_currencies.insert(expected.unwrap());
        for (field, landed) in ["TotalPrice", "UnitPrice", "Quantity"].iter().zip(prices) {
            assert_eq!(
                landed.parse::<f64>().ok(),
                number(&org, Generated::OpportunityLineItem, index, field),
                "{id}.{field}"
            );
        }
    }
    assert!(item_currencies.len() > 1, "{item_currencies:?}");

    // Campaigns keep theirs.
    for (id, currency) in currencies_of(&embedded, "campaigns") {
        let (_, index) = org.locate(&id).unwrap();
        assert_eq!(
            currency.as_deref(),
            org.record_currency(Generated::Campaign, index),
            "campaign {id}"
        );
    }
    for object in ["PricebookEntry", "OpportunityLineItem", "Campaign"] {
        let counts = report.object(object).unwrap();
        assert_eq!(counts.mismatched, 0, "{object}");
        assert!(counts.verified > 0, "{object}");
    }
    simulator.shutdown().await;
}

/// Rows of `query`, each a source id and the currencies it selects.
fn currency_rows(
    embedded: &Embedded,
    query: &str,
    width: usize,
) -> Vec<(String, Vec<Option<String>>)> {
    let db = embedded.destination_db();
    let mut statement = db.prepare(query).unwrap();
    statement
        .query_map([], |row| {
            let currencies = (1..=width).map(|i| row.get(i)).collect::<Result<_, _>>()?;
            Ok((row.get(0)?, currencies))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multi_currency_orgs_contracts_orders_quotes_and_assets_keep_their_parents_currency() {
    let seed = 35;
    let features = Features {
        multi_currency: true,
        ..Features::default()
    };
    let simulator = start(seed, features).await;
    let client = connect(&simulator).await;
    let dir = tempfile::tempdir().unwrap();
    let embedded = Embedded::open(dir.path());
    let mut map = money_map();
    let builtin = FieldMap::builtin();
    let commerce = [
        "Contract",
        "Order",
        "OrderItem",
        "Quote",
        "QuoteLineItem",
        "Asset",
    ];
    for object in ["Product2", "Pricebook2", "PricebookEntry"]
        .into_iter()
        .chain(commerce)
    {
        map.objects
            .insert(object.to_owned(), builtin.objects[object].clone());
    }
    let outcome = embedded.migrate(&client, "run-commerce", map, 200).await;
    let report = &outcome.report;
    assert!(report.is_balanced(), "{report:?}");
    assert!(report.is_complete(), "{report:?}");
    let org = Org::with_features(seed, RECORDS, Mix::Sales, features);

    // Each row: the record, then its own currency and those of what it must match.
    let checks = [
        (
            Generated::OrderItem,
            "SELECT i.source_id, i.currency, o.currency, e.currency FROM order_items i
             JOIN orders o ON o.id = i.order_id JOIN price_book_entries e ON e.id = i.price_book_entry_id",
            3,
        ),
        (
            Generated::Order,
            "SELECT o.source_id, o.currency, c.currency FROM orders o
             JOIN contracts c ON c.id = o.contract_id",
            2,
        ),
        (
            Generated::QuoteLineItem,
            "SELECT l.source_id, l.currency, q.currency, p.currency, e.currency FROM quote_line_items l
             JOIN quotes q ON q.id = l.quote_id JOIN opportunities p ON p.id = q.opportunity_id
             JOIN price_book_entries e ON e.id = l.price_book_entry_id",
            4,
        ),
        (
            Generated::Asset,
            "SELECT a.source_id, a.currency, r.currency FROM assets a
             JOIN assets r ON r.id = a.root_asset_id",
            2,
        ),
        (
            Generated::Contract,
            "SELECT source_id, currency FROM contracts",
            1,
        ),
    ];
    let mut seen = BTreeSet::new();
    for (kind, query, width) in checks {
        let rows = currency_rows(&embedded, query, width);
        assert!(!rows.is_empty(), "{kind:?}");
        for (id, currencies) in rows {
            let (_, index) = org.locate(&id).unwrap();
            let expected = org.record_currency(kind, index);
            for currency in currencies {
                assert_eq!(currency.as_deref(), expected, "{kind:?} {id}");
            }
            seen.insert(expected.unwrap());
        }
    }
    assert!(seen.len() > 1, "{seen:?}");
    // Every item landed, and the amounts are Salesforce's, unconverted.
    let db = embedded.destination_db();
    for (kind, table) in [
        (Generated::OrderItem, "order_items"),
        (Generated::QuoteLineItem, "quote_line_items"),
    ] {
        let landed: Vec<(String, String)> = db
            .prepare(&format!("SELECT source_id, total_price FROM {table}"))
            .unwrap()
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(landed.len() as u64, org.count(kind), "{table}");
        for (id, total) in landed {
            let (_, index) = org.locate(&id).unwrap();
            assert_eq!(
                total.parse::<f64>().ok(),
                number(&org, kind, index, "TotalPrice"),
                "{id}"
            );
        }
    }
    for object in commerce {
        let counts = report.object(object).unwrap();
        assert_eq!(counts.mismatched, 0, "{object}");
        assert!(counts.verified > 0, "{object}");
    }
    simulator.shutdown().await;
}
