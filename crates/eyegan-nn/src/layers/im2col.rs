//! im2col / col2im kernels on contiguous NCHW slices, in the "taps × positions" layout.
//!
//! `im2col` lays out the receptive fields of a chunk of images as a row-major matrix whose rows
//! are kernel taps `(c, ky, kx)` and whose columns are positions `(b, oy, ox)`: one GEMM with a
//! `(out_channels × taps)` weight matrix then yields `out_channels × positions`, which for one
//! image is already NCHW. `col2im` is its adjoint (scatter-add of the columns back into the
//! image). Rows (im2col) and image planes (col2im) are independent, so both run in parallel.

use rayon::prelude::*;

use crate::layers::parallel::planes_per_task;
use crate::layers::scratch::{Scratch, Slot};
use crate::layers::simd::vectorized;

/// Geometry of an image batch seen through a square kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PatchGeometry {
    /// Images.
    pub batch: usize,
    /// Channels of the image.
    pub channels: usize,
    /// Image height.
    pub height: usize,
    /// Image width.
    pub width: usize,
    /// Kernel side.
    pub kernel: usize,
    /// Stride.
    pub stride: usize,
    /// Zero padding on each side.
    pub padding: usize,
    /// Kernel positions vertically.
    pub out_h: usize,
    /// Kernel positions horizontally.
    pub out_w: usize,
}

impl PatchGeometry {
    /// Kernel positions in one image: `out_h · out_w`.
    pub fn positions(&self) -> usize {
        self.out_h * self.out_w
    }

    /// Columns of the patch matrix: `batch · out_h · out_w`.
    pub fn columns(&self) -> usize {
        self.batch * self.positions()
    }

    /// Rows of the patch matrix (kernel taps): `channels · kernel²`.
    pub fn taps(&self) -> usize {
        self.channels * self.kernel * self.kernel
    }

    /// Values of one image: `channels · height · width`.
    pub fn image_len(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// The same geometry for `batch` images.
    pub fn with_batch(&self, batch: usize) -> Self {
        Self { batch, ..*self }
    }

    /// For tap offset `k` along an axis of `limit` pixels and `out` positions: the range of
    /// positions whose source pixel `o·stride + k − padding` lies inside the image.
    fn valid_positions(&self, k: usize, limit: usize, out: usize) -> std::ops::Range<usize> {
        let s = self.stride;
        // smallest o with o·s + k ≥ padding
        let lo = self.padding.saturating_sub(k).div_ceil(s);
        // largest o with o·s + k − padding < limit, i.e. o·s < limit + padding − k
        let hi = (limit + self.padding)
            .checked_sub(k)
            .map_or(0, |room| room.div_ceil(s));
        lo.min(out)..hi.min(out).max(lo.min(out))
    }
}

/// Fills `dst` (`taps × columns`, row-major) with the receptive fields of `image`
/// (`batch × channels × height × width`), zeros where the kernel overlaps the padding.
///
/// With a stride `s` above 1, a tap reads every `s`-th pixel of a row: the image's columns are
/// first split by phase (`x mod s`) into a scratch buffer, so every tap row is filled with
/// contiguous copies instead of strided gathers.
pub fn im2col<T: Scratch + Send + Sync>(image: &[T], g: &PatchGeometry, dst: &mut [T]) {
    debug_assert_eq!(dst.len(), g.taps() * g.columns());
    debug_assert_eq!(image.len(), g.batch * g.image_len());
    if g.stride == 1 {
        return fill_patches(image, g, g.width, dst);
    }
    let row_len = g.width.div_ceil(g.stride);
    let len = g.batch * g.channels * g.stride * g.height * row_len;
    T::with_scratch(Slot::Phases, len, |phases| {
        split_columns_by_phase(image, g, row_len, phases);
        fill_patches(phases, g, row_len, dst);
    })
}

/// Writes every image plane as `stride` planes of `row_len`-long rows, phase `r` holding
/// columns `r, r + stride, …` (the rest of a row zero).
fn split_columns_by_phase<T: Copy + Default + Send + Sync>(
    image: &[T],
    g: &PatchGeometry,
    row_len: usize,
    phases: &mut [T],
) {
    let (s, plane) = (g.stride, g.height * g.width);
    phases
        .par_chunks_mut(s * g.height * row_len)
        .zip(image.par_chunks(plane))
        .with_min_len(planes_per_task(plane))
        .for_each(|(planes, src)| {
            vectorized(
                #[inline(always)]
                move || {
                    for (r, phase) in planes.chunks_exact_mut(g.height * row_len).enumerate() {
                        let n = g.width.saturating_sub(r).div_ceil(s);
                        for (line, src_line) in phase
                            .chunks_exact_mut(row_len)
                            .zip(src.chunks_exact(g.width))
                        {
                            let columns = src_line.get(r..).unwrap_or(&[]).iter().step_by(s);
                            for (v, x) in line[..n].iter_mut().zip(columns) {
                                *v = *x;
                            }
                            line[n..].fill(T::default());
                        }
                    }
                },
            )
        });
}

/// [`im2col`] from `source`, the images with each plane split into `stride` phase planes of
/// `row_len`-long rows (for stride 1, the images themselves with `row_len = width`).
fn fill_patches<T: Copy + Default + Send + Sync>(
    source: &[T],
    g: &PatchGeometry,
    row_len: usize,
    dst: &mut [T],
) {
    let (k, s, columns, positions) = (g.kernel, g.stride, g.columns(), g.positions());
    let phase_plane = g.height * row_len;
    dst.par_chunks_mut(columns.max(1))
        .enumerate()
        .for_each(|(tap, row)| {
            let (c, ky, kx) = (tap / (k * k), (tap / k) % k, tap % k);
            let xs = g.valid_positions(kx, g.width, g.out_w);
            let ys = g.valid_positions(ky, g.height, g.out_h);
            // pixel x = first + i·s of a row sits at first / s + i of phase first mod s
            let first = (xs.start * s + kx).saturating_sub(g.padding);
            for b in 0..g.batch {
                let planes = &source[(b * g.channels + c) * s * phase_plane..][..s * phase_plane];
                let phase = &planes[(first % s) * phase_plane..][..phase_plane];
                let out = &mut row[b * positions..][..positions];
                for (oy, line) in out.chunks_exact_mut(g.out_w.max(1)).enumerate() {
                    if !ys.contains(&oy) {
                        line.fill(T::default());
                        continue;
                    }
                    let y = oy * s + ky - g.padding;
                    let src_line = &phase[y * row_len..][..row_len];
                    line[..xs.start].fill(T::default());
                    line[xs.end..].fill(T::default());
                    line[xs.clone()].copy_from_slice(&src_line[first / s..][..xs.len()]);
                }
            }
        });
}

/// Adjoint of [`im2col`]: writes into `image` the sum of every column of `columns` placed back
/// at its receptive field (`image` is overwritten, not accumulated into).
///
/// Each image plane is summed into `stride²` phase planes (phase `(ry, rx)` holding the pixels
/// `(ry + i·s, rx + j·s)`), on which a tap's positions land as a shifted copy of their own grid,
/// so every add is a contiguous, vectorisable loop; the phases are interleaved into the image
/// once at the end. Where a phase row is no wider than a row of positions (G's transposed
/// convolutions, D's input gradients), a tap is added as one run over all its valid rows, its
/// positions outside the image masked out, instead of row by row (those rows are only 4–32
/// positions long).
pub fn col2im<T: Copy + Default + std::ops::AddAssign + Send + Sync>(
    columns: &[T],
    g: &PatchGeometry,
    image: &mut [T],
) {
    debug_assert_eq!(columns.len(), g.taps() * g.columns());
    debug_assert_eq!(image.len(), g.batch * g.image_len());
    let layout = PhaseLayout::new(g);
    let plane = g.height * g.width;
    image
        .par_chunks_mut(plane.max(1))
        .enumerate()
        .with_min_len(planes_per_task(plane))
        .for_each_init(Vec::new, |phases, (index, dst)| {
            let (b, c) = (index / g.channels, index % g.channels);
            layout.sum_plane(columns, g, (b, c), phases, dst);
        });
}

/// The phase of tap offset `k` along an axis and the shift of its positions: position `o`
/// reads pixel `o·s + k − padding = (o + shift)·s + phase`.
fn phase_and_shift(k: usize, g: &PatchGeometry) -> (usize, isize) {
    let (s, offset) = (g.stride as isize, k as isize - g.padding as isize);
    (offset.rem_euclid(s) as usize, offset.div_euclid(s))
}

/// Where [`col2im`] sums one image plane: `stride²` phase planes of `rows × row_len` values,
/// each with `margin` spare values before and after (where masked-out values of a run land).
struct PhaseLayout {
    stride: usize,
    rows: usize,
    row_len: usize,
    margin: usize,
    /// Whether a phase row is no wider than a row of positions: then `row_len = out_w`, and a
    /// run of positions may span several rows.
    runs_span_rows: bool,
    /// Per horizontal tap offset whose positions partly fall outside the image (only where runs
    /// span rows): which positions of a plane (`out_h · out_w`) fall inside.
    inside: Vec<Option<Vec<bool>>>,
    /// Where every tap offset's positions are added, worked out once per call (a plane of G's
    /// second layer holds only 16 positions per tap).
    runs: Vec<TapRuns>,
}

/// `count` runs of `len` positions of one tap offset `(ky, kx)` (`tap = ky·k + kx`): run `i`
/// adds positions `src + i·out_w …` into the phase buffer at `dst + i·row_len …`, masked by
/// `PhaseLayout::inside[kx]` where that is set.
#[derive(Debug, Clone, Copy)]
struct TapRuns {
    tap: usize,
    kx: usize,
    src: usize,
    dst: usize,
    len: usize,
    count: usize,
}

impl PhaseLayout {
    fn new(g: &PatchGeometry) -> Self {
        let phase_width = g.width.div_ceil(g.stride);
        let runs_span_rows = phase_width <= g.out_w;
        let inside = (0..g.kernel)
            .map(|kx| {
                let xs = g.valid_positions(kx, g.width, g.out_w);
                (runs_span_rows && xs != (0..g.out_w)).then(|| {
                    (0..g.positions())
                        .map(|p| xs.contains(&(p % g.out_w)))
                        .collect()
                })
            })
            .collect();
        let margin = (0..g.kernel)
            .map(|k| phase_and_shift(k, g).1.unsigned_abs())
            .max()
            .unwrap_or(0);
        let mut layout = Self {
            stride: g.stride,
            rows: g.height.div_ceil(g.stride),
            row_len: if runs_span_rows { g.out_w } else { phase_width },
            margin,
            runs_span_rows,
            inside,
            runs: Vec::new(),
        };
        layout.runs = layout.tap_runs(g);
        layout
    }

    /// The runs of every tap offset with positions inside the image.
    fn tap_runs(&self, g: &PatchGeometry) -> Vec<TapRuns> {
        let k = g.kernel;
        let mut runs = Vec::with_capacity(k * k);
        for ky in 0..k {
            let ys = g.valid_positions(ky, g.height, g.out_h);
            let (ry, dy) = phase_and_shift(ky, g);
            for kx in 0..k {
                let xs = g.valid_positions(kx, g.width, g.out_w);
                if ys.is_empty() || xs.is_empty() {
                    continue;
                }
                let (rx, dx) = phase_and_shift(kx, g);
                // the phase buffer index of position (oy, ox)
                let at = |oy: usize, ox: usize| {
                    let row = (oy as isize + dy) * self.row_len as isize;
                    let phase = (ry * self.stride + rx) * self.phase_len() + self.margin;
                    (phase as isize + row + ox as isize + dx) as usize
                };
                let (first, len, count) = if self.runs_span_rows {
                    (0, ys.len() * g.out_w, 1)
                } else {
                    (xs.start, xs.len(), ys.len())
                };
                runs.push(TapRuns {
                    tap: ky * k + kx,
                    kx,
                    src: ys.start * g.out_w + first,
                    dst: at(ys.start, first),
                    len,
                    count,
                });
            }
        }
        runs
    }

    fn phase_len(&self) -> usize {
        self.rows * self.row_len + 2 * self.margin
    }

    fn len(&self) -> usize {
        self.phase_len() * self.stride * self.stride
    }

    /// Writes into `dst` the plane of image `b`, channel `c`, summed in `phases` (resized here).
    fn sum_plane<T: Copy + Default + std::ops::AddAssign>(
        &self,
        columns: &[T],
        g: &PatchGeometry,
        (b, c): (usize, usize),
        phases: &mut Vec<T>,
        dst: &mut [T],
    ) {
        phases.clear();
        phases.resize(self.len(), T::default());
        vectorized(
            #[inline(always)]
            move || {
                self.add_taps(columns, g, b, c, phases);
                self.interleave(phases, g, dst);
            },
        );
    }

    #[inline(always)]
    /// Adds the columns of image `b`'s channel `c` into `phases`.
    fn add_taps<T: Copy + Default + std::ops::AddAssign>(
        &self,
        columns: &[T],
        g: &PatchGeometry,
        b: usize,
        c: usize,
        phases: &mut [T],
    ) {
        let (kk, width, positions) = (g.kernel * g.kernel, g.columns(), g.positions());
        for run in &self.runs {
            let src = &columns[(c * kk + run.tap) * width + b * positions..][..positions];
            for i in 0..run.count {
                let from = run.src + i * g.out_w;
                let dst = &mut phases[run.dst + i * self.row_len..][..run.len];
                let src = &src[from..][..run.len];
                match &self.inside[run.kx] {
                    Some(inside) => add_where(dst, src, &inside[from..][..run.len]),
                    None => add(dst, src),
                }
            }
        }
    }

    #[inline(always)]
    /// Writes the phase planes' pixels into the image plane `dst`.
    fn interleave<T: Copy>(&self, phases: &[T], g: &PatchGeometry, dst: &mut [T]) {
        let s = self.stride;
        if s == 2 && g.width == 2 * self.row_len {
            return self.interleave_pairs(phases, g, dst);
        }
        for (index, phase) in phases.chunks_exact(self.phase_len()).enumerate() {
            let (ry, rx) = (index / s, index % s);
            let pixels = &phase[self.margin..][..self.rows * self.row_len];
            let lines = dst.chunks_exact_mut(g.width).skip(ry).step_by(s);
            for (line, values) in lines.zip(pixels.chunks_exact(self.row_len)) {
                let targets = line.get_mut(rx..).unwrap_or(&mut []).iter_mut().step_by(s);
                for (v, x) in targets.zip(values) {
                    *v = *x;
                }
            }
        }
    }

    #[inline(always)]
    /// [`Self::interleave`] for stride 2 with even-width rows (G's transposed convolutions, D's
    /// input gradients): each image row zips the rows of its two column phases as pairs, a
    /// plain interleave that vectorises (the strided writes of the general form do not).
    fn interleave_pairs<T: Copy>(&self, phases: &[T], g: &PatchGeometry, dst: &mut [T]) {
        let pixels = |phase: usize| &phases[phase * self.phase_len() + self.margin..];
        for ry in 0..2 {
            let (even, odd) = (pixels(2 * ry), pixels(2 * ry + 1));
            let lines = dst.chunks_exact_mut(g.width).skip(ry).step_by(2);
            for (i, line) in lines.enumerate() {
                let even = &even[i * self.row_len..][..self.row_len];
                let odd = &odd[i * self.row_len..][..self.row_len];
                for ((pair, &l), &r) in line.chunks_exact_mut(2).zip(even).zip(odd) {
                    pair[0] = l;
                    pair[1] = r;
                }
            }
        }
    }
}

/// `dst += src`, element by element.
#[inline(always)]
fn add<T: Copy + std::ops::AddAssign>(dst: &mut [T], src: &[T]) {
    for (v, x) in dst.iter_mut().zip(src) {
        *v += *x;
    }
}

/// `dst += src` where `keep` holds (a select, so the loop vectorises).
#[inline(always)]
fn add_where<T: Copy + Default + std::ops::AddAssign>(dst: &mut [T], src: &[T], keep: &[bool]) {
    for ((v, x), keep) in dst.iter_mut().zip(src).zip(keep) {
        *v += if *keep { *x } else { T::default() };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geometry(side: usize, kernel: usize, stride: usize, padding: usize) -> PatchGeometry {
        PatchGeometry {
            batch: 2,
            channels: 3,
            height: side,
            width: side,
            kernel,
            stride,
            padding,
            out_h: (side + 2 * padding - kernel) / stride + 1,
            out_w: (side + 2 * padding - kernel) / stride + 1,
        }
    }

    const CASES: [(usize, usize, usize, usize); 5] = [
        (5, 3, 1, 1),
        (6, 4, 2, 1),
        (4, 4, 1, 0),
        (7, 3, 2, 0),
        (3, 4, 1, 2),
    ];

    /// Every entry equals the definition `image[b, c, oy·s + ky − p, ox·s + kx − p]` (or 0).
    #[test]
    fn im2col_matches_the_definition() {
        for (side, kernel, stride, padding) in CASES {
            let g = geometry(side, kernel, stride, padding);
            let image: Vec<f64> = (0..g.batch * g.image_len())
                .map(|i| i as f64 + 1.0)
                .collect();
            let mut cols = vec![-1.0; g.taps() * g.columns()];
            im2col(&image, &g, &mut cols);
            for c in 0..g.channels {
                for ky in 0..kernel {
                    for kx in 0..kernel {
                        let tap = (c * kernel + ky) * kernel + kx;
                        for b in 0..g.batch {
                            for oy in 0..g.out_h {
                                for ox in 0..g.out_w {
                                    let y = (oy * stride + ky) as isize - padding as isize;
                                    let x = (ox * stride + kx) as isize - padding as isize;
                                    let inside = (0..side as isize).contains(&y)
                                        && (0..side as isize).contains(&x);
                                    let expected = if inside {
                                        image[((b * 3 + c) * side + y as usize) * side + x as usize]
                                    } else {
                                        0.0
                                    };
                                    let column = (b * g.out_h + oy) * g.out_w + ox;
                                    assert_eq!(cols[tap * g.columns() + column], expected);
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// ⟨im2col(x), c⟩ = ⟨x, col2im(c)⟩ for arbitrary x and c: col2im is the exact adjoint.
    #[test]
    fn col2im_is_the_adjoint_of_im2col() {
        for (side, kernel, stride, padding) in CASES {
            let g = geometry(side, kernel, stride, padding);
            let image: Vec<f64> = (0..g.batch * g.image_len())
                .map(|i| ((i * 7919) % 101) as f64 / 7.0)
                .collect();
            let columns: Vec<f64> = (0..g.taps() * g.columns())
                .map(|i| ((i * 104_729) % 97) as f64 / 5.0)
                .collect();
            let mut cols = vec![0.0; columns.len()];
            im2col(&image, &g, &mut cols);
            let lhs: f64 = cols.iter().zip(&columns).map(|(a, b)| a * b).sum();
            let mut back = vec![7.0; image.len()];
            col2im(&columns, &g, &mut back);
            let rhs: f64 = image.iter().zip(&back).map(|(a, b)| a * b).sum();
            assert!(
                (lhs - rhs).abs() < 1e-6 * lhs.abs().max(1.0),
                "{lhs} vs {rhs}"
            );
        }
    }
}
