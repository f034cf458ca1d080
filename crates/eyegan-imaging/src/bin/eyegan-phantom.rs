//! `eyegan-phantom`: writes a four-class fundus phantom data set as an ImageFolder tree
//! (`DIR/<class>/<class>_<index>.png`), and optionally a contact sheet.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Parser;
use eyegan_imaging::encode_png;
use eyegan_imaging::phantom::{self, Difficulty};
use tracing_subscriber::EnvFilter;

/// Generate synthetic colour fundus photographs of four classes
/// (diabetic_retinopathy, glaucoma, myopia, normal).
#[derive(Debug, Parser)]
#[command(name = "eyegan-phantom", version)]
struct Args {
    /// Output folder; one subfolder per class is created in it.
    #[arg(long, env = "EYEGAN_PHANTOM_OUT")]
    out: Option<PathBuf>,
    /// Images per class.
    #[arg(long, default_value_t = 300)]
    per_class: u32,
    /// Image side in pixels (16..=512).
    #[arg(long, default_value_t = 64)]
    size: u32,
    /// Seed; the same seed gives the same images on every machine.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Also write a contact sheet (one row per class) to this PNG file.
    #[arg(long)]
    contact_sheet: Option<PathBuf>,
    /// Images per class (one row per class) on the contact sheet.
    #[arg(long, default_value_t = 8)]
    sheet_per_class: u32,
    /// Difficulty preset the flags below adjust.
    #[arg(long, value_enum, default_value_t = Preset::Default)]
    preset: Preset,
    /// Lowest severity of a class sign, 0..=1.
    #[arg(long)]
    severity_min: Option<f32>,
    /// Highest severity of a class sign, 0..=1.
    #[arg(long)]
    severity_max: Option<f32>,
    /// Severity = min + (max - min) * u^skew; > 1 favours subtle cases.
    #[arg(long)]
    severity_skew: Option<f32>,
    /// Sensor noise multiplier.
    #[arg(long)]
    noise: Option<f32>,
    /// Defocus blur multiplier.
    #[arg(long)]
    blur: Option<f32>,
    /// Exposure and colour-cast spread multiplier.
    #[arg(long)]
    exposure: Option<f32>,
    /// Patient pigmentation and anatomy spread multiplier.
    #[arg(long)]
    patient_variation: Option<f32>,
    /// Probability of a benign look-alike of another class's sign, 0..=1.
    #[arg(long)]
    confounder_rate: Option<f32>,
}

/// Named difficulty presets.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Preset {
    Easy,
    Default,
    Hard,
}

impl Args {
    fn difficulty(&self) -> Difficulty {
        let base = match self.preset {
            Preset::Easy => Difficulty::easy(),
            Preset::Default => Difficulty::default(),
            Preset::Hard => Difficulty::hard(),
        };
        Difficulty {
            severity_min: self.severity_min.unwrap_or(base.severity_min),
            severity_max: self.severity_max.unwrap_or(base.severity_max),
            severity_skew: self.severity_skew.unwrap_or(base.severity_skew),
            noise: self.noise.unwrap_or(base.noise),
            blur: self.blur.unwrap_or(base.blur),
            exposure: self.exposure.unwrap_or(base.exposure),
            patient_variation: self.patient_variation.unwrap_or(base.patient_variation),
            confounder_rate: self.confounder_rate.unwrap_or(base.confounder_rate),
        }
    }
}

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let difficulty = args.difficulty();
    phantom::validate(args.size, &difficulty).context("invalid arguments")?;
    if args.out.is_none() && args.contact_sheet.is_none() {
        anyhow::bail!("nothing to do: give --out DIR and/or --contact-sheet FILE");
    }

    if let Some(out) = &args.out {
        let started = Instant::now();
        let summary =
            phantom::write_image_folder(out, args.per_class, args.size, args.seed, &difficulty)
                .with_context(|| format!("writing the phantom data set to {}", out.display()))?;
        println!(
            "wrote {} images ({} per class, {}x{}, seed {}) to {} in {:.2} s ({:.1} MB)",
            summary.images,
            args.per_class,
            args.size,
            args.size,
            args.seed,
            out.display(),
            started.elapsed().as_secs_f64(),
            summary.bytes as f64 / 1e6
        );
    }
    if let Some(path) = &args.contact_sheet {
        let sheet =
            phantom::contact_sheet(args.sheet_per_class, args.size, args.seed, &difficulty)?;
        let png = encode_png(&sheet)?;
        std::fs::write(path, &png)
            .with_context(|| format!("writing contact sheet {}", path.display()))?;
        println!(
            "wrote contact sheet {} ({}x{}, {:.0} kB)",
            path.display(),
            sheet.width(),
            sheet.height(),
            png.len() as f64 / 1e3
        );
    }
    Ok(())
}
