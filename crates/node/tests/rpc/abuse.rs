//! Slow and abusive clients against a real node: each test is an attack, and checks the bound
//! that stops it while an honest client goes on being served.

use jsonrpsee::core::client::{ClientT, SubscriptionClientT};
use jsonrpsee::core::params::BatchRequestBuilder;
use jsonrpsee::rpc_params;
use jsonrpsee::ws_client::WsClientBuilder;
use phalanx_client::views::HeaderView;
use phalanx_client::NodeClient;
use phalanx_node::transport::{RpcLimits, MAX_BATCH_LEN, MAX_SUBSCRIPTIONS_PER_CONNECTION};
use phalanx_node::{NodeConfig, RunningNode};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

const ATTACKER: &str = "127.0.0.2";
const LIMITS: RpcLimits = RpcLimits {
    header_read_timeout: Duration::from_secs(1),
    request_timeout: Duration::from_secs(2),
    max_connections_per_peer: 64,
};

async fn start(dir: &std::path::Path) -> (RunningNode, NodeClient) {
    let mut config = NodeConfig::dev(dir.to_path_buf(), "127.0.0.1:0".parse().unwrap());
    config.block_time = Duration::from_millis(100);
    config.rpc_limits = LIMITS;
    let node = RunningNode::start(config).await.unwrap();
    let client = NodeClient::connect(&format!("http://{}", node.rpc_addr()))
        .await
        .unwrap();
    (node, client)
}

/// A connection from the attacker's own loopback address (Linux routes all of 127/8 locally).
async fn connect_from(source: &str, node: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(format!("{source}:0").parse().unwrap())?;
    socket.connect(node).await
}

/// True once the node has closed the connection (reads end, or are reset).
async fn closed_by_node(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            // An error answer (408 and the like) before the close.
            Ok(Ok(_)) => continue,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_holds_a_few_connections_for_a_moment_and_nobody_else_waits() {
    let dir = tempfile::tempdir().unwrap();
    let (node, client) = start(dir.path()).await;
    let addr = node.rpc_addr();

    // A thousand requests that never finish their headers, from one address.
    let mut held = Vec::new();
    for _ in 0..1_000 {
        let Ok(mut stream) = connect_from(ATTACKER, addr).await else {
            continue;
        };
        if stream
            .write_all(b"POST / HTTP/1.1\r\nHost: node\r\nContent-Type: application/json\r\n")
            .await
            .is_ok()
        {
            held.push(stream);
        }
    }
    // Everyone else is served at once, and over a fresh connection each time.
    for _ in 0..5 {
        let fresh = NodeClient::connect(&format!("http://{addr}"))
            .await
            .unwrap();
        tokio::time::timeout(Duration::from_secs(2), fresh.head())
            .await
            .expect("an honest client is answered during the flood")
            .unwrap();
    }
    client.head().await.unwrap();

    // Beyond the per-peer cap the node closed the attacker's connections right away, and the
    // rest once the header timeout ran out.
    let mut closed = 0;
    for stream in &mut held {
        if closed_by_node(stream, LIMITS.header_read_timeout * 3).await {
            closed += 1;
        }
    }
    assert_eq!(closed, held.len(), "every half-sent request is dropped");
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_sent_slowly_is_cut_off_at_the_request_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let (node, _client) = start(dir.path()).await;
    let mut stream = connect_from(ATTACKER, node.rpc_addr()).await.unwrap();
    stream
        .write_all(
            b"POST / HTTP/1.1\r\nHost: node\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"jsonrpc\":",
        )
        .await
        .unwrap();
    let started = Instant::now();
    // A byte a little faster than the header timeout, so that only the request timeout helps.
    let mut cut = false;
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        if stream.write_all(b" ").await.is_err() {
            cut = true;
            break;
        }
        let mut buf = [0u8; 256];
        if let Ok(Ok(n)) =
            tokio::time::timeout(Duration::from_millis(1), stream.read(&mut buf)).await
        {
            if n == 0 {
                cut = true;
                break;
            }
        }
    }
    assert!(cut || closed_by_node(&mut stream, Duration::from_secs(1)).await);
    assert!(started.elapsed() < LIMITS.request_timeout * 3);
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_and_subscriptions_are_bounded_per_request_and_connection() {
    let dir = tempfile::tempdir().unwrap();
    let (node, _client) = start(dir.path()).await;
    let http = jsonrpsee::http_client::HttpClientBuilder::default()
        .build(format!("http://{}", node.rpc_addr()))
        .unwrap();

    let batch = |len: u32| {
        let mut batch = BatchRequestBuilder::new();
        for _ in 0..len {
            batch.insert("chain_getBlock", rpc_params![0u64]).unwrap();
        }
        batch
    };
    let answered = http
        .batch_request::<serde_json::Value>(batch(MAX_BATCH_LEN))
        .await
        .unwrap();
    assert_eq!(answered.num_successful_calls(), MAX_BATCH_LEN as usize);
    let refused = http
        .batch_request::<serde_json::Value>(batch(MAX_BATCH_LEN + 1))
        .await;
    assert!(refused.is_err(), "a batch over the limit is refused whole");

    let ws = WsClientBuilder::default()
        .build(format!("ws://{}", node.rpc_addr()))
        .await
        .unwrap();
    let mut subscriptions = Vec::new();
    for _ in 0..MAX_SUBSCRIPTIONS_PER_CONNECTION {
        subscriptions.push(
            ws.subscribe::<HeaderView, _>(
                "chain_subscribeFinalizedHeads",
                rpc_params![],
                "chain_unsubscribeFinalizedHeads",
            )
            .await
            .unwrap(),
        );
    }
    let one_more = ws
        .subscribe::<HeaderView, _>(
            "chain_subscribeFinalizedHeads",
            rpc_params![],
            "chain_unsubscribeFinalizedHeads",
        )
        .await;
    assert!(one_more.is_err(), "the connection's subscription cap holds");
    // The connection itself still works.
    let head: HeaderView = ws.request("chain_getHead", rpc_params![]).await.unwrap();
    assert!(head.height < u64::MAX);
    drop(subscriptions);
    node.stop().await.unwrap();
}
