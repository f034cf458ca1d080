//! Convolution and transposed convolution for the CPU as im2col/col2im plus one GEMM per batch
//! chunk, with a backward pass built the same way.
//!
//! Candle 0.11.1's CPU `conv_transpose2d` is a direct loop (about 0.15 GFLOP/s here), and its
//! `conv2d` backward uses that same loop for the input gradient, so G's forward pass and every
//! input gradient were the bottleneck. These custom ops route all of it through Candle's GEMM.
//! Batches are processed in chunks whose patch matrix stays under [`MAX_PATCH_ELEMENTS`], and
//! patch matrices are recomputed in the backward pass instead of being kept, so memory stays
//! bounded. Other devices (CUDA) and dtypes use Candle's own kernels.

use candle_core::{CpuStorage, CustomOp2, DType, Layout, Shape, Tensor, WithDType};

use crate::layers::im2col::{col2im, im2col, PatchGeometry};

/// Upper bound on the elements of one patch matrix (64 MiB of f32).
pub const MAX_PATCH_ELEMENTS: usize = 16 * 1024 * 1024;

fn chunk_size(g: &PatchGeometry, max_patch: usize) -> usize {
    let per_image = (g.out_h * g.out_w * g.cols()).max(1);
    (max_patch / per_image).clamp(1, g.batch.max(1))
}

fn uses_fast_path(x: &Tensor) -> bool {
    x.device().is_cpu() && matches!(x.dtype(), DType::F32 | DType::F64)
}

/// `conv2d(x, w)` with `x (b, ci, h, w)`, `w (co, ci, k, k)`, no dilation or groups.
pub fn conv2d(
    x: &Tensor,
    weight: &Tensor,
    stride: usize,
    padding: usize,
) -> candle_core::Result<Tensor> {
    if uses_fast_path(x) {
        x.contiguous()?.apply_op2(
            &weight.contiguous()?,
            Conv2dOp {
                stride,
                padding,
                max_patch: MAX_PATCH_ELEMENTS,
            },
        )
    } else {
        x.conv2d(weight, padding, stride, 1, 1)
    }
}

/// `conv_transpose2d(x, w)` with `x (b, ci, h, w)`, `w (ci, co, k, k)`, no output padding.
pub fn conv_transpose2d(
    x: &Tensor,
    weight: &Tensor,
    stride: usize,
    padding: usize,
) -> candle_core::Result<Tensor> {
    if uses_fast_path(x) {
        x.contiguous()?.apply_op2(
            &weight.contiguous()?,
            ConvTranspose2dOp {
                stride,
                padding,
                max_patch: MAX_PATCH_ELEMENTS,
            },
        )
    } else {
        x.conv_transpose2d(weight, padding, 0, stride, 1)
    }
}

fn contiguous_slice<'a, T: WithDType>(
    storage: &'a CpuStorage,
    layout: &Layout,
) -> candle_core::Result<&'a [T]> {
    let (start, end) = layout
        .contiguous_offsets()
        .ok_or_else(|| candle_core::Error::Msg("conv op expects contiguous inputs".into()))?;
    Ok(&storage.as_slice::<T>()?[start..end])
}

fn dims4(layout: &Layout) -> candle_core::Result<(usize, usize, usize, usize)> {
    layout.shape().dims4()
}

/// Geometry of `conv2d`: the image is the input.
fn conv_geometry(
    x: (usize, usize, usize, usize),
    w: (usize, usize, usize, usize),
    stride: usize,
    padding: usize,
) -> candle_core::Result<PatchGeometry> {
    let (batch, channels, height, width) = x;
    let (_, in_channels, kernel, kernel_w) = w;
    if in_channels != channels || kernel != kernel_w {
        candle_core::bail!("conv2d: input {x:?} does not fit kernel {w:?}")
    }
    if height + 2 * padding < kernel || width + 2 * padding < kernel || stride == 0 {
        candle_core::bail!("conv2d: input {x:?} is smaller than kernel {w:?}")
    }
    Ok(PatchGeometry {
        batch,
        channels,
        height,
        width,
        kernel,
        stride,
        padding,
        out_h: (height + 2 * padding - kernel) / stride + 1,
        out_w: (width + 2 * padding - kernel) / stride + 1,
    })
}

/// Geometry of `conv_transpose2d`: the image is the output; kernel positions are the input.
fn transpose_geometry(
    x: (usize, usize, usize, usize),
    w: (usize, usize, usize, usize),
    stride: usize,
    padding: usize,
) -> candle_core::Result<PatchGeometry> {
    let (batch, channels, in_h, in_w) = x;
    let (in_channels, out_channels, kernel, kernel_w) = w;
    if in_channels != channels || kernel != kernel_w || stride == 0 {
        candle_core::bail!("conv_transpose2d: input {x:?} does not fit kernel {w:?}")
    }
    let height = ((in_h - 1) * stride + kernel)
        .checked_sub(2 * padding)
        .filter(|h| *h > 0);
    let width = ((in_w - 1) * stride + kernel)
        .checked_sub(2 * padding)
        .filter(|w| *w > 0);
    let (Some(height), Some(width)) = (height, width) else {
        candle_core::bail!("conv_transpose2d: padding {padding} leaves no output for input {x:?}")
    };
    Ok(PatchGeometry {
        batch,
        channels: out_channels,
        height,
        width,
        kernel,
        stride,
        padding,
        out_h: in_h,
        out_w: in_w,
    })
}

/// `(nb, c, h, w)` → `(c, nb·h·w)` (channels-major rows of positions).
fn channels_major(t: &Tensor) -> candle_core::Result<Tensor> {
    let (nb, c, h, w) = t.dims4()?;
    t.permute((1, 0, 2, 3))?
        .contiguous()?
        .reshape((c, nb * h * w))
}

/// `(nb, c, h, w)` → `(nb·h·w, c)` (one row per position).
fn positions_major(t: &Tensor) -> candle_core::Result<Tensor> {
    let (nb, c, h, w) = t.dims4()?;
    t.permute((0, 2, 3, 1))?
        .contiguous()?
        .reshape((nb * h * w, c))
}

/// Inverse of [`positions_major`].
fn from_positions_major(t: &Tensor, nb: usize, h: usize, w: usize) -> candle_core::Result<Tensor> {
    let c = t.dim(1)?;
    t.reshape((nb, h, w, c))?
        .permute((0, 3, 1, 2))?
        .contiguous()
}

/// A contiguous transpose (Candle's GEMM is much slower on a large transposed operand, so
/// only small weight matrices are ever transposed, and always into a copy).
fn transposed(t: &Tensor) -> candle_core::Result<Tensor> {
    t.t()?.contiguous()
}

fn patches<T: WithDType + Default>(
    image: &Tensor,
    g: &PatchGeometry,
) -> candle_core::Result<Tensor> {
    let data = image.flatten_all()?.to_vec1::<T>()?;
    Tensor::from_vec(im2col(&data, g), (g.rows(), g.cols()), image.device())
}

fn unpatch<T: WithDType + Default + std::ops::AddAssign>(
    columns: &Tensor,
    g: &PatchGeometry,
) -> candle_core::Result<Tensor> {
    let data = columns.flatten_all()?.to_vec1::<T>()?;
    Tensor::from_vec(
        col2im(&data, g),
        (g.batch, g.channels, g.height, g.width),
        columns.device(),
    )
}

fn cat_chunks(chunks: Vec<Tensor>) -> candle_core::Result<Tensor> {
    if chunks.len() == 1 {
        Ok(chunks.into_iter().next().expect("one chunk"))
    } else {
        Tensor::cat(&chunks, 0)
    }
}

/// Dispatches a generic body over f32 / f64.
macro_rules! float_dispatch {
    ($dtype:expr, $body:ident ( $($arg:expr),* )) => {
        match $dtype {
            DType::F32 => $body::<f32>($($arg),*),
            DType::F64 => $body::<f64>($($arg),*),
            other => Err(candle_core::Error::UnsupportedDTypeForOp(other, "eyegan conv")),
        }
    };
}

struct Conv2dOp {
    stride: usize,
    padding: usize,
    max_patch: usize,
}

fn conv2d_forward<T: WithDType + Default>(
    x: &Tensor,
    w: &Tensor,
    g: PatchGeometry,
    max_patch: usize,
) -> candle_core::Result<Tensor> {
    let out_channels = w.dim(0)?;
    let wm_t = transposed(&w.reshape((out_channels, g.cols()))?)?; // (cik, co)
    let step = chunk_size(&g, max_patch);
    let mut chunks = Vec::new();
    for start in (0..g.batch).step_by(step) {
        let nb = step.min(g.batch - start);
        let cols = patches::<T>(&x.narrow(0, start, nb)?, &g.with_batch(nb))?; // (rows, cik)
        let out = cols.matmul(&wm_t)?; // (rows, co)
        chunks.push(from_positions_major(&out, nb, g.out_h, g.out_w)?);
    }
    cat_chunks(chunks)
}

fn conv2d_backward<T: WithDType + Default + std::ops::AddAssign>(
    x: &Tensor,
    w: &Tensor,
    grad: &Tensor,
    g: PatchGeometry,
    max_patch: usize,
) -> candle_core::Result<(Tensor, Tensor)> {
    let out_channels = w.dim(0)?;
    let wm = w.reshape((out_channels, g.cols()))?;
    let step = chunk_size(&g, max_patch);
    let mut grad_w = wm.zeros_like()?;
    let mut grad_x = Vec::new();
    for start in (0..g.batch).step_by(step) {
        let nb = step.min(g.batch - start);
        let gc = g.with_batch(nb);
        let gy = grad.narrow(0, start, nb)?;
        let cols = patches::<T>(&x.narrow(0, start, nb)?, &gc)?; // (rows, cik)
        grad_w = (grad_w + channels_major(&gy)?.matmul(&cols)?)?; // (co, rows)·(rows, cik)
        let grad_cols = positions_major(&gy)?.matmul(&wm)?; // (rows, co)·(co, cik)
        grad_x.push(unpatch::<T>(&grad_cols, &gc)?);
    }
    Ok((cat_chunks(grad_x)?, grad_w.reshape(w.shape())?))
}

impl CustomOp2 for Conv2dOp {
    fn name(&self) -> &'static str {
        "eyegan-conv2d"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let g = conv_geometry(dims4(l1)?, dims4(l2)?, self.stride, self.padding)?;
        let (x, w) = tensors_from_storage(s1, l1, s2, l2)?;
        let y = float_dispatch!(x.dtype(), conv2d_forward(&x, &w, g, self.max_patch))?;
        storage_of(&y)
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let g = conv_geometry(x.dims4()?, w.dims4()?, self.stride, self.padding)?;
        let (x, w, grad) = (x.detach(), w.detach(), grad.detach().contiguous()?);
        let (gx, gw) =
            float_dispatch!(x.dtype(), conv2d_backward(&x, &w, &grad, g, self.max_patch))?;
        Ok((Some(gx), Some(gw)))
    }
}

struct ConvTranspose2dOp {
    stride: usize,
    padding: usize,
    max_patch: usize,
}

fn transpose_forward<T: WithDType + Default + std::ops::AddAssign>(
    x: &Tensor,
    w: &Tensor,
    g: PatchGeometry,
    max_patch: usize,
) -> candle_core::Result<Tensor> {
    let in_channels = w.dim(0)?;
    let wm = w.reshape((in_channels, g.cols()))?; // (ci, co·k²)
    let step = chunk_size(&g, max_patch);
    let mut chunks = Vec::new();
    for start in (0..g.batch).step_by(step) {
        let nb = step.min(g.batch - start);
        let xm = positions_major(&x.narrow(0, start, nb)?)?; // (rows, ci)
        let cols = xm.matmul(&wm)?; // (rows, co·k²)
        chunks.push(unpatch::<T>(&cols, &g.with_batch(nb))?);
    }
    cat_chunks(chunks)
}

fn transpose_backward<T: WithDType + Default>(
    x: &Tensor,
    w: &Tensor,
    grad: &Tensor,
    g: PatchGeometry,
    max_patch: usize,
) -> candle_core::Result<(Tensor, Tensor)> {
    let in_channels = w.dim(0)?;
    let wm = w.reshape((in_channels, g.cols()))?;
    let wm_t = transposed(&wm)?; // (co·k², ci)
    let step = chunk_size(&g, max_patch);
    let mut grad_w = wm.zeros_like()?;
    let mut grad_x = Vec::new();
    for start in (0..g.batch).step_by(step) {
        let nb = step.min(g.batch - start);
        let gcols = patches::<T>(&grad.narrow(0, start, nb)?, &g.with_batch(nb))?; // (rows, co·k²)
        let xm = channels_major(&x.narrow(0, start, nb)?)?; // (ci, rows)
        grad_w = (grad_w + xm.matmul(&gcols)?)?;
        let gxm = gcols.matmul(&wm_t)?; // (rows, ci)
        grad_x.push(from_positions_major(&gxm, nb, g.out_h, g.out_w)?);
    }
    Ok((cat_chunks(grad_x)?, grad_w.reshape(w.shape())?))
}

impl CustomOp2 for ConvTranspose2dOp {
    fn name(&self) -> &'static str {
        "eyegan-conv-transpose2d"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let g = transpose_geometry(dims4(l1)?, dims4(l2)?, self.stride, self.padding)?;
        let (x, w) = tensors_from_storage(s1, l1, s2, l2)?;
        let y = float_dispatch!(x.dtype(), transpose_forward(&x, &w, g, self.max_patch))?;
        storage_of(&y)
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let g = transpose_geometry(x.dims4()?, w.dims4()?, self.stride, self.padding)?;
        let (x, w, grad) = (x.detach(), w.detach(), grad.detach().contiguous()?);
        let (gx, gw) = float_dispatch!(
            x.dtype(),
            transpose_backward(&x, &w, &grad, g, self.max_patch)
        )?;
        Ok((Some(gx), Some(gw)))
    }
}

/// Copies the op's inputs into standalone CPU tensors.
fn tensors_from_storage(
    s1: &CpuStorage,
    l1: &Layout,
    s2: &CpuStorage,
    l2: &Layout,
) -> candle_core::Result<(Tensor, Tensor)> {
    let device = candle_core::Device::Cpu;
    match (s1, s2) {
        (CpuStorage::F32(_), CpuStorage::F32(_)) => Ok((
            Tensor::from_slice(contiguous_slice::<f32>(s1, l1)?, l1.shape(), &device)?,
            Tensor::from_slice(contiguous_slice::<f32>(s2, l2)?, l2.shape(), &device)?,
        )),
        (CpuStorage::F64(_), CpuStorage::F64(_)) => Ok((
            Tensor::from_slice(contiguous_slice::<f64>(s1, l1)?, l1.shape(), &device)?,
            Tensor::from_slice(contiguous_slice::<f64>(s2, l2)?, l2.shape(), &device)?,
        )),
        _ => candle_core::bail!("eyegan conv ops need two f32 or two f64 inputs"),
    }
}

/// Extracts the (contiguous) CPU storage of a result tensor.
fn storage_of(t: &Tensor) -> candle_core::Result<(CpuStorage, Shape)> {
    let shape = t.shape().clone();
    let storage = match t.dtype() {
        DType::F32 => CpuStorage::F32(t.flatten_all()?.to_vec1::<f32>()?),
        DType::F64 => CpuStorage::F64(t.flatten_all()?.to_vec1::<f64>()?),
        other => {
            return Err(candle_core::Error::UnsupportedDTypeForOp(
                other,
                "eyegan conv",
            ))
        }
    };
    Ok((storage, shape))
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    fn max_diff(a: &Tensor, b: &Tensor) -> f64 {
        (a - b)
            .unwrap()
            .abs()
            .unwrap()
            .flatten_all()
            .unwrap()
            .max(0)
            .unwrap()
            .to_dtype(DType::F64)
            .unwrap()
            .to_scalar::<f64>()
            .unwrap()
    }

    /// Chunking the batch (one image per chunk here) changes neither outputs nor gradients.
    #[test]
    fn chunked_and_whole_batch_agree() {
        let device = Device::Cpu;
        let x = candle_core::Var::randn(0f64, 1.0, (3, 2, 6, 6), &device).unwrap();
        let w = candle_core::Var::randn(0f64, 1.0, (4, 2, 4, 4), &device).unwrap();
        let wt = candle_core::Var::randn(0f64, 1.0, (4, 2, 4, 4), &device).unwrap();
        let run = |max_patch: usize| {
            let y = x
                .as_tensor()
                .apply_op2(
                    w.as_tensor(),
                    Conv2dOp {
                        stride: 2,
                        padding: 1,
                        max_patch,
                    },
                )
                .unwrap();
            let z = y
                .apply_op2(
                    wt.as_tensor(),
                    ConvTranspose2dOp {
                        stride: 2,
                        padding: 1,
                        max_patch,
                    },
                )
                .unwrap();
            let grads = (&z * &z).unwrap().sum_all().unwrap().backward().unwrap();
            let grad_of = |v: &candle_core::Var| grads.get(v.as_tensor()).unwrap().clone();
            (z, grad_of(&x), grad_of(&w), grad_of(&wt))
        };
        let (whole, chunked) = (run(MAX_PATCH_ELEMENTS), run(1));
        // Chunking changes the summation order of the weight gradients, so compare with a
        // tolerance relative to the magnitudes (random inputs: values reach the hundreds).
        let close = |a: &Tensor, b: &Tensor| {
            let scale = a
                .abs()
                .unwrap()
                .max_all()
                .unwrap()
                .to_scalar::<f64>()
                .unwrap();
            max_diff(a, b) <= 1e-12 * (1.0 + scale)
        };
        assert!(close(&whole.0, &chunked.0));
        assert!(close(&whole.1, &chunked.1));
        assert!(close(&whole.2, &chunked.2));
        assert!(close(&whole.3, &chunked.3));
    }

    #[test]
    fn forward_matches_candles_kernels() {
        let device = Device::Cpu;
        for (side, kernel, stride, padding) in
            [(6, 3, 1, 1), (8, 4, 2, 1), (4, 4, 1, 0), (5, 3, 1, 0)]
        {
            let x = Tensor::randn(0f32, 1.0, (3, 2, side, side), &device).unwrap();
            let w = Tensor::randn(0f32, 1.0, (4, 2, kernel, kernel), &device).unwrap();
            let ours = conv2d(&x, &w, stride, padding).unwrap();
            let theirs = x.conv2d(&w, padding, stride, 1, 1).unwrap();
            assert_eq!(ours.dims(), theirs.dims());
            assert!(
                max_diff(&ours, &theirs) < 1e-4,
                "conv2d {side} {kernel} {stride} {padding}"
            );

            let wt = Tensor::randn(0f32, 1.0, (2, 4, kernel, kernel), &device).unwrap();
            let ours = conv_transpose2d(&x, &wt, stride, padding).unwrap();
            let theirs = x.conv_transpose2d(&wt, padding, 0, stride, 1).unwrap();
            assert_eq!(ours.dims(), theirs.dims());
            assert!(
                max_diff(&ours, &theirs) < 1e-4,
                "conv_transpose2d {side} {kernel} {stride} {padding}"
            );
        }
    }
}
