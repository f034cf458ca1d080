//! A bounds-checked, safe entry to the gemm crate's matrix product on strided slices.
//!
//! The convolution kernels multiply views of their own buffers (an image chunk seen as a
//! `channels × positions` matrix, a weight seen transposed) without copying them into tensors;
//! this is the one place that hands raw pointers to `gemm::gemm`, after checking that every
//! element either matrix can address lies inside its slice.

use candle_core::WithDType;
use rayon::prelude::*;

use crate::layers::scratch::Scratch;

/// Element types the gemm crate multiplies natively (with scratch buffers for the kernels
/// around it).
pub trait GemmFloat: WithDType + Default + std::ops::AddAssign + Scratch {}
impl GemmFloat for f32 {}
impl GemmFloat for f64 {}

/// A read-only `rows × cols` matrix over a slice with element strides.
#[derive(Debug, Clone, Copy)]
pub struct MatRef<'a, T> {
    data: &'a [T],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

impl<'a, T> MatRef<'a, T> {
    /// A row-major matrix (`data[r * cols + c]`).
    pub fn row_major(data: &'a [T], rows: usize, cols: usize) -> Self {
        Self {
            data,
            rows,
            cols,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// A matrix whose rows start `row_stride` elements apart (`data[r * row_stride + c]`).
    pub fn strided(data: &'a [T], rows: usize, cols: usize, row_stride: usize) -> Self {
        Self {
            data,
            rows,
            cols,
            row_stride,
            col_stride: 1,
        }
    }

    /// Rows `start .. start + count` (a view).
    fn rows(self, start: usize, count: usize) -> Self {
        Self {
            data: self.data.get(start * self.row_stride..).unwrap_or(&[]),
            rows: count,
            ..self
        }
    }

    /// Columns `start .. start + count` (a view).
    fn cols(self, start: usize, count: usize) -> Self {
        self.t().rows(start, count).t()
    }

    /// The transpose (a view: no data moves).
    pub fn t(self) -> Self {
        Self {
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
            ..self
        }
    }

    fn check(&self, what: &str) -> candle_core::Result<()> {
        if self.rows == 0 || self.cols == 0 {
            return Ok(());
        }
        let last = (self.rows - 1) * self.row_stride + (self.cols - 1) * self.col_stride;
        if last >= self.data.len() {
            candle_core::bail!(
                "gemm: {what} {}×{} (strides {}, {}) exceeds its {} elements",
                self.rows,
                self.cols,
                self.row_stride,
                self.col_stride,
                self.data.len()
            )
        }
        Ok(())
    }
}

/// How a product spreads over Candle's threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Threads {
    /// gemm's own threading, on Candle's thread count.
    Gemm,
    /// The calling thread only, for callers that run several products in parallel themselves.
    Calling,
    /// One serial product per thread on its own block of rows of `a` (and `dst`), or, where
    /// `a` has too few rows to give every thread a block, on its own block of the inner
    /// dimension (partial products then summed).
    ///
    /// For a row-major `a` of at most ~1024 rows, gemm packs the whole left operand on the
    /// calling thread before its threads start (`do_prepack_lhs`), leaving the other cores
    /// idle: with the weight gradient's patch matrix (`taps × positions`) on the left, that
    /// packing was over half of the main thread's samples in a DCGAN profile (8.4 % of all,
    /// the workers idle meanwhile). Split by rows, every
    /// thread packs only its own rows. Meant for a right operand that gemm reads unpacked (a
    /// transposed, column-contiguous view, as there): a packed one would be packed again by
    /// every thread.
    RowBlocks,
}

/// Rows of the left operand per block with [`Threads::RowBlocks`]: a multiple of the gemm
/// crate's widest register block (64 f32 rows with AVX-512).
const ROW_BLOCK: usize = 64;

/// `dst = a · b` (or `dst += a · b` with `accumulate`), `dst` row-major `a.rows × b.cols`.
pub fn matmul_into<T: GemmFloat>(
    dst: &mut [T],
    a: MatRef<'_, T>,
    b: MatRef<'_, T>,
    accumulate: bool,
    threads: Threads,
) -> candle_core::Result<()> {
    let count = candle_core::utils::get_num_threads();
    let n = b.cols;
    match threads {
        _ if count <= 1 => matmul_with(dst, a, b, accumulate, gemm::Parallelism::None),
        Threads::Gemm => matmul_with(dst, a, b, accumulate, gemm::Parallelism::Rayon(count)),
        Threads::Calling => matmul_with(dst, a, b, accumulate, gemm::Parallelism::None),
        // shapes that do not fit go to the checks of the unsplit product
        Threads::RowBlocks
            if n == 0 || dst.len() != a.rows * n || a.cols != b.rows || a.cols < count =>
        {
            matmul_with(dst, a, b, accumulate, gemm::Parallelism::Rayon(count))
        }
        Threads::RowBlocks if a.rows < count * ROW_BLOCK => {
            matmul_by_depth_blocks(dst, a, b, accumulate, count)
        }
        Threads::RowBlocks => {
            let rows_per_block = a.rows.div_ceil(count).next_multiple_of(ROW_BLOCK);
            dst.par_chunks_mut(rows_per_block * n)
                .enumerate()
                .try_for_each(|(block, dst)| {
                    let rows = a.rows(block * rows_per_block, dst.len() / n);
                    matmul_with(dst, rows, b, accumulate, gemm::Parallelism::None)
                })
        }
    }
}

/// `dst (+)= a · b` as `count` serial partial products over blocks of the inner dimension, in
/// parallel, summed in block order.
fn matmul_by_depth_blocks<T: GemmFloat>(
    dst: &mut [T],
    a: MatRef<'_, T>,
    b: MatRef<'_, T>,
    accumulate: bool,
    count: usize,
) -> candle_core::Result<()> {
    let depth = a.cols.div_ceil(count);
    let partials = (0..a.cols.div_ceil(depth))
        .into_par_iter()
        .map(|block| {
            let start = block * depth;
            let len = depth.min(a.cols - start);
            let mut partial = vec![T::zero(); dst.len()];
            let (a, b) = (a.cols(start, len), b.rows(start, len));
            matmul_with(&mut partial, a, b, false, gemm::Parallelism::None)?;
            Ok(partial)
        })
        .collect::<candle_core::Result<Vec<_>>>()?;
    if !accumulate {
        dst.fill(T::zero());
    }
    for partial in partials {
        for (d, p) in dst.iter_mut().zip(partial) {
            *d += p;
        }
    }
    Ok(())
}

#[allow(unsafe_code)]
fn matmul_with<T: GemmFloat>(
    dst: &mut [T],
    a: MatRef<'_, T>,
    b: MatRef<'_, T>,
    accumulate: bool,
    parallelism: gemm::Parallelism,
) -> candle_core::Result<()> {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    if b.rows != k {
        candle_core::bail!("gemm: inner dimensions differ ({m}×{k} · {}×{n})", b.rows)
    }
    if dst.len() != m * n {
        candle_core::bail!(
            "gemm: destination holds {} elements, not {m}×{n}",
            dst.len()
        )
    }
    a.check("left operand")?;
    b.check("right operand")?;
    if m == 0 || n == 0 {
        return Ok(());
    }
    if k == 0 {
        if !accumulate {
            dst.fill(T::zero());
        }
        return Ok(());
    }
    let stride = |s: usize| s as isize;
    // SAFETY: `dst` is an exclusive, `m·n`-element row-major buffer (column stride 1, row stride
    // n); `check` proved that every element `a` and `b` address lies inside their slices; T is
    // f32 or f64 (sealed by `GemmFloat`), which gemm supports.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            stride(n),
            accumulate,
            a.data.as_ptr(),
            stride(a.col_stride),
            stride(a.row_stride),
            b.data.as_ptr(),
            stride(b.col_stride),
            stride(b.row_stride),
            T::one(),
            T::one(),
            false,
            false,
            false,
            parallelism,
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &[f64], b: &[f64], m: usize, k: usize, n: usize) -> Vec<f64> {
        let mut out = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                out[i * n + j] = (0..k).map(|l| a[i * k + l] * b[l * n + j]).sum();
            }
        }
        out
    }

    #[test]
    fn products_of_views_match_the_definition() {
        let (m, k, n) = (7, 5, 9);
        let a: Vec<f64> = (0..m * k).map(|i| (i % 11) as f64 - 5.0).collect();
        let b: Vec<f64> = (0..k * n).map(|i| (i % 7) as f64 * 0.5).collect();
        let expected = naive(&a, &b, m, k, n);
        let mut dst = vec![1.0; m * n];
        matmul_into(
            &mut dst,
            MatRef::row_major(&a, m, k),
            MatRef::row_major(&b, k, n),
            false,
            Threads::Gemm,
        )
        .unwrap();
        assert_eq!(dst, expected);
        // accumulate, with b given as the transpose of its transpose stored row-major
        let bt: Vec<f64> = (0..n * k).map(|i| b[(i % k) * n + i / k]).collect();
        matmul_into(
            &mut dst,
            MatRef::row_major(&a, m, k),
            MatRef::row_major(&bt, n, k).t(),
            true,
            Threads::Gemm,
        )
        .unwrap();
        let doubled: Vec<f64> = expected.iter().map(|v| 2.0 * v).collect();
        assert_eq!(dst, doubled);
    }

    #[test]
    fn row_blocks_in_parallel_match_the_definition() {
        // rows not a multiple of the block, right operand a transposed view, as the weight
        // gradient uses it
        let (m, k, n) = (3 * ROW_BLOCK + 7, 37, 9);
        let a: Vec<f64> = (0..m * k).map(|i| (i % 13) as f64 - 6.0).collect();
        let bt: Vec<f64> = (0..n * k).map(|i| (i % 5) as f64 * 0.25).collect();
        let b: Vec<f64> = (0..k * n).map(|i| bt[(i % n) * k + i / n]).collect();
        let expected = naive(&a, &b, m, k, n);
        let mut dst = vec![1.0; m * n];
        let (a, bt) = (
            MatRef::row_major(&a, m, k),
            MatRef::row_major(&bt, n, k).t(),
        );
        matmul_into(&mut dst, a, bt, false, Threads::RowBlocks).unwrap();
        assert_eq!(dst, expected);
        matmul_into(&mut dst, a, bt, true, Threads::RowBlocks).unwrap();
        let doubled: Vec<f64> = expected.iter().map(|v| 2.0 * v).collect();
        assert_eq!(dst, doubled);
    }

    #[test]
    fn depth_blocks_in_parallel_match_the_definition() {
        // too few rows for a block per thread: the inner dimension is split instead
        let (m, k, n) = (48, 301, 9);
        let a: Vec<f64> = (0..m * k).map(|i| (i % 13) as f64 - 6.0).collect();
        let b: Vec<f64> = (0..k * n).map(|i| (i % 5) as f64 * 0.25).collect();
        let expected = naive(&a, &b, m, k, n);
        let (a, b) = (MatRef::row_major(&a, m, k), MatRef::row_major(&b, k, n));
        for count in [2, 3, 7] {
            let mut dst = vec![1.0; m * n];
            matmul_by_depth_blocks(&mut dst, a, b, false, count).unwrap();
            assert_eq!(dst, expected, "{count} blocks");
            matmul_by_depth_blocks(&mut dst, a, b, true, count).unwrap();
            let doubled: Vec<f64> = expected.iter().map(|v| 2.0 * v).collect();
            assert_eq!(dst, doubled, "{count} blocks, accumulated");
        }
    }

    #[test]
    fn out_of_bounds_views_are_refused() {
        let a = vec![0.0f32; 6];
        let mut dst = vec![0.0f32; 4];
        let err = matmul_into(
            &mut dst,
            MatRef::row_major(&a, 2, 4),
            MatRef::row_major(&a, 4, 2),
            false,
            Threads::Gemm,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("exceeds"), "{err}");
    }

    #[test]
    fn split_products_refuse_mismatched_inner_dimensions() {
        // the depth split views `b` by rows of the inner dimension; a `b` with more rows than
        // `a` has columns must still be an error, not a product over part of it
        let (a, b) = (vec![1.0f64; 48 * 10], vec![1.0f64; 12 * 3]);
        let mut dst = vec![0.0; 48 * 3];
        let err = matmul_into(
            &mut dst,
            MatRef::row_major(&a, 48, 10),
            MatRef::row_major(&b, 12, 3),
            false,
            Threads::RowBlocks,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("inner dimensions"), "{err}");
    }
}
