//! The node's Prometheus metrics (served with `--metrics-addr`): the chain's progress, the pool,
//! refusals by kind, the gas each cluster reserved in the last block, and the node's memory and
//! database size. Gauges read from shared state are refreshed right before each scrape.

use phalanx_primitives::Hash;
use phalanx_telemetry::prometheus_client::metrics::counter::Counter;
use phalanx_telemetry::prometheus_client::metrics::family::Family;
use phalanx_telemetry::prometheus_client::metrics::gauge::Gauge;
use phalanx_telemetry::prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use phalanx_telemetry::prometheus_client::registry::Registry;

/// One label, `(name, value)`.
type Label = Vec<(&'static str, String)>;

/// Every metric the node reports; cheap to clone (the metrics are shared handles).
#[derive(Clone)]
pub(crate) struct NodeMetrics {
    pub head_height: Gauge,
    pub pool_pending: Gauge,
    pub blocks: Counter,
    pub block_transactions: Gauge,
    pub block_seconds: Histogram,
    pub refusals: Family<Label, Counter>,
    pub cluster_gas: Family<Label, Gauge>,
    pub store_bytes: Gauge,
    pub resident_bytes: Gauge,
}

impl NodeMetrics {
    pub fn new() -> (NodeMetrics, Registry) {
        let metrics = NodeMetrics {
            head_height: Gauge::default(),
            pool_pending: Gauge::default(),
            blocks: Counter::default(),
            block_transactions: Gauge::default(),
            block_seconds: Histogram::new(exponential_buckets(0.001, 2.0, 14)),
            refusals: Family::default(),
            cluster_gas: Family::default(),
            store_bytes: Gauge::default(),
            resident_bytes: Gauge::default(),
        };
        let mut registry = Registry::with_prefix("phalanx_node");
        let m = metrics.clone();
        registry.register(
            "head_height",
            "Height of the newest final block",
            m.head_height,
        );
        registry.register(
            "pool_pending",
            "Transactions waiting in the pool",
            m.pool_pending,
        );
        registry.register("blocks", "Blocks produced since this start", m.blocks);
        registry.register(
            "block_transactions",
            "Transactions in the newest block",
            m.block_transactions,
        );
        registry.register(
            "block_production_seconds",
            "Time to build, sign and commit a block",
            m.block_seconds,
        );
        registry.register(
            "refusals",
            "Transactions refused at admission, by kind",
            m.refusals,
        );
        registry.register(
            "cluster_gas_reserved",
            "Gas the newest block reserved per cluster (commands, instantiations, messages)",
            m.cluster_gas,
        );
        registry.register(
            "store_bytes",
            "Size of the chain database file",
            m.store_bytes,
        );
        registry.register(
            "resident_memory_bytes",
            "Resident memory of the node process",
            m.resident_bytes,
        );
        (metrics, registry)
    }

    pub fn refused(&self, kind: &str) {
        self.refusals
            .get_or_create(&vec![("kind", kind.to_string())])
            .inc();
    }

    /// Records a committed block: its size, time and per-cluster gas.
    pub fn block(&self, transactions: usize, seconds: f64, gas: &[(Hash, u64)]) {
        self.blocks.inc();
        self.block_transactions.set(transactions as i64);
        self.block_seconds.observe(seconds);
        self.cluster_gas.clear();
        for (cluster, reserved) in gas {
            self.cluster_gas
                .get_or_create(&vec![("cluster", cluster.to_string())])
                .set(*reserved as i64);
        }
    }
}
