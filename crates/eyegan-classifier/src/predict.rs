//! `Predict`: one uploaded photograph, preprocessed exactly as the dataset's import did
//! (decode under a pixel budget, fundus crop when the import cropped, square resize), then the
//! model's class probabilities.

use eyegan_imaging::{preprocess, DecodeLimits, PreprocessOptions};
use eyegan_proto::classifier::v1 as pb;
use eyegan_service::ServiceError;
use eyegan_store::Store;

use crate::device::resolve_device;
use crate::model_record::load_model;
use crate::upload::Upload;

/// Answers a received `Predict` upload; `max_pixels` bounds the decoded image.
pub async fn predict(
    store: &Store,
    upload: Upload,
    max_pixels: u64,
) -> Result<pb::PredictResponse, ServiceError> {
    let model_ref = upload
        .header
        .model
        .clone()
        .ok_or_else(|| ServiceError::invalid_argument("header.model", "must be set"))?;
    let device = resolve_device(&upload.header.device, "header.device")?;
    let model = load_model(store, &model_ref.key, "header.model.key", &device).await?;
    let options = PreprocessOptions {
        target_size: model.record.image_size,
        crop_fundus: model.record.crop_fundus,
        limits: DecodeLimits { max_pixels },
    };
    let file_name = upload.file_name().to_owned();
    let network = model.network;
    let (probabilities, width, height) = tokio::task::spawn_blocking(move || {
        let prepared = preprocess(&upload.bytes, &options).map_err(|error| {
            ServiceError::invalid_argument(format!("file {file_name:?}"), error.to_string())
        })?;
        let pixels = eyegan_imaging::to_chw_f32(&prepared.image);
        let probabilities = network
            .predict_probabilities(&[pixels])
            .map_err(|error| ServiceError::internal(error.to_string()))?;
        Ok::<_, ServiceError>((
            probabilities,
            prepared.original_width,
            prepared.original_height,
        ))
    })
    .await
    .map_err(ServiceError::internal)??;
    let probabilities = probabilities
        .into_iter()
        .next()
        .ok_or_else(|| ServiceError::internal("the network returned no probabilities"))?;
    let classes = &model.record.classes;
    let best = probabilities
        .iter()
        .enumerate()
        .fold(
            0,
            |best, (index, &p)| if p > probabilities[best] { index } else { best },
        );
    Ok(pb::PredictResponse {
        predicted_class: classes.get(best).cloned().unwrap_or_default(),
        probabilities: classes
            .iter()
            .zip(&probabilities)
            .map(|(class_name, &probability)| pb::ClassProbability {
                class_name: class_name.clone(),
                probability: f64::from(probability),
            })
            .collect(),
        original_width: width,
        original_height: height,
    })
}
