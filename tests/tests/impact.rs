//! End-to-end tests of the impact service: a real server on `127.0.0.1:0`
//! over a fresh database, real gRPC, every rule of
//! `proto/innolab/impact/v1/impact.proto` shown from the caller's side.
//!
//! Each test makes its own data on its own database and runs on SQLite, and
//! on PostgreSQL when `INNOLAB_TEST_POSTGRES_URL` is set.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use innolab_tests::assert::{Outcome, assert_invalid, mask};

use innolab_proto::google::r#type::Date;
use innolab_proto::innolab::impact::v1 as pb;
use innolab_tests::{Backend, TestServer, on_both_backends};
use pb::impact_service_client::ImpactServiceClient;
use tonic::transport::Channel;
use tonic::{Code, Status};
use tonic_types::StatusExt;

type Client = ImpactServiceClient<Channel>;

on_both_backends!(
    assessment_round_trip_with_sroi_steps,
    assessment_bad_input_names_every_field_and_stores_nothing,
    create_assessment_is_idempotent,
    concurrent_retries_create_one_assessment,
    update_assessment_needs_a_known_mask_and_applies_only_it,
    update_with_stale_etag_is_aborted_and_overwrites_nothing,
    unknown_is_not_found_and_malformed_is_invalid,
    workflow_records_every_step_and_the_sign_off,
    illegal_moves_are_refused_and_change_nothing,
    transition_input_is_validated,
    completed_ratings_cannot_be_edited_in_place,
    delete_assessment_takes_its_indicators_and_spares_completed_ones,
    list_assessments_filters_and_pages,
    indicator_round_trip_with_derived_progress,
    indicator_bad_input_names_the_field,
    indicator_create_is_idempotent_and_update_checks_etag,
    indicators_of_unknown_assessments_are_not_found,
    list_indicators_filters_and_pages,
    rollup_counts_levels_ratings_outcomes_and_progress,
    rollup_filters_by_initiative_and_state,
    rollup_progress_agrees_with_each_indicators_progress,
    kept_rollup_counts_always_equal_a_scan,
    indicator_chart_is_svg_with_a_dot_per_measurement,
    capacity_rounds_round_trip_one_per_subject_and_label,
    capacity_bad_input_names_the_field,
    capacity_update_checks_mask_and_etag,
    capacity_rounds_compare_item_by_item,
    capacity_chart_overlays_two_rounds,
    every_write_is_in_the_change_log_once_and_failures_are_not,
);

// ---------------------------------------------------------------- helpers --

async fn start(backend: &Backend) -> (TestServer, Client) {
    let server = TestServer::impact(backend).await;
    let client = ImpactServiceClient::new(server.channel().await);
    (server, client)
}

/// `code`, with an ErrorInfo detail carrying `reason`.
#[track_caller]
fn assert_reason(status: &Status, code: Code, reason: &str) {
    assert_eq!(
        status.code(),
        code,
        "expected {code:?} ({reason}), got {:?}: {}",
        status.code(),
        status.message()
    );
    let info = status
        .get_details_error_info()
        .unwrap_or_else(|| panic!("{code:?} without ErrorInfo: {}", status.message()));
    assert_eq!(
        info.reason,
        reason,
        "ErrorInfo.reason of {}",
        status.message()
    );
}

fn date(year: i32, month: i32, day: i32) -> Date {
    Date { year, month, day }
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

async fn list_all(client: &mut Client, filter: &str) -> Vec<pb::Assessment> {
    let mut out = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .list_assessments(pb::ListAssessmentsRequest {
                page_size: 2,
                page_token: token,
                filter: filter.into(),
            })
            .await
            .accepted("ListAssessments");
        out.extend(page.assessments);
        if page.next_page_token.is_empty() {
            return out;
        }
        token = page.next_page_token;
    }
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

// ------------------------------------------------------------ assessments --

async fn assessment_round_trip_with_sroi_steps(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let created = create(&mut client, full_assessment()).await;
    assert!(created.name.starts_with("assessments/"));
    assert_eq!(created.state, pb::AssessmentState::Planned as i32);
    assert_eq!(created.etag, "r1");
    assert!(created.history.is_empty());
    assert!(created.sign_off.is_none());
    assert_eq!(created.nesta_level, 3);
    assert_eq!(created.maryland_level, 4);
    let dac = created.dac.clone().unwrap();
    assert_eq!(dac.efficiency.unwrap().rationale, "Costs above plan");
    assert_eq!(created.evaluators.len(), 2);
    assert_eq!(created.logic_model.as_ref().unwrap().inputs.len(), 2);
    // The currency is normalised; the SROI is computed with its steps.
    assert_eq!(created.sroi.as_ref().unwrap().currency, "EUR");
    let sroi = created.sroi_result.clone().unwrap();
    assert_eq!(sroi.outcomes[0].gross_value, 2000.0);
    assert_eq!(sroi.outcomes[0].impact_value, 500.0);
    assert_eq!(sroi.outcomes[0].yearly_values, [500.0, 250.0]);
    assert_eq!(sroi.total_present_value, 750.0);
    assert_eq!(sroi.net_present_value, -250.0);
    assert_eq!(sroi.ratio, 0.75);
    assert!(sroi.steps.len() >= 4, "{:?}", sroi.steps);
    assert!(sroi.steps.iter().any(|s| s.contains("deadweight 0.5")));

    let got = client
        .get_assessment(pb::GetAssessmentRequest {
            name: created.name.clone(),
        })
        .await
        .accepted("GetAssessment");
    assert_eq!(got, created);
    assert_eq!(list_all(&mut client, "").await, vec![created]);
    server.stop().await;
}

async fn assessment_bad_input_names_every_field_and_stores_nothing(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let mut bad = full_assessment();
    bad.initiative = "projects/x".into();
    bad.nesta_level = 6;
    bad.maryland_level = -1;
    bad.dac = Some(pb::DacCriteria {
        relevance: rated(5, "too high"),
        coherence: rated(3, ""),
        ..Default::default()
    });
    bad.public_value_outcomes = vec![
        pb::PublicValueOutcome::ImprovedPublicService as i32,
        pb::PublicValueOutcome::ImprovedPublicService as i32,
    ];
    bad.evaluators = vec!["groups/x".into()];
    bad.sroi.as_mut().unwrap().outcomes[0].deadweight = 1.5;
    bad.sroi.as_mut().unwrap().outcomes[0].drop_off = -0.1;
    let status = client
        .create_assessment(pb::CreateAssessmentRequest {
            assessment: Some(bad),
            request_id: "r-bad".into(),
        })
        .await
        .refused("CreateAssessment");
    for field in [
        "assessment.initiative",
        "assessment.nesta_level",
        "assessment.maryland_level",
        "assessment.dac.relevance.rating",
        "assessment.dac.coherence.rationale",
        "assessment.public_value_outcomes[1]",
        "assessment.evaluators[0]",
        "assessment.sroi.outcomes[0].deadweight",
        "assessment.sroi.outcomes[0].drop_off",
    ] {
        assert_invalid(&status, field);
    }

    // An unspecified or unknown enum value is named too.
    let mut a = assessment("initiatives/a", "t");
    a.public_value_outcomes = vec![0, 99];
    let status = client
        .create_assessment(pb::CreateAssessmentRequest {
            assessment: Some(a),
            request_id: String::new(),
        })
        .await
        .refused("CreateAssessment");
    assert_invalid(&status, "assessment.public_value_outcomes[0]");
    assert_invalid(&status, "assessment.public_value_outcomes[1]");

    // Missing body, bad request id.
    let status = client
        .create_assessment(pb::CreateAssessmentRequest::default())
        .await
        .refused("CreateAssessment");
    assert_invalid(&status, "assessment");
    let status = client
        .create_assessment(pb::CreateAssessmentRequest {
            assessment: Some(assessment("initiatives/a", "t")),
            request_id: "has space".into(),
        })
        .await
        .refused("CreateAssessment");
    assert_invalid(&status, "request_id");

    assert!(list_all(&mut client, "").await.is_empty());
    server.stop().await;
}

async fn create_assessment_is_idempotent(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let request = pb::CreateAssessmentRequest {
        assessment: Some(assessment("initiatives/a", "First")),
        request_id: "0b6f3c1e-5d1a-4e3e-9b7e-1f2a3b4c5d6e".into(),
    };
    let first = client
        .create_assessment(request.clone())
        .await
        .accepted("CreateAssessment");
    let again = client
        .create_assessment(request)
        .await
        .accepted("CreateAssessment retry");
    assert_eq!(first, again);
    assert_eq!(list_all(&mut client, "").await.len(), 1);
    server.stop().await;
}

async fn concurrent_retries_create_one_assessment(backend: Backend) {
    let (server, client) = start(&backend).await;
    let mut calls = Vec::new();
    for _ in 0..6 {
        let mut c = client.clone();
        calls.push(tokio::spawn(async move {
            c.create_assessment(pb::CreateAssessmentRequest {
                assessment: Some(assessment("initiatives/a", "Raced")),
                request_id: "same-request".into(),
            })
            .await
            .accepted("CreateAssessment")
            .name
        }));
    }
    let mut names = Vec::new();
    for call in calls {
        names.push(call.await.unwrap());
    }
    names.dedup();
    assert_eq!(names.len(), 1, "{names:?}");
    let mut client = client;
    assert_eq!(list_all(&mut client, "").await.len(), 1);
    server.stop().await;
}

async fn update_assessment_needs_a_known_mask_and_applies_only_it(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let created = create(&mut client, full_assessment()).await;
    let mut change = created.clone();
    change.title = "New title".into();
    change.findings = "not to be applied".into();
    let status = client
        .update_assessment(pb::UpdateAssessmentRequest {
            assessment: Some(change.clone()),
            update_mask: None,
        })
        .await
        .refused("UpdateAssessment without mask");
    assert_invalid(&status, "update_mask");
    let status = client
        .update_assessment(pb::UpdateAssessmentRequest {
            assessment: Some(change.clone()),
            update_mask: mask(&["state"]),
        })
        .await
        .refused("UpdateAssessment of an output field");
    assert_invalid(&status, "update_mask");

    let updated = client
        .update_assessment(pb::UpdateAssessmentRequest {
            assessment: Some(change.clone()),
            update_mask: mask(&["title"]),
        })
        .await
        .accepted("UpdateAssessment");
    assert_eq!(updated.title, "New title");
    assert_eq!(updated.findings, created.findings);
    assert_eq!(updated.etag, "r2");

    // Bad values in the masked fields are named with their full path.
    let mut bad = updated.clone();
    bad.maryland_level = 9;
    let status = client
        .update_assessment(pb::UpdateAssessmentRequest {
            assessment: Some(bad),
            update_mask: mask(&["maryland_level"]),
        })
        .await
        .refused("UpdateAssessment");
    assert_invalid(&status, "assessment.maryland_level");

    // `*` replaces every writable field: clearing the SROI removes its result.
    let mut all = assessment("initiatives/b", "Replaced");
    all.name = updated.name.clone();
    let replaced = client
        .update_assessment(pb::UpdateAssessmentRequest {
            assessment: Some(all),
            update_mask: mask(&["*"]),
        })
        .await
        .accepted("UpdateAssessment *");
    assert_eq!(replaced.initiative, "initiatives/b");
    assert_eq!(replaced.nesta_level, 0);
    assert!(replaced.sroi.is_none() && replaced.sroi_result.is_none());
    assert!(replaced.evaluators.is_empty());
    server.stop().await;
}

async fn update_with_stale_etag_is_aborted_and_overwrites_nothing(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let created = create(&mut client, full_assessment()).await;
    let mut first = created.clone();
    first.title = "First writer".into();
    client
        .update_assessment(pb::UpdateAssessmentRequest {
            assessment: Some(first),
            update_mask: mask(&["title"]),
        })
        .await
        .accepted("UpdateAssessment");
    let mut second = created.clone();
    second.title = "Second writer".into();
    let status = client
        .update_assessment(pb::UpdateAssessmentRequest {
            assessment: Some(second),
            update_mask: mask(&["title"]),
        })
        .await
        .refused("UpdateAssessment stale");
    assert_reason(&status, Code::Aborted, "ETAG_MISMATCH");
    let now = client
        .get_assessment(pb::GetAssessmentRequest {
            name: created.name.clone(),
        })
        .await
        .accepted("GetAssessment");
    assert_eq!(now.title, "First writer");
    assert_eq!(now.etag, "r2");

    // Stale etags on workflow steps and deletes are refused the same way.
    let status = client
        .start_assessment(pb::StartAssessmentRequest {
            name: created.name.clone(),
            etag: "r1".into(),
            decided_by: "people/lead".into(),
            reason: String::new(),
        })
        .await
        .refused("StartAssessment stale");
    assert_reason(&status, Code::Aborted, "ETAG_MISMATCH");
    let status = client
        .delete_assessment(pb::DeleteAssessmentRequest {
            name: created.name.clone(),
            etag: "r1".into(),
        })
        .await
        .refused("DeleteAssessment stale");
    assert_reason(&status, Code::Aborted, "ETAG_MISMATCH");
    let status = client
        .delete_assessment(pb::DeleteAssessmentRequest {
            name: created.name.clone(),
            etag: "garbage".into(),
        })
        .await
        .refused("DeleteAssessment bad etag");
    assert_invalid(&status, "etag");
    server.stop().await;
}

async fn unknown_is_not_found_and_malformed_is_invalid(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let status = client
        .get_assessment(pb::GetAssessmentRequest {
            name: "assessments/nope".into(),
        })
        .await
        .refused("GetAssessment");
    assert_reason(&status, Code::NotFound, "NOT_FOUND");
    let status = client
        .get_assessment(pb::GetAssessmentRequest {
            name: "initiatives/x".into(),
        })
        .await
        .refused("GetAssessment");
    assert_invalid(&status, "name");
    let mut ghost = assessment("initiatives/a", "t");
    ghost.name = "assessments/nope".into();
    let status = client
        .update_assessment(pb::UpdateAssessmentRequest {
            assessment: Some(ghost),
            update_mask: mask(&["title"]),
        })
        .await
        .refused("UpdateAssessment");
    assert_eq!(status.code(), Code::NotFound);
    let status = client
        .delete_assessment(pb::DeleteAssessmentRequest {
            name: "assessments/nope".into(),
            etag: String::new(),
        })
        .await
        .refused("DeleteAssessment");
    assert_eq!(status.code(), Code::NotFound);
    let status = client
        .start_assessment(pb::StartAssessmentRequest {
            name: "assessments/nope".into(),
            decided_by: "x".into(),
            ..Default::default()
        })
        .await
        .refused("StartAssessment");
    assert_eq!(status.code(), Code::NotFound);
    let status = client
        .get_indicator(pb::GetIndicatorRequest {
            name: "assessments/a/indicators/nope".into(),
        })
        .await
        .refused("GetIndicator");
    assert_eq!(status.code(), Code::NotFound);
    for name in ["assessments/a", "assessments/a/indicators/", "indicators/x"] {
        let status = client
            .get_indicator(pb::GetIndicatorRequest { name: name.into() })
            .await
            .refused("GetIndicator");
        assert_invalid(&status, "name");
    }
    server.stop().await;
}

// --------------------------------------------------------------- workflow --

async fn workflow_records_every_step_and_the_sign_off(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let a = create(&mut client, full_assessment()).await;
    let started = start_it(&mut client, &a.name).await;
    assert_eq!(started.state, pb::AssessmentState::InProgress as i32);
    let submitted = submit(&mut client, &a.name).await;
    assert_eq!(submitted.state, pb::AssessmentState::UnderReview as i32);
    let sent_back = review(&mut client, &a.name, pb::ReviewDecision::ChangesRequested).await;
    assert_eq!(sent_back.state, pb::AssessmentState::InProgress as i32);
    assert!(sent_back.sign_off.is_none());
    submit(&mut client, &a.name).await;
    let done = review(&mut client, &a.name, pb::ReviewDecision::Approved).await;
    assert_eq!(done.state, pb::AssessmentState::Completed as i32);
    let sign_off = done.sign_off.clone().expect("sign-off recorded");
    assert_eq!(sign_off.decided_by, "people/reviewer-1");
    assert_eq!(sign_off.decision, pb::ReviewDecision::Approved as i32);
    assert_eq!(sign_off.reason, "checked against the data");
    assert!(sign_off.time.is_some());
    assert_eq!(done.history.len(), 5);
    let steps: Vec<(i32, i32)> = done
        .history
        .iter()
        .map(|e| (e.from_state, e.to_state))
        .collect();
    use pb::AssessmentState as S;
    assert_eq!(
        steps,
        [
            (S::Planned as i32, S::InProgress as i32),
            (S::InProgress as i32, S::UnderReview as i32),
            (S::UnderReview as i32, S::InProgress as i32),
            (S::InProgress as i32, S::UnderReview as i32),
            (S::UnderReview as i32, S::Completed as i32),
        ]
    );
    assert_eq!(
        done.history[2].decision,
        pb::ReviewDecision::ChangesRequested as i32
    );

    // Reopening is explicit, needs a reason, and clears the sign-off.
    let status = client
        .reopen_assessment(pb::ReopenAssessmentRequest {
            name: a.name.clone(),
            decided_by: "people/lead".into(),
            ..Default::default()
        })
        .await
        .refused("ReopenAssessment without reason");
    assert_invalid(&status, "reason");
    let reopened = client
        .reopen_assessment(pb::ReopenAssessmentRequest {
            name: a.name.clone(),
            etag: done.etag.clone(),
            decided_by: "people/lead".into(),
            reason: "new data on construction starts".into(),
        })
        .await
        .accepted("ReopenAssessment");
    assert_eq!(reopened.state, S::InProgress as i32);
    assert!(reopened.sign_off.is_none());
    assert_eq!(reopened.history.len(), 6);
    assert_eq!(
        reopened.history[5].reason,
        "new data on construction starts"
    );
    server.stop().await;
}

async fn illegal_moves_are_refused_and_change_nothing(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let a = create(&mut client, assessment("initiatives/a", "t")).await;
    // From PLANNED only start is legal.
    let status = client
        .submit_assessment(pb::SubmitAssessmentRequest {
            name: a.name.clone(),
            decided_by: "x".into(),
            ..Default::default()
        })
        .await
        .refused("SubmitAssessment from PLANNED");
    assert_reason(&status, Code::FailedPrecondition, "ILLEGAL_TRANSITION");
    let status = client
        .review_assessment(pb::ReviewAssessmentRequest {
            name: a.name.clone(),
            reviewer: "x".into(),
            decision: pb::ReviewDecision::Approved as i32,
            ..Default::default()
        })
        .await
        .refused("ReviewAssessment from PLANNED");
    assert_reason(&status, Code::FailedPrecondition, "ILLEGAL_TRANSITION");
    let status = client
        .reopen_assessment(pb::ReopenAssessmentRequest {
            name: a.name.clone(),
            decided_by: "x".into(),
            reason: "why not".into(),
            ..Default::default()
        })
        .await
        .refused("ReopenAssessment from PLANNED");
    assert_reason(&status, Code::FailedPrecondition, "ILLEGAL_TRANSITION");
    start_it(&mut client, &a.name).await;
    let status = client
        .start_assessment(pb::StartAssessmentRequest {
            name: a.name.clone(),
            decided_by: "x".into(),
            ..Default::default()
        })
        .await
        .refused("StartAssessment twice");
    assert_reason(&status, Code::FailedPrecondition, "ILLEGAL_TRANSITION");
    let status = client
        .review_assessment(pb::ReviewAssessmentRequest {
            name: a.name.clone(),
            reviewer: "x".into(),
            decision: pb::ReviewDecision::Approved as i32,
            ..Default::default()
        })
        .await
        .refused("ReviewAssessment from IN_PROGRESS");
    assert_reason(&status, Code::FailedPrecondition, "ILLEGAL_TRANSITION");
    let now = client
        .get_assessment(pb::GetAssessmentRequest {
            name: a.name.clone(),
        })
        .await
        .accepted("GetAssessment");
    assert_eq!(now.state, pb::AssessmentState::InProgress as i32);
    assert_eq!(now.history.len(), 1);
    assert_eq!(now.etag, "r2");
    server.stop().await;
}

async fn transition_input_is_validated(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let a = create(&mut client, assessment("initiatives/a", "t")).await;
    let status = client
        .start_assessment(pb::StartAssessmentRequest {
            name: a.name.clone(),
            etag: "zz".into(),
            decided_by: " ".into(),
            reason: String::new(),
        })
        .await
        .refused("StartAssessment");
    assert_invalid(&status, "decided_by");
    assert_invalid(&status, "etag");
    start_it(&mut client, &a.name).await;
    submit(&mut client, &a.name).await;
    let status = client
        .review_assessment(pb::ReviewAssessmentRequest {
            name: a.name.clone(),
            reviewer: String::new(),
            decision: 0,
            ..Default::default()
        })
        .await
        .refused("ReviewAssessment");
    assert_invalid(&status, "decision");
    assert_invalid(&status, "reviewer");
    let status = client
        .review_assessment(pb::ReviewAssessmentRequest {
            name: a.name.clone(),
            reviewer: "people/r".into(),
            decision: 42,
            ..Default::default()
        })
        .await
        .refused("ReviewAssessment");
    assert_invalid(&status, "decision");
    let status = client
        .review_assessment(pb::ReviewAssessmentRequest {
            name: "assessments/".into(),
            reviewer: "people/r".into(),
            decision: 1,
            ..Default::default()
        })
        .await
        .refused("ReviewAssessment");
    assert_invalid(&status, "name");
    server.stop().await;
}

async fn completed_ratings_cannot_be_edited_in_place(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let a = create(&mut client, full_assessment()).await;
    let done = complete(&mut client, &a.name).await;
    for (path, change) in [
        ("nesta_level", {
            let mut c = done.clone();
            c.nesta_level = 4;
            c
        }),
        ("maryland_level", {
            let mut c = done.clone();
            c.maryland_level = 5;
            c
        }),
        ("dac", {
            let mut c = done.clone();
            c.dac.as_mut().unwrap().efficiency = rated(3, "Revised");
            c
        }),
    ] {
        let status = client
            .update_assessment(pb::UpdateAssessmentRequest {
                assessment: Some(change),
                update_mask: mask(&[path]),
            })
            .await
            .refused("UpdateAssessment of a completed rating");
        assert_reason(&status, Code::FailedPrecondition, "ASSESSMENT_COMPLETED");
    }
    let now = client
        .get_assessment(pb::GetAssessmentRequest {
            name: a.name.clone(),
        })
        .await
        .accepted("GetAssessment");
    assert_eq!(now.nesta_level, 3);
    assert_eq!(now.etag, done.etag);

    // Other fields, and `*` with the ratings unchanged, may still be edited.
    let mut lessons = done.clone();
    lessons.lessons.push("Publish the data early".into());
    let updated = client
        .update_assessment(pb::UpdateAssessmentRequest {
            assessment: Some(lessons),
            update_mask: mask(&["*"]),
        })
        .await
        .accepted("UpdateAssessment of lessons");
    assert_eq!(updated.lessons.len(), 2);
    assert_eq!(updated.state, pb::AssessmentState::Completed as i32);

    // After reopening, the ratings can be corrected.
    client
        .reopen_assessment(pb::ReopenAssessmentRequest {
            name: a.name.clone(),
            decided_by: "people/lead".into(),
            reason: "replication study published".into(),
            ..Default::default()
        })
        .await
        .accepted("ReopenAssessment");
    let mut change = updated.clone();
    change.etag = String::new();
    change.nesta_level = 4;
    let corrected = client
        .update_assessment(pb::UpdateAssessmentRequest {
            assessment: Some(change),
            update_mask: mask(&["nesta_level"]),
        })
        .await
        .accepted("UpdateAssessment after reopening");
    assert_eq!(corrected.nesta_level, 4);
    server.stop().await;
}

async fn delete_assessment_takes_its_indicators_and_spares_completed_ones(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let a = create(&mut client, assessment("initiatives/a", "To delete")).await;
    let i = add_indicator(&mut client, &a.name, waiting_days(vec![])).await;
    client
        .delete_assessment(pb::DeleteAssessmentRequest {
            name: a.name.clone(),
            etag: a.etag.clone(),
        })
        .await
        .accepted("DeleteAssessment");
    let status = client
        .get_assessment(pb::GetAssessmentRequest {
            name: a.name.clone(),
        })
        .await
        .refused("GetAssessment after delete");
    assert_eq!(status.code(), Code::NotFound);
    let status = client
        .get_indicator(pb::GetIndicatorRequest {
            name: i.name.clone(),
        })
        .await
        .refused("GetIndicator after delete");
    assert_eq!(status.code(), Code::NotFound);

    let kept = create(&mut client, assessment("initiatives/a", "Kept")).await;
    complete(&mut client, &kept.name).await;
    let status = client
        .delete_assessment(pb::DeleteAssessmentRequest {
            name: kept.name.clone(),
            etag: String::new(),
        })
        .await
        .refused("DeleteAssessment completed");
    assert_reason(&status, Code::FailedPrecondition, "ASSESSMENT_COMPLETED");
    assert_eq!(list_all(&mut client, "").await.len(), 1);
    server.stop().await;
}

async fn list_assessments_filters_and_pages(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let a1 = create(&mut client, assessment("initiatives/a", "Digital permits")).await;
    let a2 = create(
        &mut client,
        assessment("initiatives/a", "Social prescribing"),
    )
    .await;
    let b1 = create(&mut client, assessment("initiatives/b", "Permits chatbot")).await;
    let b2 = create(&mut client, assessment("initiatives/b", "Open budget")).await;
    let c1 = create(&mut client, assessment("initiatives/c", "Îmbunătățire")).await;
    start_it(&mut client, b1.name.as_str()).await;

    let names = |v: Vec<pb::Assessment>| v.into_iter().map(|a| a.name).collect::<Vec<_>>();
    assert_eq!(
        names(list_all(&mut client, "").await),
        [
            a1.name.as_str(),
            a2.name.as_str(),
            b1.name.as_str(),
            b2.name.as_str(),
            c1.name.as_str()
        ]
    );
    assert_eq!(
        names(list_all(&mut client, "initiative = \"initiatives/a\"").await),
        [a1.name.as_str(), a2.name.as_str()]
    );
    assert_eq!(
        names(
            list_all(
                &mut client,
                "(initiative = \"initiatives/a\" OR initiative = \"initiatives/c\")"
            )
            .await
        ),
        [a1.name.as_str(), a2.name.as_str(), c1.name.as_str()]
    );
    assert_eq!(
        names(list_all(&mut client, "state = IN_PROGRESS").await),
        [b1.name.as_str()]
    );
    assert_eq!(
        names(list_all(&mut client, "PERMITS").await),
        [a1.name.as_str(), b1.name.as_str()]
    );
    assert_eq!(
        names(list_all(&mut client, "initiative = \"initiatives/b\" permits").await),
        [b1.name.as_str()]
    );

    for bad in [
        "colour = red",
        "state = FINISHED",
        "initiative = \"projects/x\"",
        "state > PLANNED",
    ] {
        let status = client
            .list_assessments(pb::ListAssessmentsRequest {
                filter: bad.into(),
                ..Default::default()
            })
            .await
            .refused(bad);
        assert_invalid(&status, "filter");
    }
    let status = client
        .list_assessments(pb::ListAssessmentsRequest {
            page_size: -1,
            ..Default::default()
        })
        .await
        .refused("negative page size");
    assert_invalid(&status, "page_size");
    // A token is bound to its filter.
    let page = client
        .list_assessments(pb::ListAssessmentsRequest {
            page_size: 1,
            ..Default::default()
        })
        .await
        .accepted("ListAssessments");
    let status = client
        .list_assessments(pb::ListAssessmentsRequest {
            page_size: 1,
            page_token: page.next_page_token,
            filter: "state = PLANNED".into(),
        })
        .await
        .refused("token of another query");
    assert_invalid(&status, "page_token");
    server.stop().await;
}

// ------------------------------------------------------------- indicators --

async fn indicator_round_trip_with_derived_progress(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let a = create(&mut client, assessment("initiatives/a", "t")).await;

    // No measurements: no data.
    let empty = add_indicator(&mut client, &a.name, waiting_days(vec![])).await;
    assert!(empty.name.starts_with(&format!("{}/indicators/", a.name)));
    assert_eq!(status(&empty), pb::ProgressStatus::NoData);
    assert_eq!(empty.progress.as_ref().unwrap().fraction, None);

    // Lower is better: 60 -> 45 a quarter of the way through the year is
    // half-way to 30, ahead of the line. Measurements come back by date.
    let on_track = add_indicator(
        &mut client,
        &a.name,
        waiting_days(vec![
            measurement(date(2024, 4, 1), 45.0),
            measurement(date(2024, 2, 1), 55.0),
        ]),
    )
    .await;
    assert_eq!(status(&on_track), pb::ProgressStatus::OnTrack);
    let progress = on_track.progress.clone().unwrap();
    assert_eq!(progress.fraction, Some(0.5));
    assert_eq!(progress.latest.unwrap().value, 45.0);
    assert_eq!(on_track.measurements[0].value, 55.0);
    assert_eq!(on_track.measurements[0].source, "Permit register");

    // Record a new measurement: the target is reached.
    let mut more = on_track.clone();
    more.measurements.push(measurement(date(2024, 11, 1), 28.0));
    let achieved = client
        .update_indicator(pb::UpdateIndicatorRequest {
            indicator: Some(more),
            update_mask: mask(&["measurements"]),
        })
        .await
        .accepted("UpdateIndicator");
    assert_eq!(status(&achieved), pb::ProgressStatus::Achieved);
    assert_eq!(achieved.measurements.len(), 3);
    assert_eq!(achieved.etag, "r2");

    // Higher is better, target equal to the baseline: hold the level.
    let mut hold = waiting_days(vec![measurement(date(2024, 6, 1), 89.0)]);
    hold.title = "Satisfaction".into();
    hold.direction = pb::Direction::HigherIsBetter as i32;
    hold.measure = "% satisfied".into();
    hold.baseline = point(90.0, date(2024, 1, 1));
    hold.target = point(90.0, date(2025, 1, 1));
    let slipping = add_indicator(&mut client, &a.name, hold).await;
    assert_eq!(status(&slipping), pb::ProgressStatus::OffTrack);
    assert_eq!(slipping.progress.as_ref().unwrap().fraction, Some(0.0));

    let got = client
        .get_indicator(pb::GetIndicatorRequest {
            name: achieved.name.clone(),
        })
        .await
        .accepted("GetIndicator");
    assert_eq!(got, achieved);
    let listed = client
        .list_indicators(pb::ListIndicatorsRequest {
            parent: a.name.clone(),
            ..Default::default()
        })
        .await
        .accepted("ListIndicators");
    assert_eq!(listed.indicators.len(), 3);

    client
        .delete_indicator(pb::DeleteIndicatorRequest {
            name: empty.name.clone(),
            etag: empty.etag.clone(),
        })
        .await
        .accepted("DeleteIndicator");
    let status = client
        .get_indicator(pb::GetIndicatorRequest {
            name: empty.name.clone(),
        })
        .await
        .refused("GetIndicator deleted");
    assert_eq!(status.code(), Code::NotFound);
    server.stop().await;
}

async fn indicator_bad_input_names_the_field(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let a = create(&mut client, assessment("initiatives/a", "t")).await;
    let refuse = |i: pb::Indicator| {
        let mut c = client.clone();
        let parent = a.name.clone();
        async move {
            c.create_indicator(pb::CreateIndicatorRequest {
                parent,
                indicator: Some(i),
                request_id: String::new(),
            })
            .await
            .refused("CreateIndicator")
        }
    };

    // Lower is better, but the target is above the baseline.
    let mut wrong_side = waiting_days(vec![]);
    wrong_side.target = point(70.0, date(2025, 1, 1));
    assert_invalid(&refuse(wrong_side).await, "indicator.target.value");
    // Higher is better, but the target is below the baseline.
    let mut wrong_side = waiting_days(vec![]);
    wrong_side.direction = pb::Direction::HigherIsBetter as i32;
    assert_invalid(&refuse(wrong_side).await, "indicator.target.value");
    // A measurement before the baseline needs a note.
    let early = waiting_days(vec![
        measurement(date(2024, 3, 1), 50.0),
        measurement(date(2023, 12, 1), 61.0),
    ]);
    assert_invalid(&refuse(early).await, "indicator.measurements[1].note");
    // The target must come after the baseline.
    let mut backwards = waiting_days(vec![]);
    backwards.target = point(30.0, date(2023, 1, 1));
    assert_invalid(&refuse(backwards).await, "indicator.target.date");
    // Required fields, and impossible dates, are named.
    let status = refuse(pb::Indicator {
        measurements: vec![pb::Measurement {
            date: Some(date(2024, 2, 30)),
            ..Default::default()
        }],
        ..Default::default()
    })
    .await;
    for field in [
        "indicator.title",
        "indicator.measure",
        "indicator.result_type",
        "indicator.direction",
        "indicator.baseline",
        "indicator.target",
        "indicator.measurements[0].date",
    ] {
        assert_invalid(&status, field);
    }
    let mut no_date = waiting_days(vec![]);
    no_date.baseline = Some(pb::Point {
        value: 1.0,
        date: None,
    });
    assert_invalid(&refuse(no_date).await, "indicator.baseline.date");
    let mut nan = waiting_days(vec![measurement(date(2024, 3, 1), f64::NAN)]);
    nan.result_type = 9;
    let status = refuse(nan).await;
    assert_invalid(&status, "indicator.result_type");

    // Nothing was stored; with a note the early measurement is accepted.
    let listed = client
        .list_indicators(pb::ListIndicatorsRequest {
            parent: a.name.clone(),
            ..Default::default()
        })
        .await
        .accepted("ListIndicators");
    assert!(listed.indicators.is_empty());
    let mut explained = waiting_days(vec![measurement(date(2023, 12, 1), 61.0)]);
    explained.measurements[0].note = "Pilot data before the official baseline".into();
    add_indicator(&mut client, &a.name, explained).await;

    // Updates are validated the same way.
    let i = add_indicator(&mut client, &a.name, waiting_days(vec![])).await;
    let mut bad = i.clone();
    bad.target = point(99.0, date(2025, 1, 1));
    let status = client
        .update_indicator(pb::UpdateIndicatorRequest {
            indicator: Some(bad),
            update_mask: mask(&["target"]),
        })
        .await
        .refused("UpdateIndicator");
    assert_invalid(&status, "indicator.target.value");
    server.stop().await;
}

async fn indicator_create_is_idempotent_and_update_checks_etag(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let a = create(&mut client, assessment("initiatives/a", "t")).await;
    let request = pb::CreateIndicatorRequest {
        parent: a.name.clone(),
        indicator: Some(waiting_days(vec![])),
        request_id: "ind-1".into(),
    };
    let first = client
        .create_indicator(request.clone())
        .await
        .accepted("CreateIndicator");
    let again = client
        .create_indicator(request)
        .await
        .accepted("CreateIndicator retry");
    assert_eq!(first, again);

    let mut one = first.clone();
    one.title = "One".into();
    client
        .update_indicator(pb::UpdateIndicatorRequest {
            indicator: Some(one),
            update_mask: mask(&["title"]),
        })
        .await
        .accepted("UpdateIndicator");
    let mut two = first.clone();
    two.title = "Two".into();
    let status = client
        .update_indicator(pb::UpdateIndicatorRequest {
            indicator: Some(two),
            update_mask: mask(&["title"]),
        })
        .await
        .refused("UpdateIndicator stale");
    assert_reason(&status, Code::Aborted, "ETAG_MISMATCH");
    let status = client
        .delete_indicator(pb::DeleteIndicatorRequest {
            name: first.name.clone(),
            etag: first.etag.clone(),
        })
        .await
        .refused("DeleteIndicator stale");
    assert_reason(&status, Code::Aborted, "ETAG_MISMATCH");
    let now = client
        .get_indicator(pb::GetIndicatorRequest {
            name: first.name.clone(),
        })
        .await
        .accepted("GetIndicator");
    assert_eq!(now.title, "One");
    let status = client
        .update_indicator(pb::UpdateIndicatorRequest {
            indicator: Some(now),
            update_mask: mask(&["progress"]),
        })
        .await
        .refused("UpdateIndicator of an output field");
    assert_invalid(&status, "update_mask");
    server.stop().await;
}

async fn indicators_of_unknown_assessments_are_not_found(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let status = client
        .create_indicator(pb::CreateIndicatorRequest {
            parent: "assessments/nope".into(),
            indicator: Some(waiting_days(vec![])),
            request_id: String::new(),
        })
        .await
        .refused("CreateIndicator");
    assert_eq!(status.code(), Code::NotFound);
    let status = client
        .list_indicators(pb::ListIndicatorsRequest {
            parent: "assessments/nope".into(),
            ..Default::default()
        })
        .await
        .refused("ListIndicators");
    assert_eq!(status.code(), Code::NotFound);
    let status = client
        .create_indicator(pb::CreateIndicatorRequest {
            parent: "initiatives/x".into(),
            indicator: Some(waiting_days(vec![])),
            request_id: String::new(),
        })
        .await
        .refused("CreateIndicator");
    assert_invalid(&status, "parent");
    // An indicator is only found under its own assessment.
    let a = create(&mut client, assessment("initiatives/a", "a")).await;
    let b = create(&mut client, assessment("initiatives/a", "b")).await;
    let i = add_indicator(&mut client, &a.name, waiting_days(vec![])).await;
    let id = i.name.rsplit('/').next().unwrap();
    let status = client
        .get_indicator(pb::GetIndicatorRequest {
            name: format!("{}/indicators/{id}", b.name),
        })
        .await
        .refused("GetIndicator under another assessment");
    assert_eq!(status.code(), Code::NotFound);
    server.stop().await;
}

async fn list_indicators_filters_and_pages(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let a = create(&mut client, assessment("initiatives/a", "t")).await;
    let mut made = Vec::new();
    for n in 0..5 {
        let mut i = waiting_days(vec![]);
        i.title = format!("Indicator {n}");
        if n % 2 == 0 {
            i.result_type = pb::ResultType::Output as i32;
        }
        made.push(add_indicator(&mut client, &a.name, i).await.name);
    }
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .list_indicators(pb::ListIndicatorsRequest {
                parent: a.name.clone(),
                page_size: 2,
                page_token: token,
                filter: String::new(),
            })
            .await
            .accepted("ListIndicators");
        seen.extend(page.indicators.into_iter().map(|i| i.name));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(seen, made);
    let outputs = client
        .list_indicators(pb::ListIndicatorsRequest {
            parent: a.name.clone(),
            filter: "result_type = OUTPUT".into(),
            ..Default::default()
        })
        .await
        .accepted("ListIndicators");
    assert_eq!(outputs.indicators.len(), 3);
    let status = client
        .list_indicators(pb::ListIndicatorsRequest {
            parent: a.name.clone(),
            filter: "result_type = RESULT".into(),
            ..Default::default()
        })
        .await
        .refused("bad filter");
    assert_invalid(&status, "filter");
    server.stop().await;
}

// ---------------------------------------------------------------- rollups --

fn levels(counts: &[pb::LevelCount]) -> Vec<i64> {
    counts.iter().map(|c| c.count).collect()
}

async fn summarize(client: &mut Client, filter: &str) -> pb::SummarizeAssessmentsResponse {
    client
        .summarize_assessments(pb::SummarizeAssessmentsRequest {
            filter: filter.into(),
        })
        .await
        .accepted("SummarizeAssessments")
}

async fn rollup_counts_levels_ratings_outcomes_and_progress(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let empty = summarize(&mut client, "").await;
    assert_eq!(empty.assessment_count, 0);
    assert_eq!(levels(&empty.nesta_levels), [0; 6]);
    assert_eq!(empty.indicator_progress.unwrap().total, 0);

    let full = create(&mut client, full_assessment()).await;
    let mut other = assessment("initiatives/b", "Open budget");
    other.nesta_level = 3;
    other.maryland_level = 5;
    other.dac = Some(pb::DacCriteria {
        relevance: rated(2, "Narrow audience"),
        ..Default::default()
    });
    other.public_value_outcomes = vec![pb::PublicValueOutcome::OpenGovernmentCapabilities as i32];
    let other = create(&mut client, other).await;
    create(&mut client, assessment("initiatives/c", "Not yet rated")).await;

    add_indicator(&mut client, &full.name, waiting_days(vec![])).await;
    add_indicator(
        &mut client,
        &full.name,
        waiting_days(vec![measurement(date(2024, 4, 1), 45.0)]),
    )
    .await;
    add_indicator(
        &mut client,
        &other.name,
        waiting_days(vec![measurement(date(2024, 10, 1), 58.0)]),
    )
    .await;
    add_indicator(
        &mut client,
        &other.name,
        waiting_days(vec![measurement(date(2024, 12, 1), 25.0)]),
    )
    .await;
    let mut hold = waiting_days(vec![measurement(date(2024, 6, 1), 60.0)]);
    hold.target = point(60.0, date(2025, 1, 1));
    add_indicator(&mut client, &other.name, hold).await;

    let all = summarize(&mut client, "").await;
    assert_eq!(all.assessment_count, 3);
    assert_eq!(levels(&all.nesta_levels), [1, 0, 0, 2, 0, 0]);
    assert_eq!(levels(&all.maryland_levels), [1, 0, 0, 0, 1, 1]);
    let criteria: Vec<&str> = all.dac.iter().map(|d| d.criterion.as_str()).collect();
    assert_eq!(
        criteria,
        [
            "relevance",
            "coherence",
            "effectiveness",
            "efficiency",
            "impact",
            "sustainability"
        ]
    );
    assert_eq!(levels(&all.dac[0].ratings), [1, 0, 1, 0, 1]);
    assert_eq!(levels(&all.dac[3].ratings), [2, 0, 1, 0, 0]);
    assert_eq!(levels(&all.dac[5].ratings), [3, 0, 0, 0, 0]);
    let pv: Vec<(i32, i64)> = all
        .public_value_outcomes
        .iter()
        .map(|p| (p.outcome, p.count))
        .collect();
    assert_eq!(
        pv,
        [
            (pb::PublicValueOutcome::ImprovedPublicService as i32, 1),
            (pb::PublicValueOutcome::ImprovedAdministration as i32, 1),
            (pb::PublicValueOutcome::OpenGovernmentCapabilities as i32, 1),
        ]
    );
    let p = all.indicator_progress.unwrap();
    assert_eq!(
        (p.total, p.no_data, p.off_track, p.on_track, p.achieved),
        (5, 1, 1, 1, 2)
    );
    server.stop().await;
}

async fn rollup_filters_by_initiative_and_state(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let mut a = assessment("initiatives/a", "A");
    a.nesta_level = 2;
    let a = create(&mut client, a).await;
    let mut b = assessment("initiatives/b", "B");
    b.nesta_level = 4;
    let b = create(&mut client, b).await;
    let mut c = assessment("initiatives/c", "C");
    c.nesta_level = 5;
    create(&mut client, c).await;
    add_indicator(&mut client, &a.name, waiting_days(vec![])).await;
    add_indicator(&mut client, &b.name, waiting_days(vec![])).await;
    add_indicator(&mut client, &b.name, waiting_days(vec![])).await;
    complete(&mut client, &b.name).await;

    let ab = summarize(
        &mut client,
        "(initiative = \"initiatives/a\" OR initiative = \"initiatives/b\")",
    )
    .await;
    assert_eq!(ab.assessment_count, 2);
    assert_eq!(levels(&ab.nesta_levels), [0, 0, 1, 0, 1, 0]);
    assert_eq!(ab.indicator_progress.unwrap().no_data, 3);
    let completed = summarize(&mut client, "state = COMPLETED").await;
    assert_eq!(completed.assessment_count, 1);
    assert_eq!(levels(&completed.nesta_levels), [0, 0, 0, 0, 1, 0]);
    assert_eq!(completed.indicator_progress.unwrap().total, 2);
    let none = summarize(&mut client, "initiative = \"initiatives/zzz\"").await;
    assert_eq!(none.assessment_count, 0);
    for bad in ["nesta_level = 3", "state = DONE", "initiative = \"x\""] {
        let status = client
            .summarize_assessments(pb::SummarizeAssessmentsRequest { filter: bad.into() })
            .await
            .refused(bad);
        assert_invalid(&status, "filter");
    }
    server.stop().await;
}

async fn rollup_progress_agrees_with_each_indicators_progress(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let a = create(&mut client, assessment("initiatives/a", "Edge cases")).await;
    let hold = |direction: pb::Direction, value: f64| {
        let mut i = waiting_days(vec![measurement(date(2024, 7, 1), value)]);
        i.direction = direction as i32;
        i.target = point(60.0, date(2025, 1, 1));
        i
    };
    let cases = vec![
        waiting_days(vec![]),
        // Exactly on the line: half the time, half the way (2024 is a leap year).
        waiting_days(vec![measurement(date(2024, 7, 2), 45.0)]),
        waiting_days(vec![measurement(date(2024, 7, 2), 45.5)]),
        waiting_days(vec![measurement(date(2024, 3, 1), 30.0)]),
        waiting_days(vec![measurement(date(2025, 6, 1), 31.0)]),
        waiting_days(vec![measurement(date(2024, 3, 1), 65.0)]),
        hold(pb::Direction::LowerIsBetter, 60.0),
        hold(pb::Direction::LowerIsBetter, 61.0),
        hold(pb::Direction::HigherIsBetter, 59.0),
        hold(pb::Direction::HigherIsBetter, 75.0),
        {
            let mut early = waiting_days(vec![measurement(date(2023, 12, 1), 58.0)]);
            early.measurements[0].note = "Pilot".into();
            early
        },
    ];
    let mut expected = std::collections::BTreeMap::<i32, i64>::new();
    for case in cases {
        let made = add_indicator(&mut client, &a.name, case).await;
        *expected.entry(status(&made) as i32).or_default() += 1;
    }
    let p = summarize(&mut client, "").await.indicator_progress.unwrap();
    let from_sql = [
        (pb::ProgressStatus::NoData as i32, p.no_data),
        (pb::ProgressStatus::OffTrack as i32, p.off_track),
        (pb::ProgressStatus::OnTrack as i32, p.on_track),
        (pb::ProgressStatus::Achieved as i32, p.achieved),
    ]
    .into_iter()
    .filter(|(_, n)| *n > 0)
    .collect::<std::collections::BTreeMap<_, _>>();
    assert_eq!(from_sql, expected);
    assert!(expected.len() == 4, "every status occurs: {expected:?}");
    server.stop().await;
}

// --------------------------------------------------------------- pictures --

async fn indicator_chart_is_svg_with_a_dot_per_measurement(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let a = create(&mut client, assessment("initiatives/a", "t")).await;
    let measurements: Vec<pb::Measurement> = (1..=7)
        .map(|m| measurement(date(2024, m, 15), 60.0 - 3.0 * f64::from(m)))
        .collect();
    let i = add_indicator(&mut client, &a.name, waiting_days(measurements)).await;
    let chart = client
        .render_indicator_chart(pb::RenderIndicatorChartRequest {
            name: i.name.clone(),
        })
        .await
        .accepted("RenderIndicatorChart");
    assert_eq!(chart.content_type, "image/svg+xml");
    let doc = roxmltree::Document::parse(&chart.svg).expect("well-formed SVG");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    let dots = doc
        .descendants()
        .filter(|n| n.tag_name().name() == "circle")
        .count();
    assert_eq!(dots, 7, "one dot per measurement");
    let text: String = doc
        .descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect();
    assert!(text.contains("Days to a building permit"), "title shown");
    assert!(text.contains("days"), "measure shown");

    // Without measurements the chart still draws baseline and target.
    let empty = add_indicator(&mut client, &a.name, waiting_days(vec![])).await;
    let chart = client
        .render_indicator_chart(pb::RenderIndicatorChartRequest {
            name: empty.name.clone(),
        })
        .await
        .accepted("RenderIndicatorChart");
    let doc = roxmltree::Document::parse(&chart.svg).expect("well-formed SVG");
    assert_eq!(
        doc.descendants()
            .filter(|n| n.tag_name().name() == "circle")
            .count(),
        0
    );
    let status = client
        .render_indicator_chart(pb::RenderIndicatorChartRequest {
            name: format!("{}/indicators/nope", a.name),
        })
        .await
        .refused("RenderIndicatorChart unknown");
    assert_eq!(status.code(), Code::NotFound);
    server.stop().await;
}

// ------------------------------------------------------ capacity rounds --

fn score(score: i32) -> Option<pb::CapacityScore> {
    // An unscored item has no evidence.
    let evidence = if score == 0 {
        String::new()
    } else {
        format!("Evidence for {score}")
    };
    Some(pb::CapacityScore { score, evidence })
}

fn levels3(individual: i32, organizational: i32, system: i32) -> Option<pb::LevelScores> {
    Some(pb::LevelScores {
        individual: score(individual),
        organizational: score(organizational),
        system: score(system),
    })
}

fn round(subject: &str, label: &str, base: i32) -> pb::CapacityAssessment {
    pb::CapacityAssessment {
        subject: subject.into(),
        round: label.into(),
        assess_date: Some(date(2021, 6, 1)),
        purpose: levels3(base, base, base),
        potential: levels3(base, base + 1, base),
        capacity: levels3(base, base, 1),
        impact: levels3(1, 1, 1),
        declaration: Some(pb::DeclarationScores {
            embrace_and_enhance: score(base),
            encourage_and_equip: score(base),
            cultivate_partnerships: score(base),
            support_exploration: score(base),
            diffuse_lessons: None,
        }),
        assessors: vec!["organizations/oecd-opsi".into()],
        ..Default::default()
    }
}

async fn record(client: &mut Client, c: pb::CapacityAssessment) -> pb::CapacityAssessment {
    client
        .create_capacity_assessment(pb::CreateCapacityAssessmentRequest {
            capacity_assessment: Some(c),
            request_id: String::new(),
        })
        .await
        .accepted("CreateCapacityAssessment")
}

async fn capacity_rounds_round_trip_one_per_subject_and_label(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let ro21 = record(&mut client, round("countries/ro", "2021", 2)).await;
    assert!(ro21.name.starts_with("capacityAssessments/"));
    assert_eq!(ro21.subject, "countries/RO");
    assert_eq!(ro21.etag, "r1");
    assert_eq!(
        ro21.potential
            .as_ref()
            .unwrap()
            .organizational
            .as_ref()
            .unwrap()
            .score,
        3
    );
    let mut later = round("countries/RO", "2023", 3);
    later.assess_date = Some(date(2023, 6, 1));
    let ro23 = record(&mut client, later).await;
    let dk = record(&mut client, round("countries/DK", "2021", 4)).await;
    let sgg = record(&mut client, round("organizations/sgg", "2024", 2)).await;
    let got = client
        .get_capacity_assessment(pb::GetCapacityAssessmentRequest {
            name: ro21.name.clone(),
        })
        .await
        .accepted("GetCapacityAssessment");
    assert_eq!(got, ro21);

    // The same subject and round again clashes; a retried request does not.
    let status = client
        .create_capacity_assessment(pb::CreateCapacityAssessmentRequest {
            capacity_assessment: Some(round("countries/RO", "2021", 4)),
            request_id: String::new(),
        })
        .await
        .refused("CreateCapacityAssessment twice");
    assert_reason(&status, Code::AlreadyExists, "ALREADY_EXISTS");
    let request = pb::CreateCapacityAssessmentRequest {
        capacity_assessment: Some(round("countries/RO", "2025", 4)),
        request_id: "cap-1".into(),
    };
    let first = client
        .create_capacity_assessment(request.clone())
        .await
        .accepted("CreateCapacityAssessment");
    let again = client
        .create_capacity_assessment(request)
        .await
        .accepted("CreateCapacityAssessment retry");
    assert_eq!(first, again);

    let list = |filter: &str| {
        let mut c = client.clone();
        let filter = filter.to_string();
        async move {
            c.list_capacity_assessments(pb::ListCapacityAssessmentsRequest {
                filter,
                ..Default::default()
            })
            .await
            .accepted("ListCapacityAssessments")
            .capacity_assessments
            .into_iter()
            .map(|c| c.name)
            .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        list("subject = \"countries/ro\"").await,
        [ro21.name.clone(), ro23.name.clone(), first.name.clone()]
    );
    assert_eq!(
        list("(subject = \"countries/DK\" OR subject = \"organizations/sgg\")").await,
        [dk.name.clone(), sgg.name.clone()]
    );
    assert_eq!(list("").await.len(), 5);
    for bad in ["subject = \"countries/XX\"", "round = \"2021\"", "romania"] {
        let status = client
            .list_capacity_assessments(pb::ListCapacityAssessmentsRequest {
                filter: bad.into(),
                ..Default::default()
            })
            .await
            .refused(bad);
        assert_invalid(&status, "filter");
    }
    let status = client
        .get_capacity_assessment(pb::GetCapacityAssessmentRequest {
            name: "capacityAssessments/nope".into(),
        })
        .await
        .refused("GetCapacityAssessment");
    assert_eq!(status.code(), Code::NotFound);
    server.stop().await;
}

async fn capacity_bad_input_names_the_field(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let mut bad = round("countries/XX", " ", 2);
    bad.assess_date = None;
    bad.purpose.as_mut().unwrap().system = score(6);
    bad.impact.as_mut().unwrap().individual = Some(pb::CapacityScore {
        score: 2,
        evidence: String::new(),
    });
    bad.declaration.as_mut().unwrap().diffuse_lessons = Some(pb::CapacityScore {
        score: 0,
        evidence: "notes without a score".into(),
    });
    let status = client
        .create_capacity_assessment(pb::CreateCapacityAssessmentRequest {
            capacity_assessment: Some(bad),
            request_id: String::new(),
        })
        .await
        .refused("CreateCapacityAssessment");
    for field in [
        "capacity_assessment.subject",
        "capacity_assessment.round",
        "capacity_assessment.assess_date",
        "capacity_assessment.purpose.system.score",
        "capacity_assessment.impact.individual.evidence",
        "capacity_assessment.declaration.diffuse_lessons.score",
    ] {
        assert_invalid(&status, field);
    }
    let mut bad_date = round("organizations/sgg", "2024", 2);
    bad_date.assess_date = Some(date(2024, 13, 1));
    let status = client
        .create_capacity_assessment(pb::CreateCapacityAssessmentRequest {
            capacity_assessment: Some(bad_date),
            request_id: String::new(),
        })
        .await
        .refused("CreateCapacityAssessment");
    assert_invalid(&status, "capacity_assessment.assess_date");
    let listed = client
        .list_capacity_assessments(pb::ListCapacityAssessmentsRequest::default())
        .await
        .accepted("ListCapacityAssessments");
    assert!(listed.capacity_assessments.is_empty());
    server.stop().await;
}

async fn capacity_update_checks_mask_and_etag(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let c = record(&mut client, round("countries/RO", "2023", 2)).await;
    let other = record(&mut client, round("countries/RO", "2024", 2)).await;
    let mut change = c.clone();
    change.impact = levels3(2, 3, 2);
    change.round = "ignored".into();
    let updated = client
        .update_capacity_assessment(pb::UpdateCapacityAssessmentRequest {
            capacity_assessment: Some(change.clone()),
            update_mask: mask(&["impact"]),
        })
        .await
        .accepted("UpdateCapacityAssessment");
    assert_eq!(updated.round, "2023");
    assert_eq!(updated.impact, levels3(2, 3, 2));
    assert_eq!(updated.etag, "r2");
    let status = client
        .update_capacity_assessment(pb::UpdateCapacityAssessmentRequest {
            capacity_assessment: Some(change.clone()),
            update_mask: mask(&["impact"]),
        })
        .await
        .refused("UpdateCapacityAssessment stale");
    assert_reason(&status, Code::Aborted, "ETAG_MISMATCH");
    let status = client
        .update_capacity_assessment(pb::UpdateCapacityAssessmentRequest {
            capacity_assessment: Some(updated.clone()),
            update_mask: None,
        })
        .await
        .refused("UpdateCapacityAssessment without mask");
    assert_invalid(&status, "update_mask");
    // Renaming the round onto another existing round clashes.
    let mut clash = updated.clone();
    clash.round = other.round.clone();
    let status = client
        .update_capacity_assessment(pb::UpdateCapacityAssessmentRequest {
            capacity_assessment: Some(clash),
            update_mask: mask(&["round"]),
        })
        .await
        .refused("UpdateCapacityAssessment clash");
    assert_eq!(status.code(), Code::AlreadyExists);
    let mut bad = updated.clone();
    bad.capacity = levels3(1, 9, 1);
    let status = client
        .update_capacity_assessment(pb::UpdateCapacityAssessmentRequest {
            capacity_assessment: Some(bad),
            update_mask: mask(&["capacity"]),
        })
        .await
        .refused("UpdateCapacityAssessment bad score");
    assert_invalid(&status, "capacity_assessment.capacity.organizational.score");
    let now = client
        .get_capacity_assessment(pb::GetCapacityAssessmentRequest {
            name: c.name.clone(),
        })
        .await
        .accepted("GetCapacityAssessment");
    assert_eq!(now, updated);
    server.stop().await;
}

async fn capacity_rounds_compare_item_by_item(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let before = record(&mut client, round("countries/RO", "2021", 2)).await;
    let mut after = round("countries/RO", "2023", 3);
    after.impact = levels3(1, 1, 0);
    after.capacity = levels3(3, 3, 1);
    after.declaration.as_mut().unwrap().diffuse_lessons = score(2);
    let after = record(&mut client, after).await;
    let c = client
        .compare_capacity_assessments(pb::CompareCapacityAssessmentsRequest {
            base: before.name.clone(),
            other: after.name.clone(),
        })
        .await
        .accepted("CompareCapacityAssessments");
    assert_eq!(c.base.unwrap().name, before.name);
    assert_eq!(c.other.unwrap().name, after.name);
    assert_eq!(c.changes.len(), 17);
    let item = |name: &str| {
        c.changes
            .iter()
            .find(|x| x.item == name)
            .unwrap_or_else(|| panic!("{name} compared"))
            .clone()
    };
    assert_eq!(item("purpose.individual").change, Some(1));
    assert_eq!(item("potential.organizational").change, Some(1));
    assert_eq!(item("capacity.system").change, Some(0));
    assert_eq!(item("impact.system").change, None);
    assert_eq!(item("impact.system").other_score, 0);
    assert_eq!(item("declaration.diffuse_lessons").change, None);
    // 3 purpose + 3 potential + 2 capacity + 4 principles went up; capacity.system
    // and impact individual/organisational stayed.
    assert_eq!((c.improved, c.declined, c.unchanged), (12, 0, 3));

    let status = client
        .compare_capacity_assessments(pb::CompareCapacityAssessmentsRequest {
            base: before.name.clone(),
            other: "capacityAssessments/nope".into(),
        })
        .await
        .refused("CompareCapacityAssessments unknown");
    assert_eq!(status.code(), Code::NotFound);
    let status = client
        .compare_capacity_assessments(pb::CompareCapacityAssessmentsRequest {
            base: "x".into(),
            other: String::new(),
        })
        .await
        .refused("CompareCapacityAssessments malformed");
    assert_invalid(&status, "base");
    assert_invalid(&status, "other");
    server.stop().await;
}

async fn capacity_chart_overlays_two_rounds(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let before = record(&mut client, round("countries/RO", "2021", 2)).await;
    let mut after = round("countries/RO", "2023", 3);
    after.impact = levels3(1, 1, 0);
    let after = record(&mut client, after).await;
    let bars = |svg: &str, fill: &str| {
        let doc = roxmltree::Document::parse(svg).expect("well-formed SVG");
        assert_eq!(doc.root_element().tag_name().name(), "svg");
        doc.descendants()
            .filter(|n| n.has_tag_name("rect"))
            .filter(|n| {
                n.attribute("fill")
                    .is_some_and(|f| f.eq_ignore_ascii_case(fill))
            })
            .count()
    };
    let one = client
        .render_capacity_chart(pb::RenderCapacityChartRequest {
            name: before.name.clone(),
            overlay: String::new(),
        })
        .await
        .accepted("RenderCapacityChart");
    assert_eq!(one.content_type, "image/svg+xml");
    // 12 framework items and 4 of 5 principles are scored.
    assert_eq!(bars(&one.svg, "#1F77B4"), 16);
    assert_eq!(bars(&one.svg, "#FF7F0E"), 0);
    let two = client
        .render_capacity_chart(pb::RenderCapacityChartRequest {
            name: before.name.clone(),
            overlay: after.name.clone(),
        })
        .await
        .accepted("RenderCapacityChart overlay");
    assert_eq!(bars(&two.svg, "#1F77B4"), 16);
    assert_eq!(bars(&two.svg, "#FF7F0E"), 15);
    assert!(
        two.svg.contains("2021") && two.svg.contains("2023"),
        "legend"
    );
    assert!(two.svg.contains("countries/RO"), "title");
    let status = client
        .render_capacity_chart(pb::RenderCapacityChartRequest {
            name: before.name.clone(),
            overlay: "capacityAssessments/nope".into(),
        })
        .await
        .refused("RenderCapacityChart unknown overlay");
    assert_eq!(status.code(), Code::NotFound);
    let status = client
        .render_capacity_chart(pb::RenderCapacityChartRequest {
            name: String::new(),
            overlay: "nope".into(),
        })
        .await
        .refused("RenderCapacityChart malformed");
    assert_invalid(&status, "name");
    assert_invalid(&status, "overlay");
    server.stop().await;
}

// ------------------------------------------------------------ change log --

async fn changes(client: &mut Client, after: i64) -> Vec<(i64, String, i32, i64)> {
    let mut stream = client
        .stream_changes(pb::StreamChangesRequest {
            after_sequence: after,
            follow: false,
        })
        .await
        .accepted("StreamChanges");
    let mut out = Vec::new();
    while let Some(change) = stream.message().await.expect("change") {
        out.push((
            change.sequence,
            change.resource,
            change.r#type,
            change.revision,
        ));
    }
    out
}

async fn every_write_is_in_the_change_log_once_and_failures_are_not(backend: Backend) {
    use innolab_proto::innolab::common::v1::ChangeType as T;
    let (server, mut client) = start(&backend).await;
    let a = create(&mut client, assessment("initiatives/a", "Logged")).await;
    let i = add_indicator(&mut client, &a.name, waiting_days(vec![])).await;
    let started = start_it(&mut client, &a.name).await;
    // Refused writes leave no trace.
    client
        .start_assessment(pb::StartAssessmentRequest {
            name: a.name.clone(),
            decided_by: "x".into(),
            ..Default::default()
        })
        .await
        .refused("StartAssessment twice");
    let mut stale = a.clone();
    stale.title = "stale".into();
    client
        .update_assessment(pb::UpdateAssessmentRequest {
            assessment: Some(stale),
            update_mask: mask(&["title"]),
        })
        .await
        .refused("UpdateAssessment stale");
    let c = record(&mut client, round("countries/RO", "2023", 2)).await;
    client
        .delete_assessment(pb::DeleteAssessmentRequest {
            name: a.name.clone(),
            etag: started.etag.clone(),
        })
        .await
        .accepted("DeleteAssessment");

    let all = changes(&mut client, 0).await;
    let expected = vec![
        (1, a.name.clone(), T::Created as i32, 1),
        (2, i.name.clone(), T::Created as i32, 1),
        (3, a.name.clone(), T::Updated as i32, 2),
        (4, c.name.clone(), T::Created as i32, 1),
        (5, i.name.clone(), T::Deleted as i32, 2),
        (6, a.name.clone(), T::Deleted as i32, 3),
    ];
    assert_eq!(all, expected);
    assert_eq!(changes(&mut client, 4).await, expected[4..].to_vec());
    assert!(changes(&mut client, 6).await.is_empty());
    let status = client
        .stream_changes(pb::StreamChangesRequest {
            after_sequence: -1,
            follow: false,
        })
        .await
        .refused("StreamChanges negative");
    assert_invalid(&status, "after_sequence");
    server.stop().await;
}

/// The rollup over everything (and over states) is read from counts the
/// writes keep; a filter on initiatives scans the rows. After every kind of
/// write, both must give the same answer.
async fn kept_rollup_counts_always_equal_a_scan(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let initiatives: Vec<String> = (0..4).map(|i| format!("initiatives/kept-{i}")).collect();
    let every = |extra: &str| {
        let any: Vec<String> = initiatives
            .iter()
            .map(|i| format!("initiative = \"{i}\""))
            .collect();
        format!("({}){extra}", any.join(" OR "))
    };
    let reader = client.clone();
    let summarize = async |filter: String| {
        reader
            .clone()
            .summarize_assessments(pb::SummarizeAssessmentsRequest { filter })
            .await
            .accepted("SummarizeAssessments")
    };
    let check = async |step: &str| {
        let kept = summarize(String::new()).await;
        let scanned = summarize(every("")).await;
        assert_eq!(
            kept, scanned,
            "after {step}: kept counts differ from a scan"
        );
        let kept = summarize("state = COMPLETED".into()).await;
        let scanned = summarize(every(" AND state = COMPLETED")).await;
        assert_eq!(kept, scanned, "after {step}: kept COMPLETED counts differ");
    };
    check("nothing").await;

    let mut names = Vec::new();
    for (i, initiative) in initiatives.iter().enumerate() {
        let mut a = assessment(initiative, &format!("Assessment {i}"));
        a.nesta_level = i as i32 + 1;
        a.maryland_level = 5 - i as i32;
        a.dac = Some(pb::DacCriteria {
            relevance: rated(i as i32 % 4 + 1, "why"),
            impact: rated(2, "why"),
            ..Default::default()
        });
        a.public_value_outcomes = vec![pb::PublicValueOutcome::ImprovedPublicService as i32];
        let created = create(&mut client, a).await;
        // Indicators of every status: none measured, behind, on track, reached.
        for values in [vec![], vec![58.0], vec![40.0], vec![29.0]] {
            let measurements = values
                .iter()
                .map(|v| measurement(date(2024, 7, 1), *v))
                .collect();
            add_indicator(&mut client, &created.name, waiting_days(measurements)).await;
        }
        names.push(created.name);
    }
    check("creates").await;

    complete(&mut client, &names[0]).await;
    complete(&mut client, &names[1]).await;
    start_it(&mut client, &names[2]).await;
    check("transitions").await;

    let mut changed = client
        .get_assessment(pb::GetAssessmentRequest {
            name: names[2].clone(),
        })
        .await
        .accepted("GetAssessment");
    changed.nesta_level = 5;
    changed.public_value_outcomes = vec![pb::PublicValueOutcome::OpenGovernmentCapabilities as i32];
    client
        .update_assessment(pb::UpdateAssessmentRequest {
            assessment: Some(changed),
            update_mask: mask(&["nesta_level", "public_value_outcomes"]),
        })
        .await
        .accepted("UpdateAssessment");
    check("an update").await;

    let indicators = client
        .list_indicators(pb::ListIndicatorsRequest {
            parent: names[3].clone(),
            ..Default::default()
        })
        .await
        .accepted("ListIndicators")
        .indicators;
    let mut measured = indicators[0].clone();
    measured.measurements = vec![measurement(date(2024, 9, 1), 25.0)];
    client
        .update_indicator(pb::UpdateIndicatorRequest {
            indicator: Some(measured),
            update_mask: mask(&["measurements"]),
        })
        .await
        .accepted("UpdateIndicator");
    client
        .delete_indicator(pb::DeleteIndicatorRequest {
            name: indicators[1].name.clone(),
            etag: String::new(),
        })
        .await
        .accepted("DeleteIndicator");
    check("indicator changes").await;

    client
        .delete_assessment(pb::DeleteAssessmentRequest {
            name: names[3].clone(),
            etag: String::new(),
        })
        .await
        .accepted("DeleteAssessment");
    client
        .reopen_assessment(pb::ReopenAssessmentRequest {
            name: names[0].clone(),
            decided_by: "people/lead".into(),
            reason: "new data".into(),
            ..Default::default()
        })
        .await
        .accepted("ReopenAssessment");
    check("a delete and a reopen").await;
    let all = summarize(String::new()).await;
    assert_eq!(all.assessment_count, 3);
    assert_eq!(all.indicator_progress.unwrap().total, 12);
    server.stop().await;
}
