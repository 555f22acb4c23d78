//! Module packages: a component, its manifest and its supplier's ed25519
//! signature over both, in one JSON file (format `care-package/1`,
//! documented in `docs/packages.md`). The host accepts a package only when
//! its signature is by a key the operator trusts for that supplier, and its
//! component implements the world the manifest claims.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier as _, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::runtime::deployment::{MAX_MEMORY_BYTES, RequestedLimits, mib};
use crate::runtime::module::{ModuleId, sha256_hex};
use crate::runtime::standard::{Shape, Standard};

/// The format tag of a package file.
pub const FORMAT: &str = "care-package/1";

/// What a supplier says about its module.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The supplier: lowercase letters, digits and `-`.
    pub supplier: String,
    /// The module's name.
    pub name: String,
    /// Its version, semver.
    pub version: String,
    /// The standard world it implements, e.g.
    /// `care:scheduling/scheduling-provider@0.2.0`.
    pub world: String,
    /// What it does, for the operator.
    pub description: String,
    /// What it asks to be granted beyond the standard's interfaces.
    #[serde(default)]
    pub grants: RequestedGrants,
    /// What it needs to work (`[limits]`): checked against the
    /// organisation's limits before it is deployed.
    #[serde(default)]
    pub limits: RequestedLimits,
}

pub use crate::runtime::deployment::RequestedGrants;

impl Manifest {
    /// The module's name, `supplier/name@version`.
    pub fn module_id(&self) -> Result<ModuleId, PackageError> {
        format!("{}/{}@{}", self.supplier, self.name, self.version)
            .parse()
            .map_err(|e: crate::runtime::module::LoadError| PackageError::Manifest(e.to_string()))
    }
}

/// A signature and the key that made it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SignatureBlock {
    /// Always `ed25519`.
    pub algorithm: String,
    /// The public key, base64 (32 bytes).
    pub public_key: String,
    /// The signature, base64 (64 bytes).
    pub value: String,
}

/// A package file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Package {
    /// [`FORMAT`].
    pub format: String,
    /// The manifest, as TOML text: signed exactly as written.
    pub manifest: String,
    /// The component, base64.
    pub component: String,
    /// The supplier's signature; none for an unsigned package.
    pub signature: Option<SignatureBlock>,
}

/// Why a package was refused.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    /// Not a package file.
    #[error("not a care package: {0}")]
    Format(String),
    /// The manifest cannot be read.
    #[error("the package's manifest is not valid: {0}")]
    Manifest(String),
    /// No signature, and unsigned packages are not allowed.
    #[error(
        "the package is unsigned: sign it with `patchbay package --key`, or allow unsigned modules in development mode"
    )]
    Unsigned,
    /// Signed by a key the host does not trust for that supplier.
    #[error(
        "the package is signed by a key this host does not trust for supplier '{supplier}' (key {key}): add the supplier's public key to [trust.suppliers]"
    )]
    UnknownKey {
        /// The supplier the manifest names.
        supplier: String,
        /// The signing key, base64.
        key: String,
    },
    /// The signature does not match the contents.
    #[error(
        "the package's signature does not match its contents: the manifest or the component was changed after signing"
    )]
    Tampered,
    /// The manifest claims a world the component does not implement.
    #[error("the manifest claims world {claimed}, but the component {found}")]
    WorldMismatch {
        /// What the manifest says.
        claimed: String,
        /// What the component is.
        found: String,
    },
}

/// The bytes a signature covers: the format, the SHA-256 of the manifest
/// text and the SHA-256 of the component, one per line.
pub fn signed_message(manifest: &str, component: &[u8]) -> Vec<u8> {
    format!(
        "{FORMAT}\n{}\n{}\n",
        sha256_hex(manifest.as_bytes()),
        sha256_hex(component)
    )
    .into_bytes()
}

/// A supplier's signing key, stored as base64 of its 32 secret bytes.
pub struct SupplierKey(SigningKey);

impl SupplierKey {
    /// A new random key.
    pub fn generate() -> SupplierKey {
        SupplierKey(SigningKey::generate(&mut rand_core::OsRng))
    }

    /// Reads a key file written by [`SupplierKey::save`]. A key file that
    /// is not private to this user (readable or writable by others, owned by
    /// another user, a symbolic link) is refused.
    pub fn load(path: &Path) -> anyhow::Result<SupplierKey> {
        let data = match crate::store::private_files::read_secret(path) {
            Ok(Some(data)) => data,
            Ok(None) => anyhow::bail!(
                "there is no key {}: make one with `patchbay keygen --out {}`",
                path.display(),
                path.display()
            ),
            Err(e @ crate::store::private_files::SecretError::NotPrivate { .. }) => {
                return Err(anyhow::Error::new(e).context(format!(
                    "refusing the signing key {}: others may have copied it. Make it private with `chmod 600 {}` (as its owner), or make a new key with `patchbay keygen` if it may have leaked",
                    path.display(),
                    path.display()
                )));
            }
            Err(e) => return Err(e.into()),
        };
        let text = String::from_utf8_lossy(&data);
        let bytes = B64
            .decode(text.trim())
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .with_context(|| {
                format!(
                    "{} is not a supplier key (base64 of 32 bytes)",
                    path.display()
                )
            })?;
        Ok(SupplierKey(SigningKey::from_bytes(&bytes)))
    }

    /// Writes the secret key to `path`, readable by this user only (0600),
    /// and the public key to `path.pub`.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        crate::store::private_files::write_private(
            path,
            (B64.encode(self.0.to_bytes()) + "\n").as_bytes(),
        )
        .with_context(|| format!("cannot write the secret key {}", path.display()))?;
        let public = path.with_extension("pub");
        std::fs::write(&public, self.public_key() + "\n")
            .with_context(|| format!("cannot write {}", public.display()))?;
        Ok(())
    }

    /// The public key, base64.
    pub fn public_key(&self) -> String {
        B64.encode(self.0.verifying_key().to_bytes())
    }
}

impl Package {
    /// Builds a package from a manifest's text and a component, signed with
    /// `key` if given.
    pub fn build(
        manifest: &str,
        component: &[u8],
        key: Option<&SupplierKey>,
    ) -> Result<Package, PackageError> {
        Self::parse_manifest(manifest)?;
        let signature = key.map(|k| SignatureBlock {
            algorithm: "ed25519".to_string(),
            public_key: k.public_key(),
            value: B64.encode(k.0.sign(&signed_message(manifest, component)).to_bytes()),
        });
        Ok(Package {
            format: FORMAT.to_string(),
            manifest: manifest.to_string(),
            component: B64.encode(component),
            signature,
        })
    }

    /// Reads a package file's text.
    pub fn parse(text: &str) -> Result<Package, PackageError> {
        let package: Package =
            serde_json::from_str(text).map_err(|e| PackageError::Format(e.to_string()))?;
        if package.format != FORMAT {
            return Err(PackageError::Format(format!(
                "format '{}' is not {FORMAT}",
                package.format
            )));
        }
        Ok(package)
    }

    fn parse_manifest(text: &str) -> Result<Manifest, PackageError> {
        let manifest: Manifest =
            toml::from_str(text).map_err(|e| PackageError::Manifest(e.to_string()))?;
        manifest.module_id()?;
        if let Some(needs) = manifest.limits.memory_bytes
            && needs > MAX_MEMORY_BYTES
        {
            return Err(PackageError::Manifest(format!(
                "[limits] memory_bytes = {needs} asks for {} an instance, more than any instance can have on this host ({})",
                mib(needs),
                mib(MAX_MEMORY_BYTES)
            )));
        }
        Ok(manifest)
    }

    /// The manifest.
    pub fn manifest(&self) -> Result<Manifest, PackageError> {
        Self::parse_manifest(&self.manifest)
    }

    /// The component's bytes.
    pub fn component(&self) -> Result<Vec<u8>, PackageError> {
        B64.decode(&self.component)
            .map_err(|e| PackageError::Format(format!("the component is not base64: {e}")))
    }

    /// Checks the signature against the keys trusted for the manifest's
    /// supplier. `allow_unsigned` admits a package with no signature.
    pub fn verify(&self, trust: &Trust, allow_unsigned: bool) -> Result<Verified, PackageError> {
        let manifest = self.manifest()?;
        let component = self.component()?;
        let Some(signature) = &self.signature else {
            if allow_unsigned {
                tracing::warn!(module = %format!("{}/{}@{}", manifest.supplier, manifest.name, manifest.version),
                    "DEVELOPMENT MODE: accepting an UNSIGNED package");
                return Ok(Verified {
                    manifest,
                    component,
                    signed_by: None,
                });
            }
            return Err(PackageError::Unsigned);
        };
        if signature.algorithm != "ed25519" {
            return Err(PackageError::Format(format!(
                "unsupported signature algorithm '{}'",
                signature.algorithm
            )));
        }
        let key = B64
            .decode(&signature.public_key)
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .and_then(|b| VerifyingKey::from_bytes(&b).ok())
            .ok_or_else(|| {
                PackageError::Format("the signature's public key is not an ed25519 key".into())
            })?;
        let value = B64
            .decode(&signature.value)
            .ok()
            .and_then(|b| <[u8; 64]>::try_from(b).ok())
            .map(|b| Signature::from_bytes(&b))
            .ok_or_else(|| {
                PackageError::Format("the signature is not 64 bytes of base64".into())
            })?;
        if !trust.trusts(&manifest.supplier, &signature.public_key) {
            return Err(PackageError::UnknownKey {
                supplier: manifest.supplier.clone(),
                key: signature.public_key.clone(),
            });
        }
        key.verify(&signed_message(&self.manifest, &component), &value)
            .map_err(|_| PackageError::Tampered)?;
        Ok(Verified {
            manifest,
            component,
            signed_by: Some(signature.public_key.clone()),
        })
    }
}

/// A package whose signature checked out.
pub struct Verified {
    /// Its manifest.
    pub manifest: Manifest,
    /// Its component's bytes.
    pub component: Vec<u8>,
    /// The key that signed it; none for an unsigned package admitted in
    /// development mode.
    pub signed_by: Option<String>,
}

impl Verified {
    /// Compiles the component (filling the runtime's artifact cache, so a
    /// later deploy loads it from disk) and checks it implements the
    /// manifest's world.
    pub fn compile(
        &self,
        runtime: &crate::runtime::engine::Runtime,
    ) -> anyhow::Result<crate::runtime::module::Module> {
        let module = crate::runtime::module::Module::load(
            runtime.engine(),
            runtime.cache(),
            self.manifest.module_id()?,
            &self.component,
        )?;
        self.check_world(&module.shape)?;
        Ok(module)
    }

    /// Checks that the component implements the world the manifest claims.
    pub fn check_world(&self, shape: &Shape) -> Result<Standard, PackageError> {
        let found = shape.world();
        match found {
            Ok(world) if world.name == self.manifest.world => Ok(world.standard),
            Ok(world) => Err(PackageError::WorldMismatch {
                claimed: self.manifest.world.clone(),
                found: format!("implements {}", world.name),
            }),
            Err(e) => Err(PackageError::WorldMismatch {
                claimed: self.manifest.world.clone(),
                found: e.to_string(),
            }),
        }
    }
}

/// The supplier keys a host trusts: supplier name to public keys (base64).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Trust {
    /// Each supplier's trusted public keys.
    pub suppliers: BTreeMap<String, Vec<String>>,
    /// Development mode: admit unsigned packages (logged loudly).
    pub allow_unsigned: bool,
}

impl Trust {
    /// Whether `key` is trusted for `supplier`.
    pub fn trusts(&self, supplier: &str, key: &str) -> bool {
        self.suppliers
            .get(supplier)
            .is_some_and(|keys| keys.iter().any(|k| k.trim() == key))
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    #[test]
    fn a_manifest_needing_more_memory_than_an_instance_can_have_is_refused() {
        let manifest = |memory: usize| {
            format!(
                "supplier = \"acme\"\nname = \"scheduling\"\nversion = \"1.0.0\"\nworld = \"care:scheduling/scheduling-provider@0.2.0\"\ndescription = \"x\"\n[limits]\nmemory_bytes = {memory}\n"
            )
        };
        let refused = Package::build(&manifest(MAX_MEMORY_BYTES + 1), b"", None)
            .expect_err("refused")
            .to_string();
        assert!(
            refused.contains("more than any instance can have on this host (256 MiB)"),
            "{refused}"
        );
        let package = Package::build(&manifest(96 * 1024 * 1024), b"", None).expect("fits");
        assert_eq!(
            package.manifest().expect("manifest").limits.memory_bytes,
            Some(96 * 1024 * 1024)
        );
    }

    #[test]
    fn a_secret_key_is_saved_private_and_refused_when_it_is_not() {
        let dir =
            std::env::temp_dir().join(format!("supplier-key-{}", crate::store::records::new_id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("acme.key");
        let key = SupplierKey::generate();
        key.save(&path).expect("saved");
        let mode = |p: &Path| std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert!(path.with_extension("pub").exists());
        let loaded = SupplierKey::load(&path).expect("loaded");
        assert_eq!(loaded.public_key(), key.public_key());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let error = format!("{:#}", SupplierKey::load(&path).err().expect("refused"));
        assert!(
            error.contains(&format!("chmod 600 {}", path.display())),
            "{error}"
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}
