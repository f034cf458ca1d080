//! The paper's discriminator-score filter and generation modes.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{NnError, Result};

/// The paper's code keeps an image when `errD_fake = −ln(1 − D(G(z))) ≥ 0.76` for a single
/// image, i.e. when D(G(z)) ≥ 1 − e^−0.76 ≈ 0.5323.
pub fn paper_code_min_score() -> f32 {
    1.0 - (-0.76f32).exp()
}

/// Minimum D score an image needs to be kept.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum FilterPreset {
    /// What the paper's code did: D(G(z)) ≥ 1 − e^−0.76 ≈ 0.532 (`paper-code`).
    PaperCode,
    /// What the paper's text says: D(G(z)) ≥ 0.76 (`paper-text`).
    PaperText,
    /// Keep everything (`none`).
    None,
    /// A custom threshold in [0, 1] (written as the number, e.g. `0.6`).
    MinScore(f32),
}

impl FilterPreset {
    /// The threshold; `None` gives 0.
    pub fn min_score(&self) -> f32 {
        match self {
            Self::PaperCode => paper_code_min_score(),
            Self::PaperText => 0.76,
            Self::None => 0.0,
            Self::MinScore(score) => *score,
        }
    }

    /// Whether an image with D score `score` is kept (at or above the threshold; a NaN score is
    /// kept only by `None`).
    pub fn accepts(&self, score: f32) -> bool {
        matches!(self, Self::None) || score >= self.min_score()
    }

    /// Checks a custom threshold lies in [0, 1].
    pub fn validate(&self) -> Result<()> {
        if let Self::MinScore(score) = self {
            if !(0.0..=1.0).contains(score) {
                return Err(NnError::config(
                    "filter",
                    format!("min score must be in [0, 1], got {score}"),
                ));
            }
        }
        Ok(())
    }
}

impl FromStr for FilterPreset {
    type Err = NnError;

    /// Parses `paper-code`, `paper-text`, `none` or a number in [0, 1].
    fn from_str(text: &str) -> Result<Self> {
        let preset = match text.trim().to_ascii_lowercase().as_str() {
            "paper-code" => Self::PaperCode,
            "paper-text" => Self::PaperText,
            "none" => Self::None,
            other => Self::MinScore(other.parse::<f32>().map_err(|_| {
                NnError::config(
                    "filter",
                    format!("{text:?} is not paper-code, paper-text, none or a number in [0, 1]"),
                )
            })?),
        };
        preset.validate()?;
        Ok(preset)
    }
}

impl fmt::Display for FilterPreset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::PaperCode => f.write_str("paper-code"),
            Self::PaperText => f.write_str("paper-text"),
            Self::None => f.write_str("none"),
            Self::MinScore(score) => write!(f, "{score}"),
        }
    }
}

impl TryFrom<String> for FilterPreset {
    type Error = NnError;
    fn try_from(text: String) -> Result<Self> {
        text.parse()
    }
}

impl From<FilterPreset> for String {
    fn from(preset: FilterPreset) -> Self {
        preset.to_string()
    }
}

/// When synthetic images are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GenerationMode {
    /// Sample the trained generator after training (`final`).
    Final,
    /// The paper's code: at the end of every epoch one generated image is kept if it passes the
    /// filter (`during-training`).
    DuringTraining,
}

impl FromStr for GenerationMode {
    type Err = NnError;
    fn from_str(text: &str) -> Result<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "final" => Ok(Self::Final),
            "during-training" => Ok(Self::DuringTraining),
            _ => Err(NnError::config(
                "generation_mode",
                format!("{text:?} is not `final` or `during-training`"),
            )),
        }
    }
}

/// One generated image with its provenance and D score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoredImage {
    /// Attempt index (final mode) or epoch number (during-training mode).
    pub index: u64,
    /// Seed of the image's latent vector: [`crate::generation::generate_from_seeds`]
    /// regenerates the same pixels from it.
    pub seed: u64,
    /// D(G(z)) in [0, 1].
    pub score: f32,
    /// CHW pixels in [-1, 1].
    pub pixels: Vec<f32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_parse_and_print() {
        assert_eq!(
            "paper-code".parse::<FilterPreset>().unwrap(),
            FilterPreset::PaperCode
        );
        assert_eq!(
            "Paper-Text".parse::<FilterPreset>().unwrap(),
            FilterPreset::PaperText
        );
        assert_eq!("none".parse::<FilterPreset>().unwrap(), FilterPreset::None);
        assert_eq!(
            "0.6".parse::<FilterPreset>().unwrap(),
            FilterPreset::MinScore(0.6)
        );
        assert!("1.5".parse::<FilterPreset>().is_err());
        assert!("strict".parse::<FilterPreset>().is_err());
        assert!((FilterPreset::PaperCode.min_score() - 0.532_334).abs() < 1e-5);
        assert_eq!(FilterPreset::PaperText.min_score(), 0.76);
        for preset in [
            FilterPreset::PaperCode,
            FilterPreset::None,
            FilterPreset::MinScore(0.25),
        ] {
            let json = serde_json::to_string(&preset).unwrap();
            assert_eq!(serde_json::from_str::<FilterPreset>(&json).unwrap(), preset);
        }
        assert!(FilterPreset::None.accepts(f32::NAN));
        assert!(!FilterPreset::PaperText.accepts(f32::NAN));
        assert!(FilterPreset::PaperText.accepts(0.76));
        assert_eq!(
            "during-training".parse::<GenerationMode>().unwrap(),
            GenerationMode::DuringTraining
        );
    }
}
