//! Meaning checks of a parsed experiment (values TOML's types cannot express): each failure
//! names the line and key where the value is written.

use std::collections::BTreeSet;
use std::path::Path;

use super::error::{Located, SpecError};
use super::location::{display_key, Seg, SourceMap};
use super::model::{Arm, Experiment, ServicesMode, ServicesSection, PHANTOM_CLASSES};

/// Locates failures of one file.
struct Checker<'a> {
    map: &'a SourceMap,
    file: &'a str,
}

impl Checker<'_> {
    /// An error at the key `path` (or at the innermost part of it that is written).
    fn fail(&self, path: &[Seg<'_>], message: impl Into<String>) -> SpecError {
        let span = (0..=path.len())
            .rev()
            .find_map(|len| self.map.span_of(&path[..len]));
        let (line, column) = match span {
            Some(span) => {
                let (line, column) = self.map.line_column(span.start);
                (Some(line), Some(column))
            }
            None => (None, None),
        };
        SpecError::Invalid(Located {
            file: self.file.to_owned(),
            line,
            column,
            key: display_key(path),
            message: message.into(),
        })
    }

    fn check(
        &self,
        ok: bool,
        path: &[Seg<'_>],
        message: impl Into<String>,
    ) -> Result<(), SpecError> {
        if ok {
            Ok(())
        } else {
            Err(self.fail(path, message))
        }
    }
}

use Seg::Key;

/// Checks `experiment` and resolves relative folders against `base`.
pub fn validate(
    experiment: &mut Experiment,
    map: &SourceMap,
    file: &str,
    base: &Path,
) -> Result<(), SpecError> {
    let c = Checker { map, file };
    c.check(
        experiment.version == 1,
        &[Key("version")],
        format!(
            "unsupported version {}; this orchestrator reads version 1",
            experiment.version
        ),
    )?;
    c.check(
        !experiment.name.is_empty()
            && experiment
                .name
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || "-_.".contains(ch)),
        &[Key("name")],
        format!(
            "{:?} must be non-empty letters, digits, '-', '_' or '.'",
            experiment.name
        ),
    )?;
    check_device(&c, &experiment.device)?;
    check_seeds(&c, &experiment.seeds)?;
    check_arms(&c, &experiment.arms)?;
    check_dataset(&c, experiment, base)?;
    check_split(&c, experiment)?;
    check_gan(&c, experiment)?;
    check_generation(&c, experiment)?;
    check_classifier(&c, experiment)?;
    check_services(&c, experiment)?;
    check_services_security(&c, &mut experiment.services, base)
}

fn check_device(c: &Checker<'_>, device: &str) -> Result<(), SpecError> {
    let ok = matches!(device, "" | "cpu" | "cuda")
        || device
            .strip_prefix("cuda:")
            .is_some_and(|n| n.parse::<u32>().is_ok());
    c.check(
        ok,
        &[Key("device")],
        format!("{device:?} is not \"cpu\", \"cuda\" or \"cuda:N\""),
    )
}

fn check_seeds(c: &Checker<'_>, seeds: &[u64]) -> Result<(), SpecError> {
    c.check(
        !seeds.is_empty(),
        &[Key("seeds")],
        "the seeds list is empty; give at least one seed",
    )?;
    let mut seen = BTreeSet::new();
    for (index, seed) in seeds.iter().enumerate() {
        c.check(
            seen.insert(seed),
            &[Key("seeds"), Seg::Index(index)],
            format!("seed {seed} is listed twice"),
        )?;
    }
    Ok(())
}

fn check_arms(c: &Checker<'_>, arms: &[Arm]) -> Result<(), SpecError> {
    let mut seen = BTreeSet::new();
    for (index, arm) in arms.iter().enumerate() {
        c.check(
            seen.insert(*arm),
            &[Key("arms"), Seg::Index(index)],
            format!("arm {:?} is listed twice", arm.name()),
        )?;
    }
    for needed in [Arm::Baseline, Arm::Gan] {
        c.check(
            seen.contains(&needed),
            &[Key("arms")],
            format!(
                "the arms must include {:?} (the report compares gan with baseline)",
                needed.name()
            ),
        )?;
    }
    Ok(())
}

fn check_dataset(
    c: &Checker<'_>,
    experiment: &mut Experiment,
    base: &Path,
) -> Result<(), SpecError> {
    let dataset = &mut experiment.dataset;
    let sources = [
        dataset.phantom.is_some(),
        dataset.folder.is_some(),
        dataset.existing.is_some(),
    ];
    c.check(
        sources.iter().filter(|&&set| set).count() == 1,
        &[Key("dataset")],
        "give exactly one source: [dataset.phantom], [dataset.folder] or [dataset.existing]",
    )?;
    c.check(
        dataset.image_size.is_power_of_two() && (16..=128).contains(&dataset.image_size),
        &[Key("dataset"), Key("image_size")],
        format!(
            "{} is not a power of two from 16 to 128 (the DCGAN's sizes)",
            dataset.image_size
        ),
    )?;
    let mut seen = BTreeSet::new();
    for (index, class) in dataset.classes.iter().enumerate() {
        let at = [Key("dataset"), Key("classes"), Seg::Index(index)];
        c.check(
            is_safe_name(class),
            &at,
            format!("{class:?} is not a usable class name"),
        )?;
        c.check(
            seen.insert(class.clone()),
            &at,
            format!("class {class:?} is listed twice"),
        )?;
    }
    for (from, to) in &dataset.class_mapping {
        let at = [Key("dataset"), Key("class_mapping"), Key(from.as_str())];
        c.check(
            is_safe_name(to),
            &at,
            format!("{to:?} is not a usable class name"),
        )?;
        c.check(
            dataset.classes.is_empty() || dataset.classes.contains(from),
            &at,
            format!("maps {from:?}, which is not in [dataset].classes"),
        )?;
    }
    if let Some(phantom) = &dataset.phantom {
        c.check(
            (1..=10_000).contains(&phantom.per_class),
            &[Key("dataset"), Key("phantom"), Key("per_class")],
            format!("{} is not from 1 to 10000", phantom.per_class),
        )?;
        c.check(
            phantom.render_size == 0 || (16..=1024).contains(&phantom.render_size),
            &[Key("dataset"), Key("phantom"), Key("render_size")],
            format!(
                "{} is not 0 (default) or from 16 to 1024",
                phantom.render_size
            ),
        )?;
        for (index, class) in dataset.classes.iter().enumerate() {
            c.check(
                PHANTOM_CLASSES.contains(&class.as_str()),
                &[Key("dataset"), Key("classes"), Seg::Index(index)],
                format!(
                    "the phantom has no class {class:?}; it has {}",
                    PHANTOM_CLASSES.join(", ")
                ),
            )?;
        }
    }
    if let Some(folder) = &mut dataset.folder {
        let at = [Key("dataset"), Key("folder"), Key("path")];
        let resolved = base.join(&folder.path);
        c.check(
            resolved.is_dir(),
            &at,
            format!(
                "{:?} does not exist or is not a folder",
                resolved.display().to_string()
            ),
        )?;
        for (index, class) in dataset.classes.iter().enumerate() {
            c.check(
                resolved.join(class).is_dir(),
                &[Key("dataset"), Key("classes"), Seg::Index(index)],
                format!(
                    "class {class:?} has no folder in {:?}",
                    resolved.display().to_string()
                ),
            )?;
        }
        folder.path = std::path::absolute(&resolved).unwrap_or(resolved);
    }
    if let Some(existing) = &dataset.existing {
        c.check(
            !existing.id.is_empty(),
            &[Key("dataset"), Key("existing"), Key("id")],
            "the dataset id is empty",
        )?;
    }
    Ok(())
}

fn is_safe_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name.len() <= 128
        && name
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || "-_.".contains(ch))
}

fn check_split(c: &Checker<'_>, experiment: &Experiment) -> Result<(), SpecError> {
    let split = &experiment.split;
    for (key, ratio) in [
        ("train", split.train),
        ("val", split.val),
        ("test", split.test),
    ] {
        c.check(
            ratio.is_finite() && (0.0..=1.0).contains(&ratio),
            &[Key("split"), Key(key)],
            format!("{ratio} is not a fraction from 0 to 1"),
        )?;
    }
    c.check(
        split.train > 0.0,
        &[Key("split"), Key("train")],
        "the train fraction must be above 0",
    )?;
    c.check(
        split.test > 0.0,
        &[Key("split"), Key("test")],
        "the test fraction must be above 0",
    )?;
    let sum = split.train + split.val + split.test;
    c.check(
        (sum - 1.0).abs() <= 1e-6,
        &[Key("split")],
        format!("train + val + test = {sum}, not 1"),
    )?;
    if !split.group_regex.is_empty() {
        if let Err(error) = regex::Regex::new(&split.group_regex) {
            return Err(c.fail(
                &[Key("split"), Key("group_regex")],
                format!("not a valid regex: {error}"),
            ));
        }
    }
    Ok(())
}

fn check_gan(c: &Checker<'_>, experiment: &Experiment) -> Result<(), SpecError> {
    let gan = &experiment.gan;
    c.check(
        !(gan.epochs.is_some() && gan.iterations.is_some()),
        &[Key("gan"), Key("iterations")],
        "give either epochs or iterations, not both",
    )?;
    c.check(
        gan.epochs != Some(0),
        &[Key("gan"), Key("epochs")],
        "must be at least 1",
    )?;
    c.check(
        gan.iterations != Some(0),
        &[Key("gan"), Key("iterations")],
        "must be at least 1",
    )?;
    c.check(
        gan.lr.is_finite() && gan.lr >= 0.0,
        &[Key("gan"), Key("lr")],
        format!("{} is not a finite learning rate >= 0", gan.lr),
    )?;
    for (key, beta) in [("beta1", gan.beta1), ("beta2", gan.beta2)] {
        c.check(
            (0.0..1.0).contains(&beta),
            &[Key("gan"), Key(key)],
            format!("{beta} is not in [0, 1)"),
        )?;
    }
    Ok(())
}

fn check_generation(c: &Checker<'_>, experiment: &Experiment) -> Result<(), SpecError> {
    let generation = &experiment.generation;
    c.check(
        !(generation.count_per_class.is_some() && generation.fill_to.is_some()),
        &[Key("generation"), Key("fill_to")],
        "give either count_per_class or fill_to, not both",
    )?;
    c.check(
        generation.count_per_class != Some(0),
        &[Key("generation"), Key("count_per_class")],
        "must be at least 1",
    )?;
    c.check(
        generation.fill_to != Some(0),
        &[Key("generation"), Key("fill_to")],
        "must be at least 1",
    )?;
    c.check(
        !(generation.filter.is_some() && generation.min_score.is_some()),
        &[Key("generation"), Key("min_score")],
        "give either filter or min_score, not both",
    )?;
    if let Some(score) = generation.min_score {
        c.check(
            score.is_finite() && (0.0..=1.0).contains(&score),
            &[Key("generation"), Key("min_score")],
            format!("{score} is not a score from 0 to 1"),
        )?;
    }
    Ok(())
}

fn check_classifier(c: &Checker<'_>, experiment: &Experiment) -> Result<(), SpecError> {
    let classifier = &experiment.classifier;
    for (key, value) in [
        ("lr", classifier.lr),
        ("weight_decay", classifier.weight_decay),
        ("width_multiplier", classifier.width_multiplier),
    ] {
        c.check(
            value.is_finite() && value >= 0.0,
            &[Key("classifier"), Key(key)],
            format!("{value} is not a finite number >= 0"),
        )?;
    }
    if let Some(momentum) = classifier.momentum {
        c.check(
            (0.0..1.0).contains(&momentum),
            &[Key("classifier"), Key("momentum")],
            format!("{momentum} is not in [0, 1)"),
        )?;
    }
    let classical = &classifier.classical;
    c.check(
        !classical.vertical_flip,
        &[Key("classifier"), Key("classical"), Key("vertical_flip")],
        "is not supported: fundus photographs have a natural up/down orientation".to_owned(),
    )?;
    let max_rotation = eyegan_classifier::MAX_ROTATION_DEGREES;
    c.check(
        (0.0..=max_rotation).contains(&classical.rotation_degrees),
        &[Key("classifier"), Key("classical"), Key("rotation_degrees")],
        format!(
            "{} is not from 0 to {max_rotation}",
            classical.rotation_degrees
        ),
    )?;
    c.check(
        (0.0..1.0).contains(&classical.brightness),
        &[Key("classifier"), Key("classical"), Key("brightness")],
        format!("{} is not in [0, 1)", classical.brightness),
    )
}

/// `[services]` TLS and token files: remote mode only, resolved against `base`, existing, and
/// a client certificate only with its key.
fn check_services_security(
    c: &Checker<'_>,
    services: &mut ServicesSection,
    base: &Path,
) -> Result<(), SpecError> {
    let remote = services.mode == ServicesMode::Remote;
    let has_cert = services.tls_client_cert.is_some();
    let has_key = services.tls_client_key.is_some();
    c.check(
        has_cert == has_key,
        &[
            Key("services"),
            Key(if has_cert {
                "tls_client_cert"
            } else {
                "tls_client_key"
            }),
        ],
        "tls_client_cert and tls_client_key go together",
    )?;
    for (key, file) in [
        ("tls_ca", &mut services.tls_ca),
        ("tls_client_cert", &mut services.tls_client_cert),
        ("tls_client_key", &mut services.tls_client_key),
        ("token_file", &mut services.token_file),
    ] {
        let Some(path) = file else { continue };
        let at = [Key("services"), Key(key)];
        c.check(remote, &at, "TLS and token settings need mode = \"remote\"")?;
        let resolved = base.join(&*path);
        c.check(
            resolved.is_file(),
            &at,
            format!(
                "{:?} does not exist or is not a file",
                resolved.display().to_string()
            ),
        )?;
        *path = resolved;
    }
    Ok(())
}

fn check_services(c: &Checker<'_>, experiment: &Experiment) -> Result<(), SpecError> {
    let services = &experiment.services;
    let singles = [
        ("dataset", &services.dataset),
        ("generator", &services.generator),
        ("classifier", &services.classifier),
    ];
    match services.mode {
        ServicesMode::Embedded => {
            for (key, url) in singles {
                c.check(
                    url.is_empty(),
                    &[Key("services"), Key(key)],
                    "endpoints need mode = \"remote\"",
                )?;
            }
            c.check(
                services.trainers.is_empty(),
                &[Key("services"), Key("trainers")],
                "endpoints need mode = \"remote\"",
            )
        }
        ServicesMode::Remote => {
            for (key, url) in singles {
                c.check(
                    !url.is_empty(),
                    &[Key("services"), Key(key)],
                    "remote mode needs this endpoint",
                )?;
            }
            c.check(
                !services.trainers.is_empty(),
                &[Key("services"), Key("trainers")],
                "remote mode needs at least one trainer endpoint",
            )
        }
    }
}
