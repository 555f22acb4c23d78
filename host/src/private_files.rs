//! Private directories and secret files (placeholder; replaced by the full
//! implementation on merge).

use std::path::{Path, PathBuf};

/// Why a secret cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// Not private.
    #[error("{path} is not private: {why}")]
    NotPrivate {
        /// The file.
        path: PathBuf,
        /// Why.
        why: String,
    },
    /// Cannot be read.
    #[error("cannot read {0}")]
    Io(#[from] std::io::Error),
}

/// Makes a private directory.
pub fn ensure_private_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    Ok(())
}

/// Writes a private file.
pub fn write_private(path: &Path, data: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, data)?;
    Ok(())
}

/// Reads a secret.
pub fn read_secret(path: &Path) -> Result<Option<Vec<u8>>, SecretError> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(SecretError::Io(e)),
    }
}
