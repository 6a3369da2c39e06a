//! Calls for Innovations, submissions and their screening.

use super::*;

innolab_tests::on_both_backends!(
    accepted_submission_enters_the_case_library,
    submissions_outside_the_open_period_are_refused,
    updating_a_call_reopens_it_and_checks_everything,
    call_submission_and_screening_rules,
);

async fn accepted_submission_enters_the_case_library(backend: Backend) {
    let mut w = World::new(backend).await;
    let call = create_call(&mut w, Some(date(2020, 1, 1)), Some(date(2999, 12, 31))).await;
    assert!(call.name.starts_with("calls/"));
    let mut draft = full(&w);
    draft.stage = pb::InitiativeStage::EvaluatingProjects as i32;
    draft.status = pb::InitiativeStatus::Implemented as i32;
    let sub = w.submit(&call.name, draft).await.unwrap();
    assert!(sub.name.starts_with(&format!("{}/submissions/", call.name)));
    assert_eq!(sub.state, pb::SubmissionState::Submitted as i32);
    assert_eq!(sub.initiative.as_ref().unwrap().country_code, "RO");
    assert!(sub.screening.is_none());
    // Not yet in the case library.
    assert!(w.list("").await.is_empty());
    let accepted = screen(
        &mut w,
        &sub.name,
        &sub.etag,
        screening(pb::ScreeningDecision::Accept, true),
    )
    .await
    .unwrap();
    assert_eq!(accepted.state, pb::SubmissionState::Accepted as i32);
    let s = accepted.screening.as_ref().unwrap();
    assert_eq!(s.decided_by, "groups/opsi-screening-panel");
    assert!(s.decide_time.is_some());
    assert!(accepted.accepted_initiative.starts_with("initiatives/"));
    let initiative = w.get(&accepted.accepted_initiative).await;
    assert_eq!(initiative.titles, sub.initiative.as_ref().unwrap().titles);
    assert_eq!(
        initiative.stage,
        pb::InitiativeStage::EvaluatingProjects as i32
    );
    assert_eq!(initiative.timeline[0].actor, "groups/opsi-screening-panel");
    assert!(initiative.timeline[0].note.contains(&sub.name));
    // Decisions are final.
    let err = screen(
        &mut w,
        &sub.name,
        "",
        screening(pb::ScreeningDecision::Reject, true),
    )
    .await
    .unwrap_err();
    assert_code(&err, Code::FailedPrecondition);
    // A rejected submission stays out of the library.
    let other = w
        .submit(&call.name, w.initiative("Rejected idea"))
        .await
        .unwrap();
    let rejected = screen(
        &mut w,
        &other.name,
        "",
        screening(pb::ScreeningDecision::Reject, false),
    )
    .await
    .unwrap();
    assert_eq!(rejected.state, pb::SubmissionState::Rejected as i32);
    assert!(rejected.accepted_initiative.is_empty());
    assert_eq!(w.list("").await.len(), 1);
    let read = w
        .client
        .get_submission(pb::GetSubmissionRequest {
            name: other.name.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(read, rejected);
    let list = |filter: &str| pb::ListSubmissionsRequest {
        parent: call.name.clone(),
        filter: filter.into(),
        ..Default::default()
    };
    let all = w
        .client
        .list_submissions(list(""))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(all.submissions.len(), 2);
    let only = w
        .client
        .list_submissions(list("state = REJECTED"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(only.submissions, vec![rejected]);
    w.stop().await;
}

async fn submissions_outside_the_open_period_are_refused(backend: Backend) {
    let mut w = World::new(backend).await;
    let closed = create_call(&mut w, Some(date(2020, 1, 1)), Some(date(2020, 12, 31))).await;
    let err = w
        .submit(&closed.name, w.initiative("Too late"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    assert_eq!(reason(&err), "CALL_NOT_OPEN");
    let future = create_call(&mut w, Some(date(2999, 1, 1)), Some(date(2999, 12, 31))).await;
    let err = w
        .submit(&future.name, w.initiative("Too early"))
        .await
        .unwrap_err();
    assert_code(&err, Code::FailedPrecondition);
    for call in [&closed.name, &future.name] {
        let listed = w
            .client
            .list_submissions(pb::ListSubmissionsRequest {
                parent: call.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(listed.submissions.is_empty());
    }
    w.stop().await;
}

async fn updating_a_call_reopens_it_and_checks_everything(backend: Backend) {
    let mut w = World::new(backend).await;
    let call = create_call(&mut w, Some(date(2020, 1, 1)), Some(date(2020, 12, 31))).await;
    let late = w
        .submit(&call.name, w.initiative("Late"))
        .await
        .unwrap_err();
    assert_eq!(reason(&late), "CALL_NOT_OPEN");
    let update =
        |etag: &str, close: Option<Date>, paths: &[&str]| pb::UpdateInnovationCallRequest {
            call: Some(pb::InnovationCall {
                name: call.name.clone(),
                etag: etag.into(),
                title: "Ignored: not in the mask".into(),
                close_date: close,
                ..Default::default()
            }),
            update_mask: mask(paths),
        };
    // Extending the close date reopens the call; only masked fields change.
    let extended = w
        .client
        .update_innovation_call(update(
            &call.etag,
            Some(date(2999, 12, 31)),
            &["close_date"],
        ))
        .await
        .accepted("extend");
    assert_eq!(extended.close_date, Some(date(2999, 12, 31)));
    assert_eq!(extended.open_date, call.open_date);
    assert_eq!(extended.title, call.title);
    assert_ne!(extended.etag, call.etag);
    assert_ne!(extended.update_time, call.update_time);
    let submitted = w.submit(&call.name, w.initiative("In time")).await.unwrap();
    // The stale etag is refused and changes nothing.
    let err = w
        .client
        .update_innovation_call(update(&call.etag, Some(date(2020, 6, 30)), &["close_date"]))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Aborted, "{err:?}");
    // Closing it again refuses later submissions and keeps the earlier one.
    let closed = w
        .client
        .update_innovation_call(update(
            &extended.etag,
            Some(date(2020, 6, 30)),
            &["close_date"],
        ))
        .await
        .accepted("close");
    assert_eq!(closed.close_date, Some(date(2020, 6, 30)));
    let err = w
        .submit(&call.name, w.initiative("Too late"))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "CALL_NOT_OPEN");
    let listed = w
        .client
        .list_submissions(pb::ListSubmissionsRequest {
            parent: call.name.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        listed
            .submissions
            .iter()
            .map(|s| &s.name)
            .collect::<Vec<_>>(),
        vec![&submitted.name]
    );
    // Bad input names the field and stores nothing.
    let mut untitled = update("", None, &["title"]);
    untitled.call.as_mut().unwrap().title = String::new();
    for (request, field) in [
        (
            update("", Some(date(2019, 12, 31)), &["close_date"]),
            "call.close_date",
        ),
        (update("", None, &["close_date"]), "call.close_date"),
        (untitled, "call.title"),
        (update("", None, &["colour"]), "update_mask"),
        (update("", None, &[]), "update_mask"),
        (update("not-an-etag", None, &["title"]), "call.etag"),
    ] {
        let err = w.client.update_innovation_call(request).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{field}: {err:?}");
        assert_eq!(violations(&err), vec![field]);
    }
    let mut request = update("", None, &["title"]);
    request.call.as_mut().unwrap().name = "calls/0190b7c0-0000-7000-8000-000000000000".into();
    request.call.as_mut().unwrap().title = "Nobody's".into();
    let err = w.client.update_innovation_call(request).await.unwrap_err();
    assert_code(&err, Code::NotFound);
    let got = w
        .client
        .get_innovation_call(pb::GetInnovationCallRequest {
            name: call.name.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got, closed);
    w.stop().await;
}

async fn call_submission_and_screening_rules(backend: Backend) {
    let mut w = World::new(backend).await;
    let err = w
        .client
        .create_innovation_call(pb::CreateInnovationCallRequest {
            call: Some(pb::InnovationCall {
                open_date: Some(date(2026, 5, 1)),
                close_date: Some(date(2026, 4, 30)),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(violations(&err), vec!["call.close_date", "call.title"]);
    let err = w
        .client
        .create_innovation_call(pb::CreateInnovationCallRequest {
            call: Some(pb::InnovationCall {
                title: "No dates".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(violations(&err), vec!["call.close_date", "call.open_date"]);
    let call = create_call(&mut w, Some(date(2020, 1, 1)), Some(date(2999, 12, 31))).await;
    // Submissions are validated like initiatives, organisations included.
    let err = w
        .client
        .create_submission(pb::CreateSubmissionRequest {
            parent: call.name.clone(),
            submission: Some(pb::Submission::default()),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        violations(&err),
        vec!["submission.initiative", "submission.submitted_by"]
    );
    let mut bad = w.initiative("Bad");
    bad.country_code = "XX".into();
    let err = w.submit(&call.name, bad).await.unwrap_err();
    assert_eq!(violations(&err), vec!["submission.initiative.country_code"]);
    let mut unknown = w.initiative("Unknown lead");
    unknown.lead_organization = "organizations/nobody".into();
    let err = w.submit(&call.name, unknown).await.unwrap_err();
    assert_eq!(
        violations(&err),
        vec!["submission.initiative.lead_organization"]
    );
    let err = w
        .submit(
            "calls/0190b7c0-0000-7000-8000-000000000000",
            w.initiative("x"),
        )
        .await
        .unwrap_err();
    assert_code(&err, Code::NotFound);
    let err = w
        .submit("challenges/x", w.initiative("x"))
        .await
        .unwrap_err();
    assert_eq!(violations(&err), vec!["parent"]);
    // Idempotent submission.
    let request = pb::CreateSubmissionRequest {
        parent: call.name.clone(),
        submission: Some(pb::Submission {
            initiative: Some(w.initiative("Once")),
            submitted_by: "people/ana".into(),
            ..Default::default()
        }),
        request_id: "submission-1".into(),
    };
    let first = w
        .client
        .create_submission(request.clone())
        .await
        .unwrap()
        .into_inner();
    let again = w
        .client
        .create_submission(request)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first, again);
    // Screening input.
    let err = screen(
        &mut w,
        &first.name,
        "",
        screening(pb::ScreeningDecision::Accept, false),
    )
    .await
    .unwrap_err();
    assert_eq!(violations(&err), vec!["screening.decision"]);
    assert!(err.message().contains("implemented_or_piloted"), "{err:?}");
    let mut nobody = screening(pb::ScreeningDecision::Unspecified, true);
    nobody.decided_by = String::new();
    let err = screen(&mut w, "calls/x/submissions/", "x", nobody)
        .await
        .unwrap_err();
    assert_eq!(violations(&err), vec!["etag", "name", "screening.decision"]);
    let mut nobody = screening(pb::ScreeningDecision::Reject, true);
    nobody.decided_by = " ".into();
    let err = screen(&mut w, &first.name, "", nobody).await.unwrap_err();
    assert_eq!(violations(&err), vec!["screening.decided_by"]);
    let err = screen(
        &mut w,
        &first.name,
        "r9",
        screening(pb::ScreeningDecision::Accept, true),
    )
    .await
    .unwrap_err();
    assert_code(&err, Code::Aborted);
    let missing = format!(
        "{}/submissions/0190b7c0-0000-7000-8000-000000000000",
        call.name
    );
    let err = screen(
        &mut w,
        &missing,
        "",
        screening(pb::ScreeningDecision::Accept, true),
    )
    .await
    .unwrap_err();
    assert_code(&err, Code::NotFound);
    // Nothing above changed the submission or the library.
    let read = w
        .client
        .get_submission(pb::GetSubmissionRequest {
            name: first.name.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(read, first);
    assert!(w.list("").await.is_empty());
    let calls = w
        .client
        .list_innovation_calls(pb::ListInnovationCallsRequest {
            filter: "\"call for\"".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(calls.calls, vec![call.clone()]);
    let got = w
        .client
        .get_innovation_call(pb::GetInnovationCallRequest {
            name: call.name.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got, call);
    w.stop().await;
}
