//! Modules: a supplier's component, identified by `supplier/name@version` and
//! by the SHA-256 of its bytes, compiled once and checked against a standard.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use crate::runtime::artifact_cache::{ArtifactCache, Origin};
use crate::runtime::standard::{Shape, Standard, World, WorldMismatch};

/// A module's name: `supplier/name@version`, e.g. `meridian/scheduling@1.0.0`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct ModuleId {
    /// The supplier, a company: lowercase letters, digits and `-`.
    pub supplier: String,
    /// The module's name within the supplier's modules.
    pub name: String,
    /// Its version, semver.
    pub version: String,
}

impl fmt::Display for ModuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}@{}", self.supplier, self.name, self.version)
    }
}

impl FromStr for ModuleId {
    type Err = LoadError;

    fn from_str(s: &str) -> Result<Self, LoadError> {
        let bad = || LoadError::BadId(s.to_string());
        let (path, version) = s.split_once('@').ok_or_else(bad)?;
        let (supplier, name) = path.split_once('/').ok_or_else(bad)?;
        let is_name = |t: &str| {
            !t.is_empty()
                && t.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        };
        let parts: Vec<&str> = version.split('.').collect();
        let is_semver = parts.len() == 3
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
        if !is_name(supplier) || !is_name(name) || !is_semver {
            return Err(bad());
        }
        Ok(ModuleId {
            supplier: supplier.to_string(),
            name: name.to_string(),
            version: version.to_string(),
        })
    }
}

/// Why a module was refused.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The name is not `supplier/name@major.minor.patch`.
    #[error(
        "'{0}' is not a module name: write supplier/name@major.minor.patch, e.g. meridian/scheduling@1.0.0, in lowercase"
    )]
    BadId(String),
    /// The bytes are not WebAssembly at all.
    #[error("the file is not WebAssembly (it does not start with the \\0asm header)")]
    NotWasm,
    /// A core module, not a component.
    #[error(
        "the file is a core WebAssembly module, not a component: build it for the wasm32-wasip2 target, or wrap it with `wasm-tools component new`"
    )]
    CoreModule,
    /// The component did not compile.
    #[error("the component is malformed and could not be compiled: {0:#}")]
    Compile(anyhow::Error),
    /// The component fits no standard, or not the one asked for.
    #[error("the component was refused: {0}")]
    World(#[from] WorldMismatch),
    /// The host could not link the component's imports.
    #[error("the component was refused: {0:#}")]
    Link(anyhow::Error),
}

/// The kind of a WebAssembly binary, from its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryKind {
    /// A component (the component model's layer 1).
    Component,
    /// A core module.
    CoreModule,
    /// Not WebAssembly.
    NotWasm,
}

impl BinaryKind {
    /// Reads the kind from a binary's first eight bytes.
    pub fn of(bytes: &[u8]) -> BinaryKind {
        match bytes.get(..8) {
            Some([0, b'a', b's', b'm', _, _, 1, 0]) => BinaryKind::Component,
            Some([0, b'a', b's', b'm', 1, 0, 0, 0]) => BinaryKind::CoreModule,
            _ => BinaryKind::NotWasm,
        }
    }
}

/// The SHA-256 of a module's bytes, in hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A compiled component with its identity and the standard it implements.
pub struct Module {
    /// Its name and version.
    pub id: ModuleId,
    /// The SHA-256 of its bytes.
    pub hash: String,
    /// Its size in bytes.
    pub size: usize,
    /// The standard it implements.
    pub standard: Standard,
    /// The release of the standard it was built against.
    pub world: &'static World,
    /// What it imports and exports.
    pub shape: Shape,
    /// The compiled component.
    pub component: Component,
    /// `supplier/name@version`, shared by its logs and metrics.
    pub label: Arc<str>,
    /// Whether it was compiled now or loaded from the artifact cache.
    pub origin: crate::runtime::artifact_cache::Origin,
}

impl Module {
    /// Compiles a component and checks that it implements a care standard.
    pub fn compile(engine: &Engine, id: ModuleId, bytes: &[u8]) -> Result<Module, LoadError> {
        Module::load(engine, None, id, bytes)
    }

    /// Like [`Module::compile`], but loads the compiled artifact from the
    /// cache when it holds a sound one, and fills the cache when not.
    pub fn load(
        engine: &Engine,
        cache: Option<&ArtifactCache>,
        id: ModuleId,
        bytes: &[u8],
    ) -> Result<Module, LoadError> {
        let hash = sha256_hex(bytes);
        let cached = match BinaryKind::of(bytes) {
            BinaryKind::Component => cache.and_then(|c| c.load(engine, &hash)),
            _ => None,
        };
        let (component, origin) = match cached {
            Some(component) => (component, Origin::Cache),
            None => {
                let component = compile_component(engine, bytes)?;
                (component, Origin::Compiled)
            }
        };
        let shape = Shape::of(engine, &component);
        let world = shape.world()?;
        if let (Some(cache), Origin::Compiled) = (cache, origin) {
            cache.store(&hash, &component);
        }
        Ok(Module {
            label: Arc::from(id.to_string()),
            id,
            hash,
            size: bytes.len(),
            standard: world.standard,
            world,
            shape,
            component,
            origin,
        })
    }
}

/// Compiles a component, refusing anything that is not one with a clear error.
pub fn compile_component(engine: &Engine, bytes: &[u8]) -> Result<Component, LoadError> {
    match BinaryKind::of(bytes) {
        BinaryKind::NotWasm => return Err(LoadError::NotWasm),
        BinaryKind::CoreModule => return Err(LoadError::CoreModule),
        BinaryKind::Component => {}
    }
    Component::from_binary(engine, bytes).map_err(|e| LoadError::Compile(e.into()))
}
