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

use std::hash::{Hash as _, Hasher as _};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use wasmtime::Engine;
use wasmtime::component::Component;

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
    /// Opens (or creates) the cache in `dir` for an engine. The secret that
    /// authenticates entries is made on first use, readable by the host's
    /// user only.
    pub fn open(dir: &Path, engine: &Engine) -> anyhow::Result<ArtifactCache> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the artifact cache {}", dir.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let private = std::fs::Permissions::from_mode(0o700);
            if let Err(e) = std::fs::set_permissions(dir, private) {
                tracing::warn!(dir = %dir.display(), error = %e,
                    "cannot make the artifact cache private to this user; its entries stay authenticated");
            }
        }
        let key_path = dir.join("key");
        let key = match std::fs::read(&key_path) {
            Ok(bytes) if bytes.len() == 32 => {
                let mut key = [0u8; 32];
                key.copy_from_slice(&bytes);
                key
            }
            // No key yet, or a damaged one: a new key makes every entry
            // fail its check, so they are all rebuilt.
            Ok(_) => new_key(&key_path)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => new_key(&key_path)?,
            Err(e) => {
                return Err(anyhow::Error::new(e).context(format!(
                    "cannot read the artifact cache key {}: check the directory belongs to the host's user",
                    key_path.display()
                )));
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

/// Writes a file readable by this user only, atomically (a temporary file
/// renamed into place), so a reader never sees half an entry. On failure
/// the temporary file is removed.
fn write_private(path: &Path, data: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension(format!("tmp-{}", crate::store::new_id()));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundled::BRAMBLE_SCHEDULING;
    use crate::module::Module;

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
        std::env::temp_dir().join(format!("artifacts-{}", crate::store::new_id()))
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

    #[test]
    fn another_engine_configuration_uses_another_entry() {
        let dir = dir();
        let engine = engine();
        let mut config = wasmtime::Config::new();
        config.wasm_component_model(true).epoch_interruption(true);
        let other = Engine::new(&config).expect("engine");
        let a = ArtifactCache::open(&dir, &engine).expect("cache");
        let b = ArtifactCache::open(&dir, &other).expect("cache");
        let hash = crate::module::sha256_hex(BRAMBLE_SCHEDULING.bytes);
        assert_ne!(a.path(&hash), b.path(&hash));
        let _ = std::fs::remove_dir_all(dir);
    }
}
