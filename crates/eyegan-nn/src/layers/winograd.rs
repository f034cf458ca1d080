//! 3×3 stride-1 convolutions by Winograd's minimal filtering F(2×2, 3×3) (Lavin & Gray, "Fast
//! Algorithms for Convolutional Neural Networks", 2016).
//!
//! Each 2×2 block of output pixels (a *tile*) is computed from the 4×4 input patch under it.
//! The patch and the kernel are transformed (`V = Bᵀ d B`, `U = G g Gᵀ`, both 4×4), multiplied
//! element-wise and transformed back (`Y = Aᵀ (U ⊙ V) A`): 16 multiplications per tile and
//! channel pair instead of im2col's 36. Summed over input channels, the element-wise product at
//! each of the 16 transform positions ξ is one GEMM, `M_ξ = U_ξ · V_ξ` (output channels × input
//! channels times input channels × tiles), so 2.25× fewer multiply-adds go through gemm; the
//! transforms are additions only. Tiles are processed in chunks that bound `V` and `M` to
//! `MAX_CHUNK_ELEMENTS` each.
//!
//! The input gradient is the same convolution of the output gradient with the flipped kernel
//! ([`Conv3x3::input_gradient`], [`flipped_kernel`]); the kernel gradient runs the transforms
//! backwards ([`weight_gradient`]): `dU_ξ = Σ_tiles (A dY Aᵀ)_ξ · V_ξᵀ`, `dg = Gᵀ dU G`.

use rayon::prelude::*;

use crate::layers::gemm::{matmul_into, GemmFloat, MatRef, Threads};
use crate::layers::parallel::filled;
use crate::layers::scratch::Slot;
use crate::layers::simd::vectorized;

/// Transform positions: the 4×4 of `V`, `U` and `M`.
const XI: usize = 16;

/// Upper bound on the elements of one chunk's transformed inputs or products (16 MiB of f32):
/// fewer, larger chunks mean fewer re-packings of the transformed kernels by gemm (1 Mi
/// elements measured 5–10 % slower on the GMD step; 8 Mi no faster than 4 Mi).
const MAX_CHUNK_ELEMENTS: usize = 4 * 1024 * 1024;

/// Fewest input and output channels for which the transforms pay for themselves (below that,
/// the GEMMs are too thin to gain from having fewer multiplications).
const MIN_CHANNELS: usize = 16;

/// Shapes of one 3×3 stride-1 convolution `x (batch, channels_in, height, width)` →
/// `(batch, channels_out, out_h, out_w)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv3x3 {
    /// Images.
    pub batch: usize,
    /// Input channels.
    pub channels_in: usize,
    /// Output channels.
    pub channels_out: usize,
    /// Input height.
    pub height: usize,
    /// Input width.
    pub width: usize,
    /// Zero padding on each side (at most 2).
    pub padding: usize,
}

impl Conv3x3 {
    /// Whether this module computes the convolution (and is expected to be faster than
    /// im2col + GEMM): kernel 3, stride 1, padding ≤ 2, at least [`MIN_CHANNELS`] channels on
    /// both sides and an output at least one pixel wide.
    pub fn applies(&self, kernel: usize, stride: usize) -> bool {
        kernel == 3
            && stride == 1
            && self.padding <= 2
            && self.channels_in >= MIN_CHANNELS
            && self.channels_out >= MIN_CHANNELS
            && self.height + 2 * self.padding >= 3
            && self.width + 2 * self.padding >= 3
    }

    /// Output height.
    pub fn out_h(&self) -> usize {
        self.height + 2 * self.padding - 2
    }

    /// Output width.
    pub fn out_w(&self) -> usize {
        self.width + 2 * self.padding - 2
    }

    fn tiles_h(&self) -> usize {
        self.out_h().div_ceil(2)
    }

    fn tiles_w(&self) -> usize {
        self.out_w().div_ceil(2)
    }

    fn tiles_per_image(&self) -> usize {
        self.tiles_h() * self.tiles_w()
    }

    /// Tiles per chunk: `V` and `M` stay under [`MAX_CHUNK_ELEMENTS`].
    fn chunk_tiles(&self) -> usize {
        let per_tile = XI * self.channels_in.max(self.channels_out);
        (MAX_CHUNK_ELEMENTS / per_tile).clamp(1, (self.batch * self.tiles_per_image()).max(1))
    }

    /// The geometry of this convolution's input gradient, itself a 3×3 stride-1 convolution
    /// of the output gradient with the kernel flipped and its channel axes swapped (see
    /// [`flipped_kernel`]).
    pub fn input_gradient(&self) -> Self {
        Self {
            batch: self.batch,
            channels_in: self.channels_out,
            channels_out: self.channels_in,
            height: self.out_h(),
            width: self.out_w(),
            padding: 2 - self.padding,
        }
    }
}

/// `w (co, ci, 3, 3)` → `(ci, co, 3, 3)` rotated by 180°: the kernel that maps an output
/// gradient to the input gradient.
pub fn flipped_kernel<T: Copy>(w: &[T], channels_out: usize, channels_in: usize) -> Vec<T> {
    let mut flipped = Vec::with_capacity(w.len());
    for c in 0..channels_in {
        for k in 0..channels_out {
            let kernel = &w[(k * channels_in + c) * 9..][..9];
            flipped.extend(kernel.iter().rev());
        }
    }
    flipped
}

/// The convolution of `x` with `w (channels_out, channels_in, 3, 3)`, NCHW.
pub fn conv3x3<T: GemmFloat>(geometry: &Conv3x3, x: &[T], w: &[T]) -> candle_core::Result<Vec<T>> {
    let c = *geometry;
    let (ci, co) = (c.channels_in, c.channels_out);
    if x.len() != c.batch * ci * c.height * c.width || w.len() != co * ci * 9 {
        candle_core::bail!("winograd conv3x3: {geometry:?} does not fit the input or the kernel")
    }
    let u = transform_kernels(w, co, ci);
    let out_plane = c.out_h() * c.out_w();
    let mut out = filled(c.batch * co * out_plane, T::zero());
    for_each_tile_chunk(&c, x, |v, m, first, tiles| {
        m.par_chunks_mut(co * tiles)
            .enumerate()
            .try_for_each(|(xi, m)| {
                let u = MatRef::row_major(&u[xi * co * ci..][..co * ci], co, ci);
                let v = MatRef::strided(&v[xi * tiles..], ci, tiles, XI * tiles);
                matmul_into(m, u, v, false, Threads::Calling)
            })?;
        transform_outputs(&c, m, first, tiles, &mut out);
        Ok(())
    })?;
    Ok(out)
}

/// Runs `body(v, m, first, tiles)` for every chunk of tiles, with `v` (`ci × ξ × tiles`) holding
/// the chunk's transformed inputs and `m` a `co × 16 × tiles` scratch buffer for the other side.
fn for_each_tile_chunk<T: GemmFloat>(
    c: &Conv3x3,
    x: &[T],
    mut body: impl FnMut(&[T], &mut [T], usize, usize) -> candle_core::Result<()>,
) -> candle_core::Result<()> {
    let (ci, co) = (c.channels_in, c.channels_out);
    let total = c.batch * c.tiles_per_image();
    let chunk = c.chunk_tiles();
    T::with_scratch(Slot::Patches, XI * ci * chunk, |v| {
        T::with_scratch(Slot::Staging, XI * co * chunk, |m| {
            for first in (0..total).step_by(chunk) {
                let tiles = chunk.min(total - first);
                let (v, m) = (&mut v[..XI * ci * tiles], &mut m[..XI * co * tiles]);
                transform_inputs(c, x, first, tiles, v);
                body(v, m, first, tiles)?;
            }
            Ok(())
        })
    })
}

/// The gradient of the kernel `(channels_out, channels_in, 3, 3)` of the convolution of `x`
/// whose output has gradient `gy`: with `dM = A dY Aᵀ` per tile, `dU_ξ = Σ_tiles dM_ξ · V_ξᵀ`
/// (one GEMM per transform position and chunk, accumulated), then `dg = Gᵀ dU G`.
pub fn weight_gradient<T: GemmFloat>(
    geometry: &Conv3x3,
    x: &[T],
    gy: &[T],
) -> candle_core::Result<Vec<T>> {
    let c = *geometry;
    let (ci, co) = (c.channels_in, c.channels_out);
    let out_len = c.batch * co * c.out_h() * c.out_w();
    if x.len() != c.batch * ci * c.height * c.width || gy.len() != out_len {
        candle_core::bail!("winograd weight gradient: {geometry:?} does not fit x or the gradient")
    }
    let mut du = vec![T::zero(); XI * co * ci];
    for_each_tile_chunk(&c, x, |v, dm, first, tiles| {
        transform_output_gradients(&c, gy, first, tiles, dm);
        du.par_chunks_mut(co * ci)
            .enumerate()
            .try_for_each(|(xi, du)| {
                let dm = MatRef::strided(&dm[xi * tiles..], co, tiles, XI * tiles);
                let v = MatRef::strided(&v[xi * tiles..], ci, tiles, XI * tiles);
                matmul_into(du, dm, v.t(), true, Threads::Calling)
            })
    })?;
    Ok(kernel_gradients(&du, co, ci))
}

/// Fills `dm` (`co × ξ × tiles`) with `A dY Aᵀ` for the 2×2 output-gradient tile `dY` of every
/// tile of the chunk (zeros beyond the output's edge), as vector operations along tile rows.
fn transform_output_gradients<T: GemmFloat>(
    c: &Conv3x3,
    gy: &[T],
    first: usize,
    tiles: usize,
    dm: &mut [T],
) {
    let (out_h, out_w) = (c.out_h(), c.out_w());
    let plane = out_h * out_w;
    let columns = c.tiles_w();
    dm.par_chunks_mut(XI * tiles).enumerate().for_each_init(
        || vec![T::zero(); 6 * columns],
        |buffer, (k, dm)| {
            vectorized(
                #[inline(always)]
                move || {
                    for run in row_runs(c, first, tiles) {
                        let gradient = &gy[(run.image * c.channels_out + k) * plane..][..plane];
                        let n = run.len;
                        let (rows, pq) = buffer.split_at_mut(4 * columns);
                        // rows: even / odd columns of gradient rows 2ty and 2ty + 1
                        for (i, halves) in rows.chunks_exact_mut(2 * columns).enumerate() {
                            let (even, odd) = halves.split_at_mut(columns);
                            let y = (2 * run.ty + i) as isize;
                            let x0 = (2 * run.tx) as isize;
                            load_split_row(
                                gradient,
                                (out_h, out_w),
                                y,
                                x0,
                                &mut even[..n],
                                &mut odd[..n],
                            );
                        }
                        let half = |i: usize, odd: usize| &rows[(2 * i + odd) * columns..][..n];
                        let (e0, o0, e1, o1) = (half(0, 0), half(0, 1), half(1, 0), half(1, 1));
                        let (p, q) = pq.split_at_mut(columns);
                        let (p, q) = (&mut p[..n], &mut q[..n]);
                        for row in 0..4 {
                            // row `row` of A dY (p: its column 0, q: column 1), then · Aᵀ on [p, q]
                            a_combination(p, row, e0, e1);
                            a_combination(q, row, o0, o1);
                            let lines =
                                dm[4 * row * tiles..(4 * row + 4) * tiles].chunks_exact_mut(tiles);
                            for (col, line) in lines.enumerate() {
                                a_combination(&mut line[run.offset..][..n], col, p, q);
                            }
                        }
                    }
                },
            )
        },
    );
}

/// `Gᵀ dU G` for every channel pair: `du` is `ξ × co × ci`, the result `(co, ci, 3, 3)`.
fn kernel_gradients<T: GemmFloat>(du: &[T], co: usize, ci: usize) -> Vec<T> {
    let half = T::from_f64(0.5);
    // Gᵀ · (four values) → three values
    let gt = |a: T, b: T, c: T, d: T| [a + (b + c) * half, (b - c) * half, (b + c) * half + d];
    let pairs = co * ci;
    let mut dw = vec![T::zero(); pairs * 9];
    for (pair, kernel) in dw.chunks_exact_mut(9).enumerate() {
        let at = |row: usize, col: usize| du[(row * 4 + col) * pairs + pair];
        let columns: [[T; 3]; 4] =
            std::array::from_fn(|col| gt(at(0, col), at(1, col), at(2, col), at(3, col)));
        for row in 0..3 {
            let values = gt(
                columns[0][row],
                columns[1][row],
                columns[2][row],
                columns[3][row],
            );
            kernel[row * 3..][..3].copy_from_slice(&values);
        }
    }
    dw
}

/// `U_ξ = (G g Gᵀ)_ξ` for every kernel `g = w[k, c]`, laid out `ξ × co × ci`.
fn transform_kernels<T: GemmFloat>(w: &[T], co: usize, ci: usize) -> Vec<T> {
    let half = T::from_f64(0.5);
    // G · (three values) → four values
    let g = |a: T, b: T, c: T| [a, (a + b + c) * half, (a - b + c) * half, c];
    let mut u = vec![T::zero(); XI * co * ci];
    for (pair, kernel) in w.chunks_exact(9).enumerate() {
        let columns: [[T; 4]; 3] =
            std::array::from_fn(|col| g(kernel[col], kernel[3 + col], kernel[6 + col]));
        for row in 0..4 {
            let values = g(columns[0][row], columns[1][row], columns[2][row]);
            for (col, value) in values.into_iter().enumerate() {
                u[(row * 4 + col) * co * ci + pair] = value;
            }
        }
    }
    u
}

/// A run of consecutive tiles in one tile row of one image: tiles `tx..tx + len` of row `ty` of
/// image `image`, at offset `offset` within the chunk.
#[derive(Debug, Clone, Copy)]
struct RowRun {
    image: usize,
    ty: usize,
    tx: usize,
    len: usize,
    offset: usize,
}

/// The chunk's tiles `first..first + tiles` as runs along tile rows, so that the transforms
/// work on contiguous vectors of tiles.
fn row_runs(c: &Conv3x3, first: usize, tiles: usize) -> impl Iterator<Item = RowRun> {
    let (per_image, tiles_w) = (c.tiles_per_image(), c.tiles_w());
    let mut tile = first;
    std::iter::from_fn(move || {
        if tile >= first + tiles {
            return None;
        }
        let (image, within) = (tile / per_image, tile % per_image);
        let (ty, tx) = (within / tiles_w, within % tiles_w);
        let len = (tiles_w - tx).min(first + tiles - tile);
        let run = RowRun {
            image,
            ty,
            tx,
            len,
            offset: tile - first,
        };
        tile += len;
        Some(run)
    })
}

/// `out[i] = a[i] + b[i]`.
#[inline(always)]
fn add<T: GemmFloat>(out: &mut [T], a: &[T], b: &[T]) {
    for ((o, &a), &b) in out.iter_mut().zip(a).zip(b) {
        *o = a + b;
    }
}

/// `out[i] = a[i] − b[i]`.
#[inline(always)]
fn sub<T: GemmFloat>(out: &mut [T], a: &[T], b: &[T]) {
    for ((o, &a), &b) in out.iter_mut().zip(a).zip(b) {
        *o = a - b;
    }
}

/// Row `index` of F(2, 3)'s `A` (`[1, 0], [1, 1], [1, −1], [0, −1]`) applied to `[x0, x1]`,
/// element-wise: `x0`, `x0 + x1`, `x0 − x1` or `−x1`.
#[inline(always)]
fn a_combination<T: GemmFloat>(out: &mut [T], index: usize, x0: &[T], x1: &[T]) {
    match index {
        0 => out.copy_from_slice(&x0[..out.len()]),
        1 => add(out, x0, x1),
        2 => sub(out, x0, x1),
        _ => out
            .iter_mut()
            .zip(x1)
            .for_each(|(o, x)| *o = T::zero() - *x),
    }
}

/// `Aᵀ` of F(2, 3) on four vectors: `out0 = m0 + m1 + m2`, `out1 = m1 − m2 − m3`.
#[inline(always)]
fn output_rows<T: GemmFloat>(out0: &mut [T], out1: &mut [T], m: [&[T]; 4]) {
    let n = out0.len().min(out1.len());
    let (m0, m1, m2, m3) = (&m[0][..n], &m[1][..n], &m[2][..n], &m[3][..n]);
    for i in 0..n {
        out0[i] = m0[i] + m1[i] + m2[i];
        out1[i] = m1[i] - m2[i] - m3[i];
    }
}

/// Fills `v` (`ci × ξ × tiles`) with `Bᵀ d B` for the input patch `d` of every tile
/// `first..first + tiles` (tiles numbered across the batch, row by row), zeros outside the image.
///
/// Along a tile row, tile `tx` reads input columns `2tx − p … 2tx − p + 3`: with the image rows
/// split into even and odd columns (`e`, `o`), `Bᵀ d B` becomes four vector operations on
/// `e[tx], e[tx + 1], o[tx], o[tx + 1]` after the row transform `Bᵀ` (four more).
fn transform_inputs<T: GemmFloat>(c: &Conv3x3, x: &[T], first: usize, tiles: usize, v: &mut [T]) {
    let plane = c.height * c.width;
    let columns = c.tiles_w() + 1;
    v.par_chunks_mut(XI * tiles).enumerate().for_each_init(
        || vec![T::zero(); 16 * columns],
        |buffer, (channel, v)| {
            let (split, transformed) = buffer.split_at_mut(8 * columns);
            vectorized(
                #[inline(always)]
                move || {
                    for run in row_runs(c, first, tiles) {
                        let image = &x[(run.image * c.channels_in + channel) * plane..][..plane];
                        let (n, y0) = (run.len, (2 * run.ty) as isize - c.padding as isize);
                        let x0 = (2 * run.tx) as isize - c.padding as isize;
                        // split[2i] / split[2i + 1]: even / odd columns of input row y0 + i
                        for (i, halves) in split.chunks_exact_mut(2 * columns).enumerate() {
                            let (even, odd) = halves.split_at_mut(columns);
                            load_split_row(
                                image,
                                (c.height, c.width),
                                y0 + i as isize,
                                x0,
                                &mut even[..=n],
                                &mut odd[..=n],
                            );
                        }
                        let row = |i: usize, odd: usize| &split[(2 * i + odd) * columns..][..=n];
                        // Bᵀ on rows: t0 = d0 − d2, t1 = d1 + d2, t2 = d2 − d1, t3 = d1 − d3
                        for half in 0..2 {
                            let t = |r: usize| (2 * r + half) * columns;
                            let (d0, d1, d2, d3) =
                                (row(0, half), row(1, half), row(2, half), row(3, half));
                            sub(&mut transformed[t(0)..][..=n], d0, d2);
                            add(&mut transformed[t(1)..][..=n], d1, d2);
                            sub(&mut transformed[t(2)..][..=n], d2, d1);
                            sub(&mut transformed[t(3)..][..=n], d1, d3);
                        }
                        // B on columns, for every row r of Bᵀ d
                        for r in 0..4 {
                            let e = &transformed[(2 * r) * columns..][..=n];
                            let o = &transformed[(2 * r + 1) * columns..][..=n];
                            let at = |col: usize| (r * 4 + col) * tiles + run.offset;
                            sub(&mut v[at(0)..][..n], &e[..n], &e[1..]);
                            add(&mut v[at(1)..][..n], &o[..n], &e[1..]);
                            sub(&mut v[at(2)..][..n], &e[1..], &o[..n]);
                            sub(&mut v[at(3)..][..n], &o[..n], &o[1..]);
                        }
                    }
                },
            )
        },
    );
}

/// Splits row `y` of a `height × width` plane from column `x0` on into even (`x0 + 2j`) and
/// odd (`x0 + 2j + 1`) columns, zeros outside the plane.
#[inline(always)]
fn load_split_row<T: GemmFloat>(
    plane: &[T],
    (height, width): (usize, usize),
    y: isize,
    x0: isize,
    even: &mut [T],
    odd: &mut [T],
) {
    if !(0..height as isize).contains(&y) {
        even.fill(T::zero());
        odd.fill(T::zero());
        return;
    }
    let line = &plane[y as usize * width..][..width];
    let n = even.len().min(odd.len());
    if x0 >= 0 && x0 as usize + 2 * n <= width {
        // inside the row: a plain de-interleave, which vectorises
        let pairs = line[x0 as usize..][..2 * n].chunks_exact(2);
        for ((e, o), pair) in even.iter_mut().zip(odd.iter_mut()).zip(pairs) {
            *e = pair[0];
            *o = pair[1];
        }
        return;
    }
    let at = |x: isize| {
        if (0..width as isize).contains(&x) {
            line[x as usize]
        } else {
            T::zero()
        }
    };
    for (j, (e, o)) in even.iter_mut().zip(odd.iter_mut()).enumerate() {
        let x = x0 + 2 * j as isize;
        *e = at(x);
        *o = at(x + 1);
    }
}

/// Writes `Aᵀ m A` (the 2×2 output tile, clipped at the image edge) of every tile of the chunk
/// into `out`; `m` is `ξ × co × tiles`. Per tile row, as vector operations over its tiles.
fn transform_outputs<T: GemmFloat>(
    c: &Conv3x3,
    m: &[T],
    first: usize,
    tiles: usize,
    out: &mut [T],
) {
    let (co, out_h, out_w) = (c.channels_out, c.out_h(), c.out_w());
    let (plane, per_image, tiles_w) = (out_h * out_w, c.tiles_per_image(), c.tiles_w());
    let (first_image, last_image) = (first / per_image, (first + tiles - 1) / per_image);
    out[first_image * co * plane..(last_image + 1) * co * plane]
        .par_chunks_mut(plane)
        .enumerate()
        .for_each_init(
            || vec![T::zero(); 12 * tiles_w],
            |buffer, (index, out)| {
                let (b, k) = (first_image + index / co, index % co);
                let (rows, pixels) = buffer.split_at_mut(8 * tiles_w);
                vectorized(
                    #[inline(always)]
                    move || {
                        for run in row_runs(c, first, tiles).filter(|run| run.image == b) {
                            let n = run.len;
                            let m_at = |xi: usize| &m[(xi * co + k) * tiles + run.offset..][..n];
                            // Aᵀ on rows: rows[col] / rows[4 + col] = first / second output row, column col
                            for col in 0..4 {
                                let (first_row, second_row) = rows.split_at_mut(4 * tiles_w);
                                output_rows(
                                    &mut first_row[col * tiles_w..][..n],
                                    &mut second_row[col * tiles_w..][..n],
                                    [m_at(col), m_at(4 + col), m_at(8 + col), m_at(12 + col)],
                                );
                            }
                            for i in 0..2 {
                                let y = 2 * run.ty + i;
                                if y >= out_h {
                                    break;
                                }
                                let row = |col: usize| &rows[(4 * i + col) * tiles_w..][..n];
                                let (left, right) = pixels.split_at_mut(2 * tiles_w);
                                output_rows(
                                    &mut left[..n],
                                    &mut right[..n],
                                    [row(0), row(1), row(2), row(3)],
                                );
                                let line = &mut out[y * out_w..][..out_w];
                                let x0 = 2 * run.tx;
                                // whole tiles as a plain interleave (vectorises), then the last
                                // tile's left column where the output width is odd
                                let whole = n.min((out_w - x0) / 2);
                                let pairs = line[x0..][..2 * whole].chunks_exact_mut(2);
                                for ((pair, &l), &r) in
                                    pairs.zip(&left[..whole]).zip(&right[..whole])
                                {
                                    pair[0] = l;
                                    pair[1] = r;
                                }
                                if whole < n {
                                    line[x0 + 2 * whole] = left[whole];
                                }
                            }
                        }
                    },
                )
            },
        );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `x[b, ch, oy + ky − p, ox + kx − p]`, 0 in the padding: the pixel that tap `(ky, kx)`
    /// of output position `(oy, ox)` reads.
    fn tap_input(
        c: &Conv3x3,
        x: &[f64],
        (b, ch): (usize, usize),
        (oy, ox): (usize, usize),
        (ky, kx): (usize, usize),
    ) -> f64 {
        let y = (oy + ky) as isize - c.padding as isize;
        let x_ = (ox + kx) as isize - c.padding as isize;
        if (0..c.height as isize).contains(&y) && (0..c.width as isize).contains(&x_) {
            x[((b * c.channels_in + ch) * c.height + y as usize) * c.width + x_ as usize]
        } else {
            0.0
        }
    }

    /// Every pair of output position and kernel tap.
    fn positions_and_taps(c: &Conv3x3) -> impl Iterator<Item = ((usize, usize), (usize, usize))> {
        let (oh, ow) = (c.out_h(), c.out_w());
        (0..oh * ow).flat_map(move |o| (0..9).map(move |t| ((o / ow, o % ow), (t / 3, t % 3))))
    }

    /// Direct definition of a 3×3 stride-1 convolution.
    fn direct(c: &Conv3x3, x: &[f64], w: &[f64]) -> Vec<f64> {
        let (oh, ow) = (c.out_h(), c.out_w());
        let mut out = vec![0.0; c.batch * c.channels_out * oh * ow];
        for b in 0..c.batch {
            for k in 0..c.channels_out {
                for ch in 0..c.channels_in {
                    for ((oy, ox), (ky, kx)) in positions_and_taps(c) {
                        out[((b * c.channels_out + k) * oh + oy) * ow + ox] +=
                            tap_input(c, x, (b, ch), (oy, ox), (ky, kx))
                                * w[((k * c.channels_in + ch) * 3 + ky) * 3 + kx];
                    }
                }
            }
        }
        out
    }

    /// Odd and even sides, every padding, several images per chunk and chunks that split an
    /// image (many channels, so few tiles fit a chunk).
    fn cases() -> impl Iterator<Item = Conv3x3> {
        [
            (2, 3, 4, 6, 6, 1),
            (3, 2, 5, 7, 5, 1),
            (1, 4, 3, 5, 8, 0),
            (2, 3, 2, 4, 3, 2),
            (2, 12_000, 3, 9, 9, 1),
        ]
        .into_iter()
        .map(
            |(batch, channels_in, channels_out, height, width, padding)| Conv3x3 {
                batch,
                channels_in,
                channels_out,
                height,
                width,
                padding,
            },
        )
    }

    fn values(n: usize, seed: usize) -> Vec<f64> {
        (0..n)
            .map(|i| (((i * 7919 + seed * 104_729) % 211) as f64 - 105.0) / 53.0)
            .collect()
    }

    #[test]
    fn matches_the_direct_convolution() {
        for c in cases() {
            let x = values(c.batch * c.channels_in * c.height * c.width, 1);
            let w = values(c.channels_out * c.channels_in * 9, 2);
            let expected = direct(&c, &x, &w);
            let got = conv3x3(&c, &x, &w).unwrap();
            assert_eq!(got.len(), expected.len());
            for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
                assert!(
                    (g - e).abs() < 1e-9 * e.abs().max(1.0),
                    "{c:?} at {i}: {g} vs {e}"
                );
            }
        }
    }

    /// The input gradient of a convolution is the convolution of the output gradient with the
    /// flipped kernel: ⟨conv(x), gy⟩ = ⟨x, conv_flipped(gy)⟩.
    #[test]
    fn the_flipped_kernel_gives_the_adjoint() {
        for padding in 0..=2 {
            let c = Conv3x3 {
                batch: 2,
                channels_in: 3,
                channels_out: 4,
                height: 7,
                width: 6,
                padding,
            };
            let x = values(c.batch * c.channels_in * c.height * c.width, 3);
            let w = values(c.channels_out * c.channels_in * 9, 4);
            let gy = values(c.batch * c.channels_out * c.out_h() * c.out_w(), 5);
            let y = conv3x3(&c, &x, &w).unwrap();
            let back = c.input_gradient();
            let flipped = flipped_kernel(&w, c.channels_out, c.channels_in);
            let gx = conv3x3(&back, &gy, &flipped).unwrap();
            assert_eq!(gx.len(), x.len());
            let lhs: f64 = y.iter().zip(&gy).map(|(a, b)| a * b).sum();
            let rhs: f64 = x.iter().zip(&gx).map(|(a, b)| a * b).sum();
            assert!(
                (lhs - rhs).abs() < 1e-9 * lhs.abs().max(1.0),
                "{lhs} vs {rhs}"
            );
        }
    }

    /// `dW[k, c, ky, kx] = Σ gy[b, k, oy, ox] · x[b, c, oy + ky − p, ox + kx − p]`.
    #[test]
    fn weight_gradient_matches_the_definition() {
        for c in cases() {
            let (oh, ow) = (c.out_h(), c.out_w());
            let x = values(c.batch * c.channels_in * c.height * c.width, 6);
            let gy = values(c.batch * c.channels_out * oh * ow, 7);
            let mut expected = vec![0.0; c.channels_out * c.channels_in * 9];
            for b in 0..c.batch {
                for k in 0..c.channels_out {
                    for ch in 0..c.channels_in {
                        for ((oy, ox), (ky, kx)) in positions_and_taps(&c) {
                            expected[((k * c.channels_in + ch) * 3 + ky) * 3 + kx] += gy
                                [((b * c.channels_out + k) * oh + oy) * ow + ox]
                                * tap_input(&c, &x, (b, ch), (oy, ox), (ky, kx));
                        }
                    }
                }
            }
            let got = weight_gradient(&c, &x, &gy).unwrap();
            for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
                assert!(
                    (g - e).abs() < 1e-9 * e.abs().max(1.0),
                    "{c:?} dW at {i}: {g} vs {e}"
                );
            }
        }
    }

    #[test]
    fn only_large_3x3_stride_1_convolutions_apply() {
        let c = Conv3x3 {
            batch: 1,
            channels_in: 256,
            channels_out: 128,
            height: 64,
            width: 64,
            padding: 1,
        };
        assert!(c.applies(3, 1));
        assert!(!c.applies(4, 1) && !c.applies(3, 2));
        assert!(!Conv3x3 {
            channels_in: 3,
            ..c
        }
        .applies(3, 1));
        assert!(!Conv3x3 { padding: 3, ..c }.applies(3, 1));
    }
}
