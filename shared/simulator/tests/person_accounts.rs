//! Person accounts over the wire: what an org with the feature describes and answers, and
//! that an org without it answers SOQL naming a person field with `INVALID_FIELD`.

mod common;

use common::{TestResult, access_token, get, query_path, start};
use ferry_simulator::SimulatorConfig;
use ferry_simulator::schema::Features;
use serde_json::Value;
use std::collections::BTreeMap;

fn person_org() -> SimulatorConfig {
    SimulatorConfig {
        records: 2000,
        features: Features {
            person_accounts: true,
            ..Features::default()
        },
        ..SimulatorConfig::default()
    }
}

fn field_names(describe: &Value) -> Vec<String> {
    describe["fields"]
        .as_array()
        .map(|fields| {
            fields
                .iter()
                .filter_map(|f| f["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

const PERSON_FIELDS: [&str; 8] = [
    "IsPersonAccount",
    "FirstName",
    "LastName",
    "PersonContactId",
    "PersonEmail",
    "PersonMailingAddress",
    "PersonBirthdate",
    "Loyalty_Tier__pc",
];

#[tokio::test]
async fn an_org_without_person_accounts_does_not_know_their_fields() -> TestResult {
    let sim = start(SimulatorConfig::default()).await?;
    let client = reqwest::Client::new();
    let token = access_token(&client, &sim).await?;
    let (status, _, account) = get(
        &client,
        &sim,
        &token,
        "/services/data/v59.0/sobjects/Account/describe",
        None,
    )
    .await?;
    assert_eq!(status, 200);
    let names = field_names(&account);
    for field in PERSON_FIELDS {
        assert!(!names.iter().any(|n| n == field), "{field} in {names:?}");
    }
    for soql in [
        "SELECT Id, IsPersonAccount FROM Account",
        "SELECT Id FROM Account WHERE PersonEmail != null",
        "SELECT Id, Loyalty_Tier__pc FROM Account",
        "SELECT Id, IsPersonAccount FROM Contact",
    ] {
        let (status, _, body) = get(&client, &sim, &token, &query_path(soql), None).await?;
        assert_eq!(status, 400, "{soql}: {body}");
        assert_eq!(body[0]["errorCode"], "INVALID_FIELD", "{soql}: {body}");
    }
    Ok(())
}

#[tokio::test]
async fn person_accounts_have_one_person_contact_each() -> TestResult {
    let sim = start(person_org()).await?;
    let client = reqwest::Client::new();
    let token = access_token(&client, &sim).await?;
    let (status, _, account) = get(
        &client,
        &sim,
        &token,
        "/services/data/v59.0/sobjects/Account/describe",
        None,
    )
    .await?;
    assert_eq!(status, 200);
    let names = field_names(&account);
    for field in PERSON_FIELDS {
        assert!(names.iter().any(|n| n == field), "{field} missing");
    }
    let pc = account["fields"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["name"] == "Loyalty_Tier__pc"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(pc["custom"], true);

    let (status, _, accounts) = get(
        &client,
        &sim,
        &token,
        &query_path(
            "SELECT Id, Name, IsPersonAccount, FirstName, LastName, PersonEmail, PersonContactId, Loyalty_Tier__pc, ParentId FROM Account",
        ),
        None,
    )
    .await?;
    assert_eq!(status, 200, "{accounts}");
    let (status, _, contacts) = get(
        &client,
        &sim,
        &token,
        &query_path(
            "SELECT Id, AccountId, IsPersonAccount, FirstName, LastName, Email, Loyalty_Tier__c FROM Contact",
        ),
        None,
    )
    .await?;
    assert_eq!(status, 200, "{contacts}");
    let rows = |body: &Value| body["records"].as_array().cloned().unwrap_or_default();
    let accounts = rows(&accounts);
    let contacts: BTreeMap<String, Value> = rows(&contacts)
        .into_iter()
        .filter_map(|c| Some((c["Id"].as_str()?.to_owned(), c)))
        .collect();
    let persons: Vec<&Value> = accounts
        .iter()
        .filter(|a| a["IsPersonAccount"] == true)
        .collect();
    let share = persons.len() as f64 / accounts.len() as f64;
    assert!((0.15..0.35).contains(&share), "{share}");
    for person in &persons {
        let contact_id = person["PersonContactId"].as_str().unwrap_or_default();
        let contact = &contacts[contact_id];
        assert_eq!(contact["IsPersonAccount"], true);
        assert_eq!(contact["AccountId"], person["Id"]);
        assert_eq!(contact["FirstName"], person["FirstName"]);
        assert_eq!(contact["LastName"], person["LastName"]);
        assert_eq!(contact["Email"], person["PersonEmail"]);
        assert_eq!(contact["Loyalty_Tier__c"], person["Loyalty_Tier__pc"]);
        assert_eq!(person["ParentId"], Value::Null);
        assert_eq!(
            person["Name"].as_str(),
            Some(
                format!(
                    "{} {}",
                    person["FirstName"].as_str().unwrap_or_default(),
                    person["LastName"].as_str().unwrap_or_default()
                )
                .as_str()
            )
        );
    }
    let person_ids: Vec<&Value> = persons.iter().map(|p| &p["Id"]).collect();
    let person_contacts = contacts
        .values()
        .filter(|c| c["IsPersonAccount"] == true)
        .count();
    assert_eq!(person_contacts, persons.len(), "a bijection");
    for contact in contacts.values().filter(|c| c["IsPersonAccount"] == false) {
        assert!(
            !person_ids.contains(&&contact["AccountId"]),
            "business contact {} belongs to a person account",
            contact["Id"]
        );
    }
    for account in accounts.iter().filter(|a| a["IsPersonAccount"] == false) {
        assert_eq!(account["PersonContactId"], Value::Null);
        assert_eq!(account["FirstName"], Value::Null);
    }

    // The conditions Ferry extracts the two kinds of account with.
    for (condition, expected) in [
        ("IsPersonAccount = true", persons.len()),
        (
            "NOT (IsPersonAccount = true)",
            accounts.len() - persons.len(),
        ),
    ] {
        let soql = format!("SELECT COUNT() FROM Account WHERE {condition}");
        let (status, _, body) = get(&client, &sim, &token, &query_path(&soql), None).await?;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["totalSize"], expected, "{condition}");
    }

    // Opportunities and activities point at person accounts as they are generated.
    let (_, _, opportunities) = get(
        &client,
        &sim,
        &token,
        &query_path("SELECT Id, AccountId FROM Opportunity"),
        None,
    )
    .await?;
    let on_persons = rows(&opportunities)
        .iter()
        .filter(|o| person_ids.contains(&&o["AccountId"]))
        .count();
    assert!(on_persons > 0, "no opportunity of a person");
    Ok(())
}
