//! Whether code may be uploaded, decided once per code hash in this process.
//!
//! A node checks an upload when it admits it to the pool and again when it applies it in a
//! block (and again on a restart's replay); validation is a pure function of the bytes, so the
//! verdict is kept. The node asks before it takes the lock block production needs, and the
//! runtime's check under that lock is then a lookup.

use crate::validate::check_module;
use crate::VmError;
use phalanx_primitives::{sha256, Hash};
use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, OnceLock};

/// Verdicts kept; beyond it the oldest is forgotten (and recomputed if asked again).
pub const CODE_VERDICT_CAPACITY: usize = 4_096;

struct Verdicts {
    /// Per code hash: refused, or accepted and whether it uses `debug`.
    known: HashMap<Hash, Result<bool, VmError>>,
    order: VecDeque<Hash>,
}

fn verdicts() -> &'static Mutex<Verdicts> {
    static VERDICTS: OnceLock<Mutex<Verdicts>> = OnceLock::new();
    VERDICTS.get_or_init(|| {
        Mutex::new(Verdicts {
            known: HashMap::new(),
            order: VecDeque::new(),
        })
    })
}

/// Code the VM would run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckedCode {
    pub code_hash: Hash,
    /// It imports `debug`: only a chain that allows debug output takes it.
    pub uses_debug: bool,
}

/// Validates `code` as the VM would before running it (the verdict of an earlier call with the
/// same bytes is reused); returns its code hash.
pub fn check_code(code: &[u8]) -> Result<Hash, VmError> {
    check(code).map(|checked| checked.code_hash)
}

/// [`check_code`], saying also whether the code writes debug output.
pub fn check(code: &[u8]) -> Result<CheckedCode, VmError> {
    if code.len() > crate::MAX_CODE_SIZE {
        return Err(VmError::CodeTooLarge { size: code.len() });
    }
    let code_hash = sha256(code);
    let checked = |uses_debug| CheckedCode {
        code_hash,
        uses_debug,
    };
    {
        let verdicts = verdicts().lock().unwrap_or_else(|p| p.into_inner());
        if let Some(verdict) = verdicts.known.get(&code_hash) {
            return verdict.clone().map(checked);
        }
    }
    // Checked outside the lock: two threads may both check new code at once. A check reads the
    // bytes and compiles nothing: the node decides uploads; workers compile what it accepted.
    let verdict = check_module(code).and_then(|shape| {
        crate::reuse::rewrite(code)?;
        Ok(shape.uses_debug)
    });
    let mut verdicts = verdicts().lock().unwrap_or_else(|p| p.into_inner());
    if verdicts.known.insert(code_hash, verdict.clone()).is_none() {
        verdicts.order.push_back(code_hash);
        if verdicts.order.len() > CODE_VERDICT_CAPACITY {
            if let Some(oldest) = verdicts.order.pop_front() {
                verdicts.known.remove(&oldest);
            }
        }
    }
    verdict.map(checked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verdict_is_the_validators_and_is_kept() {
        let bad = wat::parse_str("(module (table 100000000 funcref))").unwrap();
        let first = check_code(&bad).unwrap_err();
        assert_eq!(check_code(&bad).unwrap_err(), first);
        let good = wat::parse_str(
            r#"(module (memory (export "memory") 1)
                 (func (export "instantiate") (result i32) i32.const 0)
                 (func (export "execute") (result i32) i32.const 0)
                 (func (export "query") (result i32) i32.const 0))"#,
        )
        .unwrap();
        assert_eq!(check_code(&good).unwrap(), sha256(&good));
        assert!(verdicts().lock().unwrap().known.contains_key(&sha256(&bad)));
    }
}
