//! Logs, request ids and metrics: the cross-cutting observability every layer uses.
//!
//! A request runs inside [`RequestScope::run`], which makes its id and its SQL statement counter reachable
//! from anywhere on that task (error conversion, the database instrumentation, spawned dataloader tasks that
//! re-enter the scope through [`RequestScope::current`]).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

use crate::config::{Config, LogFormat};

/// What one request carries through its tasks.
#[derive(Clone, Debug)]
pub struct RequestScope {
    pub id: Arc<str>,
    statements: Arc<AtomicU64>,
}

tokio::task_local! {
    static SCOPE: RequestScope;
}

impl RequestScope {
    pub fn new(id: impl Into<Arc<str>>) -> Self {
        RequestScope {
            id: id.into(),
            statements: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The scope of the current task, if it runs inside one.
    pub fn current() -> Option<RequestScope> {
        SCOPE.try_with(Clone::clone).ok()
    }

    /// Runs `fut` inside this scope.
    pub async fn run<F: Future>(self, fut: F) -> F::Output {
        SCOPE.scope(self, fut).await
    }

    /// How many SQL statements ran in this scope so far.
    pub fn statements(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }
}

/// The current request id, or `-` outside a request.
pub fn current_request_id() -> String {
    SCOPE
        .try_with(|s| s.id.to_string())
        .unwrap_or_else(|_| "-".into())
}

/// Counts one SQL statement, globally and for the current request.
pub fn count_statement() {
    metrics::counter!("portico_sql_statements_total").increment(1);
    let _ = SCOPE.try_with(|s| s.statements.fetch_add(1, Ordering::Relaxed));
}

/// Spawns a task that stays inside the caller's request scope (used for dataloaders).
pub fn spawn_in_scope<F>(fut: F) -> tokio::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    match RequestScope::current() {
        Some(scope) => tokio::spawn(scope.run(fut)),
        None => tokio::spawn(fut),
    }
}

/// Installs the global tracing subscriber (JSON in production) once; later calls are ignored.
pub fn init_tracing(config: &Config) {
    let filter = EnvFilter::try_new(&config.log_filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match config.log_format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Pretty => builder.compact().try_init(),
    };
}

/// The process-wide Prometheus recorder; installed on first use and shared by every app in the process.
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: std::sync::OnceLock<PrometheusHandle> = std::sync::OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let latency = [
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ];
            let recorder = PrometheusBuilder::new()
                .set_buckets(&latency)
                .expect("static buckets are valid")
                .build_recorder();
            let handle = recorder.handle();
            // Another recorder may already be installed (in tests); then this handle renders what it sees.
            let _ = metrics::set_global_recorder(recorder);
            describe_metrics();
            handle
        })
        .clone()
}

fn describe_metrics() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "portico_http_requests_total",
        "HTTP requests by route and status"
    );
    describe_counter!(
        "portico_graphql_requests_total",
        "GraphQL operations by operation name and kind"
    );
    describe_histogram!(
        "portico_graphql_request_duration_seconds",
        "GraphQL operation latency by operation name"
    );
    describe_counter!("portico_errors_total", "GraphQL errors by extensions.code");
    describe_counter!("portico_sql_statements_total", "SQL statements executed");
    describe_histogram!(
        "portico_graphql_sql_statements_per_request",
        "SQL statements one GraphQL request ran"
    );
    describe_gauge!("portico_db_pool_size", "connections in the pool");
    describe_gauge!("portico_db_pool_available", "idle connections in the pool");
    describe_gauge!(
        "portico_db_pool_waiting",
        "requests waiting for a connection"
    );
    describe_gauge!(
        "portico_websocket_connections",
        "open WebSocket connections"
    );
    describe_gauge!("portico_subscriptions", "active subscriptions");
}
