//! The gateway's compositions over the four real services: the initiative
//! dossier, the organisation profile and the portfolio overview, whole and
//! with a service down.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use innolab_tests::assert::{Outcome, date};

use innolab_proto::innolab::gateway::v1 as gw;
use innolab_proto::innolab::guidance::v1 as gd;
use innolab_proto::innolab::impact::v1 as im;
use innolab_proto::innolab::initiatives::v1 as ini;
use innolab_proto::innolab::membership::v1 as mb;
use innolab_tests::fixtures::{organization, publish};
use innolab_tests::{Backend, Suite, on_both_backends};
use tonic::Code;
use tonic::transport::Channel;
use tonic_types::StatusExt;

type Gateway = gw::gateway_service_client::GatewayServiceClient<Channel>;

/// What the scenario stored, by resource name.
struct World {
    ministry: String,
    university: String,
    person: String,
    membership: String,
    post: String,
    challenge: String,
    initiative: String,
    related_doc: String,
    stage_doc: String,
    draft_doc: String,
    assessment: String,
    capacity: String,
}

async fn document(
    client: &mut gd::guidance_service_client::GuidanceServiceClient<Channel>,
    title: &str,
    related: &[String],
    stages: &[gd::LifecycleStage],
    published: bool,
) -> String {
    let doc = client
        .create_document(gd::CreateDocumentRequest {
            document: Some(gd::Document {
                r#type: gd::DocumentType::Guide as i32,
                title: title.into(),
                license: "CC-BY-4.0".into(),
                related_initiatives: related.to_vec(),
                lifecycle_stages: stages.iter().map(|s| *s as i32).collect(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .accepted("CreateDocument");
    if published {
        publish(
            client,
            &doc.name,
            gd::Translation {
                language_code: "ro".into(),
                title: title.into(),
                summary: String::new(),
                body: "Pașii unei autorizații digitale.".into(),
                original: true,
            },
        )
        .await;
    }
    doc.name
}

fn score(score: i32) -> Option<im::CapacityScore> {
    Some(im::CapacityScore {
        score,
        evidence: format!("Evidence for {score}"),
    })
}

fn levels3(level: i32) -> Option<im::LevelScores> {
    Some(im::LevelScores {
        individual: score(level),
        organizational: score(level),
        system: score(level),
    })
}

/// Stores the scenario through the gateway: organisations, a person holding
/// a post, a membership, a challenge, an initiative moved one stage, guidance
/// (related, for its stage, and an unpublished draft), a completed assessment
/// with an indicator, and a capacity round.
async fn world(suite: &Suite) -> World {
    let channel = suite.channel().await;
    let mut members = mb::membership_service_client::MembershipServiceClient::new(channel.clone());
    let mut library =
        ini::initiatives_service_client::InitiativesServiceClient::new(channel.clone());
    let mut guides = gd::guidance_service_client::GuidanceServiceClient::new(channel.clone());
    let mut impact = im::impact_service_client::ImpactServiceClient::new(channel);

    let ministry = organization(&mut members, "Secretariatul General al Guvernului", "RO").await;
    let university = organization(&mut members, "Universitatea Babeș-Bolyai", "RO").await;
    let other = organization(&mut members, "Ministerul Finanțelor", "RO").await;
    let person = members
        .create_person(mb::CreatePersonRequest {
            person: Some(mb::Person {
                organization: ministry.clone(),
                display_name: "Ana Popescu".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .accepted("CreatePerson")
        .name;
    let outsider = members
        .create_person(mb::CreatePersonRequest {
            person: Some(mb::Person {
                organization: other.clone(),
                display_name: "Ion Ionescu".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .accepted("CreatePerson")
        .name;
    let network = members
        .create_group(mb::CreateGroupRequest {
            group: Some(mb::Group {
                display_name: "Rețeaua de inovare".into(),
                kind: mb::GroupKind::Network as i32,
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .accepted("CreateGroup")
        .name;
    let membership = members
        .create_membership(mb::CreateMembershipRequest {
            membership: Some(mb::Membership {
                group: network.clone(),
                member: ministry.clone(),
                role: mb::Role::Member as i32,
                ..Default::default()
            }),
            decided_by: "people/ana-popescu".into(),
            reason: "founding member".into(),
            request_id: String::new(),
        })
        .await
        .accepted("CreateMembership")
        .name;
    let mut posts = Vec::new();
    for (country, holder) in [("RO", &person), ("MD", &outsider)] {
        let post = members
            .create_post(mb::CreatePostRequest {
                post: Some(mb::Post {
                    group: network.clone(),
                    role: mb::Role::NationalContactPoint as i32,
                    country_code: country.into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .accepted("CreatePost")
            .name;
        members
            .assign_post_holder(mb::AssignPostHolderRequest {
                name: post.clone(),
                person: holder.clone(),
                decided_by: "groups/task-force".into(),
                ..Default::default()
            })
            .await
            .accepted("AssignPostHolder");
        posts.push(post);
    }

    let challenge = library
        .create_challenge(ini::CreateChallengeRequest {
            challenge: Some(ini::Challenge {
                title: "Building permits take 60 days".into(),
                raised_by: ministry.clone(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .accepted("CreateChallenge")
        .name;
    let initiative = library
        .create_initiative(ini::CreateInitiativeRequest {
            initiative: Some(ini::Initiative {
                titles: vec![ini::LocalizedText {
                    language_code: "ro".into(),
                    text: "Autorizații de construire digitale".into(),
                }],
                lead_organization: ministry.clone(),
                partners: vec![ini::Partner {
                    organization: university.clone(),
                    role: ini::PartnerRole::Implementing as i32,
                }],
                country_code: "RO".into(),
                stage: ini::InitiativeStage::DevelopingProposals as i32,
                challenges: vec![challenge.clone()],
                sdgs: vec![9, 16],
                ..Default::default()
            }),
            actor: "people/ana-popescu".into(),
            request_id: String::new(),
        })
        .await
        .accepted("CreateInitiative")
        .name;
    library
        .move_initiative_stage(ini::MoveInitiativeStageRequest {
            name: initiative.clone(),
            stage: ini::InitiativeStage::ImplementingProjects as i32,
            actor: "people/ana-popescu".into(),
            note: "pilot approved".into(),
            ..Default::default()
        })
        .await
        .accepted("MoveInitiativeStage");

    let related = std::slice::from_ref(&initiative);
    let related_doc = document(
        &mut guides,
        "Ghid: autorizații digitale",
        related,
        &[],
        true,
    )
    .await;
    let stage_doc = document(
        &mut guides,
        "Implementarea proiectelor pilot",
        &[],
        &[gd::LifecycleStage::ImplementingProjects],
        true,
    )
    .await;
    let draft_doc = document(&mut guides, "Ciornă", related, &[], false).await;
    // Guidance for another stage stays out of the dossier.
    document(
        &mut guides,
        "Identificarea problemelor",
        &[],
        &[gd::LifecycleStage::IdentifyingProblems],
        true,
    )
    .await;

    let assessment = impact
        .create_assessment(im::CreateAssessmentRequest {
            assessment: Some(im::Assessment {
                initiative: initiative.clone(),
                title: "Evaluarea pilotului".into(),
                nesta_level: 3,
                public_value_outcomes: vec![im::PublicValueOutcome::ImprovedPublicService as i32],
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .accepted("CreateAssessment")
        .name;
    impact
        .create_indicator(im::CreateIndicatorRequest {
            parent: assessment.clone(),
            indicator: Some(im::Indicator {
                title: "Days to a building permit".into(),
                result_type: im::ResultType::Outcome as i32,
                measure: "days".into(),
                direction: im::Direction::LowerIsBetter as i32,
                baseline: Some(im::Point {
                    value: 60.0,
                    date: Some(date(2024, 1, 1)),
                }),
                target: Some(im::Point {
                    value: 30.0,
                    date: Some(date(2025, 1, 1)),
                }),
                measurements: vec![im::Measurement {
                    date: Some(date(2025, 1, 1)),
                    value: 28.0,
                    source: "Permit register".into(),
                    note: String::new(),
                }],
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .accepted("CreateIndicator");
    let capacity = impact
        .create_capacity_assessment(im::CreateCapacityAssessmentRequest {
            capacity_assessment: Some(im::CapacityAssessment {
                subject: ministry.clone(),
                round: "2025".into(),
                assess_date: Some(date(2025, 6, 1)),
                purpose: levels3(2),
                potential: levels3(2),
                capacity: levels3(2),
                impact: levels3(1),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .accepted("CreateCapacityAssessment")
        .name;

    World {
        ministry,
        university,
        person,
        membership,
        post: posts.remove(0),
        challenge,
        initiative,
        related_doc,
        stage_doc,
        draft_doc,
        assessment,
        capacity,
    }
}

fn names<T>(items: &[T], name: impl Fn(&T) -> &str) -> Vec<String> {
    items.iter().map(|i| name(i).to_string()).collect()
}

async fn dossier_composes_every_service(backend: Backend) {
    let suite = Suite::start(&backend).await;
    let w = world(&suite).await;
    let mut gateway = Gateway::new(suite.channel().await);

    let mut request = tonic::Request::new(gw::GetInitiativeDossierRequest {
        name: w.initiative.clone(),
    });
    request
        .metadata_mut()
        .insert("x-request-id", "dossier-1".parse().unwrap());
    let response = gateway.get_initiative_dossier(request).await.unwrap();
    assert_eq!(
        response.metadata().get("x-request-id").unwrap(),
        "dossier-1"
    );
    let d = response.into_inner();
    assert!(d.missing_parts.is_empty(), "{:?}", d.missing_parts);
    let initiative = d.initiative.unwrap();
    assert_eq!(initiative.name, w.initiative);
    assert_eq!(initiative.timeline.len(), 2, "creation and the stage move");
    assert_eq!(d.lead_organization.unwrap().name, w.ministry);
    assert_eq!(
        names(&d.partner_organizations, |o| &o.name),
        [w.university.as_str()]
    );
    assert_eq!(names(&d.challenges, |c| &c.name), [w.challenge.as_str()]);
    assert_eq!(d.challenges[0].answered_by, [w.initiative.as_str()]);
    // Published guidance only: the draft related to it is left out.
    assert_eq!(
        names(&d.related_guidance, |g| &g.name),
        [w.related_doc.as_str()]
    );
    assert!(!names(&d.related_guidance, |g| &g.name).contains(&w.draft_doc));
    assert_eq!(
        names(&d.stage_guidance, |g| &g.name),
        [w.stage_doc.as_str()]
    );
    assert_eq!(d.assessments.len(), 1);
    let a = &d.assessments[0];
    assert_eq!(a.assessment.as_ref().unwrap().name, w.assessment);
    assert_eq!(a.indicators.len(), 1);
    let progress = a.indicators[0].progress.as_ref().unwrap();
    assert_eq!(progress.status, im::ProgressStatus::Achieved as i32);

    // Bad and unknown names.
    let status = gateway
        .get_initiative_dossier(gw::GetInitiativeDossierRequest {
            name: "challenges/x".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let bad = status.get_details_bad_request().unwrap();
    assert_eq!(bad.field_violations[0].field, "name");
    let status = gateway
        .get_initiative_dossier(gw::GetInitiativeDossierRequest {
            name: "initiatives/0000000000000000".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{status:?}");

    suite.stop().await;
}

async fn profile_gathers_an_organisation(backend: Backend) {
    let suite = Suite::start(&backend).await;
    let w = world(&suite).await;
    let mut gateway = Gateway::new(suite.channel().await);

    let p = gateway
        .get_organization_profile(gw::GetOrganizationProfileRequest {
            name: w.ministry.clone(),
        })
        .await
        .accepted("GetOrganizationProfile");
    assert!(p.missing_parts.is_empty(), "{:?}", p.missing_parts);
    assert_eq!(p.organization.unwrap().name, w.ministry);
    assert_eq!(names(&p.memberships, |m| &m.name), [w.membership.as_str()]);
    assert_eq!(
        names(&p.posts, |m| &m.name),
        [w.post.as_str()],
        "only posts its people hold"
    );
    assert_eq!(p.posts[0].holder, w.person);
    assert_eq!(
        names(&p.led_initiatives, |i| &i.name),
        [w.initiative.as_str()]
    );
    assert!(p.partner_initiatives.is_empty());
    assert_eq!(
        names(&p.capacity_assessments, |c| &c.name),
        [w.capacity.as_str()]
    );

    let partner = gateway
        .get_organization_profile(gw::GetOrganizationProfileRequest {
            name: w.university.clone(),
        })
        .await
        .accepted("GetOrganizationProfile");
    assert!(partner.led_initiatives.is_empty());
    assert_eq!(
        names(&partner.partner_initiatives, |i| &i.name),
        [w.initiative.as_str()]
    );
    assert!(partner.memberships.is_empty() && partner.posts.is_empty());

    let status = gateway
        .get_organization_profile(gw::GetOrganizationProfileRequest {
            name: "organizations/0000000000000000".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    suite.stop().await;
}

async fn overview_joins_counts_with_evidence(backend: Backend) {
    let suite = Suite::start(&backend).await;
    let w = world(&suite).await;
    let mut gateway = Gateway::new(suite.channel().await);
    let mut impact = im::impact_service_client::ImpactServiceClient::new(suite.channel().await);

    for filter in ["", "country_code = \"RO\" AND sdg = 9"] {
        let o = gateway
            .get_portfolio_overview(gw::GetPortfolioOverviewRequest {
                filter: filter.into(),
            })
            .await
            .accepted("GetPortfolioOverview");
        assert!(
            o.missing_parts.is_empty(),
            "{filter}: {:?}",
            o.missing_parts
        );
        assert_eq!(o.initiatives.unwrap().total, 1, "{filter}");
        let evidence = o.evidence.unwrap();
        assert_eq!(evidence.assessment_count, 1, "{filter}");
        assert_eq!(evidence.nesta_levels[3].count, 1, "{filter}");
        assert_eq!(evidence.indicator_progress.unwrap().achieved, 1, "{filter}");
    }

    // A filter matching nothing: zero counts, in the impact service's shape.
    let o = gateway
        .get_portfolio_overview(gw::GetPortfolioOverviewRequest {
            filter: "country_code = \"FI\"".into(),
        })
        .await
        .accepted("GetPortfolioOverview");
    assert_eq!(o.initiatives.unwrap().total, 0);
    let direct = impact
        .summarize_assessments(im::SummarizeAssessmentsRequest {
            filter: "initiative = \"initiatives/none\"".into(),
        })
        .await
        .accepted("SummarizeAssessments");
    assert_eq!(o.evidence.unwrap(), direct);

    let status = gateway
        .get_portfolio_overview(gw::GetPortfolioOverviewRequest {
            filter: "colour = \"red\"".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let _ = w;
    suite.stop().await;
}

async fn a_service_down_is_a_missing_part_not_a_failure(backend: Backend) {
    let mut suite = Suite::start(&backend).await;
    let w = world(&suite).await;
    suite.impact.take().unwrap().stop().await;
    let mut gateway = Gateway::new(suite.channel().await);

    let d = gateway
        .get_initiative_dossier(gw::GetInitiativeDossierRequest {
            name: w.initiative.clone(),
        })
        .await
        .accepted("GetInitiativeDossier with impact down");
    assert_eq!(d.missing_parts.len(), 1, "{:?}", d.missing_parts);
    let missing = &d.missing_parts[0];
    assert_eq!(
        (
            missing.part.as_str(),
            missing.service.as_str(),
            missing.code.as_str()
        ),
        ("assessments", "impact", "UNAVAILABLE")
    );
    assert!(d.assessments.is_empty());
    assert_eq!(
        d.lead_organization.unwrap().name,
        w.ministry,
        "the rest is whole"
    );
    assert_eq!(d.related_guidance.len(), 1);

    let p = gateway
        .get_organization_profile(gw::GetOrganizationProfileRequest {
            name: w.ministry.clone(),
        })
        .await
        .accepted("GetOrganizationProfile with impact down");
    assert_eq!(
        names(&p.missing_parts, |m| &m.part),
        ["capacity_assessments"]
    );
    assert_eq!(p.led_initiatives.len(), 1);

    let o = gateway
        .get_portfolio_overview(gw::GetPortfolioOverviewRequest {
            filter: String::new(),
        })
        .await
        .accepted("GetPortfolioOverview with impact down");
    assert_eq!(names(&o.missing_parts, |m| &m.part), ["evidence"]);
    assert!(o.evidence.is_none());
    assert_eq!(o.initiatives.unwrap().total, 1);
    suite.stop().await;
}

on_both_backends!(
    dossier_composes_every_service,
    profile_gathers_an_organisation,
    overview_joins_counts_with_evidence,
    a_service_down_is_a_missing_part_not_a_failure,
);
