//! The four diagnostic classes the phantom draws.

use std::fmt;
use std::str::FromStr;

/// A class of fundus photograph; its name is the ImageFolder folder name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PhantomClass {
    /// Microaneurysms, haemorrhages, hard exudates, cotton-wool spots.
    DiabeticRetinopathy,
    /// Enlarged cup-to-disc ratio, thin rim, vessels bending at the cup edge.
    Glaucoma,
    /// Tessellated fundus, peripapillary atrophy crescent, tilted oval disc, pale fundus.
    Myopia,
    /// None of the above; small cup.
    Normal,
}

impl PhantomClass {
    /// All classes in folder (alphabetical) order.
    pub const ALL: [PhantomClass; 4] = [
        PhantomClass::DiabeticRetinopathy,
        PhantomClass::Glaucoma,
        PhantomClass::Myopia,
        PhantomClass::Normal,
    ];

    /// The folder name: `diabetic_retinopathy`, `glaucoma`, `myopia` or `normal`.
    pub fn name(self) -> &'static str {
        match self {
            PhantomClass::DiabeticRetinopathy => "diabetic_retinopathy",
            PhantomClass::Glaucoma => "glaucoma",
            PhantomClass::Myopia => "myopia",
            PhantomClass::Normal => "normal",
        }
    }

    /// Position in [`PhantomClass::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for PhantomClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A class name that is not one of the four.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown phantom class `{0}`; expected one of diabetic_retinopathy, glaucoma, myopia, normal"
)]
pub struct UnknownClass(pub String);

impl FromStr for PhantomClass {
    type Err = UnknownClass;

    /// Accepts the folder names, case-insensitively, and the short form `dr`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "diabetic_retinopathy" | "dr" => Ok(PhantomClass::DiabeticRetinopathy),
            "glaucoma" => Ok(PhantomClass::Glaucoma),
            "myopia" => Ok(PhantomClass::Myopia),
            "normal" => Ok(PhantomClass::Normal),
            _ => Err(UnknownClass(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_refused() {
        for class in PhantomClass::ALL {
            assert_eq!(class.name().parse::<PhantomClass>(), Ok(class));
            assert_eq!(PhantomClass::ALL[class.index()], class);
        }
        assert_eq!("DR".parse(), Ok(PhantomClass::DiabeticRetinopathy));
        let err = "cataract".parse::<PhantomClass>().unwrap_err();
        assert!(err.to_string().contains("cataract"));
    }
}
