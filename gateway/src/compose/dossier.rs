//! The initiative dossier: the initiative, its lead organisation, its
//! challenges, the published guidance about it, its impact assessments, and
//! the adoptions linking it to the cases it drew on and that drew on it.

use super::*;

impl Compose {
    /// GetInitiativeDossier.
    pub async fn dossier(
        &self,
        ctx: &CallContext,
        name: &str,
    ) -> Result<pb::InitiativeDossier, Status> {
        check_name(name, "initiatives")?;
        let initiative = self.initiative(ctx, name).await.map_err(required)?;

        let partners: Vec<String> = initiative
            .partners
            .iter()
            .map(|p| p.organization.clone())
            .collect();
        let stage = initiatives::InitiativeStage::try_from(initiative.stage)
            .ok()
            .filter(|s| *s != initiatives::InitiativeStage::Unspecified)
            .map(|s| {
                s.as_str_name()
                    .trim_start_matches("INITIATIVE_STAGE_")
                    .to_string()
            });
        let adoptions = |side: &str| {
            let filter = format!("{side} = {name:?} AND (state = PROPOSED OR state = CONFIRMED)");
            async move {
                self.adoptions_where(ctx, filter, DOSSIER_LIMIT, String::new())
                    .await
                    .map(|page| page.adoptions)
            }
        };
        let (lead, partner_orgs, challenges, related, for_stage, assessments, adopted, adopted_by) = tokio::join!(
            self.organization(ctx, &initiative.lead_organization),
            bounded(partners.iter().map(|p| self.organization(ctx, p)).collect()),
            self.challenges(ctx, &initiative.challenges),
            self.published_guidance(ctx, format!("related_initiative = {name:?}")),
            async {
                match &stage {
                    Some(stage) => {
                        self.published_guidance(ctx, format!("lifecycle_stage = {stage}"))
                            .await
                    }
                    None => Ok(Vec::new()),
                }
            },
            self.assessments(ctx, name),
            adoptions("initiative"),
            adoptions("source"),
        );

        let mut dossier = pb::InitiativeDossier {
            initiative: Some(initiative),
            ..Default::default()
        };
        let missing = &mut dossier.missing_parts;
        match lead {
            Ok(org) => dossier.lead_organization = Some(org),
            Err(f) => missing.push(self::missing("lead_organization", &f)),
        }
        match partner_orgs {
            Ok(orgs) => dossier.partner_organizations = orgs,
            Err(f) => missing.push(self::missing("partner_organizations", &f)),
        }
        match challenges {
            Ok(list) => dossier.challenges = list,
            Err(f) => missing.push(self::missing("challenges", &f)),
        }
        match related {
            Ok(list) => dossier.related_guidance = list,
            Err(f) => missing.push(self::missing("related_guidance", &f)),
        }
        match for_stage {
            Ok(list) => dossier.stage_guidance = list,
            Err(f) => missing.push(self::missing("stage_guidance", &f)),
        }
        match assessments {
            Ok(list) => dossier.assessments = list,
            Err(f) => missing.push(self::missing("assessments", &f)),
        }
        match adopted {
            Ok(list) => dossier.adopted = list,
            Err(f) => missing.push(self::missing("adopted", &f)),
        }
        match adopted_by {
            Ok(list) => dossier.adopted_by = list,
            Err(f) => missing.push(self::missing("adopted_by", &f)),
        }
        Ok(dossier)
    }

    async fn challenges(
        &self,
        ctx: &CallContext,
        names: &[String],
    ) -> Part<Vec<initiatives::Challenge>> {
        let client = self.initiatives()?;
        let calls = names.iter().map(|name| {
            let mut client = client.clone();
            let request = ctx.call(initiatives::GetChallengeRequest { name: name.clone() });
            async move {
                Ok(client
                    .get_challenge(request)
                    .await
                    .map_err(failed("initiatives"))?
                    .into_inner())
            }
        });
        bounded(calls.collect()).await
    }

    /// Documents matching `filter` that have a published edition.
    async fn published_guidance(
        &self,
        ctx: &CallContext,
        filter: String,
    ) -> Part<Vec<guidance::Document>> {
        let documents = self
            .guidance()?
            .list_documents(ctx.call(guidance::ListDocumentsRequest {
                page_size: DOSSIER_LIMIT,
                page_token: String::new(),
                filter,
            }))
            .await
            .map_err(failed("guidance"))?
            .into_inner()
            .documents;
        Ok(documents
            .into_iter()
            .filter(|d| !d.current_edition.is_empty())
            .collect())
    }

    async fn assessments(
        &self,
        ctx: &CallContext,
        initiative: &str,
    ) -> Part<Vec<pb::AssessmentWithIndicators>> {
        let client = self.impact()?;
        let assessments = client
            .clone()
            .list_assessments(ctx.call(impact::ListAssessmentsRequest {
                page_size: DOSSIER_LIMIT,
                page_token: String::new(),
                filter: format!("initiative = {initiative:?}"),
            }))
            .await
            .map_err(failed("impact"))?
            .into_inner()
            .assessments;
        let calls = assessments.into_iter().map(|assessment| {
            let mut client = client.clone();
            let request = ctx.call(impact::ListIndicatorsRequest {
                parent: assessment.name.clone(),
                page_size: INDICATOR_LIMIT,
                ..Default::default()
            });
            async move {
                let indicators = client
                    .list_indicators(request)
                    .await
                    .map_err(failed("impact"))?
                    .into_inner()
                    .indicators;
                Ok(pb::AssessmentWithIndicators {
                    assessment: Some(assessment),
                    indicators,
                })
            }
        });
        bounded(calls.collect()).await
    }
}
