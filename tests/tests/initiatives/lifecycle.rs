//! The lifecycle: stage moves and status changes, their tables, their validation.

use super::*;

innolab_tests::on_both_backends!(
    stage_moves_follow_the_table_and_are_recorded,
    status_changes_follow_the_table_and_final_is_final,
    transitions_validate_input_and_etag,
    unknown_ids_are_not_found_and_malformed_names_invalid,
);

async fn stage_moves_follow_the_table_and_are_recorded(backend: Backend) {
    use pb::InitiativeStage as S;
    let mut w = World::new(backend).await;
    let i = w.create(w.initiative("Lifecycle")).await;
    // Skipping a stage is refused and changes nothing.
    let err = w
        .move_stage(&i.name, S::DevelopingProposals, "")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    assert_eq!(reason(&err), "ILLEGAL_TRANSITION");
    let err = w
        .move_stage(&i.name, S::IdentifyingProblems, "")
        .await
        .unwrap_err();
    assert_code(&err, Code::FailedPrecondition);
    assert_eq!(w.get(&i.name).await, i);
    for stage in [
        S::GeneratingIdeas,
        S::DevelopingProposals,
        S::ImplementingProjects,
        S::EvaluatingProjects,
        S::GeneratingIdeas, // iterate: back to ideas
        S::DevelopingProposals,
    ] {
        let moved = w.move_stage(&i.name, stage, "").await.unwrap();
        assert_eq!(moved.stage, stage as i32);
    }
    let read = w.get(&i.name).await;
    let steps: Vec<(i32, i32)> = read
        .timeline
        .iter()
        .map(|e| (e.from_stage, e.to_stage))
        .collect();
    assert_eq!(
        steps,
        vec![(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 2), (2, 3),]
    );
    let last = read.timeline.last().unwrap();
    assert_eq!(last.actor, "posts/lab-director");
    assert_eq!(last.note, "to INITIATIVE_STAGE_DEVELOPING_PROPOSALS");
    assert!(last.event_time.is_some());
    assert_eq!(last.from_status, pb::InitiativeStatus::InDevelopment as i32);
    assert_eq!(last.to_status, pb::InitiativeStatus::InDevelopment as i32);
    w.stop().await;
}

async fn status_changes_follow_the_table_and_final_is_final(backend: Backend) {
    use pb::InitiativeStatus as St;
    let mut w = World::new(backend).await;
    let i = w.create(w.initiative("Status")).await;
    let err = w
        .change_status(&i.name, St::NotInUseAnymore)
        .await
        .unwrap_err();
    assert_code(&err, Code::FailedPrecondition);
    for status in [St::Pilot, St::InDevelopment, St::Paused, St::Implemented] {
        assert_eq!(
            w.change_status(&i.name, status).await.unwrap().status,
            status as i32
        );
    }
    w.change_status(&i.name, St::NotInUseAnymore).await.unwrap();
    for status in [St::InDevelopment, St::Pilot, St::Implemented, St::Paused] {
        let err = w.change_status(&i.name, status).await.unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition, "{status:?}");
    }
    // A stopped initiative does not restart, but may diffuse its lessons.
    let mut late = w.initiative("Stopped late");
    late.stage = pb::InitiativeStage::EvaluatingProjects as i32;
    late.status = St::Pilot as i32;
    let late = w.create(late).await;
    w.change_status(&late.name, St::Discontinued).await.unwrap();
    let err = w
        .move_stage(&late.name, pb::InitiativeStage::ImplementingProjects, "")
        .await
        .unwrap_err();
    assert_code(&err, Code::FailedPrecondition);
    let moved = w
        .move_stage(&late.name, pb::InitiativeStage::DiffusingLessons, "")
        .await
        .unwrap();
    assert_eq!(moved.stage, pb::InitiativeStage::DiffusingLessons as i32);
    assert_eq!(moved.timeline.len(), 3);
    assert_eq!(moved.timeline[1].to_status, St::Discontinued as i32);
    assert_eq!(moved.timeline[1].actor, "groups/steering-board");
    // Stopped two stages before the end (the case an acceptance run found):
    // on to DIFFUSING_LESSONS directly, not through EVALUATING_PROJECTS.
    let mut early = w.initiative("Stopped while implementing");
    early.stage = pb::InitiativeStage::ImplementingProjects as i32;
    early.status = St::Pilot as i32;
    let early = w.create(early).await;
    w.change_status(&early.name, St::Discontinued)
        .await
        .unwrap();
    let err = w
        .move_stage(&early.name, pb::InitiativeStage::EvaluatingProjects, "")
        .await
        .unwrap_err();
    assert_code(&err, Code::FailedPrecondition);
    let moved = w
        .move_stage(&early.name, pb::InitiativeStage::DiffusingLessons, "")
        .await
        .unwrap();
    assert_eq!(moved.stage, pb::InitiativeStage::DiffusingLessons as i32);
    assert_eq!(moved.status, St::Discontinued as i32);
    w.stop().await;
}

async fn transitions_validate_input_and_etag(backend: Backend) {
    let mut w = World::new(backend).await;
    let i = w.create(w.initiative("Inputs")).await;
    let err = w
        .client
        .move_initiative_stage(pb::MoveInitiativeStageRequest {
            name: "initiatives/".into(),
            etag: "x".into(),
            stage: 0,
            actor: " ".into(),
            note: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(violations(&err), vec!["actor", "etag", "name", "stage"]);
    let err = w
        .client
        .change_initiative_status(pb::ChangeInitiativeStatusRequest {
            name: i.name.clone(),
            etag: String::new(),
            status: 99,
            actor: String::new(),
            note: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(violations(&err), vec!["actor", "status"]);
    let err = w
        .move_stage(&i.name, pb::InitiativeStage::GeneratingIdeas, "r7")
        .await
        .unwrap_err();
    assert_code(&err, Code::Aborted);
    assert_eq!(w.get(&i.name).await, i);
    w.move_stage(&i.name, pb::InitiativeStage::GeneratingIdeas, &i.etag)
        .await
        .unwrap();
    w.stop().await;
}

async fn unknown_ids_are_not_found_and_malformed_names_invalid(backend: Backend) {
    let mut w = World::new(backend).await;
    let unknown = "initiatives/0190b7c0-0000-7000-8000-000000000000";
    let err = w
        .client
        .get_initiative(pb::GetInitiativeRequest {
            name: unknown.into(),
        })
        .await
        .unwrap_err();
    assert_code(&err, Code::NotFound);
    let err = w
        .move_stage(unknown, pb::InitiativeStage::GeneratingIdeas, "")
        .await
        .unwrap_err();
    assert_code(&err, Code::NotFound);
    let err = w
        .change_status(unknown, pb::InitiativeStatus::Pilot)
        .await
        .unwrap_err();
    assert_code(&err, Code::NotFound);
    let err = w
        .client
        .update_initiative(pb::UpdateInitiativeRequest {
            initiative: Some(pb::Initiative {
                name: unknown.into(),
                ..Default::default()
            }),
            update_mask: mask(&["results"]),
        })
        .await
        .unwrap_err();
    assert_code(&err, Code::NotFound);
    let err = w
        .client
        .get_initiative(pb::GetInitiativeRequest {
            name: "organizations/x".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(violations(&err), vec!["name"]);
    w.stop().await;
}
