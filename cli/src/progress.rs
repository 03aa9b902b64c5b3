//! Progress of a long run as a person watching it wants it: on a terminal, one bar per
//! object of the phases under way; otherwise (a log file, CI) plain lines that read well in
//! order. Fed by the pipeline's [`ProgressEvent`]s.

use ferry_model::ports::Progress;
use ferry_model::runs::ProgressEvent;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::Mutex;

pub struct ProgressView {
    /// Bars on a terminal; `None` for plain lines.
    multi: Option<MultiProgress>,
    bars: Mutex<BTreeMap<String, ProgressBar>>,
}

impl ProgressView {
    /// Bars when stderr is a terminal and no log is written there, lines otherwise.
    pub fn for_stderr() -> Self {
        let bars = std::io::stderr().is_terminal() && std::env::var_os("FERRY_LOG").is_none();
        Self {
            multi: bars.then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr())),
            bars: Mutex::new(BTreeMap::new()),
        }
    }

    fn line(&self, text: String) {
        match &self.multi {
            Some(multi) => {
                let _ = multi.println(text);
            }
            None => eprintln!("{text}"),
        }
    }

    fn bar(&self, object: &str) -> Option<ProgressBar> {
        let multi = self.multi.as_ref()?;
        let mut bars = self.bars.lock().unwrap_or_else(|e| e.into_inner());
        let bar = bars.entry(object.to_owned()).or_insert_with(|| {
            let bar = multi.add(ProgressBar::new(0));
            bar.set_style(
                ProgressStyle::with_template("{prefix:<24} [{bar:30}] {pos:>8}/{len:<8} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar.set_prefix(object.to_owned());
            bar.set_message("extracting");
            bar
        });
        Some(bar.clone())
    }

    /// Clears the bars before the final table is printed.
    pub fn finish(&self) {
        if let Some(multi) = &self.multi {
            let _ = multi.clear();
        }
    }
}

impl Progress for ProgressView {
    fn event(&self, event: ProgressEvent) {
        match event {
            ProgressEvent::RunStarted { run, kind, resumed } => self.line(format!(
                "{} {} run {run}",
                if resumed { "resuming" } else { "starting" },
                kind.as_str()
            )),
            ProgressEvent::PhaseStarted {
                phase,
                phases,
                objects,
            } => {
                self.line(format!(
                    "phase {}/{phases}: {}",
                    phase + 1,
                    objects.join(", ")
                ));
                for object in &objects {
                    self.bar(object);
                }
            }
            ProgressEvent::ObjectExtracted {
                object,
                extracted,
                in_salesforce,
            } => match self.bar(&object) {
                Some(bar) => {
                    bar.set_length(extracted);
                    bar.set_message("loading");
                }
                None => self.line(format!(
                    "{object}: extracted {extracted} of the {in_salesforce} Salesforce counted"
                )),
            },
            ProgressEvent::ObjectAlreadyDone { object } => match self.bar(&object) {
                Some(bar) => bar.finish_with_message("done in an earlier attempt"),
                None => self.line(format!("{object}: done in an earlier attempt of this run")),
            },
            ProgressEvent::ChunkLoaded {
                object,
                chunk,
                records,
            } => match self.bar(&object) {
                Some(bar) => {
                    bar.inc(records);
                    if bar.length().is_some_and(|length| bar.position() >= length) {
                        bar.set_message("loaded");
                    }
                }
                None => self.line(format!(
                    "{object}: chunk {chunk} loaded ({records} records)"
                )),
            },
            ProgressEvent::PhaseReconciled {
                phase,
                objects,
                balanced,
            } => {
                for (object, counts) in &objects {
                    let note = format!(
                        "{} created, {} updated, {} unchanged, {} skipped, {} failed",
                        counts.created,
                        counts.updated,
                        counts.unchanged,
                        counts.skipped,
                        counts.failed
                    );
                    match self.bar(object) {
                        Some(bar) => bar.finish_with_message(note),
                        None => self.line(format!("{object}: {note}")),
                    }
                }
                if !balanced {
                    self.line(format!(
                        "phase {}: the counts do not add up; the report lists the records without an outcome",
                        phase + 1
                    ));
                }
            }
            ProgressEvent::Verified {
                object,
                checked,
                mismatched,
            } => self.line(format!(
                "{object}: {checked} records read back, {mismatched} differ"
            )),
            ProgressEvent::RolledBack { object, done } => match self.bar(&object) {
                Some(bar) => {
                    bar.set_length(bar.length().unwrap_or(0).max(done));
                    bar.set_position(done);
                    bar.set_message("rolling back");
                }
                None => self.line(format!("{object}: {done} records rolled back")),
            },
            ProgressEvent::BudgetPause {
                object,
                used,
                limit,
                reserve,
                until,
            } => {
                let text = format!(
                    "{object}: paused for the API budget: {used} of {limit} daily calls used, {reserve} kept in reserve for other integrations; looking again at {until}"
                );
                if let Some(bar) = self.bar(&object) {
                    bar.set_message("paused for the API budget");
                }
                self.line(text);
            }
            ProgressEvent::RunFinished { run, status } => {
                self.finish();
                self.line(format!("run {run}: {}", status.as_str()));
            }
        }
    }
}
