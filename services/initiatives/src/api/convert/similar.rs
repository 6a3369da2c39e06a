//! FindSimilar: the request's subject, and the matches with their reasons.

use innolab_kit::Error;
use innolab_proto::innolab::initiatives::v1 as pb;

use super::sector_in;
use crate::domain::similar::{ReasonKind, Similar, SimilarQuery, TextFacts};

/// The validated query of a FindSimilar request.
pub(crate) fn similar_query_in(r: pb::FindSimilarRequest) -> Result<SimilarQuery, Error> {
    let facts = TextFacts {
        sector: sector_in("sector", r.sector)?,
        sdgs: r.sdgs,
        tags: r.tags,
    };
    SimilarQuery::new(
        &r.initiative,
        &r.challenge,
        &r.text,
        &r.language_code,
        facts,
        r.page_size,
    )
}

/// A match in the contract's form.
pub(crate) fn similar_pb(s: Similar) -> pb::SimilarRecord {
    use pb::match_reason::Kind;
    pb::SimilarRecord {
        name: s.name,
        title: s.title,
        score: s.score,
        reasons: s
            .reasons
            .into_iter()
            .map(|r| pb::MatchReason {
                kind: match r.kind {
                    ReasonKind::Sector => Kind::Sector,
                    ReasonKind::Sdg => Kind::Sdg,
                    ReasonKind::Stage => Kind::Stage,
                    ReasonKind::Tag => Kind::Tag,
                    ReasonKind::Process => Kind::Process,
                    ReasonKind::Words => Kind::Words,
                } as i32,
                values: r.values,
                weight: r.weight,
            })
            .collect(),
        organization: s.organization,
        country_code: s.country_code,
    }
}
