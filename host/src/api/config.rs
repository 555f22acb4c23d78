//! The host's configuration: where it listens, where its data lives, which
//! organisations it serves and which module serves each of their slots, the
//! limits modules run under, and how callers are identified. Everything has a
//! default, so `patchbay serve` with no file runs the demo.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::Deserialize;

use crate::runtime::deployment::Limits;

/// The whole configuration (TOML).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The address to listen on.
    pub listen: SocketAddr,
    /// Where the records store and keys live.
    pub data_dir: PathBuf,
    /// The records in PostgreSQL instead of SQLite in the data directory:
    /// `postgres://USER@HOST:PORT/DATABASE`. Any number of hosts given the
    /// same database serve the same organisations as replicas.
    pub database: Option<String>,
    /// Seed the demo practices' records (schedules, slots, patients).
    pub demo: bool,
    /// The organisations served, by ODS code.
    pub organisations: BTreeMap<String, Organisation>,
    /// Limits for every module unless an organisation says otherwise.
    pub limits: Limits,
    /// How callers are identified.
    pub identity: Identity,
    /// The supplier keys whose signed packages this host accepts.
    pub trust: crate::lifecycle::package::Trust,
    /// When a failing deployment is rolled back (or a failing candidate's
    /// trial ended) automatically.
    pub rollback: crate::runtime::health::RollbackPolicy,
    /// The address clients reach this host at, e.g.
    /// `https://patchbay.example.nhs.uk`: the base of every link in
    /// responses (`Location`, Bundle links). Default: `http://` and the
    /// listen address. Never taken from a request's `Host` header.
    pub public_url: Option<String>,
    /// Where the audit trail's key and anchor live.
    pub audit: AuditFiles,
    /// How the HTTP server treats connections.
    pub http: Http,
    /// The most module calls one organisation may run at once; past it a
    /// call is answered 503 with `Retry-After`, so one organisation's load
    /// cannot starve the others.
    pub max_calls_per_organisation: usize,
}

/// How the HTTP server treats connections: a client that sends nothing, or
/// sends slowly, cannot hold a connection (or the host's file descriptors)
/// for long.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Http {
    /// The most connections open at once; past it, new connections are
    /// closed at once.
    pub max_connections: usize,
    /// How long a client has to send a request's headers, and how long an
    /// idle connection is kept open, in milliseconds.
    pub header_read_timeout_ms: u64,
    /// How long a whole request may take, body included, in milliseconds:
    /// a slower one is answered 408.
    pub request_timeout_ms: u64,
    /// The largest request head (request line and headers), in bytes:
    /// larger is answered 431.
    pub max_header_bytes: usize,
}

impl Default for Http {
    fn default() -> Self {
        Http {
            max_connections: 1024,
            header_read_timeout_ms: 10_000,
            request_timeout_ms: 60_000,
            max_header_bytes: 16 * 1024,
        }
    }
}

/// Where the audit trail's key and anchor live. The key must not be in the
/// database (whoever can write the database must not be able to forge
/// entries); the anchor is best kept where the database's users cannot
/// write, so truncating the trail shows.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditFiles {
    /// The key (32 random bytes, mode 0600); default `audit.key` in the
    /// data directory, made on first start.
    pub key_file: Option<PathBuf>,
    /// The anchor (the head of each chain, signed with the key); default
    /// `audit-anchor.json` in the data directory.
    pub anchor_file: Option<PathBuf>,
}

pub use crate::lifecycle::startup::Organisation;

/// How bearer tokens are verified.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Identity {
    /// The expected `iss` claim.
    pub issuer: String,
    /// The expected `aud` claim.
    pub audience: String,
    /// A JWKS file with the keys (RS256, ES256) of the identity provider
    /// that signs tokens. Required outside development mode; in development
    /// mode without one, the host makes a development key pair in the data
    /// directory, trusts it, and `patchbay token` signs with it.
    pub jwks_file: Option<PathBuf>,
    /// A shared secret for HS256 tokens: only in development mode.
    pub hs256_secret: Option<String>,
    /// Development mode: trusts the development key (with no JWKS) and
    /// allows HS256, and says so loudly in the log. The demo turns it on
    /// too; see [`Config::development`]. Never for real patients' data.
    pub development: bool,
    /// The longest a token may live, from `iat` to `exp`, in seconds.
    pub max_token_lifetime_secs: u64,
    /// The console's client id at the identity provider: with a JWKS, the
    /// console signs people in with OpenID Connect (authorisation code with
    /// PKCE, a public client) against `issuer`, found through its discovery
    /// document, and redirects back to this host's `/`. Without it, the
    /// console can only say where to sign in.
    pub console_client_id: Option<String>,
}

/// The default [`Identity::max_token_lifetime_secs`]: 12 hours.
pub const DEFAULT_MAX_TOKEN_LIFETIME_SECS: u64 = 12 * 3600;

impl Default for Identity {
    fn default() -> Self {
        Identity {
            issuer: "https://patchbay.local/dev".to_string(),
            audience: "patchbay".to_string(),
            jwks_file: None,
            hs256_secret: None,
            development: false,
            max_token_lifetime_secs: DEFAULT_MAX_TOKEN_LIFETIME_SECS,
            console_client_id: None,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        let mut organisations = BTreeMap::new();
        let modules = |scheduling: &str| {
            BTreeMap::from([
                ("scheduling".to_string(), scheduling.to_string()),
                (
                    "prescribing".to_string(),
                    crate::runtime::bundled::NORTHWIND_PRESCRIBING
                        .id
                        .to_string(),
                ),
            ])
        };
        organisations.insert(
            crate::store::demo::ORG.to_string(),
            Organisation {
                name: "Riverside Surgery (demo)".to_string(),
                modules: modules(crate::runtime::bundled::MERIDIAN_SCHEDULING.id),
                limits: None,
                grants: Default::default(),
            },
        );
        organisations.insert(
            crate::store::demo::OTHER_ORG.to_string(),
            Organisation {
                name: "Hillside Practice (demo)".to_string(),
                modules: modules(crate::runtime::bundled::BRAMBLE_SCHEDULING.id),
                limits: None,
                grants: Default::default(),
            },
        );
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("data"),
            database: None,
            demo: true,
            organisations,
            limits: Limits::default(),
            identity: Identity::default(),
            trust: crate::lifecycle::package::Trust::default(),
            rollback: crate::runtime::health::RollbackPolicy::default(),
            public_url: None,
            audit: AuditFiles::default(),
            http: Http::default(),
            max_calls_per_organisation: 64,
        }
    }
}

impl Config {
    /// Reads a configuration file; missing keys take their defaults.
    pub fn load(path: &Path) -> anyhow::Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the configuration {}", path.display()))?;
        Config::parse(&text, path)
    }

    /// Reads a configuration from its TOML text, checking every value;
    /// `path` names it in errors.
    pub fn parse(text: &str, path: &Path) -> anyhow::Result<Config> {
        let config: Config = toml::from_str(text)
            .with_context(|| format!("the configuration {} is not valid", path.display()))?;
        config
            .rollback
            .check()
            .with_context(|| format!("the configuration {} is not valid", path.display()))?;
        anyhow::ensure!(
            config.max_calls_per_organisation > 0,
            "max_calls_per_organisation in {} must be at least 1",
            path.display()
        );
        anyhow::ensure!(
            config.http.max_connections > 0
                && config.http.header_read_timeout_ms > 0
                && config.http.request_timeout_ms > 0,
            "the [http] limits in {} must all be above 0",
            path.display()
        );
        if let Some(url) = &config.database {
            crate::store::database::Location::parse_database(url)
                .with_context(|| format!("database in {} is not valid", path.display()))?;
        }
        if let Some(url) = &config.public_url {
            anyhow::ensure!(
                (url.starts_with("https://") || url.starts_with("http://"))
                    && !url.contains(char::is_whitespace),
                "public_url in {} must be an http(s) URL such as https://patchbay.example.nhs.uk, not '{url}'",
                path.display()
            );
        }
        let max = crate::runtime::deployment::MAX_MEMORY_BYTES;
        let all_limits = std::iter::once(("limits".to_string(), &config.limits)).chain(
            config.organisations.iter().filter_map(|(ods, org)| {
                org.limits
                    .as_ref()
                    .map(|l| (format!("the limits of [organisations.{ods}]"), l))
            }),
        );
        for (name, limits) in all_limits {
            anyhow::ensure!(
                limits.memory_bytes > 0 && limits.memory_bytes <= max,
                "memory_bytes in {name} in {} must be above 0 and at most {max} ({}): the most one instance can have on this host, not {}",
                path.display(),
                crate::runtime::deployment::mib(max),
                limits.memory_bytes
            );
        }
        for ods in config.organisations.keys() {
            let valid =
                !ods.is_empty() && ods.len() <= 9 && ods.chars().all(|c| c.is_ascii_alphanumeric());
            anyhow::ensure!(
                valid,
                "'{ods}' in {} is not an ODS code: 1 to 9 letters and digits",
                path.display()
            );
        }
        Ok(config)
    }

    /// Whether the host runs in development mode: `identity.development`,
    /// or the demo (which turns it on). Only in development mode is the
    /// development key trusted, `patchbay token` allowed, and HS256
    /// accepted.
    pub fn development(&self) -> bool {
        self.identity.development || self.demo
    }

    /// Where the records store is: `database` if set, else `records.db` in
    /// the data directory.
    pub fn database(&self) -> anyhow::Result<crate::store::database::Location> {
        use crate::store::database::Location;
        match &self.database {
            Some(url) => Ok(Location::parse_database(url)?),
            None => Ok(Location::Sqlite(self.data_dir.join("records.db"))),
        }
    }

    /// Where the audit trail's key and anchor are: as configured, or in
    /// the data directory.
    pub fn audit_paths(&self) -> (PathBuf, PathBuf) {
        let key = (self.audit.key_file.clone()).unwrap_or_else(|| self.data_dir.join("audit.key"));
        let anchor = (self.audit.anchor_file.clone())
            .unwrap_or_else(|| self.data_dir.join("audit-anchor.json"));
        (key, anchor)
    }

    /// The audit trail, with its key and anchor.
    pub fn audit_trail(&self) -> anyhow::Result<crate::store::audit::Trail> {
        let (key, anchor) = self.audit_paths();
        crate::store::audit::Trail::open(&key, &anchor)
    }

    /// The base URL of the FHIR API in links: the configured public URL, or
    /// `http://` and the listen address.
    pub fn fhir_base(&self) -> String {
        let base = match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => format!("http://{}", self.listen),
        };
        format!("{base}/fhir")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_configuration_loads_and_matches_the_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/patchbay.toml");
        let example = Config::load(&path).expect("the example loads");
        let default = Config::default();
        assert_eq!(example.listen, default.listen);
        assert_eq!(example.data_dir, default.data_dir);
        assert_eq!(
            example.organisations.keys().collect::<Vec<_>>(),
            default.organisations.keys().collect::<Vec<_>>()
        );
        for (ods, org) in &default.organisations {
            assert_eq!(example.organisations[ods].modules, org.modules, "{ods}");
        }
        assert_eq!(
            example.identity.max_token_lifetime_secs,
            default.identity.max_token_lifetime_secs
        );
        assert_eq!(example.development(), default.development());
    }

    #[test]
    fn development_mode_is_the_demo_or_asked_for() {
        let mut config = Config {
            demo: false,
            ..Config::default()
        };
        assert!(!config.development(), "neither demo nor development");
        config.identity.development = true;
        assert!(config.development());
        config.identity.development = false;
        config.demo = true;
        assert!(config.development(), "the demo turns it on");
    }

    #[test]
    fn a_bad_ods_code_is_refused() {
        let dir = std::env::temp_dir().join(format!("config-{}", crate::store::records::new_id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("bad.toml");
        std::fs::write(&path, "[organisations.\"not an ods\"]\nname = \"x\"\n").expect("write");
        let error = format!("{:#}", Config::load(&path).expect_err("refused"));
        assert!(error.contains("is not an ODS code"), "{error}");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_memory_limit_past_what_an_instance_can_have_is_refused() {
        let path = Path::new("limits.toml");
        let host = Config::parse("[limits]\nmemory_bytes = 536870912\n", path);
        let error = format!("{:#}", host.expect_err("refused"));
        assert!(
            error.contains("memory_bytes in limits in limits.toml must be above 0 and at most 268435456 (256 MiB)"),
            "{error}"
        );
        let org = Config::parse(
            "[organisations.Y1]\nname = \"x\"\nlimits = { memory_bytes = 536870912, deadline = 500 }\n",
            path,
        );
        let error = format!("{:#}", org.expect_err("refused"));
        assert!(error.contains("[organisations.Y1]"), "{error}");
        let fits = Config::parse(
            "[organisations.Y1]\nname = \"x\"\nlimits = { memory_bytes = 268435456, deadline = 500 }\n",
            path,
        );
        assert!(fits.is_ok(), "{:?}", fits.err());
    }
}
