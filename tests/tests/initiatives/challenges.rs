//! Challenges and the initiatives that answer them.

use super::*;

innolab_tests::on_both_backends!(
    challenges_show_the_initiatives_that_answer_them,
    challenge_rules,
);

async fn create_challenge(w: &mut World, title: &str) -> pb::Challenge {
    w.client
        .create_challenge(pb::CreateChallengeRequest {
            challenge: Some(pb::Challenge {
                title: title.into(),
                description: "Paper forms at every counter.".into(),
                process: "building permits".into(),
                raised_by: w.ministry.clone(),
                country_code: "ro".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .accepted("create challenge")
}

async fn challenges_show_the_initiatives_that_answer_them(backend: Backend) {
    let mut w = World::new(backend).await;
    let permits = create_challenge(&mut w, "Slow building permits").await;
    assert_eq!(permits.country_code, "RO");
    assert!(permits.answered_by.is_empty());
    let other = create_challenge(&mut w, "Unread letters").await;
    let mut a = w.initiative("E-permits");
    a.challenges = vec![permits.name.clone()];
    let a = w.create(a).await;
    let mut b = w.initiative("Permit chatbot");
    b.challenges = vec![permits.name.clone(), other.name.clone()];
    let b = w.create(b).await;
    assert_eq!(b.challenges, vec![permits.name.clone(), other.name.clone()]);
    let read = w
        .client
        .get_challenge(pb::GetChallengeRequest {
            name: permits.name.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(read.answered_by, vec![a.name.clone(), b.name.clone()]);
    assert_eq!(
        w.titles(&format!("challenge = \"{}\"", other.name)).await,
        vec!["Permit chatbot"]
    );
    // Unlinking shows at once.
    w.client
        .update_initiative(pb::UpdateInitiativeRequest {
            initiative: Some(pb::Initiative {
                name: b.name.clone(),
                ..Default::default()
            }),
            update_mask: mask(&["challenges"]),
        })
        .await
        .unwrap();
    let listed = w
        .client
        .list_challenges(pb::ListChallengesRequest::default())
        .await
        .unwrap()
        .into_inner()
        .challenges;
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].answered_by, vec![a.name.clone()]);
    assert!(listed[1].answered_by.is_empty());
    w.stop().await;
}

async fn challenge_rules(backend: Backend) {
    let mut w = World::new(backend).await;
    let err = w
        .client
        .create_challenge(pb::CreateChallengeRequest {
            challenge: Some(pb::Challenge {
                title: " ".into(),
                raised_by: "groups/x".into(),
                country_code: "XX".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        violations(&err),
        vec![
            "challenge.country_code",
            "challenge.raised_by",
            "challenge.title"
        ]
    );
    let err = w
        .client
        .create_challenge(pb::CreateChallengeRequest {
            challenge: Some(pb::Challenge {
                title: "Orphan".into(),
                raised_by: "organizations/nobody".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(violations(&err), vec!["challenge.raised_by"]);
    // Idempotent create.
    let request = pb::CreateChallengeRequest {
        challenge: Some(pb::Challenge {
            title: "Queues at the registry".into(),
            raised_by: w.university.clone(),
            ..Default::default()
        }),
        request_id: "challenge-1".into(),
    };
    let first = w
        .client
        .create_challenge(request.clone())
        .await
        .unwrap()
        .into_inner();
    let again = w
        .client
        .create_challenge(request)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first, again);
    let c = create_challenge(&mut w, "Paper archives").await;
    // Filters.
    let list = |filter: &str| pb::ListChallengesRequest {
        filter: filter.into(),
        ..Default::default()
    };
    let by_university = w
        .client
        .list_challenges(list(&format!("raised_by = \"{}\"", w.university)))
        .await
        .unwrap()
        .into_inner()
        .challenges;
    assert_eq!(by_university, vec![first.clone()]);
    let text = w
        .client
        .list_challenges(list("ARCHIVES"))
        .await
        .unwrap()
        .into_inner()
        .challenges;
    assert_eq!(text.len(), 1);
    let err = w
        .client
        .list_challenges(list("colour = \"x\""))
        .await
        .unwrap_err();
    assert_eq!(violations(&err), vec!["filter"]);
    // An initiative naming an unknown challenge names the field; nothing stored.
    let mut i = w.initiative("Wrong link");
    i.challenges = vec![c.name.clone(), "challenges/missing".into()];
    let err = w.try_create(i).await.unwrap_err();
    assert_eq!(violations(&err), vec!["initiative.challenges[1]"]);
    assert!(w.list("").await.is_empty());
    // Update with mask and etag.
    let update = |etag: &str, title: &str| pb::UpdateChallengeRequest {
        challenge: Some(pb::Challenge {
            name: c.name.clone(),
            etag: etag.into(),
            title: title.into(),
            ..Default::default()
        }),
        update_mask: mask(&["title"]),
    };
    let updated = w
        .client
        .update_challenge(update(&c.etag, "Paper archives everywhere"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.title, "Paper archives everywhere");
    assert_eq!(updated.raised_by, c.raised_by);
    let err = w
        .client
        .update_challenge(update(&c.etag, "Lost"))
        .await
        .unwrap_err();
    assert_code(&err, Code::Aborted);
    let err = w.client.update_challenge(update("", "")).await.unwrap_err();
    assert_eq!(violations(&err), vec!["challenge.title"]);
    let err = w
        .client
        .get_challenge(pb::GetChallengeRequest {
            name: "challenges/0190b7c0-0000-7000-8000-000000000000".into(),
        })
        .await
        .unwrap_err();
    assert_code(&err, Code::NotFound);
    w.stop().await;
}
