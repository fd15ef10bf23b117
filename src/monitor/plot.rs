//! Line plots (PNG) with plotters. Text needs a system font (DejaVu on Debian); without
//! one, plotting returns [`MonitorError::Plot`] and callers carry on without the figure.

use std::path::Path;

use plotters::prelude::*;

use super::MonitorError;

/// One named series of (x, y) points.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend label.
    pub label: String,
    /// Points (x, y); non-finite points are skipped.
    pub points: Vec<(f64, f64)>,
}

impl Series {
    /// A series from a label and points.
    pub fn new(label: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Self { label: label.into(), points }
    }
}

const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(90, 90, 90),
];

fn bounds(series: &[Series]) -> ((f64, f64), (f64, f64)) {
    let mut xr = (f64::INFINITY, f64::NEG_INFINITY);
    let mut yr = (f64::INFINITY, f64::NEG_INFINITY);
    for s in series {
        for &(x, y) in &s.points {
            if x.is_finite() && y.is_finite() {
                xr = (xr.0.min(x), xr.1.max(x));
                yr = (yr.0.min(y), yr.1.max(y));
            }
        }
    }
    if !xr.0.is_finite() {
        return ((0.0, 1.0), (0.0, 1.0));
    }
    if xr.1 - xr.0 < 1e-12 {
        xr.1 = xr.0 + 1.0;
    }
    let pad = ((yr.1 - yr.0) * 0.08).max(1e-6);
    ((xr.0, xr.1), (yr.0 - pad, yr.1 + pad))
}

/// Draws `series` as lines into a PNG at `path` (800×400 px).
pub fn line_plot(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
) -> Result<(), MonitorError> {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d)?;
    }
    let err = |e: &dyn std::fmt::Display| MonitorError::Plot(e.to_string());
    let root = BitMapBackend::new(path, (800, 400)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let ((x0, x1), (y0, y1)) = bounds(series);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(60)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(|e| err(&e))?;
    chart.configure_mesh().x_desc(x_label).y_desc(y_label).draw().map_err(|e| err(&e))?;
    for (i, s) in series.iter().enumerate() {
        let c = PALETTE[i % PALETTE.len()];
        let pts = s.points.iter().copied().filter(|(x, y)| x.is_finite() && y.is_finite());
        chart
            .draw_series(LineSeries::new(pts, c.stroke_width(2)))
            .map_err(|e| err(&e))?
            .label(s.label.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
    }
    if series.len() > 1 || series.first().is_some_and(|s| !s.label.is_empty()) {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| err(&e))?;
    }
    root.present().map_err(|e| err(&e))?;
    Ok(())
}

/// One named histogram for [`histogram_plot`].
#[derive(Debug, Clone)]
pub struct NamedHistogram {
    /// Legend label.
    pub label: String,
    /// The histogram (log-spaced bins, µs).
    pub hist: super::latency::LogHistogram,
}

/// Draws histograms with log-spaced bins as outlined bars on a logarithmic x axis into a PNG
/// at `path` (800×400 px); several histograms overlap, each in its own colour.
pub fn histogram_plot(path: &Path, title: &str, x_label: &str, hists: &[NamedHistogram]) -> Result<(), MonitorError> {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d)?;
    }
    let err = |e: &dyn std::fmt::Display| MonitorError::Plot(e.to_string());
    let (mut lo, mut hi, mut top) = (f64::INFINITY, 0.0f64, 1u64);
    for h in hists {
        lo = lo.min(h.hist.edges_us.first().copied().unwrap_or(1.0));
        hi = hi.max(h.hist.edges_us.last().copied().unwrap_or(10.0));
        top = top.max(h.hist.counts.iter().copied().max().unwrap_or(0));
    }
    if !(lo.is_finite() && lo > 0.0 && hi > lo) {
        (lo, hi) = (1.0, 10.0);
    }
    let root = BitMapBackend::new(path, (800, 400)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(60)
        .build_cartesian_2d((lo..hi).log_scale(), 0u64..top + top / 10 + 1)
        .map_err(|e| err(&e))?;
    chart.configure_mesh().x_desc(x_label).y_desc("solves").draw().map_err(|e| err(&e))?;
    for (i, h) in hists.iter().enumerate() {
        let c = PALETTE[i % PALETTE.len()];
        let bars: Vec<Rectangle<(f64, u64)>> = h
            .hist
            .counts
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(k, &n)| Rectangle::new([(h.hist.edges_us[k], 0), (h.hist.edges_us[k + 1], n)], c.mix(0.35).filled()))
            .collect();
        chart
            .draw_series(bars)
            .map_err(|e| err(&e))?
            .label(h.label.clone())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 15, y + 5)], c.mix(0.6).filled()));
    }
    if !hists.is_empty() {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| err(&e))?;
    }
    root.present().map_err(|e| err(&e))?;
    Ok(())
}
