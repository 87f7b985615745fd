//! A counting global allocator for the tests that bound the heap: it wraps the
//! system allocator and keeps the live bytes and their peak. A test binary that
//! wants it declares it as its own (and runs nothing else that allocates much):
//!
//! ```ignore
//! #[global_allocator]
//! static ALLOCATOR: redmux_tests::Counting = redmux_tests::Counting;
//! ```

// The counting allocator wraps the system one; it is the only unsafe code here.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// The allocator: `System`'s, counted.
pub struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

impl Counting {
    /// Starts measuring a peak from now: returns the live bytes, the baseline.
    pub fn start_peak() -> usize {
        let baseline = LIVE.load(Relaxed);
        PEAK.store(baseline, Relaxed);
        baseline
    }

    /// The highest live bytes since [`Counting::start_peak`].
    pub fn peak() -> usize {
        PEAK.load(Relaxed)
    }
}

// SAFETY: every call goes straight to `System`; the counters only observe sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let live = LIVE.fetch_add(layout.size(), Relaxed) + layout.size();
            PEAK.fetch_max(live, Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above, for `dealloc`.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as above, for `realloc`.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                let live =
                    LIVE.fetch_add(new_size - layout.size(), Relaxed) + new_size - layout.size();
                PEAK.fetch_max(live, Relaxed);
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Relaxed);
            }
        }
        p
    }
}
