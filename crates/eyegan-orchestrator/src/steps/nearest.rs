//! Nearest-neighbour distances in pixel space, for the memorisation check: how close each
//! synthetic image is to its closest training image, against how close real training images
//! are to each other.

use image::RgbImage;

/// An image's pixels as `f32` in [0, 1], row-major RGB.
pub fn pixels(image: &RgbImage) -> Vec<f32> {
    image
        .as_raw()
        .iter()
        .map(|&v| f32::from(v) / 255.0)
        .collect()
}

/// Root-mean-square pixel difference: the L2 distance divided by √(number of values), so it
/// reads in pixel units (0 = identical, 1 = black against white everywhere).
pub fn rms_distance(a: &[f32], b: &[f32]) -> f64 {
    if a.is_empty() || a.len() != b.len() {
        return f64::NAN;
    }
    let sum: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| f64::from(x - y) * f64::from(x - y))
        .sum();
    (sum / a.len() as f64).sqrt()
}

/// For every query, the index of its nearest reference and the distance; with `same_set`
/// (queries are the references) an item is never its own neighbour. `None` when there is no
/// candidate.
pub fn nearest(
    queries: &[Vec<f32>],
    references: &[Vec<f32>],
    same_set: bool,
) -> Vec<Option<(usize, f64)>> {
    queries
        .iter()
        .enumerate()
        .map(|(q, query)| {
            references
                .iter()
                .enumerate()
                .filter(|(r, _)| !(same_set && *r == q))
                .map(|(r, reference)| (r, rms_distance(query, reference)))
                .filter(|(_, d)| d.is_finite())
                .min_by(|a, b| a.1.total_cmp(&b.1))
        })
        .collect()
}

/// The `q`-quantile (0..=1) of `values` by linear interpolation; `None` when empty.
pub fn quantile(values: &[f64], q: f64) -> Option<f64> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    let position = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let low = position.floor() as usize;
    let high = position.ceil() as usize;
    let weight = position - low as f64;
    Some(sorted[low] * (1.0 - weight) + sorted[high] * weight)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_read_in_pixel_units() {
        assert_eq!(rms_distance(&[0.0, 0.0], &[1.0, 1.0]), 1.0);
        assert_eq!(rms_distance(&[0.5, 0.5], &[0.5, 0.5]), 0.0);
        assert!((rms_distance(&[0.0, 0.0], &[0.0, 1.0]) - 0.5f64.sqrt()).abs() < 1e-12);
        assert!(rms_distance(&[0.0], &[0.0, 1.0]).is_nan());
    }

    #[test]
    fn a_copy_is_found_as_the_nearest_neighbour_at_distance_zero() {
        let train = vec![
            vec![0.0, 0.0, 0.0],
            vec![1.0, 1.0, 1.0],
            vec![0.2, 0.2, 0.2],
        ];
        let synthetic = vec![vec![1.0, 1.0, 1.0], vec![0.15, 0.15, 0.15]];
        let found = nearest(&synthetic, &train, false);
        assert_eq!(found[0], Some((1, 0.0)));
        assert_eq!(found[1].unwrap().0, 2);
        let within = nearest(&train, &train, true);
        assert_eq!(within[0].unwrap().0, 2, "never itself");
        assert_eq!(nearest(&train[..1], &train[..1], true), vec![None]);
    }

    #[test]
    fn quantiles_interpolate() {
        assert_eq!(quantile(&[3.0, 1.0, 2.0], 0.5), Some(2.0));
        assert_eq!(quantile(&[1.0, 2.0], 0.5), Some(1.5));
        assert_eq!(quantile(&[4.0], 0.0), Some(4.0));
        assert_eq!(quantile(&[], 0.5), None);
    }
}
