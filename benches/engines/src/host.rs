//! The slice of the host API the example contracts import, written once over a byte slice of
//! guest memory so that both engines run the very same host code: what differs between the
//! figures is the engine, not the host.
//!
//! It charges no gas and keeps storage in a map: the VM's real host (`phalanx_vm`) is measured
//! beside it, so the cost of the real host's checks and accounting shows as its own line.

use std::collections::BTreeMap;

/// What a host call may fail with; both engines turn it into a trap.
#[derive(Debug)]
pub struct HostFault(pub String);

impl std::fmt::Display for HostFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HostFault {}

#[derive(Default)]
pub struct MiniHost {
    pub input: Vec<u8>,
    pub scratch: Vec<u8>,
    pub output: Vec<u8>,
    pub caller: [u8; 32],
    pub storage: BTreeMap<Vec<u8>, Vec<u8>>,
    pub events: usize,
}

fn span(memory: &[u8], ptr: i32, len: i32) -> Result<std::ops::Range<usize>, HostFault> {
    let (ptr, len) = (
        usize::try_from(ptr).map_err(|_| HostFault("negative pointer".into()))?,
        usize::try_from(len).map_err(|_| HostFault("negative length".into()))?,
    );
    let end = ptr
        .checked_add(len)
        .filter(|end| *end <= memory.len())
        .ok_or_else(|| HostFault("outside memory".into()))?;
    Ok(ptr..end)
}

impl MiniHost {
    pub fn begin(&mut self, input: &[u8]) {
        self.input.clear();
        self.input.extend_from_slice(input);
        self.output.clear();
        self.events = 0;
    }

    pub fn input(&mut self) -> i32 {
        self.scratch.clone_from(&self.input);
        self.input.len() as i32
    }

    pub fn scratch_read(&mut self, memory: &mut [u8], ptr: i32) -> Result<(), HostFault> {
        let range = span(memory, ptr, self.scratch.len() as i32)?;
        memory[range].copy_from_slice(&self.scratch);
        Ok(())
    }

    pub fn output(&mut self, memory: &[u8], ptr: i32, len: i32) -> Result<(), HostFault> {
        self.output = memory[span(memory, ptr, len)?].to_vec();
        Ok(())
    }

    pub fn storage_get(&mut self, memory: &[u8], ptr: i32, len: i32) -> Result<i32, HostFault> {
        let key = &memory[span(memory, ptr, len)?];
        Ok(match self.storage.get(key) {
            Some(value) => {
                self.scratch.clone_from(value);
                value.len() as i32
            }
            None => -1,
        })
    }

    pub fn storage_set(
        &mut self,
        memory: &[u8],
        (key_ptr, key_len): (i32, i32),
        (value_ptr, value_len): (i32, i32),
    ) -> Result<(), HostFault> {
        let key = memory[span(memory, key_ptr, key_len)?].to_vec();
        let value = memory[span(memory, value_ptr, value_len)?].to_vec();
        self.storage.insert(key, value);
        Ok(())
    }

    pub fn storage_remove(&mut self, memory: &[u8], ptr: i32, len: i32) -> Result<(), HostFault> {
        self.storage.remove(&memory[span(memory, ptr, len)?]);
        Ok(())
    }

    pub fn write_fixed(memory: &mut [u8], ptr: i32, bytes: &[u8]) -> Result<(), HostFault> {
        let range = span(memory, ptr, bytes.len() as i32)?;
        memory[range].copy_from_slice(bytes);
        Ok(())
    }

    pub fn event(&mut self, memory: &[u8], ptr: i32, len: i32) -> Result<(), HostFault> {
        span(memory, ptr, len)?;
        self.events += 1;
        Ok(())
    }

    pub fn panic(memory: &[u8], ptr: i32, len: i32) -> HostFault {
        let message = span(memory, ptr, len)
            .map(|range| String::from_utf8_lossy(&memory[range]).into_owned())
            .unwrap_or_default();
        HostFault(format!("contract panicked: {message}"))
    }
}
