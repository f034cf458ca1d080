//! Key safety: names that become parts of store keys must not escape their prefix.

use crate::StoreError;

/// Longest accepted key segment in bytes (the usual file-name limit).
pub const MAX_SEGMENT_BYTES: usize = 255;

/// Checks that `name` is safe as ONE segment of a store key (a dataset name, class name, job id,
/// file name, ...). Rejected: the empty string, `.` and `..`, anything containing `/` or `\`
/// (which covers absolute paths and Windows drive paths like `C:\x`), control characters, `#`
/// (the local backend reserves `name#123` for staging files), leading or trailing whitespace,
/// and names longer than [`MAX_SEGMENT_BYTES`] bytes.
pub fn validate_key_segment(name: &str) -> Result<(), StoreError> {
    let reject = |reason: &str| {
        Err(StoreError::InvalidKey {
            key: name.to_owned(),
            reason: reason.to_owned(),
        })
    };
    if name.is_empty() {
        return reject("name is empty");
    }
    if name == "." || name == ".." {
        return reject("`.` and `..` are not allowed");
    }
    if name.len() > MAX_SEGMENT_BYTES {
        return reject("name is longer than 255 bytes");
    }
    if name.contains('/') || name.contains('\\') {
        return reject("path separators are not allowed");
    }
    if name.chars().any(char::is_control) {
        return reject("control characters are not allowed");
    }
    if name.contains('#') {
        return reject("`#` is not allowed");
    }
    if name.trim() != name {
        return reject("leading or trailing whitespace is not allowed");
    }
    Ok(())
}

/// Checks a whole `/`-separated key (every segment with [`validate_key_segment`]) and converts
/// it to an object-store path.
pub(crate) fn parse_key(key: &str) -> Result<object_store::path::Path, StoreError> {
    for segment in key.split('/') {
        validate_key_segment(segment).map_err(|error| match error {
            StoreError::InvalidKey { reason, .. } => StoreError::InvalidKey {
                key: key.to_owned(),
                reason: format!("segment {segment:?}: {reason}"),
            },
            other => other,
        })?;
    }
    object_store::path::Path::parse(key).map_err(|error| StoreError::InvalidKey {
        key: key.to_owned(),
        reason: error.to_string(),
    })
}

/// Like [`parse_key`] but also accepts the empty prefix (the whole store) and a trailing `/`.
pub(crate) fn parse_prefix(prefix: &str) -> Result<Option<object_store::path::Path>, StoreError> {
    let trimmed = prefix.strip_suffix('/').unwrap_or(prefix);
    if trimmed.is_empty() {
        Ok(None)
    } else {
        parse_key(trimmed).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_names_are_accepted() {
        for name in [
            "dr",
            "eyes-2024",
            "1084_left (copy).jpg",
            "v1.2",
            "ÄÖ",
            ".hidden",
        ] {
            validate_key_segment(name).unwrap();
        }
    }

    #[test]
    fn escaping_and_odd_names_are_rejected() {
        let long = "a".repeat(256);
        for name in [
            "",
            ".",
            "..",
            "../etc",
            "/abs",
            "a/b",
            "C:\\x",
            "a\nb",
            "a\u{0}b",
            "x#1",
            " pad",
            long.as_str(),
        ] {
            let error = validate_key_segment(name).unwrap_err();
            assert!(matches!(error, StoreError::InvalidKey { .. }), "{name:?}");
        }
    }

    #[test]
    fn keys_are_checked_segment_by_segment() {
        assert_eq!(parse_key("a/b/c.json").unwrap().as_ref(), "a/b/c.json");
        for key in ["", "/a", "a//b", "a/../b", "a/", "a/./b"] {
            assert!(parse_key(key).is_err(), "{key:?}");
        }
        assert_eq!(parse_prefix("").unwrap(), None);
        assert_eq!(parse_prefix("jobs/").unwrap().unwrap().as_ref(), "jobs");
    }
}
