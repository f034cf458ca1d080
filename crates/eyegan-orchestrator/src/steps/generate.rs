//! Generation: per seed, one generator job adds every class's kept synthetic images to a new
//! dataset version derived from the split (synthetic images join train only).

use anyhow::Context;
use eyegan_proto::common::v1::job_result;
use eyegan_proto::generator::v1::{
    class_generation, ClassGeneration, GanCheckpoints, SubmitGenerateRequest,
};

use super::context::StepContext;
use super::data::version_summary;
use super::gan::score_filter;
use super::records::{GanRecord, GenerateRecord, GenerationCountRecord, VersionRecord};
use crate::jobs::JobClient;
use crate::spec::{GenerationMode, GenerationTarget};

/// Images to add to `class` given the target and the class's real train images.
pub fn images_wanted(target: GenerationTarget, real_train: u64) -> u64 {
    match target {
        GenerationTarget::PerClass(count) => count,
        GenerationTarget::FillTo(total) => total.saturating_sub(real_train),
    }
}

/// Generates the synthetic images of `seed` from its GANs.
pub async fn generate(
    ctx: &StepContext,
    split: &VersionRecord,
    seed: u64,
    gans: &[GanRecord],
) -> anyhow::Result<GenerateRecord> {
    let generation = ctx.experiment.generation.clone();
    let name = format!("generate-{seed}");
    let gans: Vec<&GanRecord> = gans.iter().filter(|g| g.seed == seed).collect();
    let inputs = (
        &split.dataset,
        seed,
        gans.clone(),
        format!("{generation:?}"),
    );
    let step_name = name.clone();
    ctx.step(&name, &inputs, |id| async move {
        let mut classes = Vec::new();
        for gan in &gans {
            let count = images_wanted(generation.target(), split.train_count(&gan.class_name));
            if count == 0 {
                continue;
            }
            let source = match (generation.mode, &gan.collected) {
                (GenerationMode::DuringTraining, Some(collected)) => {
                    class_generation::Source::Collected(collected.to_proto())
                }
                _ => class_generation::Source::Checkpoints(GanCheckpoints {
                    generator: Some(gan.generator.to_proto()),
                    discriminator: Some(gan.discriminator.to_proto()),
                }),
            };
            classes.push(ClassGeneration {
                class_name: gan.class_name.clone(),
                source: Some(source),
                count,
            });
        }
        if classes.is_empty() {
            tracing::info!(
                seed,
                "every class already has its target; nothing to generate"
            );
            return Ok(GenerateRecord {
                seed,
                version: split.clone(),
                per_class: Vec::new(),
                job_id: String::new(),
            });
        }
        let client = ctx.clients.generator.clone();
        let request = SubmitGenerateRequest {
            request_id: id.request_id(),
            classes,
            filter: Some(score_filter(generation.rule())),
            max_attempts: generation.max_attempts,
            batch_size: 0,
            seed,
            base_dataset: Some(split.dataset.to_proto()),
            version_note: format!("synthetic images of seed {seed}"),
            device: ctx.experiment.device.clone(),
        };
        let job = crate::retried!("SubmitGenerate", client.submit_generate(request))
            .await
            .with_context(|| format!("submitting {step_name}"))?
            .into_inner()
            .job
            .context("SubmitGenerate answered without a job")?;
        let progress = ctx.progress.clone();
        let job = JobClient::Generator(client)
            .wait(&job.job_id, |event| progress.job_event(&step_name, event))
            .await?;
        let Some(job_result::Kind::Generate(result)) = job.result.and_then(|r| r.kind) else {
            anyhow::bail!("{step_name}: the job succeeded without a generation result");
        };
        let dataset = result
            .dataset
            .context("the generation result names no dataset")?;
        let version = version_summary(ctx, &dataset.dataset_id, dataset.version).await?;
        Ok(GenerateRecord {
            seed,
            version,
            per_class: result
                .per_class
                .iter()
                .map(|c| GenerationCountRecord {
                    class_name: c.class_name.clone(),
                    requested: c.requested,
                    attempted: c.attempted,
                    accepted: c.accepted,
                })
                .collect(),
            job_id: job.job_id,
        })
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_to_tops_up_and_never_goes_negative() {
        assert_eq!(images_wanted(GenerationTarget::FillTo(300), 210), 90);
        assert_eq!(images_wanted(GenerationTarget::FillTo(100), 210), 0);
        assert_eq!(images_wanted(GenerationTarget::PerClass(7), 210), 7);
    }
}
