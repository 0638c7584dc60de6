//! The RPC transport: how connections are accepted, and how much of the node one client may hold.
//!
//! jsonrpsee answers the calls; this module owns the sockets, because the bounds that stop a
//! slow or abusive client live below JSON-RPC:
//! - a connection must send its request head within [`HEADER_READ_TIMEOUT`] (slowloris), and a
//!   whole request, body and answer, must finish within [`REQUEST_TIMEOUT`];
//! - one peer address holds at most [`MAX_CONNECTIONS_PER_PEER`] of the [`MAX_CONNECTIONS`];
//! - request bodies in flight share a byte budget ([`MAX_INFLIGHT_REQUEST_BYTES`]), so that many
//!   large uploads at once cannot take the node's memory;
//! - WebSocket connections that stop answering pings are closed, and hold at most
//!   [`MAX_SUBSCRIPTIONS_PER_CONNECTION`] subscriptions.
//!
//! Each request carries its [`Peer`] in its extensions, for the per-peer rate limits of the
//! handlers (see `refusals.rs`).

use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use jsonrpsee::server::{
    stop_channel, BatchRequestConfig, HttpBody, HttpResponse, Methods, PingConfig, Server,
    ServerHandle, StopHandle,
};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// Most open connections.
pub const MAX_CONNECTIONS: usize = 1_000;
/// Most open connections from one IP address.
pub const MAX_CONNECTIONS_PER_PEER: usize = 64;
/// Time a connection has to send a request's head (line and headers), counted from when the
/// node starts waiting for it: at accept, and after each answer on a kept-alive connection.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// Time one HTTP request has, from its head to its answer (the body is read within it).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);
/// Largest request body: a batch of ordinary transactions fits; a batch of many maximum-size
/// ones does not (send those one at a time).
pub const MAX_REQUEST_BODY: u32 = 16 * 1024 * 1024;
/// Largest answer, for one call or a whole batch: a full block as JSON fits.
pub const MAX_RESPONSE_BODY: u32 = 48 * 1024 * 1024;
/// Request bytes all connections together may have in flight; a request without a length
/// counts as [`MAX_REQUEST_BODY`].
pub const MAX_INFLIGHT_REQUEST_BYTES: usize = 128 * 1024 * 1024;
/// Most calls in one JSON-RPC batch.
pub const MAX_BATCH_LEN: u32 = 32;
/// Most subscriptions one WebSocket connection may hold.
pub const MAX_SUBSCRIPTIONS_PER_CONNECTION: u32 = 8;
/// Messages buffered for one WebSocket connection before it is made to wait.
pub const WS_MESSAGE_BUFFER: u32 = 256;
/// A WebSocket connection is pinged this often, and closed once it has not answered for
/// [`WS_INACTIVE_LIMIT`].
pub const WS_PING_INTERVAL: Duration = Duration::from_secs(15);
pub const WS_INACTIVE_LIMIT: Duration = Duration::from_secs(45);

/// Why a request got no answer; hyper then closes the connection.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct RequestFailed(String);

// A concrete error type, not a boxed one: hyper's bounds on a boxed error inside a spawned
// future trip the compiler's higher-ranked lifetime check.
type AnswerFuture = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<HttpResponse, RequestFailed>> + Send>,
>;

/// The bounds a test may shorten; [`RpcLimits::default`] is what a node runs with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RpcLimits {
    pub header_read_timeout: Duration,
    pub request_timeout: Duration,
    pub max_connections_per_peer: usize,
}

impl Default for RpcLimits {
    fn default() -> Self {
        RpcLimits {
            header_read_timeout: HEADER_READ_TIMEOUT,
            request_timeout: REQUEST_TIMEOUT,
            max_connections_per_peer: MAX_CONNECTIONS_PER_PEER,
        }
    }
}

/// The client at the other end of a request, as the socket says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Peer(pub IpAddr);

/// Open connections per peer address.
struct PeerConnections {
    open: Mutex<HashMap<IpAddr, usize>>,
    per_peer: usize,
}

/// One admitted connection; gives its slot back when dropped.
struct ConnectionSlot {
    peers: Arc<PeerConnections>,
    peer: IpAddr,
    _total: tokio::sync::OwnedSemaphorePermit,
}

impl PeerConnections {
    fn admit(
        self: &Arc<Self>,
        peer: IpAddr,
        total: &Arc<Semaphore>,
    ) -> Result<ConnectionSlot, &'static str> {
        let permit = total
            .clone()
            .try_acquire_owned()
            .map_err(|_| "the node's connection limit")?;
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let count = open.entry(peer).or_insert(0);
        if *count >= self.per_peer {
            return Err("the per-peer connection limit");
        }
        *count += 1;
        Ok(ConnectionSlot {
            peers: self.clone(),
            peer,
            _total: permit,
        })
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut open = self.peers.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = open.get_mut(&self.peer) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.peer);
            }
        }
    }
}

/// Binds `addr` and serves `methods` until the returned handle is stopped.
pub async fn serve(
    addr: SocketAddr,
    methods: impl Into<Methods>,
    limits: RpcLimits,
) -> std::io::Result<(SocketAddr, ServerHandle)> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let (stop, handle) = stop_channel();
    tokio::spawn(accept_loop(listener, methods.into(), limits, stop));
    Ok((local, handle))
}

async fn accept_loop(listener: TcpListener, methods: Methods, limits: RpcLimits, stop: StopHandle) {
    let services = Server::builder()
        .max_request_body_size(MAX_REQUEST_BODY)
        .max_response_body_size(MAX_RESPONSE_BODY)
        .max_connections(MAX_CONNECTIONS as u32)
        .set_batch_request_config(BatchRequestConfig::Limit(MAX_BATCH_LEN))
        .max_subscriptions_per_connection(MAX_SUBSCRIPTIONS_PER_CONNECTION)
        .set_message_buffer_capacity(WS_MESSAGE_BUFFER)
        .enable_ws_ping(
            PingConfig::new()
                .ping_interval(WS_PING_INTERVAL)
                .inactive_limit(WS_INACTIVE_LIMIT),
        )
        .to_service_builder();
    let total = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let peers = Arc::new(PeerConnections {
        open: Mutex::default(),
        per_peer: limits.max_connections_per_peer,
    });
    let request_bytes = Arc::new(Semaphore::new(MAX_INFLIGHT_REQUEST_BYTES));
    let shutdown = stop.clone().shutdown();
    tokio::pin!(shutdown);
    loop {
        let (socket, remote) = tokio::select! {
            _ = &mut shutdown => return,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %e, "cannot accept an RPC connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let peer = remote.ip();
        let slot = match peers.admit(peer, &total) {
            Ok(slot) => slot,
            Err(limit) => {
                tracing::debug!(%remote, limit, "RPC connection refused");
                drop(socket);
                continue;
            }
        };
        let _ = socket.set_nodelay(true);
        let service = services.clone().build(methods.clone(), stop.clone());
        let request_bytes = request_bytes.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let service = tower::service_fn(move |request: hyper::Request<Incoming>| {
                answer(
                    service.clone(),
                    request,
                    request_bytes.clone(),
                    peer,
                    limits.request_timeout,
                )
            });
            serve_connection(socket, service, limits.header_read_timeout, stop).await;
            drop(slot);
        });
    }
}

type JsonRpcService =
    jsonrpsee::server::TowerService<tower::layer::util::Identity, tower::layer::util::Identity>;

/// Answers one HTTP request within the byte budget and `timeout`.
fn answer(
    mut service: JsonRpcService,
    mut request: hyper::Request<Incoming>,
    request_bytes: Arc<Semaphore>,
    peer: IpAddr,
    timeout: Duration,
) -> AnswerFuture {
    Box::pin(async move {
        let cost = declared_length(&request);
        let Ok(_budget) = request_bytes.try_acquire_many_owned(cost) else {
            return Ok(busy());
        };
        request.extensions_mut().insert(Peer(peer));
        match tokio::time::timeout(timeout, tower::Service::call(&mut service, request)).await {
            Ok(answer) => answer.map_err(|e| RequestFailed(e.to_string())),
            Err(_) => Err(RequestFailed(format!(
                "request took longer than {timeout:?}"
            ))),
        }
    })
}

/// Bytes a request's body may take, for the in-flight budget.
fn declared_length(request: &hyper::Request<Incoming>) -> u32 {
    request
        .headers()
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .map(|len| len.min(MAX_REQUEST_BODY as u64) as u32)
        .unwrap_or(MAX_REQUEST_BODY)
        .max(1)
}

fn busy() -> HttpResponse {
    let mut response = HttpResponse::new(HttpBody::from(
        "the node is receiving too many large requests; retry later",
    ));
    *response.status_mut() = hyper::StatusCode::SERVICE_UNAVAILABLE;
    response
}

async fn serve_connection<S>(
    socket: tokio::net::TcpStream,
    service: S,
    header_read_timeout: Duration,
    stop: StopHandle,
) where
    S: tower::Service<
            hyper::Request<Incoming>,
            Response = HttpResponse,
            Error = RequestFailed,
            Future = AnswerFuture,
        > + Clone
        + Send
        + 'static,
{
    // HTTP/1.1 only: JSON-RPC needs nothing more, and its header timeout runs from accept.
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout)
        .serve_connection(TokioIo::new(socket), TowerToHyperService::new(service))
        .with_upgrades();
    tokio::pin!(connection);
    tokio::select! {
        result = &mut connection => {
            if let Err(e) = result {
                tracing::trace!(error = %e, "RPC connection ended");
            }
        }
        _ = stop.shutdown() => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
}
