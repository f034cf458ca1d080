//! How the element-wise passes split their work across threads.
//!
//! A parallel task costs far more than adding a few values: passes over image planes (G's are
//! 4×4 to 32×32) hand each task several planes, so that every task holds at least
//! [`MIN_TASK_ELEMENTS`] values.

use rayon::prelude::*;

/// Fewest values one parallel task of an element-wise pass handles.
pub const MIN_TASK_ELEMENTS: usize = 1 << 14;

/// Planes of `plane` values per parallel task (for rayon's `with_min_len`).
pub fn planes_per_task(plane: usize) -> usize {
    (MIN_TASK_ELEMENTS / plane.max(1)).max(1)
}

/// `len` copies of `value` (an op's zeroed output), written by every thread: a large output's
/// fill on the calling thread alone (the allocator reuses freed memory, so zeros must be
/// written) leaves the other cores idle.
pub fn filled<T: Clone + Send>(len: usize, value: T) -> Vec<T> {
    let mut values = Vec::with_capacity(len);
    values.par_extend(rayon::iter::repeat_n(value, len));
    values
}
