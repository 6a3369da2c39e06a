//! Creating, reading and updating initiatives: every field, validation, organisations, idempotency and etags.

use super::*;

innolab_tests::on_both_backends!(
    initiative_round_trip_with_every_field,
    create_defaults_and_initial_stage,
    bad_input_names_every_field_and_stores_nothing,
    unknown_enum_numbers_are_invalid,
    unknown_organizations_are_refused_naming_the_field,
    membership_unreachable_is_unavailable_and_stores_nothing,
    create_is_idempotent,
    update_applies_masked_fields_only,
    update_refuses_missing_mask_and_stage_status_paths,
    update_with_stale_etag_is_aborted_and_keeps_the_record,
    update_checks_new_organizations,
);

async fn initiative_round_trip_with_every_field(backend: Backend) {
    let mut w = World::new(backend).await;
    let created = w.create(full(&w)).await;
    assert!(created.name.starts_with("initiatives/"));
    assert_eq!(created.country_code, "RO");
    assert_eq!(created.tags, vec!["digital-identity", "e-government"]);
    assert_eq!(created.sdgs, vec![9, 16]);
    assert_eq!(
        created.principles,
        vec![
            pb::DeclarationPrinciple::EmbraceInnovation as i32,
            pb::DeclarationPrinciple::DiffuseLessons as i32
        ]
    );
    assert_eq!(created.partners[0].organization, w.university);
    assert_eq!(
        created.partners[0].role,
        pb::PartnerRole::Implementing as i32
    );
    assert_eq!(created.milestones[0].done_date, Some(date(2024, 8, 20)));
    assert_eq!(created.etag, "r1");
    assert_eq!(created.timeline.len(), 1);
    assert_eq!(created.timeline[0].actor, "people/ana-popescu");
    assert_eq!(
        created.timeline[0].from_stage,
        pb::InitiativeStage::Unspecified as i32
    );
    let read = w.get(&created.name).await;
    assert_eq!(read, created);
    let mut expected = full(&w);
    expected.name = created.name.clone();
    expected.country_code = "RO".into();
    expected.tags = created.tags.clone();
    expected.sdgs = vec![9, 16];
    expected.principles = created.principles.clone();
    expected.stage = pb::InitiativeStage::IdentifyingProblems as i32;
    expected.status = pb::InitiativeStatus::InDevelopment as i32;
    expected.timeline = read.timeline.clone();
    expected.create_time = read.create_time;
    expected.update_time = read.update_time;
    expected.etag = read.etag.clone();
    // The single texts are the original language's (see `narratives`).
    let ro = |single: &str| vec![text("ro", single)];
    expected.localized_problem = ro(&expected.problem);
    expected.localized_objectives = ro(&expected.objectives);
    expected.localized_solution = ro(&expected.solution);
    expected.localized_results = ro(&expected.results);
    expected.localized_lessons_learned = ro(&expected.lessons_learned);
    assert_eq!(read, expected);
    w.stop().await;
}

async fn create_defaults_and_initial_stage(backend: Backend) {
    let mut w = World::new(backend).await;
    let plain = w.create(w.initiative("Plain")).await;
    assert_eq!(plain.stage, pb::InitiativeStage::IdentifyingProblems as i32);
    assert_eq!(plain.status, pb::InitiativeStatus::InDevelopment as i32);
    let mut existing = w.initiative("Registered where it stands");
    existing.stage = pb::InitiativeStage::EvaluatingProjects as i32;
    existing.status = pb::InitiativeStatus::Implemented as i32;
    let existing = w.create(existing).await;
    assert_eq!(
        existing.stage,
        pb::InitiativeStage::EvaluatingProjects as i32
    );
    assert_eq!(existing.status, pb::InitiativeStatus::Implemented as i32);
    assert_eq!(
        existing.timeline[0].to_stage,
        pb::InitiativeStage::EvaluatingProjects as i32
    );
    w.stop().await;
}

async fn bad_input_names_every_field_and_stores_nothing(backend: Backend) {
    let mut w = World::new(backend).await;
    let bad = pb::Initiative {
        titles: vec![text("not a tag", "x"), text("en", " ")],
        summaries: vec![text("en", "a"), text("en", "b")],
        lead_organization: "people/1".into(),
        partners: vec![pb::Partner {
            organization: "organizations/".into(),
            role: 0,
        }],
        country_code: "XX".into(),
        start_date: Some(date(2025, 1, 1)),
        end_date: Some(date(2024, 12, 31)),
        tags: vec![String::new()],
        sdgs: vec![0, 18],
        principles: vec![0],
        links: vec!["ftp://example.org".into(), "not a uri".into()],
        recognition: vec![String::new()],
        milestones: vec![pb::Milestone {
            title: String::new(),
            due_date: Some(date(2024, 2, 30)),
            done_date: None,
        }],
        ..Default::default()
    };
    let err = w.try_create(bad).await.unwrap_err();
    assert_eq!(
        violations(&err),
        vec![
            "initiative.country_code",
            "initiative.end_date",
            "initiative.lead_organization",
            "initiative.links[0]",
            "initiative.links[1]",
            "initiative.milestones[0].due_date",
            "initiative.milestones[0].title",
            "initiative.partners[0].organization",
            "initiative.partners[0].role",
            "initiative.principles[0]",
            "initiative.recognition[0]",
            "initiative.sdgs[0]",
            "initiative.sdgs[1]",
            "initiative.summaries[1].language_code",
            "initiative.tags[0]",
            "initiative.titles[0].language_code",
            "initiative.titles[1].text",
        ]
    );
    // Each alone, to show the end date and NUTS rules by themselves.
    let mut dates = w.initiative("Dates");
    dates.start_date = Some(date(2025, 1, 2));
    dates.end_date = Some(date(2025, 1, 1));
    assert_eq!(
        violations(&w.try_create(dates).await.unwrap_err()),
        vec!["initiative.end_date"]
    );
    let mut nuts = w.initiative("NUTS");
    nuts.nuts_code = "SE11".into();
    assert_eq!(
        violations(&w.try_create(nuts).await.unwrap_err()),
        vec!["initiative.nuts_code"]
    );
    let no_titles = pb::Initiative {
        titles: vec![],
        ..w.initiative("x")
    };
    assert_eq!(
        violations(&w.try_create(no_titles).await.unwrap_err()),
        vec!["initiative.titles"]
    );
    let missing = w
        .client
        .create_initiative(pb::CreateInitiativeRequest::default())
        .await
        .unwrap_err();
    assert_eq!(violations(&missing), vec!["initiative"]);
    let bad_key = w
        .client
        .create_initiative(pb::CreateInitiativeRequest {
            initiative: Some(w.initiative("k")),
            actor: String::new(),
            request_id: "has spaces".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(violations(&bad_key), vec!["request_id"]);
    assert!(w.list("").await.is_empty());
    w.stop().await;
}

async fn unknown_enum_numbers_are_invalid(backend: Backend) {
    let mut w = World::new(backend).await;
    let mut bad = w.initiative("Enums");
    bad.facet = 99;
    bad.government_level = 42;
    bad.sector = -1;
    bad.stage = 7;
    bad.status = 70;
    bad.principles = vec![9];
    bad.partners = vec![pb::Partner {
        organization: w.university.clone(),
        role: 12,
    }];
    assert_eq!(
        violations(&w.try_create(bad).await.unwrap_err()),
        vec![
            "initiative.facet",
            "initiative.government_level",
            "initiative.partners[0].role",
            "initiative.principles[0]",
            "initiative.sector",
            "initiative.stage",
            "initiative.status",
        ]
    );
    w.stop().await;
}

async fn unknown_organizations_are_refused_naming_the_field(backend: Backend) {
    let mut w = World::new(backend).await;
    let mut lead = w.initiative("Unknown lead");
    lead.lead_organization = "organizations/0190b7c0-0000-7000-8000-000000000000".into();
    let err = w.try_create(lead).await.unwrap_err();
    assert_eq!(violations(&err), vec!["initiative.lead_organization"]);
    assert!(err.message().contains("does not exist"), "{err:?}");
    let mut partner = w.initiative("Unknown partner");
    partner.partners = vec![
        pb::Partner {
            organization: w.university.clone(),
            role: pb::PartnerRole::Funding as i32,
        },
        pb::Partner {
            organization: "organizations/nope".into(),
            role: pb::PartnerRole::Extending as i32,
        },
    ];
    let err = w.try_create(partner).await.unwrap_err();
    assert_eq!(
        violations(&err),
        vec!["initiative.partners[1].organization"]
    );
    assert!(w.list("").await.is_empty());
    w.stop().await;
}

async fn membership_unreachable_is_unavailable_and_stores_nothing(backend: Backend) {
    // An address nothing listens on: bind a port, then free it.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let initiatives = TestServer::initiatives(&backend, &format!("http://{closed}")).await;
    let mut client = InitiativesServiceClient::new(initiatives.channel().await);
    let err = client
        .create_initiative(pb::CreateInitiativeRequest {
            initiative: Some(pb::Initiative {
                titles: vec![text("en", "Orphan")],
                lead_organization: "organizations/abc".into(),
                country_code: "RO".into(),
                ..Default::default()
            }),
            actor: String::new(),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    let listed = client
        .list_initiatives(pb::ListInitiativesRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(listed.initiatives.is_empty());
    initiatives.stop().await;
}

async fn create_is_idempotent(backend: Backend) {
    let mut w = World::new(backend).await;
    let request = pb::CreateInitiativeRequest {
        initiative: Some(w.initiative("Once")),
        actor: String::new(),
        request_id: "5f0c1a9e-5b44-4e0b-a1c6-3a8f3f0b6f11".into(),
    };
    let first = w
        .client
        .create_initiative(request.clone())
        .await
        .unwrap()
        .into_inner();
    let second = w
        .client
        .create_initiative(request.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first, second);
    // Concurrent retries too.
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let mut c = w.client.clone();
        let mut r = request.clone();
        r.request_id = "concurrent-key".into();
        tasks.push(tokio::spawn(async move {
            c.create_initiative(r).await.unwrap().into_inner().name
        }));
    }
    let mut names = Vec::new();
    for t in tasks {
        names.push(t.await.unwrap());
    }
    names.dedup();
    assert_eq!(names.len(), 1);
    assert_eq!(w.list("").await.len(), 2);
    w.stop().await;
}

async fn update_applies_masked_fields_only(backend: Backend) {
    let mut w = World::new(backend).await;
    let created = w.create(full(&w)).await;
    let change = pb::Initiative {
        name: created.name.clone(),
        etag: created.etag.clone(),
        results: "Half the visits.".into(),
        sdgs: vec![3],
        country_code: "SE".into(),
        ..Default::default()
    };
    let updated = w
        .client
        .update_initiative(pb::UpdateInitiativeRequest {
            initiative: Some(change),
            update_mask: mask(&["results", "sdgs"]),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.results, "Half the visits.");
    assert_eq!(updated.sdgs, vec![3]);
    assert_eq!(updated.country_code, "RO");
    assert_eq!(updated.titles, created.titles);
    assert_eq!(updated.etag, "r2");
    assert_eq!(w.list("sdg = 3").await.len(), 1);
    assert!(w.list("sdg = 16").await.is_empty());
    // `*` replaces every writable field; a bad value names the field.
    let star = pb::Initiative {
        name: created.name.clone(),
        ..w.initiative("Replaced")
    };
    let replaced = w
        .client
        .update_initiative(pb::UpdateInitiativeRequest {
            initiative: Some(star),
            update_mask: mask(&["*"]),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(replaced.titles, vec![text("en", "Replaced")]);
    assert!(replaced.partners.is_empty());
    assert_eq!(replaced.stage, created.stage);
    let err = w
        .client
        .update_initiative(pb::UpdateInitiativeRequest {
            initiative: Some(pb::Initiative {
                name: created.name.clone(),
                country_code: "XX".into(),
                ..Default::default()
            }),
            update_mask: mask(&["country_code"]),
        })
        .await
        .unwrap_err();
    assert_eq!(violations(&err), vec!["initiative.country_code"]);
    w.stop().await;
}

async fn update_refuses_missing_mask_and_stage_status_paths(backend: Backend) {
    let mut w = World::new(backend).await;
    let created = w.create(w.initiative("Masked")).await;
    for paths in [&[][..], &["stage"][..], &["status"][..], &["timeline"][..]] {
        let err = w
            .client
            .update_initiative(pb::UpdateInitiativeRequest {
                initiative: Some(pb::Initiative {
                    name: created.name.clone(),
                    stage: pb::InitiativeStage::DiffusingLessons as i32,
                    ..Default::default()
                }),
                update_mask: mask(paths),
            })
            .await
            .unwrap_err();
        assert_eq!(violations(&err), vec!["update_mask"], "{paths:?}");
    }
    assert_eq!(w.get(&created.name).await, created);
    w.stop().await;
}

async fn update_with_stale_etag_is_aborted_and_keeps_the_record(backend: Backend) {
    let mut w = World::new(backend).await;
    let created = w.create(w.initiative("Contested")).await;
    let update = |etag: &str, results: &str| pb::UpdateInitiativeRequest {
        initiative: Some(pb::Initiative {
            name: created.name.clone(),
            etag: etag.into(),
            results: results.into(),
            ..Default::default()
        }),
        update_mask: mask(&["results"]),
    };
    w.client
        .update_initiative(update(&created.etag, "first"))
        .await
        .unwrap();
    let err = w
        .client
        .update_initiative(update(&created.etag, "second"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Aborted, "{err:?}");
    assert_eq!(w.get(&created.name).await.results, "first");
    // A stage move also changes the etag.
    let current = w.get(&created.name).await;
    w.move_stage(
        &created.name,
        pb::InitiativeStage::GeneratingIdeas,
        &current.etag,
    )
    .await
    .unwrap();
    let err = w
        .client
        .update_initiative(update(&current.etag, "third"))
        .await
        .unwrap_err();
    assert_code(&err, Code::Aborted);
    let err = w
        .client
        .update_initiative(update("garbage", "x"))
        .await
        .unwrap_err();
    assert_eq!(violations(&err), vec!["initiative.etag"]);
    assert_eq!(w.get(&created.name).await.results, "first");
    w.stop().await;
}

async fn update_checks_new_organizations(backend: Backend) {
    let mut w = World::new(backend).await;
    let created = w.create(w.initiative("Partners")).await;
    let err = w
        .client
        .update_initiative(pb::UpdateInitiativeRequest {
            initiative: Some(pb::Initiative {
                name: created.name.clone(),
                partners: vec![pb::Partner {
                    organization: "organizations/missing".into(),
                    role: pb::PartnerRole::Funding as i32,
                }],
                ..Default::default()
            }),
            update_mask: mask(&["partners"]),
        })
        .await
        .unwrap_err();
    assert_eq!(
        violations(&err),
        vec!["initiative.partners[0].organization"]
    );
    let updated = w
        .client
        .update_initiative(pb::UpdateInitiativeRequest {
            initiative: Some(pb::Initiative {
                name: created.name.clone(),
                lead_organization: w.university.clone(),
                ..Default::default()
            }),
            update_mask: mask(&["lead_organization"]),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.lead_organization, w.university);
    w.stop().await;
}
