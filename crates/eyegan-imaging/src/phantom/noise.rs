//! Seeded, order-independent noise: integer hashing, gradient noise and band-limited fractal sums.
//!
//! Every value depends only on its coordinates and seed, never on evaluation order, so the
//! phantom's pixels do not depend on how work is scheduled.

/// Mixes three integers into 32 well-scrambled bits.
pub fn hash3(a: u32, b: u32, seed: u32) -> u32 {
    let mut h =
        a.wrapping_mul(0x8DA6_B343) ^ b.wrapping_mul(0xD816_3841) ^ seed.wrapping_mul(0xCB1A_B31F);
    h ^= h >> 15;
    h = h.wrapping_mul(0x2C1B_3C6D);
    h ^= h >> 12;
    h = h.wrapping_mul(0x297A_2D39);
    h ^= h >> 15;
    h
}

/// SplitMix64 finaliser: a bijective scramble of 64 bits.
pub fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Approximately standard-normal value for (index, seed): the sum of four 16-bit uniforms
/// (Irwin–Hall), rescaled to unit variance. Bounded by about ±3.5.
pub fn gaussian_at(index: u64, seed: u64) -> f32 {
    let bits = splitmix64(index ^ splitmix64(seed));
    let sum: u32 = (0..4).map(|i| ((bits >> (16 * i)) & 0xFFFF) as u32).sum();
    // Mean 2 * 65535, variance 4 * (65536^2 - 1) / 12.
    let centred = sum as f32 / 65535.0 - 2.0;
    centred * 1.732_050_8
}

const GRADIENTS: [(f32, f32); 8] = [
    (1.0, 0.0),
    (-1.0, 0.0),
    (0.0, 1.0),
    (0.0, -1.0),
    (0.707_106_77, 0.707_106_77),
    (-0.707_106_77, 0.707_106_77),
    (0.707_106_77, -0.707_106_77),
    (-0.707_106_77, -0.707_106_77),
];

/// 2-D gradient (Perlin-style) noise, roughly in [-0.7, 0.7], smooth at unit lattice scale.
pub fn gradient_noise(x: f32, y: f32, seed: u32) -> f32 {
    let (x0, y0) = (x.floor(), y.floor());
    let (fx, fy) = (x - x0, y - y0);
    let (ix, iy) = (x0 as i32 as u32, y0 as i32 as u32);
    let corner = |dx: u32, dy: u32| {
        let (gx, gy) =
            GRADIENTS[(hash3(ix.wrapping_add(dx), iy.wrapping_add(dy), seed) & 7) as usize];
        gx * (fx - dx as f32) + gy * (fy - dy as f32)
    };
    let (u, v) = (fade(fx), fade(fy));
    let top = corner(0, 0) + (corner(1, 0) - corner(0, 0)) * u;
    let bottom = corner(0, 1) + (corner(1, 1) - corner(0, 1)) * u;
    top + (bottom - top) * v
}

fn fade(t: f32) -> f32 {
    t * t * t * (t * (t * 6.0 - 15.0) + 10.0)
}

/// Fractal sum of `octaves` gradient-noise layers starting at `frequency` (cycles per unit),
/// each octave twice the frequency and half the amplitude. Octaves above the sampling limit
/// (`nyquist`, cycles per unit at the pixel grid) fade out, so small renders do not alias.
pub fn fractal_noise(x: f32, y: f32, seed: u32, frequency: f32, octaves: u32, nyquist: f32) -> f32 {
    let mut sum = 0.0;
    let mut amplitude = 1.0;
    let mut f = frequency;
    let mut norm = 0.0;
    for octave in 0..octaves {
        let band_limit = (2.0 - 2.0 * f / nyquist).clamp(0.0, 1.0);
        if band_limit > 0.0 {
            sum += amplitude
                * band_limit
                * gradient_noise(x * f, y * f, seed.wrapping_add(octave * 7919));
        }
        norm += amplitude;
        amplitude *= 0.5;
        f *= 2.0;
    }
    sum / norm
}
