//! Validation of client-supplied names and paths before they become store keys or folder names.

use std::collections::BTreeMap;

use eyegan_store::validate_key_segment;

use crate::error::DatasetError;

/// Longest accepted dataset name.
pub const MAX_DATASET_NAME_CHARS: usize = 128;

/// Checks a dataset name: 1-128 characters of `[A-Za-z0-9._-]`, not starting with `.`, and a
/// safe store key segment. `field` names the request field in the error.
pub fn validate_dataset_name(name: &str, field: &str) -> Result<(), DatasetError> {
    if name.is_empty() {
        return Err(DatasetError::invalid(field, "must not be empty"));
    }
    if name.chars().count() > MAX_DATASET_NAME_CHARS {
        return Err(DatasetError::invalid(
            field,
            format!("longer than {MAX_DATASET_NAME_CHARS} characters"),
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(DatasetError::invalid(
            field,
            format!("{name:?} contains {bad:?}; use letters, digits, '.', '_' and '-'"),
        ));
    }
    if name.starts_with('.') {
        return Err(DatasetError::invalid(field, "must not start with '.'"));
    }
    validate_key_segment(name).map_err(|error| DatasetError::invalid(field, error.to_string()))
}

/// Checks a class name (it becomes a folder name on export).
pub fn validate_class_name(name: &str, field: &str) -> Result<(), DatasetError> {
    validate_key_segment(name).map_err(|error| DatasetError::invalid(field, error.to_string()))
}

/// Checks a class mapping: every source and target must be a valid class name.
pub fn validate_class_mapping(mapping: &BTreeMap<String, String>) -> Result<(), DatasetError> {
    for (from, to) in mapping {
        validate_class_name(from, "options.class_mapping")?;
        validate_class_name(to, &format!("options.class_mapping[{from:?}]"))?;
    }
    Ok(())
}

/// Why a relative path cannot be imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathProblem {
    /// The path is malformed (empty, absolute, `..`, backslashes, empty segments).
    #[error("malformed path: {0}")]
    Malformed(String),
    /// The file is not inside a class folder.
    #[error("not inside a class folder (expected `<class>/<file>`)")]
    NotInClassFolder,
    /// The class folder (after mapping) is not a valid class name.
    #[error("invalid class name {class:?}: {reason}")]
    BadClass {
        /// The class name after mapping.
        class: String,
        /// Why it is invalid.
        reason: String,
    },
}

/// Checks a relative path `<class folder>/.../<file>` and returns the class after mapping.
pub fn class_of_path(
    relative_path: &str,
    mapping: &BTreeMap<String, String>,
) -> Result<String, PathProblem> {
    if relative_path.is_empty() {
        return Err(PathProblem::Malformed("the path is empty".into()));
    }
    if relative_path.starts_with('/') || relative_path.contains('\\') {
        return Err(PathProblem::Malformed(
            "use a relative path with '/' separators".into(),
        ));
    }
    let segments: Vec<&str> = relative_path.split('/').collect();
    if segments
        .iter()
        .any(|s| s.is_empty() || *s == "." || *s == ".." || s.chars().any(char::is_control))
    {
        return Err(PathProblem::Malformed(
            "empty, '.', '..' or control-character segments are not allowed".into(),
        ));
    }
    if segments.len() < 2 {
        return Err(PathProblem::NotInClassFolder);
    }
    let folder = segments[0];
    let class = mapping.get(folder).map_or(folder, String::as_str);
    validate_key_segment(class).map_err(|error| PathProblem::BadClass {
        class: class.to_owned(),
        reason: error.to_string(),
    })?;
    Ok(class.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dataset_names() {
        for good in ["eyes", "eyes-2024_v1.2", "A"] {
            validate_dataset_name(good, "dataset_name").unwrap();
        }
        for bad in ["", ".hidden", "a/b", "..", "a b", "ö", &"x".repeat(129)] {
            let error = validate_dataset_name(bad, "header.dataset_name").unwrap_err();
            assert!(
                error.to_string().contains("header.dataset_name"),
                "{bad:?}: {error}"
            );
        }
    }

    #[test]
    fn classes_come_from_the_first_folder_after_mapping() {
        let mapping: BTreeMap<String, String> =
            [("diabetic_retinopathy".to_string(), "dr".to_string())].into();
        assert_eq!(
            class_of_path("diabetic_retinopathy/1_left.jpg", &mapping).unwrap(),
            "dr"
        );
        assert_eq!(
            class_of_path("glaucoma/sub/x.png", &mapping).unwrap(),
            "glaucoma"
        );
        assert_eq!(
            class_of_path("x.png", &mapping).unwrap_err(),
            PathProblem::NotInClassFolder
        );
        for bad in [
            "",
            "/abs/x.png",
            "a/../x.png",
            "a//x.png",
            "a\\x.png",
            "./x.png",
        ] {
            assert!(
                matches!(class_of_path(bad, &mapping), Err(PathProblem::Malformed(_))),
                "{bad:?}"
            );
        }
        assert!(matches!(
            class_of_path("a#b/x.png", &mapping),
            Err(PathProblem::BadClass { .. })
        ));
    }

    #[test]
    fn class_mapping_targets_are_checked() {
        let mapping: BTreeMap<String, String> = [("dr".to_string(), "a/b".to_string())].into();
        let error = validate_class_mapping(&mapping).unwrap_err();
        assert!(
            error.to_string().contains("options.class_mapping"),
            "{error}"
        );
    }
}
