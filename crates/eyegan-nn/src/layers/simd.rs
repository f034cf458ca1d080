//! Run-time choice of vector instructions for the element-wise kernels.
//!
//! The crate is built for baseline x86-64 (SSE2), so the compiler vectorises loops 4 floats
//! wide. [`vectorized`] runs a closure compiled again for the best instruction set the CPU
//! offers (AVX-512, else AVX2 with FMA; pulp detects it once), so the loops inlined into it are
//! vectorised 8 or 16 floats wide. Only what is inlined into the closure gains: helpers it calls
//! are `#[inline(always)]`, and rayon's per-chunk closures call `vectorized` themselves
//! (closures passed in `move`, so that the loops read their captured values from registers
//! rather than through references they cannot prove unaliased). Every path computes the same
//! values: Rust never contracts a multiply and an add into a fused multiply-add on its own.

/// Runs `f` compiled for the widest vector instruction set available at run time.
#[inline(always)]
pub fn vectorized<R>(f: impl FnOnce() -> R) -> R {
    pulp::Arch::new().dispatch(f)
}
