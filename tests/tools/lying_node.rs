//! `lying-node`: a test tool, not part of the network. A JSON-RPC proxy that sits between an
//! enclave (worker or gatekeeper) and its node and lies the way a hostile host would, so that the
//! end-to-end tests in `tests/e2e/lying_node.rs` can show the enclave believes none of it.
//!
//! Usage: `lying-node --listen ADDR --upstream URL --mode-file FILE`. It prints
//! `lying-node: listening on http://ADDR` once bound. It reads FILE before every request (so a
//! test switches the lie without restarting it); a missing file means `honest`. Modes:
//! - `honest`: forwards everything.
//! - `ecdh`: `registry_getWorker` answers carry the attacker's ECDH key ([`ATTACKER_ECDH_SEED`]).
//! - `validators`: `chain_info` claims the attacker's key is the validator set, and every block
//!   carries a forged transaction and is re-signed by that key.
//! - `unsigned`: every block carries a command from bob that bob never signed, with its events,
//!   and a certificate of the real (dev) validator: a valid certificate over a bad transaction.
//! - `events`: block events gain a forged one (a key rotation to epoch 99).
//! - `replay`: asked for block N, it serves block N-1.
//! - `genesis`: `chain_getGenesis` serves another chain's genesis.
//! - `withhold`: no block is ever final (the node answers null for every block).
//!
//! It speaks just enough HTTP/1.1 for a JSON-RPC client: POST with Content-Length, keep-alive.

use jsonrpsee::core::client::ClientT;
use jsonrpsee::core::params::ArrayParams;
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use parity_scale_codec::{Decode, Encode};
use phalanx_crypto::{sign_finality, Keypair};
use phalanx_primitives::{
    events_root, Block, Call, Envelope, Event, EventRecord, GenesisConfig, Phase, Signature,
    SignedTransaction, Transaction,
};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// The attacker's x25519 secret (the tests hold it too and try to open every key message).
pub const ATTACKER_ECDH_SEED: [u8; 32] = [0xAA; 32];
/// The attacker's validator key name (a dev key: derived from the name).
const ATTACKER_VALIDATOR: &str = "mallory-validator";
/// The real dev chain's validator key name (dev chains only: its key derives from the name).
const DEV_VALIDATOR: &str = "validator";
/// Largest request body accepted.
const MAX_BODY: usize = 64 * 1024 * 1024;

struct Proxy {
    upstream: HttpClient,
    mode_file: PathBuf,
}

fn arg(name: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| panic!("lying-node: {name} is required"))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let listen = arg("--listen");
    let upstream = HttpClientBuilder::default()
        .max_response_size(256 * 1024 * 1024)
        .build(arg("--upstream"))
        .expect("upstream URL");
    let proxy = Arc::new(Proxy {
        upstream,
        mode_file: arg("--mode-file").into(),
    });
    let listener = TcpListener::bind(&listen).await.expect("bind");
    eprintln!(
        "lying-node: listening on http://{}",
        listener.local_addr().expect("bound")
    );
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let proxy = proxy.clone();
        tokio::spawn(async move {
            let _ = serve(proxy, stream).await;
        });
    }
}

async fn serve(proxy: Arc<Proxy>, stream: TcpStream) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    loop {
        let mut length = None;
        let mut line = String::new();
        let mut first = true;
        loop {
            line.clear();
            if reader.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            let trimmed = line.trim_end();
            if trimmed.is_empty() && !first {
                break;
            }
            first = false;
            if let Some((name, value)) = trimmed.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse::<usize>().ok();
                }
            }
        }
        let length = length.unwrap_or(0).min(MAX_BODY);
        let mut body = vec![0; length];
        reader.read_exact(&mut body).await?;
        let answer = proxy.answer(&body).await.to_string();
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{answer}",
            answer.len()
        );
        write.write_all(response.as_bytes()).await?;
    }
}

impl Proxy {
    fn mode(&self) -> String {
        std::fs::read_to_string(&self.mode_file)
            .map(|m| m.trim().to_string())
            .unwrap_or_else(|_| "honest".into())
    }

    async fn answer(&self, body: &[u8]) -> Value {
        let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let id = request.get("id").cloned().unwrap_or(Value::Null);
        let method = request["method"].as_str().unwrap_or_default().to_string();
        let params = request
            .get("params")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mode = self.mode();
        match self.call(&mode, &method, &params).await {
            Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
            Err(error) => json!({"jsonrpc": "2.0", "id": id, "error": error}),
        }
    }

    async fn forward(&self, method: &str, params: &[Value]) -> Result<Value, Value> {
        let mut array = ArrayParams::new();
        for param in params {
            array.insert(param).expect("JSON serializes");
        }
        self.upstream
            .request::<Value, _>(method, array)
            .await
            .map_err(|e| match e {
                jsonrpsee::core::ClientError::Call(object) => json!({
                    "code": object.code(),
                    "message": object.message(),
                    "data": object.data().map(|d| serde_json::from_str::<Value>(d.get()).unwrap_or(Value::Null)),
                }),
                other => json!({"code": -32603, "message": other.to_string()}),
            })
    }

    async fn call(&self, mode: &str, method: &str, params: &[Value]) -> Result<Value, Value> {
        let height = params.first().and_then(Value::as_u64);
        match (mode, method) {
            ("ecdh", "registry_getWorker") => {
                let mut worker = self.forward(method, params).await?;
                if worker.is_object() {
                    worker["ecdh_public"] = json!(hex::encode(attacker_ecdh_public()));
                }
                Ok(worker)
            }
            ("validators", "chain_info") => {
                let mut info = self.forward(method, params).await?;
                info["validators"] = json!([Keypair::dev(ATTACKER_VALIDATOR).account_id()]);
                Ok(info)
            }
            ("validators", "chain_getBlockRaw") => {
                self.tampered_block(params, |block, _| {
                    forge_transaction(block);
                    sign(block, ATTACKER_VALIDATOR);
                })
                .await
            }
            ("unsigned", "chain_getBlockRaw") => {
                self.tampered_block(params, |block, events| {
                    let forged = forge_transaction(block);
                    events.extend(forged_events(forged));
                    block.header.events_root = events_root(events);
                    sign(block, DEV_VALIDATOR);
                })
                .await
            }
            ("unsigned", "chain_getEventsRaw") => {
                let Some(height) = height else {
                    return self.forward(method, params).await;
                };
                let (Some(mut block), Some(mut events)) =
                    (self.block(height).await?, self.events(height).await?)
                else {
                    return Ok(Value::Null);
                };
                let forged = forge_transaction(&mut block);
                events.extend(forged_events(forged));
                Ok(json!(format!("0x{}", hex::encode(events.encode()))))
            }
            ("events", "chain_getEventsRaw") => {
                let Some(height) = height else {
                    return self.forward(method, params).await;
                };
                let Some(mut events) = self.events(height).await? else {
                    return Ok(Value::Null);
                };
                // A forged rotation: workers that believed it would wait for keys of epoch 99.
                events.push(EventRecord {
                    phase: Phase::Finalization,
                    event: Event::MasterKeyRotated { epoch: 99 },
                });
                Ok(json!(format!("0x{}", hex::encode(events.encode()))))
            }
            ("replay", "chain_getBlockRaw") => match height {
                Some(h) if h > 0 => self.forward(method, &[json!(h - 1)]).await,
                _ => self.forward(method, params).await,
            },
            ("genesis", "chain_getGenesis") => {
                let raw = self.forward(method, params).await?;
                let bytes = decode_hex(&raw)
                    .ok_or_else(|| json!({"code": -32603, "message": "bad genesis"}))?;
                let mut genesis = GenesisConfig::decode(&mut &bytes[..])
                    .map_err(|e| json!({"code": -32603, "message": e.to_string()}))?;
                genesis.chain_name = format!("{} (forged)", genesis.chain_name);
                Ok(json!(format!("0x{}", hex::encode(genesis.encode()))))
            }
            ("withhold", "chain_getBlockRaw") => Ok(Value::Null),
            _ => self.forward(method, params).await,
        }
    }

    async fn block(&self, height: u64) -> Result<Option<Block>, Value> {
        let raw = self.forward("chain_getBlockRaw", &[json!(height)]).await?;
        Ok(decode_hex(&raw).and_then(|b| Block::decode(&mut &b[..]).ok()))
    }

    async fn events(&self, height: u64) -> Result<Option<Vec<EventRecord>>, Value> {
        let raw = self.forward("chain_getEventsRaw", &[json!(height)]).await?;
        Ok(decode_hex(&raw).and_then(|b| Vec::<EventRecord>::decode(&mut &b[..]).ok()))
    }

    async fn tampered_block(
        &self,
        params: &[Value],
        tamper: impl FnOnce(&mut Block, &mut Vec<EventRecord>),
    ) -> Result<Value, Value> {
        let Some(height) = params.first().and_then(Value::as_u64) else {
            return self.forward("chain_getBlockRaw", params).await;
        };
        if height == 0 {
            return self.forward("chain_getBlockRaw", params).await;
        }
        let (Some(mut block), Some(mut events)) =
            (self.block(height).await?, self.events(height).await?)
        else {
            return Ok(Value::Null);
        };
        tamper(&mut block, &mut events);
        Ok(json!(format!("0x{}", hex::encode(block.encode()))))
    }
}

fn decode_hex(value: &Value) -> Option<Vec<u8>> {
    value
        .as_str()?
        .strip_prefix("0x")
        .and_then(|h| hex::decode(h).ok())
}

fn attacker_ecdh_public() -> [u8; 32] {
    let secret = x25519_dalek::StaticSecret::from(ATTACKER_ECDH_SEED);
    x25519_dalek::PublicKey::from(&secret).to_bytes()
}

/// Appends "bob pays mallory" as a command to the block's first contract (or to bob himself),
/// signed by nobody; fixes the transactions root. Returns the forged transaction's index.
fn forge_transaction(block: &mut Block) -> u32 {
    let bob = Keypair::dev("bob").account_id();
    let contract = block
        .transactions
        .iter()
        .find_map(|tx| match &tx.transaction.call {
            Call::Command { contract, .. } => Some(*contract),
            _ => None,
        })
        .unwrap_or(bob);
    let chain_id = block
        .transactions
        .first()
        .map(|tx| tx.transaction.chain_id)
        .unwrap_or_default();
    let forged = SignedTransaction {
        transaction: Transaction {
            chain_id,
            signer: bob,
            nonce: 1_000_000,
            fee: 0,
            call: Call::Command {
                contract,
                envelope: Envelope {
                    version: 1,
                    epoch: 0,
                    ephemeral: [1; 32],
                    nonce: [2; 12],
                    ciphertext: b"withdraw 1000 PHA to mallory".to_vec(),
                },
                gas_limit: 1_000_000,
                value: 0,
            },
        },
        signature: Signature([0x55; 64]),
    };
    block.transactions.push(forged);
    block.header.transactions_root = Block::transactions_root(&block.transactions);
    (block.transactions.len() - 1) as u32
}

/// The events the chain would have emitted for the forged command.
fn forged_events(index: u32) -> Vec<EventRecord> {
    let bob = Keypair::dev("bob").account_id();
    vec![EventRecord {
        phase: Phase::Transaction(index),
        event: Event::FeePaid { payer: bob, fee: 0 },
    }]
}

fn sign(block: &mut Block, validator: &str) {
    let key = Keypair::dev(validator);
    block.certificate = sign_finality(&key, &block.header);
}
