//! `orchestrate`: runs EyeGAN experiments.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use eyegan_orchestrator::examples::{example, DEFAULT_EXAMPLE, EXAMPLES};
use eyegan_orchestrator::progress::ProgressMode;
use eyegan_orchestrator::report::{load_results, write_report};
use eyegan_orchestrator::run::{default_run_dir, run_experiment, RunOptions};
use eyegan_orchestrator::spec::{self, Experiment};
use eyegan_orchestrator::steps::StepCache;

/// Runs the paper's augmentation-then-classify experiment end to end.
#[derive(Debug, Parser)]
#[command(name = "orchestrate", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs (or resumes) an experiment and writes its report.
    Run {
        /// The experiment file; without it, the embedded `smoke` example.
        file: Option<PathBuf>,
        /// Run an embedded example instead of a file: smoke, demo, paper, own-folder.
        #[arg(long, conflicts_with = "file")]
        example: Option<String>,
        /// Run folder; default runs/<experiment name>.
        #[arg(long)]
        out: Option<PathBuf>,
        /// One JSON event per line on stdout.
        #[arg(long)]
        json: bool,
        /// Rerun this step kind (import, split, gan, generate, classify, evaluate, inspect,
        /// ganquality) or step.
        #[arg(long)]
        force: Vec<String>,
    },
    /// Checks an experiment file and prints what it would do.
    Validate {
        /// The experiment file.
        file: PathBuf,
    },
    /// Shows the state of every step of a run folder.
    Status {
        /// The run folder.
        dir: PathBuf,
    },
    /// Re-renders report.json/md/html from a run folder's stored results.
    Report {
        /// The run folder.
        dir: PathBuf,
    },
}

#[global_allocator]
static ALLOCATOR: eyegan_nn::allocator::Allocator = eyegan_nn::allocator::Allocator;

fn main() -> ExitCode {
    eyegan_nn::allocator::keep_freed_memory();
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn load(file: Option<PathBuf>, example_name: Option<String>) -> Result<Experiment> {
    if let Some(file) = file {
        return Ok(spec::load_experiment(&file)?);
    }
    let name = example_name.unwrap_or_else(|| DEFAULT_EXAMPLE.to_owned());
    let Some(found) = example(&name) else {
        let names: Vec<&str> = EXAMPLES.iter().map(|e| e.name).collect();
        bail!("no example {name:?}; examples are {}", names.join(", "));
    };
    Ok(spec::parse_experiment(
        found.text,
        &format!("{name}.toml"),
        &std::env::current_dir()?,
    )?)
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Validate { file } => {
            let experiment = spec::load_experiment(&file)?;
            print!("{}", spec::summary(&experiment));
            println!("{}: ok", file.display());
            Ok(())
        }
        Command::Run {
            file,
            example,
            out,
            json,
            force,
        } => {
            let experiment = load(file, example)?;
            let progress = if json {
                ProgressMode::Json
            } else {
                ProgressMode::Plain
            };
            let run_dir = out.unwrap_or_else(|| default_run_dir(&experiment));
            let options = RunOptions {
                run_dir: run_dir.clone(),
                force,
                progress,
            };
            let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
            let report = runtime.block_on(run_experiment(experiment, options, async {
                let _ = tokio::signal::ctrl_c().await;
            }))?;
            if !json {
                println!("{}", report.verdict);
                println!("report: {}", run_dir.join("report.html").display());
            }
            Ok(())
        }
        Command::Status { dir } => {
            let records = StepCache::new(&dir).all()?;
            if records.is_empty() {
                println!("{}: no steps recorded", dir.display());
            }
            for record in records {
                let state = if record.done {
                    "done"
                } else {
                    "started, not finished"
                };
                println!(
                    "{:<28} {:<22} attempt {} hash {}",
                    record.name,
                    state,
                    record.attempt,
                    &record.hash[..12]
                );
            }
            Ok(())
        }
        Command::Report { dir } => {
            let results = load_results(&dir)?;
            let report = write_report(&dir, &results)?;
            println!("{}", report.verdict);
            println!("report: {}", dir.join("report.html").display());
            Ok(())
        }
    }
}
