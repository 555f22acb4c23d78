//! `patchbay new`: a new module's skeleton, for a standard and a language,
//! from the templates in `sdk/templates` (embedded in the binary). The
//! skeleton builds and passes its standard's conformance suite as it
//! stands, doing the least the standard allows; its comments say where the
//! supplier's policy goes.

use std::path::{Path, PathBuf};

/// The languages a module can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Language {
    /// Rust, with the SDK in `sdk/`.
    Rust,
    /// Python, with the SDK in `sdk/python`, built by componentize-py.
    Python,
    /// TypeScript, with the SDK in `sdk/typescript`, built by jco and
    /// componentize-js.
    Typescript,
}

/// Why a skeleton could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    /// No template for this standard in this language.
    #[error("there is no {language:?} skeleton for {standard} yet: {hint}")]
    NoTemplate {
        /// The standard asked for.
        standard: String,
        /// The language asked for.
        language: Language,
        /// What to do instead.
        hint: &'static str,
    },
    /// A supplier or module name a package would refuse.
    #[error("'{0}' cannot name a supplier or module: use lowercase letters, digits and '-'")]
    BadName(String),
    /// The directory already holds files.
    #[error(
        "{0} already exists and is not empty: choose a new directory, so nothing is overwritten"
    )]
    NotEmpty(PathBuf),
    /// A file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// One template: its files, by path in the new module.
type Template = &'static [(&'static str, &'static str)];

macro_rules! template {
    ($dir:literal, [$($file:literal),*]) => {
        &[$(($file, include_str!(concat!("../../../sdk/templates/", $dir, "/", $file)))),*]
    };
}

const RUST_SCHEDULING: Template = template!(
    "rust-scheduling",
    ["Cargo.toml", "manifest.toml", "src/lib.rs"]
);
const RUST_PRESCRIBING: Template = template!(
    "rust-prescribing",
    ["Cargo.toml", "manifest.toml", "src/lib.rs"]
);
const PYTHON_SCHEDULING: Template = template!("python-scheduling", ["manifest.toml", "app.py"]);
const PYTHON_PRESCRIBING: Template = template!("python-prescribing", ["manifest.toml", "app.py"]);
const TYPESCRIPT_SCHEDULING: Template =
    template!("typescript-scheduling", ["manifest.toml", "src/app.ts"]);
const TYPESCRIPT_PRESCRIBING: Template = template!(
    "typescript-prescribing",
    ["manifest.toml", "src/app.ts", "src/knowledge.ts"]
);

fn template(standard: &str, language: Language) -> Result<Template, ScaffoldError> {
    let missing = |hint| ScaffoldError::NoTemplate {
        standard: standard.to_string(),
        language,
        hint,
    };
    match (standard, language) {
        ("scheduling", Language::Rust) => Ok(RUST_SCHEDULING),
        ("prescribing", Language::Rust) => Ok(RUST_PRESCRIBING),
        ("scheduling", Language::Python) => Ok(PYTHON_SCHEDULING),
        ("prescribing", Language::Python) => Ok(PYTHON_PRESCRIBING),
        ("scheduling", Language::Typescript) => Ok(TYPESCRIPT_SCHEDULING),
        ("prescribing", Language::Typescript) => Ok(TYPESCRIPT_PRESCRIBING),
        _ => Err(missing("the standards are scheduling and prescribing")),
    }
}

fn check_name(name: &str) -> Result<(), ScaffoldError> {
    let ok = !name.is_empty()
        && !name.starts_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(ScaffoldError::BadName(name.to_string()))
    }
}

/// What a new module is.
#[derive(Debug, Clone)]
pub struct NewModule<'a> {
    /// The standard: `scheduling` or `prescribing`.
    pub standard: &'a str,
    /// The language.
    pub language: Language,
    /// The supplier's name, as its packages give it.
    pub supplier: &'a str,
    /// The module's name.
    pub name: &'a str,
    /// The repository's `sdk/` directory (the Rust SDK; the Python and
    /// TypeScript SDKs are in its `python/` and `typescript/`).
    pub sdk: &'a Path,
}

/// Writes a new module's skeleton into `dir` (made if missing, refused if
/// it holds anything); returns the files written.
pub fn write(module: &NewModule, dir: &Path) -> Result<Vec<PathBuf>, ScaffoldError> {
    let files = template(module.standard, module.language)?;
    check_name(module.supplier)?;
    check_name(module.name)?;
    if std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some()) {
        return Err(ScaffoldError::NotEmpty(dir.to_path_buf()));
    }
    let krate = format!("{}-{}", module.supplier, module.name);
    let sdk = module.sdk.display().to_string();
    let python_build = module
        .sdk
        .join("python")
        .join("build")
        .display()
        .to_string();
    let typescript_build = module
        .sdk
        .join("typescript")
        .join("build")
        .display()
        .to_string();
    let fill = |text: &str| {
        text.replace("{{supplier}}", module.supplier)
            .replace("{{name}}", module.name)
            .replace("{{crate}}", &krate)
            .replace("{{wasm}}", &krate.replace('-', "_"))
            .replace("{{sdk}}", &sdk)
            .replace("{{python_build}}", &python_build)
            .replace("{{typescript_build}}", &typescript_build)
    };
    let mut written = Vec::new();
    for (path, text) in files {
        let path = dir.join(path);
        let write = |path: &Path| -> std::io::Result<()> {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(path, fill(text))
        };
        write(&path).map_err(|source| ScaffoldError::Write {
            path: path.clone(),
            source,
        })?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skeletons_are_filled_in_and_never_overwrite() {
        let dir =
            std::env::temp_dir().join(format!("scaffold-{}", crate::store::records::new_id()));
        let module = NewModule {
            standard: "prescribing",
            language: Language::Rust,
            supplier: "acme",
            name: "prescribing",
            sdk: Path::new("/opt/care/sdk"),
        };
        let written = write(&module, &dir).expect("written");
        assert_eq!(written.len(), 3);
        let cargo = std::fs::read_to_string(dir.join("Cargo.toml")).expect("Cargo.toml");
        assert!(cargo.contains("name = \"acme-prescribing\""), "{cargo}");
        assert!(cargo.contains("path = \"/opt/care/sdk\""), "{cargo}");
        let lib = std::fs::read_to_string(dir.join("src/lib.rs")).expect("lib.rs");
        assert!(
            lib.contains("acme_prescribing.wasm") && !lib.contains("{{"),
            "{lib}"
        );
        assert!(matches!(
            write(&module, &dir),
            Err(ScaffoldError::NotEmpty(_))
        ));
        let unknown = NewModule {
            standard: "referrals",
            ..module.clone()
        };
        let other = dir.join("other");
        assert!(matches!(
            write(&unknown, &other),
            Err(ScaffoldError::NoTemplate { .. })
        ));
        let bad = NewModule {
            supplier: "Acme Ltd",
            ..module
        };
        assert!(matches!(
            write(&bad, &other),
            Err(ScaffoldError::BadName(_))
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
