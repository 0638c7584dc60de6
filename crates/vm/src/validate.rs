//! Deciding whether a module may run, from its bytes alone and before anything is compiled:
//! size, what instantiating it allocates (`shape.rs`), Wasm validity with the deterministic
//! feature set ([`WASM_FEATURES`]: no floats, no SIMD, no threads, one memory), imports only
//! from the host API with the right signatures, the three entry points, a bounded memory, no
//! start function. The node decides uploads with this ([`check_module`]); a worker then
//! compiles what it accepted ([`compile`]).

use crate::host::HOST_FUNCTIONS;
use crate::reuse::Reuse;
use crate::shape::ModuleShape;
use crate::{VmError, MAX_CODE_SIZE, MAX_MEMORY_PAGES, MAX_WASM_STACK_BYTES};
use wasmparser::{ExternalKind, Parser, Payload, TypeRef, ValType, Validator, WasmFeatures};

/// Entry points every contract exports, each `() -> i32`.
pub(crate) const ENTRY_POINTS: [&str; 3] = ["instantiate", "execute", "query"];

/// What uploaded code may use. Floats are out because NaN bit patterns may differ between
/// machines, and wasmtime cannot switch them off itself; everything else off is either
/// nondeterministic (threads), unneeded by contracts, or more engine surface than they need.
pub(crate) const WASM_FEATURES: WasmFeatures = WasmFeatures::MUTABLE_GLOBAL
    .union(WasmFeatures::SATURATING_FLOAT_TO_INT)
    .union(WasmFeatures::SIGN_EXTENSION)
    .union(WasmFeatures::REFERENCE_TYPES)
    .union(WasmFeatures::MULTI_VALUE)
    .union(WasmFeatures::BULK_MEMORY)
    .union(WasmFeatures::EXTENDED_CONST);

/// The engine configuration: fuel metering on, every proposal uploaded code may not use off
/// (validation refused it already; this keeps the engine from accepting it on its own), NaNs
/// canonical as a second line behind the float ban, and a fixed stack: the same binary then
/// runs out of stack at the same depth on every worker.
pub(crate) fn engine_config() -> wasmtime::Config {
    let mut config = wasmtime::Config::new();
    config
        .strategy(wasmtime::Strategy::Cranelift)
        .consume_fuel(true)
        .wasm_simd(false)
        .wasm_relaxed_simd(false)
        .wasm_multi_memory(false)
        .wasm_memory64(false)
        .wasm_tail_call(false)
        .wasm_wide_arithmetic(false)
        .wasm_custom_page_sizes(false)
        .wasm_backtrace_max_frames(None)
        .cranelift_nan_canonicalization(true)
        .max_wasm_stack(MAX_WASM_STACK_BYTES);
    config
}

/// The engine all of this process's VMs share: its machine code and signal handlers are set up
/// once.
pub(crate) fn shared_engine() -> wasmtime::Engine {
    static ENGINE: std::sync::OnceLock<wasmtime::Engine> = std::sync::OnceLock::new();
    ENGINE
        .get_or_init(|| {
            wasmtime::Engine::new(&engine_config())
                .expect("the engine configuration is fixed and valid on this platform")
        })
        .clone()
}

fn invalid(e: wasmparser::BinaryReaderError) -> VmError {
    VmError::Invalid(e.to_string())
}

/// Checks `code` as an upload: everything but compiling it. Cheap (a pass over the bytes), so
/// the node can decide every upload it is sent.
pub(crate) fn check_module(code: &[u8]) -> Result<ModuleShape, VmError> {
    if code.len() > MAX_CODE_SIZE {
        return Err(VmError::CodeTooLarge { size: code.len() });
    }
    // Counts first: cheap, and it refuses what would be expensive to validate or instantiate.
    let mut shape = ModuleShape::of(code)?;
    let types = Validator::new_with_features(WASM_FEATURES)
        .validate_all(code)
        .map_err(invalid)?;
    let signature = |function: u32| {
        let id = types.as_ref().core_function_at(function);
        let ty = types[id].unwrap_func();
        (ty.params().to_vec(), ty.results().to_vec())
    };
    let mut functions = 0u32;
    let mut entry_points = [false; ENTRY_POINTS.len()];
    let mut memory_ok = false;
    for payload in Parser::new(0).parse_all(code) {
        match payload.map_err(invalid)? {
            Payload::StartSection { .. } => return Err(VmError::StartFunction),
            Payload::ImportSection(reader) => {
                for import in reader {
                    let import = import.map_err(invalid)?;
                    shape.uses_debug |= import.name == crate::DEBUG_IMPORT;
                    let unknown = || VmError::UnknownImport {
                        module: import.module.to_string(),
                        name: import.name.to_string(),
                    };
                    if import.module != "env" || !matches!(import.ty, TypeRef::Func(_)) {
                        return Err(unknown());
                    }
                    let (_, params, results) = HOST_FUNCTIONS
                        .iter()
                        .find(|(name, _, _)| *name == import.name)
                        .ok_or_else(unknown)?;
                    if signature(functions) != (params.to_vec(), results.to_vec()) {
                        return Err(VmError::WrongImportSignature {
                            name: import.name.to_string(),
                        });
                    }
                    functions += 1;
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export.map_err(invalid)?;
                    match export.kind {
                        ExternalKind::Func => {
                            if let Some(i) = ENTRY_POINTS.iter().position(|e| *e == export.name) {
                                entry_points[i] =
                                    signature(export.index) == (vec![], vec![ValType::I32]);
                            }
                        }
                        ExternalKind::Memory if export.name == "memory" => {
                            let pages = types.as_ref().memory_at(export.index).initial;
                            if pages > MAX_MEMORY_PAGES {
                                return Err(VmError::MemoryTooLarge { pages });
                            }
                            memory_ok = true;
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    if let Some(i) = entry_points.iter().position(|ok| !ok) {
        return Err(VmError::MissingExport(ENTRY_POINTS[i]));
    }
    if !memory_ok {
        return Err(VmError::MissingExport("memory"));
    }
    Ok(shape)
}

/// Checks `code` and compiles it, with its mutable globals exported so that a kept instance can
/// be reset (see `reuse.rs`); returns the module, its shape and how its instances are reused.
pub(crate) fn compile(
    engine: &wasmtime::Engine,
    code: &[u8],
) -> Result<(wasmtime::Module, ModuleShape, Reuse), VmError> {
    let shape = check_module(code)?;
    let (compiled, reuse) = crate::reuse::rewrite(code)?;
    let module =
        wasmtime::Module::new(engine, &compiled).map_err(|e| VmError::Invalid(e.to_string()))?;
    Ok((module, shape, reuse))
}
