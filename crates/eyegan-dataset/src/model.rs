//! The stored manifest model: what `datasets/<id>/dataset.json`, `datasets/<id>/versions/<n>.json`
//! and `datasets/<id>/splits/<n>.json` hold.
//!
//! Every document is immutable once written (create-only). Unknown fields are ignored when
//! reading so that older services can read manifests written by newer ones.

use std::collections::BTreeMap;
use std::fmt;

use eyegan_store::BlobRef;
use serde::{Deserialize, Serialize};

/// Version of the manifest format written by this crate.
pub const SCHEMA_VERSION: u32 = 1;

/// One of the three splits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SplitName {
    /// Training images (the only split synthetic images may join).
    Train,
    /// Validation images.
    Val,
    /// Held-out test images; frozen once made.
    Test,
}

impl SplitName {
    /// All splits in order.
    pub const ALL: [SplitName; 3] = [SplitName::Train, SplitName::Val, SplitName::Test];

    /// The lower-case name, also the export folder name.
    pub fn as_str(self) -> &'static str {
        match self {
            SplitName::Train => "train",
            SplitName::Val => "val",
            SplitName::Test => "test",
        }
    }
}

impl fmt::Display for SplitName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an image came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// A file of an imported ImageFolder tree.
    Imported,
    /// Rendered by the fundus phantom.
    Phantom,
    /// Made by a trained generator and added with `AddImages`.
    Synthetic,
}

/// The origin of one image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProvenanceRecord {
    /// Kind of origin.
    pub source: SourceKind,
    /// Store key of the generator checkpoint (synthetic images).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generator_checkpoint: Option<String>,
    /// Noise seed (synthetic) or rendering seed (phantom).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Index within the seed's sequence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u64>,
    /// Discriminator score D(G(z)) (synthetic images).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discriminator_score: Option<f64>,
}

impl ProvenanceRecord {
    /// The provenance of an imported file.
    pub fn imported() -> Self {
        Self {
            source: SourceKind::Imported,
            generator_checkpoint: None,
            seed: None,
            index: None,
            discriminator_score: None,
        }
    }
}

/// One image of a version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageRecord {
    /// Id, unique within the dataset (derived from the content hash).
    pub id: String,
    /// Class name.
    pub class: String,
    /// Split; `None` until the version is split (then filled in when reading).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<SplitName>,
    /// The stored, preprocessed PNG.
    pub png: BlobRef,
    /// The original file, when kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original: Option<BlobRef>,
    /// SHA-256 of the original bytes (kept or not).
    pub original_sha256: String,
    /// Size of the original file in bytes.
    pub original_bytes: u64,
    /// Width of the original image in pixels.
    pub original_width: u32,
    /// Height of the original image in pixels.
    pub original_height: u32,
    /// Source file name: the relative path at import, or a generated name.
    pub source_file: String,
    /// Where the image came from.
    pub provenance: ProvenanceRecord,
}

impl ImageRecord {
    /// The last segment of `source_file` (what group regexes match).
    pub fn file_name(&self) -> &str {
        self.source_file
            .rsplit('/')
            .next()
            .unwrap_or(&self.source_file)
    }
}

/// How a dataset was imported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportSettings {
    /// Folder name → class name.
    pub class_mapping: BTreeMap<String, String>,
    /// Per-class cap (0 = none).
    pub per_class_cap: u32,
    /// Seed of the per-class selection.
    pub seed: u64,
    /// Side of the stored square images.
    pub target_size: u32,
    /// Whether original files were kept.
    pub keep_originals: bool,
    /// Fail on the first rejected file.
    pub strict: bool,
    /// Pixel limit checked before decoding.
    pub max_pixels: u64,
    /// Whether the black border around the fundus was cropped.
    pub crop_fundus: bool,
}

/// `datasets/<id>/dataset.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetRecord {
    /// Format version ([`SCHEMA_VERSION`]).
    pub schema: u32,
    /// Dataset id (its name).
    pub dataset_id: String,
    /// Free text given at import.
    #[serde(default)]
    pub description: String,
    /// Creation time, milliseconds since the Unix epoch.
    pub created_at_unix_ms: i64,
    /// Where the images came from (e.g. "upload", "server folder", "phantom").
    pub source: String,
    /// The import options.
    pub import: ImportSettings,
}

/// How a split was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitSpecRecord {
    /// Fraction in train.
    pub train_ratio: f64,
    /// Fraction in val.
    pub val_ratio: f64,
    /// Fraction in test.
    pub test_ratio: f64,
    /// Seed of the assignment.
    pub seed: u64,
    /// Group regex over file names, when one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_regex: Option<String>,
    /// Version where the split was made.
    pub made_in_version: u64,
    /// When it was made, milliseconds since the Unix epoch.
    pub created_at_unix_ms: i64,
}

/// `datasets/<id>/splits/<n>.json`: the split made for a version that was stored without one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitRecord {
    /// Format version ([`SCHEMA_VERSION`]).
    pub schema: u32,
    /// How it was made.
    pub spec: SplitSpecRecord,
    /// Image id → split, for every image of the version.
    pub assignments: BTreeMap<String, SplitName>,
}

/// `datasets/<id>/versions/<n>.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionRecord {
    /// Format version ([`SCHEMA_VERSION`]).
    pub schema: u32,
    /// Dataset id.
    pub dataset_id: String,
    /// Version number (1, 2, ...).
    pub version: u64,
    /// Version this one was derived from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_version: Option<u64>,
    /// Creation time, milliseconds since the Unix epoch.
    pub created_at_unix_ms: i64,
    /// How the version was made.
    #[serde(default)]
    pub note: String,
    /// Side of the square stored images.
    pub image_size: u32,
    /// Class names, sorted; the label of a class is its index.
    pub classes: Vec<String>,
    /// The split, embedded for derived versions (inherited) and filled in from the split
    /// document when reading a version that was split after it was stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<SplitSpecRecord>,
    /// The images, sorted by class then source file.
    pub images: Vec<ImageRecord>,
}

impl VersionRecord {
    /// The label of `class`, when it is one of this version's classes.
    pub fn label_of(&self, class: &str) -> Option<u32> {
        self.classes
            .binary_search_by(|c| c.as_str().cmp(class))
            .ok()
            .and_then(|i| u32::try_from(i).ok())
    }

    /// Every blob the version references (for the write-order check).
    pub fn blobs(&self) -> Vec<BlobRef> {
        self.images
            .iter()
            .flat_map(|image| std::iter::once(image.png.clone()).chain(image.original.clone()))
            .collect()
    }

    /// Fills in the splits of `record` (the split document of this version).
    pub fn apply_split(&mut self, record: &SplitRecord) {
        for image in &mut self.images {
            image.split = record.assignments.get(&image.id).copied();
        }
        self.split = Some(record.spec.clone());
    }
}

/// Milliseconds since the Unix epoch, now.
pub fn now_unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(id: &str, class: &str) -> ImageRecord {
        ImageRecord {
            id: id.into(),
            class: class.into(),
            split: None,
            png: BlobRef::of(id.as_bytes()),
            original: None,
            original_sha256: "0".repeat(64),
            original_bytes: 10,
            original_width: 30,
            original_height: 20,
            source_file: format!("{class}/sub/{id}.jpg"),
            provenance: ProvenanceRecord::imported(),
        }
    }

    #[test]
    fn version_round_trips_through_json_and_applies_a_split() {
        let mut version = VersionRecord {
            schema: SCHEMA_VERSION,
            dataset_id: "eyes".into(),
            version: 1,
            parent_version: None,
            created_at_unix_ms: 5,
            note: String::new(),
            image_size: 64,
            classes: vec!["dr".into(), "normal".into()],
            split: None,
            images: vec![image("a", "dr"), image("b", "normal")],
        };
        let json = serde_json::to_string(&version).unwrap();
        assert!(!json.contains("\"split\""), "{json}");
        let back: VersionRecord = serde_json::from_str(&json).unwrap();
        assert_eq!(back, version);

        let split = SplitRecord {
            schema: SCHEMA_VERSION,
            spec: SplitSpecRecord {
                train_ratio: 0.5,
                val_ratio: 0.0,
                test_ratio: 0.5,
                seed: 1,
                group_regex: None,
                made_in_version: 1,
                created_at_unix_ms: 6,
            },
            assignments: [
                ("a".to_string(), SplitName::Train),
                ("b".to_string(), SplitName::Test),
            ]
            .into(),
        };
        version.apply_split(&split);
        assert_eq!(version.images[0].split, Some(SplitName::Train));
        assert_eq!(version.images[1].split, Some(SplitName::Test));
        assert_eq!(version.label_of("normal"), Some(1));
        assert_eq!(version.label_of("glaucoma"), None);
        assert_eq!(version.images[0].file_name(), "a.jpg");
        assert_eq!(version.blobs().len(), 2);
    }
}
