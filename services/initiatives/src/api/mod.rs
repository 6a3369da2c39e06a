//! The gRPC API: protobuf <-> domain, and nothing else. With `directory.rs`
//! the only module of the service that knows generated types. The handlers
//! are here (adoptions' and submissions' in `adoption.rs` and `calls.rs`); the
//! conversions in `convert/`; the import pipeline in
//! `crate::import` and the export's reading in `crate::export`.

mod adoption;
mod calls;
mod convert;
mod similar;

use innolab_proto::innolab::common::v1::{
    FindPersonReferencesRequest, FindPersonReferencesResponse,
};
use std::collections::HashSet;

use innolab_kit::api::{self, ChangeStream, Pages, Reply, ServerStream, merge, reply};
use innolab_kit::domain::Decision;
use innolab_kit::page::PageTokens;
use innolab_kit::{Error, Violations};
use innolab_proto::innolab::initiatives::v1 as pb;
use pb::initiatives_service_server::InitiativesService;
use tonic::{Request, Response, Streaming};

use crate::directory::Directory;
use crate::domain::{
    self, ChallengeFields, ChallengeQuery, InitiativeFields, InitiativeQuery, Move,
};
use crate::export;
use crate::import::Import;
use crate::store::{ImportRow, Start, Store};
use convert::*;

/// The InitiativesService implementation.
#[derive(Debug, Clone)]
pub struct InitiativesApi {
    store: Store,
    pages: Pages,
    directory: Directory,
}

impl InitiativesApi {
    /// An API over `store`, signing page tokens with `tokens`, checking
    /// organisations in `directory`.
    pub fn new(store: Store, tokens: PageTokens, directory: Directory) -> Self {
        InitiativesApi {
            store,
            pages: Pages::new(tokens),
            directory,
        }
    }

    /// Checks with membership every organisation `fields` names that is not in `already`.
    async fn require_organizations(
        &self,
        fields: &InitiativeFields,
        already: &[String],
        prefix: &str,
    ) -> Result<(), Error> {
        let mut known: HashSet<String> = already.iter().cloned().collect();
        self.directory
            .require(&fields.organizations(), &mut known)
            .await
            .map_err(|e| e.within(prefix))
    }

    /// Checks with membership that the organisation raising a challenge
    /// exists, unless it is in `known`.
    async fn require_raiser(
        &self,
        fields: &ChallengeFields,
        mut known: HashSet<String>,
    ) -> Result<(), Error> {
        let raiser = [("raised_by".to_string(), fields.raised_by.clone())];
        self.directory
            .require(&raiser, &mut known)
            .await
            .map_err(|e| e.within("challenge"))
    }

    /// MoveInitiativeStage and ChangeInitiativeStatus: `(field, step)` is the
    /// move the request's `field` asks for (`None` for UNSPECIFIED).
    async fn transition(
        &self,
        name: &str,
        etag: &str,
        (field, step): (&str, Result<Option<Move>, Error>),
        actor: &str,
        note: &str,
    ) -> Result<pb::Initiative, Error> {
        let mut v = Violations::new();
        let id = v.merge(id("name", name, "initiatives"));
        let expected = v.merge(domain::parse_etag(etag)).flatten();
        let parsed = v.merge(step);
        let step = parsed.flatten();
        if parsed.is_some() && step.is_none() {
            v.add(field, "is required");
        }
        let who = v.merge(Decision::new(actor_note(true), actor, note));
        v.finish()?;
        let (Some(id), Some(step), Some(who)) = (id, step, who) else {
            return Err(Error::Internal("validated fields missing".into()));
        };
        let stored = self
            .store
            .move_initiative(&id, expected, step, &who.decided_by, &who.reason)
            .await?;
        Ok(initiative_pb(stored))
    }

    /// Validates one import row (organisations included).
    async fn import_row(
        &self,
        position: i64,
        message: pb::ImportInitiativesRequest,
        import_key: Option<&str>,
        known: &mut HashSet<String>,
    ) -> Result<ImportRow, Error> {
        let row = import_row_in(position, message, import_key)?;
        self.directory
            .require(&row.fields.organizations(), known)
            .await
            .map_err(|e| e.within("initiative"))?;
        Ok(row)
    }
}

#[tonic::async_trait]
impl InitiativesService for InitiativesApi {
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
        innolab_kit::api::person_references(
            "initiatives",
            request.into_inner(),
            |person| async move { self.store.find_person_references(&person).await },
        )
        .await
    }

    async fn create_initiative(
        &self,
        request: Request<pb::CreateInitiativeRequest>,
    ) -> Reply<pb::Initiative> {
        let r = request.into_inner();
        reply(
            async {
                let request_id = domain::request_id(&r.request_id)?;
                let actor = Decision::new(actor_note(false), &r.actor, "")?.decided_by;
                let initiative = r
                    .initiative
                    .ok_or_else(|| Error::invalid("initiative", "is required"))?;
                let (fields, stage, status) =
                    new_initiative(initiative).map_err(|e| e.within("initiative"))?;
                self.require_organizations(&fields, &[], "initiative")
                    .await?;
                let start = Start {
                    stage,
                    status,
                    actor: &actor,
                    note: "created",
                };
                let stored = self
                    .store
                    .create_initiative(&fields, start, request_id.as_deref())
                    .await?;
                Ok(initiative_pb(stored))
            }
            .await,
        )
    }

    async fn get_initiative(
        &self,
        request: Request<pb::GetInitiativeRequest>,
    ) -> Reply<pb::Initiative> {
        let r = request.into_inner();
        reply(
            async {
                let id = id("name", &r.name, "initiatives")?;
                Ok(initiative_pb(self.store.get_initiative(&id).await?))
            }
            .await,
        )
    }

    async fn list_initiatives(
        &self,
        request: Request<pb::ListInitiativesRequest>,
    ) -> Reply<pb::ListInitiativesResponse> {
        const METHOD: &str = "ListInitiatives";
        let r = request.into_inner();
        reply(
            async {
                let query = InitiativeQuery::from_filter(&r.filter)?;
                let page = self
                    .pages
                    .request(METHOD, r.page_size, &r.page_token, &r.filter)?;
                let found = self.store.list_initiatives(&query, &page).await?;
                Ok(pb::ListInitiativesResponse {
                    next_page_token: self.pages.next_token(METHOD, &r.filter, &found),
                    initiatives: found.items.into_iter().map(initiative_pb).collect(),
                })
            }
            .await,
        )
    }

    async fn update_initiative(
        &self,
        request: Request<pb::UpdateInitiativeRequest>,
    ) -> Reply<pb::Initiative> {
        let r = request.into_inner();
        reply(
            async {
                let new = r
                    .initiative
                    .ok_or_else(|| Error::invalid("initiative", "is required"))?;
                let id = id("initiative.name", &new.name, "initiatives")?;
                let expected = domain::parse_etag(&new.etag).map_err(|e| e.within("initiative"))?;
                let stored = self.store.get_initiative(&id).await?;
                let before: Vec<String> = stored
                    .fields
                    .organizations()
                    .into_iter()
                    .map(|(_, name)| name)
                    .collect();
                let merged = merge_initiative(initiative_pb(stored), new, r.update_mask)?;
                let fields = initiative_fields(merged).map_err(|e| e.within("initiative"))?;
                self.require_organizations(&fields, &before, "initiative")
                    .await?;
                let stored = self.store.update_initiative(&id, expected, &fields).await?;
                Ok(initiative_pb(stored))
            }
            .await,
        )
    }

    async fn move_initiative_stage(
        &self,
        request: Request<pb::MoveInitiativeStageRequest>,
    ) -> Reply<pb::Initiative> {
        let r = request.into_inner();
        let stage = stage_in("stage", r.stage).map(|s| s.map(Move::Stage));
        reply(
            self.transition(&r.name, &r.etag, ("stage", stage), &r.actor, &r.note)
                .await,
        )
    }

    async fn change_initiative_status(
        &self,
        request: Request<pb::ChangeInitiativeStatusRequest>,
    ) -> Reply<pb::Initiative> {
        let r = request.into_inner();
        let status = status_in("status", r.status).map(|s| s.map(Move::Status));
        reply(
            self.transition(&r.name, &r.etag, ("status", status), &r.actor, &r.note)
                .await,
        )
    }

    async fn create_challenge(
        &self,
        request: Request<pb::CreateChallengeRequest>,
    ) -> Reply<pb::Challenge> {
        let r = request.into_inner();
        reply(
            async {
                let request_id = domain::request_id(&r.request_id)?;
                let challenge = r
                    .challenge
                    .ok_or_else(|| Error::invalid("challenge", "is required"))?;
                let fields = challenge_fields(challenge)
                    .validate()
                    .map_err(|e| e.within("challenge"))?;
                self.require_raiser(&fields, HashSet::new()).await?;
                let stored = self
                    .store
                    .create_challenge(&fields, request_id.as_deref())
                    .await?;
                let likely_duplicates = self.challenge_duplicates(&stored).await?;
                Ok(pb::Challenge {
                    likely_duplicates,
                    ..challenge_pb(stored)
                })
            }
            .await,
        )
    }

    async fn get_challenge(
        &self,
        request: Request<pb::GetChallengeRequest>,
    ) -> Reply<pb::Challenge> {
        let r = request.into_inner();
        reply(
            async {
                let id = id("name", &r.name, "challenges")?;
                Ok(challenge_pb(self.store.get_challenge(&id).await?))
            }
            .await,
        )
    }

    async fn list_challenges(
        &self,
        request: Request<pb::ListChallengesRequest>,
    ) -> Reply<pb::ListChallengesResponse> {
        const METHOD: &str = "ListChallenges";
        let r = request.into_inner();
        reply(
            async {
                let query = ChallengeQuery::from_filter(&r.filter)?;
                let page = self
                    .pages
                    .request(METHOD, r.page_size, &r.page_token, &r.filter)?;
                let found = self.store.list_challenges(&query, &page).await?;
                Ok(pb::ListChallengesResponse {
                    next_page_token: self.pages.next_token(METHOD, &r.filter, &found),
                    challenges: found.items.into_iter().map(challenge_pb).collect(),
                })
            }
            .await,
        )
    }

    async fn update_challenge(
        &self,
        request: Request<pb::UpdateChallengeRequest>,
    ) -> Reply<pb::Challenge> {
        let r = request.into_inner();
        reply(
            async {
                let new = r
                    .challenge
                    .ok_or_else(|| Error::invalid("challenge", "is required"))?;
                let id = id("challenge.name", &new.name, "challenges")?;
                let expected = domain::parse_etag(&new.etag).map_err(|e| e.within("challenge"))?;
                let stored = self.store.get_challenge(&id).await?;
                let known = HashSet::from([stored.fields.raised_by.clone()]);
                let merged = merge(
                    challenge_pb(stored),
                    new,
                    r.update_mask,
                    CHALLENGE_WRITABLE,
                    copy_challenge_field,
                )?;
                let fields = challenge_fields(merged)
                    .validate()
                    .map_err(|e| e.within("challenge"))?;
                self.require_raiser(&fields, known).await?;
                let stored = self.store.update_challenge(&id, expected, &fields).await?;
                Ok(challenge_pb(stored))
            }
            .await,
        )
    }

    async fn create_innovation_call(
        &self,
        request: Request<pb::CreateInnovationCallRequest>,
    ) -> Reply<pb::InnovationCall> {
        let r = request.into_inner();
        reply(
            async {
                let request_id = domain::request_id(&r.request_id)?;
                let call = r
                    .call
                    .ok_or_else(|| Error::invalid("call", "is required"))?;
                let fields = call_fields(call).map_err(|e| e.within("call"))?;
                let stored = self
                    .store
                    .create_call(&fields, request_id.as_deref())
                    .await?;
                Ok(call_pb(stored))
            }
            .await,
        )
    }

    async fn get_innovation_call(
        &self,
        request: Request<pb::GetInnovationCallRequest>,
    ) -> Reply<pb::InnovationCall> {
        let r = request.into_inner();
        reply(
            async {
                let id = id("name", &r.name, "calls")?;
                Ok(call_pb(self.store.get_call(&id).await?))
            }
            .await,
        )
    }

    async fn list_innovation_calls(
        &self,
        request: Request<pb::ListInnovationCallsRequest>,
    ) -> Reply<pb::ListInnovationCallsResponse> {
        const METHOD: &str = "ListInnovationCalls";
        let r = request.into_inner();
        reply(
            async {
                let text = domain::call_search(&r.filter)?;
                let page = self
                    .pages
                    .request(METHOD, r.page_size, &r.page_token, &r.filter)?;
                let found = self.store.list_calls(&text, &page).await?;
                Ok(pb::ListInnovationCallsResponse {
                    next_page_token: self.pages.next_token(METHOD, &r.filter, &found),
                    calls: found.items.into_iter().map(call_pb).collect(),
                })
            }
            .await,
        )
    }

    async fn update_innovation_call(
        &self,
        request: Request<pb::UpdateInnovationCallRequest>,
    ) -> Reply<pb::InnovationCall> {
        let r = request.into_inner();
        reply(
            async {
                let new = r
                    .call
                    .ok_or_else(|| Error::invalid("call", "is required"))?;
                let id = id("call.name", &new.name, "calls")?;
                let expected = domain::parse_etag(&new.etag).map_err(|e| e.within("call"))?;
                let merged = merge(
                    call_pb(self.store.get_call(&id).await?),
                    new,
                    r.update_mask,
                    CALL_WRITABLE,
                    copy_call_field,
                )?;
                let fields = call_fields(merged).map_err(|e| e.within("call"))?;
                let stored = self.store.update_call(&id, expected, &fields).await?;
                Ok(call_pb(stored))
            }
            .await,
        )
    }

    async fn create_submission(
        &self,
        request: Request<pb::CreateSubmissionRequest>,
    ) -> Reply<pb::Submission> {
        reply(self.create_submission_in(request.into_inner()).await)
    }

    async fn get_submission(
        &self,
        request: Request<pb::GetSubmissionRequest>,
    ) -> Reply<pb::Submission> {
        reply(self.get_submission_in(request.into_inner()).await)
    }

    async fn list_submissions(
        &self,
        request: Request<pb::ListSubmissionsRequest>,
    ) -> Reply<pb::ListSubmissionsResponse> {
        reply(self.list_submissions_in(request.into_inner()).await)
    }

    async fn screen_submission(
        &self,
        request: Request<pb::ScreenSubmissionRequest>,
    ) -> Reply<pb::Submission> {
        reply(self.screen_submission_in(request.into_inner()).await)
    }

    async fn create_adoption(
        &self,
        request: Request<pb::CreateAdoptionRequest>,
    ) -> Reply<pb::Adoption> {
        reply(self.create_adoption_in(request.into_inner()).await)
    }

    async fn get_adoption(&self, request: Request<pb::GetAdoptionRequest>) -> Reply<pb::Adoption> {
        reply(self.get_adoption_in(request.into_inner()).await)
    }

    async fn list_adoptions(
        &self,
        request: Request<pb::ListAdoptionsRequest>,
    ) -> Reply<pb::ListAdoptionsResponse> {
        reply(self.list_adoptions_in(request.into_inner()).await)
    }

    async fn update_adoption(
        &self,
        request: Request<pb::UpdateAdoptionRequest>,
    ) -> Reply<pb::Adoption> {
        reply(self.update_adoption_in(request.into_inner()).await)
    }

    async fn confirm_adoption(
        &self,
        request: Request<pb::ConfirmAdoptionRequest>,
    ) -> Reply<pb::Adoption> {
        reply(self.confirm_adoption_in(request.into_inner()).await)
    }

    async fn withdraw_adoption(
        &self,
        request: Request<pb::WithdrawAdoptionRequest>,
    ) -> Reply<pb::Adoption> {
        reply(self.withdraw_adoption_in(request.into_inner()).await)
    }

    async fn import_initiatives(
        &self,
        request: Request<Streaming<pb::ImportInitiativesRequest>>,
    ) -> Reply<pb::ImportInitiativesResponse> {
        let mut stream = request.into_inner();
        let mut import = Import::new(self.store.clone());
        let mut import_key: Option<String> = None;
        let mut known: HashSet<String> = HashSet::new();
        let mut position: i64 = 0;
        while let Some(message) = stream.message().await? {
            position += 1;
            if position == 1 {
                import_key = domain::request_id(&message.request_id)?;
                import.by(Decision::new(actor_note(false), &message.actor, "")?.decided_by);
            }
            let row = self
                .import_row(position, message, import_key.as_deref(), &mut known)
                .await;
            import.push(position, row).await?;
        }
        Ok(Response::new(import_response(import.finish().await?)))
    }

    type ExportInitiativesStream = ServerStream<pb::ExportInitiativesResponse>;

    async fn export_initiatives(
        &self,
        request: Request<pb::ExportInitiativesRequest>,
    ) -> Reply<Self::ExportInitiativesStream> {
        let r = request.into_inner();
        let query = InitiativeQuery::from_filter(&r.filter)?;
        api::export(export::stream(self.store.clone(), query), |i| {
            let mut initiative = initiative_pb(i);
            for event in &mut initiative.timeline {
                api::unname(&mut event.actor);
            }
            pb::ExportInitiativesResponse {
                initiative: Some(initiative),
            }
        })
    }

    type ExportChallengesStream = ServerStream<pb::ExportChallengesResponse>;

    async fn export_challenges(
        &self,
        _: Request<pb::ExportChallengesRequest>,
    ) -> Reply<Self::ExportChallengesStream> {
        api::export(export::challenges(self.store.clone()), |c| {
            pb::ExportChallengesResponse {
                challenge: Some(challenge_pb(c)),
            }
        })
    }

    type ExportInnovationCallsStream = ServerStream<pb::ExportInnovationCallsResponse>;

    async fn export_innovation_calls(
        &self,
        _: Request<pb::ExportInnovationCallsRequest>,
    ) -> Reply<Self::ExportInnovationCallsStream> {
        api::export(export::calls(self.store.clone()), |c| {
            pb::ExportInnovationCallsResponse {
                call: Some(call_pb(c)),
            }
        })
    }

    type ExportSubmissionsStream = ServerStream<pb::ExportSubmissionsResponse>;

    async fn export_submissions(
        &self,
        _: Request<pb::ExportSubmissionsRequest>,
    ) -> Reply<Self::ExportSubmissionsStream> {
        api::export(export::accepted_submissions(self.store.clone()), |s| {
            pb::ExportSubmissionsResponse {
                submission: Some(public_submission(submission_pb(s))),
            }
        })
    }

    async fn find_similar(
        &self,
        request: Request<pb::FindSimilarRequest>,
    ) -> Reply<pb::FindSimilarResponse> {
        reply(self.find_similar_in(request.into_inner()).await)
    }

    async fn get_portfolio_summary(
        &self,
        request: Request<pb::GetPortfolioSummaryRequest>,
    ) -> Reply<pb::PortfolioSummary> {
        let r = request.into_inner();
        reply(
            async {
                let query = InitiativeQuery::from_filter(&r.filter)?;
                Ok(portfolio_pb(self.store.portfolio(&query).await?))
            }
            .await,
        )
    }
}
