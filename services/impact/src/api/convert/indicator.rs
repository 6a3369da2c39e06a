//! Indicators: protobuf <-> domain.

use innolab_kit::api::{date_in, date_out, merge, timestamp};
use innolab_kit::{Error, Violations};
use innolab_proto::innolab::impact::v1 as pb;
use prost_types::FieldMask;

use super::{direction_in, direction_out, progress_status_out, result_type_in, result_type_out};
use crate::domain::{self, IndicatorFields, Measurement, Point};

fn point_in(field: &str, p: Option<pb::Point>) -> Result<Option<Point>, Error> {
    let Some(p) = p else {
        return Ok(None);
    };
    let date = date_in(&format!("{field}.date"), p.date)?
        .ok_or_else(|| Error::invalid(format!("{field}.date"), "is required"))?;
    Ok(Some(Point {
        value: p.value,
        date,
    }))
}

fn point_out(p: Option<Point>) -> Option<pb::Point> {
    p.map(|p| pb::Point {
        value: p.value,
        date: date_out(Some(p.date)),
    })
}

fn measurement_out(m: Measurement) -> pb::Measurement {
    pb::Measurement {
        date: date_out(Some(m.date)),
        value: m.value,
        source: m.source,
        note: m.note,
    }
}

/// The validated fields of an indicator; every wrong field is reported.
pub(crate) fn indicator_fields(i: pb::Indicator) -> Result<IndicatorFields, Error> {
    let mut v = Violations::new();
    let result_type = v
        .merge(result_type_in("result_type", i.result_type))
        .flatten();
    let direction = v.merge(direction_in("direction", i.direction)).flatten();
    let baseline = v.merge(point_in("baseline", i.baseline)).flatten();
    let target = v.merge(point_in("target", i.target)).flatten();
    let measurements = i
        .measurements
        .into_iter()
        .enumerate()
        .filter_map(|(n, m)| {
            let field = format!("measurements[{n}].date");
            let date = v.merge(
                date_in(&field, m.date)
                    .and_then(|d| d.ok_or_else(|| Error::invalid(field.clone(), "is required"))),
            )?;
            Some(Measurement {
                date,
                value: m.value,
                source: m.source,
                note: m.note,
            })
        })
        .collect();
    let fields = IndicatorFields {
        title: i.title,
        result_type,
        measure: i.measure,
        direction,
        baseline,
        target,
        measurements,
    };
    // Conversion and validation violations are reported together.
    let validated = v.merge(fields.validate());
    v.finish()?;
    validated.ok_or_else(|| Error::Internal("validated indicator is missing".into()))
}

pub(crate) fn indicator_pb(i: domain::Indicator) -> pb::Indicator {
    let name = i.name();
    let progress = i.fields.progress();
    let f = i.fields;
    pb::Indicator {
        name,
        title: f.title,
        result_type: result_type_out(f.result_type),
        measure: f.measure,
        direction: direction_out(f.direction),
        baseline: point_out(f.baseline),
        target: point_out(f.target),
        measurements: f.measurements.into_iter().map(measurement_out).collect(),
        progress: Some(pb::Progress {
            status: progress_status_out(Some(progress.status)),
            fraction: progress.fraction,
            expected_fraction: progress.expected_fraction,
            latest: progress.latest.map(measurement_out),
        }),
        etag: i.meta.etag(),
        create_time: timestamp(i.meta.create_time),
        update_time: timestamp(i.meta.update_time),
    }
}

/// `current` with the fields `mask` names copied from `new` (AIP-134).
pub(crate) fn merge_indicator(
    current: pb::Indicator,
    new: pb::Indicator,
    mask: Option<FieldMask>,
) -> Result<pb::Indicator, Error> {
    merge(
        current,
        new,
        mask,
        &[
            "title",
            "result_type",
            "measure",
            "direction",
            "baseline",
            "target",
            "measurements",
        ],
        |cur, new, path| match path {
            "title" => cur.title = new.title.clone(),
            "result_type" => cur.result_type = new.result_type,
            "measure" => cur.measure = new.measure.clone(),
            "direction" => cur.direction = new.direction,
            "baseline" => cur.baseline = new.baseline,
            "target" => cur.target = new.target,
            _ => cur.measurements = new.measurements.clone(),
        },
    )
}
