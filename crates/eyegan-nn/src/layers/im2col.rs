//! im2col / col2im kernels on contiguous NCHW slices, in the "taps × positions" layout.
//!
//! `im2col` lays out the receptive fields of a chunk of images as a row-major matrix whose rows
//! are kernel taps `(c, ky, kx)` and whose columns are positions `(b, oy, ox)`: one GEMM with a
//! `(out_channels × taps)` weight matrix then yields `out_channels × positions`, which for one
//! image is already NCHW. `col2im` is its adjoint (scatter-add of the columns back into the
//! image). Rows (im2col) and image planes (col2im) are independent, so both run in parallel.

use rayon::prelude::*;

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
pub fn im2col<T: Copy + Default + Send + Sync>(image: &[T], g: &PatchGeometry, dst: &mut [T]) {
    let (k, columns, positions) = (g.kernel, g.columns(), g.positions());
    let plane = g.height * g.width;
    debug_assert_eq!(dst.len(), g.taps() * columns);
    debug_assert_eq!(image.len(), g.batch * g.image_len());
    dst.par_chunks_mut(columns.max(1))
        .enumerate()
        .for_each(|(tap, row)| {
            let (c, ky, kx) = (tap / (k * k), (tap / k) % k, tap % k);
            let xs = g.valid_positions(kx, g.width, g.out_w);
            let ys = g.valid_positions(ky, g.height, g.out_h);
            for b in 0..g.batch {
                let src = &image[(b * g.channels + c) * plane..][..plane];
                let out = &mut row[b * positions..][..positions];
                for oy in 0..g.out_h {
                    let line = &mut out[oy * g.out_w..][..g.out_w];
                    if !ys.contains(&oy) {
                        line.fill(T::default());
                        continue;
                    }
                    let y = oy * g.stride + ky - g.padding;
                    let src_line = &src[y * g.width..][..g.width];
                    line[..xs.start].fill(T::default());
                    line[xs.end..].fill(T::default());
                    let first = xs.start * g.stride + kx - g.padding;
                    if g.stride == 1 {
                        line[xs.clone()].copy_from_slice(&src_line[first..][..xs.len()]);
                    } else {
                        for (i, v) in line[xs.clone()].iter_mut().enumerate() {
                            *v = src_line[first + i * g.stride];
                        }
                    }
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
