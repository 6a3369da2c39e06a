//! The submission handlers (Calls for Innovations), called one line each
//! from the service's trait implementation in `mod.rs`.

use innolab_kit::{Error, Violations};
use innolab_proto::innolab::initiatives::v1 as pb;

use super::InitiativesApi;
use super::convert::*;
use crate::domain;
use crate::store::NewSubmission;

impl InitiativesApi {
    pub(super) async fn create_submission_in(
        &self,
        r: pb::CreateSubmissionRequest,
    ) -> Result<pb::Submission, Error> {
        let mut v = Violations::new();
        let call_id = v.merge(id("parent", &r.parent, "calls"));
        let request_id = v.merge(domain::request_id(&r.request_id)).flatten();
        let draft = v.merge(submission_in(r.submission.unwrap_or_default()));
        v.finish()?;
        let (Some(call_id), Some((submitted_by, (fields, stage, status)))) = (call_id, draft)
        else {
            return Err(Error::Internal("validated fields missing".into()));
        };
        self.require_organizations(&fields, &[], "submission.initiative")
            .await?;
        let new = NewSubmission {
            fields: &fields,
            stage,
            status,
            submitted_by: &submitted_by,
        };
        let stored = self
            .store
            .create_submission(&call_id, new, request_id.as_deref(), domain::today())
            .await?;
        let likely_duplicates = self.submission_duplicates(&fields, stage).await?;
        Ok(pb::Submission {
            likely_duplicates,
            ..submission_pb(stored)
        })
    }

    pub(super) async fn get_submission_in(
        &self,
        r: pb::GetSubmissionRequest,
    ) -> Result<pb::Submission, Error> {
        let (call_id, id) = submission_id("name", &r.name)?;
        Ok(submission_pb(
            self.store.get_submission(&call_id, &id).await?,
        ))
    }

    pub(super) async fn list_submissions_in(
        &self,
        r: pb::ListSubmissionsRequest,
    ) -> Result<pb::ListSubmissionsResponse, Error> {
        const METHOD: &str = "ListSubmissions";
        let call_id = id("parent", &r.parent, "calls")?;
        let states = domain::submission_states(&r.filter)?;
        // A page token is bound to the call as well as the filter.
        let scope = format!("{}\n{}", r.parent, r.filter);
        let page = self
            .pages
            .request(METHOD, r.page_size, &r.page_token, &scope)?;
        let found = self
            .store
            .list_submissions(&call_id, &states, &page)
            .await?;
        Ok(pb::ListSubmissionsResponse {
            next_page_token: self.pages.next_token(METHOD, &scope, &found),
            submissions: found.items.into_iter().map(submission_pb).collect(),
        })
    }

    pub(super) async fn screen_submission_in(
        &self,
        r: pb::ScreenSubmissionRequest,
    ) -> Result<pb::Submission, Error> {
        let mut v = Violations::new();
        let name = v.merge(submission_id("name", &r.name));
        let expected = v.merge(domain::parse_etag(&r.etag)).flatten();
        let screening = v.merge(screening_in(r.screening.unwrap_or_default()));
        v.finish()?;
        let (Some((call_id, id)), Some(screening)) = (name, screening) else {
            return Err(Error::Internal("validated fields missing".into()));
        };
        let stored = self
            .store
            .screen_submission(&call_id, &id, expected, &screening)
            .await?;
        Ok(submission_pb(stored))
    }
}
