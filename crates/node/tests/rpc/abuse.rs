//! Slow and abusive clients against a real node: each test is an attack, and checks the bound
//! that stops it while an honest client goes on being served.

use jsonrpsee::core::client::{ClientT, SubscriptionClientT};
use jsonrpsee::core::params::BatchRequestBuilder;
use jsonrpsee::rpc_params;
use jsonrpsee::ws_client::WsClientBuilder;
use phalanx_api::rpc::NodeApiClient;
use phalanx_api::views::HeaderView;
use phalanx_client::NodeClient;
use phalanx_node::transport::{RpcLimits, MAX_BATCH_LEN, MAX_SUBSCRIPTIONS_PER_CONNECTION};
use phalanx_node::{NodeConfig, RunningNode};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

const ATTACKER: &str = "127.0.0.2";

/// The floods measure how the node holds up on a shared machine: one at a time, so that each
/// measures its own attack.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn one_at_a_time() -> tokio::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().await
}
const LIMITS: RpcLimits = RpcLimits {
    header_read_timeout: Duration::from_secs(1),
    request_timeout: Duration::from_secs(2),
    max_connections_per_peer: 64,
};

async fn start(dir: &std::path::Path) -> (RunningNode, NodeClient) {
    start_with(dir, LIMITS).await
}

async fn start_with(dir: &std::path::Path, limits: RpcLimits) -> (RunningNode, NodeClient) {
    let mut config = NodeConfig::dev(dir.to_path_buf(), "127.0.0.1:0".parse().unwrap());
    config.block_time = Duration::from_millis(100);
    config.rpc_limits = limits;
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
    let _alone = one_at_a_time().await;
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

/// Sends one JSON-RPC call over HTTP from `source`; returns the answer's JSON.
async fn call_from(
    source: &str,
    node: SocketAddr,
    method: &str,
    params: serde_json::Value,
) -> serde_json::Value {
    let body = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
        .to_string();
    let mut stream = connect_from(source, node).await.unwrap();
    let head = format!(
        "POST / HTTP/1.1\r\nHost: node\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    let json = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    serde_json::from_str(json).unwrap_or(serde_json::Value::Null)
}

/// A large module that compiles but lacks the `query` export: the most expensive refusal (the
/// whole module is compiled before the exports are checked).
fn expensive_invalid_module() -> Vec<u8> {
    let mut wat = String::from("(module (memory (export \"memory\") 1)");
    for i in 0..2_000 {
        wat.push_str(&format!(
            "(func $f{i} (param i64) (result i64) local.get 0 i64.const {i} i64.add i64.const {i} i64.mul local.get 0 i64.xor)"
        ));
    }
    wat.push_str("(func (export \"instantiate\") (result i32) i32.const 0)");
    wat.push_str("(func (export \"execute\") (result i32) i32.const 0))");
    wat::parse_str(wat).unwrap()
}

/// `module` with a custom section holding `salt`: new bytes, a new code hash, the same work.
fn salted(module: &[u8], salt: u64) -> Vec<u8> {
    let mut code = module.to_vec();
    // Custom section: id 0, size, name ("s", length 1), then the salt.
    code.extend_from_slice(&[0, 10, 1, b's']);
    code.extend_from_slice(&salt.to_le_bytes());
    code
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_uploads_neither_stall_blocks_nor_flow_for_free() {
    let _alone = one_at_a_time().await;
    use parity_scale_codec::Encode;
    use phalanx_crypto::{sign_transaction, Keypair};
    use phalanx_primitives::amount::UNIT;
    use phalanx_primitives::{Call, Transaction};

    let dir = tempfile::tempdir().unwrap();
    // The first batch validates 128 large modules, ~2 s on a busy 2-core machine: what is
    // measured here is the blocks' cadence and the refusals, not how fast an answer comes, so
    // the request timeout is the node's own, not the 2 s of the slow-client tests.
    let limits = RpcLimits {
        request_timeout: phalanx_node::transport::REQUEST_TIMEOUT,
        ..LIMITS
    };
    let (node, client) = start_with(dir.path(), limits).await;
    let addr = node.rpc_addr();
    // A funded key: the balance is checked before the code, and a refused upload pays nothing.
    let mallory = Keypair::dev("mallory");
    client
        .transfer(&Keypair::dev("alice"), mallory.account_id(), 100 * UNIT)
        .await
        .unwrap();
    let module = expensive_invalid_module();
    let chain_id = client.info().chain_id;
    while client.head().await.unwrap().height < 1 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let start_height = client.head().await.unwrap().height;

    let attack = tokio::spawn(async move {
        let mut codes = Vec::new();
        // Batches of 128: under the old lock each held block production for over a second.
        for round in 0..10u64 {
            let batch: Vec<String> = (0..128)
                .map(|i| {
                    let tx = Transaction {
                        chain_id,
                        signer: mallory.account_id(),
                        nonce: 0,
                        fee: 10u128.pow(12),
                        call: Call::UploadCode {
                            code: salted(&module, round * 128 + i),
                        },
                    };
                    format!("0x{}", hex::encode(sign_transaction(&mallory, tx).encode()))
                })
                .collect();
            let answer =
                call_from(ATTACKER, addr, "tx_submitBatch", serde_json::json!([batch])).await;
            codes.push(match answer["error"]["code"].as_i64() {
                Some(code) => code,
                None => answer["result"][0]["error"]["code"].as_i64().unwrap_or(0),
            });
        }
        codes
    });

    // Blocks keep coming every block time (100 ms) while the attack runs: measured between
    // consecutive blocks' own timestamps, so that this test's own polling, which shares the
    // machine with the attack, cannot make a gap look longer than it was.
    let codes = attack.await.unwrap();
    let last = client.head().await.unwrap();
    let mut worst_gap_ms = 0;
    let mut previous = client.rpc().header(start_height).await.unwrap().unwrap();
    for height in start_height + 1..=last.height {
        let header = client.rpc().header(height).await.unwrap().unwrap();
        worst_gap_ms = worst_gap_ms.max(header.timestamp_ms - previous.timestamp_ms);
        previous = header;
    }
    eprintln!("refusals: {codes:?}; worst gap between blocks {worst_gap_ms} ms");
    assert!(last.height > start_height + 5);
    // Four block times: validating under the producer's lock made it over 500 ms here.
    assert!(worst_gap_ms < 400, "a block waited {worst_gap_ms} ms");
    use phalanx_api::error_codes as codes_of;
    assert_eq!(
        codes[0],
        codes_of::INVALID_CALL as i64,
        "refused as invalid code"
    );
    assert!(
        codes.contains(&(codes_of::RATE_LIMITED as i64)),
        "refusals are not free for ever: {codes:?}"
    );
    node.stop().await.unwrap();
}
