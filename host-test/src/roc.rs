//! ROC curves of an evaluation (TPR against FPR as the threshold moves), as PNG and SVG, drawn
//! with plotters. Labels need a TrueType font: `$MALHOST_FONT`, or DejaVu / Liberation Sans
//! where Debian installs them; without one the curves are drawn unlabelled and a warning says so.

use std::path::Path;

use anyhow::{Result, anyhow};
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::evaluate::{Mode, Report};

const FONT_PATHS: [&str; 4] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/freefont/FreeSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
];

/// Registers a font once; whether one is available.
pub(crate) fn font() -> bool {
    static OK: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *OK.get_or_init(|| {
        let mut paths: Vec<std::path::PathBuf> = std::env::var_os("MALHOST_FONT").map(Into::into).into_iter().collect();
        paths.extend(FONT_PATHS.iter().map(Into::into));
        for p in paths {
            if let Ok(bytes) = std::fs::read(&p) {
                let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                if plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok() {
                    return true;
                }
            }
        }
        false
    })
}

fn draw<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, r: &Report, text: bool) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("{e}");
    root.fill(&WHITE).map_err(e)?;
    let max_fpr = r.results.iter().flat_map(|x| x.roc.iter().map(|p| p.2)).fold(0.0f64, f64::max);
    let x_max = (max_fpr * 1.1).max(0.01);
    let mut b = ChartBuilder::on(&root);
    b.margin(20);
    if text {
        b.caption(format!("ROC over the threshold ({} samples, {} hosts, {} folds)", r.samples, r.hosts, r.folds), ("sans-serif", 20))
            .x_label_area_size(40)
            .y_label_area_size(50);
    }
    let mut chart = b.build_cartesian_2d(0.0..x_max, 0.0..1.0f64).map_err(e)?;
    let mut mesh = chart.configure_mesh();
    if text {
        mesh.x_desc("FPR (normal hosts flagged / N)").y_desc("TPR (samples detected / M)");
    } else {
        mesh.disable_x_axis().disable_y_axis();
    }
    mesh.draw().map_err(e)?;
    let colours = [RED, BLUE, GREEN, MAGENTA, CYAN, BLACK];
    for (i, res) in r.results.iter().enumerate() {
        let c = colours[i % colours.len()];
        let mut pts: Vec<(f64, f64)> = res.roc.iter().map(|p| (p.2, p.1)).collect();
        pts.push((0.0, 0.0));
        pts.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
        let label = format!("{} {}", res.field.name(), if res.mode == Mode::Count { "count" } else { "types" });
        let s = chart.draw_series(LineSeries::new(pts.clone(), c.stroke_width(2))).map_err(e)?;
        if text {
            s.label(label).legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
        }
        chart.draw_series(pts.iter().map(|p| Circle::new(*p, 3, c.filled()))).map_err(e)?;
    }
    if text {
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .position(SeriesLabelPosition::LowerRight)
            .draw()
            .map_err(e)?;
    }
    root.present().map_err(e)?;
    Ok(())
}

/// Writes the ROC curves; returns warnings.
pub fn write(r: &Report, png: &Path, svg: &Path) -> Result<Vec<String>> {
    let text = font();
    draw(BitMapBackend::new(png, (900, 650)).into_drawing_area(), r, text)?;
    draw(SVGBackend::new(svg, (900, 650)).into_drawing_area(), r, text)?;
    Ok(if text {
        Vec::new()
    } else {
        vec!["no TrueType font found (set MALHOST_FONT or install fonts-dejavu-core): the plots have no labels".into()]
    })
}
