//! The experiment file's shape: every section and key, with the defaults that apply when a key is
//! left out. Parsing lives in [`super::load`], meaning checks in [`super::validate`].

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// A whole experiment file (`version = 1`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Experiment {
    /// Format version; must be 1.
    pub version: u32,
    /// Name of the experiment, used in the report and as the dataset name prefix.
    #[serde(default = "default_name")]
    pub name: String,
    /// Compute device for every job: "cpu", "cuda", "cuda:N"; empty = the service's choice.
    #[serde(default)]
    pub device: String,
    /// Seeds: each seed reruns the GANs, the generation and the classifiers.
    #[serde(default = "default_seeds")]
    pub seeds: Vec<u64>,
    /// Arms to train and compare; `baseline` and `gan` are always needed for the statistics.
    #[serde(default = "default_arms")]
    pub arms: Vec<Arm>,
    /// Where the images come from and how they are imported.
    pub dataset: DatasetSection,
    /// The train/val/test split.
    #[serde(default)]
    pub split: SplitSection,
    /// DCGAN hyper-parameters (one GAN per class and seed).
    #[serde(default)]
    pub gan: GanSection,
    /// How many synthetic images are made and which are kept.
    #[serde(default)]
    pub generation: GenerationSection,
    /// GMD classifier hyper-parameters.
    #[serde(default)]
    pub classifier: ClassifierSection,
    /// Which services run the work.
    #[serde(default)]
    pub services: ServicesSection,
}

fn default_name() -> String {
    "experiment".to_owned()
}

fn default_seeds() -> Vec<u64> {
    vec![1]
}

fn default_arms() -> Vec<Arm> {
    vec![Arm::Baseline, Arm::Gan]
}

/// One training set to compare: real only, real + synthetic, and the classical variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Arm {
    /// Real images only.
    #[serde(rename = "baseline")]
    Baseline,
    /// Real + synthetic images.
    #[serde(rename = "gan")]
    Gan,
    /// Real images with classical augmentation (flips, rotations).
    #[serde(rename = "classical")]
    Classical,
    /// Real + synthetic images with classical augmentation.
    #[serde(rename = "gan+classical")]
    GanClassical,
}

impl Arm {
    /// The name used in the file, the report and the step names.
    pub fn name(self) -> &'static str {
        match self {
            Arm::Baseline => "baseline",
            Arm::Gan => "gan",
            Arm::Classical => "classical",
            Arm::GanClassical => "gan+classical",
        }
    }

    /// Whether the arm trains on the dataset version holding the synthetic images.
    pub fn uses_synthetic(self) -> bool {
        matches!(self, Arm::Gan | Arm::GanClassical)
    }

    /// Whether the arm applies classical augmentation while training.
    pub fn uses_classical(self) -> bool {
        matches!(self, Arm::Classical | Arm::GanClassical)
    }
}

/// `[dataset]`: exactly one source sub-table plus import options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetSection {
    /// `[dataset.phantom]`: render fundus phantoms.
    pub phantom: Option<PhantomSource>,
    /// `[dataset.folder]`: import an ImageFolder tree.
    pub folder: Option<FolderSource>,
    /// `[dataset.existing]`: use a dataset already in the dataset service.
    pub existing: Option<ExistingSource>,
    /// Source class names (folder or phantom class names) to use; empty = all.
    #[serde(default)]
    pub classes: Vec<String>,
    /// Renames source classes: source name -> class name.
    #[serde(default)]
    pub class_mapping: BTreeMap<String, String>,
    /// Keep at most this many images per class; 0 = all.
    #[serde(default)]
    pub per_class_cap: u32,
    /// Side of the square stored images in pixels (16..=128, a power of two for the DCGAN).
    #[serde(default = "default_image_size")]
    pub image_size: u32,
    /// Find the circular fundus field and crop its black border before resizing.
    #[serde(default = "default_true")]
    pub crop_fundus: bool,
}

fn default_image_size() -> u32 {
    64
}

fn default_true() -> bool {
    true
}

/// `[dataset.phantom]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhantomSource {
    /// Images rendered per class (1..=10000).
    pub per_class: u32,
    /// Seed of the rendering.
    #[serde(default)]
    pub seed: u64,
    /// Side of the rendered images before preprocessing; 0 = the service default (128).
    #[serde(default)]
    pub render_size: u32,
    /// How hard the classes are to tell apart.
    #[serde(default)]
    pub difficulty: PhantomDifficulty,
}

/// Phantom difficulty presets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PhantomDifficulty {
    /// The calibrated default.
    #[default]
    Default,
    /// Clear signs.
    Easy,
    /// Subtle signs.
    Hard,
}

/// `[dataset.folder]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FolderSource {
    /// The ImageFolder root (one sub-folder per class); relative paths are relative to the
    /// experiment file's folder.
    pub path: PathBuf,
}

/// `[dataset.existing]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExistingSource {
    /// Dataset id in the dataset service.
    pub id: String,
    /// Version; 0 = the latest.
    #[serde(default)]
    pub version: u64,
}

/// The phantom generator's classes.
pub const PHANTOM_CLASSES: [&str; 4] = ["diabetic_retinopathy", "glaucoma", "myopia", "normal"];

/// `[split]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitSection {
    /// Fraction of images in train.
    #[serde(default = "default_train_ratio")]
    pub train: f64,
    /// Fraction of images in val.
    #[serde(default = "default_holdout_ratio")]
    pub val: f64,
    /// Fraction of images in test.
    #[serde(default = "default_holdout_ratio")]
    pub test: f64,
    /// Seed of the assignment.
    #[serde(default)]
    pub seed: u64,
    /// Regex over file names keeping one group in one split; empty = none.
    #[serde(default)]
    pub group_regex: String,
}

fn default_train_ratio() -> f64 {
    0.7
}

fn default_holdout_ratio() -> f64 {
    0.15
}

impl Default for SplitSection {
    fn default() -> Self {
        Self {
            train: default_train_ratio(),
            val: default_holdout_ratio(),
            test: default_holdout_ratio(),
            seed: 0,
            group_regex: String::new(),
        }
    }
}

/// `[gan]`: exactly one of `epochs` / `iterations` (default 300 iterations).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GanSection {
    /// Passes over the class's images.
    pub epochs: Option<u32>,
    /// Iterations (one D step + one G step each).
    pub iterations: Option<u64>,
    /// Images per batch; 0 = 128 capped at the class size.
    #[serde(default)]
    pub batch_size: u32,
    /// Adam learning rate; 0 = 0.0002.
    #[serde(default)]
    pub lr: f64,
    /// Adam beta1; 0 = 0.5.
    #[serde(default)]
    pub beta1: f64,
    /// Adam beta2; 0 = 0.999.
    #[serde(default)]
    pub beta2: f64,
    /// Noise length; 0 = 100.
    #[serde(default)]
    pub nz: u32,
    /// G width; 0 = 64.
    #[serde(default)]
    pub ngf: u32,
    /// D width; 0 = 64.
    #[serde(default)]
    pub ndf: u32,
    /// DiffAugment operations: "color", "translation", "cutout".
    #[serde(default)]
    pub diff_augment: Vec<DiffAugmentOp>,
    /// Checkpoint every this many iterations; 0 = 500.
    #[serde(default)]
    pub checkpoint_every: u64,
    /// Sample grid every this many iterations; 0 = 500.
    #[serde(default)]
    pub sample_every: u64,
}

/// Iterations used when `[gan]` names neither `epochs` nor `iterations`.
pub const DEFAULT_GAN_ITERATIONS: u64 = 300;

/// GAN training length, resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GanLength {
    /// Epochs.
    Epochs(u32),
    /// Iterations.
    Iterations(u64),
}

impl GanSection {
    /// The training length (validation guarantees at most one is set).
    pub fn length(&self) -> GanLength {
        match (self.epochs, self.iterations) {
            (Some(epochs), _) => GanLength::Epochs(epochs),
            (None, Some(iterations)) => GanLength::Iterations(iterations),
            (None, None) => GanLength::Iterations(DEFAULT_GAN_ITERATIONS),
        }
    }
}

/// DiffAugment operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DiffAugmentOp {
    /// Brightness, saturation, contrast.
    Color,
    /// Translation by up to 1/8 of the side.
    Translation,
    /// Square cutout of half the side.
    Cutout,
}

/// `[generation]`: exactly one of `count_per_class` / `fill_to` (default `count_per_class = 50`),
/// at most one of `filter` / `min_score` (default `filter = "paper-code"`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerationSection {
    /// When images are made: after training (`final`) or every epoch (`during-training`).
    #[serde(default)]
    pub mode: GenerationMode,
    /// Keep this many synthetic images per class.
    pub count_per_class: Option<u64>,
    /// Add synthetic images until each class has this many training images.
    pub fill_to: Option<u64>,
    /// A named filter: "paper-code", "paper-text", "none".
    pub filter: Option<FilterPreset>,
    /// Keep images with D(G(z)) >= min_score.
    pub min_score: Option<f64>,
    /// Give up on a class after this many generated images; 0 = 20 x count.
    #[serde(default)]
    pub max_attempts: u64,
    /// `during-training` mode: images generated after each epoch; 0 = 16.
    #[serde(default)]
    pub images_per_epoch: u32,
    /// `during-training` mode: first epoch that generates; 0 = 1.
    #[serde(default)]
    pub start_epoch: u32,
}

/// Images kept per class when `[generation]` names neither `count_per_class` nor `fill_to`.
pub const DEFAULT_COUNT_PER_CLASS: u64 = 50;

/// Images per epoch in `during-training` mode when not given.
pub const DEFAULT_IMAGES_PER_EPOCH: u32 = 16;

/// How many synthetic images each class gets, resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GenerationTarget {
    /// A fixed count per class.
    PerClass(u64),
    /// Up to this many training images per class.
    FillTo(u64),
}

/// The D(G(z)) filter, resolved.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ScoreRule {
    /// A preset.
    Preset(FilterPreset),
    /// A minimum score.
    MinScore(f64),
}

impl GenerationSection {
    /// The per-class target (validation guarantees at most one is set).
    pub fn target(&self) -> GenerationTarget {
        match (self.count_per_class, self.fill_to) {
            (Some(count), _) => GenerationTarget::PerClass(count),
            (None, Some(fill)) => GenerationTarget::FillTo(fill),
            (None, None) => GenerationTarget::PerClass(DEFAULT_COUNT_PER_CLASS),
        }
    }

    /// The filter (validation guarantees at most one is set).
    pub fn rule(&self) -> ScoreRule {
        match (self.filter, self.min_score) {
            (Some(preset), _) => ScoreRule::Preset(preset),
            (None, Some(score)) => ScoreRule::MinScore(score),
            (None, None) => ScoreRule::Preset(FilterPreset::PaperCode),
        }
    }
}

/// When synthetic images are made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GenerationMode {
    /// Sample the final generator after training.
    #[default]
    Final,
    /// The paper's way: collect filtered samples after every epoch.
    DuringTraining,
}

/// Named D(G(z)) filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FilterPreset {
    /// The paper's code: D(G(z)) >= 1 - e^-0.76 ~= 0.532.
    PaperCode,
    /// The paper's text: D(G(z)) >= 0.76.
    PaperText,
    /// Keep everything.
    None,
}

/// `[classifier]`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassifierSection {
    /// Training epochs; 0 = 100.
    #[serde(default)]
    pub epochs: u32,
    /// Images per batch; 0 = 32.
    #[serde(default)]
    pub batch_size: u32,
    /// SGD learning rate; 0 = 0.001.
    #[serde(default)]
    pub lr: f64,
    /// SGD momentum; unset = 0.9.
    pub momentum: Option<f64>,
    /// L2 weight decay.
    #[serde(default)]
    pub weight_decay: f64,
    /// Channel multiplier of the GMD network; 0 = 1.0.
    #[serde(default)]
    pub width_multiplier: f64,
    /// Keep the epoch with the best validation accuracy.
    #[serde(default)]
    pub select_best_on_val: bool,
    /// Classical augmentation used by the `classical` arms.
    #[serde(default)]
    pub classical: ClassicalSection,
}

/// `[classifier.classical]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassicalSection {
    /// Flip left-right with probability 1/2.
    #[serde(default = "default_true")]
    pub horizontal_flip: bool,
    /// Flip top-bottom: refused (fundus photographs have a natural up/down orientation); kept
    /// so that a file asking for it gets a located error instead of "unknown key".
    #[serde(default)]
    pub vertical_flip: bool,
    /// Rotation range in degrees.
    #[serde(default = "default_rotation")]
    pub rotation_degrees: f64,
    /// Brightness jitter.
    #[serde(default)]
    pub brightness: f64,
}

fn default_rotation() -> f64 {
    15.0
}

impl Default for ClassicalSection {
    fn default() -> Self {
        Self {
            horizontal_flip: true,
            vertical_flip: false,
            rotation_degrees: default_rotation(),
            brightness: 0.0,
        }
    }
}

/// `[services]`: embedded (default) or the endpoints of running services.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServicesSection {
    /// `embedded` (start the four services in-process) or `remote`.
    #[serde(default)]
    pub mode: ServicesMode,
    /// Dataset service URL (remote mode).
    #[serde(default)]
    pub dataset: String,
    /// Trainer service URLs (remote mode); GAN jobs are spread over them.
    #[serde(default)]
    pub trainers: Vec<String>,
    /// Generator service URL (remote mode).
    #[serde(default)]
    pub generator: String,
    /// Classifier service URL (remote mode).
    #[serde(default)]
    pub classifier: String,
    /// PEM CA certificate of the services' TLS certificates (remote mode, `https://` endpoints);
    /// relative to the experiment file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_ca: Option<PathBuf>,
    /// PEM client certificate for services that require mutual TLS (remote mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_client_cert: Option<PathBuf>,
    /// PEM private key of `tls_client_cert` (remote mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_client_key: Option<PathBuf>,
    /// File whose first line is the bearer token for the services (remote mode); without it the
    /// `EYEGAN_TOKEN` environment variable is used when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_file: Option<PathBuf>,
}

/// Where the services run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServicesMode {
    /// In this process, on 127.0.0.1:0, over a file store in the run folder.
    #[default]
    Embedded,
    /// Already running at the given endpoints.
    Remote,
}
