//! Host-side sub-pixel refinement of a ball position over a packet's events: a mean shift
//! (the centroid of the events within a fixed radius, iterated) seeded with a tracker's coarse
//! centre, extrapolated with the velocity to the packet's end. The cluster baseline always
//! uses it; the tracker network ([`super::net`]) only as its optional host stage.
use super::{Estimate, Event};

/// Sub-pixel refinement: centroid of the events within `r` px of
/// (`cx`, `cy`), extrapolated with the velocity to `t_end_ns`; velocity smoothed from the
/// previous estimate.
pub fn refine(events: &[Event], cx: f64, cy: f64, r: f64, t_end_ns: u64, prev: Option<Estimate>) -> Estimate {
    // Start from the previous estimate moved with its velocity when it is close to the
    // coarse centre: a tracker's coarse centre lags a fast ball, and a window cut by a
    // lagging centre has a biased mean-shift fixed point behind the ball. The window is
    // fixed (it should be about twice the ball's image radius): growing it with the event
    // cloud lets the long OFF tail of a slow photoreceptor and the noise pull it backwards.
    let r2 = r * r;
    let (mut cx, mut cy) = (cx, cy);
    if let Some(p) = prev {
        let dt = t_end_ns.saturating_sub(p.t_ns) as f64 * 1e-9;
        let (px, py) = (p.x + p.vx * dt, p.y + p.vy * dt);
        if (px - cx).hypot(py - cy) < 2.0 * r {
            (cx, cy) = (px, py);
        }
    }
    // One pass keeps the events the window can reach in its iterations (it moves < 2r).
    let reach2 = 9.0 * r2;
    let near: Vec<(f64, f64, f64)> = events
        .iter()
        .filter_map(|e| {
            let (x, y) = (f64::from(e.x) + 0.5, f64::from(e.y) + 0.5);
            ((x - cx) * (x - cx) + (y - cy) * (y - cy) <= reach2)
                .then(|| (x, y, t_end_ns.saturating_sub(e.t_ns) as f64))
        })
        .collect();
    let (mut st, mut n, mut rho) = (0.0, 0.0, 0.0);
    for _ in 0..8 {
        let (mut sx, mut sy, mut sxx) = (0.0, 0.0, 0.0);
        (st, n) = (0.0, 0.0);
        for &(x, y, age) in &near {
            let d2 = (x - cx) * (x - cx) + (y - cy) * (y - cy);
            if d2 <= r2 {
                sx += x;
                sy += y;
                sxx += x * x + y * y;
                st += age;
                n += 1.0;
            }
        }
        if n < 3.0 {
            break;
        }
        let (nx, ny) = (sx / n, sy / n);
        rho = (sxx / n - nx * nx - ny * ny).max(0.0).sqrt();
        let moved = (nx - cx).hypot(ny - cy);
        (cx, cy) = (nx, ny);
        if moved < 0.05 {
            break;
        }
    }
    let (vx, vy) = prev.map_or((0.0, 0.0), |p| (p.vx, p.vy));
    let (x, y) = if n >= 3.0 {
        let lag = st / n * 1e-9;
        (cx + vx * lag, cy + vy * lag)
    } else {
        (cx, cy)
    };
    let (vx, vy) = match prev {
        Some(p) if t_end_ns > p.t_ns && t_end_ns - p.t_ns <= 3_000_000 => {
            let dt = (t_end_ns - p.t_ns) as f64 * 1e-9;
            let a = 0.3;
            (p.vx + a * ((x - p.x) / dt - p.vx), p.vy + a * ((y - p.y) / dt - p.vy))
        }
        _ => (0.0, 0.0),
    };
    Estimate { t_ns: t_end_ns, x, y, vx, vy, radius_px: if n >= 3.0 { rho } else { prev.map_or(0.0, |p| p.radius_px) } }
}
