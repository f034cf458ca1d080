//! A short human-readable summary of a checked experiment (`orchestrate validate`).

use std::fmt::Write;

use super::model::{Experiment, GanLength, GenerationTarget, ScoreRule, ServicesMode};

/// Describes what `experiment` will do, one line per part.
pub fn summary(experiment: &Experiment) -> String {
    let mut out = String::new();
    let dataset = &experiment.dataset;
    let source = if let Some(phantom) = &dataset.phantom {
        format!(
            "phantom, {} per class, seed {}",
            phantom.per_class, phantom.seed
        )
    } else if let Some(folder) = &dataset.folder {
        format!("folder {}", folder.path.display())
    } else if let Some(existing) = &dataset.existing {
        format!("existing dataset {}@{}", existing.id, existing.version)
    } else {
        "none".to_owned()
    };
    let classes = if dataset.classes.is_empty() {
        "all".to_owned()
    } else {
        dataset.classes.join(", ")
    };
    let gan = &experiment.gan;
    let length = match gan.length() {
        GanLength::Epochs(n) => format!("{n} epochs"),
        GanLength::Iterations(n) => format!("{n} iterations"),
    };
    let generation = &experiment.generation;
    let target = match generation.target() {
        GenerationTarget::PerClass(n) => format!("{n} per class"),
        GenerationTarget::FillTo(n) => format!("fill to {n} per class"),
    };
    let rule = match generation.rule() {
        ScoreRule::Preset(preset) => format!("filter {preset:?}"),
        ScoreRule::MinScore(score) => format!("min score {score}"),
    };
    let arms: Vec<&str> = experiment.arms.iter().map(|arm| arm.name()).collect();
    let services = match experiment.services.mode {
        ServicesMode::Embedded => "embedded".to_owned(),
        ServicesMode::Remote => {
            format!("remote, {} trainer(s)", experiment.services.trainers.len())
        }
    };
    let split = &experiment.split;
    let lines = [
        format!(
            "experiment {:?} (version {})",
            experiment.name, experiment.version
        ),
        format!(
            "dataset: {source}; classes: {classes}; {0}x{0} px",
            dataset.image_size
        ),
        format!(
            "split: {}/{}/{} seed {}",
            split.train, split.val, split.test, split.seed
        ),
        format!(
            "gan: {length}, batch {}, nz {}, ngf {}, ndf {}",
            gan.batch_size, gan.nz, gan.ngf, gan.ndf
        ),
        format!("generation: {:?}, {target}, {rule}", generation.mode),
        format!(
            "classifier: {} epochs, batch {}, lr {}, width x{}",
            experiment.classifier.epochs,
            experiment.classifier.batch_size,
            experiment.classifier.lr,
            experiment.classifier.width_multiplier
        ),
        format!("arms: {}; seeds: {:?}", arms.join(", "), experiment.seeds),
        format!("services: {services}; device: {:?}", experiment.device),
    ];
    for line in lines {
        let _ = writeln!(out, "{line}");
    }
    out
}
