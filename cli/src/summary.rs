//! What a finished run prints: the per-object table, links, fallbacks, the first issues,
//! what was left out and the API calls used. `ferry demo` and `ferry migrate` print the same.

use crate::table;
use ferry_core::steps::Discovery;
use ferry_model::report::{IssueKind, RunReport};
use std::collections::BTreeMap;

/// Issues printed in full; the rest are in the run's report.
const ISSUES_SHOWN: usize = 10;

pub fn print(report: &RunReport, discovery: Option<&Discovery>, api_usage: Option<(u64, u64)>) {
    println!();
    print!("{}", table::render(report));
    println!();
    let patched: u64 = report
        .objects
        .iter()
        .map(|object| object.counts.links_patched)
        .sum();
    let unresolved: u64 = report
        .objects
        .iter()
        .map(|object| object.counts.links_unresolved)
        .sum();
    println!("Links patched after their target landed: {patched}; unresolved: {unresolved}.");
    for object in report
        .objects
        .iter()
        .filter(|object| object.fallback.is_some())
    {
        println!(
            "{}: Bulk API 2.0 could not serve it; read through REST instead ({}).",
            object.object,
            object.fallback.as_deref().unwrap_or_default()
        );
    }
    if report.issues.is_empty() {
        println!("Issues: none.");
    } else {
        println!("Issues ({}), by object and kind:", report.issues.len());
        let mut by_kind: BTreeMap<(&str, &str), usize> = BTreeMap::new();
        for issue in &report.issues {
            *by_kind
                .entry((issue.object.as_str(), kind_name(issue.kind)))
                .or_default() += 1;
        }
        for ((object, kind), count) in &by_kind {
            println!("  {object}: {count} {kind}");
        }
        println!("First {ISSUES_SHOWN}:");
        for issue in report.issues.iter().take(ISSUES_SHOWN) {
            let kind = kind_name(issue.kind);
            println!(
                "  {kind}: {} {} {}: {}",
                issue.object,
                issue.salesforce_id.as_deref().unwrap_or("(no id)"),
                issue.field.as_deref().unwrap_or(""),
                issue.reason
            );
        }
        if report.issues.len() > ISSUES_SHOWN {
            println!("  ... and {} more", report.issues.len() - ISSUES_SHOWN);
        }
    }
    if let Some(discovery) = discovery {
        let outside_map: Vec<&str> = discovery
            .skipped
            .iter()
            .filter(|skipped| skipped.reason == "not in the field map")
            .map(|skipped| skipped.name.as_str())
            .collect();
        if !outside_map.is_empty() {
            println!(
                "Not migrated (not in the field map): {}.",
                outside_map.join(", ")
            );
        }
        println!(
            "Left out: {} of the org's {} objects (not in the map, or not exportable); {} plan notes.",
            discovery.skipped.len(),
            discovery.objects_in_org,
            discovery.plan.notes.len()
        );
    }
    if let Some((used, limit)) = api_usage {
        println!("Salesforce API calls used today: {used} of {limit}.");
    }
    // Last, as the answer to "did everything arrive".
    let verified: u64 = report
        .objects
        .iter()
        .map(|object| object.counts.verified)
        .sum();
    let mismatched: u64 = report
        .objects
        .iter()
        .map(|object| object.counts.mismatched)
        .sum();
    if verified > 0 || mismatched > 0 {
        if mismatched == 0 {
            println!(
                "Verification: all {verified} records read back from the destination match what was sent."
            );
        } else {
            println!(
                "Verification: {mismatched} of {verified} records read back differ from what was sent (the issues above list each field)."
            );
        }
    }
    let spot_checked: u64 = report.objects.iter().map(|o| o.counts.spot_checked).sum();
    let spot_mismatched: u64 = report
        .objects
        .iter()
        .map(|o| o.counts.spot_mismatched)
        .sum();
    if spot_checked > 0 {
        let objects = report
            .objects
            .iter()
            .filter(|o| o.counts.spot_checked > 0)
            .count();
        if spot_mismatched == 0 {
            println!(
                "Spot check: all {spot_checked} records re-read from Salesforce by Id ({objects} objects) match the destination."
            );
        } else {
            println!(
                "Spot check: {spot_mismatched} of {spot_checked} records re-read from Salesforce by Id differ from the destination (the issues above list each field)."
            );
        }
    }
}

fn kind_name(kind: IssueKind) -> &'static str {
    match kind {
        IssueKind::Skipped => "skipped",
        IssueKind::Failed => "failed",
        IssueKind::UnresolvedLink => "unresolved link",
        IssueKind::ValueDropped => "value dropped",
        IssueKind::Warning => "warning",
        IssueKind::Mismatch => "mismatch",
    }
}
