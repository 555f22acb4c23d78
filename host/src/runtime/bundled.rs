//! The modules bundled with the host, built from `modules/` by the build
//! script and embedded in the binary, so the demo runs with nothing else.

use std::path::PathBuf;

use crate::runtime::module::ModuleId;

/// A module embedded in the binary.
#[derive(Debug, Clone, Copy)]
pub struct Bundled {
    /// Its name, `supplier/name@version`.
    pub id: &'static str,
    /// Its component bytes.
    pub bytes: &'static [u8],
}

impl Bundled {
    /// Its parsed name.
    pub fn module_id(&self) -> ModuleId {
        self.id.parse().expect("bundled module names are valid")
    }
}

macro_rules! built {
    ($file:literal) => {
        include_bytes!(concat!(env!("PATCHBAY_WASM_DIR"), "/", $file))
    };
}

/// Meridian Health Systems Ltd's scheduling module: books any free slot.
pub const MERIDIAN_SCHEDULING: Bundled = Bundled {
    id: "meridian/scheduling@1.0.0",
    bytes: built!("meridian_scheduling.wasm"),
};

/// Bramble Clinical Ltd's scheduling module: holds back urgent slots,
/// minimum notice, a limit per patient.
pub const BRAMBLE_SCHEDULING: Bundled = Bundled {
    id: "bramble/scheduling@2.1.0",
    bytes: built!("bramble_scheduling.wasm"),
};

/// Northwind Medicines Ltd's prescribing module.
pub const NORTHWIND_PRESCRIBING: Bundled = Bundled {
    id: "northwind/prescribing@1.0.0",
    bytes: built!("northwind_prescribing.wasm"),
};

/// Every bundled module.
pub const ALL: [Bundled; 3] = [
    MERIDIAN_SCHEDULING,
    BRAMBLE_SCHEDULING,
    NORTHWIND_PRESCRIBING,
];

/// The bundled module with this name, if any.
pub fn find(id: &str) -> Option<Bundled> {
    ALL.into_iter().find(|b| b.id == id)
}

/// Whether a module is one of the bundled ones: its name and its bytes'
/// SHA-256 both match.
pub fn is_bundled(id: &str, hash: &str) -> bool {
    static HASHES: std::sync::OnceLock<Vec<(&'static str, String)>> = std::sync::OnceLock::new();
    HASHES
        .get_or_init(|| {
            ALL.iter()
                .map(|b| (b.id, crate::runtime::module::sha256_hex(b.bytes)))
                .collect()
        })
        .iter()
        .any(|(i, h)| *i == id && h == hash)
}

/// Where the build put a wasm package of the workspace (modules and test
/// fixtures), e.g. `faulty_scheduling`.
#[doc(hidden)]
pub fn built_path(file_stem: &str) -> PathBuf {
    PathBuf::from(env!("PATCHBAY_WASM_DIR")).join(format!("{file_stem}.wasm"))
}
