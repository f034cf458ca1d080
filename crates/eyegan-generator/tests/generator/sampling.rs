//! `Sample` streams decodable PNGs, reproducibly, filtered like a job.

use eyegan_generator::MAX_CHUNK_BYTES;
use eyegan_proto::common::v1::{score_filter::Rule, CheckpointRef, ScoreFilter};
use eyegan_proto::generator::v1::{GanCheckpoints, SampleRequest};
use futures::StreamExt;

use crate::support::*;

/// (index, score, PNG) of every image of a `Sample` call.
async fn sample(cluster: &Cluster, request: SampleRequest) -> Vec<(u64, f64, Vec<u8>)> {
    let mut client = cluster.client().await;
    let mut stream = client.sample(request).await.unwrap().into_inner();
    let mut images: Vec<(u64, f64, Vec<u8>)> = Vec::new();
    let mut open = false;
    while let Some(piece) = stream.next().await {
        let piece = piece.unwrap();
        let data = piece.chunk.unwrap().data;
        assert!(data.len() <= MAX_CHUNK_BYTES);
        if !open {
            images.push((piece.index, piece.score, Vec::new()));
        }
        let last = images.last_mut().unwrap();
        assert_eq!(last.0, piece.index, "pieces of one image are consecutive");
        last.2.extend(data);
        open = !piece.last_chunk;
    }
    assert!(!open, "the last image was not finished");
    images
}

fn request(
    g: &CheckpointRef,
    d: Option<&CheckpointRef>,
    filter: Option<ScoreFilter>,
) -> SampleRequest {
    SampleRequest {
        checkpoints: Some(GanCheckpoints {
            generator: Some(g.clone()),
            discriminator: d.cloned(),
        }),
        count: 6,
        filter,
        seed: 11,
        batch_size: 4,
        device: "cpu".into(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sample_streams_decodable_reproducible_pngs() {
    let cluster = Cluster::start().await;
    let (_, _, g, d) = stored_gan(&cluster.store, "trainer-job-5", "dr", 2).await;

    // No D, no filter: every attempt, in order, score NaN.
    let plain = sample(&cluster, request(&g, None, None)).await;
    assert_eq!(
        plain.iter().map(|i| i.0).collect::<Vec<_>>(),
        vec![0, 1, 2, 3, 4, 5]
    );
    for (_, score, png) in &plain {
        assert!(score.is_nan());
        let image = eyegan_imaging::decode_png_rgb(png).unwrap();
        assert_eq!(image.dimensions(), (32, 32));
    }
    // The same request gives the same images.
    assert_eq!(
        plain.iter().map(|i| &i.2).collect::<Vec<_>>(),
        sample(&cluster, request(&g, None, None))
            .await
            .iter()
            .map(|i| &i.2)
            .collect::<Vec<_>>()
    );

    // With D: every score in [0, 1]; a threshold keeps exactly the images scoring above it.
    let scored = sample(&cluster, request(&g, Some(&d), None)).await;
    assert_eq!(scored.len(), 6);
    assert!(scored.iter().all(|i| (0.0..=1.0).contains(&i.1)));
    let mut scores: Vec<f64> = scored.iter().map(|i| i.1).collect();
    scores.sort_by(f64::total_cmp);
    let threshold = (scores[2] + scores[3]) / 2.0;
    let mut filtered = request(
        &g,
        Some(&d),
        Some(ScoreFilter {
            rule: Some(Rule::MinScore(threshold)),
        }),
    );
    filtered.count = 3;
    filtered.max_attempts = 6;
    let kept = sample(&cluster, filtered).await;
    let expected: Vec<u64> = scored
        .iter()
        .filter(|i| i.1 >= threshold)
        .map(|i| i.0)
        .collect();
    assert_eq!(kept.iter().map(|i| i.0).collect::<Vec<_>>(), expected);
}
