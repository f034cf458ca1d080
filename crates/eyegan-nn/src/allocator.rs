//! The memory allocator of EyeGAN's training and inference binaries: mimalloc, keeping freed
//! memory mapped.
//!
//! A training step frees and reallocates activation buffers of tens to hundreds of MiB. Handed
//! back to the OS (by the system allocator, or by mimalloc after its purge delay), every step
//! faults them in again and the kernel zeroes them: on 2 cores the system allocator cost 12 % of
//! a DCGAN iteration and 24 % of a GMD step (BENCHMARKS.md). The price: a process keeps its peak
//! memory until it exits (`MIMALLOC_PURGE_DELAY=1000`, mimalloc v3's default, returns it after a
//! second without use, 3–9 % slower). A binary declares
//!
//! ```ignore
//! #[global_allocator]
//! static ALLOCATOR: eyegan_nn::allocator::Allocator = eyegan_nn::allocator::Allocator;
//! ```
//!
//! and calls [`keep_freed_memory`] first thing in `main`.

pub use mimalloc::MiMalloc as Allocator;

/// mimalloc's `mi_option_purge_delay`: the same index in the v2 and v3 headers bundled with
/// libmimalloc-sys (between `eager_commit_delay` = 14 and `use_numa_nodes` = 16, which the
/// crate names); a test checks its default (1000 ms in v3, 10 ms in v2).
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// The environment variable through which mimalloc reads the purge delay itself.
const PURGE_DELAY_VARIABLE: &str = "MIMALLOC_PURGE_DELAY";

/// Makes mimalloc keep freed memory mapped (purge delay −1), unless `MIMALLOC_PURGE_DELAY` is
/// set, which mimalloc then honours as given.
pub fn keep_freed_memory() {
    if std::env::var_os(PURGE_DELAY_VARIABLE).is_none() {
        set_purge_delay(-1);
    }
}

#[allow(unsafe_code)]
fn set_purge_delay(milliseconds: i64) {
    // SAFETY: `mi_option_set` stores an integer option (callable at any time, from any thread);
    // `PURGE_DELAY` is a valid option index of the linked mimalloc.
    unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, milliseconds as _) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(unsafe_code)]
    fn purge_delay() -> i64 {
        // SAFETY: reads an integer option.
        unsafe { libmimalloc_sys::mi_option_get(PURGE_DELAY) as i64 }
    }

    #[test]
    fn the_option_is_mimallocs_purge_delay_and_it_is_set() {
        if std::env::var_os(PURGE_DELAY_VARIABLE).is_some() {
            return; // the environment decides the value; the index cannot be checked
        }
        let default = purge_delay();
        assert!(
            default == 1000 || default == 10,
            "option {PURGE_DELAY} is not mimalloc's purge delay (default 1000 in v3, 10 in v2): {default}"
        );
        keep_freed_memory();
        assert_eq!(purge_delay(), -1);
    }
}
