//! Convolution and transposed convolution for the CPU as im2col/col2im plus one GEMM per batch
//! chunk, with both backward passes built the same way.
//!
//! Candle 0.11.1's CPU `conv_transpose2d` is a direct loop (about 0.15 GFLOP/s here), and its
//! `conv2d` backward uses that same loop for the input gradient. These custom ops work on the
//! tensors' storage directly: the patch matrix is laid out `taps × positions`, so for one image
//! the GEMM writes NCHW output in place, and weights enter the GEMM as strided views (no
//! transposed copies). Batches are processed in chunks whose patch matrix stays under
//! [`MAX_PATCH_ELEMENTS`]; patch matrices are recomputed in the backward pass instead of kept.
//! Wide 3×3 stride-1 convolutions (GMD's) take the Winograd path of
//! [`winograd`](crate::layers::winograd) instead, forward and both gradients.
//! Other devices (CUDA) and dtypes use Candle's own kernels.

use candle_core::{CpuStorage, CustomOp2, CustomOp3, DType, Layout, Shape, Tensor};
use rayon::prelude::*;

use crate::layers::activation::{
    add_bias_and_activate, bias_activation, channel_sum, grad_before_activation, Activation,
};
use crate::layers::gemm::{matmul_into, GemmFloat, MatRef, Threads};
use crate::layers::im2col::{col2im, im2col, PatchGeometry};
use crate::layers::parallel::filled;
use crate::layers::scratch::Slot;
use crate::layers::storage::contiguous_slice;
use crate::layers::winograd::{self, conv3x3, flipped_kernel, Conv3x3};

/// Upper bound on the elements of one patch matrix (16 MiB of f32) unless a single image needs
/// more: fewer, wider chunks mean fewer re-packings of the weights by gemm (G's second layer
/// has 2 Mi weights for 16 positions per image). Against 1 Mi: G forward −11 %, DCGAN
/// iteration −3..6 %, GMD unchanged, peaks within 25 MiB; 16 Mi was no faster and peaked up to
/// 110 MiB higher (eyegan-bench A/B).
pub const MAX_PATCH_ELEMENTS: usize = 4 * 1024 * 1024;

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
        let op = ConvOp::new(ConvKind::Conv, stride, padding, MAX_PATCH_ELEMENTS);
        x.contiguous()?.apply_op2(&weight.contiguous()?, op)
    } else {
        x.conv2d(weight, padding, stride, 1, 1)
    }
}

/// `act(conv2d(x, w) + bias)` with `bias (co,)`: on the CPU one op that adds the bias and
/// applies the activation to the GEMM's output in place and whose backward starts from that
/// output (no separate pre-activation tensor, no gradient for it); elsewhere Candle's ops.
pub fn conv2d_bias_act(
    x: &Tensor,
    weight: &Tensor,
    bias: &Tensor,
    stride: usize,
    padding: usize,
    activation: Activation,
) -> candle_core::Result<Tensor> {
    if uses_fast_path(x) && bias.dtype() == x.dtype() && bias.dims() == [weight.dim(0)?] {
        let conv = ConvOp::new(ConvKind::Conv, stride, padding, MAX_PATCH_ELEMENTS);
        x.contiguous()?.apply_op3(
            &weight.contiguous()?,
            &bias.contiguous()?,
            ConvBiasAct { conv, activation },
        )
    } else {
        bias_activation(&conv2d(x, weight, stride, padding)?, bias, activation)
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
        let op = ConvOp::new(ConvKind::Transpose, stride, padding, MAX_PATCH_ELEMENTS);
        x.contiguous()?.apply_op2(&weight.contiguous()?, op)
    } else {
        x.conv_transpose2d(weight, padding, 0, stride, 1)
    }
}

/// Which convolution an op computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ConvKind {
    /// `conv2d`: the image is the input, kernel positions are the output.
    Conv,
    /// `conv_transpose2d`: the image is the output, kernel positions are the input.
    Transpose,
}

/// What a [`ConvOp`] application produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Forward,
    InputGrad,
    WeightGrad,
}

#[derive(Debug, Clone, Copy)]
struct ConvOp {
    kind: ConvKind,
    stride: usize,
    padding: usize,
    max_patch: usize,
}

/// Shapes of one application: the patch geometry plus the channel count on the GEMM side.
#[derive(Debug, Clone, Copy)]
struct Plan {
    /// Image side of the im2col view (input of conv2d, output of conv_transpose2d).
    g: PatchGeometry,
    /// Channels on the kernel-position side (conv2d's output, conv_transpose2d's input).
    outer: usize,
    /// Images per chunk.
    chunk: usize,
}

impl Plan {
    fn chunks(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        (0..self.g.batch)
            .step_by(self.chunk)
            .map(|start| (start, self.chunk.min(self.g.batch - start)))
    }

    /// The Winograd form of a conv2d plan, where it [applies](Conv3x3::applies).
    fn winograd(&self) -> Option<Conv3x3> {
        let g = self.g;
        let conv = Conv3x3 {
            batch: g.batch,
            channels_in: g.channels,
            channels_out: self.outer,
            height: g.height,
            width: g.width,
            padding: g.padding,
        };
        conv.applies(g.kernel, g.stride).then_some(conv)
    }

    /// Values per image on the kernel-position side.
    fn outer_len(&self) -> usize {
        self.outer * self.g.positions()
    }
}

impl ConvOp {
    fn new(kind: ConvKind, stride: usize, padding: usize, max_patch: usize) -> Self {
        Self {
            kind,
            stride,
            padding,
            max_patch,
        }
    }

    /// `x` is the op's first input (b, ci, h, w), `w` its weight.
    fn plan(&self, x: &[usize], w: &[usize]) -> candle_core::Result<Plan> {
        let (&[batch, channels, in_h, in_w], &[w0, w1, kernel, kernel_w]) = (x, w) else {
            candle_core::bail!("convolution needs 4-d input and weight, got {x:?} and {w:?}")
        };
        let (stride, padding) = (self.stride, self.padding);
        let (g, outer) = match self.kind {
            ConvKind::Conv => {
                if w1 != channels || kernel != kernel_w || stride == 0 {
                    candle_core::bail!("conv2d: input {x:?} does not fit kernel {w:?}")
                }
                if in_h + 2 * padding < kernel || in_w + 2 * padding < kernel {
                    candle_core::bail!("conv2d: input {x:?} is smaller than kernel {w:?}")
                }
                let g = PatchGeometry {
                    batch,
                    channels,
                    height: in_h,
                    width: in_w,
                    kernel,
                    stride,
                    padding,
                    out_h: (in_h + 2 * padding - kernel) / stride + 1,
                    out_w: (in_w + 2 * padding - kernel) / stride + 1,
                };
                (g, w0)
            }
            ConvKind::Transpose => {
                if w0 != channels || kernel != kernel_w || stride == 0 || in_h == 0 || in_w == 0 {
                    candle_core::bail!("conv_transpose2d: input {x:?} does not fit kernel {w:?}")
                }
                let side = |n: usize| {
                    ((n - 1) * stride + kernel)
                        .checked_sub(2 * padding)
                        .filter(|s| *s > 0)
                };
                let (Some(height), Some(width)) = (side(in_h), side(in_w)) else {
                    candle_core::bail!(
                        "conv_transpose2d: padding {padding} leaves no output for input {x:?}"
                    )
                };
                let g = PatchGeometry {
                    batch,
                    channels: w1,
                    height,
                    width,
                    kernel,
                    stride,
                    padding,
                    out_h: in_h,
                    out_w: in_w,
                };
                (g, channels)
            }
        };
        // The patch matrix of a chunk stays under `max_patch` elements, and its values on the
        // kernel-position side (staged or gathered channel-major when a chunk holds several
        // images) under a quarter of that: a layer with few taps and many output channels
        // (GMD's first) would otherwise stage its whole output at once.
        let per_image = (g.positions() * g.taps()).max(1);
        let per_image_outer = (g.positions() * outer).max(1);
        let chunk = (self.max_patch / per_image)
            .min(self.max_patch / 4 / per_image_outer)
            .clamp(1, batch.max(1));
        Ok(Plan { g, outer, chunk })
    }

    fn output_shape(&self, plan: &Plan, target: Target, w: &[usize]) -> Shape {
        let g = plan.g;
        match (target, self.kind) {
            (Target::WeightGrad, _) => Shape::from(w),
            (Target::Forward, ConvKind::Conv) | (Target::InputGrad, ConvKind::Transpose) => {
                Shape::from((g.batch, plan.outer, g.out_h, g.out_w))
            }
            (Target::Forward, ConvKind::Transpose) | (Target::InputGrad, ConvKind::Conv) => {
                Shape::from((g.batch, g.channels, g.height, g.width))
            }
        }
    }
}

/// Runs `f` on an NCHW chunk of `nb` images seen as `channels × (nb·positions)`: the chunk
/// itself for one image, else gathered into a scratch buffer.
fn channels_major<T: GemmFloat, R>(
    nchw: &[T],
    nb: usize,
    channels: usize,
    positions: usize,
    f: impl FnOnce(&[T]) -> R,
) -> R {
    if nb == 1 {
        return f(nchw);
    }
    T::with_scratch(Slot::Gathered, nchw.len(), |out| {
        out.par_chunks_mut((nb * positions).max(1))
            .enumerate()
            .for_each(|(c, planes)| {
                for (b, plane) in planes.chunks_exact_mut(positions.max(1)).enumerate() {
                    plane.copy_from_slice(&nchw[(b * channels + c) * positions..][..positions]);
                }
            });
        f(out)
    })
}

/// Inverse of [`channels_major`]: writes `channels × (nb·positions)` back as NCHW.
fn write_nchw<T: Copy + Send + Sync>(
    src: &[T],
    nb: usize,
    channels: usize,
    positions: usize,
    nchw: &mut [T],
) {
    nchw.par_chunks_mut((channels * positions).max(1))
        .enumerate()
        .for_each(|(b, image)| {
            for (c, plane) in image.chunks_exact_mut(positions.max(1)).enumerate() {
                plane.copy_from_slice(&src[(c * nb + b) * positions..][..positions]);
            }
        });
}

/// The transpose of a row-major `rows × cols` matrix, in 32×32 blocks (a block of either
/// matrix stays in cache while its transposed lines are written), block rows in parallel.
fn transpose<T: Copy + Default + Send + Sync>(matrix: &[T], rows: usize, cols: usize) -> Vec<T> {
    const BLOCK: usize = 32;
    let mut out = vec![T::default(); rows * cols];
    if rows == 0 {
        return out;
    }
    out.par_chunks_mut(BLOCK * rows)
        .enumerate()
        .for_each(|(block, out)| {
            let first_col = block * BLOCK;
            let block_cols = out.len() / rows;
            for first_row in (0..rows).step_by(BLOCK) {
                for c in 0..block_cols {
                    let line = &mut out[c * rows + first_row..][..BLOCK.min(rows - first_row)];
                    for (r, v) in line.iter_mut().enumerate() {
                        *v = matrix[(first_row + r) * cols + first_col + c];
                    }
                }
            }
        });
    out
}

/// `dst (NCHW chunk) = a · b`, through a scratch matrix when the chunk has several images.
fn matmul_to_nchw<T: GemmFloat>(
    dst: &mut [T],
    a: MatRef<'_, T>,
    b: MatRef<'_, T>,
    nb: usize,
    channels: usize,
    positions: usize,
) -> candle_core::Result<()> {
    if nb == 1 {
        matmul_into(dst, a, b, false, Threads::Gemm)
    } else {
        T::with_scratch(Slot::Staging, dst.len(), |scratch| {
            matmul_into(scratch, a, b, false, Threads::Gemm)?;
            write_nchw(scratch, nb, channels, positions, dst);
            Ok(())
        })
    }
}

/// Image side → outer side: im2col of each image chunk, then `W · cols`, written NCHW
/// (conv2d's forward, conv_transpose2d's input gradient).
fn gather_through_weights<T: GemmFloat>(
    plan: &Plan,
    w: &[T],
    images: &[T],
) -> candle_core::Result<Vec<T>> {
    let g = plan.g;
    let (taps, outer, positions) = (g.taps(), plan.outer, g.positions());
    let (image_len, outer_len) = (g.image_len(), plan.outer_len());
    let mut out = filled(g.batch * outer_len, T::zero());
    let wm = MatRef::row_major(w, outer, taps);
    with_patches(plan, |cols| {
        for (start, nb) in plan.chunks() {
            let gc = g.with_batch(nb);
            let cols = &mut cols[..taps * gc.columns()];
            im2col(&images[start * image_len..][..nb * image_len], &gc, cols);
            let cm = MatRef::row_major(cols, taps, gc.columns());
            let dst = &mut out[start * outer_len..][..nb * outer_len];
            matmul_to_nchw(dst, wm, cm, nb, outer, positions)?;
        }
        Ok(())
    })?;
    Ok(out)
}

/// Runs `f` on this thread's patch-matrix scratch buffer, large enough for `plan`'s chunks.
fn with_patches<T: GemmFloat>(
    plan: &Plan,
    f: impl FnOnce(&mut [T]) -> candle_core::Result<()>,
) -> candle_core::Result<()> {
    let len = plan.g.taps() * plan.g.positions() * plan.chunk.min(plan.g.batch);
    T::with_scratch(Slot::Patches, len, f)
}

/// Outer side → image side: `Wᵀ · values` per chunk, then col2im (conv_transpose2d's forward,
/// conv2d's input gradient).
fn scatter_through_weights<T: GemmFloat>(
    plan: &Plan,
    w: &[T],
    values: &[T],
) -> candle_core::Result<Vec<T>> {
    let g = plan.g;
    let (taps, outer, positions) = (g.taps(), plan.outer, g.positions());
    let (image_len, outer_len) = (g.image_len(), plan.outer_len());
    let mut out = filled(g.batch * image_len, T::zero());
    let wt = MatRef::row_major(w, outer, taps).t();
    with_patches(plan, |cols| {
        for (start, nb) in plan.chunks() {
            let gc = g.with_batch(nb);
            let cols = &mut cols[..taps * gc.columns()];
            let chunk = &values[start * outer_len..][..nb * outer_len];
            channels_major(chunk, nb, outer, positions, |chunk| {
                let values = MatRef::row_major(chunk, outer, gc.columns());
                matmul_into(cols, wt, values, false, Threads::Gemm)
            })?;
            col2im(cols, &gc, &mut out[start * image_len..][..nb * image_len]);
        }
        Ok(())
    })?;
    Ok(out)
}

impl ConvOp {
    /// Forward pass: `x` is the input, `w` the weight.
    fn forward<T: GemmFloat>(&self, plan: &Plan, x: &[T], w: &[T]) -> candle_core::Result<Vec<T>> {
        match (self.kind, plan.winograd()) {
            (ConvKind::Conv, Some(conv)) => conv3x3(&conv, x, w),
            (ConvKind::Conv, None) => gather_through_weights(plan, w, x),
            (ConvKind::Transpose, _) => scatter_through_weights(plan, w, x),
        }
    }

    /// Gradient with respect to the input, from the output gradient `gy`.
    fn input_grad<T: GemmFloat>(
        &self,
        plan: &Plan,
        w: &[T],
        gy: &[T],
    ) -> candle_core::Result<Vec<T>> {
        let backward = plan.winograd().map(|conv| conv.input_gradient());
        match (self.kind, backward) {
            (ConvKind::Conv, Some(back)) if back.applies(3, 1) => {
                let flipped = flipped_kernel(w, plan.outer, plan.g.channels);
                conv3x3(&back, gy, &flipped)
            }
            (ConvKind::Conv, _) => scatter_through_weights(plan, w, gy),
            (ConvKind::Transpose, _) => gather_through_weights(plan, w, gy),
        }
    }

    /// Gradient with respect to the weight (`outer × taps` for both kinds, which is
    /// `(co, ci, k, k)` for conv2d and `(ci, co, k, k)` for conv_transpose2d).
    fn weight_grad<T: GemmFloat>(
        &self,
        plan: &Plan,
        x: &[T],
        gy: &[T],
    ) -> candle_core::Result<Vec<T>> {
        if let (ConvKind::Conv, Some(conv)) = (self.kind, plan.winograd()) {
            return winograd::weight_gradient(&conv, x, gy);
        }
        let g = plan.g;
        let (taps, outer, positions) = (g.taps(), plan.outer, g.positions());
        let (image_len, outer_len) = (g.image_len(), plan.outer_len());
        // The image side is x for conv2d and gy for conv_transpose2d; the other one is the
        // kernel-position side.
        let (image, positions_side) = match self.kind {
            ConvKind::Conv => (x, gy),
            ConvKind::Transpose => (gy, x),
        };
        // Accumulated transposed (`taps × outer`): with the patch matrix as the left operand
        // and the kernel-position side transposed on the right, gemm packs both operands
        // along their contiguous axis (twice as fast here as `side · colsᵀ`).
        let mut transposed = vec![T::zero(); taps * outer];
        with_patches(plan, |cols| {
            for (index, (start, nb)) in plan.chunks().enumerate() {
                let gc = g.with_batch(nb);
                let cols = &mut cols[..taps * gc.columns()];
                im2col(&image[start * image_len..][..nb * image_len], &gc, cols);
                let side = &positions_side[start * outer_len..][..nb * outer_len];
                channels_major(side, nb, outer, positions, |side| {
                    matmul_into(
                        &mut transposed,
                        MatRef::row_major(cols, taps, gc.columns()),
                        MatRef::row_major(side, outer, gc.columns()).t(),
                        index > 0,
                        Threads::RowBlocks,
                    )
                })?;
            }
            Ok(())
        })?;
        Ok(transpose(&transposed, taps, outer))
    }

    fn run<T: GemmFloat>(
        &self,
        target: Target,
        inputs: [&[T]; 3],
        plan: &Plan,
    ) -> candle_core::Result<Vec<T>> {
        let [first, weight, grad] = inputs;
        match target {
            Target::Forward => self.forward(plan, first, weight),
            Target::InputGrad => self.input_grad(plan, weight, grad),
            Target::WeightGrad => self.weight_grad(plan, first, grad),
        }
    }

    /// Runs `target` on CPU storages (`grad` absent for the forward pass).
    fn cpu(
        &self,
        target: Target,
        first: (&CpuStorage, &Layout),
        weight: (&CpuStorage, &Layout),
        grad: Option<(&CpuStorage, &Layout)>,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let plan = self.plan(first.1.dims(), weight.1.dims())?;
        let shape = self.output_shape(&plan, target, weight.1.dims());
        macro_rules! typed {
            ($t:ty, $variant:ident) => {{
                let grad = match grad {
                    Some(grad) => contiguous::<$t>(grad)?,
                    None => &[],
                };
                let inputs = [contiguous::<$t>(first)?, contiguous::<$t>(weight)?, grad];
                CpuStorage::$variant(self.run::<$t>(target, inputs, &plan)?)
            }};
        }
        let storage = match first.0 {
            CpuStorage::F32(_) => typed!(f32, F32),
            CpuStorage::F64(_) => typed!(f64, F64),
            other => {
                return Err(candle_core::Error::UnsupportedDTypeForOp(
                    candle_core::backend::BackendStorage::dtype(other),
                    "eyegan conv",
                ))
            }
        };
        Ok((storage, shape))
    }
}

/// The contiguous slice a layout addresses (the ops make their inputs contiguous).
fn contiguous<'a, T: candle_core::WithDType>(
    (storage, layout): (&'a CpuStorage, &Layout),
) -> candle_core::Result<&'a [T]> {
    contiguous_slice(storage, layout, "conv op")
}

impl CustomOp2 for ConvOp {
    fn name(&self) -> &'static str {
        match self.kind {
            ConvKind::Conv => "eyegan-conv2d",
            ConvKind::Transpose => "eyegan-conv-transpose2d",
        }
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        self.cpu(Target::Forward, (s1, l1), (s2, l2), None)
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        // Only the gradients that backprop will keep: none for an input image or a frozen
        // (detached) weight, which track no op.
        let (input_needed, weight_needed) = (x.track_op(), w.track_op());
        let (x, w, grad) = (x.detach(), w.detach(), grad.detach().contiguous()?);
        let gradient = |needed: bool, target: Target| {
            needed
                .then(|| x.apply_op3_no_bwd(&w, &grad, &GradOp(*self, target)))
                .transpose()
        };
        Ok((
            gradient(input_needed, Target::InputGrad)?,
            gradient(weight_needed, Target::WeightGrad)?,
        ))
    }
}

/// `(x, w, bias)` → `act(conv2d(x, w) + bias)` (see [`conv2d_bias_act`]).
#[derive(Debug, Clone, Copy)]
struct ConvBiasAct {
    conv: ConvOp,
    activation: Activation,
}

impl CustomOp3 for ConvBiasAct {
    fn name(&self) -> &'static str {
        "eyegan-conv2d-bias-activation"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (mut storage, shape) = self.conv.cpu(Target::Forward, (s1, l1), (s2, l2), None)?;
        let (_, channels, h, w) = shape.dims4()?;
        match &mut storage {
            CpuStorage::F32(out) => {
                let bias = contiguous::<f32>((s3, l3))?;
                add_bias_and_activate(out, bias, channels, h * w, self.activation)
            }
            CpuStorage::F64(out) => {
                let bias = contiguous::<f64>((s3, l3))?;
                add_bias_and_activate(out, bias, channels, h * w, self.activation)
            }
            _ => candle_core::bail!("conv bias activation op needs f32 or f64"),
        }
        Ok((storage, shape))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        bias: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let dpre = grad_before_activation(res, grad, self.activation)?;
        let dbias = bias.track_op().then(|| channel_sum(&dpre)).transpose()?;
        let (dx, dw) = self.conv.bwd(x, w, res, &dpre)?;
        Ok((dx, dw, dbias))
    }
}

/// One gradient of a [`ConvOp`], as an op over `(x, w, grad of the output)`.
struct GradOp(ConvOp, Target);

impl CustomOp3 for GradOp {
    fn name(&self) -> &'static str {
        match self.1 {
            Target::InputGrad => "eyegan-conv-input-grad",
            _ => "eyegan-conv-weight-grad",
        }
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        self.0.cpu(self.1, (s1, l1), (s2, l2), Some((s3, l3)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    /// `max |a − b| ≤ tol · max |b|`.
    fn assert_close(a: &Tensor, b: &Tensor, tol: f64, what: &str) {
        assert_eq!(a.dims(), b.dims(), "{what}");
        let scalar = |t: Tensor| t.to_dtype(DType::F64).unwrap().to_scalar::<f64>().unwrap();
        let diff = scalar((a - b).unwrap().abs().unwrap().max_all().unwrap());
        let scale = scalar(b.abs().unwrap().max_all().unwrap());
        assert!(
            diff <= tol * scale,
            "{what}: max diff {diff} vs scale {scale}"
        );
    }

    type Run = fn(&Tensor, &Tensor, usize, usize) -> candle_core::Result<Tensor>;

    /// Output and both gradients of `op` under the loss Σ y·r for a fixed random r.
    fn value_and_grads(
        op: Run,
        x: &Var,
        w: &Var,
        stride: usize,
        padding: usize,
        r: &Tensor,
    ) -> [Tensor; 3] {
        let y = op(x.as_tensor(), w.as_tensor(), stride, padding).unwrap();
        let grads = (&y * r.broadcast_as(y.shape()).unwrap())
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        [
            y,
            grads.get(x).unwrap().clone(),
            grads.get(w).unwrap().clone(),
        ]
    }

    fn stock_conv(x: &Tensor, w: &Tensor, s: usize, p: usize) -> candle_core::Result<Tensor> {
        x.conv2d(w, p, s, 1, 1)
    }

    fn stock_transpose(x: &Tensor, w: &Tensor, s: usize, p: usize) -> candle_core::Result<Tensor> {
        x.conv_transpose2d(w, p, 0, s, 1)
    }

    /// Forward values and both gradients match Candle's own kernels within 1e-5 relative, in
    /// f32 and f64, for the geometries of DCGAN (k4 s2 p1, k4 s1 p0) and GMD (k3 s1 p1, p0),
    /// the wide 3×3 ones through the Winograd path.
    #[test]
    fn matches_candles_kernels_forward_and_backward() {
        let device = Device::Cpu;
        for dtype in [DType::F64, DType::F32] {
            for (batch, side, kernel, stride, padding, (wide, narrow)) in [
                (3, 6, 3, 1, 1, (5, 4)),
                (2, 8, 4, 2, 1, (5, 4)),
                (2, 4, 4, 1, 0, (5, 4)),
                (3, 5, 3, 1, 0, (5, 4)),
                (1, 1, 4, 1, 0, (5, 4)),
                (2, 6, 3, 1, 1, (17, 16)),
                (2, 7, 3, 1, 0, (16, 18)),
                (2, 3, 3, 1, 2, (16, 16)),
            ] {
                let what = format!(
                    "{dtype:?} b{batch} side {side} k{kernel} s{stride} p{padding} \
                     channels {wide}/{narrow}"
                );
                let x = Var::randn(0f32, 1.0, (batch, wide, side, side), &device).unwrap();
                let x = Var::from_tensor(&x.to_dtype(dtype).unwrap()).unwrap();
                let fits = side + 2 * padding >= kernel;
                for (op, stock, w_shape, runs) in [
                    (
                        conv2d as Run,
                        stock_conv as Run,
                        (narrow, wide, kernel, kernel),
                        fits,
                    ),
                    (
                        conv_transpose2d as Run,
                        stock_transpose as Run,
                        (wide, narrow, kernel, kernel),
                        true,
                    ),
                ] {
                    if !runs {
                        continue;
                    }
                    let w = Var::randn(0f32, 1.0, w_shape, &device).unwrap();
                    let w = Var::from_tensor(&w.to_dtype(dtype).unwrap()).unwrap();
                    let y = op(x.as_tensor(), w.as_tensor(), stride, padding).unwrap();
                    let r = Tensor::randn(0f32, 1.0, y.shape(), &device)
                        .unwrap()
                        .to_dtype(dtype)
                        .unwrap();
                    let ours = value_and_grads(op, &x, &w, stride, padding, &r);
                    let theirs = value_and_grads(stock, &x, &w, stride, padding, &r);
                    for (name, a, b) in [
                        ("y", &ours[0], &theirs[0]),
                        ("dx", &ours[1], &theirs[1]),
                        ("dw", &ours[2], &theirs[2]),
                    ] {
                        assert_close(a, b, 1e-5, &format!("{name} {what}"));
                    }
                }
            }
        }
    }

    /// Chunking the batch (one image per chunk here) changes neither outputs nor gradients.
    #[test]
    fn chunked_and_whole_batch_agree() {
        let device = Device::Cpu;
        let x = Var::randn(0f64, 1.0, (3, 2, 6, 6), &device).unwrap();
        let w = Var::randn(0f64, 1.0, (4, 2, 4, 4), &device).unwrap();
        let wt = Var::randn(0f64, 1.0, (4, 2, 4, 4), &device).unwrap();
        let run = |max_patch: usize| {
            let y = x
                .as_tensor()
                .apply_op2(w.as_tensor(), ConvOp::new(ConvKind::Conv, 2, 1, max_patch))
                .unwrap();
            let z = y
                .apply_op2(
                    wt.as_tensor(),
                    ConvOp::new(ConvKind::Transpose, 2, 1, max_patch),
                )
                .unwrap();
            let grads = (&z * &z).unwrap().sum_all().unwrap().backward().unwrap();
            let grad_of = |v: &Var| grads.get(v.as_tensor()).unwrap().clone();
            [z, grad_of(&x), grad_of(&w), grad_of(&wt)]
        };
        let (whole, chunked) = (run(MAX_PATCH_ELEMENTS), run(1));
        for (a, b) in whole.iter().zip(&chunked) {
            assert_close(a, b, 1e-12, "chunked vs whole");
        }
    }

    /// The fused conv + bias + activation matches Candle's conv2d, bias add and activation,
    /// forward and all three gradients, within 1e-5 relative.
    #[test]
    fn fused_bias_activation_matches_candles_ops() {
        let device = Device::Cpu;
        let activations = [
            Activation::Relu,
            Activation::LeakyRelu(0.2),
            Activation::Identity,
        ];
        for dtype in [DType::F32, DType::F64] {
            for activation in activations {
                let var = |dims: &[usize]| {
                    let t = Tensor::randn(0f32, 1.0, dims, &device).unwrap();
                    Var::from_tensor(&t.to_dtype(dtype).unwrap()).unwrap()
                };
                let (x, w, bias) = (var(&[2, 3, 7, 7]), var(&[4, 3, 3, 3]), var(&[4]));
                let r = var(&[2, 4, 7, 7]);
                let run = |y: Tensor| {
                    let grads = (&y * r.as_tensor()).unwrap().sum_all().unwrap().backward();
                    let grads = grads.unwrap();
                    let grad_of = |v: &Var| grads.get(v.as_tensor()).unwrap().clone();
                    [y, grad_of(&x), grad_of(&w), grad_of(&bias)]
                };
                let (xt, wt, bt) = (x.as_tensor(), w.as_tensor(), bias.as_tensor());
                let ours = run(conv2d_bias_act(xt, wt, bt, 1, 1, activation).unwrap());
                let stock = stock_conv(xt, wt, 1, 1)
                    .unwrap()
                    .broadcast_add(&bt.reshape((1, 4, 1, 1)).unwrap())
                    .unwrap();
                let theirs = run(activation.apply_tensor(&stock).unwrap());
                for (name, (a, b)) in ["y", "dx", "dw", "dbias"]
                    .iter()
                    .zip(ours.iter().zip(&theirs))
                {
                    assert_close(a, b, 1e-5, &format!("{name} {dtype:?} {activation:?}"));
                }
            }
        }
    }

    #[test]
    fn transpose_matches_the_definition() {
        for (rows, cols) in [(1, 1), (3, 70), (65, 33), (32, 64), (0, 4)] {
            let matrix: Vec<usize> = (0..rows * cols).collect();
            let t = transpose(&matrix, rows, cols);
            for r in 0..rows {
                for c in 0..cols {
                    assert_eq!(t[c * rows + r], matrix[r * cols + c], "{rows}×{cols}");
                }
            }
        }
    }

    #[test]
    fn mismatched_shapes_are_errors() {
        let device = Device::Cpu;
        let x = Tensor::zeros((1, 3, 8, 8), DType::F32, &device).unwrap();
        let w = Tensor::zeros((4, 2, 3, 3), DType::F32, &device).unwrap();
        assert!(conv2d(&x, &w, 1, 1).is_err());
        assert!(conv_transpose2d(&x, &w, 1, 1).is_err());
    }
}
