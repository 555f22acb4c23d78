//! The standards the host serves, and how a component is matched to one:
//! by the interfaces it exports and imports, checked before it is accepted.

use std::fmt;

use wasmtime::Engine;
use wasmtime::component::Component;

/// A care standard: a provider world of a versioned WIT package.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Standard {
    /// `care:scheduling/scheduling-provider@0.1.0`: appointment booking.
    Scheduling,
    /// `care:prescribing/prescribing-provider@0.1.0`: prescribing with decision support.
    Prescribing,
}

/// Interfaces every standard's modules may import, besides their world's own.
const SHARED_IMPORTS: &[&str] = &[
    "care:types/types@0.1.0",
    "care:types/context@0.1.0",
    "care:types/patients@0.1.0",
];

impl Standard {
    /// Every standard the host serves.
    pub const ALL: [Standard; 2] = [Standard::Scheduling, Standard::Prescribing];

    /// The care function it serves, as used in slot names and the API.
    pub fn function(self) -> &'static str {
        match self {
            Standard::Scheduling => "scheduling",
            Standard::Prescribing => "prescribing",
        }
    }

    /// The standard serving a care function, by name.
    pub fn from_function(name: &str) -> Option<Standard> {
        Self::ALL.into_iter().find(|s| s.function() == name)
    }

    /// The provider world's full name.
    pub fn world(self) -> &'static str {
        match self {
            Standard::Scheduling => "care:scheduling/scheduling-provider@0.1.0",
            Standard::Prescribing => "care:prescribing/prescribing-provider@0.1.0",
        }
    }

    /// The interface a module of this standard exports.
    pub fn export(self) -> &'static str {
        match self {
            Standard::Scheduling => "care:scheduling/booking@0.1.0",
            Standard::Prescribing => "care:prescribing/ordering@0.1.0",
        }
    }

    /// The host interfaces a module of this standard may import, besides
    /// WASI (granted nothing unless its deployment says so).
    pub fn imports(self) -> Vec<&'static str> {
        let own = match self {
            Standard::Scheduling => "care:scheduling/records@0.1.0",
            Standard::Prescribing => "care:prescribing/records@0.1.0",
        };
        let mut all = SHARED_IMPORTS.to_vec();
        all.push(own);
        all
    }

    fn allows_import(self, name: &str) -> bool {
        is_wasi_p2(name) || self.imports().contains(&name)
    }
}

impl fmt::Display for Standard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.world())
    }
}

fn is_wasi_p2(name: &str) -> bool {
    name.starts_with("wasi:") && name.contains("@0.2.")
}

/// The interfaces a component imports and exports, read from its type.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Shape {
    /// Imported instance names, e.g. `care:scheduling/records@0.1.0`.
    pub imports: Vec<String>,
    /// Exported instance names.
    pub exports: Vec<String>,
}

impl Shape {
    /// Reads a compiled component's imports and exports.
    pub fn of(engine: &Engine, component: &Component) -> Shape {
        let ty = component.component_type();
        Shape {
            imports: ty
                .imports(engine)
                .map(|(name, _)| name.to_string())
                .collect(),
            exports: ty
                .exports(engine)
                .map(|(name, _)| name.to_string())
                .collect(),
        }
    }

    /// Which standard the component implements, or why it fits none.
    pub fn standard(&self) -> Result<Standard, WorldMismatch> {
        let standard = Standard::ALL
            .into_iter()
            .find(|s| self.exports.iter().any(|e| e == s.export()))
            .ok_or_else(|| WorldMismatch::NoStandardExport {
                exports: self.exports.clone(),
            })?;
        if let Some(import) = self.imports.iter().find(|i| !standard.allows_import(i)) {
            return Err(WorldMismatch::UnexpectedImport {
                standard,
                import: import.clone(),
            });
        }
        Ok(standard)
    }

    /// Checks that the component implements `expected`.
    pub fn check(&self, expected: Standard) -> Result<(), WorldMismatch> {
        match self.standard() {
            Ok(found) if found == expected => Ok(()),
            Ok(found) => Err(WorldMismatch::WrongStandard { expected, found }),
            Err(e) => Err(e),
        }
    }
}

/// Why a component does not fit a standard's world.
#[derive(Debug, Clone, thiserror::Error)]
pub enum WorldMismatch {
    /// It exports none of the standards' interfaces.
    #[error(
        "it implements no care standard: it exports none of {}; it exports {}",
        Standard::ALL.map(Standard::export).join(", "),
        list_or_nothing(.exports)
    )]
    NoStandardExport {
        /// What it does export.
        exports: Vec<String>,
    },
    /// It imports something its world does not offer.
    #[error(
        "it imports `{import}`, which the {standard} world does not offer; a {} module may import only {} and WASI 0.2",
        standard.function(),
        standard.imports().join(", ")
    )]
    UnexpectedImport {
        /// The standard it exports.
        standard: Standard,
        /// The import the host does not offer to that world.
        import: String,
    },
    /// It implements another standard than the one expected.
    #[error("it implements {found}, not {expected}")]
    WrongStandard {
        /// The standard that was expected, e.g. the slot's.
        expected: Standard,
        /// The standard it implements.
        found: Standard,
    },
}

fn list_or_nothing(items: &[String]) -> String {
    if items.is_empty() {
        "nothing".to_string()
    } else {
        items.join(", ")
    }
}
