//! Client-named folders on the server (import sources, export targets): checked to be absolute
//! and, when the server has an allowed root, inside it.

use std::path::{Path, PathBuf};

use crate::error::DatasetError;

/// Hidden entries (names starting with `.`, e.g. `.DS_Store`) are never imported.
pub fn is_hidden(name: &str) -> bool {
    name.starts_with('.')
}

fn io_error(path: &Path, source: std::io::Error) -> DatasetError {
    DatasetError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn check_under_root(
    canonical: &Path,
    root: Option<&Path>,
    field: &str,
) -> Result<(), DatasetError> {
    let Some(root) = root else {
        return Ok(());
    };
    let root = root
        .canonicalize()
        .map_err(|source| io_error(root, source))?;
    if canonical.starts_with(&root) {
        Ok(())
    } else {
        Err(DatasetError::invalid(
            field,
            format!(
                "{} is outside the server's allowed root",
                canonical.display()
            ),
        ))
    }
}

fn absolute(path: &str, field: &str) -> Result<PathBuf, DatasetError> {
    let path = PathBuf::from(path);
    if path.as_os_str().is_empty() {
        return Err(DatasetError::invalid(field, "must not be empty"));
    }
    if !path.is_absolute() {
        return Err(DatasetError::invalid(field, "must be an absolute path"));
    }
    Ok(path)
}

/// An existing folder to read from: NOT_FOUND when missing, INVALID_ARGUMENT when not a folder,
/// relative or outside `root`.
pub fn existing_folder(
    path: &str,
    root: Option<&Path>,
    field: &str,
) -> Result<PathBuf, DatasetError> {
    let path = absolute(path, field)?;
    let canonical = path.canonicalize().map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            DatasetError::not_found(format!("server folder {}", path.display()))
        } else {
            io_error(&path, source)
        }
    })?;
    check_under_root(&canonical, root, field)?;
    if !canonical.is_dir() {
        return Err(DatasetError::invalid(
            field,
            format!("{} is not a folder", path.display()),
        ));
    }
    Ok(canonical)
}

/// A folder to write a new tree into: created when missing; it must be empty when it exists,
/// and lie under `root`.
pub fn empty_target_folder(
    path: &str,
    root: Option<&Path>,
    field: &str,
) -> Result<PathBuf, DatasetError> {
    let path = absolute(path, field)?;
    if path
        .components()
        .any(|c| c == std::path::Component::ParentDir)
    {
        return Err(DatasetError::invalid(field, "must not contain `..`"));
    }
    // Check the nearest existing ancestor before creating anything.
    let existing = path
        .ancestors()
        .find(|ancestor| ancestor.exists())
        .unwrap_or(Path::new("/"));
    let canonical_ancestor = existing
        .canonicalize()
        .map_err(|source| io_error(existing, source))?;
    check_under_root(&canonical_ancestor, root, field)?;
    std::fs::create_dir_all(&path).map_err(|source| io_error(&path, source))?;
    let canonical = path
        .canonicalize()
        .map_err(|source| io_error(&path, source))?;
    check_under_root(&canonical, root, field)?;
    let mut entries = std::fs::read_dir(&canonical).map_err(|source| io_error(&path, source))?;
    if entries.next().is_some() {
        return Err(DatasetError::FailedPrecondition(format!(
            "export folder {} is not empty",
            path.display()
        )));
    }
    Ok(canonical)
}

/// Every regular, non-hidden file below `root` as (relative `/`-path, absolute path, size),
/// sorted. Symbolic links are not followed.
pub fn walk_files(root: &Path) -> Result<Vec<(String, PathBuf, u64)>, DatasetError> {
    const MAX_DEPTH: usize = 32;
    let mut files = Vec::new();
    let mut pending = vec![(root.to_path_buf(), String::new(), 0usize)];
    while let Some((dir, prefix, depth)) = pending.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|source| io_error(&dir, source))?;
        for entry in entries {
            let entry = entry.map_err(|source| io_error(&dir, source))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if is_hidden(&name) {
                continue;
            }
            let relative = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            let file_type = entry
                .file_type()
                .map_err(|source| io_error(&entry.path(), source))?;
            if file_type.is_dir() && depth < MAX_DEPTH {
                pending.push((entry.path(), relative, depth + 1));
            } else if file_type.is_file() {
                let size = entry
                    .metadata()
                    .map_err(|source| io_error(&entry.path(), source))?
                    .len();
                files.push((relative, entry.path(), size));
            }
        }
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_are_checked_and_walked() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("a/deep")).unwrap();
        std::fs::write(root.join("a/x.png"), b"1").unwrap();
        std::fs::write(root.join("a/deep/y.png"), b"22").unwrap();
        std::fs::write(root.join("a/.DS_Store"), b"junk").unwrap();
        let files = walk_files(root).unwrap();
        let names: Vec<&str> = files.iter().map(|(r, _, _)| r.as_str()).collect();
        assert_eq!(names, ["a/deep/y.png", "a/x.png"]);
        assert_eq!(files[0].2, 2);

        let text = root.to_str().unwrap();
        existing_folder(text, None, "server_path").unwrap();
        let error = existing_folder("relative/dir", None, "server_path").unwrap_err();
        assert!(error.to_string().contains("server_path"));
        let missing = root.join("missing");
        assert!(matches!(
            existing_folder(missing.to_str().unwrap(), None, "server_path"),
            Err(DatasetError::NotFound { .. })
        ));
        let other = tempfile::tempdir().unwrap();
        let error = existing_folder(text, Some(other.path()), "server_path").unwrap_err();
        assert!(error.to_string().contains("allowed root"), "{error}");

        assert!(matches!(
            empty_target_folder(text, None, "server_path"),
            Err(DatasetError::FailedPrecondition(_))
        ));
        let fresh = root.join("out/new");
        empty_target_folder(fresh.to_str().unwrap(), Some(root), "server_path").unwrap();
        assert!(fresh.is_dir());
    }
}
