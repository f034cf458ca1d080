//! Where a trainer job keeps its files, below `jobs/trainer/<job id>/` (the job system's folder;
//! `checkpoints/` there belongs to the job system's checkpoint helpers):
//!
//! ```text
//! grids/<iteration:020>.png                  fixed-noise sample grids
//! metrics/<first:020>-<last:020>.jsonl       metric rows, one chunk per flush
//! metrics.jsonl                              every row, written when the job succeeds
//! collected/manifest.json                    the during-training samples (PNGs are blobs)
//! ```

/// Digits of zero-padded iterations in keys, so keys sort by iteration.
pub const ITERATION_DIGITS: usize = 20;

/// The store keys of one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobLayout {
    prefix: String,
}

impl JobLayout {
    /// The layout below `prefix` (`jobs/trainer/<job id>`).
    pub fn new(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
        }
    }

    /// Folder of the sample grids.
    pub fn grids(&self) -> String {
        format!("{}/grids", self.prefix)
    }

    /// Key of the grid of `iteration`.
    pub fn grid(&self, iteration: u64) -> String {
        format!("{}/{iteration:0ITERATION_DIGITS$}.png", self.grids())
    }

    /// Folder of the metric chunks.
    pub fn metric_chunks(&self) -> String {
        format!("{}/metrics", self.prefix)
    }

    /// Key of the chunk holding iterations `first..=last`.
    pub fn metric_chunk(&self, first: u64, last: u64) -> String {
        format!(
            "{}/{first:0ITERATION_DIGITS$}-{last:0ITERATION_DIGITS$}.jsonl",
            self.metric_chunks()
        )
    }

    /// Key of the combined metrics of a finished job.
    pub fn metrics_file(&self) -> String {
        format!("{}/metrics.jsonl", self.prefix)
    }

    /// Key of the collected-samples manifest.
    pub fn collected_manifest(&self) -> String {
        format!("{}/collected/manifest.json", self.prefix)
    }
}

/// The iteration of a grid file name (`<iteration:020>.png`).
pub fn parse_grid_name(name: &str) -> Option<u64> {
    let stem = name.strip_suffix(".png")?;
    (stem.len() == ITERATION_DIGITS)
        .then(|| stem.parse().ok())
        .flatten()
}

/// The `(first, last)` iterations of a metric chunk name (`<first>-<last>.jsonl`).
pub fn parse_chunk_name(name: &str) -> Option<(u64, u64)> {
    let (first, last) = name.strip_suffix(".jsonl")?.split_once('-')?;
    if first.len() != ITERATION_DIGITS || last.len() != ITERATION_DIGITS {
        return None;
    }
    Some((first.parse().ok()?, last.parse().ok()?))
}

/// The client-facing name of the grid of `iteration` (`grid-000500.png`).
pub fn grid_artifact_name(iteration: u64) -> String {
    format!("grid-{iteration:06}.png")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let layout = JobLayout::new("jobs/trainer/j");
        let grid = layout.grid(42);
        let name = grid.rsplit('/').next().unwrap();
        assert_eq!(parse_grid_name(name), Some(42));
        let chunk = layout.metric_chunk(3, 17);
        let name = chunk.rsplit('/').next().unwrap();
        assert_eq!(parse_chunk_name(name), Some((3, 17)));
        assert_eq!(parse_grid_name("x.png"), None);
        assert_eq!(parse_chunk_name("1-2.jsonl"), None);
        assert_eq!(grid_artifact_name(500), "grid-000500.png");
    }
}
