//! Compiles every `.proto` file under `<workspace>/proto/` with `protox` (no `protoc` needed) and
//! generates the prost messages and tonic clients/servers with `tonic-prost-build`.
//!
//! Outputs in `OUT_DIR`:
//! - `eyegan.rs`: one nested module tree per protobuf package (`eyegan::common::v1`, ...), included
//!   by `src/lib.rs`;
//! - `file_descriptor_set.bin`: the encoded `FileDescriptorSet` (with imports and source info) that
//!   the reflection service serves.

use std::error::Error;
use std::path::{Path, PathBuf};

fn main() -> Result<(), Box<dyn Error>> {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let proto_root = manifest_dir.join("../../proto").canonicalize()?;
    println!("cargo:rerun-if-changed={}", proto_root.display());

    let mut files = Vec::new();
    collect_proto_files(&proto_root, &mut files)?;
    files.sort();
    if files.is_empty() {
        return Err(format!("no .proto files found under {}", proto_root.display()).into());
    }
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
    }

    let descriptor_set = protox::compile(&files, [&proto_root])
        .map_err(|error| format!("protobuf compilation failed: {error:?}"))?;

    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("file_descriptor_set.bin"),
        prost::Message::encode_to_vec(&descriptor_set),
    )?;

    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .include_file("eyegan.rs")
        .compile_fds(descriptor_set)?;
    Ok(())
}

/// Recursively collects every `*.proto` file below `dir`; directories are printed as
/// `rerun-if-changed` too so a new file triggers a rebuild.
fn collect_proto_files(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), Box<dyn Error>> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            println!("cargo:rerun-if-changed={}", path.display());
            collect_proto_files(&path, files)?;
        } else if path.extension().is_some_and(|ext| ext == "proto") {
            files.push(path);
        }
    }
    Ok(())
}
