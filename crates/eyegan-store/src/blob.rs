//! Content-addressed blob references.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::StoreError;

/// Key prefix under which blobs live: `blobs/sha256/<first 2 hex>/<64 hex>`.
pub const BLOB_PREFIX: &str = "blobs/sha256";

/// Reference to an immutable blob, addressed by the SHA-256 of its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BlobRef {
    /// Lower-case hex SHA-256 of the bytes (64 characters).
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
}

impl BlobRef {
    /// Builds a reference from client- or manifest-supplied parts, checking that `sha256` is 64
    /// lower-case hex digits (so the derived key is always safe).
    pub fn new(sha256: impl Into<String>, size: u64) -> Result<Self, StoreError> {
        let sha256 = sha256.into();
        let well_formed = sha256.len() == 64
            && sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !well_formed {
            return Err(StoreError::InvalidKey {
                key: sha256,
                reason: "a sha256 must be 64 lower-case hex digits".to_owned(),
            });
        }
        Ok(Self { sha256, size })
    }

    /// The reference of `bytes` (hashes them).
    pub fn of(bytes: &[u8]) -> Self {
        Self {
            sha256: hex::encode(Sha256::digest(bytes)),
            size: bytes.len() as u64,
        }
    }

    /// The store key of this blob: `blobs/sha256/<first 2 hex>/<hex>`.
    pub fn key(&self) -> String {
        let fan_out = self.sha256.get(..2).unwrap_or("__");
        format!("{BLOB_PREFIX}/{fan_out}/{}", self.sha256)
    }

    /// Checks `bytes` against this reference: size first, then hash.
    pub(crate) fn verify(&self, bytes: &[u8]) -> Result<(), StoreError> {
        if bytes.len() as u64 != self.size {
            return Err(StoreError::Corrupt {
                key: self.key(),
                reason: format!("size is {} bytes, expected {}", bytes.len(), self.size),
            });
        }
        let actual = hex::encode(Sha256::digest(bytes));
        if actual != self.sha256 {
            return Err(StoreError::Corrupt {
                key: self.key(),
                reason: format!("sha256 is {actual}, expected {}", self.sha256),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_of_known_bytes() {
        let blob = BlobRef::of(b"abc");
        assert_eq!(
            blob.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(blob.size, 3);
        assert_eq!(
            blob.key(),
            "blobs/sha256/ba/ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(BlobRef::new(blob.sha256.clone(), 3).unwrap(), blob);
    }

    #[test]
    fn malformed_hashes_are_rejected() {
        for bad in [
            "",
            "abc",
            &"A".repeat(64),
            &"g".repeat(64),
            &"../".repeat(22),
        ] {
            assert!(BlobRef::new(bad, 1).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn verify_detects_size_and_hash_mismatch() {
        let blob = BlobRef::of(b"abc");
        blob.verify(b"abc").unwrap();
        assert!(matches!(
            blob.verify(b"abcd"),
            Err(StoreError::Corrupt { .. })
        ));
        assert!(matches!(
            blob.verify(b"abd"),
            Err(StoreError::Corrupt { .. })
        ));
    }
}
