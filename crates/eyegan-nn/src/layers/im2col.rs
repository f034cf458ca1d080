//! im2col / col2im kernels on contiguous NCHW slices.
//!
//! `im2col` lays out every receptive field of a batch as one row: rows are `(b, oy, ox)`,
//! columns `(c, ky, kx)`; `col2im` is its adjoint (scatter-add of rows back into the image).
//! Together with one GEMM they give convolution and transposed convolution.

use std::ops::AddAssign;

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
    /// Rows of the patch matrix: `batch · out_h · out_w`.
    pub fn rows(&self) -> usize {
        self.batch * self.out_h * self.out_w
    }

    /// Columns of the patch matrix: `channels · kernel²`.
    pub fn cols(&self) -> usize {
        self.channels * self.kernel * self.kernel
    }

    /// The same geometry for `batch` images.
    pub fn with_batch(&self, batch: usize) -> Self {
        Self { batch, ..*self }
    }

    /// Image position of kernel tap `k` at output position `o`, if inside the image.
    #[inline]
    fn source(&self, o: usize, k: usize, limit: usize) -> Option<usize> {
        (o * self.stride + k)
            .checked_sub(self.padding)
            .filter(|&v| v < limit)
    }
}

/// Receptive fields of `image` (`batch × channels × height × width`) as a row-major
/// `rows × cols` matrix, zeros where the kernel overlaps the padding.
pub fn im2col<T: Copy + Default>(image: &[T], g: &PatchGeometry) -> Vec<T> {
    let (k, cols) = (g.kernel, g.cols());
    let plane = g.height * g.width;
    let mut out = vec![T::default(); g.rows() * cols];
    let mut row = 0;
    for b in 0..g.batch {
        for oy in 0..g.out_h {
            for ox in 0..g.out_w {
                let dst = &mut out[row * cols..(row + 1) * cols];
                for c in 0..g.channels {
                    let src =
                        &image[(b * g.channels + c) * plane..(b * g.channels + c + 1) * plane];
                    for ky in 0..k {
                        let Some(y) = g.source(oy, ky, g.height) else {
                            continue;
                        };
                        let base = (c * k + ky) * k;
                        for kx in 0..k {
                            if let Some(x) = g.source(ox, kx, g.width) {
                                dst[base + kx] = src[y * g.width + x];
                            }
                        }
                    }
                }
                row += 1;
            }
        }
    }
    out
}

/// Adjoint of [`im2col`]: adds every row of `columns` back into a zeroed image.
pub fn col2im<T: Copy + Default + AddAssign>(columns: &[T], g: &PatchGeometry) -> Vec<T> {
    let (k, cols) = (g.kernel, g.cols());
    let plane = g.height * g.width;
    let mut image = vec![T::default(); g.batch * g.channels * plane];
    let mut row = 0;
    for b in 0..g.batch {
        for oy in 0..g.out_h {
            for ox in 0..g.out_w {
                let src = &columns[row * cols..(row + 1) * cols];
                for c in 0..g.channels {
                    let dst =
                        &mut image[(b * g.channels + c) * plane..(b * g.channels + c + 1) * plane];
                    for ky in 0..k {
                        let Some(y) = g.source(oy, ky, g.height) else {
                            continue;
                        };
                        let base = (c * k + ky) * k;
                        for kx in 0..k {
                            if let Some(x) = g.source(ox, kx, g.width) {
                                dst[y * g.width + x] += src[base + kx];
                            }
                        }
                    }
                }
                row += 1;
            }
        }
    }
    image
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ⟨im2col(x), c⟩ = ⟨x, col2im(c)⟩ for arbitrary x and c: col2im is the exact adjoint.
    #[test]
    fn col2im_is_the_adjoint_of_im2col() {
        for (side, kernel, stride, padding) in
            [(5, 3, 1, 1), (6, 4, 2, 1), (4, 4, 1, 0), (7, 3, 2, 0)]
        {
            let g = PatchGeometry {
                batch: 2,
                channels: 3,
                height: side,
                width: side,
                kernel,
                stride,
                padding,
                out_h: (side + 2 * padding - kernel) / stride + 1,
                out_w: (side + 2 * padding - kernel) / stride + 1,
            };
            let image: Vec<f64> = (0..2 * 3 * side * side)
                .map(|i| ((i * 7919) % 101) as f64 / 7.0)
                .collect();
            let columns: Vec<f64> = (0..g.rows() * g.cols())
                .map(|i| ((i * 104_729) % 97) as f64 / 5.0)
                .collect();
            let lhs: f64 = im2col(&image, &g)
                .iter()
                .zip(&columns)
                .map(|(a, b)| a * b)
                .sum();
            let rhs: f64 = image
                .iter()
                .zip(col2im(&columns, &g))
                .map(|(a, b)| a * b)
                .sum();
            assert!(
                (lhs - rhs).abs() < 1e-6 * lhs.abs().max(1.0),
                "{lhs} vs {rhs}"
            );
        }
    }
}
