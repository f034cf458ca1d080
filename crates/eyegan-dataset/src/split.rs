//! Stratified, seeded, optionally grouped train/val/test assignment.
//!
//! Images are first gathered into groups: with a group regex, images whose file names give the
//! same key (first capture group, or the whole match) form one group; every other image is a
//! group of one. Each group belongs to the stratum of its most frequent class. Within a stratum
//! the groups are sorted by key (so the input order does not matter), shuffled with a ChaCha8
//! stream seeded from (seed, class), and laid end to end: a group goes to the split in which the
//! midpoint of its images falls, given the boundaries `train·n` and `(train+val)·n`.

use std::collections::{BTreeMap, HashMap};

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use regex::Regex;
use sha2::{Digest, Sha256};

use crate::error::DatasetError;
use crate::model::SplitName;

/// Tolerance on the sum of the three ratios.
const RATIO_SUM_TOLERANCE: f64 = 1e-6;

/// Fractions of images in train, val and test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SplitRatios {
    /// Fraction in train, in (0, 1].
    pub train: f64,
    /// Fraction in val, in [0, 1).
    pub val: f64,
    /// Fraction in test, in [0, 1).
    pub test: f64,
}

impl Default for SplitRatios {
    /// 70 / 15 / 15.
    fn default() -> Self {
        Self {
            train: 0.70,
            val: 0.15,
            test: 0.15,
        }
    }
}

impl SplitRatios {
    /// Checks request ratios; all three zero means the default.
    pub fn from_request(train: f64, val: f64, test: f64) -> Result<Self, DatasetError> {
        if train == 0.0 && val == 0.0 && test == 0.0 {
            return Ok(Self::default());
        }
        for (field, value) in [
            ("train_ratio", train),
            ("val_ratio", val),
            ("test_ratio", test),
        ] {
            if !value.is_finite() || !(0.0..=1.0).contains(&value) {
                return Err(DatasetError::invalid(
                    field,
                    format!("{value} is not a fraction in [0, 1]"),
                ));
            }
        }
        if train <= 0.0 {
            return Err(DatasetError::invalid("train_ratio", "must be above 0"));
        }
        let sum = train + val + test;
        if (sum - 1.0).abs() > RATIO_SUM_TOLERANCE {
            return Err(DatasetError::invalid(
                "train_ratio",
                format!("train_ratio + val_ratio + test_ratio is {sum}, not 1"),
            ));
        }
        Ok(Self { train, val, test })
    }
}

/// One image to assign.
#[derive(Debug, Clone, Copy)]
pub struct SplitItem<'a> {
    /// Image id (unique).
    pub image_id: &'a str,
    /// Class name (the stratum).
    pub class: &'a str,
    /// File name the group regex is matched against.
    pub file_name: &'a str,
}

/// Compiles a client-supplied group regex (empty = none), naming `field` on error.
pub fn compile_group_regex(pattern: &str, field: &str) -> Result<Option<Regex>, DatasetError> {
    if pattern.is_empty() {
        return Ok(None);
    }
    regex::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .build()
        .map(Some)
        .map_err(|error| DatasetError::invalid(field, format!("not a valid regex: {error}")))
}

/// The group key of a file name: the first capture group (or the whole match) of `regex`.
fn group_key(regex: Option<&Regex>, item: &SplitItem<'_>) -> String {
    let captured = regex.and_then(|regex| {
        regex.captures(item.file_name).map(|captures| {
            captures
                .get(1)
                .or_else(|| captures.get(0))
                .map_or("", |m| m.as_str())
                .to_owned()
        })
    });
    match captured {
        Some(key) => format!("group:{key}"),
        None => format!("image:{}", item.image_id),
    }
}

/// Assigns every item to a split; returns image id → split.
pub fn assign_splits(
    items: &[SplitItem<'_>],
    ratios: SplitRatios,
    seed: u64,
    group_regex: Option<&Regex>,
) -> BTreeMap<String, SplitName> {
    // Group key -> member indices (BTreeMap: groups come out sorted by key).
    let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (index, item) in items.iter().enumerate() {
        groups
            .entry(group_key(group_regex, item))
            .or_default()
            .push(index);
    }
    // Stratum (dominant class) -> groups, in key order.
    let mut strata: BTreeMap<&str, Vec<&Vec<usize>>> = BTreeMap::new();
    for members in groups.values() {
        strata
            .entry(dominant_class(items, members))
            .or_default()
            .push(members);
    }

    let mut assignments = BTreeMap::new();
    for (class, mut stratum) in strata {
        stratum.shuffle(&mut ChaCha8Rng::seed_from_u64(stratum_seed(seed, class)));
        let total: usize = stratum.iter().map(|members| members.len()).sum();
        let train_end = ratios.train * total as f64;
        let val_end = (ratios.train + ratios.val) * total as f64;
        let mut before = 0usize;
        for members in stratum {
            let midpoint = before as f64 + members.len() as f64 / 2.0;
            let split = if midpoint < train_end {
                SplitName::Train
            } else if midpoint < val_end {
                SplitName::Val
            } else {
                SplitName::Test
            };
            for &index in members {
                assignments.insert(items[index].image_id.to_owned(), split);
            }
            before += members.len();
        }
    }
    assignments
}

/// The most frequent class of a group (ties: the smallest name).
fn dominant_class<'a>(items: &[SplitItem<'a>], members: &[usize]) -> &'a str {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for &index in members {
        *counts.entry(items[index].class).or_default() += 1;
    }
    counts
        .into_iter()
        .max_by(|(a_class, a_count), (b_class, b_count)| {
            a_count.cmp(b_count).then_with(|| b_class.cmp(a_class))
        })
        .map_or("", |(class, _)| class)
}

/// An independent seed per stratum, so that one class's images do not shift another's split.
fn stratum_seed(seed: u64, class: &str) -> u64 {
    let digest = Sha256::new()
        .chain_update(seed.to_le_bytes())
        .chain_update(class.as_bytes())
        .finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Owned {
        id: String,
        class: String,
        file: String,
    }

    fn dataset(per_class: &[(&str, usize)]) -> Vec<Owned> {
        per_class
            .iter()
            .flat_map(|&(class, n)| {
                (0..n).map(move |i| Owned {
                    id: format!("{class}-{i}"),
                    class: class.to_owned(),
                    file: format!(
                        "{}_{}.jpg",
                        i / 2,
                        if i % 2 == 0 { "left" } else { "right" }
                    ),
                })
            })
            .collect()
    }

    fn items(owned: &[Owned]) -> Vec<SplitItem<'_>> {
        owned
            .iter()
            .map(|o| SplitItem {
                image_id: &o.id,
                class: &o.class,
                file_name: &o.file,
            })
            .collect()
    }

    fn count(assignments: &BTreeMap<String, SplitName>, prefix: &str, split: SplitName) -> usize {
        assignments
            .iter()
            .filter(|(id, s)| id.starts_with(prefix) && **s == split)
            .count()
    }

    #[test]
    fn every_class_is_split_by_the_ratios() {
        let owned = dataset(&[("dr", 100), ("glaucoma", 40), ("normal", 20)]);
        let assignments = assign_splits(&items(&owned), SplitRatios::default(), 7, None);
        assert_eq!(assignments.len(), 160);
        for (class, n) in [("dr", 100usize), ("glaucoma", 40), ("normal", 20)] {
            let train = count(&assignments, class, SplitName::Train);
            let val = count(&assignments, class, SplitName::Val);
            let test = count(&assignments, class, SplitName::Test);
            assert_eq!(train + val + test, n);
            assert!(
                (train as f64 - 0.70 * n as f64).abs() <= 1.0,
                "{class} train {train}"
            );
            assert!(
                (val as f64 - 0.15 * n as f64).abs() <= 1.0,
                "{class} val {val}"
            );
            assert!(
                (test as f64 - 0.15 * n as f64).abs() <= 1.0,
                "{class} test {test}"
            );
        }
    }

    #[test]
    fn same_seed_same_split_in_any_input_order_other_seed_differs() {
        let owned = dataset(&[("dr", 30), ("normal", 30)]);
        let forward = items(&owned);
        let mut backward = forward.clone();
        backward.reverse();
        let a = assign_splits(&forward, SplitRatios::default(), 1, None);
        let b = assign_splits(&backward, SplitRatios::default(), 1, None);
        let c = assign_splits(&forward, SplitRatios::default(), 2, None);
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn group_regex_keeps_both_eyes_of_a_patient_together() {
        let owned = dataset(&[("dr", 60), ("normal", 60)]);
        let regex = compile_group_regex(r"^(\d+)_", "group_regex").unwrap();
        let assignments = assign_splits(&items(&owned), SplitRatios::default(), 3, regex.as_ref());
        for class in ["dr", "normal"] {
            for patient in 0..30 {
                let left = assignments[&format!("{class}-{}", patient * 2)];
                let right = assignments[&format!("{class}-{}", patient * 2 + 1)];
                assert_eq!(left, right, "{class} patient {patient}");
            }
            assert!(count(&assignments, class, SplitName::Test) > 0);
            assert!(count(&assignments, class, SplitName::Val) > 0);
        }
    }

    #[test]
    fn bad_ratios_and_regexes_name_their_field() {
        let error = SplitRatios::from_request(0.5, 0.5, 0.5).unwrap_err();
        assert!(error.to_string().contains("train_ratio"), "{error}");
        let error = SplitRatios::from_request(0.9, -0.1, 0.2).unwrap_err();
        assert!(error.to_string().contains("val_ratio"), "{error}");
        let error = SplitRatios::from_request(0.0, 0.5, 0.5).unwrap_err();
        assert!(error.to_string().contains("train_ratio"), "{error}");
        assert_eq!(
            SplitRatios::from_request(0.0, 0.0, 0.0).unwrap(),
            SplitRatios::default()
        );
        let error = compile_group_regex("(", "group_regex").unwrap_err();
        assert!(error.to_string().contains("group_regex"), "{error}");
        assert!(compile_group_regex("", "group_regex").unwrap().is_none());
    }
}
