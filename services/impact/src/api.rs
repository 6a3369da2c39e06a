//! The gRPC API: protobuf <-> domain, and nothing else. The only module of the
//! service that knows generated types.

use innolab_kit::api::{
    ChangeStream, Pages, Reply, date_in, date_out, merge, reply, stream_changes, timestamp,
};
use innolab_kit::page::PageTokens;
use innolab_kit::{Error, Violations};
use innolab_proto::innolab::impact::v1 as pb;
use pb::impact_service_server::ImpactService;
use tonic::Request;

use crate::chart;
use crate::domain::{
    self, Action, AssessmentFields, AssessmentQuery, AssessmentState, CapacityFields,
    CapacityQuery, CriterionRating, DacCriteria, Decision, DecisionFields, Direction,
    IndicatorFields, IndicatorQuery, LogicModel, Measurement, Point, ProgressStatus,
    PublicValueOutcome, ResultType, ReviewDecision, Sroi, SroiOutcome, Transition, check,
    rollup::DAC_CRITERIA,
};
use crate::store::{ChangeLog as _, Store};

/// The ImpactService implementation.
#[derive(Debug, Clone)]
pub struct ImpactApi {
    store: Store,
    pages: Pages,
}

impl ImpactApi {
    /// An API over `store`, signing page tokens with `tokens`.
    pub fn new(store: Store, tokens: PageTokens) -> Self {
        ImpactApi {
            store,
            pages: Pages::new(tokens),
        }
    }
}

/// The id in `name`, or INVALID_ARGUMENT naming `field`.
fn id(field: &str, name: &str, collection: &str) -> Result<String, Error> {
    check::resource_id(name, collection).map_err(|e| Error::invalid(field, e))
}

/// The (assessment, indicator) ids in an indicator's name.
fn indicator_ids(field: &str, name: &str) -> Result<(String, String), Error> {
    check::indicator_ids(name).map_err(|e| Error::invalid(field, e))
}

#[tonic::async_trait]
impl ImpactService for ImpactApi {
    type StreamChangesStream = ChangeStream;

    async fn stream_changes(
        &self,
        request: Request<pb::StreamChangesRequest>,
    ) -> Reply<Self::StreamChangesStream> {
        let r = request.into_inner();
        stream_changes(r.after_sequence, |after| {
            self.store.changes(after, r.follow)
        })
    }

    async fn create_assessment(
        &self,
        request: Request<pb::CreateAssessmentRequest>,
    ) -> Reply<pb::Assessment> {
        let r = request.into_inner();
        reply(
            async {
                let request_id = domain::request_id(&r.request_id)?;
                let a = r
                    .assessment
                    .ok_or_else(|| Error::invalid("assessment", "is required"))?;
                let fields = assessment_fields(a).map_err(|e| e.within("assessment"))?;
                let stored = self
                    .store
                    .create_assessment(&fields, request_id.as_deref())
                    .await?;
                Ok(assessment_pb(stored))
            }
            .await,
        )
    }

    async fn get_assessment(
        &self,
        request: Request<pb::GetAssessmentRequest>,
    ) -> Reply<pb::Assessment> {
        let r = request.into_inner();
        reply(
            async {
                let id = id("name", &r.name, "assessments")?;
                Ok(assessment_pb(self.store.get_assessment(&id).await?))
            }
            .await,
        )
    }

    async fn list_assessments(
        &self,
        request: Request<pb::ListAssessmentsRequest>,
    ) -> Reply<pb::ListAssessmentsResponse> {
        const METHOD: &str = "ListAssessments";
        let r = request.into_inner();
        reply(
            async {
                let query = AssessmentQuery::from_filter(&r.filter)?;
                let page = self
                    .pages
                    .request(METHOD, r.page_size, &r.page_token, &r.filter)?;
                let found = self.store.list_assessments(&query, &page).await?;
                Ok(pb::ListAssessmentsResponse {
                    next_page_token: self.pages.next_token(METHOD, &r.filter, &found),
                    assessments: found.items.into_iter().map(assessment_pb).collect(),
                })
            }
            .await,
        )
    }

    async fn update_assessment(
        &self,
        request: Request<pb::UpdateAssessmentRequest>,
    ) -> Reply<pb::Assessment> {
        let r = request.into_inner();
        reply(
            async {
                let new = r
                    .assessment
                    .ok_or_else(|| Error::invalid("assessment", "is required"))?;
                let id = id("assessment.name", &new.name, "assessments")?;
                let expected = domain::parse_etag(&new.etag).map_err(|e| e.within("assessment"))?;
                let current = assessment_pb(self.store.get_assessment(&id).await?);
                // Without an etag, the write still guards the revision it merged
                // on, so a concurrent change is ABORTED rather than overwritten.
                let expected = expected.or(domain::parse_etag(&current.etag)?);
                let merged = merge(
                    current,
                    new,
                    r.update_mask,
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
                        "evaluation_method" => {
                            cur.evaluation_method = new.evaluation_method.clone()
                        }
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
                )?;
                let fields = assessment_fields(merged).map_err(|e| e.within("assessment"))?;
                let stored = self.store.update_assessment(&id, expected, &fields).await?;
                Ok(assessment_pb(stored))
            }
            .await,
        )
    }

    async fn delete_assessment(
        &self,
        request: Request<pb::DeleteAssessmentRequest>,
    ) -> Reply<pb::DeleteAssessmentResponse> {
        let r = request.into_inner();
        reply(
            async {
                let id = id("name", &r.name, "assessments")?;
                let expected = domain::parse_etag(&r.etag)?;
                self.store.delete_assessment(&id, expected).await?;
                Ok(pb::DeleteAssessmentResponse {})
            }
            .await,
        )
    }

    async fn start_assessment(
        &self,
        request: Request<pb::StartAssessmentRequest>,
    ) -> Reply<pb::Assessment> {
        let r = request.into_inner();
        let step = Step {
            name: r.name,
            etag: r.etag,
            fields: DecisionFields::DECIDED_BY,
            who: r.decided_by,
            reason: r.reason,
        };
        reply(self.transition(Ok(Action::Start), step).await)
    }

    async fn submit_assessment(
        &self,
        request: Request<pb::SubmitAssessmentRequest>,
    ) -> Reply<pb::Assessment> {
        let r = request.into_inner();
        let step = Step {
            name: r.name,
            etag: r.etag,
            fields: DecisionFields::DECIDED_BY,
            who: r.decided_by,
            reason: r.reason,
        };
        reply(self.transition(Ok(Action::Submit), step).await)
    }

    async fn review_assessment(
        &self,
        request: Request<pb::ReviewAssessmentRequest>,
    ) -> Reply<pb::Assessment> {
        let r = request.into_inner();
        let action = match review_in("decision", r.decision) {
            Ok(Some(ReviewDecision::Approved)) => Ok(Action::Approve),
            Ok(Some(ReviewDecision::ChangesRequested)) => Ok(Action::RequestChanges),
            Ok(None) => Err(Error::invalid(
                "decision",
                "is required (APPROVED or CHANGES_REQUESTED)",
            )),
            Err(e) => Err(e),
        };
        let step = Step {
            name: r.name,
            etag: r.etag,
            fields: DecisionFields {
                who: "reviewer",
                who_required: true,
                reason: "comment",
                reason_required: false,
            },
            who: r.reviewer,
            reason: r.comment,
        };
        reply(self.transition(action, step).await)
    }

    async fn reopen_assessment(
        &self,
        request: Request<pb::ReopenAssessmentRequest>,
    ) -> Reply<pb::Assessment> {
        let r = request.into_inner();
        let step = Step {
            name: r.name,
            etag: r.etag,
            fields: DecisionFields {
                who: "decided_by",
                who_required: true,
                reason: "reason",
                reason_required: true,
            },
            who: r.decided_by,
            reason: r.reason,
        };
        reply(self.transition(Ok(Action::Reopen), step).await)
    }

    async fn create_indicator(
        &self,
        request: Request<pb::CreateIndicatorRequest>,
    ) -> Reply<pb::Indicator> {
        let r = request.into_inner();
        reply(
            async {
                let assessment_id = id("parent", &r.parent, "assessments")?;
                let request_id = domain::request_id(&r.request_id)?;
                let i = r
                    .indicator
                    .ok_or_else(|| Error::invalid("indicator", "is required"))?;
                let fields = indicator_fields(i).map_err(|e| e.within("indicator"))?;
                let stored = self
                    .store
                    .create_indicator(&assessment_id, &fields, request_id.as_deref())
                    .await?;
                Ok(indicator_pb(stored))
            }
            .await,
        )
    }

    async fn get_indicator(
        &self,
        request: Request<pb::GetIndicatorRequest>,
    ) -> Reply<pb::Indicator> {
        let r = request.into_inner();
        reply(
            async {
                let (a, i) = indicator_ids("name", &r.name)?;
                Ok(indicator_pb(self.store.get_indicator(&a, &i).await?))
            }
            .await,
        )
    }

    async fn list_indicators(
        &self,
        request: Request<pb::ListIndicatorsRequest>,
    ) -> Reply<pb::ListIndicatorsResponse> {
        const METHOD: &str = "ListIndicators";
        let r = request.into_inner();
        reply(
            async {
                let assessment_id = id("parent", &r.parent, "assessments")?;
                let query = IndicatorQuery::from_filter(&r.filter)?;
                // The parent is part of the query a token is bound to.
                let scope = format!("{}\n{}", r.parent, r.filter);
                let page = self
                    .pages
                    .request(METHOD, r.page_size, &r.page_token, &scope)?;
                let found = self
                    .store
                    .list_indicators(&assessment_id, &query, &page)
                    .await?;
                Ok(pb::ListIndicatorsResponse {
                    next_page_token: self.pages.next_token(METHOD, &scope, &found),
                    indicators: found.items.into_iter().map(indicator_pb).collect(),
                })
            }
            .await,
        )
    }

    async fn update_indicator(
        &self,
        request: Request<pb::UpdateIndicatorRequest>,
    ) -> Reply<pb::Indicator> {
        let r = request.into_inner();
        reply(
            async {
                let new = r
                    .indicator
                    .ok_or_else(|| Error::invalid("indicator", "is required"))?;
                let (a, i) = indicator_ids("indicator.name", &new.name)?;
                let expected = domain::parse_etag(&new.etag).map_err(|e| e.within("indicator"))?;
                let current = indicator_pb(self.store.get_indicator(&a, &i).await?);
                // Without an etag, the write still guards the revision it merged
                // on, so a concurrent change is ABORTED rather than overwritten.
                let expected = expected.or(domain::parse_etag(&current.etag)?);
                let merged = merge(
                    current,
                    new,
                    r.update_mask,
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
                )?;
                let fields = indicator_fields(merged).map_err(|e| e.within("indicator"))?;
                let stored = self
                    .store
                    .update_indicator(&a, &i, expected, &fields)
                    .await?;
                Ok(indicator_pb(stored))
            }
            .await,
        )
    }

    async fn delete_indicator(
        &self,
        request: Request<pb::DeleteIndicatorRequest>,
    ) -> Reply<pb::DeleteIndicatorResponse> {
        let r = request.into_inner();
        reply(
            async {
                let (a, i) = indicator_ids("name", &r.name)?;
                let expected = domain::parse_etag(&r.etag)?;
                self.store.delete_indicator(&a, &i, expected).await?;
                Ok(pb::DeleteIndicatorResponse {})
            }
            .await,
        )
    }

    async fn summarize_assessments(
        &self,
        request: Request<pb::SummarizeAssessmentsRequest>,
    ) -> Reply<pb::SummarizeAssessmentsResponse> {
        let r = request.into_inner();
        reply(
            async {
                let query = AssessmentQuery::from_filter(&r.filter)?;
                let rollup = self.store.rollup(&query).await?;
                let levels = |counts: &[i64]| {
                    counts
                        .iter()
                        .zip(0..)
                        .map(|(&count, level)| pb::LevelCount { level, count })
                        .collect::<Vec<_>>()
                };
                Ok(pb::SummarizeAssessmentsResponse {
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
                })
            }
            .await,
        )
    }

    async fn render_indicator_chart(
        &self,
        request: Request<pb::RenderIndicatorChartRequest>,
    ) -> Reply<pb::Chart> {
        let r = request.into_inner();
        reply(
            async {
                let (a, i) = indicator_ids("name", &r.name)?;
                let indicator = self.store.get_indicator(&a, &i).await?;
                let svg = chart::indicator_history(&indicator.fields.title, &indicator.fields)?;
                Ok(pb::Chart {
                    content_type: "image/svg+xml".into(),
                    svg,
                })
            }
            .await,
        )
    }

    async fn create_capacity_assessment(
        &self,
        request: Request<pb::CreateCapacityAssessmentRequest>,
    ) -> Reply<pb::CapacityAssessment> {
        let r = request.into_inner();
        reply(
            async {
                let request_id = domain::request_id(&r.request_id)?;
                let c = r
                    .capacity_assessment
                    .ok_or_else(|| Error::invalid("capacity_assessment", "is required"))?;
                let fields = capacity_fields(c).map_err(|e| e.within("capacity_assessment"))?;
                let stored = self
                    .store
                    .create_capacity(&fields, request_id.as_deref())
                    .await?;
                Ok(capacity_pb(stored))
            }
            .await,
        )
    }

    async fn get_capacity_assessment(
        &self,
        request: Request<pb::GetCapacityAssessmentRequest>,
    ) -> Reply<pb::CapacityAssessment> {
        let r = request.into_inner();
        reply(
            async {
                let id = id("name", &r.name, "capacityAssessments")?;
                Ok(capacity_pb(self.store.get_capacity(&id).await?))
            }
            .await,
        )
    }

    async fn list_capacity_assessments(
        &self,
        request: Request<pb::ListCapacityAssessmentsRequest>,
    ) -> Reply<pb::ListCapacityAssessmentsResponse> {
        const METHOD: &str = "ListCapacityAssessments";
        let r = request.into_inner();
        reply(
            async {
                let query = CapacityQuery::from_filter(&r.filter)?;
                let page = self
                    .pages
                    .request(METHOD, r.page_size, &r.page_token, &r.filter)?;
                let found = self.store.list_capacity(&query, &page).await?;
                Ok(pb::ListCapacityAssessmentsResponse {
                    next_page_token: self.pages.next_token(METHOD, &r.filter, &found),
                    capacity_assessments: found.items.into_iter().map(capacity_pb).collect(),
                })
            }
            .await,
        )
    }

    async fn update_capacity_assessment(
        &self,
        request: Request<pb::UpdateCapacityAssessmentRequest>,
    ) -> Reply<pb::CapacityAssessment> {
        let r = request.into_inner();
        reply(
            async {
                let new = r
                    .capacity_assessment
                    .ok_or_else(|| Error::invalid("capacity_assessment", "is required"))?;
                let id = id("capacity_assessment.name", &new.name, "capacityAssessments")?;
                let expected =
                    domain::parse_etag(&new.etag).map_err(|e| e.within("capacity_assessment"))?;
                let current = capacity_pb(self.store.get_capacity(&id).await?);
                // Without an etag, the write still guards the revision it merged
                // on, so a concurrent change is ABORTED rather than overwritten.
                let expected = expected.or(domain::parse_etag(&current.etag)?);
                let merged = merge(
                    current,
                    new,
                    r.update_mask,
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
                )?;
                let fields =
                    capacity_fields(merged).map_err(|e| e.within("capacity_assessment"))?;
                let stored = self.store.update_capacity(&id, expected, &fields).await?;
                Ok(capacity_pb(stored))
            }
            .await,
        )
    }

    async fn compare_capacity_assessments(
        &self,
        request: Request<pb::CompareCapacityAssessmentsRequest>,
    ) -> Reply<pb::CompareCapacityAssessmentsResponse> {
        let r = request.into_inner();
        reply(
            async {
                let mut v = Violations::new();
                let base = v.merge(id("base", &r.base, "capacityAssessments"));
                let other = v.merge(id("other", &r.other, "capacityAssessments"));
                v.finish()?;
                let (Some(base), Some(other)) = (base, other) else {
                    return Err(Error::Internal("validated names are missing".into()));
                };
                let base = self.store.get_capacity(&base).await?;
                let other = self.store.get_capacity(&other).await?;
                let c = domain::compare(&base.fields, &other.fields);
                Ok(pb::CompareCapacityAssessmentsResponse {
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
                })
            }
            .await,
        )
    }

    async fn render_capacity_chart(
        &self,
        request: Request<pb::RenderCapacityChartRequest>,
    ) -> Reply<pb::Chart> {
        let r = request.into_inner();
        reply(
            async {
                let mut v = Violations::new();
                let first = v.merge(id("name", &r.name, "capacityAssessments"));
                let overlay = if r.overlay.is_empty() {
                    None
                } else {
                    v.merge(id("overlay", &r.overlay, "capacityAssessments"))
                };
                v.finish()?;
                let first = first.ok_or_else(|| Error::Internal("validated name".into()))?;
                let mut rounds = vec![self.store.get_capacity(&first).await?];
                if let Some(overlay) = overlay {
                    rounds.push(self.store.get_capacity(&overlay).await?);
                }
                let title = format!("Innovation capacity: {}", rounds[0].fields.subject);
                let labelled: Vec<(String, &domain::CapacityFields)> = rounds
                    .iter()
                    .map(|c| {
                        let label = if c.fields.subject == rounds[0].fields.subject {
                            c.fields.round.clone()
                        } else {
                            format!("{} {}", c.fields.subject, c.fields.round)
                        };
                        (label, &c.fields)
                    })
                    .collect();
                let svg = chart::capacity_profile(&title, &labelled)?;
                Ok(pb::Chart {
                    content_type: "image/svg+xml".into(),
                    svg,
                })
            }
            .await,
        )
    }
}

/// The common fields of the workflow requests.
struct Step {
    name: String,
    etag: String,
    /// How the request carries who decided and why.
    fields: DecisionFields,
    who: String,
    reason: String,
}

impl ImpactApi {
    async fn transition(
        &self,
        action: Result<Action, Error>,
        step: Step,
    ) -> Result<pb::Assessment, Error> {
        let id = id("name", &step.name, "assessments")?;
        let mut v = Violations::new();
        let action = v.merge(action);
        let expected = v.merge(domain::parse_etag(&step.etag)).flatten();
        let decision = v.merge(Decision::new(step.fields, &step.who, &step.reason));
        v.finish()?;
        let (Some(action), Some(decision)) = (action, decision) else {
            return Err(Error::Internal("validated step is incomplete".into()));
        };
        let transition = Transition {
            action,
            decision,
            expected_revision: expected,
        };
        Ok(assessment_pb(
            self.store.transition_assessment(&id, &transition).await?,
        ))
    }
}

// ---- enums: the protobuf value `<PREFIX>_<NAME>` carries the domain name ----

innolab_kit::enum_mapping!(
    review_in,
    review_out,
    pb::ReviewDecision,
    "REVIEW_DECISION_",
    ReviewDecision
);
innolab_kit::enum_mapping!(
    public_value_opt_in,
    public_value_out,
    pb::PublicValueOutcome,
    "PUBLIC_VALUE_OUTCOME_",
    PublicValueOutcome
);
innolab_kit::enum_mapping!(
    state_in,
    state_out,
    pb::AssessmentState,
    "ASSESSMENT_STATE_",
    AssessmentState
);
innolab_kit::enum_mapping!(
    result_type_in,
    result_type_out,
    pb::ResultType,
    "RESULT_TYPE_",
    ResultType
);
innolab_kit::enum_mapping!(
    direction_in,
    direction_out,
    pb::Direction,
    "DIRECTION_",
    Direction
);
innolab_kit::enum_mapping!(
    progress_status_in,
    progress_status_out,
    pb::ProgressStatus,
    "PROGRESS_STATUS_",
    ProgressStatus
);

/// A public-value outcome, which a list never holds UNSPECIFIED.
fn public_value_in(field: &str, n: i32) -> Result<PublicValueOutcome, Error> {
    public_value_opt_in(field, n)?.ok_or_else(|| Error::invalid(field, "must not be UNSPECIFIED"))
}

// ---- assessments ----

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
fn assessment_fields(a: pb::Assessment) -> Result<AssessmentFields, Error> {
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

fn assessment_pb(a: domain::Assessment) -> pb::Assessment {
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

// ---- indicators ----

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
fn indicator_fields(i: pb::Indicator) -> Result<IndicatorFields, Error> {
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

fn indicator_pb(i: domain::Indicator) -> pb::Indicator {
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

// ---- capacity assessments ----

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
fn capacity_fields(c: pb::CapacityAssessment) -> Result<CapacityFields, Error> {
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

fn capacity_pb(c: domain::CapacityAssessment) -> pb::CapacityAssessment {
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
