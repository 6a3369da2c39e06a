//! Failed writes and idempotent retries leave no trace in the change log.

use super::*;

innolab_tests::on_both_backends!(failed_writes_and_retries_log_nothing,);

async fn failed_writes_and_retries_log_nothing(backend: Backend) {
    let mut w = World::new(backend).await;

    // Idempotent retries: each create logged once, however often it is sent.
    let mut expected = Vec::new();
    let mut challenge = None;
    let mut initiative = None;
    let mut call = None;
    let mut submission = None;
    for _ in 0..3 {
        challenge = Some(w.create_challenge("Slow permits", "ch-1").await.unwrap());
        initiative = Some(
            w.create_initiative(w.initiative("E-permits"), "in-1")
                .await
                .unwrap(),
        );
        call = Some(
            w.create_call(date(2020, 1, 1), date(2999, 12, 31), "call-1")
                .await
                .unwrap(),
        );
        let parent = call.as_ref().unwrap().name.clone();
        submission = Some(w.submit_titled(&parent, "Idea", "sub-1").await.unwrap());
    }
    let (challenge, initiative, call, submission) = (
        challenge.unwrap(),
        initiative.unwrap(),
        call.unwrap(),
        submission.unwrap(),
    );
    expected.push(change(&challenge.name, CREATED, 1));
    expected.push(change(&initiative.name, CREATED, 1));
    expected.push(change(&call.name, CREATED, 1));
    expected.push(change(&submission.name, CREATED, 1));
    let imported = w
        .import(
            "register",
            vec![w.initiative("Row 1"), w.initiative("Row 2")],
        )
        .await
        .unwrap();
    assert_eq!(imported.imported, 2);
    for row in &imported.rows {
        expected.push(change(&row.initiative, CREATED, 1));
    }
    let again = w
        .import(
            "register",
            vec![w.initiative("Row 1"), w.initiative("Row 2")],
        )
        .await
        .unwrap();
    assert_eq!((again.imported, again.already_imported), (0, 2));
    assert_eq!(summary(&w.log(0).await, 1), expected);

    // Failed writes of every kind.
    let mut bad = w.initiative("Bad");
    bad.country_code = "XX".into();
    let err = w.create_initiative(bad, "").await.unwrap_err();
    assert_code(&err, Code::InvalidArgument);
    let mut ghost_org = w.initiative("Ghost lead");
    ghost_org.lead_organization = "organizations/0190b7c0-0000-7000-8000-000000000000".into();
    let err = w.create_initiative(ghost_org, "").await.unwrap_err();
    assert_code(&err, Code::InvalidArgument);
    let mut ghost_challenge = w.initiative("Ghost challenge");
    ghost_challenge.challenges = vec!["challenges/0190b7c0-0000-7000-8000-000000000000".into()];
    let err = w.create_initiative(ghost_challenge, "").await.unwrap_err();
    assert_code(&err, Code::InvalidArgument);

    // Update with a stale etag, and one naming a missing challenge.
    let updated = w
        .update_initiative(
            pb::Initiative {
                results: "Half the visits.".into(),
                ..initiative.clone()
            },
            &["results"],
        )
        .await
        .unwrap();
    expected.push(change(&initiative.name, UPDATED, 2));
    let err = w
        .update_initiative(
            pb::Initiative {
                results: "Lost update.".into(),
                ..initiative.clone()
            },
            &["results"],
        )
        .await
        .unwrap_err();
    assert_code(&err, Code::Aborted);
    let err = w
        .update_initiative(
            pb::Initiative {
                challenges: vec!["challenges/0190b7c0-0000-7000-8000-000000000000".into()],
                ..updated.clone()
            },
            &["challenges"],
        )
        .await
        .unwrap_err();
    assert_code(&err, Code::InvalidArgument);

    // Illegal and stale moves.
    let err = w
        .move_stage(&initiative.name, pb::InitiativeStage::DiffusingLessons, "")
        .await
        .unwrap_err();
    assert_code(&err, Code::FailedPrecondition);
    let err = w
        .move_stage(
            &initiative.name,
            pb::InitiativeStage::GeneratingIdeas,
            &initiative.etag,
        )
        .await
        .unwrap_err();
    assert_code(&err, Code::Aborted);
    let err = w
        .change_status_to(&initiative.name, "", pb::InitiativeStatus::NotInUseAnymore)
        .await
        .unwrap_err();
    assert_code(&err, Code::FailedPrecondition);
    let err = w
        .move_stage(
            "initiatives/0190b7c0-0000-7000-8000-000000000000",
            pb::InitiativeStage::GeneratingIdeas,
            "",
        )
        .await
        .unwrap_err();
    assert_code(&err, Code::NotFound);

    // Challenge with a stale etag.
    let err = w
        .client
        .update_challenge(pb::UpdateChallengeRequest {
            challenge: Some(pb::Challenge {
                name: challenge.name.clone(),
                etag: "r7".into(),
                title: "Lost".into(),
                ..Default::default()
            }),
            update_mask: mask(&["title"]),
        })
        .await
        .unwrap_err();
    assert_code(&err, Code::Aborted);

    // A submission to a closed call, a screening with a stale etag, and one
    // of a submission already decided.
    let closed = w
        .create_call(date(2000, 1, 1), date(2001, 1, 1), "")
        .await
        .unwrap();
    expected.push(change(&closed.name, CREATED, 1));
    let err = w.submit_titled(&closed.name, "Late", "").await.unwrap_err();
    assert_code(&err, Code::FailedPrecondition);
    let err = w
        .screen(&submission.name, "r9", pb::ScreeningDecision::Accept)
        .await
        .unwrap_err();
    assert_code(&err, Code::Aborted);
    w.screen(&submission.name, "", pb::ScreeningDecision::Reject)
        .await
        .unwrap();
    expected.push(change(&submission.name, UPDATED, 2));
    let err = w
        .screen(&submission.name, "", pb::ScreeningDecision::Accept)
        .await
        .unwrap_err();
    assert_code(&err, Code::FailedPrecondition);

    // An import whose every row is refused.
    let mut bad = w.initiative("Bad row");
    bad.country_code = "XX".into();
    let refused = w.import("all-bad", vec![bad]).await.unwrap();
    assert_eq!(refused.imported, 0);

    assert_eq!(summary(&w.log(0).await, 1), expected);
    w.stop().await;
}
