//! Assembling and running the service: state, router, middleware, shutdown.

use crate::api;
use crate::auth::Authenticator;
use crate::config::Config;
use crate::domain::calendar::{Calendar, YearCalendar};
use crate::error::ApiError;
use crate::store::Store;
use anyhow::Context;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request};
use std::sync::Arc;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa_swagger_ui::SwaggerUi;

use crate::api::AppState;

/// The built-in calendar with every year an administrator loaded on top.
pub async fn load_calendar(store: &Store) -> anyhow::Result<Calendar> {
    let mut calendar = Calendar::builtin();
    for (year, data) in store.calendar_years().await? {
        let y: YearCalendar =
            serde_json::from_str(&data).with_context(|| format!("stored calendar of {year}"))?;
        calendar
            .insert(y)
            .with_context(|| format!("loading the stored calendar of {year}"))?;
    }
    Ok(calendar)
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The complete router with middleware, for a given state.
pub fn router(state: AppState, body_limit: usize) -> Router {
    let publication = state.publication.clone();
    let (api_router, mut openapi) = api::router().split_for_parts();
    api::complete_document(&mut openapi);
    api_router
        .route("/metrics", axum::routing::get(metrics))
        .merge(SwaggerUi::new("/docs").url("/docs/openapi.json", openapi))
        .merge(crate::verifier::router())
        .fallback(|| async { ApiError::NotFound("no such route".into()) })
        .method_not_allowed_fallback(|| async {
            ApiError::MethodNotAllowed("this route does not accept that method".into())
        })
        .with_state(state)
        .layer(axum::middleware::from_fn_with_state(
            publication,
            crate::publication::cache::bump_after_write,
        ))
        .layer(axum::middleware::from_fn(refuse_nul_in_uri))
        .layer(axum::middleware::from_fn(security_headers))
        .layer(axum::middleware::from_fn(count_requests))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(CatchPanicLayer::custom(|_| {
            use axum::response::IntoResponse;
            ApiError::Internal(anyhow::anyhow!("a request handler panicked")).into_response()
        }))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                let id = req
                    .headers()
                    .get(&REQUEST_ID)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
            }),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

/// Refuses `%00` anywhere in the path or query: no id, code or filter contains NUL, and
/// PostgreSQL cannot even compare against it.
async fn refuse_nul_in_uri(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let uri = req.uri().to_string();
    if uri.to_ascii_lowercase().contains("%00") {
        return ApiError::BadRequest("the URL contains an encoded NUL character (%00)".into())
            .into_response();
    }
    next.run(req).await
}

/// Content-Security-Policy of the portal's pages: no script but the server's own files
/// (no inline script), styles inline or own, never framed.
pub const PORTAL_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
/// Swagger UI at `/docs`: its scripts are files it serves (no inline script); it fetches
/// the OpenAPI document from this origin and draws with inline styles and data: images.
pub const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
/// Everything else (JSON, CSV, XLSX, feeds): nothing runs, nothing frames it.
pub const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";

/// Security headers on every response: a content security policy chosen by what the
/// response is (portal page, API docs, data), `nosniff`, no framing, no referrer leaking
/// task ids to other sites; and `Cache-Control: no-store` on every response to an
/// authenticated request, so no proxy or browser cache keeps non-public data.
async fn security_headers(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::{HeaderValue, header};
    let authenticated = req.headers().contains_key(header::AUTHORIZATION);
    let docs = req.uri().path().starts_with("/docs");
    let mut res = next.run(req).await;
    let html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/html"));
    let csp = match (docs, html) {
        (true, _) => DOCS_CSP,
        (false, true) => PORTAL_CSP,
        (false, false) => API_CSP,
    };
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(csp),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    if authenticated {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

/// Counts every request and its latency by route template (`/api/v1/tasks/{id}`), for
/// `/metrics`. Requests that match no route count as `unmatched`.
async fn count_requests(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
        .to_string();
    let method = req.method().to_string();
    let started = std::time::Instant::now();
    let res = next.run(req).await;
    crate::metrics::observe_request(&route, &method, res.status().as_u16(), started.elapsed());
    res
}

/// `GET /metrics`: Prometheus text (see [`crate::metrics`]).
async fn metrics(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let (audit_chain_length, pool_size, pool_idle) = state.store.gauges().await?;
    let gauges = crate::metrics::Gauges {
        audit_chain_length,
        pool_size,
        pool_idle,
    };
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        crate::metrics::render(&gauges),
    )
        .into_response())
}

/// A built service, bound to its port, ready to run.
pub struct Application {
    listener: TcpListener,
    router: Router,
    store: Store,
    header_timeout: std::time::Duration,
    webhooks: crate::webhooks::Settings,
}

impl Application {
    /// Opens (and migrates) the database, loads the token keys and binds the port.
    /// Port 0 picks a free port, which tests use.
    pub async fn build(config: &Config) -> anyhow::Result<Self> {
        // The port first: a busy port is reported before any file (database, secret) is
        // created.
        let listener = TcpListener::bind(&config.bind).await.with_context(|| {
            format!(
                "binding {} (is another suiji running? set SUIJI_BIND or --bind)",
                config.bind
            )
        })?;
        if let Some(at) = config.simulated_clock {
            config.clock.set(at);
        }
        if config.clock.is_simulated() {
            tracing::warn!(
                now = %config.clock.now(),
                "SIMULATED CLOCK: the task lifecycle does not read the real time (demo only; never in service)"
            );
        }
        let store = Store::open(&config.database_url)
            .await?
            .with_clock(config.clock.clone())
            .with_yearly_cap(config.yearly_cap)
            .with_record_tree_rows(config.record_tree_rows);
        let (secret, created) = config.secret(true)?;
        if let Some(path) = created {
            tracing::warn!(
                "generated a token secret in {} (mode 0600); mint a token with: suiji token --role admin --sub YOUR_NAME",
                path.display()
            );
        }
        let mut auth = Authenticator::new(&secret)
            .with_issuer(config.jwt_issuer.clone())
            .with_audience(config.jwt_audience.clone());
        if let Some(key) = &config.jwt_public_key {
            auth = auth.with_public_key_file(key)?;
        }
        let calendar = Arc::new(std::sync::RwLock::new(load_calendar(&store).await?));
        let public_url = config.public_url.clone().unwrap_or_else(|| {
            format!(
                "http://127.0.0.1:{}",
                listener.local_addr().map(|a| a.port()).unwrap_or(0)
            )
        });
        let state = AppState {
            store: store.clone(),
            auth: Arc::new(auth),
            openapi_yaml: api::openapi_yaml().into(),
            import_limit: config.import_limit,
            evidence_limit: config.evidence_limit,
            publication: Arc::new(
                crate::publication::Publication::new(store.clone(), calendar.clone(), public_url)
                    .with_site(crate::publication::Site {
                        authority: config.authority.clone(),
                        contact: config.contact.clone(),
                        simulated_clock: config.clock.is_simulated(),
                    }),
            ),
            calendar,
        };
        Ok(Self {
            listener,
            router: router(state, config.body_limit).layer(
                tower_http::timeout::RequestBodyTimeoutLayer::new(config.body_timeout),
            ),
            store,
            header_timeout: config.header_timeout,
            webhooks: crate::webhooks::Settings {
                retry_base: config.webhook_retry,
                poll: config.webhook_retry.min(std::time::Duration::from_secs(1)),
            },
        })
    }

    pub fn local_addr(&self) -> std::net::SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Serves until `shutdown` resolves, then finishes in-flight requests.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let worker = tokio::spawn(crate::webhooks::worker(
            self.store.clone(),
            self.webhooks,
            stop_rx,
        ));
        serve(self.listener, self.router, self.header_timeout, shutdown).await;
        let _ = stop_tx.send(true);
        let _ = worker.await;
        self.store.close().await;
        Ok(())
    }
}

/// Accepts connections until `shutdown`, then lets requests in flight finish. Unlike
/// `axum::serve`, a client that does not send its headers within `header_timeout` is
/// disconnected: half-sent requests cannot pile up until file descriptors run out.
/// (Body reads are bounded by the `RequestBodyTimeoutLayer` on the router.)
async fn serve(
    listener: TcpListener,
    router: Router,
    header_timeout: std::time::Duration,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::service::TowerToHyperService;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut connections = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, _peer) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little, keep serving.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(router.clone());
        let mut stop = stop_rx.clone();
        connections.spawn(async move {
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = stop.changed() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
        });
        // Reap finished connections so the set does not grow without bound.
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    let _ = stop_tx.send(true);
    while connections.join_next().await.is_some() {}
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
