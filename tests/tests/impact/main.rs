//! End-to-end tests of the impact service: a real server on `127.0.0.1:0`
//! over a fresh database, real gRPC, every rule of
//! `proto/innolab/impact/v1/impact.proto` shown from the caller's side.
//!
//! Each test makes its own data on its own database and runs on SQLite, and
//! on PostgreSQL when `INNOLAB_TEST_POSTGRES_URL` is set. One module per
//! resource; each keeps its `sqlite::` and `postgres::` variants. Here the
//! helpers they share.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod assessments;
mod capacity;
mod changes;
mod export;
mod indicators;
mod rollups;
mod workflow;

use innolab_tests::assert::{Outcome, assert_code, assert_invalid, assert_reason, date, mask};

use innolab_proto::google::r#type::Date;
use innolab_proto::innolab::impact::v1 as pb;
use innolab_tests::{Backend, TestServer, on_both_backends};
use pb::impact_service_client::ImpactServiceClient;
use tonic::Code;
use tonic::transport::Channel;

type Client = ImpactServiceClient<Channel>;

// ---------------------------------------------------------------- helpers --

async fn start(backend: &Backend) -> (TestServer, Client) {
    let server = TestServer::impact(backend).await;
    let client = ImpactServiceClient::new(server.channel().await);
    (server, client)
}

fn rated(rating: i32, rationale: &str) -> Option<pb::CriterionRating> {
    Some(pb::CriterionRating {
        rating,
        rationale: rationale.into(),
    })
}

/// A minimal valid assessment of `initiative`.
fn assessment(initiative: &str, title: &str) -> pb::Assessment {
    pb::Assessment {
        initiative: initiative.into(),
        title: title.into(),
        ..Default::default()
    }
}

/// A complete assessment, with every section filled in.
fn full_assessment() -> pb::Assessment {
    pb::Assessment {
        initiative: "initiatives/permits-1".into(),
        title: "Digital building permits in Cluj".into(),
        logic_model: Some(pb::LogicModel {
            inputs: vec!["2 developers".into(), "EUR 120,000".into()],
            activities: vec!["Redesign the permit journey with applicants".into()],
            outputs: vec!["Online permit service".into()],
            short_term_outcomes: vec!["Fewer incomplete applications".into()],
            medium_term_outcomes: vec!["Shorter waiting times".into()],
            long_term_outcomes: vec!["More construction started on time".into()],
            impact: "Housing supply responds faster to demand".into(),
        }),
        evaluation_method: "Difference in differences against five comparison counties".into(),
        nesta_level: 3,
        maryland_level: 4,
        dac: Some(pb::DacCriteria {
            relevance: rated(4, "Top complaint of citizens"),
            coherence: rated(3, "Fits the national e-government strategy"),
            effectiveness: rated(3, "Waiting time halved"),
            efficiency: rated(2, "Costs above plan"),
            impact: rated(3, "Early signs on construction starts"),
            sustainability: rated(0, ""),
        }),
        public_value_outcomes: vec![
            pb::PublicValueOutcome::ImprovedPublicService as i32,
            pb::PublicValueOutcome::ImprovedAdministration as i32,
        ],
        findings: "Waiting times fell from 60 to 28 days.".into(),
        lessons: vec!["Involve the permit clerks from day one".into()],
        evaluators: vec!["organizations/ubb-cluj".into(), "people/ana-1".into()],
        sroi: Some(pb::Sroi {
            investment: 1000.0,
            currency: "eur".into(),
            discount_rate: 0.0,
            outcomes: vec![pb::SroiOutcome {
                description: "Applicant hours saved".into(),
                quantity: 100.0,
                financial_proxy: 20.0,
                proxy_source: "Average gross hourly wage, INS 2024".into(),
                deadweight: 0.5,
                attribution: 0.5,
                drop_off: 0.5,
                displacement: 0.0,
                duration_years: 2,
            }],
        }),
        ..Default::default()
    }
}

async fn create(client: &mut Client, a: pb::Assessment) -> pb::Assessment {
    client
        .create_assessment(pb::CreateAssessmentRequest {
            assessment: Some(a),
            request_id: String::new(),
        })
        .await
        .accepted("CreateAssessment")
}

async fn start_it(client: &mut Client, name: &str) -> pb::Assessment {
    client
        .start_assessment(pb::StartAssessmentRequest {
            name: name.into(),
            decided_by: "people/lead".into(),
            ..Default::default()
        })
        .await
        .accepted("StartAssessment")
}

async fn submit(client: &mut Client, name: &str) -> pb::Assessment {
    client
        .submit_assessment(pb::SubmitAssessmentRequest {
            name: name.into(),
            decided_by: "people/lead".into(),
            reason: "ready".into(),
            ..Default::default()
        })
        .await
        .accepted("SubmitAssessment")
}

async fn review(client: &mut Client, name: &str, decision: pb::ReviewDecision) -> pb::Assessment {
    client
        .review_assessment(pb::ReviewAssessmentRequest {
            name: name.into(),
            reviewer: "people/reviewer-1".into(),
            decision: decision as i32,
            comment: "checked against the data".into(),
            ..Default::default()
        })
        .await
        .accepted("ReviewAssessment")
}

/// Takes an assessment from PLANNED to COMPLETED.
async fn complete(client: &mut Client, name: &str) -> pb::Assessment {
    start_it(client, name).await;
    submit(client, name).await;
    review(client, name, pb::ReviewDecision::Approved).await
}

fn point(value: f64, d: Date) -> Option<pb::Point> {
    Some(pb::Point {
        value,
        date: Some(d),
    })
}

fn measurement(d: Date, value: f64) -> pb::Measurement {
    pb::Measurement {
        date: Some(d),
        value,
        source: "Permit register".into(),
        note: String::new(),
    }
}

/// Waiting days: lower is better, 60 -> 30 over 2024.
fn waiting_days(measurements: Vec<pb::Measurement>) -> pb::Indicator {
    pb::Indicator {
        title: "Days to a building permit".into(),
        result_type: pb::ResultType::Outcome as i32,
        measure: "days".into(),
        direction: pb::Direction::LowerIsBetter as i32,
        baseline: point(60.0, date(2024, 1, 1)),
        target: point(30.0, date(2025, 1, 1)),
        measurements,
        ..Default::default()
    }
}

async fn add_indicator(client: &mut Client, parent: &str, i: pb::Indicator) -> pb::Indicator {
    client
        .create_indicator(pb::CreateIndicatorRequest {
            parent: parent.into(),
            indicator: Some(i),
            request_id: String::new(),
        })
        .await
        .accepted("CreateIndicator")
}

fn status(i: &pb::Indicator) -> pb::ProgressStatus {
    pb::ProgressStatus::try_from(i.progress.as_ref().unwrap().status).unwrap()
}
