//! TLS from PEM files (rustls through tonic): the server's identity and the CA it checks client
//! certificates against, and a client's trusted CA and optional client identity.

use std::path::{Path, PathBuf};

use tonic::transport::{Certificate, ClientTlsConfig, Identity, ServerTlsConfig};

/// Why a TLS or token setting could not be loaded. Every variant names the file or flag.
#[derive(Debug, thiserror::Error)]
pub enum SecurityError {
    /// A PEM or token file could not be read.
    #[error("cannot read {what} {path}: {source}")]
    Read {
        /// What the file is for, e.g. `--tls-cert`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A PEM file holds no block of the expected kind.
    #[error("{what} {path} holds no PEM {label} block")]
    NotPem {
        /// What the file is for.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The PEM label looked for, e.g. `CERTIFICATE`.
        label: &'static str,
    },
    /// Two flags that only work together were not given together.
    #[error("{given} needs {missing} as well")]
    Incomplete {
        /// The flag given.
        given: &'static str,
        /// The flag missing.
        missing: &'static str,
    },
    /// A token is unusable.
    #[error("token {origin}: {reason}")]
    BadToken {
        /// Where the token came from: a file and line, or a variable.
        origin: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// The PEM files a TLS server uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerTlsFiles {
    /// Certificate chain of the server (leaf first).
    pub cert: PathBuf,
    /// Private key of the server (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// When set, clients must present a certificate signed by this CA (mutual TLS).
    pub client_ca: Option<PathBuf>,
}

impl ServerTlsFiles {
    /// Reads the files into tonic's server TLS settings; errors name the file.
    pub fn load(&self) -> Result<ServerTlsConfig, SecurityError> {
        install_crypto_provider();
        let identity = load_identity(&self.cert, "--tls-cert", &self.key, "--tls-key")?;
        let mut config = ServerTlsConfig::new().identity(identity);
        if let Some(ca) = &self.client_ca {
            config = config
                .client_ca_root(load_certificate(ca, "--tls-client-ca")?)
                .client_auth_optional(false);
        }
        Ok(config)
    }
}

/// The PEM files a TLS client uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientTlsFiles {
    /// CA that signed the servers' certificates.
    pub ca: Option<PathBuf>,
    /// Client certificate for servers that demand one (mutual TLS).
    pub cert: Option<PathBuf>,
    /// Private key of the client certificate.
    pub key: Option<PathBuf>,
}

impl ClientTlsFiles {
    /// Whether any file is set.
    pub fn is_empty(&self) -> bool {
        self.ca.is_none() && self.cert.is_none() && self.key.is_none()
    }

    /// Reads the files into tonic's client TLS settings; errors name the file.
    pub fn load(&self) -> Result<ClientTlsConfig, SecurityError> {
        install_crypto_provider();
        let mut config = ClientTlsConfig::new();
        if let Some(ca) = &self.ca {
            config = config.ca_certificate(load_certificate(ca, "--tls-ca")?);
        }
        match (&self.cert, &self.key) {
            (Some(cert), Some(key)) => {
                config = config.identity(load_identity(
                    cert,
                    "--tls-client-cert",
                    key,
                    "--tls-client-key",
                )?);
            }
            (Some(_), None) => {
                return Err(SecurityError::Incomplete {
                    given: "--tls-client-cert",
                    missing: "--tls-client-key",
                })
            }
            (None, Some(_)) => {
                return Err(SecurityError::Incomplete {
                    given: "--tls-client-key",
                    missing: "--tls-client-cert",
                })
            }
            (None, None) => {}
        }
        Ok(config)
    }
}

/// Reads a file, naming it and its flag on error.
/// Makes `ring` the process's rustls provider unless one is already installed. rustls picks
/// one by itself only when exactly one provider feature is enabled; binaries that also link
/// the S3 client (aws-lc-rs) have both.
fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

pub(crate) fn read_file(path: &Path, what: &'static str) -> Result<Vec<u8>, SecurityError> {
    std::fs::read(path).map_err(|source| SecurityError::Read {
        what,
        path: path.to_owned(),
        source,
    })
}

/// Reads a PEM file that must hold a block whose label contains `label`.
fn read_pem(
    path: &Path,
    what: &'static str,
    label: &'static str,
) -> Result<Vec<u8>, SecurityError> {
    let pem = read_file(path, what)?;
    let text = String::from_utf8_lossy(&pem);
    let has_block = text
        .lines()
        .any(|line| line.starts_with("-----BEGIN ") && line.contains(label));
    if !has_block {
        return Err(SecurityError::NotPem {
            what,
            path: path.to_owned(),
            label,
        });
    }
    Ok(pem)
}

fn load_certificate(path: &Path, what: &'static str) -> Result<Certificate, SecurityError> {
    Ok(Certificate::from_pem(read_pem(path, what, "CERTIFICATE")?))
}

fn load_identity(
    cert: &Path,
    cert_what: &'static str,
    key: &Path,
    key_what: &'static str,
) -> Result<Identity, SecurityError> {
    Ok(Identity::from_pem(
        read_pem(cert, cert_what, "CERTIFICATE")?,
        read_pem(key, key_what, "PRIVATE KEY")?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_non_pem_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.pem");
        let files = ServerTlsFiles {
            cert: missing.clone(),
            key: missing.clone(),
            client_ca: None,
        };
        let error = files.load().unwrap_err().to_string();
        assert!(
            error.contains("--tls-cert") && error.contains("nope.pem"),
            "{error}"
        );

        let garbage = dir.path().join("garbage.pem");
        std::fs::write(&garbage, "not a certificate").unwrap();
        let files = ClientTlsFiles {
            ca: Some(garbage),
            ..ClientTlsFiles::default()
        };
        let error = files.load().unwrap_err().to_string();
        assert!(
            error.contains("--tls-ca") && error.contains("CERTIFICATE"),
            "{error}"
        );
    }

    #[test]
    fn a_client_certificate_needs_its_key() {
        let files = ClientTlsFiles {
            cert: Some("c.pem".into()),
            ..ClientTlsFiles::default()
        };
        let error = files.load().unwrap_err().to_string();
        assert!(error.contains("--tls-client-key"), "{error}");
    }
}
