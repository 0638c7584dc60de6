//! What keeping an instance for more than one call needs: a way to put it back exactly as
//! instantiation left it.
//!
//! An instance's state is its linear memory, its globals, its tables and which of its segments
//! were dropped. The session (see `session.rs`) copies memory back from an image and sets every
//! mutable global back to its first value. Globals a module does not export cannot be reached
//! through the engine's API, so [`rewrite`] exports each mutable global under a reserved name
//! (uploaded code may not use the prefix). Tables and segments change only through a few
//! instructions; a module that contains any of them gets a fresh instance for every call
//! ([`Reuse::Never`]): correct, only slower.
//!
//! The rewrite changes nothing a call can observe: the code hash is the uploaded code's, the
//! instructions and their fuel are the same, and only exports are added.

use crate::VmError;
use phalanx_primitives::write_varint;
use wasmparser::{ExternalKind, Operator, Parser, Payload};

/// The prefix of the exports [`rewrite`] adds; refused in uploaded code.
pub const RESERVED_EXPORT_PREFIX: &str = "__phalanx";

/// Whether, and how, an instance of a module can be put back after a call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reuse {
    /// Reset memory and these exported mutable globals, then keep the instance.
    Reset { globals: Vec<String> },
    /// The module can change state a reset cannot reach: a fresh instance every call.
    Never { because: &'static str },
}

/// The module the engine compiles (`code` with its mutable globals exported) and how its instances
/// can be reused.
pub fn rewrite(code: &[u8]) -> Result<(Vec<u8>, Reuse), VmError> {
    let malformed = |e: wasmparser::BinaryReaderError| VmError::Invalid(e.to_string());
    let mut mutable_globals = Vec::new();
    let mut exported_globals = Vec::new();
    let mut never = None;
    let mut export_section = None;
    let mut sections = Vec::new();
    let mut imported_globals = 0u32;
    for payload in Parser::new(0).parse_all(code) {
        let payload = payload.map_err(malformed)?;
        match &payload {
            Payload::ImportSection(reader) => {
                for import in reader.clone() {
                    if let wasmparser::TypeRef::Global(_) = import.map_err(malformed)?.ty {
                        imported_globals += 1;
                    }
                }
            }
            Payload::GlobalSection(reader) => {
                for (index, global) in reader.clone().into_iter().enumerate() {
                    if global.map_err(malformed)?.ty.mutable {
                        mutable_globals.push(imported_globals + index as u32);
                    }
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader.clone() {
                    let export = export.map_err(malformed)?;
                    if export.name.starts_with(RESERVED_EXPORT_PREFIX) {
                        return Err(VmError::ReservedExport(export.name.to_string()));
                    }
                    if export.kind == ExternalKind::Global {
                        exported_globals.push((export.index, export.name.to_string()));
                    }
                }
                export_section = Some(reader.range());
            }
            Payload::CodeSectionEntry(body) if never.is_none() => {
                let mut operators = body.get_operators_reader().map_err(malformed)?;
                while !operators.eof() {
                    if let Some(because) = unresettable(&operators.read().map_err(malformed)?) {
                        never = Some(because);
                        break;
                    }
                }
            }
            _ => {}
        }
        if let Some(section) = payload.as_section() {
            sections.push(section);
        }
    }
    let mut globals = Vec::new();
    let mut added = Vec::new();
    for index in mutable_globals {
        match exported_globals.iter().find(|(i, _)| *i == index) {
            Some((_, name)) => globals.push(name.clone()),
            None => {
                let name = format!("{RESERVED_EXPORT_PREFIX}_global_{index}");
                added.push((name.clone(), index));
                globals.push(name);
            }
        }
    }
    let reuse = match never {
        Some(because) => Reuse::Never { because },
        None => Reuse::Reset { globals },
    };
    if added.is_empty() {
        return Ok((code.to_vec(), reuse));
    }
    // Validation requires exports (the entry points), so there is an export section to extend.
    let Some(exports) = export_section else {
        return Err(VmError::MissingExport("memory"));
    };
    let mut out = code[..8].to_vec();
    for (id, range) in sections {
        if range == exports {
            let mut reader = wasmparser::BinaryReader::new(&code[range.clone()], range.start);
            let count = reader.read_var_u32().map_err(malformed)?;
            let entries = &code[reader.original_position()..range.end];
            let mut content = Vec::with_capacity(entries.len() + added.len() * 24);
            write_varint(&mut content, u64::from(count) + added.len() as u64);
            content.extend_from_slice(entries);
            for (name, index) in &added {
                write_varint(&mut content, name.len() as u64);
                content.extend_from_slice(name.as_bytes());
                content.push(0x03); // a global
                write_varint(&mut content, u64::from(*index));
            }
            section(&mut out, id, &content);
        } else {
            section(&mut out, id, &code[range]);
        }
    }
    Ok((out, reuse))
}

/// Why `operator` changes state a reset does not restore, if it does.
fn unresettable(operator: &Operator) -> Option<&'static str> {
    match operator {
        Operator::TableSet { .. }
        | Operator::TableGrow { .. }
        | Operator::TableFill { .. }
        | Operator::TableCopy { .. }
        | Operator::TableInit { .. } => Some("it writes a table"),
        Operator::ElemDrop { .. } | Operator::DataDrop { .. } => Some("it drops a segment"),
        _ => None,
    }
}

fn section(out: &mut Vec<u8>, id: u8, content: &[u8]) {
    out.push(id);
    write_varint(out, content.len() as u64);
    out.extend_from_slice(content);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module(body: &str) -> Vec<u8> {
        wat::parse_str(format!(
            r#"(module
              (memory (export "memory") 1)
              (global $counter (mut i32) (i32.const 0))
              (global $fixed i32 (i32.const 7))
              (global $shown (export "shown") (mut i64) (i64.const 1))
              (table 1 funcref)
              (func (export "instantiate") (result i32) i32.const 0)
              (func (export "execute") (result i32) {body} i32.const 0)
              (func (export "query") (result i32) i32.const 0))"#
        ))
        .unwrap()
    }

    #[test]
    fn every_mutable_global_is_exported_and_nothing_else_changes() {
        let code = module("");
        let (rewritten, reuse) = rewrite(&code).unwrap();
        assert_eq!(
            reuse,
            Reuse::Reset {
                globals: vec!["__phalanx_global_0".into(), "shown".into()]
            }
        );
        let engine = wasmtime::Engine::default();
        let module = wasmtime::Module::new(&engine, &rewritten).expect("the rewrite is valid Wasm");
        let mut exports: Vec<&str> = module.exports().map(|e| e.name()).collect();
        exports.sort();
        assert_eq!(
            exports,
            [
                "__phalanx_global_0",
                "execute",
                "instantiate",
                "memory",
                "query",
                "shown"
            ]
        );
        // No mutable global to add: the code is used as it is.
        let plain = wat::parse_str(
            r#"(module (memory (export "memory") 1)
                 (func (export "instantiate") (result i32) i32.const 0))"#,
        )
        .unwrap();
        assert_eq!(rewrite(&plain).unwrap().0, plain);
    }

    #[test]
    fn table_and_segment_writers_are_never_reused() {
        for (body, because) in [
            (
                "(table.set 0 (i32.const 0) (ref.null func))",
                "it writes a table",
            ),
            (
                "(drop (table.grow 0 (ref.null func) (i32.const 1)))",
                "it writes a table",
            ),
        ] {
            assert_eq!(
                rewrite(&module(body)).unwrap().1,
                Reuse::Never { because },
                "{body}"
            );
        }
    }

    #[test]
    fn the_reserved_prefix_is_refused_in_uploaded_code() {
        let code = wat::parse_str(
            r#"(module (memory (export "memory") 1)
                 (global (export "__phalanx_global_0") (mut i32) (i32.const 5)))"#,
        )
        .unwrap();
        assert!(matches!(rewrite(&code), Err(VmError::ReservedExport(_))));
    }
}
