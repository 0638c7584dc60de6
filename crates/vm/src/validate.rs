//! Deciding whether a module may run: size, Wasm validity with the deterministic feature set
//! (no floats, no SIMD, no start function — see [`engine_config`]), imports only from the host
//! API with the right signatures, the three entry points, and a bounded memory.

use crate::host::HOST_FUNCTIONS;
use crate::reuse::Reuse;
use crate::shape::ModuleShape;
use crate::{VmError, MAX_CODE_SIZE, MAX_MEMORY_PAGES};
use wasmi::{CompilationMode, Config, Engine, ExternType, Module, ValType};

/// Entry points every contract exports, each `() -> i32`.
pub(crate) const ENTRY_POINTS: [&str; 3] = ["instantiate", "execute", "query"];

/// The engine configuration: fuel metering on; anything that could make two machines disagree,
/// or that a contract does not need, off.
pub(crate) fn engine_config() -> Config {
    let mut config = Config::default();
    config
        .consume_fuel(true)
        .floats(false)
        .allow_start_fn(false)
        .wasm_multi_memory(false)
        .wasm_custom_page_sizes(false)
        .wasm_wide_arithmetic(false)
        // Translate everything up front: gas must not depend on whether a function was
        // translated before, and bad code must be refused at upload.
        .compilation_mode(CompilationMode::Eager);
    config
}

/// Checks `code` and compiles it, with its mutable globals exported so that a kept instance can
/// be reset (see `reuse.rs`); returns the module, its shape and how its instances are reused.
pub(crate) fn validate(
    engine: &Engine,
    code: &[u8],
) -> Result<(Module, ModuleShape, Reuse), VmError> {
    if code.len() > MAX_CODE_SIZE {
        return Err(VmError::CodeTooLarge { size: code.len() });
    }
    // Counts first: cheap, and it refuses what would be expensive to compile or instantiate.
    let mut shape = ModuleShape::of(code)?;
    let (compiled, reuse) = crate::reuse::rewrite(code)?;
    let module = Module::new(engine, &compiled).map_err(|e| VmError::Invalid(e.to_string()))?;
    for import in module.imports() {
        shape.uses_debug |= import.name() == crate::DEBUG_IMPORT;
        let unknown = || VmError::UnknownImport {
            module: import.module().to_string(),
            name: import.name().to_string(),
        };
        if import.module() != "env" {
            return Err(unknown());
        }
        let (_, params, results) = HOST_FUNCTIONS
            .iter()
            .find(|(name, _, _)| *name == import.name())
            .ok_or_else(unknown)?;
        match import.ty() {
            ExternType::Func(ty) if ty.params() == *params && ty.results() == *results => {}
            ExternType::Func(_) => {
                return Err(VmError::WrongImportSignature {
                    name: import.name().to_string(),
                })
            }
            _ => return Err(unknown()),
        }
    }
    let mut memory_ok = false;
    for entry in ENTRY_POINTS {
        let export = module.get_export(entry);
        match export {
            Some(ExternType::Func(ty))
                if ty.params().is_empty() && ty.results() == [ValType::I32] => {}
            _ => return Err(VmError::MissingExport(entry)),
        }
    }
    if let Some(ExternType::Memory(memory)) = module.get_export("memory") {
        if memory.minimum() > MAX_MEMORY_PAGES {
            return Err(VmError::MemoryTooLarge {
                pages: memory.minimum(),
            });
        }
        memory_ok = true;
    }
    if !memory_ok {
        return Err(VmError::MissingExport("memory"));
    }
    Ok((module, shape, reuse))
}
