//! Drawing the figures of [`crate::figures`] with plotters, once as SVG (for pages and papers)
//! and once as PNG (for viewers and slides). Text is set in DejaVu Sans, embedded in the binary,
//! so a plot looks the same on every machine and needs no system font.

use crate::figures::{Bars, ConfusionMap, Curves, Scatter};
use plotters::coord::ranged1d::{KeyPointHint, NoDefaultFormatting, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::error::Error;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Once;

type Drawn = Result<(), Box<dyn Error>>;

const FONT: &str = "sans-serif";

/// Registers the embedded font under the family name plots use (once per process).
fn fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The font is a fixed, valid file shipped by the dejavu crate.
        if plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular()).is_err()
            || plotters::style::register_font(FONT, FontStyle::Bold, dejavu::sans::bold()).is_err()
        {
            panic!("the embedded DejaVu Sans font did not load");
        }
    });
}

/// One figure to draw.
pub enum Figure<'a> {
    Scatter(&'a [&'a Scatter]),
    Bars(&'a [&'a Bars]),
    Curves(&'a Curves),
    Confusion(&'a ConfusionMap),
}

impl Figure<'_> {
    fn size(&self) -> (u32, u32) {
        match self {
            Figure::Scatter(_) => (1200, 520),
            Figure::Bars(b) => (1200, 140 + 34 * b.first().map_or(1, |b| b.bars.len()) as u32),
            Figure::Curves(_) => (1200, 520),
            Figure::Confusion(c) => {
                let side = (320 + 48 * c.classes.len() as u32).min(1400);
                (side + 120, side)
            }
        }
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Drawn
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE)?;
        match self {
            Figure::Scatter(panels) => side_by_side(root, panels, |area, s| scatter(area, s)),
            Figure::Bars(panels) => side_by_side(root, panels, |area, b| bars(area, b)),
            Figure::Curves(c) => curves(root, c),
            Figure::Confusion(c) => confusion(root, c),
        }?;
        root.present()?;
        Ok(())
    }
}

/// Writes `figure` as `<dir>/<stem>.svg` and `<dir>/<stem>.png`; returns the SVG text too, for
/// pages that inline it.
pub fn render(figure: &Figure, dir: &Path, stem: &str) -> Result<(String, [PathBuf; 2]), String> {
    fonts();
    let size = figure.size();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        figure.draw(&root).map_err(|e| format!("drawing {stem}.svg: {e}"))?;
    }
    let svg_path = dir.join(format!("{stem}.svg"));
    harbench_suite::store::write_atomic(&svg_path, svg.as_bytes()).map_err(|e| e.to_string())?;
    // The PNG is encoded in memory, then written whole (temp file and rename) like every file.
    let (w, h) = size;
    let mut pixels = vec![0u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, size).into_drawing_area();
        figure.draw(&root).map_err(|e| format!("drawing {stem}.png: {e}"))?;
    }
    let png_path = dir.join(format!("{stem}.png"));
    let png = encode_png(&pixels, w, h).map_err(|e| format!("encoding {stem}.png: {e}"))?;
    harbench_suite::store::write_atomic(&png_path, &png).map_err(|e| e.to_string())?;
    Ok((svg, [svg_path, png_path]))
}

fn encode_png(rgb: &[u8], w: u32, h: u32) -> Result<Vec<u8>, image::ImageError> {
    let mut out = std::io::Cursor::new(Vec::new());
    image::ImageEncoder::write_image(image::codecs::png::PngEncoder::new(&mut out), rgb, w, h, image::ExtendedColorType::Rgb8)?;
    Ok(out.into_inner())
}

/// Draws one panel per item, side by side.
fn side_by_side<DB: DrawingBackend, T>(
    root: &DrawingArea<DB, Shift>,
    items: &[&T],
    draw: impl Fn(&DrawingArea<DB, Shift>, &T) -> Drawn,
) -> Drawn
where
    DB::ErrorType: 'static,
{
    let panels = root.split_evenly((1, items.len().max(1)));
    for (area, item) in panels.iter().zip(items) {
        draw(area, item)?;
    }
    Ok(())
}

/// An axis with ticks where we put them and labels we write: plotters' key-point combinator has
/// no formatter for `f64`, so this one carries both.
struct Ticked<R: Ranged<ValueType = f64>> {
    inner: R,
    ticks: Vec<f64>,
    label: Box<dyn Fn(f64) -> String>,
}

impl<R: Ranged<ValueType = f64>> Ranged for Ticked<R> {
    type ValueType = f64;
    type FormatOption = NoDefaultFormatting;
    fn range(&self) -> Range<f64> {
        self.inner.range()
    }
    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }
    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }
}

impl<R: Ranged<ValueType = f64>> ValueFormatter<f64> for Ticked<R> {
    fn format(_: &f64) -> String {
        String::new()
    }
    fn format_ext(&self, value: &f64) -> String {
        (self.label)(*value)
    }
}

/// A category axis: rows at 0, 1, …, n − 1, each tick labelled with its name; with `top_down`,
/// row 0 at the high end (the top of a vertical axis), as in a table.
fn categories(labels: Vec<String>, top_down: bool) -> Ticked<RangedCoordf64> {
    let n = labels.len().max(1);
    let label = move |value: f64| {
        let i = value.round().clamp(0.0, (n - 1) as f64) as usize;
        let row = if top_down { n - 1 - i } else { i };
        labels.get(row).cloned().unwrap_or_default()
    };
    Ticked { inner: (-0.5..n as f64 - 0.5).into(), ticks: (0..n).map(|i| i as f64).collect(), label: Box::new(label) }
}

/// A log axis with ticks at 1, 2 and 5 × 10^k (only 10^k when those would crowd), labelled
/// compactly (4.5k, 1.2M).
fn log_axis(lo: f64, hi: f64) -> Ticked<LogCoord<f64>> {
    let mut ticks: Vec<f64> = Vec::new();
    let mut decade = 10f64.powf(lo.log10().floor());
    while decade <= hi {
        ticks.extend([1.0, 2.0, 5.0].map(|m| m * decade).into_iter().filter(|t| (lo..=hi).contains(t)));
        decade *= 10.0;
    }
    if ticks.len() > 9 {
        ticks.retain(|t| (t.log10() - t.log10().round()).abs() < 1e-9);
    }
    Ticked { inner: LogCoord::from((lo..hi).log_scale()), ticks, label: Box::new(compact) }
}

/// `lo..hi` widened by a share of its width on both sides (and made non-empty).
fn padded(lo: f64, hi: f64, share: f64) -> (f64, f64) {
    let span = if hi > lo { hi - lo } else { lo.abs().max(1.0) * 0.1 };
    (lo - share * span, hi + share * span)
}

fn scatter<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, s: &Scatter) -> Drawn
where
    DB::ErrorType: 'static,
{
    let xs = s.points.iter().map(|p| p.x);
    let (x_lo, x_hi) = (xs.clone().fold(f64::INFINITY, f64::min), xs.fold(0.0, f64::max));
    // Log axis: a factor of room on both sides.
    let (x_lo, x_hi) = if x_hi > x_lo { (x_lo / 1.6, x_hi * 1.6) } else { (x_lo / 2.0, x_hi * 2.0) };
    let y_lo = s.points.iter().map(|p| p.y - p.y_std).fold(f64::INFINITY, f64::min);
    let y_hi = s.points.iter().map(|p| p.y + p.y_std).fold(f64::NEG_INFINITY, f64::max);
    let (y_lo, y_hi) = padded(y_lo, y_hi, 0.12);
    let mut chart = ChartBuilder::on(area)
        .caption(format!("{}: {} vs {}{}", s.dataset, metric_name(s.metric), s.axis.name(), s.on_device()), (FONT, 20))
        .margin(12)
        .x_label_area_size(46)
        .y_label_area_size(60)
        .build_cartesian_2d(log_axis(x_lo, x_hi), y_lo..y_hi)?;
    chart
        .configure_mesh()
        .x_desc(s.axis.label())
        .y_desc(format!("{} %", metric_name(s.metric)))
        .label_style((FONT, 13))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    let grey = RGBColor(110, 110, 110);
    let red = RGBColor(200, 30, 30);
    chart.draw_series(s.points.iter().map(|p| ErrorBar::new_vertical(p.x, p.y - p.y_std, p.y, p.y + p.y_std, grey.stroke_width(1), 8)))?;
    chart.draw_series(
        s.points.iter().enumerate().filter(|(i, _)| !s.front.contains(i)).map(|(_, p)| Circle::new((p.x, p.y), 5, grey.filled())),
    )?;
    let front: Vec<(f64, f64)> = s.front.iter().map(|&i| (s.points[i].x, s.points[i].y)).collect();
    chart
        .draw_series(LineSeries::new(front.clone(), red.stroke_width(2)))?
        .label("Pareto front (fewer cost, higher score)")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], red.stroke_width(2)));
    chart.draw_series(front.iter().map(|&xy| Circle::new(xy, 6, red.filled())))?;
    chart.draw_series(s.points.iter().enumerate().map(|(i, p)| {
        let on_front = s.front.contains(&i);
        let style = TextStyle::from((FONT, 13).into_font()).color(if on_front { &red } else { &grey });
        EmptyElement::at((p.x, p.y)) + Text::new(p.label(), (8, -16), style)
    }))?;
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .label_font((FONT, 13))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

/// `test accuracy`, `validation macro-F1`, …
fn metric_name(m: crate::report::Metric) -> String {
    format!("{} {}", m.split().name(), m.label())
}

/// 1250000 → 1.25M, 4500 → 4.5k, 0.25 → 0.25.
fn compact(x: f64) -> String {
    let (value, unit) = if x >= 1e6 {
        (x / 1e6, "M")
    } else if x >= 1e3 {
        (x / 1e3, "k")
    } else {
        (x, "")
    };
    let digits = format!("{value:.3}");
    format!("{}{unit}", digits.trim_end_matches('0').trim_end_matches('.'))
}

fn bars<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, b: &Bars) -> Drawn
where
    DB::ErrorType: 'static,
{
    let n = b.bars.len();
    let hi = b.bars.iter().map(|x| x.mean + x.std).fold(0.0, f64::max);
    let lo = b.bars.iter().map(|x| x.mean - x.std).fold(f64::INFINITY, f64::min);
    // Bars start at a round value below the lowest score, so small differences stay visible.
    let x_lo = ((lo - 0.15 * (hi - lo).max(1.0)) / 5.0).floor().max(0.0) * 5.0;
    // Room on the right for the value printed after each error bar.
    let x_hi = hi + 0.1 * (hi - x_lo).max(1.0);
    let labels: Vec<String> = b.bars.iter().map(|x| x.label.clone()).collect();
    let longest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(4) as u32;
    let mut chart = ChartBuilder::on(area)
        .caption(format!("{} ({}): {}", b.dataset, b.table.name(), metric_name(b.metric)), (FONT, 20))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size((8 * longest).clamp(80, 320))
        .build_cartesian_2d(x_lo..x_hi, categories(labels, true))?;
    chart
        .configure_mesh()
        .x_desc(format!("{} %, mean ± std over seeds", metric_name(b.metric)))
        .label_style((FONT, 13))
        .disable_y_mesh()
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    let blue = RGBColor(40, 100, 170);
    let y = |i: usize| (n - 1 - i) as f64; // as `categories` with top_down
    chart.draw_series(
        b.bars.iter().enumerate().map(|(i, bar)| Rectangle::new([(x_lo, y(i) - 0.32), (bar.mean, y(i) + 0.32)], blue.mix(0.75).filled())),
    )?;
    chart.draw_series(
        b.bars
            .iter()
            .enumerate()
            .map(|(i, bar)| ErrorBar::new_horizontal(y(i), bar.mean - bar.std, bar.mean, bar.mean + bar.std, BLACK.stroke_width(1), 10)),
    )?;
    chart.draw_series(b.bars.iter().enumerate().map(|(i, bar)| {
        EmptyElement::at((bar.mean + bar.std, y(i))) + Text::new(format!("{:.2}", bar.mean), (6, -7), (FONT, 12).into_font())
    }))?;
    Ok(())
}

fn curves<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, c: &Curves) -> Drawn
where
    DB::ErrorType: 'static,
{
    let panels = root.split_evenly((1, 2));
    let epochs = c.curves.iter().flat_map(|k| k.train_loss.iter().map(|p| p.0 as i32)).fold(1, i32::max);
    type Series<'a> = (&'a str, &'a str, Box<dyn Fn(&crate::figures::Curve) -> &Vec<(f64, f64)> + 'a>);
    let panels_spec: [Series; 2] = [
        ("training loss", "mean training loss (all weighted terms)", Box::new(|k| &k.train_loss)),
        ("validation macro-F1 %", "validation macro-F1 %", Box::new(|k| &k.val_macro_f1)),
    ];
    // Loss falls and F1 rises: keep each legend where the curves end up least.
    let legend_at = [SeriesLabelPosition::UpperRight, SeriesLabelPosition::LowerRight];
    for ((area, (title, y_desc, values)), legend) in panels.iter().zip(panels_spec).zip(legend_at) {
        let ys = c.curves.iter().flat_map(|k| values(k).iter().map(|p| p.1));
        let (lo, hi) = ys.clone().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), y| (a.min(y), b.max(y)));
        let (lo, hi) = padded(lo, hi, 0.06);
        let mut chart = ChartBuilder::on(area)
            .caption(format!("{}: {title} per epoch", c.dataset), (FONT, 20))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(60)
            .build_cartesian_2d(0..epochs + 1, lo..hi)?;
        chart.configure_mesh().x_desc("epoch").y_desc(y_desc).label_style((FONT, 13)).light_line_style(WHITE.mix(0.0)).draw()?;
        for (i, k) in c.curves.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            chart
                .draw_series(LineSeries::new(values(k).iter().map(|&(e, v)| (e as i32, v)), color.stroke_width(2)).point_size(3))?
                .label(format!("{} ({} run{})", k.label, k.runs, if k.runs == 1 { "" } else { "s" }))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
        }
        chart
            .configure_series_labels()
            .position(legend)
            .label_font((FONT, 12))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
    }
    Ok(())
}

fn confusion<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, c: &ConfusionMap) -> Drawn
where
    DB::ErrorType: 'static,
{
    let n = c.classes.len().max(1);
    let shares = c.row_shares();
    let longest = c.classes.iter().map(|l| l.chars().count()).max().unwrap_or(4) as u32;
    let mut chart = ChartBuilder::on(root)
        .caption(
            format!(
                "{}: {} — test confusion, {} run{}",
                c.dataset,
                crate::figures::label(&c.model, &c.method),
                c.runs,
                if c.runs == 1 { "" } else { "s" }
            ),
            (FONT, 18),
        )
        .margin(12)
        .x_label_area_size((7 * longest).clamp(50, 200))
        .y_label_area_size((8 * longest).clamp(60, 220))
        .build_cartesian_2d(categories(c.classes.clone(), false), categories(c.classes.clone(), true))?;
    // True class 0 on the top row.
    let row = |t: usize| (n - 1 - t) as f64;
    chart
        .configure_mesh()
        .x_desc("predicted class")
        .y_desc("true class (row shares; counts in cells)")
        .x_label_style((FONT, 12).into_font().transform(FontTransform::Rotate90))
        .label_style((FONT, 12))
        .disable_mesh()
        .draw()?;
    chart.draw_series(shares.iter().enumerate().flat_map(|(t, r)| {
        r.iter().enumerate().map(move |(p, &s)| {
            // White (0) to dark blue (1).
            let shade = |full: u8| (255.0 - s * (255.0 - full as f64)).round() as u8;
            Rectangle::new(
                [(p as f64 - 0.5, row(t) - 0.5), (p as f64 + 0.5, row(t) + 0.5)],
                RGBColor(shade(20), shade(70), shade(150)).filled(),
            )
        })
    }))?;
    if n <= 24 {
        chart.draw_series(c.counts.iter().enumerate().flat_map(|(t, r)| {
            let shares = &shares;
            r.iter().enumerate().map(move |(p, &count)| {
                let color: &'static RGBColor = if shares[t][p] > 0.55 { &WHITE } else { &BLACK };
                let style = TextStyle::from((FONT, 12).into_font()).color(color).pos(plotters::style::text_anchor::Pos::new(
                    plotters::style::text_anchor::HPos::Center,
                    plotters::style::text_anchor::VPos::Center,
                ));
                Text::new(count.to_string(), (p as f64, row(t)), style)
            })
        }))?;
    }
    Ok(())
}
