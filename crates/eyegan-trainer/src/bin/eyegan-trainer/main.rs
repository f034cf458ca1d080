//! `eyegan-trainer`: the GAN trainer service (`serve`) and its `healthcheck` probe.

use std::process::ExitCode;

use clap::Parser;
use eyegan_jobs::JobLimitArgs;
use eyegan_service::{ports, run_command, DatasetEndpointArgs, ServiceCommand};
use eyegan_trainer::TrainerConfig;

/// EyeGAN GAN trainer service.
#[derive(Debug, Parser)]
#[command(name = "eyegan-trainer", version, about)]
struct Cli {
    #[command(subcommand)]
    command: ServiceCommand<TrainerArgs, { ports::TRAINER }>,
}

/// Flags of the trainer itself.
#[derive(Debug, Clone, clap::Args)]
struct TrainerArgs {
    #[command(flatten)]
    dataset: DatasetEndpointArgs,

    #[command(flatten)]
    limits: JobLimitArgs,
}

impl From<TrainerArgs> for TrainerConfig {
    fn from(args: TrainerArgs) -> Self {
        TrainerConfig {
            dataset_endpoint: args.dataset.dataset_endpoint,
            limits: args.limits.into(),
        }
    }
}

#[global_allocator]
static ALLOCATOR: eyegan_nn::allocator::Allocator = eyegan_nn::allocator::Allocator;

#[tokio::main]
async fn main() -> ExitCode {
    eyegan_nn::allocator::keep_freed_memory();
    let cli = Cli::parse();
    run_command(cli.command, |context, args| async move {
        eyegan_trainer::run(
            context.listener,
            context.store,
            args.into(),
            context.shutdown,
        )
        .await
    })
    .await
}
