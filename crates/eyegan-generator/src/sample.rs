//! The `Sample` RPC: generate, score and filter images from one G/D pair and stream the kept
//! ones back as PNG pieces. Not a job: the work stops as soon as the client goes away.

use std::pin::Pin;

use candle_core::Device;
use eyegan_nn::FilterPreset;
use eyegan_proto::common::v1::Chunk;
use eyegan_proto::generator::v1::{SampleRequest, SampleResponse};
use eyegan_service::ServiceError;
use eyegan_store::Store;
use futures::Stream;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use crate::checkpoint_source::StoredGanCheckpoint;
use crate::device::resolve_device;
use crate::filter::filter_from_proto;
use crate::gan_pair::{filter_batch, GanPair};
use crate::spec::{batch_size_from_proto, checkpoint_keys, DEFAULT_ATTEMPTS_PER_IMAGE};

/// Most images one `Sample` call sends.
pub const MAX_SAMPLE_COUNT: u32 = 1024;
/// Largest PNG piece per message (1 MiB).
pub const MAX_CHUNK_BYTES: usize = 1 << 20;
/// Messages buffered ahead of a slow client.
const STREAM_DEPTH: usize = 8;

/// The `Sample` response stream.
pub type SampleStream = Pin<Box<dyn Stream<Item = Result<SampleResponse, Status>> + Send>>;

/// A checked `SampleRequest`.
#[derive(Debug, Clone)]
struct SamplePlan {
    generator: String,
    discriminator: Option<String>,
    count: u64,
    filter: FilterPreset,
    max_attempts: u64,
    seed: u64,
    batch_size: usize,
    device: Device,
}

impl SamplePlan {
    fn from_proto(request: &SampleRequest) -> Result<Self, ServiceError> {
        let filter = filter_from_proto(request.filter.as_ref(), FilterPreset::None, "filter")?;
        let pair = request
            .checkpoints
            .as_ref()
            .ok_or_else(|| ServiceError::invalid_argument("checkpoints", "must be set"))?;
        let (generator, discriminator) = checkpoint_keys(pair, &filter, "checkpoints")?;
        if request.count == 0 || request.count > MAX_SAMPLE_COUNT {
            return Err(ServiceError::invalid_argument(
                "count",
                format!("must be 1 to {MAX_SAMPLE_COUNT}, got {}", request.count),
            ));
        }
        let batch_size = batch_size_from_proto(request.batch_size)?;
        let count = u64::from(request.count);
        Ok(Self {
            generator,
            discriminator,
            count,
            filter,
            max_attempts: match request.max_attempts {
                0 => count * DEFAULT_ATTEMPTS_PER_IMAGE,
                cap => cap,
            },
            seed: request.seed,
            batch_size,
            device: resolve_device(&request.device, "device")?,
        })
    }
}

/// Checks the request, loads the networks, and returns the stream of kept images.
pub async fn sample(store: &Store, request: SampleRequest) -> Result<SampleStream, ServiceError> {
    let plan = SamplePlan::from_proto(&request)?;
    let generator =
        StoredGanCheckpoint::open(store, &plan.generator, "checkpoints.generator").await?;
    let discriminator = match &plan.discriminator {
        Some(key) => {
            Some(StoredGanCheckpoint::open(store, key, "checkpoints.discriminator").await?)
        }
        None => None,
    };
    let pair = GanPair::load(
        store,
        &generator,
        discriminator.as_ref(),
        plan.device.clone(),
    )
    .await?;
    let (sender, receiver) = mpsc::channel(STREAM_DEPTH);
    tokio::spawn(async move {
        let mut attempted = 0u64;
        let mut sent = 0u64;
        while sent < plan.count && attempted < plan.max_attempts {
            let size = (plan.batch_size as u64).min(plan.max_attempts - attempted) as usize;
            let (pair, filter, wanted, first) =
                (pair.clone(), plan.filter, plan.count - sent, attempted);
            let batch = tokio::task::spawn_blocking(move || {
                let candidates = pair.candidates(plan.seed, first, size)?;
                let batch = filter_batch(candidates, &filter, wanted);
                let mut images = Vec::with_capacity(batch.kept.len());
                for candidate in &batch.kept {
                    let png = candidate
                        .encode_png(pair.image_size())
                        .map_err(|e| eyegan_nn::NnError::input("png", e.to_string()))?;
                    images.push((candidate.index, f64::from(candidate.score), png));
                }
                Ok::<_, eyegan_nn::NnError>((batch.consumed, images))
            })
            .await;
            let (consumed, images) = match batch {
                Ok(Ok(batch)) => batch,
                Ok(Err(error)) => {
                    tracing::error!(%error, "sample generation failed");
                    let _ = sender
                        .send(Err(Status::internal("image generation failed")))
                        .await;
                    return;
                }
                Err(error) => {
                    tracing::error!(%error, "sample generation task failed");
                    let _ = sender
                        .send(Err(Status::internal("image generation failed")))
                        .await;
                    return;
                }
            };
            attempted += consumed;
            for (index, score, png) in images {
                for message in chunk_png(index, score, &png) {
                    if sender.send(Ok(message)).await.is_err() {
                        tracing::debug!(sent, "sample client went away");
                        return;
                    }
                }
                sent += 1;
            }
        }
        tracing::debug!(attempted, sent, "sample finished");
    });
    Ok(Box::pin(ReceiverStream::new(receiver)))
}

/// One image as consecutive `SampleResponse` pieces of at most 1 MiB.
pub fn chunk_png(index: u64, score: f64, png: &[u8]) -> Vec<SampleResponse> {
    let pieces: Vec<&[u8]> = png.chunks(MAX_CHUNK_BYTES).collect();
    let last = pieces.len().saturating_sub(1);
    pieces
        .into_iter()
        .enumerate()
        .map(|(position, piece)| SampleResponse {
            index,
            score,
            chunk: Some(Chunk {
                data: piece.to_vec(),
            }),
            last_chunk: position == last,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_pngs_are_cut_into_pieces_of_at_most_one_mib() {
        let png = vec![7u8; MAX_CHUNK_BYTES * 2 + 10];
        let pieces = chunk_png(3, 0.5, &png);
        assert_eq!(pieces.len(), 3);
        assert!(pieces
            .iter()
            .all(|p| p.chunk.as_ref().unwrap().data.len() <= MAX_CHUNK_BYTES));
        assert_eq!(pieces.iter().filter(|p| p.last_chunk).count(), 1);
        assert!(pieces[2].last_chunk);
        let total: usize = pieces
            .iter()
            .map(|p| p.chunk.as_ref().unwrap().data.len())
            .sum();
        assert_eq!(total, png.len());
    }

    #[test]
    fn bad_sample_requests_name_the_field() {
        let error = SamplePlan::from_proto(&SampleRequest::default())
            .unwrap_err()
            .to_string();
        assert!(error.contains("checkpoints"), "{error}");
    }
}
