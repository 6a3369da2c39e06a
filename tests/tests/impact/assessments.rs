//! Assessments: create, read, update (mask and etag), delete, list.

use super::*;

on_both_backends!(
    assessment_round_trip_with_sroi_steps,
    assessment_bad_input_names_every_field_and_stores_nothing,
    create_assessment_is_idempotent,
    concurrent_retries_create_one_assessment,
    update_assessment_needs_a_known_mask_and_applies_only_it,
    update_with_stale_etag_is_aborted_and_overwrites_nothing,
    unknown_is_not_found_and_malformed_is_invalid,
    delete_assessment_takes_its_indicators_and_spares_completed_ones,
    list_assessments_filters_and_pages,
);

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
    assert_code(&status, Code::NotFound);
    let status = client
        .delete_assessment(pb::DeleteAssessmentRequest {
            name: "assessments/nope".into(),
            etag: String::new(),
        })
        .await
        .refused("DeleteAssessment");
    assert_code(&status, Code::NotFound);
    let status = client
        .start_assessment(pb::StartAssessmentRequest {
            name: "assessments/nope".into(),
            decided_by: "people/x".into(),
            ..Default::default()
        })
        .await
        .refused("StartAssessment");
    assert_code(&status, Code::NotFound);
    let status = client
        .get_indicator(pb::GetIndicatorRequest {
            name: "assessments/a/indicators/nope".into(),
        })
        .await
        .refused("GetIndicator");
    assert_code(&status, Code::NotFound);
    for name in ["assessments/a", "assessments/a/indicators/", "indicators/x"] {
        let status = client
            .get_indicator(pb::GetIndicatorRequest { name: name.into() })
            .await
            .refused("GetIndicator");
        assert_invalid(&status, "name");
    }
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
    assert_code(&status, Code::NotFound);
    let status = client
        .get_indicator(pb::GetIndicatorRequest {
            name: i.name.clone(),
        })
        .await
        .refused("GetIndicator after delete");
    assert_code(&status, Code::NotFound);

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
