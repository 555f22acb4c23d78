//! The precompiled artifact cache: a module compiled once is kept on disk
//! under its SHA-256 and the engine's compatibility key, so a restart or a
//! re-deploy loads machine code instead of compiling again.
//!
//! Loading machine code is `unsafe` in wasmtime: whoever wrote the file
//! chooses what runs. So an entry is trusted only if it carries an HMAC,
//! keyed by a secret only this host holds, over its module hash, engine key
//! and contents. A corrupt entry, a truncated one, or one copied from
//! another host or engine fails that check (or wasmtime's own compatibility
//! check), is deleted, and the module is compiled again.
//!
//! The key is trusted only while it is private: the cache directory must
//! belong to the host's user (it is made 0700), and a key file that is not
//! private (another owner, open to other users, a symbolic link) may be
//! known to someone else, who could have authenticated entries with it. Such
//! a key is replaced and every entry deleted.

use std::hash::{Hash as _, Hasher as _};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use wasmtime::Engine;
use wasmtime::component::Component;

use crate::store::private_files::{SecretError, ensure_private_dir, read_secret, write_private};

/// The first line of every entry.
const MAGIC: &[u8; 20] = b"patchbay-artifact/1\n";
/// The length of an HMAC-SHA256 tag.
const TAG: usize = 32;

/// Where an artifact came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// Compiled from the module's bytes now.
    Compiled,
    /// Loaded from the cache.
    Cache,
    /// Already loaded in this process (another slot, or a recent deployment).
    Memory,
}

/// The on-disk cache of compiled components.
#[derive(Clone)]
pub struct ArtifactCache {
    dir: PathBuf,
    key: [u8; 32],
    engine_key: String,
}

impl ArtifactCache {
    /// Opens (or creates) the cache in `dir` for an engine. The directory
    /// is made private to the host's user, and refused if another user owns
    /// it. The secret that authenticates entries is made on first use,
    /// readable by the host's user only; one that is not private is never
    /// trusted: it is replaced, and every entry deleted.
    pub fn open(dir: &Path, engine: &Engine) -> anyhow::Result<ArtifactCache> {
        ensure_private_dir(dir).with_context(|| {
            format!(
                "the artifact cache {} must be private to this host's user",
                dir.display()
            )
        })?;
        let key_path = dir.join("key");
        let key = match read_secret(&key_path) {
            Ok(Some(bytes)) if bytes.len() == 32 => {
                let mut key = [0u8; 32];
                key.copy_from_slice(&bytes);
                key
            }
            // No key yet, or a damaged one: a new key makes every entry
            // fail its check, so they are all rebuilt.
            Ok(_) => new_key(&key_path)?,
            Err(SecretError::NotPrivate { why, .. }) => {
                tracing::warn!(key = %key_path.display(),
                    "the artifact cache key is not private ({why}): someone else may know it and have written entries with it, so every entry is deleted and a new key made");
                remove_entries(dir);
                let _ = std::fs::remove_file(&key_path);
                new_key(&key_path)?
            }
            Err(e @ SecretError::Io { .. }) => {
                return Err(anyhow::Error::new(e).context(
                    "cannot read the artifact cache key: check the directory belongs to the host's user",
                ));
            }
        };
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let cache = ArtifactCache {
            dir: dir.to_path_buf(),
            key,
            engine_key: format!("{:016x}", hasher.finish()),
        };
        cache.sweep();
        Ok(cache)
    }

    /// Deletes what this engine cannot use and nothing has written or
    /// loaded for a day: entries for another engine key (an older wasmtime,
    /// other settings) and temporary files a crash left behind. (A day, so
    /// two configurations sharing the directory do not sweep each other's.)
    fn sweep(&self) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let ours = format!("-{}.cwasm", self.engine_key);
        let day_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(24 * 3600);
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t < day_ago);
            let unusable =
                name.contains(".tmp-") || (name.ends_with(".cwasm") && !name.ends_with(&ours));
            if old && unusable {
                tracing::info!(entry = %name, "artifact cache: removing a stale entry");
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }

    /// The entry's file for a module hash.
    pub fn path(&self, module_hash: &str) -> PathBuf {
        self.dir
            .join(format!("{module_hash}-{}.cwasm", self.engine_key))
    }

    fn tag(&self, module_hash: &str, artifact: &[u8]) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key)
            .expect("HMAC takes a key of any length");
        mac.update(module_hash.as_bytes());
        mac.update(b"\0");
        mac.update(self.engine_key.as_bytes());
        mac.update(b"\0");
        mac.update(artifact);
        mac
    }

    /// The cached component for a module hash, if there is a sound entry.
    /// An entry that fails its check is deleted and `None` returned.
    pub fn load(&self, engine: &Engine, module_hash: &str) -> Option<Component> {
        let path = self.path(module_hash);
        let data = std::fs::read(&path).ok()?;
        let refuse = |why: &str| {
            tracing::warn!(entry = %path.display(), "artifact cache entry refused ({why}): compiling again");
            let _ = std::fs::remove_file(&path);
            None
        };
        let Some(rest) = data.strip_prefix(MAGIC.as_slice()) else {
            return refuse("not an artifact");
        };
        if rest.len() < TAG {
            return refuse("truncated");
        }
        let (tag, artifact) = rest.split_at(TAG);
        if self.tag(module_hash, artifact).verify_slice(tag).is_err() {
            return refuse(
                "its authentication tag does not match: corrupt, or not written by this host",
            );
        }
        // SAFETY: the artifact was written by `store` on this host for this
        // module hash and engine key: its HMAC, keyed by this host's secret,
        // says so. wasmtime checks its own compatibility again.
        match unsafe { Component::deserialize(engine, artifact) } {
            Ok(component) => {
                // Mark it used, so a sweep by another configuration keeps it.
                if let Ok(file) = std::fs::File::options().write(true).open(&path) {
                    let _ = file.set_modified(std::time::SystemTime::now());
                }
                Some(component)
            }
            Err(e) => refuse(&format!("wasmtime refused it: {e}")),
        }
    }

    /// Stores a compiled component for a module hash. A failure is logged,
    /// not returned: the cache only saves time.
    pub fn store(&self, module_hash: &str, component: &Component) {
        let path = self.path(module_hash);
        let written = component
            .serialize()
            .map_err(anyhow::Error::from)
            .and_then(|artifact| {
                let tag = self.tag(module_hash, &artifact).finalize().into_bytes();
                let mut data = Vec::with_capacity(MAGIC.len() + TAG + artifact.len());
                data.extend_from_slice(MAGIC);
                data.extend_from_slice(&tag);
                data.extend_from_slice(&artifact);
                write_private(&path, &data)
            });
        if let Err(e) = written {
            tracing::warn!(entry = %path.display(), error = %format!("{e:#}"), "cannot write the artifact cache entry");
        }
    }
}

/// Makes and keeps a new secret key for the cache.
fn new_key(path: &Path) -> anyhow::Result<[u8; 32]> {
    let mut key = [0u8; 32];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut key);
    write_private(path, &key)
        .with_context(|| format!("cannot write the artifact cache key {}", path.display()))?;
    Ok(key)
}

/// Deletes every entry in the cache directory, whatever its engine key.
fn remove_entries(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().ends_with(".cwasm") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::bundled::BRAMBLE_SCHEDULING;
    use crate::runtime::module::Module;

    fn engine() -> Engine {
        let mut config = wasmtime::Config::new();
        config.wasm_component_model(true);
        Engine::new(&config).expect("engine")
    }

    fn load(engine: &Engine, cache: &ArtifactCache) -> Module {
        let id = BRAMBLE_SCHEDULING.id.parse().expect("id");
        Module::load(engine, Some(cache), id, BRAMBLE_SCHEDULING.bytes).expect("module")
    }

    fn dir() -> PathBuf {
        std::env::temp_dir().join(format!("artifacts-{}", crate::store::records::new_id()))
    }

    #[test]
    fn a_second_load_comes_from_the_cache_and_survives_reopening() {
        let (engine, dir) = (engine(), dir());
        let cache = ArtifactCache::open(&dir, &engine).expect("cache");
        assert_eq!(load(&engine, &cache).origin, Origin::Compiled);
        assert_eq!(load(&engine, &cache).origin, Origin::Cache);
        let reopened = ArtifactCache::open(&dir, &engine).expect("cache");
        let module = load(&engine, &reopened);
        assert_eq!(module.origin, Origin::Cache);
        assert_eq!(module.standard, crate::Standard::Scheduling);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_corrupt_entry_is_rebuilt_not_trusted() {
        let (engine, dir) = (engine(), dir());
        let cache = ArtifactCache::open(&dir, &engine).expect("cache");
        let module = load(&engine, &cache);
        let path = cache.path(&module.hash);
        let mut data = std::fs::read(&path).expect("entry");
        let middle = data.len() / 2;
        data[middle] ^= 0xff;
        std::fs::write(&path, &data).expect("corrupt it");
        assert_eq!(load(&engine, &cache).origin, Origin::Compiled);
        assert_eq!(load(&engine, &cache).origin, Origin::Cache, "rebuilt");
        std::fs::write(&path, &data[..100]).expect("truncate it");
        assert_eq!(load(&engine, &cache).origin, Origin::Compiled);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn an_entry_from_another_host_is_refused() {
        let engine = engine();
        let (ours, theirs) = (dir(), dir());
        let cache = ArtifactCache::open(&ours, &engine).expect("cache");
        let other = ArtifactCache::open(&theirs, &engine).expect("other host's cache");
        let module = load(&engine, &other);
        std::fs::copy(other.path(&module.hash), cache.path(&module.hash)).expect("plant it");
        assert_eq!(load(&engine, &cache).origin, Origin::Compiled);
        let _ = std::fs::remove_dir_all(ours);
        let _ = std::fs::remove_dir_all(theirs);
    }

    #[test]
    fn the_cache_is_private_and_sheds_what_this_engine_cannot_use() {
        let (engine, dir) = (engine(), dir());
        let cache = ArtifactCache::open(&dir, &engine).expect("cache");
        let module = load(&engine, &cache);
        let stale = [
            dir.join(format!("{}-0123456789abcdef.cwasm", module.hash)),
            dir.join(format!("{}-x.tmp-1", module.hash)),
        ];
        let two_days_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(48 * 3600);
        for path in &stale {
            std::fs::write(path, b"old").expect("plant it");
            let file = std::fs::File::options()
                .write(true)
                .open(path)
                .expect("open");
            file.set_modified(two_days_ago).expect("age it");
        }
        let fresh = dir.join(format!("{}-fedcba9876543210.cwasm", module.hash));
        std::fs::write(&fresh, b"another configuration's").expect("plant it");
        let reopened = ArtifactCache::open(&dir, &engine).expect("cache");
        for path in &stale {
            assert!(!path.exists(), "{} is swept", path.display());
        }
        assert!(
            reopened.path(&module.hash).exists(),
            "this engine's entry stays"
        );
        assert!(
            fresh.exists(),
            "a recent entry of another configuration stays"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode =
                |p: &Path| std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
            assert_eq!(mode(&dir), 0o700);
            assert_eq!(mode(&dir.join("key")), 0o600);
            assert_eq!(mode(&reopened.path(&module.hash)), 0o600);
        }
        let _ = std::fs::remove_dir_all(dir);
    }

    #[cfg(unix)]
    #[test]
    fn a_key_another_user_owns_is_never_trusted() {
        let (engine, dir) = (engine(), dir());
        let cache = ArtifactCache::open(&dir, &engine).expect("cache");
        let module = load(&engine, &cache);
        let entry = cache.path(&module.hash);
        assert!(entry.exists(), "an entry authenticated by the key");
        let key_path = dir.join("key");
        let old_key = std::fs::read(&key_path).expect("key");
        // As if another user had made the key (and so knows it), and written
        // the entry with it: the tests run as root, 65534 is `nobody`.
        std::os::unix::fs::chown(&key_path, Some(65534), Some(65534)).expect("chown");
        let reopened = ArtifactCache::open(&dir, &engine).expect("cache");
        assert!(!entry.exists(), "the entry is deleted");
        let new_key = std::fs::read(&key_path).expect("a new key");
        assert_ne!(new_key, old_key, "a new key is made");
        {
            use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
            let metadata = std::fs::metadata(&key_path).expect("metadata");
            let ours = std::fs::metadata(&dir).expect("the cache directory").uid();
            assert_eq!(metadata.uid(), ours, "the new key is ours");
            assert_eq!(metadata.permissions().mode() & 0o777, 0o600);
        }
        assert_eq!(load(&engine, &reopened).origin, Origin::Compiled);
        assert_eq!(load(&engine, &reopened).origin, Origin::Cache);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[cfg(unix)]
    #[test]
    fn a_cache_directory_another_user_owns_is_refused() {
        let (engine, dir) = (engine(), dir());
        std::fs::create_dir_all(&dir).expect("dir");
        std::os::unix::fs::chown(&dir, Some(65534), Some(65534)).expect("chown");
        let error = format!(
            "{:#}",
            ArtifactCache::open(&dir, &engine).err().expect("refused")
        );
        assert!(error.contains("user id 65534"), "{error}");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn another_engine_configuration_uses_another_entry() {
        let dir = dir();
        let engine = engine();
        let mut config = wasmtime::Config::new();
        config.wasm_component_model(true).epoch_interruption(true);
        let other = Engine::new(&config).expect("engine");
        let a = ArtifactCache::open(&dir, &engine).expect("cache");
        let b = ArtifactCache::open(&dir, &other).expect("cache");
        let hash = crate::runtime::module::sha256_hex(BRAMBLE_SCHEDULING.bytes);
        assert_ne!(a.path(&hash), b.path(&hash));
        let _ = std::fs::remove_dir_all(dir);
    }
}
