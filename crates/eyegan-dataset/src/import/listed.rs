//! Sources whose files are known up front (a server folder, a store prefix): files are fed to the
//! [`Importer`] in rank order, so that with a per-class cap the files of a full class are only
//! hashed, never decoded.

use std::path::PathBuf;

use bytes::Bytes;
use eyegan_store::Store;

use super::examine::sha256_hex;
use super::importer::Importer;
use crate::error::DatasetError;
use crate::model::ProvenanceRecord;

/// Where a listed file's bytes are.
#[derive(Debug, Clone)]
pub enum FileLocation {
    /// A file on the server's file system.
    Path(PathBuf),
    /// An object in the store.
    StoreKey(String),
}

/// One file of a listed source.
#[derive(Debug, Clone)]
pub struct ListedFile {
    /// Path relative to the tree root, `/`-separated.
    pub relative_path: String,
    /// Where its bytes are.
    pub location: FileLocation,
    /// Its size in bytes, as listed.
    pub size: u64,
}

impl ListedFile {
    async fn read(&self, store: &Store) -> Result<Bytes, DatasetError> {
        match &self.location {
            FileLocation::Path(path) => {
                tokio::fs::read(path)
                    .await
                    .map(Bytes::from)
                    .map_err(|source| DatasetError::Io {
                        path: path.display().to_string(),
                        source,
                    })
            }
            FileLocation::StoreKey(key) => store
                .get_bytes(key)
                .await?
                .ok_or_else(|| DatasetError::not_found(format!("store object `{key}`"))),
        }
    }
}

/// Feeds every listed file to `importer` (rank order when a cap is set, path order otherwise).
pub async fn ingest_listed(
    importer: &mut Importer,
    store: &Store,
    mut files: Vec<ListedFile>,
    max_file_bytes: u64,
) -> Result<(), DatasetError> {
    let capped = importer.settings().per_class_cap > 0;
    if capped {
        let mut ranked: Vec<(u64, ListedFile)> = files
            .into_iter()
            .map(|file| {
                let rank = importer
                    .class_of(&file.relative_path)
                    .map_or(0, |class| importer.rank(&class, &file.relative_path));
                (rank, file)
            })
            .collect();
        ranked.sort_by(|(a_rank, a), (b_rank, b)| {
            (a_rank, &a.relative_path).cmp(&(b_rank, &b.relative_path))
        });
        files = ranked.into_iter().map(|(_, file)| file).collect();
    } else {
        files.sort_by(|a, b| a.relative_path.cmp(&b.relative_path));
    }

    for file in files {
        if file.size > max_file_bytes {
            importer.refuse_oversized(file.relative_path, file.size, max_file_bytes)?;
            continue;
        }
        let bytes = file.read(store).await?;
        match importer.class_of(&file.relative_path) {
            Some(class) if capped && !bytes.is_empty() && importer.class_is_full(&class) => {
                let size = bytes.len() as u64;
                let sha256 = tokio::task::spawn_blocking(move || sha256_hex(&bytes)).await?;
                importer.skip(file.relative_path, class, sha256, size);
            }
            _ => {
                importer
                    .ingest(file.relative_path, bytes, ProvenanceRecord::imported())
                    .await?
            }
        }
    }
    Ok(())
}
