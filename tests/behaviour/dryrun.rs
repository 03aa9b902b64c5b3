//! The dry run against the simulated org: its counts agree with what the generator made,
//! they add up, and a dry run after a migration sees updates instead of creates.

use ferry_core::run::dry_run::{render_html, render_markdown};
use ferry_core::run::{RunConfig, dry_run};
use ferry_core::steps::{DiscoverOptions, ExtractConfig};
use ferry_model::budget::BudgetPolicy;
use ferry_model::ids::{RunId, TenantId};
use ferry_simulator::org::{EmailKind, Org};
use ferry_simulator::schema::Generated;
use ferry_tests::{Embedded, TENANT, connect, start_org};
use std::collections::BTreeMap;

fn config(run: &str) -> RunConfig {
    RunConfig {
        concurrency: Default::default(),
        tenant: TenantId::new(TENANT),
        run_id: RunId::new(run),
        map: ferry_tests::companies_and_contacts_map(),
        extract: ExtractConfig {
            chunk_records: 500,
            ..ExtractConfig::default()
        },
        discover: DiscoverOptions::default(),
        pseudonymise: None,
        validation: Default::default(),
        default_owner: None,
        merge_leads_by_email: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dry_run_finds_exactly_what_the_generator_made_and_its_counts_add_up() {
    let (records, seed) = (5_000, 11);
    let simulator = start_org(records, seed).await;
    let client = connect(&simulator).await;
    let dir = tempfile::tempdir().unwrap();
    let embedded = Embedded::open(dir.path());
    let ports = embedded.dry_run_ports(&client);
    let (_, report) = dry_run(&ports, &config("dry-1"), &BudgetPolicy::default())
        .await
        .unwrap();

    // Ground truth, straight from the generator of the same seed.
    let org = Org::new(seed, records);
    let live_contacts: Vec<u64> = (0..org.count(Generated::Contact))
        .filter(|&i| !org.is_deleted(Generated::Contact, i))
        .collect();
    let invalid = live_contacts
        .iter()
        .filter(|&&i| org.contact_email_kind(i) == EmailKind::Invalid)
        .count() as u64;
    let email_field = ferry_simulator::schema::object("Contact")
        .unwrap()
        .field_index("Email")
        .unwrap();
    let mut by_email: BTreeMap<String, u64> = BTreeMap::new();
    for &i in &live_contacts {
        if org.contact_email_kind(i) == EmailKind::Invalid {
            continue;
        }
        if let ferry_simulator::value::Val::Str(email) =
            &org.record(Generated::Contact, i)[email_field]
        {
            *by_email.entry(email.to_lowercase()).or_default() += 1;
        }
    }
    let shared_emails = by_email.values().filter(|&&n| n > 1).count();

    assert!(invalid > 0);
    assert_eq!(report.findings_by_rule.get("invalid_email"), Some(&invalid));
    assert_eq!(
        report.findings_by_rule.get("orphan_link"),
        None,
        "links point at live records"
    );
    let email_groups = report
        .duplicates
        .iter()
        .filter(|g| g.kind == "email")
        .count();
    assert!(shared_emails > 0);
    assert_eq!(email_groups, shared_emails);
    for object in &report.objects {
        assert_eq!(
            object.in_salesforce,
            simulator.record_counts()[&object.object]
        );
        assert_eq!(object.extracted, object.in_salesforce, "{}", object.object);
        assert_eq!(
            object.will_create + object.will_update + object.will_skip,
            object.extracted,
            "{}",
            object.object
        );
        assert_eq!(object.will_update, 0, "nothing migrated yet");
    }
    assert_eq!(report.findings_total, report.findings.len() as u64);
    assert!(!report.custom_fields.is_empty());
    assert!(report.not_migrated.iter().all(|kind| kind.error.is_none()));

    // The destination was not touched.
    let companies: i64 = embedded
        .destination_db()
        .query_row("SELECT COUNT(*) FROM companies", [], |row| row.get(0))
        .unwrap();
    assert_eq!(companies, 0);

    // The renderings carry the same figures.
    let markdown = render_markdown(&report);
    let html = render_html(&report);
    for object in &report.objects {
        let row = format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            object.object,
            object.destination,
            object.phase,
            object.in_salesforce,
            object.extracted,
            object.will_create,
            object.will_update,
            object.will_skip
        );
        assert!(markdown.contains(&row), "{row}");
        assert!(html.contains(&format!("<tr><td>{}</td>", object.object)));
    }
    assert!(html.starts_with("<!doctype html>") && html.contains("<table id=\"objects\">"));
    assert!(
        !html.contains("<script") && !html.contains("<link"),
        "self-contained"
    );
    // A real browser engine builds the per-object table from the page.
    let page = dir.path().join("dry-run.html");
    std::fs::write(&page, &html).unwrap();
    if let Some(dom) = ferry_tests::rendered_dom(&page) {
        let table = dom
            .split("<table id=\"objects\">")
            .nth(1)
            .and_then(|rest| rest.split("</table>").next())
            .expect("the rendered page has the objects table");
        assert_eq!(
            table.matches("<tr><td>").count(),
            report.objects.len(),
            "{table}"
        );
        for object in &report.objects {
            assert!(table.contains(&format!("<td>{}</td>", object.object)));
        }
    }

    // After a migration, the same dry run sees updates.
    embedded
        .migrate(
            &client,
            "run-1",
            ferry_tests::companies_and_contacts_map(),
            500,
        )
        .await;
    let (_, again) = dry_run(&ports, &config("dry-2"), &BudgetPolicy::default())
        .await
        .unwrap();
    for object in &again.objects {
        assert_eq!(object.will_create, 0, "{}", object.object);
        assert_eq!(object.will_update + object.will_skip, object.extracted);
    }
    simulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_validation_policy_decides_whether_a_bad_value_skips_its_record() {
    let simulator = start_org(1_500, 13).await;
    let client = connect(&simulator).await;
    let dir = tempfile::tempdir().unwrap();
    let embedded = Embedded::open(dir.path());
    let ports = embedded.dry_run_ports(&client);
    let mut strict = config("dry-strict");
    strict.validation.actions.insert(
        ferry_model::policy::Rule::InvalidEmail,
        ferry_model::policy::Action::SkipRecord,
    );
    let (_, report) = dry_run(&ports, &strict, &BudgetPolicy::default())
        .await
        .unwrap();
    let contacts = report
        .objects
        .iter()
        .find(|o| o.object == "Contact")
        .unwrap();
    let invalid = report.findings_by_rule["invalid_email"];
    assert!(invalid > 0);
    assert_eq!(contacts.will_skip, invalid);
    assert_eq!(contacts.skip_reasons.get("invalid_email"), Some(&invalid));
    assert!(
        report
            .findings
            .iter()
            .filter(|f| f.rule == "invalid_email")
            .all(|f| f.action == "skip_record")
    );
    simulator.shutdown().await;
}
