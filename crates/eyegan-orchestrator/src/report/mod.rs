//! The run's report: `report.json`, `report.md` and a self-contained `report.html`, all
//! computed from the stored `results.json` so `orchestrate report DIR` can re-render them.

mod chart;
mod figures;
mod html;
mod markdown;
mod model;
mod synthetic;

use std::path::Path;

use anyhow::Context;

pub use model::{
    build_report, ArmRun, ArmSummary, GanCurve, GanSummary, Report, SeedComparison, SeedTable,
};
pub use synthetic::{GanQualityClass, GanQualitySummary, MemorisationSummary, COPY_DISTANCE};

use crate::steps::RunResults;

/// File name of the stored run results.
pub const RESULTS_FILE: &str = "results.json";

/// Writes `results.json` of a finished run.
pub fn store_results(run_dir: &Path, results: &RunResults) -> anyhow::Result<()> {
    let path = run_dir.join(RESULTS_FILE);
    std::fs::write(&path, serde_json::to_vec_pretty(results)?)
        .with_context(|| format!("writing {}", path.display()))
}

/// Reads the stored results of `run_dir`.
pub fn load_results(run_dir: &Path) -> anyhow::Result<RunResults> {
    let path = run_dir.join(RESULTS_FILE);
    let bytes = std::fs::read(&path)
        .with_context(|| format!("reading {} (has the run finished?)", path.display()))?;
    serde_json::from_slice(&bytes).with_context(|| format!("{} is malformed", path.display()))
}

/// Computes the report from `results` and writes report.json, report.md and report.html into
/// `run_dir`.
pub fn write_report(run_dir: &Path, results: &RunResults) -> anyhow::Result<Report> {
    let report = build_report(results)?;
    let markdown = markdown::render_markdown(&report);
    let html = html::render_html(&report, run_dir, &markdown)?;
    let write = |name: &str, bytes: &[u8]| -> anyhow::Result<()> {
        let path = run_dir.join(name);
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))
    };
    write("report.json", &serde_json::to_vec_pretty(&report)?)?;
    write("report.md", markdown.as_bytes())?;
    write("report.html", html.as_bytes())?;
    Ok(report)
}
