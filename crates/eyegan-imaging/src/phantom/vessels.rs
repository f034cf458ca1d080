//! The retinal vessel tree: arteries and veins leaving the cup, the temporal arcades curving
//! around the macula, and their branches.

use super::anatomy::Anatomy;
use super::geometry::Vec2;
use super::sampling::Draw;

/// Arteries are thinner and lighter; veins wider and darker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VesselKind {
    /// Carries oxygenated, lighter red blood.
    Artery,
    /// Carries darker blood back to the disc.
    Vein,
}

/// One sample along a vessel's centre line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VesselPoint {
    /// Position in field units.
    pub pos: Vec2,
    /// Full width in field units.
    pub width: f32,
    /// Visibility factor: below 1 where the vessel lies deep in the cup.
    pub visibility: f32,
}

/// A vessel's centre line, drawn as consecutive segments.
#[derive(Debug, Clone, PartialEq)]
pub struct Vessel {
    /// Artery or vein.
    pub kind: VesselKind,
    /// Samples along the centre line.
    pub points: Vec<VesselPoint>,
}

/// Spacing of centre-line samples, field units.
const STEP: f32 = 0.01;
/// Vessels narrower than this end.
const MIN_WIDTH: f32 = 0.0025;
/// Vessels end when they reach this distance from the fovea (the avascular zone).
const FOVEAL_AVASCULAR_RADIUS: f32 = 0.05;
/// Deepest nesting of branches below a trunk.
const MAX_BRANCH_DEPTH: u32 = 2;

/// A trunk's course as (along disc→fovea, towards superior) offsets in units of the
/// disc-fovea distance, with the vein's width range.
struct TrunkTemplate {
    course: &'static [(f32, f32)],
    vein_width: (f32, f32),
    /// Main trunks leave from the cup; smaller ones appear at the disc margin.
    from_cup: bool,
}

const TEMPORAL_ARCADE: TrunkTemplate = TrunkTemplate {
    course: &[
        (0.10, 0.30),
        (0.40, 0.58),
        (0.95, 0.70),
        (1.45, 0.62),
        (1.95, 0.45),
        (2.40, 0.30),
    ],
    vein_width: (0.021, 0.025),
    from_cup: true,
};
const NASAL_ARCADE: TrunkTemplate = TrunkTemplate {
    course: &[(-0.12, 0.30), (-0.30, 0.65), (-0.45, 1.05), (-0.55, 1.50)],
    vein_width: (0.016, 0.019),
    from_cup: true,
};
const NASAL_HORIZONTAL: TrunkTemplate = TrunkTemplate {
    course: &[(-0.30, 0.06), (-0.70, 0.10), (-1.10, 0.12)],
    vein_width: (0.009, 0.011),
    from_cup: false,
};
const MACULAR: TrunkTemplate = TrunkTemplate {
    course: &[(0.35, 0.12), (0.65, 0.17), (0.85, 0.2)],
    vein_width: (0.005, 0.007),
    from_cup: false,
};

/// Grows the full tree: for each template, superior and inferior, one artery and one vein.
/// `kink` is the glaucomatous bend where vessels climb over the rim, 0..=1.
pub fn grow_vessel_tree(anatomy: &Anatomy, kink: f32, rng: &mut impl Draw) -> Vec<Vessel> {
    let mut vessels = Vec::new();
    for template in [&TEMPORAL_ARCADE, &NASAL_ARCADE, &NASAL_HORIZONTAL, &MACULAR] {
        for superior in [1.0_f32, -1.0] {
            for kind in [VesselKind::Vein, VesselKind::Artery] {
                let trunk = grow_trunk(anatomy, template, superior, kind, kink, rng);
                let mut branches = Vec::new();
                sprout_branches(anatomy, &trunk, 0, rng, &mut branches);
                vessels.push(trunk);
                vessels.extend(branches);
            }
        }
    }
    vessels
}

fn grow_trunk(
    anatomy: &Anatomy,
    template: &TrunkTemplate,
    superior: f32,
    kind: VesselKind,
    kink: f32,
    rng: &mut impl Draw,
) -> Vessel {
    let disc = &anatomy.disc;
    let to_fovea = anatomy.fovea - disc.center;
    let distance = to_fovea.length();
    let along = to_fovea.normalized();
    let up = along.perpendicular();
    let spread = rng.uniform(0.88, 1.12) * if superior < 0.0 { 1.05 } else { 1.0 };
    let course: Vec<Vec2> = template
        .course
        .iter()
        .map(|&(a, b)| {
            let jitter = Vec2::new(rng.normal(0.0, 0.03), rng.normal(0.0, 0.03));
            disc.center + along * (a * distance) + up * (b * superior * spread * distance) + jitter
        })
        .collect();

    let controls = if template.from_cup {
        leave_cup(anatomy, &course, up * superior, kink, rng)
    } else {
        let direction = (course[0] - disc.center).normalized();
        let margin = disc.center + direction * (disc.radius_towards(direction) * 0.9);
        std::iter::once(margin).chain(course).collect()
    };

    let width0 = match kind {
        VesselKind::Vein => rng.uniform(template.vein_width.0, template.vein_width.1),
        VesselKind::Artery => rng.uniform(0.68, 0.76) * template.vein_width.1,
    };
    let deep = 1.0 - 0.45 * anatomy.cup_pallor;
    let in_cup = if template.from_cup { 0 } else { usize::MAX };
    let line = catmull_rom(&controls);
    let total = line.len().max(1) as f32;
    let points = line
        .into_iter()
        .enumerate()
        .map(|(i, (pos, segment))| VesselPoint {
            pos,
            width: width0 * (1.0 - 0.45 * i as f32 / total),
            visibility: if segment == in_cup { deep } else { 1.0 },
        })
        .collect();
    Vessel { kind, points }
}

/// Control points of a main trunk: up or down from the cup centre to the cup edge, then over
/// the rim with a sideways bend (`kink` of the rim width; strong in glaucoma), then `course`.
fn leave_cup(
    anatomy: &Anatomy,
    course: &[Vec2],
    up: Vec2,
    kink: f32,
    rng: &mut impl Draw,
) -> Vec<Vec2> {
    let (disc, cup) = (&anatomy.disc, &anatomy.cup);
    let jitter = Vec2::new(rng.normal(0.0, 0.1), rng.normal(0.0, 0.1)) * cup.ry;
    let root = cup.center + up * (0.2 * cup.ry) + jitter;
    let heading = ((course[0] - root).normalized() + up).normalized();
    let cup_edge = cup.center + heading * (cup.radius_towards(heading) * 0.95);
    let rim = (disc.radius_towards(heading) - cup.radius_towards(heading)).max(0.0);
    let bend = heading.perpendicular() * (rng.sign() * kink * rim * 0.9) + heading * (rim * 0.25);
    let mut controls = vec![root, cup_edge, cup_edge + bend];
    controls.extend_from_slice(course);
    controls
}

/// Samples a Catmull-Rom spline through `controls` every [`STEP`]; each sample carries the
/// index of the control segment it belongs to.
fn catmull_rom(controls: &[Vec2]) -> Vec<(Vec2, usize)> {
    let mut out = Vec::new();
    let n = controls.len();
    for i in 0..n.saturating_sub(1) {
        let p0 = controls[i.saturating_sub(1)];
        let (p1, p2) = (controls[i], controls[i + 1]);
        let p3 = controls[(i + 2).min(n - 1)];
        let samples = (((p2 - p1).length() / STEP).ceil() as usize).max(1);
        for k in 0..samples {
            let t = k as f32 / samples as f32;
            let (t2, t3) = (t * t, t * t * t);
            let pos = (p1 * 2.0
                + (p2 - p0) * t
                + (p0 * 2.0 - p1 * 5.0 + p2 * 4.0 - p3) * t2
                + (p1 * 3.0 - p0 - p2 * 3.0 + p3) * t3)
                * 0.5;
            out.push((pos, i));
        }
    }
    if let Some(&last) = controls.last() {
        out.push((last, n.saturating_sub(2)));
    }
    out
}

/// Adds side branches along `parent` (outside the disc) and, recursively, their branches.
fn sprout_branches(
    anatomy: &Anatomy,
    parent: &Vessel,
    depth: u32,
    rng: &mut impl Draw,
    out: &mut Vec<Vessel>,
) {
    if depth >= MAX_BRANCH_DEPTH {
        return;
    }
    let spacing = if depth == 0 {
        (0.07, 0.16)
    } else {
        (0.06, 0.14)
    };
    let mut next = rng.uniform(spacing.0, spacing.1);
    let mut arc = 0.0;
    for pair in parent.points.windows(2) {
        arc += (pair[1].pos - pair[0].pos).length();
        if arc < next {
            continue;
        }
        next = arc + rng.uniform(spacing.0, spacing.1);
        if anatomy.disc_distance(pair[1].pos) < 1.3 || pair[1].pos.length() > 0.95 {
            continue;
        }
        let heading = (pair[1].pos - pair[0].pos).normalized();
        let direction = heading.rotated_by(rng.sign() * rng.uniform(0.45, 1.1));
        let width = pair[1].width * rng.uniform(0.4, 0.7);
        if width < MIN_WIDTH {
            continue;
        }
        let branch = walk(anatomy, parent.kind, pair[1].pos, direction, width, rng);
        if branch.points.len() > 2 {
            sprout_branches(anatomy, &branch, depth + 1, rng, out);
            out.push(branch);
        }
    }
}

/// A branch as a random walk with slowly drifting curvature, tapering until it is too thin,
/// leaves the field or reaches the foveal avascular zone.
fn walk(
    anatomy: &Anatomy,
    kind: VesselKind,
    start: Vec2,
    mut heading: Vec2,
    width: f32,
    rng: &mut impl Draw,
) -> Vessel {
    let length = rng.uniform(0.25, 0.6) * (width / 0.012).sqrt();
    let mut curvature = rng.normal(0.0, 1.0);
    let mut pos = start;
    let mut travelled = 0.0;
    let mut points = vec![VesselPoint {
        pos,
        width,
        visibility: 1.0,
    }];
    while travelled < length {
        curvature = (curvature + rng.normal(0.0, 2.0) * STEP.sqrt()).clamp(-4.0, 4.0);
        heading = heading.rotated_slightly(curvature * STEP);
        let outward = (pos - anatomy.disc.center).normalized();
        heading = (heading + outward * 0.04).normalized();
        pos = pos + heading * STEP;
        travelled += STEP;
        let w = width * (1.0 - 0.55 * travelled / length);
        if w < MIN_WIDTH
            || pos.length() > 1.03
            || (pos - anatomy.fovea).length() < FOVEAL_AVASCULAR_RADIUS
        {
            break;
        }
        points.push(VesselPoint {
            pos,
            width: w,
            visibility: 1.0,
        });
    }
    Vessel { kind, points }
}
