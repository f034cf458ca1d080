//! What a run tells its user: on a terminal a progress bar per running job (indicatif) with
//! step lines above the bars; plain lines on stderr when stderr is not a terminal; or one JSON
//! event per line on stdout (`--json`).

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use eyegan_proto::common::v1::{JobEvent, JobState};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde_json::json;

use crate::jobs::is_final;

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// Nothing (tests).
    Quiet,
    /// Human-readable on stderr: progress bars when stderr is a terminal, plain lines
    /// otherwise.
    Plain,
    /// One JSON object per line on stdout.
    Json,
}

/// Shared progress sink of one run.
#[derive(Debug, Clone)]
pub struct Progress {
    mode: ProgressMode,
    /// Last printed percentage per step, to keep plain output short.
    last_percent: Arc<Mutex<HashMap<String, u64>>>,
    /// Progress bars, on a terminal.
    bars: Option<Arc<Bars>>,
}

/// The progress bars of the running jobs, one per step.
#[derive(Debug, Default)]
struct Bars {
    multi: MultiProgress,
    running: Mutex<HashMap<String, ProgressBar>>,
}

impl Bars {
    fn style() -> ProgressStyle {
        ProgressStyle::with_template("{prefix:<28} [{bar:32}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ")
    }

    /// Shows the job's progress in the step's bar (made on first use).
    fn update(
        &self,
        step: &str,
        state: JobState,
        current: u64,
        total: u64,
        unit: &str,
        eta: Option<f64>,
    ) {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        if is_final(state) {
            if let Some(bar) = running.remove(step) {
                bar.finish_and_clear();
            }
            return;
        }
        let bar = running.entry(step.to_owned()).or_insert_with(|| {
            let bar = self.multi.add(ProgressBar::new(total));
            bar.set_style(Self::style());
            bar.set_prefix(step.to_owned());
            bar
        });
        bar.set_length(total);
        bar.set_position(current);
        let eta = eta
            .and_then(|s| Duration::try_from_secs_f64(s).ok())
            .unwrap_or_else(|| bar.eta());
        let state = state
            .as_str_name()
            .trim_start_matches("JOB_STATE_")
            .to_lowercase();
        bar.set_message(format!("{unit} · {state} · eta {}s", eta.as_secs()));
    }

    /// Removes the step's bar, if any.
    fn finish(&self, step: &str) {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(bar) = running.remove(step) {
            bar.finish_and_clear();
        }
    }
}

impl Progress {
    /// A sink in `mode`; `Plain` draws progress bars when stderr is a terminal.
    pub fn new(mode: ProgressMode) -> Self {
        let bars = (mode == ProgressMode::Plain && std::io::stderr().is_terminal())
            .then(|| Arc::new(Bars::default()));
        Self {
            mode,
            last_percent: Arc::default(),
            bars,
        }
    }

    fn emit(&self, event: serde_json::Value, line: impl FnOnce() -> String) {
        match self.mode {
            ProgressMode::Quiet => {}
            ProgressMode::Plain => match &self.bars {
                Some(bars) => {
                    let _ = bars.multi.println(line());
                }
                None => eprintln!("{}", line()),
            },
            ProgressMode::Json => {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{event}");
            }
        }
    }

    /// A step was found done in the cache.
    pub fn cached(&self, step: &str) {
        self.emit(json!({"event": "step_cached", "step": step}), || {
            format!("[cached] {step}")
        });
    }

    /// A step starts.
    pub fn started(&self, step: &str) {
        self.emit(json!({"event": "step_started", "step": step}), || {
            format!("[start ] {step}")
        });
    }

    /// A step finished.
    pub fn finished(&self, step: &str, seconds: f64) {
        if let Some(bars) = &self.bars {
            bars.finish(step);
        }
        self.emit(
            json!({"event": "step_finished", "step": step, "seconds": seconds}),
            || format!("[done  ] {step} ({seconds:.1}s)"),
        );
    }

    /// A job of `step` sent an event.
    pub fn job_event(&self, step: &str, event: &JobEvent) {
        let Some(job) = &event.job else { return };
        let progress = job.progress.clone().unwrap_or_default();
        let percent = (progress.current * 100)
            .checked_div(progress.total)
            .unwrap_or(0);
        if let Some(bars) = &self.bars {
            bars.update(
                step,
                job.state(),
                progress.current,
                progress.total,
                &progress.unit,
                progress.eta_seconds,
            );
            return;
        }
        if self.mode == ProgressMode::Plain {
            let mut last = self.last_percent.lock().unwrap_or_else(|e| e.into_inner());
            let previous = last.get(step).copied();
            if previous.is_some_and(|p| percent < p + 10 && percent != 100) {
                return;
            }
            last.insert(step.to_owned(), percent);
        }
        self.emit(
            json!({
                "event": "job_progress",
                "step": step,
                "job_id": job.job_id,
                "state": job.state().as_str_name(),
                "current": progress.current,
                "total": progress.total,
                "unit": progress.unit,
                "eta_seconds": progress.eta_seconds,
            }),
            || {
                let eta = progress
                    .eta_seconds
                    .map(|s| format!(", eta {s:.0}s"))
                    .unwrap_or_default();
                format!(
                    "[job   ] {step}: {} {}/{} {}{eta}",
                    job.state()
                        .as_str_name()
                        .trim_start_matches("JOB_STATE_")
                        .to_lowercase(),
                    progress.current,
                    progress.total,
                    progress.unit
                )
            },
        );
    }
}
