//! `eyegan-dataset`: the dataset storage service (`serve`, the default), its `healthcheck`
//! probe, and client commands (`import`, `phantom`, `list`, `show`, `split`, `export`) that talk
//! to a running service.

mod commands;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use eyegan_dataset::import::ServerLimits;
use eyegan_dataset::DatasetConfig;
use eyegan_service::{ports, run_command, ServiceCommand};

use commands::ClientCommand;

/// EyeGAN dataset storage service.
#[derive(Debug, Parser)]
#[command(name = "eyegan-dataset", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    #[command(flatten)]
    Service(ServiceCommand<DatasetArgs, { ports::DATASET }>),
    #[command(flatten)]
    Client(ClientCommand),
}

/// Flags of the dataset service itself.
#[derive(Debug, Clone, clap::Args)]
struct DatasetArgs {
    /// Server folders named by clients (ImportFromPath sources, ExportVersion targets) must lie
    /// below this folder; unset = any absolute folder the service can access, or none at all
    /// when access tokens are required.
    #[arg(long, env = "EYEGAN_DATASET_PATH_ROOT")]
    path_root: Option<PathBuf>,

    /// Refuse images whose header announces more pixels than this, before decoding.
    #[arg(long, env = "EYEGAN_DATASET_MAX_PIXELS", default_value_t = ServerLimits::default().max_pixels)]
    max_pixels: u64,

    /// Refuse files larger than this many bytes.
    #[arg(long, env = "EYEGAN_DATASET_MAX_FILE_BYTES", default_value_t = ServerLimits::default().max_file_bytes)]
    max_file_bytes: u64,

    /// Most files one import may send; past it the import fails with RESOURCE_EXHAUSTED.
    #[arg(long, env = "EYEGAN_DATASET_MAX_IMPORT_FILES", default_value_t = ServerLimits::default().max_import_files)]
    max_import_files: u64,

    /// Most bytes (all files together) one import may send; past it RESOURCE_EXHAUSTED.
    #[arg(long, env = "EYEGAN_DATASET_MAX_IMPORT_BYTES", default_value_t = ServerLimits::default().max_import_bytes)]
    max_import_bytes: u64,
}

impl From<DatasetArgs> for DatasetConfig {
    fn from(args: DatasetArgs) -> Self {
        DatasetConfig {
            limits: ServerLimits {
                max_pixels: args.max_pixels,
                max_file_bytes: args.max_file_bytes,
                max_import_files: args.max_import_files,
                max_import_bytes: args.max_import_bytes,
            },
            path_root: args.path_root,
            server_folders_need_root: false,
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // No subcommand: serve with flags from the environment.
    let command = match cli.command {
        Some(command) => command,
        None => match Cli::parse_from(["eyegan-dataset", "serve"]).command {
            Some(command) => command,
            None => return ExitCode::FAILURE,
        },
    };
    match command {
        Command::Service(command) => {
            run_command(command, |context, args| async move {
                let config = DatasetConfig {
                    server_folders_need_root: context.access_control,
                    ..args.into()
                };
                eyegan_dataset::run(context.listener, context.store, config, context.shutdown).await
            })
            .await
        }
        Command::Client(command) => match command.run().await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("error: {error:#}");
                ExitCode::FAILURE
            }
        },
    }
}
