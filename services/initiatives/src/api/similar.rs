//! FindSimilar and the likely duplicates of new challenges and submissions,
//! called from the service's trait implementation in `mod.rs` and from the
//! create handlers.

use innolab_kit::Error;
use innolab_proto::innolab::initiatives::v1 as pb;

use super::InitiativesApi;
use super::convert::*;
use crate::domain::similar::{Profile, Similar, Subject, duplicates, ranked};
use crate::domain::{Challenge, InitiativeFields, Stage};

impl InitiativesApi {
    pub(super) async fn find_similar_in(
        &self,
        r: pb::FindSimilarRequest,
    ) -> Result<pb::FindSimilarResponse, Error> {
        let query = similar_query_in(r)?;
        let (profile, language, query_text, except_initiative, except_challenge) =
            match query.subject {
                Subject::Initiative(id) => {
                    let i = self.store.get_initiative(&id).await?;
                    let profile = i.fields.profile(Some(i.stage));
                    let text = i.fields.query_text();
                    (profile, i.fields.original_language(), text, Some(id), None)
                }
                Subject::Challenge(id) => {
                    let c = self.store.get_challenge(&id).await?;
                    (c.profile(), None, c.query_text(), None, Some(id))
                }
                Subject::Text {
                    text,
                    language,
                    profile,
                } => (profile, language, text, None, None),
            };
        let mut found = self
            .similar_initiatives(&profile, except_initiative.as_deref())
            .await?;
        found.extend(
            self.store
                .recent_challenges(except_challenge.as_deref())
                .await?
                .iter()
                .filter_map(|c| Similar::challenge(&profile, c)),
        );
        let found = self
            .titled(ranked(found, query.limit), language.as_deref())
            .await?;
        Ok(pb::FindSimilarResponse {
            matches: found.into_iter().map(similar_pb).collect(),
            query_text,
            query_language_code: language.unwrap_or_default(),
        })
    }

    /// The library's initiatives sharing something with `profile`, scored,
    /// without their titles (see `titled`).
    async fn similar_initiatives(
        &self,
        profile: &Profile,
        except: Option<&str>,
    ) -> Result<Vec<Similar>, Error> {
        Ok(self
            .store
            .similar_initiatives(profile, except)
            .await?
            .iter()
            .filter_map(|c| Similar::initiative(profile, c))
            .collect())
    }

    /// `found` with the initiatives' titles in `language` (or their first),
    /// read for the few kept once ranked.
    async fn titled(
        &self,
        mut found: Vec<Similar>,
        language: Option<&str>,
    ) -> Result<Vec<Similar>, Error> {
        let ids: Vec<&str> = found
            .iter()
            .filter_map(|s| s.name.strip_prefix("initiatives/"))
            .collect();
        let fields = self.store.initiative_fields(&ids).await?;
        for s in &mut found {
            let id = s.name.strip_prefix("initiatives/");
            if let Some((_, f)) = fields.iter().find(|(i, _)| Some(i.as_str()) == id) {
                s.title = f.title_in(language);
            }
        }
        Ok(found)
    }

    /// The existing challenges that are likely the same as `new`.
    pub(super) async fn challenge_duplicates(
        &self,
        new: &Challenge,
    ) -> Result<Vec<pb::SimilarRecord>, Error> {
        let profile = new.profile();
        let others = self.store.recent_challenges(Some(&new.id)).await?;
        let found = others
            .iter()
            .filter_map(|c| Similar::challenge(&profile, c))
            .collect();
        Ok(duplicates(found).into_iter().map(similar_pb).collect())
    }

    /// The library's initiatives that are likely the same as a submitted one.
    pub(super) async fn submission_duplicates(
        &self,
        fields: &InitiativeFields,
        stage: Stage,
    ) -> Result<Vec<pb::SimilarRecord>, Error> {
        let profile = fields.profile(Some(stage));
        let language = fields.original_language();
        let found = self.similar_initiatives(&profile, None).await?;
        let found = self.titled(duplicates(found), language.as_deref()).await?;
        Ok(found.into_iter().map(similar_pb).collect())
    }
}
