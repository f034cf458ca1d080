//! Receiving one `Predict` upload: a header, then the file's bytes in chunks of at most 1 MiB,
//! within a total size limit.

use eyegan_proto::classifier::v1::{predict_request::Item, PredictHeader, PredictRequest};
use eyegan_service::ServiceError;
use futures::{Stream, StreamExt};

/// Largest accepted chunk (the protocol's 1 MiB).
pub const MAX_CHUNK_BYTES: usize = 1024 * 1024;

/// A completely received upload.
#[derive(Debug)]
pub struct Upload {
    /// The stream's header.
    pub header: PredictHeader,
    /// The file's bytes.
    pub bytes: Vec<u8>,
}

impl Upload {
    /// The file's name for messages (`upload` when the client gave none).
    pub fn file_name(&self) -> &str {
        display_name(&self.header)
    }
}

fn display_name(header: &PredictHeader) -> &str {
    if header.file_name.trim().is_empty() {
        "upload"
    } else {
        &header.file_name
    }
}

/// A broken upload stream: RESOURCE_EXHAUSTED for a message over `--max-message-bytes`,
/// INVALID_ARGUMENT (field `stream`) otherwise.
fn stream_error(status: &tonic::Status) -> ServiceError {
    match eyegan_service::oversized_message(status) {
        Some(reason) => ServiceError::resource_exhausted(reason),
        None => ServiceError::invalid_argument("stream", status.message().to_owned()),
    }
}

/// Reads the whole stream: INVALID_ARGUMENT for a missing or repeated header, an empty message,
/// a chunk over 1 MiB, or a file over `max_bytes` (naming the file).
pub async fn receive_upload<S>(mut stream: S, max_bytes: u64) -> Result<Upload, ServiceError>
where
    S: Stream<Item = Result<PredictRequest, tonic::Status>> + Unpin,
{
    let first = stream
        .next()
        .await
        .ok_or_else(|| ServiceError::invalid_argument("header", "the stream is empty"))?
        .map_err(|status| stream_error(&status))?;
    let header = match first.item {
        Some(Item::Header(header)) => header,
        _ => {
            return Err(ServiceError::invalid_argument(
                "header",
                "the first message must be the header",
            ))
        }
    };
    let mut bytes = Vec::new();
    let mut position = 1usize;
    while let Some(message) = stream.next().await {
        let message = message.map_err(|status| stream_error(&status))?;
        match message.item {
            Some(Item::Chunk(chunk)) => {
                if chunk.data.len() > MAX_CHUNK_BYTES {
                    return Err(ServiceError::invalid_argument(
                        format!("chunk[{position}]"),
                        format!(
                            "{} bytes, more than the 1 MiB a chunk may carry",
                            chunk.data.len()
                        ),
                    ));
                }
                if (bytes.len() + chunk.data.len()) as u64 > max_bytes {
                    return Err(ServiceError::invalid_argument(
                        format!("file {:?}", display_name(&header)),
                        format!("larger than the upload limit of {max_bytes} bytes"),
                    ));
                }
                bytes.extend_from_slice(&chunk.data);
            }
            Some(Item::Header(_)) => {
                return Err(ServiceError::invalid_argument(
                    format!("message[{position}]"),
                    "a second header; only the first message may be a header",
                ))
            }
            None => {
                return Err(ServiceError::invalid_argument(
                    format!("message[{position}]"),
                    "neither header nor chunk",
                ))
            }
        }
        position += 1;
    }
    Ok(Upload { header, bytes })
}

#[cfg(test)]
mod tests {
    use super::*;
    use eyegan_proto::common::v1::Chunk;

    fn header() -> PredictRequest {
        PredictRequest {
            item: Some(Item::Header(PredictHeader {
                file_name: "eye.jpg".into(),
                ..Default::default()
            })),
        }
    }

    fn chunk(len: usize) -> PredictRequest {
        PredictRequest {
            item: Some(Item::Chunk(Chunk { data: vec![7; len] })),
        }
    }

    async fn receive(messages: Vec<PredictRequest>, max: u64) -> Result<Upload, ServiceError> {
        receive_upload(futures::stream::iter(messages.into_iter().map(Ok)), max).await
    }

    #[tokio::test]
    async fn assembles_chunks_and_enforces_the_limits() {
        let upload = receive(vec![header(), chunk(3), chunk(4)], 10)
            .await
            .unwrap();
        assert_eq!(upload.bytes.len(), 7);
        assert_eq!(upload.file_name(), "eye.jpg");
        let error = receive(vec![header(), chunk(6), chunk(6)], 10)
            .await
            .unwrap_err();
        assert!(error.to_string().contains("eye.jpg"), "{error}");
        let error = receive(vec![chunk(1)], 10).await.unwrap_err();
        assert!(error.to_string().contains("header"), "{error}");
        let error = receive(vec![header(), header()], 10).await.unwrap_err();
        assert!(error.to_string().contains("message[1]"), "{error}");
        let error = receive(vec![header(), chunk(MAX_CHUNK_BYTES + 1)], u64::MAX)
            .await
            .unwrap_err();
        assert!(error.to_string().contains("chunk[1]"), "{error}");
    }
}
