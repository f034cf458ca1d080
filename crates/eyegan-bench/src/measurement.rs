//! Timing one figure and summarising the repetitions.

use std::time::Instant;

use anyhow::{Context, Result};
use candle_core::Device;
use serde::{Deserialize, Serialize};

use crate::figures::Figure;

/// What one figure measured; also the line format of `--json` and of the peer scripts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// Figure name.
    pub figure: String,
    /// Median seconds per repetition.
    pub median_s: f64,
    /// Fastest repetition.
    pub min_s: f64,
    /// Slowest repetition.
    pub max_s: f64,
    /// Images per second at the median.
    pub images_per_s: f64,
    /// Peak resident memory of the process that ran the figure, MiB.
    pub peak_rss_mb: f64,
    /// Timed repetitions (after the warm-up ones).
    pub repetitions: usize,
}

/// Median, minimum and maximum of non-empty `samples`.
pub fn summarise(samples: &[f64]) -> (f64, f64, f64) {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let median = if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    };
    (median, sorted[0], sorted[n - 1])
}

/// Peak resident set size of this process in MiB (`VmHWM` of `/proc/self/status`).
pub fn peak_rss_mb() -> Result<f64> {
    let status = std::fs::read_to_string("/proc/self/status")
        .context("reading /proc/self/status for the peak RSS")?;
    let line = status
        .lines()
        .find(|line| line.starts_with("VmHWM:"))
        .context("no VmHWM line in /proc/self/status")?;
    let kib: f64 = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .with_context(|| format!("unreadable VmHWM line `{line}`"))?;
    Ok(kib / 1024.0)
}

/// Runs `warmup` untimed and `repetitions` timed repetitions of `figure`, each ending with
/// `device` synchronised so that queued GPU work is inside the timing.
pub fn measure(
    name: &str,
    mut figure: Figure,
    device: &Device,
    warmup: usize,
    repetitions: usize,
) -> Result<Measurement> {
    let mut repetition = || -> Result<()> {
        (figure.run)()?;
        Ok(device.synchronize()?)
    };
    for _ in 0..warmup {
        repetition()?;
    }
    let mut samples = Vec::with_capacity(repetitions);
    for _ in 0..repetitions.max(1) {
        let start = Instant::now();
        repetition()?;
        samples.push(start.elapsed().as_secs_f64());
    }
    let (median_s, min_s, max_s) = summarise(&samples);
    Ok(Measurement {
        figure: name.to_string(),
        median_s,
        min_s,
        max_s,
        images_per_s: figure.images as f64 / median_s,
        peak_rss_mb: peak_rss_mb()?,
        repetitions: samples.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_of_odd_and_even_samples() {
        assert_eq!(summarise(&[3.0, 1.0, 2.0]), (2.0, 1.0, 3.0));
        assert_eq!(summarise(&[4.0, 1.0, 2.0, 3.0]), (2.5, 1.0, 4.0));
    }

    #[test]
    fn peak_rss_is_positive() {
        assert!(peak_rss_mb().unwrap() > 0.0);
    }
}
