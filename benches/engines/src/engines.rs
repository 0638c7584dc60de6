//! The engines under test, each behind [`Runner`]: compile a module once, then run calls.
//!
//! Every runner instantiates once and then calls its instance for each command, as a worker
//! that keeps a contract's instance for a block would; `fresh_instance` runners instantiate for
//! every call instead, as the VM did before instances were kept.

use crate::host::{HostFault, MiniHost};

/// One engine, one contract.
pub trait Runner {
    /// Runs `entry` with `input`; returns the fuel it burnt.
    fn call(&mut self, entry: &str, input: &[u8]) -> Result<u64, String>;
}

pub const FUEL: u64 = 100_000_000;

pub mod wasmi_engine {
    use super::*;
    use wasmi::{Caller, Config, Engine, Extern, Instance, Linker, Module, Store};

    pub fn engine() -> Engine {
        // As the VM configures it (crates/vm/src/validate.rs).
        let mut config = Config::default();
        config
            .consume_fuel(true)
            .floats(false)
            .compilation_mode(wasmi::CompilationMode::Eager);
        Engine::new(&config)
    }

    pub fn compile(engine: &Engine, code: &[u8]) -> Module {
        Module::new(engine, code).expect("the example contract compiles")
    }

    fn memory<'a>(caller: &'a mut Caller<'_, MiniHost>) -> (&'a mut [u8], &'a mut MiniHost) {
        let Some(Extern::Memory(memory)) = caller.get_export("memory") else {
            panic!("the example contracts export their memory")
        };
        memory.data_and_store_mut(caller)
    }

    fn fault(fault: HostFault) -> wasmi::Error {
        wasmi::Error::new(fault.0)
    }

    pub fn linker(engine: &Engine) -> Linker<MiniHost> {
        let mut linker = Linker::new(engine);
        let l = &mut linker;
        l.func_wrap("env", "input", |mut c: Caller<'_, MiniHost>| {
            c.data_mut().input()
        })
        .unwrap();
        l.func_wrap(
            "env",
            "scratch_read",
            |mut c: Caller<'_, MiniHost>, p: i32| {
                let (memory, host) = memory(&mut c);
                host.scratch_read(memory, p).map_err(fault)
            },
        )
        .unwrap();
        l.func_wrap(
            "env",
            "output",
            |mut c: Caller<'_, MiniHost>, p: i32, n: i32| {
                let (memory, host) = memory(&mut c);
                host.output(memory, p, n).map_err(fault)
            },
        )
        .unwrap();
        l.func_wrap(
            "env",
            "storage_get",
            |mut c: Caller<'_, MiniHost>, p: i32, n: i32| {
                let (memory, host) = memory(&mut c);
                host.storage_get(memory, p, n).map_err(fault)
            },
        )
        .unwrap();
        l.func_wrap(
            "env",
            "storage_set",
            |mut c: Caller<'_, MiniHost>, kp: i32, kn: i32, vp: i32, vn: i32| {
                let (memory, host) = memory(&mut c);
                host.storage_set(memory, (kp, kn), (vp, vn)).map_err(fault)
            },
        )
        .unwrap();
        l.func_wrap(
            "env",
            "storage_remove",
            |mut c: Caller<'_, MiniHost>, p: i32, n: i32| {
                let (memory, host) = memory(&mut c);
                host.storage_remove(memory, p, n).map_err(fault)
            },
        )
        .unwrap();
        l.func_wrap("env", "caller", |mut c: Caller<'_, MiniHost>, p: i32| {
            let (memory, host) = memory(&mut c);
            MiniHost::write_fixed(memory, p, &host.caller).map_err(fault)
        })
        .unwrap();
        l.func_wrap(
            "env",
            "self_address",
            |mut c: Caller<'_, MiniHost>, p: i32| {
                let (memory, _) = memory(&mut c);
                MiniHost::write_fixed(memory, p, &[1; 32]).map_err(fault)
            },
        )
        .unwrap();
        for name in ["value_received", "balance"] {
            l.func_wrap("env", name, |mut c: Caller<'_, MiniHost>, p: i32| {
                let (memory, _) = memory(&mut c);
                MiniHost::write_fixed(memory, p, &[0; 16]).map_err(fault)
            })
            .unwrap();
        }
        l.func_wrap("env", "permit_scopes", |_: Caller<'_, MiniHost>| -1i32)
            .unwrap();
        l.func_wrap("env", "pad_gas", |_: Caller<'_, MiniHost>, _: i64| {})
            .unwrap();
        l.func_wrap(
            "env",
            "transfer",
            |_: Caller<'_, MiniHost>, _: i32, _: i32| {},
        )
        .unwrap();
        l.func_wrap(
            "env",
            "emit_event",
            |mut c: Caller<'_, MiniHost>, p: i32, n: i32| {
                let (memory, host) = memory(&mut c);
                host.event(memory, p, n).map_err(fault)
            },
        )
        .unwrap();
        l.func_wrap(
            "env",
            "emit_event_to",
            |mut c: Caller<'_, MiniHost>, _: i32, p: i32, n: i32| {
                let (memory, host) = memory(&mut c);
                host.event(memory, p, n).map_err(fault)
            },
        )
        .unwrap();
        for name in ["block_height", "block_time"] {
            l.func_wrap("env", name, |_: Caller<'_, MiniHost>| 1i64)
                .unwrap();
        }
        l.func_wrap(
            "env",
            "panic",
            |mut c: Caller<'_, MiniHost>, p: i32, n: i32| -> Result<(), wasmi::Error> {
                let (memory, _) = memory(&mut c);
                Err(fault(MiniHost::panic(memory, p, n)))
            },
        )
        .unwrap();
        linker
    }

    /// Keeps one store and instance for all calls.
    pub struct Kept {
        store: Store<MiniHost>,
        instance: Instance,
        /// With memory reset: linear memory as instantiation left it, copied back after
        /// every call (globals are left alone: the contracts' only mutable one is the stack
        /// pointer, which every return restores).
        image: Option<Vec<u8>>,
    }

    impl Kept {
        pub fn new(engine: &Engine, module: &Module, host: MiniHost) -> Self {
            Self::with_reset(engine, module, host, false)
        }

        pub fn with_reset(engine: &Engine, module: &Module, host: MiniHost, reset: bool) -> Self {
            let mut store = Store::new(engine, host);
            let instance = linker(engine)
                .instantiate_and_start(&mut store, module)
                .expect("instantiates");
            let image = reset.then(|| memory_of(&store, &instance).data(&store).to_vec());
            Kept {
                store,
                instance,
                image,
            }
        }
    }

    fn memory_of(store: &Store<MiniHost>, instance: &Instance) -> wasmi::Memory {
        instance
            .get_memory(store, "memory")
            .expect("the example contracts export their memory")
    }

    impl Runner for Kept {
        fn call(&mut self, entry: &str, input: &[u8]) -> Result<u64, String> {
            let result = self.run(entry, input);
            if let Some(image) = &self.image {
                let memory = memory_of(&self.store, &self.instance);
                let data = memory.data_mut(&mut self.store);
                assert_eq!(data.len(), image.len(), "the call grew memory");
                data.copy_from_slice(image);
            }
            result
        }
    }

    impl Kept {
        fn run(&mut self, entry: &str, input: &[u8]) -> Result<u64, String> {
            self.store.data_mut().begin(input);
            self.store.set_fuel(FUEL).map_err(|e| e.to_string())?;
            let func = self
                .instance
                .get_typed_func::<(), i32>(&self.store, entry)
                .map_err(|e| e.to_string())?;
            let code = func.call(&mut self.store, ()).map_err(|e| e.to_string())?;
            if code != 0 {
                return Err(format!("contract returned {code}"));
            }
            Ok(FUEL - self.store.get_fuel().map_err(|e| e.to_string())?)
        }
    }

    /// A new store and instance for every call (the linker kept), as the VM does today.
    pub struct Fresh {
        engine: Engine,
        module: Module,
        linker: Linker<MiniHost>,
        host: Option<MiniHost>,
    }

    impl Fresh {
        pub fn new(engine: &Engine, module: &Module, host: MiniHost) -> Self {
            Fresh {
                engine: engine.clone(),
                module: module.clone(),
                linker: linker(engine),
                host: Some(host),
            }
        }
    }

    impl Runner for Fresh {
        fn call(&mut self, entry: &str, input: &[u8]) -> Result<u64, String> {
            let host = self.host.take().expect("the host is back after every call");
            let mut store = Store::new(&self.engine, host);
            let result = self
                .linker
                .instantiate_and_start(&mut store, &self.module)
                .map_err(|e| e.to_string())
                .and_then(|instance| {
                    store.data_mut().begin(input);
                    store.set_fuel(FUEL).map_err(|e| e.to_string())?;
                    let func = instance
                        .get_typed_func::<(), i32>(&store, entry)
                        .map_err(|e| e.to_string())?;
                    let code = func.call(&mut store, ()).map_err(|e| e.to_string())?;
                    if code != 0 {
                        return Err(format!("contract returned {code}"));
                    }
                    Ok(FUEL - store.get_fuel().map_err(|e| e.to_string())?)
                });
            self.host = Some(store.into_data());
            result
        }
    }
}

pub mod wasmtime_engine {
    use super::*;
    use wasmtime::{
        Caller, Config, Engine, Extern, Instance, InstancePre, Linker, Module, Store, Strategy,
    };

    pub fn engine(strategy: Strategy) -> Engine {
        engine_with(strategy, false)
    }

    /// With `pooled`, instances come from a pool of preallocated slots and memories start as
    /// copy-on-write images of the module's data: a fresh instance per call without an mmap.
    pub fn engine_with(strategy: Strategy, pooled: bool) -> Engine {
        let mut config = Config::new();
        if pooled {
            let mut pool = wasmtime::PoolingAllocationConfig::new();
            pool.total_core_instances(16)
                .total_memories(16)
                .total_tables(16)
                .max_memory_size(16 << 20);
            config
                .allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(pool))
                .memory_reservation(16 << 20)
                .memory_guard_size(64 << 10);
        }
        config
            .strategy(strategy)
            .consume_fuel(true)
            .wasm_simd(false)
            .wasm_relaxed_simd(false)
            .wasm_multi_memory(false)
            .cranelift_nan_canonicalization(true);
        Engine::new(&config).expect("a valid wasmtime configuration")
    }

    pub fn compile(engine: &Engine, code: &[u8]) -> Module {
        Module::new(engine, code).expect("the example contract compiles")
    }

    fn memory<'a>(caller: &'a mut Caller<'_, MiniHost>) -> (&'a mut [u8], &'a mut MiniHost) {
        let Some(Extern::Memory(memory)) = caller.get_export("memory") else {
            panic!("the example contracts export their memory")
        };
        memory.data_and_store_mut(caller)
    }

    fn fault(fault: HostFault) -> wasmtime::Error {
        wasmtime::Error::new(fault)
    }

    pub fn linker(engine: &Engine) -> Linker<MiniHost> {
        let mut linker = Linker::new(engine);
        let l = &mut linker;
        l.func_wrap("env", "input", |mut c: Caller<'_, MiniHost>| {
            c.data_mut().input()
        })
        .unwrap();
        l.func_wrap(
            "env",
            "scratch_read",
            |mut c: Caller<'_, MiniHost>, p: i32| {
                let (memory, host) = memory(&mut c);
                host.scratch_read(memory, p).map_err(fault)
            },
        )
        .unwrap();
        l.func_wrap(
            "env",
            "output",
            |mut c: Caller<'_, MiniHost>, p: i32, n: i32| {
                let (memory, host) = memory(&mut c);
                host.output(memory, p, n).map_err(fault)
            },
        )
        .unwrap();
        l.func_wrap(
            "env",
            "storage_get",
            |mut c: Caller<'_, MiniHost>, p: i32, n: i32| {
                let (memory, host) = memory(&mut c);
                host.storage_get(memory, p, n).map_err(fault)
            },
        )
        .unwrap();
        l.func_wrap(
            "env",
            "storage_set",
            |mut c: Caller<'_, MiniHost>, kp: i32, kn: i32, vp: i32, vn: i32| {
                let (memory, host) = memory(&mut c);
                host.storage_set(memory, (kp, kn), (vp, vn)).map_err(fault)
            },
        )
        .unwrap();
        l.func_wrap(
            "env",
            "storage_remove",
            |mut c: Caller<'_, MiniHost>, p: i32, n: i32| {
                let (memory, host) = memory(&mut c);
                host.storage_remove(memory, p, n).map_err(fault)
            },
        )
        .unwrap();
        l.func_wrap("env", "caller", |mut c: Caller<'_, MiniHost>, p: i32| {
            let (memory, host) = memory(&mut c);
            MiniHost::write_fixed(memory, p, &host.caller).map_err(fault)
        })
        .unwrap();
        l.func_wrap(
            "env",
            "self_address",
            |mut c: Caller<'_, MiniHost>, p: i32| {
                let (memory, _) = memory(&mut c);
                MiniHost::write_fixed(memory, p, &[1; 32]).map_err(fault)
            },
        )
        .unwrap();
        for name in ["value_received", "balance"] {
            l.func_wrap("env", name, |mut c: Caller<'_, MiniHost>, p: i32| {
                let (memory, _) = memory(&mut c);
                MiniHost::write_fixed(memory, p, &[0; 16]).map_err(fault)
            })
            .unwrap();
        }
        l.func_wrap("env", "permit_scopes", |_: Caller<'_, MiniHost>| -1i32)
            .unwrap();
        l.func_wrap("env", "pad_gas", |_: Caller<'_, MiniHost>, _: i64| {})
            .unwrap();
        l.func_wrap(
            "env",
            "transfer",
            |_: Caller<'_, MiniHost>, _: i32, _: i32| {},
        )
        .unwrap();
        l.func_wrap(
            "env",
            "emit_event",
            |mut c: Caller<'_, MiniHost>, p: i32, n: i32| {
                let (memory, host) = memory(&mut c);
                host.event(memory, p, n).map_err(fault)
            },
        )
        .unwrap();
        l.func_wrap(
            "env",
            "emit_event_to",
            |mut c: Caller<'_, MiniHost>, _: i32, p: i32, n: i32| {
                let (memory, host) = memory(&mut c);
                host.event(memory, p, n).map_err(fault)
            },
        )
        .unwrap();
        for name in ["block_height", "block_time"] {
            l.func_wrap("env", name, |_: Caller<'_, MiniHost>| 1i64)
                .unwrap();
        }
        l.func_wrap(
            "env",
            "panic",
            |mut c: Caller<'_, MiniHost>, p: i32, n: i32| -> wasmtime::Result<()> {
                let (memory, _) = memory(&mut c);
                Err(fault(MiniHost::panic(memory, p, n)))
            },
        )
        .unwrap();
        linker
    }

    fn run(
        store: &mut Store<MiniHost>,
        instance: &Instance,
        entry: &str,
        input: &[u8],
    ) -> Result<u64, String> {
        store.data_mut().begin(input);
        store.set_fuel(FUEL).map_err(|e| e.to_string())?;
        let func = instance
            .get_typed_func::<(), i32>(&mut *store, entry)
            .map_err(|e| e.to_string())?;
        let code = func.call(&mut *store, ()).map_err(|e| e.to_string())?;
        if code != 0 {
            return Err(format!("contract returned {code}"));
        }
        Ok(FUEL - store.get_fuel().map_err(|e| e.to_string())?)
    }

    /// Keeps one store and instance for all calls.
    pub struct Kept {
        store: Store<MiniHost>,
        instance: Instance,
        /// With memory reset: linear memory as instantiation left it (see wasmi's `Kept`).
        image: Option<Vec<u8>>,
    }

    impl Kept {
        pub fn new(engine: &Engine, module: &Module, host: MiniHost) -> Self {
            Self::with_reset(engine, module, host, false)
        }

        pub fn with_reset(engine: &Engine, module: &Module, host: MiniHost, reset: bool) -> Self {
            let mut store = Store::new(engine, host);
            let instance = linker(engine)
                .instantiate(&mut store, module)
                .expect("instantiates");
            let image = reset.then(|| memory_of(&mut store, &instance).data(&store).to_vec());
            Kept {
                store,
                instance,
                image,
            }
        }
    }

    fn memory_of(store: &mut Store<MiniHost>, instance: &Instance) -> wasmtime::Memory {
        instance
            .get_memory(&mut *store, "memory")
            .expect("the example contracts export their memory")
    }

    impl Runner for Kept {
        fn call(&mut self, entry: &str, input: &[u8]) -> Result<u64, String> {
            let result = run(&mut self.store, &self.instance, entry, input);
            if let Some(image) = &self.image {
                let memory = memory_of(&mut self.store, &self.instance);
                let data = memory.data_mut(&mut self.store);
                assert_eq!(data.len(), image.len(), "the call grew memory");
                data.copy_from_slice(image);
            }
            result
        }
    }

    /// A new store and instance for every call, from a pre-linked module (the cheapest fresh
    /// instance wasmtime offers); the host state moves from store to store.
    pub struct Fresh {
        engine: Engine,
        pre: InstancePre<MiniHost>,
        host: Option<MiniHost>,
    }

    impl Fresh {
        pub fn new(engine: &Engine, module: &Module, host: MiniHost) -> Self {
            let pre = linker(engine).instantiate_pre(module).expect("links");
            Fresh {
                engine: engine.clone(),
                pre,
                host: Some(host),
            }
        }
    }

    impl Runner for Fresh {
        fn call(&mut self, entry: &str, input: &[u8]) -> Result<u64, String> {
            let host = self.host.take().expect("the host is back after every call");
            let mut store = Store::new(&self.engine, host);
            let result = self
                .pre
                .instantiate(&mut store)
                .map_err(|e| e.to_string())
                .and_then(|instance| run(&mut store, &instance, entry, input));
            self.host = Some(store.into_data());
            result
        }
    }
}
