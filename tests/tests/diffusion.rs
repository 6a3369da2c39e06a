//! Where a case spread, through the gateway over the four real services: a
//! Romanian case adapted in Finland, scaled from there in Sweden, adopted
//! again in Romania (a branch), with an impact assessment along the way; the
//! diffusion tree, the dossier's adoptions and the portfolio's reuse counts.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use innolab_proto::innolab::gateway::v1 as gw;
use innolab_proto::innolab::impact::v1 as im;
use innolab_proto::innolab::initiatives::v1 as ini;
use innolab_proto::innolab::membership::v1 as mb;
use innolab_tests::assert::{Outcome, assert_invalid};
use innolab_tests::fixtures::{initiative_request, organization};
use innolab_tests::{Backend, Suite, on_both_backends};
use tonic::Code;
use tonic::transport::Channel;

type Library = ini::initiatives_service_client::InitiativesServiceClient<Channel>;

async fn case(
    library: &mut Library,
    title: &str,
    lead: &str,
    country: &str,
    level: ini::GovernmentLevel,
) -> String {
    let mut request = initiative_request(title, lead, country);
    if let Some(initiative) = request.initiative.as_mut() {
        initiative.government_level = level as i32;
    }
    library
        .create_initiative(request)
        .await
        .accepted("CreateInitiative")
        .name
}

/// `initiative` drew on `source` as `kind`; confirmed by both sides unless
/// `confirm` is false. The adoption's name.
async fn adopt(
    library: &mut Library,
    initiative: &str,
    source: &str,
    kind: ini::AdoptionKind,
    confirm: bool,
) -> String {
    let adoption = library
        .create_adoption(ini::CreateAdoptionRequest {
            adoption: Some(ini::Adoption {
                initiative: initiative.into(),
                source: source.into(),
                kind: kind as i32,
                rationale: "The same bottleneck.".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .accepted("CreateAdoption");
    if confirm {
        for side in [ini::AdoptionSide::Source, ini::AdoptionSide::Adopter] {
            library
                .confirm_adoption(ini::ConfirmAdoptionRequest {
                    name: adoption.name.clone(),
                    etag: String::new(),
                    side: side as i32,
                    confirmed_by: "people/contact".into(),
                })
                .await
                .accepted("ConfirmAdoption");
        }
    }
    adoption.name
}

async fn a_case_spreads_across_three_countries(backend: Backend) {
    let mut suite = Suite::start(&backend).await;
    let channel = suite.channel().await;
    let mut members = mb::membership_service_client::MembershipServiceClient::new(channel.clone());
    let mut library = Library::new(channel.clone());
    let mut impact = im::impact_service_client::ImpactServiceClient::new(channel.clone());
    let mut gateway = gw::gateway_service_client::GatewayServiceClient::new(channel);
    let sgg = organization(&mut members, "Secretariatul General al Guvernului", "RO").await;
    let tampere = organization(&mut members, "City of Tampere", "FI").await;
    let skane = organization(&mut members, "Region Skåne", "SE").await;
    let cluj = organization(&mut members, "Primăria Cluj-Napoca", "RO").await;
    let tallinn = organization(&mut members, "Tallinn City", "EE").await;

    use ini::AdoptionKind::*;
    use ini::GovernmentLevel::*;
    let root = case(&mut library, "Digital counter", &sgg, "RO", Central).await;
    let fi = case(
        &mut library,
        "Digital counter, Tampere",
        &tampere,
        "FI",
        Local,
    )
    .await;
    let se = case(
        &mut library,
        "Digital counter, Skåne",
        &skane,
        "SE",
        Regional,
    )
    .await;
    let ro = case(&mut library, "Ghișeul Cluj", &cluj, "RO", Local).await;
    let ee = case(&mut library, "Tallinn counter", &tallinn, "EE", Local).await;
    let fi_adapts = adopt(&mut library, &fi, &root, Adapts, true).await;
    let se_scales = adopt(&mut library, &se, &fi, Scales, true).await;
    adopt(&mut library, &ro, &root, Adopts, true).await;
    // Only confirmed adoptions spread a case; ideas flowing back close no
    // cycle in the walk.
    adopt(&mut library, &ee, &root, Adopts, false).await;
    adopt(&mut library, &root, &se, InspiredBy, true).await;
    let assessment = impact
        .create_assessment(im::CreateAssessmentRequest {
            assessment: Some(im::Assessment {
                initiative: se.clone(),
                title: "Skåne evaluation".into(),
                nesta_level: 5,
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .accepted("CreateAssessment")
        .name;

    let tree = gateway
        .get_diffusion(gw::GetDiffusionRequest {
            name: root.clone(),
            max_depth: 0,
        })
        .await
        .accepted("GetDiffusion");
    assert!(tree.missing_parts.is_empty(), "{:?}", tree.missing_parts);
    assert!(!tree.truncated);
    assert_eq!(tree.initiative.unwrap().name, root);
    let shape: Vec<(&str, i32, &str, &str)> = tree
        .nodes
        .iter()
        .map(|n| {
            (
                n.initiative.as_str(),
                n.depth,
                n.parent.as_str(),
                n.country_code.as_str(),
            )
        })
        .collect();
    assert_eq!(
        shape,
        [
            (root.as_str(), 0, "", "RO"),
            (fi.as_str(), 1, root.as_str(), "FI"),
            (ro.as_str(), 1, root.as_str(), "RO"),
            (se.as_str(), 2, fi.as_str(), "SE"),
        ]
    );
    assert_eq!(tree.countries, ["FI", "RO", "SE"]);
    let sweden = &tree.nodes[3];
    assert_eq!(sweden.lead_organization, skane);
    assert_eq!(
        sweden.government_level,
        ini::GovernmentLevel::Regional as i32
    );
    assert_eq!(sweden.adoption.as_ref().unwrap().name, se_scales);
    assert_eq!(
        sweden.adoption.as_ref().unwrap().kind,
        ini::AdoptionKind::Scales as i32
    );
    assert_eq!(sweden.titles[0].text, "Digital counter, Skåne");
    assert_eq!(sweden.assessments.len(), 1);
    assert_eq!(sweden.assessments[0].name, assessment);
    assert!(tree.nodes[1].assessments.is_empty());

    // One level: Sweden is cut off, and the answer says so.
    let shallow = gateway
        .get_diffusion(gw::GetDiffusionRequest {
            name: root.clone(),
            max_depth: 1,
        })
        .await
        .accepted("GetDiffusion, one level");
    assert_eq!(shallow.nodes.len(), 3);
    assert!(shallow.truncated);
    // From Sweden: the root it inspired, and everything below it.
    let from_sweden = gateway
        .get_diffusion(gw::GetDiffusionRequest {
            name: se.clone(),
            max_depth: 10,
        })
        .await
        .accepted("GetDiffusion from Sweden");
    assert_eq!(from_sweden.nodes.len(), 4, "the cycle back to Sweden ends");

    // Bad input names its field; an unknown case is NOT_FOUND.
    let status = gateway
        .get_diffusion(gw::GetDiffusionRequest {
            name: root.clone(),
            max_depth: -1,
        })
        .await
        .unwrap_err();
    assert_invalid(&status, "max_depth");
    let status = gateway
        .get_diffusion(gw::GetDiffusionRequest {
            name: "adoptions/x".into(),
            max_depth: 0,
        })
        .await
        .unwrap_err();
    assert_invalid(&status, "name");
    let status = gateway
        .get_diffusion(gw::GetDiffusionRequest {
            name: "initiatives/0000000000000000".into(),
            max_depth: 0,
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{status:?}");

    // The dossier shows what a case adopted and who adopted it.
    let dossier = gateway
        .get_initiative_dossier(gw::GetInitiativeDossierRequest { name: fi.clone() })
        .await
        .accepted("GetInitiativeDossier");
    let names = |list: &[ini::Adoption]| list.iter().map(|a| a.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(&dossier.adopted), [fi_adapts.as_str()]);
    assert_eq!(names(&dossier.adopted_by), [se_scales.as_str()]);
    let root_dossier = gateway
        .get_initiative_dossier(gw::GetInitiativeDossierRequest { name: root.clone() })
        .await
        .accepted("GetInitiativeDossier of the case");
    assert_eq!(root_dossier.adopted_by.len(), 3, "proposed ones included");

    // Reused vs original cases, by country.
    let overview = gateway
        .get_portfolio_overview(gw::GetPortfolioOverviewRequest::default())
        .await
        .accepted("GetPortfolioOverview")
        .initiatives
        .unwrap();
    assert_eq!(overview.reused, 3, "inspiration is not reuse");
    let counts = |list: &[ini::PortfolioCount]| {
        list.iter()
            .map(|c| format!("{}={}", c.value, c.count))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        counts(&overview.reused_by_country),
        ["FI=1", "RO=1", "SE=1"]
    );
    assert_eq!(counts(&overview.original_by_country), ["EE=1", "RO=1"]);

    // Without impact the tree stands, its assessments named missing.
    suite.impact.take().unwrap().stop().await;
    let tree = gateway
        .get_diffusion(gw::GetDiffusionRequest {
            name: root.clone(),
            max_depth: 0,
        })
        .await
        .accepted("GetDiffusion with impact down");
    assert_eq!(tree.nodes.len(), 4);
    assert_eq!(tree.missing_parts.len(), 1);
    assert_eq!(tree.missing_parts[0].part, "assessments");
    assert_eq!(tree.missing_parts[0].service, "impact");
    suite.stop().await;
}

on_both_backends!(a_case_spreads_across_three_countries);
