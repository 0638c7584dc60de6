//! A worker's (or gatekeeper's) Prometheus metrics, served with `--metrics-addr`: how far it has
//! synced and how long ago its last block came, whether the node answers, outputs waiting for
//! egress, queries by outcome and their latency, its store's size and its memory. Nothing about
//! what contracts hold or users asked: counts, heights, sizes and durations only.

use crate::process::{WorkerError, WorkerStatus};
use phalanx_telemetry::prometheus_client::metrics::counter::Counter;
use phalanx_telemetry::prometheus_client::metrics::family::Family;
use phalanx_telemetry::prometheus_client::metrics::gauge::Gauge;
use phalanx_telemetry::prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use phalanx_telemetry::prometheus_client::registry::Registry;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

type Label = Vec<(&'static str, String)>;

/// Query counters and latency, recorded by the query server.
#[derive(Clone)]
pub(crate) struct QueryMetrics {
    pub answered: Family<Label, Counter>,
    pub seconds: Histogram,
}

impl Default for QueryMetrics {
    fn default() -> Self {
        QueryMetrics {
            answered: Family::default(),
            seconds: Histogram::new(exponential_buckets(0.0005, 2.0, 16)),
        }
    }
}

impl QueryMetrics {
    /// `outcome`: `answered`, `refused` (by the worker's checks or limits).
    pub fn record(&self, outcome: &'static str, started: Instant) {
        self.answered
            .get_or_create(&vec![("outcome", outcome.to_string())])
            .inc();
        self.seconds.observe(started.elapsed().as_secs_f64());
    }
}

/// What a metrics scrape reads from the running process.
pub struct MetricsSources {
    pub(crate) status: Arc<Mutex<WorkerStatus>>,
    /// Seconds since the sync loop last accepted a block (workers).
    pub(crate) since_block: Option<Box<dyn Fn() -> u64 + Send + Sync>>,
    pub(crate) store: PathBuf,
    pub(crate) queries: Option<QueryMetrics>,
}

impl MetricsSources {
    /// What an enclave without contracts reports: its status and the size of its store.
    pub fn of_status(status: Arc<Mutex<WorkerStatus>>, store: PathBuf) -> Self {
        MetricsSources {
            status,
            since_block: None,
            store,
            queries: None,
        }
    }
}

/// Serves the metrics of `sources` at `addr` when there is one (`--metrics-addr`); returns
/// where, and the task serving them.
pub async fn start(
    addr: Option<SocketAddr>,
    sources: MetricsSources,
) -> Result<(Option<SocketAddr>, Option<tokio::task::JoinHandle<()>>), WorkerError> {
    let Some(addr) = addr else {
        return Ok((None, None));
    };
    let (bound, task) = serve(addr, sources)
        .await
        .map_err(|e| WorkerError::Rpc(addr, format!("metrics: {e}")))?;
    Ok((Some(bound), Some(task)))
}

async fn serve(
    addr: SocketAddr,
    sources: MetricsSources,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let mut registry = Registry::with_prefix("phalanx_worker");
    let gauge = |registry: &mut Registry, name: &str, help: &str| {
        let g: Gauge = Gauge::default();
        registry.register(name, help, g.clone());
        g
    };
    let synced = gauge(
        &mut registry,
        "synced_height",
        "Height of the newest block applied",
    );
    let since_block = gauge(
        &mut registry,
        "seconds_since_block",
        "Seconds since the newest block was applied",
    );
    let executed = gauge(
        &mut registry,
        "commands_executed",
        "Commands and instantiations executed since this start",
    );
    let pending = gauge(
        &mut registry,
        "egress_pending",
        "Contract outputs the chain has not accepted yet",
    );
    let unreachable = gauge(
        &mut registry,
        "node_unreachable",
        "1 while the node does not answer",
    );
    let refusing = gauge(
        &mut registry,
        "refusing_node",
        "1 while the node serves blocks or answers this enclave refuses",
    );
    let store_bytes = gauge(
        &mut registry,
        "store_bytes",
        "Size of the sealed store file",
    );
    let resident = gauge(
        &mut registry,
        "resident_memory_bytes",
        "Resident memory of the process",
    );
    if let Some(queries) = &sources.queries {
        registry.register(
            "queries",
            "Confidential queries, by outcome",
            queries.answered.clone(),
        );
        registry.register(
            "query_seconds",
            "Time to answer a confidential query",
            queries.seconds.clone(),
        );
    }
    let refresh: phalanx_telemetry::Refresh = Arc::new(move || {
        let status = sources
            .status
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        synced.set(status.synced_height as i64);
        executed.set(status.commands_executed as i64);
        pending.set(status.pending_outputs as i64);
        unreachable.set(i64::from(status.node_unreachable_since_ms.is_some()));
        refusing.set(i64::from(status.refused.is_some()));
        if let Some(seconds) = &sources.since_block {
            since_block.set(seconds() as i64);
        }
        store_bytes.set(phalanx_telemetry::file_bytes(&sources.store) as i64);
        resident.set(phalanx_telemetry::resident_memory_bytes().unwrap_or(0) as i64);
    });
    phalanx_telemetry::serve(addr, Arc::new(registry), refresh).await
}
