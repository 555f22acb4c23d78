//! `patchbay serve`: checks the identity settings, starts the host (see
//! [`crate::lifecycle::startup`]), and serves the HTTP API until SIGINT or
//! SIGTERM, with a cap on connections and deadlines for slow clients,
//! letting requests in flight finish.

use std::sync::Arc;

use anyhow::Context as _;
use tokio::net::TcpListener;

use crate::api::config::Config;
use crate::api::identity::Verifier;
use crate::api::{self, AppState};
use crate::lifecycle::startup::{self, Startup};
use crate::runtime::engine::Runtime;

/// Starts the host for a configuration: the store, the demo seed, the
/// runtime and its supervisor, and every organisation's slots (see
/// [`startup::start`]).
pub fn start(config: &Config) -> anyhow::Result<Runtime> {
    let (audit_key, audit_anchor) = config.audit_paths();
    startup::start(Startup {
        data_dir: &config.data_dir,
        database: &config.database()?,
        demo: config.demo,
        organisations: &config.organisations,
        limits: &config.limits,
        trust: &config.trust,
        rollback: config.rollback.clone(),
        audit_key: &audit_key,
        audit_anchor: &audit_anchor,
        max_calls_per_organisation: config.max_calls_per_organisation,
    })
}

/// What the handlers share, for a configuration: the identity settings
/// are checked first, so a host that could not verify tokens starts
/// nothing; then the host starts (see [`start`]). Blocks while modules
/// compile: call it on a blocking thread from async code.
pub fn app_state(config: Config) -> anyhow::Result<AppState> {
    let verifier = Verifier::new(&config)?;
    let runtime = start(&config)?;
    // On PostgreSQL, this host is one replica of many: it hears the others'
    // slot changes and reports what it serves.
    let address = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", config.listen));
    crate::lifecycle::replication::start(&runtime, &config.trust, &address)?;
    Ok(AppState {
        runtime,
        verifier: Arc::new(verifier),
        config: Arc::new(config),
        refusals: Default::default(),
    })
}

/// Serves the API until a shutdown signal. The identity settings are
/// checked first, so a host that could not verify tokens stops before it
/// opens anything.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let listen = config.listen;
    let state = tokio::task::spawn_blocking(move || app_state(config)).await??;
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
