//! Client commands of the `eyegan-dataset` binary: they talk to a running dataset service.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use eyegan_dataset::client::{format_import_result, format_version_summary, DatasetClient};
use eyegan_proto::common::v1::DatasetRef;
use eyegan_proto::dataset::v1 as pb;
use eyegan_service::{default_listen, ports, ClientSecurityArgs};

/// The dataset service a client command talks to.
#[derive(Debug, Clone, clap::Args)]
pub struct EndpointArg {
    /// URL of the dataset service.
    #[arg(long, env = "EYEGAN_DATASET_ENDPOINT", default_value_t = format!("http://{}", default_listen(ports::DATASET)))]
    endpoint: String,

    /// TLS (for https:// endpoints) and bearer token.
    #[command(flatten)]
    security: ClientSecurityArgs,
}

/// Import options shared by `import` and `phantom`.
#[derive(Debug, Clone, clap::Args)]
pub struct OptionsArgs {
    /// Rename a class folder: `--map diabetic_retinopathy=dr` (repeatable).
    #[arg(long = "map", value_name = "FOLDER=CLASS", value_parser = parse_mapping)]
    mappings: Vec<(String, String)>,
    /// Keep at most this many images per class (seeded choice); 0 = all.
    #[arg(long, default_value_t = 0)]
    cap: u32,
    /// Seed of the per-class choice.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Side of the stored square images.
    #[arg(long, default_value_t = 64)]
    size: u32,
    /// Do not keep the original files in the store.
    #[arg(long)]
    no_originals: bool,
    /// Do not crop the black border around the fundus.
    #[arg(long)]
    no_crop: bool,
    /// Fail on the first bad file instead of reporting it.
    #[arg(long)]
    strict: bool,
    /// Free text stored with the dataset.
    #[arg(long, default_value = "")]
    description: String,
}

impl OptionsArgs {
    fn to_proto(&self) -> pb::ImportOptions {
        pb::ImportOptions {
            class_mapping: self.mappings.iter().cloned().collect::<HashMap<_, _>>(),
            per_class_cap: self.cap,
            seed: self.seed,
            target_size: self.size,
            keep_originals: Some(!self.no_originals),
            strict: self.strict,
            max_pixels: 0,
            crop_fundus: Some(!self.no_crop),
        }
    }
}

fn parse_mapping(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((from, to)) if !from.is_empty() && !to.is_empty() => {
            Ok((from.to_owned(), to.to_owned()))
        }
        _ => Err(format!("{text:?} is not FOLDER=CLASS")),
    }
}

/// The client commands.
#[derive(Debug, clap::Subcommand)]
pub enum ClientCommand {
    /// Upload a local ImageFolder tree (one subfolder per class) as a new dataset.
    Import {
        #[command(flatten)]
        endpoint: EndpointArg,
        /// The folder.
        folder: PathBuf,
        /// Name of the new dataset.
        #[arg(long)]
        name: String,
        #[command(flatten)]
        options: OptionsArgs,
    },
    /// Create a dataset of rendered fundus phantoms.
    Phantom {
        #[command(flatten)]
        endpoint: EndpointArg,
        /// Name of the new dataset.
        #[arg(long)]
        name: String,
        /// Images per class.
        #[arg(long, default_value_t = 100)]
        per_class: u32,
        /// Side of the rendered images before preprocessing.
        #[arg(long, default_value_t = 128)]
        render_size: u32,
        /// Rendering seed.
        #[arg(long, default_value_t = 0)]
        render_seed: u64,
        #[command(flatten)]
        options: OptionsArgs,
    },
    /// List the datasets.
    List {
        #[command(flatten)]
        endpoint: EndpointArg,
    },
    /// Print every version of a dataset with per-class and per-split counts.
    Show {
        #[command(flatten)]
        endpoint: EndpointArg,
        /// Dataset name.
        name: String,
    },
    /// Make the (frozen) train/val/test split of a version.
    Split {
        #[command(flatten)]
        endpoint: EndpointArg,
        /// Dataset name.
        name: String,
        /// Version; 0 = the latest.
        #[arg(long, default_value_t = 0)]
        version: u64,
        /// Seed of the assignment.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Fractions `TRAIN,VAL,TEST`.
        #[arg(long, default_value = "0.7,0.15,0.15")]
        ratios: String,
        /// Regex over file names keeping groups together, e.g. `^(\d+)_`.
        #[arg(long, default_value = "")]
        group_regex: String,
    },
    /// Download a version as an ImageFolder tree.
    Export {
        #[command(flatten)]
        endpoint: EndpointArg,
        /// Dataset name.
        name: String,
        /// Version; 0 = the latest.
        #[arg(long, default_value_t = 0)]
        version: u64,
        /// Local folder to write.
        #[arg(long)]
        out: PathBuf,
        /// Write `<split>/<class>/...` instead of `<class>/...`.
        #[arg(long)]
        split_folders: bool,
    },
}

impl ClientCommand {
    /// Runs the command and prints its result on stdout.
    pub async fn run(self) -> Result<()> {
        match self {
            ClientCommand::Import {
                endpoint,
                folder,
                name,
                options,
            } => {
                let mut client = connect(&endpoint).await?;
                let header = pb::ImportHeader {
                    dataset_name: name,
                    options: Some(options.to_proto()),
                    description: options.description.clone(),
                };
                let result = client
                    .import_folder(&folder, header)
                    .await
                    .with_context(|| format!("importing {}", folder.display()))?;
                print!("{}", format_import_result(&result));
            }
            ClientCommand::Phantom {
                endpoint,
                name,
                per_class,
                render_size,
                render_seed,
                options,
            } => {
                let mut client = connect(&endpoint).await?;
                let result = client
                    .import_phantom(pb::ImportPhantomRequest {
                        dataset_name: name,
                        per_class,
                        render_size,
                        seed: render_seed,
                        options: Some(options.to_proto()),
                        description: options.description.clone(),
                        ..Default::default()
                    })
                    .await?;
                print!("{}", format_import_result(&result));
            }
            ClientCommand::List { endpoint } => {
                let mut client = connect(&endpoint).await?;
                for dataset in client.list_datasets().await? {
                    println!(
                        "{}\tlatest version {}\t{}",
                        dataset.dataset_id, dataset.latest_version, dataset.description
                    );
                }
            }
            ClientCommand::Show { endpoint, name } => {
                let mut client = connect(&endpoint).await?;
                for version in client.list_versions(&name).await? {
                    println!("{}", format_version_summary(&version));
                }
            }
            ClientCommand::Split {
                endpoint,
                name,
                version,
                seed,
                ratios,
                group_regex,
            } => {
                let [train, val, test] = parse_ratios(&ratios)?;
                let mut client = connect(&endpoint).await?;
                let summary = client
                    .create_split(pb::CreateSplitRequest {
                        dataset: Some(DatasetRef {
                            dataset_id: name,
                            version,
                        }),
                        train_ratio: train,
                        val_ratio: val,
                        test_ratio: test,
                        seed,
                        group_regex,
                    })
                    .await?;
                print!("{}", format_version_summary(&summary));
            }
            ClientCommand::Export {
                endpoint,
                name,
                version,
                out,
                split_folders,
            } => {
                let mut client = connect(&endpoint).await?;
                let reference = DatasetRef {
                    dataset_id: name,
                    version,
                };
                let summary = client
                    .export_to_folder(reference, split_folders, &out)
                    .await?;
                println!(
                    "exported {} files ({} bytes) to {}",
                    summary.files,
                    summary.bytes,
                    out.display()
                );
            }
        }
        Ok(())
    }
}

async fn connect(endpoint: &EndpointArg) -> Result<DatasetClient> {
    let security = endpoint.security.load()?;
    let channel = security
        .connect(&endpoint.endpoint)
        .await
        .with_context(|| format!("connecting to the dataset service at {}", endpoint.endpoint))?;
    Ok(DatasetClient::from_channel(channel))
}

fn parse_ratios(text: &str) -> Result<[f64; 3]> {
    let parts: Vec<f64> = text
        .split(',')
        .map(|part| part.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .with_context(|| format!("--ratios {text:?}: expected TRAIN,VAL,TEST fractions"))?;
    match parts.as_slice() {
        [train, val, test] => Ok([*train, *val, *test]),
        _ => bail!("--ratios {text:?}: expected three fractions TRAIN,VAL,TEST"),
    }
}
