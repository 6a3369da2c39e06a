//! End-to-end tests of the initiatives service: a real initiatives server and
//! a real membership server (which says whether organisations exist), each on
//! `127.0.0.1:0` over a fresh database, real gRPC; every rule of
//! `proto/innolab/initiatives/v1/initiatives.proto` shown from the caller's
//! side.
//!
//! Each test makes its own data on its own databases and runs on SQLite, and
//! on PostgreSQL when `INNOLAB_TEST_POSTGRES_URL` is set.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use innolab_proto::google::r#type::Date;
use innolab_proto::innolab::initiatives::v1 as pb;
use innolab_proto::innolab::membership::v1 as mpb;
use innolab_tests::assert::mask;
use innolab_tests::fixtures::{import_messages, organization};
use innolab_tests::{Backend, TestServer, on_both_backends};
use mpb::membership_service_client::MembershipServiceClient;
use pb::initiatives_service_client::InitiativesServiceClient;
use prost_types::FieldMask;
use tonic::transport::Channel;
use tonic::{Code, Status};
use tonic_types::StatusExt;

type Client = InitiativesServiceClient<Channel>;

on_both_backends!(
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
    stage_moves_follow_the_table_and_are_recorded,
    status_changes_follow_the_table_and_final_is_final,
    transitions_validate_input_and_etag,
    unknown_ids_are_not_found_and_malformed_names_invalid,
    list_filters_by_every_field,
    free_text_search_folds_case_and_romanian_diacritics,
    pagination_walks_every_page_once,
    bad_filters_and_page_sizes_are_invalid,
    portfolio_summary_counts_by_dimension,
    challenges_show_the_initiatives_that_answer_them,
    challenge_rules,
    accepted_submission_enters_the_case_library,
    submissions_outside_the_open_period_are_refused,
    updating_a_call_reopens_it_and_checks_everything,
    call_submission_and_screening_rules,
    bulk_import_reports_bad_rows_and_stores_good_ones,
    retried_import_stores_nothing_twice,
    large_import_spans_batches,
    concurrent_retries_of_an_import_store_each_row_once,
    import_with_membership_unreachable_is_unavailable,
    export_streams_every_match_and_writes_files,
);

/// A membership server, an initiatives server asking it, and two organisations.
struct World {
    membership: TestServer,
    initiatives: TestServer,
    client: Client,
    /// `organizations/{id}` of a ministry.
    ministry: String,
    /// `organizations/{id}` of a university.
    university: String,
}

impl World {
    async fn new(backend: Backend) -> World {
        let membership = TestServer::membership(&backend).await;
        let initiatives =
            TestServer::initiatives(&backend, &format!("http://{}", membership.addr)).await;
        let mut members = MembershipServiceClient::new(membership.channel().await);
        let ministry = organization(&mut members, "Ministerul Dezvoltării", "RO").await;
        let university = organization(&mut members, "Aalto University", "FI").await;
        let client = InitiativesServiceClient::new(initiatives.channel().await);
        World {
            membership,
            initiatives,
            client,
            ministry,
            university,
        }
    }

    async fn stop(self) {
        self.initiatives.stop().await;
        self.membership.stop().await;
    }

    /// A minimal valid initiative led by the ministry.
    fn initiative(&self, title: &str) -> pb::Initiative {
        pb::Initiative {
            titles: vec![text("en", title)],
            lead_organization: self.ministry.clone(),
            country_code: "RO".into(),
            ..Default::default()
        }
    }

    async fn create(&mut self, initiative: pb::Initiative) -> pb::Initiative {
        self.client
            .create_initiative(pb::CreateInitiativeRequest {
                initiative: Some(initiative),
                actor: "Ana Popescu".into(),
                request_id: String::new(),
            })
            .await
            .expect("create initiative")
            .into_inner()
    }

    async fn try_create(&mut self, initiative: pb::Initiative) -> Result<pb::Initiative, Status> {
        self.client
            .create_initiative(pb::CreateInitiativeRequest {
                initiative: Some(initiative),
                actor: String::new(),
                request_id: String::new(),
            })
            .await
            .map(tonic::Response::into_inner)
    }

    async fn get(&mut self, name: &str) -> pb::Initiative {
        self.client
            .get_initiative(pb::GetInitiativeRequest { name: name.into() })
            .await
            .expect("get")
            .into_inner()
    }

    async fn list(&mut self, filter: &str) -> Vec<pb::Initiative> {
        let mut all = Vec::new();
        let mut token = String::new();
        loop {
            let page = self
                .client
                .list_initiatives(pb::ListInitiativesRequest {
                    page_size: 500,
                    page_token: token,
                    filter: filter.into(),
                })
                .await
                .unwrap_or_else(|e| panic!("list {filter:?}: {e:?}"))
                .into_inner();
            all.extend(page.initiatives);
            if page.next_page_token.is_empty() {
                return all;
            }
            token = page.next_page_token;
        }
    }

    async fn titles(&mut self, filter: &str) -> Vec<String> {
        let mut titles: Vec<String> = self
            .list(filter)
            .await
            .into_iter()
            .map(|i| i.titles[0].text.clone())
            .collect();
        titles.sort();
        titles
    }

    async fn move_stage(
        &mut self,
        name: &str,
        stage: pb::InitiativeStage,
        etag: &str,
    ) -> Result<pb::Initiative, Status> {
        self.client
            .move_initiative_stage(pb::MoveInitiativeStageRequest {
                name: name.into(),
                etag: etag.into(),
                stage: stage as i32,
                actor: "Lab director".into(),
                note: format!("to {}", stage.as_str_name()),
            })
            .await
            .map(tonic::Response::into_inner)
    }

    async fn change_status(
        &mut self,
        name: &str,
        status: pb::InitiativeStatus,
    ) -> Result<pb::Initiative, Status> {
        self.client
            .change_initiative_status(pb::ChangeInitiativeStatusRequest {
                name: name.into(),
                etag: String::new(),
                status: status as i32,
                actor: "Steering board".into(),
                note: format!("to {}", status.as_str_name()),
            })
            .await
            .map(tonic::Response::into_inner)
    }
}

fn text(language: &str, text: &str) -> pb::LocalizedText {
    pb::LocalizedText {
        language_code: language.into(),
        text: text.into(),
    }
}

fn date(year: i32, month: i32, day: i32) -> Option<Date> {
    Some(Date { year, month, day })
}

/// The field paths of an INVALID_ARGUMENT, sorted.
fn violations(status: &Status) -> Vec<String> {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let bad = status
        .get_details_bad_request()
        .expect("BadRequest details");
    let mut fields: Vec<String> = bad.field_violations.into_iter().map(|v| v.field).collect();
    fields.sort();
    fields.dedup();
    fields
}

fn reason(status: &Status) -> String {
    status.get_details_error_info().expect("ErrorInfo").reason
}

fn full(world: &World) -> pb::Initiative {
    pb::Initiative {
        titles: vec![
            text("ro", "Ghișeul digital"),
            text("en", "Digital one-stop shop"),
        ],
        summaries: vec![
            text("ro", "Servicii publice online"),
            text("en", "Online services"),
        ],
        problem: "Citizens queue for certificates.".into(),
        objectives: "Issue certificates online.".into(),
        solution: "A single digital counter.".into(),
        lead_organization: world.ministry.clone(),
        partners: vec![pb::Partner {
            organization: world.university.clone(),
            role: pb::PartnerRole::Implementing as i32,
        }],
        country_code: "ro".into(),
        nuts_code: "RO321".into(),
        government_level: pb::GovernmentLevel::Central as i32,
        sector: pb::GovernmentFunction::GeneralPublicServices as i32,
        start_date: date(2024, 3, 1),
        end_date: date(2026, 2, 28),
        tags: vec!["Digital-Identity".into(), "e-government".into()],
        sdgs: vec![16, 9],
        principles: vec![
            pb::DeclarationPrinciple::DiffuseLessons as i32,
            pb::DeclarationPrinciple::EmbraceInnovation as i32,
        ],
        facet: pb::InnovationFacet::EnhancementOriented as i32,
        results: "40% fewer visits.".into(),
        lessons_learned: "Start with one certificate.".into(),
        links: vec!["https://example.gov.ro/ghiseul".into()],
        recognition: vec!["OPSI case study 2025".into()],
        milestones: vec![pb::Milestone {
            title: "Pilot in Cluj".into(),
            due_date: date(2024, 9, 1),
            done_date: date(2024, 8, 20),
        }],
        ..Default::default()
    }
}

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
    assert_eq!(created.milestones[0].done_date, date(2024, 8, 20));
    assert_eq!(created.etag, "r1");
    assert_eq!(created.timeline.len(), 1);
    assert_eq!(created.timeline[0].actor, "Ana Popescu");
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
        start_date: date(2025, 1, 1),
        end_date: date(2024, 12, 31),
        tags: vec![String::new()],
        sdgs: vec![0, 18],
        principles: vec![0],
        links: vec!["ftp://example.org".into(), "not a uri".into()],
        recognition: vec![String::new()],
        milestones: vec![pb::Milestone {
            title: String::new(),
            due_date: date(2024, 2, 30),
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
    dates.start_date = date(2025, 1, 2);
    dates.end_date = date(2025, 1, 1);
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
    assert_eq!(err.code(), Code::Aborted);
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
    assert_eq!(err.code(), Code::FailedPrecondition);
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
    assert_eq!(last.actor, "Lab director");
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
    assert_eq!(err.code(), Code::FailedPrecondition);
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
    assert_eq!(err.code(), Code::FailedPrecondition);
    let moved = w
        .move_stage(&late.name, pb::InitiativeStage::DiffusingLessons, "")
        .await
        .unwrap();
    assert_eq!(moved.stage, pb::InitiativeStage::DiffusingLessons as i32);
    assert_eq!(moved.timeline.len(), 3);
    assert_eq!(moved.timeline[1].to_status, St::Discontinued as i32);
    assert_eq!(moved.timeline[1].actor, "Steering board");
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
    assert_eq!(err.code(), Code::Aborted);
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
    assert_eq!(err.code(), Code::NotFound);
    let err = w
        .move_stage(unknown, pb::InitiativeStage::GeneratingIdeas, "")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = w
        .change_status(unknown, pb::InitiativeStatus::Pilot)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
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
    assert_eq!(err.code(), Code::NotFound);
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

/// Four initiatives that differ in every filterable field.
async fn portfolio(w: &mut World) {
    let mut a = full(w);
    a.titles = vec![text("ro", "Alfa")];
    a.summaries = vec![];
    w.create(a).await;
    let mut b = w.initiative("Beta");
    b.country_code = "FI".into();
    b.nuts_code = "FI1B".into();
    b.lead_organization = w.university.clone();
    b.government_level = pb::GovernmentLevel::Local as i32;
    b.sector = pb::GovernmentFunction::Education as i32;
    b.facet = pb::InnovationFacet::Anticipatory as i32;
    b.tags = vec!["foresight".into()];
    b.sdgs = vec![4, 16];
    b.principles = vec![pb::DeclarationPrinciple::SupportExploration as i32];
    b.stage = pb::InitiativeStage::ImplementingProjects as i32;
    w.create(b).await;
    let mut c = w.initiative("Gamma");
    c.facet = pb::InnovationFacet::MissionOriented as i32;
    c.stage = pb::InitiativeStage::ImplementingProjects as i32;
    c.status = pb::InitiativeStatus::Pilot as i32;
    c.sdgs = vec![4];
    c.partners = vec![pb::Partner {
        organization: w.university.clone(),
        role: pb::PartnerRole::Funding as i32,
    }];
    w.create(c).await;
    let mut d = w.initiative("Delta");
    d.country_code = "SE".into();
    d.titles = vec![text("sv", "Delta")];
    d.tags = vec!["foresight".into(), "e-government".into()];
    w.create(d).await;
}

async fn list_filters_by_every_field(backend: Backend) {
    let mut w = World::new(backend).await;
    portfolio(&mut w).await;
    let ministry = w.ministry.clone();
    let university = w.university.clone();
    let cases: Vec<(String, Vec<&str>)> = vec![
        ("".into(), vec!["Alfa", "Beta", "Delta", "Gamma"]),
        ("country_code = \"RO\"".into(), vec!["Alfa", "Gamma"]),
        ("country_code = \"ro\"".into(), vec!["Alfa", "Gamma"]),
        (
            "(country_code = \"FI\" OR country_code = \"SE\")".into(),
            vec!["Beta", "Delta"],
        ),
        ("nuts_code = \"FI1B\"".into(), vec!["Beta"]),
        (
            "stage = IMPLEMENTING_PROJECTS".into(),
            vec!["Beta", "Gamma"],
        ),
        (
            "country_code = \"RO\" AND stage = IMPLEMENTING_PROJECTS".into(),
            vec!["Gamma"],
        ),
        ("status = PILOT".into(), vec!["Gamma"]),
        ("facet = ANTICIPATORY".into(), vec!["Beta"]),
        ("government_level = LOCAL".into(), vec!["Beta"]),
        ("sector = GENERAL_PUBLIC_SERVICES".into(), vec!["Alfa"]),
        (
            format!("lead_organization = \"{university}\""),
            vec!["Beta"],
        ),
        (
            format!("lead_organization = \"{ministry}\""),
            vec!["Alfa", "Delta", "Gamma"],
        ),
        (format!("partner = \"{university}\""), vec!["Alfa", "Gamma"]),
        ("tag = \"foresight\"".into(), vec!["Beta", "Delta"]),
        ("tag = \"E-Government\"".into(), vec!["Alfa", "Delta"]),
        ("sdg = 4".into(), vec!["Beta", "Gamma"]),
        ("sdg = 16 AND tag = \"foresight\"".into(), vec!["Beta"]),
        ("principle = SUPPORT_EXPLORATION".into(), vec!["Beta"]),
        ("principle = DIFFUSE_LESSONS".into(), vec!["Alfa"]),
        ("language = \"sv\"".into(), vec!["Delta"]),
        ("language = \"SV\"".into(), vec!["Delta"]),
        ("nuts_code = \"fi1b\"".into(), vec!["Beta"]),
        ("language = \"ro\"".into(), vec!["Alfa"]),
    ];
    for (filter, expected) in cases {
        assert_eq!(w.titles(&filter).await, expected, "{filter}");
    }
    w.stop().await;
}

async fn free_text_search_folds_case_and_romanian_diacritics(backend: Backend) {
    let mut w = World::new(backend).await;
    let mut ro = w.initiative("x");
    ro.titles = vec![text("ro", "Ghișeul digital pentru cetățeni")];
    ro.summaries = vec![text("ro", "Şcoala de inovaţie")];
    w.create(ro).await;
    let mut sv = w.initiative("y");
    sv.titles = vec![text("sv", "Öppna data för kommuner")];
    w.create(sv).await;
    for (query, hits) in [
        ("ghişeul", 1), // cedilla finds comma-below
        ("GHIȘEUL", 1), // case
        ("școala", 1),  // comma-below finds cedilla
        ("inovație", 1),
        ("\"digital pentru\"", 1),
        ("öppna", 1),
        ("oppna", 0), // Nordic letters are not stripped
        ("digital cetățeni", 1),
        ("digital kommuner", 0),
        ("\"100%\"", 0),
    ] {
        assert_eq!(w.list(query).await.len(), hits, "{query}");
    }
    assert_eq!(w.list("country_code = \"RO\" ghișeul").await.len(), 1);
    w.stop().await;
}

async fn pagination_walks_every_page_once(backend: Backend) {
    let mut w = World::new(backend).await;
    let mut created = Vec::new();
    for n in 0..7 {
        let mut i = w.initiative(&format!("Page {n}"));
        if n % 2 == 0 {
            i.tags = vec!["even".into()];
        }
        created.push(w.create(i).await.name);
    }
    for (filter, expected) in [
        ("", created.clone()),
        (
            "tag = \"even\"",
            created.iter().step_by(2).cloned().collect(),
        ),
    ] {
        let mut seen = Vec::new();
        let mut token = String::new();
        let mut pages = 0;
        loop {
            let page = w
                .client
                .list_initiatives(pb::ListInitiativesRequest {
                    page_size: 2,
                    page_token: token.clone(),
                    filter: filter.into(),
                })
                .await
                .unwrap()
                .into_inner();
            pages += 1;
            assert!(page.initiatives.len() <= 2);
            seen.extend(page.initiatives.into_iter().map(|i| i.name));
            if page.next_page_token.is_empty() {
                break;
            }
            token = page.next_page_token;
        }
        assert_eq!(seen, expected, "{filter}");
        assert_eq!(pages, expected.len().div_ceil(2), "{filter}");
    }
    w.stop().await;
}

async fn bad_filters_and_page_sizes_are_invalid(backend: Backend) {
    let mut w = World::new(backend).await;
    for filter in [
        "colour = \"red\"",
        "stage = FLYING",
        "sdg = 18",
        "sdg = x",
        "country_code = \"XX\"",
        "lead_organization = \"people/1\"",
        "country_code != \"RO\"",
        "stage = GENERATING_IDEAS AND stage = DIFFUSING_LESSONS",
        "(stage = A",
        "language = \"not a tag\"",
    ] {
        let err = w
            .client
            .list_initiatives(pb::ListInitiativesRequest {
                filter: filter.into(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(violations(&err), vec!["filter"], "{filter}");
        let err = w
            .client
            .get_portfolio_summary(pb::GetPortfolioSummaryRequest {
                filter: filter.into(),
            })
            .await
            .unwrap_err();
        assert_eq!(violations(&err), vec!["filter"], "{filter}");
    }
    let err = w
        .client
        .list_initiatives(pb::ListInitiativesRequest {
            page_size: -1,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violations(&err), vec!["page_size"]);
    let err = w
        .client
        .list_initiatives(pb::ListInitiativesRequest {
            page_token: "forged".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violations(&err), vec!["page_token"]);
    w.stop().await;
}

fn counts(list: &[pb::PortfolioCount]) -> Vec<(&str, i64)> {
    list.iter().map(|c| (c.value.as_str(), c.count)).collect()
}

async fn portfolio_summary_counts_by_dimension(backend: Backend) {
    let mut w = World::new(backend).await;
    let empty = w
        .client
        .get_portfolio_summary(pb::GetPortfolioSummaryRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(empty.total, 0);
    assert!(empty.by_stage.is_empty());
    portfolio(&mut w).await;
    let all = w
        .client
        .get_portfolio_summary(pb::GetPortfolioSummaryRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(all.total, 4);
    assert_eq!(
        counts(&all.by_stage),
        vec![("IDENTIFYING_PROBLEMS", 2), ("IMPLEMENTING_PROJECTS", 2)]
    );
    assert_eq!(
        counts(&all.by_facet),
        vec![
            ("ENHANCEMENT_ORIENTED", 1),
            ("MISSION_ORIENTED", 1),
            ("ANTICIPATORY", 1),
            ("UNSPECIFIED", 1)
        ]
    );
    assert_eq!(
        counts(&all.by_status),
        vec![("IN_DEVELOPMENT", 3), ("PILOT", 1)]
    );
    assert_eq!(
        counts(&all.by_principle),
        vec![
            ("EMBRACE_INNOVATION", 1),
            ("SUPPORT_EXPLORATION", 1),
            ("DIFFUSE_LESSONS", 1)
        ]
    );
    assert_eq!(
        counts(&all.by_country),
        vec![("FI", 1), ("RO", 2), ("SE", 1)]
    );
    assert_eq!(counts(&all.by_sdg), vec![("4", 2), ("9", 1), ("16", 2)]);
    let ro = w
        .client
        .get_portfolio_summary(pb::GetPortfolioSummaryRequest {
            filter: "country_code = \"RO\"".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ro.total, 2);
    assert_eq!(counts(&ro.by_country), vec![("RO", 2)]);
    assert_eq!(counts(&ro.by_sdg), vec![("4", 1), ("9", 1), ("16", 1)]);
    assert_eq!(
        counts(&ro.by_stage),
        vec![("IDENTIFYING_PROBLEMS", 1), ("IMPLEMENTING_PROJECTS", 1)]
    );
    let text = w
        .client
        .get_portfolio_summary(pb::GetPortfolioSummaryRequest {
            filter: "alfa".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(text.total, 1);

    // The whole-library summary is kept by every write; it always agrees with
    // counting the rows (a filter matching everything takes that path).
    let every_status = "(status = IN_DEVELOPMENT OR status = PILOT OR status = IMPLEMENTED \
        OR status = PAUSED OR status = DISCONTINUED OR status = NOT_IN_USE_ANYMORE)";
    let beta = w.list("facet = ANTICIPATORY").await.remove(0);
    w.client
        .update_initiative(pb::UpdateInitiativeRequest {
            initiative: Some(pb::Initiative {
                name: beta.name.clone(),
                sdgs: vec![1, 2, 3],
                facet: pb::InnovationFacet::Adaptive as i32,
                country_code: "DK".into(),
                principles: vec![],
                ..Default::default()
            }),
            update_mask: mask(&["sdgs", "facet", "country_code", "principles", "nuts_code"]),
        })
        .await
        .unwrap();
    w.move_stage(&beta.name, pb::InitiativeStage::EvaluatingProjects, "")
        .await
        .unwrap();
    w.change_status(&beta.name, pb::InitiativeStatus::Pilot)
        .await
        .unwrap();
    // A rejected update changes nothing.
    w.client
        .update_initiative(pb::UpdateInitiativeRequest {
            initiative: Some(pb::Initiative {
                name: beta.name.clone(),
                etag: "r1".into(),
                sdgs: vec![17],
                ..Default::default()
            }),
            update_mask: mask(&["sdgs"]),
        })
        .await
        .unwrap_err();
    w.import("summary-import", vec![w.initiative("Imported")])
        .await
        .unwrap();
    let call = create_call(&mut w, date(2020, 1, 1), date(2999, 1, 1)).await;
    let mut draft = w.initiative("Accepted");
    draft.sdgs = vec![5];
    let sub = w.submit(&call.name, draft).await.unwrap();
    screen(
        &mut w,
        &sub.name,
        "",
        screening(pb::ScreeningDecision::Accept, true),
    )
    .await
    .unwrap();
    let summary = |filter: &str| pb::GetPortfolioSummaryRequest {
        filter: filter.into(),
    };
    let kept = w
        .client
        .get_portfolio_summary(summary(""))
        .await
        .unwrap()
        .into_inner();
    let counted = w
        .client
        .get_portfolio_summary(summary(every_status))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(kept, counted);
    assert_eq!(kept.total, 6);
    assert_eq!(
        counts(&kept.by_sdg),
        vec![
            ("1", 1),
            ("2", 1),
            ("3", 1),
            ("4", 1),
            ("5", 1),
            ("9", 1),
            ("16", 1)
        ]
    );
    assert_eq!(
        counts(&kept.by_country),
        vec![("DK", 1), ("RO", 4), ("SE", 1)]
    );
    w.stop().await;
}

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
        .expect("create challenge")
        .into_inner()
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
    assert_eq!(err.code(), Code::Aborted);
    let err = w.client.update_challenge(update("", "")).await.unwrap_err();
    assert_eq!(violations(&err), vec!["challenge.title"]);
    let err = w
        .client
        .get_challenge(pb::GetChallengeRequest {
            name: "challenges/0190b7c0-0000-7000-8000-000000000000".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    w.stop().await;
}

async fn create_call(w: &mut World, open: Option<Date>, close: Option<Date>) -> pb::InnovationCall {
    w.client
        .create_innovation_call(pb::CreateInnovationCallRequest {
            call: Some(pb::InnovationCall {
                title: "Call for Innovations".into(),
                description: "Public sector innovations of the year.".into(),
                open_date: open,
                close_date: close,
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .expect("create call")
        .into_inner()
}

impl World {
    async fn submit(
        &mut self,
        call: &str,
        initiative: pb::Initiative,
    ) -> Result<pb::Submission, Status> {
        self.client
            .create_submission(pb::CreateSubmissionRequest {
                parent: call.into(),
                submission: Some(pb::Submission {
                    initiative: Some(initiative),
                    submitted_by: "Ana Popescu".into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .map(tonic::Response::into_inner)
    }
}

fn screening(decision: pb::ScreeningDecision, all_met: bool) -> pb::Screening {
    pb::Screening {
        public_sector_involved: true,
        novel_to_organization: true,
        implemented_or_piloted: all_met,
        public_impact: true,
        decision: decision as i32,
        decided_by: "OPSI screening panel".into(),
        note: "screened".into(),
        decide_time: None,
    }
}

async fn screen(
    w: &mut World,
    name: &str,
    etag: &str,
    s: pb::Screening,
) -> Result<pb::Submission, Status> {
    w.client
        .screen_submission(pb::ScreenSubmissionRequest {
            name: name.into(),
            etag: etag.into(),
            screening: Some(s),
        })
        .await
        .map(tonic::Response::into_inner)
}

async fn accepted_submission_enters_the_case_library(backend: Backend) {
    let mut w = World::new(backend).await;
    let call = create_call(&mut w, date(2020, 1, 1), date(2999, 12, 31)).await;
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
    assert_eq!(s.decided_by, "OPSI screening panel");
    assert!(s.decide_time.is_some());
    assert!(accepted.accepted_initiative.starts_with("initiatives/"));
    let initiative = w.get(&accepted.accepted_initiative).await;
    assert_eq!(initiative.titles, sub.initiative.as_ref().unwrap().titles);
    assert_eq!(
        initiative.stage,
        pb::InitiativeStage::EvaluatingProjects as i32
    );
    assert_eq!(initiative.timeline[0].actor, "OPSI screening panel");
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
    assert_eq!(err.code(), Code::FailedPrecondition);
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
    let closed = create_call(&mut w, date(2020, 1, 1), date(2020, 12, 31)).await;
    let err = w
        .submit(&closed.name, w.initiative("Too late"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    assert_eq!(reason(&err), "CALL_NOT_OPEN");
    let future = create_call(&mut w, date(2999, 1, 1), date(2999, 12, 31)).await;
    let err = w
        .submit(&future.name, w.initiative("Too early"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
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
    let call = create_call(&mut w, date(2020, 1, 1), date(2020, 12, 31)).await;
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
            update_mask: Some(FieldMask {
                paths: paths.iter().map(|p| p.to_string()).collect(),
            }),
        };
    // Extending the close date reopens the call; only masked fields change.
    let extended = w
        .client
        .update_innovation_call(update(&call.etag, date(2999, 12, 31), &["close_date"]))
        .await
        .expect("extend")
        .into_inner();
    assert_eq!(extended.close_date, date(2999, 12, 31));
    assert_eq!(extended.open_date, call.open_date);
    assert_eq!(extended.title, call.title);
    assert_ne!(extended.etag, call.etag);
    assert_ne!(extended.update_time, call.update_time);
    let submitted = w.submit(&call.name, w.initiative("In time")).await.unwrap();
    // The stale etag is refused and changes nothing.
    let err = w
        .client
        .update_innovation_call(update(&call.etag, date(2020, 6, 30), &["close_date"]))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Aborted, "{err:?}");
    // Closing it again refuses later submissions and keeps the earlier one.
    let closed = w
        .client
        .update_innovation_call(update(&extended.etag, date(2020, 6, 30), &["close_date"]))
        .await
        .expect("close")
        .into_inner();
    assert_eq!(closed.close_date, date(2020, 6, 30));
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
            update("", date(2019, 12, 31), &["close_date"]),
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
    assert_eq!(err.code(), Code::NotFound);
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
                open_date: date(2026, 5, 1),
                close_date: date(2026, 4, 30),
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
    let call = create_call(&mut w, date(2020, 1, 1), date(2999, 12, 31)).await;
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
    assert_eq!(err.code(), Code::NotFound);
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
            submitted_by: "Ana".into(),
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
    assert_eq!(err.code(), Code::Aborted);
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
    assert_eq!(err.code(), Code::NotFound);
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

impl World {
    async fn import(
        &mut self,
        request_id: &str,
        rows: Vec<pb::Initiative>,
    ) -> Result<pb::ImportInitiativesResponse, Status> {
        self.client
            .import_initiatives(tokio_stream::iter(import_messages(request_id, rows)))
            .await
            .map(tonic::Response::into_inner)
    }

    /// Five rows: 1 and 5 good, 2 bad country, 3 unknown partner, 4 unknown challenge.
    fn register(&self) -> Vec<pb::Initiative> {
        let mut bad_country = self.initiative("Row 2");
        bad_country.country_code = "XX".into();
        let mut unknown_partner = self.initiative("Row 3");
        unknown_partner.partners = vec![pb::Partner {
            organization: "organizations/ghost".into(),
            role: pb::PartnerRole::Funding as i32,
        }];
        let mut unknown_challenge = self.initiative("Row 4");
        unknown_challenge.challenges = vec!["challenges/ghost".into()];
        let mut good = self.initiative("Row 5");
        good.stage = pb::InitiativeStage::DiffusingLessons as i32;
        vec![
            self.initiative("Row 1"),
            bad_country,
            unknown_partner,
            unknown_challenge,
            good,
        ]
    }
}

fn row_errors(response: &pb::ImportInitiativesResponse) -> Vec<(i64, Vec<String>)> {
    response
        .errors
        .iter()
        .map(|e| {
            (
                e.position,
                e.violations.iter().map(|v| v.field.clone()).collect(),
            )
        })
        .collect()
}

async fn bulk_import_reports_bad_rows_and_stores_good_ones(backend: Backend) {
    let mut w = World::new(backend).await;
    let rows = w.register();
    let response = w.import("register-2026", rows).await.unwrap();
    assert_eq!(response.received, 5);
    assert_eq!(response.imported, 2);
    assert_eq!(response.already_imported, 0);
    assert_eq!(
        row_errors(&response),
        vec![
            (2, vec!["initiative.country_code".to_string()]),
            (3, vec!["initiative.partners[0].organization".to_string()]),
            (4, vec!["initiative.challenges[0]".to_string()]),
        ]
    );
    assert!(response.errors[0].message.contains("XX"));
    let positions: Vec<i64> = response.rows.iter().map(|r| r.position).collect();
    assert_eq!(positions, vec![1, 5]);
    assert_eq!(w.titles("").await, vec!["Row 1", "Row 5"]);
    let row5 = w.get(&response.rows[1].initiative).await;
    assert_eq!(row5.stage, pb::InitiativeStage::DiffusingLessons as i32);
    assert_eq!(row5.timeline[0].actor, "Register loader");
    assert_eq!(row5.timeline[0].note, "imported (row 5)");
    assert_eq!(w.list("stage = DIFFUSING_LESSONS").await.len(), 1);
    // Without a request_id it works too; a differing request_id in a later row is that row's error.
    let response = w.import("", vec![w.initiative("No key")]).await.unwrap();
    assert_eq!(response.imported, 1);
    let messages = vec![
        pb::ImportInitiativesRequest {
            request_id: "a".into(),
            initiative: Some(w.initiative("Key a")),
            actor: String::new(),
        },
        pb::ImportInitiativesRequest {
            request_id: "b".into(),
            initiative: Some(w.initiative("Key b")),
            actor: String::new(),
        },
        pb::ImportInitiativesRequest {
            request_id: String::new(),
            initiative: None,
            actor: String::new(),
        },
    ];
    let response = w
        .client
        .import_initiatives(tokio_stream::iter(messages))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(response.imported, 1);
    assert_eq!(
        row_errors(&response),
        vec![
            (2, vec!["request_id".to_string()]),
            (3, vec!["initiative".to_string()])
        ]
    );
    // A bad request_id on the first message refuses the whole import.
    let err = w
        .import("has spaces", vec![w.initiative("x")])
        .await
        .unwrap_err();
    assert_eq!(violations(&err), vec!["request_id"]);
    assert_eq!(w.list("").await.len(), 4);
    w.stop().await;
}

async fn retried_import_stores_nothing_twice(backend: Backend) {
    let mut w = World::new(backend).await;
    let first = w.import("register-retry", w.register()).await.unwrap();
    let again = w.import("register-retry", w.register()).await.unwrap();
    assert_eq!(again.imported, 0);
    assert_eq!(again.already_imported, 2);
    assert_eq!(row_errors(&again), row_errors(&first));
    let names = |r: &pb::ImportInitiativesResponse| -> Vec<String> {
        r.rows.iter().map(|r| r.initiative.clone()).collect()
    };
    assert_eq!(names(&again), names(&first));
    assert!(again.rows.iter().all(|r| r.already_imported));
    assert_eq!(w.list("").await.len(), 2);
    // The retry of an import that was cut short completes it.
    let mut longer = w.register();
    longer.push(w.initiative("Row 6"));
    let completed = w.import("register-retry", longer).await.unwrap();
    assert_eq!(completed.imported, 1);
    assert_eq!(completed.already_imported, 2);
    assert_eq!(w.list("").await.len(), 3);
    // Another request_id is another import.
    let other = w.import("register-other", w.register()).await.unwrap();
    assert_eq!(other.imported, 2);
    assert_eq!(w.list("").await.len(), 5);
    w.stop().await;
}

/// Two copies of one import (same request_id) sent at once, as a client that
/// retries without waiting might: each row is stored once, and both answers
/// name the same initiative for it.
async fn concurrent_retries_of_an_import_store_each_row_once(backend: Backend) {
    let w = World::new(backend).await;
    let rows: Vec<pb::Initiative> = (0..2500)
        .map(|n| w.initiative(&format!("Twice {n}")))
        .collect();
    let (mut a, mut b) = (w.client.clone(), w.client.clone());
    let (first, second) = tokio::join!(
        a.import_initiatives(tokio_stream::iter(import_messages("twice", rows.clone()))),
        b.import_initiatives(tokio_stream::iter(import_messages("twice", rows)))
    );
    let (first, second) = (first.unwrap().into_inner(), second.unwrap().into_inner());
    assert_eq!(first.imported + second.imported, 2500, "{first:?}");
    assert_eq!(first.already_imported + second.already_imported, 2500);
    let names = |r: &pb::ImportInitiativesResponse| -> Vec<String> {
        r.rows.iter().map(|r| r.initiative.clone()).collect()
    };
    assert_eq!(names(&first), names(&second));
    let summary = w
        .client
        .clone()
        .get_portfolio_summary(pb::GetPortfolioSummaryRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(summary.total, 2500);
    w.stop().await;
}

async fn large_import_spans_batches(backend: Backend) {
    let mut w = World::new(backend).await;
    let rows: Vec<pb::Initiative> = (0..2500)
        .map(|n| {
            let mut i = w.initiative(&format!("Bulk {n}"));
            i.sdgs = vec![n % 17 + 1];
            i.tags = vec![format!("t{}", n % 3)];
            if n % 500 == 7 {
                i.country_code = "XX".into();
            }
            i
        })
        .collect();
    let response = w.import("bulk", rows.clone()).await.unwrap();
    assert_eq!(response.received, 2500);
    assert_eq!(response.imported, 2495);
    assert_eq!(
        response
            .errors
            .iter()
            .map(|e| e.position)
            .collect::<Vec<_>>(),
        vec![8, 508, 1008, 1508, 2008]
    );
    let summary = w
        .client
        .get_portfolio_summary(pb::GetPortfolioSummaryRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(summary.total, 2495);
    assert_eq!(summary.by_sdg.iter().map(|c| c.count).sum::<i64>(), 2495);
    // 833 rows have tag t1; two of them (7 and 1507) were refused.
    assert_eq!(w.list("tag = \"t1\"").await.len(), 831);
    let again = w.import("bulk", rows).await.unwrap();
    assert_eq!(again.imported, 0);
    assert_eq!(again.already_imported, 2495);
    w.stop().await;
}

async fn import_with_membership_unreachable_is_unavailable(backend: Backend) {
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let initiatives = TestServer::initiatives(&backend, &format!("http://{closed}")).await;
    let mut client = InitiativesServiceClient::new(initiatives.channel().await);
    let message = pb::ImportInitiativesRequest {
        request_id: "k".into(),
        initiative: Some(pb::Initiative {
            titles: vec![text("en", "Orphan")],
            lead_organization: "organizations/abc".into(),
            country_code: "RO".into(),
            ..Default::default()
        }),
        actor: String::new(),
    };
    let err = client
        .import_initiatives(tokio_stream::iter(vec![message]))
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

async fn export_streams_every_match_and_writes_files(backend: Backend) {
    use tokio_stream::StreamExt;
    let mut w = World::new(backend).await;
    portfolio(&mut w).await;
    let mut quoted = w.initiative("Quoted");
    quoted.problem = "Commas, \"quotes\"\nand lines".into();
    quoted.links = vec!["https://example.org/a;b,c".into()];
    w.create(quoted).await;
    let export = |filter: &str| pb::ExportInitiativesRequest {
        filter: filter.into(),
    };
    let mut stream = w
        .client
        .export_initiatives(export(""))
        .await
        .unwrap()
        .into_inner();
    let mut exported = Vec::new();
    while let Some(item) = stream.next().await {
        exported.push(item.unwrap().initiative.unwrap());
    }
    assert_eq!(exported, w.list("").await);
    let mut stream = w
        .client
        .export_initiatives(export("sdg = 4"))
        .await
        .unwrap()
        .into_inner();
    let mut count = 0;
    while let Some(item) = stream.next().await {
        item.unwrap();
        count += 1;
    }
    assert_eq!(count, 2);
    let err = w
        .client
        .export_initiatives(export("colour = \"x\""))
        .await
        .unwrap_err();
    assert_eq!(violations(&err), vec!["filter"]);

    // The `export` command's files: one record per initiative.
    let dir = tempfile::tempdir().unwrap();
    let settings = innolab_kit::config::Settings::new(w.initiatives.db.settings.clone());
    let written = innolab_initiatives::export(&settings, "", dir.path())
        .await
        .unwrap();
    assert_eq!(written, 5);
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("initiatives.json")).unwrap(),
    )
    .unwrap();
    let records = json.as_array().unwrap();
    assert_eq!(records.len(), 5);
    let names: Vec<&str> = records
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    let listed: Vec<String> = exported.iter().map(|i| i.name.clone()).collect();
    assert_eq!(names, listed);
    let alfa = &records[0];
    assert_eq!(alfa["country_code"], "RO");
    assert_eq!(alfa["sdgs"], serde_json::json!([9, 16]));
    assert_eq!(alfa["partners"][0]["role"], "IMPLEMENTING");
    assert_eq!(alfa["titles"][0]["language_code"], "ro");
    assert_eq!(alfa["stage"], "IDENTIFYING_PROBLEMS");
    let csv = std::fs::read_to_string(dir.path().join("initiatives.csv")).unwrap();
    assert!(csv.starts_with("name,titles,summaries,problem,"));
    assert!(csv.contains("\"Commas, \"\"quotes\"\"\nand lines\""));
    // 1 header + 5 records, one of which spans two physical lines.
    assert_eq!(csv.matches("\r\n").count(), 6);
    let filtered = innolab_initiatives::export(&settings, "country_code = \"SE\"", dir.path())
        .await
        .unwrap();
    assert_eq!(filtered, 1);
    w.stop().await;
}
