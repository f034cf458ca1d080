//! Access to the CPU storage that Candle hands to custom ops.

use candle_core::{CpuStorage, Layout, WithDType};

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
