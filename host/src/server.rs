//! `patchbay serve`: opens the records store, seeds the demo if asked,
//! deploys each organisation's modules, and serves the HTTP API until SIGINT
//! or SIGTERM, letting requests in flight finish.

use std::sync::Arc;

use anyhow::Context as _;
use tokio::net::TcpListener;

use crate::api::{self, AppState};
use crate::bundled;
use crate::call::now_ms;
use crate::config::Config;
use crate::engine::{EngineSettings, Runtime};
use crate::identity::Verifier;
use crate::standard::Standard;
use crate::store::RecordStore;

/// Builds the runtime for a configuration: store, demo seed, deployments.
pub fn start(config: &Config) -> anyhow::Result<Runtime> {
    let store = RecordStore::open(&config.database())?;
    crate::audit::init(&store)?;
    if config.demo {
        crate::demo::seed(&store, now_ms()).context("cannot seed the demo practices")?;
    }
    let runtime = Runtime::new(store, &EngineSettings::default())?;
    for (ods, org) in &config.organisations {
        let limits = org.limits.clone().unwrap_or_else(|| config.limits.clone());
        for (function, module) in &org.modules {
            let standard = Standard::from_function(function).with_context(|| {
                format!("organisation {ods}: '{function}' is not a care function (scheduling or prescribing)")
            })?;
            let (compiled, requested) = load_module(&runtime, module, &config.trust)
                .with_context(|| format!("organisation {ods}, {function}"))?;
            let grants = match requested {
                Requested::Manifest(requested) => org.grants.restricted_to(&requested),
                Requested::Everything => org.grants.clone(),
                Requested::Nothing => Default::default(),
            };
            let id = compiled.id.to_string();
            compiled.shape.check(standard).with_context(|| {
                format!("organisation {ods}: module {id} cannot serve {function}")
            })?;
            let deployment = runtime
                .prepare(compiled, limits.clone(), grants)
                .with_context(|| format!("organisation {ods}: module {id}"))?;
            runtime.slots().deploy(ods, deployment)?;
            tracing::info!(org = %ods, slot = function, module = %id, "deployed");
        }
    }
    Ok(runtime)
}

/// Compiles a module named in the configuration: a bundled module's name; a
/// signed package (`.carepkg`), verified against the trusted supplier keys
/// and its manifest's world; or, in development mode only, a bare component
/// written `supplier/name@version=path/to/component.wasm`.
fn load_module(
    runtime: &Runtime,
    spec: &str,
    trust: &crate::package::Trust,
) -> anyhow::Result<(Arc<crate::module::Module>, Requested)> {
    if spec.ends_with(".carepkg") {
        let text = std::fs::read_to_string(spec)
            .with_context(|| format!("cannot read the package {spec}"))?;
        let verified =
            crate::package::Package::parse(&text)?.verify(trust, trust.allow_unsigned)?;
        let module = verified.compile(runtime)?;
        return Ok((module, Requested::Manifest(verified.manifest.grants)));
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
        return Ok((runtime.compile(id.parse()?, &bytes)?, Requested::Everything));
    }
    let found = bundled::find(spec).with_context(|| {
        let names: Vec<&str> = bundled::ALL.iter().map(|b| b.id).collect();
        format!(
            "'{spec}' is not a bundled module ({}); name a signed package (.carepkg) instead",
            names.join(", ")
        )
    })?;
    Ok((
        runtime.compile(found.module_id(), found.bytes)?,
        Requested::Nothing,
    ))
}

/// What a module asks to be granted.
enum Requested {
    /// What its signed manifest requests.
    Manifest(crate::package::RequestedGrants),
    /// A bare component in development mode: whatever the operator allows.
    Everything,
    /// A bundled module: nothing.
    Nothing,
}

/// Serves the API until a shutdown signal.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let started = config.clone();
    let runtime = tokio::task::spawn_blocking(move || start(&started)).await??;
    let verifier = Verifier::new(&config.identity, &config.data_dir)?;
    let listen = config.listen;
    let state = AppState {
        runtime,
        verifier: Arc::new(verifier),
        config: Arc::new(config),
    };
    let app = api::router(state);
    let listener = TcpListener::bind(listen).await.with_context(|| {
        format!(
            "cannot listen on {listen}: is another server using it? Choose another with --listen"
        )
    })?;
    tracing::info!(address = %listen, "serving: FHIR at /fhir, CDS Hooks at /cds-services, OpenAPI at /openapi.json");
    println!(
        "patchbay is serving on http://{listen} (FHIR base http://{listen}/fhir); Ctrl-C stops it"
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("the server failed")?;
    tracing::info!("stopped: requests in flight have finished");
    Ok(())
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
    tracing::info!("shutting down: finishing requests in flight");
}
