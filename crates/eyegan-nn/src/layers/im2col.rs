//! im2col / col2im kernels on contiguous NCHW slices, in the "taps × positions" layout.
//!
//! `im2col` lays out the receptive fields of a chunk of images as a row-major matrix whose rows
//! are kernel taps `(c, ky, kx)` and whose columns are positions `(b, oy, ox)`: one GEMM with a
//! `(out_channels × taps)` weight matrix then yields `out_channels × positions`, which for one
//! image is already NCHW. `col2im` is its adjoint (scatter-add of the columns back into the
//! image). Rows (im2col) and image planes (col2im) are independent, so both run in parallel.

use rayon::prelude::*;

use crate::layers::scratch::{Scratch, Slot};

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
    let s = g.stride;
    phases
        .par_chunks_mut(s * g.height * row_len)
        .zip(image.par_chunks(g.height * g.width))
        .for_each(|(planes, src)| {
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
pub fn col2im<T: Copy + Default + std::ops::AddAssign + Send + Sync>(
    columns: &[T],
    g: &PatchGeometry,
    image: &mut [T],
) {
    let (k, width, positions) = (g.kernel, g.columns(), g.positions());
    let plane = g.height * g.width;
    debug_assert_eq!(columns.len(), g.taps() * width);
    debug_assert_eq!(image.len(), g.batch * g.image_len());
    image
        .par_chunks_mut(plane.max(1))
        .enumerate()
        .for_each(|(index, dst)| {
            let (b, c) = (index / g.channels, index % g.channels);
            dst.fill(T::default());
            for ky in 0..k {
                let ys = g.valid_positions(ky, g.height, g.out_h);
                for kx in 0..k {
                    let xs = g.valid_positions(kx, g.width, g.out_w);
                    let tap = (c * k + ky) * k + kx;
                    let src = &columns[tap * width + b * positions..][..positions];
                    for oy in ys.clone() {
                        let y = oy * g.stride + ky - g.padding;
                        let dst_line = &mut dst[y * g.width..][..g.width];
                        let src_line = &src[oy * g.out_w..][..g.out_w];
                        let first = xs.start * g.stride + kx - g.padding;
                        for (i, v) in src_line[xs.clone()].iter().enumerate() {
                            dst_line[first + i * g.stride] += *v;
                        }
                    }
                }
            }
        });
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
