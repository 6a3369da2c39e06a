//! The gRPC API: protobuf <-> domain, and nothing else. The only module of the
//! service that knows generated types. Here the handlers; the conversions
//! are in [`convert`].

mod convert;

use innolab_kit::api::{self, ChangeStream, Pages, Reply, ServerStream, id, reply};
use innolab_kit::page::PageTokens;
use innolab_kit::{Error, Violations};
use innolab_proto::innolab::common::v1::{
    FindPersonReferencesRequest, FindPersonReferencesResponse,
};
use innolab_proto::innolab::impact::v1 as pb;
use pb::impact_service_server::ImpactService;
use tonic::Request;

use crate::chart;
use crate::domain::{
    self, Action, AssessmentQuery, CapacityQuery, Decision, DecisionFields, IndicatorQuery,
    ReviewDecision, Transition, check,
};
use crate::export;
use crate::store::Store;
use convert::{
    assessment_fields, assessment_pb, capacity_fields, capacity_pb, comparison_pb,
    indicator_fields, indicator_pb, merge_assessment, merge_capacity, merge_indicator, review_in,
    rollup_pb,
};

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

/// The (assessment, indicator) ids in an indicator's name.
fn indicator_ids(field: &str, name: &str) -> Result<(String, String), Error> {
    check::indicator_ids(name).map_err(|e| Error::invalid(field, e))
}

#[tonic::async_trait]
impl ImpactService for ImpactApi {
    type ExportAssessmentsStream = ServerStream<pb::ExportAssessmentsResponse>;

    async fn export_assessments(
        &self,
        _: Request<pb::ExportAssessmentsRequest>,
    ) -> Reply<Self::ExportAssessmentsStream> {
        api::export(export::assessments(&self.store), |a| {
            let mut assessment = assessment_pb(a);
            assessment.evaluators.retain(|e| !api::names_person(e));
            let events = assessment
                .sign_off
                .iter_mut()
                .chain(&mut assessment.history);
            for event in events {
                api::unname(&mut event.decided_by);
            }
            pb::ExportAssessmentsResponse {
                assessment: Some(assessment),
            }
        })
    }

    type ExportIndicatorsStream = ServerStream<pb::ExportIndicatorsResponse>;

    async fn export_indicators(
        &self,
        _: Request<pb::ExportIndicatorsRequest>,
    ) -> Reply<Self::ExportIndicatorsStream> {
        api::export(export::indicators(&self.store), |i| {
            pb::ExportIndicatorsResponse {
                indicator: Some(indicator_pb(i)),
            }
        })
    }

    type ExportCapacityAssessmentsStream = ServerStream<pb::ExportCapacityAssessmentsResponse>;

    async fn export_capacity_assessments(
        &self,
        _: Request<pb::ExportCapacityAssessmentsRequest>,
    ) -> Reply<Self::ExportCapacityAssessmentsStream> {
        api::export(export::capacity_rounds(&self.store), |c| {
            let mut round = capacity_pb(c);
            round.assessors.retain(|a| !api::names_person(a));
            pb::ExportCapacityAssessmentsResponse {
                capacity_assessment: Some(round),
            }
        })
    }

    type StreamChangesStream = ChangeStream;

    async fn stream_changes(
        &self,
        request: Request<pb::StreamChangesRequest>,
    ) -> Reply<Self::StreamChangesStream> {
        innolab_kit::api::changes(&self.store, request)
    }

    async fn find_person_references(
        &self,
        request: Request<FindPersonReferencesRequest>,
    ) -> Reply<FindPersonReferencesResponse> {
        innolab_kit::api::person_references("impact", request.into_inner(), |person| async move {
            self.store.find_person_references(&person).await
        })
        .await
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
                let merged = merge_assessment(current, new, r.update_mask)?;
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
                let merged = merge_indicator(current, new, r.update_mask)?;
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
                Ok(rollup_pb(rollup))
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
                let merged = merge_capacity(current, new, r.update_mask)?;
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
                Ok(comparison_pb(base, other, c))
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
