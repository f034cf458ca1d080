//! `eyegan-generator`: the synthetic image generator service (`serve`, `healthcheck`).

use eyegan_generator::GeneratorArgs;
use eyegan_service::{ports, run_command, ServiceCommand};

#[derive(clap::Parser)]
#[command(
    name = "eyegan-generator",
    version,
    about = "EyeGAN synthetic image generator service"
)]
struct Cli {
    #[command(subcommand)]
    command: ServiceCommand<GeneratorArgs, { ports::GENERATOR }>,
}

#[global_allocator]
static ALLOCATOR: eyegan_nn::allocator::Allocator = eyegan_nn::allocator::Allocator;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    eyegan_nn::allocator::keep_freed_memory();
    let cli = <Cli as clap::Parser>::parse();
    run_command(cli.command, |context, args| async move {
        eyegan_generator::run(
            context.listener,
            context.store,
            args.into(),
            context.shutdown,
        )
        .await
    })
    .await
}
