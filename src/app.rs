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

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub auth: Arc<Authenticator>,
    pub openapi_yaml: Arc<str>,
    /// Largest file the import endpoints accept, in bytes.
    pub import_limit: usize,
    /// The official working-day calendar: built-in years plus years loaded by admins.
    pub calendar: Arc<std::sync::RwLock<Calendar>>,
    /// The publication read model and its cache of built public responses.
    pub publication: Arc<crate::publication::Publication>,
}

/// The built-in calendar with every year an administrator loaded on top.
pub async fn load_calendar(store: &Store) -> anyhow::Result<Calendar> {
    let mut calendar = Calendar::builtin();
    for (year, data) in crate::store::publication::calendar_years(store.pool()).await? {
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
    let (api_router, openapi) = api::router().split_for_parts();
    api_router
        .merge(SwaggerUi::new("/docs").url("/docs/openapi.json", openapi))
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

/// A built service, bound to its port, ready to run.
pub struct Application {
    listener: TcpListener,
    router: Router,
    store: Store,
}

impl Application {
    /// Opens (and migrates) the database, loads the token keys and binds the port.
    /// Port 0 picks a free port, which tests use.
    pub async fn build(config: &Config) -> anyhow::Result<Self> {
        let store = Store::open(&config.database_url).await?;
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
        let listener = TcpListener::bind(&config.bind)
            .await
            .with_context(|| format!("binding {}", config.bind))?;
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
            publication: Arc::new(
                crate::publication::Publication::new(store.clone(), calendar.clone(), public_url)
                    .with_site(crate::publication::Site {
                        authority: config.authority.clone(),
                        contact: config.contact.clone(),
                    }),
            ),
            calendar,
        };
        Ok(Self {
            listener,
            router: router(state, config.body_limit),
            store,
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
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await?;
        self.store.close().await;
        Ok(())
    }
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
