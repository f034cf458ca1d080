//! Access to the CPU storage that Candle hands to custom ops.

use candle_core::{CpuStorage, Layout, Storage, WithDType};

/// The slice of `storage` a contiguous `layout` addresses; `op` names the op in the error.
pub(crate) fn contiguous_slice<'a, T: WithDType>(
    storage: &'a CpuStorage,
    layout: &Layout,
    op: &str,
) -> candle_core::Result<&'a [T]> {
    let (start, end) = layout
        .contiguous_offsets()
        .ok_or_else(|| candle_core::Error::Msg(format!("{op} expects contiguous inputs")))?;
    Ok(&storage.as_slice::<T>()?[start..end])
}

/// The mutable part of `data` (a CPU storage's vector) a contiguous `layout` addresses, for
/// in-place ops; `op` names the op in the error.
pub(crate) fn contiguous_slice_mut<'a, T>(
    data: &'a mut [T],
    layout: &Layout,
    op: &str,
) -> candle_core::Result<&'a mut [T]> {
    let (start, end) = layout
        .contiguous_offsets()
        .ok_or_else(|| candle_core::Error::Msg(format!("{op} expects contiguous inputs")))?;
    Ok(&mut data[start..end])
}

/// [`contiguous_slice`] of a tensor's storage (from `Tensor::storage_and_layout`), which must
/// be on the CPU: reads a tensor in place instead of copying it out.
pub(crate) fn tensor_slice<'a, T: WithDType>(
    storage: &'a Storage,
    layout: &Layout,
    op: &str,
) -> candle_core::Result<&'a [T]> {
    match storage {
        Storage::Cpu(storage) => contiguous_slice(storage, layout, op),
        _ => candle_core::bail!("{op} runs on the CPU"),
    }
}
