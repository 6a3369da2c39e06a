//! Pictures: SVG charts drawn with plotters (SVG backend only). Pure
//! computations on domain values; no I/O.

use innolab_kit::Error;
use plotters::prelude::*;

use crate::domain::{CapacityFields, IndicatorFields, indicator_day};

/// Width and height of a chart, in pixels.
const SIZE: (u32, u32) = (720, 400);

fn drawing<E: std::error::Error + Send + Sync>(e: DrawingAreaErrorKind<E>) -> Error {
    Error::Internal(format!("drawing a chart: {e}"))
}

/// The date of a Julian day number, for axis labels.
fn date_label(day: f64) -> String {
    // Axis positions are whole days within the chart's range.
    let day = day.round() as i32;
    time::Date::from_julian_day(day)
        .map(|d| d.to_string())
        .unwrap_or_default()
}

/// An indicator's measurements (one dot each, joined by a line) against its
/// baseline (a triangle), its target (a cross) and the straight line between
/// them, the path ON_TRACK is judged against.
pub fn indicator_history(title: &str, fields: &IndicatorFields) -> Result<String, Error> {
    let (Some(baseline), Some(target)) = (fields.baseline, fields.target) else {
        return Err(Error::Internal(
            "indicator without baseline or target".into(),
        ));
    };
    let base = (indicator_day(baseline.date) as f64, baseline.value);
    let goal = (indicator_day(target.date) as f64, target.value);
    let points: Vec<(f64, f64)> = fields
        .measurements
        .iter()
        .map(|m| (indicator_day(m.date) as f64, m.value))
        .collect();
    let all = || points.iter().chain([&base, &goal]);
    let (mut x0, mut x1) = bounds(all().map(|p| p.0));
    let (mut y0, mut y1) = bounds(all().map(|p| p.1));
    let pad_x = ((x1 - x0) * 0.05).max(1.0);
    let pad_y = ((y1 - y0) * 0.1).max(1.0);
    x0 -= pad_x;
    x1 += pad_x;
    y0 -= pad_y;
    y1 += pad_y;

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(drawing)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 20))
            .margin(16)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(drawing)?;
        chart
            .configure_mesh()
            .x_labels(6)
            .x_label_formatter(&|x| date_label(*x))
            .y_desc(fields.measure.as_str())
            .draw()
            .map_err(drawing)?;
        chart
            .draw_series(LineSeries::new([base, goal], BLUE.mix(0.5)))
            .map_err(drawing)?;
        chart
            .draw_series(std::iter::once(TriangleMarker::new(
                base,
                8,
                BLACK.filled(),
            )))
            .map_err(drawing)?;
        chart
            .draw_series(std::iter::once(Cross::new(goal, 8, RED.stroke_width(3))))
            .map_err(drawing)?;
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                GREEN.stroke_width(2),
            ))
            .map_err(drawing)?;
        chart
            .draw_series(points.iter().map(|p| Circle::new(*p, 4, GREEN.filled())))
            .map_err(drawing)?;
        root.present().map_err(drawing)?;
    }
    Ok(svg)
}

fn bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    })
}

/// Colours of the first and the overlaid round.
pub const ROUND_COLOURS: [RGBColor; 2] = [RGBColor(31, 119, 180), RGBColor(255, 127, 14)];

/// Short axis labels of the 17 items, in `CapacityFields::items` order.
const ITEM_LABELS: [&str; 17] = [
    "Pur-I", "Pur-O", "Pur-S", "Pot-I", "Pot-O", "Pot-S", "Cap-I", "Cap-O", "Cap-S", "Imp-I",
    "Imp-O", "Imp-S", "D1", "D2", "D3", "D4", "D5",
];

/// A capacity profile: one bar per scored item (the framework's dimensions
/// at each level, then the Declaration's principles), one colour per round,
/// the rounds side by side. `rounds` holds one or two (label, fields).
pub fn capacity_profile(
    title: &str,
    rounds: &[(String, &CapacityFields)],
) -> Result<String, Error> {
    let items = ITEM_LABELS.len();
    let width = 0.8 / rounds.len().max(1) as f64;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 420)).into_drawing_area();
        root.fill(&WHITE).map_err(drawing)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 20))
            .margin(16)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(0f64..items as f64, 0f64..5.5)
            .map_err(drawing)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .y_labels(6)
            .y_desc("score (1 nascent .. 5 leading)")
            .draw()
            .map_err(drawing)?;
        for (r, (label, fields)) in rounds.iter().enumerate() {
            let colour = ROUND_COLOURS[r % ROUND_COLOURS.len()];
            let bars: Vec<Rectangle<(f64, f64)>> = fields
                .items()
                .into_iter()
                .enumerate()
                .filter(|(_, (_, s))| s.score > 0)
                .map(|(i, (_, s))| {
                    let x0 = i as f64 + 0.1 + r as f64 * width;
                    Rectangle::new(
                        [(x0, 0.0), (x0 + width, f64::from(s.score))],
                        colour.filled(),
                    )
                })
                .collect();
            chart
                .draw_series(bars)
                .map_err(drawing)?
                .label(label.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(6))
                });
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(drawing)?;
        // Item names under their bars.
        for (i, label) in ITEM_LABELS.iter().enumerate() {
            let (x, y) = chart.backend_coord(&(i as f64 + 0.5, 0.0));
            root.draw(&Text::new(
                *label,
                (x - 14, y + 8),
                ("sans-serif", 12).into_font(),
            ))
            .map_err(drawing)?;
        }
        root.present().map_err(drawing)?;
    }
    Ok(svg)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::domain::{Direction, Measurement, Point, ResultType, Score};
    use time::macros::date;

    #[test]
    fn indicator_history_has_a_dot_per_measurement() {
        let fields = IndicatorFields {
            title: "Days".into(),
            result_type: Some(ResultType::Outcome),
            measure: "days".into(),
            direction: Some(Direction::LowerIsBetter),
            baseline: Some(Point {
                value: 60.0,
                date: date!(2024 - 01 - 01),
            }),
            target: Some(Point {
                value: 30.0,
                date: date!(2025 - 01 - 01),
            }),
            measurements: (1..=24)
                .map(|n| Measurement {
                    date: date!(2024 - 01 - 01) + time::Duration::days(n * 15),
                    value: 60.0 - n as f64,
                    source: String::new(),
                    note: String::new(),
                })
                .collect(),
        };
        let svg = indicator_history("Days & <nights>", &fields).unwrap();
        let doc = roxmltree::Document::parse(&svg).expect("well-formed");
        let dots = doc
            .descendants()
            .filter(|n| n.has_tag_name("circle"))
            .count();
        assert_eq!(dots, 24);
    }

    #[test]
    fn capacity_profile_has_a_bar_per_scored_item_and_round() {
        let mut a = CapacityFields::default();
        let mut b = CapacityFields::default();
        let s = |score| Score {
            score,
            evidence: "e".into(),
        };
        a.purpose.individual = s(2);
        a.impact.system = s(3);
        b.purpose.individual = s(4);
        b.impact.system = s(4);
        b.declaration.diffuse_lessons = s(5);
        let svg = capacity_profile("Romania", &[("2021".into(), &a), ("2023".into(), &b)]).unwrap();
        let doc = roxmltree::Document::parse(&svg).expect("well-formed");
        let bars = |colour: RGBColor| {
            let hex = format!("#{:02X}{:02X}{:02X}", colour.0, colour.1, colour.2);
            doc.descendants()
                .filter(|n| n.has_tag_name("rect"))
                .filter(|n| {
                    n.attribute("fill")
                        .is_some_and(|f| f.eq_ignore_ascii_case(&hex))
                })
                .count()
        };
        assert_eq!(bars(ROUND_COLOURS[0]), 2);
        assert_eq!(bars(ROUND_COLOURS[1]), 3);
    }
}
