//! The chain side of confidential contracts: a gatekeeper publishes cluster and contract keys
//! and sends cluster keys only to the cluster's workers; code is validated at upload; init and
//! commands are envelopes encrypted to published keys; a replayed command envelope is refused.

mod common;

use common::Chain;
use phalanx_crypto::envelope::EnvelopeContext;
use phalanx_crypto::hierarchy::MasterKey;
use phalanx_crypto::{Keypair, Sealer};
use phalanx_primitives::amount::UNIT;
use phalanx_primitives::attestation::Role;
use phalanx_primitives::{AccountId, Call, Envelope, Event, Hash, Phase, SudoCall};
use phalanx_runtime::Refusal;
use phalanx_runtime::{balances, contracts, TxError};
use rand_core::OsRng;

const FEE: u128 = UNIT / 10;

struct World {
    chain: Chain,
    gatekeeper: Keypair,
    workers: Vec<Keypair>,
    nonces: std::collections::HashMap<AccountId, u64>,
}

impl World {
    fn send(&mut self, from: &Keypair, call: Call) -> Result<(), TxError> {
        let nonce = self.nonces.entry(from.account_id()).or_default();
        let tx = self.chain.signed(from, *nonce, FEE, call);
        let result = self.chain.block(&[tx]).remove(0);
        if result.is_ok() {
            *self.nonces.get_mut(&from.account_id()).unwrap() += 1;
        }
        result
    }

    fn register(&mut self, identity: &Keypair, role: Role) {
        let charlie = Keypair::dev("charlie");
        let call = common::dev_registration(
            &self.chain.params.chain_id,
            identity,
            role,
            &charlie.account_id(),
            [role as u8 + 1; 32],
        );
        self.send(&charlie, call).unwrap();
    }

    fn setup() -> World {
        let mut world = World {
            chain: Chain::dev(),
            gatekeeper: Keypair::dev("gatekeeper-1"),
            workers: vec![
                Keypair::dev("worker-1"),
                Keypair::dev("worker-2"),
                Keypair::dev("worker-3"),
            ],
            nonces: Default::default(),
        };
        // The gatekeeper signs its own transactions, so it needs PHA for fees.
        let fund = Call::Transfer {
            to: world.gatekeeper.account_id(),
            amount: 100 * UNIT,
        };
        world.send(&Keypair::dev("alice"), fund).unwrap();
        world.register(&world.gatekeeper.clone(), Role::Gatekeeper);
        for worker in world.workers.clone() {
            world.register(&worker, Role::Worker);
        }
        world
    }
}

/// The last `n` events the last block's transactions emitted (the block's end left out).
fn last_transaction_events(world: &World, n: usize) -> Vec<Event> {
    let of_transactions: Vec<Event> = world
        .chain
        .events
        .iter()
        .filter(|r| matches!(r.phase, Phase::Transaction(_)))
        .map(|r| r.event.clone())
        .collect();
    of_transactions[of_transactions.len().saturating_sub(n)..].to_vec()
}

/// A command from `sender` carrying `value` PHA into `contract` (1,000 gas).
fn deposit(
    world: &World,
    contract: AccountId,
    contract_public: &[u8; 32],
    sender: &Keypair,
    value: u128,
) -> Call {
    let context = EnvelopeContext {
        chain_id: world.chain.params.chain_id,
        contract,
        sender: sender.account_id(),
    };
    Call::Command {
        contract,
        envelope: seal(contract_public, 0, &context, b"deposit"),
        gas_limit: 1_000,
        value,
    }
}

fn seal(recipient: &[u8; 32], epoch: u32, context: &EnvelopeContext, plaintext: &[u8]) -> Envelope {
    Sealer::new(&mut OsRng)
        .seal(recipient, epoch, context, plaintext, &mut OsRng)
        .unwrap()
}

#[test]
fn keys_go_only_to_cluster_workers_and_commands_only_to_published_contracts() {
    let mut world = World::setup();
    let cluster = Hash([0xc1; 32]);
    let (w1, w2, w3) = (
        world.workers[0].account_id(),
        world.workers[1].account_id(),
        world.workers[2].account_id(),
    );
    let gk = world.gatekeeper.clone();
    let alice = Keypair::dev("alice");
    let bob = Keypair::dev("bob");

    // Only sudo creates clusters, of registered workers only.
    assert_eq!(
        world.send(
            &bob,
            Call::Sudo(SudoCall::CreateCluster {
                cluster,
                workers: vec![w1, w2]
            })
        ),
        Err(TxError::NotSudo)
    );
    let stranger = Keypair::dev("unregistered").account_id();
    assert!(matches!(
        world.send(
            &alice,
            Call::Sudo(SudoCall::CreateCluster {
                cluster,
                workers: vec![w1, stranger]
            })
        ),
        Err(ref e) if e.refusal() == Some(Refusal::NotAuthorized)
    ));
    world
        .send(
            &alice,
            Call::Sudo(SudoCall::CreateCluster {
                cluster,
                workers: vec![w1, w2],
            }),
        )
        .unwrap();

    // The gatekeeper publishes the cluster key; nobody else may.
    let master = MasterKey::generate(0, &mut OsRng);
    let cluster_key = master.cluster_key(&cluster);
    let cluster_public = cluster_key.public_key();
    let publish = Call::PublishClusterKey {
        cluster,
        epoch: 0,
        public_key: cluster_public,
    };
    assert!(matches!(
        world.send(&bob, publish.clone()),
        Err(ref e) if e.refusal() == Some(Refusal::NotAuthorized)
    ));
    // Not before the gatekeeper declared the master key it derives from.
    assert!(matches!(
        world.send(&gk, publish.clone()),
        Err(ref e) if e.refusal() == Some(Refusal::NotAuthorized) && e.to_string().contains("master key")
    ));
    world
        .send(
            &gk,
            Call::PublishMasterKey {
                epoch: 0,
                public_key: master.public_key(),
            },
        )
        .unwrap();
    world.send(&gk, publish.clone()).unwrap();
    assert!(matches!(
        world.send(&gk, publish),
        Err(ref e) if e.refusal() == Some(Refusal::InvalidCall)
    ));

    // Key messages: to members only, from the gatekeeper only.
    let key_context = EnvelopeContext {
        chain_id: world.chain.params.chain_id,
        contract: w1,
        sender: gk.account_id(),
    };
    let envelope = seal(&[2; 32], 0, &key_context, cluster_key.expose_secret());
    world
        .send(
            &gk,
            Call::KeyMessage {
                recipient: w1,
                cluster,
                envelope: envelope.clone(),
            },
        )
        .unwrap();
    assert!(
        matches!(world.chain.events.last().unwrap().event, Event::KeyMessageSent { recipient, .. } if recipient == w1)
    );
    assert!(matches!(
        world.send(
            &gk,
            Call::KeyMessage {
                recipient: w3,
                cluster,
                envelope: envelope.clone()
            }
        ),
        Err(ref e) if e.refusal() == Some(Refusal::NotAuthorized)
    ));
    assert!(matches!(
        world.send(
            &bob,
            Call::KeyMessage {
                recipient: w1,
                cluster,
                envelope
            }
        ),
        Err(ref e) if e.refusal() == Some(Refusal::NotAuthorized)
    ));

    // Code is validated at upload, once.
    let code = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../contracts/counter/counter.wasm"
    ))
    .unwrap();
    assert!(matches!(
        world.send(
            &bob,
            Call::UploadCode {
                code: b"\0asm not really".to_vec()
            }
        ),
        Err(ref e) if e.refusal() == Some(Refusal::InvalidCall)
    ));
    world
        .send(&bob, Call::UploadCode { code: code.clone() })
        .unwrap();
    assert!(matches!(
        world.send(&bob, Call::UploadCode { code: code.clone() }),
        Err(ref e) if e.refusal() == Some(Refusal::InvalidCall)
    ));
    let code_hash = phalanx_primitives::sha256(&code);

    // Instantiate with init encrypted to the cluster key; the id is derived, the gas prepaid.
    let contract = contracts::contract_id(&code_hash, &cluster, &bob.account_id(), b"salt");
    let init_context = EnvelopeContext {
        chain_id: world.chain.params.chain_id,
        contract,
        sender: bob.account_id(),
    };
    let init = seal(&cluster_public, 0, &init_context, b"init");
    let before = balances::account(&world.chain.state, &bob.account_id())
        .unwrap()
        .free;
    let instantiate = Call::Instantiate {
        code_hash,
        cluster,
        salt: b"salt".to_vec(),
        init,
        gas_limit: 1_000_000,
    };
    world.send(&bob, instantiate.clone()).unwrap();
    let after = balances::account(&world.chain.state, &bob.account_id())
        .unwrap()
        .free;
    assert_eq!(
        before - after,
        FEE + 1_000_000
            * phalanx_runtime::tokenomics::params(&world.chain.state)
                .unwrap()
                .gas_price
    );
    assert!(
        matches!(world.send(&bob, instantiate), Err(ref e) if e.refusal() == Some(Refusal::InvalidCall)),
        "same salt twice"
    );
    assert_eq!(
        contracts::contract(&world.chain.state, &contract)
            .unwrap()
            .unwrap()
            .cluster,
        cluster
    );

    // Commands wait for the contract's public key.
    let keys = cluster_key.contract_keys(&contract);
    let command_context = EnvelopeContext {
        chain_id: world.chain.params.chain_id,
        contract,
        sender: bob.account_id(),
    };
    let command = seal(&keys.public_key(), 0, &command_context, b"increment");
    let submit = |envelope: Envelope| Call::Command {
        contract,
        envelope,
        gas_limit: 100_000,
        value: 0,
    };
    assert!(matches!(
        world.send(&bob, submit(command.clone())),
        Err(ref e) if e.refusal() == Some(Refusal::InvalidCall)
    ));
    world
        .send(
            &gk,
            Call::PublishContractKey {
                contract,
                epoch: 0,
                public_key: keys.public_key(),
            },
        )
        .unwrap();
    world.send(&bob, submit(command.clone())).unwrap();
    assert!(world
        .chain
        .events
        .iter()
        .any(|r| matches!(r.event, Event::CommandSubmitted { sequence: 0, .. })));

    // The same ciphertext again is a replay, whoever sends it; a fresh one is command 1.
    let replay = world.send(&bob, submit(command.clone()));
    assert!(
        matches!(&replay, Err(ref e) if e.refusal() == Some(Refusal::InvalidCall) && e.to_string().contains("replay")),
        "{replay:?}"
    );
    assert!(matches!(
        world.send(&alice, submit(command)),
        Err(ref e) if e.refusal() == Some(Refusal::InvalidCall)
    ));
    world
        .send(
            &bob,
            submit(seal(&keys.public_key(), 0, &command_context, b"increment")),
        )
        .unwrap();
    assert_eq!(
        contracts::contract(&world.chain.state, &contract)
            .unwrap()
            .unwrap()
            .commands,
        2
    );

    // An envelope for another epoch, or gas outside the bounds, is refused.
    assert!(matches!(
        world.send(
            &bob,
            submit(seal(&keys.public_key(), 1, &command_context, b"x"))
        ),
        Err(ref e) if e.refusal() == Some(Refusal::InvalidCall)
    ));
    let zero_gas = Call::Command {
        contract,
        envelope: seal(&keys.public_key(), 0, &command_context, b"x"),
        gas_limit: 0,
        value: 0,
    };
    assert!(matches!(
        world.send(&bob, zero_gas),
        Err(ref e) if e.refusal() == Some(Refusal::InvalidCall)
    ));
}

#[test]
fn the_master_key_is_declared_once_and_shared_only_with_registered_gatekeepers() {
    let mut world = World::setup();
    let first = world.gatekeeper.clone();
    let second = Keypair::dev("gatekeeper-2");
    world
        .send(
            &Keypair::dev("alice"),
            Call::Transfer {
                to: second.account_id(),
                amount: 100 * UNIT,
            },
        )
        .unwrap();
    world.register(&second, Role::Gatekeeper);
    // Only the chain's first gatekeeper is elected by registering; governance elects the rest.
    world
        .send(
            &Keypair::dev("alice"),
            Call::Sudo(SudoCall::ElectGatekeeper {
                identity: second.account_id(),
            }),
        )
        .unwrap();
    let master = MasterKey::generate(0, &mut OsRng);
    let declare = |key: [u8; 32]| Call::PublishMasterKey {
        epoch: 0,
        public_key: key,
    };

    // Only a gatekeeper may declare: the first does, once; the second is told to wait.
    assert!(matches!(
        world.send(&Keypair::dev("bob"), declare([1; 32])),
        Err(ref e) if e.refusal() == Some(Refusal::NotAuthorized)
    ));
    world.send(&first, declare(master.public_key())).unwrap();
    assert!(matches!(
        world.send(&second, declare([2; 32])),
        Err(ref e) if e.refusal() == Some(Refusal::InvalidCall) && e.to_string().contains("already declared")
    ));

    let share_to = |to: AccountId, world: &World| Call::ShareMasterKey {
        recipient: to,
        envelope: seal(
            &[3; 32],
            0,
            &EnvelopeContext {
                chain_id: world.chain.params.chain_id,
                contract: to,
                sender: first.account_id(),
            },
            master.expose_secret(),
        ),
    };
    // Only to registered gatekeepers, only from holders, only once.
    let worker = world.workers[0].account_id();
    assert!(matches!(
        world.send(&first, share_to(worker, &world)),
        Err(ref e) if e.refusal() == Some(Refusal::NotAuthorized)
    ));
    assert!(matches!(
        world.send(&second, share_to(first.account_id(), &world)),
        Err(ref e) if e.refusal() == Some(Refusal::NotAuthorized) && e.to_string().contains("does not hold")
    ));
    world
        .send(&first, share_to(second.account_id(), &world))
        .unwrap();
    assert!(matches!(
        world.chain.events.last().unwrap().event,
        Event::MasterKeyShared { to, .. } if to == second.account_id()
    ));
    assert!(matches!(
        world.send(&first, share_to(second.account_id(), &world)),
        Err(ref e) if e.refusal() == Some(Refusal::InvalidCall) && e.to_string().contains("already holds")
    ));
    let info = phalanx_runtime::master_key::master_key(&world.chain.state)
        .unwrap()
        .unwrap();
    assert_eq!(info.holders, vec![first.account_id(), second.account_id()]);
    assert_eq!(info.public_key, master.public_key());

    // The new holder may now publish keys.
    let cluster = Hash([0xc2; 32]);
    world
        .send(
            &Keypair::dev("alice"),
            Call::Sudo(SudoCall::CreateCluster {
                cluster,
                workers: vec![worker],
            }),
        )
        .unwrap();
    world
        .send(
            &second,
            Call::PublishClusterKey {
                cluster,
                epoch: 0,
                public_key: master.cluster_key(&cluster).public_key(),
            },
        )
        .unwrap();
}

/// A world whose workers 1 and 2 (funded) form a cluster running one counter contract of alice,
/// with master, cluster and contract keys published.
struct Deployed {
    world: World,
    workers: [Keypair; 3],
    contract: AccountId,
    contract_public: [u8; 32],
}

fn deploy_counter() -> Deployed {
    let mut world = World::setup();
    let alice = Keypair::dev("alice");
    let gk = world.gatekeeper.clone();
    let [w1, w2, w3] = [0, 1, 2].map(|i| world.workers[i].clone());
    for worker in [&w1, &w2, &w3] {
        let fund = Call::Transfer {
            to: worker.account_id(),
            amount: 10 * UNIT,
        };
        world.send(&alice, fund).unwrap();
    }
    let cluster = Hash([0xc4; 32]);
    let master = MasterKey::generate(0, &mut OsRng);
    let cluster_public = master.cluster_key(&cluster).public_key();
    let calls = [
        (
            &alice,
            Call::Sudo(SudoCall::CreateCluster {
                cluster,
                workers: vec![w1.account_id(), w2.account_id()],
            }),
        ),
        (
            &gk,
            Call::PublishMasterKey {
                epoch: 0,
                public_key: master.public_key(),
            },
        ),
        (
            &gk,
            Call::PublishClusterKey {
                cluster,
                epoch: 0,
                public_key: cluster_public,
            },
        ),
    ];
    for (signer, call) in calls {
        world.send(signer, call).unwrap();
    }
    let code = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../contracts/counter/counter.wasm"
    ))
    .unwrap();
    let code_hash = phalanx_primitives::sha256(&code);
    let contract = contracts::contract_id(&code_hash, &cluster, &alice.account_id(), b"");
    let context = EnvelopeContext {
        chain_id: world.chain.params.chain_id,
        contract,
        sender: alice.account_id(),
    };
    world.send(&alice, Call::UploadCode { code }).unwrap();
    let instantiate = Call::Instantiate {
        code_hash,
        cluster,
        salt: vec![],
        init: seal(&cluster_public, 0, &context, b"init"),
        gas_limit: 1_000_000,
    };
    world.send(&alice, instantiate).unwrap();
    let contract_public = master
        .cluster_key(&cluster)
        .contract_keys(&contract)
        .public_key();
    let publish = Call::PublishContractKey {
        contract,
        epoch: 0,
        public_key: contract_public,
    };
    world.send(&gk, publish).unwrap();
    Deployed {
        world,
        workers: [w1, w2, w3],
        contract,
        contract_public,
    }
}

#[test]
fn heartbeat_reports_are_kept_for_the_newest_heights_only() {
    use phalanx_primitives::StateReport;
    use phalanx_runtime::heartbeats::{reports, KEPT_HEIGHTS};
    let Deployed {
        mut world,
        workers: [w1, ..],
        contract,
        ..
    } = deploy_counter();
    let beat = |height: u64| Call::Heartbeat {
        performance: None,
        digests: vec![StateReport {
            contract,
            height,
            digest: Hash([1; 32]),
        }],
    };
    let kept = KEPT_HEIGHTS as u64;
    for height in 1..=kept + 3 {
        world.send(&w1, beat(height)).unwrap();
    }
    // The three oldest are gone, the newest kept; a report older than all kept is refused.
    for height in 1..=3 {
        assert!(reports(&world.chain.state, &contract, height)
            .unwrap()
            .is_empty());
    }
    assert_eq!(reports(&world.chain.state, &contract, 4).unwrap().len(), 1);
    assert_eq!(
        reports(&world.chain.state, &contract, kept + 3)
            .unwrap()
            .len(),
        1
    );
    assert!(matches!(
        world.send(&w1, beat(2)),
        Err(ref e) if e.refusal() == Some(Refusal::InvalidCall) && e.to_string().contains("older than")
    ));
}

#[test]
fn heartbeats_from_a_cluster_are_compared_and_disagreement_is_an_event() {
    use phalanx_primitives::StateReport;
    let Deployed {
        mut world,
        workers: [w1, w2, w3],
        contract,
        ..
    } = deploy_counter();
    let alice = Keypair::dev("alice");
    let beat = |height: u64, digest: u8| Call::Heartbeat {
        performance: None,
        digests: vec![StateReport {
            contract,
            height,
            digest: Hash([digest; 32]),
        }],
    };
    let divergences = |world: &World| {
        world
            .chain
            .events
            .iter()
            .filter(|r| matches!(r.event, Event::StateDivergence { .. }))
            .count()
    };
    // Only the cluster's registered workers may report, each once per contract and height, and
    // only for blocks already past.
    assert!(matches!(
        world.send(&w3, beat(1, 1)),
        Err(ref e) if e.refusal() == Some(Refusal::NotAuthorized)
    ));
    assert!(matches!(
        world.send(&alice, beat(1, 1)),
        Err(ref e) if e.refusal() == Some(Refusal::NotAuthorized)
    ));
    world.send(&w1, beat(1, 1)).unwrap();
    assert!(matches!(
        world.send(&w1, beat(1, 1)),
        Err(ref e) if e.refusal() == Some(Refusal::InvalidCall) && e.to_string().contains("already reported")
    ));
    assert!(matches!(
        world.send(&w1, beat(1_000, 1)),
        Err(ref e) if e.refusal() == Some(Refusal::InvalidCall)
    ));
    // A heartbeat without reports is a sign of life (it answers challenges).
    world
        .send(
            &w1,
            Call::Heartbeat {
                performance: None,
                digests: vec![],
            },
        )
        .unwrap();
    // Agreement is quiet; disagreement names both workers.
    world.send(&w2, beat(1, 1)).unwrap();
    assert_eq!(divergences(&world), 0);
    world.send(&w1, beat(2, 1)).unwrap();
    world.send(&w2, beat(2, 2)).unwrap();
    assert_eq!(divergences(&world), 1);
    assert!(matches!(
        world.chain.events.last().unwrap().event,
        Event::StateDivergence { worker, other_worker, height: 2, .. }
            if worker == w2.account_id() && other_worker == w1.account_id()
    ));
    assert_eq!(
        phalanx_runtime::heartbeats::reports(&world.chain.state, &contract, 2).unwrap(),
        vec![
            (w1.account_id(), Hash([1; 32])),
            (w2.account_id(), Hash([2; 32]))
        ]
    );
}

#[test]
fn egress_takes_each_output_once_in_order_from_a_worker_of_the_cluster() {
    use phalanx_primitives::ContractOutput;
    let Deployed {
        mut world,
        workers: [w1, w2, w3],
        contract,
        contract_public,
    } = deploy_counter();
    let alice = Keypair::dev("alice");
    let carol = Keypair::dev("carol");

    // A command carries PHA into the contract's account, on top of its gas.
    let context = EnvelopeContext {
        chain_id: world.chain.params.chain_id,
        contract,
        sender: alice.account_id(),
    };
    let before = world.chain.balance(&alice).free;
    let command = deposit(&world, contract, &contract_public, &alice, 5 * UNIT);
    world.send(&alice, command).unwrap();
    let gas = phalanx_runtime::tokenomics::params(&world.chain.state)
        .unwrap()
        .gas_price
        * 1_000;
    assert_eq!(
        world.chain.balance(&alice).free,
        before - 5 * UNIT - gas - FEE
    );
    let held = |world: &World| {
        balances::account(&world.chain.state, &contract)
            .unwrap()
            .free
    };
    assert_eq!(held(&world), 5 * UNIT);

    let pay = |amount| ContractOutput::Transfer {
        to: carol.account_id(),
        amount,
    };
    let egress = |first_seq, outputs| Call::Egress {
        contract,
        first_seq,
        outputs,
    };
    let batch = vec![
        ContractOutput::Event(b"hello".to_vec()),
        pay(2 * UNIT),
        pay(4 * UNIT), // more than is left: fails, and is spent all the same
    ];
    // Forged: not a worker, or a worker of another cluster.
    for forger in [&alice, &w3] {
        assert!(matches!(
            world.send(forger, egress(0, batch.clone())),
            Err(ref e) if e.refusal() == Some(Refusal::NotAuthorized)
        ));
    }
    // Out of order, or empty.
    assert!(matches!(
        world.send(&w1, egress(1, batch.clone())),
        Err(ref e) if e.refusal() == Some(Refusal::InvalidCall) && e.to_string().contains("continue at 0")
    ));
    assert!(matches!(
        world.send(&w1, egress(0, vec![])),
        Err(ref e) if e.refusal() == Some(Refusal::InvalidCall)
    ));
    world.send(&w1, egress(0, batch.clone())).unwrap();
    let events: Vec<Event> = last_transaction_events(&world, 4);
    assert_eq!(
        events[0],
        Event::EgressAccepted {
            contract,
            worker: w1.account_id(),
            first_seq: 0,
            count: 3
        }
    );
    assert_eq!(
        events[1],
        Event::ContractEvent {
            contract,
            seq: 0,
            data: b"hello".to_vec()
        }
    );
    assert!(
        matches!(events[2], Event::Transfer { from, amount, .. } if from == contract && amount == 2 * UNIT)
    );
    assert!(matches!(&events[3], Event::OutputFailed { seq: 2, .. }));
    assert_eq!(world.chain.balance(&carol).free, 2 * UNIT);
    assert_eq!(held(&world), 3 * UNIT);

    // The other worker sending the same outputs, or anyone replaying them: refused.
    for worker in [&w2, &w1] {
        assert!(matches!(
            world.send(worker, egress(0, batch.clone())),
            Err(ref e) if e.refusal() == Some(Refusal::InvalidCall) && e.to_string().contains("replay")
        ));
    }
    assert_eq!(
        phalanx_runtime::egress::next_output(&world.chain.state, &contract).unwrap(),
        3
    );
    // The next batch continues at 3, from either worker; a message needs an existing receiver
    // and gas the sending contract can pay.
    let message = |to| ContractOutput::Message {
        to,
        envelope: seal(&contract_public, 0, &context, b"hi"),
        gas_limit: 1_000,
    };
    world
        .send(
            &w2,
            egress(3, vec![message(contract), message(alice.account_id())]),
        )
        .unwrap();
    let events: Vec<Event> = last_transaction_events(&world, 2);
    assert_eq!(
        events[0],
        Event::ContractMessage {
            from: contract,
            to: contract,
            seq: 3,
            gas_paid: gas,
        }
    );
    assert!(
        matches!(&events[1], Event::OutputFailed { seq: 4, reason, .. } if reason.contains("no contract"))
    );
    assert_eq!(held(&world), 3 * UNIT - gas);

    // Gas waits in the contract's escrow (the instantiation, alice's command, the message): settling it
    // refunds payers and splits the fees between the cluster's two workers and the treasury.
    let escrow = phalanx_primitives::gas_escrow(&contract);
    let escrowed = balances::account(&world.chain.state, &escrow).unwrap().free;
    let instantiation = phalanx_runtime::tokenomics::params(&world.chain.state)
        .unwrap()
        .gas_price
        * 1_000_000;
    assert_eq!(escrowed, instantiation + 2 * gas);
    let too_much = ContractOutput::Settle {
        refunds: vec![(alice.account_id(), escrowed)],
        fees: 1,
    };
    world.send(&w1, egress(5, vec![too_much])).unwrap();
    assert!(matches!(
        &world.chain.events.last().unwrap().event,
        Event::OutputFailed { seq: 5, reason, .. } if reason.contains("escrow")
    ));
    let (alice_before, w1_before, treasury_before) = (
        world.chain.balance(&alice).free,
        world.chain.balance(&w1).free,
        balances::account(&world.chain.state, &world.chain.params.treasury)
            .unwrap()
            .free,
    );
    let fees = 1_000_000u128;
    let settle = ContractOutput::Settle {
        refunds: vec![(alice.account_id(), 300_000)],
        fees,
    };
    world.send(&w2, egress(6, vec![settle])).unwrap();
    let share = fees / 2 / 2; // half the fees, between two workers
    assert_eq!(
        world.chain.events.last().unwrap().event,
        Event::GasSettled {
            contract,
            refunded: 300_000,
            to_workers: 2 * share,
            to_treasury: fees - 2 * share,
        }
    );
    assert_eq!(world.chain.balance(&alice).free, alice_before + 300_000);
    assert_eq!(world.chain.balance(&w1).free, w1_before + share);
    let treasury = balances::account(&world.chain.state, &world.chain.params.treasury).unwrap();
    // The treasury also got w2's transaction fee.
    assert!(treasury.free >= treasury_before + fees - 2 * share);
    assert_eq!(
        balances::account(&world.chain.state, &escrow).unwrap().free,
        escrowed - 300_000 - fees
    );
    assert_eq!(
        world.chain.total(),
        phalanx_primitives::amount::TOTAL_SUPPLY
    );
}

#[test]
fn rotation_moves_keys_to_a_new_epoch_and_a_removed_worker_gets_none() {
    let Deployed {
        mut world,
        workers: [w1, w2, _],
        contract,
        contract_public,
    } = deploy_counter();
    let alice = Keypair::dev("alice");
    let gk = world.gatekeeper.clone();
    let cluster = Hash([0xc4; 32]);
    let sudo = |call| Call::Sudo(call);

    // Only sudo deregisters and rotates; only registered workers can be removed.
    assert_eq!(
        world.send(&w1, sudo(SudoCall::RotateMasterKey)),
        Err(TxError::NotSudo)
    );
    let remove = |worker: &Keypair| {
        sudo(SudoCall::RemoveWorker {
            worker: worker.account_id(),
        })
    };
    assert!(world.send(&alice, remove(&gk)).is_err());
    world.send(&alice, remove(&w2)).unwrap();
    assert_eq!(
        world.chain.events.last().unwrap().event,
        Event::WorkerRemoved {
            worker: w2.account_id(),
            clusters: vec![cluster]
        }
    );
    let members = |world: &World| {
        phalanx_runtime::clusters::cluster(&world.chain.state, &cluster)
            .unwrap()
            .unwrap()
            .workers
    };
    assert_eq!(members(&world), vec![w1.account_id()]);
    // A removed worker no longer reports state.
    let beat = Call::Heartbeat {
        performance: None,
        digests: vec![phalanx_primitives::StateReport {
            contract,
            height: 1,
            digest: Hash([1; 32]),
        }],
    };
    assert!(matches!(
        world.send(&w2, beat),
        Err(ref e) if e.refusal() == Some(Refusal::NotAuthorized)
    ));

    world.send(&alice, sudo(SudoCall::RotateMasterKey)).unwrap();
    let announced: Vec<Event> = last_transaction_events(&world, 3);
    assert_eq!(
        announced,
        vec![
            Event::MasterKeyRotated { epoch: 1 },
            Event::ClusterRekeyed {
                cluster,
                epoch: 1,
                workers: vec![w1.account_id()]
            },
            Event::ContractRekeyed {
                contract,
                cluster,
                epoch: 1
            },
        ]
    );
    assert_eq!(
        phalanx_runtime::clusters::key_epoch(&world.chain.state).unwrap(),
        1
    );

    // Until the new contract key is out, commands of the old epoch still land.
    let context = EnvelopeContext {
        chain_id: world.chain.params.chain_id,
        contract,
        sender: alice.account_id(),
    };
    let command = |key: &[u8; 32], epoch| Call::Command {
        contract,
        envelope: seal(key, epoch, &context, b"increment"),
        gas_limit: 1_000,
        value: 0,
    };
    world.send(&alice, command(&contract_public, 0)).unwrap();

    // The new keys: only of the current epoch, once; key messages only to members and for
    // epochs up to the current one.
    let stale = Call::PublishContractKey {
        contract,
        epoch: 0,
        public_key: [7; 32],
    };
    assert!(world.send(&gk, stale).is_err());
    let new_public = [8; 32];
    let publish = Call::PublishContractKey {
        contract,
        epoch: 1,
        public_key: new_public,
    };
    world.send(&gk, publish.clone()).unwrap();
    assert!(world.send(&gk, publish).is_err());
    let key_message = |to: &Keypair, epoch| Call::KeyMessage {
        recipient: to.account_id(),
        cluster,
        envelope: seal(&[9; 32], epoch, &context, b"cluster key"),
    };
    assert!(matches!(
        world.send(&gk, key_message(&w2, 1)),
        Err(ref e) if e.refusal() == Some(Refusal::NotAuthorized)
    ));
    assert!(world.send(&gk, key_message(&w1, 2)).is_err());
    world.send(&gk, key_message(&w1, 1)).unwrap();

    // Now new commands must use the new key.
    assert!(matches!(
        world.send(&alice, command(&contract_public, 0)),
        Err(ref e) if e.refusal() == Some(Refusal::InvalidCall) && e.to_string().contains("epoch")
    ));
    world.send(&alice, command(&new_public, 1)).unwrap();
}

#[test]
fn an_upload_pays_gas_by_size_to_the_treasury() {
    let mut world = World::setup();
    let alice = Keypair::dev("alice");
    let code = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../contracts/counter/counter.wasm"
    ))
    .unwrap();
    let gas = code.len() as u64 * contracts::UPLOAD_GAS_PER_BYTE;
    let price = phalanx_runtime::tokenomics::params(&world.chain.state)
        .unwrap()
        .gas_price;
    let treasury = world.chain.params.treasury;
    let held = |world: &World| {
        balances::account(&world.chain.state, &treasury)
            .unwrap()
            .free
    };
    let (alice_before, treasury_before) = (world.chain.balance(&alice).free, held(&world));
    world.send(&alice, Call::UploadCode { code }).unwrap();
    let cost = u128::from(gas) * price;
    assert!(world.chain.events.iter().any(|r| r.event
        == Event::GasPrepaid {
            payer: alice.account_id(),
            gas_limit: gas,
            amount: cost
        }));
    assert_eq!(world.chain.balance(&alice).free, alice_before - FEE - cost);
    assert_eq!(held(&world), treasury_before + FEE + cost);
}

/// The `ContractBalance` events of the last block.
fn balance_events(world: &World) -> Vec<(AccountId, u128)> {
    world
        .chain
        .events
        .iter()
        .filter_map(|r| match r.event {
            Event::ContractBalance { contract, balance } => {
                assert_eq!(r.phase, Phase::Finalization);
                Some((contract, balance))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn each_block_announces_the_balance_of_every_contract_whose_pha_it_changed() {
    let Deployed {
        mut world,
        workers: [w1, _, _],
        contract,
        contract_public,
    } = deploy_counter();
    let alice = Keypair::dev("alice");
    let bob = Keypair::dev("bob");
    let transfer = |to, amount| Call::Transfer { to, amount };

    // A plain transfer to the contract's account, and a command carrying PHA.
    world.send(&bob, transfer(contract, 2 * UNIT)).unwrap();
    assert_eq!(balance_events(&world), vec![(contract, 2 * UNIT)]);
    let command = deposit(&world, contract, &contract_public, &alice, 5 * UNIT);
    world.send(&alice, command).unwrap();
    assert_eq!(balance_events(&world), vec![(contract, 7 * UNIT)]);

    // A block that moves no PHA of a contract announces nothing; nor does one that moves an
    // ordinary account's.
    world
        .send(&alice, transfer(bob.account_id(), UNIT))
        .unwrap();
    assert_eq!(balance_events(&world), vec![]);

    // The contract pays out through egress: the new balance follows.
    let pay = phalanx_primitives::ContractOutput::Transfer {
        to: bob.account_id(),
        amount: 3 * UNIT,
    };
    let egress = Call::Egress {
        contract,
        first_seq: 0,
        outputs: vec![pay],
    };
    world.send(&w1, egress).unwrap();
    assert_eq!(balance_events(&world), vec![(contract, 4 * UNIT)]);

    // PHA sent to a contract's address before the contract exists is announced when it is
    // instantiated.
    let info = contracts::contract(&world.chain.state, &contract)
        .unwrap()
        .unwrap();
    let (code_hash, cluster) = (info.code_hash, info.cluster);
    let second = contracts::contract_id(&code_hash, &cluster, &alice.account_id(), b"second");
    world.send(&bob, transfer(second, 6 * UNIT)).unwrap();
    assert_eq!(balance_events(&world), vec![], "not a contract yet");
    let (cluster_public, _) = phalanx_runtime::clusters::cluster(&world.chain.state, &cluster)
        .unwrap()
        .unwrap()
        .public_key
        .unwrap();
    let context = EnvelopeContext {
        chain_id: world.chain.params.chain_id,
        contract: second,
        sender: alice.account_id(),
    };
    let instantiate = Call::Instantiate {
        code_hash,
        cluster,
        salt: b"second".to_vec(),
        init: seal(&cluster_public, 0, &context, b"init"),
        gas_limit: 1_000_000,
    };
    world.send(&alice, instantiate).unwrap();
    assert_eq!(balance_events(&world), vec![(second, 6 * UNIT)]);
}

#[test]
fn only_a_codes_uploader_records_its_metadata_and_only_once() {
    let mut world = World::setup();
    let (alice, bob) = (Keypair::dev("alice"), Keypair::dev("bob"));
    let code = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../contracts/counter/counter.wasm"
    ))
    .unwrap();
    let code_hash = phalanx_primitives::sha256(&code);
    let record = |metadata: u8| Call::RecordMetadata {
        code_hash,
        metadata_hash: Hash([metadata; 32]),
    };
    // No code yet.
    assert!(matches!(
        world.send(&alice, record(1)),
        Err(ref e) if e.to_string().contains("no code")
    ));
    world.send(&alice, Call::UploadCode { code }).unwrap();
    let info = contracts::code_info(&world.chain.state, &code_hash)
        .unwrap()
        .unwrap();
    assert_eq!(info.uploader, alice.account_id());
    assert_eq!(info.metadata_hash, None);
    // Bob did not upload it.
    assert!(matches!(
        world.send(&bob, record(1)),
        Err(ref e) if e.refusal() == Some(Refusal::NotAuthorized)
    ));
    world.send(&alice, record(1)).unwrap();
    assert_eq!(
        last_transaction_events(&world, 1),
        vec![Event::MetadataRecorded {
            code_hash,
            metadata_hash: Hash([1; 32])
        }]
    );
    // Once: a later file cannot replace what clients already trust.
    assert!(matches!(
        world.send(&alice, record(2)),
        Err(ref e) if e.to_string().contains("already")
    ));
    let info = contracts::code_info(&world.chain.state, &code_hash)
        .unwrap()
        .unwrap();
    assert_eq!(info.metadata_hash, Some(Hash([1; 32])));
}
