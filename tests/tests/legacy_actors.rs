//! The upgrade that made every "who" field a resource name: typed names
//! recorded before (personal data ErasePerson could not reach) are cleared by
//! each service's migration, and resource names are kept. The records are
//! made through the API, typed names are then written behind its back as an
//! earlier release stored them, and the migration is run again (each is
//! written to run again safely) on both backends.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use innolab_proto::innolab::impact::v1 as im;
use innolab_proto::innolab::initiatives::v1 as ini;
use innolab_proto::innolab::membership::v1 as mb;
use innolab_tests::fixtures::{
    initiative_request, membership_request, network_request, organization,
};
use innolab_tests::{Backend, TestDb, TestServer};

/// Runs `statements` on the service's database (its schema on PostgreSQL).
async fn run(db: &TestDb, statements: &str) {
    db.run(statements).await;
}

fn postgres(backend: &Backend) -> bool {
    matches!(backend, Backend::Postgres(_))
}

async fn typed_names_recorded_before_are_cleared_and_references_kept(backend: Backend) {
    let members = TestServer::membership(&backend).await;
    let mut m =
        mb::membership_service_client::MembershipServiceClient::new(members.channel().await);
    let org = organization(&mut m, "Secretariatul General", "RO").await;
    let group = m
        .create_group(network_request("Network"))
        .await
        .unwrap()
        .into_inner()
        .name;
    let membership = m
        .create_membership(membership_request(&group, &org, "people/legacy-typed"))
        .await
        .unwrap()
        .into_inner()
        .name;
    m.approve_membership(mb::ApproveMembershipRequest {
        name: membership.clone(),
        decided_by: "people/kept".into(),
        ..Default::default()
    })
    .await
    .unwrap();
    // An earlier release kept what was typed.
    run(
        &members.db,
        "UPDATE membership_events SET decided_by = 'Ana Popescu' \
         WHERE decided_by = 'people/legacy-typed'",
    )
    .await;
    run(
        &members.db,
        include_str!("../../services/membership/migrations/0003_actors.sql"),
    )
    .await;
    let history = m
        .get_membership(mb::GetMembershipRequest { name: membership })
        .await
        .unwrap()
        .into_inner()
        .history;
    let who: Vec<&str> = history.iter().map(|e| e.decided_by.as_str()).collect();
    assert_eq!(who, ["", "people/kept"]);

    let cases = TestServer::initiatives(&backend, &format!("http://{}", members.addr)).await;
    let mut c =
        ini::initiatives_service_client::InitiativesServiceClient::new(cases.channel().await);
    let mut recorded = initiative_request("One-stop shop", &org, "RO");
    recorded.actor = "people/legacy-typed".into();
    let case = c
        .create_initiative(recorded)
        .await
        .unwrap()
        .into_inner()
        .name;
    c.move_initiative_stage(ini::MoveInitiativeStageRequest {
        name: case.clone(),
        stage: ini::InitiativeStage::GeneratingIdeas as i32,
        actor: "groups/steering-board".into(),
        ..Default::default()
    })
    .await
    .unwrap();
    run(
        &cases.db,
        "UPDATE initiative_events SET actor = 'Lab director' WHERE actor = 'people/legacy-typed'",
    )
    .await;
    let migration = if postgres(&backend) {
        include_str!("../../services/initiatives/migrations/postgres/0005_actors.sql")
    } else {
        include_str!("../../services/initiatives/migrations/sqlite/0005_actors.sql")
    };
    run(&cases.db, migration).await;
    let timeline = c
        .get_initiative(ini::GetInitiativeRequest { name: case.clone() })
        .await
        .unwrap()
        .into_inner()
        .timeline;
    let who: Vec<&str> = timeline.iter().map(|e| e.actor.as_str()).collect();
    assert_eq!(who, ["", "groups/steering-board"]);

    let impact = TestServer::impact(&backend).await;
    let mut i = im::impact_service_client::ImpactServiceClient::new(impact.channel().await);
    let assessment = i
        .create_assessment(im::CreateAssessmentRequest {
            assessment: Some(im::Assessment {
                initiative: case,
                title: "Waiting times".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .name;
    i.start_assessment(im::StartAssessmentRequest {
        name: assessment.clone(),
        decided_by: "people/legacy-typed".into(),
        reason: "typed".into(),
        ..Default::default()
    })
    .await
    .unwrap();
    i.submit_assessment(im::SubmitAssessmentRequest {
        name: assessment.clone(),
        decided_by: "people/kept".into(),
        ..Default::default()
    })
    .await
    .unwrap();
    let round = i
        .create_capacity_assessment(im::CreateCapacityAssessmentRequest {
            capacity_assessment: Some(im::CapacityAssessment {
                subject: "countries/RO".into(),
                round: "2021".into(),
                assess_date: Some(innolab_proto::google::r#type::Date {
                    year: 2021,
                    month: 6,
                    day: 1,
                }),
                assessors: vec![
                    "people/legacy-typed".into(),
                    "organizations/oecd-opsi".into(),
                ],
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .name;
    run(
        &impact.db,
        "UPDATE assessment_documents SET history = \
         replace(history, '\"people/legacy-typed\"', '\"Ana Popescu\"'); \
         UPDATE capacity_assessments SET body = \
         replace(body, '\"people/legacy-typed\"', '\"Ana Popescu\"')",
    )
    .await;
    let migration = if postgres(&backend) {
        include_str!("../../services/impact/migrations/postgres/0005_actors.sql")
    } else {
        include_str!("../../services/impact/migrations/sqlite/0005_actors.sql")
    };
    run(&impact.db, migration).await;
    let history = i
        .get_assessment(im::GetAssessmentRequest {
            name: assessment.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .history;
    let steps: Vec<(&str, &str)> = history
        .iter()
        .map(|e| (e.decided_by.as_str(), e.reason.as_str()))
        .collect();
    assert_eq!(steps, [("", "typed"), ("people/kept", "")]);
    let assessors = i
        .get_capacity_assessment(im::GetCapacityAssessmentRequest { name: round })
        .await
        .unwrap()
        .into_inner()
        .assessors;
    assert_eq!(assessors, ["organizations/oecd-opsi"]);

    for server in [impact, cases, members] {
        server.db.drop_schema().await;
        server.stop().await;
    }
}

innolab_tests::on_both_backends!(typed_names_recorded_before_are_cleared_and_references_kept);
