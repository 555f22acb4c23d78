//! `patchbay serve`: opens the records store, seeds the demo if asked,
//! deploys each organisation's modules, and serves the HTTP API until SIGINT
//! or SIGTERM, letting requests in flight finish.

use std::sync::Arc;

use anyhow::Context as _;
use tokio::net::TcpListener;

use crate::api::config::Config;
use crate::api::identity::Verifier;
use crate::api::{self, AppState};
use crate::lifecycle::registry;
use crate::runtime::bundled;
use crate::runtime::call::now_ms;
use crate::runtime::engine::{EngineSettings, Runtime};
use crate::runtime::standard::Standard;
use crate::store::records::RecordStore;

/// Builds the runtime for a configuration: store, demo seed, deployments.
///
/// Each slot serves its last recorded deployment; a slot with none yet
/// serves the module the configuration names, recorded as its first
/// deployment. After the first start, change modules with `patchbay deploy`.
///
/// The data directory is made private to the host's user first (0700), and
/// refused if another user owns it.
pub fn start(config: &Config) -> anyhow::Result<Runtime> {
    crate::store::private_files::ensure_private_dir(&config.data_dir).with_context(|| {
        format!(
            "the data directory {} holds patients' records and must be private to this host's user",
            config.data_dir.display()
        )
    })?;
    let store = RecordStore::open(&config.database())?;
    crate::store::audit::init(&store)?;
    registry::init(&store)?;
    if config.demo {
        crate::store::demo::seed(&store, now_ms()).context("cannot seed the demo practices")?;
    }
    let settings = EngineSettings {
        cache_dir: Some(config.data_dir.join("artifacts")),
        rollback: config.rollback.clone(),
        audit: Some(config.audit_trail()?),
        ..EngineSettings::default()
    };
    let runtime = Runtime::new(store, &settings)?;
    crate::lifecycle::supervisor::start(&runtime)?;
    for (ods, org) in &config.organisations {
        let limits = org.limits.clone().unwrap_or_else(|| config.limits.clone());
        for (function, spec) in &org.modules {
            let standard = Standard::from_function(function).with_context(|| {
                format!("organisation {ods}: '{function}' is not a care function (scheduling or prescribing)")
            })?;
            let history = registry::history(&*runtime.records().connection()?, ods, function)?;
            if let Some(last) = history.last() {
                let conn = runtime.records().connection()?;
                let stored =
                    registry::module_bytes(&conn, &last.module_hash)?.with_context(|| {
                        format!(
                            "organisation {ods}: module {} is missing from the registry",
                            last.module
                        )
                    })?;
                drop(conn);
                still_trusted(&stored, &config.trust)
                    .with_context(|| format!("organisation {ods}, {function}"))?;
                let module = runtime.compile(stored.label.parse()?, &stored.bytes)?;
                let deployment =
                    runtime.prepare(module, last.limits.clone(), last.grants.clone())?;
                runtime.slots().deploy(ods, deployment)?;
                tracing::info!(org = %ods, slot = %function, module = %last.module, "restored the recorded deployment");
                let trial = registry::trial(&*runtime.records().connection()?, ods, function)?;
                if let Some(trial) = trial {
                    let conn = runtime.records().connection()?;
                    let trusted = registry::module_bytes(&conn, &trial.module_hash)?
                        .map(|m| still_trusted(&m, &config.trust));
                    if !matches!(trusted, Some(Ok(()))) {
                        tracing::warn!(org = %ods, slot = %function, module = %trial.module,
                            "the slot's trial candidate is no longer trusted: its trial is ended");
                        registry::clear_trial(&conn, ods, function)?;
                    }
                }
                // A trial is an experiment: one that cannot come back is
                // ended, and the slot serves its active module.
                if let Err(e) = crate::lifecycle::rollout::restore_trial(&runtime, ods, standard) {
                    tracing::warn!(org = %ods, slot = %function, error = %format!("{e:#}"),
                        "cannot restore the slot's trial: it is ended");
                    registry::clear_trial(&*runtime.records().connection()?, ods, function)?;
                }
                continue;
            }
            let loaded = load_module(spec, &config.trust)
                .with_context(|| format!("organisation {ods}, {function}"))?;
            let compiled = runtime
                .compile(loaded.label.parse()?, &loaded.bytes)
                .with_context(|| format!("organisation {ods}: module {}", loaded.label))?;
            if let Some(world) = &loaded.claimed_world
                && world != compiled.standard.world()
            {
                return Err(crate::lifecycle::package::PackageError::WorldMismatch {
                    claimed: world.clone(),
                    found: format!("implements {}", compiled.standard.world()),
                }
                .into());
            }
            compiled.shape.check(standard).with_context(|| {
                format!(
                    "organisation {ods}: module {} cannot serve {function}",
                    loaded.label
                )
            })?;
            let grants = match &loaded.requested {
                Requested::Manifest(requested) => org.grants.restricted_to(requested),
                Requested::Everything => org.grants.clone(),
                Requested::Nothing => Default::default(),
            };
            let conn = runtime.records().connection()?;
            let requested = match &loaded.requested {
                Requested::Manifest(r) => Some(r.clone()),
                Requested::Everything => Some(crate::lifecycle::package::RequestedGrants {
                    directories: org
                        .grants
                        .directories
                        .keys()
                        .map(|k| (k.clone(), "development".into()))
                        .collect(),
                }),
                Requested::Nothing => None,
            };
            registry::add_module(
                &conn,
                ods,
                &compiled.hash,
                &loaded.label,
                compiled.standard.world(),
                &loaded.bytes,
                requested.as_ref(),
                loaded.signed_by.as_deref(),
                now_ms(),
                "configuration",
            )?;
            registry::record_deployment(
                &conn,
                &registry::DeploymentRecord {
                    id: 0,
                    org: ods.clone(),
                    function: function.clone(),
                    module_hash: compiled.hash.clone(),
                    module: loaded.label.clone(),
                    limits: limits.clone(),
                    grants: grants.clone(),
                    action: "start".into(),
                    reason: "named in the configuration".into(),
                    deployed_ms: now_ms(),
                    deployed_by: "configuration".into(),
                },
            )?;
            drop(conn);
            let deployment = runtime
                .prepare(compiled, limits.clone(), grants)
                .with_context(|| format!("organisation {ods}: module {}", loaded.label))?;
            runtime.slots().deploy(ods, deployment)?;
            tracing::info!(org = %ods, slot = %function, module = %loaded.label, "deployed from the configuration");
        }
    }
    Ok(runtime)
}

/// Checks that a registered module is still admitted by the trust settings:
/// its signing key still trusted for its supplier, or (unsigned) bundled or
/// allowed in development mode. Removing a key revokes its modules.
fn still_trusted(
    stored: &registry::StoredModule,
    trust: &crate::lifecycle::package::Trust,
) -> anyhow::Result<()> {
    match &stored.signed_by {
        Some(key) => {
            let supplier = stored.label.split('/').next().unwrap_or_default();
            if !trust.trusts(supplier, key) {
                return Err(crate::lifecycle::package::PackageError::UnknownKey {
                    supplier: supplier.to_string(),
                    key: key.clone(),
                }
                .into());
            }
        }
        None if bundled::is_bundled(&stored.label, &stored.hash) => {}
        None => anyhow::ensure!(
            trust.allow_unsigned,
            "{} is unsigned and development mode is off: deploy a signed package",
            stored.label
        ),
    }
    Ok(())
}

/// A module named in the configuration, read and (for packages) verified.
struct Loaded {
    label: String,
    bytes: Vec<u8>,
    requested: Requested,
    claimed_world: Option<String>,
    signed_by: Option<String>,
}

/// Reads a module named in the configuration: a bundled module's name; a
/// signed package (`.carepkg`), verified against the trusted supplier keys;
/// or, in development mode only, a bare component written
/// `supplier/name@version=path/to/component.wasm`.
fn load_module(spec: &str, trust: &crate::lifecycle::package::Trust) -> anyhow::Result<Loaded> {
    if spec.ends_with(".carepkg") {
        let text = std::fs::read_to_string(spec)
            .with_context(|| format!("cannot read the package {spec}"))?;
        let verified = crate::lifecycle::package::Package::parse(&text)?
            .verify(trust, trust.allow_unsigned)?;
        return Ok(Loaded {
            label: verified.manifest.module_id()?.to_string(),
            claimed_world: Some(verified.manifest.world.clone()),
            requested: Requested::Manifest(verified.manifest.grants),
            signed_by: verified.signed_by,
            bytes: verified.component,
        });
    }
    if let Some((id, path)) = spec.split_once('=') {
        anyhow::ensure!(
            trust.allow_unsigned,
            "{path} is a bare component, not a signed package: package and sign it (patchbay package), or set trust.allow_unsigned = true for development"
        );
        tracing::warn!(
            module = id,
            "DEVELOPMENT MODE: serving an UNSIGNED component from {path}"
        );
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read the module {path}"))?;
        return Ok(Loaded {
            label: id.to_string(),
            bytes,
            requested: Requested::Everything,
            claimed_world: None,
            signed_by: None,
        });
    }
    let found = bundled::find(spec).with_context(|| {
        let names: Vec<&str> = bundled::ALL.iter().map(|b| b.id).collect();
        format!(
            "'{spec}' is not a bundled module ({}); name a signed package (.carepkg) instead",
            names.join(", ")
        )
    })?;
    Ok(Loaded {
        label: found.id.to_string(),
        bytes: found.bytes.to_vec(),
        requested: Requested::Nothing,
        claimed_world: None,
        signed_by: None,
    })
}

/// What a module asks to be granted.
enum Requested {
    /// What its signed manifest requests.
    Manifest(crate::lifecycle::package::RequestedGrants),
    /// A bare component in development mode: whatever the operator allows.
    Everything,
    /// A bundled module: nothing.
    Nothing,
}

/// Serves the API until a shutdown signal. The identity settings are
/// checked first, so a host that could not verify tokens stops before it
/// opens anything.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let verifier = Verifier::new(&config)?;
    let started = config.clone();
    let runtime = tokio::task::spawn_blocking(move || start(&started)).await??;
    let listen = config.listen;
    let state = AppState {
        runtime,
        verifier: Arc::new(verifier),
        config: Arc::new(config),
        refusals: Default::default(),
    };
    let http = state.config.http.clone();
    let app = api::router(state.clone());
    let listener = TcpListener::bind(listen).await.with_context(|| {
        format!(
            "cannot listen on {listen}: is another server using it? Choose another with --listen"
        )
    })?;
    tracing::info!(address = %listen, "serving: FHIR at /fhir, CDS Hooks at /cds-services, OpenAPI at /openapi.json");
    println!(
        "patchbay is serving on http://{listen} (FHIR base http://{listen}/fhir); Ctrl-C stops it"
    );
    accept(listener, app, &http, shutdown_signal()).await;
    if let Err(e) = state.runtime.audit().flush() {
        tracing::error!(error = %format!("{e:#}"), "cannot write the audit anchor at shutdown");
    }
    tracing::info!("stopped: requests in flight have finished");
    Ok(())
}

/// How long requests in flight get to finish after a shutdown signal.
const DRAIN: std::time::Duration = std::time::Duration::from_secs(30);

/// Accepts connections until `shutdown` resolves, at most
/// `http.max_connections` at once, each with a deadline for its headers
/// (which also closes idle connections); then lets requests in flight
/// finish.
async fn accept(
    listener: TcpListener,
    app: axum::Router,
    http: &crate::api::config::Http,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let open = Arc::new(tokio::sync::Semaphore::new(http.max_connections));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(std::time::Duration::from_millis(
            http.header_read_timeout_ms,
        ))
        .max_header_size(http.max_header_bytes)
        .keep_alive(true);
    let mut shutdown = std::pin::pin!(shutdown);
    let mut refused: u64 = 0;
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, say: wait a little, go on.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(permit) = open.clone().try_acquire_owned() else {
            refused += 1;
            if refused.is_power_of_two() {
                tracing::warn!(%peer, refused, max = http.max_connections,
                    "too many connections open: closing new ones at once");
            }
            drop(stream);
            continue;
        };
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        let connection = builder.serve_connection(hyper_util::rt::TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    tracing::info!("shutting down: finishing requests in flight");
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(DRAIN) => {
            tracing::warn!("requests still in flight after {} s: stopping anyway", DRAIN.as_secs());
        }
    }
}

async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {},
        _ = terminate => {},
    }
}
