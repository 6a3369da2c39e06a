//! End-to-end tests of the initiatives service: a real initiatives server and
//! a real membership server (which says whether organisations exist), each on
//! `127.0.0.1:0` over a fresh database, real gRPC; every rule of
//! `proto/innolab/initiatives/v1/initiatives.proto` shown from the caller's
//! side.
//!
//! Each test makes its own data on its own databases and runs on SQLite, and
//! on PostgreSQL when `INNOLAB_TEST_POSTGRES_URL` is set. One module per
//! resource (and the change log, `changes`); each module's `postgres::` tests
//! are its PostgreSQL runs. This file holds the world every module but
//! `changes` starts, and the helpers they share.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]
// The deprecated single narrative texts are what older clients send: the
// tests keep sending them (`narratives` shows the lists beside them).
#![allow(deprecated)]

use innolab_proto::google::r#type::Date;
use innolab_proto::innolab::initiatives::v1 as pb;
use innolab_proto::innolab::membership::v1 as mpb;
use innolab_tests::assert::{Outcome, assert_code, date, mask, violated_fields};
use innolab_tests::fixtures::{import_messages, organization};
use innolab_tests::{Backend, TestServer};
use mpb::membership_service_client::MembershipServiceClient;
use pb::initiatives_service_client::InitiativesServiceClient;
use tonic::transport::Channel;
use tonic::{Code, Status};
use tonic_types::StatusExt;

type Client = InitiativesServiceClient<Channel>;

mod adoptions;
mod calls;
mod challenges;
mod changes;
mod export;
mod import;
mod initiatives;
mod lifecycle;
mod listing;
mod narratives;
mod similar;

/// A membership server, an initiatives server asking it, and two organisations.
struct World {
    membership: TestServer,
    initiatives: TestServer,
    client: Client,
    /// `organizations/{id}` of a ministry.
    ministry: String,
    /// `organizations/{id}` of a university.
    university: String,
}

impl World {
    async fn new(backend: Backend) -> World {
        let membership = TestServer::membership(&backend).await;
        let initiatives =
            TestServer::initiatives(&backend, &format!("http://{}", membership.addr)).await;
        let mut members = MembershipServiceClient::new(membership.channel().await);
        let ministry = organization(&mut members, "Ministerul Dezvoltării", "RO").await;
        let university = organization(&mut members, "Aalto University", "FI").await;
        let client = InitiativesServiceClient::new(initiatives.channel().await);
        World {
            membership,
            initiatives,
            client,
            ministry,
            university,
        }
    }

    async fn stop(self) {
        self.initiatives.stop().await;
        self.membership.stop().await;
    }

    /// A minimal valid initiative led by the ministry.
    fn initiative(&self, title: &str) -> pb::Initiative {
        pb::Initiative {
            titles: vec![text("en", title)],
            lead_organization: self.ministry.clone(),
            country_code: "RO".into(),
            ..Default::default()
        }
    }

    async fn create(&mut self, initiative: pb::Initiative) -> pb::Initiative {
        self.client
            .create_initiative(pb::CreateInitiativeRequest {
                initiative: Some(initiative),
                actor: "people/ana-popescu".into(),
                request_id: String::new(),
            })
            .await
            .accepted("create initiative")
    }

    async fn try_create(&mut self, initiative: pb::Initiative) -> Result<pb::Initiative, Status> {
        self.client
            .create_initiative(pb::CreateInitiativeRequest {
                initiative: Some(initiative),
                actor: String::new(),
                request_id: String::new(),
            })
            .await
            .map(tonic::Response::into_inner)
    }

    async fn get(&mut self, name: &str) -> pb::Initiative {
        self.client
            .get_initiative(pb::GetInitiativeRequest { name: name.into() })
            .await
            .accepted("get")
    }

    async fn list(&mut self, filter: &str) -> Vec<pb::Initiative> {
        let mut all = Vec::new();
        let mut token = String::new();
        loop {
            let page = self
                .client
                .list_initiatives(pb::ListInitiativesRequest {
                    page_size: 500,
                    page_token: token,
                    filter: filter.into(),
                })
                .await
                .unwrap_or_else(|e| panic!("list {filter:?}: {e:?}"))
                .into_inner();
            all.extend(page.initiatives);
            if page.next_page_token.is_empty() {
                return all;
            }
            token = page.next_page_token;
        }
    }

    async fn titles(&mut self, filter: &str) -> Vec<String> {
        let mut titles: Vec<String> = self
            .list(filter)
            .await
            .into_iter()
            .map(|i| i.titles[0].text.clone())
            .collect();
        titles.sort();
        titles
    }

    async fn move_stage(
        &mut self,
        name: &str,
        stage: pb::InitiativeStage,
        etag: &str,
    ) -> Result<pb::Initiative, Status> {
        self.client
            .move_initiative_stage(pb::MoveInitiativeStageRequest {
                name: name.into(),
                etag: etag.into(),
                stage: stage as i32,
                actor: "posts/lab-director".into(),
                note: format!("to {}", stage.as_str_name()),
            })
            .await
            .map(tonic::Response::into_inner)
    }

    async fn change_status(
        &mut self,
        name: &str,
        status: pb::InitiativeStatus,
    ) -> Result<pb::Initiative, Status> {
        self.client
            .change_initiative_status(pb::ChangeInitiativeStatusRequest {
                name: name.into(),
                etag: String::new(),
                status: status as i32,
                actor: "groups/steering-board".into(),
                note: format!("to {}", status.as_str_name()),
            })
            .await
            .map(tonic::Response::into_inner)
    }

    async fn submit(
        &mut self,
        call: &str,
        initiative: pb::Initiative,
    ) -> Result<pb::Submission, Status> {
        self.client
            .create_submission(pb::CreateSubmissionRequest {
                parent: call.into(),
                submission: Some(pb::Submission {
                    initiative: Some(initiative),
                    submitted_by: "people/ana-popescu".into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .map(tonic::Response::into_inner)
    }

    async fn import(
        &mut self,
        request_id: &str,
        rows: Vec<pb::Initiative>,
    ) -> Result<pb::ImportInitiativesResponse, Status> {
        self.client
            .import_initiatives(tokio_stream::iter(import_messages(request_id, rows)))
            .await
            .map(tonic::Response::into_inner)
    }
}

fn text(language: &str, text: &str) -> pb::LocalizedText {
    pb::LocalizedText {
        language_code: language.into(),
        text: text.into(),
    }
}

/// The field paths of an INVALID_ARGUMENT, sorted.
fn violations(status: &Status) -> Vec<String> {
    assert_code(status, Code::InvalidArgument);
    let mut fields = violated_fields(status);
    fields.sort();
    fields.dedup();
    fields
}

fn reason(status: &Status) -> String {
    status.get_details_error_info().expect("ErrorInfo").reason
}

fn full(world: &World) -> pb::Initiative {
    pb::Initiative {
        titles: vec![
            text("ro", "Ghișeul digital"),
            text("en", "Digital one-stop shop"),
        ],
        summaries: vec![
            text("ro", "Servicii publice online"),
            text("en", "Online services"),
        ],
        problem: "Citizens queue for certificates.".into(),
        objectives: "Issue certificates online.".into(),
        solution: "A single digital counter.".into(),
        lead_organization: world.ministry.clone(),
        partners: vec![pb::Partner {
            organization: world.university.clone(),
            role: pb::PartnerRole::Implementing as i32,
        }],
        country_code: "ro".into(),
        nuts_code: "RO321".into(),
        government_level: pb::GovernmentLevel::Central as i32,
        sector: pb::GovernmentFunction::GeneralPublicServices as i32,
        start_date: Some(date(2024, 3, 1)),
        end_date: Some(date(2026, 2, 28)),
        tags: vec!["Digital-Identity".into(), "e-government".into()],
        sdgs: vec![16, 9],
        principles: vec![
            pb::DeclarationPrinciple::DiffuseLessons as i32,
            pb::DeclarationPrinciple::EmbraceInnovation as i32,
        ],
        facet: pb::InnovationFacet::EnhancementOriented as i32,
        results: "40% fewer visits.".into(),
        lessons_learned: "Start with one certificate.".into(),
        links: vec!["https://example.gov.ro/ghiseul".into()],
        recognition: vec!["OPSI case study 2025".into()],
        milestones: vec![pb::Milestone {
            title: "Pilot in Cluj".into(),
            due_date: Some(date(2024, 9, 1)),
            done_date: Some(date(2024, 8, 20)),
        }],
        ..Default::default()
    }
}

/// Four initiatives that differ in every filterable field.
async fn portfolio(w: &mut World) {
    let mut a = full(w);
    a.titles = vec![text("ro", "Alfa")];
    a.summaries = vec![];
    w.create(a).await;
    let mut b = w.initiative("Beta");
    b.country_code = "FI".into();
    b.nuts_code = "FI1B".into();
    b.lead_organization = w.university.clone();
    b.government_level = pb::GovernmentLevel::Local as i32;
    b.sector = pb::GovernmentFunction::Education as i32;
    b.facet = pb::InnovationFacet::Anticipatory as i32;
    b.tags = vec!["foresight".into()];
    b.sdgs = vec![4, 16];
    b.principles = vec![pb::DeclarationPrinciple::SupportExploration as i32];
    b.stage = pb::InitiativeStage::ImplementingProjects as i32;
    w.create(b).await;
    let mut c = w.initiative("Gamma");
    c.facet = pb::InnovationFacet::MissionOriented as i32;
    c.stage = pb::InitiativeStage::ImplementingProjects as i32;
    c.status = pb::InitiativeStatus::Pilot as i32;
    c.sdgs = vec![4];
    c.partners = vec![pb::Partner {
        organization: w.university.clone(),
        role: pb::PartnerRole::Funding as i32,
    }];
    w.create(c).await;
    let mut d = w.initiative("Delta");
    d.country_code = "SE".into();
    d.titles = vec![text("sv", "Delta")];
    d.tags = vec!["foresight".into(), "e-government".into()];
    w.create(d).await;
}

async fn create_call(w: &mut World, open: Option<Date>, close: Option<Date>) -> pb::InnovationCall {
    w.client
        .create_innovation_call(pb::CreateInnovationCallRequest {
            call: Some(pb::InnovationCall {
                title: "Call for Innovations".into(),
                description: "Public sector innovations of the year.".into(),
                open_date: open,
                close_date: close,
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .accepted("create call")
}

fn screening(decision: pb::ScreeningDecision, all_met: bool) -> pb::Screening {
    pb::Screening {
        public_sector_involved: true,
        novel_to_organization: true,
        implemented_or_piloted: all_met,
        public_impact: true,
        decision: decision as i32,
        decided_by: "groups/opsi-screening-panel".into(),
        note: "screened".into(),
        decide_time: None,
    }
}

async fn screen(
    w: &mut World,
    name: &str,
    etag: &str,
    s: pb::Screening,
) -> Result<pb::Submission, Status> {
    w.client
        .screen_submission(pb::ScreenSubmissionRequest {
            name: name.into(),
            etag: etag.into(),
            screening: Some(s),
        })
        .await
        .map(tonic::Response::into_inner)
}
