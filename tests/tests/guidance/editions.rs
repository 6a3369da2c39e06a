//! Editions: the publishing lifecycle, one unpublished edition per document,
//! published text that never changes, translations by language.

use super::*;

innolab_tests::on_both_backends!(
    edition_lifecycle_publish_supersede_withdraw,
    illegal_transitions_leave_the_edition_unchanged,
    one_unpublished_edition_per_document,
    edition_bad_input_and_stale_etag,
    published_editions_never_change,
    translation_in_requested_language_or_original,
);

async fn edition_lifecycle_publish_supersede_withdraw(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let d = create_document(&mut client, document("Lifecycle")).await;
    let e1 = create_edition(
        &mut client,
        &d.name,
        edition(vec![translation("en", "First", "First body", true)]),
    )
    .await;
    assert_eq!(e1.name, format!("{}/editions/1", d.name));
    assert_eq!(state(&e1), pb::EditionState::Draft);
    let mut draft = e1.clone();
    draft.change_note = "Typos fixed".into();
    let e1 = client
        .update_edition(pb::UpdateEditionRequest {
            edition: Some(draft),
            update_mask: mask(&["change_note"]),
        })
        .await
        .accepted("update draft");
    assert_eq!(e1.change_note, "Typos fixed");
    assert_eq!(
        state(&submit(&mut client, &e1.name).await),
        pb::EditionState::Submitted
    );
    let e1 = publish(&mut client, &e1.name).await;
    assert_eq!(state(&e1), pb::EditionState::Published);
    assert!(e1.publish_time.is_some());
    let doc = client
        .get_document(pb::GetDocumentRequest {
            name: d.name.clone(),
        })
        .await
        .accepted("GetDocument");
    assert_eq!(doc.current_edition, e1.name);
    assert!(doc.issue_date.is_some());

    let e2 = create_edition(
        &mut client,
        &d.name,
        edition(vec![translation("en", "Second", "Second body", true)]),
    )
    .await;
    assert_eq!(e2.name, format!("{}/editions/2", d.name));
    // The first edition is still current until the second is published.
    let current = get_edition(&mut client, &format!("{}/editions/current", d.name)).await;
    assert_eq!(current.name, e1.name);
    submit(&mut client, &e2.name).await;
    publish(&mut client, &e2.name).await;
    let current = get_edition(&mut client, &format!("{}/editions/current", d.name)).await;
    assert_eq!(current.name, e2.name);
    let old = get_edition(&mut client, &e1.name).await;
    assert_eq!(state(&old), pb::EditionState::Superseded);
    assert_eq!(old.translations[0].title, "First");

    let status = client
        .withdraw_edition(pb::WithdrawEditionRequest {
            name: e2.name.clone(),
            etag: String::new(),
            reason: String::new(),
        })
        .await
        .refused("withdraw without reason");
    assert_invalid(&status, "reason");
    let withdrawn = client
        .withdraw_edition(pb::WithdrawEditionRequest {
            name: e2.name.clone(),
            etag: String::new(),
            reason: "Replaced by the 2027 toolkit".into(),
        })
        .await
        .accepted("withdraw");
    assert_eq!(state(&withdrawn), pb::EditionState::Withdrawn);
    assert_eq!(withdrawn.state_reason, "Replaced by the 2027 toolkit");
    let status = client
        .get_edition(pb::GetEditionRequest {
            name: format!("{}/editions/current", d.name),
            language_code: String::new(),
        })
        .await
        .refused("no current edition");
    assert_code(&status, Code::NotFound);
    let listed = client
        .list_editions(pb::ListEditionsRequest {
            parent: d.name.clone(),
            page_size: 1,
            ..Default::default()
        })
        .await
        .accepted("ListEditions");
    assert_eq!(listed.editions[0].name, e1.name);
    let rest = client
        .list_editions(pb::ListEditionsRequest {
            parent: d.name.clone(),
            page_size: 1,
            page_token: listed.next_page_token,
            ..Default::default()
        })
        .await
        .accepted("ListEditions page 2");
    assert_eq!(rest.editions[0].name, e2.name);
    assert!(rest.next_page_token.is_empty());
    let superseded = client
        .list_editions(pb::ListEditionsRequest {
            parent: d.name.clone(),
            filter: "state = SUPERSEDED".into(),
            ..Default::default()
        })
        .await
        .accepted("filter by state");
    assert_eq!(superseded.editions.len(), 1);
    server.stop().await;
}

async fn illegal_transitions_leave_the_edition_unchanged(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let d = create_document(&mut client, document("Illegal")).await;
    let e = create_edition(
        &mut client,
        &d.name,
        edition(vec![translation("en", "T", "Body", true)]),
    )
    .await;
    let status = client
        .publish_edition(pb::PublishEditionRequest {
            name: e.name.clone(),
            etag: String::new(),
        })
        .await
        .refused("publish a draft");
    assert_code(&status, Code::FailedPrecondition);
    let status = client
        .withdraw_edition(pb::WithdrawEditionRequest {
            name: e.name.clone(),
            etag: String::new(),
            reason: "x".into(),
        })
        .await
        .refused("withdraw a draft");
    assert_code(&status, Code::FailedPrecondition);
    let status = client
        .reject_edition(pb::RejectEditionRequest {
            name: e.name.clone(),
            etag: String::new(),
            reason: "x".into(),
        })
        .await
        .refused("reject a draft");
    assert_code(&status, Code::FailedPrecondition);
    assert_eq!(get_edition(&mut client, &e.name).await, e);
    submit(&mut client, &e.name).await;
    let status = client
        .submit_edition(pb::SubmitEditionRequest {
            name: e.name.clone(),
            etag: String::new(),
        })
        .await
        .refused("submit twice");
    assert_code(&status, Code::FailedPrecondition);
    let rejected = client
        .reject_edition(pb::RejectEditionRequest {
            name: e.name.clone(),
            etag: String::new(),
            reason: "Needs sources".into(),
        })
        .await
        .accepted("reject");
    assert_eq!(state(&rejected), pb::EditionState::Rejected);
    let status = client
        .publish_edition(pb::PublishEditionRequest {
            name: e.name.clone(),
            etag: String::new(),
        })
        .await
        .refused("publish a rejected edition");
    assert_code(&status, Code::FailedPrecondition);
    assert_eq!(get_edition(&mut client, &e.name).await, rejected);
    server.stop().await;
}

async fn one_unpublished_edition_per_document(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let d = create_document(&mut client, document("One open")).await;
    let e = create_edition(
        &mut client,
        &d.name,
        edition(vec![translation("en", "T", "Body", true)]),
    )
    .await;
    for _ in 0..2 {
        let status = client
            .create_edition(pb::CreateEditionRequest {
                parent: d.name.clone(),
                edition: Some(edition(vec![translation("en", "T2", "Body", true)])),
                request_id: String::new(),
            })
            .await
            .refused("second unpublished edition");
        assert_code(&status, Code::FailedPrecondition);
        if state(&get_edition(&mut client, &e.name).await) == pb::EditionState::Draft {
            submit(&mut client, &e.name).await;
        }
    }
    client
        .reject_edition(pb::RejectEditionRequest {
            name: e.name.clone(),
            etag: String::new(),
            reason: "no".into(),
        })
        .await
        .accepted("reject");
    let e2 = create_edition(
        &mut client,
        &d.name,
        edition(vec![translation("en", "T2", "Body", true)]),
    )
    .await;
    assert_eq!(e2.name, format!("{}/editions/2", d.name));
    // Concurrent creates: exactly one wins.
    let d2 = create_document(&mut client, document("Race")).await;
    let mut calls = Vec::new();
    for i in 0..4 {
        let mut c = client.clone();
        let parent = d2.name.clone();
        calls.push(tokio::spawn(async move {
            c.create_edition(pb::CreateEditionRequest {
                parent,
                edition: Some(edition(vec![translation(
                    "en",
                    &format!("T{i}"),
                    "B",
                    true,
                )])),
                request_id: String::new(),
            })
            .await
        }));
    }
    let mut won = 0;
    for call in calls {
        match call.await.unwrap() {
            Ok(_) => won += 1,
            Err(s) => assert_code(&s, Code::FailedPrecondition),
        }
    }
    assert_eq!(won, 1);
    server.stop().await;
}

async fn edition_bad_input_and_stale_etag(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let d = create_document(&mut client, document("Bad editions")).await;
    let cases = [
        (vec![], "edition.translations"),
        (
            vec![
                translation("en", "A", "B", true),
                translation("ro", "A", "B", true),
            ],
            "edition.translations",
        ),
        (
            vec![translation("en", "A", "B", false)],
            "edition.translations",
        ),
        (
            vec![translation("not a tag", "A", "B", true)],
            "edition.translations[0].language_code",
        ),
        (
            vec![
                translation("sv", "A", "B", true),
                translation("SV", "A", "B", false),
            ],
            "edition.translations[1].language_code",
        ),
        (
            vec![translation("en", "", "B", true)],
            "edition.translations[0].title",
        ),
        (
            vec![translation("en", "A", "", true)],
            "edition.translations[0].body",
        ),
    ];
    for (translations, field) in cases {
        let status = client
            .create_edition(pb::CreateEditionRequest {
                parent: d.name.clone(),
                edition: Some(edition(translations)),
                request_id: String::new(),
            })
            .await
            .refused(field);
        assert_invalid(&status, field);
    }
    let listed = client
        .list_editions(pb::ListEditionsRequest {
            parent: d.name.clone(),
            ..Default::default()
        })
        .await
        .accepted("ListEditions");
    assert!(listed.editions.is_empty());
    let e = create_edition(
        &mut client,
        &d.name,
        edition(vec![translation("en", "T", "Body", true)]),
    )
    .await;
    let mut changed = e.clone();
    changed.change_note = "one".into();
    client
        .update_edition(pb::UpdateEditionRequest {
            edition: Some(changed.clone()),
            update_mask: mask(&["change_note"]),
        })
        .await
        .accepted("first update");
    changed.change_note = "two".into();
    let status = client
        .update_edition(pb::UpdateEditionRequest {
            edition: Some(changed),
            update_mask: mask(&["change_note"]),
        })
        .await
        .refused("stale update");
    assert_code(&status, Code::Aborted);
    let status = client
        .submit_edition(pb::SubmitEditionRequest {
            name: e.name.clone(),
            etag: e.etag.clone(),
        })
        .await
        .refused("stale transition");
    assert_code(&status, Code::Aborted);
    let now = get_edition(&mut client, &e.name).await;
    assert_eq!(now.change_note, "one");
    assert_eq!(state(&now), pb::EditionState::Draft);
    server.stop().await;
}

async fn published_editions_never_change(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let (_, e) = published(
        &mut client,
        document("Frozen"),
        vec![translation("en", "Frozen", "Body", true)],
    )
    .await;
    let mut changed = e.clone();
    changed.translations[0].body = "Changed".into();
    let status = client
        .update_edition(pb::UpdateEditionRequest {
            edition: Some(changed),
            update_mask: mask(&["translations"]),
        })
        .await
        .refused("update a published edition");
    assert_code(&status, Code::FailedPrecondition);
    assert_eq!(get_edition(&mut client, &e.name).await, e);
    server.stop().await;
}

async fn translation_in_requested_language_or_original(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let (d, _) = published(
        &mut client,
        document("Ghid"),
        vec![
            translation("ro", "Ghid de inovare", "Text în română", true),
            translation("sv", "Innovationsguide", "Text på svenska", false),
        ],
    )
    .await;
    let current = format!("{}/editions/current", d.name);
    let sv = client
        .get_edition(pb::GetEditionRequest {
            name: current.clone(),
            language_code: "sv".into(),
        })
        .await
        .accepted("in Swedish");
    assert_eq!(sv.translations.len(), 1);
    assert_eq!(sv.translations[0].language_code, "sv");
    assert!(!sv.language_fallback);
    let regional = client
        .get_edition(pb::GetEditionRequest {
            name: current.clone(),
            language_code: "sv-FI".into(),
        })
        .await
        .accepted("in Finland Swedish");
    assert_eq!(regional.translations[0].language_code, "sv");
    let fallback = client
        .get_edition(pb::GetEditionRequest {
            name: current.clone(),
            language_code: "fi".into(),
        })
        .await
        .accepted("in Finnish");
    assert!(fallback.language_fallback);
    assert_eq!(fallback.translations.len(), 1);
    assert_eq!(fallback.translations[0].language_code, "ro");
    assert!(fallback.translations[0].original);
    let status = client
        .get_edition(pb::GetEditionRequest {
            name: current,
            language_code: "!!".into(),
        })
        .await
        .refused("bad language");
    assert_invalid(&status, "language_code");
    server.stop().await;
}
