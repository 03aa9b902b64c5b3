//! The per-object table a run prints.

use ferry_model::report::RunReport;
use std::fmt::Write as _;

pub fn render(report: &RunReport) -> String {
    let headers = [
        "object",
        "entity",
        "in Salesforce",
        "extracted",
        "created",
        "updated",
        "unchanged",
        "skipped",
        "failed",
        "verified",
        "via",
    ];
    let rows: Vec<[String; 11]> = report
        .objects
        .iter()
        .map(|object| {
            let counts = &object.counts;
            [
                object.object.clone(),
                object.entity.to_string(),
                counts.in_salesforce.to_string(),
                counts.extracted.to_string(),
                counts.created.to_string(),
                counts.updated.to_string(),
                counts.unchanged.to_string(),
                counts.skipped.to_string(),
                counts.failed.to_string(),
                if counts.mismatched > 0 {
                    format!("{} ({} differ)", counts.verified, counts.mismatched)
                } else {
                    counts.verified.to_string()
                },
                match (&object.api, &object.fallback) {
                    (Some(api), Some(_)) => format!("{api} (fallback)"),
                    (Some(api), None) => api.clone(),
                    (None, _) => "-".to_owned(),
                },
            ]
        })
        .collect();
    let widths: Vec<usize> = (0..headers.len())
        .map(|column| {
            rows.iter()
                .map(|row| row[column].chars().count())
                .chain([headers[column].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut text = String::new();
    let mut line = |cells: Vec<&str>| {
        let rendered: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(column, cell)| {
                if column < 2 || column == headers.len() - 1 {
                    format!("{cell:<width$}", width = widths[column])
                } else {
                    format!("{cell:>width$}", width = widths[column])
                }
            })
            .collect();
        let _ = writeln!(text, "{}", rendered.join("  ").trim_end());
    };
    line(headers.to_vec());
    for row in &rows {
        line(row.iter().map(String::as_str).collect());
    }
    text
}

#[cfg(test)]
mod tests {
    use super::render;
    use ferry_model::ids::RunId;
    use ferry_model::mapping::EntityKind;
    use ferry_model::report::{ObjectCounts, ObjectReport, RunReport};

    #[test]
    fn columns_line_up() {
        let report = RunReport {
            run_id: RunId::new("r"),
            objects: vec![ObjectReport {
                object: "Account".to_owned(),
                entity: EntityKind::Company,
                counts: ObjectCounts {
                    in_salesforce: 200,
                    extracted: 200,
                    created: 200,
                    verified: 200,
                    ..ObjectCounts::default()
                },
                api: Some("bulk".to_owned()),
                fallback: None,
            }],
            issues: vec![],
            delta: false,
        };
        assert_eq!(
            render(&report),
            "object   entity   in Salesforce  extracted  created  updated  unchanged  skipped  failed  verified  via\n\
             Account  company            200        200      200        0          0        0       0       200  bulk\n"
        );
    }
}
