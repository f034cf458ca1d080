//! Per-thread scratch buffers that the convolution kernels reuse from call to call.
//!
//! A DCGAN iteration runs dozens of convolutions, each needing a patch matrix of up to
//! [`MAX_PATCH_ELEMENTS`](crate::layers::conv_ops::MAX_PATCH_ELEMENTS) values plus staging
//! copies. Allocated afresh, every one is new memory that the kernel must fault in and zero
//! (a fifth of a DCGAN iteration in `perf`). Each thread keeps its largest buffer per slot until
//! it exits; the buffers' old contents are not cleared, so users overwrite every element.

use std::cell::RefCell;

/// What a scratch buffer holds; one buffer per slot and thread, so different slots can be
/// borrowed at the same time.
#[derive(Debug, Clone, Copy)]
pub enum Slot {
    /// An im2col patch matrix.
    Patches,
    /// A GEMM result on its way to NCHW.
    Staging,
    /// NCHW values gathered channel-major.
    Gathered,
    /// Image columns split by phase for a strided im2col.
    Phases,
}

const SLOTS: usize = 4;

/// Element types with per-thread scratch buffers.
pub trait Scratch: Copy + Default + 'static {
    /// Runs `f` on this thread's buffer for `slot`, grown to at least `len` elements.
    ///
    /// # Panics
    /// If `f` borrows the same slot again (the kernels never nest a slot).
    fn with_scratch<R>(slot: Slot, len: usize, f: impl FnOnce(&mut [Self]) -> R) -> R;
}

macro_rules! scratch_for {
    ($t:ty) => {
        impl Scratch for $t {
            fn with_scratch<R>(slot: Slot, len: usize, f: impl FnOnce(&mut [Self]) -> R) -> R {
                thread_local! {
                    static BUFFERS: [RefCell<Vec<$t>>; SLOTS] = Default::default();
                }
                BUFFERS.with(|buffers| {
                    let mut buffer = buffers[slot as usize].borrow_mut();
                    if buffer.len() < len {
                        // replaced, not grown: no copy of the old contents, no doubled capacity
                        *buffer = Vec::new();
                        *buffer = vec![<$t>::default(); len];
                    }
                    f(&mut buffer[..len])
                })
            }
        }
    };
}

scratch_for!(f32);
scratch_for!(f64);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slot_keeps_its_buffer_and_slots_are_independent() {
        let first = f32::with_scratch(Slot::Patches, 8, |buffer| {
            buffer.fill(1.0);
            buffer.as_ptr() as usize
        });
        f32::with_scratch(Slot::Staging, 4, |staging| {
            staging.fill(2.0);
            // a second slot while the first is in use elsewhere would not conflict either
            f32::with_scratch(Slot::Patches, 4, |patches| assert_eq!(patches, [1.0; 4]));
        });
        let again = f32::with_scratch(Slot::Patches, 6, |buffer| buffer.as_ptr() as usize);
        assert_eq!(first, again, "the buffer is reused, not reallocated");
        f64::with_scratch(Slot::Patches, 3, |buffer| assert_eq!(buffer.len(), 3));
    }
}
