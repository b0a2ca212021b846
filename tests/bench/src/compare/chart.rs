//! Bar charts of the headline figures, as SVG (plotters' SVG backend only: no fonts or bitmap
//! libraries to install, and the files diff and render on any forge).

use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// One bar: label, value, whether it is one of ours (drawn in a different colour).
#[derive(Debug, Clone)]
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub ours: bool,
}

const OURS: RGBColor = RGBColor(0x1f, 0x77, 0xb4);
const PEER: RGBColor = RGBColor(0xd6, 0x27, 0x28);

fn short(value: f64) -> String {
    match value.abs() {
        v if v >= 100_000.0 => format!("{:.0}k", value / 1000.0),
        v if v >= 100.0 => format!("{value:.0}"),
        v if v >= 1.0 => format!("{value:.2}"),
        _ => format!("{value:.3}"),
    }
}

/// Draws `bars` to `path`, titled `title`, the value axis described by `unit`. A logarithmic
/// axis (`log`) keeps small bars visible next to bars a hundred times larger.
pub fn bars(path: &Path, title: &str, unit: &str, bars: &[Bar], log: bool) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let root = SVGBackend::new(path, (760, 420)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let finite = || {
        bars.iter()
            .map(|b| b.value)
            .filter(|v| v.is_finite() && *v > 0.0)
    };
    let top = finite().fold(0.0, f64::max).max(f64::MIN_POSITIVE);
    // Segments are inclusive of the range's end: n bars need 0..n-1.
    let last = (bars.len().max(1) - 1) as u32;
    let label_of = |v: &SegmentValue<u32>| match v {
        SegmentValue::CenterOf(i) => bars
            .get(*i as usize)
            .map(|b| b.label.clone())
            .unwrap_or_default(),
        _ => String::new(),
    };
    let value_style = ("sans-serif", 13)
        .into_font()
        .into_text_style(&root)
        .pos(Pos::new(HPos::Center, VPos::Bottom));
    let mut builder = ChartBuilder::on(&root);
    builder
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(72);
    let x = (0u32..last).into_segmented();
    if log {
        let bottom = finite().fold(top, f64::min) / 4.0;
        let mut chart = builder
            .build_cartesian_2d(x, (bottom..top * 4.0).log_scale())
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(bars.len())
            .x_label_formatter(&label_of)
            .y_desc(format!("{unit} (log scale)"))
            .y_label_formatter(&|v| short(*v))
            .draw()
            .map_err(|e| err(&e))?;
        chart
            .draw_series(bars.iter().enumerate().map(|(i, b)| {
                let i = i as u32;
                let color = if b.ours { OURS } else { PEER };
                let mut bar = Rectangle::new(
                    [
                        (SegmentValue::Exact(i), bottom),
                        (SegmentValue::Exact(i + 1), b.value.max(bottom)),
                    ],
                    color.filled(),
                );
                bar.set_margin(0, 0, 14, 14);
                bar
            }))
            .map_err(|e| err(&e))?;
        chart
            .draw_series(bars.iter().enumerate().map(|(i, b)| {
                let at = (SegmentValue::CenterOf(i as u32), b.value.max(bottom));
                Text::new(short(b.value), at, value_style.clone())
            }))
            .map_err(|e| err(&e))?;
    } else {
        let mut chart = builder
            .build_cartesian_2d(x, 0f64..top * 1.15)
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(bars.len())
            .x_label_formatter(&label_of)
            .y_desc(unit)
            .y_label_formatter(&|v| short(*v))
            .draw()
            .map_err(|e| err(&e))?;
        for (ours, color) in [(true, OURS), (false, PEER)] {
            let data = bars
                .iter()
                .enumerate()
                .filter(|(_, b)| b.ours == ours)
                .map(|(i, b)| (i as u32, b.value));
            chart
                .draw_series(
                    Histogram::vertical(&chart)
                        .style(color.filled())
                        .margin(14)
                        .data(data),
                )
                .map_err(|e| err(&e))?;
        }
        chart
            .draw_series(bars.iter().enumerate().map(|(i, b)| {
                let at = (SegmentValue::CenterOf(i as u32), b.value);
                Text::new(short(b.value), at, value_style.clone())
            }))
            .map_err(|e| err(&e))?;
    }
    root.present().map_err(|e| err(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_an_svg_with_every_label() {
        let dir = std::env::temp_dir().join(format!("gif-chat-chart-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("t.svg");
        let data = [("mio", 512.0, true), ("node", 9000.0, false)].map(|(l, v, o)| Bar {
            label: l.into(),
            value: v,
            ours: o,
        });
        for log in [false, true] {
            assert_eq!(
                bars(&path, "RSS per connection", "bytes", &data, log),
                Ok(())
            );
            let svg = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(svg.starts_with("<svg"), "{svg:.80}");
            for text in ["mio", "node", "RSS per connection", "9000", "512"] {
                assert!(svg.contains(text), "{text} missing (log {log})");
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
