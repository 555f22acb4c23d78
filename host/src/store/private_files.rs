//! Private directories and secret files: the one place that decides what
//! "private to this host's user" means.
//!
//! The data directory holds patients' records and the host's keys, so it is
//! made mode 0700 and must belong to the user the host runs as; a directory
//! someone else owns (or a symbolic link, which someone else may redirect) is
//! refused. Secrets are written mode 0600, atomically, and read back only
//! after checking they are still private: a secret another user owns, or
//! could read or write, may have been copied or planted, and the caller
//! decides what to do with it (replace it, or refuse to start).
//!
//! On targets without Unix permissions these checks are skipped.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

/// Why a secret file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The file is not private to this user: owned by another user, not a
    /// regular file (a symbolic link, say), or open to group or others.
    #[error(
        "the secret {} is not private to this host's user: {why}",
        path.display()
    )]
    NotPrivate {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        why: String,
    },
    /// It cannot be read.
    #[error("cannot read the secret {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// The effective user id of this process: the user files must belong to.
#[cfg(unix)]
pub fn effective_uid() -> u32 {
    // SAFETY: geteuid has no preconditions, touches no memory and cannot
    // fail.
    unsafe { libc::geteuid() }
}

/// Makes `dir` (and its missing parents) a directory private to this user,
/// mode 0700. An existing directory must be a real directory (not a symbolic
/// link) owned by this user; if group or others have access, it is
/// tightened to 0700 and a warning logged.
pub fn ensure_private_dir(dir: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _, PermissionsExt as _};
        let metadata = match std::fs::symlink_metadata(dir) {
            Ok(metadata) => metadata,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(dir)
                    .with_context(|| format!("cannot create the directory {}", dir.display()))?;
                // The umask may have taken bits away; set exactly 0700.
                return std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                    .with_context(|| format!("cannot make {} private (0700)", dir.display()));
            }
            Err(e) => {
                return Err(anyhow::Error::new(e)
                    .context(format!("cannot inspect the directory {}", dir.display())));
            }
        };
        anyhow::ensure!(
            !metadata.file_type().is_symlink(),
            "{} is a symbolic link: point the configuration at the real directory, which must belong to this host's user",
            dir.display()
        );
        anyhow::ensure!(
            metadata.is_dir(),
            "{} is not a directory: remove it or choose another path",
            dir.display()
        );
        let me = effective_uid();
        anyhow::ensure!(
            metadata.uid() == me,
            "the directory {} belongs to user id {}, not to the user this host runs as (uid {me}): another user could read or plant files in it. Give it to this user (chown) or choose another directory",
            dir.display(),
            metadata.uid()
        );
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).with_context(
                || {
                    format!(
                        "{} is open to other users (mode {mode:04o}) and cannot be made private: chmod 700 it",
                        dir.display()
                    )
                },
            )?;
            tracing::warn!(dir = %dir.display(), was = %format!("{mode:04o}"),
                "the directory was open to other users: made it private (0700)");
        }
        ensure_writable(dir)
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the directory {}", dir.display()))
    }
}

/// Checks that this process can write in `dir`, so a read-only data
/// directory is found at start, with what to do, not at the first write.
#[cfg(unix)]
fn ensure_writable(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::ffi::OsStrExt as _;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes())
        .with_context(|| format!("{} has a NUL byte in its name", dir.display()))?;
    // SAFETY: `path` is a valid NUL-terminated string that outlives the call.
    if unsafe { libc::access(path.as_ptr(), libc::W_OK) } == 0 {
        return Ok(());
    }
    let error = std::io::Error::last_os_error();
    if error.raw_os_error() == Some(libc::EROFS) {
        anyhow::bail!(
            "the directory {} is on a read-only filesystem: make it writable (the host keeps its records, keys and audit anchor there), then start again",
            dir.display()
        );
    }
    anyhow::bail!(
        "the directory {} is not writable by this host's user ({error}): make it writable (the host keeps its records, keys and audit anchor there), then start again",
        dir.display()
    )
}

/// Creates an empty file readable by this user only (mode 0600), if there
/// is none; an existing file is left as it is (see [`ensure_private_file`]).
pub fn create_private_file(path: &Path) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(anyhow::Error::new(e).context(format!("cannot create {}", path.display()))),
    }
}

/// Makes an existing file private to this user: refused if another user
/// owns it (its contents may not be ours); tightened to 0600, with a
/// warning, if group or others have access. Returns whether the file
/// exists. A symbolic link is followed: the file it names is checked.
pub fn ensure_private_file(path: &Path) -> anyhow::Result<bool> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
        let metadata = match std::fs::metadata(path) {
            Ok(metadata) => metadata,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => {
                return Err(
                    anyhow::Error::new(e).context(format!("cannot inspect {}", path.display()))
                );
            }
        };
        let me = effective_uid();
        anyhow::ensure!(
            metadata.uid() == me,
            "{} belongs to user id {}, not to the user this host runs as (uid {me}): its contents may not be this host's. Give it to this user (chown) if they are, or choose another data directory",
            path.display(),
            metadata.uid()
        );
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).with_context(
                || {
                    format!(
                        "{} is open to other users (mode {mode:04o}) and cannot be made private: chmod 600 it",
                        path.display()
                    )
                },
            )?;
            tracing::warn!(file = %path.display(), was = %format!("{mode:04o}"),
                "the file was open to other users: made it private (0600)");
        }
        Ok(true)
    }
    #[cfg(not(unix))]
    Ok(path.exists())
}

/// Writes a file readable by this user only (mode 0600), atomically: a
/// temporary file beside it, renamed into place, so a reader never sees half
/// of it. On failure the temporary file is removed.
pub fn write_private(path: &Path, data: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension(format!("tmp-{}", uuid::Uuid::new_v4()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options
        .open(&tmp)
        .with_context(|| format!("cannot create {}", tmp.display()))
        .and_then(|mut file| {
            file.write_all(data)?;
            file.sync_all()?;
            Ok(())
        })
        .and_then(|()| {
            std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
        });
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Reads a secret file: `Ok(None)` if there is none. A file that is not
/// private to this user (owned by another user, not a regular file, or
/// readable or writable by group or others) is [`SecretError::NotPrivate`],
/// and its contents are not returned.
pub fn read_secret(path: &Path) -> Result<Option<Vec<u8>>, SecretError> {
    let io = |source: std::io::Error| SecretError::Io {
        path: path.to_path_buf(),
        source,
    };
    #[cfg(unix)]
    {
        use std::io::Read as _;
        use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _, PermissionsExt as _};
        let not_private = |why: String| SecretError::NotPrivate {
            path: path.to_path_buf(),
            why,
        };
        // Look before opening, so a FIFO or device is never opened.
        match std::fs::symlink_metadata(path) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(not_private(
                    "it is a symbolic link, which another user may point anywhere".into(),
                ));
            }
            Ok(m) if !m.is_file() => return Err(not_private("it is not a regular file".into())),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(e)),
        }
        // Then check the file actually opened, in case it was swapped.
        let mut file = match std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(path)
        {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                return Err(not_private(
                    "it is a symbolic link, which another user may point anywhere".into(),
                ));
            }
            Err(e) => return Err(io(e)),
        };
        let metadata = file.metadata().map_err(io)?;
        if !metadata.is_file() {
            return Err(not_private("it is not a regular file".into()));
        }
        let me = effective_uid();
        if metadata.uid() != me {
            return Err(not_private(format!(
                "it belongs to user id {}, not to the user this host runs as (uid {me})",
                metadata.uid()
            )));
        }
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(not_private(format!(
                "its mode {mode:04o} lets group or others read or write it"
            )));
        }
        let mut data = Vec::new();
        file.read_to_end(&mut data).map_err(io)?;
        Ok(Some(data))
    }
    #[cfg(not(unix))]
    {
        match std::fs::read(path) {
            Ok(data) => Ok(Some(data)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(e)),
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    /// Someone else: `nobody`, as the tests run as root.
    const OTHER_UID: u32 = 65534;

    struct TempDir(PathBuf);

    impl TempDir {
        fn new() -> TempDir {
            let dir = std::env::temp_dir().join(format!("private-files-{}", uuid::Uuid::new_v4()));
            std::fs::create_dir_all(&dir).expect("temp dir");
            TempDir(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn mode(path: &Path) -> u32 {
        std::fs::symlink_metadata(path)
            .expect("metadata")
            .permissions()
            .mode()
            & 0o777
    }

    fn chmod(path: &Path, mode: u32) {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    }

    fn give_away(path: &Path) {
        std::os::unix::fs::chown(path, Some(OTHER_UID), Some(OTHER_UID)).expect("chown");
    }

    #[test]
    fn a_missing_directory_is_made_private_with_its_parents() {
        let temp = TempDir::new();
        let dir = temp.0.join("data").join("artifacts");
        ensure_private_dir(&dir).expect("made");
        assert!(dir.is_dir());
        assert_eq!(mode(&dir), 0o700);
        ensure_private_dir(&dir).expect("an existing private directory is fine");
    }

    #[test]
    fn a_loose_directory_is_tightened() {
        let temp = TempDir::new();
        let dir = temp.0.join("data");
        std::fs::create_dir(&dir).expect("dir");
        chmod(&dir, 0o755);
        ensure_private_dir(&dir).expect("tightened");
        assert_eq!(mode(&dir), 0o700);
    }

    #[test]
    fn a_directory_owned_by_another_user_is_refused() {
        let temp = TempDir::new();
        let dir = temp.0.join("data");
        std::fs::create_dir(&dir).expect("dir");
        chmod(&dir, 0o700);
        give_away(&dir);
        let error = format!("{:#}", ensure_private_dir(&dir).expect_err("refused"));
        assert!(error.contains(&dir.display().to_string()), "{error}");
        assert!(error.contains(&format!("user id {OTHER_UID}")), "{error}");
        assert!(error.contains("chown"), "{error}");
    }

    #[test]
    fn a_symlinked_directory_is_refused() {
        let temp = TempDir::new();
        let real = temp.0.join("real");
        std::fs::create_dir(&real).expect("dir");
        let link = temp.0.join("data");
        std::os::unix::fs::symlink(&real, &link).expect("symlink");
        let error = format!("{:#}", ensure_private_dir(&link).expect_err("refused"));
        assert!(error.contains("symbolic link"), "{error}");
    }

    #[test]
    fn a_file_is_created_private_and_kept_private() {
        let temp = TempDir::new();
        let path = temp.0.join("records.db");
        assert!(!ensure_private_file(&path).expect("none"));
        create_private_file(&path).expect("created");
        assert_eq!(mode(&path), 0o600);
        chmod(&path, 0o664);
        assert!(ensure_private_file(&path).expect("tightened"));
        assert_eq!(mode(&path), 0o600);
        give_away(&path);
        let error = format!("{:#}", ensure_private_file(&path).expect_err("refused"));
        assert!(error.contains(&format!("user id {OTHER_UID}")), "{error}");
    }

    #[test]
    fn a_secret_is_written_private_and_read_back() {
        let temp = TempDir::new();
        let path = temp.0.join("key");
        assert!(read_secret(&path).expect("no secret").is_none());
        write_private(&path, b"secret").expect("written");
        assert_eq!(mode(&path), 0o600);
        assert_eq!(read_secret(&path).expect("read"), Some(b"secret".to_vec()));
        write_private(&path, b"another").expect("replaced");
        assert_eq!(read_secret(&path).expect("read"), Some(b"another".to_vec()));
        let left: Vec<_> = std::fs::read_dir(&temp.0).expect("dir").flatten().collect();
        assert_eq!(left.len(), 1, "no temporary files are left behind");
    }

    #[test]
    fn a_readable_secret_is_not_private() {
        let temp = TempDir::new();
        let path = temp.0.join("key");
        write_private(&path, b"secret").expect("written");
        chmod(&path, 0o644);
        match read_secret(&path) {
            Err(SecretError::NotPrivate { why, .. }) => assert!(why.contains("0644"), "{why}"),
            other => panic!("expected NotPrivate, got {other:?}"),
        }
    }

    #[test]
    fn a_secret_owned_by_another_user_is_not_private() {
        let temp = TempDir::new();
        let path = temp.0.join("key");
        write_private(&path, b"secret").expect("written");
        give_away(&path);
        match read_secret(&path) {
            Err(SecretError::NotPrivate { why, .. }) => {
                assert!(why.contains(&format!("user id {OTHER_UID}")), "{why}")
            }
            other => panic!("expected NotPrivate, got {other:?}"),
        }
    }

    #[test]
    fn a_symlinked_secret_is_not_private() {
        let temp = TempDir::new();
        let real = temp.0.join("real");
        write_private(&real, b"secret").expect("written");
        let link = temp.0.join("key");
        std::os::unix::fs::symlink(&real, &link).expect("symlink");
        match read_secret(&link) {
            Err(SecretError::NotPrivate { why, .. }) => {
                assert!(why.contains("symbolic link"), "{why}")
            }
            other => panic!("expected NotPrivate, got {other:?}"),
        }
    }
}
