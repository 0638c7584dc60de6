//! What instantiating a module allocates: its tables, memory, globals and segments, read from
//! the module's sections before anything is compiled. Each has a named limit (so that a
//! "table bomb" of a hundred million entries is refused at upload, not found at the first call),
//! and together they price an instantiation (see [`ModuleShape::instantiation_gas`]).

use crate::{GasSchedule, VmError};
use crate::{
    MAX_DATA_BYTES, MAX_DATA_SEGMENTS, MAX_ELEMENT_ITEMS, MAX_ELEMENT_SEGMENTS, MAX_FUNCTIONS,
    MAX_GLOBALS, MAX_MEMORY_PAGES, MAX_TABLES, MAX_TABLE_ELEMENTS,
};
use wasmparser::{ElementItems, Parser, Payload};

/// The instantiation-time size of a module.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ModuleShape {
    pub functions: u64,
    pub tables: u64,
    /// Initial elements of all tables together.
    pub table_elements: u64,
    /// Initial pages of the memory.
    pub memory_pages: u64,
    pub globals: u64,
    pub data_segments: u64,
    pub data_bytes: u64,
    pub element_segments: u64,
    pub element_items: u64,
    /// Whether it imports `debug`: code only a chain allowing debug output accepts.
    pub uses_debug: bool,
}

fn bound(what: &'static str, found: u64, limit: u64) -> Result<(), VmError> {
    if found > limit {
        return Err(VmError::Limit { what, found, limit });
    }
    Ok(())
}

fn malformed(e: wasmparser::BinaryReaderError) -> VmError {
    VmError::Invalid(e.to_string())
}

impl ModuleShape {
    /// Reads the sections of `code`, refusing as soon as one count passes its limit (so a
    /// module that declares a billion segments costs no more to refuse than one that declares
    /// one too many).
    pub fn of(code: &[u8]) -> Result<ModuleShape, VmError> {
        let mut shape = ModuleShape::default();
        for payload in Parser::new(0).parse_all(code) {
            match payload.map_err(malformed)? {
                Payload::FunctionSection(reader) => {
                    shape.functions = u64::from(reader.count());
                    bound("functions", shape.functions, MAX_FUNCTIONS)?;
                }
                Payload::TableSection(reader) => {
                    shape.tables = u64::from(reader.count());
                    bound("tables", shape.tables, MAX_TABLES)?;
                    for table in reader {
                        let table = table.map_err(malformed)?;
                        // Growth past the limit is stopped by the store's limiter at run time.
                        shape.table_elements =
                            shape.table_elements.saturating_add(table.ty.initial);
                    }
                    bound("table elements", shape.table_elements, MAX_TABLE_ELEMENTS)?;
                }
                Payload::MemorySection(reader) => {
                    for memory in reader {
                        let memory = memory.map_err(malformed)?;
                        shape.memory_pages = shape.memory_pages.saturating_add(memory.initial);
                    }
                    if shape.memory_pages > MAX_MEMORY_PAGES {
                        return Err(VmError::MemoryTooLarge {
                            pages: shape.memory_pages,
                        });
                    }
                }
                Payload::GlobalSection(reader) => {
                    shape.globals = u64::from(reader.count());
                    bound("globals", shape.globals, MAX_GLOBALS)?;
                }
                Payload::DataSection(reader) => {
                    shape.data_segments = u64::from(reader.count());
                    bound("data segments", shape.data_segments, MAX_DATA_SEGMENTS)?;
                    for data in reader {
                        let data = data.map_err(malformed)?;
                        shape.data_bytes = shape.data_bytes.saturating_add(data.data.len() as u64);
                    }
                    bound("data bytes", shape.data_bytes, MAX_DATA_BYTES)?;
                }
                Payload::ElementSection(reader) => {
                    shape.element_segments = u64::from(reader.count());
                    bound(
                        "element segments",
                        shape.element_segments,
                        MAX_ELEMENT_SEGMENTS,
                    )?;
                    for element in reader {
                        let items = match element.map_err(malformed)?.items {
                            ElementItems::Functions(items) => items.count(),
                            ElementItems::Expressions(_, items) => items.count(),
                        };
                        shape.element_items = shape.element_items.saturating_add(u64::from(items));
                        bound("element items", shape.element_items, MAX_ELEMENT_ITEMS)?;
                    }
                }
                _ => {}
            }
        }
        Ok(shape)
    }

    /// Gas every call pays before the contract runs: instantiation allocates and fills all of
    /// this again, whatever the call then does.
    pub fn instantiation_gas(&self, gas: &GasSchedule) -> u64 {
        let per = |count: u64, price: u64| count.saturating_mul(price);
        gas.instantiate
            .saturating_add(per(self.functions, gas.instantiate_per_function))
            .saturating_add(per(self.table_elements, gas.instantiate_per_table_element))
            .saturating_add(per(self.memory_pages, gas.instantiate_per_memory_page))
            .saturating_add(per(self.globals, gas.instantiate_per_global))
            .saturating_add(per(
                self.data_bytes.div_ceil(1024),
                gas.instantiate_per_data_kib,
            ))
            .saturating_add(per(
                self.data_segments + self.element_segments,
                gas.instantiate_per_segment,
            ))
            .saturating_add(per(self.element_items, gas.instantiate_per_table_element))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module(body: &str) -> Vec<u8> {
        wat::parse_str(format!("(module {body})")).unwrap()
    }

    #[test]
    fn a_table_bomb_is_refused_by_its_declaration() {
        for table in [
            "(table 100000000 funcref)",
            "(table 4294967295 funcref)",
            "(table 8193 funcref)",
        ] {
            let err = ModuleShape::of(&module(table)).unwrap_err();
            assert!(
                matches!(
                    err,
                    VmError::Limit {
                        what: "table elements",
                        ..
                    }
                ),
                "{table}: {err}"
            );
        }
        let ok = ModuleShape::of(&module("(table 16 16 funcref)")).unwrap();
        assert_eq!((ok.tables, ok.table_elements), (1, 16));
    }

    #[test]
    fn counts_past_their_limits_are_refused() {
        let globals: String = (0..=MAX_GLOBALS)
            .map(|_| "(global i32 (i32.const 0))")
            .collect();
        assert!(matches!(
            ModuleShape::of(&module(&globals)),
            Err(VmError::Limit {
                what: "globals",
                ..
            })
        ));
        let segments: String = (0..=MAX_DATA_SEGMENTS)
            .map(|_| "(data (i32.const 0) \"x\")")
            .collect();
        assert!(matches!(
            ModuleShape::of(&module(&format!("(memory 1) {segments}"))),
            Err(VmError::Limit {
                what: "data segments",
                ..
            })
        ));
        assert!(matches!(
            ModuleShape::of(&module("(memory 65)")),
            Err(VmError::MemoryTooLarge { pages: 65 })
        ));
    }

    #[test]
    fn instantiation_costs_grow_with_what_it_allocates() {
        let gas = GasSchedule::default();
        let small = ModuleShape::of(&module("(memory 1)")).unwrap();
        let big = ModuleShape::of(&module(
            "(memory 64) (table 4096 4096 funcref) (data (i32.const 0) \"0123456789\")",
        ))
        .unwrap();
        assert!(small.instantiation_gas(&gas) >= gas.instantiate);
        assert!(
            big.instantiation_gas(&gas)
                >= small.instantiation_gas(&gas) + 63 * gas.instantiate_per_memory_page + 4096
        );
    }
}
