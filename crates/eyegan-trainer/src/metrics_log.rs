//! Per-iteration metrics in the store as JSON-lines chunks.
//!
//! Rows are buffered in memory and flushed as one chunk (`metrics/<first>-<last>.jsonl`) before
//! every checkpoint, every sample grid and when the job stops. Every checkpoint step is a chunk
//! boundary, so a job resumed from the checkpoint of step `s` deletes the chunks that start after
//! `s` (rows it will compute again) and no row is lost or stored twice.

use eyegan_jobs::JobError;
use eyegan_proto::common::v1::GanIterationMetrics;
use eyegan_store::{BlobRef, Store};
use serde::{Deserialize, Serialize};

use crate::layout::{parse_chunk_name, JobLayout};

/// One stored row: the metrics of one iteration (`GanIterationMetrics` as JSON).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MetricRow {
    /// Iteration, from 1.
    pub iteration: u64,
    /// Epoch the iteration belongs to, from 1.
    pub epoch: u32,
    /// D loss (real + fake BCE).
    pub loss_d: f64,
    /// G loss (non-saturating BCE).
    pub loss_g: f64,
    /// Mean D(x).
    pub d_real: f64,
    /// Mean D(G(z)) before the D step.
    pub d_fake_before: f64,
    /// Mean D(G(z)) after the D step (during the G step).
    pub d_fake_after: f64,
    /// Wall-clock seconds of the iteration.
    pub seconds: f64,
}

impl MetricRow {
    /// The protobuf message.
    pub fn to_proto(&self) -> GanIterationMetrics {
        GanIterationMetrics {
            iteration: self.iteration,
            epoch: self.epoch,
            loss_d: self.loss_d,
            loss_g: self.loss_g,
            d_real: self.d_real,
            d_fake_before: self.d_fake_before,
            d_fake_after: self.d_fake_after,
            seconds: self.seconds,
        }
    }
}

/// The metrics of one job: buffered rows plus the stored chunks.
#[derive(Debug)]
pub struct MetricsLog {
    store: Store,
    layout: JobLayout,
    pending: Vec<MetricRow>,
}

impl MetricsLog {
    /// The log of the job laid out by `layout`.
    pub fn new(store: Store, layout: JobLayout) -> Self {
        Self {
            store,
            layout,
            pending: Vec::new(),
        }
    }

    /// Drops chunks starting after iteration `resumed_at` (left by a run that stopped before
    /// its next checkpoint), so the resumed run writes those rows exactly once.
    pub async fn discard_after(&self, resumed_at: u64) -> Result<(), JobError> {
        for (key, (first, _)) in list_chunks(&self.store, &self.layout).await? {
            if first > resumed_at {
                self.store.delete(&key).await?;
                tracing::debug!(%key, resumed_at, "dropped metric rows past the checkpoint");
            }
        }
        Ok(())
    }

    /// Buffers a row.
    pub fn push(&mut self, row: MetricRow) {
        self.pending.push(row);
    }

    /// Writes the buffered rows as one chunk.
    pub async fn flush(&mut self) -> Result<(), JobError> {
        let (Some(first), Some(last)) = (self.pending.first(), self.pending.last()) else {
            return Ok(());
        };
        let key = self.layout.metric_chunk(first.iteration, last.iteration);
        let bytes = encode_rows(&self.pending)?;
        self.store.put_bytes(&key, bytes).await?;
        self.pending.clear();
        Ok(())
    }

    /// Writes every stored row as `metrics.jsonl` and returns its reference.
    pub async fn write_combined(&self) -> Result<BlobRef, JobError> {
        let rows = read_rows(&self.store, &self.layout).await?;
        let bytes = encode_rows(&rows)?;
        let blob = BlobRef::of(&bytes);
        self.store
            .put_bytes(&self.layout.metrics_file(), bytes)
            .await?;
        Ok(blob)
    }
}

fn encode_rows(rows: &[MetricRow]) -> Result<Vec<u8>, JobError> {
    let mut bytes = Vec::with_capacity(rows.len() * 160);
    for row in rows {
        serde_json::to_writer(&mut bytes, row)
            .map_err(|error| JobError::Internal(format!("cannot encode a metric row: {error}")))?;
        bytes.push(b'\n');
    }
    Ok(bytes)
}

/// The job's chunks as `(key, (first, last))`, by first iteration.
async fn list_chunks(
    store: &Store,
    layout: &JobLayout,
) -> Result<Vec<(String, (u64, u64))>, JobError> {
    let folder = layout.metric_chunks();
    let mut chunks: Vec<_> = store
        .list_children(&folder)
        .await?
        .into_iter()
        .filter_map(|name| parse_chunk_name(&name).map(|range| (format!("{folder}/{name}"), range)))
        .collect();
    chunks.sort_by_key(|(_, range)| *range);
    Ok(chunks)
}

/// Every stored row of a job, in iteration order, each iteration once.
pub async fn read_rows(store: &Store, layout: &JobLayout) -> Result<Vec<MetricRow>, JobError> {
    let mut rows: Vec<MetricRow> = Vec::new();
    for (key, _) in list_chunks(store, layout).await? {
        let Some(bytes) = store.get_bytes(&key).await? else {
            continue;
        };
        for (line_number, line) in bytes.split(|&byte| byte == b'\n').enumerate() {
            if line.is_empty() {
                continue;
            }
            let row: MetricRow = serde_json::from_slice(line).map_err(|error| {
                JobError::Internal(format!("{key} line {}: {error}", line_number + 1))
            })?;
            if rows
                .last()
                .is_none_or(|last| row.iteration > last.iteration)
            {
                rows.push(row);
            }
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(iteration: u64) -> MetricRow {
        MetricRow {
            iteration,
            epoch: 1,
            loss_d: iteration as f64,
            loss_g: 0.5,
            d_real: 0.6,
            d_fake_before: 0.4,
            d_fake_after: 0.45,
            seconds: 0.01,
        }
    }

    #[tokio::test]
    async fn resume_discards_rows_past_the_checkpoint_and_keeps_the_rest_once() {
        let store = Store::in_memory();
        let layout = JobLayout::new("jobs/trainer/j");
        let mut log = MetricsLog::new(store.clone(), layout.clone());
        for iteration in 1..=4 {
            log.push(row(iteration));
        }
        log.flush().await.unwrap();
        for iteration in 5..=6 {
            log.push(row(iteration));
        }
        log.flush().await.unwrap();
        // The run stopped with a checkpoint at 4; rows 5 and 6 are computed again.
        let mut resumed = MetricsLog::new(store.clone(), layout.clone());
        resumed.discard_after(4).await.unwrap();
        for iteration in 5..=8 {
            resumed.push(row(iteration));
        }
        resumed.flush().await.unwrap();
        let rows = read_rows(&store, &layout).await.unwrap();
        let iterations: Vec<u64> = rows.iter().map(|row| row.iteration).collect();
        assert_eq!(iterations, (1..=8).collect::<Vec<_>>());
        let combined = resumed.write_combined().await.unwrap();
        let bytes = store
            .get_bytes(&layout.metrics_file())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(combined.size, bytes.len() as u64);
        assert_eq!(
            bytes
                .split(|&b| b == b'\n')
                .filter(|l| !l.is_empty())
                .count(),
            8
        );
    }
}
