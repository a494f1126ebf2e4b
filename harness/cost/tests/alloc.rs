//! The counting allocator, installed in this test binary as `harbench` installs it.

use harbench_cost::alloc::{self, Counting, Window};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// One test in this binary: the counters are process-wide, and parallel tests would allocate
/// inside each other's windows.
#[test]
fn a_window_counts_what_is_allocated_inside_it() {
    assert!(alloc::installed());
    let window = Window::open();
    let block = vec![7u8; 3 << 20];
    assert!(window.held_above_baseline() >= 3 << 20, "{}", window.held_above_baseline());
    let grown = {
        let mut v = Vec::<u64>::with_capacity(1 << 10);
        v.resize(1 << 18, 1); // realloc to 2 MiB
        v.iter().sum::<u64>()
    };
    assert_eq!(grown, 1 << 18);
    let peak = window.peak_above_baseline();
    // 3 MiB held + the 2 MiB vector at its largest (other threads allocate little meanwhile).
    assert!(((5 << 20)..(6 << 20)).contains(&peak), "peak {peak}");
    drop(block);
    assert!(window.held_above_baseline() < 1 << 20, "{}", window.held_above_baseline());
    // The peak stays after the free; a new window starts from what is live now.
    assert!(window.peak_above_baseline() >= peak);
    let inner = Window::open();
    assert!(inner.peak_above_baseline() < 1 << 16);
}
