//! How hard the phantom's classes are to tell apart.

/// Knobs for the spread of class signs and of nuisance variation.
///
/// The default is calibrated so that multinomial logistic regression on 16x16 downsampled pixels,
/// trained on 225 and tested on 75 images per class at 64x64, is clearly above chance and clearly
/// below perfect (see `examples/phantom_baseline.rs`):
///
/// | field | default | meaning |
/// |---|---|---|
/// | `severity_min` | 0.0 | weakest sign a diseased image shows (0 = at the class boundary) |
/// | `severity_max` | 1.0 | strongest sign (1 = textbook case) |
/// | `severity_skew` | 1.0 | severity = min + (max - min) * u^skew, u uniform: > 1 favours subtle cases |
/// | `noise` | 1.0 | multiplier of the camera's shot noise (sd 0.4 %–2.4 % of full scale at mid-grey) |
/// | `blur` | 1.0 | multiplier of the camera's defocus blur (0–0.8 % of the field radius) |
/// | `exposure` | 1.0 | multiplier of exposure, gamma and colour-cast spread between photos |
/// | `patient_variation` | 1.0 | multiplier of pigmentation and anatomy spread between "patients" |
/// | `confounder_rate` | 0.25 | chance that an image shows a benign look-alike of another class's sign |
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Difficulty {
    /// Lowest severity of a class sign, 0..=1.
    pub severity_min: f32,
    /// Highest severity of a class sign, 0..=1.
    pub severity_max: f32,
    /// Exponent shaping the severity distribution; 1 is uniform, larger favours subtle signs.
    pub severity_skew: f32,
    /// Sensor noise multiplier (0 = noiseless).
    pub noise: f32,
    /// Defocus blur multiplier (0 = sharp).
    pub blur: f32,
    /// Exposure, gamma and colour-cast spread multiplier (0 = identical camera settings).
    pub exposure: f32,
    /// Patient pigmentation and anatomy spread multiplier (0 = one standard patient).
    pub patient_variation: f32,
    /// Probability, 0..=1, that an image shows a benign look-alike (drusen, mild tessellation,
    /// a large physiological cup) of another class's sign.
    pub confounder_rate: f32,
}

impl Default for Difficulty {
    fn default() -> Self {
        Self {
            severity_min: 0.0,
            severity_max: 1.0,
            severity_skew: 1.0,
            noise: 1.0,
            blur: 1.0,
            exposure: 1.0,
            patient_variation: 1.0,
            confounder_rate: 0.25,
        }
    }
}

impl Difficulty {
    /// Clear signs, little nuisance: for demos where the classes should be obvious.
    pub fn easy() -> Self {
        Self {
            severity_min: 0.5,
            severity_skew: 1.0,
            noise: 0.5,
            blur: 0.5,
            exposure: 0.5,
            patient_variation: 0.5,
            confounder_rate: 0.0,
            ..Self::default()
        }
    }

    /// Mostly subtle signs and more nuisance.
    pub fn hard() -> Self {
        Self {
            severity_max: 0.6,
            severity_skew: 2.0,
            noise: 1.5,
            blur: 1.5,
            exposure: 1.3,
            patient_variation: 1.3,
            confounder_rate: 0.5,
            ..Self::default()
        }
    }

    /// Checks every field's range; the message names the offending field.
    pub fn validate(&self) -> Result<(), String> {
        let unit = |name: &str, v: f32| {
            if (0.0..=1.0).contains(&v) {
                Ok(())
            } else {
                Err(format!("difficulty.{name} = {v} is outside 0..=1"))
            }
        };
        let scale = |name: &str, v: f32| {
            if v.is_finite() && (0.0..=10.0).contains(&v) {
                Ok(())
            } else {
                Err(format!("difficulty.{name} = {v} is outside 0..=10"))
            }
        };
        unit("severity_min", self.severity_min)?;
        unit("severity_max", self.severity_max)?;
        unit("confounder_rate", self.confounder_rate)?;
        if self.severity_min > self.severity_max {
            return Err(format!(
                "difficulty.severity_min ({}) is above severity_max ({})",
                self.severity_min, self.severity_max
            ));
        }
        if !(self.severity_skew.is_finite() && (0.1..=10.0).contains(&self.severity_skew)) {
            return Err(format!(
                "difficulty.severity_skew = {} is outside 0.1..=10",
                self.severity_skew
            ));
        }
        scale("noise", self.noise)?;
        scale("blur", self.blur)?;
        scale("exposure", self.exposure)?;
        scale("patient_variation", self.patient_variation)
    }
}
