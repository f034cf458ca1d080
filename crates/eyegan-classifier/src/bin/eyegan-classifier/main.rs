//! `eyegan-classifier`: the GMD classifier service (`serve`, the default) and its `healthcheck`
//! probe.

use std::process::ExitCode;

use clap::Parser;
use eyegan_classifier::{ClassifierConfig, DEFAULT_MAX_PIXELS, DEFAULT_MAX_UPLOAD_BYTES};
use eyegan_jobs::JobLimitArgs;
use eyegan_service::{ports, run_command, DatasetEndpointArgs, ServiceCommand};

/// EyeGAN GMD classifier service.
#[derive(Debug, Parser)]
#[command(name = "eyegan-classifier", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<ServiceCommand<ClassifierArgs, { ports::CLASSIFIER }>>,
}

/// Flags of the classifier service itself.
#[derive(Debug, Clone, clap::Args)]
struct ClassifierArgs {
    #[command(flatten)]
    dataset: DatasetEndpointArgs,

    #[command(flatten)]
    limits: JobLimitArgs,

    /// Largest accepted Predict upload, in bytes.
    #[arg(long, env = "EYEGAN_CLASSIFIER_MAX_UPLOAD_BYTES", default_value_t = DEFAULT_MAX_UPLOAD_BYTES)]
    max_upload_bytes: u64,

    /// Largest accepted Predict image, in pixels (checked before decoding).
    #[arg(long, env = "EYEGAN_CLASSIFIER_MAX_PIXELS", default_value_t = DEFAULT_MAX_PIXELS)]
    max_pixels: u64,
}

impl From<ClassifierArgs> for ClassifierConfig {
    fn from(args: ClassifierArgs) -> Self {
        ClassifierConfig {
            dataset_endpoint: args.dataset.dataset_endpoint,
            limits: args.limits.into(),
            max_upload_bytes: args.max_upload_bytes,
            max_pixels: args.max_pixels,
        }
    }
}

#[global_allocator]
static ALLOCATOR: eyegan_nn::allocator::Allocator = eyegan_nn::allocator::Allocator;

#[tokio::main]
async fn main() -> ExitCode {
    eyegan_nn::allocator::keep_freed_memory();
    let cli = Cli::parse();
    // No subcommand: serve with flags from the environment.
    let command = match cli.command {
        Some(command) => command,
        None => match Cli::parse_from(["eyegan-classifier", "serve"]).command {
            Some(command) => command,
            None => return ExitCode::FAILURE,
        },
    };
    run_command(command, |context, args| async move {
        eyegan_classifier::run(
            context.listener,
            context.store,
            args.into(),
            context.shutdown,
        )
        .await
    })
    .await
}
