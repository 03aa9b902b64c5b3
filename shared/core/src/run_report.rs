//! The report of one run, rebuilt at any time from the run store, and its Markdown and HTML
//! renderings (`ferry report RUN_ID --format json|md|html`).
//!
//! Nothing here is stored: the per-object counts come from [`crate::steps::build_report`]
//! over the run's records, the history line from the run summary, a rollback's counts from
//! its per-object results. So the report of a run that failed half-way shows how far it got,
//! and the report of a finished run is the same whenever it is asked for.

use crate::render::{
    Column, Html, HtmlPage, HtmlTable, MarkdownDocument, MarkdownTable, escape_markdown,
    html_cards, html_list, html_page, html_section, seconds_from_millis,
};
use crate::steps::StepError;
use ferry_model::ids::RunId;
use ferry_model::ports::RunStore;
use ferry_model::report::{IssueKind, ObjectReport, RunReport};
use ferry_model::runs::{RollbackReport, RunKind, RunSummary};
use serde::{Deserialize, Serialize};

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
    let mut markdown = MarkdownDocument::new();
    markdown.heading(1, &format!("Run {}", summary.run_id));
    markdown.bullet_list(
        facts(summary)
            .into_iter()
            .map(|(label, value)| format!("**{label}**: {}", escape_markdown(&value))),
    );
    if let Some(report) = &document.report {
        markdown.heading(2, "Reconciliation");
        markdown.paragraph(&format!(
            "Every extracted record has exactly one outcome: {}.",
            if report.is_balanced() {
                "yes"
            } else {
                "**no**"
            }
        ));
        let mut objects = MarkdownTable::new(object_columns());
        for (phase, object) in objects_by_phase(document, report) {
            let mut cells = vec![
                phase.to_string(),
                object.object.clone(),
                object.entity.to_string(),
            ];
            cells.extend(count_values(object).iter().map(u64::to_string));
            cells.push(adds_up(object));
            objects.row(cells);
        }
        markdown.table(&objects);
        if !summary.timings.is_empty() {
            markdown.heading(2, "Timings (seconds)");
            let mut timings = MarkdownTable::new([
                Column::text("object"),
                Column::number("extract"),
                Column::number("load"),
                Column::number("verify"),
            ]);
            for (object, timing) in &summary.timings {
                timings.row([
                    object.clone(),
                    seconds_from_millis(timing.extract_ms),
                    seconds_from_millis(timing.load_ms),
                    seconds_from_millis(timing.verify_ms),
                ]);
            }
            markdown.table(&timings);
        }
        if !report.issues.is_empty() {
            markdown.heading(2, &format!("Issues ({})", report.issues.len()));
            let mut issues = MarkdownTable::new(ISSUE_COLUMNS);
            for issue in &report.issues {
                issues.row([
                    issue_kind(issue.kind),
                    &issue.object,
                    issue.salesforce_id.as_deref().unwrap_or("-"),
                    issue.field.as_deref().unwrap_or("-"),
                    &issue.reason,
                ]);
            }
            markdown.table(&issues);
        }
    }
    if let Some(rollback) = &document.rollback {
        markdown.heading(2, &format!("Rollback of {}", rollback.rolls_back));
        let mut objects = MarkdownTable::new(ROLLBACK_COLUMNS);
        for object in rollback.objects.iter().chain([&rollback.total()]) {
            objects.row([
                object.object.clone(),
                object.deleted.to_string(),
                object.restored.to_string(),
                object.recreated.to_string(),
                object.failed.to_string(),
            ]);
        }
        markdown.table(&objects);
        let issues: Vec<_> = rollback.objects.iter().flat_map(|o| &o.issues).collect();
        if !issues.is_empty() {
            markdown.heading(3, &format!("Issues ({})", issues.len()));
            markdown.bullet_list(issues.into_iter().map(|issue| {
                format!(
                    "{} {}: {}",
                    escape_markdown(&issue.object),
                    escape_markdown(issue.salesforce_id.as_deref().unwrap_or("-")),
                    escape_markdown(&issue.reason)
                )
            }));
        }
    }
    markdown.finish()
}

/// The columns of the reconciliation table, in both renderings.
fn object_columns() -> Vec<Column> {
    let mut columns = vec![
        Column::text("phase"),
        Column::text("object"),
        Column::text("destination"),
    ];
    columns.extend(COUNT_HEADERS.map(Column::number));
    columns.push(Column::text("adds up"));
    columns
}

const ISSUE_COLUMNS: [Column; 5] = [
    Column::text("kind"),
    Column::text("object"),
    Column::text("Salesforce id"),
    Column::text("field"),
    Column::text("reason"),
];

const ROLLBACK_COLUMNS: [Column; 5] = [
    Column::text("object"),
    Column::number("deleted"),
    Column::number("restored"),
    Column::number("re-created"),
    Column::number("failed"),
];

/// Whether an object's counts add up, and by how much they miss when they do not.
fn adds_up(object: &ObjectReport) -> String {
    match object.counts.unaccounted() {
        0 => "yes".to_owned(),
        unaccounted => format!("no ({unaccounted} unaccounted)"),
    }
}

/// The report as one self-contained HTML page: inline style, no scripts, no external assets.
pub fn render_html(document: &RunDocument) -> String {
    let summary = &document.summary;
    let mut facts_table =
        HtmlTable::without_head("facts", [Column::text("fact"), Column::text("value")]);
    for (label, value) in facts(summary) {
        facts_table.labelled_row(&Html::text(label), [Html::text(&value)]);
    }
    let mut body = Html::from_markup(format!(
        "<header><h1>Run {}</h1>{}</header>",
        Html::text(summary.run_id.as_str()),
        facts_table.finish()
    ));
    if let Some(report) = &document.report {
        let total =
            |pick: fn(&ObjectReport) -> u64| -> u64 { report.objects.iter().map(pick).sum() };
        body.push(&html_cards(&[
            (total(|o| o.counts.extracted), "extracted"),
            (total(|o| o.counts.created), "created"),
            (total(|o| o.counts.updated), "updated"),
            (total(|o| o.counts.unchanged), "unchanged"),
            (
                total(|o| o.counts.skipped + o.counts.failed),
                "skipped or failed",
            ),
            (total(|o| o.counts.verified), "verified"),
            (total(|o| o.counts.mismatched), "mismatched"),
        ]));
        let mut objects = HtmlTable::new("objects", object_columns());
        for (phase, object) in objects_by_phase(document, report) {
            let mut cells = vec![
                Html::from(phase),
                Html::text(&object.object),
                Html::text(&object.entity.to_string()),
            ];
            cells.extend(count_values(object).map(Html::from));
            cells.push(if object.counts.unaccounted() == 0 {
                Html::text(&adds_up(object))
            } else {
                Html::from_markup(format!(
                    "<b class=\"bad\">{}</b>",
                    Html::text(&adds_up(object))
                ))
            });
            objects.row(cells);
        }
        body.push(&html_section(
            "Reconciliation",
            &Html::from_markup(format!(
                "<p>Every extracted record has exactly one outcome: <b>{}</b>.</p>{}",
                if report.is_balanced() { "yes" } else { "no" },
                objects.finish()
            )),
        ));
        if !summary.timings.is_empty() {
            let mut timings = HtmlTable::new(
                "timings",
                [
                    Column::text("object"),
                    Column::number("extract (s)"),
                    Column::number("load (s)"),
                    Column::number("verify (s)"),
                ],
            );
            for (object, timing) in &summary.timings {
                timings.row([
                    Html::text(object),
                    Html::text(&seconds_from_millis(timing.extract_ms)),
                    Html::text(&seconds_from_millis(timing.load_ms)),
                    Html::text(&seconds_from_millis(timing.verify_ms)),
                ]);
            }
            body.push(&html_section("Timings", &timings.finish()));
        }
        if !report.issues.is_empty() {
            let mut issues = HtmlTable::new("issues", ISSUE_COLUMNS);
            for issue in &report.issues {
                issues.row([
                    Html::text(issue_kind(issue.kind)),
                    Html::text(&issue.object),
                    Html::code(issue.salesforce_id.as_deref().unwrap_or("-")),
                    Html::text(issue.field.as_deref().unwrap_or("-")),
                    Html::text(&issue.reason),
                ]);
            }
            body.push(&html_section(
                &format!("Issues ({})", report.issues.len()),
                &issues.finish(),
            ));
        }
    }
    if let Some(rollback) = &document.rollback {
        let mut objects = HtmlTable::new("rollback", ROLLBACK_COLUMNS);
        for object in rollback.objects.iter().chain([&rollback.total()]) {
            objects.row([
                Html::text(&object.object),
                object.deleted.into(),
                object.restored.into(),
                object.recreated.into(),
                object.failed.into(),
            ]);
        }
        let mut section = objects.finish();
        let issues: Vec<_> = rollback.objects.iter().flat_map(|o| &o.issues).collect();
        if !issues.is_empty() {
            section.push(&html_list(
                Some("rollback-issues"),
                issues.into_iter().map(|issue| {
                    Html::from_markup(format!(
                        "{} {}: {}",
                        Html::text(&issue.object),
                        Html::code(issue.salesforce_id.as_deref().unwrap_or("-")),
                        Html::text(&issue.reason)
                    ))
                }),
            ));
        }
        body.push(&html_section(
            &format!("Rollback of {}", rollback.rolls_back),
            &section,
        ));
    }
    html_page(
        &HtmlPage {
            title: &format!("Run {}", summary.run_id),
            max_width_rem: 80,
            extra_style: STYLE,
        },
        &body,
    )
}

/// The style of what only a run's page has: the facts table, as wide as it needs, and counts
/// that do not add up.
const STYLE: &str = "#facts{width:auto}.bad{color:#b3261e}";

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_model::ids::TenantId;
    use ferry_model::mapping::EntityKind;
    use ferry_model::report::{ObjectCounts, RecordIssue};
    use ferry_model::runs::{ObjectTiming, RollbackObject, RunStatus};
    use std::collections::BTreeMap;

    const AWKWARD: &str = "A|B <i>'x'</i> & \"y\"\nnext line";

    fn issue(object: &str) -> RecordIssue {
        RecordIssue {
            object: object.to_owned(),
            salesforce_id: Some("003|x".to_owned()),
            field: Some("Email|2".to_owned()),
            kind: IssueKind::Failed,
            reason: AWKWARD.to_owned(),
        }
    }

    /// A run that failed half-way, then was rolled back, with markup and table syntax in
    /// every text that came from outside.
    fn document_with_awkward_text() -> RunDocument {
        let summary = RunSummary {
            run_id: RunId::new("run|1"),
            tenant: TenantId::new("acme"),
            sequence: 1,
            kind: RunKind::Full,
            status: RunStatus::Failed,
            started_at: "2026-01-01T00:00:00Z".to_owned(),
            finished_at: None,
            updated_at: None,
            high_water_marks: BTreeMap::new(),
            delta_of: None,
            rolls_back: None,
            rolled_back_by: None,
            error: Some(AWKWARD.to_owned()),
            api_calls_used: Some(7),
            timings: BTreeMap::from([(
                "Odd|Object__c".to_owned(),
                ObjectTiming {
                    extract_ms: 1_530,
                    load_ms: 20,
                    verify_ms: 0,
                },
            )]),
        };
        let object = ObjectReport {
            object: "Odd|Object__c".to_owned(),
            entity: EntityKind::Contact,
            counts: ObjectCounts {
                in_salesforce: 3,
                extracted: 3,
                created: 1,
                failed: 1,
                ..ObjectCounts::default()
            },
            api: None,
            fallback: None,
        };
        RunDocument {
            report: Some(RunReport {
                run_id: summary.run_id.clone(),
                objects: vec![object],
                issues: vec![issue("Odd|Object__c")],
                delta: false,
            }),
            rollback: Some(RollbackReport {
                run_id: RunId::new("run|1-rollback"),
                rolls_back: summary.run_id.clone(),
                objects: vec![RollbackObject {
                    object: "Odd|Object__c".to_owned(),
                    deleted: 1,
                    failed: 1,
                    issues: vec![issue("Odd|Object__c")],
                    ..RollbackObject::default()
                }],
            }),
            summary,
            phases: vec![vec!["Odd|Object__c".to_owned()]],
        }
    }

    #[test]
    fn every_markdown_table_row_keeps_its_cells_whatever_the_org_wrote() {
        let markdown = render_markdown(&document_with_awkward_text());
        assert!(
            markdown.starts_with("# Run run\\|1\n\n- **kind**: full\n"),
            "{markdown}"
        );
        for table in markdown
            .split("\n\n")
            .filter(|block| block.starts_with('|'))
        {
            let mut lines = table.lines();
            let separators = |line: &str| line.replace("\\|", "").matches('|').count();
            let header = lines.next().map(separators).unwrap_or(0);
            for line in lines {
                assert_eq!(separators(line), header, "{line}");
            }
        }
        assert!(markdown.contains("- **error**: A\\|B <i>'x'</i> & \"y\" next line\n"));
        assert!(markdown.contains(
            "| 1 | Odd\\|Object__c | contact | 3 | 3 | 1 | 0 | 0 | 0 | 1 | 0 | 0 | 0 | 0 | 0 | 0 | no (1 unaccounted) |"
        ), "{markdown}");
        assert!(markdown.contains("| Odd\\|Object__c | 1.5 | 0.0 | 0.0 |"));
        assert!(markdown.contains("| failed | Odd\\|Object__c | 003\\|x | Email\\|2 | A\\|B"));
        assert!(markdown.contains("## Rollback of run\\|1\n"));
        assert!(markdown.contains("| total | 1 | 0 | 0 | 1 |"));
        assert!(markdown.contains("- Odd\\|Object__c 003\\|x: A\\|B"));
    }

    #[test]
    fn the_page_shows_what_the_org_wrote_as_text() {
        let html = render_html(&document_with_awkward_text());
        assert!(!html.contains("<i>"), "{html}");
        let shown = "A|B &lt;i&gt;&#39;x&#39;&lt;/i&gt; &amp; &quot;y&quot;\nnext line";
        assert!(html.contains(&format!("<tr><th>error</th><td>{shown}</td></tr>")));
        assert!(html.contains(
            "<tr><td>1</td><td>Odd|Object__c</td><td>contact</td><td class=\"n\">3</td>"
        ));
        assert!(html.contains("<td><b class=\"bad\">no (1 unaccounted)</b></td></tr>"));
        assert!(html.contains("<td class=\"n\">1.5</td>"));
        assert!(html.contains(&format!(
            "<tr><td>failed</td><td>Odd|Object__c</td><td><code>003|x</code></td><td>Email|2</td><td>{shown}</td></tr>"
        )));
        assert!(html.contains(&format!(
            "<ul id=\"rollback-issues\"><li>Odd|Object__c <code>003|x</code>: {shown}</li></ul>"
        )));
    }
}
