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

/// f32 or f64, the element types of the CPU ops.
pub(crate) trait Float: WithDType + num_traits::Float {
    /// `tanh` as the CPU ops compute it: a form whose loops vectorise for f32
    /// ([`rational_tanh`](crate::layers::tanh::rational_tanh)), the standard library's for f64.
    fn vector_tanh(self) -> Self {
        self.tanh()
    }
}
impl Float for f32 {
    fn vector_tanh(self) -> Self {
        crate::layers::tanh::rational_tanh(self)
    }
}
impl Float for f64 {}

/// A computation on one float slice, for whichever of f32 and f64 a storage holds.
pub(crate) trait FloatMap {
    /// The result for `x`.
    fn map<T: Float>(&self, x: &[T]) -> Vec<T>;
}

/// A computation on two float slices of the same type.
pub(crate) trait FloatZip {
    /// The result for `a` and `b`.
    fn zip<T: Float>(&self, a: &[T], b: &[T]) -> Vec<T>;
}

/// Runs `op` on a contiguous f32 or f64 storage; `name` names the op in errors.
pub(crate) fn map_float(
    op: &impl FloatMap,
    (storage, layout): (&CpuStorage, &Layout),
    name: &str,
) -> candle_core::Result<CpuStorage> {
    Ok(match storage {
        CpuStorage::F32(_) => CpuStorage::F32(op.map(contiguous_slice(storage, layout, name)?)),
        CpuStorage::F64(_) => CpuStorage::F64(op.map(contiguous_slice(storage, layout, name)?)),
        _ => candle_core::bail!("{name} needs f32 or f64"),
    })
}

/// Runs `op` on two contiguous storages, both f32 or both f64; `name` names the op in errors.
pub(crate) fn zip_float(
    op: &impl FloatZip,
    (s1, l1): (&CpuStorage, &Layout),
    (s2, l2): (&CpuStorage, &Layout),
    name: &str,
) -> candle_core::Result<CpuStorage> {
    Ok(match (s1, s2) {
        (CpuStorage::F32(_), CpuStorage::F32(_)) => CpuStorage::F32(op.zip(
            contiguous_slice(s1, l1, name)?,
            contiguous_slice(s2, l2, name)?,
        )),
        (CpuStorage::F64(_), CpuStorage::F64(_)) => CpuStorage::F64(op.zip(
            contiguous_slice(s1, l1, name)?,
            contiguous_slice(s2, l2, name)?,
        )),
        _ => candle_core::bail!("{name} needs two f32 or two f64 inputs"),
    })
}

/// Implements Candle's `CustomOp2` (CPU only) for an element-wise [`FloatZip`] op whose result
/// has the first input's shape.
macro_rules! elementwise_op2 {
    ($op:ty, $name:literal) => {
        impl candle_core::CustomOp2 for $op {
            fn name(&self) -> &'static str {
                $name
            }

            fn cpu_fwd(
                &self,
                s1: &candle_core::CpuStorage,
                l1: &candle_core::Layout,
                s2: &candle_core::CpuStorage,
                l2: &candle_core::Layout,
            ) -> candle_core::Result<(candle_core::CpuStorage, candle_core::Shape)> {
                let storage = $crate::layers::storage::zip_float(self, (s1, l1), (s2, l2), $name)?;
                Ok((storage, l1.shape().clone()))
            }
        }
    };
}
pub(crate) use elementwise_op2;
