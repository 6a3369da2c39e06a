//! Capacity assessments (rounds): protobuf <-> domain.

use innolab_kit::api::{date_in, date_out, merge, timestamp};
use innolab_kit::{Error, Violations};
use innolab_proto::innolab::impact::v1 as pb;
use prost_types::FieldMask;

use crate::domain::{self, CapacityFields};

fn score_in(s: Option<pb::CapacityScore>) -> domain::Score {
    s.map(|s| domain::Score {
        score: s.score,
        evidence: s.evidence,
    })
    .unwrap_or_default()
}

fn score_out(s: domain::Score) -> Option<pb::CapacityScore> {
    Some(pb::CapacityScore {
        score: s.score,
        evidence: s.evidence,
    })
}

fn levels_in(l: Option<pb::LevelScores>) -> domain::LevelScores {
    let l = l.unwrap_or_default();
    domain::LevelScores {
        individual: score_in(l.individual),
        organizational: score_in(l.organizational),
        system: score_in(l.system),
    }
}

fn levels_out(l: domain::LevelScores) -> Option<pb::LevelScores> {
    Some(pb::LevelScores {
        individual: score_out(l.individual),
        organizational: score_out(l.organizational),
        system: score_out(l.system),
    })
}

/// The validated fields of a round; every wrong field is reported.
pub(crate) fn capacity_fields(c: pb::CapacityAssessment) -> Result<CapacityFields, Error> {
    let mut v = Violations::new();
    let assess_date = v.merge(date_in("assess_date", c.assess_date)).flatten();
    let d = c.declaration.unwrap_or_default();
    let fields = CapacityFields {
        subject: c.subject,
        round: c.round,
        assess_date,
        purpose: levels_in(c.purpose),
        potential: levels_in(c.potential),
        capacity: levels_in(c.capacity),
        impact: levels_in(c.impact),
        declaration: domain::DeclarationScores {
            embrace_and_enhance: score_in(d.embrace_and_enhance),
            encourage_and_equip: score_in(d.encourage_and_equip),
            cultivate_partnerships: score_in(d.cultivate_partnerships),
            support_exploration: score_in(d.support_exploration),
            diffuse_lessons: score_in(d.diffuse_lessons),
        },
        assessors: c.assessors,
    };
    let validated = v.merge(fields.validate());
    v.finish()?;
    validated.ok_or_else(|| Error::Internal("validated round is missing".into()))
}

pub(crate) fn capacity_pb(c: domain::CapacityAssessment) -> pb::CapacityAssessment {
    let name = c.name();
    let f = c.fields;
    let d = f.declaration;
    pb::CapacityAssessment {
        name,
        subject: f.subject,
        round: f.round,
        assess_date: date_out(f.assess_date),
        purpose: levels_out(f.purpose),
        potential: levels_out(f.potential),
        capacity: levels_out(f.capacity),
        impact: levels_out(f.impact),
        declaration: Some(pb::DeclarationScores {
            embrace_and_enhance: score_out(d.embrace_and_enhance),
            encourage_and_equip: score_out(d.encourage_and_equip),
            cultivate_partnerships: score_out(d.cultivate_partnerships),
            support_exploration: score_out(d.support_exploration),
            diffuse_lessons: score_out(d.diffuse_lessons),
        }),
        assessors: f.assessors,
        etag: c.meta.etag(),
        create_time: timestamp(c.meta.create_time),
        update_time: timestamp(c.meta.update_time),
    }
}

/// `current` with the fields `mask` names copied from `new` (AIP-134).
pub(crate) fn merge_capacity(
    current: pb::CapacityAssessment,
    new: pb::CapacityAssessment,
    mask: Option<FieldMask>,
) -> Result<pb::CapacityAssessment, Error> {
    merge(
        current,
        new,
        mask,
        &[
            "subject",
            "round",
            "assess_date",
            "purpose",
            "potential",
            "capacity",
            "impact",
            "declaration",
            "assessors",
        ],
        |cur, new, path| match path {
            "subject" => cur.subject = new.subject.clone(),
            "round" => cur.round = new.round.clone(),
            "assess_date" => cur.assess_date = new.assess_date,
            "purpose" => cur.purpose = new.purpose.clone(),
            "potential" => cur.potential = new.potential.clone(),
            "capacity" => cur.capacity = new.capacity.clone(),
            "impact" => cur.impact = new.impact.clone(),
            "declaration" => cur.declaration = new.declaration.clone(),
            _ => cur.assessors = new.assessors.clone(),
        },
    )
}

/// Two rounds and what changed between them.
pub(crate) fn comparison_pb(
    base: domain::CapacityAssessment,
    other: domain::CapacityAssessment,
    c: domain::Comparison,
) -> pb::CompareCapacityAssessmentsResponse {
    pb::CompareCapacityAssessmentsResponse {
        base: Some(capacity_pb(base)),
        other: Some(capacity_pb(other)),
        changes: c
            .changes
            .into_iter()
            .map(|s| pb::ScoreChange {
                item: s.item,
                base_score: s.base,
                other_score: s.other,
                change: s.change,
            })
            .collect(),
        improved: c.improved,
        declined: c.declined,
        unchanged: c.unchanged,
    }
}
