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
        let generic: Vec<&str> = discovery
            .plan
            .objects
            .iter()
            .filter(|object| object.is_generic())
            .map(|object| object.object.as_str())
            .collect();
        if !generic.is_empty() {
            println!(
                "Landed as generic records (standard objects the map does not name, every field kept): {}.",
                generic.join(", ")
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
    for line in verdict(report) {
        println!("{line}");
    }
}

/// The closing lines: what Salesforce holds against what the run accounted for (a full
/// run), then the read-back. Success is claimed only when both hold.
pub fn verdict(report: &RunReport) -> Vec<String> {
    let mut lines = Vec::new();
    let differences = report.salesforce_differences();
    if !differences.is_empty() {
        lines.push(format!(
            "Salesforce counts: {} objects do not match what the run accounted for; the migration is incomplete:",
            differences.len()
        ));
        lines.extend(
            differences
                .iter()
                .map(|difference| format!("  {difference}")),
        );
    }
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
        lines.push(match (mismatched, differences.is_empty()) {
            (0, true) => format!(
                "Verification: all {verified} records read back from the destination match what was sent."
            ),
            (0, false) => format!(
                "Verification: the {verified} records read back match what was sent, but not every record in Salesforce was migrated (above)."
            ),
            _ => format!(
                "Verification: {mismatched} of {verified} records read back differ from what was sent (the issues above list each field)."
            ),
        });
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
            lines.push(format!(
                "Spot check: all {spot_checked} records re-read from Salesforce by Id ({objects} objects) match the destination."
            ));
        } else {
            lines.push(format!(
                "Spot check: {spot_mismatched} of {spot_checked} records re-read from Salesforce by Id differ from the destination (the issues above list each field)."
            ));
        }
    }
    lines
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

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_model::ids::RunId;
    use ferry_model::mapping::EntityKind;
    use ferry_model::report::{ObjectCounts, ObjectReport};

    fn report(in_salesforce: u64, delta: bool) -> RunReport {
        RunReport {
            run_id: RunId::new("r"),
            objects: vec![ObjectReport {
                object: "Task".to_owned(),
                entity: EntityKind::Task,
                counts: ObjectCounts {
                    in_salesforce,
                    extracted: 80,
                    created: 80,
                    verified: 80,
                    ..ObjectCounts::default()
                },
                api: None,
                fallback: None,
            }],
            issues: vec![],
            delta,
        }
    }

    #[test]
    fn success_is_claimed_only_when_salesforce_and_the_run_agree() {
        assert_eq!(
            verdict(&report(80, false)),
            ["Verification: all 80 records read back from the destination match what was sent."]
        );
        let lines = verdict(&report(120, false));
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(lines[0].contains("the migration is incomplete"));
        assert_eq!(
            lines[1],
            "  Task: 120 in Salesforce, 80 accounted for (created, updated, unchanged, skipped or failed): 40 never read"
        );
        assert!(!lines[2].contains("all 80"), "{}", lines[2]);
        // A delta reads only changes: it is not compared with Salesforce's total.
        assert_eq!(verdict(&report(120, true)).len(), 1);
    }
}
