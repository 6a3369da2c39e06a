//! The portfolio overview: the initiatives' counts joined with the impact
//! evidence of the initiatives a filter selects.

use super::*;

impl Compose {
    /// GetPortfolioOverview.
    pub async fn overview(
        &self,
        ctx: &CallContext,
        filter: &str,
    ) -> Result<pb::PortfolioOverview, Status> {
        let client = self.initiatives().map_err(required)?;
        let (summary, evidence) = tokio::join!(
            async {
                client
                    .clone()
                    .get_portfolio_summary(ctx.call(initiatives::GetPortfolioSummaryRequest {
                        filter: filter.to_string(),
                    }))
                    .await
                    .map_err(failed("initiatives"))
            },
            self.evidence(ctx, &client, filter),
        );
        let mut overview = pb::PortfolioOverview {
            initiatives: Some(summary.map_err(required)?.into_inner()),
            ..Default::default()
        };
        match evidence {
            Ok(evidence) => overview.evidence = Some(evidence),
            Err(f) => overview.missing_parts.push(missing("evidence", &f)),
        }
        Ok(overview)
    }

    /// The impact rollup over the assessments of the initiatives matching
    /// `filter`: the whole rollup for no filter, else the sum of rollups over
    /// chunks of the matching initiatives' names.
    async fn evidence(
        &self,
        ctx: &CallContext,
        initiatives_client: &InitiativesServiceClient<Channel>,
        filter: &str,
    ) -> Part<impact::SummarizeAssessmentsResponse> {
        let client = self.impact()?;
        if filter.trim().is_empty() {
            return Ok(client
                .clone()
                .summarize_assessments(ctx.call(impact::SummarizeAssessmentsRequest {
                    filter: String::new(),
                }))
                .await
                .map_err(failed("impact"))?
                .into_inner());
        }
        let mut names = Vec::new();
        let mut page_token = String::new();
        loop {
            let page = initiatives_client
                .clone()
                .list_initiatives(ctx.call(initiatives::ListInitiativesRequest {
                    page_size: LIST_LIMIT,
                    page_token,
                    filter: filter.to_string(),
                }))
                .await
                .map_err(failed("initiatives"))?
                .into_inner();
            names.extend(page.initiatives.into_iter().map(|i| i.name));
            if names.len() > OVERVIEW_LIMIT {
                return Err(Failure {
                    service: "gateway",
                    status: Status::failed_precondition(format!(
                        "the filter matches more than {OVERVIEW_LIMIT} initiatives; \
                         narrow it to join them with their evidence"
                    )),
                });
            }
            if page.next_page_token.is_empty() {
                break;
            }
            page_token = page.next_page_token;
        }
        let calls = names.chunks(NAMES_PER_FILTER).map(|chunk| {
            let mut client = client.clone();
            let request = ctx.call(impact::SummarizeAssessmentsRequest {
                filter: any_of("initiative", chunk),
            });
            async move {
                Ok(client
                    .summarize_assessments(request)
                    .await
                    .map_err(failed("impact"))?
                    .into_inner())
            }
        });
        let parts = bounded(calls.collect()).await?;
        Ok(parts
            .into_iter()
            .fold(empty_evidence(), |total, part| add_evidence(total, &part)))
    }
}

/// A rollup over no assessment, in the impact service's shape.
pub fn empty_evidence() -> impact::SummarizeAssessmentsResponse {
    let levels = |n: i32| {
        (0..=n)
            .map(|level| impact::LevelCount { level, count: 0 })
            .collect::<Vec<_>>()
    };
    impact::SummarizeAssessmentsResponse {
        assessment_count: 0,
        nesta_levels: levels(5),
        maryland_levels: levels(5),
        dac: [
            "relevance",
            "coherence",
            "effectiveness",
            "efficiency",
            "impact",
            "sustainability",
        ]
        .iter()
        .map(|criterion| impact::CriterionDistribution {
            criterion: criterion.to_string(),
            ratings: levels(4),
        })
        .collect(),
        public_value_outcomes: (1..)
            .map_while(|v| impact::PublicValueOutcome::try_from(v).ok())
            .map(|outcome| impact::PublicValueCount {
                outcome: outcome as i32,
                count: 0,
            })
            .collect(),
        indicator_progress: Some(impact::ProgressCounts::default()),
    }
}

/// Adds a rollup into a running total, matching entries by level, criterion
/// and outcome.
pub fn add_evidence(
    mut total: impact::SummarizeAssessmentsResponse,
    part: &impact::SummarizeAssessmentsResponse,
) -> impact::SummarizeAssessmentsResponse {
    fn add_levels(total: &mut Vec<impact::LevelCount>, part: &[impact::LevelCount]) {
        for entry in part {
            match total.iter_mut().find(|t| t.level == entry.level) {
                Some(t) => t.count += entry.count,
                None => total.push(*entry),
            }
        }
        total.sort_by_key(|t| t.level);
    }
    total.assessment_count += part.assessment_count;
    add_levels(&mut total.nesta_levels, &part.nesta_levels);
    add_levels(&mut total.maryland_levels, &part.maryland_levels);
    for criterion in &part.dac {
        match total
            .dac
            .iter_mut()
            .find(|t| t.criterion == criterion.criterion)
        {
            Some(t) => add_levels(&mut t.ratings, &criterion.ratings),
            None => total.dac.push(criterion.clone()),
        }
    }
    for outcome in &part.public_value_outcomes {
        match total
            .public_value_outcomes
            .iter_mut()
            .find(|t| t.outcome == outcome.outcome)
        {
            Some(t) => t.count += outcome.count,
            None => total.public_value_outcomes.push(*outcome),
        }
    }
    if let Some(p) = &part.indicator_progress {
        let t = total
            .indicator_progress
            .get_or_insert_with(Default::default);
        t.total += p.total;
        t.no_data += p.no_data;
        t.off_track += p.off_track;
        t.on_track += p.on_track;
        t.achieved += p.achieved;
    }
    total
}
