//! `eyegan-bench`: times the paper's networks on the CPU (or, built with `--features cuda`, on a
//! GPU), one child process per figure so that every figure's peak RSS is its own.
//!
//! `cargo run --release -p eyegan-bench -- [--json] [--repetitions N] [--device D] [FIGURE...]`

mod figures;
mod measurement;

use std::process::Command;

use anyhow::{bail, Context, Result};
use clap::Parser;

use figures::FIGURES;
use measurement::{measure, Measurement};

#[global_allocator]
static ALLOCATOR: eyegan_nn::allocator::Allocator = eyegan_nn::allocator::Allocator;

/// CPU benchmarks of EyeGAN's DCGAN and GMD (figures: dcgan_iter_b64, dcgan_iter_b16, gen_b64,
/// gmd_step_b32, gmd_infer_256). Threads: RAYON_NUM_THREADS.
#[derive(Debug, Parser)]
#[command(name = "eyegan-bench")]
struct Args {
    /// One JSON object per line instead of a table.
    #[arg(long)]
    json: bool,
    /// Timed repetitions per figure.
    #[arg(long, default_value_t = 5)]
    repetitions: usize,
    /// Untimed warm-up repetitions per figure.
    #[arg(long, default_value_t = 1)]
    warmup: usize,
    /// Device the figures run on: `cpu`, or `cuda:N` when built with `--features cuda`.
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Run one figure in this process and print its measurement as JSON (used internally).
    #[arg(long, hide = true)]
    child: bool,
    /// Figures to run (all when none is given).
    figures: Vec<String>,
}

fn run_child(args: &Args) -> Result<()> {
    let [name] = args.figures.as_slice() else {
        bail!("--child takes exactly one figure")
    };
    let device = eyegan_nn::parse_device(&args.device)?;
    let figure = figures::prepare(name, &device)?;
    let measurement = measure(name, figure, &device, args.warmup, args.repetitions)?;
    println!("{}", serde_json::to_string(&measurement)?);
    Ok(())
}

fn run_in_child(name: &str, args: &Args) -> Result<Measurement> {
    let exe = std::env::current_exe().context("locating the benchmark binary")?;
    let output = Command::new(exe)
        .arg("--child")
        .arg(format!("--repetitions={}", args.repetitions))
        .arg(format!("--warmup={}", args.warmup))
        .arg(format!("--device={}", args.device))
        .arg(name)
        .output()
        .with_context(|| format!("starting the child process of figure {name}"))?;
    if !output.status.success() {
        bail!(
            "figure {name} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )
    }
    let stdout = String::from_utf8(output.stdout).context("child output is not UTF-8")?;
    let line = stdout
        .lines()
        .last()
        .with_context(|| format!("figure {name} printed nothing"))?;
    serde_json::from_str(line).with_context(|| format!("figure {name} printed `{line}`"))
}

fn print_row(m: &Measurement) {
    println!(
        "{:<16} {:>9.4} {:>9.4} {:>9.4} {:>10.1} {:>10.0}",
        m.figure, m.median_s, m.min_s, m.max_s, m.images_per_s, m.peak_rss_mb
    );
}

fn main() -> Result<()> {
    eyegan_nn::allocator::keep_freed_memory();
    let args = Args::parse();
    if args.child {
        return run_child(&args);
    }
    // An unusable device is reported once, before any child starts.
    eyegan_nn::parse_device(&args.device)?;
    let names: Vec<String> = if args.figures.is_empty() {
        FIGURES.iter().map(|s| s.to_string()).collect()
    } else {
        args.figures.clone()
    };
    for name in &names {
        if !FIGURES.contains(&name.as_str()) {
            bail!("unknown figure `{name}`; known: {}", FIGURES.join(", "))
        }
    }
    if !args.json {
        println!(
            "{:<16} {:>9} {:>9} {:>9} {:>10} {:>10}",
            "figure", "median_s", "min_s", "max_s", "images/s", "peak_MiB"
        );
    }
    for name in &names {
        let m = run_in_child(name, &args)?;
        if args.json {
            println!("{}", serde_json::to_string(&m)?);
        } else {
            print_row(&m);
        }
    }
    Ok(())
}
