//! Losses: numerically stable binary cross-entropy with logits, and softmax cross-entropy.

use candle_core::{DType, Tensor};

/// Mean BCE of `logits` against `targets` (same shape), in the stable form
/// `relu(x) − x·t + log(1 + exp(−|x|))`, which stays finite however far D saturates
/// (Candle's `binary_cross_entropy_with_logit` turns NaN there).
pub fn bce_with_logits(logits: &Tensor, targets: &Tensor) -> candle_core::Result<Tensor> {
    let softplus_tail = (logits.abs()?.neg()?.exp()? + 1.0)?.log()?;
    (logits.relu()? - (logits * targets)?)?
        .add(&softplus_tail)?
        .mean_all()
}

/// [`bce_with_logits`] against a constant target (1 for "real", 0 for "fake").
pub fn bce_with_logits_const(logits: &Tensor, target: f64) -> candle_core::Result<Tensor> {
    let softplus_tail = (logits.abs()?.neg()?.exp()? + 1.0)?.log()?;
    (logits.relu()? - logits.affine(target, 0.0)?)?
        .add(&softplus_tail)?
        .mean_all()
}

/// Mean softmax cross-entropy of `logits` `(batch, classes)` against class indices `labels`
/// `(batch,)` of dtype u32.
pub fn cross_entropy(logits: &Tensor, labels: &Tensor) -> candle_core::Result<Tensor> {
    let labels = labels.to_dtype(DType::U32)?;
    candle_nn::loss::cross_entropy(logits, &labels)
}

/// Element-wise logistic sigmoid, `1 / (1 + exp(−x))` (used for D's probabilities).
pub fn sigmoid(x: &Tensor) -> candle_core::Result<Tensor> {
    (x.neg()?.exp()? + 1.0)?.recip()
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn bce_matches_the_definition_and_survives_saturation() {
        let device = Device::Cpu;
        let logits = Tensor::new(&[-3.0f64, 0.5, 2.0], &device).unwrap();
        let targets = Tensor::new(&[0.0f64, 1.0, 1.0], &device).unwrap();
        let ours = bce_with_logits(&logits, &targets)
            .unwrap()
            .to_scalar::<f64>()
            .unwrap();
        let expected = [(-3.0f64, 0.0f64), (0.5, 1.0), (2.0, 1.0)]
            .iter()
            .map(|&(x, t)| {
                let p = 1.0 / (1.0 + (-x).exp());
                -(t * p.ln() + (1.0 - t) * (1.0 - p).ln())
            })
            .sum::<f64>()
            / 3.0;
        assert!((ours - expected).abs() < 1e-12, "{ours} vs {expected}");

        let extreme = Tensor::new(&[1e4f32, -1e4], &device).unwrap();
        let real = bce_with_logits_const(&extreme, 1.0)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        let fake = bce_with_logits_const(&extreme, 0.0)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(real.is_finite() && (real - 5e3).abs() < 1.0, "{real}");
        assert!(fake.is_finite() && (fake - 5e3).abs() < 1.0, "{fake}");
    }

    #[test]
    fn cross_entropy_matches_the_definition() {
        let device = Device::Cpu;
        let logits = Tensor::new(&[[1.0f64, 2.0, 0.5], [0.0, -1.0, 3.0]], &device).unwrap();
        let labels = Tensor::new(&[1u32, 0], &device).unwrap();
        let ours = cross_entropy(&logits, &labels)
            .unwrap()
            .to_scalar::<f64>()
            .unwrap();
        let lse = |row: [f64; 3]| row.iter().map(|v| v.exp()).sum::<f64>().ln();
        let expected = ((lse([1.0, 2.0, 0.5]) - 2.0) + (lse([0.0, -1.0, 3.0]) - 0.0)) / 2.0;
        assert!((ours - expected).abs() < 1e-12);
    }
}
