//! The report of one run, rebuilt at any time from the run store, and its Markdown and HTML
//! renderings (`ferry report RUN_ID --format json|md|html`).
//!
//! Nothing here is stored: the per-object counts come from [`crate::steps::build_report`]
//! over the run's records, the history line from the run summary, a rollback's counts from
//! its per-object results. So the report of a run that failed half-way shows how far it got,
//! and the report of a finished run is the same whenever it is asked for.

use crate::steps::StepError;
use ferry_model::ids::RunId;
use ferry_model::ports::RunStore;
use ferry_model::report::{IssueKind, ObjectReport, RunReport};
use ferry_model::runs::{RollbackReport, RunKind, RunSummary};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// Everything the report of one run shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunDocument {
    pub summary: RunSummary,
    /// Per-object counts and issues (a full or delta run).
    pub report: Option<RunReport>,
    /// What a rollback run undid.
    pub rollback: Option<RollbackReport>,
    /// Phases in load order, each with its objects: the reconciliation is read per phase.
    pub phases: Vec<Vec<String>>,
}

impl RunDocument {
    /// True when every object's counts add up: extracted = created + updated + unchanged +
    /// skipped + failed + deleted in Salesforce.
    pub fn is_balanced(&self) -> bool {
        self.report.as_ref().is_none_or(RunReport::is_balanced)
    }
}

/// Rebuilds the report of `run` from the run store.
pub async fn run_document(runs: &dyn RunStore, run: &RunId) -> Result<RunDocument, StepError> {
    let summary = runs
        .run_summary(run)
        .await
        .map_err(StepError::RunStore)?
        .ok_or_else(|| StepError::Refused {
            run: run.to_string(),
            reason: "no such run in the run history".to_owned(),
        })?;
    if summary.kind == RunKind::Rollback {
        let rollback = crate::run::rollback_report(runs, run).await?;
        let phases = match &summary.rolls_back {
            Some(target) => phases_of(runs, target).await?,
            None => Vec::new(),
        };
        return Ok(RunDocument {
            summary,
            report: None,
            rollback: Some(rollback),
            phases,
        });
    }
    let records = runs.run_records(run).await.map_err(StepError::RunStore)?;
    let phases = records
        .plan
        .phases()
        .iter()
        .map(|phase| phase.iter().map(|object| object.object.clone()).collect())
        .collect();
    Ok(RunDocument {
        report: Some(crate::steps::build_report(run, &records)),
        summary,
        rollback: None,
        phases,
    })
}

async fn phases_of(runs: &dyn RunStore, run: &RunId) -> Result<Vec<Vec<String>>, StepError> {
    let plan = runs.load_plan(run).await.map_err(StepError::RunStore)?;
    Ok(plan
        .phases()
        .iter()
        .map(|phase| phase.iter().map(|object| object.object.clone()).collect())
        .collect())
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn md(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn seconds(ms: u64) -> String {
    format!("{:.1}", ms as f64 / 1000.0)
}

fn issue_kind(kind: IssueKind) -> &'static str {
    match kind {
        IssueKind::Skipped => "skipped",
        IssueKind::Failed => "failed",
        IssueKind::UnresolvedLink => "unresolved link",
        IssueKind::ValueDropped => "value dropped",
        IssueKind::Warning => "warning",
        IssueKind::Mismatch => "mismatch",
    }
}

/// The history facts of a run, as (label, value) pairs, in the order both renderings show.
fn facts(summary: &RunSummary) -> Vec<(&'static str, String)> {
    let mut facts = vec![
        ("kind", summary.kind.as_str().to_owned()),
        ("status", summary.status.as_str().to_owned()),
        ("tenant", summary.tenant.to_string()),
        ("started", summary.started_at.clone()),
        (
            "finished",
            summary
                .finished_at
                .clone()
                .unwrap_or_else(|| "-".to_owned()),
        ),
    ];
    if let Some(of) = &summary.delta_of {
        facts.push(("changes since run", of.to_string()));
    }
    if let Some(target) = &summary.rolls_back {
        facts.push(("rolls back", target.to_string()));
    }
    if let Some(by) = &summary.rolled_back_by {
        facts.push(("rolled back by", by.to_string()));
    }
    if let Some(calls) = summary.api_calls_used {
        facts.push(("Salesforce API calls", calls.to_string()));
    }
    if let Some(error) = &summary.error {
        facts.push(("error", error.clone()));
    }
    facts
}

const COUNT_HEADERS: [&str; 13] = [
    "in Salesforce",
    "extracted",
    "created",
    "updated",
    "unchanged",
    "skipped",
    "failed",
    "deleted in SF",
    "deleted",
    "verified",
    "mismatched",
    "links patched",
    "links unresolved",
];

fn count_values(object: &ObjectReport) -> [u64; 13] {
    let counts = &object.counts;
    [
        counts.in_salesforce,
        counts.extracted,
        counts.created,
        counts.updated,
        counts.unchanged,
        counts.skipped,
        counts.failed,
        counts.deleted_in_salesforce,
        counts.deleted,
        counts.verified,
        counts.mismatched,
        counts.links_patched,
        counts.links_unresolved,
    ]
}

/// Objects of the report in phase order, each with its phase number (1-based).
fn objects_by_phase<'a>(
    document: &'a RunDocument,
    report: &'a RunReport,
) -> Vec<(usize, &'a ObjectReport)> {
    let mut ordered = Vec::new();
    for (phase, objects) in document.phases.iter().enumerate() {
        for name in objects {
            if let Some(object) = report.objects.iter().find(|o| &o.object == name) {
                ordered.push((phase + 1, object));
            }
        }
    }
    ordered
}

/// The report as Markdown.
pub fn render_markdown(document: &RunDocument) -> String {
    let summary = &document.summary;
    let mut out = String::new();
    let _ = writeln!(out, "# Run {}\n", md(summary.run_id.as_str()));
    for (label, value) in facts(summary) {
        let _ = writeln!(out, "- **{label}**: {}", md(&value));
    }
    if let Some(report) = &document.report {
        let _ = writeln!(out, "\n## Reconciliation\n");
        let _ = writeln!(
            out,
            "Every extracted record has exactly one outcome: {}.\n",
            if report.is_balanced() {
                "yes"
            } else {
                "**no**"
            }
        );
        let _ = writeln!(
            out,
            "| phase | object | destination | {} | adds up |",
            COUNT_HEADERS.join(" | ")
        );
        let _ = writeln!(
            out,
            "|---|---|---|{}---|",
            "--:|".repeat(COUNT_HEADERS.len())
        );
        for (phase, object) in objects_by_phase(document, report) {
            let values: Vec<String> = count_values(object).iter().map(u64::to_string).collect();
            let _ = writeln!(
                out,
                "| {phase} | {} | {} | {} | {} |",
                md(&object.object),
                object.entity,
                values.join(" | "),
                if object.counts.unaccounted() == 0 {
                    "yes".to_owned()
                } else {
                    format!("no ({} unaccounted)", object.counts.unaccounted())
                }
            );
        }
        if !summary.timings.is_empty() {
            let _ = writeln!(out, "\n## Timings (seconds)\n");
            let _ = writeln!(
                out,
                "| object | extract | load | verify |\n|---|--:|--:|--:|"
            );
            for (object, timing) in &summary.timings {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} |",
                    md(object),
                    seconds(timing.extract_ms),
                    seconds(timing.load_ms),
                    seconds(timing.verify_ms)
                );
            }
        }
        if !report.issues.is_empty() {
            let _ = writeln!(out, "\n## Issues ({})\n", report.issues.len());
            let _ = writeln!(
                out,
                "| kind | object | Salesforce id | field | reason |\n|---|---|---|---|---|"
            );
            for issue in &report.issues {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} |",
                    issue_kind(issue.kind),
                    md(&issue.object),
                    md(issue.salesforce_id.as_deref().unwrap_or("-")),
                    md(issue.field.as_deref().unwrap_or("-")),
                    md(&issue.reason)
                );
            }
        }
    }
    if let Some(rollback) = &document.rollback {
        let _ = writeln!(
            out,
            "\n## Rollback of {}\n",
            md(rollback.rolls_back.as_str())
        );
        let _ = writeln!(
            out,
            "| object | deleted | restored | re-created | failed |\n|---|--:|--:|--:|--:|"
        );
        for object in rollback.objects.iter().chain([&rollback.total()]) {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                md(&object.object),
                object.deleted,
                object.restored,
                object.recreated,
                object.failed
            );
        }
        let issues: Vec<_> = rollback.objects.iter().flat_map(|o| &o.issues).collect();
        if !issues.is_empty() {
            let _ = writeln!(out, "\n### Issues ({})\n", issues.len());
            for issue in issues {
                let _ = writeln!(
                    out,
                    "- {} {}: {}",
                    md(&issue.object),
                    md(issue.salesforce_id.as_deref().unwrap_or("-")),
                    md(&issue.reason)
                );
            }
        }
    }
    out
}

/// The report as one self-contained HTML page: inline style, no scripts, no external assets.
pub fn render_html(document: &RunDocument) -> String {
    let summary = &document.summary;
    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Run {}</title><style>{}</style></head><body>",
        escape(summary.run_id.as_str()),
        STYLE
    );
    let _ = write!(
        out,
        "<header><h1>Run {}</h1><table id=\"facts\"><tbody>",
        escape(summary.run_id.as_str())
    );
    for (label, value) in facts(summary) {
        let _ = write!(out, "<tr><th>{label}</th><td>{}</td></tr>", escape(&value));
    }
    let _ = write!(out, "</tbody></table></header>");
    if let Some(report) = &document.report {
        let total =
            |pick: fn(&ObjectReport) -> u64| -> u64 { report.objects.iter().map(pick).sum() };
        let _ = write!(
            out,
            "<div class=\"cards\"><div><b>{}</b>extracted</div><div><b>{}</b>created</div>\
             <div><b>{}</b>updated</div><div><b>{}</b>unchanged</div><div><b>{}</b>skipped or failed</div>\
             <div><b>{}</b>verified</div><div><b>{}</b>mismatched</div></div>",
            total(|o| o.counts.extracted),
            total(|o| o.counts.created),
            total(|o| o.counts.updated),
            total(|o| o.counts.unchanged),
            total(|o| o.counts.skipped + o.counts.failed),
            total(|o| o.counts.verified),
            total(|o| o.counts.mismatched),
        );
        let _ = write!(
            out,
            "<section><h2>Reconciliation</h2><p>Every extracted record has exactly one outcome: <b>{}</b>.</p>\
             <table id=\"objects\"><thead><tr><th>phase</th><th>object</th><th>destination</th>",
            if report.is_balanced() { "yes" } else { "no" }
        );
        for header in COUNT_HEADERS {
            let _ = write!(out, "<th class=\"n\">{header}</th>");
        }
        let _ = write!(out, "<th>adds up</th></tr></thead><tbody>");
        for (phase, object) in objects_by_phase(document, report) {
            let _ = write!(
                out,
                "<tr><td>{phase}</td><td>{}</td><td>{}</td>",
                escape(&object.object),
                object.entity
            );
            for value in count_values(object) {
                let _ = write!(out, "<td class=\"n\">{value}</td>");
            }
            let unaccounted = object.counts.unaccounted();
            let _ = write!(
                out,
                "<td>{}</td></tr>",
                if unaccounted == 0 {
                    "yes".to_owned()
                } else {
                    format!("<b class=\"bad\">no ({unaccounted} unaccounted)</b>")
                }
            );
        }
        let _ = write!(out, "</tbody></table></section>");
        if !summary.timings.is_empty() {
            let _ = write!(
                out,
                "<section><h2>Timings</h2><table id=\"timings\"><thead><tr><th>object</th>\
                 <th class=\"n\">extract (s)</th><th class=\"n\">load (s)</th><th class=\"n\">verify (s)</th></tr></thead><tbody>"
            );
            for (object, timing) in &summary.timings {
                let _ = write!(
                    out,
                    "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                    escape(object),
                    seconds(timing.extract_ms),
                    seconds(timing.load_ms),
                    seconds(timing.verify_ms)
                );
            }
            let _ = write!(out, "</tbody></table></section>");
        }
        if !report.issues.is_empty() {
            let _ = write!(
                out,
                "<section><h2>Issues ({})</h2><table id=\"issues\"><thead><tr><th>kind</th><th>object</th>\
                 <th>Salesforce id</th><th>field</th><th>reason</th></tr></thead><tbody>",
                report.issues.len()
            );
            for issue in &report.issues {
                let _ = write!(
                    out,
                    "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                    issue_kind(issue.kind),
                    escape(&issue.object),
                    escape(issue.salesforce_id.as_deref().unwrap_or("-")),
                    escape(issue.field.as_deref().unwrap_or("-")),
                    escape(&issue.reason)
                );
            }
            let _ = write!(out, "</tbody></table></section>");
        }
    }
    if let Some(rollback) = &document.rollback {
        let _ = write!(
            out,
            "<section><h2>Rollback of {}</h2><table id=\"rollback\"><thead><tr><th>object</th>\
             <th class=\"n\">deleted</th><th class=\"n\">restored</th><th class=\"n\">re-created</th>\
             <th class=\"n\">failed</th></tr></thead><tbody>",
            escape(rollback.rolls_back.as_str())
        );
        for object in rollback.objects.iter().chain([&rollback.total()]) {
            let _ = write!(
                out,
                "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                escape(&object.object),
                object.deleted,
                object.restored,
                object.recreated,
                object.failed
            );
        }
        let _ = write!(out, "</tbody></table>");
        let issues: Vec<_> = rollback.objects.iter().flat_map(|o| &o.issues).collect();
        if !issues.is_empty() {
            let _ = write!(out, "<ul id=\"rollback-issues\">");
            for issue in issues {
                let _ = write!(
                    out,
                    "<li>{} <code>{}</code>: {}</li>",
                    escape(&issue.object),
                    escape(issue.salesforce_id.as_deref().unwrap_or("-")),
                    escape(&issue.reason)
                );
            }
            let _ = write!(out, "</ul>");
        }
        let _ = write!(out, "</section>");
    }
    out.push_str("</body></html>\n");
    out
}

const STYLE: &str = "body{font:15px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:80rem;padding:0 1rem;color:#1d2430}\
h1{margin:0 0 .25rem}h2{margin-top:2rem;border-bottom:1px solid #dde3ea;padding-bottom:.25rem}\
.cards{display:flex;flex-wrap:wrap;gap:.75rem;margin-top:1rem}.cards div{background:#f3f6f9;border-radius:8px;padding:.6rem 1rem;min-width:8rem}\
.cards b{display:block;font-size:1.4rem}table{border-collapse:collapse;width:100%}th,td{padding:.35rem .5rem;border-bottom:1px solid #eef1f4;text-align:left;vertical-align:top}\
#facts{width:auto}.n{text-align:right;font-variant-numeric:tabular-nums}.bad{color:#b3261e}code{font-size:.9em}";
