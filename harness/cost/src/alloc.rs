//! A global allocator that counts live heap bytes and their high-water mark, so that the memory
//! of one stretch of work (building a model and running it) is measured on its own.
//!
//! Why not the process's resident set: after training, the process's peak RSS is already far
//! above anything inference adds, and freed pages stay resident, so `VmHWM` differences come out
//! as zero (the bug that made every row of the cost table read `0.0 MiB`). Counting the bytes
//! the allocator hands out is exact, needs no fresh process, and works on every OS. burn's CPU
//! backend (flex) allocates tensors through Rust's global allocator and keeps no pool of its own,
//! so the count covers weights, activations and scratch buffers. It does not see GPU memory,
//! nor memory mapped outside the allocator (thread stacks, the binary's pages).
//!
//! A binary opts in with one line (the `harbench` binary does):
//! `#[global_allocator] static ALLOC: harbench_cost::alloc::Counting = harbench_cost::alloc::Counting;`
//! Without it, [`installed`] is false and the profile records memory as absent, with that reason.
//!
//! The counters are process-wide: a measurement is meaningful when nothing else allocates
//! meanwhile (a profile runs after training, on the thread that trained).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// The system allocator, counting.
pub struct Counting;

fn grew(bytes: usize) {
    let now = LIVE.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

fn shrank(bytes: usize) {
    LIVE.fetch_sub(bytes, Ordering::Relaxed);
}

// SAFETY: every call is forwarded to `System` unchanged; the counters only observe sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            if !INSTALLED.load(Ordering::Relaxed) {
                INSTALLED.store(true, Ordering::Relaxed);
            }
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        shrank(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            if new_size >= layout.size() {
                grew(new_size - layout.size());
            } else {
                shrank(layout.size() - new_size);
            }
        }
        p
    }
}

/// True when [`Counting`] is this process's global allocator.
pub fn installed() -> bool {
    // Any allocation through it sets the flag; make one in case none happened yet.
    drop(std::hint::black_box(Box::new(0u64)));
    INSTALLED.load(Ordering::Relaxed)
}

/// Heap bytes allocated and not yet freed.
pub fn live_bytes() -> usize {
    LIVE.load(Ordering::Relaxed)
}

/// A measurement window: its baseline is the live heap when it opens, and its peak the highest
/// live heap since (the process-wide high-water mark is reset to the baseline on opening).
#[derive(Debug, Clone, Copy)]
pub struct Window {
    baseline: usize,
}

impl Window {
    pub fn open() -> Self {
        let baseline = LIVE.load(Ordering::Relaxed);
        PEAK.store(baseline, Ordering::Relaxed);
        Window { baseline }
    }

    /// Highest live heap above the baseline so far.
    pub fn peak_above_baseline(&self) -> usize {
        PEAK.load(Ordering::Relaxed).saturating_sub(self.baseline)
    }

    /// Live heap above the baseline now (what was allocated in the window and is still held).
    pub fn held_above_baseline(&self) -> usize {
        LIVE.load(Ordering::Relaxed).saturating_sub(self.baseline)
    }
}

/// Why a profile has no memory figure when the binary did not install [`Counting`].
pub const NOT_INSTALLED: &str = "heap not counted: this binary does not install harbench_cost::alloc::Counting as its global allocator";

/// Heap memory of a model and of running it, counted by [`Counting`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct HeapMemory {
    /// What the model's weights (and batch-norm statistics) hold.
    pub weights_bytes: u64,
    /// Peak heap above the weights while one window is classified (activations, scratch).
    pub single_activation_bytes: u64,
    /// The same for one batch of `batch` windows.
    pub batch_activation_bytes: u64,
    pub batch: usize,
    /// `weights + single_activation`: the memory one-window inference needs (the cost table's
    /// figure).
    pub single_peak_bytes: u64,
    pub what: String,
}

impl HeapMemory {
    pub fn new(weights: usize, single_activation: usize, batch_activation: usize, batch: usize) -> Self {
        HeapMemory {
            weights_bytes: weights as u64,
            single_activation_bytes: single_activation as u64,
            batch_activation_bytes: batch_activation as u64,
            batch,
            single_peak_bytes: (weights + single_activation) as u64,
            what: "heap bytes counted by the global allocator (harbench_cost::alloc); host memory only, no GPU memory".into(),
        }
    }
}

/// Reads a profile's `memory`: `{"Ok": HeapMemory}` or `{"Err": reason}`. Records written before
/// schema 2 held a process resident-set figure (masked by training, hence wrong): read as absent,
/// with that reason, instead of failing the whole record.
pub fn memory_or_reason<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Result<HeapMemory, String>, D::Error> {
    use serde::Deserialize;
    let value = serde_json::Value::deserialize(d)?;
    if let Ok(r) = serde_json::from_value::<Result<HeapMemory, String>>(value) {
        return Ok(r);
    }
    Ok(Err("recorded by an older harbench as the process's peak resident set (masked by training); not shown".into()))
}
