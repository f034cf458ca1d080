//! The object-store layer of EyeGAN: one [`Store`] handle over `file://`, `memory://` or
//! `s3://` (cargo feature `s3`), holding
//! - content-addressed **blobs** ([`Store::put_blob`], [`Store::get_blob`]) at
//!   `blobs/sha256/<2 hex>/<64 hex>`, verified on every read;
//! - **JSON documents**: immutable, create-only manifests ([`Store::put_json_new`],
//!   [`Store::put_manifest_new`]) and mutable records ([`Store::put_json`]), read with
//!   [`Store::get_json`];
//! - raw objects ([`Store::put_bytes`], [`Store::get_bytes`], [`Store::delete`]) and listings
//!   ([`Store::list_keys`], [`Store::list_children`]).
//!
//! # Write-order rule
//! Data first, references last: write every blob a manifest names, then the manifest (create-only,
//! so a published version never changes). [`Store::put_manifest_new`] enforces it by refusing a
//! manifest whose blobs are missing. Every single write is atomic, so a crash leaves at most an
//! unreferenced blob (harmless, reused by the next identical write), never a manifest that
//! points at nothing and never a half-written object.
//!
//! # Key safety
//! Keys are `/`-separated; every segment must pass [`validate_key_segment`], which services also
//! call on client-supplied names (dataset, class, file names) before building keys from them.

mod blob;
mod error;
mod key;
mod store;
mod url;

pub use blob::{BlobRef, BLOB_PREFIX};
pub use error::StoreError;
pub use key::{validate_key_segment, MAX_SEGMENT_BYTES};
pub use store::Store;
