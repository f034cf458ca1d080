//! How the element-wise passes split their work across threads.
//!
//! A parallel task costs far more than adding a few values: passes over image planes (G's are
//! 4×4 to 32×32) hand each task several planes, so that every task holds at least
//! [`MIN_TASK_ELEMENTS`] values.

use rayon::prelude::*;

use crate::layers::simd::vectorized;

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

/// `f(a[i], b[i])` for every element (`b` may be `a` itself), in parallel, each task's loop
/// under the SIMD dispatch.
pub fn zip_map<T: Copy + Send + Sync>(
    a: &[T],
    b: &[T],
    zero: T,
    f: impl Fn(T, T) -> T + Sync,
) -> Vec<T> {
    let mut out = filled(a.len(), zero);
    out.par_chunks_mut(MIN_TASK_ELEMENTS)
        .zip(a.par_chunks(MIN_TASK_ELEMENTS))
        .zip(b.par_chunks(MIN_TASK_ELEMENTS))
        .for_each(|((out, a), b)| {
            let f = &f;
            vectorized(
                #[inline(always)]
                move || {
                    for ((o, a), b) in out.iter_mut().zip(a).zip(b) {
                        *o = f(*a, *b);
                    }
                },
            )
        });
    out
}
