//! The gRPC API: protobuf <-> domain, and nothing else. With `directory.rs`
//! the only module of the service that knows generated types.

use std::collections::{HashSet, VecDeque};

use innolab_kit::api::{
    ChangeStream, Pages, Reply, date_in, date_out, mask_paths, merge, reply, stream_changes,
    timestamp,
};
use innolab_kit::domain::{Decision, DecisionFields};
use innolab_kit::page::PageRequest;
use innolab_kit::page::PageTokens;
use innolab_kit::store::ChangeLog as _;
use innolab_kit::{Error, Violations, query};
use innolab_proto::innolab::initiatives::v1 as pb;
use pb::initiatives_service_server::InitiativesService;
use prost_types::FieldMask;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use crate::directory::Directory;
use crate::domain::{
    self, CallFields, ChallengeFields, ChallengeQuery, Facet, GovernmentFunction, GovernmentLevel,
    InitiativeFields, InitiativeQuery, LocalizedText, Milestone, Move, Partner, PartnerRole,
    Principle, Screening, ScreeningDecision, Stage, SubmissionState, check,
};
use crate::store::{ImportRow, NewSubmission, RowOutcome, Start, Store};

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
}

/// The id in `name`, or INVALID_ARGUMENT naming `field`.
fn id(field: &str, name: &str, collection: &str) -> Result<String, Error> {
    check::resource_id(name, collection).map_err(|e| Error::invalid(field, e))
}

/// Who made a move and why (optional), as the requests name them.
fn actor_note(actor_required: bool) -> DecisionFields {
    DecisionFields {
        who: "actor",
        who_required: actor_required,
        reason: "note",
        reason_required: false,
    }
}

/// Fields UpdateInitiative may change.
const WRITABLE: &[&str] = &[
    "titles",
    "summaries",
    "problem",
    "objectives",
    "solution",
    "lead_organization",
    "partners",
    "country_code",
    "nuts_code",
    "government_level",
    "sector",
    "start_date",
    "end_date",
    "tags",
    "sdgs",
    "principles",
    "facet",
    "results",
    "lessons_learned",
    "links",
    "recognition",
    "milestones",
    "challenges",
];

fn copy_field(cur: &mut pb::Initiative, new: &pb::Initiative, path: &str) {
    match path {
        "titles" => cur.titles = new.titles.clone(),
        "summaries" => cur.summaries = new.summaries.clone(),
        "problem" => cur.problem = new.problem.clone(),
        "objectives" => cur.objectives = new.objectives.clone(),
        "solution" => cur.solution = new.solution.clone(),
        "lead_organization" => cur.lead_organization = new.lead_organization.clone(),
        "partners" => cur.partners = new.partners.clone(),
        "country_code" => cur.country_code = new.country_code.clone(),
        "nuts_code" => cur.nuts_code = new.nuts_code.clone(),
        "government_level" => cur.government_level = new.government_level,
        "sector" => cur.sector = new.sector,
        "start_date" => cur.start_date = new.start_date,
        "end_date" => cur.end_date = new.end_date,
        "tags" => cur.tags = new.tags.clone(),
        "sdgs" => cur.sdgs = new.sdgs.clone(),
        "principles" => cur.principles = new.principles.clone(),
        "facet" => cur.facet = new.facet,
        "results" => cur.results = new.results.clone(),
        "lessons_learned" => cur.lessons_learned = new.lessons_learned.clone(),
        "links" => cur.links = new.links.clone(),
        "recognition" => cur.recognition = new.recognition.clone(),
        "milestones" => cur.milestones = new.milestones.clone(),
        _ => cur.challenges = new.challenges.clone(),
    }
}

#[tonic::async_trait]
impl InitiativesService for InitiativesApi {
    type StreamChangesStream = ChangeStream;

    async fn stream_changes(
        &self,
        request: Request<pb::StreamChangesRequest>,
    ) -> Reply<Self::StreamChangesStream> {
        let r = request.into_inner();
        stream_changes(r.after_sequence, |after| {
            self.store.changes(after, r.follow)
        })
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
        reply(
            async {
                let mut v = Violations::new();
                let id = v.merge(id("name", &r.name, "initiatives"));
                let expected = v.merge(domain::parse_etag(&r.etag)).flatten();
                let parsed = v.merge(stage_in("stage", r.stage));
                let stage = parsed.flatten();
                if parsed.is_some() && stage.is_none() {
                    v.add("stage", "is required");
                }
                let who = v.merge(Decision::new(actor_note(true), &r.actor, &r.note));
                v.finish()?;
                let (Some(id), Some(stage), Some(who)) = (id, stage, who) else {
                    return Err(Error::Internal("validated fields missing".into()));
                };
                let stored = self
                    .store
                    .move_initiative(
                        &id,
                        expected,
                        Move::Stage(stage),
                        &who.decided_by,
                        &who.reason,
                    )
                    .await?;
                Ok(initiative_pb(stored))
            }
            .await,
        )
    }

    async fn change_initiative_status(
        &self,
        request: Request<pb::ChangeInitiativeStatusRequest>,
    ) -> Reply<pb::Initiative> {
        let r = request.into_inner();
        reply(
            async {
                let mut v = Violations::new();
                let id = v.merge(id("name", &r.name, "initiatives"));
                let expected = v.merge(domain::parse_etag(&r.etag)).flatten();
                let parsed = v.merge(status_in("status", r.status));
                let status = parsed.flatten();
                if parsed.is_some() && status.is_none() {
                    v.add("status", "is required");
                }
                let who = v.merge(Decision::new(actor_note(true), &r.actor, &r.note));
                v.finish()?;
                let (Some(id), Some(status), Some(who)) = (id, status, who) else {
                    return Err(Error::Internal("validated fields missing".into()));
                };
                let stored = self
                    .store
                    .move_initiative(
                        &id,
                        expected,
                        Move::Status(status),
                        &who.decided_by,
                        &who.reason,
                    )
                    .await?;
                Ok(initiative_pb(stored))
            }
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
                self.directory
                    .require(
                        &[("raised_by".to_string(), fields.raised_by.clone())],
                        &mut HashSet::new(),
                    )
                    .await
                    .map_err(|e| e.within("challenge"))?;
                let stored = self
                    .store
                    .create_challenge(&fields, request_id.as_deref())
                    .await?;
                Ok(challenge_pb(stored))
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
                let mut known: HashSet<String> = HashSet::from([stored.fields.raised_by.clone()]);
                let writable = [
                    "title",
                    "description",
                    "process",
                    "raised_by",
                    "country_code",
                ];
                let merged = merge(
                    challenge_pb(stored),
                    new,
                    r.update_mask,
                    &writable,
                    |merged, new, path| match path {
                        "title" => merged.title = new.title.clone(),
                        "description" => merged.description = new.description.clone(),
                        "process" => merged.process = new.process.clone(),
                        "raised_by" => merged.raised_by = new.raised_by.clone(),
                        _ => merged.country_code = new.country_code.clone(),
                    },
                )?;
                let fields = challenge_fields(merged)
                    .validate()
                    .map_err(|e| e.within("challenge"))?;
                self.directory
                    .require(
                        &[("raised_by".to_string(), fields.raised_by.clone())],
                        &mut known,
                    )
                    .await
                    .map_err(|e| e.within("challenge"))?;
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
                let restrictions = query::restrictions(&r.filter, &[])?;
                let text: Vec<String> = restrictions
                    .text
                    .iter()
                    .map(|t| domain::search_key(t))
                    .collect();
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
                let writable = ["title", "description", "open_date", "close_date"];
                let merged = merge(
                    call_pb(self.store.get_call(&id).await?),
                    new,
                    r.update_mask,
                    &writable,
                    |merged, new, path| match path {
                        "title" => merged.title = new.title.clone(),
                        "description" => merged.description = new.description.clone(),
                        "open_date" => merged.open_date = new.open_date,
                        _ => merged.close_date = new.close_date,
                    },
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
        let r = request.into_inner();
        reply(
            async {
                let mut v = Violations::new();
                let call_id = v.merge(id("parent", &r.parent, "calls"));
                let request_id = v.merge(domain::request_id(&r.request_id)).flatten();
                let submission = r.submission.unwrap_or_default();
                let submitted_by = check::required_text(&submission.submitted_by, 200)
                    .unwrap_or_else(|e| {
                        v.add("submission.submitted_by", e);
                        String::new()
                    });
                let draft = match submission.initiative {
                    Some(i) => {
                        v.merge(new_initiative(i).map_err(|e| e.within("submission.initiative")))
                    }
                    None => {
                        v.add("submission.initiative", "is required");
                        None
                    }
                };
                v.finish()?;
                let (Some(call_id), Some((fields, stage, status))) = (call_id, draft) else {
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
                Ok(submission_pb(stored))
            }
            .await,
        )
    }

    async fn get_submission(
        &self,
        request: Request<pb::GetSubmissionRequest>,
    ) -> Reply<pb::Submission> {
        let r = request.into_inner();
        reply(
            async {
                let (call_id, id) = submission_id("name", &r.name)?;
                Ok(submission_pb(
                    self.store.get_submission(&call_id, &id).await?,
                ))
            }
            .await,
        )
    }

    async fn list_submissions(
        &self,
        request: Request<pb::ListSubmissionsRequest>,
    ) -> Reply<pb::ListSubmissionsResponse> {
        const METHOD: &str = "ListSubmissions";
        let r = request.into_inner();
        reply(
            async {
                let call_id = id("parent", &r.parent, "calls")?;
                let mut restrictions = query::restrictions(&r.filter, &["state"])?;
                if !restrictions.text.is_empty() {
                    return Err(Error::invalid(
                        "filter",
                        "submissions have no free text; filter by state",
                    ));
                }
                let states: Vec<String> = domain::parse_names(
                    "state",
                    restrictions.take("state"),
                    SubmissionState::parse,
                )?
                .into_iter()
                .map(|s| s.as_str().to_string())
                .collect();
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
            .await,
        )
    }

    async fn screen_submission(
        &self,
        request: Request<pb::ScreenSubmissionRequest>,
    ) -> Reply<pb::Submission> {
        let r = request.into_inner();
        reply(
            async {
                let mut v = Violations::new();
                let name = v.merge(submission_id("name", &r.name));
                let expected = v.merge(domain::parse_etag(&r.etag)).flatten();
                let s = r.screening.unwrap_or_default();
                let decision = match v.merge(decision_in("screening.decision", s.decision)) {
                    Some(Some(d)) => Some(d),
                    Some(None) => {
                        v.add("screening.decision", "is required: ACCEPT or REJECT");
                        None
                    }
                    None => None,
                };
                let screening = decision.and_then(|decision| {
                    v.merge(
                        Screening {
                            public_sector_involved: s.public_sector_involved,
                            novel_to_organization: s.novel_to_organization,
                            implemented_or_piloted: s.implemented_or_piloted,
                            public_impact: s.public_impact,
                            decision,
                            decided_by: s.decided_by,
                            note: s.note,
                            time: 0,
                        }
                        .validate()
                        .map_err(|e| e.within("screening")),
                    )
                });
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
            .await,
        )
    }

    async fn import_initiatives(
        &self,
        request: Request<Streaming<pb::ImportInitiativesRequest>>,
    ) -> Reply<pb::ImportInitiativesResponse> {
        let mut stream = request.into_inner();
        let mut out = pb::ImportInitiativesResponse::default();
        let mut import_key: Option<String> = None;
        let mut actor = String::new();
        let mut known: HashSet<String> = HashSet::new();
        let mut batch: Vec<ImportRow> = Vec::new();
        // Batches being stored (each in its own transaction, on its own
        // connection) while the next one is read and validated.
        let mut storing: VecDeque<Storing> = VecDeque::new();
        let mut position: i64 = 0;
        while let Some(message) = stream.message().await? {
            position += 1;
            if position == 1 {
                import_key = domain::request_id(&message.request_id)?;
                actor = Decision::new(actor_note(false), &message.actor, "")?.decided_by;
            }
            match self
                .import_row(position, message, import_key.as_deref(), &mut known)
                .await
            {
                Ok(row) => batch.push(row),
                Err(Error::InvalidArgument(violations)) => {
                    out.errors.push(row_error(position, violations));
                }
                Err(other) => return Err(other.into()),
            }
            if batch.len() >= IMPORT_BATCH {
                if storing.len() >= self.store.import_batches_in_flight()
                    && let Some(previous) = storing.pop_front()
                {
                    record(previous.finish().await?, &mut out)?;
                }
                let after = storing.back_mut().and_then(|s| s.done.take());
                storing.push_back(Storing::start(
                    self.store.clone(),
                    std::mem::take(&mut batch),
                    actor.clone(),
                    after,
                ));
            }
        }
        while let Some(previous) = storing.pop_front() {
            record(previous.finish().await?, &mut out)?;
        }
        if !batch.is_empty() {
            let outcomes = self.store.import_batch(&batch, &actor, None).await?;
            record((batch, outcomes), &mut out)?;
        }
        if out.imported > 0 {
            // In the background: the import is answered now.
            let store = self.store.clone();
            let stored = out.imported;
            tokio::spawn(async move {
                if let Err(e) = store.refresh_statistics(stored).await {
                    tracing::warn!(error = %e, "statistics not refreshed after an import");
                }
            });
        }
        out.received = position;
        out.errors.sort_by_key(|e| e.position);
        out.rows.sort_by_key(|r| r.position);
        Ok(Response::new(out))
    }

    type ExportInitiativesStream = ReceiverStream<Result<pb::ExportInitiativesResponse, Status>>;

    async fn export_initiatives(
        &self,
        request: Request<pb::ExportInitiativesRequest>,
    ) -> Reply<Self::ExportInitiativesStream> {
        let r = request.into_inner();
        let query = InitiativeQuery::from_filter(&r.filter)?;
        let (tx, rx) = tokio::sync::mpsc::channel(EXPORT_PAGE);
        let store = self.store.clone();
        tokio::spawn(async move {
            let mut page = PageRequest {
                size: EXPORT_PAGE,
                after: None,
            };
            loop {
                let found = match store.list_initiatives(&query, &page).await {
                    Ok(found) => found,
                    Err(e) => {
                        let _ = tx.send(Err(e.into())).await;
                        return;
                    }
                };
                for initiative in found.items {
                    let item = pb::ExportInitiativesResponse {
                        initiative: Some(initiative_pb(initiative)),
                    };
                    if tx.send(Ok(item)).await.is_err() {
                        return; // the caller went away
                    }
                }
                match found.next {
                    Some(next) => page.after = Some(next),
                    None => return,
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn get_portfolio_summary(
        &self,
        request: Request<pb::GetPortfolioSummaryRequest>,
    ) -> Reply<pb::PortfolioSummary> {
        let r = request.into_inner();
        reply(
            async {
                let query = InitiativeQuery::from_filter(&r.filter)?;
                let s = self.store.portfolio(&query).await?;
                let counts = |v: Vec<(String, i64)>| {
                    v.into_iter()
                        .map(|(value, count)| pb::PortfolioCount { value, count })
                        .collect()
                };
                Ok(pb::PortfolioSummary {
                    total: s.total,
                    by_stage: counts(s.by_stage),
                    by_facet: counts(s.by_facet),
                    by_status: counts(s.by_status),
                    by_principle: counts(s.by_principle),
                    by_country: counts(s.by_country),
                    by_sdg: counts(s.by_sdg),
                })
            }
            .await,
        )
    }
}

/// Applies an AIP-134 update of an initiative: copies the masked fields of
/// `new` onto `current`. The mask is required; `*` means every writable
/// field; stage and status are refused (they move by their own methods).
fn merge_initiative(
    mut current: pb::Initiative,
    new: pb::Initiative,
    mask: Option<FieldMask>,
) -> Result<pb::Initiative, Error> {
    const MOVED: &str = "moves only by MoveInitiativeStage or ChangeInitiativeStatus, \
                         so that the move is recorded";
    for path in mask_paths(mask, WRITABLE, &[("stage", MOVED), ("status", MOVED)])? {
        copy_field(&mut current, &new, &path);
    }
    Ok(current)
}

// ---- enums: the protobuf value `<PREFIX>_<NAME>` carries the domain name ----

innolab_kit::enum_mapping!(
    decision_in,
    decision_out,
    pb::ScreeningDecision,
    "SCREENING_DECISION_",
    ScreeningDecision
);
innolab_kit::enum_mapping!(
    submission_state_in,
    submission_state_out,
    pb::SubmissionState,
    "SUBMISSION_STATE_",
    SubmissionState
);
innolab_kit::enum_mapping!(
    stage_in,
    stage_out,
    pb::InitiativeStage,
    "INITIATIVE_STAGE_",
    Stage
);
innolab_kit::enum_mapping!(
    status_in,
    status_out,
    pb::InitiativeStatus,
    "INITIATIVE_STATUS_",
    domain::Status
);
innolab_kit::enum_mapping!(
    facet_in,
    facet_out,
    pb::InnovationFacet,
    "INNOVATION_FACET_",
    Facet
);
innolab_kit::enum_mapping!(
    principle_in,
    principle_out,
    pb::DeclarationPrinciple,
    "DECLARATION_PRINCIPLE_",
    Principle
);
innolab_kit::enum_mapping!(
    role_in,
    role_out,
    pb::PartnerRole,
    "PARTNER_ROLE_",
    PartnerRole
);
innolab_kit::enum_mapping!(
    level_in,
    level_out,
    pb::GovernmentLevel,
    "GOVERNMENT_LEVEL_",
    GovernmentLevel
);
innolab_kit::enum_mapping!(
    sector_in,
    sector_out,
    pb::GovernmentFunction,
    "GOVERNMENT_FUNCTION_",
    GovernmentFunction
);

// ---- resources ----

/// Fields of a new initiative, its starting stage and status, validated.
pub(crate) fn new_initiative(
    i: pb::Initiative,
) -> Result<(InitiativeFields, Stage, domain::Status), Error> {
    let mut v = Violations::new();
    let stage = v.merge(stage_in("stage", i.stage)).flatten();
    let status = v.merge(status_in("status", i.status)).flatten();
    let fields = v.merge(initiative_fields(i));
    v.finish()?;
    let fields = fields.ok_or_else(|| Error::Internal("validated fields missing".into()))?;
    Ok((
        fields,
        stage.unwrap_or(Stage::IdentifyingProblems),
        status.unwrap_or(domain::Status::InDevelopment),
    ))
}

fn texts(list: Vec<pb::LocalizedText>) -> Vec<LocalizedText> {
    list.into_iter()
        .map(|t| LocalizedText {
            language_code: t.language_code,
            text: t.text,
        })
        .collect()
}

fn texts_pb(list: Vec<LocalizedText>) -> Vec<pb::LocalizedText> {
    list.into_iter()
        .map(|t| pb::LocalizedText {
            language_code: t.language_code,
            text: t.text,
        })
        .collect()
}

/// The domain fields of `i`, validated: every wrong field is reported,
/// whether its protobuf value has no meaning or its meaning breaks a rule.
fn initiative_fields(i: pb::Initiative) -> Result<InitiativeFields, Error> {
    let mut v = Violations::new();
    let government_level = v.merge(level_in("government_level", i.government_level));
    let sector = v.merge(sector_in("sector", i.sector));
    let facet = v.merge(facet_in("facet", i.facet));
    let start_date = v.merge(date_in("start_date", i.start_date));
    let end_date = v.merge(date_in("end_date", i.end_date));
    let mut partners = Vec::new();
    for (n, p) in i.partners.into_iter().enumerate() {
        let role = v
            .merge(role_in(&format!("partners[{n}].role"), p.role))
            .flatten();
        partners.push(Partner {
            organization: p.organization,
            role,
        });
    }
    let mut principles = Vec::new();
    for (n, p) in i.principles.iter().enumerate() {
        let field = format!("principles[{n}]");
        match v.merge(principle_in(&field, *p)) {
            Some(Some(p)) => principles.push(p),
            Some(None) => v.add(field, "must name a principle, not UNSPECIFIED"),
            None => {}
        }
    }
    let mut milestones = Vec::new();
    for (n, m) in i.milestones.into_iter().enumerate() {
        let due_date = v
            .merge(date_in(&format!("milestones[{n}].due_date"), m.due_date))
            .flatten();
        let done_date = v
            .merge(date_in(&format!("milestones[{n}].done_date"), m.done_date))
            .flatten();
        milestones.push(Milestone {
            title: m.title,
            due_date,
            done_date,
        });
    }
    let fields = InitiativeFields {
        titles: texts(i.titles),
        summaries: texts(i.summaries),
        problem: i.problem,
        objectives: i.objectives,
        solution: i.solution,
        lead_organization: i.lead_organization,
        partners,
        country_code: i.country_code,
        nuts_code: i.nuts_code,
        government_level: government_level.flatten(),
        sector: sector.flatten(),
        start_date: start_date.flatten(),
        end_date: end_date.flatten(),
        tags: i.tags,
        sdgs: i.sdgs,
        principles,
        facet: facet.flatten(),
        results: i.results,
        lessons_learned: i.lessons_learned,
        links: i.links,
        recognition: i.recognition,
        milestones,
        challenges: i.challenges,
    };
    let validated = v.merge(fields.validate());
    v.finish()?;
    validated.ok_or_else(|| Error::Internal("validated fields missing".into()))
}

pub(crate) fn initiative_pb(i: domain::Initiative) -> pb::Initiative {
    let name = i.name();
    let etag = i.meta.etag();
    let f = i.fields;
    pb::Initiative {
        name,
        titles: texts_pb(f.titles),
        summaries: texts_pb(f.summaries),
        problem: f.problem,
        objectives: f.objectives,
        solution: f.solution,
        lead_organization: f.lead_organization,
        partners: f
            .partners
            .into_iter()
            .map(|p| pb::Partner {
                organization: p.organization,
                role: role_out(p.role),
            })
            .collect(),
        country_code: f.country_code,
        nuts_code: f.nuts_code,
        government_level: level_out(f.government_level),
        sector: sector_out(f.sector),
        start_date: date_out(f.start_date),
        end_date: date_out(f.end_date),
        tags: f.tags,
        sdgs: f.sdgs,
        principles: f
            .principles
            .into_iter()
            .map(|p| principle_out(Some(p)))
            .collect(),
        facet: facet_out(f.facet),
        stage: stage_out(Some(i.stage)),
        status: status_out(Some(i.status)),
        results: f.results,
        lessons_learned: f.lessons_learned,
        links: f.links,
        recognition: f.recognition,
        milestones: f
            .milestones
            .into_iter()
            .map(|m| pb::Milestone {
                title: m.title,
                due_date: date_out(m.due_date),
                done_date: date_out(m.done_date),
            })
            .collect(),
        timeline: i
            .timeline
            .into_iter()
            .map(|e| pb::InitiativeEvent {
                from_stage: stage_out(e.from_stage),
                to_stage: stage_out(Some(e.to_stage)),
                from_status: status_out(e.from_status),
                to_status: status_out(Some(e.to_status)),
                actor: e.actor,
                note: e.note,
                event_time: timestamp(e.time),
            })
            .collect(),
        challenges: f.challenges,
        create_time: timestamp(i.meta.create_time),
        update_time: timestamp(i.meta.update_time),
        etag,
    }
}

fn challenge_fields(c: pb::Challenge) -> ChallengeFields {
    ChallengeFields {
        title: c.title,
        description: c.description,
        process: c.process,
        raised_by: c.raised_by,
        country_code: c.country_code,
    }
}

fn challenge_pb(c: domain::Challenge) -> pb::Challenge {
    pb::Challenge {
        name: c.name(),
        etag: c.meta.etag(),
        title: c.fields.title,
        description: c.fields.description,
        process: c.fields.process,
        raised_by: c.fields.raised_by,
        country_code: c.fields.country_code,
        answered_by: c.answered_by,
        create_time: timestamp(c.meta.create_time),
        update_time: timestamp(c.meta.update_time),
    }
}

/// `(call id, submission id)` in `calls/{call}/submissions/{submission}`.
fn submission_id(field: &str, name: &str) -> Result<(String, String), Error> {
    let bad = || {
        Error::invalid(
            field,
            format!(
                "{name:?} is not a resource name of the form calls/{{call}}/submissions/{{submission}}"
            ),
        )
    };
    let (call, rest) = name
        .strip_prefix("calls/")
        .and_then(|r| r.split_once('/'))
        .ok_or_else(bad)?;
    let call_id = check::resource_id(&format!("calls/{call}"), "calls").map_err(|_| bad())?;
    let id = check::resource_id(rest, "submissions").map_err(|_| bad())?;
    Ok((call_id, id))
}

fn call_fields(c: pb::InnovationCall) -> Result<CallFields, Error> {
    let mut v = Violations::new();
    let open_date = v.merge(date_in("open_date", c.open_date)).flatten();
    let close_date = v.merge(date_in("close_date", c.close_date)).flatten();
    let fields = CallFields {
        title: c.title,
        description: c.description,
        open_date,
        close_date,
    };
    let validated = v.merge(fields.validate());
    v.finish()?;
    validated.ok_or_else(|| Error::Internal("validated fields missing".into()))
}

fn call_pb(c: domain::InnovationCall) -> pb::InnovationCall {
    pb::InnovationCall {
        name: c.name(),
        etag: c.meta.etag(),
        title: c.fields.title,
        description: c.fields.description,
        open_date: date_out(c.fields.open_date),
        close_date: date_out(c.fields.close_date),
        create_time: timestamp(c.meta.create_time),
        update_time: timestamp(c.meta.update_time),
    }
}

fn submission_pb(s: domain::Submission) -> pb::Submission {
    let name = s.name();
    let etag = s.meta.etag();
    let draft = domain::Initiative {
        id: String::new(),
        fields: s.fields,
        stage: s.stage,
        status: s.status,
        timeline: Vec::new(),
        meta: domain::Meta {
            create_time: 0,
            update_time: 0,
            revision: 0,
        },
    };
    let mut initiative = initiative_pb(draft);
    initiative.name.clear();
    initiative.etag.clear();
    initiative.create_time = None;
    initiative.update_time = None;
    pb::Submission {
        name,
        etag,
        initiative: Some(initiative),
        submitted_by: s.submitted_by,
        state: submission_state_out(Some(s.state)),
        screening: s.screening.map(|x| pb::Screening {
            public_sector_involved: x.public_sector_involved,
            novel_to_organization: x.novel_to_organization,
            implemented_or_piloted: x.implemented_or_piloted,
            public_impact: x.public_impact,
            decision: decision_out(Some(x.decision)),
            decided_by: x.decided_by,
            note: x.note,
            decide_time: timestamp(x.time),
        }),
        accepted_initiative: s
            .initiative_id
            .map(|i| format!("initiatives/{i}"))
            .unwrap_or_default(),
        create_time: timestamp(s.meta.create_time),
        update_time: timestamp(s.meta.update_time),
    }
}

/// One batch of an import being stored, on its own task so that reading and
/// validating the next batch overlaps the database's work. Dropping it (the
/// caller went away) aborts the task, which rolls its transaction back.
struct Storing {
    task: tokio::task::JoinHandle<Result<Stored, Error>>,
    /// Told whether this batch was stored, for the next batch to log its
    /// changes after this one's (or to give up if it failed).
    done: Option<tokio::sync::oneshot::Receiver<bool>>,
}

/// A stored batch: its rows and what became of each.
type Stored = (Vec<ImportRow>, Vec<RowOutcome>);

impl Storing {
    fn start(
        store: Store,
        rows: Vec<ImportRow>,
        actor: String,
        after: Option<tokio::sync::oneshot::Receiver<bool>>,
    ) -> Storing {
        let (done, done_rx) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(async move {
            let outcomes = store.import_batch(&rows, &actor, after).await;
            let _ = done.send(outcomes.is_ok());
            Ok((rows, outcomes?))
        });
        Storing {
            task,
            done: Some(done_rx),
        }
    }

    async fn finish(mut self) -> Result<Stored, Error> {
        match (&mut self.task).await {
            Ok(result) => result,
            Err(e) => Err(Error::Internal(format!("import batch task failed: {e}"))),
        }
    }
}

impl Drop for Storing {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Records what became of each row of a stored batch.
fn record((rows, outcomes): Stored, out: &mut pb::ImportInitiativesResponse) -> Result<(), Error> {
    for (row, outcome) in rows.iter().zip(outcomes) {
        let (id, already_imported) = match outcome {
            RowOutcome::Stored(id) => (id, false),
            RowOutcome::AlreadyStored(id) => (id, true),
            RowOutcome::Refused(Error::InvalidArgument(violations)) => {
                out.errors.push(row_error(row.position, violations));
                continue;
            }
            RowOutcome::Refused(other) => return Err(other),
        };
        if already_imported {
            out.already_imported += 1;
        } else {
            out.imported += 1;
        }
        out.rows.push(pb::ImportedRow {
            position: row.position,
            initiative: format!("initiatives/{id}"),
            already_imported,
        });
    }
    Ok(())
}

/// Rows stored per transaction by ImportInitiatives.
const IMPORT_BATCH: usize = 1000;
/// Initiatives read per query by ExportInitiatives.
const EXPORT_PAGE: usize = 500;

impl InitiativesApi {
    /// Validates one import row (organisations included).
    async fn import_row(
        &self,
        position: i64,
        message: pb::ImportInitiativesRequest,
        import_key: Option<&str>,
        known: &mut HashSet<String>,
    ) -> Result<ImportRow, Error> {
        let mut v = Violations::new();
        if !message.request_id.is_empty() && Some(message.request_id.as_str()) != import_key {
            v.add(
                "request_id",
                "differs from the first message's; one import has one request_id",
            );
        }
        let initiative = match message.initiative {
            Some(i) => v.merge(new_initiative(i).map_err(|e| e.within("initiative"))),
            None => {
                v.add("initiative", "is required");
                None
            }
        };
        v.finish()?;
        let (fields, stage, status) =
            initiative.ok_or_else(|| Error::Internal("validated fields missing".into()))?;
        self.directory
            .require(&fields.organizations(), known)
            .await
            .map_err(|e| e.within("initiative"))?;
        Ok(ImportRow {
            position,
            fields,
            stage,
            status,
            key: import_key.map(|k| format!("{k}#{position}")),
        })
    }
}

fn row_error(position: i64, violations: Vec<innolab_kit::FieldViolation>) -> pb::ImportRowError {
    let message = violations
        .iter()
        .map(|v| format!("{}: {}", v.field, v.description))
        .collect::<Vec<_>>()
        .join("; ");
    pb::ImportRowError {
        position,
        message,
        violations: violations
            .into_iter()
            .map(|v| pb::RowViolation {
                field: v.field,
                description: v.description,
            })
            .collect(),
    }
}
