//! The standards the host serves, and how a component is matched to one: by
//! the interfaces it exports and imports, judged against exactly what the
//! standard's published provider world under `wit/` says, before the
//! component is accepted.
//!
//! The worlds' imports and exports are read from the WIT by the build script
//! (`host/build.rs` writes them to `worlds.rs`), so the WIT stays the one
//! source of truth: a provider world imports the host's `care:*` interfaces
//! and `wasi:cli/imports` (WASI 0.2 without the command's `run`), and a module
//! may import nothing else.
//!
//! Names match as the component model's linkers match them (wasmtime's, and
//! `wasm-tools component targets --semver-compatible`): the same name, or the
//! same interface on the same semver-compatible track, older or newer: the
//! same major version, or for `0.x` the same `0.x`. So a module built against
//! WASI `0.2.6` fits a world of WASI `0.2.12`, and one built against
//! `care:scheduling@0.1.0` fits a world of `0.1.3`; `0.3` or `1.0` do not. A
//! pre-release or a `0.0.x` version matches only itself. That the functions
//! behind a matching name have the right types is checked next, when the host
//! links the component.
//!
//! A standard has releases: `wit/<function>` publishes its newest, and
//! `wit/<function>-<version>` an earlier one on another track that the host
//! still serves (see docs/standards.md, "How a standard evolves"). A module
//! fits the release whose export it carries.

use std::fmt;

use wasmtime::Engine;
use wasmtime::component::Component;

/// A provider world as its WIT publishes it: one release of a standard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct World {
    /// The standard it is a release of.
    pub standard: Standard,
    /// Its full name, e.g. `care:scheduling/scheduling-provider@0.2.0`.
    pub name: &'static str,
    /// Its WIT package directory in this repository, e.g. `wit/scheduling`.
    pub dir: &'static str,
    /// Everything a module of the world may import, by the names a component
    /// carries, e.g. `care:scheduling/records@0.1.0` or `wasi:io/poll@0.2.12`.
    pub imports: &'static [&'static str],
    /// The interface a module of the world exports.
    pub export: &'static str,
}

/// The provider worlds, read from `wit/` by the build script.
mod published {
    use super::{Standard, World};

    include!(concat!(env!("OUT_DIR"), "/worlds.rs"));
}

/// `care:scheduling/scheduling-provider@0.1.0`, the scheduling standard's
/// first release, served beside the newest: the host adapts its calls.
pub const SCHEDULING_0_1: &World = &published::SCHEDULING_0_1;

impl World {
    /// The release's version, e.g. `0.2.0`.
    pub fn version(&self) -> &'static str {
        self.name.split_once('@').map_or("", |(_, version)| version)
    }

    /// Whether it is its standard's newest release.
    pub fn is_newest(&self) -> bool {
        self.standard.published() == self
    }

    /// The world's import that a component's import `name` matches, if any.
    pub fn import_matching(&self, name: &str) -> Option<&'static str> {
        self.imports
            .iter()
            .copied()
            .find(|offered| names_match(name, offered))
    }

    /// A world import of the same interface as `name` on another version
    /// track, if there is one: what a refused import was probably meant to be.
    fn other_track_of(&self, name: &str) -> Option<&'static str> {
        let base = unversioned(name);
        self.imports
            .iter()
            .copied()
            .find(|offered| unversioned(offered) == base)
    }

    /// The world's imports for people, one package at a time, e.g.
    /// `care:types/{types, context, patients}@0.1.0`.
    pub fn imports_summary(&self) -> String {
        let mut groups: Vec<(&str, Option<&str>, Vec<&str>)> = Vec::new();
        for name in self.imports {
            let (path, version) = match name.split_once('@') {
                Some((path, version)) => (path, Some(version)),
                None => (*name, None),
            };
            let (package, item) = path.rsplit_once('/').unwrap_or(("", path));
            match groups
                .iter_mut()
                .find(|(p, v, _)| *p == package && *v == version)
            {
                Some((_, _, items)) => items.push(item),
                None => groups.push((package, version, vec![item])),
            }
        }
        groups
            .iter()
            .map(|(package, version, items)| {
                let items = match items.as_slice() {
                    [one] => one.to_string(),
                    many => format!("{{{}}}", many.join(", ")),
                };
                let path = if package.is_empty() {
                    items
                } else {
                    format!("{package}/{items}")
                };
                match version {
                    Some(version) => format!("{path}@{version}"),
                    None => path,
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Whether `found`, a name a component imports or exports, names the same
/// interface as `published`, a world's: the same name, or the same interface
/// on the same semver-compatible track (see the module's documentation).
pub fn names_match(found: &str, published: &str) -> bool {
    if found == published {
        return true;
    }
    match (compatible_track(found), compatible_track(published)) {
        (Some(found), Some(published)) => found == published,
        _ => false,
    }
}

/// The name with its version cut to its compatible track, as wasmtime's
/// linker cuts it: `wasi:io/poll@0.2.6` is on `wasi:io/poll@0.2`, and
/// `a:b/c@1.4.0` on `a:b/c@1`. `None` for a name without a version, or with
/// one that nothing else is compatible with (a pre-release, or `0.0.x`).
fn compatible_track(name: &str) -> Option<String> {
    let (base, version) = name.split_once('@')?;
    let version = semver::Version::parse(version).ok()?;
    if !version.pre.is_empty() {
        return None;
    }
    match (version.major, version.minor) {
        (0, 0) => None,
        (0, minor) => Some(format!("{base}@0.{minor}")),
        (major, _) => Some(format!("{base}@{major}")),
    }
}

/// The name without its version.
fn unversioned(name: &str) -> &str {
    name.split_once('@').map_or(name, |(base, _)| base)
}

/// A care standard: a provider world of a versioned WIT package.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Standard {
    /// `care:scheduling/scheduling-provider`: appointment booking.
    Scheduling,
    /// `care:prescribing/prescribing-provider`: prescribing with decision support.
    Prescribing,
}

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

    /// Its newest provider world, as the WIT under `wit/<function>`
    /// publishes it: what new modules are built against.
    pub fn published(self) -> &'static World {
        self.releases()[0]
    }

    /// Every release of it the host serves, newest first.
    pub fn releases(self) -> &'static [&'static World] {
        match self {
            Standard::Scheduling => &[&published::SCHEDULING, &published::SCHEDULING_0_1],
            Standard::Prescribing => &[&published::PRESCRIBING],
        }
    }

    /// Every release of every standard the host serves.
    pub fn every_release() -> impl Iterator<Item = &'static World> {
        Self::ALL
            .into_iter()
            .flat_map(|s| s.releases().iter().copied())
    }

    /// The newest provider world's full name.
    pub fn world(self) -> &'static str {
        self.published().name
    }

    /// The interface a module of its newest release exports.
    pub fn export(self) -> &'static str {
        self.published().export
    }

    /// Everything a module of its newest release may import: the world's
    /// imports, the host's `care:*` interfaces and WASI 0.2 (granted nothing
    /// unless its deployment says so).
    pub fn imports(self) -> &'static [&'static str] {
        self.published().imports
    }
}

impl fmt::Display for Standard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.world())
    }
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

    /// The release whose interface the component exports, whether or not
    /// its imports fit that release's world.
    pub fn exported_world(&self) -> Option<&'static World> {
        Standard::every_release().find(|w| self.exports.iter().any(|e| names_match(e, w.export)))
    }

    /// The standard whose interface the component exports, whether or not
    /// its imports fit that standard's world.
    pub fn exported_standard(&self) -> Option<Standard> {
        self.exported_world().map(|w| w.standard)
    }

    /// The component's imports that `world` does not offer, in the
    /// component's order.
    pub fn imports_outside(&self, world: &World) -> Vec<&str> {
        self.imports
            .iter()
            .map(String::as_str)
            .filter(|i| world.import_matching(i).is_none())
            .collect()
    }

    /// Which release of which standard the component implements, or why it
    /// fits none: it must export a release's interface and import only what
    /// that release's world imports.
    pub fn world(&self) -> Result<&'static World, WorldMismatch> {
        let world = self
            .exported_world()
            .ok_or_else(|| WorldMismatch::NoStandardExport {
                exports: self.exports.clone(),
            })?;
        if let Some(import) = self.imports_outside(world).first() {
            return Err(WorldMismatch::UnexpectedImport {
                world,
                import: import.to_string(),
                other_track: world.other_track_of(import),
            });
        }
        Ok(world)
    }

    /// Which standard the component implements (in any release the host
    /// serves), or why it fits none.
    pub fn standard(&self) -> Result<Standard, WorldMismatch> {
        self.world().map(|w| w.standard)
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
        Standard::every_release().map(|w| w.export).collect::<Vec<_>>().join(", "),
        list_or_nothing(.exports)
    )]
    NoStandardExport {
        /// What it does export.
        exports: Vec<String>,
    },
    /// It imports something its world does not offer.
    #[error(
        "it imports `{import}`, which the {} world does not offer{}; a {} module may import only what its world imports: {}. Rebuild it against the world, and check it with `wasm-tools component targets --semver-compatible {} module.wasm --world {}`",
        world.name,
        other_track.map(|o| format!(" (the world has `{o}`, whose version is not semver-compatible with it)")).unwrap_or_default(),
        world.standard.function(),
        world.imports_summary(),
        world.dir,
        world.name
    )]
    UnexpectedImport {
        /// The release whose interface it exports.
        world: &'static World,
        /// The import the world does not offer.
        import: String,
        /// The world's import of the same interface at a version that is not
        /// compatible, if it has one.
        other_track: Option<&'static str>,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// What a std-built scheduling module of the 0.1.0 release imports: WASI
    /// as its toolchain had it, and the host's records.
    fn scheduling_module(extra: &[&str]) -> Shape {
        let mut imports: Vec<String> = [
            "wasi:io/error@0.2.6",
            "wasi:io/poll@0.2.6",
            "wasi:io/streams@0.2.6",
            "wasi:cli/environment@0.2.6",
            "wasi:cli/exit@0.2.6",
            "wasi:cli/stdin@0.2.6",
            "wasi:cli/stdout@0.2.6",
            "wasi:cli/stderr@0.2.6",
            "wasi:cli/terminal-input@0.2.6",
            "wasi:cli/terminal-output@0.2.6",
            "wasi:cli/terminal-stdin@0.2.6",
            "wasi:cli/terminal-stdout@0.2.6",
            "wasi:cli/terminal-stderr@0.2.6",
            "wasi:clocks/wall-clock@0.2.0",
            "wasi:random/random@0.2.3",
            "wasi:filesystem/preopens@0.2.6",
            "care:types/types@0.1.0",
            "care:types/context@0.1.0",
            "care:scheduling/records@0.1.0",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        imports.extend(extra.iter().map(|s| s.to_string()));
        Shape {
            imports,
            exports: vec!["care:scheduling/booking@0.1.0".to_string()],
        }
    }

    #[test]
    fn the_worlds_are_read_from_the_wit() {
        let world = Standard::Scheduling.published();
        assert_eq!(world.name, "care:scheduling/scheduling-provider@0.2.0");
        assert_eq!(world.export, "care:scheduling/booking@0.2.0");
        assert_eq!(world.dir, "wit/scheduling");
        assert!(world.is_newest());
        let first = Standard::Scheduling.releases()[1];
        assert_eq!(first, SCHEDULING_0_1);
        assert_eq!(first.name, "care:scheduling/scheduling-provider@0.1.0");
        assert_eq!(first.version(), "0.1.0");
        assert_eq!(first.dir, "wit/scheduling-0.1.0");
        assert!(!first.is_newest());
        assert!(first.imports.contains(&"care:scheduling/records@0.1.0"));
        assert!(!first.imports.contains(&"care:scheduling/records@0.2.0"));
        for import in [
            "care:types/types@0.1.0",
            "care:types/context@0.1.0",
            "care:types/patients@0.1.0",
            "care:scheduling/records@0.2.0",
            "wasi:io/poll@0.2.12",
            "wasi:cli/environment@0.2.12",
            "wasi:cli/terminal-stderr@0.2.12",
            "wasi:clocks/monotonic-clock@0.2.12",
            "wasi:filesystem/preopens@0.2.12",
            "wasi:sockets/tcp@0.2.12",
            "wasi:random/insecure-seed@0.2.12",
        ] {
            assert!(world.imports.contains(&import), "{import}: {world:?}");
        }
        // The command's export is no import; unstable features stay off.
        assert!(!world.imports.iter().any(|i| i.starts_with("wasi:cli/run")));
        assert!(!world.imports.iter().any(|i| i.contains("timezone")));
        assert!(
            !world
                .imports
                .iter()
                .any(|i| i.starts_with("care:prescribing/"))
        );
        let world = Standard::Prescribing.published();
        assert_eq!(world.export, "care:prescribing/ordering@0.1.0");
        assert!(world.imports.contains(&"care:prescribing/records@0.1.0"));
        assert!(world.imports.contains(&"wasi:io/streams@0.2.12"));
    }

    #[test]
    fn versions_match_on_their_semver_track() {
        assert!(names_match("wasi:io/poll@0.2.6", "wasi:io/poll@0.2.12"));
        assert!(names_match("wasi:io/poll@0.2.0", "wasi:io/poll@0.2.12"));
        assert!(names_match("wasi:io/poll@0.2.13", "wasi:io/poll@0.2.12"));
        assert!(names_match("a:b/c@1.0.0", "a:b/c@1.4.2"));
        assert!(names_match("a:b/c", "a:b/c"));
        assert!(names_match("a:b/c@0.0.1", "a:b/c@0.0.1"));
        assert!(!names_match("wasi:io/poll@0.3.0", "wasi:io/poll@0.2.12"));
        assert!(!names_match("wasi:io/poll@1.0.0", "wasi:io/poll@0.2.12"));
        assert!(!names_match("a:b/c@2.0.0", "a:b/c@1.4.2"));
        assert!(!names_match("a:b/c@0.0.1", "a:b/c@0.0.2"));
        assert!(!names_match("a:b/c@0.2.1-rc1", "a:b/c@0.2.1"));
        assert!(!names_match("a:b/c", "a:b/c@0.2.1"));
        assert!(!names_match("wasi:io/streams@0.2.6", "wasi:io/poll@0.2.12"));
    }

    #[test]
    fn a_module_of_older_patches_fits_its_world() {
        let shape = scheduling_module(&[]);
        assert_eq!(shape.standard().ok(), Some(Standard::Scheduling));
        assert_eq!(shape.world().ok(), Some(SCHEDULING_0_1));
        assert!(shape.check(Standard::Scheduling).is_ok());
        assert!(shape.imports_outside(SCHEDULING_0_1).is_empty());
    }

    #[test]
    fn a_module_fits_the_release_it_exports() {
        let mut shape = scheduling_module(&[]);
        shape.imports = shape
            .imports
            .iter()
            .map(|i| {
                i.replace(
                    "care:scheduling/records@0.1.0",
                    "care:scheduling/records@0.2.0",
                )
            })
            .collect();
        shape.exports = vec!["care:scheduling/booking@0.2.0".to_string()];
        assert_eq!(shape.world().ok(), Some(Standard::Scheduling.published()));
        // A module of one release may not import another's records.
        let mut mixed = scheduling_module(&["care:scheduling/records@0.2.0"]);
        let text = mixed.world().expect_err("mixed releases").to_string();
        assert!(
            text.contains("imports `care:scheduling/records@0.2.0`"),
            "{text}"
        );
        assert!(
            text.contains("the world has `care:scheduling/records@0.1.0`"),
            "{text}"
        );
        assert!(text.contains("wit/scheduling-0.1.0 module.wasm"), "{text}");
        mixed.exports = vec!["care:scheduling/booking@0.2.0".to_string()];
        let text = mixed.world().expect_err("mixed releases").to_string();
        assert!(
            text.contains("imports `care:scheduling/records@0.1.0`"),
            "{text}"
        );
        assert!(
            text.contains("care:scheduling/scheduling-provider@0.2.0 world"),
            "{text}"
        );
    }

    #[test]
    fn an_import_outside_the_world_is_named() {
        for stray in [
            "fixture:spy/exfiltrate@0.1.0",
            "wasi:http/outgoing-handler@0.2.6",
            "wasi:cli/run@0.2.6",
            "care:prescribing/records@0.1.0",
        ] {
            let shape = scheduling_module(&[stray]);
            let err = shape.standard().expect_err(stray);
            let text = err.to_string();
            assert!(text.contains(&format!("imports `{stray}`")), "{text}");
            assert!(text.contains("wasm-tools component targets"), "{text}");
            assert!(
                text.contains("wasi:io/{error, poll, streams}@0.2.12"),
                "{text}"
            );
            assert_eq!(shape.imports_outside(SCHEDULING_0_1), vec![stray]);
        }
    }

    #[test]
    fn an_import_on_another_major_is_refused_with_the_worlds_version() {
        for (stray, offered) in [
            ("wasi:io/poll@0.3.0", "wasi:io/poll@0.2.12"),
            (
                "care:scheduling/records@1.0.0",
                "care:scheduling/records@0.1.0",
            ),
            ("care:types/context@0.2.0", "care:types/context@0.1.0"),
        ] {
            let text = scheduling_module(&[stray])
                .standard()
                .expect_err(stray)
                .to_string();
            assert!(text.contains(&format!("imports `{stray}`")), "{text}");
            assert!(
                text.contains(&format!("the world has `{offered}`")),
                "{text}"
            );
        }
    }

    #[test]
    fn the_export_matches_on_its_track_too() {
        let mut shape = scheduling_module(&[]);
        shape.exports = vec!["care:scheduling/booking@0.1.4".to_string()];
        assert_eq!(shape.world().ok(), Some(SCHEDULING_0_1));
        shape.exports = vec!["care:scheduling/booking@0.3.0".to_string()];
        assert!(matches!(
            shape.standard(),
            Err(WorldMismatch::NoStandardExport { .. })
        ));
    }
}
