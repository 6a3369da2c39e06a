//! The adoption handlers, called one line each from the service's trait
//! implementation in `mod.rs`.

use std::collections::HashSet;

use innolab_kit::api::merge;
use innolab_kit::{Error, Violations};
use innolab_proto::innolab::initiatives::v1 as pb;

use super::InitiativesApi;
use super::convert::*;
use crate::domain::{self, AdoptionQuery};

impl InitiativesApi {
    pub(super) async fn create_adoption_in(
        &self,
        r: pb::CreateAdoptionRequest,
    ) -> Result<pb::Adoption, Error> {
        let request_id = domain::request_id(&r.request_id)?;
        let adoption = r
            .adoption
            .ok_or_else(|| Error::invalid("adoption", "is required"))?;
        let fields = adoption_fields(adoption).map_err(|e| e.within("adoption"))?;
        if !fields.adopting_organization.is_empty() {
            let named = [(
                "adopting_organization".to_string(),
                fields.adopting_organization.clone(),
            )];
            self.directory
                .require(&named, &mut HashSet::new())
                .await
                .map_err(|e| e.within("adoption"))?;
        }
        let stored = self
            .store
            .create_adoption(&fields, request_id.as_deref())
            .await?;
        Ok(adoption_pb(stored))
    }

    pub(super) async fn get_adoption_in(
        &self,
        r: pb::GetAdoptionRequest,
    ) -> Result<pb::Adoption, Error> {
        let id = id("name", &r.name, "adoptions")?;
        Ok(adoption_pb(self.store.get_adoption(&id).await?))
    }

    pub(super) async fn list_adoptions_in(
        &self,
        r: pb::ListAdoptionsRequest,
    ) -> Result<pb::ListAdoptionsResponse, Error> {
        const METHOD: &str = "ListAdoptions";
        let query = AdoptionQuery::from_filter(&r.filter)?;
        let page = self
            .pages
            .request(METHOD, r.page_size, &r.page_token, &r.filter)?;
        let found = self.store.list_adoptions(&query, &page).await?;
        Ok(pb::ListAdoptionsResponse {
            next_page_token: self.pages.next_token(METHOD, &r.filter, &found),
            adoptions: found.items.into_iter().map(adoption_pb).collect(),
        })
    }

    pub(super) async fn update_adoption_in(
        &self,
        r: pb::UpdateAdoptionRequest,
    ) -> Result<pb::Adoption, Error> {
        let new = r
            .adoption
            .ok_or_else(|| Error::invalid("adoption", "is required"))?;
        let id = id("adoption.name", &new.name, "adoptions")?;
        let expected = domain::parse_etag(&new.etag).map_err(|e| e.within("adoption"))?;
        let stored = self.store.get_adoption(&id).await?;
        // The write is guarded by the revision the mask was merged onto, so
        // a concurrent change is ABORTED even without an etag.
        let merged_on = stored.meta.revision;
        let merged = merge(
            adoption_pb(stored),
            new,
            r.update_mask,
            ADOPTION_WRITABLE,
            copy_adoption_field,
        )?;
        let fields = adoption_fields(merged).map_err(|e| e.within("adoption"))?;
        let stored = self
            .store
            .update_adoption(&id, Some(expected.unwrap_or(merged_on)), &fields)
            .await?;
        Ok(adoption_pb(stored))
    }

    pub(super) async fn confirm_adoption_in(
        &self,
        r: pb::ConfirmAdoptionRequest,
    ) -> Result<pb::Adoption, Error> {
        let mut v = Violations::new();
        let id = v.merge(id("name", &r.name, "adoptions"));
        let expected = v.merge(domain::parse_etag(&r.etag)).flatten();
        let side = match v.merge(side_in("side", r.side)) {
            Some(None) => {
                v.add("side", "is required: SOURCE, ADOPTER or BOTH");
                None
            }
            other => other.flatten(),
        };
        let by = v.merge(domain::person("confirmed_by", &r.confirmed_by));
        v.finish()?;
        let (Some(id), Some(side), Some(by)) = (id, side, by) else {
            return Err(Error::Internal("validated fields missing".into()));
        };
        let stored = self
            .store
            .confirm_adoption(&id, expected, side, &by)
            .await?;
        Ok(adoption_pb(stored))
    }

    pub(super) async fn withdraw_adoption_in(
        &self,
        r: pb::WithdrawAdoptionRequest,
    ) -> Result<pb::Adoption, Error> {
        let mut v = Violations::new();
        let id = v.merge(id("name", &r.name, "adoptions"));
        let expected = v.merge(domain::parse_etag(&r.etag)).flatten();
        let by = v.merge(domain::person("withdrawn_by", &r.withdrawn_by));
        let reason = match domain::check::required_text(&r.reason, 2000) {
            Ok(reason) => Some(reason),
            Err(e) => {
                v.add("reason", e);
                None
            }
        };
        v.finish()?;
        let (Some(id), Some(by), Some(reason)) = (id, by, reason) else {
            return Err(Error::Internal("validated fields missing".into()));
        };
        let stored = self
            .store
            .withdraw_adoption(&id, expected, &by, &reason)
            .await?;
        Ok(adoption_pb(stored))
    }
}
