//! Plain-text summaries of versions and imports, for command-line output.

use std::fmt::Write as _;

use eyegan_proto::dataset::v1 as pb;

/// A plain-text table of a version: per class and split counts.
pub fn format_version_summary(version: &pb::VersionSummary) -> String {
    let reference = version.r#ref.clone().unwrap_or_default();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "dataset {} version {} ({} images, {}x{} px{})",
        reference.dataset_id,
        reference.version,
        version.total_images,
        version.image_size,
        version.image_size,
        if version.parent_version > 0 {
            format!(", derived from version {}", version.parent_version)
        } else {
            String::new()
        }
    );
    let _ = writeln!(
        out,
        "{:<24} {:>5} {:>7} {:>7} {:>7} {:>7} {:>9}",
        "class", "label", "total", "train", "val", "test", "synthetic"
    );
    for counts in &version.class_counts {
        let _ = writeln!(
            out,
            "{:<24} {:>5} {:>7} {:>7} {:>7} {:>7} {:>9}",
            counts.class_name,
            counts.label,
            counts.total,
            counts.train,
            counts.val,
            counts.test,
            counts.synthetic
        );
    }
    let splits = version.split_counts.unwrap_or_default();
    let _ = writeln!(
        out,
        "{:<24} {:>5} {:>7} {:>7} {:>7} {:>7}",
        "all", "", version.total_images, splits.train, splits.val, splits.test
    );
    match &version.split {
        Some(spec) => {
            let _ = writeln!(
                out,
                "split: {:.2}/{:.2}/{:.2}, seed {}{}, made in version {}",
                spec.train_ratio,
                spec.val_ratio,
                spec.test_ratio,
                spec.seed,
                if spec.group_regex.is_empty() {
                    String::new()
                } else {
                    format!(", grouped by {}", spec.group_regex)
                },
                spec.made_in_version
            );
        }
        None => {
            let _ = writeln!(out, "split: none yet");
        }
    }
    out
}

/// A plain-text report of an import: counts, the version table and every file not accepted.
pub fn format_import_result(result: &pb::ImportResult) -> String {
    let mut out = format!(
        "imported {} files: {} accepted, {} rejected, {} skipped\n",
        result.files.len(),
        result.accepted,
        result.rejected,
        result.skipped
    );
    if let Some(version) = &result.version {
        out.push_str(&format_version_summary(version));
    }
    for file in result
        .files
        .iter()
        .filter(|f| f.outcome() != pb::FileOutcome::Accepted)
    {
        let _ = writeln!(
            out,
            "  {:?} {}: {:?}: {}",
            file.outcome(),
            file.relative_path,
            file.reason(),
            file.message
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use eyegan_proto::common::v1::DatasetRef;

    #[test]
    fn summary_lists_every_class() {
        let version = pb::VersionSummary {
            r#ref: Some(DatasetRef {
                dataset_id: "eyes".into(),
                version: 2,
            }),
            parent_version: 1,
            classes: vec!["dr".into(), "normal".into()],
            class_counts: vec![
                pb::ClassCounts {
                    class_name: "dr".into(),
                    total: 12,
                    train: 10,
                    ..Default::default()
                },
                pb::ClassCounts {
                    class_name: "normal".into(),
                    label: 1,
                    total: 3,
                    ..Default::default()
                },
            ],
            total_images: 15,
            image_size: 64,
            ..Default::default()
        };
        let text = format_version_summary(&version);
        assert!(
            text.contains("dataset eyes version 2 (15 images, 64x64 px, derived from version 1)")
        );
        assert!(text
            .lines()
            .any(|l| l.starts_with("dr") && l.contains("12")));
        assert!(text.lines().any(|l| l.starts_with("normal")));
        assert!(text.contains("split: none yet"));
    }
}
