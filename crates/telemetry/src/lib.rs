//! `telemetry`: what node and worker processes tell their operators. Metrics in the Prometheus
//! text format (the `prometheus-client` crate), served at `/metrics` on a port the operator
//! opts into (`--metrics-addr`), never on the RPC port and never by default; and the process
//! figures every role reports (resident memory, file sizes).
//!
//! It owns no metric: each process registers its own and refreshes its gauges from its state
//! right before each scrape (see [`serve`]). It must never carry anything secret: heights,
//! counts, sizes and durations only, nothing a contract or a user sent.

use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use prometheus_client::encoding::text::encode;
use prometheus_client::registry::Registry;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

pub use prometheus_client;

/// Scrapes served at once; more wait for the kernel's accept queue.
pub const MAX_SCRAPERS: usize = 8;
/// Time a scraper has to send its request head.
pub const SCRAPE_HEADER_TIMEOUT: Duration = Duration::from_secs(5);

/// Called before each scrape, to bring gauges up to date.
pub type Refresh = Arc<dyn Fn() + Send + Sync>;

/// Serves `registry` at `http://addr/metrics` until the task is aborted; returns the bound
/// address and the task.
pub async fn serve(
    addr: SocketAddr,
    registry: Arc<Registry>,
    refresh: Refresh,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let slots = Arc::new(Semaphore::new(MAX_SCRAPERS));
    let task = tokio::spawn(async move {
        loop {
            let Ok(permit) = slots.clone().acquire_owned().await else {
                return;
            };
            let (socket, _) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot accept a metrics connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let registry = registry.clone();
            let refresh = refresh.clone();
            tokio::spawn(async move {
                let service =
                    hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
                        let answer = answer(&registry, &refresh, request.uri().path());
                        async move { Ok::<_, std::convert::Infallible>(answer) }
                    });
                let _ = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(SCRAPE_HEADER_TIMEOUT)
                    .serve_connection(TokioIo::new(socket), service)
                    .await;
                drop(permit);
            });
        }
    });
    Ok((local, task))
}

fn answer(registry: &Registry, refresh: &Refresh, path: &str) -> hyper::Response<String> {
    if path != "/metrics" {
        let mut response = hyper::Response::new("metrics are at /metrics\n".to_string());
        *response.status_mut() = hyper::StatusCode::NOT_FOUND;
        return response;
    }
    refresh();
    let mut text = String::new();
    if let Err(e) = encode(&mut text, registry) {
        let mut response = hyper::Response::new(format!("cannot encode metrics: {e}\n"));
        *response.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
        return response;
    }
    let mut response = hyper::Response::new(text);
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        ),
    );
    response
}

/// This process's resident memory, in bytes (Linux; `None` elsewhere).
pub fn resident_memory_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// The size of the file at `path`, in bytes (0 if it cannot be read).
pub fn file_bytes(path: &std::path::Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// One scrape of `http://addr/metrics`, parsed into `(name with labels, value)` pairs: for
/// tests and load generators that read a process's own figures.
pub async fn scrape(addr: SocketAddr) -> std::io::Result<Vec<(String, f64)>> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: metrics\r\nConnection: close\r\n\r\n")
        .await?;
    let mut text = String::new();
    stream.read_to_string(&mut text).await?;
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
    Ok(parse(body))
}

/// The samples of a text exposition, comments skipped.
pub fn parse(body: &str) -> Vec<(String, f64)> {
    body.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .filter_map(|line| {
            let (name, value) = line.rsplit_once(' ')?;
            Some((name.to_string(), value.parse().ok()?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_client::metrics::gauge::Gauge;

    #[tokio::test]
    async fn a_scrape_sees_the_refreshed_gauges() {
        let mut registry = Registry::default();
        let height: Gauge = Gauge::default();
        registry.register("phalanx_test_height", "A height", height.clone());
        let refreshed = height.clone();
        let refresh: Refresh = Arc::new(move || {
            refreshed.set(42);
        });
        let (addr, task) = serve("127.0.0.1:0".parse().unwrap(), Arc::new(registry), refresh)
            .await
            .unwrap();
        let samples = scrape(addr).await.unwrap();
        assert!(samples.contains(&("phalanx_test_height".to_string(), 42.0)));
        task.abort();
        assert!(resident_memory_bytes().unwrap() > 0);
    }
}
