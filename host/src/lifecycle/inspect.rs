//! `patchbay inspect`: what a component is, which standard it implements,
//! what it imports, or why it fits none. A component is judged against
//! exactly its standard's published world (see [`crate::standard`]): each
//! import is shown with the world's import it matches, or marked as outside
//! the world.

use std::path::Path;

use anyhow::Context as _;
use wasmtime::Engine;

use crate::runtime::module::{BinaryKind, LoadError, compile_component, sha256_hex};
use crate::runtime::standard::{Shape, Standard};

/// What `inspect` found.
#[derive(Debug, serde::Serialize)]
pub struct Report {
    /// The file.
    pub file: String,
    /// Its size in bytes.
    pub size: usize,
    /// Its SHA-256, hex.
    pub sha256: String,
    /// The standard's world it implements, if any.
    pub world: Option<String>,
    /// Its imports and exports, if it is a component.
    pub shape: Option<Shape>,
    /// Why it fits no standard, if it does not.
    pub problem: Option<String>,
    /// Its imports that the world of the standard it exports does not
    /// offer; empty when it exports no standard's interface.
    pub outside_world: Vec<String>,
}

impl Report {
    /// The standard it implements, if any.
    pub fn fits(&self) -> bool {
        self.world.is_some()
    }
}

/// Inspects a file.
pub fn inspect(engine: &Engine, path: &Path) -> anyhow::Result<Report> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(inspect_bytes(engine, &path.display().to_string(), &bytes))
}

/// Inspects a component's bytes, named `file` in the report. Any bytes at
/// all give a report: what is not a component says why in its `problem`.
pub fn inspect_bytes(engine: &Engine, file: &str, bytes: &[u8]) -> Report {
    let mut report = Report {
        file: file.to_string(),
        size: bytes.len(),
        sha256: sha256_hex(bytes),
        world: None,
        shape: None,
        problem: None,
        outside_world: Vec::new(),
    };
    if BinaryKind::of(bytes) != BinaryKind::Component {
        report.problem = compile_component(engine, bytes)
            .err()
            .map(|e| e.to_string());
        return report;
    }
    match compile_component(engine, bytes) {
        Err(e) => report.problem = Some(e.to_string()),
        Ok(component) => {
            let shape = Shape::of(engine, &component);
            if let Some(world) = shape.exported_world() {
                report.outside_world = shape
                    .imports_outside(world)
                    .into_iter()
                    .map(str::to_string)
                    .collect();
            }
            match shape.world() {
                Ok(world) => report.world = Some(world.name.to_string()),
                Err(e) => report.problem = Some(LoadError::from(e).to_string()),
            }
            report.shape = Some(shape);
        }
    }
    report
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "file:    {}", self.file)?;
        writeln!(f, "size:    {} bytes", self.size)?;
        writeln!(f, "sha256:  {}", self.sha256)?;
        match (&self.world, &self.problem) {
            (Some(world), _) => match Standard::every_release().find(|w| w.name == world) {
                Some(w) if w.is_newest() => {
                    writeln!(f, "world:   {world} ({})", w.standard.function())?
                }
                Some(w) => writeln!(
                    f,
                    "world:   {world} ({}, an earlier release: served, its calls adapted to {})",
                    w.standard.function(),
                    w.standard.world()
                )?,
                None => writeln!(f, "world:   {world}")?,
            },
            (None, Some(problem)) => writeln!(f, "world:   none: {problem}")?,
            (None, None) => writeln!(f, "world:   none")?,
        }
        if let Some(shape) = &self.shape {
            writeln!(f, "exports:")?;
            for e in &shape.exports {
                writeln!(f, "  {e}")?;
            }
            writeln!(f, "imports:")?;
            let world = shape.exported_world();
            for i in &shape.imports {
                match world.map(|w| w.import_matching(i)) {
                    Some(None) => writeln!(f, "  {i}  (not in the world)")?,
                    Some(Some(offered)) if offered != i => {
                        writeln!(f, "  {i}  (the world's {offered})")?
                    }
                    _ => writeln!(f, "  {i}")?,
                }
            }
        }
        Ok(())
    }
}
