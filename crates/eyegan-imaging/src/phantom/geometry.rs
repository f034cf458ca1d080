//! Small 2-D geometry for the phantom: vectors, rotations and rotated ellipses.

use std::ops::{Add, Mul, Sub};

use super::detmath;

/// A point or direction in field units (field radius = 1, y pointing down).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Vec2 {
    /// Horizontal coordinate.
    pub x: f32,
    /// Vertical coordinate (down).
    pub y: f32,
}

impl Vec2 {
    /// A vector from its coordinates.
    pub const fn new(x: f32, y: f32) -> Self {
        Self { x, y }
    }

    /// Euclidean length.
    pub fn length(self) -> f32 {
        (self.x * self.x + self.y * self.y).sqrt()
    }

    /// Dot product.
    pub fn dot(self, other: Vec2) -> f32 {
        self.x * other.x + self.y * other.y
    }

    /// Unit vector in the same direction (zero stays zero).
    pub fn normalized(self) -> Vec2 {
        let len = self.length();
        if len > 0.0 {
            self * (1.0 / len)
        } else {
            self
        }
    }

    /// Rotated by the angle whose (sin, cos) is given.
    pub fn rotated(self, (sin, cos): (f32, f32)) -> Vec2 {
        Vec2::new(self.x * cos - self.y * sin, self.x * sin + self.y * cos)
    }

    /// Rotated by `angle` radians.
    pub fn rotated_by(self, angle: f32) -> Vec2 {
        self.rotated(detmath::sin_cos(angle))
    }

    /// Rotated by a small angle (|angle| < 0.1 rad) using its Taylor expansion, exact to
    /// ~1e-7 there and much cheaper than a full sine and cosine.
    pub fn rotated_slightly(self, angle: f32) -> Vec2 {
        let a2 = angle * angle;
        self.rotated((angle * (1.0 - a2 / 6.0), 1.0 - a2 * 0.5 * (1.0 - a2 / 12.0)))
    }

    /// The perpendicular obtained by a quarter turn.
    pub fn perpendicular(self) -> Vec2 {
        Vec2::new(-self.y, self.x)
    }
}

impl Add for Vec2 {
    type Output = Vec2;
    fn add(self, o: Vec2) -> Vec2 {
        Vec2::new(self.x + o.x, self.y + o.y)
    }
}

impl Sub for Vec2 {
    type Output = Vec2;
    fn sub(self, o: Vec2) -> Vec2 {
        Vec2::new(self.x - o.x, self.y - o.y)
    }
}

impl Mul<f32> for Vec2 {
    type Output = Vec2;
    fn mul(self, k: f32) -> Vec2 {
        Vec2::new(self.x * k, self.y * k)
    }
}

/// An ellipse with semi-axes `rx` (local x) and `ry` (local y), rotated by `rotation` radians.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ellipse {
    /// Centre.
    pub center: Vec2,
    /// Semi-axis along the local x axis.
    pub rx: f32,
    /// Semi-axis along the local y axis.
    pub ry: f32,
    /// Rotation of the local axes, radians.
    rotation: f32,
    /// (sin, cos) of `rotation`, computed once.
    axes: (f32, f32),
}

impl Ellipse {
    /// An ellipse from its centre, semi-axes and rotation (radians).
    pub fn new(center: Vec2, rx: f32, ry: f32, rotation: f32) -> Self {
        Ellipse {
            center,
            rx,
            ry,
            rotation,
            axes: detmath::sin_cos(rotation),
        }
    }

    /// A circle.
    pub fn circle(center: Vec2, radius: f32) -> Self {
        Self::new(center, radius, radius, 0.0)
    }

    /// Rotation of the local axes, radians.
    pub fn rotation(&self) -> f32 {
        self.rotation
    }

    /// The point in the ellipse's local (unrotated) frame.
    pub fn to_local(self, p: Vec2) -> Vec2 {
        let (s, c) = self.axes;
        (p - self.center).rotated((-s, c))
    }

    /// Approximate signed distance (negative inside), exact on the axes and accurate near the
    /// boundary, which is all anti-aliasing needs.
    pub fn signed_distance(&self, p: Vec2) -> f32 {
        self.signed_distance_local(self.to_local(p))
    }

    /// [`Ellipse::signed_distance`] for a point already in the local frame.
    pub fn signed_distance_local(&self, local: Vec2) -> f32 {
        let (ax, ay) = (local.x / self.rx, local.y / self.ry);
        let q = (ax * ax + ay * ay).sqrt();
        if q <= 1e-6 {
            return -self.rx.min(self.ry);
        }
        let gx = ax / (self.rx * q);
        let gy = ay / (self.ry * q);
        let gradient = (gx * gx + gy * gy).sqrt().max(1e-6);
        (q - 1.0) / gradient
    }

    /// Half the vertical extent of the rotated ellipse (its bounding box half-height).
    pub fn half_height(&self) -> f32 {
        let (s, c) = self.axes;
        ((self.rx * s) * (self.rx * s) + (self.ry * c) * (self.ry * c)).sqrt()
    }

    /// Distance from the centre to the boundary along the unit direction `dir`.
    pub fn radius_towards(&self, dir: Vec2) -> f32 {
        let (s, c) = self.axes;
        let local = dir.rotated((-s, c));
        let k =
            (local.x / self.rx) * (local.x / self.rx) + (local.y / self.ry) * (local.y / self.ry);
        1.0 / k.sqrt().max(1e-6)
    }

    /// The same ellipse (centre and rotation) with its semi-axes scaled by `kx` and `ky`.
    pub fn scaled(&self, kx: f32, ky: f32) -> Ellipse {
        Ellipse {
            rx: self.rx * kx,
            ry: self.ry * ky,
            ..*self
        }
    }
}
