//! FindSimilar across the suite: the initiatives service's matches (cases
//! and challenges; required), guidance documents found word by word, and
//! the organisations behind the matches (both optional).

use std::collections::HashMap;

use innolab_kit::text::keywords;
use innolab_kit::{Error, FieldViolation};

use super::*;

/// Words of the query searched in guidance, one search each.
const GUIDANCE_WORDS: usize = 5;
/// Documents asked of each search, and kept in the answer.
const DOCUMENTS: usize = 10;
/// Organisations in the answer.
const ORGANIZATIONS: usize = 10;

impl Compose {
    /// FindSimilar.
    pub async fn similar(
        &self,
        ctx: &CallContext,
        query: Option<initiatives::FindSimilarRequest>,
    ) -> Result<pb::SimilarAnswer, Status> {
        let query = query.ok_or_else(|| {
            Status::with_error_details(
                Code::InvalidArgument,
                "query: is required",
                ErrorDetails::with_bad_request_violation("query", "is required"),
            )
        })?;
        let found = self
            .initiatives()
            .map_err(required)?
            .find_similar(ctx.call(query))
            .await
            .map_err(within_query)
            .map_err(failed("initiatives"))
            .map_err(required)?
            .into_inner();
        let language = Some(found.query_language_code.as_str()).filter(|l| !l.is_empty());
        let words = keywords(&found.query_text, language, GUIDANCE_WORDS);
        let (documents, organizations) = tokio::join!(
            self.documents_about(ctx, &words),
            self.organizations_behind(ctx, &found.matches),
        );
        let mut answer = pb::SimilarAnswer {
            matches: found.matches,
            query_text: found.query_text,
            ..Default::default()
        };
        match documents {
            Ok(list) => answer.documents = list,
            Err(f) => answer.missing_parts.push(missing("documents", &f)),
        }
        match organizations {
            Ok(list) => answer.organizations = list,
            Err(f) => answer.missing_parts.push(missing("organizations", &f)),
        }
        Ok(answer)
    }
}

/// The initiatives service's INVALID_ARGUMENT about the `query` it was sent,
/// its fields named as the caller sees them (`text` -> `query.text`).
fn within_query(status: Status) -> Status {
    if status.code() != Code::InvalidArgument {
        return status;
    }
    let Some(bad) = status.get_details_bad_request() else {
        return status;
    };
    let violations = bad
        .field_violations
        .into_iter()
        .map(|v| FieldViolation {
            field: v.field,
            description: v.description,
        })
        .collect();
    Error::InvalidArgument(violations).within("query").into()
}

impl Compose {
    /// The guidance documents matching any of `words`, each searched alone,
    /// by the sum of their hits' scores.
    async fn documents_about(
        &self,
        ctx: &CallContext,
        words: &[String],
    ) -> Part<Vec<pb::SimilarDocument>> {
        if words.is_empty() {
            return Ok(Vec::new());
        }
        let client = self.guidance()?;
        let calls = words.iter().map(|word| {
            let mut client = client.clone();
            let request = ctx.call(guidance::SearchDocumentsRequest {
                query: word.clone(),
                filter: String::new(),
                page_size: DOCUMENTS as i32,
                page_token: String::new(),
            });
            async move {
                let hits = client
                    .search_documents(request)
                    .await
                    .map_err(failed("guidance"))?
                    .into_inner()
                    .results;
                Ok((word.clone(), hits))
            }
        });
        let mut by_document: HashMap<String, (pb::SimilarDocument, f64)> = HashMap::new();
        for (word, hits) in bounded(calls.collect()).await? {
            for hit in hits {
                let (doc, best) = by_document
                    .entry(hit.document.clone())
                    .or_insert_with(|| (pb::SimilarDocument::default(), f64::MIN));
                if hit.score > *best {
                    *best = hit.score;
                    doc.document = hit.document;
                    doc.title = hit.title;
                    doc.language_code = hit.language_code;
                    doc.snippet = hit.snippet;
                }
                doc.score += hit.score;
                match doc.reasons.first_mut() {
                    Some(reason) if reason.values.contains(&word) => {}
                    Some(reason) => reason.values.push(word.clone()),
                    None => doc.reasons.push(initiatives::MatchReason {
                        kind: initiatives::match_reason::Kind::Words as i32,
                        values: vec![word.clone()],
                        weight: 0.0,
                    }),
                }
            }
        }
        let mut documents: Vec<pb::SimilarDocument> =
            by_document.into_values().map(|(d, _)| d).collect();
        for d in &mut documents {
            if let Some(reason) = d.reasons.first_mut() {
                reason.weight = d.score;
            }
        }
        documents.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| a.document.cmp(&b.document))
        });
        documents.truncate(DOCUMENTS);
        Ok(documents)
    }

    /// The organisations behind `matches`, by the sum of their scores.
    async fn organizations_behind(
        &self,
        ctx: &CallContext,
        matches: &[initiatives::SimilarRecord],
    ) -> Part<Vec<pb::SimilarOrganization>> {
        let mut behind: Vec<(String, Vec<String>, f64)> = Vec::new();
        for m in matches.iter().filter(|m| !m.organization.is_empty()) {
            match behind.iter_mut().find(|(o, _, _)| *o == m.organization) {
                Some((_, names, score)) => {
                    names.push(m.name.clone());
                    *score += m.score;
                }
                None => behind.push((m.organization.clone(), vec![m.name.clone()], m.score)),
            }
        }
        behind.sort_by(|a, b| b.2.total_cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
        behind.truncate(ORGANIZATIONS);
        let calls = behind
            .iter()
            .map(|(name, _, _)| self.organization(ctx, name));
        let found = bounded(calls.collect()).await?;
        Ok(found
            .into_iter()
            .zip(behind)
            .map(
                |(organization, (_, matches, score))| pb::SimilarOrganization {
                    organization: Some(organization),
                    matches,
                    score,
                },
            )
            .collect())
    }
}
