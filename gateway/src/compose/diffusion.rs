//! A case's diffusion: the tree of initiatives descending from it through
//! confirmed adoptions, walked level by level (one ListAdoptions per chunk of
//! a level's initiatives), with each initiative's impact assessments.

use std::collections::HashSet;

use super::*;

/// Most initiatives in a tree, the case included.
const DIFFUSION_LIMIT: usize = 500;
/// Levels below the case when the request asks for 0.
const DEFAULT_DEPTH: i32 = 5;
/// Most levels below the case.
const MAX_DEPTH: i32 = 10;

/// The confirmed adoptions drawing on a level's initiatives, and whether
/// there were more than a tree can hold.
struct Level {
    adoptions: Vec<initiatives::Adoption>,
    cut: bool,
}

impl Compose {
    /// GetDiffusion.
    pub async fn diffusion(
        &self,
        ctx: &CallContext,
        name: &str,
        max_depth: i32,
    ) -> Result<pb::Diffusion, Status> {
        check_name(name, "initiatives")?;
        let depth = match max_depth {
            n if n < 0 => {
                let why = "must not be negative (0 means 5, at most 10)";
                return Err(Status::with_error_details(
                    Code::InvalidArgument,
                    format!("max_depth: {why}"),
                    ErrorDetails::with_bad_request_violation("max_depth", why),
                ));
            }
            0 => DEFAULT_DEPTH,
            n => n.min(MAX_DEPTH),
        };
        let root = self.initiative(ctx, name).await.map_err(required)?;
        let mut nodes = vec![node(&root, 0, None)];
        let mut seen: HashSet<String> = HashSet::from([name.to_string()]);
        let mut frontier = vec![name.to_string()];
        let mut truncated = false;
        let mut level = 0;
        while !frontier.is_empty() {
            let below = self
                .confirmed_from(ctx, &frontier)
                .await
                .map_err(required)?;
            // One node per initiative, under the first adoption recorded.
            let mut kept = Vec::new();
            for adoption in below.adoptions {
                if seen.contains(&adoption.initiative) {
                    continue;
                }
                if level == depth || seen.len() >= DIFFUSION_LIMIT {
                    truncated = true;
                    break;
                }
                seen.insert(adoption.initiative.clone());
                kept.push(adoption);
            }
            truncated |= below.cut;
            if level == depth {
                break;
            }
            level += 1;
            let found = bounded(
                kept.iter()
                    .map(|a| self.initiative(ctx, &a.initiative))
                    .collect(),
            )
            .await
            .map_err(required)?;
            frontier = kept.iter().map(|a| a.initiative.clone()).collect();
            for (adoption, initiative) in kept.into_iter().zip(found) {
                nodes.push(node(&initiative, level, Some(adoption)));
            }
        }
        let mut diffusion = pb::Diffusion {
            countries: countries(&nodes),
            initiative: Some(root),
            truncated,
            ..Default::default()
        };
        match self.node_assessments(ctx, &nodes).await {
            Ok(mut by_initiative) => {
                for node in &mut nodes {
                    node.assessments = by_initiative.remove(&node.initiative).unwrap_or_default();
                }
            }
            Err(f) => diffusion.missing_parts.push(missing("assessments", &f)),
        }
        diffusion.nodes = nodes;
        Ok(diffusion)
    }

    /// The confirmed adoptions whose source is one of `sources`, in the
    /// order they were recorded.
    async fn confirmed_from(&self, ctx: &CallContext, sources: &[String]) -> Part<Level> {
        let calls = sources.chunks(NAMES_PER_FILTER).map(|chunk| {
            let filter = format!("state = CONFIRMED AND {}", any_of("source", chunk));
            async move {
                let mut found = Vec::new();
                let mut page_token = String::new();
                loop {
                    let page = self
                        .adoptions_where(ctx, filter.clone(), LIST_LIMIT, page_token)
                        .await?;
                    found.extend(page.adoptions);
                    if page.next_page_token.is_empty() {
                        return Ok((found, false));
                    }
                    if found.len() >= DIFFUSION_LIMIT {
                        return Ok((found, true));
                    }
                    page_token = page.next_page_token;
                }
            }
        });
        let mut level = Level {
            adoptions: Vec::new(),
            cut: false,
        };
        for (found, cut) in bounded(calls.collect()).await? {
            level.adoptions.extend(found);
            level.cut |= cut;
        }
        // Adoption ids are time-ordered: by name is by recording.
        level.adoptions.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(level)
    }

    /// The impact assessments of every node's initiative (at most
    /// DOSSIER_LIMIT each), by initiative name.
    async fn node_assessments(
        &self,
        ctx: &CallContext,
        nodes: &[pb::DiffusionNode],
    ) -> Part<std::collections::HashMap<String, Vec<impact::Assessment>>> {
        let client = self.impact()?;
        let names: Vec<String> = nodes.iter().map(|n| n.initiative.clone()).collect();
        let calls = names.chunks(NAMES_PER_FILTER).map(|chunk| {
            let mut client = client.clone();
            let request = ctx.call(impact::ListAssessmentsRequest {
                page_size: LIST_LIMIT,
                page_token: String::new(),
                filter: any_of("initiative", chunk),
            });
            async move {
                Ok(client
                    .list_assessments(request)
                    .await
                    .map_err(failed("impact"))?
                    .into_inner()
                    .assessments)
            }
        });
        let mut by_initiative = std::collections::HashMap::<String, Vec<_>>::new();
        for assessment in bounded(calls.collect()).await?.into_iter().flatten() {
            let list = by_initiative
                .entry(assessment.initiative.clone())
                .or_default();
            if list.len() < DOSSIER_LIMIT as usize {
                list.push(assessment);
            }
        }
        Ok(by_initiative)
    }
}

/// A node of the tree for `initiative`, `depth` levels below the case,
/// reached through `adoption`.
fn node(
    initiative: &initiatives::Initiative,
    depth: i32,
    adoption: Option<initiatives::Adoption>,
) -> pb::DiffusionNode {
    pb::DiffusionNode {
        initiative: initiative.name.clone(),
        depth,
        parent: adoption
            .as_ref()
            .map(|a| a.source.clone())
            .unwrap_or_default(),
        adoption,
        titles: initiative.titles.clone(),
        country_code: initiative.country_code.clone(),
        lead_organization: initiative.lead_organization.clone(),
        government_level: initiative.government_level,
        assessments: Vec::new(),
    }
}

/// The countries of the nodes, sorted, once each.
fn countries(nodes: &[pb::DiffusionNode]) -> Vec<String> {
    let mut countries: Vec<String> = nodes.iter().map(|n| n.country_code.clone()).collect();
    countries.sort();
    countries.dedup();
    countries
}
