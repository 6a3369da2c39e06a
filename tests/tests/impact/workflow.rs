//! The assessment workflow: start, submit, review, reopen, and the rules of each step.

use super::*;

on_both_backends!(
    workflow_records_every_step_and_the_sign_off,
    illegal_moves_are_refused_and_change_nothing,
    transition_input_is_validated,
    completed_ratings_cannot_be_edited_in_place,
);

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
            decided_by: "people/x".into(),
            ..Default::default()
        })
        .await
        .refused("SubmitAssessment from PLANNED");
    assert_reason(&status, Code::FailedPrecondition, "ILLEGAL_TRANSITION");
    let status = client
        .review_assessment(pb::ReviewAssessmentRequest {
            name: a.name.clone(),
            reviewer: "people/x".into(),
            decision: pb::ReviewDecision::Approved as i32,
            ..Default::default()
        })
        .await
        .refused("ReviewAssessment from PLANNED");
    assert_reason(&status, Code::FailedPrecondition, "ILLEGAL_TRANSITION");
    let status = client
        .reopen_assessment(pb::ReopenAssessmentRequest {
            name: a.name.clone(),
            decided_by: "people/x".into(),
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
            decided_by: "people/x".into(),
            ..Default::default()
        })
        .await
        .refused("StartAssessment twice");
    assert_reason(&status, Code::FailedPrecondition, "ILLEGAL_TRANSITION");
    let status = client
        .review_assessment(pb::ReviewAssessmentRequest {
            name: a.name.clone(),
            reviewer: "people/x".into(),
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
