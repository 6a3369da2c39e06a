//! Assessments: protobuf <-> domain.

use innolab_kit::api::{merge, timestamp};
use innolab_kit::{Error, Violations};
use innolab_proto::innolab::impact::v1 as pb;
use prost_types::FieldMask;

use super::{public_value_in, public_value_out, review_out, state_out};
use crate::domain::rollup::DAC_CRITERIA;
use crate::domain::{
    self, AssessmentFields, CriterionRating, DacCriteria, LogicModel, PublicValueOutcome, Sroi,
    SroiOutcome,
};

fn criterion_in(c: Option<pb::CriterionRating>) -> CriterionRating {
    c.map(|c| CriterionRating {
        rating: c.rating,
        rationale: c.rationale,
    })
    .unwrap_or_default()
}

fn criterion_out(c: CriterionRating) -> Option<pb::CriterionRating> {
    Some(pb::CriterionRating {
        rating: c.rating,
        rationale: c.rationale,
    })
}

/// The validated fields of an assessment; every wrong field is reported.
pub(crate) fn assessment_fields(a: pb::Assessment) -> Result<AssessmentFields, Error> {
    let mut v = Violations::new();
    let public_value_outcomes = a
        .public_value_outcomes
        .iter()
        .enumerate()
        .filter_map(|(i, &n)| v.merge(public_value_in(&format!("public_value_outcomes[{i}]"), n)))
        .collect();
    let lm = a.logic_model.unwrap_or_default();
    let dac = a.dac.unwrap_or_default();
    let fields = AssessmentFields {
        initiative: a.initiative,
        title: a.title,
        logic_model: LogicModel {
            inputs: lm.inputs,
            activities: lm.activities,
            outputs: lm.outputs,
            short_term_outcomes: lm.short_term_outcomes,
            medium_term_outcomes: lm.medium_term_outcomes,
            long_term_outcomes: lm.long_term_outcomes,
            impact: lm.impact,
        },
        evaluation_method: a.evaluation_method,
        nesta_level: a.nesta_level,
        maryland_level: a.maryland_level,
        dac: DacCriteria {
            relevance: criterion_in(dac.relevance),
            coherence: criterion_in(dac.coherence),
            effectiveness: criterion_in(dac.effectiveness),
            efficiency: criterion_in(dac.efficiency),
            impact: criterion_in(dac.impact),
            sustainability: criterion_in(dac.sustainability),
        },
        public_value_outcomes,
        findings: a.findings,
        lessons: a.lessons,
        evaluators: a.evaluators,
        sroi: a.sroi.map(|s| Sroi {
            investment: s.investment,
            currency: s.currency,
            discount_rate: s.discount_rate,
            outcomes: s
                .outcomes
                .into_iter()
                .map(|o| SroiOutcome {
                    description: o.description,
                    quantity: o.quantity,
                    financial_proxy: o.financial_proxy,
                    proxy_source: o.proxy_source,
                    deadweight: o.deadweight,
                    attribution: o.attribution,
                    drop_off: o.drop_off,
                    displacement: o.displacement,
                    duration_years: o.duration_years,
                })
                .collect(),
        }),
    };
    // Conversion and validation violations are reported together.
    let validated = v.merge(fields.validate());
    v.finish()?;
    validated.ok_or_else(|| Error::Internal("validated assessment is missing".into()))
}

fn event_pb(e: &domain::AssessmentEvent) -> pb::AssessmentEvent {
    pb::AssessmentEvent {
        from_state: state_out(Some(e.from_state)),
        to_state: state_out(Some(e.to_state)),
        decided_by: e.decision.decided_by.clone(),
        decision: review_out(e.review),
        reason: e.decision.reason.clone(),
        time: timestamp(e.time),
    }
}

pub(crate) fn assessment_pb(a: domain::Assessment) -> pb::Assessment {
    let name = a.name();
    let sign_off = a.sign_off().map(event_pb);
    let sroi_result = a.fields.sroi.as_ref().map(|s| {
        let r = s.compute();
        pb::SroiResult {
            outcomes: r
                .outcomes
                .into_iter()
                .zip(0..)
                .map(|(o, index)| pb::SroiOutcomeValue {
                    index,
                    gross_value: o.gross_value,
                    impact_value: o.impact_value,
                    yearly_values: o.yearly_values,
                    present_value: o.present_value,
                })
                .collect(),
            total_present_value: r.total_present_value,
            net_present_value: r.net_present_value,
            ratio: r.ratio,
            steps: r.steps,
        }
    });
    let f = a.fields;
    pb::Assessment {
        name,
        initiative: f.initiative,
        title: f.title,
        logic_model: Some(pb::LogicModel {
            inputs: f.logic_model.inputs,
            activities: f.logic_model.activities,
            outputs: f.logic_model.outputs,
            short_term_outcomes: f.logic_model.short_term_outcomes,
            medium_term_outcomes: f.logic_model.medium_term_outcomes,
            long_term_outcomes: f.logic_model.long_term_outcomes,
            impact: f.logic_model.impact,
        }),
        evaluation_method: f.evaluation_method,
        nesta_level: f.nesta_level,
        maryland_level: f.maryland_level,
        dac: Some(pb::DacCriteria {
            relevance: criterion_out(f.dac.relevance),
            coherence: criterion_out(f.dac.coherence),
            effectiveness: criterion_out(f.dac.effectiveness),
            efficiency: criterion_out(f.dac.efficiency),
            impact: criterion_out(f.dac.impact),
            sustainability: criterion_out(f.dac.sustainability),
        }),
        public_value_outcomes: f
            .public_value_outcomes
            .into_iter()
            .map(|o| public_value_out(Some(o)))
            .collect(),
        findings: f.findings,
        lessons: f.lessons,
        evaluators: f.evaluators,
        sroi: f.sroi.map(|s| pb::Sroi {
            investment: s.investment,
            currency: s.currency,
            discount_rate: s.discount_rate,
            outcomes: s
                .outcomes
                .into_iter()
                .map(|o| pb::SroiOutcome {
                    description: o.description,
                    quantity: o.quantity,
                    financial_proxy: o.financial_proxy,
                    proxy_source: o.proxy_source,
                    deadweight: o.deadweight,
                    attribution: o.attribution,
                    drop_off: o.drop_off,
                    displacement: o.displacement,
                    duration_years: o.duration_years,
                })
                .collect(),
        }),
        sroi_result,
        state: state_out(Some(a.state)),
        sign_off,
        history: a.history.iter().map(event_pb).collect(),
        etag: a.meta.etag(),
        create_time: timestamp(a.meta.create_time),
        update_time: timestamp(a.meta.update_time),
    }
}

/// `current` with the fields `mask` names copied from `new` (AIP-134).
pub(crate) fn merge_assessment(
    current: pb::Assessment,
    new: pb::Assessment,
    mask: Option<FieldMask>,
) -> Result<pb::Assessment, Error> {
    merge(
        current,
        new,
        mask,
        &[
            "initiative",
            "title",
            "logic_model",
            "evaluation_method",
            "nesta_level",
            "maryland_level",
            "dac",
            "public_value_outcomes",
            "findings",
            "lessons",
            "evaluators",
            "sroi",
        ],
        |cur, new, path| match path {
            "initiative" => cur.initiative = new.initiative.clone(),
            "title" => cur.title = new.title.clone(),
            "logic_model" => cur.logic_model = new.logic_model.clone(),
            "evaluation_method" => cur.evaluation_method = new.evaluation_method.clone(),
            "nesta_level" => cur.nesta_level = new.nesta_level,
            "maryland_level" => cur.maryland_level = new.maryland_level,
            "dac" => cur.dac = new.dac.clone(),
            "public_value_outcomes" => {
                cur.public_value_outcomes = new.public_value_outcomes.clone()
            }
            "findings" => cur.findings = new.findings.clone(),
            "lessons" => cur.lessons = new.lessons.clone(),
            "evaluators" => cur.evaluators = new.evaluators.clone(),
            _ => cur.sroi = new.sroi.clone(),
        },
    )
}

/// A rollup as the summary of assessments it counts.
pub(crate) fn rollup_pb(rollup: domain::Rollup) -> pb::SummarizeAssessmentsResponse {
    let levels = |counts: &[i64]| {
        counts
            .iter()
            .zip(0..)
            .map(|(&count, level)| pb::LevelCount { level, count })
            .collect::<Vec<_>>()
    };
    pb::SummarizeAssessmentsResponse {
        assessment_count: rollup.assessment_count,
        nesta_levels: levels(&rollup.nesta),
        maryland_levels: levels(&rollup.maryland),
        dac: DAC_CRITERIA
            .iter()
            .zip(rollup.dac.iter())
            .map(|(criterion, counts)| pb::CriterionDistribution {
                criterion: (*criterion).to_string(),
                ratings: levels(counts),
            })
            .collect(),
        public_value_outcomes: PublicValueOutcome::ALL
            .iter()
            .zip(rollup.public_value.iter())
            .map(|(outcome, &count)| pb::PublicValueCount {
                outcome: public_value_out(Some(*outcome)),
                count,
            })
            .collect(),
        indicator_progress: Some(pb::ProgressCounts {
            total: rollup.progress.total(),
            no_data: rollup.progress.no_data,
            off_track: rollup.progress.off_track,
            on_track: rollup.progress.on_track,
            achieved: rollup.progress.achieved,
        }),
    }
}
