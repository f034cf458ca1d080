//! Reading the client stream of `Import`: a header, then per file an `ImportFile` and its chunks.

use std::collections::HashSet;

use bytes::{Bytes, BytesMut};
use eyegan_proto::dataset::v1::{import_request::Item, ImportHeader, ImportRequest};
use futures::{Stream, StreamExt};

use super::examine::RejectReason;
use super::importer::Importer;
use crate::error::DatasetError;
use crate::model::ProvenanceRecord;

/// Largest chunk accepted (1 MiB).
pub const MAX_CHUNK_BYTES: usize = 1024 * 1024;

/// Longest accepted relative path, in bytes.
const MAX_RELATIVE_PATH_BYTES: usize = 4096;

/// Reads the first message, which must be the header.
pub async fn read_header<S>(stream: &mut S) -> Result<ImportHeader, DatasetError>
where
    S: Stream<Item = Result<ImportRequest, tonic::Status>> + Unpin,
{
    match stream.next().await {
        None => Err(DatasetError::invalid("header", "the stream is empty")),
        Some(Err(status)) => Err(DatasetError::upload_stream(&status)),
        Some(Ok(ImportRequest {
            item: Some(Item::Header(header)),
        })) => Ok(header),
        Some(Ok(_)) => Err(DatasetError::invalid(
            "header",
            "the first message must be the header",
        )),
    }
}

/// The file being received.
struct Receiving {
    relative_path: String,
    size: u64,
    received: u64,
    /// `None` when the file is too large and its chunks are only counted.
    data: Option<BytesMut>,
}

/// Feeds every uploaded file after the header to `importer`.
pub async fn ingest_upload<S>(
    stream: &mut S,
    importer: &mut Importer,
    max_file_bytes: u64,
) -> Result<(), DatasetError>
where
    S: Stream<Item = Result<ImportRequest, tonic::Status>> + Unpin,
{
    let mut current: Option<Receiving> = None;
    let mut seen_paths: HashSet<String> = HashSet::new();
    while let Some(message) = stream.next().await {
        let item = message
            .map_err(|status| DatasetError::upload_stream(&status))?
            .item;
        match item {
            None => return Err(DatasetError::invalid("item", "empty message")),
            Some(Item::Header(_)) => {
                return Err(DatasetError::invalid("header", "sent more than once"))
            }
            Some(Item::File(file)) => {
                if let Some(open) = current.take() {
                    return Err(incomplete(&open));
                }
                if file.relative_path.len() > MAX_RELATIVE_PATH_BYTES {
                    return Err(DatasetError::invalid(
                        "file.relative_path",
                        format!("longer than {MAX_RELATIVE_PATH_BYTES} bytes"),
                    ));
                }
                let first_time = seen_paths.insert(file.relative_path.clone());
                let data = (first_time && file.size <= max_file_bytes).then(|| {
                    BytesMut::with_capacity(usize::try_from(file.size.min(64 << 20)).unwrap_or(0))
                });
                if !first_time {
                    importer.refuse_file(
                        file.relative_path.clone(),
                        RejectReason::BadPath,
                        "the same path was sent more than once".into(),
                    )?;
                } else if data.is_none() {
                    importer.refuse_oversized(
                        file.relative_path.clone(),
                        file.size,
                        max_file_bytes,
                    )?;
                }
                current = Some(Receiving {
                    relative_path: file.relative_path,
                    size: file.size,
                    received: 0,
                    data,
                });
            }
            Some(Item::Chunk(chunk)) => {
                let Some(open) = current.as_mut() else {
                    return Err(DatasetError::invalid("chunk", "arrived before any file"));
                };
                if chunk.data.len() > MAX_CHUNK_BYTES {
                    return Err(DatasetError::invalid(
                        "chunk.data",
                        format!("{} bytes, more than 1 MiB", chunk.data.len()),
                    ));
                }
                open.received += chunk.data.len() as u64;
                if open.received > open.size {
                    return Err(DatasetError::invalid(
                        "chunk",
                        format!(
                            "file {} announced {} bytes but more arrived",
                            open.relative_path, open.size
                        ),
                    ));
                }
                if let Some(data) = open.data.as_mut() {
                    data.extend_from_slice(&chunk.data);
                }
            }
        }
        if current
            .as_ref()
            .is_some_and(|open| open.received == open.size)
        {
            if let Some(Receiving {
                relative_path,
                data: Some(data),
                ..
            }) = current.take()
            {
                let bytes: Bytes = data.freeze();
                importer
                    .ingest(relative_path, bytes, ProvenanceRecord::imported())
                    .await?;
            }
        }
    }
    match current {
        Some(open) => Err(incomplete(&open)),
        None => Ok(()),
    }
}

fn incomplete(open: &Receiving) -> DatasetError {
    DatasetError::invalid(
        "chunk",
        format!(
            "file {} announced {} bytes but only {} arrived",
            open.relative_path, open.size, open.received
        ),
    )
}
