//! What a run tells its user: plain lines on stderr, or one JSON event per line on stdout
//! (`--json`).

use std::io::Write;
use std::sync::{Arc, Mutex};

use eyegan_proto::common::v1::JobEvent;
use serde_json::json;

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// Nothing (tests).
    Quiet,
    /// Human-readable lines on stderr.
    Plain,
    /// One JSON object per line on stdout.
    Json,
}

/// Shared progress sink of one run.
#[derive(Debug, Clone)]
pub struct Progress {
    mode: ProgressMode,
    /// Last printed percentage per step, to keep plain output short.
    last_percent: Arc<Mutex<std::collections::HashMap<String, u64>>>,
}

impl Progress {
    /// A sink in `mode`.
    pub fn new(mode: ProgressMode) -> Self {
        Self {
            mode,
            last_percent: Arc::default(),
        }
    }

    fn emit(&self, event: serde_json::Value, line: impl FnOnce() -> String) {
        match self.mode {
            ProgressMode::Quiet => {}
            ProgressMode::Plain => eprintln!("{}", line()),
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
