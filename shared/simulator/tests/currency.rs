//! Multiple currencies: `CurrencyIsoCode` on records of a multi-currency org (last field,
//! gated by the feature), the `Organization` object of every org and the `CurrencyType`
//! object of a multi-currency one. Expected values come from the same generator (`Org`).

mod common;

use common::{TestResult, access_token, all_pages, get, query_path, start};
use ferry_simulator::org::{Mix, Org};
use ferry_simulator::schema::{self, Features, Generated};
use ferry_simulator::value::Val;
use ferry_simulator::{RunningSimulator, SimulatorConfig};
use serde_json::Value;
use std::collections::BTreeMap;

const RECORDS: u64 = 3000;
const SEED: u64 = 23;

fn multi_currency() -> Features {
    Features {
        multi_currency: true,
        ..Features::default()
    }
}

async fn sim(features: Features) -> Result<RunningSimulator, Box<dyn std::error::Error>> {
    start(SimulatorConfig {
        records: RECORDS,
        seed: SEED,
        features,
        ..SimulatorConfig::default()
    })
    .await
}

fn records(pages: &[Value]) -> Vec<Value> {
    pages
        .iter()
        .flat_map(|p| p["records"].as_array().cloned().unwrap_or_default())
        .collect()
}

#[tokio::test]
async fn a_multi_currency_org_gives_every_opportunity_its_currency_last() -> TestResult {
    let sim = sim(multi_currency()).await?;
    let client = reqwest::Client::new();
    let token = access_token(&client, &sim).await?;
    let org = Org::with_features(SEED, RECORDS, Mix::Sales, multi_currency());
    let corporate = org.corporate_currency();

    // Described as Salesforce does: a three-character picklist of the org's currencies,
    // after every other field.
    for object in [
        "Account",
        "Contact",
        "Lead",
        "Opportunity",
        "Campaign",
        "Case",
        "User",
        "Task",
        "Event",
        "Project__c",
    ] {
        let path = format!("/services/data/v59.0/sobjects/{object}/describe");
        let (status, _, describe) = get(&client, &sim, &token, &path, None).await?;
        assert_eq!(status, 200, "{object}");
        let fields = describe["fields"].as_array().ok_or("fields")?;
        let last = fields.last().ok_or("no fields")?;
        assert_eq!(last["name"], "CurrencyIsoCode", "{object}");
        assert_eq!(last["type"], "picklist", "{object}");
        assert_eq!(last["length"], 3, "{object}");
        assert_eq!(last["restrictedPicklist"], true, "{object}");
        assert_eq!(last["defaultedOnCreate"], true, "{object}");
        if object == "Opportunity" {
            assert_eq!(last["label"], "Opportunity Currency");
        }
        let values: Vec<&str> = last["picklistValues"]
            .as_array()
            .ok_or("values")?
            .iter()
            .filter_map(|v| v["value"].as_str())
            .collect();
        assert_eq!(values, schema::CURRENCY_CODES, "{object}");
    }
    // Notes carry no currency.
    let (_, _, note) = get(
        &client,
        &sim,
        &token,
        "/services/data/v59.0/sobjects/Note/describe",
        None,
    )
    .await?;
    let note_fields = note["fields"].as_array().ok_or("fields")?;
    assert!(note_fields.iter().all(|f| f["name"] != "CurrencyIsoCode"));

    let pages = all_pages(
        &client,
        &sim,
        &token,
        "SELECT Id, Amount, CurrencyIsoCode FROM Opportunity",
        None,
    )
    .await?;
    let rows = records(&pages);
    assert_eq!(rows.len() as u64, sim.record_counts()["Opportunity"]);
    let mut per_code: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for row in &rows {
        let id = row["Id"].as_str().ok_or("Id")?;
        let index = org.index_of(Generated::Opportunity, id).ok_or("index")?;
        let code = row["CurrencyIsoCode"].as_str().ok_or("CurrencyIsoCode")?;
        assert_eq!(
            Some(code),
            org.record_currency(Generated::Opportunity, index)
        );
        if let Some(amount) = row["Amount"].as_f64() {
            per_code.entry(code.to_owned()).or_default().push(amount);
        }
    }
    // Mostly the corporate currency, and every other one too.
    let corporate_share = per_code[corporate].len() * 100 / rows.len();
    assert!((50..=80).contains(&corporate_share), "{corporate_share}%");
    assert_eq!(per_code.len(), schema::CURRENCY_CODES.len(), "{per_code:?}");
    // Yen amounts are whole and plausibly large beside the corporate currency's.
    let mean = |values: &[f64]| values.iter().sum::<f64>() / values.len() as f64;
    let yen = &per_code["JPY"];
    assert!(yen.iter().all(|a| a.fract() == 0.0));
    assert!(mean(yen) > 50.0 * mean(&per_code[corporate]));
    sim.shutdown().await;
    Ok(())
}

#[test]
fn switching_multiple_currencies_on_shifts_no_other_value() {
    let single = Org::with_features(SEED, RECORDS, Mix::Sales, Features::default());
    let multi = Org::with_features(SEED, RECORDS, Mix::Sales, multi_currency());
    let corporate = multi.corporate_currency();
    assert_eq!(single.corporate_currency(), corporate);
    for kind in [
        Generated::Account,
        Generated::Opportunity,
        Generated::Contact,
        Generated::Project,
        Generated::Note,
    ] {
        let object = schema::generated_object(kind);
        for index in 0..200 {
            let one = single.record(kind, index);
            let many = multi.record(kind, index);
            assert_eq!(one.len(), object.fields.len());
            assert_eq!(many.len(), object.fields.len());
            let code = multi.record_currency(kind, index);
            if schema::has_currency(kind) {
                assert_eq!(one.last(), Some(&Val::Null));
                assert_eq!(many.last(), code.map(|c| Val::Str(c.to_owned())).as_ref());
            }
            for (i, field) in object.fields.iter().enumerate() {
                if field.name == "CurrencyIsoCode" {
                    continue;
                }
                let scaled = field.ftype == schema::FieldType::Currency
                    && code.is_some_and(|c| c != corporate);
                if !scaled {
                    assert_eq!(one[i], many[i], "{} {index} {}", object.name, field.name);
                }
            }
        }
    }
}

#[tokio::test]
async fn every_org_has_its_organization_and_a_multi_currency_org_its_currencies() -> TestResult {
    let org = Org::with_features(SEED, RECORDS, Mix::Sales, multi_currency());
    for features in [Features::default(), multi_currency()] {
        let sim = sim(features).await?;
        let client = reqwest::Client::new();
        let token = access_token(&client, &sim).await?;
        let pages = all_pages(
            &client,
            &sim,
            &token,
            "SELECT Id, Name, DefaultCurrencyIsoCode FROM Organization",
            None,
        )
        .await?;
        let rows = records(&pages);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0]["Id"], org.org_id());
        assert!(org.org_id().starts_with("00D"));
        assert_eq!(rows[0]["DefaultCurrencyIsoCode"], org.corporate_currency());
        let global_has = |global: &Value, name: &str| {
            global["sobjects"]
                .as_array()
                .is_some_and(|all| all.iter().any(|o| o["name"] == name))
        };
        let (_, _, global) =
            get(&client, &sim, &token, "/services/data/v59.0/sobjects", None).await?;
        assert!(global_has(&global, "Organization"));
        assert_eq!(global_has(&global, "CurrencyType"), features.multi_currency);

        let soql = "SELECT IsoCode, ConversionRate, DecimalPlaces, IsActive, IsCorporate FROM CurrencyType";
        if features.multi_currency {
            let rows = records(&all_pages(&client, &sim, &token, soql, None).await?);
            assert_eq!(rows.len(), schema::CURRENCIES.len());
            let corporate: Vec<&Value> = rows.iter().filter(|r| r["IsCorporate"] == true).collect();
            assert_eq!(corporate.len(), 1);
            assert_eq!(corporate[0]["IsoCode"], org.corporate_currency());
            assert_eq!(corporate[0]["ConversionRate"].as_f64(), Some(1.0));
            let yen = rows.iter().find(|r| r["IsoCode"] == "JPY").ok_or("JPY")?;
            assert_eq!(yen["DecimalPlaces"], 0);
            assert!(yen["ConversionRate"].as_f64().is_some_and(|r| r > 100.0));
            assert!(rows.iter().all(|r| r["IsActive"] == true));
        } else {
            // An org without multiple currencies has neither the object nor the field,
            // and says so as Salesforce does.
            let (status, _, body) = get(&client, &sim, &token, &query_path(soql), None).await?;
            assert_eq!(status, 400);
            assert_eq!(body[0]["errorCode"], "INVALID_TYPE");
            let soql = "SELECT Id, CurrencyIsoCode FROM Opportunity";
            let (status, _, body) = get(&client, &sim, &token, &query_path(soql), None).await?;
            assert_eq!(status, 400, "{body}");
            assert_eq!(body[0]["errorCode"], "INVALID_FIELD");
            let message = body[0]["message"].as_str().unwrap_or_default();
            assert!(
                message.contains("No such column 'CurrencyIsoCode'"),
                "{message}"
            );
            let (_, _, describe) = get(
                &client,
                &sim,
                &token,
                "/services/data/v59.0/sobjects/Opportunity/describe",
                None,
            )
            .await?;
            let fields = describe["fields"].as_array().ok_or("fields")?;
            assert!(fields.iter().all(|f| f["name"] != "CurrencyIsoCode"));
        }
        sim.shutdown().await;
    }
    Ok(())
}
