//! What a `no_std` Wasm contract needs from its runtime: an allocator and a panic handler.
//!
//! Every call runs in a fresh instance, so the allocator is a bump allocator that never frees:
//! simple, deterministic, and bounded by the VM's memory cap. The heap starts where the linker
//! says (`__heap_base`, right after static data), so small calls never grow memory: growing
//! makes the VM copy the whole memory, which would dominate the cost of a call.

use core::alloc::{GlobalAlloc, Layout};
use core::sync::atomic::{AtomicUsize, Ordering};

const PAGE: usize = 65_536;

extern "C" {
    /// Set by wasm-ld: the first byte after the stack and static data.
    static __heap_base: u8;
}

fn heap_base() -> usize {
    // Only the address of the linker-provided symbol is taken (safe since Rust 1.82); it is
    // never read.
    core::ptr::addr_of!(__heap_base) as usize
}

struct BumpAllocator {
    /// Next free byte; 0 until the first allocation.
    next: AtomicUsize,
}

// SAFETY: `alloc` returns either null or a region of at least `layout.size()` bytes aligned to
// `layout.align()`, inside linear memory (grown first when needed), never handed out before:
// `next` only moves forward. A Wasm contract instance is single-threaded, so the relaxed
// load/store pair cannot race. `dealloc` is a no-op, which GlobalAlloc allows.
unsafe impl GlobalAlloc for BumpAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let mut next = self.next.load(Ordering::Relaxed);
        if next == 0 {
            next = heap_base();
        }
        let align = layout.align();
        let Some(start) = next.checked_add(align - 1).map(|n| n & !(align - 1)) else {
            return core::ptr::null_mut();
        };
        let Some(end) = start.checked_add(layout.size()) else {
            return core::ptr::null_mut();
        };
        let have = core::arch::wasm32::memory_size(0) * PAGE;
        if end > have {
            let pages = (end - have).div_ceil(PAGE);
            if core::arch::wasm32::memory_grow(0, pages) == usize::MAX {
                return core::ptr::null_mut();
            }
        }
        self.next.store(end, Ordering::Relaxed);
        start as *mut u8
    }

    unsafe fn dealloc(&self, _ptr: *mut u8, _layout: Layout) {}
}

#[global_allocator]
static ALLOCATOR: BumpAllocator = BumpAllocator {
    next: AtomicUsize::new(0),
};

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    let message = alloc::format!("{}", info.message());
    crate::sys::panic(&message)
}
